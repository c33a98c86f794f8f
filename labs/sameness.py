"""Is the graph a learner wrote by hand the graph graphs/ builds? (every lesson's check cell)

A lesson writes its post's TF1 graph node by node, as the post does; `compare` holds it against
`graphs/model.build_graph(net, init, learning_rate)` and says, one sentence for each, what differs:

  names         the posts' nodes (`input`, `labels`, `logits`, `cost`, `optimizer`, `predictions`,
                `accuracy`) are there, once (a cell run twice makes `input_1`; name="cost" inside
                name_scope("cost") makes `cost/cost`)
  placeholders  `input` and `labels` hold float32 with a None batch (a fixed one takes one batch size only)
  variables     the same names (a layer missing or added, or variables under other names, in one
                sentence), shapes and dtypes, trainable, each initializer's ops drawing from the
                same distribution (N(0, 1) * 0.01 and N(0, 0.01) read the same)
  init          the learner's own `init`, run first in a fresh copy of the graph, initializes every
                variable, and what it draws passes a test against graphs/'s distribution
  ops           on each path (input -> logits, logits and labels -> cost, logits -> predictions,
                predictions and labels -> accuracy) the same ops with the same settings (padding, strides,
                ksize, axes, ...) on the same inputs (labs/sameness_ops.py); `+` for tf.nn.bias_add, and a
                ReLU after its max pool (the same numbers and gradients), are notes
  optimizer     the same kind, updating the same variables, at the same learning rate, minimizing `cost`
                itself (what it minimizes instead is read from the gradients and named), and no second one
  numbers       with graphs/'s initial weights copied in by name, the same cost, predictions and accuracy
                on two batch sizes (the batch and its first 7 images), and the same cost after one
                optimizer step on the 7, exactly in float32

The learner's graph is only read: the checker runs copies of it in sessions of its own, so the learner's
session, variables and graph (even a finalized one) are left as they were. A graph the check cannot read
gets a sentence too, never a traceback.
"""

import math
import re

import numpy as np
import tensorflow as tf

from graphs import model, posts
from labs import sameness_init, sameness_ops
from machine import sessions

# The posts' names, and what each one is (for the sentence that says one is missing).
NAMES = (("input", "the input placeholder"), ("labels", "the labels placeholder"), ("logits", "the logits"),
         ("cost", "the cost"), ("optimizer", "the optimizer"), ("predictions", "the predictions"),
         ("accuracy", "the accuracy"))
# Each path the check compares: (what it is, the names it runs between, its end).
PATHS = (("from `input` to `logits`", ("input",), "logits"),
         ("from `logits` and `labels` to `cost`", ("logits", "labels"), "cost"),
         ("from `logits` to `predictions`", ("logits",), "predictions"),
         ("from `predictions` and `labels` to `accuracy`", ("predictions", "labels"), "accuracy"))
# The optimizer each update op belongs to (tf.compat.v1.train.*Optimizer).
OPTIMIZERS = {"GradientDescent": "GradientDescentOptimizer", "Adam": "AdamOptimizer",
              "Momentum": "MomentumOptimizer", "KerasMomentum": "MomentumOptimizer", "RMSProp": "RMSPropOptimizer",
              "CenteredRMSProp": "RMSPropOptimizer", "Adagrad": "AdagradOptimizer", "AdagradV2": "AdagradOptimizer",
              "Adadelta": "AdadeltaOptimizer", "Ftrl": "FtrlOptimizer", "FtrlV2": "FtrlOptimizer",
              "ProximalGradientDescent": "ProximalGradientDescentOptimizer"}
_UPDATE = re.compile(r"^(?:Resource)?(?:Sparse)?Apply(\w+)$")
# The second batch size the numbers are run on: a graph that only runs batches of 100 is found out.
SECOND_BATCH = 7


class Report:
    """What compare found: `differences` (sentences; empty when the graphs are the same), `notes` and
    `numbers`."""

    def __init__(self, net, init, learning_rate):
        self.net, self.init, self.learning_rate = net, init, learning_rate
        self.differences = []
        self.notes = []
        self.numbers = {}

    @property
    def same(self):
        return not self.differences

    def differ(self, sentence):
        if sentence not in self.differences:
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


class _Pair:
    """The learner's graph and graphs/'s, and what the stages found that later ones use."""

    def __init__(self, graph, theirs, their_nodes, report):
        self.graph, self.theirs, self.their_nodes, self.report = graph, theirs, their_nodes, report
        self.ours = {}
        self.unread = {}  # variable name -> words, where the initializer's ops are not one draw
        self.drawn = None  # what the learner's `init` drew, by variable name
        self.hinted = set()  # the initializer hints said already
        self.twice = []  # (name, name_1) of the names a cell made twice
        self.placeholders_said = set()  # placeholders and variables of another dtype or shape, said already
        self.layers_differ = False  # a layer missing or added: the path to `logits` cannot be matched op by op


