"""TensorBoard (issue 4): what a run writes, read back with TensorBoard's own reader; the PNG
reports; and //:tensorboard's arguments and server. The end-of-run pictures (issue 14): mistakes
really misclassified, the confusion matrix adding up, image summaries in the events, //:report's
pictures side by side.

Two short runs of run.py (conv4 and linear, 3 steps, a histogram every step) on a small MNIST
(5,100 training and 200 test images cut from the embedded copy), so the whole file takes seconds.
"""

import contextlib
import io
import os
import re
import socket
import subprocess
import tempfile
import threading
import time
import urllib.error
import urllib.request

import matplotlib.axes
import numpy as np
from PIL import Image
import tensorflow as tf
from tensorboard.backend.event_processing import event_accumulator

from data import loader
from programs import cli
from pictures import figures
from pictures import histograms
from pictures import learned
from pictures import mistakes
from pictures import predictions
from pictures import results
from programs import report
from session import summaries
from programs import tensorboard_main
from tests import drawn
from tests import testing

STEPS = 3
BATCH = 100
CONV4_HISTOGRAMS = ["layer1_conv", "layer2_conv", "layer3_conv", "layer4_conv",
                    "logits", "predictions"]
LINEAR_HISTOGRAMS = ["logits", "predictions"]


def _accumulator(logdir):
    acc = event_accumulator.EventAccumulator(
        logdir, size_guidance={kind: 0 for kind in event_accumulator.DEFAULT_SIZE_GUIDANCE})
    acc.Reload()
    return acc


def _traced_nodes(acc, tag):
    metadata = acc.RunMetadata(tag)
    return {node.node_name for device in metadata.step_stats.dev_stats for node in device.node_stats}


def _png_size(path):
    with open(path, "rb") as f:
        magic = f.read(8)
    assert magic == b"\x89PNG\r\n\x1a\n", path
    with Image.open(path) as image:
        image.verify()
    with Image.open(path) as image:
        return image.size


def _expected_png_size(rows, columns):
    width, height = histograms.figure_size(rows, columns)
    return round(width * figures.DPI), round(height * figures.DPI)


