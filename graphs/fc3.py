"""LTFN 3: the deeper network, 784 -> 500 -> 500 -> 10 with ReLUs."""

from graphs import layers

INPUT_SHAPE = (784,)


def inference(input, init):
    layer1_output = layers.dense(input, "layer1", 500, init, relu=True)
    layer2_output = layers.dense(layer1_output, "layer2", 500, init, relu=True)
    return layers.dense(layer2_output, "layer3", 10, init, relu=False)
