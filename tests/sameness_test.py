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
                   weights_name="layer1_weights", logits_name="logits", input_dtype=tf.float32, accuracy=None):
    """LTFN 1's graph written as the lesson writes it; each argument replaces one line with a learner's
    version (a function of the nodes made before it)."""
    graph = tf.Graph()
    with graph.as_default():
        v1.set_random_seed(0)
        if init_first:
            v1.global_variables_initializer()
        for _ in range(2 if build_twice else 1):
            input = v1.placeholder(input_dtype, shape=(batch,) + tuple(input_shape[1:]), name="input")
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
            (accuracy or (lambda e, name: tf.reduce_mean(tf.cast(e, tf.float32), name=name)))(equal, scope)
        if extra:
            extra()
        if init:
            init(w, b)
        elif not init_first:
            v1.global_variables_initializer()
    return graph


_BUILT = {}
_BUILD_GRAPH = model.build_graph


def _built(net, init, learning_rate, seed=0):
    """build_graph's graph for each setting, built once: compare only reads it (it runs copies), and the
    file runs about a hundred graphs on 2 shared cores."""
    key = (net, init, learning_rate, seed)
    if key not in _BUILT:
        _BUILT[key] = _BUILD_GRAPH(net, init, learning_rate, seed)
    return _BUILT[key]


def compare(graph, net="linear", init="random_normal", learning_rate=0.01):
    with mock.patch.object(sameness.model, "build_graph", _built):
        return sameness.compare(graph, net, init, learning_rate, batch=BATCH)


def posts_tail(last_linear, labels, learning_rate, optimizer=None):
    """What every post's graph ends with, written as the posts write it: logits, cost, optimizer (or
    optimizer(cost)), predictions, accuracy and the initializer (in the default graph)."""
    logits = tf.identity(last_linear, name="logits")
    with v1.name_scope("cost") as scope:
        cost = tf.reduce_mean(_softmax_cross_entropy(labels, logits), name=scope)
    if optimizer:
        optimizer(cost)
    else:
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


def fc3_written(layer=None, optimizer=None, scopes=("layer1", "layer2", "layer3"), units=(500, 500, 10),
                names=None):
    """LTFN 3's network with LTFN 6's He and Xavier initializers, written as the lesson writes it;
    layer(i, x, w, b) replaces the i-th layer's line when it returns a tensor, optimizer(cost) the
    optimizer's; names: the variables' names' first part in each scope (the scope's own by default)."""
    graph = tf.Graph()
    with graph.as_default():
        v1.set_random_seed(0)
        input = v1.placeholder(tf.float32, shape=(None, 784), name="input")
        labels = v1.placeholder(tf.float32, shape=(None, 10), name="labels")
        x = input
        for i, (scope, name, n) in enumerate(zip(scopes, names or scopes, units)):
            last = i == len(units) - 1
            with v1.variable_scope(scope):
                w = v1.get_variable(name + "_weights", [int(x.shape[-1]), n], initializer=XAVIER if last else HE)
                b = v1.get_variable(name + "_bias", [n], initializer=v1.zeros_initializer())
                out = layer(i, x, w, b) if layer else None
                if out is None:
                    out = tf.nn.bias_add(tf.matmul(x, w), b, name=scope + "_linear")
                    out = out if last else tf.nn.relu(out)
                x = out
        posts_tail(x, labels, 0.001, optimizer)
    return graph


def conv4_written(spec=None, input_shape=(None, 28, 28, 1), last=None, learning_rate=0.000001):
    """LTFN 5's ConvNet as a list of its lines: (scope, filter shape[, conv settings]) for a conv layer,
    a pool's name, or a function of the tensor before; an input of another shape is reshaped to
    (-1, 28, 28, 1) first; last(x) follows layer5."""
    graph = tf.Graph()
    with graph.as_default():
        v1.set_random_seed(0)
        input = v1.placeholder(tf.float32, shape=input_shape, name="input")
        labels = v1.placeholder(tf.float32, shape=(None, 10), name="labels")
        x = input if len(input_shape) == 4 else tf.reshape(input, [-1, 28, 28, 1])
        for line in spec or CONV4:
            if isinstance(line, str):
                with v1.name_scope(line):
                    x = tf.nn.max_pool2d(x, ksize=2, strides=2, padding="SAME", name=line)
            elif callable(line):
                x = line(x)
            else:
                x = conv_layer(x, line[0], line[1], RANDOM_NORMAL, conv=line[2] if len(line) > 2 else None)
        flat = tf.reshape(x, [-1, int(np.prod(x.shape.as_list()[1:]))], name="flatten")
        with v1.variable_scope("layer5"):
            w = v1.get_variable("layer5_weights", [int(flat.shape[-1]), 10], initializer=RANDOM_NORMAL)
            b = v1.get_variable("layer5_bias", [10], initializer=v1.zeros_initializer())
            out = tf.nn.bias_add(tf.matmul(flat, w), b)
        posts_tail(last(out) if last else out, labels, learning_rate)
    return graph


