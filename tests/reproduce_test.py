"""//:reproduce's table: the post's figure beside ours, the band check, the README block it rewrites."""

import os

from absl import flags
from absl.testing import absltest

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
