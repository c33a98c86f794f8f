"""//bench:levers: the gated (posts') and ungated graphs, the A/B's figures and the kernels it names."""

import os
import re
import statistics

# oneDNN off in this process (TensorFlow reads it once, at import): its fused weight-and-bias gradient sums
# in another order, so "bit for bit" below is about the gating alone. On by default on AVX-512 CPUs.
os.environ["TF_ENABLE_ONEDNN_OPTS"] = "0"

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
from absl.testing import absltest  # noqa: E402

from bench import levers  # noqa: E402
from bench import throughput  # noqa: E402
from data import loader  # noqa: E402
from graphs import model  # noqa: E402
from tests import testing  # noqa: E402

GATE_NONE = tf.compat.v1.train.Optimizer.GATE_NONE


def gating_identities(graph):
    """The identities minimize's GATE_OP puts between an op's gradients and their use."""
    return sorted(op.name for op in graph.get_operations()
                  if op.name.startswith("gradients/") and "/tuple/control_dependency" in op.name)


def trained_weights(net, gate_gradients, steps=3):
    graph, nodes, init_op = model.build_graph(net, "random_normal", 0.01, seed=3, gate_gradients=gate_gradients)
    rng = np.random.default_rng(0)
    shape = (steps, 100) + tuple(model.NETS[net].INPUT_SHAPE)
    images = rng.random(shape, np.float32)
    labels = np.eye(10, dtype=np.float32)[rng.integers(0, 10, (steps, 100))]
    with tf.compat.v1.Session(graph=graph) as session:
        session.run(init_op)
        for step in range(steps):
            session.run(nodes.optimizer, {nodes.input: images[step], nodes.labels: labels[step]})
        return session.run(graph.get_collection(tf.compat.v1.GraphKeys.TRAINABLE_VARIABLES))


class GraphTest(absltest.TestCase):

    def test_the_posts_graph_is_gated_and_the_lever_only_removes_the_gates(self):
        posts_graph, _, _ = model.build_graph("fc3", "random_normal", 0.01)
        ungated, _, _ = model.build_graph("fc3", "random_normal", 0.01, gate_gradients=GATE_NONE)
        gates = gating_identities(posts_graph)
        # Each MatMul's gradient pair and each BiasAdd's: fc3 has three layers of each.
        self.assertLen([g for g in gates if "/MatMul_grad/" in g], 6, gates)
        self.assertEqual(gating_identities(ungated), [])
        ops = {op.name: op.type for op in posts_graph.get_operations()}
        left = {name: kind for name, kind in ops.items()
                if not ("/tuple/" in name and name.startswith("gradients/"))}
        self.assertEqual(left, {op.name: op.type for op in ungated.get_operations()})

    def test_the_default_is_minimizes_own_byte_for_byte(self):
        graph, _, _ = model.build_graph("linear", "random_normal", 0.5)
        plain = tf.Graph()
        with plain.as_default():
            tf.compat.v1.set_random_seed(0)
            input, labels = model.placeholders(model.NETS["linear"].INPUT_SHAPE)
            logits = tf.identity(model.NETS["linear"].inference(input, "random_normal"), name="logits")
            cost = model.loss(logits, labels)
            tf.compat.v1.train.GradientDescentOptimizer(0.5).minimize(cost, name="optimizer")  # no gate given
            model.evaluation(logits, labels)
            tf.compat.v1.global_variables_initializer()
        self.assertEqual(graph.as_graph_def().SerializeToString(deterministic=True),
                         plain.as_graph_def().SerializeToString(deterministic=True))

    def test_ungated_training_gives_the_same_weights_bit_for_bit(self):
        for net in ("linear", "fc3"):
            for gated, ungated in zip(trained_weights(net, model.POSTS_GATING), trained_weights(net, GATE_NONE)):
                np.testing.assert_array_equal(gated, ungated, err_msg=net)


