"""The peers //bench:throughput compares against run as worker processes, timed in turn with it.

A machine's speed drifts (other processes, clocks), so timing all of one framework's repeats and then
all of the other's would make the ratio partly a measure of the drift. Instead each peer is a worker
that sets up, warms up and then waits; the benchmark runs one repeat of its own, then asks each peer
for one repeat, and so on, so every ratio compares repeats taken moments apart.

The protocol, one line each way (workers use the standard library and numpy only, so that a Python
without TensorFlow can run one):
  worker: READY <what it is>      after its setup and warm-up steps
  bench:  RUN                     -> worker: SECONDS <s>   (time of `steps` training steps)
  bench:  STOP or end of input    -> the worker exits
  worker: PEER_ERROR <one line>   instead of READY, when it cannot run (then exits non-zero)
"""

import subprocess
import sys
import tempfile
import time

BATCH_SIZE = 100  # the posts' batch, run.py's --batch_size default


class PeerError(Exception):
    """A peer could not start or stopped answering; the message is one line."""


# Worker side.

def fail(message):
    print("PEER_ERROR " + " ".join(str(message).split()), flush=True)
    sys.exit(3)


def ready(description):
    print("READY " + description, flush=True)


def next_run():
    """Blocks until the benchmark asks for a repeat (True) or is done (False)."""
    line = sys.stdin.readline()
    return line.strip() == "RUN"


def report(seconds):
    print("SECONDS {!r}".format(seconds), flush=True)


def serve(train, steps, warmup, description):
    """The worker loop for a framework with a step function: train(n) runs n training steps."""
    train(max(warmup, 1))
    ready(description)
    while next_run():
        begin = time.perf_counter()
        train(steps)
        report(time.perf_counter() - begin)


# Benchmark side.

class Peer:
    """One worker process: started at once, ready() waits for its warm-up, run() times one repeat."""

    def __init__(self, name, command, env=None):
        self.name = name
        self.description = None
        self._stderr = tempfile.TemporaryFile("w+")
        try:
            self._process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                             stderr=self._stderr, text=True, env=env)
        except OSError as e:
            self._stderr.close()
            raise PeerError("cannot start the {} peer ({}): {}".format(name, command[0], e.strerror)) from e

    def _answer(self, expected):
        for line in self._process.stdout:
            word, _, rest = line.rstrip("\n").partition(" ")
            if word == expected:
                return rest
            if word == "PEER_ERROR":
                raise PeerError(rest)
        self._process.wait()
        raise PeerError("the {} peer exited ({}) before answering {}: {}".format(
            self.name, self._process.returncode, expected, self._last_error_line()))

    def _last_error_line(self):
        self._stderr.seek(0)
        lines = [line.strip() for line in self._stderr.read().splitlines() if line.strip()]
        return lines[-1] if lines else "it printed nothing on stderr"

    def ready(self):
        self.description = self._answer("READY")
        return self.description

    def run(self):
        try:
            self._process.stdin.write("RUN\n")
            self._process.stdin.flush()
        except BrokenPipeError:
            pass  # it died; _answer says how
        return float(self._answer("SECONDS"))

    def close(self):
        """Asks the worker to stop and waits for it (killing it after 60 s); safe to call twice."""
        if self._process.poll() is None:
            try:
                self._process.stdin.write("STOP\n")
                self._process.stdin.close()
                self._process.wait(timeout=60)
            except (BrokenPipeError, subprocess.TimeoutExpired):
                self._process.kill()
                self._process.wait()
        for stream in (self._process.stdin, self._process.stdout, self._stderr):
            if not stream.closed:
                try:
                    stream.close()
                except BrokenPipeError:
                    pass  # a `RUN` still buffered for a worker that died: its PeerError is the one to say
