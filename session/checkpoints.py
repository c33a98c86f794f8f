"""Saving and resuming training, so an interrupted run loses nothing (the posts train in one go;
a long conv4 run should survive Ctrl-C, a crash or a full disk).

The contract of a checkpoint folder:
* `model.ckpt-<step>.index` + `.data-*` (tf.compat.v1.train.Saver): the weights after <step> steps; a
  resumed run continues at <step>. The Saver keeps the last two.
* `checkpoint`: the Saver's index naming the latest one, written with paths relative to the folder, and
  always read relative to it, so a folder moved or copied elsewhere resumes from its new place.
* `run.json`: the settings that decide the weights and the batch sequence (and the data folder), written
  atomically before the first checkpoint; a run never resumes from checkpoints other settings wrote.
* `run.lock`: held (flock) by the run using the folder, naming it; the kernel releases it when that
  process ends, however it ends, so a crashed run never leaves it stuck.
A folder that holds any `model.ckpt-*` file is either resumed from exactly or refused in one line
(CheckpointError): it is never taken for an empty one and trained over from step 0.
"""

import datetime
import errno
import fcntl
import json
import os
import re
import shlex
import socket

from google.protobuf import text_format
import tensorflow as tf
from tensorflow.python.training import checkpoint_state_pb2

from machine import files

SETTINGS_FILE = "run.json"
PREFIX = "model.ckpt"
INDEX_FILE = "checkpoint"  # the Saver's own name for it
LOCK_FILE = "run.lock"
KEEP = 2  # checkpoints kept: the newest, and the one before in case the newest is damaged
# Settings every run.json has recorded; later ones (e.g. data_dir) are compared when the file has them.
REQUIRED_SETTINGS = ("net", "init", "learning_rate", "batch_size", "seed", "shuffle")

_CHECKPOINT_FILE = re.compile(r"^model\.ckpt-(\d+)\.(index|meta|data-(\d{5})-of-(\d{5}))$")
_CHECKPOINT_NAME = re.compile(r"^model\.ckpt-(\d+)$")


class CheckpointError(Exception):
    """A checkpoint folder that cannot be resumed from or written to; the message says what to do."""


def _reason(error):
    """What went wrong, in a few words: an OSError's strerror, or the line of a TensorFlow error that says
    it (not its "Graph execution error:" heading, node names or the stack where the op was defined)."""
    if getattr(error, "strerror", None):
        return error.strerror
    text = getattr(error, "message", None) or str(error)
    lines = [l.strip() for l in str(text).splitlines()]
    said = [l for l in lines if l and not l.startswith(("Graph execution error", "Detected at node", "File ", "Node:",
                                                         "[[", "Original error", "Restoring from checkpoint failed", "Hint:"))]
    said = said[-1] if said else type(error).__name__
    return "".join(c if c.isprintable() else "?" for c in said)[:200]  # a garbled file's bytes stay off the terminal


def _is_leftover(name):
    """Files an interrupted save leaves: TensorFlow's `*.tempstate*` and `<prefix>_temp/`, the index's and
    run.json's temporary copies (machine/files.py names them <file>.tmp<pid>). The index never names them,
    so they are never resumed from."""
    return (".tempstate" in name or (name.startswith(PREFIX) and name.endswith("_temp"))
            or re.match(r"^({}|{})\.tmp".format(re.escape(INDEX_FILE), re.escape(SETTINGS_FILE)), name) is not None)


class FolderLock:
    """One run per checkpoint folder: an exclusive flock on `run.lock`, which records who holds it.

    flock is released by the kernel when the holder's process ends (even by SIGKILL), so a stale lock
    cannot stay stuck; the file itself stays and is harmless.
    """

    def __init__(self, directory, command):
        self.path = os.path.join(directory, LOCK_FILE)
        self.directory = directory
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as e:
            raise CheckpointError("cannot create {} ({}); choose a --checkpoint_dir you can write to".format(
                self.path, _reason(e)))
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as e:
            holder = self._holder(fd)
            os.close(fd)
            if e.errno not in (errno.EAGAIN, errno.EACCES, errno.EWOULDBLOCK):
                raise CheckpointError("cannot lock {} ({}); choose another --checkpoint_dir".format(
                    self.path, _reason(e)))
            raise CheckpointError("another run is using {}: {}; wait for it to end (or stop it), or choose "
                                  "another --checkpoint_dir".format(directory, holder))
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


