"""--precision (issue 15): the session config, the CPU check, the unchanged graph, run.py end to end,
and, on a CPU with native bfloat16, the bfloat16 arithmetic itself.

A CPU is simulated with an injected flag reader (in process) or a fake /proc/cpuinfo handed to run.py's
interpreter by testing.run_on_cpu, so those tests run on any CPU; no environment variable reaches the check.
ArithmeticTest reads the real /proc/cpuinfo: a simulated CPU cannot make TensorFlow compute in bfloat16.
"""

import json
import os
import subprocess
import unittest
import unittest.mock

import numpy as np
import tensorflow as tf
from tensorflow.core.protobuf import rewriter_config_pb2

from data import loader
from graphs import model
from session import precision
from session import speedup
from session import trainer
from tests import testing

tf.compat.v1.disable_eager_execution()

WITH_BF16 = lambda: frozenset({"avx2", "avx512f", "avx512_bf16"})
WITH_AMX = lambda: frozenset({"avx2", "amx_tile", "amx_bf16"})
WITHOUT_BF16 = lambda: frozenset({"avx2", "fma", "avx512f"})  # AVX-512 alone only emulates bfloat16


def fake_cpuinfo(folder, flags):
    path = os.path.join(folder, "cpuinfo")
    with open(path, "w") as f:
        f.write("processor\t: 0\nmodel name\t: Simulated\nflags\t\t: {}\n\nprocessor\t: 1\n".format(" ".join(flags)))
    return path


class ConfigTest(tf.test.TestCase):

    def rewrite(self, config):
        return config.graph_options.rewrite_options.auto_mixed_precision_onednn_bfloat16

    def test_the_rewrite_is_on_for_bfloat16_and_off_for_float32(self):
        self.assertEqual(self.rewrite(precision.session_config("bfloat16", WITH_BF16)),
                         rewriter_config_pb2.RewriterConfig.ON)
        self.assertEqual(self.rewrite(precision.session_config("bfloat16", WITH_AMX)),
                         rewriter_config_pb2.RewriterConfig.ON)
        self.assertEqual(self.rewrite(precision.session_config("float32", WITHOUT_BF16)),
                         rewriter_config_pb2.RewriterConfig.OFF)

    def test_other_fields_are_kept(self):
        config = precision.session_config("bfloat16", WITH_BF16, inter_op_parallelism_threads=1,
                                          use_per_session_threads=True)
        self.assertEqual(config.inter_op_parallelism_threads, 1)
        self.assertTrue(config.use_per_session_threads)
        self.assertEqual(self.rewrite(config), rewriter_config_pb2.RewriterConfig.ON)

    def test_a_cpu_without_bfloat16_is_refused_in_one_line(self):
        with self.assertRaises(precision.PrecisionError) as refused:
            precision.session_config("bfloat16", WITHOUT_BF16)
        message = str(refused.exception)
        self.assertNotIn("\n", message)
        self.assertIn("avx512_bf16", message)
        self.assertIn("use --precision=float32", message)
        with self.assertRaises(precision.PrecisionError):
            precision.check("float16", WITH_BF16)

    def test_cpu_flags_come_from_the_flags_line(self):
        folder = self.create_tempdir().full_path
        self.assertEqual(precision.cpu_flags(fake_cpuinfo(folder, ["fpu", "avx512_bf16"])),
                         frozenset({"fpu", "avx512_bf16"}))
        self.assertEqual(precision.cpu_flags(os.path.join(folder, "missing")), frozenset())

    def test_cpu_name_comes_from_the_model_name_line(self):
        folder = self.create_tempdir().full_path
        self.assertEqual(precision.cpu_name(fake_cpuinfo(folder, ["fpu"])), "Simulated")
        self.assertEqual(precision.cpu_name(os.path.join(folder, "missing")), "unknown CPU")

    def test_the_first_line_says_which_arithmetic_runs(self):
        self.assertEqual(precision.describe("float32"), "precision float32 (the posts' arithmetic)")
        self.assertEqual(precision.describe("bfloat16"), "precision bfloat16 (convolutions and matmuls in bfloat16 on "
                                                         "oneDNN; weights stay float32)")

    def test_no_environment_variable_presents_another_cpu(self):
        # LTFN_CPUINFO was once read here: set by accident, it let --precision=bfloat16 past the check.
        fake = fake_cpuinfo(self.create_tempdir().full_path, ["avx512_bf16", "ltfn_simulated"])
        argv, env = testing.python_command("session/precision.py", [], env={"LTFN_CPUINFO": fake})
        result = subprocess.run(
            [argv[0], "-c", "from session import precision; print(' '.join(sorted(precision.cpu_flags())))"],
            capture_output=True, text=True, env=env, timeout=60)
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertEqual(result.stdout.split(), sorted(precision.cpu_flags("/proc/cpuinfo")))


