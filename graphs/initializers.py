"""Weight initialization, the subject of LTFN 6: the one place that maps --init to initializers.

Layers ask by kind: "relu" for layers followed by a ReLU, "final" for the layer producing logits.
The TF1 semantics the posts used (tf.contrib names) are kept exactly:
  random_normal     tf.random_normal, stddev 1 (LTFN 1-5)
  small             tf.random_normal * 0.01 (LTFN 6's first attempt)
  xavier            tf.contrib.layers.xavier_initializer(): Glorot *uniform*, every layer
  variance_scaling  tf.contrib.layers.variance_scaling_initializer() (He: factor 2, fan-in, truncated
                    normal) on ReLU layers, Xavier on the final layer, as LTFN 6 recommends
Biases start at zero in every scheme.
"""

import tensorflow as tf

from graphs import posts

INITS = posts.INITS
KINDS = ("relu", "final")


def weights(init, kind):
    """The initializer for the weights of a layer of `kind` under scheme `init`."""
    if init not in INITS:
        raise ValueError("unknown init {!r}; choose one of {}".format(init, ", ".join(INITS)))
    if kind not in KINDS:
        raise ValueError("unknown layer kind {!r}; choose one of {}".format(kind, ", ".join(KINDS)))
    if init == "random_normal":
        return tf.compat.v1.random_normal_initializer(mean=0.0, stddev=1.0)
    if init == "small":
        # N(0, 1) * 0.01 is N(0, 0.01^2): the same distribution as the post's multiplied weights.
        return tf.compat.v1.random_normal_initializer(mean=0.0, stddev=0.01)
    if init == "variance_scaling" and kind == "relu":
        return tf.compat.v1.variance_scaling_initializer(
            scale=2.0, mode="fan_in", distribution="truncated_normal")
    return tf.compat.v1.glorot_uniform_initializer()


def bias():
    return tf.compat.v1.zeros_initializer()
