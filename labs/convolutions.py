"""The convolution lab of LTFN 4 ("Intro to Convolutional Neural Networks").

Every figure of the post is rebuilt as a small tf.compat.v1 graph (NHWC inputs, HWIO filters) run in a
Session, next to a pure-numpy reference that follows TensorFlow's padding rules exactly, so the grids
can be checked by hand and the tests can check TensorFlow against the reference.
"""

import collections
import dataclasses
import math
import os
import textwrap

# Read once, when TensorFlow loads its C++ runtime.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import matplotlib.pyplot as plt
import numpy as np
import tensorflow as tf

from graphs import posts
from machine import sessions

EXAMPLE_NAMES = posts.CONVOLUTION_EXAMPLES
PADDINGS = ("SAME", "VALID")

# Pixel values of the edge example: far apart, so edge responses are obviously large next to the zeroes
# of the flat regions.
LIGHT, DARK = 10, 0

# Left column +1, right column -1: the response is left minus right, i.e. a vertical edge detector.
EDGE_FILTER = np.array([[1, 0, -1]] * 3)[:, :, np.newaxis, np.newaxis]


def _check_padding(padding):
    if padding not in PADDINGS:
        raise ValueError("padding must be one of {}, got {!r}".format(PADDINGS, padding))


def output_size(in_size, k, stride, padding):
    """Output height (or width) as TensorFlow computes it: SAME ceil(in / s), VALID ceil((in - k + 1) / s)."""
    _check_padding(padding)
    if padding == "SAME":
        return math.ceil(in_size / stride)
    if k > in_size:
        raise ValueError("VALID needs kernel <= input, got kernel {} and input {}".format(k, in_size))
    return math.ceil((in_size - k + 1) / stride)


def size_formula(in_size, k, stride, padding):
    """output_size's formula with the numbers filled in, e.g. 'SAME: ceil(5 / 2) = 3'."""
    out = output_size(in_size, k, stride, padding)
    if padding == "SAME":
        return "SAME: ceil({} / {}) = {}".format(in_size, stride, out)
    return "VALID: ceil(({} - {} + 1) / {}) = {}".format(in_size, k, stride, out)


def same_padding(in_size, k, stride):
    """(before, after) zeroes TensorFlow adds for SAME; an odd one out goes after (bottom / right)."""
    out = output_size(in_size, k, stride, "SAME")
    total = max((out - 1) * stride + k - in_size, 0)
    return total // 2, total - total // 2


def pad_input(x, k, stride, padding, fill=0):
    """x (H x W x C) as the window sees it: padded by TensorFlow's SAME rule, untouched for VALID."""
    _check_padding(padding)
    if padding == "VALID":
        return x
    pads = [same_padding(n, k, stride) for n in x.shape[:2]] + [(0, 0)]
    return np.pad(x, pads, constant_values=fill)


def _slide(x, k, stride, padding, fill, reduce_window):
    """reduce_window of every k x k x C window of x, stepping by stride: the loop TF's kernels run."""
    padded = pad_input(x, k, stride, padding, fill)
    out_h, out_w = (output_size(n, k, stride, padding) for n in x.shape[:2])
    return np.array([[reduce_window(padded[i * stride:i * stride + k, j * stride:j * stride + k, :])
                      for j in range(out_w)]
                     for i in range(out_h)])


def numpy_conv2d(x, w, stride, padding):
    """Reference for tf.nn.conv2d on one image: x is H x W x C_in, w is k x k x C_in x C_out (HWIO)."""
    w = np.asarray(w)
    return _slide(np.asarray(x), w.shape[0], stride, padding, 0, lambda window: np.tensordot(window, w, axes=3))


def numpy_max_pool(x, k, stride, padding):
    """Reference for tf.nn.max_pool2d on one image (H x W x C)."""
    # TF never picks a padded cell; -inf reproduces that even for all-negative windows.
    return _slide(np.asarray(x, dtype=float), k, stride, padding, -np.inf, lambda window: window.max(axis=(0, 1)))


def run_in_session(x, stride, padding, filters=None, pool_size=None):
    """Runs one conv (filters, HWIO) or max pool (pool_size) over x (H x W x C) as a v1 graph in a Session."""
    if (filters is None) == (pool_size is None):
        raise ValueError("pass exactly one of filters and pool_size")
    _check_padding(padding)
    x = np.asarray(x, dtype=np.float32)
    with tf.Graph().as_default() as graph:
        image = tf.compat.v1.placeholder(tf.float32, shape=(1,) + x.shape, name="input")
        if filters is not None:
            weights = tf.constant(filters, dtype=tf.float32, name="filters")
            result = tf.nn.conv2d(image, weights, strides=[1, stride, stride, 1], padding=padding, data_format="NHWC")
        else:
            result = tf.nn.max_pool2d(image, ksize=pool_size, strides=stride, padding=padding, data_format="NHWC")
        with sessions.new_session(graph) as session:
            return session.run(result, feed_dict={image: x[np.newaxis]})[0]


