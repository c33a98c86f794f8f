"""labs/sameness.py: a hand-built graph is held against graphs/model.build_graph, and every way it can
differ is said in words (the lessons' check cell, issue 19)."""

import numpy as np
import tensorflow as tf

from graphs import model
from labs import sameness

tf.compat.v1.disable_eager_execution()

RANDOM_NORMAL = tf.compat.v1.random_normal_initializer(mean=0.0, stddev=1.0)
RNG = np.random.default_rng(0)
# A batch of 100 made-up images and one-hot labels: the check needs no MNIST file.
BATCH = (RNG.random((100, 784), np.float32), np.eye(10, dtype=np.float32)[RNG.integers(0, 10, 100)])


def linear_by_hand(weights_init=RANDOM_NORMAL, plus=False, learning_rate=0.01, weights_name="layer1_weights",
                   batch=None, swap_cost=False, build_twice=False, logits_name="logits"):
    """LTFN 1's graph written as a lesson writes it, with the mistakes a learner can make as options."""
    graph = tf.Graph()
    with graph.as_default():
        for _ in range(2 if build_twice else 1):
            input = tf.compat.v1.placeholder(tf.float32, shape=(batch, 784), name="input")
            labels = tf.compat.v1.placeholder(tf.float32, shape=(batch, 10), name="labels")
        with tf.compat.v1.variable_scope("layer1"):
            w = tf.compat.v1.get_variable(weights_name, [784, 10], initializer=weights_init)
            b = tf.compat.v1.get_variable("layer1_bias", [10], initializer=tf.compat.v1.zeros_initializer())
            linear = tf.matmul(input, w) + b if plus else tf.nn.bias_add(tf.matmul(input, w), b,
                                                                          name="layer1_linear")
        logits = tf.identity(linear, name=logits_name)
        with tf.compat.v1.name_scope("cost") as scope:
            pair = dict(labels=logits, logits=labels) if swap_cost else dict(labels=labels, logits=logits)
            cost = tf.reduce_mean(tf.nn.softmax_cross_entropy_with_logits(**pair), name=scope)
        tf.compat.v1.train.GradientDescentOptimizer(learning_rate).minimize(cost, name="optimizer")
        predictions = tf.nn.softmax(logits, name="predictions")
        with tf.compat.v1.name_scope("accuracy") as scope:
            correct = tf.equal(tf.argmax(predictions, 1), tf.argmax(labels, 1))
            tf.reduce_mean(tf.cast(correct, tf.float32), name=scope)
    return graph


def compare(graph, net="linear", init="random_normal", learning_rate=0.01):
    return sameness.compare(graph, net, init, learning_rate, batch=BATCH)


class SamenessTest(tf.test.TestCase):

    def test_the_posts_graph_written_by_hand_is_the_project_s(self):
        graph = linear_by_hand()
        graph.finalize()  # the check adds nothing to the learner's graph, so a finalized one works
        report = compare(graph)
        self.assertTrue(report.same, str(report))
        text = str(report)
        self.assertIn("the same 3 ops from `input` to `logits`: MatMul, BiasAdd, Identity", text)
        self.assertIn("ResourceApplyGradientDescent at learning rate 0.01", text)
        # The cost is the one build_graph's own weights give on the batch, computed here independently.
        theirs, nodes, init = model.build_graph("linear", "random_normal", 0.01)
        with tf.compat.v1.Session(graph=theirs) as session:
            session.run(init)
            expected = session.run(nodes.cost, {nodes.input: BATCH[0], nodes.labels: BATCH[1]})
        self.assertEqual(report.numbers["cost"], float(expected))
        self.assertIn("{:.9g}".format(float(expected)), text)

    def test_each_difference_is_said_in_words(self):
        report = compare(linear_by_hand(plus=True, learning_rate=0.1, weights_name="weights"))
        self.assertFalse(report.same)
        text = "\n".join(report.differences)
        self.assertIn("graphs/ has the variable `layer1/layer1_weights` [784, 10], yours has none of that name "
                      "(is it yours `layer1/weights` [784, 10], named differently?", text)
        self.assertIn("yours MatMul, AddV2, Identity, graphs/'s MatMul, BiasAdd, Identity (graphs/ adds a bias "
                      "with tf.nn.bias_add", text)
        self.assertIn("`optimizer` learns at 0.1, graphs/ at 0.01", text)
        self.assertEqual(len(report.differences), 4, text)
        self.assertIn("The rest of the lesson runs on your graph", str(report))

    def test_initializers_are_compared_by_the_distribution_they_draw(self):
        # LTFN 6's first attempt as the post writes it, N(0, 1) * 0.01, is graphs/'s `small`: N(0, 0.01).
        graph = tf.Graph()
        with graph.as_default():
            times_small = linear_by_hand(weights_init=lambda shape, dtype=None, partition_info=None:
                                         tf.random.normal(shape) * 0.01)
        self.assertTrue(compare(times_small, init="small").same, str(compare(times_small, init="small")))
        glorot = compare(linear_by_hand(weights_init=tf.compat.v1.glorot_uniform_initializer()))
        self.assertEqual(glorot.differences, [
            "`layer1/layer1_weights` starts from uniform in [-0.0869291, 0.0869291] in yours, from normal, mean 0, "
            "stddev 1 in graphs/"])  # sqrt(6 / (784 + 10)) = 0.0869291
        he = compare(linear_by_hand(weights_init=tf.compat.v1.glorot_uniform_initializer()), init="small")
        self.assertIn("from normal, mean 0, stddev 0.01 in graphs/", he.differences[0])

    def test_a_fixed_batch_a_missing_name_and_a_cell_run_twice(self):
        fixed = compare(linear_by_hand(batch=100))
        self.assertIn("`input` has the shape (100, 784), graphs/'s (?, 784) (a None batch", fixed.differences[0])
        unnamed = compare(linear_by_hand(logits_name="output"))
        self.assertIn('there is no `logits` (the logits): give it name="logits"', unnamed.differences)
        twice = compare(linear_by_hand(build_twice=True))
        self.assertIn("there are both `input` and `input_1`: a cell that builds nodes ran twice",
                      "\n".join(twice.differences))

    def test_the_same_ops_computing_another_number_are_caught_by_the_numbers(self):
        # labels and logits swapped: every op type is the same, only the cost is not.
        report = compare(linear_by_hand(swap_cost=True))
        self.assertFalse(report.same)
        self.assertTrue(any(d.startswith("with graphs/'s weights, the cost on 100 images is") for d in
                            report.differences), report.differences)

    def test_the_convnet_and_its_initializers(self):
        # build_graph's own conv4 is itself; the same graph held against another init says which layers
        # start elsewhere: the four ReLU layers (He) and the final one (Xavier).
        graph, _, _ = model.build_graph("conv4", "variance_scaling", 0.001)
        report = compare(graph, "conv4", "variance_scaling", 0.001)
        self.assertTrue(report.same, str(report))
        self.assertIn("Conv2D, BiasAdd, Relu, Conv2D, BiasAdd, Relu, MaxPool, Conv2D", str(report))
        other = compare(graph, "conv4", "random_normal", 0.001)
        self.assertEqual(len(other.differences), 5, other.differences)
        self.assertIn("`layer1/layer1_weights` starts from truncated normal, mean 0, stddev 0.", other.differences[0])


if __name__ == "__main__":
    tf.test.main()
