"""What a matplotlib figure says, read back from its artists: titles, labels, texts, the arrays its images
show, its bars and their colours. The pictures' tests compare these with the arrays the pictures were drawn
from, so a picture that says the wrong thing fails (not only one that was not drawn)."""

import contextlib
from unittest import mock

import matplotlib.axes
import matplotlib.colors
import matplotlib.text
import numpy as np


@contextlib.contextmanager
def saved_figures(figures_module):
    """[(path, figure)] of every figure pictures/figures.save writes while inside: read after saving, they
    say what the file shows (a draw has laid out their tick labels)."""
    saved = []
    save = figures_module.save

    def recording(fig, out_path):
        saved.append((out_path, fig))
        return save(fig, out_path)

    with mock.patch.object(figures_module, "save", recording):
        yield saved


def laid_out(fig):
    """The figure after a draw (tick labels and texts are only final then); returns it."""
    fig.canvas.draw()
    return fig


def cell(ax):
    """(row, column) of a subplot in its grid."""
    spec = ax.get_subplotspec()
    return spec.rowspan.start, spec.colspan.start


def panels(fig):
    """{(row, column): axes} of the visible subplots of a figure or subfigure (its own, not its subfigures')."""
    found = {}
    for ax in fig.axes:
        if ax.get_visible() and ax.get_subplotspec() is not None and ax.get_figure(root=False) is fig:
            found[cell(ax)] = ax
    return found


def suptitle(fig):
    return fig.get_suptitle()


def texts(ax):
    """[(text, (x, y))] of the texts written on an axes (not its title or labels), in data coordinates
    unless the text was placed on the axes' own box."""
    return [(t.get_text(), tuple(t.get_position())) for t in ax.texts]


def image(ax):
    """The array an axes' (only) image shows, as drawn (after any rescaling it was given)."""
    (shown,) = ax.images
    return np.asarray(shown.get_array())


def tick_labels(ax, axis):
    """{position: label} of an axis' ticks ('x' or 'y'), as drawn."""
    ticks = ax.get_xticklabels() if axis == "x" else ax.get_yticklabels()
    return {round(t.get_position()[0 if axis == "x" else 1], 6): t.get_text() for t in ticks}


def bars(ax):
    """[(centre, height, colour as an RGBA tuple)] of a bar chart, left to right."""
    found = [(p.get_x() + p.get_width() / 2, p.get_height(), matplotlib.colors.to_rgba(p.get_facecolor()))
             for p in ax.patches]
    return sorted(found)


def highlighted(bar_list):
    """The centres of the bars whose colour is not the most common one."""
    colours = [colour for _, _, colour in bar_list]
    usual = max(set(colours), key=colours.count)
    return [centre for centre, _, colour in bar_list if colour != usual]


def stairs(ax):
    """(values, edges) of an axes' (only) histogram drawn with Axes.stairs."""
    (patch,) = ax.patches
    data = patch.get_data()
    return np.asarray(data.values), np.asarray(data.edges)



def outside(fig):
    """The texts of a figure (titles, axis labels, the tick labels drawn, texts on axes, suptitles) that lie
    wholly or partly outside it, as [(text, its box in pixels)]: a title or a label cut off at the edge."""
    fig = laid_out(fig.figure)
    renderer = fig.canvas.get_renderer()
    undrawn = set()  # tick labels matplotlib keeps for ticks outside the axes' view: not drawn
    for ax in fig.findobj(matplotlib.axes.Axes):
        for axis in (ax.xaxis, ax.yaxis):
            low, high = sorted(axis.get_view_interval())
            for tick in axis.get_major_ticks() + axis.get_minor_ticks():
                if not low - 1e-9 * abs(high - low) <= tick.get_loc() <= high + 1e-9 * abs(high - low):
                    undrawn.update((id(tick.label1), id(tick.label2)))
    found = []
    for text in fig.findobj(matplotlib.text.Text):
        if id(text) in undrawn or not text.get_visible() or not text.get_text().strip():
            continue
        if text.axes is not None and not text.axes.get_visible():
            continue
        box = text.get_window_extent(renderer)
        if box.x0 < -0.5 or box.y0 < -0.5 or box.x1 > fig.bbox.width + 0.5 or box.y1 > fig.bbox.height + 0.5:
            found.append((text.get_text(), tuple(round(v) for v in box.extents)))
    return found


def overlapping_titles(fig):
    """Pairs of visible axes' titles in a figure that are drawn over each other (a grid laid out too tightly)."""
    fig = laid_out(fig.figure)
    renderer = fig.canvas.get_renderer()
    boxes = [(ax.get_title(), ax.title.get_window_extent(renderer)) for ax in fig.findobj(matplotlib.axes.Axes)
             if ax.get_visible() and ax.get_title()]
    return [(a, b) for i, (a, box) in enumerate(boxes) for b, other in boxes[i + 1:] if box.overlaps(other)]


def pixels(ax):
    """(width, height) in pixels of an axes, as last drawn (laid_out)."""
    box = ax.get_window_extent()
    return box.width, box.height
