"""TensorFlow imported without its start-up notes that are not about the user's run (a quiet first contact).

While `import tensorflow` loads its C++ libraries, they print, before any setting can reach them (neither
TF_CPP_MIN_LOG_LEVEL nor CUDA_VISIBLE_DEVICES changes them; docs/output.md, "What a run shows"):

    WARNING: All log messages before absl::InitializeLog() is called are written to STDERR
    I0000 00:00:1795860811.158016    4421 cudart_stub.cc:31] Could not find cuda drivers on your machine, ...

twice each. import_tensorflow() sends file descriptor 2 to a temporary file for the import, then writes
back to stderr every line except exactly these: any other line (a real error, a failed import) is shown
as TensorFlow wrote it. A signal during the import restores stderr first (session/interrupts.py calls
restore_stderr()), so the line that says the program stopped is seen.
"""

import os
import re
import sys
import tempfile

NOISE = (
    re.compile(r"WARNING: All log messages before absl::InitializeLog\(\) is called are written to STDERR"),
    re.compile(r"I\d{4} [\d:.]+ +\d+ cudart_stub\.cc:\d+\] Could not find cuda drivers on your machine, GPU will "
               r"not be used\."),
)

_redirect = None  # (the real stderr's descriptor, the temporary file) while an import is filtered


def is_noise(line):
    return any(pattern.fullmatch(line.rstrip("\r\n")) for pattern in NOISE)


def import_tensorflow():
    """`import tensorflow`, with TensorFlow's start-up notes about a missing GPU left out; returns it."""
    global _redirect
    if "tensorflow" in sys.modules:
        return sys.modules["tensorflow"]
    sys.stderr.flush()
    captured = tempfile.TemporaryFile()
    _redirect = (os.dup(2), captured)
    os.dup2(captured.fileno(), 2)
    try:
        import tensorflow
    finally:
        restore_stderr()
    return tensorflow


def restore_stderr():
    """Points descriptor 2 back at the real stderr and writes what the import said there, less the notes
    in NOISE. Does nothing when no import is being filtered."""
    global _redirect
    if _redirect is None:
        return
    real, captured = _redirect
    _redirect = None
    try:
        sys.stderr.flush()
    except (OSError, ValueError):
        pass
    os.dup2(real, 2)
    os.close(real)
    with captured:
        captured.seek(0)
        said = captured.read().decode("utf-8", errors="replace")
    kept = "".join(line for line in said.splitlines(keepends=True) if not is_noise(line))
    if kept:
        sys.stderr.write(kept)
        sys.stderr.flush()
