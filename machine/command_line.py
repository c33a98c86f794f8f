"""The command line every program (and the benchmark) reads: paths relative to where `bazel run` started,
absl's flags parsed before TensorFlow is imported, each mistake one line. programs/cli.py hands these to
the programs with the rest of what they share; bench/throughput.py, which imports no program, takes them
from here. Standard library and absl only.
"""

import os
import sys


def user_path(path):
    """Relative paths resolve against where `bazel run` was started, not Bazel's runfiles tree."""
    base = os.environ.get("BUILD_WORKING_DIRECTORY") or os.getcwd()
    return os.path.abspath(os.path.join(base, os.path.expanduser(path)))


def parse_flags(argv):
    """absl's flag parsing for app.run(main, flags_parser=cli.parse_flags): a bad flag value is one
    line (`error: flag --steps=-1: ...`) and exit 1, instead of absl's two-line FATAL message."""
    from absl import flags  # absl is only needed by the programs that use it
    try:
        return flags.FLAGS(argv)
    except flags.Error as e:
        print("error: {}; see --help".format(e), file=sys.stderr)
        sys.exit(1)


def parse_command_line(argv=None):
    """Parses the command line against the flags defined so far; --help, a bad flag value (one line,
    exit 1) and an extra argument (one line, exit 2) answer here and exit. Returns the arguments left.

    Every program calls it at module level, under `if __name__ == "__main__":`, after defining its
    flags and before importing TensorFlow, which takes seconds.
    """
    from absl import app
    app.define_help_flags()  # --help, --helpshort, --helpfull, --helpxml, as absl's app.run defines them
    args = parse_flags(sys.argv if argv is None else argv)
    if unexpected_arguments(args):
        sys.exit(2)
    return args


def run_app(main, argv=None):
    """sys.exit(main(args)) with the command line parsed by parse_command_line: absl's app.run for
    the programs here.

    Not app.run itself: TensorFlow, imported after absl's app has started, runs an app.call_after_init
    hook of its test harness that lists the GPUs, and on a machine without one that logs an `E` "failed
    call to cuInit" line that is about no run of ours.
    """
    sys.exit(main(parse_command_line(argv)))


def unexpected_arguments(argv):
    """absl hands back words that are not flags; say so in one line (True) rather than ignore them."""
    if len(argv) > 1:
        print("error: unexpected arguments {}; flags take the form --name=value (see --help)".format(
            " ".join(argv[1:])), file=sys.stderr)
        return True
    return False
