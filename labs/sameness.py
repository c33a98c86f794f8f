"""Is the graph a learner wrote by hand the graph graphs/ builds? (issue 19; every lesson's check cell.)

A lesson writes its post's TF1 graph node by node, as the post does; `compare` holds it against
`graphs/model.build_graph(net, init, learning_rate)` and says, in words, what differs:

  names      the posts' nodes (`input`, `labels`, `logits`, `cost`, `optimizer`, `predictions`,
             `accuracy`) are there, once (a cell run twice makes `input_1`)
  variables  the same names and shapes, each starting from the same distribution
  ops        the same op types, in order, on the path input -> logits, and from logits to cost,
             predictions and accuracy; the optimizer updates the same variables the same way, at the
             same learning rate
  numbers    with the weights copied by name from a freshly initialized build_graph, the same cost,
             predictions and accuracy on the same batch, and the same cost after one optimizer step,
             exactly in float32

The learner's graph is only read: the checker runs it in a session of its own, so the learner's
session, variables and graph (even a finalized one) are left as they were.
"""

import math

import numpy as np
import tensorflow as tf

from graphs import model, posts
from machine import sessions

# The posts' names, and what each one is (for the sentence that says one is missing).
NAMES = (("input", "the input placeholder"), ("labels", "the labels placeholder"), ("logits", "the logits"),
         ("cost", "the cost"), ("optimizer", "the optimizer"), ("predictions", "the predictions"),
         ("accuracy", "the accuracy"))
# Op types that belong to a variable itself (its handle, reads, assignment), not to the network.
_VARIABLE_OPS = frozenset(["VarHandleOp", "ReadVariableOp", "VariableV2", "AssignVariableOp", "Assign",
                           "VarIsInitializedOp", "Const"])
_RANDOM_OPS = {"RandomStandardNormal": "normal", "TruncatedNormal": "truncated normal",
               "RandomUniform": "uniform"}


class Report:
    """What compare found: `differences` (sentences; empty when the graphs are the same) and `numbers`."""

    def __init__(self, net, init, learning_rate):
        self.net, self.init, self.learning_rate = net, init, learning_rate
        self.differences = []
        self.notes = []
        self.numbers = {}

    @property
    def same(self):
        return not self.differences

    def differ(self, sentence):
        self.differences.append(sentence)

    def __str__(self):
        target = "graphs/model.build_graph({!r}, {!r}, learning_rate={:g})".format(
            self.net, self.init, self.learning_rate)
        if self.same:
            lines = ["Your graph is the one {} makes:".format(target)] + ["  " + n for n in self.notes]
        else:
            lines = ["Your graph differs from {} in {} way{}:".format(
                target, len(self.differences), "" if len(self.differences) == 1 else "s")]
            lines += ["  - " + d for d in self.differences]
            lines.append("(The rest of the lesson runs on your graph as it is.)")
        return "\n".join(lines)

    def _repr_pretty_(self, printer, cycle):  # a notebook cell ending in compare(...) shows the text
        printer.text(str(self))


def compare(graph, net, init, learning_rate=None, batch=None):
    """A Report on `graph` (the learner's tf.Graph) against build_graph(net, init, learning_rate).

    batch: (images, labels) for the numbers; by default the first 100 test images.
    """
    learning_rate = learning_rate if learning_rate is not None else posts.settings(net, init).learning_rate
    report = Report(net, init, learning_rate)
    theirs, their_nodes, their_init = model.build_graph(net, init, learning_rate)
    ours = _named(graph, report)
    _compare_variables(graph, theirs, report)
    _compare_paths(graph, theirs, ours, report)
    _compare_optimizer(graph, theirs, ours, report)
    if report.same:
        _compare_numbers(graph, ours, theirs, their_nodes, their_init, batch, report)
    return report


