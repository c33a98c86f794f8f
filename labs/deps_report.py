"""//:deps' printed report (LTFN 2), for the command line and for the lessons.

`explain` prints what `session.run(fetches)` will execute (graphs/deps.predict), runs it once traced
and accounts for every node (graphs/deps.compare), and can show the shapes. Each line goes through
`say(line, kind, error)`: kind BOTH lines are the post's ideas; INTERNALS lines are the executor's own
(`_SOURCE`, `_retval_...`, `_arg_input_0_0`, oneDNN's `_MklMatMul`, Grappler, FULL_TRACE), and PLAIN
lines say the same in a learner's words. `bazel run //:deps` prints BOTH and INTERNALS (printer());
a lesson shows `report(...)`, whose "show TensorFlow's internals" toggle is off by default.
"""

import collections
import html
import sys

import tensorflow as tf

from graphs import deps
from graphs import model
from graphs import posts

BOTH, INTERNALS, PLAIN = "both", "internals", "plain"


def printer(internals=True):
    """A `say` that prints: with internals (//:deps), or in a learner's words."""
    def say(line="", kind=BOTH, error=False):
        if kind == (PLAIN if internals else INTERNALS):
            return
        print(line, file=sys.stderr if error else sys.stdout)
    return say


def _list(names, limit=8):
    names = list(names)
    shown = ", ".join(names[:limit])
    return shown + (", ... ({} in all)".format(len(names)) if len(names) > limit else "")


def print_prediction(graph, prediction, fetch_text, say=print):
    say("Fetch: {}".format(fetch_text))
    say("Feeds required: {}".format(", ".join(prediction.required) or "none"))
    for name in prediction.unfed:
        say("  NOT fed: {}  (session.run will fail on it)".format(name))
    for name in prediction.unused_feeds:
        name = name[:-2] if name.endswith(":0") else name
        say("  fed but not needed: {}  (TensorFlow accepts it and ignores it)".format(name))
    for name in sorted(prediction.fed - set(prediction.required)):
        say("  fed: {}  (nothing upstream of it runs)".format(name))
    counts = deps.scope_counts(graph, prediction.runs)
    total = sum(t for _, t in counts.values())
    say("Will run: {} of {} nodes (extract_sub_graph of the fetch, minus what feeds cut off)".format(
        len(prediction.runs), total))
    width = max(len(s) for s in counts)
    for scope, (inside, all_) in counts.items():
        if inside:
            note = " (NOT fed)" if scope in prediction.unfed else "" if inside == all_ else " (partly)"
            say("  {:<{w}}  {:>4} of {}{}".format(scope, inside, all_, note, w=width))
    partial = [s for s, (inside, all_) in counts.items() if 0 < inside < all_]
    if partial:
        # The rest of a partly running scope: the variables' initializers (they run with `init`),
        # and nodes only other fetches use (e.g. the gradient with respect to labels, never needed).
        rest = [op for op in graph.get_operations()
                if deps.scope_of(op.name) in partial and op.name not in prediction.runs]
        initializers = deps.initializer_nodes(graph)
        others = collections.Counter(op.type for op in rest if op.name not in initializers)
        say("  (partly): their other {} nodes do not run: {} variable initializers (those run with "
              "`init`){}".format(len(rest), len(rest) - sum(others.values()),
                                 ", " + ", ".join("{} {}".format(k, t) for t, k in others.most_common())
                                 if others else ""))
    not_run = [s for s, (inside, _) in counts.items() if not inside]
    fed_scopes = {deps.scope_of(n) for n in prediction.fed}
    say("Will NOT run (whole scopes): {}".format(", ".join(
        s + (" (fed)" if s in fed_scopes else "") for s in not_run) or "none"))


