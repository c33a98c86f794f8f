"""`run.json`: the settings that decide a checkpoint folder's weights and batch sequence (and its data).

Written atomically before the first checkpoint (session/checkpoints.py); a run never resumes from
checkpoints other settings wrote. check() compares a folder's run.json with this run's settings: a
missing, unreadable or damaged file is refused as damage (the checkpoints cannot be trusted), a
different setting in one line naming the flags that resume it.
"""

import json
import os
import shlex

from machine import files
from session import damage

FILE = damage.SETTINGS_FILE
# Settings every run.json has recorded; later ones (e.g. data_dir) are compared when the file has them.
REQUIRED = ("net", "init", "learning_rate", "batch_size", "seed", "shuffle")


def write(directory, settings):
    files.write_text_atomically(os.path.join(directory, FILE), json.dumps(settings, indent=1, sort_keys=True) + "\n")


def read(path, folder, introduced):
    """The settings run.json records (`introduced` filling those it predates), or the folder's refusal."""
    if not os.path.lexists(path):
        raise folder.refusal("{} holds checkpoints but no {} recording the settings they were written with, "
                             "so they cannot be trusted".format(folder.directory, FILE), index_can_mend=False)
    try:
        with open(path) as f:
            saved = json.load(f)
        if not isinstance(saved, dict):
            raise ValueError("not a JSON object")
        return dict(introduced, **saved)
    except (OSError, ValueError, RecursionError) as e:  # RecursionError: JSON nested too deep
        raise folder.refusal("{} is unreadable ({}), so the checkpoints beside it cannot be trusted".format(
            path, damage.reason(e)), index_can_mend=False)


def check(folder, settings, may_change, introduced):
    """Raises CheckpointError unless the folder's run.json records `settings` (see Checkpoints)."""
    directory = folder.directory
    path = os.path.join(directory, FILE)
    saved = read(path, folder, introduced)
    lacking = [k for k in REQUIRED if k not in saved]
    if lacking:
        raise folder.refusal("{} is damaged (it lacks {}), so the checkpoints beside it cannot be "
                             "trusted".format(path, ", ".join(lacking)), index_can_mend=False)
    # A value of the wrong kind (a number for a folder, text for a seed) is damage, not another setting.
    wrong = [k for k in sorted(settings) if k in saved and not _could_be(k, saved[k], settings[k])]
    if wrong:
        raise folder.refusal("{} is damaged ({}), so the checkpoints beside it cannot be trusted".format(
            path, ", ".join("its {} is {}".format(k, damage.printable(json.dumps(saved[k]))) for k in wrong)),
            index_can_mend=False)
    if "data_dir" in saved and saved["data_dir"] != settings.get("data_dir"):
        raise damage.CheckpointError("the checkpoints in {} were trained on {}; to resume, pass {}, or choose "
                                     "another --checkpoint_dir".format(
                                         directory, _data_name(saved["data_dir"]), _data_flag(saved["data_dir"])))
    differing = [k for k, v in sorted(settings.items()) if k in saved and k != "data_dir"
                 and saved[k] != v and not may_change.get(k, (None, False))[1]]
    if differing:
        allow = [may_change[k][0] for k in differing if k in may_change]
        raise damage.CheckpointError(
            "the checkpoints in {} were written with {}; run with those flags to resume{}, or choose another "
            "--checkpoint_dir".format(
                directory, ", ".join("--{}={} (now {})".format(k, damage.printable(saved[k]), settings[k])
                                     for k in differing),
                "" if not allow or len(allow) < len(differing) else
                " (or add {} to resume under the new value)".format(" ".join(allow))))


def _data_name(data_dir):
    return "the embedded MNIST" if data_dir is None else "the data in {}".format(damage.printable(data_dir))


def _data_flag(data_dir):
    return "no --data_dir (the embedded MNIST)" if data_dir is None else "--data_dir={}".format(
        damage.printable(shlex.quote(data_dir)))


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
