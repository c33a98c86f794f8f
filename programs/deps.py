"""What session.run executes, and what it must be fed (LTFN 2): `bazel run //:deps -- --fetch=logits`.

Predicts the nodes a fetch runs (TensorFlow's extract_sub_graph, minus what feeds cut off) and the
placeholders it needs, proves it with one traced run on a real MNIST batch, and can show the shapes
(`--shapes`) and draw the graph (`--dot`).

  --fetch=logits                  needs only input; cost, gradients, optimizer do not run
  --fetch=optimizer               needs input and labels; runs gradients/ and every variable update
  --fetch=cost --feed=input       the mistake: feeds only input, shows the error TensorFlow raises and
                                  why (exit 0: a lesson asked for with --feed, not a failure)
  --shapes --batch=283            static shapes with ? for the None batch, beside the run shapes
  --dot=graph.dot                 DOT (and SVG/PNG if Graphviz is installed) with the fetch in orange

Exit 1 (one line on stderr): an unknown name, an unwritable --dot path, a prediction the traced run
does not confirm.
"""

import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from absl import flags

from graphs import posts
from machine import quiet
from programs import cli

FLAGS = flags.FLAGS

flags.DEFINE_enum("net", "conv4", sorted(posts.NETS), "Network: linear (LTFN 1-2), fc3 (LTFN 3), conv4 (LTFN 5-6).")
flags.DEFINE_list("fetch", ["logits"], "What to pass to session.run: logits, cost, optimizer, accuracy, "
                  "predictions, or any op/tensor name; comma-separated for several.")
flags.DEFINE_list("feed", None, "What to feed. Default: exactly the placeholders the fetch needs. Listing "
                  "fewer demonstrates TensorFlow's error (e.g. --fetch=cost --feed=input): printed with why, "
                  "exit 0. A non-placeholder tensor may be fed too: nothing upstream of it then runs.")
flags.DEFINE_integer("batch", 100, "MNIST test images in the traced run's batch (1 to 10,000).", lower_bound=1)
flags.DEFINE_bool("shapes", False, "Print each node's static shape (? = None batch) beside its shape in the run.")
flags.DEFINE_string("dot", None, "Write the graph, collapsed by top-level scope, as Graphviz DOT with the "
                    "fetched sub-graph in orange; also SVG and PNG beside it if `dot` is installed.")
flags.DEFINE_bool("grappler", False, "Trace with TensorFlow's default graph rewrites (Grappler) on. Off by "
                  "default, so the trace can be compared node by node with the GraphDef.")
flags.DEFINE_enum("init", None, list(posts.INITS), "Weight initialization. Default: the post's for --net.")
flags.DEFINE_float("learning_rate", None, "Learning rate baked into `optimizer`. Default: the post's.")
flags.DEFINE_integer("seed", 0, "Random seed for the weights.")
flags.DEFINE_string("data_dir", None, "A folder with MNIST's IDX files. Default: the embedded copy.")

if __name__ == "__main__":
    cli.parse_command_line()  # before TensorFlow is imported: a bad flag or --help answers at once

quiet.import_tensorflow()  # without its start-up notes that are not about this run (machine/quiet.py)
import tensorflow as tf  # noqa: E402  (the imports from here on load TensorFlow)

from data import idx  # noqa: E402
from data import loader  # noqa: E402
from labs import deps  # noqa: E402


def load_batch(size):
    try:
        data = loader.load_mnist(cli.user_path(FLAGS.data_dir) if FLAGS.data_dir else None)
    except idx.IdxError as e:
        raise deps.DepsError(str(e))
    if size > len(data.test.images):
        raise deps.DepsError("--batch {} is more than the {} test images".format(size, len(data.test.images)))
    return loader.DataSet(data.test.images[:size], data.test.labels[:size])


def main(argv):
    del argv  # cli.run_app has refused any extra argument
    # The posts are TF1 programs: graphs, placeholders and sessions, no eager execution.
    tf.compat.v1.disable_eager_execution()
    try:
        return deps.explain(FLAGS.net, FLAGS.fetch, FLAGS.feed, lambda: load_batch(FLAGS.batch), rewrites=FLAGS.grappler,
                       shapes=FLAGS.shapes, dot_path=cli.user_path(FLAGS.dot) if FLAGS.dot else None,
                       init=FLAGS.init, learning_rate=FLAGS.learning_rate, seed=FLAGS.seed)
    except deps.DepsError as e:
        print("error: {}".format(e), file=sys.stderr)
        return 1


if __name__ == "__main__":
    cli.run_app(main)
