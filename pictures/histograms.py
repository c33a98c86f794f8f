"""LTFN 6's histograms, stored and drawn without a server.

At the end of every run (run.py: session/summaries.activations' arrays, through write() here) a run's
folder gets `activations.npz`: a histogram (counts and bin edges, not the tensors) of each layer's output
before its ReLU, of `logits` and of `predictions`, for a fixed batch of test images, drawn as
`activations.png`.
`//:report` (programs/report.py) draws several runs side by side with the same plot().
"""

import os
import re

import numpy as np

from pictures import figures

ACTIVATIONS_FILE = "activations.npz"
ACTIVATIONS_PNG = "activations.png"
BINS = 60
# One panel is PANEL_WIDTH x PANEL_HEIGHT inches; the column titles take HEADER_HEIGHT more and the
# row labels ROW_LABEL_WIDTH. Binary-exact sizes, so the PNG is exactly figure_size() x DPI pixels.
PANEL_WIDTH, PANEL_HEIGHT, HEADER_HEIGHT, ROW_LABEL_WIDTH = 3.5, 1.75, 0.75, 1.25


def histogram(values, bins=BINS):
    """(counts, edges, stats) of an array's finite values; stats: min, max, mean, std, n, non-finite."""
    # float64: a float32 layer whose values lie a few ulps apart (weights x 0.001) has no room for the bins'
    # edges in float32, and numpy refuses it ("Too many bins for data range").
    values = np.asarray(values, np.float64).ravel()
    finite = np.isfinite(values)
    nonfinite = int(values.size - np.count_nonzero(finite))
    if nonfinite:
        values = values[finite]
    if values.size == 0:
        return np.zeros(bins, np.int64), np.linspace(0.0, 1.0, bins + 1), np.array(
            [np.nan, np.nan, np.nan, np.nan, 0, nonfinite], np.float64)
    low, high = float(values.min()), float(values.max())
    counts, edges = np.histogram(values, bins=bins, range=(low, high) if high > low else None)
    stats = [low, high, values.mean(dtype=np.float64), values.std(dtype=np.float64), values.size, nonfinite]
    return counts.astype(np.int64), edges.astype(np.float64), np.array(stats, np.float64)


def save(path, named_values, meta):
    """Writes the histograms of [(name, array), ...] and a dict of run facts (net, init, step ...)."""
    arrays = {"names": np.array([name for name, _ in named_values])}
    for name, values in named_values:
        arrays["counts_" + name], arrays["edges_" + name], arrays["stats_" + name] = histogram(values)
    figures.save_arrays(path, meta, arrays)


def write(run_dir, named_values, meta):
    """A run's LTFN 6 histograms: [(tag, array)] (session/summaries.activations) stored in
    run_dir/activations.npz and drawn to run_dir/activations.png; returns the PNG's path."""
    save(os.path.join(run_dir, ACTIVATIONS_FILE), named_values, meta)
    return plot([load(run_dir)], os.path.join(run_dir, ACTIVATIONS_PNG))


def load(run_dir):
    """The stored histograms of run_dir (activations.npz), as a figures.Stored whose .histograms is
    {layer: (counts, edges, stats)}; figures.RunFolderError naming the folder if they are not there."""
    run = figures.load_arrays(run_dir, ACTIVATIONS_FILE, "only finished runs have one (re-run it with //:run)")
    try:
        run.histograms = {n: (run.arrays["counts_" + n], run.arrays["edges_" + n], run.arrays["stats_" + n])
                          for n in (str(n) for n in run.arrays["names"])}
    except KeyError as e:
        raise figures.RunFolderError("{}: cannot be read (no array {})".format(run_dir, e))
    return run


def _row_order(name):
    """layer1_... layer2_... (by number), then logits, then predictions: the posts' order."""
    match = re.match(r"layer(\d+)_", name)
    if match:
        return (0, int(match.group(1)), name)
    return ({"logits": 1, "predictions": 2}.get(name, 3), 0, name)


def rows(runs):
    return sorted({name for run in runs for name in run.histograms}, key=_row_order)


def figure_size(num_rows, num_columns):
    """The figure's size in inches; the PNG is that × figures.DPI pixels."""
    return (ROW_LABEL_WIDTH + PANEL_WIDTH * num_columns, HEADER_HEIGHT + PANEL_HEIGHT * num_rows)


def _fmt(x):
    return "{:.3g}".format(x)


def plot(runs, out_path):
    """Draws runs side by side (rows: layers; columns: runs) into out_path (PNG); returns its path.

    Each panel has its own x scale, because that is LTFN 6's point: the ranges differ by orders of
    magnitude between layers and initializers; each panel says its range and standard deviation.
    """
    return figures.save(figure(runs), out_path)


def figure(runs):
    """The matplotlib figure plot() saves: a row per layer (rows(runs)), a column per run."""
    names = rows(runs)
    width, height = figure_size(len(names), len(runs))
    fig = figures.new(width, height)
    axes = fig.subplots(len(names), len(runs), squeeze=False)
    fig.subplots_adjust(left=ROW_LABEL_WIDTH / width, right=1 - 0.15 / width, top=1 - HEADER_HEIGHT / height,
                        bottom=0.35 / height, hspace=0.75, wspace=0.12)
    for column, run in enumerate(runs):
        axes[0][column].set_title("{}\n{}".format(run.name, run.subtitle), fontsize=9, pad=16)
        for row, name in enumerate(names):
            ax = axes[row][column]
            ax.tick_params(labelsize=7, left=False, labelleft=False)
            if column == 0:
                ax.set_ylabel(name, fontsize=9, rotation=0, ha="right", va="center")
            if name not in run.histograms:
                ax.set_xticks([])
                ax.text(0.5, 0.5, "(not in this net)", ha="center", va="center", fontsize=8,
                        color="grey", transform=ax.transAxes)
                continue
            counts, edges, stats = run.histograms[name]
            ax.stairs(counts, edges, fill=True, color="tab:orange", alpha=0.85)
            low, high, _, std, _, nonfinite = stats
            note = "[{}, {}]  std {}".format(_fmt(low), _fmt(high), _fmt(std))
            if nonfinite:
                note += "  ({:.0f} non-finite)".format(nonfinite)
            ax.text(0.0, 1.04, note, fontsize=7, transform=ax.transAxes)
            ax.ticklabel_format(axis="x", style="sci", scilimits=(-3, 4))
            ax.xaxis.get_offset_text().set_fontsize(7)
    return fig
