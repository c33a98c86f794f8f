"""The ops on a path of a graph (input -> logits, logits and labels -> cost, ...) in a form two graphs can
be compared in, for labs/sameness, and the sentence that says where two of them part.

Each value on the path becomes a Value: an op with its type, its settings (padding, strides, ksize,
dilations, keepdims, the dtype of a cast) and its inputs' Values; a post's named node (`input`,
`logits`, ...), a variable, a placeholder or a constant (a reshape's shape, argmax's axis) ends the
walk. Two graphs compute the same on the path when their Values have the same key. What does not change
a value is left out: tf.identity, a reshape to the shape it already has (the cross-entropy makes some),
the order of the inputs of a sum, a product or tf.equal, how an axis is written (1 or -1 of two), a
softmax or a cross-entropy on another axis written as TensorFlow writes it (transposes around the op: read
as its axis), whether a bias is added with tf.nn.bias_add or `+`, and a ReLU written after its max pool
(both said in a note).
"""

import hashlib

import numpy as np
import tensorflow as tf

from labs import sameness_init

# The call a learner writes for each op type (for the sentences).
API = {"MatMul": "tf.matmul", "BiasAdd": "tf.nn.bias_add", "AddV2": "+", "Add": "+", "Sub": "-", "Mul": "*",
       "RealDiv": "/", "Neg": "-", "Relu": "tf.nn.relu", "Relu6": "tf.nn.relu6", "Elu": "tf.nn.elu",
       "Selu": "tf.nn.selu", "LeakyRelu": "tf.nn.leaky_relu", "Sigmoid": "tf.sigmoid", "Tanh": "tf.tanh",
       "Softplus": "tf.nn.softplus", "Maximum": "tf.maximum", "Minimum": "tf.minimum",
       "Conv2D": "tf.nn.conv2d", "DepthwiseConv2dNative": "tf.nn.depthwise_conv2d",
       "MaxPool": "tf.nn.max_pool2d", "AvgPool": "tf.nn.avg_pool2d", "Reshape": "tf.reshape",
       "Transpose": "tf.transpose", "Softmax": "tf.nn.softmax", "LogSoftmax": "tf.nn.log_softmax",
       "SoftmaxCrossEntropyWithLogits": "tf.nn.softmax_cross_entropy_with_logits",
       "SparseSoftmaxCrossEntropyWithLogits": "tf.nn.sparse_softmax_cross_entropy_with_logits",
       "Mean": "tf.reduce_mean", "Sum": "tf.reduce_sum", "Max": "tf.reduce_max", "Min": "tf.reduce_min",
       "Prod": "tf.reduce_prod", "ArgMax": "tf.argmax", "ArgMin": "tf.argmin", "Equal": "tf.equal",
       "NotEqual": "tf.not_equal", "Cast": "tf.cast", "Log": "tf.math.log", "Exp": "tf.exp",
       "Square": "tf.square", "Sqrt": "tf.sqrt", "StopGradient": "tf.stop_gradient", "Print": "tf.compat.v1.Print",
       "PrintV2": "tf.print", "Squeeze": "tf.squeeze", "ExpandDims": "tf.expand_dims", "Pack": "tf.stack",
       "ConcatV2": "tf.concat", "SelectV2": "tf.where (tf.nn.dropout makes one)", "StridedSlice": "[...] (a slice)", "Shape": "tf.shape", "OneHot": "tf.one_hot"}
# Settings that do not change a value, or that the inputs already fix (the dtype T of most ops: a dtype
# that differs shows at the placeholders and variables, or as a tf.cast on the path).
_IGNORED_ATTRS = frozenset(["T", "Tidx", "Tshape", "Tpaddings", "Tmultiples", "Tperm", "Taxis", "Index", "N",
                            "SrcT", "Truncate", "output_type", "out_type", "use_cudnn_on_gpu", "grad_a", "grad_b",
                            "incompatible_shape_error", "debug_name"])
# What each setting is called where a learner writes it.
_ARGUMENT = {"keep_dims": "keepdims", "DstT": "dtype", "dimension": "axis", "reduction_indices": "axis",
             "features": "logits", "filter": "filters"}
_COMMUTATIVE = frozenset(["Add", "AddV2", "Mul", "Equal", "NotEqual", "Maximum", "Minimum", "LogicalAnd",
                          "LogicalOr"])
