"""labs/sameness.py: a hand-built graph is held against graphs/model.build_graph, and every way it can
differ is said in one sentence; code that is written differently but builds the same computation passes.

Each wrong graph below is written by hand, as a learner would write it, with one mistake.
"""

import math
from unittest import mock

import numpy as np
import tensorflow as tf

from graphs import model
from labs import sameness

tf.compat.v1.disable_eager_execution()
v1 = tf.compat.v1

RANDOM_NORMAL = v1.random_normal_initializer(mean=0.0, stddev=1.0)
RNG = np.random.default_rng(0)
# A batch of 100 made-up images and one-hot labels: the check needs no MNIST file.
BATCH = (RNG.random((100, 784), np.float32), np.eye(10, dtype=np.float32)[RNG.integers(0, 10, 100)])


def _softmax_cross_entropy(labels, logits):
    return tf.nn.softmax_cross_entropy_with_logits(labels=labels, logits=logits)


def linear_by_hand(weights_init=RANDOM_NORMAL, weights=None, bias=None, linear=None, input_shape=(None, 784),
                   loss=_softmax_cross_entropy, reduce=tf.reduce_mean, optimizer=None, predictions=None,
                   correct=None, init=None, init_first=False, extra=None, batch=None, build_twice=False,
                   weights_name="layer1_weights", logits_name="logits"):
    """LTFN 1's graph written as the lesson writes it; each argument replaces one line with a learner's
    version (a function of the nodes made before it)."""
    graph = tf.Graph()
    with graph.as_default():
        v1.set_random_seed(0)
        if init_first:
            v1.global_variables_initializer()
        for _ in range(2 if build_twice else 1):
            input = v1.placeholder(tf.float32, shape=(batch,) + tuple(input_shape[1:]), name="input")
            labels = v1.placeholder(tf.float32, shape=(batch, 10), name="labels")
        with v1.variable_scope("layer1"):
            w = weights() if weights else v1.get_variable(weights_name, [784, 10], initializer=weights_init)
            b = bias() if bias else v1.get_variable("layer1_bias", [10], initializer=v1.zeros_initializer())
            layer1_linear = linear(input, w, b) if linear else tf.nn.bias_add(tf.matmul(input, w), b,
                                                                              name="layer1_linear")
        logits = tf.identity(layer1_linear, name=logits_name)
        with v1.name_scope("cost") as scope:
            cost = reduce(loss(labels, logits), name=scope)
        if optimizer:
            optimizer(cost)
        else:
            v1.train.GradientDescentOptimizer(learning_rate=0.01).minimize(cost, name="optimizer")
        predictions = predictions(logits) if predictions else tf.nn.softmax(logits, name="predictions")
        with v1.name_scope("accuracy") as scope:
            equal = correct(predictions, labels) if correct else tf.equal(tf.argmax(predictions, 1),
                                                                         tf.argmax(labels, 1))
            tf.reduce_mean(tf.cast(equal, tf.float32), name=scope)
        if extra:
            extra()
        if init:
            init(w, b)
        elif not init_first:
            v1.global_variables_initializer()
    return graph


def compare(graph, net="linear", init="random_normal", learning_rate=0.01):
    return sameness.compare(graph, net, init, learning_rate, batch=BATCH)


def posts_tail(last_linear, labels, learning_rate):
    """What every post's graph ends with, written as the posts write it: logits, cost, optimizer, predictions,
    accuracy and the initializer (in the default graph)."""
    logits = tf.identity(last_linear, name="logits")
    with v1.name_scope("cost") as scope:
        cost = tf.reduce_mean(_softmax_cross_entropy(labels, logits), name=scope)
    v1.train.GradientDescentOptimizer(learning_rate).minimize(cost, name="optimizer")
    predictions = tf.nn.softmax(logits, name="predictions")
    with v1.name_scope("accuracy") as scope:
        tf.reduce_mean(tf.cast(tf.equal(tf.argmax(predictions, 1), tf.argmax(labels, 1)), tf.float32), name=scope)
    v1.global_variables_initializer()