def compare(graph, net, init, learning_rate=None, batch=None):
    """A Report on `graph` (the learner's tf.Graph) against build_graph(net, init, learning_rate).

    batch: (images, labels) for the numbers; by default the first 100 test images.
    """
    learning_rate = learning_rate if learning_rate is not None else posts.settings(net, init).learning_rate
    report = Report(net, init, learning_rate)
    if not isinstance(graph, tf.Graph):
        report.differ("the check takes the tf.Graph your cells built (`graph = tf.Graph()`), not {}".format(
            type(graph).__name__))
        return report
    theirs, their_nodes, _ = model.build_graph(net, init, learning_rate)
    pair = _Pair(graph, theirs, their_nodes, report)
    stages = [("read the posts' names", _compare_names), ("compare the placeholders", _compare_placeholders),
              ("compare the variables", _compare_variables), ("run your `init`", _compare_init),
              ("compare the ops", _compare_paths), ("compare the optimizer", _compare_optimizer)]
    for what, stage in stages:
        _guarded(what, stage, pair)
    if report.same:
        _guarded("run your graph", lambda p: _compare_numbers(p, batch), pair)
    return report


def _guarded(what, stage, pair):
    """Runs one stage; an error the check did not foresee becomes a sentence, not a traceback."""
    try:
        stage(pair)
    except Exception as e:  # noqa: BLE001 (any learner graph must get a sentence)
        pair.report.differ("the check could not {} ({}: {}); build your graph again from `graph = tf.Graph()` "
                           "as the lesson writes it".format(what, type(e).__name__, _first_line(e)))


def _first_line(error):
    """The sentence an error's message is about: after a graph-mode message's `Node: '...'` line (which
    follows where the node was defined), else its first line."""
    lines = [line.strip() for line in (getattr(error, "message", None) or str(error)).splitlines() if line.strip()]
    node = next((i for i, line in enumerate(lines) if line.startswith("Node: ")), None)
    if node is not None and node + 1 < len(lines):
        return "{} ({})".format(lines[node + 1].split(" Debug info:")[0], lines[node].replace("Node: ", "at node "))
    return lines[0] if lines else "no message"


# Names.

def _compare_names(pair):
    """pair.ours: {name: tensor, or the op for `optimizer`} of the posts' names found in the graph."""
    for name, what in NAMES:
        op = _last_named(pair.graph, name, twice=pair.twice)
        if op is None:
            pair.report.differ(_no_such_name(pair.graph, name, what))
        elif name == "optimizer":
            pair.ours[name] = op
        elif not op.outputs:
            pair.report.differ("`{}` is an op with no value ({}): it should be a tensor, {}".format(
                name, op.type, what))
        else:
            pair.ours[name] = op.outputs[0]
    if pair.twice:
        pair.report.differ("there are {}: a cell that builds nodes ran twice; run the cells again from "
                           "`graph = tf.Graph()`".format(", and ".join("both `{}` and `{}`".format(*t)
                                                                       for t in pair.twice)))


def _no_such_name(graph, name, what):
    """The sentence for a missing name; `cost/cost` (name="cost" given inside name_scope("cost")) is said as
    such, since the learner did write name="cost"."""
    scoped = [op.name for op in graph.get_operations() if op.name.rsplit("/", 1)[-1] == name]
    if not scoped:
        return "there is no `{}` ({}): give it name=\"{}\"".format(name, what, name)
    scope = scoped[0].rsplit("/", 1)[0]
    inside = "" if name == "optimizer" else \
        ", or write `with tf.compat.v1.name_scope(\"{}\") as scope:` and name=scope".format(name)
    return ("there is no `{}` ({}), but there is `{}`: a name given inside `with ...scope(\"{}\")` starts with "
            "the scope's; make `{}` outside the scope{}".format(name, what, scoped[0], scope, name, inside))


def _last_named(graph, name, twice=None):
    """The op named `name`, or the last one made of `name_1`, `name_2`... when a cell ran twice (then
    (name, name_1) goes into the list `twice`), or None."""
    try:
        op = graph.get_operation_by_name(name)
    except KeyError:
        return None
    again = [o for o in graph.get_operations() if re.fullmatch(re.escape(name) + r"_\d+", o.name)]
    if again and twice is not None:
        twice.append((name, again[0].name))
    return again[-1] if again else op


# Placeholders.

def _compare_placeholders(pair):
    fixed = []
    for name in ("input", "labels"):
        if name in pair.ours:
            mine, its = pair.ours[name], pair.theirs.get_tensor_by_name(name + ":0")
            sentence = _placeholder(name, mine, its)
            if sentence == _FIXED:
                fixed.append((name, mine.shape.as_list(), _wanted(its)))
            elif sentence:
                pair.report.differ(sentence)
                pair.placeholders_said.add(name)
    if fixed:
        pair.report.differ("{} take{} only batches of {} (shape {}): give {} shape={}, so batches of any size run "
                           "(LTFN 2)".format(" and ".join("`{}`".format(n) for n, _, _ in fixed),
                                             "s" if len(fixed) == 1 else "", fixed[0][1][0],
                                             " and ".join(_static(s) for _, s, _ in fixed),
                                             "it" if len(fixed) == 1 else "them",
                                             " and ".join(w for _, _, w in fixed)))


