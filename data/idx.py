"""Reader for IDX files, the format of the MNIST dataset used in LTFN 1.

MNIST (http://yann.lecun.com/exdb/mnist/) ships as four IDX files, usually
gzipped: train-images-idx3-ubyte, train-labels-idx1-ubyte and the t10k-*
pair.  An IDX file is:

  magic   4 bytes: 0x00 0x00, a dtype code, the number of dimensions
  dims    one big-endian uint32 per dimension
  data    the values, big-endian, row-major (C order)

This reader trusts nothing: downloads get truncated, mirrors serve HTML
error pages, and a corrupt header can claim billions of items.  Every
problem raises IdxError with a one-line message naming the file, and no
memory is allocated for data the file does not actually contain.
"""

import gzip
import math
import os
import zlib

import numpy as np

# dtype code -> big-endian numpy dtype, as defined by the IDX format.
_DTYPES = {
    0x08: np.dtype(">u1"),  # unsigned byte (MNIST uses only this)
    0x09: np.dtype(">i1"),  # signed byte
    0x0B: np.dtype(">i2"),  # short
    0x0C: np.dtype(">i4"),  # int
    0x0D: np.dtype(">f4"),  # float
    0x0E: np.dtype(">f8"),  # double
}

# numpy 1.x arrays have at most 32 dims; real IDX files have 1 to 3.
_MAX_DIMS = 32
# The whole MNIST training set is 47 MB; a bigger promise means a bad header.
_MAX_BYTES = 2 << 30
# Read in chunks so memory only grows as real data arrives.
_CHUNK = 1 << 20
# How far past the promised data we count trailing bytes before giving up.
_MAX_TRAILING_COUNT = 64 << 20

_GZIP_MAGIC = b"\x1f\x8b"
_REDOWNLOAD = "delete it and download it again"


class IdxError(ValueError):
    """An IDX file is missing, corrupt, or not what the caller expected."""


def _fail(path, problem):
    # One line, always starting with the file, so logs are easy to grep.
    return IdxError(f"{path}: {problem}".replace("\n", " "))


def _read_at_most(stream, n):
    """Reads up to n bytes; fewer only at end of stream."""
    # Never stream.read(n) with an untrusted n: the buffer would be
    # allocated up front even if the file holds far less.
    buf = bytearray()
    while len(buf) < n:
        chunk = stream.read(min(_CHUNK, n - len(buf)))
        if not chunk:
            break
        buf += chunk
    return buf


def _count_rest(stream, limit):
    """Counts remaining bytes without keeping them, stopping after limit."""
    count = 0
    while count <= limit:
        chunk = stream.read(_CHUNK)
        if not chunk:
            break
        count += len(chunk)
    return count