@dataclasses.dataclass(frozen=True)
class Case:
    """One pass of a filter (or pool window) over an input, with what is needed to explain it."""
    label: str  # Tells an example's cases apart; "" when there is only one.
    input: np.ndarray  # H x W x C_in.
    filters: np.ndarray  # k x k x C_in x C_out (HWIO); None for max pooling.
    pool_size: int  # None for a convolution.
    padding: str
    stride: int
    output: np.ndarray  # What TensorFlow computed, H x W x D.
    padded_input: np.ndarray  # Only for the example about padding; else None.
    shape: str  # "H x W x D" of output.
    formula: str  # How TensorFlow arrives at shape.


@dataclasses.dataclass(frozen=True)
class Example:
    """One figure of the post: its --example name, a title, what it shows, and its cases."""
    name: str
    title: str
    explanation: str
    cases: tuple


def _case(x, padding, stride, filters=None, pool_size=None, label="", show_padding=False):
    filters = None if filters is None else np.asarray(filters)
    output = run_in_session(x, stride, padding, filters=filters, pool_size=pool_size)
    k = pool_size if filters is None else filters.shape[0]
    in_h, in_w = x.shape[:2]
    if in_h == in_w:
        spatial = size_formula(in_h, k, stride, padding)
    else:
        spatial = "height {}, width {}".format(size_formula(in_h, k, stride, padding),
                                               size_formula(in_w, k, stride, padding))
    if filters is None:
        depth = "depth {} = input depth".format(x.shape[2])
    else:
        depth = "depth {} = number of filters".format(filters.shape[3])
    return Case(label=label, input=x, filters=filters, pool_size=pool_size, padding=padding, stride=stride,
                output=output, padded_input=pad_input(x, k, stride, padding) if show_padding else None,
                shape=" x ".join(str(n) for n in output.shape), formula="{}; {}".format(spatial, depth))


def _draw(rng, low, high, shape, accept=lambda a: True):
    """Random integers in [low, high], drawn again in the rare case accept rejects them."""
    while True:
        a = rng.integers(low, high, size=shape, endpoint=True)
        if accept(a):
            return a


def _random_arrays(seed):
    """Every random array, drawn in a fixed order so an example is the same alone or among the others."""
    rng = np.random.default_rng(seed)
    image5 = _draw(rng, 0, 3, (5, 5, 1))
    filter3 = _draw(rng, -1, 1, (3, 3, 1, 1), lambda f: f.any())
    image5x2 = _draw(rng, 0, 3, (5, 5, 2))
    # The post stresses that the two filters' weights are distinct.
    filters2 = _draw(rng, -1, 1, (3, 3, 2, 2),
                     lambda f: f[..., 0].any() and f[..., 1].any() and not np.array_equal(f[..., 0], f[..., 1]))
    # 0..9 rather than 0..3 so most 2x2 blocks have a clear maximum.
    image4 = _draw(rng, 0, 9, (4, 4, 1))
    return image5, filter3, image5x2, filters2, image4


ExampleInputs = collections.namedtuple("ExampleInputs", "image5 filter3 image5x2 filters2 image4")


def example_inputs(seed=0):
    """The random arrays behind the examples, the very ones build_examples(seed) uses: the 5x5 input and 3x3
    filter (valid, same, stride), the 5x5x2 input and two 3x3x2 filters (depth_in, depth_out), the 4x4 input
    (max_pool). For the lesson, where the learner runs them through conv2d and max_pool2d."""
    return ExampleInputs(*_random_arrays(seed))


