"""What the command-line programs share: paths relative to where `bazel run` started, one-line errors."""

import argparse
import datetime
import os
import sys
import time


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


class Progress:
    """Training progress on stderr: step/total, images/s, ETA and the last cost.

    On a terminal it is one line rewritten in place (at most every `interval` seconds); otherwise
    (a pipe, a file, the tests, //:reproduce) a plain line on each printed step, as a log would have.
    clear() removes the in-place line before other output is written, so lines never mix.
    """

    def __init__(self, total_steps, batch_size, stream=None, interval=0.25, rate_window=1.0, clock=None):
        self.stream = stream or sys.stderr
        self.tty = self.stream.isatty()
        self.total_steps = total_steps
        self.batch_size = batch_size
        self.interval = interval
        self.rate_window = rate_window
        self.clock = clock or time.monotonic
        self._shown = False
        self._mark = None  # (time, steps done) where the current rate window began
        self._last_draw = None
        self.rate = 0.0

    def line(self, step, cost):
        left = (self.total_steps - step - 1) * self.batch_size / self.rate if self.rate else None
        eta = "?" if left is None else str(datetime.timedelta(seconds=round(left)))
        rate = "{:.0f}".format(self.rate) if self.rate else "?"
        return "step {}/{}  {} images/s  ETA {}  cost {:.6g}".format(step, self.total_steps, rate, eta, cost)

    def step(self, step, cost, printed=False):
        """Called after each completed step; printed=True on the steps that print Cost/Accuracy."""
        now = self.clock()
        if self._mark is None:
            # The first step of a session is slow (graph setup): the rate is measured from after it.
            self._mark = (now, step + 1)
            self._last_draw = now
        elif now - self._mark[0] >= self.rate_window or (printed and not self.rate and now > self._mark[0]):
            # (A printed step before the first full window, e.g. a fast net: the rate so far, not "?".)
            self.rate = (step + 1 - self._mark[1]) * self.batch_size / (now - self._mark[0])
            self._mark = (now, step + 1)
        if self.tty:
            if printed or now - self._last_draw >= self.interval:
                self._last_draw = now
                self.stream.write("\r" + self.line(step, cost) + "\x1b[K")
                self.stream.flush()
                self._shown = True
        elif printed:
            print(self.line(step, cost), file=self.stream, flush=True)

    def clear(self):
        """Erases the in-place line (a terminal only), so the next output starts a clean line."""
        if self._shown:
            self.stream.write("\r\x1b[K")
            self.stream.flush()
            self._shown = False
