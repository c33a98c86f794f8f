"""How fast //:run trains and tests: `bazel run //bench:throughput -- --net=conv4` (issue 8).

Prints, each the median of --repeats timed repeats after a warm-up, on MNIST batches of 100:

  conv4 train images/s: N        trainer.train(...) itself, timed for --steps steps: the graph of
                                 graphs.model.build, the session run.py makes, trainer.Batches feeding
  conv4 keras train images/s: N  the same layers, initializers, loss and plain SGD in Keras 3
                                 (`model.fit` on the same images, batch 100, in a worker process:
                                 Keras needs eager execution, which the TF1 graph side turns off)
  conv4 torch eager train images/s: N
                                 with --torch_python=PYTHON: the same in PyTorch eager (torch_peer.py)
  conv4 test images/s: N         trainer.evaluate(...) (logits only) at run.py's --test_batch_size, 1000
  conv4 train GFLOP/s: N (P% of measured peak M)
                                 FLOPs of one training step (counted on the graph, see count_train_flops)
                                 x steps / time, against a float32 matmul timed on the spot
  conv4 train speed: 1.01x keras, 1.30x torch eager
                                 ours over each peer, repeat by repeat (they take turns: peers.py)

With --precision=bfloat16 (issue 15) every line starts `conv4 bfloat16 ...`: our session with the
oneDNN bfloat16 rewrite (session/precision.py), Keras 3 under the `mixed_bfloat16` dtype policy, and
PyTorch eager under torch.autocast("cpu", dtype=torch.bfloat16) (`conv4 bfloat16 torch train images/s`);
the peak is then a bfloat16 matmul (measured beside the float32 one), and the breakdown shows the
rewrite's casts. run.py's float32 step takes its turn in the same repeats and prints its float32 lines
unchanged (`conv4 train images/s: N` ...), then

  conv4 bfloat16 speed-up over float32: 1.60 x (median of repeat-by-repeat ratios)

plus the load average at the start and the end: on a shared machine every figure moves with it.
"""

import os
import shutil
import statistics
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from absl import flags

from bench import peers
from graphs import posts
from machine import command_line
from machine import quiet
from session import precision as precisions

FLAGS = flags.FLAGS

# Per net: (timed steps per repeat, warm-up steps, test images per repeat). A conv4 step of 100
# images is ~44 GFLOP; the small nets need many steps to be timed at all.
DEFAULTS = {
    "conv4": (20, 5, 2000),
    "fc3": (200, 50, 10000),
    "linear": (1000, 200, 10000),
}
BATCH_SIZE = peers.BATCH_SIZE  # run.py's --batch_size default, the posts' batch (peers train with it too)
TEST_BATCH_SIZE = 1000  # run.py's --test_batch_size default
PEAK_SIZES = (2048, 3072)  # both near the top of the curve here; smaller ones read low

flags.DEFINE_enum("net", "conv4", sorted(posts.NETS), "Network to measure.")
flags.DEFINE_integer("repeats", 5, "Timed repeats; each figure is their median.", lower_bound=1)
flags.DEFINE_integer("steps", None, "Training steps per repeat. Default: conv4 20, fc3 200, linear 1000.",
                     lower_bound=1)
flags.DEFINE_integer("warmup", None, "Untimed training steps first (graph setup, first-run costs). "
                     "Default: conv4 5, fc3 50, linear 200.", lower_bound=0)
flags.DEFINE_integer("test_images", None, "Test images per timed test repeat (the first ones). "
                     "Default: conv4 2000, fc3 and linear all 10000.", lower_bound=1)
flags.DEFINE_integer("test_batch_size", TEST_BATCH_SIZE, "Test images per inference batch.", lower_bound=1)
flags.DEFINE_enum("precision", precisions.DEFAULT, list(precisions.PRECISIONS),
                  "Arithmetic of every side: float32, or bfloat16 (our session with the oneDNN bfloat16 rewrite, "
                  "Keras with the mixed_bfloat16 policy, PyTorch under autocast); needs a CPU with avx512_bf16 "
                  "or AMX.")
flags.DEFINE_bool("breakdown", True, "Also trace a few training steps and say where the time goes, by "
                  "kind of kernel, with each kind's GFLOP/s.")
