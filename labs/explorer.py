"""The `session.run` explorer (LTFN 2): pick fetches and feeds, see what will run, run it traced.

LTFN 2: "TensorFlow looks at the dependencies for these two nodes" and runs only those. The explorer
puts that in a learner's hands, on any graph (the posts' own, or one the learner built in a cell):

  * fetches and feeds are chosen from the graph's nodes (two lists);
  * each change redraws the graph collapsed by top-level scope (graphs/deps.to_dot), the nodes that
    will run in orange and a placeholder that must be fed but is not with a red border, and says so
    in words (graphs/deps.predict: TensorFlow's own extract_sub_graph, minus what feeds cut off);
  * "Run it (traced)" runs the fetch once with a FULL_TRACE (graphs/deps.traced_run) and shows the
    values' shapes and the nodes that ran, checked against the drawing (graphs/deps.compare), or
    TensorFlow's own error, e.g. the missing feed, and why;
  * "show TensorFlow's internals" adds what the executor did besides (its _SOURCE and _retval
    nodes, the _arg nodes carrying feeds, oneDNN's fused kernels); off by default.

Every control's handler is a plain method (on_fetches, on_feeds, on_all_nodes, on_run, on_internals),
so tests/widgets_test.py drives them without a browser and reads the widgets' values.
"""

import collections
import html
import os
import shutil
import subprocess
import tempfile

import numpy as np
import tensorflow as tf

from data import loader
from labs import deps

# Op types never worth listing as a fetch or feed: a learner fetches tensors and training ops.
_HIDDEN_TYPES = frozenset(["Const", "VarHandleOp", "VarIsInitializedOp", "AssignVariableOp", "Assign",
                           "Identity", "Shape", "Reshape", "NoOp"])


def candidates(graph, all_nodes=False):
    """Node names to offer as fetches: the posts' names first, then the layers' own named tensors
    (`layer1/layer1_conv`, `layer1/layer1_weights`, ...) and every other top-level node; gradients
    and initializers only with all_nodes=True (then: every op, in graph order)."""
    ops = graph.get_operations()
    if all_nodes:
        return [op.name for op in ops]
    names = {op.name for op in ops}
    first = [n for n in deps.POST_NAMES if n in names]
    rest = []
    for op in ops:
        name = op.name
        if name in first or name.startswith(("gradients", "init", "save")):
            continue
        parts = name.split("/")
        top_level = len(parts) == 1 and (op.type not in _HIDDEN_TYPES or op.type in ("NoOp", "VarHandleOp"))
        # `layer1/layer1_weights`, `layer1/layer1_conv`: a layer's own tensors, named after its scope
        layer_own = len(parts) == 2 and parts[1].startswith(parts[0]) and op.type not in ("Assign", "AssignVariableOp")
        if top_level or layer_own:
            rest.append(name)
    return first + rest


def feedable(graph, all_nodes=False):
    """Names that can be fed: every placeholder first, then the fetch candidates with one float
    output (any tensor can be fed in TensorFlow: feeding `logits` cuts off everything below it)."""
    placeholders = [op.name for op in graph.get_operations() if op.type in ("Placeholder", "PlaceholderV2")]
    others = []
    for name in candidates(graph, all_nodes):
        op = graph.get_operation_by_name(name)
        if name not in placeholders and len(op.outputs) == 1 and op.outputs[0].dtype.is_floating:
            others.append(name)
    return placeholders + others


def _variables_initializer(graph):
    """Every variable's initializer, without adding an op to the learner's graph."""
    return [v.initializer for v in graph.get_collection(tf.compat.v1.GraphKeys.GLOBAL_VARIABLES)]


def default_batch(size=100):
    """The first `size` MNIST test images, as LTFN 2's test loop sees them."""
    test = loader.load_mnist().test
    return loader.DataSet(test.images[:size], test.labels[:size])


Report = collections.namedtuple("Report", ["lines", "internals"])  # internals: shown only on request


