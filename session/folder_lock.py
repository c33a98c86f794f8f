"""One run per folder: `run.lock`, held (flock) by the run using a checkpoint folder or a --logdir.

The lock names its holder (pid, host, start time, command), so a second run is refused in one line
saying who has the folder. flock is released by the kernel when the holder's process ends, however
it ends (even SIGKILL), so a crashed run never leaves a folder stuck; the file itself stays, harmless.
"""

import datetime
import errno
import fcntl
import json
import os
import socket

from machine import errors

LOCK_FILE = "run.lock"


class LockError(Exception):
    """The folder is another run's, or cannot be locked; the message says what to do."""


class FolderLock:
    """An exclusive flock on `directory/run.lock`, which records who holds it; flag: the flag that chose
    the folder (`checkpoint_dir`, `logdir`), named in the refusal."""

    def __init__(self, directory, command, flag="checkpoint_dir"):
        self.path = os.path.join(directory, LOCK_FILE)
        self.directory = directory
        self._created = False
        try:
            try:
                fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o644)
                self._created = True
            except FileExistsError:
                fd = os.open(self.path, os.O_RDWR)
        except OSError as e:
            raise LockError("cannot create {} ({}); choose a --{} you can write to".format(
                self.path, errors.error_line(e), flag))
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as e:
            holder = self._holder(fd)
            os.close(fd)
            if e.errno not in (errno.EAGAIN, errno.EACCES, errno.EWOULDBLOCK):
                raise LockError("cannot lock {} ({}); choose another --{}".format(
                    self.path, errors.error_line(e), flag))
            raise LockError("another run is using {}: {}; wait for it to end (or stop it), or choose "
                            "another --{}".format(directory, holder, flag))
        self._fd = fd
        me = {"pid": os.getpid(), "host": socket.gethostname(), "command": command,
              "started": datetime.datetime.now().astimezone().isoformat(timespec="seconds")}
        try:
            os.ftruncate(fd, 0)
            os.pwrite(fd, (json.dumps(me) + "\n").encode(), 0)
        except OSError:
            pass  # the lock holds without its note; another run then cannot say who holds it

    @staticmethod
    def _holder(fd):
        try:
            holder = json.loads(os.pread(fd, 4096, 0).decode())
            return "pid {pid} on {host}, started {started}: {command}".format(**holder)
        except (OSError, ValueError, KeyError, TypeError):
            return "a run that has not yet said who it is"

    def release(self):
        if self._fd is not None:
            os.close(self._fd)  # closing the descriptor releases the flock
            self._fd = None

    def discard(self):
        """Releases the lock of a run that was refused before it began: a lock file it made goes too, so
        the folder is as it found it (a file that was there before, e.g. a killed run's, stays)."""
        if self._fd is not None and self._created:
            try:
                os.unlink(self.path)  # while still held: no other run can be holding this file
            except OSError:
                pass
        self.release()
