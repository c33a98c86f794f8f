"""The TensorBoard events writer of a run, whose failures (a full disk) end the run in one line.

tf.compat.v1.summary.FileWriter writes from a thread: when a write fails, that thread logs an error,
prints its own traceback and dies, and the main thread gets the error later, from whichever call
comes next. Writer gives every such failure to the main thread as one WriteError, and keeps the
thread's traceback and log line off the terminal (the run's own error line says it).
"""

import contextlib
import logging
import threading

import tensorflow as tf

from machine import errors

_THREAD = "EventLoggerThread"  # the FileWriter thread's name (tensorflow/python/summary/writer)


class WriteError(Exception):
    """The events could not be written; str() is the reason (e.g. No space left on device)."""


def _quiet_thread_failures():
    default = threading.excepthook

    def hook(args):
        if args.thread is None or args.thread.name != _THREAD:
            default(args)
    threading.excepthook = hook
    logging.getLogger("tensorflow").addFilter(
        lambda record: not str(record.msg).startswith("EventFileWriter writer thread error"))


def _reason(error):
    # "path; No space left on device\n\tFailed to flush 44 events to path" -> "No space left on device"
    return errors.error_line(error, skip=(), indented=True, after="; ")


class Writer:
    """A FileWriter (logdir, graph) whose calls raise WriteError instead of the thread's exception.

    guard: a context manager each call runs inside (run.py: interrupts.Signals.critical), so a signal
    never interrupts the writer half way, e.g. holding its queue's lock.
    """

    _quieted = False

    def __init__(self, logdir, graph, guard=contextlib.nullcontext):
        if not Writer._quieted:
            _quiet_thread_failures()
            Writer._quieted = True
        self.logdir = logdir
        self._guard = guard
        self._writer = self._call(tf.compat.v1.summary.FileWriter, logdir, graph)

    def _call(self, method, *args):
        with self._guard():
            try:
                return method(*args)
            except (RuntimeError, OSError, tf.errors.OpError) as e:
                raise WriteError(_reason(e)) from e

    def add_summary(self, *args):
        return self._call(self._writer.add_summary, *args)

    def add_session_log(self, *args):
        return self._call(self._writer.add_session_log, *args)

    def add_run_metadata(self, *args):
        return self._call(self._writer.add_run_metadata, *args)

    def close(self):
        return self._call(self._writer.close)