def _named(graph, report):
    """{name: tensor or op} of the posts' names found in `graph`; a sentence for each one missing."""
    found = {}
    for name, what in NAMES:
        try:
            found[name] = graph.get_operation_by_name(name)
        except KeyError:
            report.differ("there is no `{}` ({}): give it name=\"{}\"".format(name, what, name))
            continue
        if name != "optimizer":
            found[name] = found[name].outputs[0]
        twice = [op.name for op in graph.get_operations() if op.name == name + "_1"]
        if twice:
            report.differ("there are both `{}` and `{}`: a cell that builds nodes ran twice; run the cells "
                          "again from `graph = tf.Graph()`".format(name, twice[0]))
    return found


def _variables(graph):
    return {v.op.name: v for v in graph.get_collection(tf.compat.v1.GraphKeys.GLOBAL_VARIABLES)}


def _compare_variables(graph, theirs, report):
    ours_v, theirs_v = _variables(graph), _variables(theirs)
    for name in theirs_v:
        if name not in ours_v:
            report.differ("graphs/ has the variable `{}` {}, yours has none of that name{}".format(
                name, _shape(theirs_v[name]), _near(name, _shape(theirs_v[name]), ours_v, theirs_v)))
    for name in ours_v:
        if name not in theirs_v:
            report.differ("yours has the variable `{}` {}, graphs/ has none (graphs/ has {})".format(
                name, _shape(ours_v[name]), ", ".join("`{}`".format(n) for n in theirs_v) or "none"))
    common = [n for n in theirs_v if n in ours_v]
    for name in common:
        if _shape(ours_v[name]) != _shape(theirs_v[name]):
            report.differ("`{}` is {} in yours, {} in graphs/".format(
                name, _shape(ours_v[name]), _shape(theirs_v[name])))
        mine, its = describe_initializer(ours_v[name]), describe_initializer(theirs_v[name])
        if mine != its:
            report.differ("`{}` starts from {} in yours, from {} in graphs/".format(name, mine, its))
    if common and not report.differences:
        listed = " ({})".format("; ".join("{} {}".format(n, _shape(theirs_v[n])) for n in common)) \
            if len(common) <= 4 else ""
        report.notes.append("the same {} variables, the same shapes and initial distributions{}".format(
            len(common), listed))


def _shape(variable):
    return "[{}]".format(", ".join(str(d) for d in variable.shape.as_list()))


def _near(name, shape, ours, theirs):
    """` (is it yours `layer1/weights` [784, 10], named differently?)`: a variable of the same shape that
    graphs/ does not have."""
    near = [n for n, v in ours.items() if n not in theirs and _shape(v) == shape]
    if near:
        return " (is it yours {} {}, named differently? The name includes the variable_scope)".format(
            ", ".join("`{}`".format(n) for n in near), shape)
    return ""


def describe_initializer(variable):
    """`normal, mean 0, stddev 1`, `truncated normal, mean 0, stddev 0.0589`, `uniform in [-0.0859, 0.0859]`,
    `zeros`: the distribution of the variable's initial value, however it was written (N(0, 1) * 0.01
    and N(0, 0.01) read the same)."""
    value = variable.initializer.inputs[1] if variable.initializer.type == "AssignVariableOp" else \
        variable.initial_value
    ops = _ancestors([value.op])
    random = [op for op in ops if op.type in _RANDOM_OPS]
    if not random:
        constant = tf.get_static_value(value)
        if constant is None:
            return "a value computed by {}".format(", ".join(sorted(set(op.type for op in ops))))
        if not np.any(constant):
            return "zeros"
        return "the constant {}".format(_number(float(constant.flat[0]))) if np.all(constant == constant.flat[0]) \
            else "a constant array"
    if len(random) > 1:
        return "a sum of {} random draws".format(len(random))
    kind = _RANDOM_OPS[random[0].type]
    # value = loc + scale * draw, followed op by op from the draw to the initial value.
    loc, scale = 0.0, 1.0
    tensor = random[0].outputs[0]
    while tensor is not value:
        consumers = [op for op in tensor.consumers() if op in ops]
        if len(consumers) != 1:
            return "{} draws combined by {}".format(kind, ", ".join(sorted(set(op.type for op in ops))))
        op = consumers[0]
        other = [t for t in op.inputs if t is not tensor]
        c = _scalar(other[0]) if len(other) == 1 else None
        if op.type == "Identity":
            pass
        elif op.type == "Mul" and c is not None:
            loc, scale = loc * c, scale * c
        elif op.type in ("Add", "AddV2") and c is not None:
            loc += c
        elif op.type == "Sub" and c is not None and op.inputs[1] is other[0]:
            loc -= c
        else:
            return "{} draws passed through {}".format(kind, op.type)
        tensor = op.outputs[0]
    if kind == "uniform":
        low, high = sorted((loc, loc + scale))
        return "uniform in [{}, {}]".format(_number(low), _number(high))
    return "{}, mean {}, stddev {}".format(kind, _number(loc), _number(abs(scale)))


