"""LTFN 1-2: the single-layer network, 784 pixels -> 10 logits."""

from graphs import layers

INPUT_SHAPE = (784,)


def inference(input, init):
    return layers.dense(input, "layer1", 10, init, relu=False)
