"""Every program speaks the same way (issue 12): a bad flag value, an unknown flag or an extra argument is
refused in one line `error: ...` with a non-zero exit and no traceback, and --help and those mistakes answer
before TensorFlow is imported. Each program is started as a script, as `bazel run` starts it."""

import os

from absl.testing import absltest
from absl.testing import parameterized

from programs import cli
from tests import testing

# (script, a bad flag value, the error it gives) for the absl programs, whose flags are checked before
# anything is imported.
ABSL_PROGRAMS = (
    ("run.py", "--steps=-1", r"^error: flag --steps=-1: -1 is not a positive integer; see --help$"),
    ("programs/convolutions.py", "--example=nope", r"^error: flag --example=nope: value should be one of .*"),
    ("programs/deps.py", "--batch=0", r"^error: flag --batch=0: 0 is not a positive integer; see --help$"),
    ("programs/reproduce.py", "--rows=conv4/nope", r"^error: flag --rows=.*each row must be one of linear/"),
    ("programs/pitfalls.py", "--list=maybe", r"^error: flag --list=maybe: .*Non-boolean argument.*; see --help$"),
    ("bench/throughput.py", "--repeats=0", r"^error: flag --repeats=0: 0 is not a positive integer; see --help$"),
)


class AbslProgramsTest(parameterized.TestCase):

    def _refused_at_once(self, script, args, pattern, code):
        result, imported = testing.run_watching_imports(script, args)
        self.assertEqual(result.returncode, code, result.stderr)
        self.assertNotIn("Traceback", result.stderr)
        self.assertLen(result.stderr.splitlines(), 1, result.stderr)
        self.assertRegex(result.stderr.strip(), pattern)
        self.assertEqual(imported, [], "{} imported TensorFlow before refusing {}".format(script, args))
        self.assertEqual(result.stdout, "")

    @parameterized.parameters(*ABSL_PROGRAMS)
    def test_a_bad_flag_value_is_one_line(self, script, bad, error):
        self._refused_at_once(script, [bad], error, 1)

    @parameterized.parameters(*ABSL_PROGRAMS)
    def test_an_unknown_flag_is_one_line(self, script, bad, error):
        del bad, error
        self._refused_at_once(script, ["--no_such_flag=1"], r"^error: Unknown command line flag 'no_such_flag'", 1)

    @parameterized.parameters(*ABSL_PROGRAMS)
    def test_an_extra_argument_is_one_line(self, script, bad, error):
        del bad, error
        self._refused_at_once(script, ["stray", "words"], r"^error: unexpected arguments stray words; ", 2)

    @parameterized.parameters(*ABSL_PROGRAMS)
    def test_help_lists_the_flags_before_tensorflow_is_imported(self, script, bad, error):
        del error
        result, imported = testing.run_watching_imports(script, ["--help"])
        self.assertEqual(imported, [])
        self.assertIn("--" + bad[2:].split("=")[0], result.stdout)
        self.assertNotIn("Traceback", result.stderr)