def prediction_lines(graph, prediction):
    """What the drawing shows, in words: which scopes run, what must be fed, what is fed for nothing."""
    counts = deps.scope_counts(graph, prediction.runs)
    running = ["{} ({} of {} nodes)".format(s, i, t) if i < t else s for s, (i, t) in counts.items() if i]
    lines = ["Will run {} nodes, in: {}".format(len(prediction.runs), ", ".join(running) or "nothing")]
    lines.append("Placeholders the fetch needs: {}".format(", ".join(prediction.required) or "none"))
    for name in prediction.unfed:
        lines.append("NOT fed: {} (red border): {}; session.run will refuse".format(name, _needs(graph, prediction, name)))
    for name in prediction.unused_feeds:
        lines.append("Fed but not needed: {} (TensorFlow accepts the value and ignores it)".format(_short(name)))
    for name in sorted(prediction.fed - set(prediction.required)):
        lines.append("Fed: {}: it does not run, and nothing below it runs for it".format(name))
    return lines


def _needs(graph, prediction, placeholder):
    """`cost needs it through cost/softmax_cross_entropy_with_logits (...)`, or why a fetched
    placeholder needs a feed."""
    path = deps.dependency_path(prediction, placeholder)
    if len(path) == 1:
        return "{} is a placeholder itself: its value can only come from feed_dict".format(placeholder)
    return "{} needs it through {}".format(path[0], deps.describe_path(graph, path))


def _short(name):
    return name[:-2] if name.endswith(":0") else name


def run_report(graph, prediction, trace, fetch_names):
    """The traced run, for a learner (lines) and with the executor's own nodes (internals)."""
    if trace.error:
        lines = ["TensorFlow refused: {}".format(trace.error)]
        if prediction.unfed:
            lines.append("Why: {}, and every placeholder a fetch depends on must be fed. Feed {} too, or fetch "
                         "something that does not need it.".format(
                             _needs(graph, prediction, prediction.unfed[0]), prediction.unfed[0]))
        return Report(lines, [])
    lines = ["session.run returned:"]
    for name, value in zip(fetch_names, trace.values):
        lines.append("  {}: {}".format(name, _describe_value(value)))
    c = deps.compare(graph, prediction, trace)
    ran = set(c.matched) | set(c.fused)
    if not trace.nodes:
        lines.append("Nothing ran: every fetch was fed, so session.run handed the fed values straight back.")
    elif not c.missing and not c.extra:
        lines.append("Ran {} nodes: exactly the orange ones in the drawing (the trace saw each of them run).".format(
            len(ran)))
    for name in c.missing:
        lines.append("DIFFERENCE: {} was drawn orange but did not run".format(name))
    for name in c.extra:
        lines.append("DIFFERENCE: {} ran but was not drawn orange".format(name))
    counts = deps.scope_counts(graph, ran)
    if ran:
        lines.append("  by scope: " + ", ".join("{} {}".format(s, i) for s, (i, _) in counts.items() if i))
    return Report(lines, internals_lines(graph, c))


def internals_lines(graph, c):
    """What the executor ran besides the graph's own nodes, and the kernels it chose."""
    lines = ["TensorFlow's internals (the trace ran with Grappler's rewrites off, so names survive):"]
    for node, op in sorted(c.feeds.items()):
        lines.append("  {}: the executor's node carrying the value fed for {}".format(node, op))
    for node, why in c.runtime.items():
        lines.append("  {}: {}".format(node, why))
    for name, (into, op) in sorted(c.fused.items()):
        lines.append("  {} ran inside {} ({}): {}".format(name, into, op, deps.fusion_source(op)))
    for name, (graph_op, kernel) in sorted(c.kernels.items()):
        lines.append("  {} ({}) ran as the kernel {}".format(name, graph_op, kernel))
    return lines