flags.DEFINE_bool("keras", True, "Also time the Keras 3 equivalent (in a worker process).")
flags.DEFINE_string("torch_python", None, "Also time PyTorch eager (bench/torch_peer.py), run by this Python "
                    "interpreter, which must have torch installed (it is not one of LTFN's requirements), "
                    "e.g. a venv made with `pip install torch==2.13.0 numpy`.")
flags.DEFINE_bool("_keras_worker", False, "Internal: be the Keras peer (bench/peers.py protocol).")


def find_program(name):
    """A path (relative to where `bazel run` started) or a bare name looked up on PATH, as a shell
    would; None if it names no executable file."""
    if os.sep not in name:
        return shutil.which(name)
    path = command_line.user_path(name)
    return path if os.path.isfile(path) and os.access(path, os.X_OK) else None


flags.register_validator("torch_python", lambda name: name is None or find_program(name) is not None,
                         "is not an executable file; give the path of a Python interpreter with torch "
                         "installed")

if __name__ == "__main__":
    command_line.parse_command_line()  # before TensorFlow is imported: a bad flag or --help answers at once

quiet.import_tensorflow()  # without its start-up notes that are not about this run (machine/quiet.py)
import numpy as np  # noqa: E402  (the imports from here on load TensorFlow)
import tensorflow as tf  # noqa: E402

from data import loader  # noqa: E402
from graphs import model  # noqa: E402
from session import timeline  # noqa: E402
from session import trainer  # noqa: E402


def net_defaults(net, steps=None, warmup=None, test_images=None):
    d_steps, d_warmup, d_test = DEFAULTS[net]
    return (d_steps if steps is None else steps, d_warmup if warmup is None else warmup,
            d_test if test_images is None else test_images)


def load_average():
    return "{:.2f} {:.2f} {:.2f} (1, 5, 15 min; {} CPUs)".format(*os.getloadavg(), os.cpu_count())


def new_session(graph, precision=precisions.DEFAULT, **config_fields):
    """The session exactly as run.py makes it: session/precision.py's config for `precision`, plus any
    other ConfigProto fields given (the breakdown's). Measured A/B on 2 cores (docs/speed.md):
    one op at a time (a per-session inter-op pool of one thread) tied with the default, and XLA
    (global_jit_level ON_1 with --tf_xla_cpu_global_jit) trained conv4 ~35 % slower, so neither is used."""
    return tf.compat.v1.Session(graph=graph, config=precisions.session_config(precision, **config_fields))


def build(net, seed=0, precision=precisions.DEFAULT, gate_gradients=None, **config_fields):
    """run.py's graph for `net` with the post's init and learning rate, in a fresh initialized session.

    (run.py also builds LTFN 6's histogram ops; they run on printed steps only, which are not timed.)
    gate_gradients: minimize's, for bench/levers.py's A/B; None is the posts' graph.
    """
    init = posts.DEFAULT_INIT[net]
    graph, nodes, init_op = model.build_graph(net, init, posts.settings(net, init).learning_rate, seed,
                                              model.POSTS_GATING if gate_gradients is None else gate_gradients)
    graph.finalize()
    session = new_session(graph, precision, **config_fields)
    session.run(init_op)
    return session, nodes


def time_train(session, nodes, batches, start_step, steps):
    """Seconds trainer.train takes for steps [start_step, start_step + steps), none of them printed."""
    begin = time.perf_counter()
    done = trainer.train(session, nodes, batches, start_step + steps, print_every=1 << 40, start_step=start_step)
    elapsed = time.perf_counter() - begin
    assert done == start_step + steps, done
    return elapsed


def time_test(session, nodes, dataset, batch_size, input_shape):
    begin = time.perf_counter()
    trainer.evaluate(session, nodes, dataset, batch_size, input_shape)
    return time.perf_counter() - begin


