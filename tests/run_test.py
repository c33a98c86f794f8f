"""The runner (run.py): flag checks, relative paths, and the posts' output lines, end to end."""

import contextlib
import copy
import io
import json
import os
import re
import signal
import sys
import tempfile
from unittest import mock

from absl import flags
from absl.testing import flagsaver
import numpy as np
import tensorflow as tf

from data import loader
from graphs import model
from graphs import posts
from pictures import results
from programs import cli
import run
from session import folder_lock
from session import interrupts
from session import progress
from session import speedup
from tests import testing

# A line TensorFlow's C++ runtime logs at WARNING, ERROR or FATAL ("E0000 00:00:17... file.cc:52] ...").
TF_WARNING_OR_ERROR = re.compile(r"^[WEF]\d{4} .*\] ", re.M)


def _run(args, env=None):
    """run.py in a fresh interpreter, as `bazel run //:run -- ARGS` would start it."""
    return testing.run_program("run.py", args, env=env)


def _recomputed_linear_run(steps):
    """The lines `--net=linear --steps=STEPS --print_every=1` must print, worked out here: the graph from
    the same seed, the posts' batches in order sliced by hand, cost and accuracy in numpy from the logits
    before each update, the test figures from the logits after the last."""
    data = loader.load_mnist()
    graph, nodes, init_op = model.build_graph("linear", "random_normal", 0.01, seed=0)
    lines = []
    with tf.compat.v1.Session(graph=graph) as session:
        session.run(init_op)
        for step in range(steps):
            images = data.train.images[step * 100:(step + 1) * 100]
            labels = data.train.labels[step * 100:(step + 1) * 100]
            logits = session.run(nodes.logits, {nodes.input: images}).astype(np.float64)
            lines.append("Cost: {:.6g}".format(_cross_entropy(logits, labels)))
            right = (logits.argmax(axis=1) == labels.argmax(axis=1)).sum()
            lines.append("Accuracy: {:.2f} %".format(right))  # of 100 images: the count is the percentage
            session.run(nodes.optimizer, {nodes.input: images, nodes.labels: labels})
        logits = session.run(nodes.logits, {nodes.input: data.test.images}).astype(np.float64)
    lines.append("Test Cost: {:.6g}".format(_cross_entropy(logits, data.test.labels)))
    right = (logits.argmax(axis=1) == data.test.labels.argmax(axis=1)).sum()
    lines.append("Test accuracy: {:.2f} %".format(100.0 * right / len(logits)))
    return lines


def _cross_entropy(logits, labels):
    """Mean of -log softmax(logits)[label], in float64."""
    shifted = logits - logits.max(axis=1, keepdims=True)
    log_softmax = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    return float(-(labels * log_softmax).sum(axis=1).mean())


class PathsTest(tf.test.TestCase):

    def test_relative_paths_resolve_against_where_bazel_run_started(self):
        start = self.create_tempdir().full_path
        os.environ["BUILD_WORKING_DIRECTORY"] = start
        try:
            self.assertEqual(cli.user_path("runs/a"), os.path.join(start, "runs", "a"))
            self.assertEqual(cli.user_path("/abs/path"), "/abs/path")
        finally:
            del os.environ["BUILD_WORKING_DIRECTORY"]
        self.assertEqual(cli.user_path("b"), os.path.join(os.getcwd(), "b"))

    def test_default_logdir_names_net_init_and_time(self):
        import datetime
        self.assertEqual(run.default_logdir("conv4", "small", datetime.datetime(2026, 1, 2, 3, 4, 5)),
                         os.path.join("runs", "conv4-small-20260102-030405"))

    def test_resume_command_pins_the_logdir_in_either_flag_form(self):
        argv = sys.argv
        sys.argv = ["run.py", "--net=fc3", "--logdir", "old", "--steps=5", "--logdir=older"]
        try:
            self.assertEqual(run.resume_command("/runs/new"),
                             "bazel run //:run -- --net=fc3 --steps=5 --logdir=/runs/new")
        finally:
            sys.argv = argv

    def test_unwritable_logdir_is_refused(self):
        parent = self.create_tempdir().full_path
        blocker = os.path.join(parent, "file")
        open(blocker, "w").close()
        with self.assertRaisesRegex(cli.UsageError, "--logdir .* cannot be created"):
            cli.make_writable_dir(os.path.join(blocker, "sub"), "logdir")