def first_step(config, data, batch_size=20):
    """conv4 (seed 0) and one traced training step in a session with `config`: (the session's GraphDef
    after it, the step's cost, {node name: dtype} of what ran, the graph as the executor ran it)."""
    graph, nodes, init_op = model.build_graph("conv4", "variance_scaling", 0.001, seed=0)
    graph.finalize()
    images, labels = trainer.Batches(data.train, batch_size, model.NETS["conv4"].INPUT_SHAPE)(0)
    options = tf.compat.v1.RunOptions(trace_level=tf.compat.v1.RunOptions.FULL_TRACE, output_partition_graphs=True)
    metadata = tf.compat.v1.RunMetadata()
    with tf.compat.v1.Session(graph=graph, config=config) as session:
        session.run(init_op)
        cost, _ = session.run([nodes.cost, nodes.optimizer], {nodes.input: images, nodes.labels: labels},
                              options=options, run_metadata=metadata)
        built = session.graph.as_graph_def().SerializeToString(deterministic=True)
    ran = {node.node_name for device in metadata.step_stats.dev_stats for node in device.node_stats}
    dtypes = {}
    for partition in metadata.partition_graphs:
        for node in partition.node:
            for attr in ("DstT", "T"):  # a Cast's output type, else the op's element type
                if attr in node.attr and node.attr[attr].type:
                    dtypes[node.name] = (node.op, tf.dtypes.as_dtype(node.attr[attr].type).name)
                    break
    return built, cost, {name: dtypes[name] for name in ran if name in dtypes}


