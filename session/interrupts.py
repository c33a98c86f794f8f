"""Ctrl-C (SIGINT) and SIGTERM in every phase of a run: each ends promptly and cleanly.

* While training, the first signal asks the loop to stop after the current step (`stop()` is true),
  so the checkpoint saved then is exactly a step boundary; a second one stops at once.
* In any other phase (loading, building, restoring, testing, writing the end-of-run files) a signal
  raises Interrupted at once, for the caller to say what was done and how to go on.
* Inside `critical()` (a checkpoint or run.json being written, logs being flushed) a signal waits for
  the block to end, so no file is left half written.
Standard library only: it is installed before TensorFlow is imported.
"""

import contextlib
import signal
import sys

SIGNALS = (signal.SIGINT, signal.SIGTERM)


class Interrupted(Exception):
    """A signal ended the run; at_once: it did not wait for a step boundary."""

    def __init__(self, signum, at_once):
        super().__init__(signal.Signals(signum).name)
        self.signum = signum
        self.at_once = at_once

    @property
    def exit_code(self):
        return 128 + self.signum  # the shell's convention: 130 for SIGINT, 143 for SIGTERM


def exit_quietly():
    """Until Signals() takes over: a signal ends the process with one line and no traceback."""
    def handle(signum, frame):
        print("\n{} received while starting: stopped; nothing was written".format(signal.Signals(signum).name),
              file=sys.stderr, flush=True)
        raise SystemExit(128 + signum)
    for sig in SIGNALS:
        signal.signal(sig, handle)


class Signals:

    def __init__(self):
        self.signum = None      # the first signal received
        self._training = False  # True: the first signal only asks the loop to stop after its step
        self._critical = 0
        self._pending = None    # an Interrupted waiting for the critical block to end
        for sig in SIGNALS:
            signal.signal(sig, self._handle)

    def _handle(self, signum, frame):
        first = self.signum is None
        if first:
            self.signum = signum
        if first and self._training:
            print("\n{} received: stopping after this step (Ctrl-C again to stop at once)".format(
                signal.Signals(signum).name), file=sys.stderr, flush=True)
            return
        interrupted = Interrupted(self.signum, at_once=True)
        if self._critical:
            self._pending = self._pending or interrupted
            return
        raise interrupted

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