class LinesTest(absltest.TestCase):

    def test_ratio_is_the_median_of_repeat_by_repeat_ratios(self):
        seconds = {"gated": [2.0, 4.0, 3.0], "ungated": [1.0, 4.0, 2.0]}  # ratios 2, 1, 1.5
        self.assertEqual(levers.ratio_line("conv4 bfloat16", seconds),
                         "conv4 bfloat16 ungated over gated: 1.50 x (median of repeat-by-repeat ratios)")

    def test_difference_words(self):
        self.assertTrue(levers.difference_line("fc3", 7, 0.0).endswith("after 7 steps, ungated against gated: "
                                                                         "max |difference| 0 (bit for bit)"))
        self.assertTrue(levers.difference_line("fc3", 7, 2.5e-8).endswith("max |difference| 2.5e-08"))
        self.assertEqual(levers.max_difference([np.array([1.0, 2.0])], [np.array([1.0, 2.5])]), 0.5)

    def test_kernel_line_counts_each_kernel(self):
        self.assertEqual(levers.kernel_line("conv4", "ungated (GATE_NONE)", {"b": 1, "a": 4}),
                         "conv4 gradient kernels, ungated (GATE_NONE): a x4, b x1")

    def test_gradient_kernels_of_a_traced_step(self):
        tf.compat.v1.disable_eager_execution()
        data = loader.load_mnist()
        bench = throughput.GraphBench("fc3", data, warmup=1)
        try:
            kernels = levers.gradient_kernels(levers.traced_step(bench))
        finally:
            bench.close()
        # fc3's backward pass: two MatMuls per layer but the first layer's input gradient, which nothing
        # uses and TensorFlow never runs: 5; one bias gradient per layer: 3. Counted from the graph:
        graph, _, _ = model.build_graph("fc3", "random_normal", 0.01)
        matmuls = [op for op in graph.get_operations() if op.type == "MatMul" and op.name.startswith("gradients/")]
        self.assertLen(matmuls, 6)
        self.assertEqual(sum(n for k, n in kernels.items() if "MatMul" in k), 5, kernels)
        self.assertEqual(sum(n for k, n in kernels.items() if "BiasAddGrad" in k), 3, kernels)


class ProgramTest(absltest.TestCase):

    def test_the_ab_lines_agree_with_each_other(self):
        done = testing.run_program("bench/levers.py", ["--net=linear", "--repeats=3", "--steps=20", "--warmup=2"],
                                   env={"TF_ENABLE_ONEDNN_OPTS": "0"})
        self.assertEqual(done.returncode, 0, done.stderr[-2000:])
        out = done.stdout
        per = {side: [float(v) for v in re.search(r"^linear {} train images/s per repeat, in order: (.*)$".format(
            side), out, re.M).group(1).split(", ")] for side in ("gated", "ungated")}
        self.assertLen(per["gated"], 3)
        ratio = float(re.search(r"^linear ungated over gated: ([\d.]+) x", out, re.M).group(1))
        # images/s printed to 0.1: the ratio recomputed from them agrees to within that rounding.
        self.assertAlmostEqual(ratio, statistics.median(u / g for g, u in zip(per["gated"], per["ungated"])),
                               delta=0.01)
        # warm-up 2, the traced step, 3 repeats of 20: 63 steps on each side, the same weights after them.
        self.assertIn("linear weights after 63 steps, ungated against gated: max |difference| 0 (bit for bit)", out)
        self.assertRegex(out, r"linear gradient kernels, gated \(the posts' graph\): BiasAddGrad x1, \S*MatMul x1")

    def test_oneDNN_fuses_weight_and_bias_gradients_only_ungated(self):
        # oneDNN is on by default only on newer CPUs; forced on here so the rewrite shows on any x86 CPU.
        done = testing.run_program("bench/levers.py", ["--net=conv4", "--repeats=1", "--steps=1", "--warmup=1"],
                                   env={"TF_ENABLE_ONEDNN_OPTS": "1"}, timeout=600)
        self.assertEqual(done.returncode, 0, done.stderr[-2000:])
        gated = re.search(r"^conv4 gradient kernels, gated.*$", done.stdout, re.M).group(0)
        ungated = re.search(r"^conv4 gradient kernels, ungated.*$", done.stdout, re.M).group(0)
        self.assertNotIn("WithBias", gated)
        # conv4's four convolutions: each weight gradient fused with its bias gradient.
        self.assertIn("_MklNativeConv2DBackpropFilterWithBias x4", ungated)

    def test_a_flag_of_the_throughput_bench_is_refused_in_one_line(self):
        done = testing.run_program("bench/levers.py", ["--keras"])
        self.assertEqual(done.returncode, 1)
        self.assertEqual(done.stderr.strip().splitlines()[-1], "error: --keras is //bench:throughput's; "
                         "//bench:levers takes --net, --precision, --repeats, --steps and --warmup")
        self.assertNotIn("Traceback", done.stderr)


if __name__ == "__main__":
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    absltest.main()
