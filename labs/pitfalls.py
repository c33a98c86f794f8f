"""The classic TF1 graph-dependency traps, each built wrong and then right, run, and traced (issue 13).

LTFN 2 teaches that `session.run` executes only what its fetches depend on. Each trap below is a
case where a node the learner built silently never runs (or runs when it should not). For each one,
two small functions hold the few lines of graph code at stake, `*_wrong` and `*_right`; //:pitfalls
prints their source with `inspect`, so what is shown is what ran. `run(name, data)` builds a graph
around each, runs it, and returns for each side the numbers the session returned and which of the
nodes that matter labs/deps predicted to run and the traced run (FULL_TRACE) saw run.
"""

import collections
import hashlib
import os
import tempfile
import time

import numpy as np
import tensorflow as tf

from labs import deps
from graphs import layers
from graphs import model
from graphs import posts
from session import trainer

Watch = collections.namedtuple("Watch", [
    "node",       # a node's name in the graph, or a branch function's node as the trace names it
    "what",       # what it is, in words
    "predicted",  # labs/deps predicted it to run (None: inside a function, not a graph node)
    "ran",        # the traced run saw it run
])

Side = collections.namedtuple("Side", [
    "code",        # the functions whose source shows what this side does
    "numbers",     # [(label, value)]: what the session returned
    "fetch",       # the traced session.run, in words
    "graph",
    "prediction",  # deps.Prediction for the traced fetch
    "ran",         # the graph's nodes that ran in the traced step (fused ones count as run)
    "watch",       # [Watch]: the nodes the pitfall is about
])

Result = collections.namedtuple("Result", ["wrong", "right"])
Pitfall = collections.namedtuple("Pitfall", ["name", "summary", "rule", "run"])

SEED = 0


def new_graph():
    graph = tf.Graph()
    with graph.as_default():
        tf.compat.v1.set_random_seed(SEED)
    return graph


def new_session(graph):
    # Grappler's rewrites off (deps.session_config), so every node runs under its own name.
    return tf.compat.v1.Session(graph=graph, config=deps.session_config())


class _Tracer:
    """A stand-in for the session that a pitfall's code is given: its first `run` is traced.

    The first call runs with a FULL_TRACE (labs/deps.trace_step) after labs/deps predicted what it
    would run; later calls pass straight to the session. `side()` then reports that traced call.
    """

    def __init__(self, session):
        self.session = session
        self.graph = session.graph
        self._traced = None

    def run(self, fetches, feed_dict=None):
        if self._traced is not None:
            return self.session.run(fetches, feed_dict)
        many = isinstance(fetches, (list, tuple))
        fetch_list = [self.graph.as_graph_element(f) for f in (fetches if many else [fetches])]
        prediction = deps.predict(self.graph, fetch_list, list(feed_dict or {}))
        trace = deps.trace_step(self.session, fetch_list, feed_dict)
        names = {op.name for op in self.graph.get_operations()}
        ran = (set(trace.nodes) & names) | set(deps.compare(self.graph, prediction, trace).fused)
        text = "session.run({}{})".format(
            ", ".join(_name(f) for f in fetch_list),
            ", feed_dict={" + ", ".join(_name(t) for t in feed_dict) + "}" if feed_dict else "")
        self._traced = (text, prediction, ran, set(trace.nodes))
        return trace.values if many else trace.values[0]

    def side(self, code, numbers, watch):
        """The Side of the traced call; `watch(predicted, ran, traced names)` lists the Watch entries."""
        text, prediction, ran, traced = self._traced
        return Side(list(code), list(numbers), text, self.graph, prediction, ran, watch(prediction.runs, ran, traced))


def _name(element):
    name = element.name
    return name[:-2] if name.endswith(":0") else name


def _watch_ops(ops, what=None):
    """Watch entries for graph ops, from the sets _Tracer.side passes."""
    def watch(predicted, ran, *_):
        return [Watch(op.name, what or op.type, op.name in predicted, op.name in ran) for op in ops]
    return watch


def checksum(session, variables):
    """SHA-256 of every variable's bytes: equal only if every weight is bit-identical."""
    digest = hashlib.sha256()
    for value in session.run(variables):
        digest.update(np.ascontiguousarray(value).tobytes())
    return digest.hexdigest()[:16]


