"""What `session.run(fetches)` executes, which placeholders it needs, and the shapes it sees (LTFN 2).

LTFN 2: "When we pass optimizer and cost to session.run, TensorFlow looks at the dependencies for
these two nodes" and runs only those; `logits` alone needs `input` but not `labels`. This module

  * predicts that set with TensorFlow's own `extract_sub_graph`, minus what a feed cuts off;
  * proves it: runs the fetch once with a FULL_TRACE and accounts for every node that did (or did
    not) execute, explaining each difference (runtime nodes, feeds, oneDNN/Grappler fusions);
  * shows the static shapes (`?` for the None batch) beside the shapes one real batch produced;
  * draws the graph collapsed by top-level name scope, as TensorBoard does, with the fetched
    sub-graph in orange as in the post's figure.

The printed report at the end (`explain`) is what `bazel run //:deps` prints; `programs/deps.py` is
only its command line. A lesson shows it as `report(...)`, with TensorFlow's internals behind a
toggle (off). tests/deps_test.py checks all of it; tests/widgets_test.py the toggle.
"""

import collections
import difflib
import html
import os
import re
import shutil
import subprocess
import sys

import numpy as np
import tensorflow as tf
# Only to silence extract_sub_graph's "designed for TensorFlow v1" notice: using TF1 is the point here.
from tensorflow.python.util import deprecation

from graphs import model
from graphs import posts
from machine import errors
from machine import sessions
from session import timeline

# The names the posts use; suggested when a --fetch or --feed name is unknown.
POST_NAMES = ("input", "labels", "logits", "cost", "optimizer", "predictions", "accuracy")

# Op types whose outputs say nothing about the batch, left out of the shapes table.
_SHAPELESS_OPS = frozenset(["Const", "VarHandleOp", "ReadVariableOp", "NoOp", "VariableV2"])

# Node types the executor adds to every step; none of them is in the user's GraphDef.
RUNTIME_OPS = {
    "_Arg": "carries a value fed through feed_dict into the step",
    "_Retval": "hands a fetched value back to session.run",
    "_Recv": "receives a fed value (or one sent from another device)",
    "_Send": "sends a fetched value (or one needed on another device)",
    "_HostRecv": "receives a value on the host",
    "_HostSend": "sends a value from the host",
}
RUNTIME_NAMES = {
    "_SOURCE": "the executor's start node: every step begins there",
    "_SINK": "the executor's end node",
}

# Kernels that compute several graph ops in one: _MklNativeConv2DWithBias, _FusedConv2D, ...
_FUSED_KERNEL = re.compile(r"^_\w*(Fused|With)")
# Feeds arrive in nodes named _arg_<tensor op>_<output slot>_<index>.
_ARG_NAME = re.compile(r"^_arg_(.+)_(\d+)_(\d+)$")


class DepsError(Exception):
    """Something the user can fix; reported as one line without a traceback."""


def scope_of(name):
    """Top-level name scope: `layer1/Conv2D` -> `layer1`; `cost` and `cost/...` share `cost`."""
    return name.split("/", 1)[0]


def format_shape(shape):
    """`(?, 28, 28, 64)`: `?` is a dimension left None, like the batch (LTFN 2)."""
    if shape is None:
        return "<unknown>"
    if isinstance(shape, tf.TensorShape):
        if shape.rank is None:
            return "<unknown>"
        shape = shape.as_list()
    dims = ["?" if d is None or (isinstance(d, int) and d < 0) else str(d) for d in shape]
    if len(dims) == 1:
        return "({},)".format(dims[0])
    return "(" + ", ".join(dims) + ")"


def _valid_names_hint(graph, name):
    ops = [op.name for op in graph.get_operations()]
    close = difflib.get_close_matches(name, ops, n=3, cutoff=0.6)
    hint = "did you mean {}? ".format(" or ".join(close)) if close else ""
    posts = [n for n in POST_NAMES if n in set(ops)]
    return "{}valid names: {}, or any op name such as {}".format(
        hint, ", ".join(posts), next((o for o in ops if o.endswith("_out") or o.endswith("_output")),
                                     "layer1/MatMul"))


def _element(graph, name, flag):
    try:
        return graph.as_graph_element(name, allow_tensor=True, allow_operation=True)
    except (KeyError, ValueError, TypeError):
        raise DepsError("--{}: no node named '{}' in this graph; {}".format(
            flag, name, _valid_names_hint(graph, name.split(":")[0])))


