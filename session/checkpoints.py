"""Saving and resuming training, so an interrupted run loses nothing.

tf.compat.v1.train.Saver writes `model.ckpt-<step>`; the step in the name is where a resumed run
continues. Beside the checkpoints, run.json records the settings that decide the weights and the
batch sequence, so a run never resumes from a checkpoint another configuration wrote.
"""

import json
import os
import re

import tensorflow as tf

SETTINGS_FILE = "run.json"
PREFIX = "model.ckpt"


class CheckpointError(Exception):
    """A checkpoint folder that cannot be resumed from; the message says what to do."""


class Checkpoints:

    def __init__(self, directory, settings, may_change=None, introduced=None):
        """Call inside the graph, before it is finalized: the Saver adds save/restore nodes.

        may_change: {setting: (the flag that allows resuming with it changed, whether it was given)},
        for settings that do not change the weights' shapes but do change the run (e.g. precision).
        introduced: {setting: the value every run had before run.json recorded it} (e.g. precision:
        float32), so checkpoints written before a setting existed still resume.
        """
        self.directory = directory
        self.settings = settings
        self.may_change = may_change or {}
        self.introduced = introduced or {}
        self.saver = tf.compat.v1.train.Saver(max_to_keep=2)

    def _check_settings(self):
        path = os.path.join(self.directory, SETTINGS_FILE)
        try:
            with open(path) as f:
                saved = dict(self.introduced, **json.load(f))
        except (OSError, ValueError, TypeError) as e:  # TypeError: JSON that is not an object
            raise CheckpointError("{} is unreadable ({}); the checkpoints beside it cannot be trusted: "
                                  "delete {} or choose another --checkpoint_dir".format(path, e, self.directory))
        differing = [k for k, v in sorted(self.settings.items())
                     if saved.get(k) != v and not self.may_change.get(k, (None, False))[1]]
        if differing:
            allow = [self.may_change[k][0] for k in differing if k in self.may_change]
            raise CheckpointError("the checkpoints in {} were written with {}; run with those flags to resume{}, "
                                  "or choose another --checkpoint_dir".format(
                                      self.directory,
                                      ", ".join("--{}={} (now {})".format(k, saved.get(k), self.settings[k])
                                                for k in differing),
                                      "" if not allow or len(allow) < len(differing) else
                                      " (or add {} to resume under the new value)".format(" ".join(allow))))

    def restore(self, session):
        """Restores the latest checkpoint into session; returns the step to continue from (0: none)."""
        state = tf.compat.v1.train.get_checkpoint_state(self.directory)
        if state is None or not state.model_checkpoint_path:
            return 0
        path = state.model_checkpoint_path
        if not os.path.isabs(path):
            path = os.path.join(self.directory, path)
        self._check_settings()
        match = re.search(r"-(\d+)$", path)
        if not match:
            raise CheckpointError("{}: not a checkpoint this program wrote; delete it or choose another "
                                  "--checkpoint_dir".format(path))
        try:
            self.saver.restore(session, path)
        except (tf.errors.OpError, ValueError) as e:
            first_line = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
            raise CheckpointError("checkpoint {} is damaged ({}); delete {} to start over, or restore the "
                                  "folder from a backup".format(path, first_line[:200], self.directory))
        return int(match.group(1))

    def save(self, session, step):
        with open(os.path.join(self.directory, SETTINGS_FILE), "w") as f:
            json.dump(self.settings, f, indent=1, sort_keys=True)
        # The meta graph travels with the weights, so //:predict restores the network without its
        # Python (LTFN 9; session/restore.py).
        self.saver.save(session, os.path.join(self.directory, PREFIX), global_step=step)