def _branch_watch(cond, branches=(("then", "true"), ("else", "false"))):
    """Watch entries for tf.compat.v1.cond's two branch functions (control flow v2: an If op whose
    branches run as functions; the trace names their nodes `<cond>/then/...` and `<cond>/else/...`)."""
    def watch(predicted, ran, traced, *_):
        return [Watch("{}/{}/...".format(cond, branch), "the {} branch's function ({})".format(kind, branch),
                      None, any(n.startswith("{}/{}/".format(cond, branch)) for n in traced))
                for branch, kind in branches]
    return watch


def _both(*watches):
    def watch(*args):
        return [w for each in watches for w in each(*args)]
    return watch


class _Logits(collections.namedtuple("_Logits", ["input", "logits"])):
    """What trainer.evaluate needs of a model: only `input` and `logits` (LTFN 2's test loop)."""


def _first(dataset, n):
    return type(dataset)(dataset.images[:n], dataset.labels[:n])


# ---- update_ops: batch normalization's moving statistics.

BN_STEPS = 60


def update_ops_wrong(cost):
    return tf.compat.v1.train.GradientDescentOptimizer(0.1).minimize(cost, name="optimizer")


def update_ops_right(cost):
    update_ops = tf.compat.v1.get_collection(tf.compat.v1.GraphKeys.UPDATE_OPS)
    with tf.control_dependencies(update_ops):
        return tf.compat.v1.train.GradientDescentOptimizer(0.1).minimize(cost, name="optimizer")


def _bn_net(input, training):
    """A small conv net: conv 3x3x1x8 -> batch normalization -> ReLU -> 2x2 pool -> dense -> logits."""
    # tf.compat.v1.layers is this module when TF_USE_LEGACY_KERAS=1 (Keras 3 has no TF1 layers): imported
    # by its own name, so the rest of the process keeps Keras 3, and only here, where it is used (it is slow).
    from tf_keras.api._v1.keras.__internal__.legacy import layers as v1_layers
    with tf.compat.v1.variable_scope("layer1"):
        w = tf.compat.v1.get_variable("layer1_weights", [3, 3, 1, 8],
                                      initializer=tf.compat.v1.glorot_uniform_initializer())
        conv = tf.nn.conv2d(input, w, strides=1, padding="SAME", name="layer1_conv")
        # momentum 0.9 (the default is 0.99): the moving averages settle within BN_STEPS steps.
        normalized = v1_layers.batch_normalization(conv, training=training, momentum=0.9, name="layer1_bn")
        out = tf.nn.relu(normalized, name="layer1_out")
    pool = layers.max_pool(out, "pool1")
    flat = tf.reshape(pool, [-1, 14 * 14 * 8], name="flatten")
    logits = tf.identity(layers.dense(flat, "layer2", 10, "xavier", relu=False), name="logits")
    return conv, logits


def _update_ops_side(code, data):
    graph = new_graph()
    with graph.as_default():
        input, labels = model.placeholders((28, 28, 1))
        training = tf.compat.v1.placeholder_with_default(False, (), name="training")
        conv, logits = _bn_net(input, training)
        optimizer = code(model.loss(logits, labels))
        moving = [v for v in tf.compat.v1.global_variables() if "moving_" in v.name]
        update_ops = tf.compat.v1.get_collection(tf.compat.v1.GraphKeys.UPDATE_OPS)
        init = tf.compat.v1.global_variables_initializer()
    batches = trainer.Batches(data.train, 50, (28, 28, 1))
    with new_session(graph) as session:
        session.run(init)
        tracer = _Tracer(session)
        for step in reversed(range(BN_STEPS)):  # counts down: the last step is the traced one
            images, answers = batches(BN_STEPS - 1 - step)
            run = tracer.run if step == 0 else session.run
            run(optimizer, {input: images, labels: answers, training: True})
        batch_conv = session.run(conv, {input: images, training: True})
        mean, variance = session.run(moving)
        _, accuracy = trainer.evaluate(session, _Logits(input, logits), _first(data.test, 2000), 500, (28, 28, 1))
    numbers = [
        ("moving_mean after {} steps (mean over the 8 channels)".format(BN_STEPS), float(np.mean(mean))),
        ("moving_variance after {} steps (mean over the 8 channels)".format(BN_STEPS), float(np.mean(variance))),
        ("the last training batch's own mean / variance of layer1_conv",
         (float(batch_conv.mean()), float(batch_conv.var(axis=(0, 1, 2)).mean()))),
        ("test accuracy in inference mode (moving statistics), first 2,000 test images, %", accuracy),
    ]
    return tracer.side([code], numbers, _watch_ops(update_ops, "a moving-average update (UPDATE_OPS)"))


