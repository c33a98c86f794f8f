"""The LTFN 4 convolution lab: `bazel run //:convolutions -- --example=stride --png=figures`.

Prints each example of "Intro to Convolutional Neural Networks" as grids of numbers (input, filters,
output, and how TensorFlow arrives at the output shape); --png also draws them, one PNG per example.
"""

import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from absl import flags

from graphs import posts
from machine import quiet
from programs import cli

FLAGS = flags.FLAGS

flags.DEFINE_enum("example", "all", ["all"] + list(posts.CONVOLUTION_EXAMPLES), "Which LTFN 4 example to show.")
flags.DEFINE_integer("seed", 0, "Seed for the random inputs and filters; the same seed shows the same numbers.",
                     lower_bound=0)
flags.DEFINE_string("png", "", "Also draw each example into <example>.png in this folder (created if missing).")

if __name__ == "__main__":
    cli.parse_command_line()  # before TensorFlow is imported (labs/convolutions.py): --help answers at once

quiet.import_tensorflow()  # without its start-up notes that are not about this run (machine/quiet.py)
import matplotlib  # noqa: E402

matplotlib.use("Agg")  # Files only: no display is needed, or wanted, on a build machine.

from labs import convolutions  # noqa: E402


def run(example="all", seed=0, png=""):
    """Prints the chosen examples (and draws them when png names a folder); returns the exit code."""
    try:
        png_dir = cli.make_writable_dir(cli.user_path(png), "png") if png else None
        names = convolutions.EXAMPLE_NAMES if example == "all" else (example,)
        for ex in convolutions.build_examples(seed, names):
            print(convolutions.format_example(ex))
            if png_dir:
                path = os.path.join(png_dir, ex.name + ".png")
                try:
                    convolutions.render_png(ex, path)
                except OSError as e:
                    raise cli.UsageError("cannot write {} ({})".format(path, e.strerror or e))
                print("Wrote {}\n".format(path))
    except cli.UsageError as e:
        print("error: {}".format(e), file=sys.stderr)
        return 1
    return 0


def main(argv):
    del argv  # cli.run_app has refused any extra argument
    return run(FLAGS.example, FLAGS.seed, FLAGS.png)


if __name__ == "__main__":
    cli.run_app(main)
