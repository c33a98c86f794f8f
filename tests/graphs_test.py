"""The posts' networks (LTFN 1-6): shapes, names, initializers, and what test inference runs."""

import os
import time

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


def _numbered(n):
    """n images whose every pixel is the image's number (0, 1, ...), each labelled with its number mod 10."""
    images = np.repeat(np.arange(n, dtype=np.float32)[:, None], 784, axis=1)
    return loader.DataSet(images, np.eye(10, dtype=np.float32)[np.arange(n) % 10])


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

    def test_pooling_takes_the_largest_of_each_2x2_square(self):
        graph, nodes, session = _build("conv4")
        image = _fake_data(2, (28, 28, 1)).images
        for before, after in (("layer2/layer2_out:0", "pool1/pool1:0"), ("layer4/layer4_out:0", "pool2/pool2:0")):
            x, pooled = session.run([graph.get_tensor_by_name(before), graph.get_tensor_by_name(after)],
                                    {nodes.input: image})
            n, h, w, c = x.shape
            self.assertAllEqual(pooled, x.reshape(n, h // 2, 2, w // 2, 2, c).max(axis=(2, 4)))
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
            # get_operation_by_name raises for a missing name: the op's type is what can be wrong.
            for name, op_type in (("input", "Placeholder"), ("labels", "Placeholder"), ("logits", "Identity"),
                                  ("cost", "Mean"), ("optimizer", "NoOp"), ("predictions", "Softmax"),
                                  ("accuracy", "Mean")):
                self.assertEqual(graph.get_operation_by_name(name).type, op_type, (net, name))
            for name in ("input", "labels", "logits", "cost", "predictions", "accuracy"):
                self.assertIs(graph.get_tensor_by_name(name + ":0"), getattr(nodes, name), (net, name))
            self.assertIs(graph.get_operation_by_name("optimizer"), nodes.optimizer, net)
            self.assertEqual(nodes.input.shape.as_list(), [None] + list({"conv4": (28, 28, 1)}.get(net, (784,))))
            self.assertEqual(nodes.labels.shape.as_list(), [None, 10])
            session.close()

    def test_a_relu_follows_every_layer_but_the_last(self):
        # LTFN 3 and 5: ReLUs after the hidden layers; the logits come straight from the last layer's BiasAdd.
        relus = {"linear": [], "fc3": ["layer1/layer1_output", "layer2/layer2_output"],
                 "conv4": ["layer1/layer1_out", "layer2/layer2_out", "layer3/layer3_out", "layer4/layer4_out"]}
        for net, names in relus.items():
            graph, nodes, session = _build(net)
            self.assertEqual(sorted(op.name for op in graph.get_operations() if op.type == "Relu"), names, net)
            self.assertEqual([t.op.name for t in nodes.pre_activations], [n.split("_")[0] + "_" + (
                "conv" if net == "conv4" else "linear") for n in names], net)
            self.assertEqual(nodes.logits.op.inputs[0].op.type, "BiasAdd", net)
            session.close()

    def test_build_graph_seeds_with_0_unless_told(self):
        def weights(*seed):
            graph, _, init_op = model.build_graph("linear", "random_normal", 0.01, *seed)
            with tf.compat.v1.Session(graph=graph) as session:
                session.run(init_op)
                return session.run(graph.get_collection(tf.compat.v1.GraphKeys.GLOBAL_VARIABLES)[0])
        self.assertAllEqual(weights(), weights(0))
        self.assertNotAllEqual(weights(), weights(1))

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
        self.assertEqual(posts.settings("conv4", "random_normal"), posts.Settings(learning_rate=0.000001, steps=5000))

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


class PostsFiguresTest(tf.test.TestCase):
    """The posts' figures and the bands //:reproduce holds our runs to, as the README states them."""

    def test_the_readme_results_table_shows_the_posts_figures(self):
        path = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "README.md")
        with open(path, encoding="utf-8") as f:
            rows = {tuple(cell.strip() for cell in line.split("|")[1:3]): line.split("|")
                    for line in f if line.startswith("| ") and " / " in line.split("|")[1]}
        for (net, init), figure in posts.FIGURES.items():
            cells = rows[("{} / {}".format(net, init), figure.post)]
            self.assertEqual(cells[3].strip(), "{:.6g}".format(figure.test_cost), (net, init))
            self.assertEqual(cells[5].strip(), "{:.2f} %".format(figure.test_accuracy), (net, init))

    # The README's words: single layer 50-70 %; fc3 80-92 %; conv4/random_normal 70-92 % with a test cost over
    # 1,000; conv4/small under 20 % with a test cost of 2.3026 +- 0.01; conv4/variance_scaling at least 96.5 % with
    # a test cost under 0.15. (accuracy low, high), (cost low, high), edges included.
    BANDS = {
        ("linear", "random_normal"): ((50.0, 70.0), (0.0, None)),
        ("fc3", "random_normal"): ((80.0, 92.0), (0.0, None)),
        ("conv4", "random_normal"): ((70.0, 92.0), (1000.0, None)),
        ("conv4", "small"): ((0.0, 20.0), (2.3026 - 0.01, 2.3026 + 0.01)),
        ("conv4", "variance_scaling"): ((96.5, 100.0), (0.0, 0.15)),
    }

    def test_bands_hold_their_edges_and_nothing_beyond(self):
        self.assertEqual(set(posts.BANDS), set(self.BANDS))
        for (net, init), ((acc_low, acc_high), (cost_low, cost_high)) in self.BANDS.items():
            cost = cost_low if cost_high is None else (cost_low + cost_high) / 2
            accuracy = (acc_low + acc_high) / 2
            for acc in (acc_low, acc_high):
                self.assertTrue(posts.in_band(net, init, cost, acc), (net, init, acc))
            for acc in (acc_low - 0.01, acc_high + 0.01):
                self.assertFalse(posts.in_band(net, init, cost, acc), (net, init, acc))
            for c in (cost_low, cost_high if cost_high is not None else 1e30):
                self.assertTrue(posts.in_band(net, init, c, accuracy), (net, init, c))
            for c in (cost_low - 1e-6, cost_high + 1e-6) if cost_high is not None else (cost_low - 1e-6,):
                self.assertFalse(posts.in_band(net, init, c, accuracy), (net, init, c))

    def test_each_posts_figure_lies_in_its_band(self):
        for (net, init), figure in posts.FIGURES.items():
            self.assertTrue(posts.in_band(net, init, figure.test_cost, figure.test_accuracy), (net, init))


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

    # The final layer of each net: the one producing logits, Xavier under --init=variance_scaling (LTFN 6).
    FINAL = {"linear": "layer1", "fc3": "layer3", "conv4": "layer5"}

    def test_every_layer_of_every_built_net_gets_its_schemes_initializer(self):
        # The spread of each layer's weights in the graph //:run trains: the standard deviation each scheme
        # gives for the layer's fan-in/fan-out, and the shape of the distribution by its largest weight:
        # normal (beyond 2.5 sd), truncated normal (within 2 sd of the untruncated normal), uniform (within
        # Glorot's limit, sqrt(3) sd). He's and Glorot's sd nearly agree on a final layer: the bound tells.
        for net in model.NETS:
            for init in initializers.INITS:
                graph, _, session = _build(net, init=init)
                with graph.as_default():
                    weights = [v for v in tf.compat.v1.global_variables() if v.op.name.endswith("_weights")]
                self.assertLen(weights, {"linear": 1, "fc3": 3, "conv4": 5}[net])
                for variable, w in zip(weights, session.run(weights)):
                    layer = variable.op.name.split("/")[0]
                    self._assert_spread(w, init, layer == self.FINAL[net], "{} {} {}".format(net, init, layer))
                session.close()

    def _assert_spread(self, w, init, final, where):
        receptive = int(np.prod(w.shape[:-2]))  # 3x3 for a convolution, 1 for a matmul
        fan_in, fan_out = receptive * w.shape[-2], receptive * w.shape[-1]
        largest = np.abs(w).max()
        if init in ("random_normal", "small"):
            sd = 1.0 if init == "random_normal" else 0.01
            self.assertNear(w.std(), sd, 0.08 * sd, where)
            self.assertNear(w.mean(), 0.0, 0.2 * sd, where)
            self.assertGreater(largest, 2.5 * sd, where)
        elif init == "variance_scaling" and not final:
            sd = np.sqrt(2.0 / fan_in)
            self.assertNear(w.std(), sd, 0.08 * sd, where)
            self.assertLessEqual(largest, 2 * sd / 0.87962566103423978 + 1e-6, where)
            self.assertGreater(largest, np.sqrt(6.0 / (fan_in + fan_out)), where)
        else:  # xavier everywhere, and variance_scaling's final layer
            limit = np.sqrt(6.0 / (fan_in + fan_out))
            self.assertNear(w.std(), limit / np.sqrt(3.0), 0.08 * limit / np.sqrt(3.0), where)
            self.assertLessEqual(largest, limit, where)
            self.assertGreater(largest, 0.95 * limit, where)

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


class InstallLineTest(tf.test.TestCase):
    """The README's install line is a fresh machine's whole preparation for `bazel test //...`."""

    # What the tests need from Debian, and which test needs it: Bazel itself; venv for the environment's
    # rule; Graphviz's dot (tests/lessons_test.py draws the lessons' graphs); Chromium (tests/browser_test.py).
    NEEDED = {"bazel-bootstrap", "python3-venv", "graphviz", "chromium"}

    def test_it_installs_every_package_the_tests_need(self):
        path = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "README.md")
        with open(path, encoding="utf-8") as f:
            lines = [l for l in f.read().splitlines() if "apt-get install" in l]
        self.assertTrue(lines, "the README has no apt-get install line")
        installed = set(lines[0].split("apt-get install", 1)[1].split()) - {"-y", "-q"}
        self.assertEqual(self.NEEDED - installed, set(), "the README's install line misses packages the tests need")


