"""The training progress line on stderr (step/total, images/s, ETA, last cost): what run.py shows
between the posts' `Cost:` / `Accuracy:` lines while the session loop (session/trainer.py) runs."""

import datetime
import sys
import time


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