_AXIS_INPUT = {"Mean": 1, "Sum": 1, "Max": 1, "Min": 1, "Prod": 1, "All": 1, "Any": 1, "ArgMax": 1, "ArgMin": 1}
_VARIABLES = ("VarHandleOp", "VariableV2", "Variable")
_SOFTMAX = ("Softmax", "LogSoftmax")


class Value:
    """One value on a path: kind "op" (then `op`, `type`, `settings`, `inputs`), or an end of the walk:
    "node" (a post's named node), "variable", "placeholder", "constant", "loop"."""

    def __init__(self, kind, what, op=None, inputs=(), settings=(), plus=(), swapped=()):
        self.kind, self.what, self.op, self.inputs, self.settings = kind, what, op, list(inputs), tuple(settings)
        self.plus = tuple(plus) + tuple(p for v in self.inputs for p in v.plus)  # biases added with `+`
        # (relu, pool) of a ReLU written after its max pool
        self.swapped = tuple(swapped) + tuple(p for v in self.inputs for p in v.swapped)
        text = repr((kind, what, self.settings, [v.key for v in self.inputs]))
        self.key = hashlib.sha1(text.encode()).hexdigest()

    @property
    def type(self):
        return self.what if self.kind == "op" else None


def value_of(tensor, stops):
    """The Value of `tensor`, its walk ending at the ops named in `stops` (the posts' other names; not
    tensor's own)."""
    memo = {}
    order = {op: i for i, op in enumerate(tensor.graph.get_operations())}
    for op in sorted(_ancestors(tensor.op, stops), key=order.get):  # inputs are made before their ops
        for output in op.outputs:
            memo[output] = _value(output, stops, memo)
    return memo[tensor]


def _ancestors(op, stops):
    seen, stack = set(), [op]
    while stack:
        op = stack.pop()
        if op not in seen:
            seen.add(op)
            if op.name not in stops:
                stack.extend(t.op for t in op.inputs)
    return seen


def _value(tensor, stops, memo):
    op = tensor.op
    if op.name in stops:
        return Value("node", op.name, op)
    if op.type in _VARIABLES:
        return Value("variable", op.name, op)
    if op.type.startswith("Placeholder"):
        return Value("placeholder", op.name, op)
    if op.type == "Const":
        return Value("constant", _constant(tf.make_ndarray(op.get_attr("value"))), op)
    inputs = [memo.get(t) or Value("loop", t.name, t.op) for t in op.inputs]
    if _transparent(op, inputs):
        return inputs[0]
    return _op_value(tensor, op, inputs)


def _transparent(op, inputs):
    """Ops that hand their input on unchanged: identity, a variable's read, a reshape to its own shape, a
    stop_gradient on a placeholder (tf.compat.v1's cross-entropy puts one on the labels)."""
    if op.type in ("Identity", "Snapshot", "ReadVariableOp"):
        return True
    if op.type == "StopGradient":
        return inputs[0].kind in ("placeholder", "node") and inputs[0].op.type.startswith("Placeholder")
    if op.type == "Reshape":
        return _same_shape(op)
    return False


def _same_shape(reshape):
    """A reshape that cannot move a number: to a vector from a vector, to its own static shape (one
    unknown axis at most), or to a shape computed from its own input's (the cross-entropy's [-1, 10])."""
    x, shape = reshape.inputs
    before, after = x.shape, reshape.outputs[0].shape
    if before.rank is None or after.rank != before.rank:
        return False
    if before.rank == 1 or (before.as_list() == after.as_list() and before.as_list().count(None) <= 1):
        return True
    if not before.is_compatible_with(after):
        return False
    value = tf.get_static_value(shape)
    if value is not None:  # a shape TensorFlow works out before the run: [-1, 10] of a (100, 10)
        dims = before.as_list()
        return None not in dims and [d if v == -1 else v for v, d in zip(value.tolist(), dims)] == dims
    reads = _shapes_read(shape.op)
    return bool(reads) and all(t.name == x.name for t in reads)


def _shapes_read(op):
    """The tensors whose tf.shape a shape computation reads (the walk stops at each Shape op)."""
    seen, stack, reads = set(), [op], []
    while stack:
        op = stack.pop()
        if op in seen:
            continue
        seen.add(op)
        if op.type == "Shape":
            reads.append(op.inputs[0])
        else:
            stack.extend(t.op for t in op.inputs)
    return reads