def run_update_ops(data):
    return Result(_update_ops_side(update_ops_wrong, data), _update_ops_side(update_ops_right, data))


# ---- assign_not_fetched: an assign nothing fetches or depends on.

RUNS = 5


def assign_not_fetched_wrong(seen, input):
    seen.assign_add(tf.shape(input)[0])  # built, but nothing fetches it or depends on it
    return seen.read_value()


def assign_not_fetched_right(seen, input):
    count = seen.assign_add(tf.shape(input)[0])
    with tf.control_dependencies([count]):  # the read is created inside: it runs after the count
        return seen.read_value()


def _counter(name, dtype=tf.int32):
    return tf.compat.v1.get_variable(name, (), dtype, initializer=tf.compat.v1.zeros_initializer())


def _assign_side(code, data):
    graph = new_graph()
    with graph.as_default():
        input, _ = model.placeholders((784,))
        seen = _counter("images_seen")
        read = code(seen, input)
        init = tf.compat.v1.global_variables_initializer()
    assigns = [op for op in graph.get_operations() if op.type == "AssignAddVariableOp"]
    with new_session(graph) as session:
        session.run(init)
        tracer = _Tracer(session)
        values = [int(tracer.run(read, {input: data.train.images[i * 100:(i + 1) * 100]})) for i in range(RUNS)]
    return tracer.side([code], [("images_seen returned by {} runs on batches of 100".format(RUNS), values)],
                       _watch_ops(assigns, "the assign_add counting images"))


def run_assign_not_fetched(data):
    return Result(_assign_side(assign_not_fetched_wrong, data), _assign_side(assign_not_fetched_right, data))


# ---- control_dependencies_alias: `y = x` inside the block creates no op.

def control_dependencies_alias_wrong(x):
    x_plus_1 = x.assign_add(1.0)
    with tf.control_dependencies([x_plus_1]):
        y = x  # a second Python name for x: no op is created, so nothing waits for x_plus_1
    return y


def control_dependencies_alias_right(x):
    x_plus_1 = x.assign_add(1.0)
    with tf.control_dependencies([x_plus_1]):
        y = tf.identity(x)  # an op created inside the block: it runs after x_plus_1
    return y


def _alias_side(code, data):
    del data  # no data needed
    graph = new_graph()
    with graph.as_default():
        x = _counter("x", tf.float32)
        y = code(x)
        init = tf.compat.v1.global_variables_initializer()
    assigns = [op for op in graph.get_operations() if op.type == "AssignAddVariableOp"]
    with new_session(graph) as session:
        session.run(init)
        tracer = _Tracer(session)
        values = [float(tracer.run(y)) for _ in range(RUNS)]
    return tracer.side([code], [("session.run(y), {} times".format(RUNS), values)],
                       _watch_ops(assigns, "x_plus_1, the assign_add"))


def run_control_dependencies_alias(data):
    return Result(_alias_side(control_dependencies_alias_wrong, data),
                  _alias_side(control_dependencies_alias_right, data))


# ---- summary_not_fetched: a summary op runs (and writes) only when fetched.

SUMMARY_TAG = "train_cost"


def summary_not_fetched_wrong(session, writer, model, summary, feed, step):
    session.run(model.optimizer, feed)  # the summary was built, but nothing fetches it


def summary_not_fetched_right(session, writer, model, summary, feed, step):
    _, serialized = session.run([model.optimizer, summary], feed)
    writer.add_summary(serialized, step)


