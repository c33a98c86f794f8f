"""What a run shows in TensorBoard beyond its graph: LTFN 6's histograms and traced session runs.

* histograms(nodes): one merged op of histogram summaries of every layer's output before its ReLU
  (`layer1_conv`, ..., `layer4_conv`; fc3's `layer1_linear`, `layer2_linear`), of `logits` and of
  `predictions`, tagged with the posts' names. Build it before graph.finalize(); fetch it only on
  printed steps (trainer.train's extra_fetches), so the other steps run exactly the graph they ran
  before.
* TraceFirstRun: a Session stand-in whose first run() is traced (RunOptions FULL_TRACE) and
  attached to the events, so TensorBoard's graph shows which nodes one training step and one test
  step actually ran: the visual answer to LTFN 2's question of what `optimizer` and `logits` run.
* activations: at the end of a run, the same tensors for a fixed batch of test images, as arrays
  (run.py has pictures/histograms.py store and draw them: `activations.npz`, `activations.png`).
* learned: at the end of a run, the first layer's weights and conv4's feature maps of one test image,
  as arrays (run.py has pictures/results.py draw them with the test pass's mistakes), and
  image_summary, a PNG for TensorBoard's Images tab.
The session side returns arrays; the drawing is pictures/' (imports point down: session/ draws nothing).
"""

import io

from PIL import Image
import tensorflow as tf


SCOPE = "histograms"
# A histogram op costs ~50 ns per value (a bucket search each), so a printed conv4 step with its
# 15 million pre-activations would cost more than a training step. Each histogram therefore counts
# the first images of the batch holding at least HISTOGRAM_VALUES values: 11 of 100 for conv4's
# layer1-2, 21 for layer3-4, every image for fc3, layer5, logits and predictions.
HISTOGRAM_VALUES = 1 << 19
# The first ACTIVATION_IMAGES test images: the same images for every run, so runs compare.
ACTIVATION_IMAGES = 500


def tag(tensor):
    """The posts' name of a tensor: `layer1/layer1_conv:0` -> `layer1_conv`, `logits:0` -> `logits`."""
    return tensor.op.name.split("/")[-1]


def histogram_tensors(nodes):
    """(tag, tensor) pairs of LTFN 6's histograms, in the order the posts show them."""
    tensors = list(nodes.pre_activations) + [nodes.logits, nodes.predictions]
    return [(tag(t), t) for t in tensors]


def histograms(nodes):
    """One op (a serialized Summary) holding a histogram of each of histogram_tensors(nodes).

    The ops sit under one `histograms` name scope so the learner's graph stays readable, while
    their tags stay the posts' own (`layer1_conv`, not `histograms/layer1_conv`): the same
    HistogramSummary op tf.compat.v1.summary.histogram builds, given its tag explicitly.
    A HistogramSummary fails on NaN or Inf, so only finite values are counted: a diverging run then
    stops with trainer.DivergedError as before, not with an error from its histograms.
    """
    with tf.compat.v1.name_scope(SCOPE):
        ops = []
        for name, tensor in histogram_tensors(nodes):
            with tf.compat.v1.name_scope(name) as scope:
                flat = tf.reshape(_first_images(tensor), [-1])
                finite = tf.boolean_mask(flat, tf.math.is_finite(flat))
                # name=scope: the op is `histograms/<tag>` itself, its helpers inside it.
                ops.append(tf.raw_ops.HistogramSummary(tag=name, values=finite, name=scope))
        return tf.raw_ops.MergeSummary(inputs=ops, name="merged")


def _first_images(tensor):
    per_image = 1
    for dim in tensor.shape[1:]:
        per_image *= int(dim)
    images = -(-HISTOGRAM_VALUES // per_image)  # ceil
    return tensor[:images]  # the whole batch if it is smaller


class TraceFirstRun:
    """Wraps a Session: the first run() is traced and its RunMetadata written to `writer` as `tag`.

    Later calls go straight to the session. Anything else (graph, close, ...) is the session's.
    """

    def __init__(self, session, writer, tag, step=None):
        self._session = session
        self._writer = writer
        self._tag = tag
        self._step = step
        self.traced = False

    def run(self, fetches, feed_dict=None, **kwargs):
        if self.traced:
            return self._session.run(fetches, feed_dict, **kwargs)
        self.traced = True
        options = tf.compat.v1.RunOptions(trace_level=tf.compat.v1.RunOptions.FULL_TRACE)
        metadata = tf.compat.v1.RunMetadata()
        result = self._session.run(fetches, feed_dict, options=options, run_metadata=metadata)
        self._writer.add_run_metadata(metadata, self._tag, self._step)
        return result

    def __getattr__(self, name):
        return getattr(self._session, name)


def activations(session, nodes, images):
    """One forward pass over `images` (input only: no labels, no optimizer, weights unchanged): the
    pre-ReLU outputs, logits and predictions, as [(tag, array)] (drawn by pictures/histograms.write)."""
    names, tensors = zip(*histogram_tensors(nodes))
    return list(zip(names, session.run(list(tensors), {nodes.input: images})))


FIRST_WEIGHTS = "layer1/layer1_weights"  # the posts' name of the first layer's weights


def feature_map_tensors(graph):
    """(scope, tensor) of each convolution's output after its ReLU and each pool, in the graph's order:
    `layer1`, `layer2`, `pool1`, ... for conv4; none for the fully connected networks."""
    return [(op.name.split("/")[0], op.outputs[0]) for op in graph.get_operations()
            if op.type in ("Relu", "MaxPool") and op.outputs[0].shape.rank == 4]


def learned(session, nodes, image):
    """What the network learned, as arrays (drawn by pictures/results.write): the first layer's weights, and
    [(scope, maps)] of each convolution and pool for one test `image` (flat), none for fc networks."""
    graph = nodes.input.graph
    weights = session.run([v for v in graph.get_collection(tf.compat.v1.GraphKeys.GLOBAL_VARIABLES)
                           if v.op.name == FIRST_WEIGHTS])[0]
    named = feature_map_tensors(graph)
    if not named:
        return weights, []
    values = session.run([t for _, t in named], {nodes.input: image.reshape((1,) + tuple(nodes.input.shape[1:]))})
    return weights, [(name, value[0]) for (name, _), value in zip(named, values)]


def image_summary(tag, png_path):
    """A PNG file as an image summary (TensorBoard's Images tab shows it as it is)."""
    with open(png_path, "rb") as f:
        encoded = f.read()
    with Image.open(io.BytesIO(encoded)) as image:
        width, height = image.size
    return tf.compat.v1.Summary(value=[tf.compat.v1.Summary.Value(tag=tag, image=tf.compat.v1.Summary.Image(
        height=height, width=width, colorspace=4, encoded_image_string=encoded))])
