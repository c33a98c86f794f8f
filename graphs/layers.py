"""The layers the posts build, written once and shared by every network.

Each layer lives in a variable scope named as in the posts' TensorBoard figures (`layer1`, ...), with
variables `<scope>_weights` and `<scope>_bias`. The output before a ReLU is named `<scope>_conv`
(convolutions) or `<scope>_linear` (fully connected) and collected under PRE_ACTIVATIONS, because
LTFN 6 reasons from histograms of exactly those tensors. (The final layer has no ReLU: its output is
`logits`, which LTFN 6 plots under that name.)
"""

import tensorflow as tf

from graphs import initializers

PRE_ACTIVATIONS = "pre_activations"


def _variables(scope, weights_shape, init, kind):
    w = tf.compat.v1.get_variable(
        scope + "_weights", weights_shape, tf.float32, initializer=initializers.weights(init, kind))
    b = tf.compat.v1.get_variable(
        scope + "_bias", weights_shape[-1:], tf.float32, initializer=initializers.bias())
    return w, b


def conv_relu(x, scope, filter_shape, init):
    """3x3 SAME convolution, stride 1, bias added before the ReLU (LTFN 5)."""
    with tf.compat.v1.variable_scope(scope):
        w, b = _variables(scope, filter_shape, init, "relu")
        conv = tf.nn.conv2d(x, w, strides=[1, 1, 1, 1], padding="SAME")
        # bias_add (not +) lets TensorFlow fuse Conv2D+BiasAdd+Relu into one kernel; same math.
        pre = tf.nn.bias_add(conv, b, name=scope + "_conv")
        tf.compat.v1.add_to_collection(PRE_ACTIVATIONS, pre)
        return tf.nn.relu(pre, name=scope + "_out")


def max_pool(x, scope):
    """2x2 max pooling with stride 2 (LTFN 5): halves height and width."""
    with tf.compat.v1.name_scope(scope):
        return tf.nn.max_pool2d(x, ksize=2, strides=2, padding="SAME", name=scope)


def dense(x, scope, units, init, relu):
    """Fully connected layer: matmul + bias, then a ReLU (LTFN 3) or, for the final layer, none."""
    with tf.compat.v1.variable_scope(scope):
        w, b = _variables(scope, [int(x.shape[-1]), units], init, "relu" if relu else "final")
        pre = tf.nn.bias_add(tf.matmul(x, w), b, name=scope + "_linear")
        if not relu:
            return pre
        tf.compat.v1.add_to_collection(PRE_ACTIVATIONS, pre)
        return tf.nn.relu(pre, name=scope + "_output")
