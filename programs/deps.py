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

import collections
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

quiet.import_tensorflow()  # without its start-up notes about a missing GPU (machine/quiet.py)
import tensorflow as tf  # noqa: E402  (the imports from here on load TensorFlow)

from data import idx  # noqa: E402
from data import loader  # noqa: E402
from graphs import deps  # noqa: E402


def _list(names, limit=8):
    names = list(names)
    shown = ", ".join(names[:limit])
    return shown + (", ... ({} in all)".format(len(names)) if len(names) > limit else "")


def print_prediction(graph, prediction, fetch_text):
    print("Fetch: {}".format(fetch_text))
    print("Feeds required: {}".format(", ".join(prediction.required) or "none"))
    for name in prediction.unfed:
        print("  NOT fed: {}  (session.run will fail on it)".format(name))
    for name in prediction.unused_feeds:
        name = name[:-2] if name.endswith(":0") else name
        print("  fed but not needed: {}  (TensorFlow accepts it and ignores it)".format(name))
    for name in sorted(prediction.fed - set(prediction.required)):
        print("  fed: {}  (nothing upstream of it runs)".format(name))
    counts = deps.scope_counts(graph, prediction.runs)
    total = sum(t for _, t in counts.values())
    print("Will run: {} of {} nodes (extract_sub_graph of the fetch, minus what feeds cut off)".format(
        len(prediction.runs), total))
    width = max(len(s) for s in counts)
    for scope, (inside, all_) in counts.items():
        if inside:
            note = " (NOT fed)" if scope in prediction.unfed else "" if inside == all_ else " (partly)"
            print("  {:<{w}}  {:>4} of {}{}".format(scope, inside, all_, note, w=width))
    partial = [s for s, (inside, all_) in counts.items() if 0 < inside < all_]
    if partial:
        # The rest of a partly running scope: the variables' initializers (they run with `init`),
        # and nodes only other fetches use (e.g. the gradient with respect to labels, never needed).
        rest = [op for op in graph.get_operations()
                if deps.scope_of(op.name) in partial and op.name not in prediction.runs]
        initializers = deps.initializer_nodes(graph)
        others = collections.Counter(op.type for op in rest if op.name not in initializers)
        print("  (partly): their other {} nodes do not run: {} variable initializers (those run with "
              "`init`){}".format(len(rest), len(rest) - sum(others.values()),
                                 ", " + ", ".join("{} {}".format(k, t) for t, k in others.most_common())
                                 if others else ""))
    not_run = [s for s, (inside, _) in counts.items() if not inside]
    fed_scopes = {deps.scope_of(n) for n in prediction.fed}
    print("Will NOT run (whole scopes): {}".format(", ".join(
        s + (" (fed)" if s in fed_scopes else "") for s in not_run) or "none"))


def print_verification(graph, prediction, trace, batch_size, rewrites):
    c = deps.compare(graph, prediction, trace, rewrites)
    how = ("TensorFlow's default graph rewrites ON (--grappler)" if rewrites else
           "Grappler's graph rewrites switched OFF for the trace, so node names survive")
    print("Verified: one traced run (FULL_TRACE, batch of {}; {}):".format(batch_size, how))
    print("  {} of {} predicted nodes ran under their own names".format(len(c.matched), c.predicted))
    by_source = {}
    for name, (into, op) in sorted(c.fused.items()):
        by_source.setdefault(deps.fusion_source(op, rewrites), []).append("{} into {} ({})".format(name, into, op))
    for source, items in by_source.items():
        print("  + {} fused into the node after them by {}: {}".format(len(items), source, _list(items, 6)))
    if c.removed:
        print("  ~ {} did not run under their names: Grappler (on with --grappler) folded, pruned or merged "
              "them; not traced one to one: {}".format(len(c.removed), _list(c.removed)))
    print("  = {} of {} predicted nodes accounted for{}; {} unexplained".format(
        len(c.matched) + len(c.fused) + len(c.removed), c.predicted,
        " ({} only as Grappler's)".format(len(c.removed)) if c.removed else "",
        len(c.missing) + len(c.extra)))
    if c.added:
        print("  also ran: {} nodes Grappler made (names not in the graph): {}".format(
            len(c.added), _list(c.added)))
    if not trace.nodes:
        print("  (no step ran: every fetch was fed, so session.run handed the fed values straight back)")
    for node, op in sorted(c.feeds.items()):
        print("  also ran: {}  (carries the value fed for {}; the {} itself did not run)".format(
            node, op, graph.get_operation_by_name(op).type))
    for node, why in c.runtime.items():
        print("  also ran: {}  ({})".format(node, why))
    targets = {into for into, _ in c.fused.values()}
    kernels = [(n, k[1]) for n, k in sorted(c.kernels.items()) if n not in targets and k[1] != "Const"]
    folded = [n for n, k in sorted(c.kernels.items()) if k[1] == "Const"]
    if folded:
        print("  {} ran as constants: Grappler folded what they compute: {}".format(len(folded), _list(folded)))
    if kernels:
        print("  {} more ran under their own names with a specialised kernel: {}".format(
            len(kernels), _list("{} as {}".format(n, k) for n, k in kernels)))
    for name in c.missing:
        print("  UNEXPLAINED: {} was predicted but did not run".format(name))
    for name in c.extra:
        print("  UNEXPLAINED: {} ran but was not predicted".format(name))
    return not c.missing and not c.extra


