"""What a checkpoint folder holds, and the one-line refusal of a damaged one (the folder's forensics).

A folder's files (session/checkpoints.py has the whole contract): `model.ckpt-<step>.index` +
`.data-*` (+ `.meta`), the Saver's `checkpoint` index, `run.json` (session/run_settings.py) and the
leftovers an interrupted save leaves. Folder sorts them by step into complete and incomplete
checkpoints; refusal() says what is wrong and, when pointing the index at the newest complete
checkpoint would mend the folder, the exact command that does it.
"""

import os
import re
import shlex

from machine import errors

PREFIX = "model.ckpt"
INDEX_FILE = "checkpoint"  # the Saver's own name for it
SETTINGS_FILE = "run.json"

_CHECKPOINT_FILE = re.compile(r"^model\.ckpt-(\d+)\.(index|meta|data-(\d{5})-of-(\d{5}))$")


class CheckpointError(Exception):
    """A checkpoint folder that cannot be resumed from or written to; the message says what to do."""


def reason(error):
    """What went wrong, in a few words: an OSError's strerror, or the line of a TensorFlow error that says
    it (not its "Graph execution error:" heading, node names or the stack where the op was defined)."""
    return errors.error_line(error, skip=errors.TF_WRAPPING + (
        "File ", "Original error", "Restoring from checkpoint failed", "Hint:"), last=True, indented=True)


def is_leftover(name):
    """Files an interrupted save leaves: TensorFlow's `*.tempstate*` and `<prefix>_temp/`, the index's and
    run.json's temporary copies (machine/files.py names them <file>.tmp<pid>). The index never names them,
    so they are never resumed from."""
    return (".tempstate" in name or (name.startswith(PREFIX) and name.endswith("_temp"))
            or re.match(r"^({}|{})\.tmp".format(re.escape(INDEX_FILE), re.escape(SETTINGS_FILE)), name) is not None)


class Folder:
    """What a checkpoint folder holds: complete checkpoints by step, incomplete ones, leftovers."""

    def __init__(self, directory):
        self.directory = directory
        try:
            names = os.listdir(directory)
        except OSError as e:
            raise CheckpointError("cannot list {} ({}); choose a --checkpoint_dir you can read".format(
                directory, reason(e)))
        self.leftovers = sorted(n for n in names if is_leftover(n))
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

    def refusal(self, problem, broken=None, index_can_mend=True):
        """CheckpointError for a damaged folder, offering the newest complete checkpoint when there is one
        and pointing the index at it would mend the folder."""
        usable = [s for s in self.complete if s != broken and index_can_mend]
        if usable:
            index = os.path.join(self.directory, INDEX_FILE)
            remedy = ("to resume from step {0}, the newest complete checkpoint, point the index at it: "
                      "echo 'model_checkpoint_path: \"{1}-{0}\"' > {2}; or delete {3} to start over").format(
                usable[-1], PREFIX, shlex.quote(index), shlex.quote(self.directory))
        else:
            remedy = "delete {} to start over".format(shlex.quote(self.directory))
        return CheckpointError("{}; nothing was trained over: {}, or choose another --checkpoint_dir".format(
            problem, remedy))

    def remove_leftovers(self):
        """Deletes the leftovers; returns the names removed (one that resists stays: nothing reads it)."""
        removed = []
        for name in self.leftovers:
            path = os.path.join(self.directory, name)
            try:
                if os.path.isdir(path) and not os.path.islink(path):
                    for inner in os.listdir(path):
                        os.remove(os.path.join(path, inner))
                    os.rmdir(path)
                else:
                    os.remove(path)
                removed.append(name)
            except OSError:
                pass  # harmless where it is: nothing ever reads it
        return removed


def printable(value):
    """A value read from the folder, on one line: a newline or control character in it shows as '?'."""
    return "".join(c if c.isprintable() else "?" for c in str(value))