def _op_value(tensor, op, inputs):
    if op.type in _AXIS_INPUT and len(inputs) > 1 and inputs[1].kind == "constant":
        inputs[1] = _axes(inputs[1], op.inputs[0].shape.rank)
    if op.type in _SOFTMAX:
        return Value("op", op.type, op, inputs, (("axis", (op.inputs[0].shape.rank or 0) - 1),))
    softmax = _softmax_on_another_axis(op, inputs)
    if softmax:
        return softmax
    pooled = _relu_after_max_pool(op, inputs)
    if pooled:
        return pooled
    bias = _bias_added_with_plus(op, inputs)
    if bias:
        return Value("op", "BiasAdd", op, bias, (("data_format", "NHWC"),), plus=[op])
    if op.type in _COMMUTATIVE:
        inputs = sorted(inputs, key=lambda v: v.key)
    settings = _settings(op)
    if op.type == "SoftmaxCrossEntropyWithLogits":
        inputs, axis = _cross_entropy_axis(op, inputs)
        settings += (("axis", axis),)
    if len(op.outputs) > 1:
        settings += (("output", tensor.value_index),)
    return Value("op", op.type, op, inputs, settings)


def _cross_entropy_axis(op, inputs):
    """(inputs, axis) of the cross-entropy: with axis=a not the last, TensorFlow transposes both inputs to put
    the classes last; read as the untransposed inputs and the axis."""
    rank = op.inputs[0].shape.rank or 0
    if not all(v.kind == "op" and v.type == "Transpose" for v in inputs):
        return inputs, rank - 1
    perms = [sameness_init.constant_value(v.op.inputs[1]) for v in inputs]
    if any(p is None for p in perms) or list(perms[0]) != list(perms[1]):
        return inputs, rank - 1
    moved = [i for i, p in enumerate(perms[0]) if p != i]
    return [v.inputs[0] for v in inputs], moved[0] if moved else len(perms[0]) - 1


def _softmax_on_another_axis(op, inputs):
    """tf.nn.softmax(x, axis=a) with a not the last axis, which TensorFlow writes transpose -> softmax ->
    transpose (a swapped with the last axis), as one softmax with its axis."""
    inner = inputs[0]
    if op.type != "Transpose" or inner.kind != "op" or inner.type not in _SOFTMAX or \
            inner.inputs[0].kind != "op" or inner.inputs[0].type != "Transpose":
        return None
    first = sameness_init.constant_value(inner.inputs[0].op.inputs[1])
    last = sameness_init.constant_value(op.inputs[1])
    if first is None or last is None or list(first) != list(last):
        return None
    moved = [i for i, p in enumerate(first) if p != i]
    if len(moved) != 2 or moved[1] != len(first) - 1:
        return None
    return Value("op", inner.type, op, inner.inputs[0].inputs[:1], (("axis", moved[0]),))


def _relu_after_max_pool(op, inputs):
    """relu(max_pool(x)) as max_pool(relu(x)): a ReLU keeps the order of numbers, so the two are the same
    numbers and the same gradients (the largest of a window is positive in both or zeroed in both)."""
    pool = inputs[0] if inputs else None
    if op.type != "Relu" or pool.kind != "op" or pool.type != "MaxPool" or len(pool.inputs) != 1:
        return None
    relu = Value("op", "Relu", op, pool.inputs, _settings(op))
    return Value("op", "MaxPool", pool.op, [relu], pool.settings, swapped=[(op, pool.op)])


def _bias_added_with_plus(op, inputs):
    """[x, bias] when op is `x + bias` (or tf.add) with bias a 1-D variable as long as x's last axis:
    tf.nn.bias_add(x, bias) computes the same sums."""
    if op.type not in ("Add", "AddV2") or len(inputs) != 2:
        return None
    for i in (0, 1):
        x, b = op.inputs[1 - i], op.inputs[i]
        if inputs[i].kind == "variable" and b.shape.rank == 1 and (x.shape.rank or 0) >= 2 and \
                x.shape[-1] is not None and x.shape[-1] == b.shape[0]:
            return [inputs[1 - i], inputs[i]]
    return None


def _settings(op):
    found = []
    for name in sorted(op.node_def.attr):
        if name in _IGNORED_ATTRS or name.startswith("_"):
            continue
        value = _plain(op.get_attr(name))
        if isinstance(value, tf.DType) and value.is_integer and name != "DstT":
            continue  # an index type (argmax's int64 or int32) changes no value; a cast to int32 does
        found.append((name, value))
    return tuple(found)