_FIXED = "a fixed batch"


def _wanted(its):
    return "({})".format(", ".join("None" if d is None else str(d) for d in its.shape.as_list()))


def _placeholder(name, mine, its):
    """The sentence for a wrong placeholder, _FIXED for a fixed batch (said for both at once), or None."""
    wanted = _wanted(its)
    if mine.op.type != "Placeholder":
        return "`{}` is a {} op; make it with tf.compat.v1.placeholder(tf.float32, shape={}, name=\"{}\")".format(
            name, mine.op.type, wanted, name)
    if mine.dtype != its.dtype:
        return "`{}` holds {}, graphs/'s {}: write tf.compat.v1.placeholder(tf.{}, ...)".format(
            name, mine.dtype.name, its.dtype.name, its.dtype.name)
    if mine.shape.rank is None:
        return "`{}` has no shape: give it shape={}".format(name, wanted)
    shape, their_shape = mine.shape.as_list(), its.shape.as_list()
    if shape == their_shape:
        return None
    if len(shape) == len(their_shape) and shape[1:] == their_shape[1:] and shape[0] is not None:
        return _FIXED
    return "`{}` has the shape {}, graphs/'s {}: give it shape={}".format(
        name, _static(shape), _static(their_shape), wanted)


def _static(shape):
    return "(" + ", ".join("?" if d is None else str(d) for d in shape) + ")"


# Variables and their initializers (read from the ops).

def network_variables(graph):
    """{name: variable} of the graph's variables, leaving out an optimizer's own (Adam's slots, beta1_power:
    not trainable, made after the gradients), which the optimizer's sentence covers."""
    order = {op: i for i, op in enumerate(graph.get_operations())}
    gradients = [order[op] for op in order if op.name.startswith("gradients")]
    first = min(gradients) if gradients else math.inf
    trainable = set(_trainable(graph))
    return {v.op.name: v for v in graph.get_collection(tf.compat.v1.GraphKeys.GLOBAL_VARIABLES)
            if v.op.name in trainable or order.get(v.op, 0) < first}


def _trainable(graph):
    return [v.op.name for v in graph.get_collection(tf.compat.v1.GraphKeys.TRAINABLE_VARIABLES)]


def _compare_variables(pair):
    ours_v, theirs_v = network_variables(pair.graph), network_variables(pair.theirs)
    report = pair.report
    missing = [n for n in theirs_v if n not in ours_v]
    rates = _rate_variables(pair.graph)  # a learning rate in a variable: said with the optimizer
    extra = [n for n in ours_v if n not in theirs_v and n not in rates]
    renamed = _renamed(missing, extra, ours_v, theirs_v)
    if renamed:
        report.differ("yours has {} where graphs/ has {} (the same shapes, other names): a variable's name is its "
                      "variable_scope's, a slash, and get_variable's (`layer1/layer1_weights`); give each "
                      "graphs/'s".format(_listed([m for _, m in renamed], ours_v), _listed([t for t, _ in renamed],
                                                                                           theirs_v)))
    missing = [n for n in missing if n not in dict(renamed)]
    extra = [n for n in extra if n not in {m for _, m in renamed}]
    _say_missing(pair, missing, ours_v, theirs_v)
    if extra:
        report.differ("yours has {}, which graphs/ does not have{}: take {} out".format(
            _listed(extra, ours_v), " (minimize(..., global_step=...) makes `global_step`)"
            if "global_step" in extra else "", "it" if len(extra) == 1 else "them"))
        pair.layers_differ |= bool({_scope(n) for n in extra} - {_scope(n) for n in theirs_v})
    common = [n for n in theirs_v if n in ours_v]
    pair.placeholders_said |= _compare_dtypes(common, ours_v, theirs_v, report)
    trainable = set(_trainable(pair.graph))
    for name in common:
        if _shape(ours_v[name]) != _shape(theirs_v[name]):
            report.differ("`{}` is {} in yours, {} in graphs/".format(
                name, _shape(ours_v[name]), _shape(theirs_v[name])))
        if name not in trainable:
            report.differ("`{}` is not trainable in yours (trainable=False), so the optimizer cannot change "
                          "it: leave trainable at its default, True".format(name))
        _compare_initializer(pair, name, ours_v[name], theirs_v[name])
    if common and report.same:
        listed = " ({})".format("; ".join("{} {}".format(n, _shape(theirs_v[n])) for n in common)) \
            if len(common) <= 4 else ""
        report.notes.append("the same {} variables, the same shapes and initial distributions{}".format(
            len(common), listed))


