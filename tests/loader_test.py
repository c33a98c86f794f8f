"""The MNIST loader (LTFN 1's dataset): shapes, dtypes, ranges, label counts, checksums."""

import gzip
import hashlib
import os
import shutil
from unittest import mock

import numpy as np
import tensorflow as tf

from data import idx
from data import loader
from tests import testing

# Known per-digit counts of MNIST (data/mnist/README.md).
TRAIN_COUNTS = [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
TEST_COUNTS = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]


class EmbeddedMnistTest(tf.test.TestCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.data = loader.load_mnist()

    def test_split_shapes_like_input_data(self):
        self.assertEqual(self.data.train.images.shape, (55000, 784))
        self.assertEqual(self.data.validation.images.shape, (5000, 784))
        self.assertEqual(self.data.test.images.shape, (10000, 784))
        self.assertEqual(self.data.train.labels.shape, (55000, 10))
        self.assertEqual(self.data.test.labels.shape, (10000, 10))

    def test_float32_pixels_in_unit_range(self):
        for part in self.data:
            self.assertEqual(part.images.dtype, np.float32)
            self.assertGreaterEqual(part.images.min(), 0.0)
            self.assertLessEqual(part.images.max(), 1.0)
        # Real images use the whole range, not just a corner of it.
        self.assertEqual(self.data.train.images.max(), 1.0)

    def test_labels_are_one_hot(self):
        for part in self.data:
            self.assertEqual(part.labels.dtype, np.float32)
            self.assertAllEqual(part.labels.sum(axis=1), np.ones(len(part.labels)))
            self.assertAllEqual(np.unique(part.labels), [0.0, 1.0])

    def test_known_label_counts(self):
        train = self.data.train.labels.sum(axis=0) + self.data.validation.labels.sum(axis=0)
        self.assertAllEqual(train, TRAIN_COUNTS)
        self.assertAllEqual(self.data.test.labels.sum(axis=0), TEST_COUNTS)

    def test_validation_is_the_first_5000_training_images(self):
        raw = idx.read_images(os.path.join(loader.EMBEDDED_DIR, "train-images-idx3-ubyte.gz"))
        self.assertAllEqual(self.data.validation.images[0] * 255, raw[0].reshape(-1).astype(np.float32))
        self.assertAllEqual(self.data.train.images[0] * 255, raw[5000].reshape(-1).astype(np.float32))


class DataDirTest(tf.test.TestCase):

    def _copy_embedded(self, gunzip=False):
        target = self.create_tempdir().full_path
        for name in loader.FILES.values():
            source = os.path.join(loader.EMBEDDED_DIR, name + ".gz")
            if gunzip:
                with gzip.open(source, "rb") as f, open(os.path.join(target, name), "wb") as out:
                    shutil.copyfileobj(f, out)
            else:
                shutil.copy(source, target)
        shutil.copy(os.path.join(loader.EMBEDDED_DIR, loader.RAW_SUMS), target)
        return target

    def test_embedded_copy_verifies(self):
        # Every one of the four files is hashed (load_test: only the two test files), and each recorded sum is
        # the SHA-256 of the file's uncompressed bytes, computed here without the loader.
        hashed, real = [], loader.raw_sha256
        with mock.patch.object(loader, "raw_sha256", lambda path: hashed.append(path) or real(path)):
            loader.verify_checksums(loader.EMBEDDED_DIR)
            everything = sorted(hashed)
            del hashed[:]
            loader.load_test()
        files = {name: os.path.join(loader.EMBEDDED_DIR, name + ".gz") for name in loader.FILES.values()}
        self.assertEqual(everything, sorted(files.values()))
        self.assertEqual(sorted(hashed), [files["t10k-images-idx3-ubyte"], files["t10k-labels-idx1-ubyte"]])
        with open(os.path.join(loader.EMBEDDED_DIR, loader.RAW_SUMS)) as f:
            recorded = {name: digest for digest, name in (line.split() for line in f if line.strip())}
        self.assertEqual(set(recorded), set(files))
        for name, path in files.items():
            with gzip.open(path, "rb") as f:
                self.assertEqual(hashlib.sha256(f.read()).hexdigest(), recorded[name], name)

    def test_checksum_mismatch_is_detected(self):
        target = self._copy_embedded(gunzip=True)
        path = os.path.join(target, "t10k-labels-idx1-ubyte")
        with open(path, "r+b") as f:
            f.seek(100)
            byte = f.read(1)
            f.seek(100)
            f.write(bytes([(byte[0] + 1) % 10]))
        with self.assertRaisesRegex(loader.ChecksumError, "t10k-labels-idx1-ubyte.*SHA-256"):
            loader.verify_checksums(target)

    def test_a_damaged_gzip_is_one_line_saying_it_cannot_be_verified(self):
        # A file named .gz that is not gzip (OSError) and one cut short (EOFError): a ChecksumError, no traceback.
        target = self.create_tempdir().full_path
        name = loader.FILES["test_labels"]
        with open(os.path.join(target, loader.RAW_SUMS), "w") as f:
            f.write("{} {}\n".format("0" * 64, name))
        source = os.path.join(loader.EMBEDDED_DIR, name + ".gz")
        with open(source, "rb") as f:
            compressed = f.read()
        for damaged in (b"not gzip at all", compressed[:len(compressed) // 2]):
            with open(os.path.join(target, name + ".gz"), "wb") as f:
                f.write(damaged)
            with self.assertRaisesRegex(loader.ChecksumError, r"^\S+{}\.gz: cannot be read to verify it \(".format(
                    name)):
                loader.verify_checksums(target)

    def test_images_of_another_size_name_their_size(self):
        folder = testing.random_mnist(self.create_tempdir().full_path, train=20, test=5, size=32)
        with self.assertRaisesRegex(idx.IdxError, r"train-images-idx3-ubyte.gz: its images are 32x32 pixels; the "
                                                  r"posts' networks take MNIST's 28x28 \(784 inputs\): resize or pad "
                                                  r"them to 28x28"):
            loader.load_mnist(folder)

    def test_validation_must_leave_images_to_train_on(self):
        folder = testing.random_mnist(self.create_tempdir().full_path, train=20, test=5)
        self.assertLen(loader.load_mnist(folder, validation_size=19).train.images, 1)
        self.assertLen(loader.load_mnist(folder, validation_size=0).train.images, 20)
        with self.assertRaisesRegex(idx.IdxError, r"holds 20 training images, too few to split off 20 for validation "
                                                  r"and train on the rest; pass a --validation_size below 20"):
            loader.load_mnist(folder, validation_size=20)

    def test_uncompressed_data_dir_loads_like_embedded(self):
        target = self._copy_embedded(gunzip=True)
        data = loader.load_mnist(target)
        embedded = loader.load_mnist()
        self.assertAllEqual(data.test.images, embedded.test.images)
        self.assertAllEqual(data.train.labels, embedded.train.labels)

    def test_missing_file_names_the_path(self):
        target = self.create_tempdir().full_path
        with self.assertRaisesRegex(idx.IdxError, "train-images-idx3-ubyte"):
            loader.load_mnist(target)

    def test_data_dir_that_is_not_a_folder(self):
        with self.assertRaisesRegex(idx.IdxError, "not a folder"):
            loader.load_mnist(os.path.join(self.create_tempdir().full_path, "nope"))

    def test_data_dir_that_cannot_be_read_is_not_reported_as_missing_files(self):
        target = self._copy_embedded()
        # As root os.access grants everything; a user without read access to the folder gets False.
        with mock.patch.object(loader.os, "access", return_value=False):
            with self.assertRaisesRegex(idx.IdxError, r"--data_dir .* cannot be read \(permission denied\)"):
                loader.load_mnist(target)


if __name__ == "__main__":
    tf.test.main()
