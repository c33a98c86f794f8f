"""Tests for data/idx.py using small synthetic IDX files (never real MNIST)."""

import gzip
import math
import struct
import tracemalloc

from absl.testing import absltest
from hypothesis import given, settings, strategies as st
import numpy as np

from data import idx

_CODES = {np.dtype(np.uint8): 0x08, np.dtype(np.int8): 0x09,
          np.dtype(np.int16): 0x0B, np.dtype(np.int32): 0x0C,
          np.dtype(np.float32): 0x0D, np.dtype(np.float64): 0x0E}
_ITEMSIZE = {0x08: 1, 0x09: 1, 0x0B: 2, 0x0C: 4, 0x0D: 4, 0x0E: 8}

_PROPERTY = settings(max_examples=200, deadline=None, derandomize=True)


def _header(code, dims):
        return bytes([0, 0, code, len(dims)]) + struct.pack(f">{len(dims)}I",
                                                            *dims)


def _encode(array):
        """The IDX bytes for array (big-endian data after the header)."""
        code = _CODES[array.dtype]
        return _header(code, array.shape) + array.astype(
            array.dtype.newbyteorder(">")).tobytes()


def _gz(data):
        # mtime=0 keeps the bytes deterministic for hypothesis.
        return gzip.compress(data, mtime=0)


def _promised_dims(data):
        """Parses the (decompressed) header independently of the reader."""
        if data[:2] == b"\x1f\x8b":
                data = gzip.decompress(data)
        ndims = data[3]
        return struct.unpack(f">{ndims}I", data[4:4 + 4 * ndims]), data


_IMAGES = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4) * 10
_LABELS = np.array([3, 1, 4, 1, 5, 9, 2, 6, 0], dtype=np.uint8)


