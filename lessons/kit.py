"""What the lesson notebooks share: the quick setting, MNIST, a training run, pictures inline.

Small glue only. The networks are graphs/'s, the loop and the test are session/trainer's, the graph
picture is labs/deps's, the histograms are pictures/'s; this module puts them in a notebook.

Every notebook's first cell reads the quick setting: with LTFN_LESSONS_QUICK=1 in the environment
(the tests and `bazel run //:lessons -- --render=DIR --quick` set it) the runs are a few small steps,
so all six notebooks execute in a few minutes on two cores; without it (a person, the default) they
run the posts' settings, or as near as a notebook cell can wait for (each notebook says which).
"""

import collections
import contextlib
import os
import re
import shutil
import sys
import tempfile

# A lesson's outputs are for reading: no TensorFlow log lines. The lines it writes before its logging
# starts ignore the level: _quiet_stderr.
os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"


@contextlib.contextmanager
def _quiet_stderr():
    """Sends file descriptor 2 to /dev/null (the kernel shows what is written there as cell output)."""
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, "w") as null:
            os.dup2(null.fileno(), 2)
            yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


with _quiet_stderr():
    import tensorflow as tf  # noqa: E402

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from data import loader  # noqa: E402
from labs import deps  # noqa: E402
from graphs import model  # noqa: E402
from graphs import posts  # noqa: E402
from machine import sessions  # noqa: E402
from session import trainer  # noqa: E402

QUICK_VARIABLE = "LTFN_LESSONS_QUICK"
QUICK = os.environ.get(QUICK_VARIABLE, "") not in ("", "0")

# The posts are TF1 programs: graphs, placeholders and sessions, no eager execution.
tf.compat.v1.disable_eager_execution()


def setting(full, quick):
    """`full` for a person, `quick` when the notebook runs under the tests (LTFN_LESSONS_QUICK=1)."""
    return quick if QUICK else full


_MNIST = []


def mnist():
    """MNIST as the posts load it (55,000 training images, 10,000 test), read once per kernel."""
    if not _MNIST:
        _MNIST.append(loader.load_mnist())
    return _MNIST[0]


def test_set():
    """The test set, or its first 500 images in the quick setting."""
    test = mnist().test
    return test if not QUICK else loader.DataSet(test.images[:500], test.labels[:500])


Point = collections.namedtuple("Point", ["step", "cost", "accuracy"])


class Run:
    """One network trained in its own graph and session, kept open so later cells can look inside.

    graph, nodes (graphs/model.Model), session, history (a Point per printed step), and the settings.
    """

    def __init__(self, net, init=None, learning_rate=None, seed=0, graph=None, session=None, steps=0):
        self.net = net
        self.init = init or posts.DEFAULT_INIT[net]
        self.learning_rate = learning_rate or posts.settings(net, self.init).learning_rate
        self.input_shape = model.NETS[net].INPUT_SHAPE
        self.history = []
        self.steps = steps
        if graph is not None:
            # A graph the learner wrote, with their session (already initialized): used as it is.
            self.graph, self.nodes, self.init_op, self.session = graph, nodes_of(graph), None, session
            return
        # The same graph //:run builds, seeded the same way.
        self.graph, self.nodes, self.init_op = model.build_graph(net, self.init, self.learning_rate, seed)
        self.session = sessions.new_session(self.graph)
        self.session.run(self.init_op)

    @property
    def label(self):
        return "{} / {} / lr {:g}".format(self.net, self.init, self.learning_rate)

    def train(self, steps, batch_size=100, print_every=100, quiet=False):
        """`steps` more steps of the posts' loop (trainer.train), printing the posts' lines."""
        def on_print(step, cost, accuracy, images_per_second):
            self.history.append(Point(step, cost, accuracy * 100))
            if not quiet:
                print("Step {:>5}  Cost: {:<12.6g} Accuracy: {:.1f} %   ({:.0f} images/s)".format(
                    step, cost, accuracy * 100, images_per_second))

        batches = trainer.Batches(mnist().train, batch_size, self.input_shape)
        self.steps = trainer.train(self.session, self.nodes, batches, self.steps + steps, print_every,
                                   start_step=self.steps, on_print=on_print)
        return self

    def test(self, dataset=None, batch_size=1000):
        """Test Cost and Test accuracy (%) over the test set in batches, fetching only `logits`."""
        return trainer.evaluate(self.session, self.nodes, dataset or test_set(), batch_size, self.input_shape)

    def logits(self, images, batch_size=1000):
        """logits for `images` (flat MNIST rows), in batches: input is fed, nothing else (LTFN 2)."""
        return trainer.test_logits(self.session, self.nodes, images.reshape((-1,) + self.input_shape), batch_size)

    def variable(self, name):
        """The current value of a variable, e.g. `layer2/layer2_weights`."""
        variable, = [v for v in self.graph.get_collection(tf.compat.v1.GraphKeys.GLOBAL_VARIABLES)
                     if v.op.name == name]
        return self.session.run(variable)

    def fetch(self, tensors, images):
        """Any tensors that depend on `input` only, for `images` (flat MNIST rows)."""
        return self.session.run(tensors, {self.nodes.input: images.reshape((-1,) + self.input_shape)})


