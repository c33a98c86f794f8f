"""The posts' networks as tf.compat.v1 graphs: one module per post's network."""