def _rate_variables(graph):
    """The names of the variables an update's learning rate reads (a tf.Variable learning rate)."""
    rates = [_rate_input(op) for op in graph.get_operations() if _update_kind(op)]
    return {op.name for r in rates if r is not None for op in sameness_init.ancestors([r.op], control=False)
            if op.type in ("VarHandleOp", "VariableV2")}


def _compare_dtypes(common, ours_v, theirs_v, report):
    """The names of the variables of another dtype (said in one sentence)."""
    wrong = [n for n in common if ours_v[n].dtype.base_dtype != theirs_v[n].dtype.base_dtype]
    if wrong:
        report.differ("{} hold{} {}, graphs/'s {}: leave get_variable's dtype at its default, tf.float32".format(
            ", ".join("`{}`".format(n) for n in wrong), "s" if len(wrong) == 1 else "",
            ours_v[wrong[0]].dtype.base_dtype.name, theirs_v[wrong[0]].dtype.base_dtype.name))
    return set(wrong)


def _compare_initializer(pair, name, mine, its):
    """The distributions the two initializers' ops draw from; one the ops do not show is left to `init`'s
    draws (pair.unread)."""
    theirs_d, _ = sameness_init.read(its)
    mine_d, words = sameness_init.read(mine)
    if mine_d is None:
        pair.unread[name] = words
    elif not sameness_init.same(mine_d, theirs_d):
        hint = _initializer_hint(mine_d, theirs_d)
        if hint in pair.hinted:
            hint = ""  # said once, with the first variable
        pair.hinted.add(hint)
        pair.report.differ("`{}` starts from {} in yours, from {} in graphs/{}".format(
            name, sameness_init.words(mine_d), sameness_init.words(theirs_d), hint))


_TRUNCATED_SPREAD = 0.87962566103423978  # the stddev of N(0, 1) cut at +-2 (TensorFlow's variance_scaling)


def _initializer_hint(mine, theirs):
    """Why the common slips read as they do: variance_scaling_initializer's default scale is 1.0, not He's 2."""
    if mine.kind == theirs.kind == "truncated normal" and abs(mine.scale * math.sqrt(2) / theirs.scale - 1) < 1e-4:
        return (" (tf.compat.v1.variance_scaling_initializer() defaults to scale=1.0; He's is scale=2.0, "
                "mode=\"fan_in\", distribution=\"truncated_normal\")")
    if mine.kind == theirs.kind == "truncated normal" and abs(mine.scale / theirs.scale - _TRUNCATED_SPREAD) < 1e-4:
        return (" (variance_scaling_initializer divides its stddev by {:g}, the spread a cut at 2 stddevs takes "
                "away, so its draws keep the variance 2 / fan_in)".format(_TRUNCATED_SPREAD))
    if {mine.kind, theirs.kind} == {"normal", "truncated normal"}:
        return " (tf.random.truncated_normal cuts its draws at 2 stddevs; tf.random.normal does not)"
    return ""


def _shape(variable):
    return "[{}]".format(", ".join(str(d) for d in variable.shape.as_list()))


def _listed(names, variables):
    """`layer1_weights` [784, 10] and `layer1_bias` [10]"""
    items = ["`{}` {}".format(n, _shape(variables[n])) for n in names]
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def _scope(name):
    return name.rsplit("/", 1)[0] if "/" in name else ""


def _renamed(missing, extra, ours, theirs):
    """(graphs/'s name, yours) for each missing variable that one extra variable of the same shape can be
    (the same last part of the name first: `layer1_weights` made outside its variable_scope)."""
    pairs, left = [], list(extra)
    for name in missing:
        shaped = [n for n in left if _shape(ours[n]) == _shape(theirs[name])]
        near = [n for n in shaped if n.rsplit("/", 1)[-1] == name.rsplit("/", 1)[-1]] or shaped
        if near:
            pairs.append((name, near[0]))
            left.remove(near[0])
    return pairs


def _say_missing(pair, missing, ours_v, theirs_v):
    """A layer whose variables are all missing is said as one layer; another missing variable by itself."""
    scopes = sorted({_scope(n) for n in missing if _scope(n)} - {_scope(n) for n in ours_v})
    for scope in scopes:
        names = [n for n in theirs_v if _scope(n) == scope]
        pair.report.differ("yours has no layer `{}`: graphs/ has {}, made in `with "
                           "tf.compat.v1.variable_scope(\"{}\"):`".format(scope, _listed(names, theirs_v), scope))
        pair.layers_differ = True
    for name in missing:
        if _scope(name) not in scopes:
            pair.report.differ("graphs/ has the variable {}, yours has none of that name".format(
                _listed([name], theirs_v)))


# init: the learner's own initializer, run first, in a fresh copy.