def print_verification(graph, prediction, trace, batch_size, rewrites, say=print):
    c = deps.compare(graph, prediction, trace, rewrites)
    how = ("TensorFlow's default graph rewrites ON (--grappler)" if rewrites else
           "Grappler's graph rewrites switched OFF for the trace, so node names survive")
    say("Verified: one traced run (FULL_TRACE, batch of {}; {}):".format(batch_size, how), INTERNALS)
    say("Checked by running it once on a batch of {} and watching which nodes ran:".format(batch_size), PLAIN)
    say("  {} of {} predicted nodes ran under their own names".format(len(c.matched), c.predicted), INTERNALS)
    by_source = {}
    for name, (into, op) in sorted(c.fused.items()):
        by_source.setdefault(deps.fusion_source(op, rewrites), []).append("{} into {} ({})".format(name, into, op))
    for source, items in by_source.items():
        say("  + {} fused into the node after them by {}: {}".format(len(items), source, _list(items, 6)), INTERNALS)
    if c.removed:
        say("  ~ {} did not run under their names: Grappler (on with --grappler) folded, pruned or merged "
            "them; not traced one to one: {}".format(len(c.removed), _list(c.removed)), INTERNALS)
    say("  = {} of {} predicted nodes accounted for{}; {} unexplained".format(
        len(c.matched) + len(c.fused) + len(c.removed), c.predicted,
        " ({} only as Grappler's)".format(len(c.removed)) if c.removed else "",
        len(c.missing) + len(c.extra)), INTERNALS)
    say("  {} of the {} predicted nodes ran{}; {} unexplained".format(
        len(c.matched) + len(c.fused) + len(c.removed), c.predicted,
        " (some inside a combined kernel)" if c.fused or c.removed else "", len(c.missing) + len(c.extra)), PLAIN)
    if c.added:
        say("  also ran: {} nodes Grappler made (names not in the graph): {}".format(
            len(c.added), _list(c.added)), INTERNALS)
    if not trace.nodes:
        say("  (no step ran: every fetch was fed, so session.run handed the fed values straight back)")
    for node, op in sorted(c.feeds.items()):
        say("  also ran: {}  (carries the value fed for {}; the {} itself did not run)".format(
            node, op, graph.get_operation_by_name(op).type), INTERNALS)
    for node, why in c.runtime.items():
        say("  also ran: {}  ({})".format(node, why), INTERNALS)
    targets = {into for into, _ in c.fused.values()}
    kernels = [(n, k[1]) for n, k in sorted(c.kernels.items()) if n not in targets and k[1] != "Const"]
    folded = [n for n, k in sorted(c.kernels.items()) if k[1] == "Const"]
    if folded:
        say("  {} ran as constants: Grappler folded what they compute: {}".format(len(folded), _list(folded)),
            INTERNALS)
    if kernels:
        say("  {} more ran under their own names with a specialised kernel: {}".format(
            len(kernels), _list("{} as {}".format(n, k) for n, k in kernels)), INTERNALS)
    for name in c.missing:
        say("  UNEXPLAINED: {} was predicted but did not run".format(name))
    for name in c.extra:
        say("  UNEXPLAINED: {} ran but was not predicted".format(name))
    return not c.missing and not c.extra


def print_shapes(rows, batch_size, say=print):
    say("Shapes (LTFN 2): static shape in the graph, and the shape a batch of {} produced".format(batch_size))
    w0 = max([len(r.name) for r in rows] + [4])
    w1 = max([len(r.op) for r in rows] + [2])
    w2 = max([len(r.static) for r in rows] + [6])
    say("  {:<{}}  {:<{}}  {:<{}}  {}".format("node", w0, "op", w1, "static", w2, "run"))
    for r in rows:
        say("  {:<{}}  {:<{}}  {:<{}}  {}".format(r.name, w0, r.op, w1, r.static, w2, r.run or "-"))
    if any(r.run and r.run.endswith("*") for r in rows):
        say("  * fused away in the traced run; shape from fetching the tensor itself")
    say("  ? is the None batch dimension: the same graph runs batches of 1, 10, {} ...".format(batch_size))