def nodes_of(graph):
    """graphs/model.Model of a graph found by the posts' names (`input`, `logits`, ...), as a program
    restoring a saved run finds them (LTFN 9); LookupError naming the first one missing."""
    def get(name, op=False):
        try:
            found = graph.get_operation_by_name(name)
        except KeyError:
            raise LookupError("your graph has no node named `{}`; give it name=\"{}\" (the check cell says what "
                              "else differs)".format(name, name)) from None
        return found if op else found.outputs[0]

    pre = graph.get_collection("pre_activations") or [
        op.outputs[0] for op in graph.get_operations() if re.fullmatch(r"(layer\d+)/\1_(conv|linear)", op.name)
        and op.name.split("/")[0] != _final_scope(graph)]
    return model.Model(get("input"), get("labels"), get("logits"), get("cost"), get("optimizer", op=True),
                       get("predictions"), get("accuracy"), pre)


def _final_scope(graph):
    """The scope of the layer making `logits` (it has no ReLU, so no pre-activation to plot)."""
    try:
        return graph.get_operation_by_name("logits").inputs[0].op.name.split("/")[0]
    except (KeyError, IndexError):
        return None


def show(*tensors):
    """Each tensor's name, static shape (`?` for the None batch, LTFN 2) and type: what a cell just made."""
    for t in tensors:
        kind = "variable" if isinstance(t, tf.Variable) else ("operation" if isinstance(t, tf.Operation) else "tensor")
        if isinstance(t, tf.Operation):
            print("{:<26} an operation ({}): no value, running it does the work".format(t.name, t.type))
        else:
            print("{:<26} {:<10} {:<16} {}".format(t.name, kind, deps.format_shape(t.shape), t.dtype.name))


class RanBefore(RuntimeError):
    """A graph-building cell run a second time: one line, no traceback (IPython prints _render_traceback_)."""

    def _render_traceback_(self):
        return ["RanBefore: " + str(self)]


def build_once(graph, *names):
    """The first line of a cell that adds `names` (top-level names: `cost`, `layer1`) to `graph`. Run again,
    the cell would add them twice (`cost_1`, `layer1_1/...`, or get_variable's `already exists`), and the
    later cells, which find nodes by name, would use the first ones: so a second run stops here, before it
    adds anything, and says what to do."""
    taken = [name for name in names if graph.unique_name(name, mark_as_used=False) != name]
    if taken:
        raise RanBefore("this cell has run before: your graph already has {} (nothing was added now). To build it "
                        "again, changed or not, run the cells again from `graph = tf.Graph()`.".format(
                            ", ".join("`{}`".format(n) for n in taken)))


def check(graph, net, init=None, learning_rate=None):
    """The check cell: is `graph` the one graphs/model.build_graph makes? Said in words (labs/sameness.py),
    on the first 100 test images (20 in the quick setting)."""
    from labs import sameness

    init = init or posts.DEFAULT_INIT[net]
    test, count = mnist().test, setting(100, 20)
    return sameness.check(graph, net, init, learning_rate, batch=(test.images[:count], test.labels[:count]))


def error(attempt, why):
    """Runs attempt(), which should fail as TensorFlow fails, and prints TensorFlow's own words (the first
    lines of its message) and then `why`, in a sentence."""
    try:
        attempt()
    except (tf.errors.OpError, ValueError, TypeError, RuntimeError) as e:
        print("TensorFlow: {}: {}".format(type(e).__name__, _tensorflow_words(e)))
        print("Why: " + why)
        return e
    print("(no error this time: something in the cells above already changed what this shows)")
    return None