def _scalar(tensor):
    """The value of a scalar computed from constants only (the learner's 0.01, or TF's max - min)."""
    if tensor.shape.rank not in (0, None) and tensor.shape.num_elements() != 1:
        return None
    if any(op.type in _RANDOM_OPS or op.type == "Placeholder" for op in _ancestors([tensor.op])):
        return None
    value = tf.get_static_value(tensor)
    if value is None:
        with tf.compat.v1.Session(graph=tensor.graph, config=sessions.config()) as session:
            value = session.run(tensor)
    return float(np.asarray(value).reshape(()))


def _number(x):
    """Six significant digits, the way a learner would write it (0, 1, 0.01, 0.0589256)."""
    text = "{:.6g}".format(x)
    return "0" if text in ("-0", "0") else text


def _reach(ops, neighbours):
    """Every op reached from the given ops by following neighbours(op), themselves included."""
    seen, stack = set(), list(ops)
    while stack:
        op = stack.pop()
        if op not in seen:
            seen.add(op)
            stack.extend(neighbours(op))
    return seen


def _ancestors(ops):
    """Every op the given ops depend on (data and control inputs), themselves included."""
    return _reach(ops, lambda op: [t.op for t in op.inputs] + list(op.control_inputs))


def _descendants(ops):
    """Every op that depends on the given ops by data, themselves included."""
    return _reach(ops, lambda op: [c for t in op.outputs for c in t.consumers()])


def path_types(graph, sources, target):
    """The op types from `sources` (op names) to `target` (an op name), in the order they were made,
    leaving out constants and the variables' own ops: input -> logits is MatMul, BiasAdd, Identity."""
    start = [graph.get_operation_by_name(s) for s in sources]
    end = graph.get_operation_by_name(target)
    between = _ancestors([end]) & _descendants(start)
    between -= set(start)
    order = {op: i for i, op in enumerate(graph.get_operations())}
    return [op.type for op in sorted(between, key=order.get) if op.type not in _VARIABLE_OPS]


# Each path the check compares: (what it is, from, to).
PATHS = (("from `input` to `logits`", ("input",), "logits"),
         ("from `logits` and `labels` to `cost`", ("logits", "labels"), "cost"),
         ("from `logits` to `predictions`", ("logits",), "predictions"),
         ("from `predictions` and `labels` to `accuracy`", ("predictions", "labels"), "accuracy"))