class GraphBench:
    """run.py's graph for `net` in its session, warmed up; train_repeat and test_repeat time it."""

    def __init__(self, net, data, warmup, test_batch_size=TEST_BATCH_SIZE, precision=precisions.DEFAULT,
                 gate_gradients=None):
        self.module = model.NETS[net]
        self.session, self.nodes = build(net, precision=precision, gate_gradients=gate_gradients)
        self.batches = trainer.Batches(data.train, BATCH_SIZE, self.module.INPUT_SHAPE)
        self.test_batch_size = test_batch_size
        # Step 0 is a printed step in trainer.train (accuracy fetched too): part of the warm-up.
        self.step = max(warmup, 1)
        trainer.train(self.session, self.nodes, self.batches, self.step, print_every=1 << 40)
        warm = loader.DataSet(data.test.images[:test_batch_size], data.test.labels[:test_batch_size])
        self.test_repeat(warm)

    def train_repeat(self, steps):
        seconds = time_train(self.session, self.nodes, self.batches, self.step, steps)
        self.step += steps
        return seconds

    def test_repeat(self, test_set):
        return time_test(self.session, self.nodes, test_set, self.test_batch_size, self.module.INPUT_SHAPE)

    def close(self):
        self.session.close()


def measure(net, data, repeats, steps, warmup, test_images, test_batch_size=TEST_BATCH_SIZE, peers=(),
            precision=precisions.DEFAULT, float32_test_batch_size=TEST_BATCH_SIZE):
    """{"train": [seconds per repeat], "test": [...], <peer name>: [...]}: the TF1 graph path, run.py's
    own code, and each peer (peers.Peer, already started), repeat by repeat in turn.

    In a precision other than float32, run.py's float32 session takes its turn too (after ours, before
    the peers): "float32 train" and "float32 test", so the speed-up over float32 compares repeats taken
    moments apart, as the peers' ratios do."""
    graphs = {"": GraphBench(net, data, warmup, test_batch_size, precision)}
    if precision != "float32":
        graphs["float32 "] = GraphBench(net, data, warmup, float32_test_batch_size, "float32")
    for peer in peers:
        peer.ready()
    seconds = {key + kind: [] for key in graphs for kind in ("train", "test")}
    seconds.update((peer.name, []) for peer in peers)
    for _ in range(repeats):
        for key, graph in graphs.items():
            seconds[key + "train"].append(graph.train_repeat(steps))
        for peer in peers:
            seconds[peer.name].append(peer.run())
    for peer in peers:  # test inference is timed alone
        peer.close()
    test_set = loader.DataSet(data.test.images[:test_images], data.test.labels[:test_images])
    for _ in range(repeats):
        for key, graph in graphs.items():
            seconds[key + "test"].append(graph.test_repeat(test_set))
    for graph in graphs.values():
        graph.close()
    return seconds


def float32_side(seconds):
    """The float32 session's repeats out of measure()'s seconds, keyed as a float32 run's own."""
    return {"train": seconds["float32 train"], "test": seconds["float32 test"]}


def speed_up_line(net, seconds, precision):
    """`conv4 bfloat16 speed-up over float32: 1.58 x`: median of the repeat-by-repeat ratios."""
    ratio = statistics.median(f32 / ours for ours, f32 in zip(seconds["train"], seconds["float32 train"]))
    return "{} speed-up over float32: {:.2f} x (median of repeat-by-repeat ratios)".format(
        line_prefix(net, precision), ratio)


def _fixed_batch_train_graph(net, batch_size):
    """The training step's ops only (what running `optimizer` and `cost` executes), with the
    placeholders' batch dimension fixed, so every shape, hence every op's FLOPs, is known."""
    graph, nodes, _ = model.build_graph(net, posts.DEFAULT_INIT[net], 0.001)
    step_ops = tf.compat.v1.graph_util.extract_sub_graph(
        graph.as_graph_def(), [nodes.optimizer.name, nodes.cost.op.name])
    fixed = tf.Graph()
    with fixed.as_default():
        images = tf.compat.v1.placeholder(tf.float32, [batch_size] + nodes.input.shape.as_list()[1:])
        labels = tf.compat.v1.placeholder(tf.float32, [batch_size] + nodes.labels.shape.as_list()[1:])
        tf.compat.v1.import_graph_def(step_ops, input_map={"input:0": images, "labels:0": labels}, name="")
    return fixed


