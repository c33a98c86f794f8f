"""Trains one of the posts' networks and tests it: `bazel run //:run -- --net=conv4 --init=variance_scaling`.

flags -> data -> graph -> session loop printing `Cost:` / `Accuracy: ... %` -> batched, logits-only
test printing `Test Cost:` / `Test accuracy: ... %` (LTFN 1, 2, 3, 5, 6).
"""

import datetime
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from absl import app
from absl import flags
from absl import logging
import tensorflow as tf

from data import idx
from data import loader
from graphs import initializers
from graphs import model
from graphs import posts
import trainer

FLAGS = flags.FLAGS

flags.DEFINE_enum("net", "conv4", sorted(model.NETS), "Network: linear (LTFN 1-2), fc3 (LTFN 3), conv4 (LTFN 5-6).")
flags.DEFINE_enum("init", None, list(initializers.INITS),
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
flags.register_validator("learning_rate", lambda v: v is None or v > 0, "--learning_rate must be > 0")


class UserError(Exception):
    """Something the user can fix; reported as one line without a traceback."""


def user_path(path):
    """Relative paths resolve against where `bazel run` was started, not Bazel's runfiles tree."""
    base = os.environ.get("BUILD_WORKING_DIRECTORY") or os.getcwd()
    return os.path.abspath(os.path.join(base, os.path.expanduser(path)))


def default_logdir(net, init, now=None):
    stamp = (now or datetime.datetime.now()).strftime("%Y%m%d-%H%M%S")
    return os.path.join("runs", "{}-{}-{}".format(net, init, stamp))


def make_writable_dir(path, flag):
    try:
        os.makedirs(path, exist_ok=True)
    except OSError as e:
        raise UserError("--{} {} cannot be created ({}); choose a folder you can write to".format(
            flag, path, e.strerror or e))
    if not os.access(path, os.W_OK | os.X_OK):
        raise UserError("--{} {} is not writable; choose a folder you can write to".format(flag, path))
    return path


def run(net, init, steps, learning_rate, data_dir, logdir):
    module = model.NETS[net]
    try:
        data = loader.load_mnist(data_dir)
    except idx.IdxError as e:
        raise UserError(str(e))

    graph = tf.Graph()
    with graph.as_default():
        tf.compat.v1.set_random_seed(FLAGS.seed)
        nodes = model.build(net, init, learning_rate)
        init_op = tf.compat.v1.global_variables_initializer()
    graph.finalize()

    writer = tf.compat.v1.summary.FileWriter(logdir, graph)
    batches = trainer.Batches(data.train, FLAGS.batch_size, module.INPUT_SHAPE, FLAGS.shuffle, FLAGS.seed)
    print("Training {} ({}) for {} steps, batch {}, learning rate {:g}".format(
        net, init, steps, FLAGS.batch_size, learning_rate), flush=True)

    def on_print(step, cost, accuracy, rate):
        print("Cost: {:.6g}".format(cost))
        print("Accuracy: {:.2f} %".format(accuracy * 100), flush=True)
        left = (steps - step - 1) * FLAGS.batch_size / rate if rate else 0
        logging.info("step %d/%d  %.0f images/s  ETA %s", step, steps, rate,
                     datetime.timedelta(seconds=round(left)))
        writer.add_summary(_scalars({"train/cost": cost, "train/accuracy": accuracy}), step)

    with tf.compat.v1.Session(graph=graph) as session:
        session.run(init_op)
        try:
            trainer.train(session, nodes, batches, steps, FLAGS.print_every, on_print=on_print)
        except trainer.DivergedError as e:
            writer.close()
            raise UserError("{}: training diverged; try a smaller --learning_rate (was {:g})".format(
                e, learning_rate))
        test_cost, test_accuracy = trainer.evaluate(
            session, nodes, data.test, FLAGS.test_batch_size, module.INPUT_SHAPE)
    print("Test Cost: {:.6g}".format(test_cost))
    print("Test accuracy: {:.2f} %".format(test_accuracy))
    writer.add_summary(_scalars({"test/cost": test_cost, "test/accuracy": test_accuracy / 100}), steps)
    writer.close()
    print("TensorBoard logs: {}\n  view them: bazel run //:tensorboard -- --logdir={}".format(logdir, logdir))
    return test_cost, test_accuracy


def _scalars(values):
    return tf.compat.v1.Summary(value=[tf.compat.v1.Summary.Value(tag=k, simple_value=v) for k, v in values.items()])


def main(argv):
    # The posts are TF1 programs: graphs, placeholders and sessions, no eager execution.
    tf.compat.v1.disable_eager_execution()
    if len(argv) > 1:
        print("error: unexpected arguments {}; flags take the form --name=value (see --help)".format(
            " ".join(argv[1:])), file=sys.stderr)
        return 2
    net = FLAGS.net
    init = FLAGS.init or posts.DEFAULT_INIT[net]
    settings = posts.settings(net, init)
    steps = settings.steps if FLAGS.steps is None else FLAGS.steps
    learning_rate = FLAGS.learning_rate or settings.learning_rate
    try:
        data_dir = user_path(FLAGS.data_dir) if FLAGS.data_dir else None
        logdir = make_writable_dir(user_path(FLAGS.logdir or default_logdir(net, init)), "logdir")
        run(net, init, steps, learning_rate, data_dir, logdir)
    except UserError as e:
        print("error: {}".format(e), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    app.run(main)
