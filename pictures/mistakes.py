"""What a network gets wrong on the test set: its confusion matrix and its most confident mistakes.

Computed from the run's one logits-only test pass (LTFN 2): the probabilities of every test image
(softmax of its logits) and the labels, which are compared here, never fed to the graph.
"""

import numpy as np

from pictures import figures

NUM_CLASSES = 10
SHOWN = 36  # mistakes drawn (and stored), the most confident first
COLUMNS = 6


def confusion_matrix(true, predicted):
    """matrix[t, p] = how many test images of digit t the network called p."""
    matrix = np.zeros((NUM_CLASSES, NUM_CLASSES), np.int64)
    np.add.at(matrix, (np.asarray(true), np.asarray(predicted)), 1)
    return matrix


def most_confused(matrix, count=3):
    """The `count` largest off-diagonal cells as (true, predicted, images), largest first."""
    off = [(int(matrix[t, p]), t, p) for t in range(NUM_CLASSES) for p in range(NUM_CLASSES)
           if t != p and matrix[t, p] > 0]
    off.sort(key=lambda cell: (-cell[0], cell[1], cell[2]))
    return [(t, p, n) for n, t, p in off[:count]]


def most_confused_line(matrix, count=3):
    """`most confused: 4→9 (23), 7→2 (17), 5→3 (15)` (true→predicted (images))."""
    cells = most_confused(matrix, count)
    if not cells:
        return "most confused: nothing (no mistakes)"
    return "most confused: " + ", ".join("{}→{} ({})".format(t, p, n) for t, p, n in cells)


def mistakes(probabilities, true, shown=SHOWN):
    """Indices of misclassified images, the most confident first (by the wrong answer's probability)."""
    predicted = probabilities.argmax(axis=1)
    wrong = np.flatnonzero(predicted != true)
    confidence = probabilities[wrong, predicted[wrong]]
    # A stable sort on -confidence: ties keep the test set's order, so the picture is deterministic.
    return wrong[np.argsort(-confidence, kind="stable")][:shown]


def mistakes_size(count):
    rows = max(1, -(-count // COLUMNS))
    return 1.25 * COLUMNS, 1.45 * rows + 0.8


def draw_mistakes(fig, images, index, true, predicted, probability, title=None):
    """A grid of misclassified test images, each titled `#index true T → P (probability)`."""
    if title:
        fig.suptitle(title, fontsize=10)
    if len(index) == 0:
        fig.text(0.5, 0.5, "no mistakes", ha="center", va="center")
        return
    axes = figures.grid(fig, len(index), COLUMNS)
    for ax, image, i, t, p, q in zip(axes, images, index, true, predicted, probability):
        figures.digit(ax, image, "#{}: {}→{} ({:.0%})".format(i, t, p, q), fontsize=7, colour="firebrick")
    fig.subplots_adjust(left=0.02, right=0.98, bottom=0.02, top=figures.top_below(fig, 0.75), hspace=0.45, wspace=0.1)


def confusion_size():
    return 6.0, 5.6


def draw_confusion(fig, matrix, title=None):
    """The 10x10 matrix with its counts: rows the true digit, columns the predicted one."""
    ax = fig.subplots()
    total, correct = int(matrix.sum()), int(np.trace(matrix))
    # Off the diagonal is where the story is: the colour scale is set by the largest confusion.
    off = matrix - np.diag(np.diag(matrix))
    darkest = max(1, int(off.max()))
    ax.imshow(off, cmap="Reds", vmin=0, vmax=darkest)
    for t in range(NUM_CLASSES):
        for p in range(NUM_CLASSES):
            n = int(matrix[t, p])
            if t == p:
                ax.text(p, t, str(n), ha="center", va="center", fontsize=7, color="navy", fontweight="bold")
            elif n:
                ax.text(p, t, str(n), ha="center", va="center", fontsize=7,
                        color="white" if n > 0.6 * darkest else "black")
    ax.set_xticks(range(NUM_CLASSES))
    ax.set_yticks(range(NUM_CLASSES))
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title("{}{} of {} right ({:.2f} %)".format(title + "\n" if title else "", correct, total,
                                                       100.0 * correct / total if total else 0.0), fontsize=9)
