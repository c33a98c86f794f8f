"""Checkpoint folders you can trust (session/checkpoints.py, damage.py, run_settings.py, folder_lock.py):
every kind of damage is refused in one line and never trained over, a moved folder resumes, one run per
folder, a full disk keeps what was saved."""

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

from google.protobuf import text_format
import numpy as np
import tensorflow as tf
from tensorflow.python.training import checkpoint_state_pb2

from machine import files
from programs import cli
from session import checkpoints
from session import folder_lock
from tests import testing

tf.compat.v1.disable_eager_execution()  # the posts' graphs and sessions, as run.py builds them

SETTINGS = {"net": "linear", "init": "random_normal", "learning_rate": 0.01, "batch_size": 100, "seed": 0,
            "shuffle": False, "data_dir": None, "validation_size": 5000}


class Model:
    """One variable in its own graph and session, with the Checkpoints of a folder."""

    def __init__(self, directory, settings=SETTINGS):
        self.graph = tf.Graph()
        with self.graph.as_default():
            self.weights = tf.compat.v1.get_variable("layer1_weights", [4, 3], initializer=tf.zeros_initializer())
            self.value = tf.compat.v1.placeholder(tf.float32, [4, 3])
            self.assign = self.weights.assign(self.value)
            self.saved = checkpoints.Checkpoints(directory, dict(settings))
            init = tf.compat.v1.global_variables_initializer()
        self.session = tf.compat.v1.Session(graph=self.graph)
        self.session.run(init)

    def set(self, step):
        self.session.run(self.assign, {self.value: np.full((4, 3), step, np.float32)})

    def get(self):
        return self.session.run(self.weights)

    def close(self):
        self.session.close()


