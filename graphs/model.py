"""The nodes every post's network shares, in the order of TensorFlow's classic mnist.py:
placeholders -> inference (the network's module) -> loss -> training -> evaluation.

Names are the posts': `input`, `labels`, `logits`, `cost`, `optimizer`, `predictions`, `accuracy`.
"""

import collections

import tensorflow as tf

from graphs import conv4, fc3, layers, linear

NETS = {"linear": linear, "fc3": fc3, "conv4": conv4}
NUM_CLASSES = 10

Model = collections.namedtuple("Model", [
    "input", "labels", "logits", "cost", "optimizer", "predictions", "accuracy", "pre_activations"])


def placeholders(input_shape):
    """`None` batch dimension (LTFN 2): batches of 1, 10, 283 ... all run through the same graph."""
    input = tf.compat.v1.placeholder(tf.float32, (None,) + tuple(input_shape), name="input")
    labels = tf.compat.v1.placeholder(tf.float32, (None, NUM_CLASSES), name="labels")
    return input, labels


def loss(logits, labels):
    """Mean softmax cross-entropy over the batch (LTFN 1)."""
    with tf.compat.v1.name_scope("cost") as scope:
        cross_entropy = tf.nn.softmax_cross_entropy_with_logits(labels=labels, logits=logits)
        # name=scope gives the op the scope's own name, so the tensor is `cost:0`.
        return tf.reduce_mean(cross_entropy, name=scope)


# minimize's own default, the posts' graph: all of an op's gradients are computed before any of them is used.
POSTS_GATING = tf.compat.v1.train.Optimizer.GATE_OP


def training(cost, learning_rate, gate_gradients=POSTS_GATING):
    """Plain gradient descent (LTFN 1); running `optimizer` runs every node cost depends on.

    Only the benchmark's levers (bench/levers.py) ask for another gate_gradients (GATE_NONE): it lets oneDNN
    fuse a layer's weight and bias gradients into one kernel."""
    return tf.compat.v1.train.GradientDescentOptimizer(learning_rate).minimize(
        cost, gate_gradients=gate_gradients, name="optimizer")


def evaluation(logits, labels):
    """softmax -> argmax -> equal -> mean (LTFN 2)."""
    predictions = tf.nn.softmax(logits, name="predictions")
    with tf.compat.v1.name_scope("accuracy") as scope:
        correct = tf.equal(tf.argmax(predictions, 1), tf.argmax(labels, 1))
        accuracy = tf.reduce_mean(tf.cast(correct, tf.float32), name=scope)
    return predictions, accuracy


def build(net, init, learning_rate, gate_gradients=POSTS_GATING):
    """Builds the whole graph of `net` into the default graph and returns its named nodes.

    Programs call build_graph, which gives the graph its own tf.Graph and seed; this is its body.
    """
    module = NETS[net]
    input, labels = placeholders(module.INPUT_SHAPE)
    logits = tf.identity(module.inference(input, init), name="logits")
    cost = loss(logits, labels)
    optimizer = training(cost, learning_rate, gate_gradients)
    predictions, accuracy = evaluation(logits, labels)
    pre_activations = tf.compat.v1.get_collection(layers.PRE_ACTIVATIONS)
    return Model(input, labels, logits, cost, optimizer, predictions, accuracy, pre_activations)


def build_graph(net, init, learning_rate, seed=0, gate_gradients=POSTS_GATING):
    """The one builder: `net`'s whole graph in a fresh tf.Graph, seeded, with its initializer op.

    Returns (graph, Model, init_op). Every program, the bench, the lessons and the tests build here, so
    the graph a learner inspects is the graph //:run trains. Callers may add ops that create no
    variables (summaries, numerics checks) under `graph.as_default()` before finalizing it.
    """
    graph = tf.Graph()
    with graph.as_default():
        tf.compat.v1.set_random_seed(seed)
        nodes = build(net, init, learning_rate, gate_gradients)
        init_op = tf.compat.v1.global_variables_initializer()
    return graph, nodes, init_op