def forward_flops(graph):
    """2 x multiply-adds of the forward convolutions and matmuls (op_flops), from their static shapes."""
    return sum(op_flops(op) for op in graph.get_operations() if not op.name.startswith("gradients/"))


def count_train_flops(net, batch_size=BATCH_SIZE):
    """(FLOPs of one training step of batch_size images, how they were counted).

    tf.compat.v1.profiler's float_operation counts every op with a registered "flops" statistic:
    Conv2D, Conv2DBackpropInput, Conv2DBackpropFilter, MatMul, BiasAdd(Grad), MaxPool(Grad), the
    loss's elementwise ops... but not the ApplyGradientDescent updates (2 FLOPs per weight, <0.01 %).
    It also counts layer1's input gradient, which tf.gradients builds but TensorFlow never runs (nothing
    uses it): 0.09 of conv4's 43.7 GFLOP; step_breakdown counts only what ran.
    If it ever misses the gradient convolutions (less than 2.5x the forward count), the figure is
    3 x the forward conv/matmul FLOPs counted from shapes (forward + two backward passes) instead.
    """
    graph = _fixed_batch_train_graph(net, batch_size)
    options = tf.compat.v1.profiler.ProfileOptionBuilder.float_operation()
    options["output"] = "none"
    counted = tf.compat.v1.profiler.profile(graph, options=options, cmd="scope").total_float_ops
    forward = forward_flops(graph)
    if counted >= 2.5 * forward:
        return counted, ("tf.compat.v1.profiler float_operation on the training step's ops, batch {} fixed "
                         "(forward and gradient convs/matmuls, bias, pooling, loss; not the weight updates); "
                         "3 x analytic forward conv/matmul = {:.4g} GFLOP".format(batch_size, 3 * forward / 1e9))
    return 3 * forward, ("3 x analytic forward conv/matmul FLOPs, batch {} (the profiler counted only {:.4g} "
                         "GFLOP: it missed the gradient ops)".format(batch_size, counted / 1e9))


# What one training step spends its time on, by kind of kernel: (label, kernel name test), the first
# that matches, by the kernel's name in the trace (plain `MaxPoolGrad`, oneDNN's `_MklNative...`, fused
# `_Fused...`). Every kind of op that takes more than a few per cent of a conv4 step has its own row
# (docs/speed.md), so "everything else" is only what is left: the loss, reshapes, the executor's own.
KERNEL_KINDS = [
    ("conv forward (fused with bias and ReLU)", lambda kernel: "Conv2D" in kernel and "Backprop" not in kernel),
    ("conv gradient wrt input", lambda kernel: "Conv2DBackpropInput" in kernel),
    # (and _MklNativeConv2DBackpropFilterWithBias, where oneDNN computes the bias's gradient with it)
    ("conv gradient wrt weights", lambda kernel: "Conv2DBackpropFilter" in kernel),
    ("matmul (and its gradients)", lambda kernel: "MatMul" in kernel),
    ("ReLU gradient (ReluGrad)", lambda kernel: "ReluGrad" in kernel),
    ("bias gradient (BiasAddGrad)", lambda kernel: "BiasAddGrad" in kernel),
    ("max pooling gradient (MaxPoolGrad)", lambda kernel: "MaxPoolGrad" in kernel),
    ("max pooling (MaxPool)", lambda kernel: "MaxPool" in kernel),
    ("weight updates (ApplyGradientDescent)", lambda kernel: "ApplyGradientDescent" in kernel),
    # Under --precision=bfloat16, what the rewrite adds between its bfloat16 ops and float32 ones (float32
    # has one, of a few microseconds, in the cost's gradient).
    ("casts (Cast)", lambda kernel: "Cast" in kernel),
    ("everything else", lambda kernel: True),
]


