"""What a user can get wrong, and interruptions: each ends in one clear line, and nothing is lost."""

import gzip
import os
import signal
import subprocess

import numpy as np
import tensorflow as tf

from tests import testing


def _run(args):
    return testing.run_program("run.py", args)


def _figures(stdout):
    return [line for line in stdout.splitlines() if line.startswith("Test ")]


class BadDataTest(tf.test.TestCase):

    def _fails_cleanly(self, data_dir, pattern):
        result = _run(["--net=linear", "--steps=1", "--data_dir=" + data_dir,
                       "--logdir=" + self.create_tempdir().full_path])
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

    def test_missing_file_names_the_path(self):
        folder = testing.random_mnist(self.create_tempdir().full_path)
        os.remove(os.path.join(folder, "train-labels-idx1-ubyte.gz"))
        self._fails_cleanly(folder, r"looked for .*train-labels-idx1-ubyte")


class BadFlagsTest(tf.test.TestCase):

    def test_each_bad_flag_is_refused_before_anything_runs(self):
        # Each validator is checked in-process (tests/run_test.py); here, what a user sees, for a few.
        for flag in ("--steps=-1", "--learning_rate=-0.1", "--save_every=0", "--net=vgg"):
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

    def test_check_numerics_names_the_node(self):
        result = _run(["--net=fc3", "--steps=50", "--learning_rate=1e38", "--check_numerics",
                       "--logdir=" + self.create_tempdir().full_path])
        self.assertEqual(result.returncode, 1, result.stderr)
        self.assertRegex(result.stderr, r"error: layer\d went (NaN|Inf) at step \d+, in layer\d/\S+: "
                                        r"training diverged; try a smaller --learning_rate")
        self.assertNotIn("Traceback", result.stderr)


class CheckpointTest(tf.test.TestCase):

    ARGS = ["--net=fc3", "--steps=400", "--print_every=1", "--save_every=100000", "--seed=3"]

    def test_interrupted_and_resumed_run_ends_with_the_same_figures(self):
        whole = _run(self.ARGS + ["--logdir=" + self.create_tempdir().full_path])
        self.assertEqual(whole.returncode, 0, whole.stderr)

        logdir = self.create_tempdir().full_path
        argv, env = testing.python_command("run.py", self.ARGS + ["--logdir=" + logdir])
        child = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
        printed = 0
        for line in child.stdout:
            printed += line.startswith("Cost:")
            if printed == 50:
                child.send_signal(signal.SIGINT)
                break
        out, err = child.communicate(timeout=120)
        self.assertEqual(child.returncode, 130, err)
        self.assertRegex(err, r"stopped at step \d+ of 400; checkpoint saved in .*; to resume: bazel run //:run -- --net=fc3 "
                              r".* --logdir=")
        self.assertNotIn("Traceback", err)
        self.assertNotIn("Test Cost", out)

        resumed = _run(self.ARGS + ["--logdir=" + logdir])
        self.assertEqual(resumed.returncode, 0, resumed.stderr)
        self.assertRegex(resumed.stdout, r"Resuming at step \d+")
        self.assertEqual(_figures(resumed.stdout), _figures(whole.stdout))
        # The resumed run printed only the steps it trained, and the same lines for them.
        tail = resumed.stdout.split("\n", 2)[2]
        self.assertIn(tail.split("Test Cost")[0], whole.stdout)

    def test_checkpoint_of_another_configuration_is_refused(self):
        logdir = self.create_tempdir().full_path
        self.assertEqual(_run(["--net=linear", "--steps=2", "--logdir=" + logdir]).returncode, 0)
        result = _run(["--net=fc3", "--steps=2", "--logdir=" + logdir])
        self.assertEqual(result.returncode, 1)
        self.assertRegex(result.stderr, r"error: the checkpoints in .* were written with --init=random_normal|"
                                        r"error: the checkpoints in .* were written with .*--net=linear")
        self.assertNotIn("Traceback", result.stderr)

    def test_damaged_checkpoint_is_reported_not_trained_over(self):
        logdir = self.create_tempdir().full_path
        self.assertEqual(_run(["--net=linear", "--steps=2", "--logdir=" + logdir]).returncode, 0)
        folder = os.path.join(logdir, "checkpoints")
        for name in os.listdir(folder):
            if name.startswith("model.ckpt") and ".data-" in name:
                with open(os.path.join(folder, name), "r+b") as f:
                    f.truncate(10)
        result = _run(["--net=linear", "--steps=4", "--logdir=" + logdir])
        self.assertEqual(result.returncode, 1)
        self.assertRegex(result.stderr, r"error: checkpoint .*model.ckpt-2 is damaged")
        self.assertNotIn("Traceback", result.stderr)
        self.assertNotIn("Cost:", result.stdout)


if __name__ == "__main__":
    tf.test.main()
