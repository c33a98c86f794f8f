"""//:reproduce's table: the post's figure beside ours, the band check, the README block it rewrites; and
run_row, whose figures go into that table, run for real on a tiny row."""

import contextlib
import io
import json
import os
import tempfile
import time
from unittest import mock

import numpy as np
import tensorflow as tf

from absl import flags
from absl.testing import absltest
from absl.testing import flagsaver

from data import loader
from graphs import posts
from programs import reproduce
from session import restore
from tests import testing


class TableTest(absltest.TestCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        flags.FLAGS(["reproduce.py"])

    def test_rows_not_run_show_their_command(self):
        text = reproduce.table({})
        self.assertLen(text.strip().splitlines(), 2 + len(reproduce.ROWS))
        self.assertIn("| conv4 / small | LTFN 6 | 2.30259 | not run yet | 5.02 % | not run yet |", text)
        self.assertIn("`bazel run //:run -- --net=conv4 --init=small --seed=0`", text)

    def test_finished_rows_are_checked_against_their_band(self):
        results = {
            "conv4/small": {"command": "cmd-small", "test_cost": 2.3026, "test_accuracy": 11.35, "seconds": 1800},
            "conv4/variance_scaling": {"command": "cmd-vs", "test_cost": 0.2, "test_accuracy": 95.0, "seconds": 60},
        }
        lines = {line.split("|")[1].strip(): line for line in reproduce.table(results).splitlines()[2:]}
        self.assertIn("| 2.3026 | 5.02 % | 11.35 % | yes | 30 min | `cmd-small` |", lines["conv4 / small"])
        self.assertIn("| 0.2 | 97.29 % | 95.00 % | **no** | 60 s | `cmd-vs` |", lines["conv4 / variance_scaling"])

    def test_bfloat16_rows_are_named_and_run_with_the_flag(self):
        self.assertIn("conv4/variance_scaling/bfloat16", reproduce.ROWS)
        self.assertEqual(reproduce.parse_row("conv4/small"), ("conv4", "small", "float32"))
        self.assertEqual(reproduce.parse_row("fc3/random_normal/bfloat16"), ("fc3", "random_normal", "bfloat16"))
        results = {"conv4/variance_scaling/bfloat16": {"command": "cmd-bf16", "test_cost": 0.11,
                                                        "test_accuracy": 96.7, "seconds": 700}}
        lines = {line.split("|")[1].strip(): line for line in reproduce.table(results).splitlines()[2:]}
        # Held to the float32 row's band, beside the same post's figures.
        self.assertIn("| LTFN 6 | 0.0945288 | 0.11 | 97.29 % | 96.70 % | yes | 12 min | `cmd-bf16` |",
                      lines["conv4 / variance_scaling / bfloat16"])
        self.assertIn("`bazel run //:run -- --net=fc3 --init=random_normal --seed=0 --precision=bfloat16`",
                      lines["fc3 / random_normal / bfloat16"])
        self.assertIn("| not run yet |", lines["conv4 / variance_scaling"])

    def test_bfloat16_rows_need_a_cpu_with_bfloat16(self):
        rows = ["linear/random_normal", "conv4/variance_scaling/bfloat16"]
        kept, refused = reproduce.runnable(rows, lambda: frozenset({"avx2", "avx512f"}))
        self.assertEqual(kept, ["linear/random_normal"])
        self.assertEqual(list(refused), ["conv4/variance_scaling/bfloat16"])
        self.assertIn("avx512_bf16", refused["conv4/variance_scaling/bfloat16"])
        self.assertEqual(reproduce.runnable(rows, lambda: frozenset({"amx_bf16"})), (rows, {}))

    def test_each_row_records_the_machine_it_ran_on(self):
        self.assertRegex(reproduce.machine(lambda: "Simulated CPU"),
                         r"^Simulated CPU, {} cores, load average \d+\.\d\d at the start$".format(os.cpu_count()))
        workspace = self.create_tempdir().full_path
        ran = []
        with mock.patch.dict(os.environ, {"BUILD_WORKSPACE_DIRECTORY": workspace}), \
                mock.patch.object(reproduce, "run_row", lambda *args: ran.append(args) or (1.9, 61.0, 10.0)), \
                mock.patch.object(reproduce, "machine", lambda: "Simulated CPU, 2 cores"), \
                flagsaver.flagsaver(rows=["linear/random_normal"], update_readme=False):
            self.assertEqual(reproduce.main(["reproduce.py"]), 0)
        self.assertLen(ran, 1)
        with open(os.path.join(workspace, "results", "reproduce.json")) as f:
            row = json.load(f)["linear/random_normal"]
        self.assertEqual((row["test_cost"], row["seconds"], row["machine"]), (1.9, 10.0, "Simulated CPU, 2 cores"))

    def test_bands(self):
        self.assertTrue(posts.in_band("conv4", "small", 2.3030, 10.0))
        self.assertFalse(posts.in_band("conv4", "small", 2.35, 10.0))
        self.assertFalse(posts.in_band("conv4", "random_normal", 500.0, 80.0))
        self.assertTrue(posts.in_band("conv4", "random_normal", 5000.0, 80.0))

    def test_readme_block_is_replaced_and_the_rest_kept(self):
        folder = self.create_tempdir().full_path
        with open(os.path.join(folder, "README.md"), "w") as f:
            f.write("intro\n{}\nold table\n{}\nafter\n".format(reproduce.BEGIN, reproduce.END))
        os.environ["BUILD_WORKSPACE_DIRECTORY"] = folder
        try:
            reproduce.update_readme("| new |\n")
        finally:
            del os.environ["BUILD_WORKSPACE_DIRECTORY"]
        with open(os.path.join(folder, "README.md")) as f:
            self.assertEqual(f.read(), "intro\n{}\n| new |\n{}\nafter\n".format(reproduce.BEGIN, reproduce.END))


class RunRowTest(absltest.TestCase):
    """run_row as //:reproduce calls it, on a tiny row: the linear net, 5 steps, 100 training images."""

    PREFIX = "[1/1 linear/random_normal]"

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        tf.compat.v1.disable_eager_execution()  # restoring a meta graph is TF1, as //:predict does it
        cls.data_dir = testing.small_mnist(tempfile.mkdtemp(dir=os.environ.get("TEST_TMPDIR")))

    def _run_row(self, logdir, *more_flags):
        """run_row's result (or the exception it raised) and what it echoed."""
        echoed = io.StringIO()
        with contextlib.redirect_stdout(echoed):
            try:
                got = reproduce.run_row("linear", "random_normal", 3, logdir, self.PREFIX,
                                        more_flags=["--data_dir=" + self.data_dir] + list(more_flags))
            except RuntimeError as e:
                got = e
        return got, echoed.getvalue().splitlines()

    def test_a_tiny_row_returns_the_test_figures_its_run_printed_and_its_checkpoint_gives(self):
        logdir = self.create_tempdir().full_path
        begin = time.time()
        (cost, accuracy, seconds), echoed = self._run_row(logdir, "--steps=5", "--print_every=5")
        took = time.time() - begin
        # The run's own lines, echoed under the row's prefix without absl's log prefix.
        printed = {line.split(": ")[0]: float(line.split(": ")[1].rstrip(" %")) for line in echoed
                   if line.startswith(self.PREFIX + " Test ")}
        self.assertEqual(printed, {self.PREFIX + " Test Cost": cost, self.PREFIX + " Test accuracy": accuracy})
        self.assertTrue(echoed[0].startswith(self.PREFIX + " Training linear (random_normal) for 5 steps"), echoed)
        # The same figures another way: the checkpoint the row saved, restored from its meta graph, scored in numpy.
        checkpoint = restore.latest_checkpoint(os.path.join(logdir, "checkpoints"))
        self.assertEqual(restore.step_of(checkpoint), 5)
        test = loader.load_test(self.data_dir)
        restored = restore.Restored(checkpoint)
        try:
            logits = restored.logits_of(test.images).astype(np.float64)
        finally:
            restored.close()
        shifted = logits - logits.max(axis=1, keepdims=True)
        log_softmax = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
        expected_cost = float(-(test.labels * log_softmax).sum(axis=1).mean())
        expected_accuracy = 100.0 * float((logits.argmax(axis=1) == test.labels.argmax(axis=1)).mean())
        self.assertAlmostEqual(cost, expected_cost, delta=1e-5 * abs(expected_cost))  # printed to 6 digits
        self.assertAlmostEqual(accuracy, expected_accuracy, delta=0.005)  # printed to 2 decimals
        self.assertGreater(seconds, 0)
        self.assertLessEqual(seconds, took)

    def test_a_row_whose_run_fails_raises_and_shows_the_runs_error_line(self):
        got, echoed = self._run_row(self.create_tempdir().full_path, "--data_dir=" + self.data_dir + "/nowhere")
        self.assertIsInstance(got, RuntimeError)
        self.assertRegex(str(got), r"run\.py --net=linear .*--data_dir=\S*/nowhere failed \(exit 1\)$")
        self.assertEqual(echoed, ["{} error: --data_dir {}/nowhere is not a folder; point it at a folder holding "
                                  "MNIST's four IDX files".format(self.PREFIX, self.data_dir)])


if __name__ == "__main__":
    absltest.main()