def op_flops(op):
    """2 x multiply-adds of a convolution (or either of its gradients) or matmul with static shapes."""
    if op.type in ("Conv2D", "Conv2DBackpropInput", "Conv2DBackpropFilter"):
        out = op.outputs[0] if op.type == "Conv2D" else op.inputs[2]  # the convolution's output (gradient)
        kh, kw, cin, _ = (op.inputs[1] if op.type != "Conv2DBackpropFilter" else op.outputs[0]).shape.as_list()
        return 2 * int(np.prod(out.shape.as_list())) * kh * kw * cin
    if op.type == "MatMul":
        a, b = (x.shape.as_list() for x in op.inputs)
        m, k = a[::-1] if op.get_attr("transpose_a") else a
        n = b[0] if op.get_attr("transpose_b") else b[1]
        return 2 * m * k * n
    return 0


def kernel_kind(kernel):
    return next(label for label, matches in KERNEL_KINDS if matches(kernel))


def step_breakdown(net, data, traced_steps=3, precision=precisions.DEFAULT):
    """[(kind, seconds per step, FLOPs per step)] and the step's seconds, from traced training steps
    in a session that runs one op at a time (its own inter-op pool of one thread, each op with every
    core), so each kernel's time is its own. Kernels come from the trace, where TensorFlow's rewrites
    show (e.g. _MklNativeFusedConv2D for Conv2D+BiasAdd+Relu); FLOPs from the graph's shapes, for the
    ops that ran (the graph also holds layer1's input gradient, which nothing uses and TF never runs).
    """
    session, nodes = build(net, precision=precision, inter_op_parallelism_threads=1, use_per_session_threads=True)
    batches = trainer.Batches(data.train, BATCH_SIZE, model.NETS[net].INPUT_SHAPE)
    options = tf.compat.v1.RunOptions(trace_level=tf.compat.v1.RunOptions.FULL_TRACE)
    traced = []
    step_seconds = []
    for step in range(2 + traced_steps):  # two untimed: the first runs set kernels up
        images, labels = batches(step)
        metadata = tf.compat.v1.RunMetadata()
        begin = time.perf_counter()
        session.run([nodes.optimizer, nodes.cost], {nodes.input: images, nodes.labels: labels},
                    options=options, run_metadata=metadata)
        if step < 2:
            continue
        step_seconds.append(time.perf_counter() - begin)
        traced.append(metadata)
    session.close()
    micros, ran = trace_kinds(traced)
    return breakdown_rows(micros, flops_by_kind(net, ran), traced_steps), statistics.median(step_seconds)


def trace_kinds(traced):
    """({kind: microseconds of its kernels, summed over the traced steps}, {names of the nodes that ran})
    from the RunMetadata of traced steps."""
    micros = {label: 0 for label, _ in KERNEL_KINDS}
    ran = set()
    for metadata in traced:
        for device in metadata.step_stats.dev_stats:
            for node in device.node_stats:
                parsed = timeline.parse_timeline_label(node.timeline_label)
                if parsed:  # (nodes without one are the executor's own bookkeeping)
                    ran.add(node.node_name)
                    micros[kernel_kind(parsed[0])] += node.op_end_rel_micros - node.op_start_rel_micros
    return micros, ran


def flops_by_kind(net, ran):
    """{kind: FLOPs per step} of the training step's convolutions and matmuls that ran (names in `ran`)."""
    flops = {label: 0 for label, _ in KERNEL_KINDS}
    for op in _fixed_batch_train_graph(net, BATCH_SIZE).get_operations():
        # Forward ops all run (the cost needs them), fused under another name (layer2/layer2_out...).
        if op_flops(op) and (op.name in ran or not op.name.startswith("gradients/")):
            flops[kernel_kind(op.type)] += op_flops(op)
    return flops


def breakdown_rows(micros, flops, traced_steps):
    """[(kind, seconds per step, FLOPs per step)] in KERNEL_KINDS' order, kinds with neither left out."""
    return [(label, micros[label] / 1e6 / traced_steps, flops[label]) for label, _ in KERNEL_KINDS
            if micros[label] or flops[label]]


def breakdown_lines(net, rows, step_seconds):
    """net may carry the precision ("conv4 bfloat16"), as every line's prefix does."""
    lines = ["{} training step, traced, one op at a time: {:.1f} ms".format(net, 1000 * step_seconds)]
    for label, seconds, flops in rows:
        rate = ", {:.1f} GFLOP/s".format(flops / seconds / 1e9) if flops and seconds else ""
        lines.append("  {}: {:.1f} ms ({:.0f}%){}".format(label, 1000 * seconds, 100 * seconds / step_seconds, rate))
    return lines