class RunLogsTest(tf.test.TestCase):
    """One conv4 and one linear run through run.py, as `bazel run //:run` starts it."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.start = tempfile.mkdtemp(dir=os.environ.get("TEST_TMPDIR"))
        data_dir = testing.small_mnist(tempfile.mkdtemp(dir=os.environ.get("TEST_TMPDIR")))
        cls.logdirs, cls.stdout, runs = {}, {}, {}
        for net in ("conv4", "linear"):  # both at once: most of each is starting Python and TensorFlow
            argv, env = testing.python_command("run.py", ["--net=" + net, "--steps={}".format(STEPS), "--print_every=1",
                                           "--batch_size={}".format(BATCH), "--data_dir=" + data_dir,
                                           "--logdir=runs/" + net],
                                env={"BUILD_WORKING_DIRECTORY": cls.start})
            runs[net] = subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            cls.logdirs[net] = os.path.join(cls.start, "runs", net)
        for net, process in runs.items():
            cls.stdout[net], stderr = process.communicate(timeout=300)
            assert process.returncode == 0, stderr
        cls.conv4 = _accumulator(cls.logdirs["conv4"])
        cls.linear = _accumulator(cls.logdirs["linear"])
        test = loader.load_test(data_dir)
        cls.test_labels, cls.test_images = test.labels.argmax(axis=1), test.images.reshape(-1, 28, 28)

    def test_prints_the_command_that_opens_the_run(self):
        self.assertIn("bazel run //:tensorboard -- --logdir={}\n".format(self.logdirs["conv4"]),
                      self.stdout["conv4"])

    def test_graph_is_the_posts_graph(self):
        self.assertTrue(self.conv4.Tags()["graph"])
        scopes = {node.name.split("/")[0] for node in self.conv4.Graph().node}
        for scope in ("input", "labels", "layer1", "layer2", "pool1", "layer3", "layer4", "pool2", "layer5",
                      "logits", "cost", "optimizer", "predictions", "accuracy"):
            self.assertIn(scope, scopes)
        linear_scopes = {node.name.split("/")[0] for node in self.linear.Graph().node}
        self.assertContainsSubset({"input", "labels", "layer1", "cost", "optimizer", "predictions", "accuracy"},
                                  linear_scopes)
        self.assertNotIn("pool1", linear_scopes)

    def test_histograms_of_each_layer_before_its_relu_logits_and_predictions(self):
        for acc, tags in ((self.conv4, CONV4_HISTOGRAMS), (self.linear, LINEAR_HISTOGRAMS)):
            self.assertCountEqual(acc.Tags()["histograms"], tags)
            for tag in tags:
                events = acc.Histograms(tag)
                self.assertEqual([e.step for e in events], list(range(STEPS)), tag)
                self.assertTrue(all(e.histogram_value.num > 0 for e in events), tag)
        # The big convolution outputs are counted on the first images of the batch, the rest whole.
        layer1 = self.conv4.Histograms("layer1_conv")[0].histogram_value
        per_image = 28 * 28 * 64
        self.assertEqual(layer1.num, min(BATCH, -(-summaries.HISTOGRAM_VALUES // per_image)) * per_image)
        self.assertEqual(self.conv4.Histograms("logits")[0].histogram_value.num, BATCH * 10)
        predictions = self.conv4.Histograms("predictions")[-1].histogram_value
        self.assertBetween(predictions.min, 0.0, 1.0)
        self.assertBetween(predictions.max, 0.0, 1.0)

    def test_training_scalars_every_printed_step_and_test_scalars_at_the_end(self):
        for acc in (self.conv4, self.linear):
            self.assertCountEqual(acc.Tags()["scalars"], ["train/cost", "train/accuracy", "test/cost", "test/accuracy"])
            self.assertEqual([e.step for e in acc.Scalars("train/cost")], list(range(STEPS)))
            self.assertEqual([e.step for e in acc.Scalars("test/accuracy")], [STEPS])
            self.assertBetween(acc.Scalars("test/accuracy")[0].value, 0.0, 1.0)

    def test_traces_show_what_a_training_step_and_a_test_step_ran(self):
        for acc in (self.conv4, self.linear):
            self.assertEqual(sorted(acc.Tags()["run_metadata"]), ["test_step", "train_step_0"])
            train = _traced_nodes(acc, "train_step_0")
            test = _traced_nodes(acc, "test_step")
            self.assertTrue(any(n.startswith("gradients/") for n in train))
            self.assertTrue(any(n.startswith("layer1/") for n in test))
            # LTFN 2: inference runs only what logits needs: no labels, cost, optimizer or summaries.
            for prefix in ("gradients", "optimizer", "cost", "accuracy", "predictions", "histograms", "_arg_labels"):
                self.assertFalse([n for n in test if n.startswith(prefix)], prefix)

    def test_activations_npz_and_png_at_the_end_of_each_run(self):
        for net, tags in (("conv4", CONV4_HISTOGRAMS), ("linear", LINEAR_HISTOGRAMS)):
            run = histograms.load(self.logdirs[net])
            self.assertEqual(list(run.histograms), tags)
            self.assertEqual((run.meta["net"], run.meta["step"]), (net, STEPS))
            counts, edges, stats = run.histograms["logits"]
            self.assertEqual(len(edges), len(counts) + 1)
            self.assertEqual(counts.sum(), stats[4])
            self.assertEqual(stats[4], min(200, summaries.ACTIVATION_IMAGES) * 10)
            png = os.path.join(self.logdirs[net], histograms.ACTIVATIONS_PNG)
            self.assertIn(png, self.stdout[net])
            self.assertEqual(_png_size(png), _expected_png_size(len(tags), 1))
            # Histograms, not the tensors: a conv4 run's file stays small.
            self.assertLess(os.path.getsize(os.path.join(self.logdirs[net], histograms.ACTIVATIONS_FILE)), 50000)

    def test_report_draws_runs_side_by_side(self):
        os.environ["BUILD_WORKING_DIRECTORY"] = self.start
        stdout = io.StringIO()
        try:
            with contextlib.redirect_stdout(stdout):
                self.assertEqual(report.main(["runs/conv4", "runs/linear", "--out=both.png"]), 0)
        finally:
            del os.environ["BUILD_WORKING_DIRECTORY"]
        rows = len(set(CONV4_HISTOGRAMS) | set(LINEAR_HISTOGRAMS))
        self.assertEqual(_png_size(os.path.join(self.start, "both.png")), _expected_png_size(rows, 2))
        # The end-of-run pictures too: each as wide as the two runs' own pictures together.
        for kind, runs in (("mistakes", 2), ("confusion", 2), ("weights", 2), ("feature_maps", 1)):
            path = os.path.join(self.start, "both_{}.png".format(kind))
            self.assertIn("{}: ".format(path), stdout.getvalue())
            own = [_png_size(os.path.join(self.logdirs[net], results.png_name(kind)))
                   for net in ("conv4", "linear")[:runs]]
            self.assertEqual(_png_size(path)[0], sum(width for width, _ in own), kind)

    def test_the_run_names_its_pictures_in_its_last_lines(self):
        for net, kinds in (("conv4", results.KINDS), ("linear", ("mistakes", "confusion", "weights"))):
            lines = self.stdout[net].splitlines()
            named = [line for line in lines if line.endswith(".png") and "activations" not in line]
            self.assertEqual(named, ["{}: {}".format(results.TITLES[kind], os.path.join(
                self.logdirs[net], results.png_name(kind))) for kind in kinds])
            for kind in kinds:
                _png_size(os.path.join(self.logdirs[net], results.png_name(kind)))  # a whole PNG
            self.assertFalse(os.path.exists(os.path.join(self.logdirs["linear"], "feature_maps.png")))

    def test_mistakes_are_misclassified_most_confident_first(self):
        for net in ("conv4", "linear"):
            pictures = results.load(self.logdirs[net])
            a = pictures.arrays
            predictions = a["predictions"]
            wrong = predictions != self.test_labels  # checked against the labels themselves
            self.assertLen(a["mistake_index"], min(mistakes.SHOWN, int(wrong.sum())))
            for i, true, predicted in zip(a["mistake_index"], a["mistake_true"], a["mistake_predicted"]):
                self.assertEqual(true, self.test_labels[i])
                self.assertEqual(predicted, predictions[i])
                self.assertNotEqual(predicted, true)
            probability = list(a["mistake_probability"])
            self.assertEqual(probability, sorted(probability, reverse=True))
            self.assertTrue(all(0.1 <= p <= 1.0 for p in probability))  # the argmax of ten is at least 0.1
            self.assertAllEqual(a["mistake_images"][0], np.round(self.test_images[a["mistake_index"][0]] * 255))

    def test_confusion_matrix_adds_up_to_the_printed_accuracy(self):
        for net in ("conv4", "linear"):
            a = results.load(self.logdirs[net]).arrays
            matrix = a["confusion"]
            self.assertEqual(matrix.sum(), len(self.test_labels))
            self.assertAllEqual(matrix.sum(axis=1), np.bincount(self.test_labels, minlength=10))
            self.assertAllEqual(matrix.sum(axis=0), np.bincount(a["predictions"], minlength=10))
            accuracy = float(re.search(r"^Test accuracy: ([0-9.]+) %$", self.stdout[net], re.M).group(1))
            self.assertEqual(np.trace(matrix), round(accuracy * len(self.test_labels) / 100))
            # The printed line names the three largest cells off the diagonal, largest first.
            line = re.search(r"^most confused: (.*)$", self.stdout[net], re.M).group(1)
            cells = [tuple(map(int, c)) for c in re.findall(r"(\d)→(\d) \((\d+)\)", line)]
            self.assertLen(cells, 3)
            off = matrix - np.diag(np.diag(matrix))
            self.assertEqual([n for _, _, n in cells], sorted(off.ravel(), reverse=True)[:3])
            for true, predicted, count in cells:
                self.assertEqual(matrix[true, predicted], count)

    def test_pictures_are_image_summaries_in_the_events(self):
        for acc, net, kinds in ((self.conv4, "conv4", results.KINDS),
                                (self.linear, "linear", ("mistakes", "confusion", "weights"))):
            self.assertCountEqual(acc.Tags()["images"], ["pictures/" + kind for kind in kinds])
            for kind in kinds:
                (event,) = acc.Images("pictures/" + kind)
                self.assertEqual(event.step, STEPS)
                with open(os.path.join(self.logdirs[net], results.png_name(kind)), "rb") as f:
                    self.assertEqual(event.encoded_image_string, f.read())
                self.assertEqual((event.width, event.height), _png_size(
                    os.path.join(self.logdirs[net], results.png_name(kind))))

    def test_the_runs_pictures_say_its_own_answers_to_the_test_labels(self):
        # Each PNG the run wrote is the figure results.figure draws from its stored arrays, pixel for pixel;
        # read back, its titles and cells agree with the test set's labels, loaded here.
        for net in ("conv4", "linear"):
            pictures = results.load(self.logdirs[net])
            for kind in pictures.kinds():
                out = os.path.join(self.create_tempdir().full_path, "again.png")
                figures.save(results.figure(kind, [pictures]), out)
                with Image.open(out) as again, Image.open(os.path.join(self.logdirs[net], results.png_name(kind))) as own:
                    self.assertEqual(again.tobytes(), own.tobytes(), "{} {}".format(net, kind))
            predictions = pictures.arrays["predictions"]
            for ax in drawn.panels(_one(results.figure("mistakes", [pictures]))).values():
                index, true, predicted = map(int, re.match(r"#(\d+): (\d)→(\d)", ax.get_title()).groups())
                self.assertEqual((true, predicted), (self.test_labels[index], predictions[index]), ax.get_title())
            ax = drawn.panels(_one(results.figure("confusion", [pictures])))[(0, 0)]
            self.assertEqual((ax.get_xlabel(), ax.get_ylabel()), ("predicted", "true"))
            for text, (x, y) in drawn.texts(ax):
                self.assertEqual(int(text), np.sum((self.test_labels == round(y)) & (predictions == round(x))))

    def test_weights_and_feature_maps_are_the_networks(self):
        conv4 = results.load(self.logdirs["conv4"]).arrays
        self.assertEqual(conv4["weights"].shape, (64, 3, 3))
        self.assertEqual(list(conv4["map_names"]), ["layer1", "layer2", "pool1", "layer3", "layer4", "pool2"])
        self.assertEqual(conv4["map_layer1"].shape, (28, 28, learned.MAP_CHANNELS))
        self.assertEqual(conv4["map_pool2"].shape, (7, 7, learned.MAP_CHANNELS))
        self.assertGreaterEqual(conv4["map_layer1"].min(), 0.0)  # after the ReLU
        self.assertAllEqual(conv4["map_image"], self.test_images[results.FEATURE_MAP_IMAGE])
        linear = results.load(self.logdirs["linear"]).arrays
        self.assertEqual(linear["weights"].shape, (10, 28, 28))
        self.assertNotIn("map_names", linear)

    def test_report_of_a_folder_without_activations_is_one_line(self):
        empty = self.create_tempdir().full_path
        stderr = io.StringIO()
        with contextlib.redirect_stderr(stderr):
            self.assertEqual(report.main([self.logdirs["conv4"], empty, "--out=" + os.path.join(empty, "x.png")]), 1)
        self.assertEqual(stderr.getvalue(), "error: {} has no activations.npz: only finished runs have one "
                                            "(re-run it with //:run)\n".format(empty))
        self.assertFalse(os.path.exists(os.path.join(empty, "x.png")))

    def test_tensorboard_serves_the_runs_with_their_traces(self):
        # --port=0: TensorBoard binds a port the kernel chooses and prints its URL. A port picked here
        # and released could be taken by another test before TensorBoard binds it (seen once in CI).
        argv, env = testing.python_command("programs/tensorboard_main.py", ["--logdir=runs", "--port=0"],
                                           env={"BUILD_WORKING_DIRECTORY": self.start})
        server = subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        said = []  # every line the server printed, read as it prints them
        reader = threading.Thread(target=lambda: said.extend(server.stdout), daemon=True)
        reader.start()
        try:
            # Generous: on a loaded machine importing TensorFlow alone can take a minute. The loop ends as
            # soon as the runs are served; the deadline only stops a server that never serves them.
            deadline, info, url = time.monotonic() + 600, "", None
            while time.monotonic() < deadline and "train_step_0" not in info:
                self.assertIsNone(server.poll(), "TensorBoard exited; it said:\n" + "".join(said))
                url = url or next((m.group(0) for m in map(re.compile(r"http://127\.0\.0\.1:\d+/").search, said)
                                   if m), None)
                if url:
                    try:
                        with urllib.request.urlopen(url, timeout=2) as page:
                            self.assertEqual(page.status, 200)
                        with urllib.request.urlopen(url + "data/plugin/graphs/info", timeout=2) as page:
                            info = page.read().decode()
                    except (urllib.error.URLError, ConnectionError, socket.timeout):
                        pass
                time.sleep(0.5)
            self.assertIn("train_step_0", info, "".join(said))
            self.assertIn("test_step", info)
        finally:
            server.terminate()
            server.wait(timeout=30)
            reader.join(timeout=30)


def _synthetic_test_pass(count=80, seed=0):
    """(probabilities, labels, images) of a made-up test pass: about half of the answers wrong, so the
    confusion matrix is far from symmetric and there are more mistakes than are shown."""
    rng = np.random.RandomState(seed)
    logits = rng.normal(0.0, 2.0, (count, 10))
    labels = rng.randint(0, 10, count)
    logits[np.arange(count), labels] += rng.choice([0.0, 6.0], count)  # right about half the time
    probabilities = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    return probabilities.astype(np.float32), labels, rng.rand(count, 28, 28).astype(np.float32)


def _one(runs_figure):
    """The only subfigure of results.figure's figure for one run."""
    (panel,) = runs_figure.subfigs
    return panel