def conv_layer(x, scope, shape, initializer, conv=None, plus=False):
    with v1.variable_scope(scope):
        w = v1.get_variable(scope + "_weights", shape, initializer=initializer)
        b = v1.get_variable(scope + "_bias", shape[-1:], initializer=v1.zeros_initializer())
        c = tf.nn.conv2d(x, w, **(conv or dict(strides=[1, 1, 1, 1], padding="SAME")))
        return tf.nn.relu(c + b if plus else tf.nn.bias_add(c, b, name=scope + "_conv"), name=scope + "_out")


def conv4_by_hand(layer3_conv=None, pool1=None, pool2=None, flatten=None, plus=False):
    """LTFN 5's ConvNet as the lesson writes it, with one layer's line replaceable."""
    graph = tf.Graph()
    with graph.as_default():
        v1.set_random_seed(0)
        input = v1.placeholder(tf.float32, shape=(None, 28, 28, 1), name="input")
        labels = v1.placeholder(tf.float32, shape=(None, 10), name="labels")
        layer1_out = conv_layer(input, "layer1", [3, 3, 1, 64], RANDOM_NORMAL, plus=plus)
        layer2_out = conv_layer(layer1_out, "layer2", [3, 3, 64, 64], RANDOM_NORMAL, plus=plus)
        with v1.name_scope("pool1"):
            p1 = (pool1 or (lambda x: tf.nn.max_pool2d(x, ksize=2, strides=2, padding="SAME", name="pool1")))(
                layer2_out)
        layer3_out = conv_layer(p1, "layer3", [3, 3, 64, 128], RANDOM_NORMAL, conv=layer3_conv, plus=plus)
        layer4_out = conv_layer(layer3_out, "layer4", [3, 3, 128, 128], RANDOM_NORMAL, plus=plus)
        with v1.name_scope("pool2"):
            p2 = (pool2 or (lambda x: tf.nn.max_pool2d(x, ksize=2, strides=2, padding="SAME", name="pool2")))(
                layer4_out)
        flat = (flatten or (lambda x: tf.reshape(x, [-1, 7 * 7 * 128], name="flatten")))(p2)
        with v1.variable_scope("layer5"):
            w = v1.get_variable("layer5_weights", [6272, 10], initializer=RANDOM_NORMAL)
            b = v1.get_variable("layer5_bias", [10], initializer=v1.zeros_initializer())
            layer5_linear = tf.matmul(flat, w) + b if plus else tf.nn.bias_add(tf.matmul(flat, w), b)
        posts_tail(layer5_linear, labels, learning_rate=0.000001)
    return graph


def fc3_by_hand(relu_weights, final_weights, learning_rate=0.001):
    """LTFN 3's network with LTFN 6's initializers: relu_weights(scope, shape) and final_weights(...) make
    the weights (a get_variable or a tf.Variable, as the learner writes it)."""
    graph = tf.Graph()
    with graph.as_default():
        v1.set_random_seed(0)
        input = v1.placeholder(tf.float32, shape=(None, 784), name="input")
        labels = v1.placeholder(tf.float32, shape=(None, 10), name="labels")
        x = input
        for scope, units, weights in (("layer1", 500, relu_weights), ("layer2", 500, relu_weights),
                                      ("layer3", 10, final_weights)):
            with v1.variable_scope(scope):
                w = weights(scope, [int(x.shape[-1]), units])
                b = v1.get_variable(scope + "_bias", [units], initializer=v1.zeros_initializer())
                x = tf.nn.bias_add(tf.matmul(x, w), b, name=scope + "_linear")
                x = tf.nn.relu(x) if units == 500 else x
        posts_tail(x, labels, learning_rate)
    return graph


def get_variable_with(initializer):
    return lambda scope, shape: v1.get_variable(scope + "_weights", shape, initializer=initializer)


def variable_of(value):
    return lambda scope, shape: tf.Variable(value(shape), name=scope + "_weights")


HE = v1.variance_scaling_initializer(scale=2.0, mode="fan_in", distribution="truncated_normal")
XAVIER = v1.glorot_uniform_initializer()


