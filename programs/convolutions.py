"""The LTFN 4 convolution lab: `bazel run //:convolutions -- --example=stride --png=figures`.

Prints each example of "Intro to Convolutional Neural Networks" as grids of numbers (input, filters,
output, and how TensorFlow arrives at the output shape); --png also draws them, one PNG per example.
"""

import os
import sys
import textwrap

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from absl import flags

from graphs import posts
from machine import quiet
from programs import cli

FLAGS = flags.FLAGS

flags.DEFINE_enum("example", "all", ["all"] + list(posts.CONVOLUTION_EXAMPLES), "Which LTFN 4 example to show.")
flags.DEFINE_integer("seed", 0, "Seed for the random inputs and filters; the same seed shows the same numbers.",
                     lower_bound=0)
flags.DEFINE_string("png", "", "Also draw each example into <example>.png in this folder (created if missing).")

if __name__ == "__main__":
    cli.parse_command_line()  # before TensorFlow is imported (graphs/convolutions.py): --help answers at once

quiet.import_tensorflow()  # without its start-up notes about a missing GPU (machine/quiet.py)
import matplotlib  # noqa: E402

matplotlib.use("Agg")  # Files only: no display is needed, or wanted, on a build machine.

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from graphs import convolutions  # noqa: E402


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
    """Draws an example into the PNG file at path: a column per array, its depth slices stacked below each
    other (as in the post's figures), and a block of rows per case."""
    # Unlike the text, each case repeats its input and filters, so that every block reads on its own and
    # the outputs line up in the last column.
    blocks = [(case, groups(case)) for case in example.cases]
    depths = [max(array.shape[2] for _, array, _ in shown) for _, shown in blocks]
    columns = max(len(shown) for _, shown in blocks)
    size = max(max(array.shape[:2]) for _, shown in blocks for _, array, _ in shown)
    fig, axes = plt.subplots(sum(depths), columns, figsize=(2.6 * columns, 3.0 * sum(depths) + 0.6),
                             squeeze=False)
    try:
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
        fig.suptitle("LTFN 4 - {}: {}".format(example.name, example.title), fontsize=12)
        fig.tight_layout()
        fig.savefig(path, dpi=100)
    finally:
        plt.close(fig)


def run(example="all", seed=0, png=""):
    """Prints the chosen examples (and draws them when png names a folder); returns the exit code."""
    try:
        png_dir = cli.make_writable_dir(cli.user_path(png), "png") if png else None
        names = convolutions.EXAMPLE_NAMES if example == "all" else (example,)
        for ex in convolutions.build_examples(seed, names):
            print(format_example(ex))
            if png_dir:
                path = os.path.join(png_dir, ex.name + ".png")
                try:
                    render_png(ex, path)
                except OSError as e:
                    raise cli.UsageError("cannot write {} ({})".format(path, e.strerror or e))
                print("Wrote {}\n".format(path))
    except cli.UsageError as e:
        print("error: {}".format(e), file=sys.stderr)
        return 1
    return 0


def main(argv):
    del argv  # cli.run_app has refused any extra argument
    return run(FLAGS.example, FLAGS.seed, FLAGS.png)


if __name__ == "__main__":
    cli.run_app(main)