def resolve_fetches(graph, names):
    """Fetch names -> graph elements (a tensor where the op has outputs, else the op), in order."""
    if not names:
        raise DepsError("--fetch: name at least one node, e.g. --fetch=logits")
    elements = []
    for name in names:
        element = _element(graph, name.strip(), "fetch")
        if isinstance(element, tf.Operation) and element.outputs:
            element = element.outputs[0]
        if element not in elements:
            elements.append(element)
    return elements


def resolve_feeds(graph, names):
    """Feed names -> tensors. Any tensor can be fed in TensorFlow; we need one value per name."""
    tensors = []
    for name in names:
        element = _element(graph, name.strip(), "feed")
        if isinstance(element, tf.Operation):
            if len(element.outputs) != 1:
                raise DepsError("--feed: '{}' has {} outputs; name one tensor, e.g. '{}:0'".format(
                    element.name, len(element.outputs), element.name))
            element = element.outputs[0]
        if element.dtype in (tf.resource, tf.variant, tf.string):
            raise DepsError("--feed: '{}' is a {} tensor; feed a placeholder such as input or labels".format(
                element.name, element.dtype.name))
        if element not in tensors:
            tensors.append(element)
    return tensors


def _op_name(element):
    return element.op.name if isinstance(element, tf.Tensor) else element.name


def _parse_input(text):
    """NodeDef input -> (op name, output slot, is control edge)."""
    if text.startswith("^"):
        return text[1:], None, True
    name, _, slot = text.partition(":")
    return name, int(slot or 0), False


Prediction = collections.namedtuple("Prediction", [
    "fetches",       # op names fetched, in the user's order
    "sub_graph",     # every node extract_sub_graph keeps for the fetches (TensorFlow's own answer)
    "runs",          # the nodes whose kernels will execute: sub_graph minus what feeds cut off
    "fed",           # op names whose fed output the step uses instead of running them
    "required",      # placeholders in the fetched sub-graph after feed cuts: they must be fed
    "unfed",         # required placeholders not in the feeds: session.run will fail on them
    "unused_feeds",  # fed tensors the fetches do not need (TensorFlow accepts and ignores them)
    "parents",       # node -> the node that first reached it (for "cost depends on labels via ...")
])


def predict(graph, fetches, feeds=None):
    """Which nodes session.run(fetches, feed_dict over `feeds`) executes, and what must be fed.

    `feeds` are tensors; None means "feed exactly the placeholders the fetches need", as the posts do.
    """
    graph_def = graph.as_graph_def()
    fetch_ops = [_op_name(f) for f in fetches]
    with deprecation.silence():
        sub = tf.compat.v1.graph_util.extract_sub_graph(graph_def, fetch_ops)
    nodes = {n.name: n for n in sub.node}
    if feeds is None:
        feeds = [graph.get_operation_by_name(n.name).outputs[0]
                 for n in graph_def.node if n.name in nodes and n.op == "Placeholder"]
    fed_tensors = {(t.op.name, t.value_index) for t in feeds}

    # Walk back from the fetches. A fed tensor is not computed: the walk stops at it, so nothing
    # upstream of a feed runs (unless something else still needs it).
    runs, fed, parents = set(), set(), {}
    stack = []
    for f in fetches:
        key = (f.op.name, f.value_index) if isinstance(f, tf.Tensor) else None
        if key in fed_tensors:
            fed.add(key[0])
        else:
            stack.append(_op_name(f))
    while stack:
        name = stack.pop()
        if name in runs:
            continue
        runs.add(name)
        for text in nodes[name].input:
            source, slot, control = _parse_input(text)
            if not control and (source, slot) in fed_tensors:
                fed.add(source)
                parents.setdefault(source, name)
            elif source not in runs:
                parents.setdefault(source, name)
                stack.append(source)

    order = [n.name for n in graph_def.node]
    placeholder_ops = {n.name for n in sub.node if n.op in ("Placeholder", "PlaceholderV2")}
    required = [n for n in order if n in placeholder_ops and (n in runs or n in fed)]
    unfed = [n for n in required if n in runs]
    fed_ops = {t.op.name for t in feeds}
    unused = [t.name for t in feeds if t.op.name not in runs and t.op.name not in fed]
    return Prediction(fetch_ops, set(nodes), runs, fed & fed_ops, required, unfed, unused, parents)


