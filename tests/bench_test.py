"""//bench:throughput on tiny settings: its functions run, its lines have their formats, its numbers
are positive. No timing is asserted: the figures depend on the machine and its load."""

import os
import re
import subprocess
import sys

import tensorflow as tf

from bench import throughput
from data import loader

tf.compat.v1.disable_eager_execution()

NUMBER = r"[0-9]+(?:\.[0-9]+)?"
LINES = [
    r"linear train images/s: (?P<train>{n})".format(n=NUMBER),
    r"linear keras train images/s: (?P<keras>{n})".format(n=NUMBER),
    r"linear test images/s: (?P<test>{n})".format(n=NUMBER),
    r"linear train GFLOP/s: (?P<gflops>{n}) \((?P<percent>{n})% of measured peak (?P<peak>{n})\)".format(n=NUMBER),
]


class FunctionsTest(tf.test.TestCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.data = loader.load_mnist()

    def test_graph_path_two_repeats_of_three_steps(self):
        seconds = throughput.measure_graph("linear", self.data, repeats=2, steps=3, warmup=1, test_images=1500)
        self.assertLen(seconds["train"], 2)
        self.assertLen(seconds["test"], 2)
        self.assertTrue(all(s > 0 for s in seconds["train"] + seconds["test"]), seconds)

    def test_keras_in_a_subprocess(self):
        seconds = throughput.measure_keras_subprocess("linear", repeats=2, steps=3, warmup=1)
        self.assertLen(seconds, 2)
        self.assertTrue(all(s > 0 for s in seconds), seconds)

    def test_flops_count_the_gradient_convolutions(self):
        # conv4, batch 100: forward convs + matmul are 14.55 GFLOP; with both backward passes ~3x.
        flops, method = throughput.count_train_flops("conv4")
        self.assertIn("profiler", method)
        self.assertBetween(flops, 43.6e9, 44.0e9)
        flops, _ = throughput.count_train_flops("linear")
        self.assertBetween(flops, 3 * 2 * 100 * 784 * 10, 3.1 * 2 * 100 * 784 * 10)

    def test_peak_is_positive(self):
        self.assertGreater(throughput.measure_peak(repeats=1, size=256, per_repeat=1), 0)

    def test_report_line_formats(self):
        lines = throughput.report_lines("linear", [0.5, 0.25], [1.0, 2.0], [0.1, 0.2], steps=3,
                                        test_images=1000, flops_per_step=4.7e6, peak=100.0)
        self.assertLen(lines, 4)
        for pattern, line in zip(LINES, lines):
            self.assertRegex(line, "^" + pattern + "$")
        self.assertEqual(lines[0], "linear train images/s: 900.0")  # median of 600 and 1200
        lines = throughput.report_lines("linear", [0.5], None, [0.1], 3, 1000, 4.7e6, 100.0)
        self.assertNotIn("keras", " ".join(lines))


class CommandTest(tf.test.TestCase):

    def test_whole_command_prints_every_line(self):
        result = subprocess.run(
            [sys.executable, throughput.__file__, "--net=linear", "--repeats=2", "--steps=3", "--warmup=1",
             "--test_images=1000"], capture_output=True, text=True, timeout=240,
            env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2",
                     PYTHONPATH=os.path.dirname(os.path.dirname(os.path.abspath(throughput.__file__)))))
        self.assertEqual(result.returncode, 0, result.stderr[-3000:])
        out = result.stdout
        self.assertRegex(out, r"(?m)^load average at start: {n} {n} {n}".format(n=NUMBER))
        self.assertRegex(out, r"(?m)^load average at end: {n} {n} {n}".format(n=NUMBER))
        self.assertRegex(out, r"(?m)^linear train FLOPs per step: .*profiler")
        for pattern in LINES:
            match = re.search("(?m)^" + pattern + "$", out)
            self.assertIsNotNone(match, "no line /{}/ in:\n{}".format(pattern, out))
            for value in match.groupdict().values():
                self.assertGreater(float(value), 0, match.group(0))


if __name__ == "__main__":
    tf.test.main()