def _compare_init(pair):
    init = _last_named(pair.graph, "init")
    if init is None:
        pair.report.differ("there is no `init`: make it with init = tf.compat.v1.global_variables_initializer(), "
                           "after the last variable")
        return
    variables = {v.op.name: v for v in pair.graph.get_collection(tf.compat.v1.GraphKeys.GLOBAL_VARIABLES)}
    if not variables:
        return
    with _Copy(pair.graph, variables) as copy:
        try:
            copy.session.run(copy.graph.get_operation_by_name(init.name))
        except (tf.errors.OpError, ValueError, TypeError) as e:
            pair.report.differ("running your `init` fails: TensorFlow says \"{}\"".format(_first_line(e)))
            return
        ready = copy.session.run(copy.ready)
        pair.drawn = copy.session.run({n: copy.reads[n] for n in variables if ready[n]})
    left = [n for n in variables if not ready[n]]
    if left:
        pair.report.differ(_uninitialized(init, left, variables))
    _compare_draws(pair)


def _uninitialized(init, left, variables):
    order = {op: i for i, op in enumerate(init.graph.get_operations())}
    before = all(order[init] < order[variables[n].op] for n in left)
    listed = ", ".join("`{}`".format(n) for n in left)
    if before and len(left) == len(variables):
        return ("your `init` initializes none of the variables: it was made before them, and "
                "tf.compat.v1.global_variables_initializer() covers only the variables that exist when it is "
                "called; make init after the last variable")
    return ("your `init` leaves {} uninitialized: make it with init = tf.compat.v1.global_variables_initializer(), "
            "after the last variable{}".format(listed, " (it was made before them)" if before else ""))


def _compare_draws(pair):
    """What the learner's `init` drew, tested against graphs/'s distribution (variables of the same shape)."""
    theirs_v, ours_v = network_variables(pair.theirs), network_variables(pair.graph)
    for name, its in theirs_v.items():
        if name not in pair.drawn or name not in ours_v or _shape(ours_v[name]) != _shape(its):
            continue
        mine_d, _ = sameness_init.read(ours_v[name])
        theirs_d, _ = sameness_init.read(its)
        if mine_d is not None and not sameness_init.same(mine_d, theirs_d):
            continue  # already said, from the ops
        why = sameness_init.drawn_from(pair.drawn[name], theirs_d)
        if why:
            made = "; it starts from {}".format(pair.unread[name]) if name in pair.unread else ""
            pair.report.differ("your `init` gives `{}` values that graphs/'s {} would not draw: {}{}".format(
                name, sameness_init.words(theirs_d), why, made))
        elif name in pair.unread:
            pair.report.notes.append("`{}` starts from {}; what your `init` drew passes for graphs/'s {}".format(
                name, pair.unread[name], sameness_init.words(theirs_d)))


class _Copy:
    """A copy of a graph (by its GraphDef: the original gains no op, and may be finalized) with ops that
    read, test and set its variables, and a session of its own."""

    def __init__(self, graph, variables):
        self.graph = tf.Graph()
        self.reads, self.ready, self.slots, self.assigns = {}, {}, {}, {}
        with self.graph.as_default():
            tf.compat.v1.import_graph_def(graph.as_graph_def(), name="")
            for name, variable in variables.items():
                self._handle_ops(name, variable.dtype.base_dtype, variable.shape)
        self.session = sessions.new_session(self.graph)

    def _handle_ops(self, name, dtype, shape):
        handle = self.graph.get_operation_by_name(name).outputs[0]
        slot = tf.compat.v1.placeholder(dtype, shape)
        if handle.op.type == "VarHandleOp":
            self.ready[name] = tf.raw_ops.VarIsInitializedOp(resource=handle)
            self.reads[name] = tf.raw_ops.ReadVariableOp(resource=handle, dtype=dtype)
            self.assigns[name] = tf.raw_ops.AssignVariableOp(resource=handle, value=slot)
        else:
            self.ready[name] = tf.raw_ops.IsVariableInitialized(ref=handle)
            self.reads[name] = tf.identity(handle)
            self.assigns[name] = tf.raw_ops.Assign(ref=handle, value=slot)
        self.slots[name] = slot

    def set(self, weights):
        self.session.run([self.assigns[n] for n in weights], {self.slots[n]: w for n, w in weights.items()})

    def __enter__(self):
        return self

    def __exit__(self, *error):
        self.session.close()


# The ops along the paths (labs/sameness_ops.py).

