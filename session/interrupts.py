"""Ctrl-C (SIGINT) and SIGTERM in every phase of a run: each ends promptly and cleanly.

* While training, the first signal asks the loop to stop after the current step (`stop()` is true),
  so the checkpoint saved then is exactly a step boundary; a second one stops at once.
* In any other phase (loading, building, restoring, testing, writing the end-of-run files) a signal
  raises Interrupted at once, for the caller to say what was done and how to go on.
* Inside `critical()` (a checkpoint or run.json being written, logs being flushed) a signal waits for
  the block to end, so no file is left half written.
Standard library only (machine/quiet.py is too): it is installed before TensorFlow is imported.
"""

import _thread
import contextlib
import os
import signal
import sys
import threading

from machine import quiet

SIGNALS = (signal.SIGINT, signal.SIGTERM)


# A test's hook, called at the named points of a run (reached() below): tests/testing.py's wrapper sets it in the
# run's own process to send signals at an exact point. No flag, environment variable or file sets it, so a
# production run never has one.
test_hook = None


def reached(point):
    """The run is at `point` ("saving": inside a checkpoint's critical block, before it is written; "testing":
    the test pass has begun)."""
    if test_hook is not None:
        test_hook(point)


class Interrupted(BaseException):
    """A signal ended the run; at_once: it did not wait for a step boundary.

    A BaseException, as KeyboardInterrupt is: library code's `except Exception` (TensorFlow's graph
    building, inspect) must not take it for an error of its own."""

    def __init__(self, signum, at_once):
        super().__init__(signal.Signals(signum).name)
        self.signum = signum
        self.at_once = at_once

    @property
    def exit_code(self):
        return 128 + self.signum  # the shell's convention: 130 for SIGINT, 143 for SIGTERM


def exit_quietly(again=None):
    """Until Signals() takes over: a signal ends the process with one line and no traceback.
    again: the command that starts the program again, said in that line."""
    def handle(signum, frame):
        for sig in SIGNALS:
            signal.signal(sig, signal.SIG_IGN)  # a second signal does not print a second line
        quiet.restore_stderr()  # a signal while TensorFlow is imported: stderr is the terminal again
        _say("\n{} received while starting: stopped; nothing was written{}".format(
            signal.Signals(signum).name, "; to start again: " + again if again else ""))
        # Not SystemExit: raised inside a weakref callback or __del__ (the imports run the garbage
        # collector), Python would print it as ignored and go on starting.
        os._exit(128 + signum)
    for sig in SIGNALS:
        signal.signal(sig, handle)


def _say(line):
    """A line on stderr from a signal handler. Written to the descriptor, not through sys.stderr: the
    handler runs between two bytecodes of the main thread, which may be inside sys.stderr's own write
    (a progress line), and a second write there raises "reentrant call" (seen in CI)."""
    try:
        fd = sys.stderr.fileno()
    except (AttributeError, OSError, ValueError):  # not a real file (a test's captured stderr)
        print(line, file=sys.stderr, flush=True)
        return
    os.write(fd, (line + "\n").encode("utf-8", "replace"))


class Signals:

    def __init__(self):
        self.signum = None      # the first signal received
        self._training = False  # True: the first signal only asks the loop to stop after its step
        self._critical = 0
        self._pending = None    # an Interrupted waiting for the critical block to end
        self.redelivery = None  # the thread delivering again a signal whose Interrupted Python swallowed
        for sig in SIGNALS:
            signal.signal(sig, self._handle)
        self._unraisablehook = sys.unraisablehook
        sys.unraisablehook = self._unraisable

    def _handle(self, signum, frame):
        if isinstance(sys.exc_info()[1], Interrupted):
            return  # the run is already stopping (cleaning up, or printing its line): once is enough
        first = self.signum is None
        if first:
            self.signum = signum
        if first and self._training:
            _say("\n{} received: stopping after this step (Ctrl-C again to stop at once)".format(
                signal.Signals(signum).name))
            return
        interrupted = Interrupted(self.signum, at_once=True)
        if self._critical:
            self._pending = self._pending or interrupted
            return
        raise interrupted

    def _unraisable(self, unraisable):
        """An Interrupted raised where Python cannot raise (a weakref callback, __del__, the garbage
        collector) is printed as ignored and lost: the signal is delivered again instead, to be raised
        in the run's own code."""
        if isinstance(unraisable.exc_value, Interrupted):
            # From another thread, once this hook is left: here, the handler would raise inside the hook.
            hook_left = threading.Lock()
            hook_left.acquire()

            def deliver(signum=unraisable.exc_value.signum):
                with hook_left:
                    _thread.interrupt_main(signum)
            self.redelivery = threading.Thread(target=deliver, daemon=True)
            self.redelivery.start()
            hook_left.release()
        else:
            self._unraisablehook(unraisable)

    def finish(self):
        """The run has ended (done, or its last line about to be printed): later signals are ignored, so
        the exit code stands, and Python's shutdown (which would die of them) prints nothing."""
        for sig in SIGNALS:
            signal.signal(sig, signal.SIG_IGN)

    def __call__(self):
        """should_stop for trainer.train: true once a signal asked training to stop."""
        return self.signum is not None

    def check(self):
        """Raises Interrupted if a signal came while signals were only recorded (e.g. during training)."""
        if self.signum is not None:
            raise Interrupted(self.signum, at_once=False)

    @contextlib.contextmanager
    def training(self):
        self._training = True
        try:
            yield
        finally:
            self._training = False

    @contextlib.contextmanager
    def critical(self):
        self._critical += 1
        try:
            yield
        finally:
            self._critical -= 1
        if not self._critical and self._pending is not None:
            pending, self._pending = self._pending, None
            raise pending