def _compare_paths(graph, theirs, ours, report):
    for name in ("input", "labels"):
        if name in ours:
            mine, its = ours[name], theirs.get_tensor_by_name(name + ":0")
            if ours[name].op.type != "Placeholder":
                report.differ("`{}` is a {} op; make it with tf.compat.v1.placeholder".format(name, mine.op.type))
            elif mine.shape.rank is None or mine.shape.as_list() != its.shape.as_list():
                report.differ("`{}` has the shape {}, graphs/'s {}{}".format(
                    name, _static(mine.shape), _static(its.shape),
                    " (a None batch takes batches of any size: LTFN 2)" if its.shape[0] is None else ""))
            elif mine.dtype != its.dtype:
                report.differ("`{}` holds {}, graphs/'s {}".format(name, mine.dtype.name, its.dtype.name))
    for what, sources, target in PATHS:
        if not all(n in ours for n in sources + (target,)):
            continue
        mine, its = path_types(graph, sources, target), path_types(theirs, sources, target)
        if mine != its:
            report.differ("the ops {}: yours {}, graphs/'s {}{}".format(
                what, _types(mine), _types(its), _hint(mine, its)))
        elif target == "logits":
            report.notes.append("the same {} ops from `input` to `logits`: {}".format(len(its), _types(its)))


def _static(shape):
    return "(" + ", ".join("?" if d is None else str(d) for d in shape.as_list()) + ")"


def _types(types):
    return ", ".join(types) if types else "none (is it connected?)"


def _hint(mine, its):
    """One reason a learner's path commonly differs."""
    if "BiasAdd" in its and "AddV2" in mine and "BiasAdd" not in mine:
        return " (graphs/ adds a bias with tf.nn.bias_add(x, bias): the same sum as `+`, which TensorFlow " \
               "can fuse with the MatMul or Conv2D before it)"
    if its and its[-1] == "Identity" and (not mine or mine[-1] != "Identity"):
        return " (graphs/ names the logits with tf.identity(..., name=\"logits\"))"
    if len(mine) < len(its):
        return " (a layer, a ReLU or a pool is missing)"
    if len(mine) > len(its):
        return " (yours has more ops: an extra layer or activation?)"
    return ""


def _updates(graph):
    """{variable name: (update op type, learning rate tensor)} of the optimizer's updates."""
    optimizer = graph.get_operation_by_name("optimizer")
    found = {}
    for op in _ancestors([optimizer]):
        if op.type.startswith(("ResourceApply", "Apply")):
            handle = op.inputs[0].op
            name = handle.name if handle.type in ("VarHandleOp", "VariableV2") else handle.name.rsplit("/", 1)[0]
            found[name] = (op.type, op.inputs[1] if "GradientDescent" in op.type else None)
    return found


def _compare_optimizer(graph, theirs, ours, report):
    if "optimizer" not in ours or "cost" not in ours:
        return
    mine, its = _updates(graph), _updates(theirs)
    for name, (kind, _) in its.items():
        if name not in mine:
            if name in _variables(graph):
                report.differ("`optimizer` does not update `{}`: minimize(cost) trains every trainable "
                              "variable cost depends on".format(name))
        elif mine[name][0] != kind:
            report.differ("`optimizer` updates `{}` with {}, graphs/ with {} (tf.compat.v1.train."
                          "GradientDescentOptimizer)".format(name, mine[name][0], kind))
    rates = {_number(_scalar(rate)) for kind, rate in mine.values() if rate is not None}
    theirs_rate = {_number(_scalar(rate)) for kind, rate in its.values() if rate is not None}
    if rates and theirs_rate and rates != theirs_rate:
        report.differ("`optimizer` learns at {}, graphs/ at {}".format(", ".join(sorted(rates)),
                                                                        ", ".join(sorted(theirs_rate))))
    elif rates == theirs_rate and not report.differences:
        report.notes.append("the same optimizer: {} at learning rate {} on {} variables".format(
            sorted(set(k for k, _ in its.values()))[0], ", ".join(sorted(rates)), len(its)))


def default_batch():
    """The first 100 test images and labels (data/loader.load_test)."""
    from data import loader
    test = loader.load_test()
    return test.images[:100], test.labels[:100]