class _Folder:
    """What a checkpoint folder holds: complete checkpoints by step, incomplete ones, leftovers."""

    def __init__(self, directory):
        try:
            names = os.listdir(directory)
        except OSError as e:
            raise CheckpointError("cannot list {} ({}); choose a --checkpoint_dir you can read".format(
                directory, _reason(e)))
        self.leftovers = sorted(n for n in names if _is_leftover(n))
        parts, self.strangers = {}, []
        for name in names:
            if name in self.leftovers:
                continue
            match = _CHECKPOINT_FILE.match(name)
            if match:
                parts.setdefault(int(match.group(1)), []).append(name)
            elif name.startswith(PREFIX):
                self.strangers.append(name)
        self.files = {step: sorted(names) for step, names in parts.items()}
        self.complete = sorted(step for step, names in parts.items() if not self.missing(step))
        self.has_index = os.path.lexists(os.path.join(directory, INDEX_FILE))

    def missing(self, step):
        """The files checkpoint `step` lacks (its index, or data shards), judged by the names present."""
        names = set(self.files.get(step, []))
        prefix = "{}-{}".format(PREFIX, step)
        lacking = [] if prefix + ".index" in names else [prefix + ".index"]
        shards = [re.match(r".*data-\d{5}-of-(\d{5})$", n) for n in names]
        counts = {int(m.group(1)) for m in shards if m}
        if not counts:
            return lacking + [prefix + ".data-00000-of-00001"]
        for count in counts:
            lacking += [n for n in ("{}.data-{:05d}-of-{:05d}".format(prefix, i, count) for i in range(count))
                        if n not in names]
        return lacking

    def any_checkpoint_file(self):
        return bool(self.files or self.strangers or self.leftovers and any(
            n.startswith(PREFIX) for n in self.leftovers))


