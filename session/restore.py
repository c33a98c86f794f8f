"""LTFN 9's lesson: a saved run used without the Python that built it.

The Saver writes the graph beside the weights (`model.ckpt-<step>.meta`), so a trained network comes
back with two calls and two names, and no network code at all (this module imports nothing of graphs/; machine/ only makes the session):

    saver = tf.compat.v1.train.import_meta_graph(checkpoint + ".meta")
    saver.restore(session, checkpoint)
    logits = session.run("logits:0", {"input:0": images})
"""

import os
import re

import numpy as np
import tensorflow as tf

from machine import errors
from machine import sessions
from session import checkpoints

INPUT = "input:0"
LOGITS = "logits:0"
CHECKPOINTS = "checkpoints"  # a run's own checkpoint folder (run.py: <logdir>/checkpoints)


class RestoreError(Exception):
    """A run or checkpoint that cannot be used to predict; the message says what to do."""


def checkpoint_dir_of_run(run_dir):
    """The checkpoint folder of a run folder: run_dir/checkpoints, or run_dir itself if it holds them."""
    if not os.path.isdir(run_dir):
        raise RestoreError("{} is not a folder; name a run folder that //:run wrote (runs/<net>-<init>-<time>)"
                           .format(run_dir))
    inside = os.path.join(run_dir, CHECKPOINTS)
    return inside if os.path.isdir(inside) else run_dir


def latest_checkpoint(directory):
    """The newest checkpoint in directory (its path prefix), as the index names it (read as a resuming
    run reads it: session/checkpoints.py), checked to carry its meta graph."""
    if not os.path.isdir(directory):
        raise RestoreError("{} is not a folder; point --checkpoint_dir at a run's checkpoints".format(directory))
    try:
        step = checkpoints.read_index(directory)
    except (checkpoints.DamagedIndex, checkpoints.CheckpointError) as e:
        raise RestoreError("{}; use another run, or resume this one with //:run, which says how to mend it"
                           .format(e))
    if step is None:
        raise RestoreError("{} holds no checkpoint: train one with //:run (it saves every --save_every steps "
                           "and at the end)".format(directory))
    path = os.path.join(directory, "{}-{}".format(checkpoints.PREFIX, step))
    if not os.path.isfile(path + ".meta"):
        raise RestoreError("checkpoint {} has no meta graph ({}.meta): it was saved before checkpoints carried "
                           "their graph; train a new run with //:run, whose checkpoints do".format(path, path))
    return path


def step_of(checkpoint):
    match = re.search(r"-(\d+)$", checkpoint)
    return int(match.group(1)) if match else None


def image_shape(input_shape):
    """The shape of one image `input` takes, e.g. (784,) or (28, 28, 1), if it holds MNIST's 28x28 pixels; else
    None (another size, a dimension left open, or no known rank at all)."""
    if input_shape.rank is None or input_shape.rank < 2:
        return None
    shape = tuple(input_shape.as_list()[1:])
    return shape if None not in shape and int(np.prod(shape)) == 28 * 28 else None


class Restored:
    """A checkpoint's graph and weights in a session of their own; logits() runs `logits` on images."""

    def __init__(self, checkpoint):
        self.checkpoint = checkpoint
        self.graph = tf.Graph()
        with self.graph.as_default():
            try:
                saver = tf.compat.v1.train.import_meta_graph(checkpoint + ".meta", clear_devices=True)
            except Exception as e:  # a damaged .meta fails in protobuf, TensorFlow or the OS: all one story
                raise RestoreError("{}.meta is not a readable meta graph ({}); use another checkpoint or run"
                                   .format(checkpoint, errors.error_line(e, skip=(), indented=True)))
        try:
            self.input = self.graph.get_tensor_by_name(INPUT)
            self.logits = self.graph.get_tensor_by_name(LOGITS)
        except (KeyError, ValueError):
            raise RestoreError("the graph in {}.meta has no {} and {} tensors: it is not a network this "
                               "project's //:run trained".format(checkpoint, INPUT, LOGITS))
        self.input_shape = image_shape(self.input.shape)
        if self.input_shape is None:
            raise RestoreError("{} in {}.meta takes images of shape {}, not MNIST's 28x28: it is not a network "
                               "this project's //:run trained; use one of its runs".format(
                                   INPUT, checkpoint, self.input.shape))
        self.session = sessions.new_session(self.graph)
        try:
            saver.restore(self.session, checkpoint)
        except (tf.errors.OpError, ValueError) as e:
            self.session.close()
            raise RestoreError("checkpoint {} cannot be restored ({}); use another checkpoint or run".format(
                checkpoint, errors.error_line(e, skip=(), indented=True)))

    def logits_of(self, images, batch_size=1000):
        """Logits of 28x28 images (N, 28, 28) in [0, 1], in batches, feeding only `input`."""
        images = np.asarray(images, np.float32).reshape((-1,) + self.input_shape)
        return np.concatenate([self.session.run(self.logits, {self.input: images[begin:begin + batch_size]})
                               for begin in range(0, len(images), batch_size)] or [np.zeros((0, 10), np.float32)])

    def close(self):
        self.session.close()
