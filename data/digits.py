"""A user's own picture of a digit, prepared as MNIST's digits were, so a trained network can read it.

MNIST's distribution page says how its digits were made: each was size-normalized to fit a 20x20 box
keeping its aspect ratio (anti-aliased, hence grey levels), then centred in a 28x28 field by its centre
of mass; the ink is light on a dark background. prepare() does the same to a PNG or JPEG of any size:
greyscale; inverted when the background is light; the digit's bounding box scaled to fit 20x20 keeping
its aspect ratio; placed in 28x28 so that its centre of mass sits at the centre. It returns float32
pixels in [0, 1], as data/loader.py gives MNIST's.
"""

import numpy as np
from PIL import Image
from PIL import UnidentifiedImageError

SIZE = 28  # MNIST's field
BOX = 20  # the box each digit was scaled to fit
# Ink is what stands out from the background by more than this fraction of the full grey range; less
# than that anywhere and the picture is blank (JPEG noise and paper texture stay below it).
MIN_CONTRAST = 0.15


class DigitImageError(Exception):
    """A picture that cannot be read as a digit; the message names it and says what to do."""


def read_greyscale(path):
    """The picture at path as float greys in [0, 1] (transparent parts count as white paper)."""
    try:
        with Image.open(path) as image:
            image.load()
            if image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info:
                paper = Image.new("RGBA", image.size, (255, 255, 255, 255))
                image = Image.alpha_composite(paper, image.convert("RGBA"))
            grey = np.asarray(image.convert("L"), np.float64) / 255.0
    except FileNotFoundError:
        raise DigitImageError("{}: no such file; give the path of a PNG or JPEG of a digit".format(path))
    except IsADirectoryError:
        raise DigitImageError("{} is a folder; give the path of a PNG or JPEG of a digit".format(path))
    except UnidentifiedImageError:
        raise DigitImageError("{} is not an image Pillow can read; give a PNG or JPEG of a digit".format(path))
    except (OSError, ValueError, Image.DecompressionBombError) as e:
        raise DigitImageError("{} cannot be read ({}); give a readable PNG or JPEG of a digit".format(
            path, getattr(e, "strerror", None) or e))
    return grey


def _background(grey):
    """The paper's grey level: the median of the picture's border."""
    border = np.concatenate([grey[0], grey[-1], grey[:, 0], grey[:, -1]])
    return float(np.median(border))


def ink(grey):
    """Light-on-dark ink in [0, 1]: inverted when the background is light, the background taken away."""
    background = _background(grey)
    if background > 0.5:
        grey, background = 1.0 - grey, 1.0 - background
    return np.clip(grey - background, 0.0, None) / max(1.0 - background, 1e-6)


def centre_of_mass(image):
    """(row, column) of an image's intensity-weighted centre, in pixel indices."""
    total = image.sum()
    rows, columns = np.indices(image.shape)
    return float((rows * image).sum() / total), float((columns * image).sum() / total)


def normalize(ink_image, name="the image"):
    """Light-on-dark ink of any size -> MNIST's 28x28: bounding box to fit 20x20, centre of mass centred."""
    mask = ink_image > MIN_CONTRAST
    if not mask.any():
        raise DigitImageError("{} is blank: no digit stands out from its background; give a picture of "
                              "one digit, dark on light or light on dark".format(name))
    rows, columns = np.nonzero(mask)
    box = ink_image[rows.min():rows.max() + 1, columns.min():columns.max() + 1]
    scale = BOX / max(box.shape)
    height, width = (max(1, round(d * scale)) for d in box.shape)
    # Resampled with an anti-aliasing filter, as MNIST's were: strokes get grey edges.
    resized = Image.fromarray(np.uint8(np.round(box * 255))).resize((width, height), Image.Resampling.LANCZOS)
    digit = np.asarray(resized, np.float64) / 255.0
    if digit.sum() == 0:
        raise DigitImageError("{} is blank once scaled to 20x20 (only specks of ink); give a picture of "
                              "one digit".format(name))
    field = np.zeros((SIZE, SIZE))
    # MNIST's digits have their centre of mass at pixel (14, 14) (the test set's mean: 13.99, 14.01).
    centre = SIZE / 2.0
    com_row, com_column = centre_of_mass(digit)
    top, left = int(round(centre - com_row)), int(round(centre - com_column))
    # Paste, cutting off what would fall outside the field (only for a lopsided digit).
    r0, c0 = max(top, 0), max(left, 0)
    r1, c1 = min(top + height, SIZE), min(left + width, SIZE)
    field[r0:r1, c0:c1] = digit[r0 - top:r1 - top, c0 - left:c1 - left]
    return field.astype(np.float32)


def prepare(path):
    """The picture at path as MNIST would have it: 28x28 float32 in [0, 1], light digit on black."""
    return normalize(ink(read_greyscale(path)), path)
