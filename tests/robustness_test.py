"""What a user can get wrong, and interruptions: each ends in one clear line, and nothing is lost."""

import contextlib
import gzip
import io
import os
import re
import shlex
import signal
import subprocess
import sys
import weakref

import numpy as np
import tensorflow as tf

from data import loader
from graphs import model
from session import interrupts
from session import trainer
from tests import testing


def _run(args, env=None):
    return testing.run_program("run.py", args, env=env)


def _figures(stdout):
    return [line for line in stdout.splitlines() if line.startswith("Test ")]


class BadDataTest(tf.test.TestCase):

    def _fails_cleanly(self, data_dir, pattern, *more):
        result = _run(["--net=linear", "--steps=1", "--data_dir=" + data_dir,
                       "--logdir=" + self.create_tempdir().full_path] + list(more))
        self.assertEqual(result.returncode, 1, result.stderr)
        errors = [l for l in result.stderr.splitlines() if l.startswith("error:")]
        self.assertLen(errors, 1)
        self.assertRegex(errors[0], pattern)
        self.assertNotIn("Traceback", result.stderr)

    def test_another_dataset_in_mnist_layout_loads(self):
        folder = testing.random_mnist(self.create_tempdir().full_path)
        result = _run(["--net=linear", "--steps=2", "--print_every=1", "--data_dir=" + folder,
                       "--logdir=" + self.create_tempdir().full_path])
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertLen(_figures(result.stdout), 2)

    def test_truncated_file(self):
        folder = testing.random_mnist(self.create_tempdir().full_path)
        path = os.path.join(folder, "t10k-images-idx3-ubyte.gz")
        with open(path, "rb") as f:
            data = f.read()
        with open(path, "wb") as f:
            f.write(data[:len(data) // 2])
        self._fails_cleanly(folder, r"t10k-images-idx3-ubyte\.gz")

    def test_label_out_of_range(self):
        folder = testing.random_mnist(self.create_tempdir().full_path)
        testing.write_idx(os.path.join(folder, "t10k-labels-idx1-ubyte.gz"), np.full(100, 12))
        self._fails_cleanly(folder, r"t10k-labels-idx1-ubyte\.gz.*12")

    def test_header_that_lies_about_its_count(self):
        folder = testing.random_mnist(self.create_tempdir().full_path)
        with gzip.open(os.path.join(folder, "t10k-images-idx3-ubyte.gz"), "wb") as f:
            f.write(bytes([0, 0, 8, 3]) + (2_000_000_000).to_bytes(4, "big") + (28).to_bytes(4, "big") * 2)
        self._fails_cleanly(folder, r"t10k-images-idx3-ubyte\.gz")

    def test_image_and_label_counts_disagree(self):
        folder = testing.random_mnist(self.create_tempdir().full_path)
        testing.write_idx(os.path.join(folder, "t10k-labels-idx1-ubyte.gz"), np.zeros(99))
        self._fails_cleanly(folder, r"t10k")

    def test_images_of_another_size_name_what_differs(self):
        for size in (32, 20):
            folder = testing.random_mnist(self.create_tempdir().full_path, size=size)
            self._fails_cleanly(folder, r"train-images-idx3-ubyte\.gz: its images are {0}x{0} pixels; the posts' "
                                        r"networks take MNIST's 28x28".format(size))

    def test_too_few_images_for_the_validation_split_says_which_flag_and_that_flag_works(self):
        folder = testing.random_mnist(self.create_tempdir().full_path, train=300)
        self._fails_cleanly(folder, r"holds 300 training images, too few to split off 5000 for validation .*"
                                    r"pass a --validation_size below 300 \(0 trains on them all\)")
        result = _run(["--net=linear", "--steps=4", "--validation_size=0", "--data_dir=" + folder,
                       "--logdir=" + self.create_tempdir().full_path])
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertLen(_figures(result.stdout), 2)

    def test_no_test_images(self):
        folder = testing.random_mnist(self.create_tempdir().full_path, test=0)
        self._fails_cleanly(folder, r"t10k-images-idx3-ubyte\.gz: holds no images")

    def test_batch_larger_than_the_training_set(self):
        folder = testing.random_mnist(self.create_tempdir().full_path)  # 100 images left after the split
        self._fails_cleanly(folder, r"--batch_size=101 is more than the 100 training images left after "
                                    r"--validation_size=5000; choose at most 100", "--batch_size=101")

    def test_data_dir_that_is_a_file(self):
        path = os.path.join(self.create_tempdir().full_path, "mnist.gz")
        open(path, "w").close()
        self._fails_cleanly(path, r"--data_dir .*mnist.gz is not a folder")

    def test_huge_test_batch_is_one_batch(self):
        folder = testing.random_mnist(self.create_tempdir().full_path)
        figures = []
        for batch in ("--test_batch_size=7", "--test_batch_size=" + str(10 ** 15)):
            result = _run(["--net=linear", "--steps=2", batch, "--data_dir=" + folder,
                           "--logdir=" + self.create_tempdir().full_path])
            self.assertEqual(result.returncode, 0, result.stderr)
            figures.append(_figures(result.stdout))
        self.assertEqual(figures[0], figures[1])

    def test_missing_file_names_the_path(self):
        folder = testing.random_mnist(self.create_tempdir().full_path)
        os.remove(os.path.join(folder, "train-labels-idx1-ubyte.gz"))
        self._fails_cleanly(folder, r"looked for .*train-labels-idx1-ubyte")


class BadFlagsTest(tf.test.TestCase):

    def test_each_bad_flag_is_refused_before_anything_runs(self):
        # Each validator is checked in-process (tests/run_test.py); here, what a user sees, for a few.
        for flag in ("--steps=-1", "--steps=0", "--learning_rate=-0.1", "--learning_rate=inf", "--save_every=0",
                     "--seed=-1", "--seed=" + str(2 ** 31), "--validation_size=-5", "--net=vgg"):
            result = _run(["--net=linear", flag])
            self.assertEqual(result.returncode, 1, flag)
            errors = [l for l in result.stderr.splitlines() if l.startswith("error:")]
            self.assertLen(errors, 1, flag)
            self.assertIn(flag.split("=")[0], errors[0], flag)
            self.assertNotIn("Traceback", result.stderr, flag)
            self.assertNotIn("FATAL", result.stderr, flag)
            self.assertNotIn("Cost:", result.stdout, flag)
        self.assertIn("<conv4|fc3|linear>", result.stderr)

    def test_unwritable_logdir(self):
        blocker = os.path.join(self.create_tempdir().full_path, "a-file")
        open(blocker, "w").close()
        result = _run(["--net=linear", "--steps=1", "--logdir=" + os.path.join(blocker, "run")])
        self.assertEqual(result.returncode, 1)
        self.assertRegex(result.stderr, r"error: --logdir .*a-file/run cannot be created")
        self.assertNotIn("Traceback", result.stderr)


class DivergenceTest(tf.test.TestCase):

    def test_non_finite_cost_names_the_step_and_keeps_the_logs(self):
        logdir = self.create_tempdir().full_path
        result = _run(["--net=linear", "--steps=50", "--learning_rate=1e38", "--logdir=" + logdir])
        self.assertEqual(result.returncode, 1, result.stderr)
        self.assertRegex(result.stderr, r"error: cost became (nan|inf) at step \d+: training diverged; "
                                        r"try a smaller --learning_rate")
        self.assertNotIn("Traceback", result.stderr)
        self.assertTrue([f for f in os.listdir(logdir) if f.startswith("events.out.tfevents")])

    def test_a_diverged_run_leaves_as_its_newest_checkpoint_the_last_sound_state(self):
        # LTFN 3's fc3 at a learning rate of 1000, saving every step: the cost is NaN a few steps in.
        logdir = self.create_tempdir().full_path
        folder = os.path.join(logdir, "checkpoints")
        result = _run(["--net=fc3", "--learning_rate=1000", "--save_every=1", "--steps=40", "--logdir=" + logdir])
        self.assertEqual(result.returncode, 1, result.stderr)
        said = re.search(r"error: cost became nan at step (\d+): training diverged; .*; the newest checkpoint, "
                         r"step (\d+) in (\S+), is the last sound one \(a rerun resumes from it\)$", result.stderr)
        self.assertIsNotNone(said, result.stderr)
        diverged, newest = int(said.group(1)), int(said.group(2))
        self.assertEqual(said.group(3), folder)
        self.assertEqual(newest, diverged - 1)
        with open(os.path.join(folder, "checkpoint")) as f:
            self.assertIn('model_checkpoint_path: "model.ckpt-{}"'.format(newest), f.read())
        # That state is sound: finite weights, and a finite cost on the batch its next step trains on.
        graph, nodes, _ = model.build_graph("fc3", "random_normal", 1000.0)
        with graph.as_default():
            saver = tf.compat.v1.train.Saver()
        with tf.compat.v1.Session(graph=graph) as session:
            saver.restore(session, os.path.join(folder, "model.ckpt-{}".format(newest)))
            weights = session.run(graph.get_collection(tf.compat.v1.GraphKeys.TRAINABLE_VARIABLES))
            self.assertTrue(all(np.isfinite(w).all() for w in weights))
            images, labels = trainer.Batches(loader.load_mnist().train, 100, (784,))(newest)
            self.assertTrue(np.isfinite(session.run(nodes.cost, {nodes.input: images, nodes.labels: labels})))

    def test_check_numerics_names_the_node(self):
        result = _run(["--net=fc3", "--steps=50", "--learning_rate=1e38", "--check_numerics",
                       "--logdir=" + self.create_tempdir().full_path])
        self.assertEqual(result.returncode, 1, result.stderr)
        self.assertRegex(result.stderr, r"error: layer\d went (NaN|Inf) at step \d+, in layer\d/\S+: "
                                        r"training diverged; try a smaller --learning_rate")
        self.assertNotIn("Traceback", result.stderr)


def _start(args):
    """run.py started in the background, its output read line by line."""
    argv, env = testing.python_command("run.py", args)
    return subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)


def _signal_after(child, prefix, signum):
    """Sends signum once the child has printed a line starting with prefix; returns (stdout, stderr)."""
    for line in child.stdout:
        if line.startswith(prefix):
            child.send_signal(signum)
            break
    out, err = child.communicate(timeout=600)
    return out, err


def _one_error_line(test, stderr):
    """The one line a signal ends a run with (beside progress lines and `SIGINT received: ...`)."""
    test.assertNotIn("Traceback", stderr)
    lines = [l for l in stderr.splitlines() if l.startswith(("SIGINT:", "SIGTERM:", "error"))]
    test.assertLen(lines, 1, stderr)
    return lines[0]


class InterruptTest(tf.test.TestCase):

    ARGS = ["--net=fc3", "--steps=400", "--print_every=1", "--save_every=100000", "--seed=3"]

    def test_interrupted_and_resumed_run_ends_with_the_same_figures(self):
        whole = _run(self.ARGS + ["--logdir=" + self.create_tempdir().full_path])
        self.assertEqual(whole.returncode, 0, whole.stderr)

        logdir = self.create_tempdir().full_path
        out, err = _signal_after(_start(self.ARGS + ["--logdir=" + logdir]), "Cost:", signal.SIGINT)
        said = _one_error_line(self, err)
        self.assertNotIn("Test Cost", out)
        # Wherever the signal landed, the run says so, and the command it gives goes on from there.
        stopped = re.match(r"SIGINT: stopped at step (\d+) of 400; checkpoint saved in (\S+); to resume: "
                           r"bazel run //:run -- (.*)$", said)
        if stopped is None:
            stopped = re.match(r"SIGINT: stopped during the test pass; training is done and saved \(step (400) in "
                               r"(\S+)\); to run the test: bazel run //:run -- (.*)$", said)
        self.assertIsNotNone(stopped, said)
        step, folder, command = int(stopped.group(1)), stopped.group(2), shlex.split(stopped.group(3))
        self.assertTrue(os.path.exists(os.path.join(folder, "model.ckpt-{}.index".format(step))))
        self.assertEqual(command, self.ARGS + ["--logdir=" + logdir])

        resumed = _run(command)
        self.assertEqual(resumed.returncode, 0, resumed.stderr)
        self.assertIn("Resuming at step {} from {}".format(step, folder), resumed.stdout)
        self.assertEqual(_figures(resumed.stdout), _figures(whole.stdout))
        # The resumed run printed only the steps it trained, and the same lines for them.
        trained = resumed.stdout.split("Testing on")[0].split("\n", 2)[2]
        self.assertIn(trained, whole.stdout)
        self.assertEqual(trained.count("Cost:"), 400 - step)

    def test_sigterm_during_training_saves_where_it_stopped(self):
        logdir = self.create_tempdir().full_path
        out, err = _signal_after(_start(["--net=fc3", "--steps=100000", "--print_every=1", "--save_every=100000",
                                         "--logdir=" + logdir]), "Cost:", signal.SIGTERM)
        said = _one_error_line(self, err)
        stopped = re.match(r"SIGTERM: stopped at step (\d+) of 100000; checkpoint saved in ", said)
        self.assertIsNotNone(stopped, said)
        self.assertEqual(sorted(n for n in os.listdir(os.path.join(logdir, "checkpoints")) if n.endswith(".index")),
                         ["model.ckpt-{}.index".format(stopped.group(1))])

    def test_sigterm_during_the_test_pass_then_the_rerun_goes_straight_to_the_test(self):
        # The run signals itself as its test pass begins (interrupts.reached("testing")): sending the signal on
        # reading "Testing on" raced the pass, which a quiet machine finished first.
        data = testing.random_mnist(self.create_tempdir().full_path, test=600)
        args = ["--net=conv4", "--steps=1", "--batch_size=10", "--test_batch_size=10", "--data_dir=" + data]
        whole = _run(args + ["--logdir=" + self.create_tempdir().full_path])
        self.assertEqual(whole.returncode, 0, whole.stderr)

        logdir = self.create_tempdir().full_path
        child = testing.run_signalled_at("testing", [signal.SIGTERM], "run.py", args + ["--logdir=" + logdir])
        out, err = child.stdout, child.stderr
        self.assertIn("test hook: signals at testing", err)
        self.assertEqual(child.returncode, 128 + signal.SIGTERM, err)
        said = _one_error_line(self, err)
        self.assertRegex(said, r"^SIGTERM: stopped during the test pass; training is done and saved \(step 1 in "
                               r"\S+\); to run the test: bazel run //:run -- .*--logdir=")
        self.assertNotIn("Test Cost", out)
        self.assertTrue(os.path.exists(os.path.join(logdir, "checkpoints", "model.ckpt-1.index")))

        rerun = _run(args + ["--logdir=" + logdir])
        self.assertEqual(rerun.returncode, 0, rerun.stderr)
        self.assertIn("Resuming at step 1 from {}: training is done, testing".format(
            os.path.join(logdir, "checkpoints")), rerun.stdout)
        self.assertNotIn("Cost:", rerun.stdout.split("Testing on")[0])
        self.assertEqual(_figures(rerun.stdout), _figures(whole.stdout))

    def test_two_signals_while_a_checkpoint_is_written_wait_for_it_then_stop_at_once(self):
        # The run sends itself two SIGINTs inside the critical block of its first checkpoint (step 2): the first
        # asks training to stop after the step, the second would stop at once, and both wait for the checkpoint.
        logdir = self.create_tempdir().full_path
        result = testing.run_signalled_at("saving", [signal.SIGINT, signal.SIGINT], "run.py", [
            "--net=linear", "--steps=100000", "--print_every=1000", "--save_every=2", "--logdir=" + logdir])
        self.assertEqual(result.returncode, 130, result.stderr)
        hooked = result.stderr.index("test hook: signals at saving")
        self.assertGreater(result.stderr.index("SIGINT received: stopping after this step"), hooked, result.stderr)
        said = _one_error_line(self, result.stderr)
        folder = os.path.join(logdir, "checkpoints")
        self.assertEqual(said, "SIGINT: stopped at once during training; the checkpoint of step 2 in {} is intact; "
                               "to resume: bazel run //:run -- --net=linear --steps=100000 --print_every=1000 "
                               "--save_every=2 --logdir={}".format(folder, logdir))
        self.assertEqual(sorted(n for n in os.listdir(folder) if n.startswith("model.ckpt")),
                         ["model.ckpt-2.data-00000-of-00001", "model.ckpt-2.index", "model.ckpt-2.meta"])
        with open(os.path.join(folder, "checkpoint")) as f:
            self.assertIn('model_checkpoint_path: "model.ckpt-2"', f.read())


# Runs run.py as __main__ with pictures.results.write wrapped: a SIGINT lands in the writing phase, after the activations
# are written ("before_pictures": before the pictures are) or after the pictures too ("after_pictures"), at the same
# point of every run. Only this wrapper does it: the program has no flag or variable for it.
_SIGINT_WHILE_WRITING = """
import runpy, signal, sys
when, script = sys.argv[1], sys.argv[2]
sys.argv = sys.argv[2:]
from pictures import results
real_write = results.write
def write(*args, **kwargs):
    if when == "before_pictures":
        signal.raise_signal(signal.SIGINT)
    written = real_write(*args, **kwargs)
    signal.raise_signal(signal.SIGINT)
    return written
results.write = write
runpy.run_path(script, run_name="__main__")
"""


def _events(logdir):
    """{tag: [simple values]} of every scalar in logdir's events files."""
    found = {}
    for name in sorted(os.listdir(logdir)):
        if name.startswith("events.out.tfevents."):
            for event in tf.compat.v1.train.summary_iterator(os.path.join(logdir, name)):
                for value in event.summary.value:
                    if value.HasField("simple_value"):
                        found.setdefault(value.tag, []).append(value.simple_value)
    return found


class WritingTest(tf.test.TestCase):
    """Ctrl-C while the end-of-run files are written: what was written stays whole, and the command said goes on."""

    def test_sigint_while_the_end_of_run_files_are_written_keeps_what_was_written(self):
        from pictures import histograms
        from pictures import results
        data = testing.small_mnist(self.create_tempdir().full_path)
        args = ["--net=linear", "--steps=3", "--print_every=3", "--data_dir=" + data]
        for when, pictures in (("before_pictures", False), ("after_pictures", True)):
            logdir = self.create_tempdir().full_path
            argv, env = testing.python_command("run.py", args + ["--logdir=" + logdir])
            result = subprocess.run([argv[0], "-c", _SIGINT_WHILE_WRITING, when] + argv[1:], capture_output=True,
                                    text=True, env=env, timeout=300)
            self.assertEqual(result.returncode, 130, result.stderr)
            folder = os.path.join(logdir, "checkpoints")
            self.assertEqual(_one_error_line(self, result.stderr),
                             "SIGINT: stopped while writing the end-of-run files; training (saved: step 3 in {}) and "
                             "the test (figures above) are done; to write them again: bazel run //:run -- {} "
                             "--logdir={}".format(folder, " ".join(args), logdir))
            figures = _figures(result.stdout)
            self.assertLen(figures, 2, result.stdout)
            self.assertNotIn("TensorBoard logs:", result.stdout)  # the lines after the pictures were not reached
            # Nothing written is lost: the checkpoint, the test's scalars in the events file (flushed on the way
            # out), the activations; and the pictures whole if they were written, else none of them.
            with open(os.path.join(folder, "checkpoint")) as f:
                self.assertIn('model_checkpoint_path: "model.ckpt-3"', f.read())
            self.assertTrue(os.path.exists(os.path.join(folder, "model.ckpt-3.index")))
            scalars = _events(logdir)
            self.assertAllClose(scalars["test/cost"], [float(figures[0].split(": ")[1])], rtol=1e-5)
            self.assertLen(scalars["train/cost"], 1)
            self.assertEqual(sorted(histograms.load(logdir).histograms), ["logits", "predictions"])  # the linear net's
            written = sorted(n for n in os.listdir(logdir) if not os.path.isdir(os.path.join(logdir, n)))
            self.assertEqual([n for n in written if ".tmp" in n], [], written)
            expected_pngs = sorted(results.png_name(k) for k in ("mistakes", "confusion", "weights"))
            self.assertEqual(sorted(n for n in written if n.endswith(".png") and n != histograms.ACTIVATIONS_PNG),
                             expected_pngs if pictures else [], (when, written))
            self.assertEqual(results.PICTURES_FILE in written, pictures, (when, written))
            if pictures:
                self.assertEqual(results.load(logdir).meta["step"], 3)

        # The command the line gives writes them: the run resumes at its last step, tests, and writes everything.
        rerun = _run(args + ["--logdir=" + logdir])
        self.assertEqual(rerun.returncode, 0, rerun.stderr)
        self.assertIn("Resuming at step 3 from {}: training is done, testing".format(folder), rerun.stdout)
        self.assertEqual(_figures(rerun.stdout), figures)
        self.assertIn("TensorBoard logs: " + logdir, rerun.stdout)


class SignalsTest(tf.test.TestCase):
    """interrupts.Signals in this process: where Python code would lose an Interrupted, or print a traceback."""

    def setUp(self):
        super().setUp()
        handlers = {sig: signal.getsignal(sig) for sig in interrupts.SIGNALS}
        self.addCleanup(lambda: [signal.signal(sig, h) for sig, h in handlers.items()])
        self.addCleanup(setattr, sys, "unraisablehook", sys.unraisablehook)
        self.ignored = []
        sys.unraisablehook = self.ignored.append  # what Python would print as "Exception ignored in ..."
        self.signals = interrupts.Signals()

    def test_library_code_catching_exception_does_not_take_the_interrupt(self):
        with self.assertRaises(interrupts.Interrupted):
            try:  # as inspect.getfullargspec, under TensorFlow's graph building, does
                signal.raise_signal(signal.SIGTERM)
            except Exception:
                self.fail("the Interrupted was taken for a library error")

    def test_an_interrupt_raised_inside_a_weakref_callback_is_delivered_again(self):
        class Thing:
            pass
        thing = Thing()
        ref = weakref.ref(thing, lambda r: signal.raise_signal(signal.SIGINT))
        with self.assertRaises(interrupts.Interrupted) as raised:
            del thing  # the callback runs here; Python swallows what it raises
            self.signals.redelivery.join()
            self.fail("went on")
        self.assertEqual(raised.exception.signum, signal.SIGINT)
        self.assertEqual(self.ignored, [])
        del ref

    def test_in_training_the_first_signal_asks_to_stop_after_the_step_and_the_second_stops_at_once(self):
        self.assertFalse(self.signals())  # should_stop, before any signal
        self.signals.check()  # nothing to raise
        said = io.StringIO()
        with contextlib.redirect_stderr(said), self.signals.training():
            signal.raise_signal(signal.SIGTERM)  # recorded, not raised: the step goes on
            self.assertTrue(self.signals())
            self.assertEqual(said.getvalue(), "\nSIGTERM received: stopping after this step (Ctrl-C again to stop at "
                                              "once)\n")
            with self.assertRaises(interrupts.Interrupted) as raised:
                signal.raise_signal(signal.SIGINT)
        # The second signal stops at once, named as the first one was.
        self.assertEqual((raised.exception.signum, raised.exception.at_once, raised.exception.exit_code),
                         (signal.SIGTERM, True, 143))
        with self.assertRaises(interrupts.Interrupted) as raised:
            self.signals.check()  # at the step boundary: the first signal's stop
        self.assertEqual((raised.exception.signum, raised.exception.at_once), (signal.SIGTERM, False))

    def test_outside_training_a_signal_stops_at_once(self):
        with self.assertRaises(interrupts.Interrupted) as raised:
            signal.raise_signal(signal.SIGINT)
        self.assertEqual((raised.exception.signum, raised.exception.at_once, raised.exception.exit_code),
                         (signal.SIGINT, True, 130))
        self.assertEqual(str(raised.exception), "SIGINT")

    def test_a_signal_inside_critical_blocks_waits_for_the_outermost_to_end(self):
        done = []
        with self.assertRaises(interrupts.Interrupted) as raised:
            with self.signals.critical():
                with self.signals.critical():
                    signal.raise_signal(signal.SIGTERM)
                    done.append("inner")
                done.append("outer")  # the inner block's end does not raise: the outer one is still writing
            done.append("after")
        self.assertEqual(done, ["inner", "outer"])
        self.assertEqual((raised.exception.signum, raised.exception.at_once), (signal.SIGTERM, True))
        # Once every block has ended, a signal stops at once again, and a block without one ends quietly.
        with self.signals.critical():
            done.append("quiet")
        with self.assertRaises(interrupts.Interrupted):
            signal.raise_signal(signal.SIGINT)
        self.assertEqual(done, ["inner", "outer", "quiet"])

    def test_the_test_hook_is_called_only_when_a_test_sets_it(self):
        interrupts.reached("saving")  # no hook: nothing happens
        points = []
        self.addCleanup(setattr, interrupts, "test_hook", None)
        interrupts.test_hook = points.append
        interrupts.reached("saving")
        self.assertEqual(points, ["saving"])

    def test_a_signal_while_stopping_or_after_finish_changes_nothing(self):
        # As run.py's main ends: a SIGINT stops the run; another one while its line is printed, and more after
        # finish() (one during Python's shutdown, from an atexit hook), change neither its output nor its exit code.
        script = ("import atexit, signal, sys\n"
                  "from session import interrupts\n"
                  "signals = interrupts.Signals()\n"
                  "try:\n"
                  "    signal.raise_signal(signal.SIGINT)\n"
                  "    print('went on')\n"
                  "except interrupts.Interrupted as e:\n"
                  "    signal.raise_signal(signal.SIGINT)\n"
                  "    print('SIGINT: stopped', flush=True)\n"
                  "    signals.finish()\n"
                  "    code = e.exit_code\n"
                  "signal.raise_signal(signal.SIGTERM)\n"
                  "signal.raise_signal(signal.SIGINT)\n"
                  "atexit.register(signal.raise_signal, signal.SIGTERM)\n"
                  "print('exit', code)\n"
                  "sys.exit(code)\n")
        argv, env = testing.python_command("run.py", [])
        result = subprocess.run([argv[0], "-c", script], capture_output=True, text=True, env=env, timeout=60)
        self.assertEqual((result.returncode, result.stdout, result.stderr), (130, "SIGINT: stopped\nexit 130\n", ""))

    def test_a_resumed_run_stopped_before_restoring_names_the_checkpoint_it_has(self):
        import run
        folder = self.create_tempdir().full_path
        state = run.RunState(100, folder, folder)
        said = state.stopped(interrupts.Interrupted(signal.SIGTERM, at_once=True))
        self.assertIn("stopped before training began; no checkpoint was written yet", said)
        with open(os.path.join(folder, "checkpoint"), "w") as f:
            f.write('model_checkpoint_path: "model.ckpt-40"\nall_model_checkpoint_paths: "model.ckpt-40"\n')
        said = state.stopped(interrupts.Interrupted(signal.SIGTERM, at_once=True))
        # The index alone is not a checkpoint: its files are missing, so nothing is said to be intact.
        self.assertIn("stopped before training began; no checkpoint was written yet", said)
        for name in ("model.ckpt-40.index", "model.ckpt-40.data-00000-of-00001"):
            open(os.path.join(folder, name), "w").close()
        said = state.stopped(interrupts.Interrupted(signal.SIGTERM, at_once=True))
        self.assertIn("stopped before training began; the checkpoint of step 40 in {} is intact".format(folder), said)


class StartingTest(tf.test.TestCase):

    def test_signals_inside_a_weakref_callback_while_starting_stop_the_program_with_one_line(self):
        # SystemExit raised there was printed as ignored, and the program went on starting.
        script = ("import signal, weakref\n"
                  "from session import interrupts\n"
                  "interrupts.exit_quietly(again='bazel run //:run -- --net=linear')\n"
                  "class Thing: pass\n"
                  "thing = Thing()\n"
                  "ref = weakref.ref(thing, lambda r: [signal.raise_signal(signal.SIGINT) for _ in range(2)])\n"
                  "del thing\n"
                  "print('went on')\n")
        argv, env = testing.python_command("run.py", [])
        result = subprocess.run([argv[0], "-c", script], capture_output=True, text=True, env=env, timeout=60)
        self.assertEqual(result.returncode, 130, result.stderr)
        self.assertEqual(result.stdout, "")
        self.assertEqual(result.stderr.strip().splitlines(), ["SIGINT received while starting: stopped; nothing was "
                                                              "written; to start again: bazel run //:run -- --net=linear"])


if __name__ == "__main__":
    tf.test.main()
