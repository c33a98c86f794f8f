"""What a variable starts from (LTFN 1's N(0, 1) weights and zero bias, LTFN 6's initializers), for
labs/sameness: the distribution its initializer's ops draw from, read from the ops, and a test of the
values an initializer really drew against a distribution.

Read from the ops, `tf.random.normal(shape) * 0.01`, `tf.compat.v1.random_normal_initializer(stddev=0.01)`
and `tf.Variable(tf.compat.v1.random_normal(shape, stddev=0.01))` are all N(0, 0.01); He's
`variance_scaling_initializer(scale=2.0, mode='fan_in', distribution='truncated_normal')` is a truncated
normal and Glorot's uniform initializer a uniform, whichever call wrote them.
"""

import collections
import math

import numpy as np
import tensorflow as tf

from machine import sessions

# kind: "normal" (loc + scale * N(0, 1)), "truncated normal" (the same, cut at 2 scale from loc, as
# TensorFlow's TruncatedNormal), "uniform" (in [loc, loc + scale]), "constant" (every value loc).
Distribution = collections.namedtuple("Distribution", ["kind", "loc", "scale"])
_RANDOM_OPS = {"RandomStandardNormal": "normal", "TruncatedNormal": "truncated normal", "RandomUniform": "uniform"}
# How many standard errors a drawn mean or stddev may stray before the draws are called another
# distribution, and the Kolmogorov-Smirnov bound (times 1/sqrt(n)): each is passed by a right
# initializer's draws but about once in 10^9, so a right graph is not refused by chance.
_STRAY = 6.5
_KOLMOGOROV = 3.3


def initial_value(variable):
    """The tensor a variable's initializer assigns (get_variable's initializer or tf.Variable's value)."""
    initializer = variable.initializer
    if initializer.type in ("AssignVariableOp", "Assign") and len(initializer.inputs) > 1:
        return initializer.inputs[1]
    return variable.initial_value


def read(variable):
    """(Distribution, None) from the ops that make the variable's initial value, or (None, words) when they
    are not one scaled and shifted draw (`a constant array`, `a value computed by ...`)."""
    value = initial_value(variable)
    ops = ancestors([value.op])
    random = [op for op in ops if op.type in _RANDOM_OPS]
    if not random:
        return _constant(value, ops)
    if len(random) > 1:
        return None, "a sum of {} random draws".format(len(random))
    kind = _RANDOM_OPS[random[0].type]
    loc, scale = 0.0, 1.0
    tensor = random[0].outputs[0]
    while tensor is not value:  # value = loc + scale * draw, followed op by op from the draw
        consumers = [op for op in tensor.consumers() if op in ops]
        if len(consumers) != 1:
            return None, "{} draws combined by {}".format(kind, ", ".join(sorted(set(op.type for op in ops))))
        op = consumers[0]
        stepped = _affine(op, tensor, loc, scale)
        if stepped is None:
            return None, "{} draws passed through {}".format(kind, op.type)
        loc, scale = stepped
        tensor = op.outputs[0]
    if kind == "uniform":
        low, high = sorted((loc, loc + scale))
        return Distribution(kind, low, high - low), None
    return Distribution(kind, loc, abs(scale)), None


def _constant(value, ops):
    constant = tf.get_static_value(value)
    if constant is None:
        return None, "a value computed by {}".format(", ".join(sorted(set(op.type for op in ops))))
    constant = np.asarray(constant)
    if constant.size and np.all(constant == constant.flat[0]):
        return Distribution("constant", float(constant.flat[0]), 0.0), None
    return None, "a constant array (made outside TensorFlow's random ops)"


def _affine(op, tensor, loc, scale):
    """(loc, scale) after `op` (x * c, c * x, x + c, x - c, c - x, x / c, -x, identity), or None."""
    if op.type in ("Identity", "Cast") and op.outputs[0].dtype == tensor.dtype:
        return loc, scale
    if op.type == "Neg":
        return -loc, -scale
    other = [t for t in op.inputs if t is not tensor]
    c = scalar(other[0]) if len(other) == 1 else None
    if c is None:
        return None
    if op.type == "Mul":
        return loc * c, scale * c
    if op.type in ("RealDiv", "Div", "TrueDiv") and op.inputs[0] is tensor and c != 0:
        return loc / c, scale / c
    if op.type in ("Add", "AddV2"):
        return loc + c, scale
    if op.type == "Sub":
        return (loc - c, scale) if op.inputs[0] is tensor else (c - loc, -scale)
    return None


def scalar(tensor):
    """The value of a one-number tensor computed from constants only (the learner's 0.01, TF's max - min),
    or None (it reads a variable, a placeholder or a random op, or cannot be run)."""
    if tensor.shape.rank is None or tensor.shape.num_elements() != 1:
        return None
    value = constant_value(tensor)
    try:
        return float(np.asarray(value).reshape(())) if value is not None else None
    except (TypeError, ValueError):
        return None


def constant_value(tensor):
    """The value of a tensor computed from constants only (run in a session when TensorFlow cannot fold
    it), or None."""
    if any(op.type in _RANDOM_OPS or op.type.startswith(("Placeholder", "Var", "ReadVariable", "Shape"))
           for op in ancestors([tensor.op], control=False)):  # (a number made under control_dependencies is one)
        return None
    value = tf.get_static_value(tensor)
    if value is None:
        try:
            with tf.compat.v1.Session(graph=tensor.graph, config=sessions.config()) as session:
                value = session.run(tensor)
        except (tf.errors.OpError, ValueError, TypeError):
            return None
    return np.asarray(value)


