"""TensorBoard inside a lesson (LTFN 2): the lesson's own graph and two traced session runs.

TensorBoard's Graphs tab has a "Session runs" picker: with a traced run chosen, the nodes that run
did not execute are faded. `traced_steps` writes what it needs for the lesson's own network: the
graph, one training step (`optimizer`, `cost`) traced as `train_step` and one test step (`logits`
only) traced as `test_step` (session/summaries.TraceFirstRun, as //:run writes them). The lesson
then loads TensorBoard's notebook extension (`%load_ext tensorboard`, `%tensorboard --logdir ...`),
which starts this environment's TensorBoard (programs/lessons.py sets TENSORBOARD_BINARY) on
127.0.0.1. `stop_with_kernel` makes the TensorBoard servers this kernel starts stop when it does.
"""

import atexit
import os
import shutil
import signal

import tensorflow as tf

from session import summaries
from session import trainer

TRAIN_TAG = "train_step"
TEST_TAG = "test_step"


def traced_steps(session, nodes, train, test, logdir, input_shape, batch_size=100):
    """Writes the graph and the two traced runs to `logdir` (emptied first); returns `logdir`.

    The training step is a real one: the weights move by one more step of gradient descent."""
    shutil.rmtree(logdir, ignore_errors=True)
    os.makedirs(logdir)
    writer = tf.compat.v1.summary.FileWriter(logdir, session.graph)
    try:
        images, labels = trainer.Batches(train, batch_size, input_shape)(0)
        summaries.TraceFirstRun(session, writer, TRAIN_TAG).run(
            [nodes.optimizer, nodes.cost], {nodes.input: images, nodes.labels: labels})
        test_images = test.images[:batch_size].reshape((-1,) + tuple(input_shape))
        summaries.TraceFirstRun(session, writer, TEST_TAG).run(nodes.logits, {nodes.input: test_images})
    finally:
        writer.close()
    stop_with_kernel()
    return logdir


def _children_tensorboards():
    """Pids of the TensorBoard servers (TensorBoard's own records of them) whose parent is this process."""
    from tensorboard import manager

    pids = []
    for info in manager.get_all():
        try:
            with open("/proc/{}/stat".format(info.pid)) as f:
                parent = int(f.read().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        if parent == os.getpid():
            pids.append(info.pid)
    return pids


def stop_children():
    for pid in _children_tensorboards():
        try:
            os.kill(pid, signal.SIGTERM)
        except OSError:
            pass


_registered = []


def stop_with_kernel():
    """At this process's exit (the kernel shutting down), stop the TensorBoards it started."""
    if not _registered:
        atexit.register(stop_children)
        _registered.append(True)
