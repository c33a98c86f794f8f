"""What a network learned: its first layer's weights as pictures, and one test image through its layers.

* templates(): the first layer's weights (`layer1_weights`) as small images: linear's ten 28x28
  templates (LTFN 1: one per digit, red where ink counts for it, blue against), a sample of fc3's
  500 first-layer units (LTFN 3), conv4's 64 3x3 filters of `layer1` (LTFN 4-5's edge detectors).
* feature maps (conv4): one test image through `layer1` ... `layer4` and the pools, the first
  channels of each, as LTFN 4's convolutions turn an image into maps.
"""

import numpy as np

from pictures import figures

FC3_SAMPLE = 36  # fc3 has 500 first-layer units: an evenly spaced sample of them is drawn
MAP_CHANNELS = 8  # channels drawn (and stored) per feature map


def templates(weights):
    """(names, images) of a first layer's weights: dense (784, units) or conv (h, w, 1, filters)."""
    weights = np.asarray(weights)
    if weights.ndim == 4:  # conv4: 3x3x1x64
        return ["{}".format(i + 1) for i in range(weights.shape[3])], np.moveaxis(weights[:, :, 0, :], -1, 0)
    units = weights.shape[1]
    chosen = np.arange(units) if units <= FC3_SAMPLE else np.linspace(0, units - 1, FC3_SAMPLE).round().astype(int)
    names = [str(i) for i in chosen] if units == 10 else ["unit {}".format(i) for i in chosen]
    return names, np.stack([weights[:, i].reshape(28, 28) for i in chosen])


def weights_title(net, shape):
    if len(shape) == 4:
        return "{}: layer1's {} {}x{} filters".format(net, shape[3], shape[0], shape[1])
    if shape[1] == 10:
        return "{}: the ten 28x28 templates, one per digit".format(net)
    return "{}: {} of layer1's {} 28x28 templates".format(net, min(FC3_SAMPLE, shape[1]), shape[1])


def weights_size(count):
    columns = 5 if count <= 10 else 8
    return 1.3 * columns, 1.35 * -(-count // columns) + 0.9


def draw_weights(fig, names, images, title=None):
    """Each template on its own scale centred on 0: red positive, blue negative, white 0."""
    if title:
        fig.suptitle(title, fontsize=10)
    columns = 5 if len(images) <= 10 else 8
    for ax, name, image in zip(figures.grid(fig, len(images), columns), names, images):
        figures.image(ax, image, name, fontsize=7)
    fig.subplots_adjust(left=0.02, right=0.98, bottom=0.02, top=figures.top_below(fig, 0.8), hspace=0.4, wspace=0.1)


def first_channels(maps):
    """The first MAP_CHANNELS channels of one image's feature map (H, W, C)."""
    return np.asarray(maps)[..., :MAP_CHANNELS]


def feature_maps_size(layers):
    return 1.15 * (MAP_CHANNELS + 1), 1.25 * (len(layers) + 1) + 0.8


def draw_feature_maps(fig, image, layers, title=None):
    """The input, then a row per (name, (H, W, C)) map after its ReLU or pool; columns: channels."""
    if title:
        fig.suptitle(title, fontsize=10)
    axes = fig.subplots(len(layers) + 1, MAP_CHANNELS + 1, squeeze=False)
    rows = [("input", None)] + list(layers)
    for row, (name, maps) in enumerate(rows):
        axes[row][0].axis("off")
        axes[row][0].text(0.9, 0.5, name, ha="right", va="center", fontsize=9, transform=axes[row][0].transAxes)
        for channel in range(MAP_CHANNELS):
            ax = axes[row][channel + 1]
            if maps is None:
                if channel == 0:
                    figures.digit(ax, image)
                else:
                    ax.set_visible(False)
            elif channel < maps.shape[-1]:
                figures.image(ax, maps[..., channel], "channel {}".format(channel + 1) if row == 1 else None,
                              symmetric=False)
            else:
                ax.set_visible(False)
    fig.subplots_adjust(left=0.01, right=0.99, bottom=0.02, top=figures.top_below(fig, 0.7), hspace=0.25, wspace=0.08)
