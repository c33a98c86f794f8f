"""Sessions that do not look for a GPU the machine cannot have (a quiet first contact).

Every tf.compat.v1.Session asks each device factory for its devices; on a machine without NVIDIA's
driver the GPU factory's cuInit fails and TensorFlow logs an `E` line ("failed call to cuInit: ...
CUDA error") that has nothing to do with the user's run. Without the driver (libcuda.so.1) no GPU
can be used anyway, so the session is told to make no GPU device: the line goes away and nothing
else changes. On a machine with the driver the config is left as it is.

In its own room below graphs/ and session/: the posts' graphs, the trainer and session/restore.py
(which must not import graphs/: LTFN 9 restores a network without its Python) all make sessions here,
and config() is the one place a session's ConfigProto is built (--precision's rewrite, //:deps' rewrites
off, the GPU left alone).
"""

import ctypes
import functools

import tensorflow as tf
from tensorflow.core.protobuf import rewriter_config_pb2

# What TensorFlow's CUDA stub loads (tsl DsoLoader) to talk to a GPU at all.
CUDA_DRIVER = "libcuda.so.1"


@functools.lru_cache(maxsize=None)
def gpu_driver_present():
    try:
        ctypes.CDLL(CUDA_DRIVER)
    except OSError:
        return False
    return True


def config(base=None, bfloat16=None, rewrites=True, **fields):
    """The project's one ConfigProto builder: base (or a new ConfigProto of `fields`), with

    * bfloat16: True switches on Grappler's auto_mixed_precision_onednn_bfloat16 rewrite (convolutions and
      matmuls in bfloat16 on oneDNN: session/precision.py, --precision=bfloat16), False switches it off,
      None leaves it as it is;
    * rewrites=False: Grappler's graph rewrites off, so every node runs under its own name (labs/deps.py:
      a trace compared name by name with the GraphDef);
    * no GPU device asked for when no GPU driver exists.
    """
    if base is not None and fields:
        raise TypeError("config() takes a base ConfigProto or its fields, not both")
    config = base if base is not None else tf.compat.v1.ConfigProto(**fields)
    if bfloat16 is not None:
        config.graph_options.rewrite_options.auto_mixed_precision_onednn_bfloat16 = (
            rewriter_config_pb2.RewriterConfig.ON if bfloat16 else rewriter_config_pb2.RewriterConfig.OFF)
    if not rewrites:
        _rewrites_off(config.graph_options)
    if not gpu_driver_present():
        config.device_count["GPU"] = 0
    return config


def _rewrites_off(graph_options):
    """Grappler renames, fuses, folds and prunes nodes before they run: off are the meta optimizer and each
    of its passes, plus the classic graph optimizer's constant folding, CSE and inlining (opt_level L0)."""
    rc = rewriter_config_pb2.RewriterConfig
    off = rc.OFF
    graph_options.rewrite_options.CopyFrom(rc(
        constant_folding=off, arithmetic_optimization=off, remapping=off, layout_optimizer=off,
        dependency_optimization=off, loop_optimization=off, function_optimization=off,
        shape_optimization=off, debug_stripper=off, scoped_allocator_optimization=off,
        pin_to_host_optimization=off, implementation_selector=off, auto_mixed_precision=off,
        common_subgraph_elimination=off, memory_optimization=rc.NO_MEM_OPT,
        disable_meta_optimizer=True))
    graph_options.optimizer_options.opt_level = tf.compat.v1.OptimizerOptions.L0
    graph_options.optimizer_options.do_constant_folding = False
    graph_options.optimizer_options.do_common_subexpression_elimination = False
    graph_options.optimizer_options.do_function_inlining = False


def new_session(graph, base_config=None):
    """tf.compat.v1.Session(graph=graph) with config(base_config)."""
    return tf.compat.v1.Session(graph=graph, config=config(base_config))