class FolderTest(tf.test.TestCase):

    def setUp(self):
        super().setUp()
        self.dir = self.create_tempdir().full_path

    def _saved(self, steps=(1, 2), directory=None):
        """A folder holding checkpoints of `steps`, whose weights are filled with their step."""
        os.makedirs(directory or self.dir, exist_ok=True)
        model = Model(directory or self.dir)
        for step in steps:
            model.set(step)
            model.saved.save(model.session, step)
        model.close()

    def _restore(self, directory=None, settings=SETTINGS):
        model = Model(directory or self.dir, settings)
        try:
            step = model.saved.restore(model.session)
            return step, model.get()[0, 0]
        finally:
            model.close()

    def _path(self, name):
        return os.path.join(self.dir, name)

    def _snapshot(self):
        files = {}
        for name in sorted(os.listdir(self.dir)):
            if os.path.islink(self._path(name)):
                files[name] = ("symbolic link", os.readlink(self._path(name)))
                continue
            with open(self._path(name), "rb") as f:
                files[name] = f.read()
        return files

    def _refused(self, pattern, offers=None):
        """Restoring raises one line matching pattern, changes no file, and (offers=step) its remedy
        pointing the index at that step really resumes from it."""
        before = self._snapshot()
        with self.assertRaisesRegex(checkpoints.CheckpointError, pattern) as caught:
            self._restore()
        message = str(caught.exception)
        self.assertNotIn("\n", message)
        self.assertEqual(self._snapshot(), before)
        if offers is None:
            self.assertIn("delete {} to start over".format(self.dir), message)
            self.assertNotIn("point the index", message)  # no remedy that would not resume
            return
        self.assertIn("to resume from step {}, the newest complete checkpoint".format(offers), message)
        remedy = message.split("point the index at it: ")[1].split("; or delete")[0]
        subprocess.run(["sh", "-c", remedy], check=True)
        self.assertEqual(self._restore(), (offers, offers))

    def test_saves_and_resumes_with_relative_paths_keeping_two(self):
        self._saved(steps=(1, 2, 3))
        self.assertEqual(self._restore(), (3, 3))
        with open(self._path("checkpoint")) as f:
            index = f.read()
        self.assertIn('model_checkpoint_path: "model.ckpt-3"', index)
        self.assertNotIn(self.dir, index)
        self.assertEqual(sorted(n for n in os.listdir(self.dir) if n.startswith("model.ckpt")),
                         ["model.ckpt-2.data-00000-of-00001", "model.ckpt-2.index", "model.ckpt-2.meta",
                          "model.ckpt-3.data-00000-of-00001", "model.ckpt-3.index", "model.ckpt-3.meta"])
        with open(self._path("run.json")) as f:
            self.assertEqual(json.load(f), SETTINGS)

    def test_empty_folder_starts_at_zero(self):
        self.assertEqual(self._restore(), (0, 0))

    def test_garbled_index(self):
        self._saved()
        with open(self._path("checkpoint"), "w") as f:
            f.write("model_checkpoint_path: {{{ garbage")
        self._refused(r"checkpoint index .* is garbled", offers=2)

    def test_binary_index(self):
        self._saved()
        with open(self._path("checkpoint"), "wb") as f:
            f.write(bytes(range(256)))
        self._refused(r"checkpoint index .* is garbled", offers=2)

    def test_empty_index(self):
        self._saved()
        open(self._path("checkpoint"), "w").close()
        self._refused(r"checkpoint index .* is empty", offers=2)

    def test_index_naming_something_else(self):
        self._saved()
        with open(self._path("checkpoint"), "w") as f:
            f.write('model_checkpoint_path: "weights.h5"\n')
        self._refused(r"names 'weights.h5', not a checkpoint this program writes", offers=2)

    def test_index_pointing_at_missing_files(self):
        self._saved()
        for name in os.listdir(self.dir):
            if name.startswith("model.ckpt-2."):
                os.remove(self._path(name))
        self._refused(r"names step 2, but model.ckpt-2.index, model.ckpt-2.data-00000-of-00001 are missing",
                      offers=1)

    def test_data_shard_deleted(self):
        self._saved()
        os.remove(self._path("model.ckpt-2.data-00000-of-00001"))
        self._refused(r"names step 2, but model.ckpt-2.data-00000-of-00001 is missing", offers=1)

    def test_data_shard_truncated(self):
        self._saved()
        with open(self._path("model.ckpt-2.data-00000-of-00001"), "r+b") as f:
            f.truncate(10)
        self._refused(r"checkpoint .*model.ckpt-2 is damaged \(.+\)", offers=1)

    def test_data_shard_corrupted_in_place(self):
        self._saved()
        path = self._path("model.ckpt-2.data-00000-of-00001")
        with open(path, "r+b") as f:
            f.write(b"\xff" * os.path.getsize(path))
        self._refused(r"checkpoint .*model.ckpt-2 is damaged \(.+\)", offers=1)

    def test_index_shard_truncated(self):
        self._saved()
        with open(self._path("model.ckpt-2.index"), "r+b") as f:
            f.truncate(10)
        self._refused(r"checkpoint .*model.ckpt-2 is damaged \(.+\)", offers=1)

    def test_only_one_damaged_checkpoint(self):
        self._saved(steps=(1,))
        with open(self._path("model.ckpt-1.index"), "r+b") as f:
            f.truncate(5)
        self._refused(r"checkpoint .*model.ckpt-1 is damaged")

    def test_run_json_garbled(self):
        self._saved()
        with open(self._path("run.json"), "w") as f:
            f.write('{"net": "lin')
        self._refused(r"run.json is unreadable \(.+\), so the checkpoints beside it cannot be trusted")

    def test_run_json_not_an_object(self):
        self._saved()
        with open(self._path("run.json"), "w") as f:
            f.write("[1, 2]")
        self._refused(r"run.json is unreadable \(not a JSON object\)")

    def test_run_json_without_the_settings(self):
        self._saved()
        with open(self._path("run.json"), "w") as f:
            f.write("{}")
        self._refused(r"run.json is damaged \(it lacks net, init, learning_rate, batch_size, seed, shuffle\)")

    def test_run_json_with_values_of_the_wrong_kind(self):
        # Hand-edited or damaged: a number where a folder belongs (was a TypeError traceback), text for a
        # seed (was "written with --seed=0 (now 0)"), an empty folder name (its remedy could never work).
        self._saved()
        for key, value in (("data_dir", 5), ("data_dir", ["a"]), ("data_dir", ""), ("seed", "0"), ("net", None)):
            with self.subTest(key=key, value=value):
                with open(self._path("run.json"), "w") as f:
                    json.dump(dict(SETTINGS, **{key: value}), f)
                self._refused(r"run.json is damaged \(its {} is {}\), so the checkpoints beside it cannot be "
                              r"trusted".format(key, re.escape(json.dumps(value))))

    def test_run_json_nested_too_deep(self):
        self._saved()
        with open(self._path("run.json"), "w") as f:
            f.write("[" * 100000 + "]" * 100000)  # was a RecursionError traceback
        self._refused(r"run.json is unreadable \(maximum recursion depth exceeded.*\)")

    def test_run_json_values_are_shown_on_one_line(self):
        self._saved()
        with open(self._path("run.json"), "w") as f:
            json.dump(dict(SETTINGS, net="linear\nfc3\x1b[31m", data_dir="/data\n/mnist"), f)
        before = self._snapshot()
        with self.assertRaisesRegex(checkpoints.CheckpointError, r"trained on the data in /data\?/mnist; to resume, "
                                                                 r"pass --data_dir='/data\?/mnist'"):
            self._restore()
        with open(self._path("run.json"), "w") as f:
            json.dump(dict(SETTINGS, net="linear\nfc3\x1b[31m"), f)
        with self.assertRaisesRegex(checkpoints.CheckpointError, r"written with --net=linear\?fc3\?\[31m \(now linear\)"):
            self._restore()
        self.assertEqual(set(self._snapshot()), set(before))

    def test_dangling_symbolic_link_is_a_missing_file_not_a_permission_problem(self):
        self._saved()
        for name in ("model.ckpt-2.data-00000-of-00001", "model.ckpt-2.index"):
            with self.subTest(name=name):
                self._saved()
                os.remove(self._path(name))
                os.symlink(self._path("gone"), self._path(name))  # was "cannot be read (permission denied)"
                self._refused(r"checkpoint .*model.ckpt-2 is damaged \({} is a symbolic link to {}, which does not "
                              r"exist\)".format(re.escape(name), re.escape(self._path("gone"))), offers=1)
                os.remove(self._path(name))

    def test_checkpoint_past_the_steps_is_refused_before_leftovers_are_removed(self):
        self._saved()
        with open(self._path("checkpoint.tmp1"), "w") as f:
            f.write("partial")
        before = self._snapshot()
        model = Model(self.dir)
        try:
            with self.assertRaisesRegex(checkpoints.CheckpointError, r"are of step 2, past --steps=1; pass --steps=2"):
                model.saved.restore(model.session, steps=1)
            self.assertEqual(self._snapshot(), before)
            self.assertEqual(model.saved.restore(model.session, steps=2), 2)
        finally:
            model.close()
        self.assertFalse(os.path.exists(self._path("checkpoint.tmp1")))

    def test_run_json_missing(self):
        self._saved()
        os.remove(self._path("run.json"))
        self._refused(r"holds checkpoints but no run.json")

    def test_checkpoint_files_without_an_index(self):
        self._saved()
        os.remove(self._path("checkpoint"))
        self._refused(r"holds checkpoint files \(model.ckpt-1.data-00000-of-00001, .*\) but no `checkpoint` index",
                      offers=2)

    def test_only_an_unfinished_save(self):
        with open(self._path("model.ckpt-5.data-00000-of-00001.tempstate123"), "w") as f:
            f.write("partial")
        self._refused(r"holds checkpoint files \(model.ckpt-5.data-00000-of-00001.tempstate123\) but no")

    def test_leftovers_of_an_interrupted_save_are_removed_and_the_last_checkpoint_resumed(self):
        self._saved()
        leftovers = ["model.ckpt-3.data-00000-of-00001.tempstate99", "model.ckpt-3.index.tempstate99",
                     "checkpoint.tmp1a2b", "run.json.tmp77"]
        for name in leftovers:
            with open(self._path(name), "w") as f:
                f.write("partial")
        os.makedirs(self._path("model.ckpt-3_temp"))
        with open(self._path("model.ckpt-3_temp/part-00000-of-00001.index"), "w") as f:
            f.write("partial")
        self.assertEqual(self._restore(), (2, 2))
        for name in leftovers + ["model.ckpt-3_temp"]:
            self.assertFalse(os.path.exists(self._path(name)), name)

    def test_moved_folder_resumes_from_its_new_place(self):
        old = os.path.join(self.dir, "old")
        self._saved(directory=old)
        # An index written by an older version held absolute paths to the old place.
        with open(os.path.join(old, "checkpoint"), "w") as f:
            f.write('model_checkpoint_path: "{0}/model.ckpt-2"\nall_model_checkpoint_paths: "{0}/model.ckpt-2"\n'
                    .format(old))
        new = os.path.join(self.dir, "new")
        shutil.move(old, new)
        self.assertEqual(self._restore(new), (2, 2))

    def test_copied_folder_reads_its_own_files_not_the_original(self):
        original = os.path.join(self.dir, "original")
        self._saved(directory=original)
        copy = os.path.join(self.dir, "copy")
        shutil.copytree(original, copy)
        with open(os.path.join(copy, "checkpoint"), "w") as f:
            f.write('model_checkpoint_path: "{}/model.ckpt-2"\n'.format(original))
        os.remove(os.path.join(original, "model.ckpt-2.index"))  # the original goes on changing
        self.assertEqual(self._restore(copy), (2, 2))

    def test_other_settings_are_refused_naming_the_flag(self):
        self._saved()
        with self.assertRaisesRegex(checkpoints.CheckpointError, r"were written with --seed=0 \(now 7\)"):
            self._restore(settings=dict(SETTINGS, seed=7))

    def test_other_data_folder_is_refused_naming_the_flag(self):
        self._saved()
        with self.assertRaisesRegex(checkpoints.CheckpointError,
                                    r"were trained on the embedded MNIST; to resume, pass no --data_dir"):
            self._restore(settings=dict(SETTINGS, data_dir="/data/other"))
        with open(self._path("run.json")) as f:
            recorded = json.load(f)
        with open(self._path("run.json"), "w") as f:
            json.dump(dict(recorded, data_dir="/data/mine"), f)
        with self.assertRaisesRegex(checkpoints.CheckpointError, r"pass --data_dir=/data/mine"):
            self._restore()

    def test_run_json_of_an_older_version_without_the_data_folder_resumes(self):
        self._saved()
        with open(self._path("run.json"), "w") as f:
            json.dump({k: v for k, v in SETTINGS.items() if k not in ("data_dir", "validation_size")}, f)
        self.assertEqual(self._restore(), (2, 2))

    def test_run_json_is_written_whole(self):
        path = self._path("run.json")
        files.write_text_atomically(path, "first\n")  # as run.json and the index are written
        files.write_text_atomically(path, "second\n")
        with open(path) as f:
            self.assertEqual(f.read(), "second\n")
        self.assertEqual(os.listdir(self.dir), ["run.json"])

    def test_index_lists_the_two_kept_checkpoints_once_each(self):
        model = Model(self.dir)
        try:
            for step in (1, 2, 3, 3):  # the last step saved again (a resumed run that trains no further)
                model.saved.save(model.session, step)
        finally:
            model.close()
        self.assertEqual(self._index(), ("model.ckpt-3", ["model.ckpt-3"]))
        self._saved(steps=(4, 5))
        self.assertEqual(self._index(), ("model.ckpt-5", ["model.ckpt-4", "model.ckpt-5"]))

    def _index(self):
        state = checkpoint_state_pb2.CheckpointState()
        with open(self._path("checkpoint")) as f:
            text_format.Parse(f.read(), state)
        return state.model_checkpoint_path, list(state.all_model_checkpoint_paths)

    def test_run_json_is_written_once_indented(self):
        model = Model(self.dir)
        try:
            model.saved.save(model.session, 1)
            first = os.stat(self._path("run.json")).st_ino
            model.saved.save(model.session, 2)
            # written atomically (a new file replaces it), so a rewrite would show as another inode
            self.assertEqual(os.stat(self._path("run.json")).st_ino, first)
        finally:
            model.close()
        with open(self._path("run.json")) as f:
            lines = f.read().splitlines()
        self.assertEqual(lines[0], "{")
        self.assertIn(' "net": "linear",', lines)
        self.assertIn(' "seed": 0,', lines)

    def test_an_old_checkpoint_that_resists_deletion_is_left_and_the_save_goes_on(self):
        self._saved(steps=(1,))
        os.makedirs(self._path("model.ckpt-0.meta"))  # a name os.remove cannot delete
        self._saved(steps=(2, 3))
        self.assertEqual(self._restore(), (3, 3))
        self.assertTrue(os.path.isdir(self._path("model.ckpt-0.meta")))
        self.assertFalse(os.path.exists(self._path("model.ckpt-1.index")))

    def test_listing_of_checkpoint_files_without_an_index_ends_in_dots_past_four(self):
        self._saved()
        os.remove(self._path("checkpoint"))
        os.remove(self._path("model.ckpt-2.meta"))  # five files left
        self._refused(r"holds checkpoint files \(model.ckpt-1.data-00000-of-00001, model.ckpt-1.index, "
                      r"model.ckpt-1.meta, model.ckpt-2.data-00000-of-00001, \.\.\.\) but no", offers=2)
        os.remove(self._path("checkpoint"))  # the remedy _refused ran wrote it
        os.remove(self._path("model.ckpt-1.meta"))  # four: all named
        self._refused(r"holds checkpoint files \(model.ckpt-1.data-00000-of-00001, model.ckpt-1.index, "
                      r"model.ckpt-2.data-00000-of-00001, model.ckpt-2.index\) but no", offers=2)

    def test_only_an_interrupted_run_json_starts_at_zero(self):
        # Stopped while writing run.json, before the first checkpoint: nothing to resume, nothing to refuse.
        with open(self._path("run.json.tmp77"), "w") as f:
            f.write("partial")
        self.assertEqual(self._restore(), (0, 0))
        self.assertEqual(os.listdir(self.dir), [])

    def test_a_leftover_that_resists_deletion_is_left_and_the_run_resumes(self):
        self._saved()
        os.makedirs(self._path("model.ckpt-3_temp/inner"))  # a directory inside: os.remove refuses it
        with open(self._path("checkpoint.tmp1"), "w") as f:
            f.write("partial")
        self.assertEqual(self._restore(), (2, 2))
        self.assertTrue(os.path.isdir(self._path("model.ckpt-3_temp/inner")))
        self.assertFalse(os.path.exists(self._path("checkpoint.tmp1")))

    def test_the_new_value_flag_is_offered_only_when_it_resumes(self):
        self._saved()
        settings = dict(SETTINGS, precision="float32")
        with open(self._path("run.json"), "w") as f:
            json.dump(settings, f)

        def refusal(**changed):
            model = Model(self.dir, dict(settings, **changed))
            model.saved.may_change = {"precision": ("--allow_precision_change", False)}
            try:
                with self.assertRaises(checkpoints.CheckpointError) as caught:
                    model.saved.restore(model.session)
            finally:
                model.close()
            return str(caught.exception)

        self.assertIn("--precision=float32 (now float16); run with those flags to resume (or add "
                      "--allow_precision_change to resume under the new value), or choose", refusal(precision="float16"))
        both = refusal(precision="float16", seed=7)
        self.assertIn("--precision=float32 (now float16), --seed=0 (now 7); run with those flags to resume, or "
                      "choose", both)
        self.assertNotIn("--allow_precision_change", both)

    def test_full_disk_keeps_the_previous_checkpoint(self):
        disk = tempfile.mkdtemp()
        mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=512k", "tmpfs", disk], capture_output=True)
        if mounted.returncode:
            self.skipTest("cannot mount a small tmpfs here to fill: " + mounted.stderr.decode().strip())
        try:
            model = Model(disk)
            model.set(1)
            model.saved.save(model.session, 1)
            filler = os.open(os.path.join(disk, "filler"), os.O_WRONLY | os.O_CREAT)
            try:
                while os.write(filler, b"\0" * 4096):
                    pass
            except OSError:
                pass  # the disk is full
            os.close(filler)
            model.set(2)
            with self.assertRaisesRegex(checkpoints.CheckpointError,
                                        r"cannot save the checkpoint of step 2 in .* \(.+\); the checkpoint of "
                                        r"step 1 is intact; free some space"):
                model.saved.save(model.session, 2)
            model.close()
            os.remove(os.path.join(disk, "filler"))
            self.assertEqual(self._restore(disk), (1, 1))
        finally:
            subprocess.run(["umount", disk])
            os.rmdir(disk)