class EvaluationNodesTest(tf.test.TestCase):
    """LTFN 1-2's cost, predictions and accuracy nodes against hand counts on a fixed batch (`logits` fed)."""

    # Five images: the largest logit (2, the others -1) at 3, 1, 0, 9, 4; the labels 3, 1, 2, 9, 5: 3 of 5 right.
    GUESSES, LABELS = [3, 1, 0, 9, 4], [3, 1, 2, 9, 5]

    def _run(self, net):
        _, nodes, session = _build(net)
        logits = np.full((5, 10), -1.0, np.float32)
        logits[np.arange(5), self.GUESSES] = 2.0
        labels = np.eye(10, dtype=np.float32)[self.LABELS]
        fetched = session.run([nodes.cost, nodes.predictions, nodes.accuracy],
                              {nodes.logits: logits, nodes.labels: labels})
        session.close()
        return fetched

    def test_accuracy_is_the_share_of_right_guesses(self):
        for net in model.NETS:
            _, _, accuracy = self._run(net)
            self.assertAllClose(accuracy, 3 / 5, msg=net)

    def test_predictions_are_the_softmax_and_cost_the_mean_cross_entropy(self):
        # Each row: e^2 at its guess, e^-1 at the nine others.
        total = np.e ** 2 + 9 * np.e ** -1
        right, wrong = np.e ** 2 / total, np.e ** -1 / total
        cost, predictions, _ = self._run("linear")
        self.assertAllClose(predictions[0], [wrong] * 3 + [right] + [wrong] * 6)
        self.assertAllClose(predictions.sum(axis=1), np.ones(5))
        # Right on 3 images (-ln right), wrong on 2 (-ln wrong), averaged over the 5.
        self.assertAllClose(cost, (3 * -np.log(right) + 2 * -np.log(wrong)) / 5)


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

    def test_batches_in_order_by_hand(self):
        # Seven images numbered 0-6 (every pixel its number), batches of 3: step 2 takes 6, 0, 1.
        data = _numbered(7)
        batches = trainer.Batches(data, 3, (784,))
        for step, numbers in ((0, [0, 1, 2]), (1, [3, 4, 5]), (2, [6, 0, 1]), (4, [5, 6, 0]), (7, [0, 1, 2])):
            images, labels = batches(step)
            self.assertAllEqual(images[:, 0], numbers, step)
            self.assertAllEqual(images[:, 783], numbers, step)
            self.assertAllEqual(labels.argmax(axis=1), numbers, step)

    def test_shuffled_batches_take_each_epoch_in_its_own_order(self):
        # Seven images, batches of 3, seed 5: steps 0-4 take positions 0-14, i.e. epochs 0, 1 and 2 (one image of
        # it). Epoch e's order is the one Batches promises: numpy's permutation seeded by (seed, e).
        orders = [np.random.default_rng([5, epoch]).permutation(7) for epoch in range(3)]
        self.assertEqual(len({tuple(order) for order in orders}), 3)  # three epochs, three different orders
        expected = np.concatenate(orders)[:15]
        batches = trainer.Batches(_numbered(7), 3, (784,), shuffle=True, seed=5)
        images = np.concatenate([batches(step)[0] for step in range(5)])
        labels = np.concatenate([batches(step)[1] for step in range(5)])
        self.assertAllEqual(images[:, 0], expected)
        self.assertAllEqual(labels.argmax(axis=1), expected)
        # A resumed run (a new Batches, at step 3) gets the very batch the first run got.
        self.assertAllEqual(trainer.Batches(_numbered(7), 3, (784,), shuffle=True, seed=5)(3)[0][:, 0],
                            expected[9:12])

    def test_train_prints_saves_and_stops_at_the_steps_asked(self):
        _, nodes, session = _build("linear", init="random_normal")
        batches = trainer.Batches(_fake_data(30, (784,)), 10, (784,))
        printed, stepped, saved = [], [], []
        done = trainer.train(session, nodes, batches, 8, print_every=3, start_step=1,
                             on_print=lambda step, cost, accuracy, rate: printed.append((step, cost, accuracy)),
                             save_every=4, save=saved.append, on_step=lambda step, cost: stepped.append((step, cost)))
        self.assertEqual(done, 8)
        self.assertEqual([step for step, _ in stepped], [1, 2, 3, 4, 5, 6, 7])
        self.assertEqual([step for step, _, _ in printed], [3, 6])
        self.assertEqual(saved, [4, 8])  # steps done, every 4 (not the step's index)
        costs = dict(stepped)
        for step, cost, accuracy in printed:
            self.assertEqual(cost, costs[step])
            self.assertAllClose(accuracy * 10, round(accuracy * 10))  # a share of a batch of 10
        # should_stop, asked after each step: the third yes-or-no is yes, so three steps are done.
        asked = []
        self.assertEqual(trainer.train(session, nodes, batches, 100, 100,
                                       should_stop=lambda: asked.append(1) or len(asked) == 3), 3)
        self.assertEqual(trainer.train(session, nodes, batches, 5, 100, start_step=7), 7)  # nothing left to do
        session.close()

    def test_train_reports_the_images_per_second_of_each_printed_window(self):
        # Each step sleeps 20 ms in on_step: two steps of 10 images between prints take at least 40 ms, and at
        # most the time from one print's end to the next one's start.
        _, nodes, session = _build("linear", init="random_normal")
        times, rates = [], []

        def on_print(step, cost, accuracy, rate):
            rates.append(rate)
            times.append(time.perf_counter())
            time.sleep(0.001)
            times.append(time.perf_counter())
        trainer.train(session, nodes, trainer.Batches(_fake_data(30, (784,)), 10, (784,)), 5, print_every=2,
                      on_print=on_print, on_step=lambda step, cost: time.sleep(0.02))
        self.assertLen(rates, 3)
        for k in (1, 2):
            self.assertBetween(rates[k], 20 / (times[2 * k] - times[2 * k - 1]), 20 / 0.04)
        session.close()

    def test_check_numerics_names_the_first_tensor_that_went_non_finite(self):
        # run.py's --check_numerics: the numerics checks run with the optimizer, and train() turns their error
        # into a DivergedError naming the layer and the tensor; any other error of the session goes through.
        graph, nodes, init_op = model.build_graph("linear", "random_normal", 1e38)
        with graph.as_default():
            nodes = nodes._replace(optimizer=tf.group(nodes.optimizer, tf.compat.v1.add_check_numerics_ops()))
        with tf.compat.v1.Session(graph=graph) as session:
            session.run(init_op)
            batches = trainer.Batches(_fake_data(100, (784,)), 100, (784,))
            with self.assertRaises(trainer.DivergedError) as raised:
                trainer.train(session, nodes, batches, 50, print_every=100)
            self.assertRegex(str(raised.exception), r"^layer1 went (NaN|Inf) at step \d+, in layer1/\S+$")
            self.assertRegex(raised.exception.tensor, r"^layer1/")
            data = _fake_data(10, (784,))

            def mismatched(step):  # 10 images, 5 labels: the session refuses it, not a numerics check
                return data.images, data.labels[:5]
            mismatched.batch_size = 10
            session.run(init_op)  # finite weights again
            with self.assertRaisesRegex(tf.errors.InvalidArgumentError, "^(?!.*Tensor had (NaN|Inf))"):
                trainer.train(session, nodes, mismatched, 1, print_every=100)

    def test_shuffled_batches_default_to_seed_0(self):
        data = _fake_data(50, (784,))
        self.assertAllEqual(trainer.Batches(data, 10, (784,), shuffle=True)(3)[0],
                            trainer.Batches(data, 10, (784,), shuffle=True, seed=0)(3)[0])

    def test_score_is_the_mean_cross_entropy_and_the_share_right_in_percent(self):
        logits = np.array([[2.0, 0.0], [0.0, 2.0], [2.0, 0.0], [0.0, 2.0]])
        labels = np.array([[1.0, 0.0], [0.0, 1.0], [0.0, 1.0], [0.0, 1.0]])  # 3 of 4 right
        right, wrong = np.log(1 + np.exp(-2.0)), np.log(1 + np.exp(2.0))
        cost, accuracy = trainer.score(logits, labels)
        self.assertAllClose(cost, (3 * right + wrong) / 4)
        self.assertEqual(accuracy, 75.0)

    def test_diverged_error_names_the_layer_and_the_tensor(self):
        self.assertEqual(str(trainer.DivergedError(7, tensor="layer2/layer2_linear:0", values="NaN")),
                         "layer2 went NaN at step 7, in layer2/layer2_linear:0")
        self.assertEqual(str(trainer.DivergedError(3, cost=float("inf"))), "cost became inf at step 3")

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