def measure_peak(sizes=PEAK_SIZES, repeats=5, per_repeat=2, dtype="float32"):
    """(GFLOP/s, size): the best, over sizes, of the median GFLOP/s of a size x size matmul of `dtype`
    (float32 or bfloat16: both operands and the product in it), in a float32 session (no rewrite, so
    the matmul is exactly what was asked for; oneDNN runs bfloat16 natively, accumulating in float32).
    (A matmul is the densest work the CPU does; on this machine the float32 one reaches about 95 % of a
    hand-written FMA loop's rate.)"""
    graph = tf.Graph()
    products = {}
    with graph.as_default():
        for size in sizes:
            a = tf.Variable(tf.cast(tf.random.uniform([size, size], seed=1), dtype))
            b = tf.Variable(tf.cast(tf.random.uniform([size, size], seed=2), dtype))
            products[size] = tf.matmul(a, b).op  # run as a target: nothing is copied back to Python
        init_op = tf.compat.v1.global_variables_initializer()
    session = new_session(graph)
    session.run(init_op)
    best = (0.0, None)
    for size, product in products.items():
        session.run(product)
        rates = []
        for _ in range(repeats):
            begin = time.perf_counter()
            for _ in range(per_repeat):
                session.run(product)
            rates.append(2 * size ** 3 * per_repeat / (time.perf_counter() - begin) / 1e9)
        best = max(best, (statistics.median(rates), size))
    session.close()
    return best


def keras_model(net, init):
    """The network of graphs/<net>.py, layer for layer, with graphs/initializers.py's initializers."""
    import keras
    relu_init = {
        "random_normal": keras.initializers.RandomNormal(0.0, 1.0),
        "small": keras.initializers.RandomNormal(0.0, 0.01),
        "xavier": keras.initializers.GlorotUniform(),
        "variance_scaling": keras.initializers.VarianceScaling(2.0, "fan_in", "truncated_normal"),
    }[init]
    final_init = relu_init if init in ("random_normal", "small") else keras.initializers.GlorotUniform()
    L = keras.layers
    if net == "linear":
        body = []
    elif net == "fc3":
        body = [L.Dense(500, "relu", kernel_initializer=relu_init), L.Dense(500, "relu", kernel_initializer=relu_init)]
    else:
        conv = lambda depth: L.Conv2D(depth, 3, padding="same", activation="relu", kernel_initializer=relu_init)
        body = [conv(64), conv(64), L.MaxPool2D(2, padding="same"), conv(128), conv(128),
                L.MaxPool2D(2, padding="same"), L.Flatten()]
    net_model = keras.Sequential([keras.Input(model.NETS[net].INPUT_SHAPE)] + body +
                                 [L.Dense(10, kernel_initializer=final_init)])
    net_model.compile(optimizer=keras.optimizers.SGD(learning_rate=posts.settings(net, init).learning_rate),
                      loss=keras.losses.CategoricalCrossentropy(from_logits=True))
    return net_model


# The Keras dtype policy of each precision: mixed_bfloat16 computes in bfloat16 and keeps variables
# float32, as the oneDNN rewrite does on our side.
KERAS_POLICY = {"float32": "float32", "bfloat16": "mixed_bfloat16"}


