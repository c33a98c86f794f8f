"""Sessions that do not look for a GPU the machine cannot have (a quiet first contact).

Every tf.compat.v1.Session asks each device factory for its devices; on a machine without NVIDIA's
driver the GPU factory's cuInit fails and TensorFlow logs an `E` line ("failed call to cuInit: ...
CUDA error") that has nothing to do with the user's run. Without the driver (libcuda.so.1) no GPU
can be used anyway, so the session is told to make no GPU device: the line goes away and nothing
else changes. On a machine with the driver the config is left as it is.

In its own room below graphs/ and session/: the posts' graphs, the trainer and session/restore.py
(which must not import graphs/: LTFN 9 restores a network without its Python) all make sessions here.
"""

import ctypes
import functools

import tensorflow as tf

# What TensorFlow's CUDA stub loads (tsl DsoLoader) to talk to a GPU at all.
CUDA_DRIVER = "libcuda.so.1"


@functools.lru_cache(maxsize=None)
def gpu_driver_present():
    try:
        ctypes.CDLL(CUDA_DRIVER)
    except OSError:
        return False
    return True


def config(base=None):
    """base (a ConfigProto, or a new one), with no GPU device asked for when no GPU driver exists."""
    config = base if base is not None else tf.compat.v1.ConfigProto()
    if not gpu_driver_present():
        config.device_count["GPU"] = 0
    return config


def new_session(graph, base_config=None):
    """tf.compat.v1.Session(graph=graph) with config(base_config)."""
    return tf.compat.v1.Session(graph=graph, config=config(base_config))