def ancestors(ops, control=True):
    """Every op the given ops depend on (data and, with control, control inputs), themselves included."""
    seen, stack = set(), list(ops)
    while stack:
        op = stack.pop()
        if op not in seen:
            seen.add(op)
            stack.extend([t.op for t in op.inputs] + (list(op.control_inputs) if control else []))
    return seen


def same(a, b):
    """Two Distributions that are one (float32 arithmetic: 1e-5 relative)."""
    if a.kind != b.kind:
        return False
    size = max(abs(a.loc), abs(b.loc), a.scale, b.scale, 1e-30)
    return abs(a.loc - b.loc) <= 1e-5 * size and abs(a.scale - b.scale) <= 1e-5 * size


def words(d):
    """`normal, mean 0, stddev 1`, `truncated normal, mean 0, stddev 0.471405`, `uniform in [-0.1, 0.1]`,
    `zeros`, `the constant 0.1`."""
    if d.kind == "constant":
        return "zeros" if d.loc == 0 else "the constant {}".format(number(d.loc))
    if d.kind == "uniform":
        return "uniform in [{}, {}]".format(number(d.loc), number(d.loc + d.scale))
    return "{}, mean {}, stddev {}".format(d.kind, number(d.loc), number(d.scale))


def number(x):
    """Six significant digits, the way a learner would write it (0, 1, 0.01, 0.0589256)."""
    text = "{:.6g}".format(x)
    return "0" if text in ("-0", "0") else text


# The draws, tested against a distribution.

def drawn_from(values, d):
    """None when `values` (what an initializer drew) could come from Distribution d, else the words that
    say why not: their mean, spread and range beside d's, or the one value that d cannot draw."""
    values = np.asarray(values, np.float64).ravel()
    if d.kind == "constant":
        return None if np.all(values == np.float32(d.loc)) else "not all {}".format(words(d))
    low, high = _support(d)
    slack = 1e-5 * max(abs(low), abs(high))
    if values.min() < low - slack or values.max() > high + slack:
        return _found(values, "outside [{}, {}]".format(number(low), number(high)))
    n = values.size
    mean, std, kurtosis = _moments(d)
    if abs(values.mean() - mean) > _STRAY * std / math.sqrt(n):
        return _found(values, "their mean is not {}".format(number(mean)))
    if abs(values.std() / std - 1) > _STRAY * math.sqrt((kurtosis - 1) / (4 * n)):
        return _found(values, "their stddev is not {}".format(number(std)))
    if _kolmogorov(values, d) > _KOLMOGOROV / math.sqrt(n):
        return _found(values, "their histogram has another shape")
    return None


def _found(values, why):
    return "mean {}, stddev {}, in [{}, {}]: {}".format(number(values.mean()), number(values.std()),
                                                        number(values.min()), number(values.max()), why)


def _support(d):
    if d.kind == "uniform":
        return d.loc, d.loc + d.scale
    if d.kind == "truncated normal":
        return d.loc - 2 * d.scale, d.loc + 2 * d.scale
    return -math.inf, math.inf


def _standard_cdf(kind, z):
    """The distribution function of d's standard form at z (numpy array): N(0, 1), N(0, 1) cut at +-2,
    or uniform in [0, 1]."""
    if kind == "uniform":
        return np.clip(z, 0.0, 1.0)
    phi = 0.5 * (1 + _erf(z / math.sqrt(2)))
    if kind == "normal":
        return phi
    low, high = 0.5 * (1 + math.erf(-2 / math.sqrt(2))), 0.5 * (1 + math.erf(2 / math.sqrt(2)))
    return np.clip((phi - low) / (high - low), 0.0, 1.0)


def _erf(x):
    """erf, to 1.5e-7 (Abramowitz and Stegun 7.1.26), on a whole array at once: plenty for a
    Kolmogorov-Smirnov bound of 1e-2."""
    t = 1 / (1 + 0.3275911 * np.abs(x))
    poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))))
    return np.sign(x) * (1 - poly * np.exp(-x * x))


def _kolmogorov(values, d):
    """Kolmogorov-Smirnov distance between the draws' histogram and d's distribution function."""
    z = np.sort((values - d.loc) / d.scale)
    cdf = _standard_cdf(d.kind, z).astype(np.float64)
    n = z.size
    return max(np.max(np.arange(1, n + 1) / n - cdf), np.max(cdf - np.arange(n) / n))


def _moments(d):
    """(mean, stddev, kurtosis) of Distribution d."""
    if d.kind == "uniform":
        return d.loc + d.scale / 2, d.scale / math.sqrt(12), 1.8
    if d.kind == "normal":
        return d.loc, d.scale, 3.0
    # N(0, 1) cut at +-2: E z^2 = 1 - 2a phi(a) / Z, E z^4 = 3 - (2a^3 + 6a) phi(a) / Z, a = 2.
    a = 2.0
    pdf = math.exp(-a * a / 2) / math.sqrt(2 * math.pi)
    mass = math.erf(a / math.sqrt(2))
    second = 1 - 2 * a * pdf / mass
    fourth = 3 - (2 * a ** 3 + 6 * a) * pdf / mass
    return d.loc, d.scale * math.sqrt(second), fourth / second ** 2
