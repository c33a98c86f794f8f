"""//bench:throughput on tiny settings: its functions run, its lines have their formats, and every
figure it prints is recomputed here from what it is made of: FLOPs from the layers' shapes, seconds
from a fake clock the test moves (FakeClock), kernels' times from a trace written by the test. No
timing of this machine is asserted: its figures depend on the machine and its load."""

import contextlib
import importlib.util
import io
import os
import re
import shutil
import subprocess
import sys
import types
import unittest

from unittest import mock

from absl.testing import flagsaver
import numpy as np
import tensorflow as tf
from tensorflow.core.protobuf import rewriter_config_pb2

from bench import peers
from bench import throughput
from data import loader
from session import precision
from session import trainer
from tests import testing

tf.compat.v1.disable_eager_execution()

NUMBER = r"[0-9]+(?:\.[0-9]+)?"
LINES = [
    r"linear train images/s: (?P<train>{n})".format(n=NUMBER),
    r"linear keras train images/s: (?P<keras>{n})".format(n=NUMBER),
    r"linear test images/s: (?P<test>{n})".format(n=NUMBER),
    r"linear train GFLOP/s: (?P<gflops>{n}) \((?P<percent>{n})% of measured peak (?P<peak>{n})\)".format(n=NUMBER),
]
TORCH_LINE = r"linear torch eager train images/s: {n}".format(n=NUMBER)
RATIO_LINE = r"linear train speed: {n}x keras, {n}x torch eager \(median of repeat-by-repeat ratios\)".format(n=NUMBER)


# conv4's multiply-adds for a batch of 100, from its layer shapes (LTFN 5): a 3x3 SAME convolution costs
# 2 x images x output positions x output channels x (3 x 3 x input channels).
CONV4_LAYER1_FLOPS = 2 * 100 * 28 * 28 * 64 * (3 * 3 * 1)
CONV4_FORWARD_CONV_FLOPS = CONV4_LAYER1_FLOPS + 2 * 100 * (28 * 28 * 64 * (3 * 3 * 64) + 14 * 14 * 128 * (3 * 3 * 64) +
                                                           14 * 14 * 128 * (3 * 3 * 128))
CONV4_MATMUL_FLOPS = 2 * 100 * (7 * 7 * 128) * 10  # the final layer: 6,272 -> 10
LINEAR_MATMUL_FLOPS = 2 * 100 * 784 * 10  # linear's one layer, batch 100: forward, and twice that backward


class FakeClock:
    """Stands for the `time` module in bench/throughput.py: perf_counter() reads a time that moves only
    by `tick` per reading, and by what the test advances it."""

    def __init__(self, tick=0.0):
        self.now, self.tick = 1000.0, tick

    def perf_counter(self):
        now, self.now = self.now, self.now + self.tick
        return now

    def advance(self, seconds):
        self.now += seconds


class FakePeer:
    """A peer (bench/peers.Peer's interface) whose repeats take the seconds it is given."""

    def __init__(self, name, seconds):
        self.name, self.description, self._seconds = name, "{} (fake)".format(name), iter(seconds)

    def ready(self):
        return self.description

    def run(self):
        return next(self._seconds)

    def close(self):
        pass


def rewritten(session):
    """Whether a session has the oneDNN bfloat16 rewrite on (session/precision.py)."""
    return (session._config.graph_options.rewrite_options.auto_mixed_precision_onednn_bfloat16 ==
            rewriter_config_pb2.RewriterConfig.ON)


@contextlib.contextmanager
def clocked_work(clock, repeat_seconds, test_seconds, bfloat16_factor=1.0):
    """trainer.train and trainer.evaluate as they are, except that each moves the clock: a training call
    starting at step s by repeat_seconds[s] (0 for others: the warm-up), times bfloat16_factor in a
    session with the bfloat16 rewrite; each evaluate call by the next of test_seconds."""
    train, evaluate, tests = trainer.train, trainer.evaluate, iter(test_seconds)

    def timed_train(session, nodes, batches, steps, print_every, start_step=0, **kwargs):
        done = train(session, nodes, batches, steps, print_every, start_step=start_step, **kwargs)
        clock.advance(repeat_seconds.get(start_step, 0.0) * (bfloat16_factor if rewritten(session) else 1.0))
        return done

    def timed_evaluate(*args):
        result = evaluate(*args)
        clock.advance(next(tests))
        return result

    with mock.patch.object(throughput, "time", clock), mock.patch.object(trainer, "train", timed_train), \
            mock.patch.object(trainer, "evaluate", timed_evaluate):
        yield