class FlagsTest(tf.test.TestCase):

    def _parse(self, *args):
        fv = flags.FlagValues()
        for name in ("net", "init", "steps", "batch_size", "test_batch_size", "learning_rate", "print_every",
                     "save_every", "seed"):
            # The runner's very definitions, with their validators; copies, so that a value one parse leaves in a
            # flag (--learning_rate=-1) does not make the next parse fail for that flag instead of its own.
            fv[name] = copy.deepcopy(flags.FLAGS[name])
        fv(["run.py"] + list(args))
        return fv

    def test_every_flags_default(self):
        # The posts' settings where the posts have one; the program's own for the rest. A flag added to run.py
        # fails here until its default is stated.
        defaults = {f.name: f.default for f in flags.FLAGS.get_flags_for_module(run)}
        self.assertEqual(defaults, {
            "net": "conv4",  # the main job: LTFN 6's ConvNet
            "init": None, "steps": None, "learning_rate": None,  # each net's own (posts.settings, graphs_test)
            "batch_size": 100,  # LTFN 1: "a batch_size of 100"
            "print_every": 100,  # LTFN 2's 20 printed lines over 2,000 steps
            "shuffle": False,  # the posts take images[step*100 : step*100+100], in order
            "validation_size": 5000,  # TF's input_data split off the first 5,000 training images
            "precision": "float32",  # the posts' arithmetic
            "seed": 0, "test_batch_size": 1000, "save_every": 500, "check_numerics": False,
            "allow_precision_change": False, "bfloat16_hint": True, "verbose": False,
            "data_dir": None, "logdir": None, "checkpoint_dir": None,
        })
        self.assertEqual(posts.DEFAULT_INIT, {"linear": "random_normal", "fc3": "random_normal",
                                              "conv4": "variance_scaling"})

    def test_bad_values_are_refused(self):
        for args in (["--steps=-1"], ["--steps=0"], ["--batch_size=0"], ["--test_batch_size=0"], ["--print_every=0"],
                     ["--net=resnet"], ["--init=he"], ["--learning_rate=0"],
                     ["--learning_rate=-1"], ["--save_every=0"], ["--seed=-1"], ["--seed=2147483648"]):
            # Refused for the flag given, not another one.
            with self.assertRaisesRegex(flags.Error, "^flag {}".format(re.escape(args[0].split(".")[0])), msg=args):
                self._parse(*args)
        # The bounds themselves are taken: one step, a checkpoint every step, the largest seed TensorFlow takes.
        parsed = self._parse("--steps=1", "--save_every=1", "--seed=2147483647", "--batch_size=1")
        self.assertEqual((parsed.steps, parsed.save_every, parsed.seed, parsed.batch_size), (1, 1, 2**31 - 1, 1))


class _Stream(io.StringIO):
    """A stream that says whether it is a terminal."""

    def __init__(self, tty):
        super().__init__()
        self.tty = tty

    def isatty(self):
        return self.tty


class ProgressTest(tf.test.TestCase):

    def _progress(self, tty):
        self.now = 0.0
        stream = _Stream(tty)
        return progress.Progress(10, 100, stream=stream, interval=0.25, rate_window=1.0, clock=lambda: self.now), stream

    def test_a_terminal_gets_one_line_rewritten_in_place(self):
        progress, stream = self._progress(tty=True)
        progress.step(0, 5.0, printed=True)
        self.assertEqual(stream.getvalue(), "\rstep 0/10  ? images/s  ETA ?  cost 5\x1b[K")
        self.now = 0.1
        progress.step(1, 4.0)  # within the redraw interval: nothing written
        self.assertEqual(stream.getvalue().count("\r"), 1)
        self.now = 1.0
        progress.step(2, 3.0)  # 2 steps of 100 images in the 1 s since step 0: 200 images/s, 7 steps left
        self.assertTrue(stream.getvalue().endswith("\rstep 2/10  200 images/s  ETA 0:00:04  cost 3\x1b[K"))
        progress.clear()
        self.assertTrue(stream.getvalue().endswith("\x1b[K\r\x1b[K"))
        self.assertNotIn("\n", stream.getvalue())

    def test_a_pipe_gets_a_plain_line_on_each_printed_step(self):
        progress, stream = self._progress(tty=False)
        for step in range(5):
            self.now = step * 0.5
            progress.step(step, 10.0 - step, printed=step % 3 == 0)
        progress.clear()
        self.assertEqual(stream.getvalue().splitlines(),
                         ["step 0/10  ? images/s  ETA ?  cost 10", "step 3/10  200 images/s  ETA 0:00:03  cost 7"])
        self.assertNotIn("\r", stream.getvalue())

    def test_a_printed_step_before_a_full_rate_window_still_has_a_rate(self):
        progress, stream = self._progress(tty=False)
        progress.step(0, 3.0, printed=True)
        for step in (1, 2):
            self.now = 0.1 * step
            progress.step(step, 2.0, printed=step == 2)
        # Steps 1 and 2 (200 images) in 0.2 s since step 0.
        self.assertEqual(stream.getvalue().splitlines()[-1], "step 2/10  1000 images/s  ETA 0:00:01  cost 2")


