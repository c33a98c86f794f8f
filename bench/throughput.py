"""How fast //:run trains and tests: `bazel run //bench:throughput -- --net=conv4` (issue 8).

Prints, each the median of --repeats timed repeats after a warm-up, on MNIST batches of 100:

  conv4 train images/s: N        trainer.train(...) itself, timed for --steps steps: the graph of
                                 graphs.model.build, the session run.py makes, trainer.Batches feeding
  conv4 keras train images/s: N  the same layers, initializers, loss and plain SGD in Keras 3
                                 (`model.fit` on the same images, batch 100, in a subprocess: Keras
                                 needs eager execution, which the TF1 graph side turns off)
  conv4 test images/s: N         trainer.evaluate(...) (logits only) at run.py's --test_batch_size, 1000
  conv4 train GFLOP/s: N (P% of measured peak M)
                                 FLOPs of one training step (counted on the graph, see count_train_flops)
                                 x steps / time, against a float32 2048x2048 matmul timed on the spot

plus the load average at the start and the end: on a shared machine every figure moves with it.
"""

import json
import os
import statistics
import subprocess
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from absl import app
from absl import flags
import numpy as np
import tensorflow as tf

from data import loader
from graphs import model
from graphs import posts
import cli
import trainer

FLAGS = flags.FLAGS

# Per net: (timed steps per repeat, warm-up steps, test images per repeat). A conv4 step of 100
# images is ~44 GFLOP; the small nets need many steps to be timed at all.
DEFAULTS = {
    "conv4": (20, 5, 2000),
    "fc3": (200, 50, 10000),
    "linear": (1000, 200, 10000),
}
BATCH_SIZE = 100  # run.py's --batch_size default, the posts' batch
TEST_BATCH_SIZE = 1000  # run.py's --test_batch_size default
PEAK_SIZE = 2048

flags.DEFINE_enum("net", "conv4", sorted(model.NETS), "Network to measure.")
flags.DEFINE_integer("repeats", 5, "Timed repeats; each figure is their median.", lower_bound=1)
flags.DEFINE_integer("steps", None, "Training steps per repeat. Default: conv4 20, fc3 200, linear 1000.",
                     lower_bound=1)
flags.DEFINE_integer("warmup", None, "Untimed training steps first (graph setup, first-run costs). "
                     "Default: conv4 5, fc3 50, linear 200.", lower_bound=0)
flags.DEFINE_integer("test_images", None, "Test images per timed test repeat (the first ones). "
                     "Default: conv4 2000, fc3 and linear all 10000.", lower_bound=1)
flags.DEFINE_integer("test_batch_size", TEST_BATCH_SIZE, "Test images per inference batch.", lower_bound=1)
flags.DEFINE_bool("keras", True, "Also time the Keras 3 equivalent (in a subprocess).")
flags.DEFINE_bool("_keras_only", False, "Internal: time only Keras, print one KERAS_RESULT line, exit.")


def net_defaults(net, steps=None, warmup=None, test_images=None):
    d_steps, d_warmup, d_test = DEFAULTS[net]
    return (d_steps if steps is None else steps, d_warmup if warmup is None else warmup,
            d_test if test_images is None else test_images)


def load_average():
    return "{:.2f} {:.2f} {:.2f} (1, 5, 15 min; {} CPUs)".format(*os.getloadavg(), os.cpu_count())


def new_session(graph):
    """The session exactly as run.py makes it: no ConfigProto. Measured A/B on 2 cores (issue 8),
    intra/inter-op threads 2/1 tied with the default 2/2 and XLA (global_jit_level ON_1 with
    --tf_xla_cpu_global_jit) trained conv4 ~35 % slower, so neither is used."""
    return tf.compat.v1.Session(graph=graph)


def build(net, seed=0):
    """run.py's graph for `net` with the post's init and learning rate, in a fresh initialized session.

    (run.py also builds LTFN 6's histogram ops; they run on printed steps only, which are not timed.)
    """
    init = posts.DEFAULT_INIT[net]
    graph = tf.Graph()
    with graph.as_default():
        tf.compat.v1.set_random_seed(seed)
        nodes = model.build(net, init, posts.settings(net, init).learning_rate)
        init_op = tf.compat.v1.global_variables_initializer()
    graph.finalize()
    session = new_session(graph)
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