def _compare_numbers(graph, ours, theirs, their_nodes, their_init, batch, report):
    """The same weights (copied by name from a fresh build_graph) give the same numbers, exactly."""
    images, labels = batch if batch is not None else default_batch()
    images = np.asarray(images, np.float32).reshape((-1,) + tuple(their_nodes.input.shape.as_list()[1:]))
    labels = np.asarray(labels, np.float32)
    fetches = ("cost", "predictions", "accuracy")
    with sessions.new_session(theirs) as session:
        session.run(their_init)
        weights = {n: session.run(v) for n, v in _variables(theirs).items()}
        feed = {their_nodes.input: images, their_nodes.labels: labels}
        its = session.run([getattr(their_nodes, f) for f in fetches], feed)
        session.run(their_nodes.optimizer, feed)
        its.append(session.run(their_nodes.cost, feed))
    mine, drawn = _run_with(graph, weights, images, labels, fetches)
    for what, a, b in zip(("the cost", "the predictions", "the accuracy", "the cost after one optimizer step"),
                          mine, its):
        if not np.array_equal(a, b):
            if np.ndim(b) == 0:
                report.differ("with graphs/'s weights, {} on {} images is {} in yours, {} in graphs/".format(
                    what, len(images), _exact(a), _exact(b)))
            else:
                report.differ("with graphs/'s weights, {} on {} images differ (by up to {:.3g})".format(
                    what, len(images), float(np.max(np.abs(a - b)))))
    if report.same:
        report.notes.append("with graphs/'s initial weights, the same cost on {} test images, {}, exactly in "
                            "float32, and after one optimizer step {}".format(len(images), _exact(its[0]),
                                                                             _exact(its[3])))
    if report.same and drawn is not None and all(np.array_equal(drawn[n], weights[n]) for n in weights):
        report.notes.append("and your initializer draws the very weights build_graph draws (the same seed, the "
                            "same order of ops): your runs are //:run's, step for step")
    report.numbers = {"cost": float(its[0]), "accuracy": float(its[2]), "cost after one step": float(its[3])}


def _run_with(graph, weights, images, labels, fetches):
    """(fetches and then the cost after one optimizer step, in a copy of `graph` whose variables hold
    `weights`; the weights the learner's own `init` draws, or None). The copy (by its GraphDef) takes
    the assignments, so the learner's graph gains no op and a finalized one works too."""
    copy = tf.Graph()
    with copy.as_default():
        tf.compat.v1.import_graph_def(graph.as_graph_def(), name="")
        assignments, feed, reads = [], {}, {}
        for name, value in weights.items():
            handle = copy.get_operation_by_name(name).outputs[0]
            slot = tf.compat.v1.placeholder(tf.float32, value.shape)
            if handle.op.type == "VarHandleOp":
                assignments.append(tf.raw_ops.AssignVariableOp(resource=handle, value=slot))
                reads[name] = tf.raw_ops.ReadVariableOp(resource=handle, dtype=tf.float32)
            else:
                assignments.append(tf.raw_ops.Assign(ref=handle, value=slot))
                reads[name] = tf.identity(handle)
            feed[slot] = value
    get = copy.get_tensor_by_name
    with sessions.new_session(copy) as session:
        session.run(assignments, feed)
        feed = {get("input:0"): images, get("labels:0"): labels}
        values = session.run([get(f + ":0") for f in fetches], feed)
        session.run(copy.get_operation_by_name("optimizer"), feed)
        values.append(session.run(get("cost:0"), feed))
        # What the learner's own initializer draws (only a note: a seed is not part of the graph's code).
        drawn = None
        if "init" in {op.name for op in copy.get_operations()}:
            session.run(copy.get_operation_by_name("init"))
            drawn = session.run(reads)
    return values, drawn


def _exact(x):
    """A float32 with every digit it has (9 significant digits tell any two float32 apart)."""
    x = float(x)
    return "{:.9g}".format(x) if math.isfinite(x) else str(x)


def check(graph, net, init, learning_rate=None, batch=None):
    """compare, printed: the lessons' check cell."""
    report = compare(graph, net, init, learning_rate, batch)
    print(report)
    return report