def _plain(value):
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if isinstance(value, (list, tuple)):
        return tuple(_plain(v) for v in value)
    return value


def _constant(array):
    kind = "int" if np.issubdtype(array.dtype, np.integer) else str(array.dtype)
    if array.size > 64:
        return (kind, array.shape, hashlib.sha1(np.ascontiguousarray(array).tobytes()).hexdigest())
    return (kind, array.shape, tuple(array.ravel().tolist()))


def _axes(value, rank):
    """An axis input as the axes it means: 1 and -1 of a matrix, and 0 and [0] of a vector, are one."""
    kind, shape, numbers = value.what
    if kind != "int" or not isinstance(numbers, tuple) or rank is None or rank == 0:
        return value
    axes = tuple(sorted(set(int(a) % rank for a in numbers)))
    return Value("constant", ("axes", axes), value.op)


# Where two Values part, in words.

def differences(mine, theirs, where, renamed=(), quiet=()):
    """The sentences that say where `mine` and `theirs` (Values of one path) differ; [] when they do not.
    renamed: variable names whose difference is said already (one graph has them, the other not); quiet:
    placeholders and variables whose dtype or shape is said already (the tf.cast, tf.reshape or tf.one_hot
    written after one follows from it)."""
    said = []
    _walk(mine, theirs, where, said, None, None, frozenset(renamed) | {("quiet", n) for n in quiet})
    return said


def _walk(mine, theirs, where, said, parent, index, renamed):
    if mine.key == theirs.key or {mine.what, theirs.what} & renamed and mine.kind == theirs.kind == "variable":
        return
    wrapped = mine.kind == "op" and any(v.key == theirs.key for v in mine.inputs)
    unwrapped = theirs.kind == "op" and any(v.key == mine.key for v in theirs.inputs)
    if not (wrapped or unwrapped) and mine.kind == theirs.kind == "op" and mine.type == theirs.type and \
            len(mine.inputs) == len(theirs.inputs):
        _settings_differ(mine, theirs, where, said)
        pairs = _pairs(mine, theirs)
        if _swapped(pairs):
            said.append(_swapped_sentence(mine, pairs, where))
            return
        for i, a, b in pairs:
            if a.kind == b.kind == "constant":
                said.append(_constant_sentence(mine, i, a, b, where))
            else:
                _walk(a, b, where, said, mine, i, renamed)
        return
    if _reordered(mine, theirs):
        said.append(_reordered_sentence(mine, theirs, where))
        return _walk(mine.inputs[0].inputs[0], theirs.inputs[0].inputs[0], where, said, None, None, renamed)
    extra = _inner(mine, theirs)
    if extra is not None:
        if not (theirs.kind in ("node", "variable") and ("quiet", theirs.what) in renamed and
                mine.type in ("Cast", "Reshape", "OneHot")):
            said.append(_extra_sentence(mine, extra, where))
        return _walk(extra, theirs, where, said, parent, index, renamed)
    missing = _inner(theirs, mine)
    if missing is not None:
        said.append("{}, yours has no {} after {}: graphs/ has {} there".format(
            where, _api(theirs.type), describe(mine), describe(theirs)))
        return _walk(mine, missing, where, said, parent, index, renamed)
    if parent is not None and mine.kind == "op" and _holds(mine, theirs.key):
        said.append("{}, yours has {} between {} and {}, which graphs/ does not have: take it out".format(
            where, describe(mine), describe(theirs), describe(parent)))
    elif parent is not None and not mine.kind == theirs.kind == "op":
        said.append("{}, {} takes {} as its `{}` where graphs/'s takes {}".format(
            where, describe(parent), describe(mine), _argument(parent, index), describe(theirs)))
    else:
        said.append("{}, yours has {} where graphs/ has {}{}".format(where, describe(mine), describe(theirs),
                                                                       _hint(mine, theirs)))


def _reordered(mine, theirs):
    """Two ops one after the other in the other order: mine is A(B(x)) where theirs is B(A(x))."""
    if not (mine.kind == theirs.kind == "op" and mine.inputs and theirs.inputs and mine.type != theirs.type):
        return False
    a, b = mine.inputs[0], theirs.inputs[0]
    return a.kind == b.kind == "op" and a.type == theirs.type and b.type == mine.type and a.inputs and b.inputs and \
        a.inputs[0].key == b.inputs[0].key


