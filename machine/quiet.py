"""TensorFlow imported without its start-up notes that are not about the user's run (a quiet first contact).

While `import tensorflow` loads its C++ libraries, they print, before any setting can reach them (neither
TF_CPP_MIN_LOG_LEVEL nor CUDA_VISIBLE_DEVICES changes them; docs/output.md, "What a run shows"):

    WARNING: All log messages before absl::InitializeLog() is called are written to STDERR
    I0000 00:00:1795860811.158016    4421 cudart_stub.cc:31] Could not find cuda drivers on your machine, ...
    I0000 00:00:1796117617.354996   12679 port.cc:153] oneDNN custom operations are on. You may see ...

twice each. import_tensorflow() sends file descriptor 2 into a pipe for the import; a forked child reads it
and writes to the real stderr every line except exactly these: any other line (a real error, a failed import)
is shown as TensorFlow wrote it. A child, not a file read back after the import: when the import kills the
process (SIGILL or SIGABRT on a CPU TensorFlow was not built for), no code of this process runs again, but
the child still writes what TensorFlow said, and one line saying the process died. A signal the program
handles during the import restores stderr first (session/interrupts.py calls restore_stderr()), so the line
that says the program stopped is seen.
"""

import os
import re
import signal
import sys

NOISE = (
    re.compile(r"WARNING: All log messages before absl::InitializeLog\(\) is called are written to STDERR"),
    re.compile(r"I\d{4} [\d:.]+ +\d+ cudart_stub\.cc:\d+\] Could not find cuda drivers on your machine, GPU will "
               r"not be used\."),
    # Said on every CPU: oneDNN is what makes conv4 fast (docs/speed.md), so the note is not about this run.
    re.compile(r"I\d{4} [\d:.]+ +\d+ port\.cc:\d+\] oneDNN custom operations are on\. You may see slightly "
               r"different numerical results due to floating-point round-off errors from different computation "
               r"orders\. To turn them off, set the environment variable `TF_ENABLE_ONEDNN_OPTS=0`\."),
)
# What the child writes when the pipe ends without END: the process died inside the import.
DIED = ("error: the program died while TensorFlow was loading, killed by a signal (SIGILL, \"Illegal "
        "instruction\", means this CPU lacks instructions TensorFlow was built for: run it on a newer CPU)\n")
END = b"\0ltfn-quiet: the import is over\0\n"  # the parent's last word into the pipe

_redirect = None  # (the real stderr's descriptor, the child's pid) while an import is filtered


def is_noise(line):
    return any(pattern.fullmatch(line.rstrip("\r\n")) for pattern in NOISE)


def import_tensorflow():
    """`import tensorflow`, with TensorFlow's start-up notes that are not about the run left out; returns it."""
    global _redirect
    if "tensorflow" in sys.modules:
        return sys.modules["tensorflow"]
    sys.stderr.flush()
    # A signal handled between the fork and the assignment would find no redirect to undo: held until then.
    held = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT, signal.SIGTERM})
    try:
        _redirect = _start_filter()
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, held)
    try:
        import tensorflow
    finally:
        restore_stderr()
    return tensorflow


def _start_filter():
    """Points descriptor 2 at a pipe whose reader, a forked child, filters it onto the real stderr."""
    real = os.dup(2)
    read, write = os.pipe()
    child = os.fork()
    if child == 0:
        try:
            os.close(write)
            for sig in (signal.SIGINT, signal.SIGTERM):
                signal.signal(sig, signal.SIG_IGN)  # the parent says what a signal did, then ends the import
            if not _copy(read, real):
                _write(real, DIED.encode())
        finally:
            os._exit(0)
    os.close(read)
    os.dup2(write, 2)
    os.close(write)
    return real, child


def _copy(read, real):
    """In the child: each line from `read` that is not noise, to `real`, as it comes. True if the parent
    said END, False if the pipe ended without it (the parent died)."""
    pending, over = b"", False
    while not over:
        chunk = os.read(read, 65536)
        if not chunk:
            break
        pending += chunk
        over = END in pending
        if over:
            pending = pending[:pending.index(END)]
        *lines, pending = pending.split(b"\n")
        for line in lines:
            if not is_noise(line.decode("utf-8", errors="replace")):
                _write(real, line + b"\n")
    if pending and not is_noise(pending.decode("utf-8", errors="replace")):
        _write(real, pending)
    return over


def _write(fd, data):
    while data:
        data = data[os.write(fd, data):]


def restore_stderr():
    """Points descriptor 2 back at the real stderr once the child has written what the import said there,
    less the notes in NOISE. Does nothing when no import is being filtered."""
    global _redirect
    if _redirect is None:
        return
    real, child = _redirect
    _redirect = None
    try:
        sys.stderr.flush()
    except (OSError, ValueError):
        pass
    try:
        _write(2, END)
    except OSError:
        pass
    os.dup2(real, 2)
    os.close(real)
    try:
        os.waitpid(child, 0)  # its lines come before anything the program says next
    except ChildProcessError:
        pass