def _tensorflow_words(error):
    """The sentence TensorFlow's message is about: graph-mode messages start with where the node was
    defined (`Detected at node ... defined at`, a traceback); the words follow its `Node: '...'` line."""
    lines = [line.strip() for line in (getattr(error, "message", None) or str(error)).splitlines() if line.strip()]
    node = next((i for i, line in enumerate(lines) if line.startswith("Node: ")), None)
    if node is not None and node + 1 < len(lines):
        words = lines[node + 1].split(" Debug info:")[0]
        return "{} ({})".format(words, lines[node].replace("Node: ", "at node "))
    return lines[0] if lines else ""


def progress(steps, batch_size, start=0):
    """`for step in kit.progress(STEPS, BATCH):` the steps start ... steps-1, under a bar that shows
    images/s and the time left. Kernel -> Interrupt stops the loop after the step running then: the
    session keeps every step done, and the cell ends without a traceback (a second Interrupt stops at once)."""
    import signal

    stop = []
    previous = None

    def on_interrupt(signum, frame):
        stop.append(True)
        signal.signal(signal.SIGINT, previous)

    try:
        previous = signal.signal(signal.SIGINT, on_interrupt)
    except ValueError:  # not the main thread: Interrupt stops with a KeyboardInterrupt as usual
        previous = None
    bar = _Bar(steps - start, batch_size)
    step = start
    try:
        for step in range(start, steps):
            if stop:
                bar.stopped(step - start)
                return
            yield step
            bar.update(step + 1 - start)
        step = steps
    finally:
        if previous is not None and signal.getsignal(signal.SIGINT) is on_interrupt:
            signal.signal(signal.SIGINT, previous)
        bar.close(step - start)


class _Bar:
    """An HTML progress bar updated in place (IPython display handles), twice a second at most."""

    def __init__(self, total, batch_size):
        import time
        self.total, self.batch_size, self.clock = total, batch_size, time.perf_counter
        self.started = self.shown = self.clock()
        self.handle = None
        try:
            from IPython import get_ipython
            from IPython.display import HTML, display
            if get_ipython() is not None:
                self.handle = display(HTML(self._html(0)), display_id=True)
        except ImportError:
            pass

    def _html(self, done):
        elapsed = self.clock() - self.started
        rate = done * self.batch_size / elapsed if elapsed > 0 and done else 0.0
        left = (self.total - done) * self.batch_size / rate if rate else None
        text = "step {:,} of {:,}{}{}".format(done, self.total, ", {:.0f} images/s".format(rate) if rate else "",
                                              ", about {} left".format(_duration(left)) if left else "")
        return "<progress value='{}' max='{}' style='width:40%'></progress> <code>{}</code>".format(
            done, self.total, text)

    def update(self, done):
        if self.clock() - self.shown >= 0.5 and self.handle is not None:
            from IPython.display import HTML
            self.handle.update(HTML(self._html(done)))
            self.shown = self.clock()

    def stopped(self, done):
        print("Stopped by Kernel -> Interrupt after {:,} of {:,} steps: the session keeps the weights of every step "
              "done; the cells below work on them (run this cell again to train more).".format(done, self.total))

    def close(self, done):
        if self.handle is not None:
            from IPython.display import HTML
            self.handle.update(HTML(self._html(done)))
        elapsed = self.clock() - self.started
        rate = done * self.batch_size / elapsed if elapsed else 0.0
        print("{:,} step{} of {} images in {} ({:.0f} images/s)".format(
            done, "" if done == 1 else "s", self.batch_size, _duration(elapsed), rate))


