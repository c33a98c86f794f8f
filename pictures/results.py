"""The pictures at the end of a run, stored so that //:report can draw runs side by side.

A finished run's folder gets `pictures.npz` (its confusion matrix, its most confident mistakes, its
first layer's weights, conv4's feature maps of one test image, and the run's own answer for every test
image) and, drawn from it, `mistakes.png`, `confusion.png`, `weights.png` and (conv4) `feature_maps.png`.
plot(kind, runs, out) draws one picture of one run or of several runs side by side.
"""

import os

import numpy as np

from pictures import figures
from pictures import learned
from pictures import mistakes

PICTURES_FILE = "pictures.npz"
KINDS = ("mistakes", "confusion", "weights", "feature_maps")
TITLES = {
    "mistakes": "Mistakes, most confident first",
    "confusion": "Confusion matrix",
    "weights": "First layer's weights",
    "feature_maps": "Feature maps of test image 0",
}
FEATURE_MAP_IMAGE = 0  # the test image drawn through conv4's layers (a 7)


def png_name(kind):
    return kind + ".png"


class Pictures(figures.Stored):
    """One run's pictures as data: meta (net, init, step ...), confusion, mistakes, weights, maps."""

    def kinds(self):
        return [k for k in KINDS if k != "feature_maps" or "map_names" in self.arrays]

    def size(self, kind):
        a = self.arrays
        if kind == "mistakes":
            return mistakes.mistakes_size(len(a["mistake_index"]))
        if kind == "confusion":
            return mistakes.confusion_size()
        if kind == "weights":
            return learned.weights_size(len(a["weights"]))
        return learned.feature_maps_size(a["map_names"])

    def draw(self, kind, fig, title):
        a = self.arrays
        if kind == "mistakes":
            mistakes.draw_mistakes(fig, a["mistake_images"] / 255.0, a["mistake_index"], a["mistake_true"],
                                   a["mistake_predicted"], a["mistake_probability"], title)
        elif kind == "confusion":
            mistakes.draw_confusion(fig, a["confusion"], title)
        elif kind == "weights":
            learned.draw_weights(fig, list(a["weight_names"]), a["weights"],
                                 "{}\n{}".format(title, learned.weights_title(self.meta.get("net"), self.meta["weights_shape"])))
        else:
            layers = [(str(n), a["map_" + str(n)]) for n in a["map_names"]]
            learned.draw_feature_maps(fig, a["map_image"], layers, title)


def compute(probabilities, labels, images, weights, feature_maps, meta):
    """Pictures of a run from its test pass: probabilities (N, 10), labels (N,) as digits, the test
    images (N, 28, 28), the first layer's weights, and [(name, (H, W, C))] maps of test image
    FEATURE_MAP_IMAGE (empty for networks without convolutions)."""
    predicted = probabilities.argmax(axis=1)
    shown = mistakes.mistakes(probabilities, labels)
    names, templates = learned.templates(weights)
    arrays = {
        "predictions": predicted.astype(np.uint8),
        "confusion": mistakes.confusion_matrix(labels, predicted),
        "mistake_index": shown,
        "mistake_true": labels[shown],
        "mistake_predicted": predicted[shown],
        "mistake_probability": probabilities[shown, predicted[shown]].astype(np.float32),
        "mistake_images": np.round(images[shown].reshape(-1, 28, 28) * 255).astype(np.uint8),
        "weight_names": np.array(names),
        "weights": templates.astype(np.float32),
    }
    if feature_maps:
        arrays["map_image"] = images[FEATURE_MAP_IMAGE].reshape(28, 28)
        arrays["map_names"] = np.array([name for name, _ in feature_maps])
        for name, maps in feature_maps:
            arrays["map_" + name] = learned.first_channels(maps).astype(np.float32)
    meta = dict(meta, weights_shape=list(np.shape(weights)), test_images=len(labels))
    return Pictures(None, meta, arrays)


def save(run_dir, pictures):
    """Writes run_dir/pictures.npz and every PNG; returns {kind: PNG path}."""
    figures.save_arrays(os.path.join(run_dir, PICTURES_FILE), pictures.meta, pictures.arrays)
    pictures.name = os.path.basename(os.path.normpath(run_dir))
    return {kind: plot(kind, [pictures], os.path.join(run_dir, png_name(kind))) for kind in pictures.kinds()}


def write(run_dir, probabilities, labels, images, weights, feature_maps, meta):
    """compute() and save(): a finished run's pictures from its test pass's probabilities, the labels
    (digits), the test images and what the network learned (session/summaries.learned). Returns
    ({kind: PNG path}, the `most confused: ...` line)."""
    pictures = compute(probabilities, labels, images, weights, feature_maps, meta)
    return save(run_dir, pictures), mistakes.most_confused_line(pictures.arrays["confusion"])


def load(run_dir):
    """The Pictures stored in run_dir; figures.RunFolderError naming the folder if they are not there."""
    run = figures.load_arrays(run_dir, PICTURES_FILE, "runs finished before the end-of-run pictures were "
                                                      "added have none (re-run it with //:run)")
    return Pictures(run.name, run.meta, run.arrays)


def plot(kind, runs, out_path):
    """Picture `kind` of each run side by side (one panel per run), as a PNG; returns its path."""
    return figures.save(figure(kind, runs), out_path)


def figure(kind, runs):
    """The matplotlib figure plot() saves: one subfigure per run, in the order given."""
    sizes = [run.size(kind) for run in runs]
    fig = figures.new(sum(w for w, _ in sizes), max(h for _, h in sizes) + (0.3 if len(runs) > 1 else 0))
    panels = fig.subfigures(1, len(runs), wspace=0.02, width_ratios=[w for w, _ in sizes], squeeze=False)[0]
    for panel, run in zip(panels, runs):
        title = TITLES[kind] if len(runs) == 1 else "{}\n{}".format(run.name, run.subtitle)
        run.draw(kind, panel, title)
    return fig