def print_shapes(rows, batch_size):
    print("Shapes (LTFN 2): static shape in the graph, and the shape a batch of {} produced".format(batch_size))
    w0 = max([len(r.name) for r in rows] + [4])
    w1 = max([len(r.op) for r in rows] + [2])
    w2 = max([len(r.static) for r in rows] + [6])
    print("  {:<{}}  {:<{}}  {:<{}}  {}".format("node", w0, "op", w1, "static", w2, "run"))
    for r in rows:
        print("  {:<{}}  {:<{}}  {:<{}}  {}".format(r.name, w0, r.op, w1, r.static, w2, r.run or "-"))
    if any(r.run and r.run.endswith("*") for r in rows):
        print("  * fused away in the traced run; shape from fetching the tensor itself")
    print("  ? is the None batch dimension: the same graph runs batches of 1, 10, {} ...".format(batch_size))


def load_batch(size):
    try:
        data = loader.load_mnist(cli.user_path(FLAGS.data_dir) if FLAGS.data_dir else None)
    except idx.IdxError as e:
        raise deps.DepsError(str(e))
    if size > len(data.test.images):
        raise deps.DepsError("--batch {} is more than the {} test images".format(size, len(data.test.images)))
    return loader.DataSet(data.test.images[:size], data.test.labels[:size])


def explain(net, fetches, feeds, batch, rewrites=False, shapes=False, dot_path=None, init=None,
            learning_rate=None, seed=0):
    """The whole report; returns the exit code. `batch()` returns the loader.DataSet to feed."""
    init = init or posts.DEFAULT_INIT[net]
    learning_rate = learning_rate or posts.settings(net, init).learning_rate
    graph, _, init_op = deps.build(net, init, learning_rate, seed)
    fetch_elements = deps.resolve_fetches(graph, fetches)
    feed_tensors = deps.resolve_feeds(graph, feeds) if feeds is not None else None
    prediction = deps.predict(graph, fetch_elements, feed_tensors)
    if feed_tensors is None:
        feed_tensors = [graph.get_tensor_by_name(n + ":0") for n in prediction.required]
    dot_written = None  # written first: an unwritable --dot fails before any output
    if dot_path:
        caption = "{}: session.run({}) runs the orange nodes".format(net, ", ".join(fetches))
        dot_written = deps.write_dot(deps.to_dot(graph, prediction, net, caption), dot_path)

    print("LTFN 2 — what session.run executes in {} (init {})".format(net, init))
    print_prediction(graph, prediction, ", ".join(fetches))

    data = batch()  # loaded only now: a mistyped name fails fast, before MNIST is read
    trace = deps.traced_run(graph, init_op, fetch_elements, feed_tensors, data, rewrites)
    code = 0
    if trace.error:
        print("Ran it: TensorFlow raised {}".format(trace.error))
        if prediction.unfed:
            missing = prediction.unfed[0]
            path = deps.dependency_path(prediction, missing)
            print("Why: {} depends on {} through {}, and every placeholder in the fetched sub-graph must "
                  "be fed; feed {} too, or fetch something that does not need it (e.g. logits).".format(
                      path[0], missing, deps.describe_path(graph, path), " and ".join(prediction.unfed)))
            print("  (the dependency: {})".format(" <- ".join(path)))
        else:
            print("UNEXPLAINED: the prediction said this fetch could run with these feeds", file=sys.stderr)
            code = 1
    else:
        if prediction.unfed:
            print("UNEXPLAINED: the run succeeded without feeding {}".format(", ".join(prediction.unfed)))
            code = 1
        if not print_verification(graph, prediction, trace, len(data.images), rewrites):
            code = 1
        if shapes:
            def fetch_directly(tensors):
                with tf.compat.v1.Session(graph=graph, config=deps.session_config(rewrites)) as session:
                    session.run(init_op)
                    return session.run(tensors, deps.feed_dict(graph, feed_tensors, data))
            print_shapes(deps.shape_rows(graph, prediction, trace, fetch_directly), len(data.images))
    if dot_written:
        print("Graph: {}".format(", ".join(dot_written)))
        if len(dot_written) == 1:
            print("  render it: apt-get install graphviz, then dot -Tsvg {} -o graph.svg".format(dot_written[0]))
    return code


def main(argv):
    del argv  # cli.run_app has refused any extra argument
    # The posts are TF1 programs: graphs, placeholders and sessions, no eager execution.
    tf.compat.v1.disable_eager_execution()
    try:
        return explain(FLAGS.net, FLAGS.fetch, FLAGS.feed, lambda: load_batch(FLAGS.batch), rewrites=FLAGS.grappler,
                       shapes=FLAGS.shapes, dot_path=cli.user_path(FLAGS.dot) if FLAGS.dot else None,
                       init=FLAGS.init, learning_rate=FLAGS.learning_rate, seed=FLAGS.seed)
    except deps.DepsError as e:
        print("error: {}".format(e), file=sys.stderr)
        return 1


if __name__ == "__main__":
    cli.run_app(main)