def _reordered_sentence(mine, theirs, where):
    return "{}, yours has {} after {} where graphs/ has {} after {}: swap them".format(
        where, describe(mine), describe(mine.inputs[0]), _api(theirs.type), _api(mine.type))


def _hint(mine, theirs):
    """Why common replacements are not the same numbers, and what to write."""
    if theirs.type == "SoftmaxCrossEntropyWithLogits" and _has_type(mine, "Log"):
        return (": a cross-entropy written by hand from tf.nn.softmax is not graphs/'s op (the log of a softmax "
                "that rounds to 0 is -inf, as with LTFN 5's costs in the thousands, and a tf.clip_by_value changes "
                "the cost of each image it clips and stops its gradient); write " + _CROSS_ENTROPY)
    if theirs.type == "SoftmaxCrossEntropyWithLogits":
        return ": write " + _CROSS_ENTROPY
    if theirs.type == "Mean":
        return _losses_hint(mine)
    if theirs.type == "Relu" and mine.type == "Maximum":
        return (": tf.maximum(x, 0.0) gives the same values, but where x is exactly 0 (a zero bias on LTFN 5's "
                "blank borders) its gradient is 1 and tf.nn.relu's is 0; write tf.nn.relu")
    return ""


def _losses_hint(value):
    """What to write for a cost made by tf.compat.v1.losses (its ops are in a name scope of its own)."""
    if value.kind == "op" and "softmax_cross_entropy_loss" in value.op.name.split("/"):
        return (": tf.compat.v1.losses weighs and sums the cross-entropies its own way; write "
                "tf.reduce_mean(" + _CROSS_ENTROPY + ")")
    return ""


def _has_type(value, op_type):
    seen, stack = set(), [value]
    while stack:
        v = stack.pop()
        if v.type == op_type:
            return True
        if id(v) not in seen:
            seen.add(id(v))
            stack.extend(v.inputs)
    return False


def _holds(value, key):
    """Whether `key` is the key of one of value's inputs, or of theirs, and so on."""
    seen, stack = set(), [value]
    while stack:
        v = stack.pop()
        if v.key == key:
            return True
        if id(v) not in seen:
            seen.add(id(v))
            stack.extend(v.inputs)
    return False


def _swapped(pairs):
    """Two inputs of one op given the other way round (labels for logits and logits for labels)."""
    return len(pairs) == 2 and pairs[0][1].key == pairs[1][2].key and pairs[1][1].key == pairs[0][2].key


def _swapped_sentence(op, pairs, where):
    (i, a, _), (j, b, _) = pairs
    return "{}, {} takes {} as its `{}` and {} as its `{}`: graphs/'s takes them the other way round".format(
        where, describe(op), describe(a), _argument(op, i), describe(b), _argument(op, j))


def _inner(outer, other):
    """The input of `outer` that is `other` (or, failing that, an op of other's type and arity): outer is
    an op the other graph does not have."""
    if outer.kind != "op":
        return None
    for v in outer.inputs:
        if v.key == other.key:
            return v
    for v in outer.inputs:
        if other.kind == "op" and v.type == other.type and len(v.inputs) == len(other.inputs):
            return v
    return None


def _pairs(mine, theirs):
    """(index in mine, mine's input, theirs's input) for the inputs that differ; a commutative op's inputs
    are matched by value first, so `b + a` pairs with `a + b`."""
    pairs = list(zip(range(len(mine.inputs)), mine.inputs, theirs.inputs))
    if mine.type in _COMMUTATIVE:
        left = [v for v in theirs.inputs]
        rest = []
        for i, v in enumerate(mine.inputs):
            match = next((t for t in left if t.key == v.key), None)
            if match is not None:
                left.remove(match)
            else:
                rest.append((i, v))
        pairs = [(i, v, t) for (i, v), t in zip(rest, left)]
    return [(i, a, b) for i, a, b in pairs if a.key != b.key]


def _settings_differ(mine, theirs, where, said):
    theirs_settings = dict(theirs.settings)
    for name, value in mine.settings:
        if name in theirs_settings and theirs_settings[name] != value:
            argument = _ARGUMENT.get(name, name)
            said.append("{}, yours has {} with {}={} where graphs/ has {}={}".format(
                where, describe(mine), argument, _show(value), argument, _show(theirs_settings[name])))


