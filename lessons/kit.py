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

    def __init__(self, net, init=None, learning_rate=None, seed=0):
        self.net = net
        self.init = init or posts.DEFAULT_INIT[net]
        self.learning_rate = learning_rate or posts.settings(net, self.init).learning_rate
        self.input_shape = model.NETS[net].INPUT_SHAPE
        # The same graph //:run builds, seeded the same way.
        self.graph, self.nodes, self.init_op = model.build_graph(net, self.init, self.learning_rate, seed)
        self.session = sessions.new_session(self.graph)
        self.session.run(self.init_op)
        self.history = []
        self.steps = 0

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
    plt.show()


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
    plt.show()


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


def convolution_example(name, seed=0):
    """One LTFN 4 example as //:convolutions shows it: its grids as text, then drawn."""
    from labs import convolutions
    example, = convolutions.build_examples(seed, [name])
    print(convolutions.format_example(example))
    path = os.path.join(scratch_dir("convolutions"), "{}-{}.png".format(name, seed))
    convolutions.render_png(example, path)
    show_png(path)
    return example