def dependency_path(prediction, target):
    """fetch -> ... -> target, following how `predict` first reached `target`."""
    path = [target]
    while path[-1] in prediction.parents and path[-1] not in prediction.fetches:
        path.append(prediction.parents[path[-1]])
    return list(reversed(path))


# Ops that only move or reshape data; a "why" names the first real computation instead.
_PLUMBING = frozenset(["Reshape", "Identity", "Shape", "ShapeN", "Slice", "ConcatV2", "Pack", "Sub",
                       "Rank", "Const", "ExpandDims", "Squeeze", "StopGradient"])


def describe_path(graph, path):
    """The first real computation after the source on a fetch -> ... -> source path, e.g.
    `cost/softmax_cross_entropy_with_logits (SoftmaxCrossEntropyWithLogits)`."""
    for name in reversed(path[1:-1]):
        op = graph.get_operation_by_name(name)
        if op.type not in _PLUMBING:
            return "{} ({})".format(name, op.type)
    return path[0]


def scope_counts(graph, names):
    """{top-level scope: (nodes of `names` in it, all nodes in it)} in graph order."""
    total = collections.OrderedDict()
    for op in graph.get_operations():
        total[scope_of(op.name)] = total.get(scope_of(op.name), 0) + 1
    inside = collections.Counter(scope_of(n) for n in names)
    return collections.OrderedDict((s, (inside.get(s, 0), t)) for s, t in total.items())


def initializer_nodes(graph):
    """Every node global_variables_initializer() runs (the `init` op and what it needs)."""
    ops = [op.name for op in graph.get_operations() if op.type == "NoOp" and op.name == "init"]
    if not ops:
        return set()
    with deprecation.silence():
        return {n.name for n in tf.compat.v1.graph_util.extract_sub_graph(graph.as_graph_def(), ops).node}


def session_config(rewrites=False):
    """A session config; rewrites=False switches Grappler's graph rewrites off (machine/sessions.config).

    Grappler renames, fuses, folds and prunes nodes before they run, so a trace with it on cannot be
    compared name by name with the GraphDef.
    """
    return sessions.config(rewrites=rewrites)


def feed_dict(graph, feeds, batch):
    """Values for `feeds` from `batch` (a loader.DataSet: flat images, one-hot labels).

    input and labels take the batch; any other fed tensor gets random values of its static shape
    with `?` set to the batch size (its values do not matter to what runs).
    """
    n = len(batch.images)
    values = {}
    rng = np.random.default_rng(0)
    for tensor in feeds:
        shape = tensor.shape.as_list() if tensor.shape.rank is not None else None
        if tensor.op.name == "input":
            values[tensor] = np.reshape(batch.images, [n] + shape[1:]).astype(np.float32)
        elif tensor.op.name == "labels":
            values[tensor] = np.asarray(batch.labels, np.float32)
        else:
            if shape is None or any(d is None for d in shape[1:]):
                raise DepsError("--feed: '{}' has shape {}; only tensors whose shape is known apart "
                                "from the batch can be fed here".format(tensor.name, format_shape(shape)))
            full = [n if d is None else d for d in shape]
            values[tensor] = rng.standard_normal(full).astype(tensor.dtype.as_numpy_dtype)
    return values


TracedNode = collections.namedtuple("TracedNode", ["name", "op", "inputs", "shapes"])
Trace = collections.namedtuple("Trace", ["nodes", "error", "values"])


def traced_run(graph, init_op, fetches, feeds, batch, rewrites=False):
    """Runs `fetches` once with a FULL_TRACE; returns Trace(nodes by name, error line, values).

    Variables are initialized first (its own, untraced run). A TensorFlow error is returned as its
    message's first line, not raised: showing it is part of the lesson.
    """
    values = feed_dict(graph, feeds, batch)
    with tf.compat.v1.Session(graph=graph, config=session_config(rewrites)) as session:
        session.run(init_op)
        try:
            return trace_step(session, fetches, values)
        except tf.errors.OpError as e:
            return Trace({}, error_line(e), None)