def _summary_side(code, data):
    graph = new_graph()
    with graph.as_default():
        nodes = model.build("linear", "random_normal", posts.settings("linear", "random_normal").learning_rate)
        summary = tf.compat.v1.summary.scalar(SUMMARY_TAG, nodes.cost)
        init = tf.compat.v1.global_variables_initializer()
    batches = trainer.Batches(data.train, 100, (784,))
    with tempfile.TemporaryDirectory() as logdir:
        writer = tf.compat.v1.summary.FileWriter(logdir)
        with new_session(graph) as session:
            session.run(init)
            tracer = _Tracer(session)
            for step in range(RUNS):
                images, labels = batches(step)
                code(tracer, writer, nodes, summary, {nodes.input: images, nodes.labels: labels}, step)
        writer.close()
        scalars = sum(1 for name in os.listdir(logdir)
                      for event in tf.compat.v1.train.summary_iterator(os.path.join(logdir, name))
                      for value in event.summary.value if value.tag == SUMMARY_TAG)
    numbers = [("`train_cost` scalars in TensorBoard's event file after {} training steps".format(RUNS), scalars)]
    return tracer.side([code], numbers, _watch_ops([summary.op], "the scalar summary of cost"))


def run_summary_not_fetched(data):
    return Result(_summary_side(summary_not_fetched_wrong, data), _summary_side(summary_not_fetched_right, data))


# ---- feed_any_tensor: feed_dict replaces any feedable tensor, not only placeholders.

FC3_STEPS = 150


def feed_any_tensor_wrong(session, model, layer1_output, images, kept):
    # the feed_dict still holds layer1's output, kept from another batch
    return session.run(model.logits, {model.input: images, layer1_output: kept})


def feed_any_tensor_right(session, model, layer1_output, images, kept):
    return session.run(model.logits, {model.input: images})


def run_feed_any_tensor(data):
    graph = new_graph()
    with graph.as_default():
        nodes = model.build("fc3", "random_normal", posts.settings("fc3", "random_normal").learning_rate)
        init = tf.compat.v1.global_variables_initializer()
    layer1_output = graph.get_tensor_by_name("layer1/layer1_output:0")
    layer1 = [op for op in graph.get_operations()
              if op.name.startswith("layer1/") and op.type in ("MatMul", "BiasAdd", "Relu")]
    test = data.test
    first, second = slice(0, 1000), slice(1000, 2000)
    sides = []
    with new_session(graph) as session:
        session.run(init)
        trainer.train(session, nodes, trainer.Batches(data.train, 100, (784,)), FC3_STEPS, FC3_STEPS)
        kept, first_logits = session.run([layer1_output, nodes.logits], {nodes.input: test.images[first]})
        for code in (feed_any_tensor_wrong, feed_any_tensor_right):
            tracer = _Tracer(session)
            logits = code(tracer, nodes, layer1_output, test.images[second], kept)
            numbers = [
                ("accuracy against the labels of the images fed to `input` (test 1000-1999), %",
                 trainer.score(logits, test.labels[second])[1]),
                ("accuracy against the labels of the batch layer1's output came from (test 0-999), %",
                 trainer.score(logits, test.labels[first])[1]),
                ("largest difference from that other batch's logits", float(np.max(np.abs(logits - first_logits)))),
            ]
            sides.append(tracer.side([code], numbers, _watch_ops(layer1, "layer1, below the fed tensor")))
    return Result(*sides)


# ---- cond_outside_branches: only ops created inside the branch functions are conditional.

def cond_outside_branches_wrong(pred, counter):
    increment = counter.assign_add(1)  # created outside the branch functions: it always runs
    return tf.compat.v1.cond(pred, lambda: increment, lambda: counter.read_value(), name="cond")


def cond_outside_branches_right(pred, counter):
    return tf.compat.v1.cond(pred, lambda: counter.assign_add(1), lambda: counter.read_value(), name="cond")


def _cond_side(code, data):
    del data  # no data needed
    graph = new_graph()
    with graph.as_default():
        pred = tf.compat.v1.placeholder(tf.bool, (), name="pred")
        counter = _counter("counter")
        result = code(pred, counter)
        final = counter.read_value()
        init = tf.compat.v1.global_variables_initializer()
    outside = [op for op in graph.get_operations() if op.type == "AssignAddVariableOp"]
    with new_session(graph) as session:
        session.run(init)
        tracer = _Tracer(session)
        for _ in range(RUNS):
            tracer.run(result, {pred: False})
        value = int(session.run(final))
    numbers = [("counter after {} runs with pred=False (the true branch increments it)".format(RUNS), value)]
    return tracer.side([code], numbers, _both(_watch_ops(outside, "the increment, outside the branches"),
                                             _branch_watch("cond")))


