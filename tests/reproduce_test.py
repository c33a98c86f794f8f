"""//:reproduce's table: the post's figure beside ours, the band check, the README block it rewrites."""

import json
import os
from unittest import mock

from absl import flags
from absl.testing import absltest
from absl.testing import flagsaver

from graphs import posts
from programs import reproduce


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


if __name__ == "__main__":
    absltest.main()
