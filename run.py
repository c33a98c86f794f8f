"""Trains one of the posts' networks and tests it: `bazel run //:run -- --net=conv4 --init=variance_scaling`.

flags -> data -> graph -> session loop printing `Cost:` / `Accuracy: ... %` -> batched, logits-only
test printing `Test Cost:` / `Test accuracy: ... %` (LTFN 1, 2, 3, 5, 6).
"""

import collections
import contextlib
import dataclasses
import datetime
import os
import shlex
import signal
import sys

from machine import quiet
from session import interrupts

if __name__ == "__main__":
    # A signal while the program starts (TensorFlow loads): one line, no traceback. The same command goes
    # on: it resumes from --logdir's checkpoints if there are any (their folder is not known this early).
    interrupts.exit_quietly(again=" ".join(["bazel run //:run --"] + [shlex.quote(a) for a in sys.argv[1:]]))

# TensorFlow reads this once, when its C++ runtime loads: its own `I` and `W` notes (CPU features,
# "GPU trace was not collected", ...) are not about the user's run. `E` lines still show.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from absl import flags

from data import loader  # numpy only: its defaults are flag defaults
from graphs import posts
from programs import cli
from session import precision

FLAGS = flags.FLAGS

flags.DEFINE_enum("net", "conv4", sorted(posts.NETS), "Network: linear (LTFN 1-2), fc3 (LTFN 3), conv4 (LTFN 5-6).")
flags.DEFINE_enum("init", None, list(posts.INITS),
                  "Weight initialization (LTFN 6). Default: the post's own for --net "
                  "(linear, fc3: random_normal; conv4: variance_scaling).")
flags.DEFINE_integer("steps", None, "Training steps. Default: the post's (linear 2000, fc3 and conv4 5000).", lower_bound=1)
flags.DEFINE_integer("batch_size", 100, "Training images per step.", lower_bound=1)
flags.DEFINE_integer("test_batch_size", 1000, "Test images per inference batch (any size; figures do not depend on it).",
                     lower_bound=1)
flags.DEFINE_float("learning_rate", None,
                   "Gradient descent learning rate. Default: the post's for --net/--init (see docs/flags.md).")
flags.DEFINE_integer("print_every", 100, "Print Cost/Accuracy every this many steps.", lower_bound=1)
flags.DEFINE_integer("seed", 0, "Random seed for the weights (and --shuffle): the same seed repeats a run exactly.",
                     lower_bound=0, upper_bound=2**31 - 1)
flags.DEFINE_bool("shuffle", False, "Shuffle the training set each epoch (the posts take batches in order).")
flags.DEFINE_string("data_dir", None, "A folder with MNIST's four IDX files (gzipped or not, 28x28 images). "
                    "Default: the verified copy embedded in data/mnist/.")
flags.DEFINE_integer("validation_size", loader.VALIDATION_SIZE, "Training images split off for validation (and not trained on), as "
                     "TF's input_data did; 0 trains on all of a small --data_dir.", lower_bound=0)
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
flags.DEFINE_bool("bfloat16_hint", True, "On a CPU with AMX, a float32 run first times a few training steps in both "
                  "precisions and says how much faster --precision=bfloat16 would train (--nobfloat16_hint: no "
                  "trial, no line).")
flags.DEFINE_bool("verbose", False, "Show Python tracebacks for errors.")
flags.register_validator("learning_rate", lambda v: v is None or 0 < v < float("inf"),
                         "--learning_rate must be a number > 0")

if __name__ == "__main__":
    # TensorFlow takes seconds to import: a bad flag, an extra argument or --help answers before it.
    cli.parse_command_line()

quiet.import_tensorflow()  # without its start-up notes that are not about this run (machine/quiet.py)
import tensorflow as tf  # noqa: E402  (the imports from here on load TensorFlow)

from data import idx  # noqa: E402
from graphs import model  # noqa: E402
from pictures import histograms  # noqa: E402
from pictures import results  # noqa: E402
from session import checkpoints  # noqa: E402
from session import events  # noqa: E402
from session import folder_lock  # noqa: E402
from session import progress  # noqa: E402
from session import speedup  # noqa: E402
from session import summaries  # noqa: E402
from session import trainer  # noqa: E402