def _duration(seconds):
    seconds = int(round(seconds))
    return "{} min {:02d} s".format(seconds // 60, seconds % 60) if seconds >= 60 else "{} s".format(seconds)


def watch(session, graph, title, count=20, dataset=None):
    """Watch it learn: the test accuracy now (logits only, in batches), and the first `count` test digits
    titled `true -> said`, the wrong ones in red. Returns the accuracy in %."""
    dataset = dataset or test_set()
    nodes = nodes_of(graph)
    shape = tuple(nodes.input.shape.as_list()[1:])
    logits = trainer.test_logits(session, nodes, dataset.images.reshape((-1,) + shape), 1000)
    _, accuracy = trainer.score(logits, dataset.labels)
    said, true = logits[:count].argmax(axis=1), dataset.labels[:count].argmax(axis=1)
    columns = 10
    fig, axes = plt.subplots(-(-count // columns), columns, figsize=(columns * 1.0, 1.25 * -(-count // columns) + 0.4),
                             squeeze=False)
    from pictures import figures
    for ax in axes.ravel():
        ax.axis("off")
    for ax, image, t, p in zip(axes.ravel(), dataset.images[:count], true, said):
        figures.digit(ax, image, "{} -> {}".format(t, p), colour="black" if t == p else "red")
    fig.suptitle("{}: test accuracy {:.1f} % ({:,} images)".format(title, accuracy, len(dataset.labels)), fontsize=10)
    fig.tight_layout()
    _show(fig)
    return accuracy


def weights_picture(values, title):
    """A first layer's weights as pictures/learned draws them: linear's ten 28x28 templates, conv4's
    3x3 filters (red positive, blue negative)."""
    from pictures import learned
    names, images = learned.templates(values)
    fig = plt.figure(figsize=learned.weights_size(len(images)))
    learned.draw_weights(fig, names, images, title)
    _show(fig)


def shapes(graph, names):
    """Prints each named tensor's static shape, `?` for the None batch; a variable by its own name."""
    variables = {v.op.name: v for v in graph.get_collection(tf.compat.v1.GraphKeys.GLOBAL_VARIABLES)}
    for name in names:
        tensor = variables[name] if name in variables else graph.get_tensor_by_name(name + ":0")
        print("{:<24} {}".format(name, deps.format_shape(tensor.shape)))


def report_test(run, figure_key=None):
    """Prints the posts' two test lines, and the post's own figures beside them when it has them."""
    cost, accuracy = run.test()
    print("Test Cost: {:.6g}".format(cost))
    print("Test accuracy: {:.2f} %".format(accuracy))
    figure = posts.FIGURES.get(figure_key or (run.net, run.init))
    if figure:
        print("({} reported Test Cost {:.6g}, Test accuracy {:.2f} % after its full run)".format(
            figure.post, figure.test_cost, figure.test_accuracy))
    return cost, accuracy


def recorded(net, init):
    """What `bazel run //:reproduce` recorded for //:run's full run of (net, init), float32, seed 0
    (results/reproduce.json, the README's table): a dict with test_cost, test_accuracy and the command."""
    import json

    path = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "results", "reproduce.json")
    with open(path, encoding="utf-8") as f:
        return json.load(f)["{}/{}".format(net, init)]


def run_pictures(run, dataset=None):
    """The pictures //:run draws at the end of a run (pictures/results.write: its mistakes, the confusion
    matrix, layer 1's weights, conv4's feature maps), from one logits-only pass over the test set and what
    the network learned (session/summaries.learned). Returns ({kind: PNG path}, the `most confused: ...` line)."""
    from pictures import results
    from session import summaries

    dataset = dataset or test_set()
    folder = scratch_dir("{}-{}".format(run.net, run.init))
    weights, maps = summaries.learned(run.session, run.nodes, dataset.images[results.FEATURE_MAP_IMAGE])
    return results.write(folder, trainer.softmax(run.logits(dataset.images)), dataset.labels.argmax(axis=1),
                         dataset.images.reshape(-1, 28, 28), weights, maps,
                         {"net": run.net, "init": run.init, "step": run.steps})


def plot_history(runs, log_cost=False):
    """Cost and batch accuracy against the step, one line per run, side by side."""
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 3.5))
    for run in runs:
        steps = [p.step for p in run.history]
        left.plot(steps, [p.cost for p in run.history], marker=".", label=run.label)
        right.plot(steps, [p.accuracy for p in run.history], marker=".", label=run.label)
    left.set(xlabel="step", ylabel="cost (training batch)", title="Cost")
    right.set(xlabel="step", ylabel="accuracy % (training batch)", title="Accuracy", ylim=(0, 100))
    if log_cost:
        left.set_yscale("log")
    left.legend(fontsize=8)
    fig.tight_layout()
    _show(fig)


