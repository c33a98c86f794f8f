"""Trains one of the posts' networks and tests it: `bazel run //:run -- --net=conv4 --init=variance_scaling`.

flags -> data -> graph -> session loop printing `Cost:` / `Accuracy: ... %` -> batched, logits-only
test printing `Test Cost:` / `Test accuracy: ... %` (LTFN 1, 2, 3, 5, 6).
"""

import datetime
import os
import shlex
import signal
import sys

# TensorFlow reads this once, when its C++ runtime loads: its own `I` and `W` notes (CPU features,
# "GPU trace was not collected", ...) are not about the user's run. `E` lines still show.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from absl import flags

from graphs import posts
from programs import cli
from session import precision

FLAGS = flags.FLAGS

flags.DEFINE_enum("net", "conv4", sorted(posts.NETS), "Network: linear (LTFN 1-2), fc3 (LTFN 3), conv4 (LTFN 5-6).")
flags.DEFINE_enum("init", None, list(posts.INITS),
                  "Weight initialization (LTFN 6). Default: the post's own for --net "
                  "(linear, fc3: random_normal; conv4: variance_scaling).")
flags.DEFINE_integer("steps", None, "Training steps. Default: the post's (linear 2000, fc3 and conv4 5000).", lower_bound=0)
flags.DEFINE_integer("batch_size", 100, "Training images per step.", lower_bound=1)
flags.DEFINE_integer("test_batch_size", 1000, "Test images per inference batch (any size; figures do not depend on it).",
                     lower_bound=1)
flags.DEFINE_float("learning_rate", None,
                   "Gradient descent learning rate. Default: the post's for --net/--init (see README).")
flags.DEFINE_integer("print_every", 100, "Print Cost/Accuracy every this many steps.", lower_bound=1)
flags.DEFINE_integer("seed", 0, "Random seed for the weights (and --shuffle): the same seed repeats a run exactly.")
flags.DEFINE_bool("shuffle", False, "Shuffle the training set each epoch (the posts take batches in order).")
flags.DEFINE_string("data_dir", None, "A folder with MNIST's four IDX files (gzipped or not). "
                    "Default: the verified copy embedded in data/mnist/.")
flags.DEFINE_string("logdir", None, "TensorBoard folder for this run. Default: runs/<net>-<init>-<time>.")
flags.DEFINE_string("checkpoint_dir", None, "Where to save checkpoints; a run started again with the same folder "
                    "resumes from its last one. Default: <logdir>/checkpoints.")
flags.DEFINE_integer("save_every", 500, "Save a checkpoint every this many steps (and at the end, and on Ctrl-C).",
                     lower_bound=1)
flags.DEFINE_bool("check_numerics", False, "Check every tensor for NaN/Inf, so divergence names the first "
                  "node that went non-finite (slower).")
flags.DEFINE_enum("precision", precision.DEFAULT, list(precision.PRECISIONS),
                  "Arithmetic of the session: float32 (the posts') or bfloat16 (convolutions and matmuls in "
                  "bfloat16 on oneDNN, weights and graph unchanged; needs a CPU with avx512_bf16 or AMX).")
flags.DEFINE_bool("allow_precision_change", False, "Resume checkpoints written under the other --precision "
                  "(the arithmetic differs, so the run is no longer the one that started).")
flags.DEFINE_bool("verbose", False, "Show Python tracebacks for errors.")
flags.register_validator("learning_rate", lambda v: v is None or v > 0, "--learning_rate must be > 0")

if __name__ == "__main__":
    # TensorFlow takes seconds to import: a bad flag, an extra argument or --help answers before it.
    cli.parse_command_line()

import tensorflow as tf  # noqa: E402  (the imports from here on load TensorFlow)

from data import idx  # noqa: E402
from data import loader  # noqa: E402
from graphs import model  # noqa: E402
from session import checkpoints  # noqa: E402
from session import summaries  # noqa: E402
from session import trainer  # noqa: E402


class Interrupted(cli.UsageError):
    """Stopped by Ctrl-C or SIGTERM, with a checkpoint to resume from."""


def default_logdir(net, init, now=None):
    stamp = (now or datetime.datetime.now()).strftime("%Y%m%d-%H%M%S")
    return os.path.join("runs", "{}-{}-{}".format(net, init, stamp))