def _constant_sentence(op, index, mine, theirs, where):
    argument = _argument(op, index)
    sentence = "{}, yours has {} with {}={} where graphs/ has {}={}".format(
        where, describe(op), argument, _show_constant(mine), argument, _show_constant(theirs))
    batch = _fixed_batch(op, mine, theirs)
    if batch:
        sentence += " (your graph takes only batches of {}: -1 lets a batch be any size, LTFN 2)".format(batch)
    return sentence


def _fixed_batch(op, mine, theirs):
    """The batch size a reshape's shape fixes where graphs/ writes -1, or None."""
    if op.type != "Reshape" or mine.what[0] != "int" or theirs.what[0] != "int":
        return None
    a, b = mine.what[2], theirs.what[2]
    if isinstance(a, tuple) and isinstance(b, tuple) and len(a) == len(b) and a[1:] == b[1:] and b[:1] == (-1,):
        return a[0]
    return None


def _extra_sentence(outer, inner, where):
    if describe(outer) == describe(inner):  # both inside one call: the call is what differs
        return "{}, yours has {}, which graphs/ does not have{}".format(
            where, describe(outer), _losses_hint(outer) or ": take it out")
    if inner.kind == "op" and inner.type == outer.type:
        return "{}, yours applies {} twice ({}, then {}) where graphs/ applies it once: take one out".format(
            where, _api(outer.type), _name(inner), _name(outer))
    return "{}, yours has an extra {} after {}, which graphs/ does not have: take it out".format(
        where, describe(outer), describe(inner))


# Calls that make several ops in a name scope of their own, said as the call (`layer1/dropout`).
_SCOPED_CALLS = (("dropout", "tf.nn.dropout"), ("batchnorm", "tf.nn.batch_normalization"),
                 ("clip_by_value", "tf.clip_by_value"), ("l2_loss", "tf.nn.l2_loss"),
                 ("softmax_cross_entropy_with_logits", "tf.nn.softmax_cross_entropy_with_logits"),
                 ("softmax_cross_entropy_loss", "tf.compat.v1.losses.softmax_cross_entropy"))
_CROSS_ENTROPY = "tf.nn.softmax_cross_entropy_with_logits(labels=labels, logits=logits)"


def describe(v):
    """`layer1/Conv2D` (tf.nn.conv2d), `logits`, the variable `layer1/layer1_weights`, the constant [-1, 6272]."""
    if v.kind == "op":
        return describe_op(v.op, v.type)
    if v.kind == "node":
        return "`{}`".format(v.what)
    if v.kind == "constant":
        return "the constant {}".format(_show_constant(v))
    if v.kind == "loop":
        return "a loop's value `{}`".format(v.what)
    return "the {} `{}`".format(v.kind, v.what)


def describe_op(op, op_type=None):
    """`layer1/Conv2D` (tf.nn.conv2d); an op inside a call's own name scope as the call: `layer1/dropout`
    (tf.nn.dropout). op_type: what the op is read as (a softmax on another axis ends in a transpose)."""
    parts = op.name.split("/")
    for scope, call in _SCOPED_CALLS:
        for i, part in enumerate(parts[:-1]):
            if part == scope or part.startswith(scope + "_") and part[len(scope) + 1:].isdigit():
                return "`{}` ({})".format("/".join(parts[:i + 1]), call)
    return "`{}` ({})".format(op.name, _api(op_type or op.type))


def _name(v):
    return "`{}`".format(v.op.name)


def _api(op_type):
    return API.get(op_type, "the op {}".format(op_type))


def _argument(v, index):
    """The name of an op's index-th input, as the learner's call writes it (`axis`, `logits`, `shape`)."""
    args = v.op.op_def.input_arg if v.op is not None else []
    if len(args) == len(v.op.inputs) and index < len(args):
        return _ARGUMENT.get(args[index].name, args[index].name)
    return "input {}".format(index + 1)


def _show(value):
    if isinstance(value, str):
        return '"{}"'.format(value)
    if isinstance(value, tuple):
        return "[{}]".format(", ".join(str(_show(v)) for v in value))
    if isinstance(value, tf.DType):
        return "tf." + value.name
    return str(value)


def _show_constant(v):
    kind, *rest = v.what
    if kind == "axes":
        return str(rest[0][0]) if len(rest[0]) == 1 else _show(rest[0])
    shape, numbers = rest
    if not isinstance(numbers, tuple):
        return "an array of shape {}".format(list(shape))
    if shape == ():
        return "{:g}".format(numbers[0]) if kind != "int" else str(numbers[0])
    return "[{}]".format(", ".join("{:g}".format(n) for n in numbers))