def measure_graph(net, data, repeats, steps, warmup, test_images, test_batch_size=TEST_BATCH_SIZE):
    """{"train": [seconds per repeat], "test": [...]} for the TF1 graph path, run.py's own code."""
    module = model.NETS[net]
    session, nodes = build(net)
    batches = trainer.Batches(data.train, BATCH_SIZE, module.INPUT_SHAPE)
    # Step 0 is a printed step in trainer.train (accuracy fetched too): part of the warm-up.
    trainer.train(session, nodes, batches, max(warmup, 1), print_every=1 << 40)
    step = max(warmup, 1)
    train = []
    for _ in range(repeats):
        train.append(time_train(session, nodes, batches, step, steps))
        step += steps
    test_set = loader.DataSet(data.test.images[:test_images], data.test.labels[:test_images])
    warm = loader.DataSet(data.test.images[:test_batch_size], data.test.labels[:test_batch_size])
    time_test(session, nodes, warm, test_batch_size, module.INPUT_SHAPE)
    test = [time_test(session, nodes, test_set, test_batch_size, module.INPUT_SHAPE) for _ in range(repeats)]
    session.close()
    return {"train": train, "test": test}


def _fixed_batch_train_graph(net, batch_size):
    """The training step's ops only (what running `optimizer` and `cost` executes), with the
    placeholders' batch dimension fixed, so every shape, hence every op's FLOPs, is known."""
    graph = tf.Graph()
    with graph.as_default():
        nodes = model.build(net, posts.DEFAULT_INIT[net], 0.001)
    step_ops = tf.compat.v1.graph_util.extract_sub_graph(
        graph.as_graph_def(), [nodes.optimizer.name, nodes.cost.op.name])
    fixed = tf.Graph()
    with fixed.as_default():
        images = tf.compat.v1.placeholder(tf.float32, [batch_size] + nodes.input.shape.as_list()[1:])
        labels = tf.compat.v1.placeholder(tf.float32, [batch_size] + nodes.labels.shape.as_list()[1:])
        tf.compat.v1.import_graph_def(step_ops, input_map={"input:0": images, "labels:0": labels}, name="")
    return fixed


def forward_flops(graph):
    """2 x multiply-adds of the forward Conv2D and MatMul ops, from their static shapes."""
    total = 0
    for op in graph.get_operations():
        if op.name.startswith("gradients/"):
            continue
        if op.type == "Conv2D":
            kh, kw, cin, _ = op.inputs[1].shape.as_list()
            total += 2 * int(np.prod(op.outputs[0].shape.as_list())) * kh * kw * cin
        elif op.type == "MatMul":
            m, k = op.inputs[0].shape.as_list()
            total += 2 * m * k * op.outputs[0].shape.as_list()[1]
    return total