class LockTest(tf.test.TestCase):

    def test_second_lock_is_refused_naming_the_first_until_it_is_released(self):
        folder = self.create_tempdir().full_path
        first = folder_lock.FolderLock(folder, "run.py --net=fc3")
        with self.assertRaisesRegex(folder_lock.LockError,
                                    r"another run is using {}: pid {} on \S+, started \S+: run.py --net=fc3; "
                                    r"wait for it to end".format(folder, os.getpid())):
            folder_lock.FolderLock(folder, "run.py --net=linear")
        first.release()
        folder_lock.FolderLock(folder, "run.py --net=linear").release()

    def test_a_discarded_lock_leaves_the_folder_as_it_found_it(self):
        folder = self.create_tempdir().full_path
        folder_lock.FolderLock(folder, "me").discard()
        self.assertEqual(os.listdir(folder), [])
        open(os.path.join(folder, "run.lock"), "w").close()  # a killed run's: not this lock's to remove
        folder_lock.FolderLock(folder, "me").discard()
        self.assertEqual(os.listdir(folder), ["run.lock"])
        kept = self.create_tempdir().full_path
        folder_lock.FolderLock(kept, "me").release()  # a run that ran: its lock file stays, harmless
        self.assertEqual(os.listdir(kept), ["run.lock"])

    def test_a_refused_run_removes_the_empty_folders_it_made_and_only_those(self):
        root = self.create_tempdir().full_path
        deep = os.path.join(root, "a", "b", "c")
        made = cli.missing_dirs(deep)
        self.assertEqual(made, [deep, os.path.join(root, "a", "b"), os.path.join(root, "a")])
        self.assertEqual(cli.missing_dirs(root), [])
        os.makedirs(deep)
        with open(os.path.join(root, "a", "b", "kept.txt"), "w") as f:
            f.write("someone else's")
        cli.remove_empty_dirs(made)
        self.assertEqual(sorted(os.listdir(root)), ["a"])
        self.assertEqual(os.listdir(os.path.join(root, "a", "b")), ["kept.txt"])

    def test_lock_of_a_killed_process_is_not_stuck(self):
        folder = self.create_tempdir().full_path
        holder = subprocess.Popen(
            [sys.executable, "-c", "import sys; from session import folder_lock; "
             "folder_lock.FolderLock(sys.argv[1], 'holder'); print('locked', flush=True); sys.stdin.read()", folder],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=dict(os.environ, PYTHONPATH=testing.ROOT))
        self.assertEqual(holder.stdout.readline().strip(), "locked")
        with self.assertRaisesRegex(folder_lock.LockError, r"pid {} .*: holder".format(holder.pid)):
            folder_lock.FolderLock(folder, "me")
        holder.kill()
        holder.communicate()
        folder_lock.FolderLock(folder, "me").release()