def keras_worker(net, data, steps, warmup, repeats, seed=0, precision=precisions.DEFAULT):
    """The Keras peer (peers.py protocol): trains over the batches trainer.train takes (in order, 100).

    One `model.fit(train images, labels, batch_size=100, shuffle=False)` call, as a Keras user would
    train; a callback waits for the benchmark at each repeat's boundary and times the batches between,
    so fit's setup counts as warm-up. Its train step is a tf.function, without XLA (Keras 3's
    jit_compile="auto" turns XLA off on a CPU-only machine). Needs eager execution on.
    """
    import keras
    keras.utils.set_random_seed(seed)
    keras.mixed_precision.set_global_policy(KERAS_POLICY[precision])  # before the layers are made
    net_model = keras_model(net, posts.DEFAULT_INIT[net])
    batches = trainer.Batches(data.train, BATCH_SIZE, model.NETS[net].INPUT_SHAPE)
    warmup = max(warmup, 1)
    state = {"batches": 0, "begin": None}

    class Turns(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            state["batches"] += 1
            done = state["batches"] - warmup
            if done < 0 or done % steps:
                return
            if done == 0:
                peers.ready("keras {} model.fit, dtype policy {}".format(
                    keras.__version__, keras.mixed_precision.global_policy().name))
            else:
                peers.report(time.perf_counter() - state["begin"])
            if peers.next_run():
                state["begin"] = time.perf_counter()
            else:
                self.model.stop_training = True

    epochs = -(-(warmup + repeats * steps) * BATCH_SIZE // len(batches.images))
    net_model.fit(batches.images, batches.labels, batch_size=BATCH_SIZE, epochs=epochs, shuffle=False,
                  verbose=0, callbacks=[Turns()])


def peer_env():
    """The workers import bench/ and data/ from this tree, as this program does."""
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    return dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH")])))


def start_keras(net, repeats, steps, warmup, precision=precisions.DEFAULT):
    """The Keras peer in a fresh interpreter: this one runs TF1 graphs with eager execution off."""
    return peers.Peer("keras", [sys.executable, os.path.abspath(__file__), "--_keras_worker", "--net=" + net,
                                "--repeats={}".format(repeats), "--steps={}".format(steps),
                                "--warmup={}".format(warmup), "--precision=" + precision], peer_env())


def start_torch(python, net, steps, warmup, precision=precisions.DEFAULT):
    """The PyTorch eager peer (torch_peer.py) in `python`, which must have torch installed."""
    command = [python, os.path.join(os.path.dirname(os.path.abspath(__file__)), "torch_peer.py"),
               "--net=" + net, "--steps={}".format(steps), "--warmup={}".format(warmup), "--precision=" + precision,
               "--learning_rate={!r}".format(posts.settings(net, posts.DEFAULT_INIT[net]).learning_rate)]
    return peers.Peer("torch", command, peer_env())


def images_per_second(seconds, images):
    return statistics.median(images / s for s in seconds)


def peer_labels(precision=precisions.DEFAULT):
    """How the lines name each peer: float32's lines are read by other tools and stay as they were."""
    return {"keras": "keras", "torch": "torch eager" if precision == "float32" else "torch"}


def line_prefix(net, precision=precisions.DEFAULT):
    """`conv4` (float32, the lines as issue 8 made them) or `conv4 bfloat16`."""
    return net if precision == "float32" else "{} {}".format(net, precision)


def report_lines(net, seconds, steps, test_images, flops_per_step, peak, precision=precisions.DEFAULT):
    """The benchmark's figures as printed lines, from measure()'s seconds (peers optional)."""
    net = line_prefix(net, precision)
    images = steps * BATCH_SIZE
    gflops = flops_per_step * steps / statistics.median(seconds["train"]) / 1e9
    lines = ["{} train images/s: {:.1f}".format(net, images_per_second(seconds["train"], images))]
    ratios = []
    for name, label in peer_labels(precision).items():
        if name in seconds:
            lines.append("{} {} train images/s: {:.1f}".format(net, label, images_per_second(seconds[name], images)))
            # Repeat r of ours against repeat r of the peer, taken moments apart (peers.py says why).
            ratio = statistics.median(peer / ours for ours, peer in zip(seconds["train"], seconds[name]))
            ratios.append("{:.2f}x {}".format(ratio, label))
    lines.append("{} test images/s: {:.1f}".format(net, images_per_second(seconds["test"], test_images)))
    lines.append("{} train GFLOP/s: {:.2f} ({:.1f}% of measured peak {:.1f})".format(
        net, gflops, 100 * gflops / peak, peak))
    if ratios:
        lines.append("{} train speed: {} (median of repeat-by-repeat ratios)".format(net, ", ".join(ratios)))
    return lines


def in_order(seconds, images):
    return ", ".join("{:.1f}".format(images / s) for s in seconds)


def main(argv):
    try:
        return benchmark(argv)
    except peers.PeerError as e:
        print("error: {}".format(e), file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted: nothing measured (a benchmark has no partial result)", file=sys.stderr)
        return 130


def benchmark(argv):
    del argv  # command_line.run_app has refused any extra argument
    net, precision = FLAGS.net, FLAGS.precision
    steps, warmup, test_images = net_defaults(net, FLAGS.steps, FLAGS.warmup, FLAGS.test_images)
    if FLAGS._keras_worker:
        keras_worker(net, loader.load_mnist(), steps, warmup, FLAGS.repeats, precision=precision)
        # Without this, the worker hangs at interpreter exit after fit (TF's threads; seen with
        # Keras 3.15.1 on TF 2.21), and the benchmark waits for it. Everything it says is flushed.
        sys.stdout.flush()
        os._exit(0)
    try:  # before any peer starts: no figure is worth having if our side cannot run this precision
        precisions.check(precision)
    except precisions.PrecisionError as e:
        print("error: {}".format(e), file=sys.stderr)
        return 1
    tf.get_logger().setLevel("ERROR")
    prefix = line_prefix(net, precision)
    labels = peer_labels(precision)
    print("load average at start: " + load_average(), flush=True)
    print("{}: {} repeats of {} training steps of {} images after {} warm-up steps; test: {} images in "
          "batches of {}".format(prefix, FLAGS.repeats, steps, BATCH_SIZE, warmup, test_images,
                                 FLAGS.test_batch_size), flush=True)
    tf.compat.v1.disable_eager_execution()  # as run.py: TF1 graphs and sessions
    data = loader.load_mnist()
    workers = []
    try:
        # Started first: their setup and warm-up overlap ours; measure() waits for all before timing.
        if FLAGS.keras:
            workers.append(start_keras(net, FLAGS.repeats, steps, warmup, precision))
        if FLAGS.torch_python:
            workers.append(start_torch(find_program(FLAGS.torch_python), net, steps, warmup, precision))
        seconds = measure(net, data, FLAGS.repeats, steps, warmup, test_images, FLAGS.test_batch_size, workers,
                          precision)
    finally:
        for worker in workers:
            worker.close()
    for worker in workers:
        print("{} peer: {}".format(worker.name, worker.description))
    peaks = {name: measure_peak(dtype=name) for name in sorted({"float32", precision})}
    flops_per_step, method = count_train_flops(net)
    test_images = min(test_images, len(data.test.images))
    print("{} train FLOPs per step: {:.4g} GFLOP, by {}".format(prefix, flops_per_step / 1e9, method))
    for name, (_, peak_size) in sorted(peaks.items(), key=lambda item: item[0] != "float32"):
        print("measured peak: {0} {1}x{1} matmul, the best of sizes {2}".format(
            name, peak_size, ", ".join(str(size) for size in PEAK_SIZES)))
    if precision != "float32":  # run.py's float32 step, measured in turn with ours: its lines as they always are
        float32 = float32_side(seconds)
        print("{} train images/s per repeat, in order: {}".format(net, in_order(float32["train"], steps * BATCH_SIZE)))
        print("{} test images/s per repeat: {}".format(net, in_order(float32["test"], test_images)))
        for line in report_lines(net, float32, steps, test_images, flops_per_step, peaks["float32"][0]):
            print(line)
    print("{} train images/s per repeat, in order: {}".format(prefix, in_order(seconds["train"], steps * BATCH_SIZE)))
    for worker in workers:
        print("{} {} train images/s per repeat, in order: {}".format(
            prefix, labels[worker.name], in_order(seconds[worker.name], steps * BATCH_SIZE)))
    print("{} test images/s per repeat: {}".format(prefix, in_order(seconds["test"], test_images)))
    for line in report_lines(net, seconds, steps, test_images, flops_per_step, peaks[precision][0], precision):
        print(line)
    if precision != "float32":
        print(speed_up_line(net, seconds, precision))
    if FLAGS.breakdown:
        for line in breakdown_lines(prefix, *step_breakdown(net, data, precision=precision)):
            print(line)
    print("load average at end: " + load_average(), flush=True)
    return 0


if __name__ == "__main__":
    command_line.run_app(main)