def _describe_value(value):
    if value is None:
        return "None (an operation, such as optimizer, returns no value: it is run for what it changes)"
    array = np.asarray(value)
    if array.ndim == 0:
        return "a number, {:.6g}".format(float(array)) if array.dtype.kind in "fiub" else repr(value)
    return "an array of shape {}, values from {:.4g} to {:.4g}".format(
        deps.format_shape(list(array.shape)), float(array.min()), float(array.max())) if array.size else \
        "an empty array of shape {}".format(deps.format_shape(list(array.shape)))


def svg_of(dot_text):
    """The DOT picture as SVG text (Graphviz's `dot`), or None if `dot` is not installed."""
    dot = shutil.which("dot")
    if not dot:
        return None
    done = subprocess.run([dot, "-Tsvg"], input=dot_text, capture_output=True, text=True, timeout=120)
    if done.returncode != 0:
        raise deps.DepsError("dot -Tsvg failed: {}".format(done.stderr.strip()[:200]))
    svg = done.stdout
    return svg[svg.index("<svg"):] if "<svg" in svg else svg  # without the XML prologue: inline HTML


def _pre(lines, css=""):
    return "<pre style='white-space: pre-wrap; margin: 0; {}'><code>{}</code></pre>".format(css, html.escape("\n".join(lines)))