def _parse(path, stream, gunzipped=False):
    """Reads header and data from an open stream (gunzipped: a decompressing one)."""
    magic = _read_at_most(stream, 4)
    if not magic:
        raise _fail(path, f"is empty; {_REDOWNLOAD}")
    if len(magic) < 4:
        raise _fail(path, f"is only {len(magic)} bytes, too short for the "
                          f"4-byte IDX magic number; {_REDOWNLOAD}")
    if magic[0] != 0 or magic[1] != 0:
        hint = ""
        if magic.startswith(b"<"):
            hint = " (looks like HTML, e.g. a download error page)"
        elif gunzipped and magic.startswith(_GZIP_MAGIC):
            hint = " (it is gzip-compressed twice: gunzip it once)"
        elif gunzipped:
            hint = " (in its gunzipped content)"
        elif str(path).endswith(".gz"):
            hint = " (its name ends in .gz but it is not gzip-compressed)"
        raise _fail(path, f"is not an IDX file: magic number is "
                          f"{bytes(magic).hex()}, expected 0000xxxx{hint}; "
                          f"{_REDOWNLOAD}")
    code, ndims = magic[2], magic[3]
    if code not in _DTYPES:
        known = ", ".join(f"0x{c:02X}" for c in _DTYPES)
        raise _fail(path, f"unknown IDX dtype code 0x{code:02X} (known: "
                          f"{known}); the header is corrupt")
    if not 1 <= ndims <= _MAX_DIMS:
        raise _fail(path, f"header says {ndims} dimensions, expected 1 to "
                          f"{_MAX_DIMS}; the header is corrupt")

    raw_dims = _read_at_most(stream, 4 * ndims)
    if len(raw_dims) < 4 * ndims:
        raise _fail(path, f"header promises {ndims} dimensions "
                          f"({4 * ndims} bytes) but the file ends after "
                          f"{len(raw_dims)} of them; {_REDOWNLOAD}")
    dims = tuple(int(d) for d in np.frombuffer(raw_dims, dtype=">u4"))

    # Compute the promise with Python ints (no overflow) and check it
    # before reading or allocating anything for the data.
    dtype = _DTYPES[code]
    promised = math.prod(dims) * dtype.itemsize
    shape = "x".join(map(str, dims))
    if promised > _MAX_BYTES:
        raise _fail(path, f"header promises {shape} {dtype.name} = "
                          f"{promised} bytes, more than the "
                          f"{_MAX_BYTES >> 30} GiB this reader accepts; "
                          f"the header is probably corrupt")
    # A zero dim makes the promise 0, but numpy still rejects shapes whose
    # other dims overflow its size limit, so bound those too.
    if math.prod(max(d, 1) for d in dims) * dtype.itemsize > _MAX_BYTES:
        raise _fail(path, f"header shape {shape} is absurd (empty, but its "
                          f"other dims exceed {_MAX_BYTES >> 30} GiB); the "
                          f"header is probably corrupt")

    # Ask for one byte more than promised to detect trailing data while
    # never holding more than promised+1 bytes (gzip bombs included).
    data = _read_at_most(stream, promised + 1)
    if len(data) < promised:
        raise _fail(path, f"truncated: header promises {promised} bytes "
                          f"({shape} {dtype.name}), file holds {len(data)}; "
                          f"{_REDOWNLOAD}")
    if len(data) > promised:
        extra = 1 + _count_rest(stream, _MAX_TRAILING_COUNT)
        count = (str(extra) if extra <= _MAX_TRAILING_COUNT
                 else f"more than {_MAX_TRAILING_COUNT}")
        raise _fail(path, f"has {count} trailing bytes after the data the "
                          f"header describes ({shape} {dtype.name}); the "
                          f"file is corrupt or not what its name says")

    # frombuffer on a bytearray gives a writable view; astype converts to
    # native byte order (a no-op for bytes, a copy for wider types).
    array = np.frombuffer(data, dtype=dtype).reshape(dims)
    return array.astype(dtype.newbyteorder("="), copy=False)


def read_idx(path):
    """Reads an IDX file, raw or gzipped, into an array of its dtype/shape.

    Gzip is recognised by its magic bytes (1f 8b), not by the file name.
    Raises IdxError for any problem with the file.
    """
    path = os.fspath(path)
    try:
        with open(path, "rb") as f:
            is_gzip = f.read(2) == _GZIP_MAGIC
            f.seek(0)
            if not is_gzip:
                return _parse(path, f)
            try:
                with gzip.GzipFile(fileobj=f, mode="rb") as z:
                    return _parse(path, z, gunzipped=True)
            except (EOFError, zlib.error, gzip.BadGzipFile) as e:
                # EOFError: stream cut short; BadGzipFile: bad header or
                # CRC/length mismatch; zlib.error: corrupt deflate data.
                raise _fail(path, f"is not a valid gzip file or is "
                                  f"truncated ({type(e).__name__}: {e}); "
                                  f"{_REDOWNLOAD}") from e
    except FileNotFoundError as e:
        raise _fail(path, "file not found; check the path and that the "
                          "data was downloaded") from e
    except IsADirectoryError as e:
        raise _fail(path, "is a directory, expected an IDX file") from e
    except OSError as e:
        raise _fail(path, f"cannot be read: {e.strerror or e}") from e


def read_images(path):
    """Reads an MNIST-style image file: uint8 array [N, rows, cols]."""
    images = read_idx(path)
    if images.dtype != np.uint8 or images.ndim != 3:
        raise _fail(path, f"expected ubyte images [N, rows, cols], header "
                          f"says {images.dtype.name} with shape "
                          f"{list(images.shape)}; is this a labels file?")
    return images


def read_labels(path):
    """Reads an MNIST-style label file: uint8 array [N], values 0..9."""
    labels = read_idx(path)
    if labels.dtype != np.uint8 or labels.ndim != 1:
        raise _fail(path, f"expected ubyte labels [N], header says "
                          f"{labels.dtype.name} with shape "
                          f"{list(labels.shape)}; is this an images file?")
    bad = np.flatnonzero(labels > 9)
    if bad.size:
        i = int(bad[0])
        raise _fail(path, f"label {i} is {labels[i]}, expected a digit 0-9 "
                          f"({bad.size} of {labels.size} labels out of "
                          f"range); the file is corrupt")
    return labels


def check_pair(images, labels, images_path, labels_path):
    """Raises IdxError unless there is exactly one label per image."""
    if len(images) != len(labels):
        raise IdxError(
            f"{images_path} has {len(images)} images but {labels_path} has "
            f"{len(labels)} labels; use the matching pair (both train-* or "
            f"both t10k-*)")
