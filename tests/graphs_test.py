"""The posts' networks (LTFN 1-6): shapes, names, initializers, and what test inference runs."""

import os

import numpy as np
import tensorflow as tf

from data import loader
from graphs import initializers
from graphs import model
from graphs import posts
from session import trainer

tf.compat.v1.disable_eager_execution()


def _build(net, init="variance_scaling", learning_rate=0.01, seed=0):
    graph, nodes, init_op = model.build_graph(net, init, learning_rate, seed)
    session = tf.compat.v1.Session(graph=graph)
    session.run(init_op)
    return graph, nodes, session


class _RecordingSession:
    """A session that records what each run() fetched and which tensors it fed, then runs it."""

    def __init__(self, session):
        self.session = session
        self.calls = []

    def run(self, fetches, feed_dict=None, **kwargs):
        self.calls.append((fetches, list(feed_dict or {})))
        return self.session.run(fetches, feed_dict, **kwargs)


def _fake_data(n, input_shape, seed=0):
    rng = np.random.default_rng(seed)
    images = rng.random((n,) + tuple(input_shape), dtype=np.float32)
    labels = np.eye(10, dtype=np.float32)[rng.integers(0, 10, n)]
    return loader.DataSet(images, labels)


class Conv4ShapesTest(tf.test.TestCase):
    """LTFN 5: 28x28x1 -> 64 -> 64 -> pool -> 128 -> 128 -> pool (7x7x128) -> 6,272 -> 10."""

    def test_every_layer_shape(self):
        graph, _, session = _build("conv4")
        expected = {
            "layer1/layer1_out:0": [None, 28, 28, 64],
            "layer2/layer2_out:0": [None, 28, 28, 64],
            "pool1/pool1:0": [None, 14, 14, 64],
            "layer3/layer3_out:0": [None, 14, 14, 128],
            "layer4/layer4_out:0": [None, 14, 14, 128],
            "pool2/pool2:0": [None, 7, 7, 128],
            "flatten:0": [None, 6272],
            "logits:0": [None, 10],
        }
        for name, shape in expected.items():
            self.assertEqual(graph.get_tensor_by_name(name).shape.as_list(), shape, name)
        session.close()

    def test_variables_named_as_in_the_posts(self):
        graph, _, session = _build("conv4")
        with graph.as_default():
            shapes = {v.op.name: v.shape.as_list() for v in tf.compat.v1.global_variables()}
        self.assertEqual(shapes, {
            "layer1/layer1_weights": [3, 3, 1, 64], "layer1/layer1_bias": [64],
            "layer2/layer2_weights": [3, 3, 64, 64], "layer2/layer2_bias": [64],
            "layer3/layer3_weights": [3, 3, 64, 128], "layer3/layer3_bias": [128],
            "layer4/layer4_weights": [3, 3, 128, 128], "layer4/layer4_bias": [128],
            "layer5/layer5_weights": [6272, 10], "layer5/layer5_bias": [10],
        })
        session.close()

    def test_bias_is_added_before_the_relu(self):
        graph, nodes, session = _build("conv4")
        relu = graph.get_tensor_by_name("layer1/layer1_out:0")
        self.assertEqual(relu.op.type, "Relu")
        self.assertEqual(relu.op.inputs[0].op.type, "BiasAdd")
        self.assertEqual([t.op.name for t in nodes.pre_activations],
                         ["layer1/layer1_conv", "layer2/layer2_conv", "layer3/layer3_conv",
                          "layer4/layer4_conv"])
        session.close()


