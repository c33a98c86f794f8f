"""LTFN 5-6: the four-layer ConvNet.

conv 3x3x1x64 -> conv 3x3x64x64 -> pool -> conv 3x3x64x128 -> conv 3x3x128x128 -> pool
-> reshape 7x7x128 = 6,272 -> fully connected -> 10 logits.
"""

import tensorflow as tf

from graphs import layers

INPUT_SHAPE = (28, 28, 1)


def inference(input, init):
    layer1_out = layers.conv_relu(input, "layer1", [3, 3, 1, 64], init)
    layer2_out = layers.conv_relu(layer1_out, "layer2", [3, 3, 64, 64], init)
    pool1 = layers.max_pool(layer2_out, "pool1")
    layer3_out = layers.conv_relu(pool1, "layer3", [3, 3, 64, 128], init)
    layer4_out = layers.conv_relu(layer3_out, "layer4", [3, 3, 128, 128], init)
    pool2 = layers.max_pool(layer4_out, "pool2")
    shape = pool2.shape.as_list()
    flat = tf.reshape(pool2, [-1, shape[1] * shape[2] * shape[3]], name="flatten")
    return layers.dense(flat, "layer5", 10, init, relu=False)
