"""LTFN 6's histograms as pictures, without a server: `bazel run //:report -- RUN_DIR... [--out=FILE.png]`.

Draws the `activations.npz` of several runs side by side (rows: layers; columns: runs), so LTFN 6's
comparison of initializers is one picture; pictures/histograms.py stores and draws them. Runs that
have `pictures.npz` also get their mistakes, confusion matrices, first-layer weights and
(conv4) feature maps side by side, beside --out: `<out>_mistakes.png` ... (pictures/results.py).
"""

import os
import sys

from pictures import figures
from pictures import histograms
from pictures import results
from programs import cli


def main(argv=None):
    parser = cli.ArgumentParser(prog="bazel run //:report --", description=__doc__.splitlines()[0])
    parser.add_argument("run_dirs", nargs="*", metavar="RUN_DIR", help="run folders (runs/<net>-<init>-<time>)")
    parser.add_argument("--out", default="report.png",
                        help="PNG to write; relative paths: where `bazel run` was started (default report.png)")
    try:
        args = parser.parse_args(argv)
        if not args.run_dirs:
            raise cli.UsageError("name at least one run folder: bazel run //:report -- runs/A runs/B")
        runs = [histograms.load(cli.user_path(d)) for d in args.run_dirs]
        out = cli.user_path(args.out)
        try:
            histograms.plot(runs, out)
            print("{}: {} runs x {} rows".format(out, len(runs), len(histograms.rows(runs))))
            side_by_side(args.run_dirs, out)
        except OSError as e:
            raise cli.UsageError("--out {} cannot be written ({})".format(out, e.strerror or e))
    except (cli.UsageError, figures.RunFolderError) as e:
        print("error: {}".format(e), file=sys.stderr)
        return 1
    return 0


def side_by_side(run_dirs, out):
    """The end-of-run pictures of every run side by side, each kind that all of them have (feature
    maps: the conv4 runs), written beside out as <out>_<kind>.png."""
    try:
        runs = [results.load(cli.user_path(d)) for d in run_dirs]
    except figures.RunFolderError as e:
        print("no side-by-side pictures: {}".format(e))
        return
    stem = os.path.splitext(out)[0]
    for kind in results.KINDS:
        having = [run for run in runs if kind in run.kinds()]
        if having:
            path = results.plot(kind, having, "{}_{}.png".format(stem, kind))
            print("{}: {} of {} runs".format(path, results.TITLES[kind].lower(), len(having)))


if __name__ == "__main__":
    sys.exit(main())