class NetworksTest(tf.test.TestCase):

    def test_fc3_and_linear_variables(self):
        expected = {
            "linear": {"layer1/layer1_weights": [784, 10], "layer1/layer1_bias": [10]},
            "fc3": {"layer1/layer1_weights": [784, 500], "layer1/layer1_bias": [500],
                    "layer2/layer2_weights": [500, 500], "layer2/layer2_bias": [500],
                    "layer3/layer3_weights": [500, 10], "layer3/layer3_bias": [10]},
        }
        for net, variables in expected.items():
            graph, _, session = _build(net)
            with graph.as_default():
                shapes = {v.op.name: v.shape.as_list() for v in tf.compat.v1.global_variables()}
            self.assertEqual(shapes, variables, net)
            session.close()

    def test_shared_nodes_carry_the_posts_names(self):
        for net in model.NETS:
            graph, nodes, session = _build(net)
            for name in ("input", "labels", "logits", "cost", "optimizer", "predictions", "accuracy"):
                self.assertIsNotNone(graph.get_operation_by_name(name), (net, name))
            self.assertEqual(nodes.input.shape.as_list()[0], None)
            self.assertEqual(nodes.labels.shape.as_list(), [None, 10])
            session.close()

    def test_batches_of_1_10_and_283_run_through_the_same_graph(self):
        for net in model.NETS:
            _, nodes, session = _build(net)
            shape = model.NETS[net].INPUT_SHAPE
            for n in (1, 10, 283):
                data = _fake_data(n, shape)
                logits, cost, accuracy = session.run(
                    [nodes.logits, nodes.cost, nodes.accuracy],
                    {nodes.input: data.images, nodes.labels: data.labels})
                self.assertEqual(logits.shape, (n, 10))
                self.assertTrue(np.isfinite(cost))
                self.assertBetween(accuracy, 0.0, 1.0)
            session.close()


class PostsDefaultsTest(tf.test.TestCase):
    """The settings //:run uses when --init, --steps and --learning_rate are not given, as the posts
    and the `//:run` flags table of docs/flags.md states them."""

    # (init, steps, learning rate) per net: LTFN 1-2, LTFN 3, LTFN 5-6 (docs/flags.md, "Learning rates the posts leave unsaid").
    POSTS = {"linear": ("random_normal", 2000, 0.01), "fc3": ("random_normal", 5000, 0.0001),
             "conv4": ("variance_scaling", 5000, 0.001)}

    def _flags_row(self, flag):
        path = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "docs", "flags.md")
        with open(path, encoding="utf-8") as f:
            rows = [line for line in f if line.startswith("| `--{}` |".format(flag))]
        self.assertLen(rows, 1, flag)
        return rows[0]

    def test_defaults_are_the_posts(self):
        for net, (init, steps, learning_rate) in self.POSTS.items():
            self.assertEqual(posts.DEFAULT_INIT[net], init)
            self.assertEqual(posts.settings(net, init), posts.Settings(learning_rate=learning_rate, steps=steps))
        # LTFN 5's ConvNet with random_normal weights: 0.0001 kills every ReLU, 0.000001 keeps the post's regime.
        self.assertEqual(posts.settings("conv4", "random_normal").learning_rate, 0.000001)

    def test_the_flags_table_states_them(self):
        steps_row, rate_row, init_row = (self._flags_row(f) for f in ("steps", "learning_rate", "init"))
        for net in posts.NETS:
            init = posts.DEFAULT_INIT[net]
            settings = posts.settings(net, init)
            self.assertRegex(steps_row, r" {} {:,}[;| ]".format(net, settings.steps))
            self.assertIn(" {} {}".format(net, np.format_float_positional(settings.learning_rate)), rate_row)
            self.assertIn(" {} `{}`".format(net, init), init_row)
        self.assertIn("conv4 with `random_normal` {}".format(
            np.format_float_positional(posts.settings("conv4", "random_normal").learning_rate)), rate_row)