@dataclasses.dataclass(frozen=True)
class Settings:
    """What the run is asked for, read from the flags once (from_flags); paths are absolute."""
    net: str
    init: str
    steps: int
    learning_rate: float
    batch_size: int
    test_batch_size: int
    print_every: int
    seed: int
    shuffle: bool
    data_dir: str  # None: the verified MNIST embedded in data/mnist/
    validation_size: int
    logdir: str
    checkpoint_dir: str
    save_every: int
    check_numerics: bool
    precision: str
    allow_precision_change: bool
    bfloat16_hint: bool
    verbose: bool

    @classmethod
    def from_flags(cls):
        """The flags, with each default docs/flags.md gives: the post's init, steps and learning rate for
        --net, a new runs/<net>-<init>-<time> folder, its checkpoints/ inside it."""
        net = FLAGS.net
        init = FLAGS.init or posts.DEFAULT_INIT[net]
        post = posts.settings(net, init)
        logdir = cli.user_path(FLAGS.logdir or default_logdir(net, init))
        return cls(
            net=net, init=init, steps=post.steps if FLAGS.steps is None else FLAGS.steps,
            learning_rate=FLAGS.learning_rate or post.learning_rate, batch_size=FLAGS.batch_size,
            test_batch_size=FLAGS.test_batch_size, print_every=FLAGS.print_every, seed=FLAGS.seed,
            shuffle=FLAGS.shuffle, data_dir=cli.user_path(FLAGS.data_dir) if FLAGS.data_dir else None,
            validation_size=FLAGS.validation_size, logdir=logdir,
            checkpoint_dir=(cli.user_path(FLAGS.checkpoint_dir) if FLAGS.checkpoint_dir
                            else os.path.join(logdir, "checkpoints")),
            save_every=FLAGS.save_every, check_numerics=FLAGS.check_numerics, precision=FLAGS.precision,
            allow_precision_change=FLAGS.allow_precision_change, bfloat16_hint=FLAGS.bfloat16_hint,
            verbose=FLAGS.verbose)

    def recorded(self):
        """What run.json records: the settings that decide the weights and the batch sequence."""
        return {"net": self.net, "init": self.init, "learning_rate": self.learning_rate,
                "batch_size": self.batch_size, "seed": self.seed, "shuffle": self.shuffle,
                "precision": self.precision, "data_dir": self.data_dir, "validation_size": self.validation_size}


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


class RunState:
    """How far a run got, for the line that ends it early: its phase and its newest checkpoint."""

    def __init__(self, steps, logdir, checkpoint_dir):
        self.steps, self.logdir, self.checkpoint_dir = steps, logdir, checkpoint_dir
        self.phase = "starting"  # -> training -> testing -> writing
        self.step = 0
        self.saved = None  # the Checkpoints, once built

    def kept(self):
        last = self.saved.last_step if self.saved is not None else None
        if last is None and self.phase == "starting":
            last = checkpoints.indexed_step(self.checkpoint_dir)  # a resumed run, stopped before it restored
        return ("the checkpoint of step {} in {} is intact".format(last, self.checkpoint_dir) if last is not None
                else "no checkpoint was written yet")

    def stopped(self, interrupted):
        """The one line an Interrupted run ends with: what was done, and the exact command that goes on."""
        last = self.saved.last_step if self.saved is not None else None
        command = resume_command(self.logdir)
        if self.phase == "starting":
            said = "stopped before training began; {}; to start again: {}".format(self.kept(), command)
        elif self.phase == "training" and not interrupted.at_once and last == self.step:
            said = "stopped at step {} of {}; checkpoint saved in {}; to resume: {}".format(
                self.step, self.steps, self.checkpoint_dir, command)
        elif self.phase == "training":
            said = "stopped at once during training; {}; to resume: {}".format(self.kept(), command)
        elif self.phase == "testing":
            said = ("stopped during the test pass; training is done and saved (step {} in {}); to run the "
                    "test: {}".format(last, self.checkpoint_dir, command))
        else:
            said = ("stopped while writing the end-of-run files; training (saved: step {} in {}) and the test "
                    "(figures above) are done; to write them again: {}".format(last, self.checkpoint_dir, command))
        return "{}: {}".format(signal.Signals(interrupted.signum).name, said)


# The run, as fully_connected_feed.py's run_training(): data, graph, session, train, test, write.

def run_training(settings, config, signals, state):
    """Trains settings.net on MNIST in one session, tests it, writes the end-of-run files; returns
    (test cost, test accuracy in %)."""
    data = load_data(settings)
    built = build(settings)
    state.saved = built.saved
    with tf.compat.v1.Session(graph=built.graph, config=config) as session:
        session.run(built.init_op)
        start = restore(session, built.saved, settings)
        with events_writer(settings.logdir, built.graph, signals, state) as writer:
            done = train(session, built, data, writer, start, settings, signals, state)
            logits, test_cost, test_accuracy = test(session, built, data, writer, done, settings, signals, state)
            write(session, built, data, logits, writer, done, settings)
    return test_cost, test_accuracy