def trace_step(session, fetches, values=None):
    """Runs `fetches` once in an open session with a FULL_TRACE: Trace(nodes by name, None, values).

    The session's state is whatever earlier runs left (e.g. after training steps); TensorFlow
    errors are raised. Open the session with session_config() so node names survive.
    """
    options = tf.compat.v1.RunOptions(trace_level=tf.compat.v1.RunOptions.FULL_TRACE)
    metadata = tf.compat.v1.RunMetadata()
    result = session.run(fetches, values, options=options, run_metadata=metadata)
    nodes = collections.OrderedDict()
    for device in metadata.step_stats.dev_stats:
        for stats in device.node_stats:
            op, inputs = timeline.parse_timeline_label(stats.timeline_label) or (None, [])
            shapes = {}
            for out in stats.output:
                dims = [d.size for d in out.tensor_description.shape.dim]
                shapes[out.slot] = None if out.tensor_description.shape.unknown_rank else dims
            if stats.node_name not in nodes or shapes and not nodes[stats.node_name].shapes:
                nodes[stats.node_name] = TracedNode(stats.node_name, op, inputs, shapes)
    return Trace(nodes, None, result)


def error_line(error):
    """`ErrorType: the line that says what is wrong`, without TensorFlow's 'defined at' stack."""
    return errors.error_line(error, typed=True, limit=None)


Comparison = collections.namedtuple("Comparison", [
    "predicted",     # how many nodes the prediction says will run
    "matched",       # predicted nodes that ran under their own name
    "fused",         # {predicted node: (node it was fused into, that node's traced op)}
    "kernels",       # {node: (graph op, traced op)}: same node, a specialised kernel (e.g. _MklMatMul)
    "feeds",         # {traced node: fed op it stands in for}
    "runtime",       # {traced node: why the executor added it}
    "removed",       # predicted, not run, rewrites on: folded or pruned by Grappler
    "added",         # run under a name not in the graph, rewrites on: made by Grappler
    "missing",       # predicted, not run, unexplained
    "extra",         # run, not predicted, unexplained
])


def compare(graph, prediction, trace, rewrites=False):
    """Accounts for every predicted node and every traced node; anything left over is unexplained."""
    ops = {op.name: op for op in graph.get_operations()}
    traced = trace.nodes
    runs = prediction.runs
    matched = sorted(runs & set(traced))
    kernels = {n: (ops[n].type, traced[n].op) for n in matched
               if traced[n].op and traced[n].op != ops[n].type}

    consumers = collections.defaultdict(set)
    for name in runs:
        for t in ops[name].inputs:
            consumers[t.op.name].add(name)
        for c in ops[name].control_inputs:
            consumers[c.name].add(name)

    def traced_inputs(node):
        names = set()
        for text in node.inputs:
            source = text.lstrip("^").split(":")[0]
            arg = _ARG_NAME.match(source)
            names.add(arg.group(1) if arg else source)  # a fed input counts as the node it stands in for
        return names

    fused, missing, removed = {}, [], []
    for name in sorted(runs - set(traced)):
        # Fused: a node downstream of it (through other vanished nodes) ran as another op than the
        # graph says AND reads this node's own inputs directly: e.g. Conv2D + BiasAdd ran as one
        # _MklNativeConv2DWithBias named after the BiasAdd, taking the Conv2D's input and filter.
        own_inputs = {t.op.name for t in ops[name].inputs}
        into, seen, frontier = None, {name}, [name]
        while frontier and into is None:
            nxt = []
            for n in frontier:
                for c in sorted(consumers[n] - seen):
                    seen.add(c)
                    if c not in traced:
                        nxt.append(c)
                    elif (into is None and traced[c].op and _FUSED_KERNEL.search(traced[c].op) and
                          own_inputs & (traced_inputs(traced[c]) - {t.op.name for t in ops[c].inputs})):
                        into = c
            frontier = nxt
        if into:
            fused[name] = (into, traced[into].op)
        elif rewrites:
            removed.append(name)
        else:
            missing.append(name)

    feeds, runtime, extra, added = {}, {}, [], []
    for name, node in traced.items():
        if name in runs:
            continue
        arg = _ARG_NAME.match(name)
        if node.op == "_Arg" and arg and arg.group(1) in prediction.fed | set(prediction.fetches):
            feeds[name] = arg.group(1)
        elif name in RUNTIME_NAMES:
            runtime[name] = RUNTIME_NAMES[name]
        elif node.op in RUNTIME_OPS:
            runtime[name] = RUNTIME_OPS[node.op]
        elif rewrites and name not in ops:
            added.append(name)
        else:
            extra.append(name)
    return Comparison(len(runs), matched, fused, kernels, feeds, runtime, removed, added, missing, extra)