def _compare_paths(pair):
    if pair.twice:
        return  # which of the two copies is the learner's? The cells must run again anyway.
    names = {n for n, _ in NAMES}
    ours_v, theirs_v = network_variables(pair.graph), network_variables(pair.theirs)
    renamed = set(ours_v) ^ set(theirs_v)  # said by the variables' sentences
    for where, sources, target in PATHS:
        if not all(n in pair.ours for n in sources + (target,)) or (target == "logits" and pair.layers_differ):
            continue  # the missing name, or layer, is already said
        stops = names - {target}
        mine = sameness_ops.value_of(pair.ours[target], stops)
        its = sameness_ops.value_of(pair.theirs.get_tensor_by_name(target + ":0"), stops)
        said = sameness_ops.differences(mine, its, where, renamed, pair.placeholders_said)
        for sentence in said:
            pair.report.differ(sentence)
        if said:
            continue
        if target == "logits":
            types = _op_types(its)
            pair.report.notes.append("the same {} ops from `input` to `logits`, with the same settings: {}".format(
                len(types), ", ".join(types)))
        for relu, pool in mine.swapped:
            pair.report.notes.append(
                "`{}` applies the ReLU after the max pool `{}`, where graphs/ pools after the ReLU: the same numbers "
                "and gradients (a ReLU keeps the order of numbers), though LTFN 5 writes the ReLU first".format(
                    relu.name, pool.name))
        for op in mine.plus:
            pair.report.notes.append(
                "`{}` adds the bias with `+` where graphs/ writes tf.nn.bias_add: the same sums (bias_add is "
                "what lets TensorFlow fuse the sum into the MatMul or Conv2D before it)".format(op.name))


def _op_types(value):
    """The op types of a path, in the order they were made (each op once)."""
    seen, stack = {}, [value]
    while stack:
        v = stack.pop()
        if v.kind == "op" and v.op not in seen:
            seen[v.op] = v.type
            stack.extend(v.inputs)
    order = {op: i for i, op in enumerate(value.op.graph.get_operations())}
    return [seen[op] for op in sorted(seen, key=order.get)]


# The optimizer.

def _updates(graph, optimizer):
    """{variable name: (optimizer kind, learning rate tensor)} of the updates `optimizer` runs."""
    found = {}
    for op in sameness_init.ancestors([optimizer]):
        kind = _update_kind(op)
        if kind:
            found[_variable_name(op.inputs[0])] = (kind, _rate_input(op))
    return found


def _update_kind(op):
    match = _UPDATE.match(op.type)
    return match.group(1) if match else None


def _rate_input(op):
    names = [a.name for a in op.op_def.input_arg]
    for name in ("alpha", "lr"):
        if name in names and len(names) == len(op.inputs):
            return op.inputs[names.index(name)]
    return None


def _variable_name(tensor):
    op = tensor.op
    while op.type in ("Identity", "ReadVariableOp") and op.inputs:
        op = op.inputs[0].op
    return op.name


def _compare_optimizer(pair):
    if "optimizer" not in pair.ours:
        return
    report, optimizer = pair.report, pair.ours["optimizer"]
    mine, its = _updates(pair.graph, optimizer), _updates(pair.theirs, pair.theirs.get_operation_by_name("optimizer"))
    their_kind = sorted(set(k for k, _ in its.values()))[0]
    kinds = sorted(set(k for k, _ in mine.values()))
    wanted = "tf.compat.v1.train.{}(learning_rate={:g}).minimize(cost, name=\"optimizer\")".format(
        OPTIMIZERS[their_kind], report.learning_rate)
    if not kinds:
        report.differ("`optimizer` ({}) updates no variable: make it with {}".format(optimizer.type, wanted))
        return
    if kinds != [their_kind]:
        report.differ("`optimizer` is {}, graphs/'s {}: write {}".format(
            " and ".join(OPTIMIZERS.get(k, k) for k in kinds), OPTIMIZERS[their_kind], wanted))
        return
    _compare_updated(pair, mine, its)
    if "cost" in pair.ours and not pair.twice:  # (a missing `cost` or a cell run twice is said already)
        _compare_minimized(pair.graph, optimizer, pair.ours["cost"], report)
    rates_said = _compare_rates(mine, its, report)
    _second_optimizer(pair.graph, optimizer, report)
    _other_assigns(pair.graph, optimizer, report)
    if not rates_said and report.same:
        report.notes.append("the same optimizer: {} at learning rate {:g} on {} variables".format(
            OPTIMIZERS[their_kind], report.learning_rate, len(its)))


def _compare_updated(pair, mine, its):
    variables, trainable = network_variables(pair.graph), set(_trainable(pair.graph))
    used = _reached(pair.ours["cost"].op) if "cost" in pair.ours else set()
    # (a variable cost does not use, or reaches only through tf.stop_gradient, is said on the path; one
    # not trainable, with the variables)
    left = [n for n in network_variables(pair.theirs)
            if n in its and n not in mine and n in variables and n in trainable and n in used]
    if left:
        pair.report.differ("`optimizer` does not update {}: minimize(cost) with no var_list trains every "
                           "trainable variable cost depends on".format(", ".join("`{}`".format(n) for n in left)))