class IdxTest(absltest.TestCase):

    def setUp(self):
        super().setUp()
        self.dir = self.create_tempdir()

    def write(self, name, data):
        return self.dir.create_file(name, mode="wb", content=data).full_path

    def assertIdxError(self, path, *fragments):
        with self.assertRaises(idx.IdxError) as cm:
            idx.read_idx(path)
        message = str(cm.exception)
        self.assertIn(path, message)
        self.assertNotIn("\n", message)
        for fragment in fragments:
            self.assertIn(fragment, message)
        return message

    # --- round trips -------------------------------------------------------

    def test_round_trip_images_raw_and_gzip(self):
        for name, data in [("img", _encode(_IMAGES)),
                           ("img.gz", _gz(_encode(_IMAGES))),
                           ("gz_without_suffix", _gz(_encode(_IMAGES)))]:
            images = idx.read_images(self.write(name, data))
            self.assertEqual(images.dtype, np.uint8)
            np.testing.assert_array_equal(images, _IMAGES)

    def test_round_trip_labels_raw_and_gzip(self):
        for name, data in [("lab", _encode(_LABELS)),
                           ("lab.gz", _gz(_encode(_LABELS)))]:
            labels = idx.read_labels(self.write(name, data))
            self.assertEqual(labels.shape, (9,))
            np.testing.assert_array_equal(labels, _LABELS)

    def test_wider_dtypes_come_back_native_endian(self):
        for dtype in [np.int8, np.int16, np.int32, np.float32, np.float64]:
            array = (np.arange(6) - 3).astype(dtype).reshape(2, 3)
            got = idx.read_idx(self.write("wide", _encode(array)))
            self.assertEqual(got.dtype, np.dtype(dtype))
            self.assertTrue(got.dtype.isnative)
            np.testing.assert_array_equal(got, array)

    def test_returned_array_is_writable(self):
        # Callers may change what they read in place; the file, read again, is as it was.
        wide = np.arange(6, dtype=np.float32).reshape(2, 3)
        for name, data, read, first in [("img", _encode(_IMAGES), idx.read_images, (0, 0, 0)),
                                        ("img.gz", _gz(_encode(_IMAGES)), idx.read_images, (0, 0, 0)),
                                        ("lab.gz", _gz(_encode(_LABELS)), idx.read_labels, (0,)),
                                        ("wide", _encode(wide), idx.read_idx, (0, 0))]:
            path = self.write(name, data)
            array = read(path)
            self.assertTrue(array.flags.writeable, name)
            array[first] = 7
            self.assertEqual(array[first], 7, name)
            np.testing.assert_array_equal(read(path), wide if name == "wide" else
                                          _LABELS if name.startswith("lab") else _IMAGES)

    # --- failures ----------------------------------------------------------

    def test_missing_file(self):
        path = self.dir.full_path + "/nope-idx3-ubyte.gz"
        self.assertIdxError(path, "not found")

    def test_directory(self):
        self.assertIdxError(self.dir.full_path, "directory")

    def test_empty_file(self):
        self.assertIdxError(self.write("empty", b""), "empty")

    def test_truncated_gzip(self):
        data = _gz(_encode(_IMAGES))
        self.assertIdxError(self.write("t.gz", data[:len(data) // 2]),
                            "not a valid gzip file")

    def test_corrupt_gzip(self):
        data = bytearray(_gz(_encode(_IMAGES)))
        data[-8] ^= 0xFF  # Break the CRC32 in the gzip trailer.
        self.assertIdxError(self.write("crc.gz", bytes(data)),
                            "not a valid gzip file")
        data = bytearray(_gz(_encode(_IMAGES)))
        data[12:20] = b"\xff" * 8  # Garbage in the deflate stream.
        self.assertIdxError(self.write("deflate.gz", bytes(data)),
                            "not a valid gzip file")

    def test_bad_magic(self):
        data = b"\x01\x02" + _encode(_IMAGES)[2:]
        self.assertIdxError(self.write("bad", data), "not an IDX file")
        message = self.assertIdxError(
            self.write("bad.gz", data), "not gzip-compressed")
        self.assertIn("0102", message)
        self.assertIdxError(self.write("page", b"<html>404</html>"), "HTML")
        # Either of the two leading zero bytes alone wrong is enough.
        for first_two in (b"\x01\x00", b"\x00\x01"):
            self.assertIdxError(self.write("one", first_two + _encode(_IMAGES)[2:]), "not an IDX file",
                                first_two.hex())

    def test_an_empty_array_with_absurd_other_dims_is_refused(self):
        # 0 x 2^31 x 2^31 promises no bytes, but numpy cannot even make an empty array of that shape.
        self.assertIdxError(self.write("absurd", _header(0x08, (0, 1 << 31, 1 << 31))),
                            "header shape 0x2147483648x2147483648 is absurd (empty, but its other dims exceed 2 GiB)")

    def test_a_header_promising_exactly_the_limit_is_read_as_truncated_not_refused(self):
        # 2 GiB of bytes is what the reader accepts (more is a corrupt header); this file holds only 10 of them.
        message = self.assertIdxError(self.write("limit", _header(0x08, (2 << 30,)) + b"\0" * 10), "truncated")
        self.assertIn("header promises 2147483648 bytes", message)
        self.assertIdxError(self.write("over", _header(0x08, ((2 << 30) + 1,)) + b"\0" * 10), "more than the 2 GiB")

    def test_bad_magic_inside_gzip_is_not_called_uncompressed(self):
        # The ".gz but not gzip-compressed" hint once showed for any gzipped file with a bad magic.
        message = self.assertIdxError(
            self.write("twice.gz", _gz(_gz(_encode(_IMAGES)))), "gzip-compressed twice: gunzip it once")
        self.assertIn("1f8b", message)
        message = self.assertIdxError(
            self.write("inner.gz", _gz(b"\x01\x02" + _encode(_IMAGES)[2:])), "in its gunzipped content")
        self.assertNotIn("not gzip-compressed", message)

    def test_bad_dtype(self):
        data = bytearray(_encode(_IMAGES))
        data[2] = 0x0A
        self.assertIdxError(self.write("dtype", bytes(data)),
                            "dtype code 0x0A")

    def test_bad_dims_count(self):
        self.assertIdxError(self.write("zero", b"\x00\x00\x08\x00"),
                            "0 dimensions")
        self.assertIdxError(
            self.write("many", b"\x00\x00\x08\xff" + b"\0" * 64),
            "255 dimensions")

    def test_short_header(self):
        self.assertIdxError(self.write("short", b"\x00\x00\x08"), "too short")
        # 4 bytes of magic, then 6 of the 12 that three dimensions take.
        self.assertIdxError(self.write("dims", _header(0x08, (2, 3, 4))[:10]),
                            "header promises 3 dimensions (12 bytes) but the file ends after 6 of them")

    def test_lying_header_does_not_allocate(self):
        # 2e9 images of 28x28 on a tiny body, raw and gzipped.
        data = _header(0x08, (2_000_000_000, 28, 28)) + b"\0" * 100
        for path in [self.write("liar", data),
                     self.write("liar.gz", _gz(data))]:
            tracemalloc.start()
            try:
                self.assertIdxError(path, "promises", "bytes")
                _, peak = tracemalloc.get_traced_memory()
            finally:
                tracemalloc.stop()
            self.assertLess(peak, 1 << 20)

    def test_lying_header_below_limit_does_not_allocate(self):
        # A 1 GiB promise passes the size guard; memory must still follow the
        # bytes actually present, not the promise.
        data = _header(0x08, (1024, 1024, 1024)) + b"\0" * 100
        for path in [self.write("liar", data),
                     self.write("liar.gz", _gz(data))]:
            tracemalloc.start()
            try:
                self.assertIdxError(
                    path, "truncated: header promises 1073741824 bytes",
                    "file holds 100")
                _, peak = tracemalloc.get_traced_memory()
            finally:
                tracemalloc.stop()
            self.assertLess(peak, 8 << 20)

    def test_truncated_data(self):
        data = _encode(_IMAGES)[:-5]
        self.assertIdxError(self.write("trunc", data),
                            "truncated: header promises 24 bytes", "holds 19")
        self.assertIdxError(self.write("trunc.gz", _gz(data)), "truncated")

    def test_trailing_bytes(self):
        data = _encode(_IMAGES) + b"xyz"
        self.assertIdxError(self.write("trail", data), "has 3 trailing bytes")
        self.assertIdxError(self.write("trail.gz", _gz(data)),
                            "has 3 trailing bytes")

    def test_gzip_bomb_is_read_in_bounded_memory(self):
        # 16 promised bytes followed by 32 MiB of zeros (~32 KiB compressed).
        data = _gz(_header(0x08, (16,)) + bytes(16 + (32 << 20)))
        path = self.write("bomb.gz", data)
        tracemalloc.start()
        try:
            self.assertIdxError(path, f"has {32 << 20} trailing bytes")
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        self.assertLess(peak, 8 << 20)

    def test_label_out_of_range(self):
        labels = _LABELS.copy()
        labels[4] = 10
        labels[7] = 200
        path = self.write("lab", _encode(labels))
        with self.assertRaises(idx.IdxError) as cm:
            idx.read_labels(path)
        self.assertIn(path, str(cm.exception))
        self.assertIn("label 4 is 10", str(cm.exception))

    def test_images_and_labels_reject_each_other(self):
        images = self.write("img", _encode(_IMAGES))
        labels = self.write("lab", _encode(_LABELS))
        with self.assertRaisesRegex(idx.IdxError, "expected ubyte images"):
            idx.read_images(labels)
        with self.assertRaisesRegex(idx.IdxError, "expected ubyte labels"):
            idx.read_labels(images)
        with self.assertRaisesRegex(idx.IdxError, "int16"):
            idx.read_images(
                self.write("i16", _encode(_IMAGES.astype(np.int16))))

    def test_check_pair(self):
        idx.check_pair(_IMAGES, _LABELS[:2], "i.gz", "l.gz")
        with self.assertRaises(idx.IdxError) as cm:
            idx.check_pair(_IMAGES, _LABELS, "train-images.gz",
                           "t10k-labels.gz")
        self.assertIn("train-images.gz has 2 images", str(cm.exception))
        self.assertIn("t10k-labels.gz has 9 labels", str(cm.exception))

    # --- properties: anything goes in, only an array or IdxError comes out --

    def check_any_bytes(self, data):
        path = self.write("fuzz", data)
        try:
            array = idx.read_idx(path)
        except idx.IdxError as e:
            self.assertIn(path, str(e))
            self.assertNotIn("\n", str(e))
            return None
        self.assertIsInstance(array, np.ndarray)
        dims, raw = _promised_dims(data)
        self.assertEqual(array.shape, dims)
        self.assertEqual(array.size, math.prod(dims))
        self.assertEqual(4 + 4 * len(dims) + array.nbytes, len(raw))
        return array

    @_PROPERTY
    @given(st.binary(max_size=256))
    def test_property_random_bytes(self, data):
        self.check_any_bytes(data)

    @_PROPERTY
    @given(st.binary(max_size=256), st.booleans())
    def test_property_random_bytes_after_magic(self, tail, compress):
        data = b"\x00\x00" + tail
        self.check_any_bytes(_gz(data) if compress else data)

    @_PROPERTY
    @given(
        code=st.one_of(st.sampled_from(sorted(_ITEMSIZE)),
                       st.integers(0, 255)),
        # Mostly small dims so many headers are valid; some huge ones lie.
        dims=st.lists(st.one_of(st.integers(0, 4), st.integers(1, 6),
                                st.integers(0, 2**32 - 1)),
                      min_size=0, max_size=5),
        slack=st.one_of(st.just(0), st.integers(-8, 8)),
        compress=st.booleans(),
        seed=st.integers(0, 2**32 - 1))
    def test_property_random_header_and_body(self, code, dims, slack, compress,
                                             seed):
        size = math.prod(dims) * _ITEMSIZE.get(code, 1)
        if size > 4096:
            slack, size = 0, 64  # Keep bodies small; the header still lies.
        body = np.random.default_rng(seed).bytes(max(0, size + slack))
        data = _header(code, dims) + body
        array = self.check_any_bytes(_gz(data) if compress else data)
        if code in _ITEMSIZE and 1 <= len(dims) and slack == 0:
            # Valid iff the body fits the header and no dim is absurd (the
            # reader bounds even empty shapes at 2 GiB).
            span = math.prod(max(d, 1) for d in dims) * _ITEMSIZE[code]
            expected = (math.prod(dims) * _ITEMSIZE[code] == len(body)
                        and span <= 2 << 30)
            self.assertEqual(array is not None, expected)
            if array is not None:
                self.assertEqual(array.tobytes(), np.frombuffer(
                    body, dtype=array.dtype.newbyteorder(">")).astype(
                        array.dtype).tobytes())

    @_PROPERTY
    @given(
        compress=st.booleans(),
        mutations=st.lists(
            st.tuples(
                st.sampled_from(["flip", "truncate", "insert", "delete"]),
                st.integers(0, 10**6), st.integers(0, 255)),
            min_size=1, max_size=4))
    def test_property_mutated_valid_file(self, compress, mutations):
        data = bytearray(_encode(_IMAGES))
        if compress:
            data = bytearray(_gz(bytes(data)))
        for kind, position, value in mutations:
            i = position % (len(data) + 1)
            if kind == "flip" and i < len(data):
                data[i] ^= 1 << (value % 8)
            elif kind == "truncate":
                del data[i:]
            elif kind == "insert":
                data[i:i] = bytes([value])
            elif kind == "delete" and i < len(data):
                del data[i]
        self.check_any_bytes(bytes(data))


if __name__ == "__main__":
    absltest.main()