def fusion_source(op_type, rewrites=False):
    """Who fused nodes into a kernel of `op_type`."""
    if rewrites:
        return "the graph rewrites (Grappler's remapper, then oneDNN's pass)"
    if op_type.startswith("_Mkl"):
        return ("oneDNN's graph rewrite (not Grappler, so it happens with rewrites off too; "
                "TF_ENABLE_ONEDNN_OPTS=0 disables it)")
    return "a graph rewrite outside Grappler"


ShapeRow = collections.namedtuple("ShapeRow", ["name", "op", "static", "run"])


def shape_rows(graph, prediction, trace, session_run=None):
    """One row per output of the nodes that run (and fed ones), in graph (topological) order.

    Run shapes come from the trace's output descriptions; an output that did not run under its own
    name (fused away) is fetched by `session_run(tensors) -> arrays` if given.
    """
    rows, pending = [], []
    keep = prediction.runs | prediction.fed
    for op in graph.get_operations():  # creation order: every op is created after its inputs
        if op.name not in keep or op.type in _SHAPELESS_OPS:
            continue
        for t in op.outputs:
            if t.dtype in (tf.resource, tf.variant):
                continue
            run = None
            node = trace.nodes.get(op.name)
            if node and t.value_index in node.shapes:
                run = format_shape(node.shapes[t.value_index])
            elif op.name in prediction.fed:
                arg = next((n for n in trace.nodes.values() if n.op == "_Arg" and
                            n.name.startswith("_arg_{}_{}_".format(op.name, t.value_index))), None)
                run = format_shape(arg.shapes.get(0)) if arg else None
            name = op.name if len(op.outputs) == 1 else t.name
            rows.append(ShapeRow(name, op.type, format_shape(t.shape), run))
            if run is None:
                pending.append((len(rows) - 1, t))
    if pending and session_run:
        arrays = session_run([t for _, t in pending])
        for (i, _), a in zip(pending, arrays):
            rows[i] = rows[i]._replace(run=format_shape(list(np.shape(a))) + " *")
    return rows


# ---- The picture: the graph collapsed by top-level scope (TensorBoard's view), fetch in orange.

def _q(text):
    return '"' + str(text).replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def to_dot(graph, prediction, title="graph", caption=None):
    """Graphviz DOT of `graph`: one node per top-level scope, edges between scopes.

    Scopes holding a node that runs (or is fed) for the fetches are filled orange, as in LTFN 2's
    figure; a placeholder that must be fed but is not gets a red border.
    """
    return "\n".join(_dot_header(title, caption or "session.run({}): the orange nodes run".format(
        ", ".join(prediction.fetches))) + _dot_body(graph, prediction) + ["}"]) + "\n"


def to_dot_panels(title, caption, panels):
    """Several graphs side by side in one DOT picture, each as to_dot draws it, in a labelled box.

    `panels` are (label, graph, prediction); e.g. a pitfall's wrong and right graphs (//:pitfalls).
    Each scope also says how many of its ops run, so two panels that differ inside a scope show it.
    """
    lines = _dot_header(title, caption)
    for i, (label, graph, prediction) in enumerate(panels):
        lines += ["  subgraph {} {{".format(_q("cluster_{}".format(i))),
                  "    label={};".format(_q(label)),
                  '    style="rounded"; color="gray60";']
        lines += ["  " + line for line in _dot_body(graph, prediction, prefix="p{}.".format(i), counted=True)]
        lines.append("  }")
    return "\n".join(lines + ["}"]) + "\n"


def _dot_header(title, caption):
    return ["digraph {} {{".format(_q(title)),
            "  rankdir=BT;",  # inputs at the bottom, as TensorBoard draws it
            "  labelloc=t;",
            "  label={};".format(_q(caption)),
            '  node [shape=box, style="rounded", fontname="Helvetica"];',
            '  edge [fontname="Helvetica", fontsize=10, color="gray40"];']