def run_cond_outside_branches(data):
    return Result(_cond_side(cond_outside_branches_wrong, data), _cond_side(cond_outside_branches_right, data))


# ---- graph_grows_in_loop: ops built inside the training loop.

LOOP_STEPS = 100


def graph_grows_in_loop_wrong(session, model, feed):
    correct = tf.equal(tf.argmax(model.logits, 1), tf.argmax(model.labels, 1))  # new ops at every call
    return session.run(tf.reduce_mean(tf.cast(correct, tf.float32)), feed)


def graph_grows_in_loop_right(session, model, feed):
    return session.run(model.accuracy, feed)  # built once, before the loop (graphs/model.py)


def _grows_side(code, data, finalize):
    graph = new_graph()
    with graph.as_default():
        nodes = model.build("linear", "random_normal", posts.settings("linear", "random_normal").learning_rate)
        init = tf.compat.v1.global_variables_initializer()
    batches = trainer.Batches(data.train, 100, (784,))
    counts, times, error = [len(graph.get_operations())], [], None
    with new_session(graph) as session:
        session.run(init)
        if finalize:
            graph.finalize()  # from here on, building an op raises at once
        tracer = _Tracer(session)
        for step in range(LOOP_STEPS):
            images, labels = batches(step)
            feed = {nodes.input: images, nodes.labels: labels}
            start = time.perf_counter()
            with graph.as_default():
                code(tracer if step == LOOP_STEPS - 1 else session, nodes, feed)
            if step < LOOP_STEPS - 1:  # the last step is traced: slower, not counted
                times.append(time.perf_counter() - start)
            counts.append(len(graph.get_operations()))
        with graph.as_default():
            try:
                graph.finalize()
                code(session, nodes, feed)
            except RuntimeError as e:
                error = "{}: {}".format(type(e).__name__, e)
    window = 20
    numbers = [
        ("nodes in the graph before the loop / after step 1 / after step {}".format(LOOP_STEPS),
         (counts[0], counts[1], counts[-1])),
        ("ms per step, first {} / last {} steps".format(window, window),
         (1000 * float(np.mean(times[:window])), 1000 * float(np.mean(times[-window:])))),
        ("the same step after graph.finalize()", error or "runs: it builds nothing"),
    ]

    created = graph.get_operations()[counts[-2]:]  # what the last (traced) step built

    def watch(predicted, ran, _):
        if created:
            return [Watch("{} nodes, {} ... {}".format(len(created), created[0].name, created[-1].name),
                          "built by this very step", all(op.name in predicted for op in created),
                          all(op.name in ran for op in created))]
        return _watch_ops([nodes.accuracy.op], "the accuracy built before the loop")(predicted, ran)
    return tracer.side([code], numbers, watch)


def run_graph_grows_in_loop(data):
    return Result(_grows_side(graph_grows_in_loop_wrong, data, False),
                  _grows_side(graph_grows_in_loop_right, data, True))


# ---- test_loop_trains: a test loop that fetches `optimizer`, the mistake LTFN 2 warns against.

LINEAR_STEPS = 300


def test_loop_trains_wrong(session, model, test):
    # what LTFN 2 warns against ("we don't want to train our network on our test set"): fetching
    # optimizer makes every test batch a training step
    accuracies = []
    for begin in range(0, len(test.images), 100):
        feed = {model.input: test.images[begin:begin + 100], model.labels: test.labels[begin:begin + 100]}
        _, accuracy = session.run([model.optimizer, model.accuracy], feed)
        accuracies.append(accuracy)
    return 100.0 * float(np.mean(accuracies))


def test_loop_trains_right(session, model, test):
    return trainer.evaluate(session, model, test, 100, model.input.shape[1:])[1]  # fetches only logits


