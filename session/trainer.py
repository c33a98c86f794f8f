"""The session side of the posts: feeding batches, the training loop, and batched test inference.

run.py owns the flags and the output; this module owns what happens inside the session, so the
benchmark (bench/) measures the very same code path.
"""

import math
import re
import time

import numpy as np
import tensorflow as tf


class DivergedError(Exception):
    """The cost, or with --check_numerics any tensor, stopped being a finite number."""

    def __init__(self, step, cost=None, tensor=None, values=None):
        if tensor is None:
            message = "cost became {} at step {}".format(cost, step)
        else:
            message = "{} went {} at step {}, in {}".format(tensor.split("/")[0], values, step, tensor)
        super().__init__(message)
        self.step = step
        self.cost = cost
        self.tensor = tensor


def _numerics_failure(error):
    """(tensor, "NaN"/"Inf") if error is tf.debugging.check_numerics firing, else None."""
    match = re.search(r"(\S+) : Tensor had (NaN|Inf) values", str(error))
    return match.groups() if match else None


class Batches:
    """Batch `step` of a dataset, a pure function of the step (so a resumed run sees the same batches).

    In order, as the posts take them (`images[step*100 : step*100+100]`), wrapping around at the end
    of each epoch; with shuffle=True, each epoch is a permutation seeded by (seed, epoch).
    """

    def __init__(self, dataset, batch_size, input_shape, shuffle=False, seed=0):
        # Reshaped and made contiguous once, so feeding a batch is a slice, not a copy.
        self.images = np.ascontiguousarray(dataset.images.reshape((-1,) + tuple(input_shape)), np.float32)
        self.labels = np.ascontiguousarray(dataset.labels, np.float32)
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.seed = seed
        self._order = {}

    def _permutation(self, epoch):
        if epoch not in self._order:
            self._order = {epoch: np.random.default_rng([self.seed, epoch]).permutation(len(self.images))}
        return self._order[epoch]

    def __call__(self, step):
        n = len(self.images)
        start = step * self.batch_size
        if not self.shuffle and start % n + self.batch_size <= n:
            begin = start % n
            return self.images[begin:begin + self.batch_size], self.labels[begin:begin + self.batch_size]
        positions = np.arange(start, start + self.batch_size)
        if self.shuffle:
            index = np.array([self._permutation(p // n)[p % n] for p in positions])
        else:
            index = positions % n
        return self.images[index], self.labels[index]


def train(session, model, batches, steps, print_every, start_step=0, on_print=None,
          save_every=None, save=None, should_stop=None, extra_fetches=None, on_step=None):
    """Runs `optimizer` for steps [start_step, steps) and returns how many steps are done.

    Every print_every steps it calls on_print(step, cost, accuracy, images_per_second); every
    save_every completed steps, save(steps_done). should_stop() is asked after each completed step, so
    an interrupted run stops between steps, never inside one, and resumes exactly where it stopped.
    Accuracy is fetched only on printed steps; cost every step, because a non-finite cost must stop
    the run at the step it happens (DivergedError). extra_fetches (e.g. a merged summary op), if
    given, is fetched on printed steps only, with the same run, and passed to on_print as a fifth
    argument. on_step(step, cost), if given, is called after every step (after on_print), for a
    progress line.
    """
    feed = {}
    window_start, window_images = time.perf_counter(), 0
    for step in range(start_step, steps):
        feed[model.input], feed[model.labels] = batches(step)
        try:
            if step % print_every == 0:
                fetches = [model.optimizer, model.cost, model.accuracy]
                if extra_fetches is not None:
                    fetches.append(extra_fetches)
                _, cost, accuracy, *extra = session.run(fetches, feed)
            else:
                _, cost = session.run([model.optimizer, model.cost], feed)
                accuracy = None
        except tf.errors.InvalidArgumentError as e:
            failure = _numerics_failure(e)
            if failure is None:
                raise
            raise DivergedError(step, tensor=failure[0], values=failure[1]) from e
        if not math.isfinite(cost):
            raise DivergedError(step, cost)
        window_images += batches.batch_size
        if accuracy is not None and on_print is not None:
            elapsed = time.perf_counter() - window_start
            on_print(step, float(cost), float(accuracy), window_images / elapsed if elapsed else 0.0, *extra)
            window_start, window_images = time.perf_counter(), 0
        if on_step is not None:
            on_step(step, float(cost))
        if save is not None and save_every and (step + 1) % save_every == 0:
            save(step + 1)
        if should_stop is not None and should_stop():
            return step + 1
    return max(start_step, steps)


def check_sound(session, model, batches, step):
    """Raises DivergedError unless the weights after `step` steps may be saved: every variable finite, and
    finite too the cost that step `step` computes with them (on its own batch, before its update). The
    loop judges divergence on that cost only, so without this check a save after the update that
    overflowed would write the very state whose cost is NaN, and a resumed run or //:predict restore it."""
    variables = session.graph.get_collection(tf.compat.v1.GraphKeys.TRAINABLE_VARIABLES)
    images, labels = batches(step)
    cost, values = session.run([model.cost, variables], {model.input: images, model.labels: labels})
    if not math.isfinite(cost):
        raise DivergedError(step, cost)  # the line the loop itself would say at that step
    for variable, value in zip(variables, values):
        if not np.isfinite(value).all():
            raise DivergedError(step, tensor=variable.op.name, values="NaN" if np.isnan(value).any() else "Inf")


def log_softmax(logits):
    """Per-image log-probabilities from logits, in float64 (stable for LTFN 5's huge logits)."""
    z = np.asarray(logits, np.float64)
    z = z - z.max(axis=1, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=1, keepdims=True))


def softmax(logits):
    """Per-image probabilities, as the graph's `predictions` (tf.nn.softmax) gives them."""
    return np.exp(log_softmax(logits))


def softmax_cross_entropy(logits, labels):
    """Per-image softmax cross-entropy, as tf.nn.softmax_cross_entropy_with_logits, in float64."""
    return -(labels * log_softmax(logits)).sum(axis=1)


def test_logits(session, model, images, batch_size):
    """Test inference as LTFN 2 teaches it: batches of `batch_size`, fetching only `logits`.

    Only `input` is fed (logits does not depend on `labels`), so no optimizer runs and no weight
    changes. Returns every image's logits, so the end-of-run pictures (mistakes, confusion) come
    from this one pass, not from a second one.
    """
    return np.concatenate([session.run(model.logits, {model.input: images[begin:begin + batch_size]})
                           for begin in range(0, len(images), batch_size)])


def score(logits, labels):
    """(cost, accuracy in %) of logits against one-hot labels, averaged over images, so an uneven
    last batch weighs by its size and the figures do not depend on the batch size."""
    cost = softmax_cross_entropy(logits, labels).mean()
    # argmax of logits is argmax of softmax(logits): predictions need not run either.
    correct = int((logits.argmax(axis=1) == labels.argmax(axis=1)).sum())
    return float(cost), 100.0 * correct / len(labels)


def evaluate(session, model, dataset, batch_size, input_shape):
    """score(test_logits(...)) of a dataset: (cost, accuracy in %), fetching only `logits`."""
    images = dataset.images.reshape((-1,) + tuple(input_shape))
    return score(test_logits(session, model, images, batch_size), dataset.labels)