def resume_command(logdir):
    """This run's own command line, pinned to its --logdir (the default one is new on every run)."""
    args, skip = [], False
    for a in sys.argv[1:]:
        if skip or a.startswith(("--logdir=", "-logdir=")):
            skip = False
        elif a in ("--logdir", "-logdir"):
            skip = True  # absl also takes `--logdir PATH`: drop the value with the flag
        else:
            args.append(a)
    return " ".join(["bazel run //:run --"] + [shlex.quote(a) for a in args] + ["--logdir=" + shlex.quote(logdir)])


class StopRequest:
    """Ctrl-C (SIGINT) or SIGTERM asks training to stop after the current step, so the checkpoint
    saved then is exactly a step boundary; a second Ctrl-C stops at once."""

    def __init__(self):
        self.signal = None
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, self._handle)

    def _handle(self, signum, frame):
        if self.signal is not None and signum == signal.SIGINT:
            raise KeyboardInterrupt
        self.signal = signum
        print("\n{} received: stopping after this step (Ctrl-C again to stop at once)".format(
            signal.Signals(signum).name), file=sys.stderr, flush=True)

    def __call__(self):
        return self.signal is not None


def run(net, init, steps, learning_rate, data_dir, logdir, checkpoint_dir, config):
    module = model.NETS[net]
    try:
        data = loader.load_mnist(data_dir)
    except idx.IdxError as e:
        raise cli.UsageError(str(e))

    graph = tf.Graph()
    with graph.as_default():
        tf.compat.v1.set_random_seed(FLAGS.seed)
        nodes = model.build(net, init, learning_rate)
        if FLAGS.check_numerics:
            # Runs with the optimizer: a NaN/Inf anywhere fails that very step, naming the node.
            nodes = nodes._replace(optimizer=tf.group(
                nodes.optimizer, tf.compat.v1.add_check_numerics_ops(), name="optimizer_checked"))
        # LTFN 6's histograms (after the numerics checks, which need not check them), fetched on printed steps only.
        histograms = summaries.histograms(nodes)
        init_op = tf.compat.v1.global_variables_initializer()
        saved = checkpoints.Checkpoints(checkpoint_dir, {
            "net": net, "init": init, "learning_rate": learning_rate, "batch_size": FLAGS.batch_size,
            "seed": FLAGS.seed, "shuffle": FLAGS.shuffle, "precision": FLAGS.precision},
            may_change={"precision": ("--allow_precision_change", FLAGS.allow_precision_change)},
            introduced={"precision": "float32"})
    graph.finalize()

    writer = tf.compat.v1.summary.FileWriter(logdir, graph)
    batches = trainer.Batches(data.train, FLAGS.batch_size, module.INPUT_SHAPE, FLAGS.shuffle, FLAGS.seed)
    print("Training {} ({}) for {} steps, batch {}, learning rate {:g}, {}".format(
        net, init, steps, FLAGS.batch_size, learning_rate, precision.describe(FLAGS.precision)), flush=True)
    progress = cli.Progress(steps, FLAGS.batch_size)

    def on_print(step, cost, accuracy, rate, histogram_summary=None):
        progress.clear()
        print("Cost: {:.6g}".format(cost))
        print("Accuracy: {:.2f} %".format(accuracy * 100), flush=True)
        writer.add_summary(_scalars({"train/cost": cost, "train/accuracy": accuracy}), step)
        if histogram_summary is not None:
            writer.add_summary(histogram_summary, step)

    def on_step(step, cost):
        progress.step(step, cost, printed=step % FLAGS.print_every == 0)

    stop = StopRequest()
    with tf.compat.v1.Session(graph=graph, config=config) as session:
        session.run(init_op)
        try:
            start = saved.restore(session)
        except checkpoints.CheckpointError as e:
            raise cli.UsageError(str(e))
        if start:
            print("Resuming at step {} from {}".format(start, checkpoint_dir), flush=True)
            # Tells TensorBoard to drop events a crashed run wrote after this step.
            writer.add_session_log(tf.compat.v1.SessionLog(status=tf.compat.v1.SessionLog.START), start)
        save = lambda step: saved.save(session, step)
        try:
            # The first step is traced: TensorBoard's graph then shows which nodes a training step ran.
            traced = summaries.TraceFirstRun(session, writer, "train_step_{}".format(start), start)
            done = trainer.train(traced, nodes, batches, steps, FLAGS.print_every, start_step=start,
                                 on_print=on_print, save_every=FLAGS.save_every, save=save, should_stop=stop,
                                 extra_fetches=histograms, on_step=on_step)
        except trainer.DivergedError as e:
            writer.close()
            raise cli.UsageError("{}: training diverged; try a smaller --learning_rate (was {:g}){}".format(
                e, learning_rate, "" if FLAGS.check_numerics else ", or add --check_numerics to see where"))
        finally:
            progress.clear()
        if done > start or not start:
            save(done)
        if stop():
            writer.close()
            raise Interrupted("stopped at step {} of {}; checkpoint saved in {}; to resume: {}".format(
                done, steps, checkpoint_dir, resume_command(logdir)))
        # The one test pass, logits only; its first batch traced, to compare with training's.
        logits = trainer.test_logits(summaries.TraceFirstRun(session, writer, "test_step", done), nodes,
                                     data.test.images.reshape((-1,) + module.INPUT_SHAPE), FLAGS.test_batch_size)
        test_cost, test_accuracy = trainer.score(logits, data.test.labels)
        meta = {"net": net, "init": init, "step": done, "learning_rate": learning_rate, "seed": FLAGS.seed}
        activations_png = summaries.write_activations(
            session, nodes, data.test.images[:summaries.ACTIVATION_IMAGES].reshape((-1,) + module.INPUT_SHAPE),
            logdir, meta)
        pictures, most_confused = summaries.write_pictures(session, nodes, data.test, logits, logdir, writer, done, meta)
    print("Test Cost: {:.6g}".format(test_cost))
    print("Test accuracy: {:.2f} %".format(test_accuracy))
    writer.add_summary(_scalars({"test/cost": test_cost, "test/accuracy": test_accuracy / 100}), steps)
    writer.close()
    print(most_confused)
    for title, path in pictures:
        print("{}: {}".format(title, path))
    print("Activations before each ReLU (LTFN 6): {}".format(activations_png))
    print("TensorBoard logs: {}\n  view them: bazel run //:tensorboard -- --logdir={}".format(
        logdir, shlex.quote(logdir)))
    return test_cost, test_accuracy