class ArgparseProgramsTest(absltest.TestCase):
    """//:report and //:tensorboard take their arguments with cli.ArgumentParser."""

    def _one_error_line(self, result):
        self.assertEqual(result.returncode, 1, result.stderr)
        self.assertNotIn("Traceback", result.stderr)
        errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
        self.assertLen(errors, 1, result.stderr)
        self.assertEqual(result.stderr.strip().splitlines()[-1], errors[0])
        return errors[0]

    def test_report_refuses_an_unknown_flag(self):
        result, imported = testing.run_watching_imports("programs/report.py", ["runs/a", "--no_such_flag"])
        self.assertEqual(self._one_error_line(result), "error: unrecognized arguments: --no_such_flag")
        self.assertEqual(imported, [])

    def test_report_refuses_a_folder_that_is_not_a_run(self):
        folder = self.create_tempdir().full_path
        result = testing.run_program("programs/report.py", [folder])
        self.assertIn(folder, self._one_error_line(result))

    def test_predict_refuses_an_unknown_flag_and_a_missing_input_before_importing_tensorflow(self):
        for args, error in ((["--run=runs/a", "--test_index=0", "--no_such_flag"],
                             "error: unrecognized arguments: --no_such_flag"),
                            (["--run=runs/a"], "error: nothing to predict: give --test_index=0,7,42 and/or "
                                               "--image=PATH[,PATH...]")):
            result, imported = testing.run_watching_imports("programs/predict.py", args)
            self.assertEqual(self._one_error_line(result), error)
            self.assertEqual(imported, [])

    def test_tensorboard_refuses_a_bad_port_before_importing_tensorboard(self):
        folder = self.create_tempdir().full_path
        result, imported = testing.run_watching_imports("programs/tensorboard_main.py",
                                                        ["--logdir=" + folder, "--port=http"],
                                                        modules=("tensorflow", "tensorboard"))
        self.assertEqual(self._one_error_line(result), "error: argument --port: invalid int value: 'http'")
        self.assertEqual(imported, [])

    def test_tensorboard_refuses_an_extra_argument_in_one_line(self):
        # Passed on to TensorBoard, whose own parser refuses it: its usage text is left out, its reason kept.
        folder = self.create_tempdir().full_path
        result = testing.run_program("programs/tensorboard_main.py", ["--logdir=" + folder, "stray"])
        self.assertRegex(self._one_error_line(result), r"^error: .*'stray'.*; see --help$")
        self.assertNotIn("usage:", result.stderr)

    def test_tensorboard_refuses_a_bad_value_of_its_own_flags_in_one_line(self):
        folder = self.create_tempdir().full_path
        result = testing.run_program("programs/tensorboard_main.py", ["--logdir=" + folder, "--reload_interval=soon"])
        self.assertRegex(self._one_error_line(result), r"^error: argument --reload_interval: .*'soon'")


class CliTest(absltest.TestCase):
    """programs/cli.py in this process: the folders a flag names, and argparse's mistakes as one line."""

    def test_a_flags_folder_is_made_or_refused_naming_the_flag(self):
        root = self.create_tempdir().full_path
        deep = os.path.join(root, "a", "b", "c")
        self.assertEqual(cli.make_writable_dir(deep, "png"), deep)
        self.assertTrue(os.path.isdir(deep))
        self.assertEqual(cli.make_writable_dir(deep, "png"), deep)  # already there: kept
        blocker = os.path.join(root, "file")
        open(blocker, "w").close()
        with self.assertRaises(cli.UsageError) as refused:
            cli.make_writable_dir(os.path.join(blocker, "pages"), "render")
        self.assertEqual(str(refused.exception), "--render {} cannot be created (Not a directory); choose a folder "
                                                 "you can write to".format(os.path.join(blocker, "pages")))

    def test_a_refused_runs_new_folders_go_again_and_nothing_else(self):
        root = self.create_tempdir().full_path
        target = os.path.join(root, "x", "y", "z")
        self.assertEqual(cli.missing_dirs(target), [target, os.path.dirname(target), os.path.join(root, "x")])
        self.assertEqual(cli.missing_dirs(root), [])
        os.makedirs(target)
        kept = os.path.join(root, "x", "kept")
        os.makedirs(kept)
        with open(os.path.join(kept, "file"), "w"):
            pass
        cli.remove_empty_dirs([os.path.join(root, "x"), target, os.path.dirname(target), kept])
        self.assertEqual(sorted(os.listdir(root)), ["x"])  # x holds kept/, which holds a file
        self.assertEqual(sorted(os.listdir(os.path.join(root, "x"))), ["kept"])

    def test_argparse_mistakes_raise_usage_error_with_argparses_words(self):
        parser = cli.ArgumentParser(prog="p")
        parser.add_argument("--port", type=int)
        with self.assertRaises(cli.UsageError) as refused:
            parser.parse_args(["--port=http"])
        self.assertEqual(str(refused.exception), "argument --port: invalid int value: 'http'")


if __name__ == "__main__":
    absltest.main()