class SameGraphTest(tf.test.TestCase):
    """The rewrite works on Grappler's copy: the graph the learner built is the same in both precisions."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.data = loader.load_mnist()

    def test_graph_is_byte_identical(self):
        # The rewrite is switched on here whatever the CPU (a simulated one with bfloat16): what it must
        # leave alone is the graph the learner built, names, float32 variables and all.
        graph32, _, _ = first_step(precision.session_config("float32"), self.data)
        graph16, cost16, _ = first_step(precision.session_config("bfloat16", WITH_BF16), self.data)
        self.assertEqual(graph32, graph16)
        self.assertTrue(np.isfinite(cost16), cost16)


NATIVE = bool(set(precision.NATIVE_BFLOAT16) & precision.cpu_flags("/proc/cpuinfo"))


@unittest.skipUnless(NATIVE, "this CPU has neither avx512_bf16 nor amx_bf16 in /proc/cpuinfo, so TensorFlow runs no "
                     "bfloat16 arithmetic here (the rewrite does nothing on AVX2 and only emulates bfloat16 on "
                     "AVX-512F): there is no bfloat16 step to look at. ConfigTest and RunTest check the refusal")
class ArithmeticTest(tf.test.TestCase):
    """On a CPU with native bfloat16 (the real one, not a simulated one): the step computes in bfloat16."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        data = loader.load_mnist()
        _, cls.cost32, cls.ran32 = first_step(precision.session_config("float32"), data)
        _, cls.cost16, cls.ran16 = first_step(precision.session_config("bfloat16"), data)

    def test_the_step_casts_to_bfloat16_and_convolves_in_it(self):
        casts = [name for name, (op, dtype) in self.ran16.items() if op == "Cast" and dtype == "bfloat16"]
        # The rewrite casts the input and each layer's float32 weights and bias to bfloat16 ...
        self.assertIn("input-0-CastToBf16-0-AutoMixedPrecision", casts)
        self.assertTrue(any(name.startswith("layer1/Conv2D/ReadVariableOp-0-CastToBf16") for name in casts), casts)
        # ... and every convolution, forward and both gradients, runs a bfloat16 kernel.
        convolutions = {name: dtype for name, (op, dtype) in self.ran16.items() if "Conv2D" in op}
        self.assertLen(convolutions, 4 + 4 + 3, convolutions)  # layer1's input gradient never runs
        self.assertEqual(set(convolutions.values()), {"bfloat16"}, convolutions)
        self.assertEqual(self.ran16["layer1/layer1_out"][1], "bfloat16")
        # The update stays float32: the variables are float32 and so are their gradients when applied.
        updates = {dtype for op, dtype in self.ran16.values() if op == "ResourceApplyGradientDescent"}
        self.assertEqual(updates, {"float32"})

    def test_float32_runs_no_bfloat16_at_all(self):
        self.assertNotIn("bfloat16", {dtype for _, dtype in self.ran32.values()}, self.ran32)

    def test_first_cost_differs_in_the_last_digits_and_agrees_to_bfloat16_precision(self):
        # Same seed, same float32 weights, same batch: only the arithmetic differs.
        self.assertNotEqual(self.cost16, self.cost32)
        self.assertAllClose(self.cost16, self.cost32, rtol=1e-2)


