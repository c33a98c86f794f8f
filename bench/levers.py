"""A lever of the training step, measured as an interleaved A/B in one process: `bazel run //bench:levers`.

The lever: `minimize(cost)`'s default `gate_gradients=GATE_OP` (the posts' graph) against `GATE_NONE`. Under
GATE_OP each op's gradients pass through a `tuple` of identities before they are used, so a layer's weight
gradient (Conv2DBackpropFilter) and its bias gradient (BiasAddGrad) read different tensors, and oneDNN cannot
fuse them into one `_MklNativeConv2DBackpropFilterWithBias` kernel, as it does for Keras. Prints, for --net
in --precision:

  conv4 gradient kernels, gated (the posts' graph): BiasAddGrad x5, _MklNativeConv2DBackpropFilter x4, ...
  conv4 gradient kernels, ungated (GATE_NONE): BiasAddGrad x1, _MklNativeConv2DBackpropFilterWithBias x4, ...
  conv4 gated train images/s per repeat, in order: ...
  conv4 ungated train images/s per repeat, in order: ...
  conv4 ungated over gated: 1.04 x (median of repeat-by-repeat ratios)
  conv4 weights after 27 steps, ungated against gated: max |difference| 0 (bit for bit)

Both sessions start from the same seed and train the same batches in turn, so the last line says whether the
lever changes the arithmetic. The kernels come from one traced step of each; oneDNN's kernels (`_MklNative...`)
show only where TensorFlow turns oneDNN on (by default on CPUs with AVX-512 and newer; TF_ENABLE_ONEDNN_OPTS=1
forces it). run.py's graph is not changed by this file (docs/bfloat16.md).
"""

import collections
import statistics
import sys

from absl import flags

from bench import throughput
from machine import command_line
from session import precision as precisions

FLAGS = flags.FLAGS
# The flags are //bench:throughput's (defined when it is imported): --net, --precision, --repeats, --steps and
# --warmup mean the same here; its others time peers or the test pass, which an A/B of the step does not.
NOT_HERE = ("test_images", "test_batch_size", "breakdown", "keras", "torch_python", "_keras_worker")

SIDES = (("gated", "gated (the posts' graph)"), ("ungated", "ungated (GATE_NONE)"))


def gradient_kernels(traced):
    """{kernel: count} of the weight-gradient kernels (convolution filter and input gradients, bias
    gradients, matmuls) in a traced step's RunMetadata, as TensorFlow ran them (rewrites included)."""
    kernels = collections.Counter()
    for device in traced.step_stats.dev_stats:
        for node in device.node_stats:
            parsed = throughput.timeline.parse_timeline_label(node.timeline_label)
            if parsed and node.node_name.startswith("gradients/") and (
                    "Backprop" in parsed[0] or "BiasAddGrad" in parsed[0] or "MatMul" in parsed[0]):
                kernels[parsed[0]] += 1
    return dict(kernels)


def traced_step(bench):
    """One training step of `bench` (a throughput.GraphBench), traced; advances its step like a timed one."""
    tf = throughput.tf
    images, labels = bench.batches(bench.step)
    metadata = tf.compat.v1.RunMetadata()
    bench.session.run(bench.nodes.optimizer, {bench.nodes.input: images, bench.nodes.labels: labels},
                      options=tf.compat.v1.RunOptions(trace_level=tf.compat.v1.RunOptions.FULL_TRACE),
                      run_metadata=metadata)
    bench.step += 1
    return metadata


def weights(bench):
    graph = bench.session.graph
    return bench.session.run(graph.get_collection(throughput.tf.compat.v1.GraphKeys.TRAINABLE_VARIABLES))


def max_difference(ours, theirs):
    import numpy as np

    return max(float(np.max(np.abs(a.astype(np.float64) - b.astype(np.float64)))) for a, b in zip(ours, theirs))


def ratio_line(net, seconds):
    """`conv4 ungated over gated: 1.04 x`: the median of the repeat-by-repeat ratios of images/s."""
    ratio = statistics.median(gated / ungated for gated, ungated in zip(seconds["gated"], seconds["ungated"]))
    return "{} ungated over gated: {:.2f} x (median of repeat-by-repeat ratios)".format(net, ratio)


def difference_line(net, step, difference):
    words = "0 (bit for bit)" if difference == 0 else "{:.3g}".format(difference)
    return "{} weights after {} steps, ungated against gated: max |difference| {}".format(net, step, words)


def kernel_line(net, label, kernels):
    listed = ", ".join("{} x{}".format(name, count) for name, count in sorted(kernels.items()))
    return "{} gradient kernels, {}: {}".format(net, label, listed or "none traced")


def measure(net, data, precision, repeats, steps, warmup):
    """The lines above, from two throughput.GraphBench sessions that take turns."""
    tf = throughput.tf
    sides = {"gated": throughput.GraphBench(net, data, warmup, precision=precision),
             "ungated": throughput.GraphBench(net, data, warmup, precision=precision,
                                              gate_gradients=tf.compat.v1.train.Optimizer.GATE_NONE)}
    prefix = throughput.line_prefix(net, precision)
    lines = [kernel_line(prefix, label, gradient_kernels(traced_step(sides[key]))) for key, label in SIDES]
    seconds = {key: [] for key in sides}
    for _ in range(repeats):
        for key, bench in sides.items():
            seconds[key].append(bench.train_repeat(steps))
    for key, _ in SIDES:
        lines.append("{} {} train images/s per repeat, in order: {}".format(
            prefix, key, throughput.in_order(seconds[key], steps * throughput.BATCH_SIZE)))
    lines.append(ratio_line(prefix, seconds))
    lines.append(difference_line(prefix, sides["gated"].step, max_difference(*(weights(b) for b in sides.values()))))
    for bench in sides.values():
        bench.close()
    return lines


def main(argv):
    del argv  # command_line.run_app has refused any extra argument
    given = [name for name in NOT_HERE if FLAGS[name].present]
    if given:
        print("error: --{} is //bench:throughput's; //bench:levers takes --net, --precision, --repeats, --steps "
              "and --warmup".format(given[0]), file=sys.stderr)
        return 1
    try:
        precisions.check(FLAGS.precision)
    except precisions.PrecisionError as e:
        print("error: {}".format(e), file=sys.stderr)
        return 1
    steps, warmup, _ = throughput.net_defaults(FLAGS.net, FLAGS.steps, FLAGS.warmup)
    throughput.tf.compat.v1.disable_eager_execution()  # as run.py: TF1 graphs and sessions
    throughput.tf.get_logger().setLevel("ERROR")
    print("load average at start: " + throughput.load_average(), flush=True)
    try:
        for line in measure(FLAGS.net, throughput.loader.load_mnist(), FLAGS.precision, FLAGS.repeats, steps,
                            warmup):
            print(line, flush=True)
    except KeyboardInterrupt:
        print("interrupted: nothing measured (an A/B has no partial result)", file=sys.stderr)
        return 130
    print("load average at end: " + throughput.load_average(), flush=True)
    return 0


if __name__ == "__main__":
    command_line.run_app(main)