class SamenessTest(tf.test.TestCase):

    def assertOneSentence(self, report, sentence):
        self.assertEqual(report.differences, [sentence])

    def test_the_posts_graph_written_by_hand_is_the_project_s(self):
        graph = linear_by_hand()
        graph.finalize()  # the check adds nothing to the learner's graph, so a finalized one works
        report = compare(graph)
        self.assertTrue(report.same, str(report))
        text = str(report)
        self.assertIn("the same 2 ops from `input` to `logits`, with the same settings: MatMul, BiasAdd", text)
        self.assertIn("GradientDescentOptimizer at learning rate 0.01 on 2 variables", text)
        self.assertIn("your `init` draws the very weights build_graph draws", text)
        # The costs on both batch sizes are the ones build_graph's own weights give, computed here apart.
        theirs, nodes, init = model.build_graph("linear", "random_normal", 0.01)
        with v1.Session(graph=theirs) as session:
            session.run(init)
            expected = [session.run(nodes.cost, {nodes.input: BATCH[0][:n], nodes.labels: BATCH[1][:n]})
                        for n in (100, 7)]
        self.assertEqual(report.numbers["cost"], float(expected[0]))
        self.assertEqual(report.numbers["cost on 7"], float(expected[1]))
        self.assertIn("the same cost on 100 test images, {:.9g}, and on the first 7, {:.9g}".format(*expected),
                      text)

    def test_code_written_differently_that_builds_the_same_graph_passes(self):
        same = {
            "tf.add for bias_add": dict(linear=lambda x, w, b: tf.add(tf.matmul(x, w), b)),
            "@ for tf.matmul": dict(linear=lambda x, w, b: tf.nn.bias_add(x @ w, b)),
            "tf.equal's sides swapped, axis=-1": dict(
                correct=lambda p, labels: tf.equal(tf.argmax(labels, axis=1), tf.argmax(p, axis=-1))),
            "reduce_mean(axis=0)": dict(reduce=lambda x, name: tf.reduce_mean(x, axis=0, name=name)),
            "tf.compat.v1's cross-entropy (labels under stop_gradient)": dict(
                loss=lambda labels, logits: v1.nn.softmax_cross_entropy_with_logits_v2(labels=labels, logits=logits)),
            "tf.Variable(tf.random.normal(...))": dict(
                weights=lambda: tf.Variable(tf.random.normal([784, 10]), name="layer1_weights")),
            "ref variables": dict(weights=lambda: v1.get_variable("layer1_weights", [784, 10], use_resource=False,
                                                                  initializer=RANDOM_NORMAL)),
            "an init of its own that covers every variable": dict(
                init=lambda w, b: tf.group(w.initializer, b.initializer, name="init")),
            "variables_initializer of both": dict(init=lambda w, b: v1.variables_initializer([w, b], name="init")),
        }
        for what, mistake in same.items():
            report = compare(linear_by_hand(**mistake))
            self.assertTrue(report.same, "{}: {}".format(what, report))

    def test_plus_for_bias_add_is_a_note_not_a_difference(self):
        # conv4 with every bias added with `+`: TensorFlow fuses differently, the numbers are still exact.
        report = compare(conv4_by_hand(plus=True), "conv4", "random_normal", 0.000001)
        self.assertTrue(report.same, str(report))
        self.assertIn("`layer1/add` adds the bias with `+` where graphs/ writes tf.nn.bias_add: the same sums",
                      str(report))
        self.assertIn("exactly in float32", str(report))

    def test_an_init_made_before_the_variables_is_said(self):
        # init = tf.compat.v1.global_variables_initializer() as the first line: a NoOp that initializes nothing.
        self.assertOneSentence(compare(linear_by_hand(init_first=True)), (
            "your `init` initializes none of the variables: it was made before them, and "
            "tf.compat.v1.global_variables_initializer() covers only the variables that exist when it is called; "
            "make init after the last variable"))

    def test_an_init_that_leaves_the_bias_out_is_said(self):
        report = compare(linear_by_hand(init=lambda w, b: v1.variables_initializer([w], name="init")))
        self.assertOneSentence(report, (
            "your `init` leaves `layer1/layer1_bias` uninitialized: make it with init = "
            "tf.compat.v1.global_variables_initializer(), after the last variable"))
        self.assertOneSentence(compare(linear_by_hand(init=lambda w, b: tf.no_op(name="nothing"))), (
            "there is no `init`: make it with init = tf.compat.v1.global_variables_initializer(), after the "
            "last variable"))

    def test_what_init_draws_is_tested_against_the_distribution(self):
        # An init of its own that writes zeros into the weights: their initializer's ops read N(0, 1).
        zeros = compare(linear_by_hand(init=lambda w, b: tf.group(w.assign(tf.zeros([784, 10])), b.initializer,
                                                                  name="init")))
        self.assertOneSentence(zeros, (
            "your `init` gives `layer1/layer1_weights` values that graphs/'s normal, mean 0, stddev 1 would not "
            "draw: mean 0, stddev 0, in [0, 0]: their stddev is not 1"))
        # Weights drawn outside TensorFlow: only their draws can say what they are.
        numpy_weights = lambda draw: v1.constant_initializer(draw(np.random.default_rng(1)).astype(np.float32))
        uniform = compare(linear_by_hand(numpy_weights(lambda r: r.uniform(-1.7, 1.7, (784, 10)))))
        self.assertEqual(len(uniform.differences), 1, uniform.differences)
        self.assertRegex(uniform.differences[0], r"^your `init` gives `layer1/layer1_weights` values that graphs/'s "
                         r"normal, mean 0, stddev 1 would not draw: .*in \[-1.69\d+, 1.69\d+\]: their histogram has "
                         r"another shape; it starts from a constant array")
        normal = compare(linear_by_hand(numpy_weights(lambda r: r.normal(0, 1, (784, 10)))))
        self.assertTrue(normal.same, str(normal))
        self.assertIn("what your `init` drew passes for graphs/'s normal, mean 0, stddev 1", str(normal))

    def test_a_fixed_batch_is_said_as_one(self):
        self.assertOneSentence(compare(linear_by_hand(batch=100)), (
            "`input` and `labels` take only batches of 100 (shape (100, 784) and (100, 10)): give them "
            "shape=(None, 784) and (None, 10), so batches of any size run (LTFN 2)"))
        flatten_100 = conv4_by_hand(flatten=lambda x: tf.reshape(x, [100, 6272], name="flatten"))
        self.assertOneSentence(compare(flatten_100, "conv4", "random_normal", 0.000001), (
            "from `input` to `logits`, yours has `flatten` (tf.reshape) with shape=[100, 6272] where graphs/ has "
            "shape=[-1, 6272] (your graph takes only batches of 100: -1 lets a batch be any size, LTFN 2)"))

    def test_the_numbers_run_on_two_batch_sizes(self):
        # The logits reshaped to a shape computed from their own: the ops read as a reshape that moves
        # nothing, but the shape is 100 rows whatever the batch.
        def hundred_rows(x, w, b):
            linear = tf.nn.bias_add(tf.matmul(x, w), b)
            return tf.reshape(linear, tf.stack([100, tf.shape(linear)[1]]))

        fixed = linear_by_hand(linear=hundred_rows)
        report = compare(fixed)
        self.assertEqual(len(report.differences), 1, report.differences)
        self.assertTrue(report.differences[0].startswith(
            "your graph cannot run a batch of 7 images (it runs 100: look for a batch size written into a shape): "
            "TensorFlow says \"Input to reshape is a tensor with 70 values"), report.differences[0])

    def test_settings_one_batch_does_not_show_are_compared(self):
        # Each of these gives the same shapes (and pool2's VALID even the same numbers) as graphs/'s.
        valid = conv4_by_hand(pool2=lambda x: tf.nn.max_pool2d(x, ksize=2, strides=2, padding="VALID", name="pool2"))
        ksize = conv4_by_hand(pool1=lambda x: tf.nn.max_pool2d(x, ksize=3, strides=2, padding="SAME", name="pool1"))
        dilated = conv4_by_hand(layer3_conv=dict(strides=1, padding="SAME", dilations=2))
        said = [compare(g, "conv4", "random_normal", 0.000001).differences for g in (valid, ksize, dilated)]
        self.assertEqual(said, [
            ["from `input` to `logits`, yours has `pool2/pool2` (tf.nn.max_pool2d) with padding=\"VALID\" where "
             "graphs/ has padding=\"SAME\""],
            ["from `input` to `logits`, yours has `pool1/pool1` (tf.nn.max_pool2d) with ksize=[1, 3, 3, 1] where "
             "graphs/ has ksize=[1, 2, 2, 1]"],
            ["from `input` to `logits`, yours has `layer3/Conv2D` (tf.nn.conv2d) with dilations=[1, 2, 2, 1] where "
             "graphs/ has dilations=[1, 1, 1, 1]"]])
        axis0 = compare(linear_by_hand(correct=lambda p, labels: tf.equal(tf.argmax(p, 0), tf.argmax(labels, 1))))
        self.assertOneSentence(axis0, "from `predictions` and `labels` to `accuracy`, yours has `accuracy/ArgMax` "
                                      "(tf.argmax) with axis=0 where graphs/ has axis=1")

    def test_a_learning_rate_that_is_not_a_number_is_said(self):
        in_a_variable = compare(linear_by_hand(optimizer=lambda cost: v1.train.GradientDescentOptimizer(
            tf.Variable(0.01, trainable=False, name="rate")).minimize(cost, name="optimizer")))
        self.assertOneSentence(in_a_variable, "`optimizer`'s learning rate reads the variable `rate`; graphs/'s is "
                                              "the number 0.01: write learning_rate=0.01")
        fed = compare(linear_by_hand(optimizer=lambda cost: v1.train.GradientDescentOptimizer(
            v1.placeholder(tf.float32, (), name="rate")).minimize(cost, name="optimizer")))
        self.assertOneSentence(fed, "`optimizer`'s learning rate is fed through the placeholder `rate`; graphs/'s "
                                    "is the number 0.01: write learning_rate=0.01")

    def test_each_wrong_op_is_one_sentence(self):
        cost = "from `logits` and `labels` to `cost`, "
        cases = [
            (dict(reduce=tf.reduce_sum), cost + "yours has `cost` (tf.reduce_sum) where graphs/ has `cost` "
                                                "(tf.reduce_mean)"),
            (dict(reduce=lambda x, name: tf.reduce_mean(x, keepdims=True, name=name)),
             cost + "yours has `cost` (tf.reduce_mean) with keepdims=True where graphs/ has keepdims=False"),
            (dict(loss=lambda labels, logits: _softmax_cross_entropy(tf.nn.softmax(logits), logits)),
             cost + "`cost/softmax_cross_entropy_with_logits` (tf.nn.softmax_cross_entropy_with_logits) takes "
                    "`cost/Softmax` (tf.nn.softmax) as its `labels` where graphs/'s takes `labels`"),
            (dict(loss=lambda labels, logits: _softmax_cross_entropy(logits, labels)),
             cost + "`cost/softmax_cross_entropy_with_logits` (tf.nn.softmax_cross_entropy_with_logits) takes "
                    "`labels` as its `logits` and `logits` as its `labels`: graphs/'s takes them the other way round"),
            (dict(predictions=lambda logits: tf.nn.softmax(tf.nn.softmax(logits), name="predictions")),
             "from `logits` to `predictions`, yours applies tf.nn.softmax twice (`Softmax`, then `predictions`) "
             "where graphs/ applies it once: take one out"),
            (dict(linear=lambda x, w, b: tf.nn.relu(tf.nn.bias_add(tf.matmul(x, w), b, name="layer1_linear"))),
             "from `input` to `logits`, yours has an extra `layer1/Relu` (tf.nn.relu) after `layer1/layer1_linear` "
             "(tf.nn.bias_add), which graphs/ does not have: take it out"),
            (dict(linear=lambda x, w, b: tf.matmul(x, w)),
             "from `input` to `logits`, yours has no tf.nn.bias_add after `layer1/MatMul` (tf.matmul): graphs/ has "
             "`layer1/layer1_linear` (tf.nn.bias_add) there"),
            (dict(correct=lambda p, labels: tf.equal(tf.argmax(v1.get_default_graph().get_tensor_by_name(
                "logits:0"), 1), tf.argmax(labels, 1))),
             "from `predictions` and `labels` to `accuracy`, `accuracy/ArgMax` (tf.argmax) takes `logits` as its "
             "`input` where graphs/'s takes `predictions`"),
            (dict(predictions=lambda logits: tf.nn.softmax(logits.op.inputs[0], name="predictions")),
             "from `logits` to `predictions`, `predictions` (tf.nn.softmax) takes `layer1/layer1_linear` "
             "(tf.nn.bias_add) as its `logits` where graphs/'s takes `logits`"),
            (dict(predictions=lambda logits: tf.nn.softmax(logits, axis=0, name="predictions")),
             "from `logits` to `predictions`, yours has `predictions` (tf.nn.softmax) with axis=0 where graphs/ has "
             "axis=1"),
            (dict(linear=lambda x, w, b: tf.nn.bias_add(tf.matmul(tf.nn.dropout(x, rate=0.5), w), b)),
             "from `input` to `logits`, yours has `layer1/dropout/SelectV2` (tf.where (tf.nn.dropout makes one)) "
             "between `input` and `layer1/MatMul` (tf.matmul), which graphs/ does not have: take it out"),
            (dict(bias=lambda: v1.get_variable("layer1_bias", [10], initializer=v1.zeros_initializer(),
                                               trainable=False)),
             "`layer1/layer1_bias` is not trainable in yours (trainable=False), so the optimizer cannot change it: "
             "leave trainable at its default, True"),
            (dict(extra=lambda: v1.get_variable("layer2_weights", [10, 10])),
             "yours has the variable `layer2_weights` [10, 10], graphs/ has none (graphs/ has "
             "`layer1/layer1_weights`, `layer1/layer1_bias`)"),
            (dict(build_twice=True), "there are both `input` and `input_1`, and both `labels` and `labels_1`: a "
                                     "cell that builds nodes ran twice; run the cells again from `graph = tf.Graph()`"),
            (dict(logits_name="output"), 'there is no `logits` (the logits): give it name="logits"'),
        ]
        for mistake, sentence in cases:
            self.assertEqual(compare(linear_by_hand(**mistake)).differences, [sentence], mistake)

    def test_a_wrong_placeholder_or_variable(self):
        transposed = compare(linear_by_hand(
            weights=lambda: v1.get_variable("layer1_weights", [10, 784], initializer=RANDOM_NORMAL),
            linear=lambda x, w, b: tf.nn.bias_add(tf.matmul(x, w, transpose_b=True), b)))
        self.assertEqual(transposed.differences, [
            "`layer1/layer1_weights` is [10, 784] in yours, [784, 10] in graphs/",
            "from `input` to `logits`, yours has `layer1/MatMul` (tf.matmul) with transpose_b=True where graphs/ has "
            "transpose_b=False"])
        renamed = compare(linear_by_hand(weights_name="weights"))
        self.assertEqual(renamed.differences, [
            "graphs/ has the variable `layer1/layer1_weights` [784, 10], yours has none of that name (is it yours "
            "`layer1/weights` [784, 10], named differently? The name includes the variable_scope)",
            "yours has the variable `layer1/weights` [784, 10], graphs/ has none (graphs/ has "
            "`layer1/layer1_weights`, `layer1/layer1_bias`)"])
        images_as_squares = compare(linear_by_hand(input_shape=(None, 28, 28), linear=lambda x, w, b: tf.nn.bias_add(
            tf.matmul(tf.reshape(x, [-1, 784]), w), b)))
        self.assertEqual(images_as_squares.differences[0],
                         "`input` has the shape (?, 28, 28), graphs/'s (?, 784): give it shape=(None, 784)")

    def test_each_optimizer_mistake_is_one_sentence(self):
        gd = v1.train.GradientDescentOptimizer
        cases = [
            (lambda cost: gd(0.1).minimize(cost, name="optimizer"), "`optimizer` learns at 0.1, graphs/ at 0.01"),
            (lambda cost: v1.train.AdamOptimizer(0.01).minimize(cost, name="optimizer"),
             "`optimizer` is AdamOptimizer, graphs/'s GradientDescentOptimizer: write "
             "tf.compat.v1.train.GradientDescentOptimizer(learning_rate=0.01).minimize(cost, name=\"optimizer\")"),
            (lambda cost: [gd(0.01).minimize(cost, name="optimizer"), gd(0.01).minimize(cost, name="train")],
             "yours has a second optimizer, which also updates `layer1/layer1_weights` (train/update_layer1/"
             "layer1_weights/ResourceApplyGradientDescent): keep only `optimizer`"),
            (lambda cost: gd(0.01).minimize(cost.op.inputs[0], name="optimizer"),
             "`optimizer` does not minimize `cost`: write .minimize(cost, name=\"optimizer\")"),
            (lambda cost: gd(0.01).minimize(cost, var_list=v1.trainable_variables()[:1], name="optimizer"),
             "`optimizer` does not update `layer1/layer1_bias`: minimize(cost) with no var_list trains every "
             "trainable variable cost depends on"),
        ]
        for optimizer, sentence in cases:
            self.assertEqual(compare(linear_by_hand(optimizer=optimizer)).differences, [sentence], sentence)
        # Minimizing twice the cost: every op and the learning rate are graphs/'s; the step is not.
        doubled = compare(linear_by_hand(optimizer=lambda cost: gd(0.01).minimize(cost * 2, name="optimizer")))
        self.assertEqual(len(doubled.differences), 1, doubled.differences)
        self.assertRegex(doubled.differences[0], r"^with graphs/'s weights, the cost after one optimizer step on 7 "
                                                 r"images is [\d.]+ in yours, [\d.]+ in graphs/ \(the step itself")

    def test_every_faithful_way_of_writing_ltfn6_s_initializers_passes(self):
        faithful = {
            "small": [(variable_of(lambda s: tf.random.normal(s) * 0.01),) * 2,
                      (variable_of(lambda s: v1.random_normal(s, stddev=0.01)),) * 2,
                      (get_variable_with(v1.random_normal_initializer(stddev=0.01)),) * 2],
            "variance_scaling": [(get_variable_with(HE), get_variable_with(XAVIER)),
                                 (get_variable_with(v1.initializers.he_normal()),
                                  get_variable_with(v1.initializers.glorot_uniform())),
                                 (get_variable_with(v1.variance_scaling_initializer(2.0, distribution="normal")),
                                  get_variable_with(v1.variance_scaling_initializer(1.0, "fan_avg", "uniform")))],
        }
        for init, forms in faithful.items():
            for relu, final in forms:
                report = compare(fc3_by_hand(relu, final), "fc3", init, 0.001)
                self.assertTrue(report.same, "{}: {}".format(init, report))

    def test_each_wrong_initializer_is_said(self):
        he = math.sqrt(2 / 784) / 0.87962566103423978  # the truncated normal's stddev before its cut
        cases = [
            ((get_variable_with(v1.variance_scaling_initializer()), get_variable_with(XAVIER)),
             "`layer1/layer1_weights` starts from truncated normal, mean 0, stddev {:.6g} in yours, from truncated "
             "normal, mean 0, stddev {:.6g} in graphs/ (tf.compat.v1.variance_scaling_initializer() defaults to "
             "scale=1.0; He's is scale=2.0, mode=\"fan_in\", distribution=\"truncated_normal\")".format(
                 he / math.sqrt(2), he)),
            ((get_variable_with(v1.variance_scaling_initializer(2.0, distribution="untruncated_normal")),
              get_variable_with(XAVIER)),
             "`layer1/layer1_weights` starts from normal, mean 0, stddev {:.6g} in yours, from truncated normal, mean "
             "0, stddev {:.6g} in graphs/ (tf.random.truncated_normal cuts its draws at 2 stddevs; tf.random.normal "
             "does not)".format(math.sqrt(2 / 784), he)),
            ((get_variable_with(HE), get_variable_with(v1.glorot_normal_initializer())),
             "`layer3/layer3_weights` starts from truncated normal, mean 0, stddev {:.6g} in yours, from uniform in "
             "[-{:.6g}, {:.6g}] in graphs/".format(math.sqrt(2 / 510) / 0.87962566103423978, math.sqrt(6 / 510),
                                                   math.sqrt(6 / 510))),
            ((get_variable_with(HE), variable_of(lambda s: tf.random.uniform(s, -0.1, 0.1))),
             "`layer3/layer3_weights` starts from uniform in [-0.1, 0.1] in yours, from uniform in [-{:.6g}, {:.6g}] "
             "in graphs/".format(math.sqrt(6 / 510), math.sqrt(6 / 510))),
        ]
        for (relu, final), sentence in cases:
            said = compare(fc3_by_hand(relu, final), "fc3", "variance_scaling", 0.001).differences
            self.assertEqual(said[0], sentence)
            self.assertNotIn("defaults to scale=1.0", " ".join(said[1:]))  # the hint is said once
        wrong_stddev = compare(linear_by_hand(v1.random_normal_initializer(stddev=0.1)))
        self.assertOneSentence(wrong_stddev, "`layer1/layer1_weights` starts from normal, mean 0, stddev 0.1 in yours, "
                                             "from normal, mean 0, stddev 1 in graphs/")
        glorot = compare(linear_by_hand(weights_init=XAVIER))
        self.assertOneSentence(glorot, "`layer1/layer1_weights` starts from uniform in [-0.0869291, 0.0869291] in "
                                       "yours, from normal, mean 0, stddev 1 in graphs/")  # sqrt(6 / 794)

    def test_the_draws_test_passes_right_draws_and_refuses_wrong_ones(self):
        from labs import sameness_init
        he = sameness_init.Distribution("truncated normal", 0.0, math.sqrt(2 / 9) / 0.87962566103423978)
        xavier = sameness_init.Distribution("uniform", -math.sqrt(6 / 585), 2 * math.sqrt(6 / 585))
        normal = sameness_init.Distribution("normal", 0.0, 1.0)
        graph = tf.Graph()
        with graph.as_default():  # unseeded: other draws each run, as a learner's without set_random_seed
            draws = {he: HE([3, 3, 1, 64]), xavier: XAVIER([3, 3, 1, 64]), normal: tf.random.normal([576])}
        with v1.Session(graph=graph) as session:
            for _ in range(20):
                for d, values in session.run(draws).items():
                    self.assertIsNone(sameness_init.drawn_from(values, d), d)
        rng = np.random.default_rng(0)
        spread = he.scale * 0.87962566103423978  # the truncated normal's own stddev
        self.assertIn("outside", sameness_init.drawn_from(rng.normal(0, spread, 576), he))  # not truncated
        self.assertIn("stddev is not", sameness_init.drawn_from(
            np.clip(rng.normal(0, he.scale, 4000), -2 * he.scale, 2 * he.scale)[:576] / math.sqrt(2), he))  # scale 1
        self.assertIn("histogram", sameness_init.drawn_from(rng.uniform(-3 ** .5, 3 ** .5, 7840), normal))
        # The limit docs/lessons.md states: a uniform of the same spread, on 576 weights, passes for He's.
        self.assertIsNone(sameness_init.drawn_from(rng.uniform(-spread * 3 ** .5, spread * 3 ** .5, 576), he))

    def test_the_convnet_against_another_init(self):
        # build_graph's own variance_scaling conv4, held against random_normal: the four He layers and the
        # Xavier one start elsewhere, each said once.
        graph, _, _ = model.build_graph("conv4", "variance_scaling", 0.001)
        other = compare(graph, "conv4", "random_normal", 0.001)
        self.assertEqual(len(other.differences), 5, other.differences)
        self.assertIn("`layer1/layer1_weights` starts from truncated normal, mean 0, stddev 0.", other.differences[0])

    def test_a_graph_the_check_cannot_read_gets_a_sentence(self):
        odd = tf.Graph()
        with odd.as_default():
            tf.constant(np.zeros((3, 784), np.float32), name="input")
            tf.no_op(name="logits")
            tf.identity(tf.constant(1.0), name="optimizer")
        report = compare(odd)
        self.assertIn("`input` is a Const op; make it with tf.compat.v1.placeholder(tf.float32, shape=(None, 784), "
                      "name=\"input\")", report.differences)
        self.assertIn("`logits` is an op with no value (NoOp): it should be a tensor, the logits", report.differences)
        self.assertIn("`optimizer` (Identity) updates no variable: make it with tf.compat.v1.train."
                      "GradientDescentOptimizer(learning_rate=0.01).minimize(cost, name=\"optimizer\")",
                      report.differences)
        self.assertEqual(compare("graph").differences,
                         ["the check takes the tf.Graph your cells built (`graph = tf.Graph()`), not str"])
        # A failure the check did not foresee is a sentence too.
        with mock.patch.object(sameness, "_compare_paths", side_effect=RecursionError("too deep")):
            report = compare(linear_by_hand())
        self.assertEqual(report.differences, [
            "the check could not compare the ops (RecursionError: too deep); build your graph again from "
            "`graph = tf.Graph()` as the lesson writes it"])


if __name__ == "__main__":
    tf.test.main()
