"""MNIST as LTFN 1 uses it: TensorFlow's old `input_data.read_data_sets(..., one_hot=True)`.

Float32 pixels in [0, 1], one-hot labels, and the first 5,000 training images split off for
validation (55,000 left to train on). The copy embedded in data/mnist/ is verified against the
SHA-256 sums of its uncompressed bytes; a --data_dir of the user's is read as it is.
"""

import collections
import gzip
import hashlib
import os

import numpy as np

from data import idx

EMBEDDED_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "mnist")
RAW_SUMS = "SHA256SUMS.raw"
VALIDATION_SIZE = 5000
NUM_CLASSES = 10
IMAGE_SIZE = (28, 28)  # rows, cols: what the posts' networks take (784 inputs; conv4's 7x7 after two pools)

FILES = {
    "train_images": "train-images-idx3-ubyte",
    "train_labels": "train-labels-idx1-ubyte",
    "test_images": "t10k-images-idx3-ubyte",
    "test_labels": "t10k-labels-idx1-ubyte",
}

DataSet = collections.namedtuple("DataSet", ["images", "labels"])
Datasets = collections.namedtuple("Datasets", ["train", "validation", "test"])


class ChecksumError(idx.IdxError):
    """The embedded dataset does not match its recorded checksums."""


def find_file(data_dir, name):
    """The path of `name` in data_dir, gzipped (`name.gz`) or not; IdxError naming both if neither."""
    candidates = [os.path.join(data_dir, name + ".gz"), os.path.join(data_dir, name)]
    for path in candidates:
        if os.path.isfile(path):
            return path
    raise idx.IdxError("MNIST file not found: looked for {} and {}; point --data_dir at a folder "
                       "holding MNIST's four IDX files".format(*candidates))


def raw_sha256(path):
    """SHA-256 of the uncompressed bytes: other copies of MNIST compress differently."""
    digest = hashlib.sha256()
    opener = gzip.open if path.endswith(".gz") else open
    try:
        with opener(path, "rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                digest.update(chunk)
    except (OSError, EOFError) as e:
        raise ChecksumError("{}: cannot be read to verify it ({})".format(path, e)) from e
    return digest.hexdigest()


def verify_checksums(data_dir, sums_file=RAW_SUMS, names=None):
    """Checks every file listed in data_dir/sums_file (or only `names`); ChecksumError on the first mismatch."""
    sums_path = os.path.join(data_dir, sums_file)
    with open(sums_path) as f:
        expected = dict(reversed(line.split()) for line in f if line.strip())
    if names is not None:
        expected = {name: expected[name] for name in names}
    for name, want in sorted(expected.items()):
        path = find_file(data_dir, name)
        got = raw_sha256(path)
        if got != want:
            raise ChecksumError(
                "{}: SHA-256 of its uncompressed bytes is {}, expected {} ({}); the embedded "
                "dataset is damaged: restore data/mnist/ from git".format(path, got, want, sums_file))


def _normalized(images):
    # read_data_sets scaled uint8 pixels to float32 in [0, 1] and flattened them to 784 values.
    return images.reshape(len(images), -1).astype(np.float32) / np.float32(255.0)


def _one_hot(labels):
    return np.eye(NUM_CLASSES, dtype=np.float32)[labels]


def _read_pair(data_dir, images_key, labels_key):
    images_path = find_file(data_dir, FILES[images_key])
    labels_path = find_file(data_dir, FILES[labels_key])
    images = idx.read_images(images_path)
    labels = idx.read_labels(labels_path)
    idx.check_pair(images, labels, images_path, labels_path)
    if images.shape[1:] != IMAGE_SIZE:
        raise idx.IdxError("{}: its images are {}x{} pixels; the posts' networks take MNIST's {}x{} (784 inputs): "
                           "resize or pad them to {}x{} (MNIST itself centres each digit's 20x20 box in "
                           "28x28)".format(images_path, *images.shape[1:], *IMAGE_SIZE, *IMAGE_SIZE))
    if not len(images):
        raise idx.IdxError("{}: holds no images; point --data_dir at a folder with some".format(images_path))
    return DataSet(_normalized(images), _one_hot(labels))


def _checked_dir(data_dir, names=None):
    """data_dir, or the embedded copy verified (only `names` of it, if given)."""
    if data_dir is None:
        verify_checksums(EMBEDDED_DIR, names=names)
        return EMBEDDED_DIR
    if not os.path.isdir(data_dir):
        raise idx.IdxError("--data_dir {} is not a folder; point it at a folder holding MNIST's "
                           "four IDX files".format(data_dir))
    if not os.access(data_dir, os.R_OK | os.X_OK):  # else its files would be reported as not found
        raise idx.IdxError("--data_dir {} cannot be read (permission denied); give yourself read access to "
                           "it".format(data_dir))
    return data_dir


def load_test(data_dir=None):
    """Only the 10,000 test images and labels (what //:predict --test_index reads), checked as load_mnist's."""
    data_dir = _checked_dir(data_dir, names=[FILES["test_images"], FILES["test_labels"]])
    return _read_pair(data_dir, "test_images", "test_labels")


def load_mnist(data_dir=None, validation_size=VALIDATION_SIZE):
    """Returns Datasets(train, validation, test) from data_dir, or from the verified embedded copy."""
    data_dir = _checked_dir(data_dir)
    train = _read_pair(data_dir, "train_images", "train_labels")
    test = _read_pair(data_dir, "test_images", "test_labels")
    if not 0 <= validation_size < len(train.images):
        raise idx.IdxError("{}: holds {} training images, too few to split off {} for validation and train on the "
                           "rest; pass a --validation_size below {} (0 trains on them all)".format(
                               data_dir, len(train.images), validation_size, len(train.images)))
    validation = DataSet(train.images[:validation_size], train.labels[:validation_size])
    train = DataSet(train.images[validation_size:], train.labels[validation_size:])
    return Datasets(train, validation, test)
