"""What the pictures share: a figure off screen (matplotlib's Agg backend), a digit drawn as MNIST
shows it, a grid of small images, saving to PNG, and a run's stored arrays (`.npz`) read back.
Every file is written atomically (machine/files.py): a full disk or a Ctrl-C leaves the previous file whole."""

import json
import os
import zipfile
import zlib

import matplotlib
import numpy as np

matplotlib.use("Agg")
from matplotlib import pyplot as plt  # noqa: E402  (after choosing the Agg backend)

from machine import files  # noqa: E402

DPI = 100


def new(width, height):
    """A figure of width x height inches (the PNG is that x DPI pixels)."""
    return plt.figure(figsize=(width, height), dpi=DPI)


def digit(ax, image, title=None, fontsize=8, colour="black"):
    """A 28x28 image in [0, 1] drawn as MNIST's are seen: white ink on black, no axes."""
    ax.imshow(np.asarray(image).reshape(28, 28), cmap="gray", vmin=0.0, vmax=1.0, interpolation="nearest")
    _bare(ax)
    if title:
        ax.set_title(title, fontsize=fontsize, color=colour)


def image(ax, values, title=None, fontsize=7, symmetric=True):
    """Any 2-D array: weights on a diverging scale centred on 0 (red +, blue -), maps on grey."""
    values = np.asarray(values, np.float64)
    if symmetric:
        limit = float(np.abs(values).max()) or 1.0
        ax.imshow(values, cmap="bwr", vmin=-limit, vmax=limit, interpolation="nearest")
    else:
        ax.imshow(values, cmap="gray", vmin=0.0, vmax=float(values.max()) or 1.0, interpolation="nearest")
    _bare(ax)
    if title:
        ax.set_title(title, fontsize=fontsize)


def grid(fig, count, columns):
    """count axes in rows of `columns` (spare cells hidden), as a flat list."""
    rows = -(-count // columns)
    axes = fig.subplots(rows, columns, squeeze=False).ravel()
    for ax in axes[count:]:
        ax.set_visible(False)
    return list(axes[:count])


def top_below(fig, inches):
    """The `top` of subplots_adjust that leaves `inches` above the axes for titles."""
    return 1.0 - inches * fig.figure.dpi / fig.bbox.height


def _bare(ax):
    ax.set_xticks([])
    ax.set_yticks([])


def save(fig, out_path):
    """Writes fig as a PNG and closes it; returns out_path."""
    try:
        files.write_atomically(out_path, lambda f: fig.savefig(f, dpi=DPI, format="png"))
    finally:
        plt.close(fig)
    return out_path


class RunFolderError(Exception):
    """A run folder without the stored arrays asked for; the message says which and what to do."""


class Stored:
    """What a finished run stored in one `.npz`: name (its folder), meta (net, init, step ...), arrays."""

    def __init__(self, name, meta, arrays):
        self.name, self.meta, self.arrays = name, meta, arrays

    @property
    def subtitle(self):
        parts = [self.meta.get(k) for k in ("net", "init")]
        if self.meta.get("step") is not None:
            parts.append("step {}".format(self.meta["step"]))
        return " · ".join(str(p) for p in parts if p)


def save_arrays(path, meta, arrays):
    """Writes {name: array} and meta (a dict, kept as JSON) to path, compressed."""
    files.write_atomically(path, lambda f: np.savez_compressed(f, meta=np.array(json.dumps(meta)), **arrays))


def load_arrays(run_dir, file_name, missing):
    """The Stored in run_dir/file_name; RunFolderError naming the folder, ending with `missing` (what to
    do) when the file is not there."""
    path = os.path.join(run_dir, file_name)
    if not os.path.isdir(run_dir):
        raise RunFolderError("{} is not a folder; name run folders (runs/<net>-<init>-<time>)".format(run_dir))
    if not os.path.isfile(path):
        raise RunFolderError("{} has no {}: {}".format(run_dir, file_name, missing))
    try:
        # Opened here: np.load leaves its own file open when the file is not a zip.
        with open(path, "rb") as opened, np.load(opened, allow_pickle=False) as f:
            arrays = {k: f[k] for k in f.files if k != "meta"}
            meta = json.loads(str(f["meta"]))
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile, zlib.error) as e:  # cut or garbled
        raise RunFolderError("{}: cannot be read ({})".format(path, e))
    return Stored(os.path.basename(os.path.normpath(run_dir)), meta, arrays)