def count_train_flops(net, batch_size=BATCH_SIZE):
    """(FLOPs of one training step of batch_size images, how they were counted).

    tf.compat.v1.profiler's float_operation counts every op with a registered "flops" statistic:
    Conv2D, Conv2DBackpropInput, Conv2DBackpropFilter, MatMul, BiasAdd(Grad), MaxPool(Grad), the
    loss's elementwise ops... but not the ApplyGradientDescent updates (2 FLOPs per weight, <0.01 %).
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


def measure_peak(repeats=5, size=PEAK_SIZE, per_repeat=3):
    """Median GFLOP/s of a float32 size x size matmul run in a session like the training one."""
    graph = tf.Graph()
    with graph.as_default():
        a = tf.Variable(tf.random.uniform([size, size], seed=1))
        b = tf.Variable(tf.random.uniform([size, size], seed=2))
        product = tf.matmul(a, b).op  # run as a target: nothing is copied back to Python
        init_op = tf.compat.v1.global_variables_initializer()
    session = new_session(graph)
    session.run(init_op)
    session.run(product)
    rates = []
    for _ in range(repeats):
        begin = time.perf_counter()
        for _ in range(per_repeat):
            session.run(product)
        rates.append(2 * size ** 3 * per_repeat / (time.perf_counter() - begin) / 1e9)
    session.close()
    return statistics.median(rates)


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


def measure_keras(net, data, repeats, steps, warmup, seed=0):
    """Seconds per repeat of Keras training over the batches trainer.train takes (in order, batch 100).

    One `model.fit(train images, labels, batch_size=100, shuffle=False)` call, as a Keras user would
    train, stopped after the warm-up and timed steps; a callback notes the time after each batch, so
    fit's setup counts as warm-up. Its train step is a tf.function, without XLA (Keras 3's
    jit_compile="auto" turns XLA off on a CPU-only machine). Needs eager execution on.
    """
    import keras
    keras.utils.set_random_seed(seed)
    net_model = keras_model(net, posts.DEFAULT_INIT[net])
    batches = trainer.Batches(data.train, BATCH_SIZE, model.NETS[net].INPUT_SHAPE)
    warmup, total = max(warmup, 1), max(warmup, 1) + repeats * steps
    ends = []

    class Clock(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            ends.append(time.perf_counter())
            if len(ends) == total:
                self.model.stop_training = True

    epochs = -(-total * BATCH_SIZE // len(batches.images))
    net_model.fit(batches.images, batches.labels, batch_size=BATCH_SIZE, epochs=epochs, shuffle=False,
                  verbose=0, callbacks=[Clock()])
    if len(ends) != total:
        raise RuntimeError("Keras ran {} steps, not {}".format(len(ends), total))
    marks = [ends[warmup - 1 + r * steps] for r in range(repeats + 1)]
    return [end - begin for begin, end in zip(marks, marks[1:])]


def measure_keras_subprocess(net, repeats, steps, warmup):
    """measure_keras in a fresh interpreter (this one runs TF1 graphs, eager off); its seconds."""
    command = [sys.executable, os.path.abspath(__file__), "--_keras_only", "--net=" + net,
               "--repeats={}".format(repeats), "--steps={}".format(steps), "--warmup={}".format(warmup)]
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))  # where `import trainer` works
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH")])))
    result = subprocess.run(command, capture_output=True, text=True, env=env)
    for line in result.stdout.splitlines():
        if line.startswith("KERAS_RESULT "):
            return json.loads(line[len("KERAS_RESULT "):])
    raise RuntimeError("the Keras measurement failed (exit {}):\n{}".format(result.returncode, result.stderr[-3000:]))


def images_per_second(seconds, images):
    return statistics.median(images / s for s in seconds)


def report_lines(net, train_seconds, keras_seconds, test_seconds, steps, test_images, flops_per_step, peak):
    """The benchmark's figures as printed lines; keras_seconds may be None (--nokeras)."""
    train_rate = images_per_second(train_seconds, steps * BATCH_SIZE)
    gflops = flops_per_step * steps / statistics.median(train_seconds) / 1e9
    lines = ["{} train images/s: {:.1f}".format(net, train_rate)]
    if keras_seconds is not None:
        lines.append("{} keras train images/s: {:.1f}".format(net, images_per_second(keras_seconds, steps * BATCH_SIZE)))
    lines.append("{} test images/s: {:.1f}".format(net, images_per_second(test_seconds, test_images)))
    lines.append("{} train GFLOP/s: {:.2f} ({:.1f}% of measured peak {:.1f})".format(
        net, gflops, 100 * gflops / peak, peak))
    return lines


def spread(seconds, images):
    rates = sorted(images / s for s in seconds)
    return ", ".join("{:.1f}".format(r) for r in rates)


def main(argv):
    if cli.unexpected_arguments(argv):
        return 2
    net = FLAGS.net
    steps, warmup, test_images = net_defaults(net, FLAGS.steps, FLAGS.warmup, FLAGS.test_images)
    if FLAGS._keras_only:
        data = loader.load_mnist()
        print("KERAS_RESULT " + json.dumps(measure_keras(net, data, FLAGS.repeats, steps, warmup)), flush=True)
        return 0
    tf.get_logger().setLevel("ERROR")
    print("load average at start: " + load_average(), flush=True)
    print("{}: {} repeats of {} training steps of {} images after {} warm-up steps; test: {} images in "
          "batches of {}".format(net, FLAGS.repeats, steps, BATCH_SIZE, warmup, test_images,
                                 FLAGS.test_batch_size), flush=True)
    tf.compat.v1.disable_eager_execution()  # as run.py: TF1 graphs and sessions
    data = loader.load_mnist()
    seconds = measure_graph(net, data, FLAGS.repeats, steps, warmup, test_images, FLAGS.test_batch_size)
    peak = measure_peak()
    keras_seconds = None
    if FLAGS.keras:
        keras_seconds = measure_keras_subprocess(net, FLAGS.repeats, steps, warmup)
    flops_per_step, method = count_train_flops(net)
    test_images = min(test_images, len(data.test.images))
    print("{} train FLOPs per step: {:.4g} GFLOP, by {}".format(net, flops_per_step / 1e9, method))
    print("{} train images/s per repeat: {}".format(net, spread(seconds["train"], steps * BATCH_SIZE)))
    if keras_seconds is not None:
        print("{} keras train images/s per repeat: {} (model.fit, batch {})".format(
            net, spread(keras_seconds, steps * BATCH_SIZE), BATCH_SIZE))
    print("{} test images/s per repeat: {}".format(net, spread(seconds["test"], test_images)))
    for line in report_lines(net, seconds["train"], keras_seconds, seconds["test"], steps, test_images,
                             flops_per_step, peak):
        print(line)
    print("load average at end: " + load_average(), flush=True)
    return 0


if __name__ == "__main__":
    app.run(main, flags_parser=cli.parse_flags)
