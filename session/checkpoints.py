"""Saving and resuming training, so an interrupted run loses nothing (the posts train in one go;
a long conv4 run should survive Ctrl-C, a crash or a full disk): the Saver and its index.

The contract of a checkpoint folder:
* `model.ckpt-<step>.index` + `.data-*` (tf.compat.v1.train.Saver): the weights after <step> steps; a
  resumed run continues at <step>. The Saver keeps the last two.
* `checkpoint`: the Saver's index naming the latest one, written with paths relative to the folder, and
  always read relative to it, so a folder moved or copied elsewhere resumes from its new place.
* `run.json`: the settings that decide the weights and the batch sequence (and the data folder), written
  atomically before the first checkpoint; a run never resumes from checkpoints other settings wrote
  (session/run_settings.py).
* `run.lock`: held by the run using the folder (session/folder_lock.py).
A folder that holds any `model.ckpt-*` file is either resumed from exactly or refused in one line
(CheckpointError; session/damage.py reads the folder and words the refusal): it is never taken for an
empty one and trained over from step 0.
"""

import os
import re

from google.protobuf import text_format
import tensorflow as tf
from tensorflow.python.training import checkpoint_state_pb2

from machine import files
from session import damage
from session import run_settings

PREFIX = damage.PREFIX
INDEX_FILE = damage.INDEX_FILE
SETTINGS_FILE = run_settings.FILE
KEEP = 2  # checkpoints kept: the newest, and the one before in case the newest is damaged
CheckpointError = damage.CheckpointError

_CHECKPOINT_NAME = re.compile(r"^model\.ckpt-(\d+)$")


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

    def _read_index(self, folder):
        """The step the `checkpoint` index names, after checking that checkpoint's files are all there."""
        try:
            return read_index(self.directory, folder)
        except DamagedIndex as e:
            raise folder.refusal(str(e), broken=e.step)

    def restore(self, session, steps=None):
        """Restores the latest checkpoint into session; returns the step to continue from (0: none).

        Returns 0 only for a folder without any checkpoint file; anything else it cannot resume from
        exactly (or a checkpoint past `steps`, the run's last step) raises CheckpointError. Files left by
        an interrupted save are removed (listed in self.removed) once it resumes: the index never names them.
        """
        folder = damage.Folder(self.directory)
        self.removed = []
        if not folder.has_index:
            if folder.any_checkpoint_file():
                names = sorted(sum(folder.files.values(), []) + folder.strangers
                               + [n for n in folder.leftovers if n.startswith(PREFIX)])
                raise folder.refusal("{} holds checkpoint files ({}) but no `{}` index naming the one to resume "
                                     "from".format(self.directory, ", ".join(names[:4] + ["..."][:len(names) > 4]),
                                                   INDEX_FILE))
            self.removed = folder.remove_leftovers()
            self.last_step = None
            return 0
        step = self._read_index(folder)
        run_settings.check(folder, self.settings, self.may_change, self.introduced)
        prefix = os.path.join(self.directory, "{}-{}".format(PREFIX, step))
        # A symbolic link to nothing is a missing file, not a permission problem (os.access fails on both).
        dangling = [n for n in folder.files[step] if not os.path.exists(os.path.join(self.directory, n))]
        if dangling:
            raise folder.refusal("checkpoint {} is damaged ({} is a symbolic link to {}, which does not exist)".format(
                prefix, dangling[0], damage.printable(os.readlink(os.path.join(self.directory, dangling[0])))),
                broken=step)
        unreadable = [n for n in folder.files[step] if not os.access(os.path.join(self.directory, n), os.R_OK)]
        if unreadable:
            raise CheckpointError("{} cannot be read (permission denied); give yourself read access to {}".format(
                ", ".join(unreadable), self.directory))
        try:
            self.saver.restore(session, prefix)
        except (tf.errors.OpError, ValueError) as e:
            raise folder.refusal("checkpoint {} is damaged ({})".format(prefix, damage.reason(e)), broken=step)
        if steps is not None and step > steps:  # refused before anything in the folder is touched
            raise CheckpointError("the checkpoints in {} are of step {}, past --steps={}; pass --steps={} (or more) "
                                  "to resume them, or choose another --checkpoint_dir".format(
                                      self.directory, step, steps, step))
        self.removed = folder.remove_leftovers()
        self.last_step = step
        return step

    def save(self, session, step):
        """Writes run.json (once) and checkpoint `step`. On failure (a full disk, a folder gone read-only)
        raises CheckpointError saying what is intact: the previous checkpoint and the index naming it are
        only replaced once the new checkpoint is completely written."""
        try:
            if not self._settings_written:
                run_settings.write(self.directory, self.settings)
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
                                      step, self.directory, damage.reason(e), intact))
        self.last_step = step
        self._remove_older(step)

    def _remove_older(self, step):
        """Keeps the KEEP newest complete checkpoints up to `step` (the index already names `step`)."""
        folder = damage.Folder(self.directory)
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
    folder = folder or damage.Folder(directory)
    if not folder.has_index:
        return None
    path = os.path.join(directory, INDEX_FILE)
    try:
        with open(path, "rb") as f:
            raw = f.read(1 << 20)
    except OSError as e:
        raise DamagedIndex("the checkpoint index {} cannot be read ({})".format(path, damage.reason(e)))
    state = checkpoint_state_pb2.CheckpointState()
    try:
        text_format.Parse(raw.decode("utf-8"), state)
    except (UnicodeDecodeError, text_format.ParseError) as e:
        raise DamagedIndex("the checkpoint index {} is garbled ({})".format(path, damage.reason(e)))
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