class Checkpoints:

    def __init__(self, directory, settings, may_change=None, introduced=None):
        """Call inside the graph, before it is finalized: the Saver adds save/restore nodes.

        may_change: {setting: (the flag that allows resuming with it changed, whether it was given)},
        for settings that do not change the weights' shapes but do change the run (e.g. precision).
        introduced: {setting: the value every run had before run.json recorded it} (e.g. precision:
        float32), so checkpoints written before a setting existed still resume. A setting neither recorded
        nor introduced (e.g. data_dir, validation_size) is not compared.
        """
        self.directory = directory
        self.settings = settings
        self.may_change = may_change or {}
        self.introduced = introduced or {}
        # save() writes the index (relative paths, atomically) and deletes old checkpoints itself: the
        # Saver's own deletion warns of a deprecated API, and its index update logs on every save.
        self.saver = tf.compat.v1.train.Saver(max_to_keep=0)
        self.last_step = None  # the step of the newest checkpoint in the folder, once restore() ran
        self._settings_written = False

    def _refuse(self, problem, folder, broken=None, index_can_mend=True):
        """CheckpointError for a damaged folder, offering the newest complete checkpoint when there is one
        and pointing the index at it would mend the folder."""
        usable = [s for s in folder.complete if s != broken and index_can_mend]
        if usable:
            index = os.path.join(self.directory, INDEX_FILE)
            remedy = ("to resume from step {0}, the newest complete checkpoint, point the index at it: "
                      "echo 'model_checkpoint_path: \"{1}-{0}\"' > {2}; or delete {3} to start over").format(
                usable[-1], PREFIX, shlex.quote(index), shlex.quote(self.directory))
        else:
            remedy = "delete {} to start over".format(shlex.quote(self.directory))
        return CheckpointError("{}; nothing was trained over: {}, or choose another --checkpoint_dir".format(
            problem, remedy))

    def _read_index(self, folder):
        """The step the `checkpoint` index names, after checking that checkpoint's files are all there."""
        try:
            return read_index(self.directory, folder)
        except DamagedIndex as e:
            raise self._refuse(str(e), folder, broken=e.step)

    def _check_settings(self, folder):
        path = os.path.join(self.directory, SETTINGS_FILE)
        if not os.path.lexists(path):
            raise self._refuse("{} holds checkpoints but no {} recording the settings they were written with, "
                               "so they cannot be trusted".format(self.directory, SETTINGS_FILE), folder,
                               index_can_mend=False)
        try:
            with open(path) as f:
                saved = json.load(f)
            if not isinstance(saved, dict):
                raise ValueError("not a JSON object")
            saved = dict(self.introduced, **saved)
        except (OSError, ValueError, RecursionError) as e:  # RecursionError: JSON nested too deep
            raise self._refuse("{} is unreadable ({}), so the checkpoints beside it cannot be trusted".format(
                path, _reason(e)), folder, index_can_mend=False)
        lacking = [k for k in REQUIRED_SETTINGS if k not in saved]
        if lacking:
            raise self._refuse("{} is damaged (it lacks {}), so the checkpoints beside it cannot be "
                               "trusted".format(path, ", ".join(lacking)), folder, index_can_mend=False)
        # A value of the wrong kind (a number for a folder, text for a seed) is damage, not another setting.
        wrong = [k for k in sorted(self.settings) if k in saved and not _could_be(k, saved[k], self.settings[k])]
        if wrong:
            raise self._refuse("{} is damaged ({}), so the checkpoints beside it cannot be trusted".format(
                path, ", ".join("its {} is {}".format(k, _printable(json.dumps(saved[k]))) for k in wrong)),
                folder, index_can_mend=False)
        if "data_dir" in saved and saved["data_dir"] != self.settings.get("data_dir"):
            raise CheckpointError("the checkpoints in {} were trained on {}; to resume, pass {}, or choose "
                                  "another --checkpoint_dir".format(
                                      self.directory, _data_name(saved["data_dir"]), _data_flag(saved["data_dir"])))
        differing = [k for k, v in sorted(self.settings.items()) if k in saved and k != "data_dir"
                     and saved[k] != v and not self.may_change.get(k, (None, False))[1]]
        if differing:
            allow = [self.may_change[k][0] for k in differing if k in self.may_change]
            raise CheckpointError("the checkpoints in {} were written with {}; run with those flags to resume{}, "
                                  "or choose another --checkpoint_dir".format(
                                      self.directory,
                                      ", ".join("--{}={} (now {})".format(k, _printable(saved[k]), self.settings[k])
                                                for k in differing),
                                      "" if not allow or len(allow) < len(differing) else
                                      " (or add {} to resume under the new value)".format(" ".join(allow))))

    def restore(self, session, steps=None):
        """Restores the latest checkpoint into session; returns the step to continue from (0: none).

        Returns 0 only for a folder without any checkpoint file; anything else it cannot resume from
        exactly (or a checkpoint past `steps`, the run's last step) raises CheckpointError. Files left by
        an interrupted save are removed (listed in self.removed) once it resumes: the index never names them.
        """
        folder = _Folder(self.directory)
        self.removed = []
        if not folder.has_index:
            if folder.any_checkpoint_file():
                names = sorted(sum(folder.files.values(), []) + folder.strangers
                               + [n for n in folder.leftovers if n.startswith(PREFIX)])
                raise self._refuse("{} holds checkpoint files ({}) but no `{}` index naming the one to resume "
                                   "from".format(self.directory, ", ".join(names[:4] + ["..."][:len(names) > 4]),
                                                 INDEX_FILE), folder)
            self._remove_leftovers(folder)
            self.last_step = None
            return 0
        step = self._read_index(folder)
        self._check_settings(folder)
        prefix = os.path.join(self.directory, "{}-{}".format(PREFIX, step))
        # A symbolic link to nothing is a missing file, not a permission problem (os.access fails on both).
        dangling = [n for n in folder.files[step] if not os.path.exists(os.path.join(self.directory, n))]
        if dangling:
            raise self._refuse("checkpoint {} is damaged ({} is a symbolic link to {}, which does not exist)".format(
                prefix, dangling[0], _printable(os.readlink(os.path.join(self.directory, dangling[0])))), folder,
                broken=step)
        unreadable = [n for n in folder.files[step] if not os.access(os.path.join(self.directory, n), os.R_OK)]
        if unreadable:
            raise CheckpointError("{} cannot be read (permission denied); give yourself read access to {}".format(
                ", ".join(unreadable), self.directory))
        try:
            self.saver.restore(session, prefix)
        except (tf.errors.OpError, ValueError) as e:
            raise self._refuse("checkpoint {} is damaged ({})".format(prefix, _reason(e)), folder, broken=step)
        if steps is not None and step > steps:  # refused before anything in the folder is touched
            raise CheckpointError("the checkpoints in {} are of step {}, past --steps={}; pass --steps={} (or more) "
                                  "to resume them, or choose another --checkpoint_dir".format(
                                      self.directory, step, steps, step))
        self._remove_leftovers(folder)
        self.last_step = step
        return step

    def _remove_leftovers(self, folder):
        for name in folder.leftovers:
            path = os.path.join(self.directory, name)
            try:
                if os.path.isdir(path) and not os.path.islink(path):
                    for inner in os.listdir(path):
                        os.remove(os.path.join(path, inner))
                    os.rmdir(path)
                else:
                    os.remove(path)
                self.removed.append(name)
            except OSError:
                pass  # harmless where it is: nothing ever reads it

    def save(self, session, step):
        """Writes run.json (once) and checkpoint `step`. On failure (a full disk, a folder gone read-only)
        raises CheckpointError saying what is intact: the previous checkpoint and the index naming it are
        only replaced once the new checkpoint is completely written."""
        try:
            if not self._settings_written:
                files.write_text_atomically(os.path.join(self.directory, SETTINGS_FILE),
                                            json.dumps(self.settings, indent=1, sort_keys=True) + "\n")
                self._settings_written = True
            # The meta graph travels with the weights, so //:predict restores the network without its
            # Python (LTFN 9; session/restore.py).
            self.saver.save(session, os.path.join(self.directory, PREFIX), global_step=step, write_state=False)
            # The index is written last, so it only ever names a complete checkpoint; relative to the folder.
            name = "{}-{}".format(PREFIX, step)
            previous = ([] if self.last_step is None or self.last_step >= step
                        else ["{}-{}".format(PREFIX, self.last_step)])
            files.write_text_atomically(os.path.join(self.directory, INDEX_FILE), text_format.MessageToString(
                checkpoint_state_pb2.CheckpointState(model_checkpoint_path=name,
                                                     all_model_checkpoint_paths=previous + [name])))
        except (tf.errors.OpError, OSError) as e:
            intact = ("the checkpoint of step {} is intact".format(self.last_step) if self.last_step is not None
                      else "no checkpoint was written before")
            raise CheckpointError("cannot save the checkpoint of step {} in {} ({}); {}; free some space (or make "
                                  "it writable) and run the same command to resume".format(
                                      step, self.directory, _reason(e), intact))
        self.last_step = step
        self._remove_older(step)

    def _remove_older(self, step):
        """Keeps the KEEP newest complete checkpoints up to `step` (the index already names `step`)."""
        folder = _Folder(self.directory)
        keep = [s for s in folder.complete if s <= step][-KEEP:]
        for old in folder.files:
            if old < step and old not in keep:
                for name in folder.files[old]:
                    try:
                        os.remove(os.path.join(self.directory, name))
                    except OSError:
                        pass  # an old checkpoint left behind costs only space


