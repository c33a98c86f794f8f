"""A user's own picture of a digit, prepared as MNIST's digits were, so a trained network can read it.

MNIST's distribution page says how its digits were made: each was size-normalized to fit a 20x20 box
keeping its aspect ratio (anti-aliased, hence grey levels), then centred in a 28x28 field by its centre
of mass; the ink is light on a dark background. prepare() does the same to a picture of any size and kind
Pillow reads: greyscale, upright as its EXIF says; inverted when the ink is darker than the background;
the digit's bounding box scaled to fit 20x20 keeping its aspect ratio, its brightest pixel full white (as
every MNIST digit's); placed in 28x28 so that its centre of mass sits at the centre. It returns float32
pixels in [0, 1], as data/loader.py gives MNIST's.
"""

import warnings

import numpy as np
from PIL import Image
from PIL import ImageFilter
from PIL import ImageOps
from PIL import UnidentifiedImageError

SIZE = 28  # MNIST's field
BOX = 20  # the box each digit was scaled to fit
# Ink is what stands out from the background, averaged over 3x3 pixels, by more than this fraction of the
# grey range beyond the background (taken as at least half the full range); less than that anywhere and
# the picture is blank (JPEG noise, camera noise and paper texture stay below it).
MIN_CONTRAST = 0.15


class DigitImageError(Exception):
    """A picture that cannot be read as a digit; the message names it and says what to do."""


def _greys(image):
    """An upright picture's greys in [0, 1]; 16-bit, 32-bit and float pictures by their own range."""
    if image.mode.startswith("I;16"):
        return np.asarray(image, np.float64) / 65535.0
    if image.mode in ("I", "F"):  # 32-bit integers (16-bit PNG, TIFF) or floats: 0-1, 0-255 or 0-65535
        grey = np.asarray(image, np.float64)
        top = grey.max() if grey.size else 0.0
        return np.clip(grey / (1.0 if image.mode == "F" and top <= 1.0 else 255.0 if top <= 255 else 65535.0),
                       0.0, 1.0)
    if image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info:
        image = image.convert("RGBA")
        # Transparent parts count as white paper; as black paper if the picture is then one flat colour
        # (white ink drawn on a transparent background).
        for paper in ((255, 255, 255, 255), (0, 0, 0, 255)):
            grey = np.asarray(Image.alpha_composite(Image.new("RGBA", image.size, paper), image).convert("L"),
                              np.float64) / 255.0
            if grey.size and grey.max() - grey.min() > MIN_CONTRAST:
                break
        return grey
    return np.asarray(image.convert("L"), np.float64) / 255.0


def read_greyscale(path):
    """The picture at path as float greys in [0, 1], turned as its EXIF orientation says it is seen
    (transparent parts count as paper)."""
    try:
        # Pillow's warnings are two lines each on stderr: a picture between MAX_IMAGE_PIXELS and twice it
        # (over that: DecompressionBombError, below) and corrupt EXIF data are read quietly.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with Image.open(path) as image:
                image.load()
                grey = _greys(ImageOps.exif_transpose(image))
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


def _smooth(image):
    """image in [0, 1] averaged over 3x3 pixels: a speck of noise no longer stands out, a stroke does."""
    return np.asarray(Image.fromarray(np.uint8(np.round(image * 255))).filter(ImageFilter.BoxBlur(1)),
                      np.float64) / 255.0


def ink(grey):
    """Light-on-dark ink in [0, 1]: inverted when the ink is darker than the background (it stands out
    further below the background than above it, 3x3-averaged), the background taken away."""
    background = _background(grey)
    smooth = _smooth(grey)
    if background - smooth.min() > smooth.max() - background:
        grey, background = 1.0 - grey, 1.0 - background
    # As a fraction of the range beyond the background, but of at least half the grey range: on light
    # paper, a light ink's range is too short to tell ink from noise.
    return np.clip(grey - background, 0.0, None) / max(1.0 - background, 0.5)


def centre_of_mass(image):
    """(row, column) of an image's intensity-weighted centre, in pixel indices."""
    total = image.sum()
    rows, columns = np.indices(image.shape)
    return float((rows * image).sum() / total), float((columns * image).sum() / total)


def normalize(ink_image, name="the image"):
    """Light-on-dark ink of any size -> MNIST's 28x28: bounding box to fit 20x20, centre of mass centred."""
    mask = _smooth(ink_image) > MIN_CONTRAST  # averaged: specks of noise are not ink
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
    digit /= digit.max()  # its strongest ink full white, as in every MNIST digit (faint or thin strokes too)
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