class InitializersTest(tf.test.TestCase):
    """LTFN 6's schemes, with the TF1 semantics of tf.random_normal and tf.contrib.layers."""

    SHAPE = [3, 3, 64, 128]  # conv4's layer3: fan_in 576, fan_out 1152

    def _sample(self, init, kind, shape=None):
        shape = shape or self.SHAPE
        with tf.Graph().as_default():
            tf.compat.v1.set_random_seed(1)
            v = tf.compat.v1.get_variable("w", shape, initializer=initializers.weights(init, kind))
            with tf.compat.v1.Session() as session:
                session.run(tf.compat.v1.global_variables_initializer())
                return session.run(v)

    def test_random_normal_and_small(self):
        self.assertNear(self._sample("random_normal", "relu").std(), 1.0, 0.02)
        self.assertNear(self._sample("small", "relu").std(), 0.01, 0.0002)

    def test_variance_scaling_is_he_on_relu_layers(self):
        fan_in = 3 * 3 * 64
        w = self._sample("variance_scaling", "relu")
        self.assertNear(w.std(), np.sqrt(2.0 / fan_in), 0.02 * np.sqrt(2.0 / fan_in))
        # Truncated normal: nothing beyond two standard deviations of the untruncated normal.
        untruncated_std = np.sqrt(2.0 / fan_in) / 0.87962566103423978
        self.assertLessEqual(np.abs(w).max(), 2 * untruncated_std + 1e-6)

    def test_xavier_is_glorot_uniform(self):
        fan_in, fan_out = 3 * 3 * 64, 3 * 3 * 128
        limit = np.sqrt(6.0 / (fan_in + fan_out))
        for init, kind in (("xavier", "relu"), ("xavier", "final"), ("variance_scaling", "final")):
            w = self._sample(init, kind)
            self.assertLessEqual(np.abs(w).max(), limit)
            self.assertGreater(np.abs(w).max(), 0.99 * limit)
            self.assertNear(w.std(), limit / np.sqrt(3.0), 0.02 * limit)

    def test_the_flags_names_are_the_libraries_names(self):
        # The programs define --net/--init from graphs/posts.py (no TensorFlow): one list of names.
        self.assertEqual(tuple(model.NETS), posts.NETS)
        self.assertEqual(initializers.INITS, posts.INITS)
        self.assertEqual(set(posts.DEFAULT_INIT), set(posts.NETS))
        self.assertContainsSubset(set(posts.DEFAULT_INIT.values()), set(posts.INITS))
        for net, init in posts.FIGURES:
            self.assertIn(net, posts.NETS)
            self.assertIn(init, posts.INITS)

    def test_unknown_names_list_the_valid_ones(self):
        with self.assertRaisesRegex(ValueError, "random_normal, small, xavier, variance_scaling"):
            initializers.weights("he", "relu")

    def test_biases_start_at_zero(self):
        graph, _, session = _build("fc3", init="random_normal")
        with graph.as_default():
            biases = [v for v in tf.compat.v1.global_variables() if v.op.name.endswith("_bias")]
        self.assertLen(biases, 3)
        for bias in session.run(biases):
            self.assertAllEqual(bias, np.zeros_like(bias))
        session.close()


class Ltfn6InitialCostTest(tf.test.TestCase):
    """LTFN 5-6 before any training: random_normal weights give a huge cost, weights x 0.01 give
    exactly the cost of guessing (ln 10), He/Xavier a cost of the order of ln 10."""

    def _initial_cost(self, init):
        _, nodes, session = _build("conv4", init=init)
        data = _fake_data(20, (28, 28, 1))
        cost = session.run(nodes.cost, {nodes.input: data.images, nodes.labels: data.labels})
        session.close()
        return cost

    def test_initial_costs(self):
        self.assertGreater(self._initial_cost("random_normal"), 1000.0)
        self.assertNear(self._initial_cost("small"), np.log(10.0), 0.01)
        self.assertBetween(self._initial_cost("variance_scaling"), 1.0, 10.0)
        self.assertBetween(self._initial_cost("xavier"), 1.0, 10.0)