def _reached(op):
    """The names of the ops `op` depends on through ops a gradient flows back through (not past a
    tf.stop_gradient)."""
    seen, stack = set(), [op]
    while stack:
        op = stack.pop()
        if op.name not in seen:
            seen.add(op.name)
            if op.type != "StopGradient":
                stack.extend(t.op for t in op.inputs)
    return seen


def _compare_minimized(graph, optimizer, cost, report):
    minimized = _minimized(graph, optimizer)
    if minimized is None or _through_identity(minimized) is _through_identity(cost.op):
        return
    made_from = ", made from `cost` and more (in the posts `cost` is the whole loss)" \
        if cost.op in sameness_init.ancestors([minimized]) else ""
    report.differ("`optimizer` minimizes {}{}, not `cost`: write .minimize(cost, name=\"optimizer\")".format(
        sameness_ops.describe_op(minimized), made_from))


def _minimized(graph, optimizer):
    """The op whose value `optimizer` minimizes: tf.gradients starts from a Fill of ones, `gradients/grad_ys_0`,
    and names the first gradient op after the op it differentiates (gradients/<op name>_grad/...)."""
    ops = sameness_init.ancestors([optimizer])
    ones = [op for op in ops if re.fullmatch(r"gradients(_\d+)?/grad_ys_0", op.name)]
    for op in (ones[0].outputs[0].consumers() if len(ones) == 1 else []):
        match = re.match(r"gradients(?:_\d+)?/(.+?)_grad/", op.name)
        if match:
            try:
                return graph.get_operation_by_name(match.group(1))
            except KeyError:
                return None
    return None


def _through_identity(op):
    while op.type == "Identity" and op.inputs:
        op = op.inputs[0].op
    return op


def _compare_rates(mine, its, report):
    """True when a sentence was said about the learning rate."""
    theirs = {sameness_init.number(sameness_init.scalar(rate)) for _, rate in its.values()}
    rates, said = set(), False
    for name, (_, rate) in sorted(mine.items()):
        value, words = _rate(rate)
        if words:
            report.differ("`optimizer`'s learning rate {}; graphs/'s is the number {}: write "
                          "learning_rate={}".format(words, ", ".join(theirs), ", ".join(theirs)))
            said = True
        else:
            rates.add(value)
    if rates and rates != theirs:
        report.differ("`optimizer` learns at {}, graphs/ at {}".format(", ".join(sorted(rates)),
                                                                        ", ".join(sorted(theirs))))
        said = True
    return said


def _rate(tensor):
    """(the learning rate in six digits, None), or (None, words: what it reads instead of a number)."""
    if tensor is None:
        return None, "is not one the check can find"
    for op in sameness_init.ancestors([tensor.op], control=False):
        if op.type.startswith("Placeholder"):
            return None, "is fed through the placeholder `{}`".format(op.name)
        if op.type in ("VarHandleOp", "VariableV2"):
            return None, "reads the variable `{}`".format(op.name)
    value = sameness_init.scalar(tensor)
    if value is None:
        return None, "is computed by ops the check cannot run alone"
    return sameness_init.number(value), None


_ASSIGNS = ("Assign", "AssignVariableOp", "AssignAdd", "AssignAddVariableOp", "AssignSub", "AssignSubVariableOp")


def _other_assigns(graph, optimizer, report):
    """Ops `optimizer` runs that set a variable besides its updates: a get_variable constraint (applied after
    each step), or an assign under tf.control_dependencies. (global_step's is said with the variables.)"""
    constraints = {v.op.name: v for v in graph.get_collection(tf.compat.v1.GraphKeys.GLOBAL_VARIABLES)
                   if getattr(v, "constraint", None) is not None}
    said = set()
    for op in sorted(sameness_init.ancestors([optimizer]), key=lambda o: o.name):
        name = _variable_name(op.inputs[0]) if op.type in _ASSIGNS and op.inputs else None
        if name is None or name == "global_step" or name in said:
            continue
        said.add(name)
        if name in constraints:
            report.differ("`{}` has a constraint (get_variable(constraint=...)), which `optimizer` applies after "
                          "each step; graphs/'s variables have none: take it out".format(name))
        else:
            report.differ("`optimizer` also runs `{}`, which sets `{}` (through tf.control_dependencies or an op "
                          "it is made from): take it out".format(op.name, name))


def _second_optimizer(graph, optimizer, report):
    if any(re.fullmatch(r"optimizer_\d+", op.name) for op in graph.get_operations()):
        return  # a cell ran twice: already said
    mine = sameness_init.ancestors([optimizer])
    other = [op for op in graph.get_operations() if _update_kind(op) and op not in mine]
    if other:
        report.differ("yours has a second optimizer, which also updates `{}` ({}): keep only `optimizer`".format(
            _variable_name(other[0].inputs[0]), other[0].name))


# The numbers: graphs/'s initial weights in both graphs, two batch sizes.

