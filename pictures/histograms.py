"""LTFN 6's histograms, stored and drawn without a server.

At the end of every run (session/summaries.write_activations) a run's folder gets `activations.npz`:
a histogram (counts and bin edges, not the tensors) of each layer's output before its ReLU, of
`logits` and of `predictions`, for a fixed batch of test images, drawn as `activations.png`.
`//:report` (programs/report.py) draws several runs side by side with the same plot().
"""

import json
import os
import re

import matplotlib
import numpy as np

matplotlib.use("Agg")
from matplotlib import pyplot as plt  # noqa: E402  (after choosing the Agg backend)

ACTIVATIONS_FILE = "activations.npz"
ACTIVATIONS_PNG = "activations.png"
BINS = 60
# One panel is PANEL_WIDTH x PANEL_HEIGHT inches; the column titles take HEADER_HEIGHT more and the
# row labels ROW_LABEL_WIDTH. Binary-exact sizes, so the PNG is exactly figure_size() x DPI pixels.
PANEL_WIDTH, PANEL_HEIGHT, HEADER_HEIGHT, ROW_LABEL_WIDTH = 3.5, 1.75, 0.75, 1.25
DPI = 100


def histogram(values, bins=BINS):
    """(counts, edges, stats) of an array's finite values; stats: min, max, mean, std, n, non-finite."""
    values = np.asarray(values).ravel()
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
    arrays = {"names": np.array([name for name, _ in named_values]), "meta": np.array(json.dumps(meta))}
    for name, values in named_values:
        arrays["counts_" + name], arrays["edges_" + name], arrays["stats_" + name] = histogram(values)
    _write_atomically(path, lambda f: np.savez_compressed(f, **arrays))


def _write_atomically(path, write):
    """write(file) into a temporary file beside path, then renamed over it: a full disk or a Ctrl-C
    leaves the previous file whole, never a part of the new one."""
    temp = "{}.tmp{}".format(path, os.getpid())
    try:
        with open(temp, "wb") as f:
            write(f)
        os.replace(temp, path)
    except BaseException:
        if os.path.exists(temp):
            os.remove(temp)
        raise


class Run:
    """The stored histograms of one run: name (its folder), meta, and {layer: (counts, edges, stats)}."""

    def __init__(self, name, meta, histograms):
        self.name, self.meta, self.histograms = name, meta, histograms

    @property
    def subtitle(self):
        parts = [self.meta.get(k) for k in ("net", "init")]
        if self.meta.get("step") is not None:
            parts.append("step {}".format(self.meta["step"]))
        return " · ".join(str(p) for p in parts if p)


class RunFolderError(Exception):
    """A run folder without readable histograms; the message says which and what to do."""


def load(run_dir):
    """The Run stored in run_dir/activations.npz; RunFolderError naming the folder if it is not there."""
    path = os.path.join(run_dir, ACTIVATIONS_FILE)
    if not os.path.isdir(run_dir):
        raise RunFolderError("{} is not a folder; name run folders (runs/<net>-<init>-<time>)".format(run_dir))
    if not os.path.isfile(path):
        raise RunFolderError("{} has no {}: only finished runs have one (re-run it with //:run)".format(
            run_dir, ACTIVATIONS_FILE))
    try:
        with np.load(path, allow_pickle=False) as f:
            names = [str(n) for n in f["names"]]
            meta = json.loads(str(f["meta"]))
            histograms = {n: (f["counts_" + n], f["edges_" + n], f["stats_" + n]) for n in names}
    except (OSError, ValueError, KeyError) as e:
        raise RunFolderError("{}: cannot be read ({})".format(path, e))
    return Run(os.path.basename(os.path.normpath(run_dir)), meta, histograms)


def _row_order(name):
    """layer1_... layer2_... (by number), then logits, then predictions: the posts' order."""
    match = re.match(r"layer(\d+)_", name)
    if match:
        return (0, int(match.group(1)), name)
    return ({"logits": 1, "predictions": 2}.get(name, 3), 0, name)


def rows(runs):
    return sorted({name for run in runs for name in run.histograms}, key=_row_order)


def figure_size(num_rows, num_columns):
    """The figure's size in inches; the PNG is that × DPI pixels."""
    return (ROW_LABEL_WIDTH + PANEL_WIDTH * num_columns, HEADER_HEIGHT + PANEL_HEIGHT * num_rows)


def _fmt(x):
    return "{:.3g}".format(x)


def plot(runs, out_path):
    """Draws runs side by side (rows: layers; columns: runs) into out_path (PNG); returns its path.

    Each panel has its own x scale, because that is LTFN 6's point: the ranges differ by orders of
    magnitude between layers and initializers; each panel says its range and standard deviation.
    """
    names = rows(runs)
    width, height = figure_size(len(names), len(runs))
    fig, axes = plt.subplots(len(names), len(runs), figsize=(width, height), dpi=DPI, squeeze=False)
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
    try:
        _write_atomically(out_path, lambda f: fig.savefig(f, dpi=DPI, format="png"))
    finally:
        plt.close(fig)
    return out_path
