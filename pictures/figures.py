"""What the pictures share: a figure off screen (matplotlib's Agg backend), a digit drawn as MNIST
shows it, a grid of small images, and saving to PNG."""

import matplotlib
import numpy as np

matplotlib.use("Agg")
from matplotlib import pyplot as plt  # noqa: E402  (after choosing the Agg backend)

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
    fig.savefig(out_path, dpi=DPI, format="png")
    plt.close(fig)
    return out_path