def run_test_loop_trains(data):
    graph = new_graph()
    with graph.as_default():
        nodes = model.build("linear", "random_normal", posts.settings("linear", "random_normal").learning_rate)
        weights = tf.compat.v1.trainable_variables()
        init = tf.compat.v1.global_variables_initializer()
    updates = [op for op in graph.get_operations() if op.type.startswith("ResourceApply")]
    sides = {}
    with new_session(graph) as session:
        session.run(init)
        trainer.train(session, nodes, trainer.Batches(data.train, 100, (784,)), LINEAR_STEPS, LINEAR_STEPS)
        # The right loop first: it changes nothing, so the wrong one starts from the same weights.
        for code in (test_loop_trains_right, test_loop_trains_wrong):
            before = checksum(session, weights)
            tracer = _Tracer(session)
            reported = code(tracer, nodes, data.test)
            after = checksum(session, weights)
            honest = trainer.evaluate(session, nodes, data.test, 1000, (784,))[1]
            numbers = [
                ("test accuracy the loop reports (10,000 test images), %", reported),
                ("checksum of every weight before / after the test loop", (before, after)),
                ("logits-only test accuracy after the loop, %", honest),
            ]
            shown = [code, trainer.evaluate, trainer.test_logits] if code is test_loop_trains_right else [code]
            sides[code] = tracer.side(shown, numbers, _watch_ops(
                [nodes.optimizer] + updates, "the optimizer and its weight updates"))
    return Result(sides[test_loop_trains_wrong], sides[test_loop_trains_right])


# ---- variables_after_init_op: global_variables_initializer() knows only the variables made before it.

def variables_after_init_op_wrong():
    weights = tf.compat.v1.get_variable("layer1_weights", [784, 10])
    init = tf.compat.v1.global_variables_initializer()
    bias = tf.compat.v1.get_variable("layer1_bias", [10])  # made after init: init does not cover it
    return init, weights, bias


def variables_after_init_op_right():
    weights = tf.compat.v1.get_variable("layer1_weights", [784, 10])
    bias = tf.compat.v1.get_variable("layer1_bias", [10])
    init = tf.compat.v1.global_variables_initializer()  # made last: it covers every variable
    return init, weights, bias


def _init_side(code, data):
    del data  # no data needed
    graph = new_graph()
    with graph.as_default():
        init, weights, bias = code()
        uninitialized = tf.compat.v1.report_uninitialized_variables()
        read = bias.read_value()
    initializers = [op for op in graph.get_operations() if op.type == "AssignVariableOp"]
    with new_session(graph) as session:
        tracer = _Tracer(session)
        tracer.run(init)
        names = [n.decode() for n in session.run(uninitialized)]
        try:
            value = "sum {:.1f}".format(float(np.sum(session.run(read))))
        except tf.errors.FailedPreconditionError as e:
            value = deps.error_line(e).split(" Debug info:")[0]
    numbers = [("variables still uninitialized after session.run(init)", names),
               ("session.run(layer1_bias)", value)]
    return tracer.side([code], numbers, _watch_ops(initializers, "a variable's initializer"))


def run_variables_after_init_op(data):
    return Result(_init_side(variables_after_init_op_wrong, data), _init_side(variables_after_init_op_right, data))


# ---- dropout_left_on: dropout at evaluation time.

DROPOUT_STEPS = 300
EVALUATIONS = 3


def dropout_left_on_wrong(hidden, training):
    return tf.nn.dropout(hidden, rate=0.5)  # on at every run, evaluation too


def dropout_left_on_right(hidden, training):
    # training = tf.compat.v1.placeholder_with_default(False, ()): off unless a training step feeds True
    return tf.compat.v1.cond(training, lambda: tf.nn.dropout(hidden, rate=0.5), lambda: hidden, name="dropout")


def _dropout_side(code, data):
    graph = new_graph()
    with graph.as_default():
        input, labels = model.placeholders((784,))
        training = tf.compat.v1.placeholder_with_default(False, (), name="training")
        hidden = layers.dense(input, "layer1", 100, "xavier", relu=True)
        logits = tf.identity(layers.dense(code(hidden, training), "layer2", 10, "xavier", relu=False), name="logits")
        optimizer = model.training(model.loss(logits, labels), 0.1)
        init = tf.compat.v1.global_variables_initializer()
    random = [op for op in graph.get_operations() if op.type == "RandomUniform" and op.name.startswith("dropout/")]
    batches = trainer.Batches(data.train, 100, (784,))
    test = _first(data.test, 2000)
    with new_session(graph) as session:
        session.run(init)
        for step in range(DROPOUT_STEPS):
            images, answers = batches(step)
            session.run(optimizer, {input: images, labels: answers, training: True})
        tracer = _Tracer(session)
        accuracies = [trainer.evaluate(tracer if i == 0 else session, _Logits(input, logits), test, 1000, (784,))[1]
                      for i in range(EVALUATIONS)]
    numbers = [("test accuracy of {} evaluations of the same weights (2,000 test images), %".format(EVALUATIONS),
                accuracies)]
    watch = _watch_ops(random, "dropout's random mask")
    if code is dropout_left_on_right:
        watch = _branch_watch("dropout", [("then", "true")])
    return tracer.side([code], numbers, watch)