class TestInferenceTest(tf.test.TestCase):
    """LTFN 2: test inference runs only what logits depends on."""

    def test_inference_needs_no_labels(self):
        _, nodes, session = _build("conv4")
        logits = session.run(nodes.logits, {nodes.input: _fake_data(3, (28, 28, 1)).images})
        self.assertEqual(logits.shape, (3, 10))
        with self.assertRaisesRegex(tf.errors.InvalidArgumentError, "labels"):
            session.run(nodes.cost, {nodes.input: _fake_data(3, (28, 28, 1)).images})
        session.close()

    def test_evaluation_fetches_only_logits_and_changes_no_weight(self):
        graph, nodes, session = _build("conv4")
        with graph.as_default():
            variables = tf.compat.v1.global_variables()
        before = session.run(variables)
        recorder = _RecordingSession(session)
        trainer.evaluate(recorder, nodes, _fake_data(50, (784,)), 16, (28, 28, 1))
        # What evaluate asked of the session: logits alone, input alone fed, in batches of 16 (16, 16, 16, 2).
        self.assertEqual([fetches for fetches, _ in recorder.calls], [nodes.logits] * 4)
        self.assertEqual([feeds for _, feeds in recorder.calls], [[nodes.input]] * 4)
        for b, a in zip(before, session.run(variables)):
            self.assertAllEqual(a, b)
        session.close()

    def test_the_recorder_would_see_an_optimizer_run(self):
        # The check above could fail: a session.run of the optimizer is recorded, and it changes weights.
        graph, nodes, session = _build("linear", init="random_normal")
        data = _fake_data(10, (784,))
        with graph.as_default():
            weights = tf.compat.v1.global_variables()[0]
        before = session.run(weights)
        recorder = _RecordingSession(session)
        recorder.run(nodes.optimizer, {nodes.input: data.images, nodes.labels: data.labels})
        self.assertEqual(recorder.calls, [(nodes.optimizer, [nodes.input, nodes.labels])])
        self.assertNotAllEqual(session.run(weights), before)
        session.close()

    def test_uneven_batches_give_the_figures_of_one_big_batch(self):
        _, nodes, session = _build("fc3", init="random_normal")
        data = _fake_data(1000, (784,))
        whole = trainer.evaluate(session, nodes, data, 1000, (784,))
        for batch_size in (1, 7, 283, 999):
            cost, accuracy = trainer.evaluate(session, nodes, data, batch_size, (784,))
            # float32 kernels may sum in another order per batch size: equal to printed precision.
            self.assertNear(cost, whole[0], 1e-6 * whole[0])
            self.assertEqual(accuracy, whole[1])
        session.close()

    def test_numpy_cost_matches_tensorflow_cost(self):
        _, nodes, session = _build("linear", init="random_normal")
        data = _fake_data(64, (784,))
        logits, cost = session.run([nodes.logits, nodes.cost],
                                   {nodes.input: data.images, nodes.labels: data.labels})
        self.assertNear(trainer.softmax_cross_entropy(logits, data.labels).mean(), cost, 1e-4 * cost)
        session.close()


class TrainingTest(tf.test.TestCase):

    def test_batches_in_order_wrap_around(self):
        data = _fake_data(250, (784,))
        batches = trainer.Batches(data, 100, (784,))
        self.assertAllEqual(batches(1)[0], data.images[100:200])
        self.assertAllEqual(batches(2)[0], np.concatenate([data.images[200:], data.images[:50]]))
        self.assertAllEqual(batches(5)[1], data.labels[:100])

    def test_shuffled_batches_cover_each_epoch_once_and_repeat_per_seed(self):
        data = _fake_data(300, (784,))
        a = trainer.Batches(data, 100, (784,), shuffle=True, seed=3)
        b = trainer.Batches(data, 100, (784,), shuffle=True, seed=3)
        epoch = np.concatenate([a(s)[0] for s in range(3)])
        self.assertAllEqual(np.sort(epoch, axis=0), np.sort(data.images, axis=0))
        self.assertAllEqual(a(4)[0], b(4)[0])
        self.assertNotAllEqual(a(0)[0], data.images[:100])

    def test_training_lowers_the_cost_on_a_fixed_batch(self):
        _, nodes, session = _build("linear", init="random_normal", learning_rate=0.5)
        data = _fake_data(100, (784,))
        feed = {nodes.input: data.images, nodes.labels: data.labels}
        before = session.run(nodes.cost, feed)
        trainer.train(session, nodes, trainer.Batches(data, 100, (784,)), 20, print_every=100)
        self.assertLess(session.run(nodes.cost, feed), before)
        session.close()

    def test_non_finite_cost_stops_training_at_that_step(self):
        data = _fake_data(100, (784,))
        # The same run step by step, by hand: the first step whose cost is not finite.
        _, nodes, session = _build("linear", init="random_normal", learning_rate=1e38)
        batches = trainer.Batches(data, 100, (784,))
        costs = []
        for step in range(50):
            images, labels = batches(step)
            _, cost = session.run([nodes.optimizer, nodes.cost], {nodes.input: images, nodes.labels: labels})
            costs.append(cost)
            if not np.isfinite(cost):
                break
        session.close()
        first = len(costs) - 1
        self.assertFalse(np.isfinite(costs[first]))
        self.assertGreater(first, 0)  # the initial weights give a finite cost; the updates blow it up
        _, nodes, session = _build("linear", init="random_normal", learning_rate=1e38)
        with self.assertRaises(trainer.DivergedError) as raised:
            trainer.train(session, nodes, trainer.Batches(data, 100, (784,)), 50, print_every=100)
        self.assertEqual(raised.exception.step, first)
        self.assertFalse(np.isfinite(raised.exception.cost))
        self.assertIn("at step {}".format(first), str(raised.exception))
        session.close()


if __name__ == "__main__":
    tf.test.main()