class DamagedIndex(Exception):
    """A `checkpoint` index that names no complete checkpoint of its folder; step: the one it names, if any."""

    def __init__(self, problem, step=None):
        super().__init__(problem)
        self.step = step


def read_index(directory, folder=None):
    """The step the folder's `checkpoint` index names (None: the folder has no index), checked to be a
    complete checkpoint of this folder; DamagedIndex saying what is wrong otherwise. The one reader of
    the index: resuming (Checkpoints), the line of a stopped run (indexed_step) and //:predict
    (session/restore.py) all read it here."""
    folder = folder or _Folder(directory)
    if not folder.has_index:
        return None
    path = os.path.join(directory, INDEX_FILE)
    try:
        with open(path, "rb") as f:
            raw = f.read(1 << 20)
    except OSError as e:
        raise DamagedIndex("the checkpoint index {} cannot be read ({})".format(path, _reason(e)))
    state = checkpoint_state_pb2.CheckpointState()
    try:
        text_format.Parse(raw.decode("utf-8"), state)
    except (UnicodeDecodeError, text_format.ParseError) as e:
        raise DamagedIndex("the checkpoint index {} is garbled ({})".format(path, _reason(e)))
    if not state.model_checkpoint_path:
        raise DamagedIndex("the checkpoint index {} is {}".format(
            path, "empty" if not raw.strip() else "missing its model_checkpoint_path"))
    # Only ever this folder's own files, whatever path the index holds: an index that still names
    # the folder's old place (absolute paths), or a copy's original, resumes from here.
    name = os.path.basename(state.model_checkpoint_path.rstrip("/"))
    match = _CHECKPOINT_NAME.match(name)
    if not match:
        raise DamagedIndex("the checkpoint index {} names {!r}, not a checkpoint this program writes "
                           "(model.ckpt-<step>)".format(path, state.model_checkpoint_path))
    step = int(match.group(1))
    lacking = folder.missing(step)
    if lacking:
        raise DamagedIndex("the checkpoint index {} names step {}, but {} {} missing".format(
            path, step, ", ".join(lacking), "is" if len(lacking) == 1 else "are"), step)
    return step


def indexed_step(directory):
    """The complete checkpoint the folder's index names (None: none, or a damaged index); for saying
    what a run stopped before restoring leaves behind."""
    try:
        return read_index(directory)
    except (DamagedIndex, CheckpointError):
        return None


def _data_name(data_dir):
    return "the embedded MNIST" if data_dir is None else "the data in {}".format(_printable(data_dir))


def _data_flag(data_dir):
    return "no --data_dir (the embedded MNIST)" if data_dir is None else "--data_dir={}".format(
        _printable(shlex.quote(data_dir)))


def _could_be(key, saved, now):
    """Whether run.json's value for a setting is of a kind the flag could have had: a data folder is
    null or non-empty text; anything else, the kind of this run's own value."""
    if saved == now:
        return True
    if key == "data_dir":
        return saved is None or (_kind(saved) == "text" and saved != "")
    return _kind(saved) == _kind(now)


def _kind(value):
    """A JSON value's kind, as run.json's settings must match it: null, bool, number, text, ..."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, (int, float)):
        return "number"
    return "text" if isinstance(value, str) else type(value).__name__


def _printable(value):
    """A value read from run.json, on one line: a newline or control character in it shows as '?'."""
    return "".join(c if c.isprintable() else "?" for c in str(value))