class SpeedupTest(tf.test.TestCase):
    """The line a float32 run starts with on an AMX CPU: where it is printed, what it says, how N is timed."""

    def test_only_a_float32_run_on_amx_gets_the_line(self):
        self.assertTrue(speedup.wanted("float32", WITH_AMX))
        self.assertFalse(speedup.wanted("bfloat16", WITH_AMX))  # already bfloat16
        self.assertFalse(speedup.wanted("float32", WITH_BF16))  # AVX-512 BF16 alone: bfloat16 is slower there
        self.assertFalse(speedup.wanted("float32", WITHOUT_BF16))

    def test_a_step_is_the_median_of_the_timed_steps_after_the_warmup(self):
        durations = [100.0, 100.0, 5.0, 1.0, 3.0, 2.0, 4.0]  # the two warm-up steps are slow and not counted
        now = [0.0]
        calls = []

        class Session:
            def run(self, fetch, feed):
                calls.append((fetch, feed))
                now[0] += durations[len(calls) - 1]

        self.assertEqual(speedup.step_time(Session(), "train", {"x": 1}, clock=lambda: now[0]), 3.0)
        # Two untimed steps (the rewrite and the kernels' creation), then the five the line says were timed.
        self.assertEqual(calls, [("train", {"x": 1})] * 7)
        durations[:], now[0], calls[:] = [0.0, 0.0, 1.0, 2.0, 8.0, 9.0, 9.0], 0.0, []
        self.assertEqual(speedup.step_time(Session(), "train", {}, clock=lambda: now[0]), 8.0)  # not 2.0: d[1:6]'s

    def test_measure_times_the_training_op_in_each_precision(self):
        graph, nodes, init_op = model.build_graph("linear", "random_normal", 0.01, seed=0)
        asked = []
        real_config = precision.session_config

        def config(arithmetic, read_cpu_flags):
            asked.append(arithmetic)
            return real_config(arithmetic, read_cpu_flags)

        ticks = iter(range(1000))
        images, labels = np.zeros((7, 784), np.float32), np.eye(10, dtype=np.float32)[np.arange(7) % 10]
        with unittest.mock.patch.object(precision, "session_config", config):
            seconds = speedup.measure(graph, nodes, init_op, images, labels, WITH_AMX,
                                      clock=lambda: 2.0 * next(ticks))
        self.assertEqual(asked, ["float32", "bfloat16"])
        self.assertEqual(seconds, (2.0, 2.0))  # one tick of 2 s per timed step, float32 first

    def test_the_line_gives_the_ratio_the_times_and_the_recorded_band(self):
        row = {"test_cost": 0.105485, "test_accuracy": 96.84}
        said = speedup.line("conv4", "variance_scaling", 0.150, 0.052, row)
        self.assertRegex(said, r"^this CPU has AMX: --precision=bfloat16 trains this network about 2\.9× faster "
                               r"\(52 ms a step against 150 ms in float32, timed just now over 5 steps each\); "
                               r"recorded in bfloat16: test cost 0\.105485, 96\.84 %, inside the posts' band; "
                               r"--nobfloat16_hint turns this trial and line off$")
        outside = speedup.line("conv4", "variance_scaling", 0.150, 0.052, {"test_cost": 2.3, "test_accuracy": 11.0})
        self.assertIn("test cost 2.3, 11.00 %, OUTSIDE the posts' band", outside)
        slower = speedup.line("fc3", "random_normal", 0.0105, 0.0100, None)
        self.assertRegex(slower, r"^this CPU has AMX, but --precision=bfloat16 is not faster for this network: "
                                 r"1\.05× \(10 ms a step against 10\.5 ms")
        self.assertIn("its test figures in bfloat16 are not recorded for fc3/random_normal yet", slower)

    def test_faster_from_1_1_times_and_the_milliseconds_as_timed(self):
        # The ratio is float32's time over bfloat16's: 1.1 exactly is "faster", just under is not.
        self.assertIn("about 1.1× faster (500 ms a step against 550 ms in float32",
                      speedup.line("fc3", "random_normal", 0.55, 0.5, None))
        self.assertIn("is not faster for this network: 1.09× (100 ms a step against 109 ms",
                      speedup.line("fc3", "random_normal", 0.109, 0.100, None))
        self.assertIn("about 2.0× faster (50 ms a step against 100 ms", speedup.line("fc3", "random_normal", 0.1, 0.05,
                                                                                       None))
        # Each time in ms to 3 digits, rounded from its own seconds (123.45 -> 123, 123.55 -> 124).
        self.assertIn("(124 ms a step against 123 ms in float32", speedup.line("fc3", "random_normal", 0.12345,
                                                                                  0.12355, None))
        self.assertIn("(123 ms a step against 124 ms in float32", speedup.line("fc3", "random_normal", 0.12355,
                                                                                  0.12345, None))
        # A clock too coarse to see a bfloat16 step: a line, not a ZeroDivisionError.
        self.assertIn("about 100000000.0× faster (0 ms a step against 100 ms",
                      speedup.line("fc3", "random_normal", 0.1, 0.0, None))

    def test_the_recorded_row_is_reproduces_own(self):
        results = os.path.join(testing.ROOT, "results", "reproduce.json")
        with open(results) as f:
            rows = json.load(f)
        self.assertEqual(speedup.recorded(results, "fc3", "random_normal"), rows["fc3/random_normal/bfloat16"])
        self.assertIsNone(speedup.recorded(results, "linear", "small"))
        self.assertIsNone(speedup.recorded(os.path.join(self.create_tempdir().full_path, "none.json"), "fc3",
                                           "random_normal"))


def _figures(stdout):
    """The posts' lines of a run (progress lines carry speeds, which differ from run to run)."""
    return [l for l in stdout.splitlines() if l.startswith(("Cost:", "Accuracy:", "Test Cost:", "Test accuracy:"))]


def _run(args, cpuinfo):
    return testing.run_on_cpu("run.py", args, cpuinfo)


