"""The settings that reproduce each post's figures, and the figures themselves.

Imports no TensorFlow: the programs define their flags from the names here and answer a bad flag or
--help before TensorFlow is imported (graphs/model.NETS and graphs/initializers.INITS are these names).

Steps and learning rates the posts leave unsaid come from the original code's history (docs/flags.md):
LTFN 1-2 train the single layer at 0.01 (LTFN 2's output has 20 printed lines: 2,000 steps), LTFN 3
trains fc3 at 0.0001, LTFN 6 trains conv4 for 5,000 steps at 0.001. With `random_normal` weights and
the bias before the ReLU (as LTFN 5's text says), 0.0001 kills every ReLU within 100 steps; 0.000001
keeps the ConvNet in the regime LTFN 5 shows (huge cost, roughly 80 % accuracy).
"""

import collections

Settings = collections.namedtuple("Settings", ["learning_rate", "steps"])
Figure = collections.namedtuple("Figure", ["post", "test_cost", "test_accuracy"])

# --net: the posts' networks (graphs/model.NETS maps each to its module).
NETS = ("linear", "fc3", "conv4")
# --init: the weight initializations of LTFN 6 (graphs/initializers.py implements them).
INITS = ("random_normal", "small", "xavier", "variance_scaling")

# LTFN 4's examples, in the post's order (labs/convolutions.py builds them; //:convolutions --example).
CONVOLUTION_EXAMPLES = ("valid", "edges", "same", "stride", "depth_in", "depth_out", "max_pool")

# The init each post used for each network when --init is not given.
DEFAULT_INIT = {"linear": "random_normal", "fc3": "random_normal", "conv4": "variance_scaling"}

_NET_SETTINGS = {
    "linear": Settings(learning_rate=0.01, steps=2000),
    "fc3": Settings(learning_rate=0.0001, steps=5000),
    "conv4": Settings(learning_rate=0.001, steps=5000),
}
_OVERRIDES = {("conv4", "random_normal"): Settings(learning_rate=0.000001, steps=5000)}

# The posts' reported test figures (their runs were unseeded).
FIGURES = {
    ("linear", "random_normal"): Figure("LTFN 2", 2.392377197146416, 59.48999986052513),
    ("fc3", "random_normal"): Figure("LTFN 3", 107.98408660641905, 85.74999994039536),
    ("conv4", "random_normal"): Figure("LTFN 5", 15083.0833307, 81.8799999356),
    ("conv4", "small"): Figure("LTFN 6", 2.3025865221, 5.01999998465),
    ("conv4", "variance_scaling"): Figure("LTFN 6", 0.0945288215741, 97.2900004387),
}


# The rows //:reproduce runs: (net, init, precision). Each post's row in float32, the posts' arithmetic;
# then issue 15's rows in bfloat16, each held to its float32 row's band: conv4 / variance_scaling (the
# main job), and fc3 / random_normal, where the rewrite turns matmuls (not convolutions) into bfloat16
# and random_normal's activations run into the hundreds (a test cost over 100), so bfloat16's 8-bit
# mantissa has the most room to move the figures; it takes seconds, not minutes.
ROWS = [(net, init, "float32") for net, init in FIGURES] + [
    ("conv4", "variance_scaling", "bfloat16"),
    ("fc3", "random_normal", "bfloat16"),
]


def settings(net, init):
    """The learning rate and step count that reproduce the post for (net, init)."""
    return _OVERRIDES.get((net, init), _NET_SETTINGS[net])

# Where a faithful, seeded run should land (the posts' runs were unseeded): (accuracy % low, high),
# (test cost low, high).
BANDS = {
    ("linear", "random_normal"): ((50.0, 70.0), (0.0, float("inf"))),
    ("fc3", "random_normal"): ((80.0, 92.0), (0.0, float("inf"))),
    ("conv4", "random_normal"): ((70.0, 92.0), (1000.0, float("inf"))),
    ("conv4", "small"): ((0.0, 20.0), (2.3026 - 0.01, 2.3026 + 0.01)),
    ("conv4", "variance_scaling"): ((96.5, 100.0), (0.0, 0.15)),
}


def in_band(net, init, test_cost, test_accuracy):
    (acc_low, acc_high), (cost_low, cost_high) = BANDS[(net, init)]
    return acc_low <= test_accuracy <= acc_high and cost_low <= test_cost <= cost_high