def run_dropout_left_on(data):
    return Result(_dropout_side(dropout_left_on_wrong, data), _dropout_side(dropout_left_on_right, data))


# ---- The list, in the order //:pitfalls runs them. `rule`: the documented rule, and where it is documented.

PITFALLS = collections.OrderedDict((p.name, p) for p in [
    Pitfall("update_ops",
            "batch_normalization's moving mean/variance stay 0/1 unless the train op depends on UPDATE_OPS",
            "tf.compat.v1.layers.batch_normalization (its note): when training, moving_mean and "
            "moving_variance are updated by ops placed in tf.GraphKeys.UPDATE_OPS; run them with the train op",
            run_update_ops),
    Pitfall("assign_not_fetched",
            "an assign that nothing fetches or depends on never runs",
            "tf.compat.v1.Session.run: one step runs the graph fragment needed by the fetches, nothing else "
            "(LTFN 2)",
            run_assign_not_fetched),
    Pitfall("control_dependencies_alias",
            "inside control_dependencies, `y = x` creates no op, so nothing waits; tf.identity(x) does",
            "tf.Graph.control_dependencies: only ops constructed inside the block get the dependency; merely "
            "using a tensor there adds none (its WRONG/RIGHT example)",
            run_control_dependencies_alias),
    Pitfall("summary_not_fetched",
            "a summary op that is never fetched writes nothing to TensorBoard",
            "TensorBoard's TF1 summaries guide: summary ops do nothing until run; fetch them and pass the "
            "result to tf.compat.v1.summary.FileWriter.add_summary",
            run_summary_not_fetched),
    Pitfall("feed_any_tensor",
            "feed_dict replaces any feedable tensor: feed layer1's output and nothing below it runs",
            "tf.compat.v1.Session.run: feed_dict values substitute for the tensors they key, any feedable "
            "tensor, not only placeholders",
            run_feed_any_tensor),
    Pitfall("cond_outside_branches",
            "an op created outside tf.cond's branch functions runs whichever branch is taken",
            "tf.compat.v1.cond (its warning): tensors and operations created outside true_fn and false_fn "
            "run whichever branch is selected",
            run_cond_outside_branches),
    Pitfall("graph_grows_in_loop",
            "building ops inside the training loop grows the graph at every step; graph.finalize() catches it",
            "tf.Graph.finalize: after it no new operation can be added (RuntimeError); documented to protect "
            "a graph shared between threads, it catches ops built in a loop just the same",
            run_graph_grows_in_loop),
    Pitfall("test_loop_trains",
            "fetching optimizer in the test loop trains on the test set (LTFN 2 warns against it)",
            "tf.compat.v1.Session.run runs every op the fetches need, the optimizer's updates included; LTFN 2: "
            "test inference fetches only logits",
            run_test_loop_trains),
    Pitfall("variables_after_init_op",
            "a variable created after global_variables_initializer() is not initialized by it",
            "tf.compat.v1.global_variables_initializer: a shortcut for variables_initializer(global_variables()), "
            "the variables existing when it is called; reading a later one raises FailedPreconditionError",
            run_variables_after_init_op),
    Pitfall("dropout_left_on",
            "dropout left on at evaluation gives another accuracy at every evaluation",
            "tf.compat.v1.placeholder_with_default: it passes its default through when not fed, so training "
            "feeds training=True and evaluation feeds nothing",
            run_dropout_left_on),
])


def run(name, data):
    """Runs pitfall `name` on `data` (loader.Datasets): Result(wrong, right)."""
    return PITFALLS[name].run(data)