class FunctionsTest(tf.test.TestCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.data = loader.load_mnist()

    def test_graph_path_two_repeats_of_three_steps(self):
        seconds = throughput.measure("linear", self.data, repeats=2, steps=3, warmup=1, test_images=1500)
        self.assertLen(seconds["train"], 2)
        self.assertLen(seconds["test"], 2)
        self.assertTrue(all(s > 0 for s in seconds["train"] + seconds["test"]), seconds)

    def test_keras_worker_takes_turns_with_the_graph(self):
        keras = throughput.start_keras("linear", repeats=2, steps=3, warmup=1)
        try:
            seconds = throughput.measure("linear", self.data, repeats=2, steps=3, warmup=1, test_images=1000,
                                         peers=[keras])
        finally:
            keras.close()
        self.assertStartsWith(keras.description, "keras 3.")
        self.assertLen(seconds["keras"], 2)
        self.assertTrue(all(s > 0 for s in seconds["keras"]), seconds)

    def test_flops_count_the_gradient_convolutions(self):
        # From conv4's layer shapes (LTFN 5), batch 100: each convolution's weight gradient costs what its
        # forward pass costs, and so does its input gradient, except layer1's (no gradient flows into
        # `input`); the final matmul runs forward and for both gradients.
        arithmetic = 3 * CONV4_FORWARD_CONV_FLOPS - CONV4_LAYER1_FLOPS + 3 * CONV4_MATMUL_FLOPS
        flops, method = throughput.count_train_flops("conv4")
        self.assertIn("profiler", method)
        # The profiler also counts the elementwise ops (bias, ReLU, pooling, loss): a few FLOPs per
        # activation, well under 1 % of the convolutions' multiply-adds.
        self.assertBetween(flops, arithmetic, 1.01 * arithmetic)
        flops, _ = throughput.count_train_flops("linear")
        self.assertBetween(flops, 3 * 2 * 100 * 784 * 10, 3.1 * 2 * 100 * 784 * 10)

    def test_breakdown_runs_ops_one_at_a_time_and_counts_each_kind(self):
        rows, step_seconds = throughput.step_breakdown("conv4", self.data, traced_steps=1)
        by_kind = {label: (seconds, flops) for label, seconds, flops in rows}
        forward = by_kind["conv forward (fused with bias and ReLU)"][1]
        self.assertEqual(forward, CONV4_FORWARD_CONV_FLOPS)
        self.assertEqual(by_kind["conv gradient wrt weights"][1], forward)
        # tf.gradients builds layer1's input gradient, but nothing uses it (no gradient flows into
        # `input`), so TensorFlow never runs it and it is not counted.
        self.assertEqual(by_kind["conv gradient wrt input"][1], forward - CONV4_LAYER1_FLOPS)
        self.assertEqual(by_kind["matmul (and its gradients)"][1], 3 * CONV4_MATMUL_FLOPS)
        self.assertEqual(by_kind["everything else"][1], 0)
        self.assertTrue(all(seconds > 0 for seconds, _ in by_kind.values()), rows)
        # Every kind of op a conv4 step runs has its own row: "everything else" is the rest. (The row of casts
        # is there when float32's one Cast, in the cost's gradient, was timed at more than 0 µs.)
        self.assertEqual([label for label, _, _ in rows if label != "casts (Cast)"], [
            "conv forward (fused with bias and ReLU)", "conv gradient wrt input", "conv gradient wrt weights",
            "matmul (and its gradients)", "ReLU gradient (ReluGrad)", "bias gradient (BiasAddGrad)",
            "max pooling gradient (MaxPoolGrad)", "max pooling (MaxPool)", "weight updates (ApplyGradientDescent)",
            "everything else"])
        lines = throughput.breakdown_lines("conv4", rows, step_seconds)
        self.assertRegex(lines[0], r"^conv4 training step, traced, one op at a time: {n} ms$".format(n=NUMBER))
        self.assertRegex(lines[1], r"^  conv forward \(fused with bias and ReLU\): {n} ms \({n}%\), {n} GFLOP/s$".format(
            n=NUMBER))
        self.assertRegex(lines[-1], r"^  everything else: {n} ms \({n}%\)$".format(n=NUMBER))

    def test_flops_fall_back_to_three_forward_passes_when_the_profiler_misses_the_gradients(self):
        class Counted:
            total_float_ops = 1000  # far below the forward matmul's own
        with mock.patch.object(tf.compat.v1.profiler, "profile", return_value=Counted()):
            flops, method = throughput.count_train_flops("linear")
        self.assertEqual(flops, 3 * LINEAR_MATMUL_FLOPS)
        self.assertEqual(method, "3 x analytic forward conv/matmul FLOPs, batch 100 (the profiler counted only "
                                 "1e-06 GFLOP: it missed the gradient ops)")

    def test_flags_defaults_are_the_documented_ones(self):
        defaults = {f.name: f.default for f in throughput.FLAGS.get_flags_for_module(throughput)}
        self.assertEqual(defaults, {"net": "conv4", "repeats": 5, "steps": None, "warmup": None, "test_images": None,
                                    "test_batch_size": 1000, "precision": "float32", "breakdown": True, "keras": True,
                                    "torch_python": None, "_keras_worker": False})
        self.assertEqual(throughput.net_defaults("conv4"), (20, 5, 2000))
        self.assertEqual(throughput.net_defaults("fc3", steps=7, warmup=0), (7, 0, 10000))

    def test_the_breakdown_traces_the_steps_after_two_untimed_ones_in_a_one_op_at_a_time_session(self):
        sessions, traced = [], []
        real_session, real_kinds = throughput.new_session, throughput.trace_kinds

        def new_session(graph, precision="float32", **fields):
            sessions.append(real_session(graph, precision, **fields))
            return sessions[-1]

        def trace_kinds(steps):
            traced.extend(steps)
            return real_kinds(steps)
        with mock.patch.object(throughput, "new_session", new_session), \
                mock.patch.object(throughput, "trace_kinds", trace_kinds):
            rows, step_seconds = throughput.step_breakdown("linear", self.data, traced_steps=3)
        # What "traced, one op at a time" says: an inter-op pool of one thread of the session's own.
        (session,) = sessions
        self.assertEqual((session._config.inter_op_parallelism_threads, session._config.use_per_session_threads),
                         (1, True))
        self.assertLen(traced, 3)  # the 3 asked for, not the 2 untimed ones
        self.assertTrue(all(len(m.step_stats.dev_stats) for m in traced))
        self.assertGreater(step_seconds, 0)

    def test_flops_by_kind_count_the_forward_ops_and_the_gradient_ops_that_ran(self):
        graph = throughput._fixed_batch_train_graph("linear", 100)
        weights_gradient = [op.name for op in graph.get_operations() if op.type == "MatMul" and
                            op.name.startswith("gradients/") and op.outputs[0].shape.as_list() == [784, 10]]
        self.assertLen(weights_gradient, 1)
        matmul = "matmul (and its gradients)"
        flops = throughput.flops_by_kind("linear", set())  # nothing of the gradients ran: the forward matmul
        self.assertEqual({k: v for k, v in flops.items() if v}, {matmul: LINEAR_MATMUL_FLOPS})
        flops = throughput.flops_by_kind("linear", set(weights_gradient))
        self.assertEqual({k: v for k, v in flops.items() if v}, {matmul: 2 * LINEAR_MATMUL_FLOPS})

    def test_find_program_takes_paths_and_names_on_path(self):
        self.assertEqual(throughput.find_program(sys.executable), sys.executable)
        self.assertEqual(throughput.find_program("sh"), shutil.which("sh"))
        self.assertIsNone(throughput.find_program("no-such-program-ltfn"))
        self.assertIsNone(throughput.find_program(os.path.dirname(sys.executable)))  # a folder

    def test_peak_is_the_best_size(self):
        rate, size = throughput.measure_peak(sizes=(128, 256), repeats=1, per_repeat=1)
        self.assertGreater(rate, 0)
        self.assertIn(size, (128, 256))

    def test_report_line_formats(self):
        seconds = {"train": [0.5, 0.25], "keras": [1.0, 0.5], "torch": [0.25, 0.5], "test": [0.1, 0.2]}
        lines = throughput.report_lines("linear", seconds, steps=3, test_images=1000, flops_per_step=4.7e6,
                                        peak=100.0)
        self.assertLen(lines, 6)
        for pattern in LINES + [TORCH_LINE, RATIO_LINE]:
            self.assertTrue(any(re.fullmatch(pattern, line) for line in lines), (pattern, lines))
        self.assertEqual(lines[0], "linear train images/s: 900.0")  # median of 600 and 1200
        # Repeat by repeat: keras took 2x as long both times; torch 0.5x, then 2x: median 1.25x.
        self.assertEqual(lines[-1], "linear train speed: 2.00x keras, 1.25x torch eager "
                                    "(median of repeat-by-repeat ratios)")
        lines = throughput.report_lines("linear", {"train": [0.5], "test": [0.1]}, 3, 1000, 4.7e6, 100.0)
        self.assertLen(lines, 3)
        self.assertNotIn("keras", " ".join(lines))

    def test_bfloat16_lines_name_the_precision_and_float32_lines_do_not_change(self):
        seconds = {"train": [0.5, 0.25], "keras": [1.0, 0.5], "torch": [0.25, 0.5], "test": [0.1, 0.2]}
        bf16 = throughput.report_lines("conv4", seconds, 3, 1000, 4.7e6, 100.0, precision="bfloat16")
        f32 = throughput.report_lines("conv4", seconds, 3, 1000, 4.7e6, 100.0)
        self.assertEqual(bf16[:4], ["conv4 bfloat16 train images/s: 900.0", "conv4 bfloat16 keras train images/s: 450.0",
                                    "conv4 bfloat16 torch train images/s: 900.0", "conv4 bfloat16 test images/s: 7500.0"])
        self.assertEqual(bf16[-1], "conv4 bfloat16 train speed: 2.00x keras, 1.25x torch "
                                   "(median of repeat-by-repeat ratios)")
        self.assertEqual(f32[2], "conv4 torch eager train images/s: 900.0")
        self.assertEqual([line.replace("conv4 bfloat16 ", "conv4 ").replace("x torch ", "x torch eager ")
                          .replace("torch train", "torch eager train") for line in bf16], f32)

    def test_speed_up_over_float32_is_the_median_of_repeat_by_repeat_ratios(self):
        seconds = {"train": [0.5, 0.25, 0.5], "float32 train": [0.8, 0.5, 1.5], "float32 test": [0.1]}
        # 1.6, 2.0, 3.0: median 2.0 (the medians of the sides alone would say 0.8 / 0.5 = 1.6)
        self.assertEqual(throughput.speed_up_line("conv4", seconds, "bfloat16"),
                         "conv4 bfloat16 speed-up over float32: 2.00 x (median of repeat-by-repeat ratios)")
        self.assertEqual(throughput.float32_side(seconds), {"train": [0.8, 0.5, 1.5], "test": [0.1]})

    def test_bfloat16_peak_is_a_bfloat16_matmul(self):
        rate, size = throughput.measure_peak(sizes=(128,), repeats=1, per_repeat=1, dtype="bfloat16")
        self.assertGreater(rate, 0)
        self.assertEqual(size, 128)
        graph = tf.Graph()
        with graph.as_default(), mock.patch.object(throughput, "new_session") as session:
            session.side_effect = RuntimeError("stop after building")  # the graph is what is looked at
            with self.assertRaises(RuntimeError):
                throughput.measure_peak(sizes=(8,), dtype="bfloat16")
        matmuls = [op for op in session.call_args[0][0].get_operations() if op.type == "MatMul"]
        self.assertEqual([op.outputs[0].dtype for op in matmuls], [tf.bfloat16])

    def test_keras_worker_without_warm_up_steps_still_takes_its_turns(self):
        # --warmup=0: fit's first batch is the warm-up (its setup must not be timed), then two timed repeats.
        keras = throughput.start_keras("linear", repeats=2, steps=2, warmup=0)
        try:
            self.assertStartsWith(keras.ready(), "keras 3.")
            self.assertGreater(keras.run(), 0)
            self.assertGreater(keras.run(), 0)
        finally:
            keras.close()

    def test_keras_worker_in_bfloat16_uses_the_mixed_policy(self):
        keras = throughput.start_keras("linear", repeats=1, steps=2, warmup=1, precision="bfloat16")
        try:
            self.assertEndsWith(keras.ready(), "dtype policy mixed_bfloat16")
            self.assertGreater(keras.run(), 0)
        finally:
            keras.close()

    def test_the_bfloat16_session_and_breakdown_on_a_cpu_with_it(self):
        # A CPU with bfloat16 simulated: the session gets the rewrite; the graph path runs as in float32.
        folder = self.create_tempdir()
        folder.create_file("cpuinfo", "flags\t: avx2 avx512_bf16\n")
        with mock.patch.object(precision, "CPUINFO", os.path.join(folder.full_path, "cpuinfo")):
            session, _ = throughput.build("linear", precision="bfloat16")
            rows, step_seconds = throughput.step_breakdown("linear", self.data, traced_steps=1, precision="bfloat16")
            seconds = throughput.measure("linear", self.data, repeats=2, steps=3, warmup=1, test_images=1000,
                                         precision="bfloat16")
        # run.py's float32 session took its turns beside the bfloat16 one.
        self.assertEqual(sorted(seconds), ["float32 test", "float32 train", "test", "train"])
        self.assertTrue(all(len(s) == 2 and min(s) > 0 for s in seconds.values()), seconds)
        rewrite = session._config.graph_options.rewrite_options.auto_mixed_precision_onednn_bfloat16
        session.close()
        self.assertEqual(rewrite, rewriter_config_pb2.RewriterConfig.ON)
        self.assertIn("matmul (and its gradients)", [label for label, _, _ in rows])
        self.assertGreater(step_seconds, 0)


# A traced step as the trace names its kernels (plain TensorFlow's, oneDNN's _MklNative..., the fused
# ones), each (node, kernel, microseconds in step 1, in step 2), and the kind a reader expects each in.
TRACE = [
    ("layer1/layer1_out", "_MklNativeFusedConv2D", 6000, 6400, "conv forward (fused with bias and ReLU)"),
    ("layer2/layer2_out", "_FusedConv2D", 4000, 3800, "conv forward (fused with bias and ReLU)"),
    ("pool1/pool1", "MaxPool", 500, 520, "max pooling (MaxPool)"),
    ("layer5/layer5_linear", "_FusedMatMul", 100, 90, "matmul (and its gradients)"),
    ("cost/softmax_cross_entropy_with_logits", "SoftmaxCrossEntropyWithLogits", 30, 34, "everything else"),
    ("gradients/layer5/MatMul_grad/MatMul", "_MklMatMul", 150, 170, "matmul (and its gradients)"),
    ("gradients/pool1/pool1_grad/MaxPoolGrad", "_MklNativeMaxPoolGrad", 700, 760, "max pooling gradient (MaxPoolGrad)"),
    ("gradients/layer2/layer2_out_grad/ReluGrad", "ReluGrad", 900, 940, "ReLU gradient (ReluGrad)"),
    ("gradients/layer2/layer2_conv_grad/BiasAddGrad", "BiasAddGrad", 300, 280, "bias gradient (BiasAddGrad)"),
    ("gradients/layer2/Conv2D_grad/Conv2DBackpropInput", "_MklNativeConv2DBackpropInput", 5000, 5200,
     "conv gradient wrt input"),
    ("gradients/layer2/Conv2D_grad/Conv2DBackpropFilter", "_MklNativeConv2DBackpropFilterWithBias", 8000, 8200,
     "conv gradient wrt weights"),
    ("gradients/layer1/Conv2D_grad/Conv2DBackpropFilter", "Conv2DBackpropFilter", 2000, 2100,
     "conv gradient wrt weights"),
    ("flatten_grad/Reshape", "Reshape", 20, 26, "everything else"),
    ("layer2/Cast", "Cast", 60, 64, "casts (Cast)"),
    ("optimizer/update_layer1/layer1_weights/ResourceApplyGradientDescent", "ResourceApplyGradientDescent", 40, 44,
     "weight updates (ApplyGradientDescent)"),
]


def traced_steps(trace=TRACE):
    """The RunMetadata of two steps as TensorFlow writes it: one device, each node's label `name =
    Kernel(inputs)`, plus an entry of the executor's own (no label), which is nobody's time."""
    steps = []
    for column in (2, 3):
        metadata = tf.compat.v1.RunMetadata()
        device = metadata.step_stats.dev_stats.add(device="/job:localhost/replica:0/task:0/device:CPU:0")
        device.node_stats.add(node_name="_SOURCE", op_start_rel_micros=0, op_end_rel_micros=99999)
        for row in trace:
            name, kernel = row[:2]
            device.node_stats.add(node_name=name, timeline_label="[cpu 1.0MB 1.0MB] {} = {}(a, b)".format(name, kernel),
                                  op_start_rel_micros=7, op_end_rel_micros=7 + row[column])
        steps.append(metadata)
    return steps


class BreakdownTest(tf.test.TestCase):
    """The breakdown's rows and percentages from a trace written here, by values."""

    def test_each_kernel_is_counted_under_its_kind_and_the_executors_own_entries_under_none(self):
        micros, ran = throughput.trace_kinds(traced_steps())
        expected = {}
        for name, kernel, first, second, kind in TRACE:
            expected[kind] = expected.get(kind, 0) + first + second
        self.assertEqual({kind: n for kind, n in micros.items() if n}, expected)
        self.assertEqual(ran, {name for name, *_ in TRACE})

    def test_rows_are_per_step_and_lines_are_percentages_of_the_step(self):
        micros, _ = throughput.trace_kinds(traced_steps())
        flops = {label: 0 for label, _ in throughput.KERNEL_KINDS}
        flops.update({"conv forward (fused with bias and ReLU)": 3.0e9, "conv gradient wrt input": 2.5e9,
                      "conv gradient wrt weights": 4.2e9, "matmul (and its gradients)": 1.2e7})
        rows = throughput.breakdown_rows(micros, flops, traced_steps=2)
        per_step = {}
        for _, _, first, second, kind in TRACE:
            per_step[kind] = per_step.get(kind, 0) + (first + second) / 2 / 1e6
        self.assertEqual([label for label, _, _ in rows],
                         [label for label, _ in throughput.KERNEL_KINDS if label in per_step])
        for label, seconds, row_flops in rows:
            self.assertAlmostEqual(seconds, per_step[label], places=12, msg=label)
            self.assertEqual(row_flops, flops[label], label)
        # The step (wall clock) is longer than its kernels (41.2 of 28.4 ms here): each percentage is of the step.
        step = 0.0412
        lines = throughput.breakdown_lines("conv4 bfloat16", rows, step)
        self.assertEqual(lines[0], "conv4 bfloat16 training step, traced, one op at a time: 41.2 ms")
        self.assertEqual(throughput.breakdown_lines("fc3", [], 0.25), ["fc3 training step, traced, one op at a time: "
                                                                      "250.0 ms"])
        self.assertLen(lines, 1 + len(per_step))
        for line, (label, seconds, _) in zip(lines[1:], rows):
            match = re.fullmatch(r"  (.*): ({n}) ms \(({n})%\)(?:, ({n}) GFLOP/s)?".format(n=NUMBER), line)
            self.assertIsNotNone(match, line)
            self.assertEqual(match[1], label)
            self.assertAlmostEqual(float(match[2]), 1000 * per_step[label], delta=0.05 + 1e-9, msg=line)
            self.assertAlmostEqual(float(match[3]), 100 * per_step[label] / step, delta=0.5 + 1e-9, msg=line)
            if flops[label]:
                self.assertAlmostEqual(float(match[4]), flops[label] / per_step[label] / 1e9, delta=0.05 + 1e-9,
                                       msg=line)
            else:
                self.assertIsNone(match[4], line)


class FiguresTest(tf.test.TestCase):
    """Each printed figure recomputed from what it is made of: the seconds a fake clock gave, the
    FLOPs of the layers' shapes, and the peers' seconds."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.data = loader.load_mnist()

    def test_peak_is_the_best_median_matmul_rate_the_clock_gives(self):
        # The CPU as the clock tells it: each run of a size x size matmul takes 2 size^3 / rate seconds.
        rates = {64: iter([1.0, 100, 100, 30, 30, 40, 40]), 128: iter([1.0, 60, 60, 90, 90, 80, 80])}  # GFLOP/s
        clock = FakeClock()
        new_session = throughput.new_session

        def clocked_session(graph):
            session = new_session(graph)
            run = session.run

            def timed_run(fetch):
                result = run(fetch)
                if getattr(fetch, "type", None) == "MatMul":
                    size = fetch.outputs[0].shape[0]
                    clock.advance(2 * size ** 3 / (next(rates[size]) * 1e9))
                return result
            session.run = timed_run
            return session

        with mock.patch.object(throughput, "time", clock), mock.patch.object(throughput, "new_session",
                                                                               clocked_session):
            rate, size = throughput.measure_peak(sizes=(64, 128), repeats=3, per_repeat=2)
        # Medians: 40 GFLOP/s at 64, 80 at 128 (the mean would be 76.7, the best single repeat 100).
        self.assertEqual(size, 128)
        self.assertAlmostEqual(rate, 80.0, places=6)

    def test_measured_seconds_are_the_clocks(self):
        clock = FakeClock()
        with clocked_work(clock, {1: 0.010, 4: 0.030, 7: 0.012}, [0.5, 0.020, 0.008, 0.010]):
            seconds = throughput.measure("linear", self.data, repeats=3, steps=3, warmup=1, test_images=1000)
        self.assertAllClose(seconds["train"], [0.010, 0.030, 0.012], rtol=0, atol=1e-9)
        self.assertAllClose(seconds["test"], [0.020, 0.008, 0.010], rtol=0, atol=1e-9)

    def run_benchmark(self, *flags):
        """benchmark() in this process, with the given flags: its printed lines."""
        stdout = io.StringIO()
        with flagsaver.flagsaver():
            throughput.FLAGS(["throughput", "--net=linear", "--repeats=3", "--steps=3", "--warmup=1",
                              "--test_images=1000", "--nobreakdown"] + list(flags))
            with contextlib.redirect_stdout(stdout):
                self.assertEqual(throughput.benchmark([]), 0)
        return stdout.getvalue()

    def assertPrinted(self, out, pattern, *expected, relative=0.0):
        """The line matching pattern (its numbers as groups) says each expected value, to within the rounding
        of its printed digits (and `relative`, for figures made from a rounded one)."""
        match = re.search("(?m)^" + pattern + "$", out)
        self.assertIsNotNone(match, "no line /{}/ in:\n{}".format(pattern, out))
        self.assertLen(match.groups(), len(expected))
        for text, value in zip(match.groups(), expected):
            decimals = len(text.partition(".")[2])
            self.assertAlmostEqual(float(text), value, delta=0.5 * 10 ** -decimals + relative * abs(value) + 1e-9,
                                   msg=match.group(0))

    def flops_per_step(self, out):
        """The printed FLOPs of a step, which must be linear's matmuls from their shapes (and a few
        elementwise ops: within 0.5 %)."""
        match = re.search(r"(?m)^linear train FLOPs per step: ({n}) GFLOP, by .*profiler".format(n=NUMBER), out)
        self.assertIsNotNone(match, out)
        self.assertBetween(float(match[1]) * 1e9, 3 * LINEAR_MATMUL_FLOPS, 1.005 * 3 * LINEAR_MATMUL_FLOPS)
        return float(match[1]) * 1e9

    def test_every_float32_figure(self):
        clock = FakeClock()
        train, keras, torch, test = [0.010, 0.030, 0.012], [0.020, 0.045, 0.030], [0.009, 0.036, 0.010], [0.020, 0.008, 0.010]
        with clocked_work(clock, {1: train[0], 4: train[1], 7: train[2]}, [0.5] + test), \
                mock.patch.object(throughput, "measure_peak", return_value=(1.5, 2048)), \
                mock.patch.object(throughput, "start_keras", return_value=FakePeer("keras", keras)), \
                mock.patch.object(throughput, "start_torch", return_value=FakePeer("torch", torch)):
            out = self.run_benchmark("--torch_python=" + sys.executable)
        images = 3 * 100
        flops = self.flops_per_step(out)
        self.assertPrinted(out, r"linear train images/s per repeat, in order: ({n}), ({n}), ({n})".format(n=NUMBER),
                           *[images / s for s in train])
        self.assertPrinted(out, r"linear keras train images/s per repeat, in order: ({n}), ({n}), ({n})".format(
            n=NUMBER), *[images / s for s in keras])
        self.assertPrinted(out, r"linear torch eager train images/s per repeat, in order: ({n}), ({n}), ({n})".format(
            n=NUMBER), *[images / s for s in torch])
        self.assertPrinted(out, r"linear test images/s per repeat: ({n}), ({n}), ({n})".format(n=NUMBER),
                           *[1000 / s for s in test])
        # Medians of the repeats: 300 / 0.012, 300 / 0.030, 300 / 0.010 and 1000 / 0.010.
        self.assertPrinted(out, r"linear train images/s: ({n})".format(n=NUMBER), 25000.0)
        self.assertPrinted(out, r"linear keras train images/s: ({n})".format(n=NUMBER), 10000.0)
        self.assertPrinted(out, r"linear torch eager train images/s: ({n})".format(n=NUMBER), 30000.0)
        self.assertPrinted(out, r"linear test images/s: ({n})".format(n=NUMBER), 100000.0)
        gflops = flops * 3 / 0.012 / 1e9  # a step's FLOPs x steps / the median repeat
        self.assertPrinted(out, r"linear train GFLOP/s: ({n}) \(({n})% of measured peak ({n})\)".format(n=NUMBER),
                           gflops, 100 * gflops / 1.5, 1.5, relative=5e-4)
        # Repeat by repeat: keras 2.0, 1.5, 2.5 times as long as ours (median 2.00; the medians' ratio would say
        # 2.50); torch 0.9, 1.2, 0.83 (median 0.90; the medians' ratio 0.83).
        self.assertPrinted(out, r"linear train speed: ({n})x keras, ({n})x torch eager \(median of repeat-by-repeat "
                                r"ratios\)".format(n=NUMBER), 2.0, 0.9)
        self.assertIn("keras peer: keras (fake)\n", out)

    def test_the_header_and_the_load_average_lines(self):
        clock = FakeClock()
        with clocked_work(clock, {1: 0.01, 4: 0.01, 7: 0.01}, [0.5, 0.01, 0.01, 0.01]), \
                mock.patch.object(throughput, "measure_peak", return_value=(1.5, 2048)), \
                mock.patch.object(throughput.os, "getloadavg", return_value=(1.25, 2.5, 3.75)), \
                mock.patch.object(throughput.os, "cpu_count", return_value=2):
            out = self.run_benchmark("--nokeras", "--test_batch_size=250").splitlines()
        self.assertEqual(out[0], "load average at start: 1.25 2.50 3.75 (1, 5, 15 min; 2 CPUs)")
        self.assertEqual(out[1], "linear: 3 repeats of 3 training steps of 100 images after 1 warm-up steps; test: "
                                 "1000 images in batches of 250")
        self.assertEqual(out[-1], "load average at end: 1.25 2.50 3.75 (1, 5, 15 min; 2 CPUs)")

    def test_ctrl_c_is_one_line_and_exit_130(self):
        stderr = io.StringIO()
        with mock.patch.object(throughput, "benchmark", side_effect=KeyboardInterrupt), \
                contextlib.redirect_stderr(stderr):
            self.assertEqual(throughput.main([]), 130)
        self.assertEqual(stderr.getvalue(), "interrupted: nothing measured (a benchmark has no partial result)\n")
        stderr = io.StringIO()
        with mock.patch.object(throughput, "benchmark", side_effect=peers.PeerError("the keras peer exited (1)")), \
                contextlib.redirect_stderr(stderr):
            self.assertEqual(throughput.main([]), 1)
        self.assertEqual(stderr.getvalue(), "error: the keras peer exited (1)\n")

    def test_every_bfloat16_figure_and_the_float32_ones_beside_them(self):
        # A CPU with bfloat16 simulated; the rewritten session's repeats take half the float32 one's.
        folder = self.create_tempdir()
        folder.create_file("cpuinfo", "flags\t: avx2 avx512_bf16\n")
        clock = FakeClock()
        train, keras = [0.010, 0.030, 0.012], [0.004, 0.021, 0.012]
        peaks = {"float32": (1.5, 2048), "bfloat16": (4.0, 3072)}
        # evaluate's calls: the two warm-ups, then each repeat of ours (bfloat16), then float32's.
        with clocked_work(clock, {1: train[0], 4: train[1], 7: train[2]},
                          [0.5, 0.5, 0.010, 0.020, 0.004, 0.008, 0.005, 0.010], bfloat16_factor=0.5), \
                mock.patch.object(precision, "CPUINFO", os.path.join(folder.full_path, "cpuinfo")), \
                mock.patch.object(throughput, "measure_peak", side_effect=lambda dtype: peaks[dtype]), \
                mock.patch.object(throughput, "start_keras", return_value=FakePeer("keras", keras)):
            out = self.run_benchmark("--precision=bfloat16")
        flops = self.flops_per_step(out.replace("linear bfloat16 train FLOPs", "linear train FLOPs"))
        self.assertPrinted(out, r"measured peak: float32 (\d+)x\d+ matmul, the best of sizes 2048, 3072", 2048)
        self.assertPrinted(out, r"measured peak: bfloat16 (\d+)x\d+ matmul, the best of sizes 2048, 3072", 3072)
        self.assertPrinted(out, r"linear train images/s: ({n})".format(n=NUMBER), 25000.0)
        self.assertPrinted(out, r"linear test images/s: ({n})".format(n=NUMBER), 100000.0)
        gflops = flops * 3 / 0.012 / 1e9
        self.assertPrinted(out, r"linear train GFLOP/s: ({n}) \(({n})% of measured peak ({n})\)".format(n=NUMBER),
                           gflops, 100 * gflops / 1.5, 1.5, relative=5e-4)
        self.assertPrinted(out, r"linear bfloat16 train images/s: ({n})".format(n=NUMBER), 50000.0)
        self.assertPrinted(out, r"linear bfloat16 keras train images/s: ({n})".format(n=NUMBER), 25000.0)
        self.assertPrinted(out, r"linear bfloat16 test images/s: ({n})".format(n=NUMBER), 200000.0)
        self.assertPrinted(out, r"linear bfloat16 train GFLOP/s: ({n}) \(({n})% of measured peak ({n})\)".format(
            n=NUMBER), 2 * gflops, 100 * 2 * gflops / 4.0, 4.0, relative=5e-4)
        # keras against ours (0.005, 0.015, 0.006 s): 0.8, 1.4, 2.0.
        self.assertPrinted(out, r"linear bfloat16 train speed: ({n})x keras \(median of repeat-by-repeat "
                                r"ratios\)".format(n=NUMBER), 1.4)
        self.assertPrinted(out, r"linear bfloat16 speed-up over float32: ({n}) x \(median of repeat-by-repeat "
                                r"ratios\)".format(n=NUMBER), 2.0)


# Where the torch peer's working path can run: this interpreter if it has torch (LTFN's requirements do
# not: the bench takes --torch_python), else the Python named by LTFN_TEST_TORCH_PYTHON, which only this
# test reads, e.g. `bazel test //tests:bench_test --test_env=LTFN_TEST_TORCH_PYTHON=/tmp/torchenv/bin/python`.
NO_TORCH = ("torch is not importable here and LTFN_TEST_TORCH_PYTHON names no Python with it, so the torch peer's "
            "working path is not run (torch is not one of LTFN's requirements; give --test_env="
            "LTFN_TEST_TORCH_PYTHON=PYTHON with a venv made by `pip install torch==2.13.0 numpy`)")
NATIVE_BFLOAT16 = bool(set(precision.NATIVE_BFLOAT16) & precision.cpu_flags("/proc/cpuinfo"))


def torch_python():
    if importlib.util.find_spec("torch") is not None:
        return sys.executable
    named = os.environ.get("LTFN_TEST_TORCH_PYTHON")
    if named and subprocess.run([named, "-c", "import torch"], capture_output=True).returncode == 0:
        return named
    return None


def python_command(code):
    return [sys.executable, "-c", code]


class PeerProtocolTest(tf.test.TestCase):
    """bench/peers.py against real worker processes."""

    def env(self):
        return throughput.peer_env()

    def test_a_worker_gets_ready_runs_and_stops(self):
        worker = peers.Peer("toy", python_command(
            "from bench import peers\n"
            "calls = []\n"
            "peers.serve(lambda n: calls.append(n), steps=3, warmup=0, description='toy worker')\n"
            "assert calls == [1, 3, 3], calls\n"), self.env())
        self.assertEqual(worker.ready(), "toy worker")
        self.assertGreaterEqual(worker.run(), 0)
        self.assertGreaterEqual(worker.run(), 0)
        process = worker._process
        worker.close()
        self.assertEqual(process.returncode, 0)  # the warm-up step, then exactly two repeats

    def test_a_worker_that_dies_is_one_line_with_its_last_words(self):
        worker = peers.Peer("toy", python_command(
            "import sys\nsys.stderr.write('first\\nRuntimeError: out of luck\\n')\nsys.exit(5)"), self.env())
        with self.assertRaisesRegex(peers.PeerError, r"^the toy peer exited \(5\) before answering READY: "
                                                      r"RuntimeError: out of luck$"):
            worker.ready()
        worker.close()

    def test_a_program_that_cannot_start(self):
        with self.assertRaisesRegex(peers.PeerError, r"^cannot start the toy peer \(/nonexistent/python\): No such "
                                                      r"file or directory$"):
            peers.Peer("toy", ["/nonexistent/python", "-c", "pass"])

    def test_a_worker_reports_the_seconds_of_its_own_steps(self):
        # The worker's clock, replaced: its repeats took 0.25 s and 0.5 s (the warm-up is not timed).
        worker = peers.Peer("toy", python_command(
            "import time\n"
            "ticks = iter([10.0, 10.25, 20.0, 20.5])\n"
            "time.perf_counter = lambda: next(ticks)\n"
            "from bench import peers\n"
            "peers.serve(lambda n: None, steps=3, warmup=0, description='toy worker')\n"), self.env())
        self.assertEqual(worker.ready(), "toy worker")
        self.assertEqual([worker.run(), worker.run()], [0.25, 0.5])
        worker.close()

    def test_a_worker_that_died_after_ready_is_one_line_not_a_broken_pipe(self):
        worker = peers.Peer("toy", python_command(
            "import sys\nprint('READY toy', flush=True)\nsys.stderr.write('MemoryError: gone\\n')\nsys.exit(9)"),
            self.env())
        self.assertEqual(worker.ready(), "toy")
        worker._process.wait()  # it is gone before the benchmark asks for a repeat
        with self.assertRaisesRegex(peers.PeerError, r"^the toy peer exited \(9\) before answering SECONDS: "
                                                      r"MemoryError: gone$"):
            worker.run()
        worker.close()
        worker.close()  # safe twice
        self.assertTrue(worker._process.stdin.closed and worker._process.stdout.closed and worker._stderr.closed)

    def test_torch_peer_trains_in_turns(self):
        python = torch_python()
        if python is None:
            self.skipTest(NO_TORCH)
        for name in ("float32",) + (("bfloat16",) if NATIVE_BFLOAT16 else ()):
            worker = throughput.start_torch(python, "linear", steps=3, warmup=1, precision=name)
            try:
                description = worker.ready()
                self.assertRegex(description, r"^torch 2\.\S+, \d+ threads, " +
                                 ("float32" if name == "float32" else "autocast bfloat16") + "$")
                self.assertGreater(worker.run(), 0)
                self.assertGreater(worker.run(), 0)
            finally:
                worker.close()

    def test_torch_peers_networks_have_the_posts_layers(self):
        # Without torch: network() takes PyTorch's nn as an argument, so a stand-in records the layers it makes.
        # They must be graphs/<net>.py's: each weight of the same shape (PyTorch's conv weights are out x in x 3 x 3,
        # its Linear's out x in).
        from bench import torch_peer
        from graphs import model

        class Layer:
            def __init__(self, kind, *args, **kwargs):
                self.kind, self.args, self.kwargs = kind, args, kwargs

        class NN:
            Sequential = lambda self, *layers: list(layers)
            Flatten = lambda self: Layer("Flatten")
            ReLU = lambda self: Layer("ReLU")
            MaxPool2d = lambda self, k: Layer("MaxPool2d", k)
            Linear = lambda self, i, o: Layer("Linear", i, o)
            Conv2d = lambda self, i, o, k, padding: Layer("Conv2d", i, o, k, padding=padding)

        for net in ("linear", "fc3", "conv4"):
            layers = torch_peer.network(net, NN())
            shapes = [(l.args[2], l.args[2], l.args[0], l.args[1]) if l.kind == "Conv2d" else l.args
                      for l in layers if l.kind in ("Conv2d", "Linear")]
            graph, _, _ = model.build_graph(net, "random_normal", 0.01)
            weights = [tuple(v.shape.as_list()) for v in graph.get_collection(tf.compat.v1.GraphKeys.TRAINABLE_VARIABLES)
                       if v.op.name.endswith("_weights")]
            self.assertEqual(shapes, weights, net)
            self.assertTrue(all(l.kwargs == {"padding": 1} for l in layers if l.kind == "Conv2d"), net)  # SAME
            self.assertEqual([l.args for l in layers if l.kind == "MaxPool2d"], [(2,), (2,)] if net == "conv4" else [])
            # A ReLU after each layer but the last, as in the posts.
            kinds = [l.kind for l in layers if l.kind != "Flatten"]
            self.assertEqual([k for i, k in enumerate(kinds[:-1]) if k in ("Conv2d", "Linear") and kinds[i + 1] != "ReLU"],
                             [], net)
            self.assertEqual(kinds[-1], "Linear")

    def test_torch_peers_weights_start_he_scaled_and_its_biases_at_zero(self):
        # initialize() takes torch as an argument too: a stand-in records each layer's initializer call.
        from bench import torch_peer

        class Weight:
            def __init__(self, *shape):
                self.shape = shape

            def __getitem__(self, index):  # weight[0]: one output unit's weights
                return Weight(*self.shape[1:])

            def numel(self):
                return int(np.prod(self.shape))

        class Conv2d:
            def __init__(self, cin, cout):
                self.weight, self.bias = Weight(cout, cin, 3, 3), Weight(cout)

        class Linear:
            def __init__(self, i, o):
                self.weight, self.bias = Weight(o, i), Weight(o)

        calls = []
        init = types.SimpleNamespace(trunc_normal_=lambda w, mean, std, a, b: calls.append((w.shape, mean, std, a, b)),
                                     zeros_=lambda b: calls.append((b.shape, "zeros")))
        torch = types.SimpleNamespace(nn=types.SimpleNamespace(Conv2d=Conv2d, Linear=Linear, init=init))
        torch_peer.initialize([Conv2d(1, 64), "relu", Conv2d(64, 128), Linear(6272, 10)], torch)
        truncation = 0.87962566103423978  # a unit normal's std once cut at 2 std, as TF's initializer corrects for
        expected = []
        for shape, fan_in in (((64, 1, 3, 3), 9), ((128, 64, 3, 3), 576), ((10, 6272), 6272)):
            std = np.sqrt(2.0 / fan_in) / truncation
            expected += [(shape, 0.0, std, -2 * std, 2 * std), (shape[:1], "zeros")]
        self.assertEqual(len(calls), len(expected))
        for call, want in zip(calls, expected):
            self.assertEqual(call[:2], want[:2])
            self.assertAllClose(call[2:], want[2:], rtol=1e-12)

    def test_torch_peer_without_torch_says_what_to_do(self):
        if importlib.util.find_spec("torch") is not None:
            self.skipTest("torch is installed here; this checks the message when it is not")
        worker = throughput.start_torch(sys.executable, "linear", steps=3, warmup=1)
        with self.assertRaisesRegex(peers.PeerError, r"cannot import torch .*pip install torch==2\.13\.0"):
            worker.ready()
        worker.close()


class CommandTest(tf.test.TestCase):

    def run_command(self, *flags):
        return subprocess.run(
            [sys.executable, throughput.__file__, "--net=linear", "--repeats=2", "--steps=3", "--warmup=1",
             "--test_images=1000"] + list(flags), capture_output=True, text=True, timeout=600,
            env=dict(throughput.peer_env(), TF_CPP_MIN_LOG_LEVEL="2"))

    def test_whole_command_prints_every_line(self):
        result = self.run_command()
        self.assertEqual(result.returncode, 0, result.stderr[-3000:])
        out = result.stdout
        self.assertRegex(out, r"(?m)^load average at start: {n} {n} {n}".format(n=NUMBER))
        self.assertRegex(out, r"(?m)^load average at end: {n} {n} {n}".format(n=NUMBER))
        self.assertRegex(out, r"(?m)^linear train FLOPs per step: .*profiler")
        self.assertRegex(out, r"(?m)^keras peer: keras 3\.")
        self.assertRegex(out, r"(?m)^linear train speed: {n}x keras \(median of repeat-by-repeat ratios\)$".format(
            n=NUMBER))
        self.assertRegex(out, r"(?m)^linear training step, traced, one op at a time: {n} ms$".format(n=NUMBER))
        self.assertRegex(out, r"(?m)^  matmul \(and its gradients\): {n} ms \({n}%\), {n} GFLOP/s$".format(n=NUMBER))
        for pattern in LINES:
            match = re.search("(?m)^" + pattern + "$", out)
            self.assertIsNotNone(match, "no line /{}/ in:\n{}".format(pattern, out))
            for value in match.groupdict().values():
                self.assertGreater(float(value), 0, match.group(0))

    @unittest.skipUnless(NATIVE_BFLOAT16, "this CPU has no native bfloat16 (avx512_bf16 or amx_bf16): the bench "
                         "refuses --precision=bfloat16 here (test_bfloat16_on_a_cpu_without_it_... checks that)")
    def test_bfloat16_command_prints_float32_lines_and_the_speed_up(self):
        result = self.run_command("--precision=bfloat16", "--nokeras", "--nobreakdown")
        self.assertEqual(result.returncode, 0, result.stderr[-3000:])
        out = result.stdout
        for pattern in [LINES[0], LINES[2], LINES[3]]:  # float32's own lines, as a float32 run prints them
            self.assertRegex(out, "(?m)^" + pattern + "$")
            self.assertRegex(out, "(?m)^" + pattern.replace("linear ", "linear bfloat16 ", 1) + "$")
        self.assertRegex(out, r"(?m)^measured peak: float32 \d+x\d+ matmul, the best of sizes")
        self.assertRegex(out, r"(?m)^measured peak: bfloat16 \d+x\d+ matmul, the best of sizes")
        self.assertRegex(out, r"(?m)^linear bfloat16 speed-up over float32: {n} x \(median of repeat-by-repeat "
                              r"ratios\)$".format(n=NUMBER))

    def test_torch_python_that_is_not_a_program_is_one_line(self):
        result = self.run_command("--torch_python=/nonexistent/python3", "--nokeras")
        self.assertEqual(result.returncode, 1)
        self.assertEqual(result.stderr.strip().splitlines()[-1],
                         "error: flag --torch_python=/nonexistent/python3: is not an executable file; give the "
                         "path of a Python interpreter with torch installed; see --help")
        self.assertNotIn("Traceback", result.stderr)

    def test_bfloat16_on_a_cpu_without_it_is_one_line_before_anything_runs(self):
        folder = self.create_tempdir()
        folder.create_file("cpuinfo", "flags\t: avx2 fma avx512f\n")
        argv, env = testing.on_cpu_command(os.path.join(folder.full_path, "cpuinfo"), throughput.__file__,
                                           ["--net=linear", "--precision=bfloat16"])
        result = subprocess.run(argv, capture_output=True, text=True, timeout=120,
                                env=dict(throughput.peer_env(), TF_CPP_MIN_LOG_LEVEL="2"))
        self.assertEqual(result.returncode, 1)
        self.assertRegex(result.stderr.strip().splitlines()[-1],
                         r"^error: --precision=bfloat16 needs a CPU with native bfloat16 .*use --precision=float32$")
        self.assertNotIn("Traceback", result.stderr)
        self.assertEqual(result.stdout, "")

    def test_torch_python_without_torch_is_one_line(self):
        if importlib.util.find_spec("torch") is not None:
            self.skipTest("torch is installed here; this checks the message when it is not")
        result = self.run_command("--torch_python=" + sys.executable, "--nokeras")
        self.assertEqual(result.returncode, 1)
        self.assertRegex(result.stderr.strip().splitlines()[-1], r"^error: .* cannot import torch ")
        self.assertNotIn("Traceback", result.stderr)
        self.assertNotIn("train images/s:", result.stdout)


if __name__ == "__main__":
    tf.test.main()