def load_data(settings):
    """MNIST (or --data_dir's data) checked against what the flags ask of it, each mismatch one line."""
    try:
        data = loader.load_mnist(settings.data_dir, settings.validation_size)
    except idx.IdxError as e:
        raise cli.UsageError(str(e))
    train_images = len(data.train.images)
    if settings.batch_size > train_images:
        raise cli.UsageError("--batch_size={} is more than the {} training images{}; choose at most {}".format(
            settings.batch_size, train_images, " left after --validation_size={}".format(settings.validation_size)
            if settings.validation_size else "", train_images))
    return data


Built = collections.namedtuple("Built", ["graph", "nodes", "init_op", "histograms", "saved", "input_shape"])


def build(settings):
    """The post's graph (graphs/model.build_graph) with what a run adds to it: the numerics checks, LTFN 6's
    histograms and the Saver; finalized."""
    graph, nodes, init_op = model.build_graph(settings.net, settings.init, settings.learning_rate, settings.seed)
    with graph.as_default():
        if settings.check_numerics:
            # Runs with the optimizer: a NaN/Inf anywhere fails that very step, naming the node.
            nodes = nodes._replace(optimizer=tf.group(
                nodes.optimizer, tf.compat.v1.add_check_numerics_ops(), name="optimizer_checked"))
        # LTFN 6's histograms (after the numerics checks, which need not check them), fetched on printed steps only.
        histograms = summaries.histograms(nodes)
        saved = checkpoints.Checkpoints(
            settings.checkpoint_dir, settings.recorded(),
            may_change={"precision": ("--allow_precision_change", settings.allow_precision_change)},
            introduced={"precision": "float32"})
    graph.finalize()
    return Built(graph, nodes, init_op, histograms, saved, model.NETS[settings.net].INPUT_SHAPE)


def restore(session, saved, settings):
    """The step to start from: the checkpoint folder's newest checkpoint restored, or 0."""
    try:
        start = saved.restore(session, settings.steps)  # a checkpoint past --steps is refused, the folder untouched
    except checkpoints.CheckpointError as e:
        raise cli.UsageError(str(e))
    if saved.removed:
        print("Removed {} file(s) left in {} by a run that stopped while saving".format(
            len(saved.removed), settings.checkpoint_dir), file=sys.stderr)
    return start


@contextlib.contextmanager
def events_writer(logdir, graph, signals, state):
    """The run's TensorBoard events writer, closed at the end; a write that fails ends the run in one line."""
    try:
        writer = events.Writer(logdir, graph, guard=signals.critical)
        try:
            yield writer
        except BaseException:
            _close_quietly(writer)  # what was written so far reaches the disk, even when stopped
            raise
        writer.close()
    except events.WriteError as e:
        raise cli.UsageError("cannot write the TensorBoard events in {} ({}); {}; free some space and run the "
                             "same command to resume".format(logdir, e, state.kept()))


def _close_quietly(writer):
    """Closes the events writer while another error is on its way: that one is the run's message."""
    try:
        writer.close()
    except events.WriteError:
        pass


def train(session, built, data, writer, start, settings, signals, state):
    """The posts' session loop from step `start` to settings.steps (printing `Cost:` / `Accuracy:`), saving
    as it goes and at the end; returns the steps done."""
    announce(settings, start, writer)
    if settings.bfloat16_hint and start < settings.steps and speedup.wanted(settings.precision):
        advise(settings, built, data.train)
    batches = trainer.Batches(data.train, settings.batch_size, built.input_shape, settings.shuffle, settings.seed)
    loop = Loop(session, built, batches, writer, settings, signals, state)
    state.phase, state.step = "training", start
    try:
        with signals.training():
            # The first step is traced: TensorBoard's graph then shows which nodes a training step ran.
            traced = summaries.TraceFirstRun(session, writer, "train_step_{}".format(start), start)
            done = trainer.train(traced, built.nodes, batches, settings.steps, settings.print_every, start_step=start,
                                 on_print=loop.printed, save_every=settings.save_every, save=loop.save,
                                 should_stop=signals, extra_fetches=built.histograms, on_step=loop.stepped)
        loop.progress.clear()
        if built.saved.last_step != done:
            loop.save(done)
    except trainer.DivergedError as e:
        raise cli.UsageError("{}: training diverged; try a smaller --learning_rate (was {:g}){}; {}".format(
            e, settings.learning_rate, "" if settings.check_numerics else ", or add --check_numerics to see where",
            sound(built.saved)))
    finally:
        loop.progress.clear()
    state.step = done
    signals.check()  # a signal during training stops here, its checkpoint saved
    return done


