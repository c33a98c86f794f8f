"""Files written whole or not at all: the one way the project replaces a file it has written before
(a checkpoint folder's run.json and index, a run's pictures and stored arrays)."""

import os


def write_atomically(path, write):
    """write(file), on a binary file beside path, flushed to disk, then renamed over path: a full disk,
    a crash or a Ctrl-C leaves the previous file whole, never a part of the new one."""
    temp = "{}.tmp{}".format(path, os.getpid())
    try:
        with open(temp, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(temp, path)
    except BaseException:
        try:
            os.remove(temp)
        except OSError:
            pass
        raise


def write_text_atomically(path, text):
    """write_atomically for text (UTF-8)."""
    write_atomically(path, lambda f: f.write(text.encode("utf-8")))
