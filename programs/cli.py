"""What the command-line programs share: paths relative to where `bazel run` started, one-line errors
(the training progress line is the session loop's: session/progress.py). The command line itself
(user_path, parse_command_line, run_app) is machine/command_line.py's, handed on here as cli.NAME."""

import argparse
import os

# Below every room, so that the benchmark, which imports no program, reads its command line the same way.
from machine.command_line import parse_command_line, parse_flags, run_app, unexpected_arguments, user_path  # noqa: F401


class UsageError(Exception):
    """Something the user can fix; reported as one line `error: ...` without a traceback, exit 1."""


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


def missing_dirs(path):
    """The folders that creating `path` would make, deepest first ([] if it exists)."""
    missing = []
    path = os.path.abspath(path)
    while not os.path.exists(path):
        missing.append(path)
        parent = os.path.dirname(path)
        if parent == path:
            break
        path = parent
    return missing


def remove_empty_dirs(paths):
    """Removes those of `paths` that are empty, deepest first: what a refused run made goes again."""
    for path in sorted(set(paths), key=lambda p: p.count(os.sep), reverse=True):
        try:
            os.rmdir(path)
        except OSError:
            pass  # not empty (something else is in it now) or already gone: leave it


class ArgumentParser(argparse.ArgumentParser):
    """argparse whose mistakes raise UsageError (one line) instead of printing usage and exiting 2."""

    def error(self, message):
        raise UsageError(message)