class FirstContactTest(tf.test.TestCase):
    """Issue 12: a bad command line answers at once, and a run opens without TensorFlow's noise."""

    def test_bad_arguments_and_help_answer_before_tensorflow_is_imported(self):
        for args, code, error in ((["--steps=-1"], 1, r"^error: flag --steps=-1: .*; see --help$"),
                                  (["--net=resnet"], 1, r"^error: flag --net=resnet: .*conv4.*; see --help$"),
                                  (["--net=linear", "extra"], 2, r"^error: unexpected arguments extra; "),
                                  (["--help"], 1, None)):
            result, imported = testing.run_watching_imports("run.py", args)
            self.assertEqual(imported, [], args)
            self.assertEqual(result.returncode, code, result.stderr)
            if error:
                self.assertLen(result.stderr.splitlines(), 1, result.stderr)
                self.assertRegex(result.stderr.strip(), error)
            else:
                self.assertIn("--learning_rate", result.stdout)

    def test_a_good_command_line_does_import_tensorflow(self):
        result, imported = testing.run_watching_imports("run.py", ["--net=linear", "--steps=1", "--test_batch_size=5000",
                                                                   "--logdir=" + self.create_tempdir().full_path])
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertEqual(imported, ["tensorflow"])

    def test_a_run_shows_no_tensorflow_warning_or_error_and_plain_progress_lines(self):
        # The program's own TF_CPP_MIN_LOG_LEVEL, not the tests' (testing.python_command sets one).
        result = _run(["--net=linear", "--steps=3", "--print_every=2", "--logdir=" + self.create_tempdir().full_path],
                      env={"TF_CPP_MIN_LOG_LEVEL": None})
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertEqual(TF_WARNING_OR_ERROR.findall(result.stderr), [], result.stderr)
        self.assertNotIn("cuInit", result.stderr)
        progress = [l for l in result.stderr.splitlines() if l.startswith("step ")]
        self.assertLen(progress, 2)
        self.assertRegex(progress[1], r"^step 2/3  (\?|\d+) images/s  ETA \S+  cost [0-9.e+]+$")
        self.assertNotIn("\r", result.stderr)


