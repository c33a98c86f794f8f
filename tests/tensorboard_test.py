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
from pictures import results
from programs import report
from session import summaries
from programs import tensorboard_main
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


if __name__ == "__main__":
    tf.test.main()