class PicturesSayTest(tf.test.TestCase):
    """Each picture read back from its artists (tests/drawn.py) against the arrays it was drawn from,
    recomputed here: which digit a title names, which count a cell holds, which array an image shows."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.probabilities, cls.labels, cls.images = _synthetic_test_pass()
        cls.predicted = cls.probabilities.argmax(axis=1)
        rng = np.random.RandomState(1)
        cls.weights = {"linear": rng.normal(size=(784, 10)), "fc3": rng.normal(size=(784, 500)),
                       "conv4": rng.normal(size=(3, 3, 1, 64))}
        cls.maps = [(name, np.abs(rng.normal(size=(size, size, channels)))) for name, size, channels in (
            ("layer1", 28, 64), ("layer2", 28, 64), ("pool1", 14, 64), ("layer3", 14, 128), ("layer4", 14, 128),
            ("pool2", 7, 128))]

    def pictures(self, net):
        return results.compute(self.probabilities, self.labels, self.images, self.weights[net],
                               self.maps if net == "conv4" else [], {"net": net, "init": "xavier", "step": 9})

    def tearDown(self):
        from matplotlib import pyplot
        pyplot.close("all")
        super().tearDown()

    def test_each_mistake_is_titled_index_true_then_predicted_and_shows_that_image(self):
        panel = _one(results.figure("mistakes", [self.pictures("linear")]))
        self.assertEqual(drawn.suptitle(panel), "Mistakes, most confident first")
        # The most confident wrong answers first, ties in test-set order, at most SHOWN of them.
        wrong = [i for i in range(len(self.labels)) if self.predicted[i] != self.labels[i]]
        wrong.sort(key=lambda i: -self.probabilities[i].max())
        self.assertGreater(len(wrong), mistakes.SHOWN)
        shown = drawn.panels(panel)
        self.assertLen(shown, mistakes.SHOWN)
        for k, i in enumerate(wrong[:mistakes.SHOWN]):
            ax = shown[divmod(k, mistakes.COLUMNS)]
            match = re.fullmatch(r"#(\d+): (\d)→(\d) \((\d+)%\)", ax.get_title())
            self.assertIsNotNone(match, ax.get_title())
            self.assertEqual([int(g) for g in match.groups()[:3]], [i, self.labels[i], self.predicted[i]],
                             "#index: true→predicted")
            self.assertAlmostEqual(int(match[4]), 100 * self.probabilities[i].max(), delta=0.5 + 1e-6)
            self.assertAllClose(drawn.image(ax), np.round(self.images[i] * 255) / 255, atol=1e-6)

    def test_confusion_cells_hold_the_counts_of_true_rows_and_predicted_columns(self):
        panel = _one(results.figure("confusion", [self.pictures("linear")]))
        ax = drawn.panels(panel)[(0, 0)]
        drawn.laid_out(panel.figure)
        counts = np.zeros((10, 10), int)  # counts[t, p]: test images of digit t the network called p
        for t, p in zip(self.labels, self.predicted):
            counts[t, p] += 1
        self.assertNotEqual(counts.tolist(), counts.T.tolist())  # a transposed matrix would show
        axis_of = {ax.get_xlabel(): 0, ax.get_ylabel(): 1}  # which coordinate is the true, which the predicted
        self.assertCountEqual(axis_of, ["true", "predicted"])
        said = {}
        for text, position in drawn.texts(ax):
            true, predicted = (int(round(position[axis_of[name]])) for name in ("true", "predicted"))
            said[true, predicted] = int(text)
        self.assertEqual(said, {(t, p): int(counts[t, p]) for t in range(10) for p in range(10)
                                if t == p or counts[t, p]})
        for axis in ("x", "y"):
            self.assertEqual(drawn.tick_labels(ax, axis), {float(d): str(d) for d in range(10)})
        # The colours: the off-diagonal counts, in the cells their numbers are written in.
        colours = drawn.image(ax)
        for (t, p), n in said.items():
            where = (t, p) if axis_of["true"] == 1 else (p, t)  # image rows are y, columns x
            self.assertEqual(colours[where], 0 if t == p else n)
        right = int(np.sum(self.labels == self.predicted))
        self.assertEqual(ax.get_title(), "Confusion matrix\n{} of {} right ({:.2f} %)".format(
            right, len(self.labels), 100.0 * right / len(self.labels)))

    def test_weights_are_each_units_own_under_its_name(self):
        for net, expected in (
                ("linear", [(str(d), self.weights["linear"][:, d].reshape(28, 28)) for d in range(10)]),
                ("fc3", [("unit {}".format(i), self.weights["fc3"][:, i].reshape(28, 28))
                         for i in np.round(np.linspace(0, 499, 36)).astype(int)]),
                ("conv4", [(str(f + 1), self.weights["conv4"][:, :, 0, f]) for f in range(64)])):
            panel = _one(results.figure("weights", [self.pictures(net)]))
            title = {"linear": "linear: the ten 28x28 templates, one per digit",
                     "fc3": "fc3: 36 of layer1's 500 28x28 templates",
                     "conv4": "conv4: layer1's 64 3x3 filters"}[net]
            self.assertEqual(drawn.suptitle(panel), "First layer's weights\n" + title)
            shown = drawn.panels(panel)
            self.assertLen(shown, len(expected), net)
            columns = 5 if len(expected) <= 10 else 8
            for k, (name, weights) in enumerate(expected):
                ax = shown[divmod(k, columns)]
                self.assertEqual(ax.get_title(), name, net)
                self.assertAllClose(drawn.image(ax), weights, atol=1e-6, msg="{} {}".format(net, name))
                # Each on its own scale centred on 0, red positive.
                limit = np.abs(weights).max()
                self.assertAllClose([ax.images[0].norm.vmin, ax.images[0].norm.vmax], [-limit, limit], rtol=1e-6)
                self.assertEqual(ax.images[0].get_cmap().name, "bwr")

    def test_feature_maps_rows_are_the_layers_columns_their_first_channels(self):
        panel = _one(results.figure("feature_maps", [self.pictures("conv4")]))
        self.assertEqual(drawn.suptitle(panel), "Feature maps of test image 0")
        shown = drawn.panels(panel)
        rows = [("input", None)] + self.maps
        for row, (name, maps) in enumerate(rows):
            self.assertEqual([text for text, _ in drawn.texts(shown[row, 0])], [name])
            if maps is None:
                self.assertAllClose(drawn.image(shown[row, 1]), self.images[results.FEATURE_MAP_IMAGE], atol=1e-6)
                self.assertFalse([c for c in range(2, learned.MAP_CHANNELS + 1) if (row, c) in shown])
                continue
            for channel in range(learned.MAP_CHANNELS):
                ax = shown[row, channel + 1]
                self.assertAllClose(drawn.image(ax), maps[..., channel], atol=1e-5, msg="{} {}".format(name, channel))
                self.assertEqual(ax.get_title(), "channel {}".format(channel + 1) if row == 1 else "")
        self.assertLen(shown, 2 + len(self.maps) * (learned.MAP_CHANNELS + 1))

    def test_histograms_are_each_layers_own_under_its_name(self):
        rng = np.random.RandomState(2)
        values = {"conv4": [("layer1_conv", rng.normal(0, 1, 5000)), ("layer2_conv", rng.normal(3, 20, 5000)),
                            ("logits", rng.normal(0, 300, 1000)), ("predictions", rng.rand(1000))],
                  "linear": [("logits", rng.normal(-1, 2, 1000)), ("predictions", rng.rand(1000) ** 3)]}
        folder = self.create_tempdir().full_path
        runs = []
        for net in ("conv4", "linear"):
            run_dir = os.path.join(folder, net + "-run")
            os.makedirs(run_dir)
            histograms.save(os.path.join(run_dir, histograms.ACTIVATIONS_FILE), values[net],
                            {"net": net, "init": "he", "step": 5})
            runs.append(histograms.load(run_dir))
        fig = drawn.laid_out(histograms.figure(runs))
        shown = drawn.panels(fig)
        names = ["layer1_conv", "layer2_conv", "logits", "predictions"]
        self.assertEqual([shown[row, 0].get_ylabel() for row in range(len(names))], names)
        self.assertEqual([shown[0, column].get_title() for column in range(2)],
                         ["conv4-run\nconv4 · he · step 5", "linear-run\nlinear · he · step 5"])
        for column, net in enumerate(("conv4", "linear")):
            for row, name in enumerate(names):
                ax = shown[row, column]
                layer = dict(values[net]).get(name)
                if layer is None:
                    self.assertEqual([text for text, _ in drawn.texts(ax)], ["(not in this net)"])
                    self.assertFalse(ax.patches)
                    continue
                counts, edges = np.histogram(layer, bins=histograms.BINS, range=(layer.min(), layer.max()))
                drawn_counts, drawn_edges = drawn.stairs(ax)
                self.assertAllEqual(drawn_counts, counts, msg="{} {}".format(net, name))
                self.assertAllClose(drawn_edges, edges, msg="{} {}".format(net, name))
                (note,) = [text for text, _ in drawn.texts(ax)]
                match = re.fullmatch(r"\[(\S+), (\S+)\]  std (\S+)", note)
                self.assertIsNotNone(match, note)
                for said, value in zip(match.groups(), (layer.min(), layer.max(), layer.std())):
                    self.assertAllClose(float(said), value, rtol=5e-3, msg="{} {}: {}".format(net, name, note))

    def test_runs_side_by_side_each_panel_is_its_own_runs(self):
        other = _synthetic_test_pass(seed=5)
        linear = self.pictures("linear")
        conv4 = results.compute(other[0], other[1], other[2], self.weights["conv4"], self.maps,
                                {"net": "conv4", "init": "he", "step": 3})
        linear.name, conv4.name = "runs/a", "runs/b"
        fig = results.figure("confusion", [linear, conv4])
        for panel, (probabilities, labels), run in zip(fig.subfigs, ((self.probabilities, self.labels), other[:2]),
                                                       (linear, conv4)):
            ax = drawn.panels(panel)[(0, 0)]
            right = int(np.sum(probabilities.argmax(axis=1) == labels))
            self.assertEqual(ax.get_title(), "{}\n{}\n{} of {} right ({:.2f} %)".format(
                run.name, run.subtitle, right, len(labels), 100.0 * right / len(labels)))
        fig = results.figure("mistakes", [linear, conv4])
        for panel, (probabilities, labels), run in zip(fig.subfigs, ((self.probabilities, self.labels), other[:2]),
                                                       (linear, conv4)):
            self.assertEqual(drawn.suptitle(panel), "{}\n{}".format(run.name, run.subtitle))
            first = max((i for i in range(len(labels)) if probabilities[i].argmax() != labels[i]),
                        key=lambda i: probabilities[i].max())
            self.assertStartsWith(drawn.panels(panel)[(0, 0)].get_title(), "#{}: {}→".format(first, labels[first]))

class StoredArraysTest(tf.test.TestCase):
    """pictures/figures.py: what histograms.npz and pictures.npz share, and //:report's answers about them."""

    def test_a_file_that_is_not_a_folder_garbled_or_missing_arrays_is_one_line(self):
        folder = self.create_tempdir().full_path
        not_a_folder = os.path.join(folder, "runs.txt")
        open(not_a_folder, "w").close()
        with open(os.path.join(folder, histograms.ACTIVATIONS_FILE), "wb") as f:
            f.write(b"PK\x03\x04 not a zip")
        other = self.create_tempdir().full_path
        figures.save_arrays(os.path.join(other, histograms.ACTIVATIONS_FILE), {"net": "linear"},
                            {"names": np.array(["logits"])})  # no counts_logits
        for run_dir, said in ((not_a_folder, "{} is not a folder".format(not_a_folder)),
                              (folder, "{}: cannot be read".format(os.path.join(folder, histograms.ACTIVATIONS_FILE))),
                              (other, "{}: cannot be read (no array 'counts_logits')".format(other))):
            stderr = io.StringIO()
            with contextlib.redirect_stderr(stderr):
                self.assertEqual(report.main([run_dir, "--out=" + os.path.join(folder, "x.png")]), 1)
            self.assertLen(stderr.getvalue().splitlines(), 1, stderr.getvalue())
            self.assertStartsWith(stderr.getvalue(), "error: " + said)
        self.assertFalse(os.path.exists(os.path.join(folder, "x.png")))
        with self.assertRaisesRegex(figures.RunFolderError, "has no pictures.npz: runs finished before"):
            results.load(other)

    def test_every_cut_or_flipped_byte_of_a_stored_file_is_a_run_folder_error(self):
        folder = self.create_tempdir().full_path
        path = os.path.join(folder, "s.npz")
        figures.save_arrays(path, {"net": "conv4"}, {"x": np.random.RandomState(0).rand(2000)})
        with open(path, "rb") as f:
            whole = f.read()
        damaged = [whole[:n] for n in range(0, len(whole), 97)]
        for offset in range(0, len(whole), 61):
            flipped = bytearray(whole)
            flipped[offset:offset + 8] = bytes(b ^ 0x5A for b in flipped[offset:offset + 8])
            damaged.append(bytes(flipped))
        for data in damaged:
            with open(path, "wb") as f:
                f.write(data)
            try:
                stored = figures.load_arrays(folder, "s.npz", "unused")
            except figures.RunFolderError as e:
                self.assertStartsWith(str(e), path + ": cannot be read (")
            else:  # a flip the format cannot notice (e.g. inside a stored float): still the arrays' shapes
                self.assertEqual(stored.arrays["x"].shape, (2000,))

    def test_arrays_and_meta_come_back_as_saved(self):
        folder = self.create_tempdir().full_path
        arrays = {"a": np.arange(6, dtype=np.int64).reshape(2, 3), "names": np.array(["x", "y"])}
        figures.save_arrays(os.path.join(folder, "s.npz"), {"net": "conv4", "init": "he", "step": 7}, arrays)
        stored = figures.load_arrays(folder, "s.npz", "unused")
        self.assertEqual(stored.name, os.path.basename(folder))
        self.assertEqual(stored.subtitle, "conv4 · he · step 7")
        self.assertCountEqual(stored.arrays, arrays)
        for k, v in arrays.items():
            self.assertAllEqual(stored.arrays[k], v)

    def test_a_layer_whose_values_lie_a_few_ulps_apart_is_counted(self):
        # LTFN 6's microscope at x 0.001: float32 values one ulp apart leave no room for 60 float32 bins.
        low = np.float32(0.1)
        values = np.array([low, np.nextafter(low, np.float32(1)), np.nextafter(low, np.float32(1))], np.float32)
        counts, edges, stats = histograms.histogram(values)
        self.assertEqual(counts.sum(), 3)
        self.assertEqual((counts[0], counts[-1]), (1, 2))
        self.assertTrue(np.all(np.diff(edges) > 0))
        self.assertEqual((stats[0], stats[1], stats[4]), (float(values[0]), float(values[1]), 3))


