"""//:pitfalls — the classic TF1 graph-dependency traps, each run wrong and then right (issue 13; LTFN 2).

For each pitfall: the graph code of the wrong variant, printed from the very function that ran, and
what the session returned; why, from labs/deps' prediction and a traced run of the same session.run;
then the right variant, its code and its numbers. labs/pitfalls.py builds and runs them.

  bazel run //:pitfalls                          every pitfall
  bazel run //:pitfalls -- --pitfall=update_ops  one
  bazel run //:pitfalls -- --list                their names, one line each
  bazel run //:pitfalls -- --dot=pictures        each pitfall's wrong and right graphs side by side,
                                                 the nodes that ran in orange (SVG/PNG with Graphviz)
"""

import inspect
import os
import sys
import textwrap
import warnings

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from absl import flags

from machine import quiet
from programs import cli

FLAGS = flags.FLAGS

flags.DEFINE_string("pitfall", None, "Run only this pitfall (see --list). Default: all of them, in order.")
flags.DEFINE_bool("list", False, "Name every pitfall, one line each, and exit.")
flags.DEFINE_string("dot", None, "Also draw each pitfall's wrong and right graphs side by side into "
                    "<DIR>/<pitfall>.dot (and .svg/.png if Graphviz's `dot` is installed), the nodes that ran "
                    "in orange. The folder is created if missing.")
flags.DEFINE_string("data_dir", None, "A folder with MNIST's IDX files. Default: the embedded copy.")

if __name__ == "__main__":
    # TensorFlow takes seconds to import: a bad flag, an extra argument or --help answers before it.
    cli.parse_command_line()

quiet.import_tensorflow()  # without its start-up notes that are not about this run (machine/quiet.py)
import tensorflow as tf  # noqa: E402  (the imports from here on load TensorFlow)

from data import idx  # noqa: E402
from data import loader  # noqa: E402
from labs import deps  # noqa: E402
from labs import pitfalls  # noqa: E402


def format_value(value):
    """Numbers as a learner reads them: floats to 4 significant digits, lists and pairs spelled out."""
    if isinstance(value, float):
        return "{:.4g}".format(value) if abs(value) < 1e5 else "{:,.0f}".format(value)
    if isinstance(value, tuple):
        return " / ".join(format_value(v) for v in value)
    if isinstance(value, list):
        return "[" + ", ".join(format_value(v) for v in value) + "]"
    return str(value)


def print_code(functions):
    """Each function's own source, as it ran (inspect reads the module's file: never a copy)."""
    print("\n\n".join(textwrap.indent(inspect.getsource(f).rstrip(), "    ") for f in functions))


def print_side(title, side):
    print("{}:".format(title))
    print_code(side.code)
    print("  What the session returned:")
    for label, value in side.numbers:
        print("    {}: {}".format(label, format_value(value)))
    prediction = side.prediction
    print("  Why: labs/deps predicted that {} runs {} nodes; the traced run ran {} of them{}".format(
        side.fetch, len(prediction.runs), len(prediction.runs & side.ran),
        "" if side.ran <= prediction.runs else " (and {} more)".format(len(side.ran - prediction.runs))))
    unseen = sorted(prediction.runs - side.ran)
    if unseen:
        types = [side.graph.get_operation_by_name(n).type for n in unseen]
        print("    predicted, not in the trace under their own names: {}{}".format(
            ", ".join("{} ({})".format(n, t) for n, t in list(zip(unseen, types))[:6]) +
            (", ..." if len(unseen) > 6 else ""),
            " (TensorFlow lowers tf.cond's If ops into Switch/Merge nodes before it runs them)"
            if any(t.endswith("If") for t in types) else ""))
    if prediction.required:
        print("    feeds it needs: {}".format(", ".join(prediction.required)))
    for name in prediction.unused_feeds:
        print("    fed but not needed: {} (TensorFlow accepts it and ignores it: the fetch does not "
              "depend on it)".format(name[:-2] if name.endswith(":0") else name))
    for name in sorted(prediction.fed - set(prediction.required)):
        print("    fed: {} ({}: the fed value replaces it, so nothing upstream of it runs)".format(
            name, side.graph.get_operation_by_name(name).type))
    for w in side.watch:
        predicted = ("inside a function: not a graph node" if w.predicted is None else
                     "predicted to run" if w.predicted else "predicted NOT to run")
        print("    {} ({}): {}; traced: {}".format(w.node, w.what, predicted, "ran" if w.ran else "did NOT run"))


def write_picture(name, result, folder):
    # Orange is what the trace saw run; a fed tensor did not run (to_dot would colour it as active).
    panels = [("\n".join(["{}: {}".format(title, side.fetch)] + [
                  "{}: {}".format(w.node, "ran" if w.ran else "did NOT run") for w in side.watch]),
               side.graph, side.prediction._replace(runs=side.ran, fed=set()))
              for title, side in (("wrong", result.wrong), ("right", result.right))]
    text = deps.to_dot_panels(name, "{}: the orange nodes ran (traced)".format(name), panels)
    return deps.write_dot(text, os.path.join(folder, name + ".dot"))


def run(names, data, dot_folder=None):
    written = []
    for name in names:
        pitfall = pitfalls.PITFALLS[name]
        print("=" * 100)
        print("{}: {}".format(name, pitfall.summary))
        print("Rule: {}".format(pitfall.rule))
        print()
        result = pitfall.run(data)
        print_side("Wrong", result.wrong)
        print()
        print_side("Right", result.right)
        print()
        if dot_folder:
            paths = write_picture(name, result, dot_folder)
            print("Picture: {}".format(", ".join(paths)))
            written.append(paths)
    if dot_folder and written and all(len(p) == 1 for p in written):
        print("Graphviz's `dot` is not installed, so only DOT files were written; to render them: "
              "apt-get install graphviz, then dot -Tsvg {} -o {}.svg".format(
                  written[0][0], os.path.splitext(written[0][0])[0]))


def main(argv):
    tf.compat.v1.disable_eager_execution()  # the posts are TF1 graphs
    tf.compat.v1.logging.set_verbosity(tf.compat.v1.logging.ERROR)
    # tf_keras warns that TF1 layers are deprecated; they are the subject here.
    warnings.filterwarnings("ignore", category=UserWarning, module=r"tf_keras\.")
    warnings.filterwarnings("ignore", message=r".*tf\.layers\.batch_normalization.*")
    if FLAGS.list:
        width = max(len(n) for n in pitfalls.PITFALLS)
        for name, pitfall in pitfalls.PITFALLS.items():
            print("{:<{w}}  {}".format(name, pitfall.summary, w=width))
        return 0
    names = list(pitfalls.PITFALLS)
    if FLAGS.pitfall is not None:
        if FLAGS.pitfall not in pitfalls.PITFALLS:
            print("error: --pitfall={}: no such pitfall; choose one of {}".format(
                FLAGS.pitfall, ", ".join(pitfalls.PITFALLS)), file=sys.stderr)
            return 1
        names = [FLAGS.pitfall]
    try:
        folder = cli.make_writable_dir(cli.user_path(FLAGS.dot), "dot") if FLAGS.dot else None
        data = loader.load_mnist(cli.user_path(FLAGS.data_dir) if FLAGS.data_dir else None)
        run(names, data, folder)
    except (cli.UsageError, deps.DepsError, idx.IdxError) as e:
        print("error: {}".format(e), file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("error: interrupted; the pitfalls printed above are complete", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    cli.run_app(main)