_FETCHES = ("the cost", "the predictions", "the accuracy", "the cost after one optimizer step")


def default_batch():
    """The first 100 test images and labels (data/loader.load_test)."""
    from data import loader
    test = loader.load_test()
    return test.images[:100], test.labels[:100]


def _compare_numbers(pair, batch):
    """The same weights (those graphs/'s init draws) give the same numbers, exactly, on two batch sizes."""
    images, labels = batch if batch is not None else default_batch()
    images = np.asarray(images, np.float32).reshape((-1,) + tuple(pair.their_nodes.input.shape.as_list()[1:]))
    labels = np.asarray(labels, np.float32)
    sizes = _batch_sizes(len(images))
    variables = network_variables(pair.theirs)
    with _Copy(pair.theirs, variables) as copy:
        copy.session.run(copy.graph.get_operation_by_name("init"))
        weights = copy.session.run(copy.reads)
        its = _numbers(copy, weights, images, labels, sizes)
    with _Copy(pair.graph, variables) as copy:
        mine = _numbers(copy, weights, images, labels, sizes)
    _say_numbers(pair.report, mine, its, sizes)
    if not pair.report.same:
        return
    first, second = its[sizes[0]], its[sizes[-1]]
    pair.report.notes.append(
        "with graphs/'s initial weights, the same cost on {} test images, {}, and on the first {}, {}, exactly "
        "in float32; the same predictions and accuracy, and after one optimizer step on the {} the same cost, "
        "{}".format(sizes[0], _exact(first[0]), sizes[-1], _exact(second[0]), sizes[-1], _exact(second[3])))
    if pair.drawn is not None and all(np.array_equal(pair.drawn.get(n), weights[n]) for n in weights):
        pair.report.notes.append("and your `init` draws the very weights build_graph draws (the same seed, the "
                                 "same order of ops): your runs are //:run's, step for step")
    pair.report.numbers = {"cost": float(first[0]), "accuracy": float(first[2]),
                           "cost on {}".format(sizes[-1]): float(second[0]),
                           "cost after one step on {}".format(sizes[-1]): float(second[3])}


def _batch_sizes(count):
    return (count, SECOND_BATCH) if count > SECOND_BATCH else (count, max(1, count // 2))


def _numbers(copy, weights, images, labels, sizes):
    """{batch size: [cost, predictions, accuracy(, cost after one step)] or the error's words}, each size
    from the same weights; the step on the last (small) batch only: a step on 100 ConvNet images would
    double the check's time and show nothing 7 do not."""
    get = copy.graph.get_tensor_by_name
    found = {}
    for size in sizes:
        copy.set(weights)
        feed = {get("input:0"): images[:size], get("labels:0"): labels[:size]}
        try:
            values = copy.session.run([get(n + ":0") for n in ("cost", "predictions", "accuracy")], feed)
            if size == sizes[-1]:
                copy.session.run(copy.graph.get_operation_by_name("optimizer"), feed)
                values.append(copy.session.run(get("cost:0"), feed))
        except (tf.errors.OpError, ValueError, TypeError) as e:
            values = _first_line(e)
        found[size] = values
    return found


def _say_numbers(report, mine, its, sizes):
    said = set()
    for size in sizes:
        if isinstance(mine[size], str):
            other = [s for s in sizes if s != size and not isinstance(mine[s], str)]
            report.differ("your graph cannot run a batch of {} images{}: TensorFlow says \"{}\"".format(
                size, " (it runs {}: look for a batch size written into a shape)".format(other[0]) if other else "",
                mine[size]))
            continue
        for what, a, b in zip(_FETCHES, mine[size], its[size]):
            if what in said or np.array_equal(a, b):
                continue
            said.add(what)
            if np.shape(a) != np.shape(b):
                report.differ("with graphs/'s weights, {} on {} images has the shape {} in yours, {} in graphs/"
                              .format(what, size, np.shape(a), np.shape(b)))
            elif np.ndim(b) == 0:
                report.differ("with graphs/'s weights, {} on {} images is {} in yours, {} in graphs/{}".format(
                    what, size, _exact(a), _exact(b), _step_hint(what)))
            else:
                report.differ("with graphs/'s weights, {} on {} images differ (by up to {:.3g})".format(
                    what, size, float(np.max(np.abs(np.asarray(a, np.float64) - b)))))


def _step_hint(what):
    if what == _FETCHES[3]:
        return " (the step itself differs: what `optimizer` minimizes, or how it changes the weights)"
    return ""


def _exact(x):
    """A float32 with every digit it has (9 significant digits tell any two float32 apart)."""
    x = float(x)
    return "{:.9g}".format(x) if math.isfinite(x) else str(x)


def check(graph, net, init, learning_rate=None, batch=None):
    """compare, printed: the lessons' check cell."""
    report = compare(graph, net, init, learning_rate, batch)
    print(report)
    return report