def sound(saved):
    """What a diverged run leaves: its newest checkpoint, which check_sound let through, or none."""
    if saved.last_step is None:
        return "no checkpoint was written"
    return "the newest checkpoint, step {} in {}, is the last sound one (a rerun resumes from it)".format(
        saved.last_step, saved.directory)


def announce(settings, start, writer):
    """The run's first line, and where a resumed run starts."""
    print("Training {} ({}) for {} steps, batch {}, learning rate {:g}, {}".format(
        settings.net, settings.init, settings.steps, settings.batch_size, settings.learning_rate,
        precision.describe(settings.precision)), flush=True)
    if start:
        print("Resuming at step {} from {}{}".format(
            start, settings.checkpoint_dir, ": training is done, testing" if start == settings.steps else ""),
            flush=True)
        # Tells TensorBoard to drop events a crashed run wrote after this step.
        writer.add_session_log(tf.compat.v1.SessionLog(status=tf.compat.v1.SessionLog.START), start)


# //:reproduce's recorded rows (results/reproduce.json, a data file of //:run): what bfloat16 gave.
RESULTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "results", "reproduce.json")


def advise(settings, built, train_set):
    """The line a float32 run on an AMX CPU starts with: bfloat16's speed-up, timed on this graph just now."""
    images = train_set.images[:settings.batch_size].reshape((-1,) + built.input_shape)
    seconds = speedup.measure(built.graph, built.nodes, built.init_op, images, train_set.labels[:settings.batch_size])
    print(speedup.line(settings.net, settings.init, *seconds, speedup.recorded(RESULTS, settings.net, settings.init)),
          flush=True)


class Loop:
    """trainer.train's callbacks: the posts' lines and TensorBoard's scalars on printed steps, the progress
    line after every step, and each checkpoint saved whole."""

    def __init__(self, session, built, batches, writer, settings, signals, state):
        self.session, self.nodes, self.saved, self.batches = session, built.nodes, built.saved, batches
        self.writer = writer
        self.print_every, self.signals, self.state = settings.print_every, signals, state
        self.progress = progress.Progress(settings.steps, settings.batch_size)

    def printed(self, step, cost, accuracy, rate, histogram_summary=None):
        self.progress.clear()
        print("Cost: {:.6g}".format(cost))
        print("Accuracy: {:.2f} %".format(accuracy * 100), flush=True)
        self.writer.add_summary(_scalars({"train/cost": cost, "train/accuracy": accuracy}), step)
        if histogram_summary is not None:
            self.writer.add_summary(histogram_summary, step)

    def stepped(self, step, cost):
        self.progress.step(step, cost, printed=step % self.print_every == 0)

    def save(self, step):
        self.state.step = step
        trainer.check_sound(self.session, self.nodes, self.batches, step)  # never a diverged state saved
        with self.signals.critical():  # a checkpoint is never left half written
            interrupts.reached("saving")  # where tests/robustness_test.py signals a run
            try:
                self.saved.save(self.session, step)
            except checkpoints.CheckpointError as e:
                raise cli.UsageError(str(e))


def test(session, built, data, writer, done, settings, signals, state):
    """LTFN 2's test pass, logits only, in batches; prints `Test Cost:` / `Test accuracy:`. Returns
    (logits, cost, accuracy in %)."""
    state.phase = "testing"
    print("Testing on {} images, batches of {}".format(len(data.test.images), settings.test_batch_size), flush=True)
    interrupts.reached("testing")  # where tests/robustness_test.py signals a run in its test pass
    # The one test pass; its first batch traced, to compare with training's.
    logits = trainer.test_logits(summaries.TraceFirstRun(session, writer, "test_step", done), built.nodes,
                                 data.test.images.reshape((-1,) + built.input_shape), settings.test_batch_size)
    test_cost, test_accuracy = trainer.score(logits, data.test.labels)
    with signals.critical():  # the figures are printed whole, and then the test counts as done
        print("Test Cost: {:.6g}".format(test_cost))
        print("Test accuracy: {:.2f} %".format(test_accuracy), flush=True)
        state.phase = "writing"
    writer.add_summary(_scalars({"test/cost": test_cost, "test/accuracy": test_accuracy / 100}), settings.steps)
    return logits, test_cost, test_accuracy