class EndToEndTest(tf.test.TestCase):

    def test_prints_the_posts_lines_and_writes_logs_where_it_was_started(self):
        start = self.create_tempdir().full_path
        result = _run(["--net=linear", "--steps=3", "--print_every=1", "--logdir=runs/e2e"],
                      env={"BUILD_WORKING_DIRECTORY": start})
        self.assertEqual(result.returncode, 0, result.stderr)
        lines = result.stdout.splitlines()
        self.assertEqual(lines[0], "Training linear (random_normal) for 3 steps, batch 100, learning rate 0.01, "
                                   "precision float32 (the posts' arithmetic)")
        printed = [l for l in lines if l.startswith(("Cost: ", "Accuracy: ", "Test Cost: ", "Test accuracy: "))]
        expected = _recomputed_linear_run(3)
        self.assertEqual([l.split(":")[0] for l in printed], [l.split(":")[0] for l in expected])
        for got, want in zip(printed, expected):
            if "ccuracy" in got:
                self.assertEqual(got, want)  # a count of right answers: exact
            else:  # float32 against float64 sums: equal to the 6 digits printed, give or take the last
                self.assertNear(float(got.split()[-1]), float(want.split()[-1]), 2e-5 * float(want.split()[-1]), got)
        logdir = os.path.join(start, "runs", "e2e")
        names = sorted(os.listdir(logdir))
        self.assertLen([n for n in names if n.startswith("events.out.tfevents.")], 1, names)
        self.assertEqual([n for n in names if not n.startswith("events.out.tfevents.")], [
            "activations.npz", "activations.png", "checkpoints", "confusion.png", "mistakes.png", "pictures.npz",
            "run.lock", "weights.png"])  # run.lock: one run per --logdir
        self.assertContainsSubset(["checkpoint", "model.ckpt-3.data-00000-of-00001", "model.ckpt-3.index",
                                   "model.ckpt-3.meta", "run.json"], os.listdir(os.path.join(logdir, "checkpoints")))
        for title, name in (("Mistakes, most confident first", "mistakes.png"), ("Confusion matrix", "confusion.png"),
                            ("First layer's weights", "weights.png"),
                            ("Activations before each ReLU (LTFN 6)", "activations.png")):
            self.assertIn("{}: {}".format(title, os.path.join(logdir, name)), lines)
        self.assertIn("TensorBoard logs: {}".format(logdir), lines)

    def test_the_same_seed_repeats_a_run_exactly_and_another_seed_changes_it(self):
        args = ["--net=fc3", "--steps=4", "--print_every=2"]
        runs = [_run(args + ["--seed=" + seed, "--logdir=" + self.create_tempdir().full_path])
                for seed in ("7", "7", "8")]
        figures = []
        for result in runs:
            self.assertEqual(result.returncode, 0, result.stderr)
            figures.append([l for l in result.stdout.splitlines() if "Cost: " in l or "ccuracy: " in l])
        self.assertLen(figures[0], 6)
        self.assertEqual(figures[0], figures[1])
        # Every cost line differs: another seed draws other weights (the batches are the same, in order).
        for a, b in zip(figures[0], figures[2]):
            if "Cost: " in a:
                self.assertNotEqual(a, b)

    def test_linear_with_the_posts_defaults_lands_in_its_band_on_mnist(self):
        # LTFN 1-2: the single layer, random_normal, 2,000 steps at 0.01, on the embedded MNIST (seconds).
        result = _run(["--net=linear", "--print_every=1000", "--logdir=" + self.create_tempdir().full_path])
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertIn("Training linear (random_normal) for 2000 steps, batch 100, learning rate 0.01,", result.stdout)
        cost = float(re.search(r"^Test Cost: (\S+)$", result.stdout, re.M).group(1))
        accuracy = float(re.search(r"^Test accuracy: (\S+) %$", result.stdout, re.M).group(1))
        self.assertTrue(posts.in_band("linear", "random_normal", cost, accuracy), (cost, accuracy))
        self.assertBetween(accuracy, 50.0, 70.0)  # the band docs/results.md states for this row

    def test_bad_flag_is_one_line_without_traceback(self):
        result = _run(["--net=linear", "--steps=-5"])
        self.assertNotEqual(result.returncode, 0)
        self.assertIn("--steps", result.stderr)
        self.assertNotIn("Traceback", result.stderr)

    def test_missing_data_is_one_clear_line(self):
        empty = self.create_tempdir().full_path
        result = _run(["--net=linear", "--steps=1", "--data_dir=" + empty,
                       "--logdir=" + self.create_tempdir().full_path])
        self.assertEqual(result.returncode, 1)
        self.assertRegex(result.stderr, r"error: MNIST file not found: looked for .*train-images")
        self.assertNotIn("Traceback", result.stderr)