def _dot_body(graph, prediction, prefix="", counted=False):
    """The node and edge lines of to_dot; node ids are `prefix` + scope (labels stay the scope).
    counted=True labels a scope of several ops with how many of them run: `layer1\\n54 of 61 ops run`."""
    active = prediction.runs | prediction.fed
    counts = scope_counts(graph, active)
    ops = graph.get_operations()
    kinds = {}
    for op in ops:
        kinds.setdefault(scope_of(op.name), set()).add(op.type)
    edges = collections.OrderedDict()  # (from scope, to scope) -> [tensors], control, used
    for op in ops:
        dst = scope_of(op.name)
        links = [(t.op.name, t) for t in op.inputs] + [(c.name, None) for c in op.control_inputs]
        for src_name, tensor in links:
            src = scope_of(src_name)
            if src == dst:
                continue
            entry = edges.setdefault((src, dst), [set(), False, False])
            if tensor is None:
                entry[1] = True
            else:
                entry[0].add(tensor)
            if op.name in prediction.runs and (src_name in active):
                entry[2] = True
    lines = []
    for scope, (inside, total) in counts.items():
        if total == 1:
            label = scope
        else:
            label = "{}\n{} of {} ops run".format(scope, inside, total) if counted else "{}\n{} ops".format(scope, total)
        attrs = ["label=" + _q(label)]
        if kinds[scope] <= {"Placeholder", "PlaceholderV2"}:
            attrs.append("shape=ellipse")
        if inside:
            attrs += ['style="rounded,filled"', "fillcolor=orange"]
            if scope in prediction.unfed:
                attrs += ["color=red", "penwidth=3"]
        lines.append("  {} [{}];".format(_q(prefix + scope), ", ".join(attrs)))
    for (src, dst), (tensors, control, used) in edges.items():
        attrs = []
        if len(tensors) == 1:
            attrs.append("label=" + _q(format_shape(next(iter(tensors)).shape)))
        elif tensors:
            attrs.append("label=" + _q("{} tensors".format(len(tensors))))
        if control and not tensors:
            attrs.append("style=dashed")
        if used:
            attrs += ["color=darkorange", "penwidth=2"]
        lines.append("  {} -> {}{};".format(_q(prefix + src), _q(prefix + dst),
                                            " [{}]".format(", ".join(attrs)) if attrs else ""))
    return lines


def write_dot(text, path):
    """Writes the DOT file, then SVG and PNG beside it if Graphviz's `dot` is installed.

    Returns the paths written (DOT first). Raises DepsError if the DOT file cannot be written.
    """
    try:
        with open(path, "w") as f:
            f.write(text)
    except OSError as e:
        raise DepsError("--dot {} cannot be written ({}); choose a file in a folder you can write to".format(
            path, e.strerror or e))
    written = [path]
    dot = shutil.which("dot")
    if dot:
        stem = os.path.splitext(path)[0]
        for fmt in ("svg", "png"):
            out = "{}.{}".format(stem, fmt)
            done = subprocess.run([dot, "-T" + fmt, "-o", out, path], capture_output=True, text=True,
                                  timeout=120)
            if done.returncode != 0:
                raise DepsError("dot -T{} {} failed: {}".format(fmt, path, done.stderr.strip()[:200]))
            written.append(out)
    return written


# The printed report: what `bazel run //:deps` (and LTFN 2's lesson) prints. Each line goes through
# `say(line, kind, error)`: BOTH lines are the post's ideas; INTERNALS lines are the executor's own
# (`_SOURCE`, `_retval_...`, `_arg_input_0_0`, oneDNN's `_MklMatMul`, Grappler, FULL_TRACE), and PLAIN
# lines say the same in a learner's words. `bazel run //:deps` prints BOTH and INTERNALS (printer());
# a lesson shows report(...), whose "show TensorFlow's internals" toggle is off by default.

BOTH, INTERNALS, PLAIN = "both", "internals", "plain"


def printer(internals=True):
    """A `say` that prints: with TensorFlow's internals (//:deps), or in a learner's words."""
    def say(line="", kind=BOTH, error=False):
        if kind == (PLAIN if internals else INTERNALS):
            return
        print(line, file=sys.stderr if error else sys.stdout)
    return say


def _list(names, limit=8):
    names = list(names)
    shown = ", ".join(names[:limit])
    return shown + (", ... ({} in all)".format(len(names)) if len(names) > limit else "")