class TensorBoardArgumentsTest(tf.test.TestCase):

    def setUp(self):
        super().setUp()
        self.start = self.create_tempdir().full_path
        os.makedirs(os.path.join(self.start, "runs", "a"))
        os.environ["BUILD_WORKING_DIRECTORY"] = self.start
        self.addCleanup(os.environ.pop, "BUILD_WORKING_DIRECTORY")

    def test_relative_logdir_loopback_and_6006_by_default(self):
        self.assertEqual(tensorboard_main.tensorboard_argv([]), [
            "tensorboard", "--logdir", os.path.join(self.start, "runs"), "--port", "6006", "--host", "127.0.0.1"])
        self.assertEqual(tensorboard_main.tensorboard_argv(["--logdir=runs/a"])[2],
                         os.path.join(self.start, "runs", "a"))

    def test_port_host_and_other_flags_are_honoured(self):
        self.assertEqual(
            tensorboard_main.tensorboard_argv(["--logdir", self.start, "--port=7007", "--host=0.0.0.0",
                                               "--reload_interval=5"]),
            ["tensorboard", "--logdir", self.start, "--port", "7007", "--host", "0.0.0.0", "--reload_interval=5"])
        self.assertNotIn("--host", tensorboard_main.tensorboard_argv(["--bind_all"]))

    def test_missing_logdir_is_one_line_and_exit_1(self):
        with self.assertRaisesRegex(cli.UsageError, "--logdir .*/nowhere does not exist"):
            tensorboard_main.tensorboard_argv(["--logdir=nowhere"])
        stderr = io.StringIO()
        with contextlib.redirect_stderr(stderr):
            self.assertEqual(tensorboard_main.main(["--logdir=nowhere"]), 1)
        self.assertLen(stderr.getvalue().splitlines(), 1)
        self.assertStartsWith(stderr.getvalue(), "error: --logdir {} does not exist".format(
            os.path.join(self.start, "nowhere")))

    def test_port_in_use_is_one_line_before_tensorboard_starts(self):
        with socket.socket() as taken:
            taken.bind(("127.0.0.1", 0))
            taken.listen()
            port = taken.getsockname()[1]
            stderr = io.StringIO()
            with contextlib.redirect_stderr(stderr):
                self.assertEqual(tensorboard_main.main(["--logdir=runs", "--port={}".format(port)]), 1)
        self.assertEqual(stderr.getvalue(), "error: port {} is in use (another TensorBoard?); stop it, or pass "
                                            "--port=N, or --port=0 for any free port\n".format(port))
        tensorboard_main.check_port_free(["tensorboard", "--logdir", "runs", "--port", str(port)])  # free again

    def test_bad_port_is_one_line(self):
        for args in (["--port=http"], ["--port=70000"]):
            with self.assertRaises(cli.UsageError, msg=args):
                tensorboard_main.tensorboard_argv(args)