def _recomputed_small_run(data_dir, steps, test_batch_size):
    """What `--net=linear --steps=STEPS --print_every=1` on small_mnist's data must print, worked out here: the
    training set after the 5,000 validation images is exactly one batch of 100, so every step trains on it; cost
    and accuracy in numpy from the logits before each update, the test figures from the logits after the last,
    and the same figures as TensorBoard scalars."""
    data = loader.load_mnist(data_dir)
    images, labels = data.train.images[:100], data.train.labels[:100]
    graph, nodes, init_op = model.build_graph("linear", "random_normal", 0.01, seed=0)
    train = []
    with tf.compat.v1.Session(graph=graph) as session:
        session.run(init_op)
        for step in range(steps):
            logits = session.run(nodes.logits, {nodes.input: images}).astype(np.float64)
            train.append((_cross_entropy(logits, labels), (logits.argmax(1) == labels.argmax(1)).mean()))
            session.run(nodes.optimizer, {nodes.input: images, nodes.labels: labels})
        logits = session.run(nodes.logits, {nodes.input: data.test.images}).astype(np.float64)
    test = (_cross_entropy(logits, data.test.labels), 100.0 * (logits.argmax(1) == data.test.labels.argmax(1)).mean())
    return train, test


def _scalars(logdir):
    """{tag: [(step, value)]} of the scalars in logdir's events files."""
    found = {}
    for name in sorted(os.listdir(logdir)):
        if name.startswith("events.out.tfevents."):
            for event in tf.compat.v1.train.summary_iterator(os.path.join(logdir, name)):
                for value in event.summary.value:
                    if value.HasField("simple_value"):
                        found.setdefault(value.tag, []).append((event.step, value.simple_value))
    return found


class _Saved:
    """Stands for checkpoints.Checkpoints in RunState: only the step of its newest checkpoint."""

    def __init__(self, last_step):
        self.last_step = last_step