class RunTest(tf.test.TestCase):
    """run.py --precision in its own interpreter, on a simulated CPU."""

    def setUp(self):
        super().setUp()
        folder = self.create_tempdir().full_path
        self.with_bf16 = fake_cpuinfo(self.create_tempdir().full_path, sorted(WITH_BF16()))
        self.without_bf16 = fake_cpuinfo(folder, sorted(WITHOUT_BF16()))
        self.logdir = os.path.join(self.create_tempdir().full_path, "run")
        self.common = ["--net=linear", "--print_every=5", "--logdir=" + self.logdir]

    def test_without_bfloat16_refused_before_anything_is_written(self):
        result = _run(self.common + ["--steps=5", "--precision=bfloat16"], self.without_bf16)
        self.assertEqual(result.returncode, 1, result.stderr)
        self.assertEqual(result.stderr.strip().splitlines()[-1][:len("error: --precision=bfloat16 needs")],
                         "error: --precision=bfloat16 needs")
        self.assertNotIn("Traceback", result.stderr)
        self.assertFalse(os.path.exists(self.logdir))

    def test_first_line_says_the_precision_and_resuming_under_the_other_needs_a_flag(self):
        first = _run(self.common + ["--steps=5"], self.without_bf16)
        self.assertEqual(first.returncode, 0, first.stderr)
        self.assertRegex(first.stdout.splitlines()[0], r"^Training linear .*, precision float32 ")
        # As run.json was written before it recorded the precision: such runs were float32, and are read so.
        path = os.path.join(self.logdir, "checkpoints", "run.json")
        with open(path) as f:
            settings = json.load(f)
        self.assertEqual(settings.pop("precision"), "float32")
        with open(path, "w") as f:
            json.dump(settings, f)
        refused = _run(self.common + ["--steps=10", "--precision=bfloat16"], self.with_bf16)
        self.assertEqual(refused.returncode, 1, refused.stderr)
        last = refused.stderr.strip().splitlines()[-1]
        self.assertRegex(last, r"^error: .*--precision=float32 \(now bfloat16\).*--allow_precision_change")
        self.assertNotIn("Resuming", refused.stdout)
        resumed = _run(self.common + ["--steps=10", "--precision=bfloat16", "--allow_precision_change"],
                       self.with_bf16)
        self.assertEqual(resumed.returncode, 0, resumed.stderr)
        lines = resumed.stdout.splitlines()
        self.assertRegex(lines[0], r"^Training linear .*, precision bfloat16 ")
        self.assertIn("Resuming at step 5 from", resumed.stdout)
        with open(path) as f:
            self.assertEqual(json.load(f)["precision"], "bfloat16")

    def test_a_float32_run_on_amx_says_what_bfloat16_would_do_and_trains_the_same(self):
        amx = fake_cpuinfo(self.create_tempdir().full_path, sorted(WITH_AMX()))
        args = ["--net=linear", "--print_every=5", "--steps=10"]
        hinted = _run(args + ["--logdir=" + self.logdir], amx)
        self.assertEqual(hinted.returncode, 0, hinted.stderr)
        lines = hinted.stdout.splitlines()
        self.assertRegex(lines[0], r"^Training linear ")
        self.assertRegex(lines[1], r"^this CPU has AMX(: |, but ).*; its test figures in bfloat16 are not recorded "
                                   r"for linear/random_normal yet; --nobfloat16_hint turns this trial and line off$")
        quiet = _run(args + ["--logdir=" + self.logdir + "2", "--nobfloat16_hint"], amx)
        self.assertEqual(quiet.returncode, 0, quiet.stderr)
        self.assertNotIn("AMX", quiet.stdout)
        # The trial ran in sessions of its own: the seeded run's every figure is the same without it.
        self.assertEqual(_figures(hinted.stdout), _figures(quiet.stdout))
        self.assertLen(_figures(hinted.stdout), 6)
        no_amx = _run(args + ["--logdir=" + self.logdir + "3"], self.with_bf16)
        self.assertEqual(no_amx.returncode, 0, no_amx.stderr)
        self.assertNotIn("AMX", no_amx.stdout)
        self.assertEqual(_figures(no_amx.stdout), _figures(quiet.stdout))


if __name__ == "__main__":
    tf.test.main()