def explain(net, fetches, feeds, batch, rewrites=False, shapes=False, dot_path=None, init=None,
            learning_rate=None, seed=0, say=None):
    """The whole report; returns the exit code. `batch()` returns the loader.DataSet to feed.

    say(line, kind, error) receives each line (default: printer(), everything, as //:deps prints it).
    """
    say = say or printer()
    init = init or posts.DEFAULT_INIT[net]
    learning_rate = learning_rate or posts.settings(net, init).learning_rate
    graph, _, init_op = model.build_graph(net, init, learning_rate, seed)
    fetch_elements = deps.resolve_fetches(graph, fetches)
    feed_tensors = deps.resolve_feeds(graph, feeds) if feeds is not None else None
    prediction = deps.predict(graph, fetch_elements, feed_tensors)
    if feed_tensors is None:
        feed_tensors = [graph.get_tensor_by_name(n + ":0") for n in prediction.required]
    dot_written = None  # written first: an unwritable --dot fails before any output
    if dot_path:
        caption = "{}: session.run({}) runs the orange nodes".format(net, ", ".join(fetches))
        dot_written = deps.write_dot(deps.to_dot(graph, prediction, net, caption), dot_path)

    say("LTFN 2 — what session.run executes in {} (init {})".format(net, init))
    print_prediction(graph, prediction, ", ".join(fetches), say)

    data = batch()  # loaded only now: a mistyped name fails fast, before MNIST is read
    trace = deps.traced_run(graph, init_op, fetch_elements, feed_tensors, data, rewrites)
    code = 0
    if trace.error:
        say("Ran it: TensorFlow raised {}".format(trace.error))
        if prediction.unfed:
            missing = prediction.unfed[0]
            path = deps.dependency_path(prediction, missing)
            say("Why: {} depends on {} through {}, and every placeholder in the fetched sub-graph must "
                  "be fed; feed {} too, or fetch something that does not need it (e.g. logits).".format(
                      path[0], missing, deps.describe_path(graph, path), " and ".join(prediction.unfed)))
            say("  (the dependency: {})".format(" <- ".join(path)))
        else:
            say("UNEXPLAINED: the prediction said this fetch could run with these feeds", error=True)
            code = 1
    else:
        if prediction.unfed:
            say("UNEXPLAINED: the run succeeded without feeding {}".format(", ".join(prediction.unfed)))
            code = 1
        if not print_verification(graph, prediction, trace, len(data.images), rewrites, say):
            code = 1
        if shapes:
            def fetch_directly(tensors):
                with tf.compat.v1.Session(graph=graph, config=deps.session_config(rewrites)) as session:
                    session.run(init_op)
                    return session.run(tensors, deps.feed_dict(graph, feed_tensors, data))
            print_shapes(deps.shape_rows(graph, prediction, trace, fetch_directly), len(data.images), say)
    if dot_written:
        say("Graph: {}".format(", ".join(dot_written)))
        if len(dot_written) == 1:
            say("  render it: apt-get install graphviz, then dot -Tsvg {} -o graph.svg".format(dot_written[0]))
    return code


class Report:
    """explain()'s lines in a cell, with a "show TensorFlow's internals" toggle (off by default).

    `Report(net, fetches, ...)` takes explain's arguments and runs it once; `.widget` shows the
    lines, on_internals (the toggle's handler) switches between the two versions.
    """

    def __init__(self, *args, **kwargs):
        import ipywidgets as widgets

        self.lines = []
        self.code = explain(*args, say=self._say, **kwargs)
        self.internals = widgets.Checkbox(value=False, description="show TensorFlow's internals", indent=False)
        self.text = widgets.HTML()
        self.internals.observe(self.on_internals, names="value")
        self.widget = widgets.VBox([self.text, self.internals])
        self.widget.add_class("ltfn-report")
        self.on_internals()

    def _say(self, line="", kind=BOTH, error=False):
        self.lines.append((line, kind, error))

    def shown(self):
        """The lines the toggle shows now."""
        hidden = PLAIN if self.internals.value else INTERNALS
        return [line for line, kind, _ in self.lines if kind != hidden]

    def on_internals(self, change=None):
        self.text.value = "<pre style='margin: 0'>{}</pre>".format(html.escape("\n".join(self.shown())))


def report(*args, **kwargs):
    """explain(...) as a Report widget, displayed (in a notebook); returns the Report. A page rendered
    without a kernel shows the report as it starts, without TensorFlow's internals."""
    from labs import display

    shown = Report(*args, **kwargs)
    display.show(shown.widget, shown.text.value, "//:deps' report")
    return shown