class InProcessTest(tf.test.TestCase):
    """run.main in this process on a tiny run (linear, a few steps, small data): every line it prints read back
    by meaning and recomputed here, the files and scalars it writes, resuming, and the lines that end it early."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.data_dir = testing.small_mnist(tempfile.mkdtemp(dir=os.environ.get("TEST_TMPDIR")))

    def setUp(self):
        super().setUp()
        handlers = {sig: signal.getsignal(sig) for sig in interrupts.SIGNALS}  # run.main installs its own
        self.addCleanup(lambda: [signal.signal(sig, h) for sig, h in handlers.items()])
        self.addCleanup(setattr, sys, "unraisablehook", sys.unraisablehook)

    def _main(self, **flag_values):
        """run.main with the given flags (the rest at their defaults): (exit code, stdout lines, stderr)."""
        stdout, stderr = io.StringIO(), io.StringIO()
        with flagsaver.flagsaver(**flag_values), contextlib.redirect_stdout(stdout), \
                contextlib.redirect_stderr(stderr):
            code = run.main([])
        return code, stdout.getvalue().splitlines(), stderr.getvalue()

    def _tiny(self, logdir, **more):
        values = dict(net="linear", steps=3, print_every=1, test_batch_size=64, data_dir=self.data_dir,
                      logdir=logdir, bfloat16_hint=False)
        values.update(more)
        return self._main(**values)

    def test_every_printed_line_is_the_runs_own_figure(self):
        logdir = self.create_tempdir().full_path
        code, lines, stderr = self._tiny(logdir)
        self.assertEqual(code, 0, stderr)
        train, (test_cost, test_accuracy) = _recomputed_small_run(self.data_dir, 3, 64)
        self.assertEqual(lines[0], "Training linear (random_normal) for 3 steps, batch 100, learning rate 0.01, "
                                   "precision float32 (the posts' arithmetic)")
        # Cost: and Accuracy: of each step in turn, then the test pass's line and its two figures.
        for step, (cost, accuracy) in enumerate(train):
            cost_line, accuracy_line = lines[1 + 2 * step], lines[2 + 2 * step]
            self.assertRegex(cost_line, r"^Cost: \S+$")
            self.assertNear(float(cost_line.split()[1]), cost, 2e-5 * cost, cost_line)
            self.assertEqual(accuracy_line, "Accuracy: {:.2f} %".format(100 * accuracy))
        self.assertEqual(lines[7], "Testing on 200 images, batches of 64")
        self.assertRegex(lines[8], r"^Test Cost: \S+$")
        self.assertNear(float(lines[8].split()[2]), test_cost, 2e-5 * test_cost, lines[8])
        self.assertEqual(lines[9], "Test accuracy: {:.2f} %".format(test_accuracy))
        # What it wrote, and where: each picture under its title, the activations, TensorBoard's command.
        self.assertStartsWith(lines[10], "most confused: ")
        self.assertEqual(lines[11:], [
            "Mistakes, most confident first: " + os.path.join(logdir, "mistakes.png"),
            "Confusion matrix: " + os.path.join(logdir, "confusion.png"),
            "First layer's weights: " + os.path.join(logdir, "weights.png"),
            "Activations before each ReLU (LTFN 6): " + os.path.join(logdir, "activations.png"),
            "TensorBoard logs: " + logdir,
            "  view them: bazel run //:tensorboard -- --logdir=" + logdir])
        for name in ("mistakes.png", "confusion.png", "weights.png", "activations.png"):
            self.assertTrue(os.path.isfile(os.path.join(logdir, name)), name)
        # The progress lines on stderr (not a terminal): one per printed step, of 3 steps.
        self.assertEqual([l.split("  ")[0] for l in stderr.splitlines()], ["step 0/3", "step 1/3", "step 2/3"])
        # TensorBoard's scalars: the printed figures (accuracy as a fraction), training's at each step, the test's
        # at the last step.
        scalars = _scalars(logdir)
        self.assertEqual([step for step, _ in scalars["train/cost"]], [0, 1, 2])
        self.assertAllClose([v for _, v in scalars["train/cost"]], [c for c, _ in train], rtol=2e-5)
        self.assertAllClose([v for _, v in scalars["train/accuracy"]], [a for _, a in train], rtol=1e-6)
        self.assertEqual(scalars["test/cost"][0][0], 3)
        self.assertAllClose([v for _, v in scalars["test/cost"]], [test_cost], rtol=2e-5)
        self.assertAllClose([v for _, v in scalars["test/accuracy"]], [test_accuracy / 100], rtol=1e-6)
        # The checkpoint of the last step, with the settings that decide it in run.json.
        folder = os.path.join(logdir, "checkpoints")
        self.assertTrue(os.path.isfile(os.path.join(folder, "model.ckpt-3.index")))
        with open(os.path.join(folder, "run.json")) as f:
            recorded = json.load(f)
        self.assertEqual({k: recorded[k] for k in ("net", "init", "learning_rate", "batch_size", "seed", "shuffle",
                                                   "precision", "validation_size")},
                         {"net": "linear", "init": "random_normal", "learning_rate": 0.01, "batch_size": 100,
                          "seed": 0, "shuffle": False, "precision": "float32", "validation_size": 5000})
        self.assertIn(os.path.basename(self.data_dir), json.dumps(recorded["data_dir"]))
        # The pictures' own record of the run.
        meta = results.load(logdir).meta
        self.assertEqual({k: meta[k] for k in ("net", "init", "step", "learning_rate", "seed", "test_images")},
                         {"net": "linear", "init": "random_normal", "step": 3, "learning_rate": 0.01, "seed": 0,
                          "test_images": 200})

    def test_a_resumed_run_says_where_it_starts_and_trains_only_the_steps_left(self):
        logdir = self.create_tempdir().full_path
        self.assertEqual(self._tiny(logdir, steps=2)[0], 0)
        code, lines, stderr = self._tiny(logdir, steps=4)
        self.assertEqual(code, 0, stderr)
        folder = os.path.join(logdir, "checkpoints")
        self.assertEqual(lines[1], "Resuming at step 2 from {}".format(folder))
        train, (test_cost, test_accuracy) = _recomputed_small_run(self.data_dir, 4, 64)
        costs = [float(l.split()[1]) for l in lines if l.startswith("Cost: ")]
        self.assertLen(costs, 2)  # steps 2 and 3 only
        self.assertAllClose(costs, [c for c, _ in train[2:]], rtol=2e-5)
        self.assertIn("Test accuracy: {:.2f} %".format(test_accuracy), lines)
        self.assertEqual(sorted(n for n in os.listdir(folder) if n.endswith(".index")),
                         ["model.ckpt-2.index", "model.ckpt-4.index"])
        # Run again with the same steps: nothing left to train, it tests.
        code, lines, stderr = self._tiny(logdir, steps=4)
        self.assertEqual(code, 0, stderr)
        self.assertEqual(lines[1], "Resuming at step 4 from {}: training is done, testing".format(folder))
        self.assertNotIn("Cost:", " ".join(l for l in lines if not l.startswith("Test")))
        self.assertIn("Test accuracy: {:.2f} %".format(test_accuracy), lines)

    def test_checkpoints_every_save_every_steps_in_the_folder_asked(self):
        logdir, folder = self.create_tempdir().full_path, self.create_tempdir().full_path
        code, lines, stderr = self._tiny(logdir, steps=5, save_every=2, print_every=5, checkpoint_dir=folder)
        self.assertEqual(code, 0, stderr)
        self.assertEqual([l for l in lines if l.startswith("Cost: ")], lines[1:2])  # step 0 only
        # Saved at steps 2 and 4 and at the end; the Saver keeps the last two.
        self.assertEqual(sorted(n for n in os.listdir(folder) if n.endswith(".index")),
                         ["model.ckpt-4.index", "model.ckpt-5.index"])
        self.assertFalse(os.path.exists(os.path.join(logdir, "checkpoints")))

    def test_a_batch_larger_than_the_training_set_names_both_numbers_and_the_flag(self):
        # (A refused run's folder lock is held until its process ends: each run here has a folder of its own.)
        code, lines, stderr = self._tiny(self.create_tempdir().full_path, batch_size=101)
        self.assertEqual((code, lines), (1, []))
        self.assertEqual(stderr, "error: --batch_size=101 is more than the 100 training images left after "
                                 "--validation_size=5000; choose at most 100\n")
        code, lines, stderr = self._tiny(self.create_tempdir().full_path, batch_size=5101, validation_size=0)
        self.assertEqual(stderr, "error: --batch_size=5101 is more than the 5100 training images; choose at most "
                                 "5100\n")

    def test_a_diverged_run_names_the_rate_and_what_it_kept(self):
        code, lines, stderr = self._tiny(self.create_tempdir().full_path, learning_rate=1e38, steps=50,
                                         save_every=1000)
        self.assertEqual(code, 1, stderr)
        said = stderr.splitlines()[-1]
        self.assertRegex(said, r"^error: .*: training diverged; try a smaller --learning_rate \(was 1e\+38\), or add "
                               r"--check_numerics to see where; no checkpoint was written$")
        code, lines, stderr = self._tiny(self.create_tempdir().full_path, learning_rate=1e38, steps=50,
                                         check_numerics=True)
        self.assertRegex(stderr.splitlines()[-1], r"training diverged; try a smaller --learning_rate \(was 1e\+38\); "
                                                  r"no checkpoint was written$")

    def test_a_logdir_another_run_uses_is_refused_even_with_checkpoints_elsewhere(self):
        logdir = self.create_tempdir().full_path
        held = folder_lock.FolderLock(logdir, "run.py --logdir=" + logdir, "logdir")
        self.addCleanup(held.release)
        code, lines, stderr = self._tiny(logdir, checkpoint_dir=self.create_tempdir().full_path)
        self.assertEqual((code, lines), (1, []))
        self.assertRegex(stderr, r"^error: another run is using {}: .*run\.py --logdir={}; wait for it to end \(or "
                                 r"stop it\), or choose another --logdir\n$".format(re.escape(logdir), re.escape(logdir)))

    def test_a_full_disk_while_the_pictures_are_written_says_what_is_done(self):
        logdir = self.create_tempdir().full_path
        full = OSError(28, "No space left on device")
        with mock.patch.object(results, "write", side_effect=full):
            code, lines, stderr = self._tiny(logdir)
        self.assertEqual(code, 1, stderr)
        self.assertEqual(stderr.splitlines()[-1], "error: cannot write the end-of-run pictures in {} (No space left "
                         "on device); training (saved: step 3 in {}) and the test (figures above) are done; free some "
                         "space and run the same command to write them again".format(
                             logdir, os.path.join(logdir, "checkpoints")))
        self.assertEqual(lines[-1].split(":")[0], "Test accuracy")  # the test's figures were printed before it

    def test_settings_take_each_posts_default_for_the_net(self):
        with flagsaver.flagsaver(net="conv4", logdir="/runs/x"):
            settings = run.Settings.from_flags()
        self.assertEqual((settings.init, settings.steps, settings.learning_rate, settings.checkpoint_dir),
                         ("variance_scaling", posts.settings("conv4", "variance_scaling").steps,
                          posts.settings("conv4", "variance_scaling").learning_rate, "/runs/x/checkpoints"))
        with flagsaver.flagsaver(net="fc3", init="small", steps=7, learning_rate=0.5, logdir="/runs/y",
                                 checkpoint_dir="/ckpt"):
            settings = run.Settings.from_flags()
        self.assertEqual((settings.init, settings.steps, settings.learning_rate, settings.checkpoint_dir),
                         ("small", 7, 0.5, "/ckpt"))

    def test_a_float32_run_on_amx_prints_the_trials_line_second(self):
        logdir = self.create_tempdir().full_path
        measured = []

        def measure(graph, nodes, init_op, images, labels):
            measured.append((images, labels))
            return 0.030, 0.010
        with mock.patch.object(speedup, "wanted", return_value=True), \
                mock.patch.object(speedup, "measure", side_effect=measure):
            code, lines, stderr = self._tiny(logdir, bfloat16_hint=True)
        self.assertEqual(code, 0, stderr)
        self.assertStartsWith(lines[1], "this CPU has AMX: --precision=bfloat16 trains this network about 3.0× faster "
                                        "(10 ms a step against 30 ms in float32")
        self.assertIn("linear/random_normal", lines[1])
        # Timed on the run's own first batch.
        data = loader.load_mnist(self.data_dir)
        (images, labels), = measured
        self.assertAllEqual(images, data.train.images[:100].reshape((-1,) + model.NETS["linear"].INPUT_SHAPE))
        self.assertAllEqual(labels, data.train.labels[:100])
        # --nobfloat16_hint: no trial, no line.
        with mock.patch.object(speedup, "wanted", return_value=True), \
                mock.patch.object(speedup, "measure", side_effect=measure):
            code, lines, stderr = self._tiny(self.create_tempdir().full_path)
        self.assertLen(measured, 1)
        self.assertStartsWith(lines[1], "Cost: ")

    def test_the_line_that_ends_a_stopped_run_in_each_phase(self):
        argv = sys.argv
        sys.argv = ["run.py", "--net=fc3", "--logdir=/old"]
        self.addCleanup(setattr, sys, "argv", argv)
        command = "bazel run //:run -- --net=fc3 --logdir=/runs/r"
        state = run.RunState(100, "/runs/r", "/runs/r/checkpoints")
        stop = lambda signum, at_once: state.stopped(interrupts.Interrupted(signum, at_once))
        self.assertEqual(stop(signal.SIGINT, True), "SIGINT: stopped before training began; no checkpoint was "
                                                    "written yet; to start again: " + command)
        state.phase, state.step, state.saved = "training", 40, _Saved(40)
        self.assertEqual(stop(signal.SIGTERM, False), "SIGTERM: stopped at step 40 of 100; checkpoint saved in "
                                                      "/runs/r/checkpoints; to resume: " + command)
        state.saved = _Saved(30)  # the step's own checkpoint not written: the newest one is said
        self.assertEqual(stop(signal.SIGINT, False), "SIGINT: stopped at once during training; the checkpoint of "
                                                     "step 30 in /runs/r/checkpoints is intact; to resume: " + command)
        state.saved = _Saved(40)
        self.assertEqual(stop(signal.SIGINT, True), "SIGINT: stopped at once during training; the checkpoint of "
                                                    "step 40 in /runs/r/checkpoints is intact; to resume: " + command)
        state.saved = _Saved(None)
        self.assertEqual(stop(signal.SIGINT, True), "SIGINT: stopped at once during training; no checkpoint was "
                                                    "written yet; to resume: " + command)
        state.phase, state.saved = "testing", _Saved(100)
        self.assertEqual(stop(signal.SIGTERM, True), "SIGTERM: stopped during the test pass; training is done and "
                                                     "saved (step 100 in /runs/r/checkpoints); to run the test: "
                                                     + command)
        state.phase = "writing"
        self.assertEqual(stop(signal.SIGINT, True), "SIGINT: stopped while writing the end-of-run files; training "
                                                    "(saved: step 100 in /runs/r/checkpoints) and the test (figures "
                                                    "above) are done; to write them again: " + command)
        self.assertEqual(interrupts.Interrupted(signal.SIGTERM, True).exit_code, 143)


if __name__ == "__main__":
    tf.test.main()
