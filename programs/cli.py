"""What the command-line programs share: paths relative to where `bazel run` started, one-line errors."""

import argparse
import os
import sys


class UsageError(Exception):
    """Something the user can fix; reported as one line `error: ...` without a traceback, exit 1."""


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


def unexpected_arguments(argv):
    """absl hands back words that are not flags; say so in one line (True) rather than ignore them."""
    if len(argv) > 1:
        print("error: unexpected arguments {}; flags take the form --name=value (see --help)".format(
            " ".join(argv[1:])), file=sys.stderr)
        return True
    return False


def make_writable_dir(path, flag):
    """Creates the folder given by --flag, or refuses it in one line if it cannot be written."""
    try:
        os.makedirs(path, exist_ok=True)
    except OSError as e:
        raise UsageError("--{} {} cannot be created ({}); choose a folder you can write to".format(
            flag, path, e.strerror or e))
    if not os.access(path, os.W_OK | os.X_OK):
        raise UsageError("--{} {} is not writable; choose a folder you can write to".format(flag, path))
    return path


class ArgumentParser(argparse.ArgumentParser):
    """argparse whose mistakes raise UsageError (one line) instead of printing usage and exiting 2."""

    def error(self, message):
        raise UsageError(message)