def write(session, built, data, logits, writer, done, settings):
    """The end-of-run pictures (LTFN 6's activations, the mistakes, what the network learned), drawn here
    from the session's arrays, and where everything is."""
    meta = {"net": settings.net, "init": settings.init, "step": done, "learning_rate": settings.learning_rate,
            "seed": settings.seed}
    test, logdir = data.test, settings.logdir
    shown = test.images[:summaries.ACTIVATION_IMAGES].reshape((-1,) + built.input_shape)
    try:
        activations_png = histograms.write(logdir, summaries.activations(session, built.nodes, shown),
                                           dict(meta, images=len(shown)))
        weights, maps = summaries.learned(session, built.nodes, test.images[results.FEATURE_MAP_IMAGE])
        pngs, most_confused = results.write(logdir, trainer.softmax(logits), test.labels.argmax(axis=1),
                                            test.images.reshape(-1, 28, 28), weights, maps, meta)
        for kind, path in pngs.items():
            writer.add_summary(summaries.image_summary("pictures/" + kind, path), done)
    except OSError as e:
        raise cli.UsageError("cannot write the end-of-run pictures in {} ({}); training (saved: step {} in {}) and the "
                             "test (figures above) are done; free some space and run the same command to write "
                             "them again".format(logdir, e.strerror or e, done, settings.checkpoint_dir))
    print(most_confused)
    for kind, path in pngs.items():
        print("{}: {}".format(results.TITLES[kind], path))
    print("Activations before each ReLU (LTFN 6): {}".format(activations_png))
    print("TensorBoard logs: {}\n  view them: bazel run //:tensorboard -- --logdir={}".format(
        logdir, shlex.quote(logdir)))


def _scalars(values):
    return tf.compat.v1.Summary(value=[tf.compat.v1.Summary.Value(tag=k, simple_value=v) for k, v in values.items()])


def main(argv):
    del argv  # cli.run_app has refused any extra argument
    signals = interrupts.Signals()
    # The posts are TF1 programs: graphs, placeholders and sessions, no eager execution.
    tf.compat.v1.disable_eager_execution()
    settings = Settings.from_flags()
    state = None
    try:
        try:  # before anything is written: a CPU without bfloat16 leaves no empty logdir behind
            config = precision.session_config(settings.precision)
        except precision.PrecisionError as e:
            raise cli.UsageError(str(e))
        made = cli.missing_dirs(settings.logdir) + cli.missing_dirs(settings.checkpoint_dir)
        cli.make_writable_dir(settings.logdir, "logdir")
        cli.make_writable_dir(settings.checkpoint_dir, "checkpoint_dir")
        state = RunState(settings.steps, settings.logdir, settings.checkpoint_dir)
        locks = lock_folders(settings, made)
        run_training(settings, config, signals, state)
        signals.finish()  # done: a signal from here on changes nothing (exit 0)
        for lock in locks:
            lock.release()
    except interrupts.Interrupted as e:
        signals.finish()
        print(state.stopped(e) if state else "{}: stopped; nothing was written".format(e), file=sys.stderr)
        return e.exit_code
    except cli.UsageError as e:
        signals.finish()
        if settings.verbose:
            raise
        print("error: {}".format(e), file=sys.stderr)
        return 1
    return 0


def lock_folders(settings, made=()):
    """Held until this process ends: a second run on the checkpoint folder, or on the --logdir (whose events
    and pictures two runs would interleave), is refused, naming this one. Returns the locks. A refused
    run leaves nothing behind: its lock files go, and so do the folders it made (`made`) if empty."""
    command = " ".join(shlex.quote(a) for a in sys.argv)
    folders = [("checkpoint_dir", settings.checkpoint_dir)]
    if os.path.realpath(settings.logdir) != os.path.realpath(settings.checkpoint_dir):
        folders.append(("logdir", settings.logdir))
    locks = []
    try:
        for flag, folder in folders:
            locks.append(folder_lock.FolderLock(folder, command, flag))
    except folder_lock.LockError as e:
        for lock in locks:
            lock.discard()
        cli.remove_empty_dirs(made)
        raise cli.UsageError(str(e))
    return locks


if __name__ == "__main__":
    cli.run_app(main)