def _scalars(values):
    return tf.compat.v1.Summary(value=[tf.compat.v1.Summary.Value(tag=k, simple_value=v) for k, v in values.items()])


def main(argv):
    del argv  # cli.run_app has refused any extra argument
    # The posts are TF1 programs: graphs, placeholders and sessions, no eager execution.
    tf.compat.v1.disable_eager_execution()
    net = FLAGS.net
    init = FLAGS.init or posts.DEFAULT_INIT[net]
    settings = posts.settings(net, init)
    steps = settings.steps if FLAGS.steps is None else FLAGS.steps
    learning_rate = FLAGS.learning_rate or settings.learning_rate
    try:
        try:  # before anything is written: a CPU without bfloat16 leaves no empty logdir behind
            config = precision.session_config(FLAGS.precision)
        except precision.PrecisionError as e:
            raise cli.UsageError(str(e))
        data_dir = cli.user_path(FLAGS.data_dir) if FLAGS.data_dir else None
        logdir = cli.make_writable_dir(cli.user_path(FLAGS.logdir or default_logdir(net, init)), "logdir")
        checkpoint_dir = cli.make_writable_dir(
            cli.user_path(FLAGS.checkpoint_dir) if FLAGS.checkpoint_dir else os.path.join(logdir, "checkpoints"),
            "checkpoint_dir")
        run(net, init, steps, learning_rate, data_dir, logdir, checkpoint_dir, config)
    except Interrupted as e:
        print(str(e), file=sys.stderr)
        return 130
    except KeyboardInterrupt:
        print("stopped at once; run the same command to resume from the last checkpoint saved", file=sys.stderr)
        return 130
    except cli.UsageError as e:
        if FLAGS.verbose:
            raise
        print("error: {}".format(e), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    cli.run_app(main)