def graph_svg(graph, fetch_names, feeds=None, caption=None):
    """The graph collapsed by top-level scope with what `session.run(fetch_names)` runs in orange:
    the picture of `bazel run //:deps -- --dot=...` (labs/deps.to_dot). An IPython SVG if Graphviz's
    `dot` is installed; otherwise the DOT text and how to get the picture."""
    from IPython.display import SVG

    fetches = deps.resolve_fetches(graph, fetch_names)
    prediction = deps.predict(graph, fetches, feeds)
    text = deps.to_dot(graph, prediction, caption=caption or "session.run({}): the orange nodes run".format(
        ", ".join(fetch_names)))
    if not shutil.which("dot"):
        print(text)
        print("(apt-get install -y graphviz, then run this cell again, to see it drawn)")
        return None
    with tempfile.TemporaryDirectory() as folder:
        written = deps.write_dot(text, os.path.join(folder, "graph.dot"))
        with open(written[1]) as f:
            return SVG(f.read())


def _show(fig):
    """Shows a figure in the cell's output and closes it. Not plt.show(): pictures/figures.py switches
    matplotlib to its Agg backend (it draws files), after which plt.show() shows nothing in a notebook."""
    from IPython.display import display
    display(fig)
    plt.close(fig)


def show_png(path, width=None):
    """A PNG file inline (the pictures the programs write)."""
    from IPython.display import Image, display
    display(Image(filename=path, width=width))


def digits(images, titles, columns=10):
    """A row (or rows) of MNIST images, each with its title."""
    rows = -(-len(images) // columns)
    fig, axes = plt.subplots(rows, columns, figsize=(columns * 1.1, rows * 1.35), squeeze=False)
    for ax in axes.ravel():
        ax.axis("off")
    for ax, image, title in zip(axes.ravel(), images, titles):
        ax.imshow(np.reshape(image, (28, 28)), cmap="gray")
        ax.set_title(title, fontsize=8)
    fig.tight_layout()
    _show(fig)


def source(*objects):
    """The project's own code for `objects`, shown as the notebook's text (never a copy in a cell)."""
    import inspect

    from IPython.display import Markdown, display
    for obj in objects:
        display(Markdown("`{}.{}`:\n```python\n{}```".format(
            obj.__module__, obj.__qualname__, inspect.getsource(obj))))


def program(name, *args):
    """Runs `bazel run //:NAME -- ARGS`'s program (programs/NAME.py) with this kernel's interpreter and
    prints what it prints: the lab as it is, not a copy of it. Returns its exit code."""
    import subprocess

    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([root, os.environ.get("PYTHONPATH", "")]))
    done = subprocess.run([sys.executable, os.path.join(root, "programs", name + ".py")] + list(args),
                          capture_output=True, text=True, env=env)
    print(done.stdout, end="")
    if done.returncode:
        print(done.stderr, end="")
    return done.returncode


def scratch_dir(name):
    """A folder for what a notebook writes (runs, PNGs), under the system's temporary folder."""
    path = os.path.join(tempfile.gettempdir(), "ltfn-lessons", name)
    os.makedirs(path, exist_ok=True)
    return path


def convolution_example(name, seed=0, text=True):
    """One LTFN 4 example as //:convolutions shows it: its grids as text (unless text=False: the lesson
    printed them from the learner's own run), then drawn."""
    from labs import convolutions
    example, = convolutions.build_examples(seed, [name])
    if text:
        print(convolutions.format_example(example))
    path = os.path.join(scratch_dir("convolutions"), "{}-{}.png".format(name, seed))
    convolutions.render_png(example, path)
    show_png(path)
    return example


# ---- LTFN 2: predict which nodes a session.run uses, then check it against a traced run

def boxes(graph):
    """The graph's top-level names, in the order they were made: the boxes of its drawing (graph_svg,
    TensorBoard), `layer1` for every node under layer1/, `cost` for cost/..., `gradients`, `init`."""
    return list(collections.OrderedDict.fromkeys(deps.scope_of(op.name) for op in graph.get_operations()))