CONV4 = [("layer1", [3, 3, 1, 64]), ("layer2", [3, 3, 64, 64]), "pool1", ("layer3", [3, 3, 64, 128]),
         ("layer4", [3, 3, 128, 128]), "pool2"]


def conv_variables(scope, shape):
    with v1.variable_scope(scope):
        return (v1.get_variable(scope + "_weights", shape, initializer=RANDOM_NORMAL),
                v1.get_variable(scope + "_bias", shape[-1:], initializer=v1.zeros_initializer()))


def fc3(graph):
    return compare(graph, "fc3", "variance_scaling", 0.001)


def conv4(graph, learning_rate=0.000001):
    return compare(graph, "conv4", "random_normal", learning_rate)


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
             "from `input` to `logits`, yours has `layer1/dropout` (tf.nn.dropout) between `input` and "
             "`layer1/MatMul` (tf.matmul), which graphs/ does not have: take it out"),
            (dict(bias=lambda: v1.get_variable("layer1_bias", [10], initializer=v1.zeros_initializer(),
                                               trainable=False)),
             "`layer1/layer1_bias` is not trainable in yours (trainable=False), so the optimizer cannot change it: "
             "leave trainable at its default, True"),
            (dict(extra=lambda: v1.get_variable("layer2_weights", [10, 10])),
             "yours has `layer2_weights` [10, 10], which graphs/ does not have: take it out"),
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
            "yours has `layer1/weights` [784, 10] where graphs/ has `layer1/layer1_weights` [784, 10] (the same "
            "shapes, other names): a variable's name is its variable_scope's, a slash, and get_variable's "
            "(`layer1/layer1_weights`); give each graphs/'s"])
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
             "`optimizer` minimizes `cost/softmax_cross_entropy_with_logits` (tf.nn.softmax_cross_entropy_with_logits), "
             "not `cost`: write .minimize(cost, name=\"optimizer\")"),
            (lambda cost: gd(0.01).minimize(cost, var_list=v1.trainable_variables()[:1], name="optimizer"),
             "`optimizer` does not update `layer1/layer1_bias`: minimize(cost) with no var_list trains every "
             "trainable variable cost depends on"),
        ]
        for optimizer, sentence in cases:
            self.assertEqual(compare(linear_by_hand(optimizer=optimizer)).differences, [sentence], sentence)
        # Minimizing twice the cost: every op and the learning rate are graphs/'s; the step is not.
        doubled = compare(linear_by_hand(optimizer=lambda cost: gd(0.01).minimize(cost * 2, name="optimizer")))
        self.assertEqual(doubled.differences, [
            "`optimizer` minimizes `mul` (*), made from `cost` and more (in the posts `cost` is the whole loss), not "
            "`cost`: write .minimize(cost, name=\"optimizer\")"])
        # Gradients clipped before they are applied: every op and the learning rate are graphs/'s; the step is not.
        def clipped(cost):
            gradients = gd(0.01).compute_gradients(cost)
            gd(0.01).apply_gradients([(tf.clip_by_norm(g, 1.0), v) for g, v in gradients], name="optimizer")

        clipped = compare(linear_by_hand(optimizer=clipped))
        self.assertEqual(len(clipped.differences), 1, clipped.differences)
        self.assertRegex(clipped.differences[0], r"^with graphs/'s weights, the cost after one optimizer step on 7 "
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


def _cost_cell_run_again(cost):
    """The cost cell run a second time (as a learner re-runs it), `cost_1`, and the optimizer made on it."""
    with v1.name_scope("cost") as scope:
        again = tf.reduce_mean(cost.op.inputs[0], name=scope)
    v1.train.GradientDescentOptimizer(0.01).minimize(again, name="optimizer")


def _linear_unscoped():
    """LTFN 1's variables made with no variable_scope around them."""
    graph = tf.Graph()
    with graph.as_default():
        v1.set_random_seed(0)
        input = v1.placeholder(tf.float32, (None, 784), name="input")
        labels = v1.placeholder(tf.float32, (None, 10), name="labels")
        w = v1.get_variable("layer1_weights", [784, 10], initializer=RANDOM_NORMAL)
        b = v1.get_variable("layer1_bias", [10], initializer=v1.zeros_initializer())
        posts_tail(tf.nn.bias_add(tf.matmul(input, w), b), labels, 0.01)
    return graph


def _linear_twice():
    """LTFN 1's whole graph built twice in one tf.Graph (the graph cells run again, variables reused)."""
    graph = tf.Graph()
    with graph.as_default():
        v1.set_random_seed(0)
        for _ in range(2):
            input = v1.placeholder(tf.float32, (None, 784), name="input")
            labels = v1.placeholder(tf.float32, (None, 10), name="labels")
            with v1.variable_scope("layer1", reuse=v1.AUTO_REUSE):
                w = v1.get_variable("layer1_weights", [784, 10], initializer=RANDOM_NORMAL)
                b = v1.get_variable("layer1_bias", [10], initializer=v1.zeros_initializer())
            posts_tail(tf.nn.bias_add(tf.matmul(input, w), b), labels, 0.01)
    return graph


def _batch_norm(i, x, w, b):
    """Layer 1 with a batch normalization written by hand (tf.nn.moments, gamma and beta)."""
    if i == 0:
        linear = tf.nn.bias_add(tf.matmul(x, w), b, name="layer1_linear")
        mean, variance = tf.nn.moments(linear, axes=[0])
        gamma = v1.get_variable("gamma", [500], initializer=v1.ones_initializer())
        beta = v1.get_variable("beta", [500], initializer=v1.zeros_initializer())
        return tf.nn.relu(tf.nn.batch_normalization(linear, mean, variance, beta, gamma, 1e-3))
    return None


class LearnersMistakesTest(tf.test.TestCase):
    """More graphs written by hand with one mistake each, as a learner of LTFN 1, 3, 5 and 6 writes them:
    each is said in one sentence that names the mistake (not a consequence of it) and what to write."""

    def assertSaid(self, report, *sentences):
        self.assertEqual(report.differences, list(sentences))

    def test_a_name_given_inside_a_scope_is_said_as_such(self):
        self.assertSaid(compare(linear_by_hand(reduce=lambda x, name: tf.reduce_mean(x, name="cost"))), (
            "there is no `cost` (the cost), but there is `cost/cost`: a name given inside `with ...scope(\"cost\")` "
            "starts with the scope's; make `cost` outside the scope, or write `with tf.compat.v1.name_scope(\"cost\") "
            "as scope:` and name=scope"))
        inside = linear_by_hand(linear=lambda x, w, b: tf.identity(tf.nn.bias_add(tf.matmul(x, w), b), name="logits"),
                                logits_name="output")
        self.assertSaid(compare(inside), (
            "there is no `logits` (the logits), but there is `layer1/logits`: a name given inside `with "
            "...scope(\"layer1\")` starts with the scope's; make `logits` outside the scope, or write `with "
            "tf.compat.v1.name_scope(\"logits\") as scope:` and name=scope"))
        def in_train_scope(cost):
            with v1.name_scope("train"):
                v1.train.GradientDescentOptimizer(0.01).minimize(cost, name="optimizer")

        self.assertSaid(compare(linear_by_hand(optimizer=in_train_scope)), (
            "there is no `optimizer` (the optimizer), but there is `train/optimizer`: a name given inside `with "
            "...scope(\"train\")` starts with the scope's; make `optimizer` outside the scope"))

    def test_a_cell_run_twice_is_said_once(self):
        self.assertSaid(compare(linear_by_hand(optimizer=_cost_cell_run_again)), (
            "there are both `cost` and `cost_1`: a cell that builds nodes ran twice; run the cells again from "
            "`graph = tf.Graph()`"))
        twice = compare(_linear_twice())
        self.assertEqual(len(twice.differences), 1, twice.differences)
        self.assertIn("both `cost` and `cost_1`, and both `optimizer` and `optimizer_1`", twice.differences[0])

    def test_what_optimizer_minimizes_instead_of_cost_is_named(self):
        gd = v1.train.GradientDescentOptimizer
        l2 = compare(linear_by_hand(optimizer=lambda cost: gd(0.01).minimize(
            cost + 0.01 * tf.nn.l2_loss(v1.trainable_variables()[0]), name="optimizer")))
        self.assertSaid(l2, "`optimizer` minimizes `add` (+), made from `cost` and more (in the posts `cost` is the "
                            "whole loss), not `cost`: write .minimize(cost, name=\"optimizer\")")
        summed = compare(linear_by_hand(optimizer=lambda cost: gd(0.01).minimize(
            tf.reduce_sum(cost.op.inputs[0]), name="optimizer")))
        self.assertSaid(summed, "`optimizer` minimizes `Sum` (tf.reduce_sum), not `cost`: write .minimize(cost, "
                                "name=\"optimizer\")")
        # L2 regularisation written into `cost` itself: the op after the mean.
        self.assertSaid(compare(linear_by_hand(reduce=lambda x, name: tf.add(
            tf.reduce_mean(x), 0.01 * tf.nn.l2_loss(v1.trainable_variables()[0]), name=name))), (
            "from `logits` and `labels` to `cost`, yours has an extra `cost` (+) after `cost/Mean` (tf.reduce_mean), "
            "which graphs/ does not have: take it out"))

    def test_a_stop_gradient_is_said_where_it_is_not_as_a_var_list(self):
        self.assertSaid(compare(linear_by_hand(linear=lambda x, w, b: tf.nn.bias_add(tf.stop_gradient(
            tf.matmul(x, w)), b))), (
            "from `input` to `logits`, yours has an extra `layer1/StopGradient` (tf.stop_gradient) after "
            "`layer1/MatMul` (tf.matmul), which graphs/ does not have: take it out"))
        # Labels under tf.stop_gradient: they get no gradient anyway (softmax_cross_entropy_with_logits_v2 does it).
        self.assertTrue(compare(linear_by_hand(loss=lambda labels, logits: _softmax_cross_entropy(
            tf.stop_gradient(labels), logits))).same)

    def test_an_optimizer_that_also_sets_a_variable_is_said(self):
        def halved_first(cost):
            w = v1.trainable_variables()[0]
            with tf.control_dependencies([w.assign(w * 0.5)]):  # (the learning rate is made under it too)
                v1.train.GradientDescentOptimizer(0.01).minimize(cost, name="optimizer")

        self.assertSaid(compare(linear_by_hand(optimizer=halved_first)), (
            "`optimizer` also runs `AssignVariableOp`, which sets `layer1/layer1_weights` (through "
            "tf.control_dependencies or an op it is made from): take it out"))
        clipped = compare(linear_by_hand(weights=lambda: v1.get_variable(
            "layer1_weights", [784, 10], initializer=RANDOM_NORMAL, constraint=lambda w: tf.clip_by_norm(w, 1.0))))
        self.assertSaid(clipped, "`layer1/layer1_weights` has a constraint (get_variable(constraint=...)), which "
                                 "`optimizer` applies after each step; graphs/'s variables have none: take it out")

    def test_another_cross_entropy_call_says_which_to_write(self):
        write = "write tf.nn.softmax_cross_entropy_with_logits(labels=labels, logits=logits)"
        losses = compare(linear_by_hand(reduce=lambda x, name: tf.identity(x, name=name),
                                        loss=lambda labels, logits: v1.losses.softmax_cross_entropy(labels, logits)))
        self.assertSaid(losses, (
            "from `logits` and `labels` to `cost`, yours has `cost/softmax_cross_entropy_loss` "
            "(tf.compat.v1.losses.softmax_cross_entropy) where graphs/ has `cost` (tf.reduce_mean): "
            "tf.compat.v1.losses weighs and sums the cross-entropies its own way; write tf.reduce_mean(" +
            write[len("write "):] + ")"))
        unreduced = compare(linear_by_hand(loss=lambda labels, logits: v1.losses.softmax_cross_entropy(
            labels, logits, reduction=v1.losses.Reduction.NONE)))
        self.assertSaid(unreduced, (
            "from `logits` and `labels` to `cost`, yours has `cost/softmax_cross_entropy_loss` "
            "(tf.compat.v1.losses.softmax_cross_entropy), which graphs/ does not have: tf.compat.v1.losses weighs and "
            "sums the cross-entropies its own way; write tf.reduce_mean(" + write[len("write "):] + ")"))
        log_softmax = compare(linear_by_hand(loss=lambda labels, logits: -tf.reduce_sum(
            labels * tf.nn.log_softmax(logits), axis=1)))
        self.assertSaid(log_softmax, "from `logits` and `labels` to `cost`, yours has `cost/Neg` (-) where graphs/ has "
                                     "`cost/softmax_cross_entropy_with_logits` "
                                     "(tf.nn.softmax_cross_entropy_with_logits): " + write)

    def test_a_var_list_that_leaves_variables_out_is_one_sentence(self):
        self.assertSaid(fc3(fc3_written(optimizer=lambda cost: v1.train.GradientDescentOptimizer(0.001).minimize(
            cost, var_list=v1.trainable_variables()[:2], name="optimizer"))), (
            "`optimizer` does not update `layer2/layer2_weights`, `layer2/layer2_bias`, `layer3/layer3_weights`, "
            "`layer3/layer3_bias`: minimize(cost) with no var_list trains every trainable variable cost depends on"))

    def test_variables_named_outside_their_scope_are_one_sentence(self):
        self.assertSaid(compare(_linear_unscoped()), (
            "yours has `layer1_weights` [784, 10] and `layer1_bias` [10] where graphs/ has `layer1/layer1_weights` "
            "[784, 10] and `layer1/layer1_bias` [10] (the same shapes, other names): a variable's name is its "
            "variable_scope's, a slash, and get_variable's (`layer1/layer1_weights`); give each graphs/'s"))
        # layer2's lines pasted into layer1's scope: the names are right but the scope is not.
        pasted = fc3(fc3_written(scopes=("layer1", "layer1", "layer3"), names=("layer1", "layer2", "layer3")))
        self.assertEqual(len(pasted.differences), 1, pasted.differences)
        self.assertTrue(pasted.differences[0].startswith(
            "yours has `layer1/layer2_weights` [500, 500] and `layer1/layer2_bias` [500] where graphs/ has "
            "`layer2/layer2_weights` [500, 500] and `layer2/layer2_bias` [500] (the same shapes, other names)"),
            pasted.differences[0])

    def test_a_layer_missing_or_added_is_one_sentence(self):
        self.assertSaid(fc3(fc3_written(scopes=("layer1", "layer3"), units=(500, 10))), (
            "yours has no layer `layer2`: graphs/ has `layer2/layer2_weights` [500, 500] and `layer2/layer2_bias` "
            "[500], made in `with tf.compat.v1.variable_scope(\"layer2\"):`"))
        self.assertSaid(fc3(fc3_written(scopes=("layer1", "layer2", "layer4", "layer3"), units=(500, 500, 500, 10))),
                        "yours has `layer4/layer4_weights` [500, 500] and `layer4/layer4_bias` [500], which graphs/ "
                        "does not have: take them out")
        self.assertSaid(fc3(fc3_written(layer=_batch_norm)), (
            "yours has `layer1/gamma` [500] and `layer1/beta` [500], which graphs/ does not have: take them out"), (
            "from `input` to `logits`, yours has `layer1/batchnorm` (tf.nn.batch_normalization) between "
            "`layer1/layer1_linear` (tf.nn.bias_add) and `layer1/Relu` (tf.nn.relu), which graphs/ does not have: "
            "take it out"))
        self.assertSaid(compare(linear_by_hand(optimizer=lambda cost: v1.train.GradientDescentOptimizer(
            0.01).minimize(cost, global_step=v1.train.get_or_create_global_step(), name="optimizer"))), (
            "yours has `global_step` [], which graphs/ does not have (minimize(..., global_step=...) makes "
            "`global_step`): take it out"))

    def test_an_op_added_or_moved_is_said_where_it_is(self):
        dropout = lambda i, x, w, b: tf.nn.dropout(tf.nn.relu(tf.nn.bias_add(tf.matmul(x, w), b)), rate=0.5) \
            if i == 0 else None
        self.assertSaid(fc3(fc3_written(layer=dropout)), (
            "from `input` to `logits`, yours has `layer1/dropout` (tf.nn.dropout) between `layer1/layer1_output` "
            "(tf.nn.relu) and `layer2/MatMul` (tf.matmul), which graphs/ does not have: take it out"))
        bias_after = lambda i, x, w, b: tf.nn.bias_add(tf.nn.relu(tf.matmul(x, w)), b) if i == 0 else None
        self.assertSaid(fc3(fc3_written(layer=bias_after)), (
            "from `input` to `logits`, yours has `layer1/BiasAdd` (tf.nn.bias_add) after `layer1/Relu` (tf.nn.relu) "
            "where graphs/ has tf.nn.relu after tf.nn.bias_add: swap them"))
        transposed = lambda i, x, w, b: tf.nn.relu(tf.nn.bias_add(tf.matmul(x, tf.transpose(w)), b)) if i == 1 else None
        self.assertSaid(fc3(fc3_written(layer=transposed)), (
            "from `input` to `logits`, yours has an extra `layer2/transpose` (tf.transpose) after the variable "
            "`layer2/layer2_weights`, which graphs/ does not have: take it out"))
        self.assertSaid(fc3(fc3_written(layer=lambda i, x, w, b: tf.nn.relu(tf.nn.bias_add(tf.matmul(x, w), b))
                                        if i == 2 else None)), (
            "from `input` to `logits`, yours has an extra `layer3/Relu` (tf.nn.relu) after `layer3/BiasAdd` "
            "(tf.nn.bias_add), which graphs/ does not have: take it out"))
        biases = []
        one_bias = lambda i, x, w, b: biases.append(b) or (tf.nn.relu(tf.nn.bias_add(tf.matmul(x, w), biases[0]))
                                                            if i == 1 else None)
        self.assertSaid(fc3(fc3_written(layer=one_bias)), (
            "from `input` to `logits`, `layer2/BiasAdd` (tf.nn.bias_add) takes the variable `layer1/layer1_bias` as "
            "its `bias` where graphs/'s takes the variable `layer2/layer2_bias`"))

    def test_a_cast_to_an_integer_is_a_setting_that_is_compared(self):
        mean_of_ints = compare(linear_by_hand(accuracy=lambda e, name: tf.reduce_mean(tf.cast(e, tf.int32), name=name)))
        self.assertSaid(mean_of_ints, "from `predictions` and `labels` to `accuracy`, yours has `accuracy/Cast` "
                                      "(tf.cast) with dtype=tf.int32 where graphs/ has dtype=tf.float32")

    def test_the_cast_or_reshape_after_a_wrong_placeholder_is_not_said_again(self):
        float64 = linear_by_hand(input_dtype=tf.float64, linear=lambda x, w, b: tf.nn.bias_add(
            tf.matmul(tf.cast(x, tf.float32), w), b))
        self.assertSaid(compare(float64), "`input` holds float64, graphs/'s float32: write "
                                          "tf.compat.v1.placeholder(tf.float32, ...)")
        self.assertSaid(conv4(conv4_written(input_shape=(None, 784))),
                        "`input` has the shape (?, 784), graphs/'s (?, 28, 28, 1): give it shape=(None, 28, 28, 1)")

    def test_a_cross_entropy_on_another_axis_is_its_axis(self):
        self.assertSaid(compare(linear_by_hand(loss=lambda labels, logits: tf.nn.softmax_cross_entropy_with_logits(
            labels=labels, logits=logits, axis=0))), (
            "from `logits` and `labels` to `cost`, yours has `cost/softmax_cross_entropy_with_logits` "
            "(tf.nn.softmax_cross_entropy_with_logits) with axis=0 where graphs/ has axis=1"))
        self.assertTrue(compare(linear_by_hand(loss=lambda labels, logits: tf.nn.softmax_cross_entropy_with_logits(
            labels=labels, logits=logits, axis=-1))).same)

    def test_labels_as_class_numbers_and_a_float64_variable_are_one_sentence_each(self):
        graph = tf.Graph()
        with graph.as_default():
            v1.set_random_seed(0)
            input = v1.placeholder(tf.float32, (None, 784), name="input")
            digits = v1.placeholder(tf.int32, (None,), name="labels")
            w, b = conv_variables("layer1", [784, 10])
            posts_tail(tf.nn.bias_add(tf.matmul(input, w), b), tf.one_hot(digits, 10), 0.01)
        self.assertSaid(compare(graph), "`labels` holds int32, graphs/'s float32: write "
                                        "tf.compat.v1.placeholder(tf.float32, ...)")
        float64 = linear_by_hand(
            weights=lambda: v1.get_variable("layer1_weights", [784, 10], tf.float64, initializer=RANDOM_NORMAL),
            linear=lambda x, w, b: tf.nn.bias_add(tf.matmul(x, tf.cast(w, tf.float32)), b))
        self.assertSaid(compare(float64), "`layer1/layer1_weights` holds float64, graphs/'s float32: leave "
                                          "get_variable's dtype at its default, tf.float32")

    def test_initializers_swapped_between_layers_are_said_for_each_layer(self):
        said = compare(fc3_by_hand(get_variable_with(XAVIER), get_variable_with(HE)), "fc3", "variance_scaling",
                       0.001).differences
        self.assertEqual(said, [
            "`layer1/layer1_weights` starts from uniform in [-0.0683586, 0.0683586] in yours, from truncated normal, "
            "mean 0, stddev 0.0574195 in graphs/",
            "`layer2/layer2_weights` starts from uniform in [-0.0774597, 0.0774597] in yours, from truncated normal, "
            "mean 0, stddev 0.0719005 in graphs/",
            "`layer3/layer3_weights` starts from truncated normal, mean 0, stddev 0.0719005 in yours, from uniform in "
            "[-0.108465, 0.108465] in graphs/"])

    def test_he_written_by_hand_without_the_truncation_s_factor_is_said_with_why(self):
        def he_by_hand(shape, dtype=None, partition_info=None):
            return tf.random.truncated_normal(shape, stddev=math.sqrt(2.0 / shape[0]))

        said = compare(fc3_by_hand(get_variable_with(he_by_hand), get_variable_with(XAVIER)), "fc3",
                       "variance_scaling", 0.001).differences
        self.assertEqual(said[0], (
            "`layer1/layer1_weights` starts from truncated normal, mean 0, stddev 0.0505076 in yours, from truncated "
            "normal, mean 0, stddev 0.0574195 in graphs/ (variance_scaling_initializer divides its stddev by "
            "0.879626, the spread a cut at 2 stddevs takes away, so its draws keep the variance 2 / fan_in)"))
        self.assertEqual(len(said), 2, said)  # layer2's, without the hint again

    def test_a_hand_written_cross_entropy_or_relu_is_said_with_why(self):
        why = ("from `logits` and `labels` to `cost`, yours has `cost/Neg` (-) where graphs/ has "
               "`cost/softmax_cross_entropy_with_logits` (tf.nn.softmax_cross_entropy_with_logits): a cross-entropy "
               "written by hand from tf.nn.softmax is not graphs/'s op (the log of a softmax that rounds to 0 is -inf, "
               "as with LTFN 5's costs in the thousands, and a tf.clip_by_value changes the cost of each image it "
               "clips and stops its gradient); write tf.nn.softmax_cross_entropy_with_logits(labels=labels, "
               "logits=logits)")
        for clip in (lambda p: p, lambda p: tf.clip_by_value(p, 1e-10, 1.0)):
            self.assertSaid(compare(linear_by_hand(loss=lambda labels, logits: -tf.reduce_sum(
                labels * v1.log(clip(tf.nn.softmax(logits))), axis=1))), why)
        maximum = lambda i, x, w, b: tf.maximum(tf.nn.bias_add(tf.matmul(x, w), b), 0.0) if i < 2 else None
        self.assertSaid(fc3(fc3_written(layer=maximum)), (
            "from `input` to `logits`, yours has `layer2/Maximum` (tf.maximum) where graphs/ has "
            "`layer2/layer2_output` (tf.nn.relu): tf.maximum(x, 0.0) gives the same values, but where x is exactly 0 "
            "(a zero bias on LTFN 5's blank borders) its gradient is 1 and tf.nn.relu's is 0; write tf.nn.relu"))

    def test_a_relu_after_its_max_pool_passes_with_a_note(self):
        # max_pool(relu(x)) and relu(max_pool(x)) are the same numbers and gradients; the numbers stage runs
        # both graphs from graphs/'s weights, one step included, and finds them equal to the last bit.
        def pool_then_relu(x):
            w, b = conv_variables("layer2", [3, 3, 64, 64])
            with v1.name_scope("pool1"):
                pooled = tf.nn.max_pool2d(tf.nn.bias_add(tf.nn.conv2d(x, w, 1, "SAME"), b), 2, 2, "SAME",
                                          name="pool1")
            return tf.nn.relu(pooled)

        report = conv4(conv4_written([CONV4[0], pool_then_relu] + CONV4[3:]))
        self.assertTrue(report.same, str(report))
        self.assertIn("`Relu` applies the ReLU after the max pool `pool1/pool1`, where graphs/ pools after the ReLU: "
                      "the same numbers and gradients", str(report))
        self.assertIn("exactly in float32", str(report))

    def test_conv4_s_wrong_layers_are_said(self):
        def transposed(x):
            w, b = conv_variables("layer2", [3, 3, 64, 64])
            return tf.nn.relu(tf.nn.bias_add(tf.nn.conv2d(x, tf.transpose(w, [0, 1, 3, 2]), 1, "SAME"), b))

        cases = [
            ([CONV4[0], ("layer2", [3, 3, 64, 64], dict(strides=2, padding="SAME"))] + CONV4[3:], [
                "from `input` to `logits`, yours has no tf.nn.max_pool2d after `layer2/layer2_out` (tf.nn.relu): "
                "graphs/ has `pool1/pool1` (tf.nn.max_pool2d) there",
                "from `input` to `logits`, yours has `layer2/Conv2D` (tf.nn.conv2d) with strides=[1, 2, 2, 1] where "
                "graphs/ has strides=[1, 1, 1, 1]"]),
            ([("layer1", [3, 3, 1, 64], dict(strides=1, padding="VALID"))] + CONV4[1:], [
                "from `input` to `logits`, yours has `layer1/Conv2D` (tf.nn.conv2d) with padding=\"VALID\" where "
                "graphs/ has padding=\"SAME\""]),
            ([("layer1", [3, 3, 1, 32]), ("layer2", [3, 3, 32, 64])] + CONV4[2:], [
                "`layer1/layer1_weights` is [3, 3, 1, 32] in yours, [3, 3, 1, 64] in graphs/",
                "`layer1/layer1_bias` is [32] in yours, [64] in graphs/",
                "`layer2/layer2_weights` is [3, 3, 32, 64] in yours, [3, 3, 64, 64] in graphs/"]),
            (CONV4[:3] + [("layer3", [5, 5, 64, 128])] + CONV4[4:], [
                "`layer3/layer3_weights` is [5, 5, 64, 128] in yours, [3, 3, 64, 128] in graphs/"]),
            ([CONV4[0], transposed] + CONV4[2:], [
                "from `input` to `logits`, yours has an extra `transpose` (tf.transpose) after the variable "
                "`layer2/layer2_weights`, which graphs/ does not have: take it out"]),
            (CONV4[:2] + [lambda x: tf.nn.avg_pool2d(x, 2, 2, "SAME")] + CONV4[3:], [
                "from `input` to `logits`, yours has `AvgPool2D` (tf.nn.avg_pool2d) where graphs/ has `pool1/pool1` "
                "(tf.nn.max_pool2d)"]),
            (CONV4 + [lambda x: tf.transpose(x, [0, 3, 1, 2])], [  # flattened channels first
                "from `input` to `logits`, yours has an extra `transpose` (tf.transpose) after `pool2/pool2` "
                "(tf.nn.max_pool2d), which graphs/ does not have: take it out"]),
        ]
        for spec, sentences in cases:
            self.assertEqual(conv4(conv4_written(spec)).differences, sentences)
        self.assertSaid(conv4(conv4_written(last=tf.nn.relu)), (
            "from `input` to `logits`, yours has an extra `Relu` (tf.nn.relu) after `layer5/BiasAdd` (tf.nn.bias_add), "
            "which graphs/ does not have: take it out"))
        self.assertSaid(conv4(conv4_written(learning_rate=0.00001)), "`optimizer` learns at 1e-05, graphs/ at 1e-06")

    def test_wrong_initial_values_and_nodes_are_said(self):
        cases = [
            (dict(bias=lambda: v1.get_variable("layer1_bias", [10], initializer=v1.ones_initializer())),
             "`layer1/layer1_bias` starts from the constant 1 in yours, from zeros in graphs/"),
            (dict(weights_init=v1.random_normal_initializer(mean=1.0)),
             "`layer1/layer1_weights` starts from normal, mean 1, stddev 1 in yours, from normal, mean 0, stddev 1 "
             "in graphs/"),
            (dict(weights_init=v1.random_uniform_initializer(-1.0, 1.0)),
             "`layer1/layer1_weights` starts from uniform in [-1, 1] in yours, from normal, mean 0, stddev 1 in "
             "graphs/"),
            (dict(correct=lambda p, labels: tf.equal(tf.argmax(p, 1), tf.argmax(p, 1))),
             "from `predictions` and `labels` to `accuracy`, `accuracy/ArgMax_1` (tf.argmax) takes `predictions` as "
             "its `input` where graphs/'s takes `labels`"),
            (dict(loss=lambda labels, logits: _softmax_cross_entropy(labels, tf.nn.softmax(logits))),
             "from `logits` and `labels` to `cost`, yours has an extra `cost/Softmax` (tf.nn.softmax) after `logits`, "
             "which graphs/ does not have: take it out"),
            (dict(linear=lambda x, w, b: tf.nn.bias_add(tf.matmul(x / 255.0, w), b)),
             "from `input` to `logits`, yours has an extra `layer1/truediv` (/) after `input`, which graphs/ does not "
             "have: take it out"),
            (dict(loss=lambda labels, logits: _softmax_cross_entropy(tf.cast(tf.cast(labels, tf.int32), tf.float32),
                                                                     logits)),
             "from `logits` and `labels` to `cost`, yours has `cost/Cast_1` (tf.cast) between `labels` and "
             "`cost/softmax_cross_entropy_with_logits` (tf.nn.softmax_cross_entropy_with_logits), which graphs/ does "
             "not have: take it out"),
            (dict(init=lambda w, b: v1.local_variables_initializer()),
             "your `init` leaves `layer1/layer1_weights`, `layer1/layer1_bias` uninitialized: make it with init = "
             "tf.compat.v1.global_variables_initializer(), after the last variable"),
        ]
        for mistake, sentence in cases:
            self.assertEqual(compare(linear_by_hand(**mistake)).differences, [sentence], mistake)

    def test_more_code_written_differently_passes(self):
        same = {
            "tf.linalg.matmul": dict(linear=lambda x, w, b: tf.nn.bias_add(tf.linalg.matmul(x, w), b)),
            "a tf.constant learning rate": dict(optimizer=lambda cost: v1.train.GradientDescentOptimizer(
                tf.constant(0.01)).minimize(cost, name="optimizer")),
            "the bias as tf.Variable(tf.zeros(...))": dict(bias=lambda: tf.Variable(tf.zeros([10]), name="layer1_bias")),
            "cost as a tf.identity of the mean": dict(reduce=lambda x, name: tf.identity(tf.reduce_mean(x), name=name)),
        }
        for what, variant in same.items():
            report = compare(linear_by_hand(**variant))
            self.assertTrue(report.same, "{}: {}".format(what, report))


if __name__ == "__main__":
    tf.test.main()