def edge_image(left, right, size=6):
    """A size x size x 1 image, `left` in its left half and `right` in its right half: one vertical edge."""
    row = [left] * (size // 2) + [right] * (size - size // 2)
    return np.array([row] * size)[:, :, np.newaxis]


def build_examples(seed=0, names=EXAMPLE_NAMES):
    """The LTFN 4 examples named in `names`, in that order, each computed by TensorFlow."""
    unknown = sorted(set(names) - set(EXAMPLE_NAMES))
    if unknown:
        raise ValueError("unknown examples {}; choose from {}".format(unknown, EXAMPLE_NAMES))
    image5, filter3, image5x2, filters2, image4 = _random_arrays(seed)
    # Lambdas so that only the requested examples start TensorFlow sessions.
    builders = {
        "valid": lambda: Example(
            "valid", "A 5x5 input and a 3x3 filter (VALID padding)",
            "The filter slides over the input one pixel at a time; each output value is the dot product of the "
            "filter with the 3x3 patch under it (9 products). Nothing is padded, so the output shrinks to 3x3.",
            (_case(image5, "VALID", 1, filters=filter3),)),
        "edges": lambda: Example(
            "edges", "Vertical edge detection with a hand-picked filter",
            "Light pixels are {}, dark ones {}. The filter subtracts the right column from the left, so "
            "light-to-dark transitions give large positive values, dark-to-light transitions give large negative "
            "values and flat regions give zero.".format(LIGHT, DARK),
            (_case(edge_image(LIGHT, DARK), "VALID", 1, filters=EDGE_FILTER, label="light-to-dark"),
             _case(edge_image(DARK, LIGHT), "VALID", 1, filters=EDGE_FILTER, label="dark-to-light"))),
        "same": lambda: Example(
            "same", "SAME padding keeps the output 5x5",
            "SAME padding surrounds the 5x5 input with just enough zeroes (here one ring, making it 7x7) for the "
            "3x3 filter to produce an output as tall and wide as the input.",
            (_case(image5, "SAME", 1, filters=filter3, show_padding=True),)),
        "stride": lambda: Example(
            "stride", "Stride 2 with SAME and VALID padding",
            "With stride 2 the filter moves two pixels between dot products, so height and width shrink faster "
            "than with stride 1, with or without padding.",
            (_case(image5, "SAME", 2, filters=filter3, label="SAME, stride 2"),
             _case(image5, "VALID", 2, filters=filter3, label="VALID, stride 2"))),
        "depth_in": lambda: Example(
            "depth_in", "Input depth 2: one 3x3x2 filter",
            "The filter takes the depth of the 5x5x2 input, so each output value adds up 18 products (9 from each "
            "input depth). One filter gives an output depth of 1.",
            (_case(image5x2, "VALID", 1, filters=filters2[..., :1]),)),
        "depth_out": lambda: Example(
            "depth_out", "Output depth 2: two 3x3x2 filters",
            "Two filters with distinct weights each compute their own 3x3 result over the 5x5x2 input; stacked "
            "together they make an output of depth 2. More filters, deeper output.",
            (_case(image5x2, "VALID", 1, filters=filters2),)),
        "max_pool": lambda: Example(
            "max_pool", "2x2 max pooling with stride 2",
            "Max pooling has no weights: it keeps the largest value of each 2x2 block. With stride 2 the blocks "
            "do not overlap, so the 4x4 input becomes 2x2 (they fit exactly, so SAME adds no padding).",
            (_case(image4, "SAME", 2, pool_size=2),)),
    }
    return [builders[name]() for name in names]


# The examples as text and as pictures: what `bazel run //:convolutions` prints and draws.

def format_cells(grid):
    """The text of each cell of a 2-D array; whole numbers (as TF's float outputs are here) print as integers."""
    grid = np.asarray(grid)
    if np.all(np.isfinite(grid)) and np.all(grid == np.round(grid)):
        return [[str(int(v)) for v in row] for row in grid]
    return [["{:.3g}".format(v) for v in row] for row in grid]


def format_grid(grid):
    """Lines of a 2-D array, every column right-aligned to the widest number."""
    cells = format_cells(grid)
    width = max(len(c) for row in cells for c in row)
    return [" ".join(c.rjust(width) for c in row) for row in cells]


def _slices(title, array):
    """(title, 2-D slice) per depth of an H x W x D array, counting depths from 1 as the post does."""
    if array.shape[2] == 1:
        return [(title, array[:, :, 0])]
    return [("{}, depth {}".format(title, d + 1), array[:, :, d]) for d in range(array.shape[2])]


def groups(case, previous=None):
    """The arrays to show for a case, as (title, H x W x D array, signed) in reading order. `signed` arrays
    hold weights or responses (drawn centred on zero), the others pixel values. Inputs and filters that
    `previous` (the case shown just before) already showed are left out."""
    shown = []
    if previous is None or not np.array_equal(case.input, previous.input):
        shown.append(("Input", case.input, False))
    if case.padded_input is not None:
        shown.append(("Zero-padded input", case.padded_input, False))
    if case.filters is None:
        title = "Output ({0}x{0} max, {1}, stride {2})".format(case.pool_size, case.padding, case.stride)
    else:
        if previous is None or previous.filters is None or not np.array_equal(case.filters, previous.filters):
            count = case.filters.shape[3]
            shown += [("Filter {}".format(f + 1) if count > 1 else "Filter", case.filters[:, :, :, f], True)
                      for f in range(count)]
        title = "Output ({}, stride {})".format(case.padding, case.stride)
    shown.append((title, case.output, case.filters is not None))
    return shown


def shape_line(case):
    return "Output shape: {}  ({})".format(case.shape, case.formula)


def format_example(example):
    lines = ["== {}: {} ==".format(example.name, example.title)]
    lines += textwrap.wrap(example.explanation, width=100, break_on_hyphens=False)
    for i, case in enumerate(example.cases):
        if len(example.cases) > 1:
            lines += ["", "-- {} --".format(case.label)]
        for title, array, _ in groups(case, example.cases[i - 1] if i else None):
            for slice_title, grid in _slices(title, array):
                lines += ["", slice_title + ":"] + ["  " + row for row in format_grid(grid)]
        lines += ["", shape_line(case)]
    return "\n".join(lines) + "\n"


def _draw_grid(ax, title, grid, signed, size):
    """One labelled grid of numbers, coloured by value, cells as big as in every other panel of the figure."""
    if signed:
        # Diverging colours centred on zero: the sign of a weight or response is its colour.
        limit = max(float(np.abs(grid).max()), 1.0)
        cmap, vmin, vmax = plt.get_cmap("coolwarm"), -limit, limit
    else:
        # Grey levels, large values light, as the post draws images.
        vmin = min(0.0, float(grid.min()))
        cmap, vmax = plt.get_cmap("gray"), max(float(grid.max()), vmin + 1.0)
    ax.imshow(grid, cmap=cmap, vmin=vmin, vmax=vmax)
    h, w = grid.shape
    ax.hlines(np.arange(h + 1) - 0.5, -0.5, w - 0.5, color="0.4", linewidth=1)
    ax.vlines(np.arange(w + 1) - 0.5, -0.5, h - 0.5, color="0.4", linewidth=1)
    for i, row in enumerate(format_cells(grid)):
        for j, text in enumerate(row):
            r, g, b, _ = cmap((grid[i, j] - vmin) / (vmax - vmin))
            # Dark text on light cells and light text on dark ones keeps every number readable.
            ax.text(j, i, text, ha="center", va="center", fontsize=11,
                    color="black" if 0.299 * r + 0.587 * g + 0.114 * b > 0.5 else "white")
    # Smaller grids sit at the top, centred, instead of being blown up to the size of the largest.
    margin = (size - w) / 2
    ax.set_xlim(-0.5 - margin, w - 0.5 + margin)
    ax.set_ylim(size - 0.5, -0.5)
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_axis_on()
    ax.set_frame_on(False)
    ax.set_title(title, fontsize=10)


def render_png(example, path):
    """Draws an example into the PNG file at path (figure(example))."""
    fig = figure(example)
    try:
        fig.savefig(path, dpi=100)
    finally:
        plt.close(fig)


def figure(example):
    """An example as a matplotlib figure: a column per array, its depth slices stacked below each other
    (as in the post's figures), and a block of rows per case."""
    # Unlike the text, each case repeats its input and filters, so that every block reads on its own and
    # the outputs line up in the last column.
    blocks = [(case, groups(case)) for case in example.cases]
    depths = [max(array.shape[2] for _, array, _ in shown) for _, shown in blocks]
    columns = max(len(shown) for _, shown in blocks)
    size = max(max(array.shape[:2]) for _, shown in blocks for _, array, _ in shown)
    fig, axes = plt.subplots(sum(depths), columns, figsize=(2.6 * columns, 3.0 * sum(depths) + 0.6),
                             squeeze=False)
    try:
        _draw_blocks(axes, blocks, depths, size)
    except BaseException:
        plt.close(fig)
        raise
    fig.suptitle("LTFN 4 - {}: {}".format(example.name, example.title), fontsize=12)
    fig.tight_layout()
    return fig


def _draw_blocks(axes, blocks, depths, size):
    """Each case's grids into its block of rows of axes, its label on the left, the output's shape below it."""
    for ax in axes.flat:
        ax.axis("off")  # Until a grid is drawn in it.
    top = 0
    for (case, shown), depth in zip(blocks, depths):
        for column, (title, array, signed) in enumerate(shown):
            for row, (slice_title, grid) in enumerate(_slices(title, array)):
                _draw_grid(axes[top + row, column], slice_title, grid, signed, size)
        if case.label:
            axes[top, 0].set_ylabel(case.label, fontsize=11)
        output = shown[-1][1]
        out_ax = axes[top + output.shape[2] - 1, len(shown) - 1]
        out_ax.set_xlabel("{}\n{}".format(case.shape, case.formula.replace("; ", "\n")), fontsize=9)
        # Right under the output's last grid rather than at the bottom of its (possibly taller) panel.
        out_ax.xaxis.set_label_coords(0.5, 1.0 - output.shape[0] / size - 0.03)
        top += depth