def print_prediction(graph, prediction, fetch_text, say=None):
    say = say or printer()
    say("Fetch: {}".format(fetch_text))
    say("Feeds required: {}".format(", ".join(prediction.required) or "none"))
    for name in prediction.unfed:
        say("  NOT fed: {}  (session.run will fail on it)".format(name))
    for name in prediction.unused_feeds:
        name = name[:-2] if name.endswith(":0") else name
        say("  fed but not needed: {}  (TensorFlow accepts it and ignores it)".format(name))
    for name in sorted(prediction.fed - set(prediction.required)):
        say("  fed: {}  (nothing upstream of it runs)".format(name))
    counts = scope_counts(graph, prediction.runs)
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
                if scope_of(op.name) in partial and op.name not in prediction.runs]
        initializers = initializer_nodes(graph)
        others = collections.Counter(op.type for op in rest if op.name not in initializers)
        say("  (partly): their other {} nodes do not run: {} variable initializers (those run with "
              "`init`){}".format(len(rest), len(rest) - sum(others.values()),
                                 ", " + ", ".join("{} {}".format(k, t) for t, k in others.most_common())
                                 if others else ""))
    not_run = [s for s, (inside, _) in counts.items() if not inside]
    fed_scopes = {scope_of(n) for n in prediction.fed}
    say("Will NOT run (whole scopes): {}".format(", ".join(
        s + (" (fed)" if s in fed_scopes else "") for s in not_run) or "none"))


def print_verification(graph, prediction, trace, batch_size, rewrites, say=None):
    say = say or printer()
    c = compare(graph, prediction, trace, rewrites)
    how = ("TensorFlow's default graph rewrites ON (--grappler)" if rewrites else
           "Grappler's graph rewrites switched OFF for the trace, so node names survive")
    say("Verified: one traced run (FULL_TRACE, batch of {}; {}):".format(batch_size, how), INTERNALS)
    say("Checked by running it once on a batch of {} and watching which nodes ran:".format(batch_size), PLAIN)
    say("  {} of {} predicted nodes ran under their own names".format(len(c.matched), c.predicted), INTERNALS)
    by_source = {}
    for name, (into, op) in sorted(c.fused.items()):
        by_source.setdefault(fusion_source(op, rewrites), []).append("{} into {} ({})".format(name, into, op))
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


def print_shapes(rows, batch_size, say=None):
    say = say or printer()
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
    fetch_elements = resolve_fetches(graph, fetches)
    feed_tensors = resolve_feeds(graph, feeds) if feeds is not None else None
    prediction = predict(graph, fetch_elements, feed_tensors)
    if feed_tensors is None:
        feed_tensors = [graph.get_tensor_by_name(n + ":0") for n in prediction.required]
    dot_written = None  # written first: an unwritable --dot fails before any output
    if dot_path:
        caption = "{}: session.run({}) runs the orange nodes".format(net, ", ".join(fetches))
        dot_written = write_dot(to_dot(graph, prediction, net, caption), dot_path)

    say("LTFN 2 — what session.run executes in {} (init {})".format(net, init))
    print_prediction(graph, prediction, ", ".join(fetches), say)

    data = batch()  # loaded only now: a mistyped name fails fast, before MNIST is read
    trace = traced_run(graph, init_op, fetch_elements, feed_tensors, data, rewrites)
    code = 0
    if trace.error:
        say("Ran it: TensorFlow raised {}".format(trace.error))
        if prediction.unfed:
            missing = prediction.unfed[0]
            path = dependency_path(prediction, missing)
            say("Why: {} depends on {} through {}, and every placeholder in the fetched sub-graph must "
                  "be fed; feed {} too, or fetch something that does not need it (e.g. logits).".format(
                      path[0], missing, describe_path(graph, path), " and ".join(prediction.unfed)))
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
                with tf.compat.v1.Session(graph=graph, config=session_config(rewrites)) as session:
                    session.run(init_op)
                    return session.run(tensors, feed_dict(graph, feed_tensors, data))
            print_shapes(shape_rows(graph, prediction, trace, fetch_directly), len(data.images), say)
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
        self.text.value = "<pre style='margin: 0'><code>{}</code></pre>".format(html.escape("\n".join(self.shown())))


def report(*args, **kwargs):
    """explain(...) as a Report widget, displayed (in a notebook); returns the Report. A page rendered
    without a kernel shows the report as it starts, without TensorFlow's internals."""
    from labs import display

    shown = Report(*args, **kwargs)
    display.show(shown.widget, shown.text.value, "The //:deps report")
    return shown