class Explorer:
    """The widget: `Explorer(graph).widget` in a cell (or `explorer.show(graph)`).

    `init_op` initializes the variables before the traced run (default: each variable's own
    initializer); `batch` is a loader.DataSet (default: the first 100 MNIST test images), fed to
    `input` and `labels`; any other fed tensor gets random values of its shape.
    """

    def __init__(self, graph, init_op=None, batch=None, fetches=("logits",), feeds=("input",)):
        import ipywidgets as widgets

        self.graph = graph
        self.init_op = init_op if init_op is not None else _variables_initializer(graph)
        self._batch = batch
        options = candidates(graph)
        fetches = [f for f in fetches if f in options] or options[:1]
        feeds = [f for f in feeds if f in feedable(graph)]
        layout = widgets.Layout(width="260px", height="190px")
        self.fetches = widgets.SelectMultiple(options=options, value=fetches, description="fetch", layout=layout)
        self.feeds = widgets.SelectMultiple(options=feedable(graph), value=feeds, description="feed", layout=layout)
        self.all_nodes = widgets.Checkbox(value=False, description="list every node (gradients, initializers ...)",
                                          indent=False)
        self.run_button = widgets.Button(description="Run it (traced)", button_style="warning", icon="play")
        self.internals = widgets.Checkbox(value=False, description="show TensorFlow's internals", indent=False)
        self.call = widgets.HTML()
        self.drawing = widgets.HTML()
        self.prediction_text = widgets.HTML()
        self.result = widgets.HTML()
        self.fetches.observe(self.on_fetches, names="value")
        self.feeds.observe(self.on_feeds, names="value")
        self.all_nodes.observe(self.on_all_nodes, names="value")
        self.internals.observe(self.on_internals, names="value")
        self.run_button.on_click(self.on_run)
        self.report = None
        self._quiet = False
        controls = widgets.VBox([widgets.HBox([self.fetches, self.feeds]), self.all_nodes,
                                 widgets.HBox([self.run_button, self.internals])])
        self.widget = widgets.VBox([self.call, widgets.HBox([controls, self.prediction_text]), self.drawing,
                                    self.result])
        self.widget.add_class("ltfn-explorer")
        self.redraw()

    def batch(self):
        if self._batch is None:
            self._batch = default_batch()
        return self._batch

    def _selection(self):
        # A variable's name fetches its value (the read op TensorFlow made with it), as fetching the
        # Python variable would; any other name is graphs/deps' to resolve.
        variables = {v.op.name: self.graph.as_graph_element(v)
                     for v in self.graph.get_collection(tf.compat.v1.GraphKeys.GLOBAL_VARIABLES)}
        fetch_elements = [variables[n] if n in variables else deps.resolve_fetches(self.graph, [n])[0]
                          for n in self.fetches.value]
        feed_tensors = deps.resolve_feeds(self.graph, list(self.feeds.value))
        return fetch_elements, feed_tensors

    def call_text(self):
        """`session.run([logits], feed_dict={input: ...})`: the call the controls describe."""
        fetches = list(self.fetches.value)
        shown = fetches[0] if len(fetches) == 1 else "[{}]".format(", ".join(fetches))
        feeds = ", ".join("{}: ...".format(f) for f in self.feeds.value)
        return "session.run({}{})".format(shown, ", feed_dict={{{}}}".format(feeds) if feeds else "")

    def redraw(self):
        """The drawing and the prediction for the current fetches and feeds; clears the last run."""
        self.report = None
        self.result.value = ""
        self.call.value = "<code>{}</code>".format(html.escape(self.call_text()))
        if not self.fetches.value:
            self.prediction_text.value = _pre(["Choose at least one node to fetch."])
            self.drawing.value = ""
            self.run_button.disabled = True
            return
        self.run_button.disabled = False
        fetch_elements, feed_tensors = self._selection()
        prediction = deps.predict(self.graph, fetch_elements, feed_tensors)
        self.prediction_text.value = _pre(prediction_lines(self.graph, prediction))
        text = deps.to_dot(self.graph, prediction, caption="{}: the orange nodes run".format(self.call_text()))
        svg = svg_of(text)
        self.drawing.value = svg if svg else _pre([text, "(apt-get install -y graphviz to see it drawn)"])

    def on_fetches(self, change=None):
        if not self._quiet:
            self.redraw()

    def on_feeds(self, change=None):
        if not self._quiet:
            self.redraw()

    def on_all_nodes(self, change=None):
        """Lists every node of the graph (or the short list again), keeping the choices that remain."""
        fetches, feeds = list(self.fetches.value), list(self.feeds.value)
        fetch_options = candidates(self.graph, self.all_nodes.value)
        feed_options = feedable(self.graph, self.all_nodes.value)
        self._quiet = True  # new options clear the choices: one redraw at the end, not four
        try:
            self.fetches.options, self.feeds.options = fetch_options, feed_options
            self.fetches.value = tuple(f for f in fetches if f in fetch_options) or tuple(fetch_options[:1])
            self.feeds.value = tuple(f for f in feeds if f in feed_options)
        finally:
            self._quiet = False
        self.redraw()

    def on_run(self, button=None):
        """Runs the chosen fetch once, traced, and shows what it returned and what ran (or the error)."""
        if not self.fetches.value:
            return
        fetch_elements, feed_tensors = self._selection()
        prediction = deps.predict(self.graph, fetch_elements, feed_tensors)
        try:
            trace = deps.traced_run(self.graph, self.init_op, fetch_elements, feed_tensors, self.batch())
        except deps.DepsError as e:  # e.g. a fed tensor whose shape is not known apart from the batch
            self.report = Report(["Cannot run it here: {}".format(e)], [])
        else:
            self.report = run_report(self.graph, prediction, trace, list(self.fetches.value))
        self.show_report()

    def on_internals(self, change=None):
        self.show_report()

    def show_report(self):
        if self.report is None:
            self.result.value = ""
            return
        refused = self.report.lines[0].startswith(("TensorFlow refused", "Cannot run"))
        lines = list(self.report.lines)
        if self.internals.value and self.report.internals:
            lines += [""] + self.report.internals
        self.result.value = _pre(lines, "color: #b00020;" if refused else "")


def show(graph, **kwargs):
    """An explorer on `graph` (yours or model.build_graph's), displayed; returns the Explorer.
    A page rendered without a kernel shows its first drawing instead (labs/display)."""
    from labs import display

    explorer = Explorer(graph, **kwargs)
    display.show(explorer.widget, explorer.call.value + explorer.prediction_text.value + explorer.drawing.value,
                 "The session.run explorer")
    return explorer