def _run(args, env=None):
    return testing.run_program("run.py", args, env=env)


def _figures(stdout):
    return [line for line in stdout.splitlines() if line.startswith(("Test ", "Cost:"))]


class RunFolderTest(tf.test.TestCase):
    """The same, end to end: what //:run does with a run folder (linear net, small random datasets)."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.data = testing.random_mnist(tempfile.mkdtemp())  # 100 training images after the split

    def _args(self, logdir, steps=2, *more):
        return ["--net=linear", "--steps={}".format(steps), "--data_dir=" + self.data, "--logdir=" + logdir] + list(more)

    def _error(self, result):
        self.assertEqual(result.returncode, 1, result.stderr)
        self.assertNotIn("Traceback", result.stderr)
        errors = [l for l in result.stderr.splitlines() if l.startswith("error")]
        self.assertLen(errors, 1, result.stderr)
        return errors[0]

    def test_damaged_folder_is_reported_and_left_as_it_was(self):
        logdir = self.create_tempdir().full_path
        self.assertEqual(_run(self._args(logdir)).returncode, 0)
        folder = os.path.join(logdir, "checkpoints")
        with open(os.path.join(folder, "checkpoint"), "w") as f:
            f.write("\x00garbage")
        before = {n: open(os.path.join(folder, n), "rb").read() for n in os.listdir(folder) if n != "run.lock"}
        result = _run(self._args(logdir, 4))
        self.assertRegex(self._error(result), r"^error: the checkpoint index .* is garbled .*nothing was trained over: "
                                              r"to resume from step 2")
        self.assertNotIn("Cost:", result.stdout)
        after = {n: open(os.path.join(folder, n), "rb").read() for n in os.listdir(folder) if n != "run.lock"}
        self.assertEqual(after, before)

    def test_moved_folder_resumes_from_its_new_place(self):
        old = os.path.join(self.create_tempdir().full_path, "run")
        self.assertEqual(_run(self._args(old)).returncode, 0)
        new = os.path.join(self.create_tempdir().full_path, "moved")
        shutil.move(old, new)
        result = _run(self._args(new, 4))
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertIn("Resuming at step 2 from {}".format(os.path.join(new, "checkpoints")), result.stdout)

    def test_second_run_on_a_folder_is_refused_and_a_killed_runs_lock_is_not_stuck(self):
        logdir = self.create_tempdir().full_path
        argv, env = testing.python_command("run.py", ["--net=fc3", "--steps=1000000", "--print_every=100000",
                                                      "--save_every=1000000", "--data_dir=" + self.data,
                                                      "--logdir=" + logdir])
        first = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env)
        try:
            for line in first.stdout:
                if line.startswith("Cost:"):
                    break
            refused = self._error(_run(["--net=fc3"] + self._args(logdir)[1:]))
            self.assertRegex(refused, r"^error: another run is using {}: pid {} on \S+, started \S+: .*run.py "
                                      r"--net=fc3 --steps=1000000 .*; wait for it to end".format(
                                          re.escape(os.path.join(logdir, "checkpoints")), first.pid))
            # Its own checkpoints elsewhere, the same --logdir: refused too, before it writes an event.
            events_before = sorted(n for n in os.listdir(logdir) if n.startswith("events.out"))
            # (A folder it would have made, two levels deep: gone again with its lock file.)
            made = os.path.join(self.create_tempdir().full_path, "new", "checkpoints")
            elsewhere = self.create_tempdir().full_path
            refused = self._error(_run(["--net=fc3"] + self._args(logdir)[1:] + ["--checkpoint_dir=" + made]))
            self.assertIn("or choose another --logdir", refused)
            self.assertFalse(os.path.exists(os.path.dirname(made)), os.path.dirname(made))
            refused = self._error(_run(["--net=fc3"] + self._args(logdir)[1:] + ["--checkpoint_dir=" + elsewhere]))
            self.assertRegex(refused, r"^error: another run is using {}: pid {} on \S+, started \S+: .*run.py "
                                      r"--net=fc3 --steps=1000000 .*; wait for it to end \(or stop it\), or choose "
                                      r"another --logdir$".format(re.escape(logdir), first.pid))
            self.assertEqual(sorted(n for n in os.listdir(logdir) if n.startswith("events.out")), events_before)
            self.assertEqual(os.listdir(elsewhere), [])  # an existing folder: kept, without a lock file
        finally:
            first.kill()  # SIGKILL: no handler runs, no checkpoint is saved, the lock file stays
            first.communicate()
        self.assertTrue(os.path.exists(os.path.join(logdir, "checkpoints", "run.lock")))
        after = _run(["--net=fc3"] + self._args(logdir)[1:])
        self.assertEqual(after.returncode, 0, after.stderr)
        self.assertIn("Test Cost:", after.stdout)

    def test_relative_checkpoint_dir_resolves_against_where_bazel_run_started(self):
        start = self.create_tempdir().full_path
        result = _run(["--net=linear", "--steps=2", "--data_dir=" + self.data, "--logdir=logs",
                       "--checkpoint_dir=ckpt/here"], env={"BUILD_WORKING_DIRECTORY": start})
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertTrue(os.path.exists(os.path.join(start, "ckpt", "here", "model.ckpt-2.index")))
        self.assertFalse(os.path.exists(os.path.join(start, "logs", "checkpoints")))

    def test_save_every_keeps_the_last_two(self):
        logdir = self.create_tempdir().full_path
        result = _run(self._args(logdir, 7, "--save_every=2"))
        self.assertEqual(result.returncode, 0, result.stderr)
        folder = os.path.join(logdir, "checkpoints")
        # Saved at steps 2, 4, 6 and at the end (7); the two newest are kept, the index names the last.
        self.assertEqual(sorted(n for n in os.listdir(folder) if n.endswith(".index")),
                         ["model.ckpt-6.index", "model.ckpt-7.index"])
        with open(os.path.join(folder, "checkpoint")) as f:
            self.assertIn('model_checkpoint_path: "model.ckpt-7"', f.read())

    def test_shuffle_across_a_resume_gives_the_figures_of_an_uninterrupted_run(self):
        # 100 training images in batches of 40: epochs end inside batches, each epoch its own permutation.
        more = ("--shuffle", "--seed=5", "--batch_size=40", "--print_every=1")
        whole = _run(self._args(self.create_tempdir().full_path, 7, *more))
        self.assertEqual(whole.returncode, 0, whole.stderr)
        logdir = self.create_tempdir().full_path
        first = _run(self._args(logdir, 3, *more))
        self.assertEqual(first.returncode, 0, first.stderr)
        resumed = _run(self._args(logdir, 7, *more))
        self.assertEqual(resumed.returncode, 0, resumed.stderr)
        self.assertIn("Resuming at step 3", resumed.stdout)
        trained_first = [l for l in _figures(first.stdout) if l.startswith("Cost:")]
        self.assertLen(trained_first, 3)
        self.assertEqual(trained_first + _figures(resumed.stdout), _figures(whole.stdout))
        unshuffled = _run(self._args(self.create_tempdir().full_path, 7, *more[1:]))
        self.assertNotEqual(_figures(unshuffled.stdout), _figures(whole.stdout))

    def test_another_data_folder_is_refused_naming_the_flag(self):
        logdir = self.create_tempdir().full_path
        self.assertEqual(_run(self._args(logdir)).returncode, 0)
        other = testing.random_mnist(self.create_tempdir().full_path, seed=1)
        result = _run(["--net=linear", "--steps=4", "--data_dir=" + other, "--logdir=" + logdir])
        self.assertRegex(self._error(result), r"^error: the checkpoints in .* were trained on the data in {}; to "
                                              r"resume, pass --data_dir={}".format(self.data, self.data))

    def test_checkpoint_past_the_steps_asked_for(self):
        logdir = self.create_tempdir().full_path
        self.assertEqual(_run(self._args(logdir, 5)).returncode, 0)
        leftover = os.path.join(logdir, "checkpoints", "checkpoint.tmp1")
        with open(leftover, "w") as f:
            f.write("partial")
        result = _run(self._args(logdir, 3))
        self.assertRegex(self._error(result), r"^error: the checkpoints in .* are of step 5, past --steps=3; pass --steps=5")
        # The refusal is the only line, and the folder is left as it was (it once said "Removed 1 file(s)" first).
        self.assertNotIn("Removed", result.stderr)
        self.assertTrue(os.path.exists(leftover))


if __name__ == "__main__":
    tf.test.main()