def check_prediction(you_predict, graph, fetches, feed_dict=None):
    """Predict, then check (LTFN 2): `you_predict` is the set of `boxes(graph)` you expect
    `session.run(fetches, feed_dict)` to use (the boxes with a node that runs, and the placeholders it
    feeds). Runs that call once with a FULL_TRACE in a session of its own (variables from their own
    initializers; your session is untouched) and says right or wrong from what the trace saw run.
    An empty set means no prediction yet: the run is shown. Returns the set of boxes used, whose
    `.nodes` are the graph's nodes the trace saw run (both empty if TensorFlow refused the call: a failed
    step reports no trace); a name that is not one of the boxes is said, and not graded."""
    names = boxes(graph)
    predicted = set(you_predict or ())
    unknown = sorted(predicted - set(names), key=str)
    many = isinstance(fetches, (list, tuple))
    elements = [graph.as_graph_element(f) for f in (fetches if many else [fetches])]
    feed_dict = dict(feed_dict or {})
    call = "session.run({})".format(", ".join(_op_name(e) for e in elements))
    used, refused = _traced_boxes(graph, elements, feed_dict)
    if refused:
        print("{}: TensorFlow refused it: {} (a failed step is not traced: which nodes ran before the "
              "error is not reported)".format(call, refused))
    else:
        counts = deps.scope_counts(graph, used["nodes"] | used["fed"])
        said = []
        for box in names:
            inside, total = counts[box]
            if box in used["fed"]:
                said.append("{} (fed)".format(box))
            elif inside and inside < total:
                said.append("{} ({} of its {} nodes)".format(box, inside, total))
            elif inside:
                said.append(box)
        print("{} used {} of the graph's {} boxes: {}".format(call, len(said), len(names), ", ".join(said)))
        print("Did not run: {}".format(", ".join(b for b in names if not counts[b][0]) or "nothing"))
        for box in names:
            if 0 < counts[box][0] < counts[box][1]:
                print("  {}: {}".format(box, _not_run_in(graph, box, used["nodes"] | used["fed"])))
    ran = Used() if refused else Used(deps.scope_of(n) for n in used["nodes"] | used["fed"])
    ran.nodes = set() if refused else set(used["nodes"])
    if unknown:
        print("No box named {} in this graph (its top-level names are {}): fix you_predict and run the cell "
              "again.".format(", ".join(repr(n) for n in unknown), ", ".join(names)))
    elif refused and predicted:
        print("Not quite: TensorFlow refused the call, so it returned nothing.")
    elif not predicted:
        print("You predicted nothing yet: put the names you expect in you_predict, then run the cell again.")
    elif predicted == ran:
        print("Right: you predicted exactly the boxes the traced run used.")
    else:
        missed, wrong = [b for b in names if b in ran - predicted], [b for b in names if b in predicted - ran]
        print("Not quite:{}{}".format(
            " used, and not in your prediction: {}.".format(", ".join(missed)) if missed else "",
            " in your prediction, and did not run: {}.".format(", ".join(wrong)) if wrong else ""))
    return ran


class Used(set):
    """The boxes a traced call used; `.nodes`: the graph's nodes that ran."""
    nodes = frozenset()


def _not_run_in(graph, box, used):
    """Why a box ran only partly: its nodes that did not run, the variables' initializers (they run with
    `init`) told apart from the rest, by op type."""
    rest = [op for op in graph.get_operations() if deps.scope_of(op.name) == box and op.name not in used]
    initializers = deps.initializer_nodes(graph)
    others = collections.Counter(op.type for op in rest if op.name not in initializers)
    parts = []
    if len(rest) > sum(others.values()):
        parts.append("{} belong to its variables' initializers (they run with `init`)".format(
            len(rest) - sum(others.values())))
    if others:
        parts.append("{} that nothing fetched needs ({})".format(
            sum(others.values()), ", ".join("{} {}".format(n, t) for t, n in others.most_common())))
    return "{} of its nodes did not run: {}".format(len(rest), "; ".join(parts))


def _op_name(element):
    return element.name if isinstance(element, tf.Operation) else element.op.name


def _traced_boxes(graph, elements, feed_dict):
    """({"nodes": graph ops that ran, "fed": placeholders whose fed value was read}, None), from one
    FULL_TRACE run in a new session (Grappler off so names survive), or (None, TensorFlow's error line)."""
    with tf.compat.v1.Session(graph=graph, config=deps.session_config()) as session:
        session.run([v.initializer for v in graph.get_collection(tf.compat.v1.GraphKeys.GLOBAL_VARIABLES)])
        try:
            trace = deps.trace_step(session, elements, feed_dict)
        except tf.errors.OpError as e:
            return None, deps.error_line(e)
    ops = {op.name for op in graph.get_operations()}
    comparison = deps.compare(graph, deps.predict(graph, elements, list(feed_dict)), trace)
    # A node that ran inside a fused kernel (oneDNN's MatMul + BiasAdd) counts as run: its kernel did.
    nodes = {n for n in trace.nodes if n in ops} | set(comparison.fused)
    return {"nodes": nodes, "fed": set(comparison.feeds.values())}, None