class _Writer:
    """Stands for the events writer: what TraceFirstRun hands it."""

    def __init__(self):
        self.run_metadata = []

    def add_run_metadata(self, metadata, tag, step=None):
        self.run_metadata.append((metadata, tag, step))


class SummariesTest(tf.test.TestCase):
    """session/summaries.py in this process on the posts' graphs: each histogram's tag, count and values against
    numpy on the tensors it was made from, the traced first run, and the arrays the pictures are drawn from."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.test = loader.load_mnist().test

    def session(self, net):
        from graphs import model
        graph, nodes, init_op = model.build_graph(net, "variance_scaling" if net == "conv4" else "random_normal",
                                                  0.01, seed=0)
        with graph.as_default():
            merged = summaries.histograms(nodes)
        session = tf.compat.v1.Session(graph=graph)
        self.addCleanup(session.close)
        session.run(init_op)
        return session, nodes, merged

    def images(self, nodes, count):
        return self.test.images[:count].reshape((-1,) + tuple(nodes.input.shape[1:]))

    def test_each_histogram_counts_its_layers_first_images_holding_enough_values(self):
        session, nodes, merged = self.session("conv4")
        images = self.images(nodes, 30)
        serialized, *arrays = session.run([merged] + list(nodes.pre_activations) + [nodes.logits, nodes.predictions],
                                          {nodes.input: images})
        summary = tf.compat.v1.Summary.FromString(serialized)
        self.assertEqual([v.tag for v in summary.value], CONV4_HISTOGRAMS)
        for value, array in zip(summary.value, arrays):
            per_image = int(np.prod(array.shape[1:]))
            counted = array[:-(-summaries.HISTOGRAM_VALUES // per_image)]  # the first images holding 2**19 values
            if len(counted) < len(array):  # (else the whole batch holds fewer)
                self.assertGreaterEqual(counted.size, summaries.HISTOGRAM_VALUES, value.tag)
                self.assertLess(counted.size - per_image, summaries.HISTOGRAM_VALUES, value.tag)
            histo = value.histo
            self.assertEqual(histo.num, counted.size, value.tag)
            self.assertAllClose([histo.min, histo.max], [counted.min(), counted.max()], rtol=1e-6, msg=value.tag)
            self.assertAllClose(histo.sum, counted.astype(np.float64).sum(), rtol=1e-4, atol=1e-3, msg=value.tag)
        # conv4: 11 of the 30 images for layer1-2 (28 x 28 x 64 values each), 21 for layer3-4 (14 x 14 x 128), all
        # 30 for logits and predictions.
        self.assertEqual([v.histo.num for v in summary.value],
                         [11 * 28 * 28 * 64] * 2 + [21 * 14 * 14 * 128] * 2 + [30 * 10] * 2)

    def test_non_finite_values_are_left_out_of_a_histogram(self):
        session, nodes, merged = self.session("linear")
        images = self.images(nodes, 4).copy()
        images[1, 0] = np.nan  # image 1's logits and predictions are all NaN
        summary = tf.compat.v1.Summary.FromString(session.run(merged, {nodes.input: images}))
        self.assertEqual([v.tag for v in summary.value], LINEAR_HISTOGRAMS)
        logits = session.run(nodes.logits, {nodes.input: images})
        self.assertEqual([v.histo.num for v in summary.value], [30, 30])
        self.assertAllClose(summary.value[0].histo.sum, np.nansum(logits.astype(np.float64)), rtol=1e-5)

    def test_tags_are_the_posts_names(self):
        session, nodes, _ = self.session("fc3")
        self.assertEqual([name for name, _ in summaries.histogram_tensors(nodes)],
                         ["layer1_linear", "layer2_linear", "logits", "predictions"])
        self.assertEqual([tensor for _, tensor in summaries.histogram_tensors(nodes)],
                         list(nodes.pre_activations) + [nodes.logits, nodes.predictions])

    def test_only_the_first_run_is_traced_and_written_under_its_tag_and_step(self):
        session, nodes, _ = self.session("linear")
        writer = _Writer()
        traced = summaries.TraceFirstRun(session, writer, "train_step_7", 7)
        images = self.images(nodes, 3)
        first = traced.run(nodes.logits, {nodes.input: images})
        second = traced.run(nodes.logits, feed_dict={nodes.input: images})
        self.assertAllClose(first, session.run(nodes.logits, {nodes.input: images}))
        self.assertAllClose(second, first)
        self.assertTrue(traced.traced)
        self.assertLen(writer.run_metadata, 1)
        metadata, tag, step = writer.run_metadata[0]
        self.assertEqual((tag, step), ("train_step_7", 7))
        ran = {node.node_name for device in metadata.step_stats.dev_stats for node in device.node_stats}
        self.assertIn("logits", ran)
        self.assertNotIn("optimizer", ran)  # the fetch's own nodes only
        self.assertIs(traced.graph, session.graph)  # anything else is the session's

    def test_activations_and_what_was_learned_are_the_networks_own_arrays(self):
        session, nodes, _ = self.session("conv4")
        images = self.images(nodes, 5)
        found = summaries.activations(session, nodes, images)
        self.assertEqual([name for name, _ in found], CONV4_HISTOGRAMS)
        for (name, array), tensor in zip(found, list(nodes.pre_activations) + [nodes.logits, nodes.predictions]):
            self.assertAllClose(array, session.run(tensor, {nodes.input: images}), msg=name)
        graph = nodes.input.graph
        weights, maps = summaries.learned(session, nodes, self.test.images[3])
        self.assertEqual(weights.shape, (3, 3, 1, 64))
        self.assertEqual([(name, value.shape) for name, value in maps], [
            ("layer1", (28, 28, 64)), ("layer2", (28, 28, 64)), ("pool1", (14, 14, 64)),
            ("layer3", (14, 14, 128)), ("layer4", (14, 14, 128)), ("pool2", (7, 7, 128))])
        # Image 3's own maps: layer1's is ReLU(its 3x3 SAME convolution with those weights + the bias), in numpy;
        # pool1 the max of each 2x2 of layer2's.
        (bias,) = [v for v in graph.get_collection(tf.compat.v1.GraphKeys.GLOBAL_VARIABLES)
                   if v.op.name == "layer1/layer1_bias"]
        padded = np.pad(self.test.images[3].reshape(28, 28), 1)
        conv = sum(padded[di:di + 28, dj:dj + 28, None] * weights[di, dj, 0] for di in range(3) for dj in range(3))
        self.assertAllClose(maps[0][1], np.maximum(conv + session.run(bias), 0), atol=1e-5)
        self.assertAllClose(maps[2][1], maps[1][1].reshape(14, 2, 14, 2, 64).max(axis=(1, 3)))
        self.assertEqual(summaries.feature_map_tensors(self.session("fc3")[1].input.graph), [])

    def test_a_linear_network_has_weights_and_no_feature_maps(self):
        session, nodes, _ = self.session("linear")
        weights, maps = summaries.learned(session, nodes, self.test.images[0])
        self.assertEqual((weights.shape, maps), ((784, 10), []))

    def test_a_png_is_an_image_summary_of_its_own_size_and_bytes(self):
        path = os.path.join(self.create_tempdir().full_path, "p.png")
        Image.new("RGBA", (37, 21), (10, 20, 30, 255)).save(path)
        summary = summaries.image_summary("pictures/mistakes", path)
        (value,) = summary.value
        with open(path, "rb") as f:
            encoded = f.read()
        self.assertEqual((value.tag, value.image.width, value.image.height, value.image.colorspace),
                         ("pictures/mistakes", 37, 21, 4))
        self.assertEqual(value.image.encoded_image_string, encoded)


def _softmax(logits):
    shifted = np.exp(logits - logits.max(axis=1, keepdims=True))
    return shifted / shifted.sum(axis=1, keepdims=True)


class PicturesReadBackTest(tf.test.TestCase):
    """What //:predict --png draws, the `most confused` line a run prints, the pictures of a run without
    mistakes or of a layer with non-finite values, and //:report in this process: read back (tests/drawn.py,
    the printed lines) against the arrays they were drawn from, recomputed here."""

    def tearDown(self):
        from matplotlib import pyplot
        pyplot.close("all")
        super().tearDown()

    def test_predict_png_names_each_input_and_colours_and_names_its_answer(self):
        rng = np.random.RandomState(4)
        names = ["test[3]", "my/pictures/of/handwritten/digits/three.png", "seven.png"]
        images = rng.rand(3, 28, 28)
        logits = rng.normal(0.0, 2.0, (3, 10))
        logits[np.arange(3), [2, 8, 5]] += 6.0  # three different answers, each with a runner-up
        probabilities = _softmax(logits)
        fig = drawn.laid_out(predictions.figure(list(zip(names, images, probabilities))))
        shown = drawn.panels(fig)
        self.assertLen(shown, 6)
        titles = ["test[3]", "…ritten/digits/three.png", "seven.png"]  # a long path: its last 23 characters
        for row, (title, image, p, answer) in enumerate(zip(titles, images, probabilities, [2, 8, 5])):
            picture, bars = shown[row, 0], shown[row, 1]
            self.assertEqual(picture.get_title(), title)
            self.assertAllClose(drawn.image(picture), image)
            drawn_bars = drawn.bars(bars)
            self.assertEqual([centre for centre, _, _ in drawn_bars], list(range(10)))
            self.assertAllClose([height for _, height, _ in drawn_bars], p)
            self.assertEqual(drawn.highlighted(drawn_bars), [answer], title)
            self.assertEqual(bars.get_title(), "predicted {} ({:.1f}%)".format(answer, 100 * p[answer]))

    def test_no_title_or_label_is_cut_off_at_a_pictures_edge(self):
        probabilities, labels, images = _synthetic_test_pass()
        rng = np.random.RandomState(6)
        maps = [("layer1", np.abs(rng.normal(size=(28, 28, 64)))), ("pool2", np.abs(rng.normal(size=(7, 7, 128))))]
        drawn_figures = []
        for net, weights in (("linear", rng.normal(size=(784, 10))), ("conv4", rng.normal(size=(3, 3, 1, 64)))):
            run = results.compute(probabilities, labels, images, weights, maps if net == "conv4" else [],
                                  {"net": net, "init": "variance_scaling", "step": 5000})
            run.name = "runs/{}-variance_scaling-20261203-101010".format(net)
            drawn_figures += [(net + " " + kind, results.figure(kind, [run])) for kind in run.kinds()]
            drawn_figures.append((net + " confusion side by side", results.figure("confusion", [run, run])))
        for count in (1, 3):  # //:predict --png of one picture, the usual case, and of three
            rows = [("test[{}]".format(i), images[i], probabilities[i]) for i in range(count)]
            drawn_figures.append(("predict --png of {}".format(count), predictions.figure(rows)))
        folder = self.create_tempdir().full_path
        histograms.save(os.path.join(folder, histograms.ACTIVATIONS_FILE),
                        [("layer1_conv", rng.normal(0, 1e4, 500)), ("logits", rng.normal(0, 1e6, 100)),
                         ("predictions", rng.rand(100))], {"net": "conv4", "init": "random_normal", "step": 5000})
        drawn_figures.append(("histograms", histograms.figure([histograms.load(folder)] * 2)))
        for what, fig in drawn_figures:
            self.assertEqual(drawn.outside(fig), [], what)
            self.assertEqual(drawn.overlapping_titles(fig), [], what)
            # Each digit, weight or map at least one screen pixel per pixel of a 28x28 digit: legible.
            for ax in fig.findobj(matplotlib.axes.Axes):
                if ax.get_visible() and ax.images:
                    self.assertGreaterEqual(min(drawn.pixels(ax)), 28, "{}: {}".format(what, ax.get_title()))
        # One input: the bars are still its own (a figure of one row is a row, not a pair of axes).
        ((picture, bars),) = [(shown[0, 0], shown[0, 1]) for shown in [drawn.panels(drawn_figures[-3][1])]]
        self.assertEqual(picture.get_title(), "test[0]")
        self.assertAllClose([height for _, height, _ in drawn.bars(bars)], probabilities[0])

    def test_the_most_confused_line_names_the_largest_mistakes_true_then_predicted(self):
        true = [4] * 5 + [9] * 3 + [7] * 3 + [1] * 2 + [0] * 6
        predicted = [9] * 5 + [4] * 3 + [2] * 3 + [8] * 2 + [0] * 6
        matrix = mistakes.confusion_matrix(true, predicted)
        self.assertEqual((matrix[4, 9], matrix[9, 4], matrix[7, 2], matrix[1, 8], matrix[0, 0]), (5, 3, 3, 2, 6))
        # Ties (9→4 and 7→2, three each) in the order of the true digit.
        self.assertEqual(mistakes.most_confused_line(matrix), "most confused: 4→9 (5), 7→2 (3), 9→4 (3)")
        self.assertEqual(mistakes.most_confused_line(matrix, count=5),
                         "most confused: 4→9 (5), 7→2 (3), 9→4 (3), 1→8 (2)")
        self.assertEqual(mistakes.most_confused_line(mistakes.confusion_matrix([3, 5], [3, 5])),
                         "most confused: nothing (no mistakes)")

    def test_a_run_without_mistakes_says_so_in_both_pictures(self):
        probabilities = np.eye(10, dtype=np.float32)[[3, 1, 4, 1, 5]]
        run = results.compute(probabilities, np.array([3, 1, 4, 1, 5]), np.zeros((5, 28, 28), np.float32),
                              np.zeros((784, 10)), [], {"net": "linear", "init": "xavier"})
        panel = _one(results.figure("mistakes", [run]))
        self.assertEqual(drawn.suptitle(panel), "Mistakes, most confident first")
        self.assertEqual(drawn.panels(panel), {})
        self.assertEqual([t.get_text() for t in panel.texts if t.get_text() != drawn.suptitle(panel)],
                         ["no mistakes"])
        self.assertEqual(drawn.outside(panel), [])
        ax = drawn.panels(_one(results.figure("confusion", [run])))[(0, 0)]
        self.assertEqual(ax.get_title(), "Confusion matrix\n5 of 5 right (100.00 %)")
        # Every diagonal cell says its count (0 too), and no cell off it says anything.
        self.assertCountEqual(drawn.texts(ax), [("0", (0, 0)), ("2", (1, 1)), ("0", (2, 2)), ("1", (3, 3)),
                                                ("1", (4, 4)), ("1", (5, 5)), ("0", (6, 6)), ("0", (7, 7)),
                                                ("0", (8, 8)), ("0", (9, 9))])
        self.assertEqual(run.subtitle, "linear · xavier")  # no step: none said

    def test_a_layer_with_non_finite_values_says_how_many_beside_its_range(self):
        folder = self.create_tempdir().full_path
        layer = np.array([1.0, np.inf, -2.0, np.nan, 0.5, np.nan])
        histograms.save(os.path.join(folder, histograms.ACTIVATIONS_FILE), [("logits", layer)], {"net": "linear"})
        ax = drawn.panels(histograms.figure([histograms.load(folder)]))[(0, 0)]
        finite = layer[np.isfinite(layer)]
        self.assertEqual([text for text, _ in drawn.texts(ax)],
                         ["[-2, 1]  std {:.3g}  (3 non-finite)".format(finite.std())])
        self.assertEqual(int(drawn.stairs(ax)[0].sum()), 3)

    def _run_folder(self, root, name, net, seed, maps):
        """A finished run's folder as //:run leaves it (its stored arrays; the PNGs are not needed)."""
        run_dir = os.path.join(root, name)
        os.makedirs(run_dir)
        rng = np.random.RandomState(seed)
        layers = [("layer1_conv", rng.normal(0, 1, 500))] if maps else []
        histograms.save(os.path.join(run_dir, histograms.ACTIVATIONS_FILE),
                        layers + [("logits", rng.normal(0, 5, 300)), ("predictions", rng.rand(300))],
                        {"net": net, "init": "xavier", "step": seed})
        probabilities, labels, images = _synthetic_test_pass(count=20, seed=seed)
        weights = rng.normal(size=(784, 10))  # ten templates (as linear's), so that the test draws little
        feature_maps = [("layer1", np.abs(rng.normal(size=(28, 28, 64))))] if maps else []
        pictures = results.compute(probabilities, labels, images, weights, feature_maps,
                                   {"net": net, "init": "xavier", "step": seed})
        figures.save_arrays(os.path.join(run_dir, results.PICTURES_FILE), pictures.meta, pictures.arrays)
        return run_dir, probabilities, labels

    def _report(self, args):
        stdout, stderr = io.StringIO(), io.StringIO()
        with drawn.saved_figures(figures) as saved, contextlib.redirect_stdout(stdout), \
                contextlib.redirect_stderr(stderr):
            code = report.main(args)
        return code, stdout.getvalue(), stderr.getvalue(), saved

    def test_report_says_what_it_drew_and_draws_each_run_in_its_own_column(self):
        root = self.create_tempdir().full_path
        b, b_probabilities, b_labels = self._run_folder(root, "b-conv4", "conv4", 7, maps=True)
        a, a_probabilities, a_labels = self._run_folder(root, "a-linear", "linear", 3, maps=False)
        out = os.path.join(root, "both.png")
        code, stdout, stderr, saved = self._report([b, a, "--out=" + out])  # not in alphabetical order
        self.assertEqual((code, stderr), (0, ""))
        stem = os.path.join(root, "both")
        self.assertEqual(stdout.splitlines(), [
            "{}: 2 runs x 3 rows".format(out),
            "{}_mistakes.png: mistakes, most confident first of 2 runs".format(stem),
            "{}_confusion.png: confusion matrix of 2 runs".format(stem),
            "{}_weights.png: first layer's weights of 2 runs".format(stem),
            "{}_feature_maps.png: feature maps of test image 0 of 1 runs".format(stem)])
        self.assertEqual([path for path, _ in saved], [out] + ["{}_{}.png".format(stem, kind) for kind in results.KINDS])
        for path, _ in saved:
            _png_size(path)  # a whole PNG
        # The histograms: a column per run in the order given, a row per layer, the run's own counts.
        shown = drawn.panels(saved[0][1])
        self.assertEqual([shown[0, column].get_title() for column in range(2)],
                         ["b-conv4\nconv4 · xavier · step 7", "a-linear\nlinear · xavier · step 3"])
        self.assertEqual([shown[row, 0].get_ylabel() for row in range(3)], ["layer1_conv", "logits", "predictions"])
        self.assertEqual([text for text, _ in drawn.texts(shown[0, 1])], ["(not in this net)"])
        # The confusion matrices: each panel its own run's, in the same order.
        confusion = saved[2][1]
        for panel, name, probabilities, labels in zip(confusion.subfigs, ("b-conv4", "a-linear"),
                                                      (b_probabilities, a_probabilities), (b_labels, a_labels)):
            right = int(np.sum(probabilities.argmax(axis=1) == labels))
            self.assertStartsWith(drawn.panels(panel)[(0, 0)].get_title(), name + "\n")
            self.assertEndsWith(drawn.panels(panel)[(0, 0)].get_title(), "\n{} of {} right ({:.2f} %)".format(
                right, len(labels), 100.0 * right / len(labels)))
        # The feature maps: only the conv4 run has them, and they are its own.
        (maps_panel,) = saved[4][1].subfigs
        stored = results.load(b).arrays
        self.assertAllClose(drawn.image(drawn.panels(maps_panel)[1, 1]), stored["map_layer1"][..., 0])

    def test_report_of_runs_without_pictures_draws_the_histograms_and_says_why_no_more(self):
        root = self.create_tempdir().full_path
        run_dir, _, _ = self._run_folder(root, "old-run", "linear", 1, maps=False)
        os.remove(os.path.join(run_dir, results.PICTURES_FILE))
        out = os.path.join(root, "report.png")
        code, stdout, stderr, saved = self._report([run_dir, "--out=" + out])
        self.assertEqual((code, stderr), (0, ""))
        self.assertEqual(stdout.splitlines(), [
            "{}: 1 runs x 2 rows".format(out),
            "no side-by-side pictures: {} has no pictures.npz: runs finished before the end-of-run pictures were "
            "added have none (re-run it with //:run)".format(run_dir)])
        self.assertEqual([path for path, _ in saved], [out])

    def test_report_mistakes_are_one_line(self):
        root = self.create_tempdir().full_path
        run_dir, _, _ = self._run_folder(root, "run", "linear", 1, maps=False)
        for args, said in (([], "error: name at least one run folder: bazel run //:report -- runs/A runs/B"),
                           ([run_dir, "--out=" + os.path.join(root, "nowhere", "r.png")],
                            "error: --out {} cannot be written (No such file or directory)".format(
                                os.path.join(root, "nowhere", "r.png")))):
            code, stdout, stderr, _ = self._report(args)
            self.assertEqual((code, stdout, stderr), (1, "", said + "\n"), args)
        stdout = io.StringIO()
        with contextlib.redirect_stdout(stdout), self.assertRaises(SystemExit) as done:
            report.main(["--help"])
        self.assertEqual(done.exception.code, 0)
        self.assertIn("LTFN 6's histograms as pictures, without a server: `bazel run //:report -- RUN_DIR... "
                      "[--out=FILE.png]`.", " ".join(stdout.getvalue().split()))


class TensorBoardMainTest(tf.test.TestCase):
    """//:tensorboard's main, in this process: its refusals word for word."""

    def test_a_port_that_is_no_port_is_named_in_one_line(self):
        stderr = io.StringIO()
        with contextlib.redirect_stderr(stderr):
            self.assertEqual(tensorboard_main.main(["--logdir=" + self.create_tempdir().full_path, "--port=70000"]), 1)
        self.assertEqual(stderr.getvalue(), "error: --port 70000 is not a port number (0 to 65535)\n")


if __name__ == "__main__":
    tf.test.main()
