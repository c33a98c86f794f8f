"""machine/: what this machine can do. Sessions ask for no GPU where there is no GPU driver
(sessions.py, also the one ConfigProto builder); TensorFlow is imported without its start-up notes that
are not about the run, nothing else it says is hidden, even when the import kills the process (quiet.py); a
file is replaced whole or not at all (files.py); one line says what an exception is about (errors.py).
"""

import os
import re
import signal
import subprocess
import sys
import textwrap

import tensorflow as tf
from tensorflow.core.protobuf import rewriter_config_pb2

from machine import errors
from machine import files
from machine import quiet
from machine import sessions
from tests import testing

# What TensorFlow's libraries print while they load, on a machine without a GPU (seen here).
NOISE = ("WARNING: All log messages before absl::InitializeLog() is called are written to STDERR\n"
         "I0000 00:00:1795860811.158016    4421 cudart_stub.cc:31] Could not find cuda drivers on your machine, "
         "GPU will not be used.\n"
         "I0000 00:00:1796117617.354996   12679 port.cc:153] oneDNN custom operations are on. You may see slightly "
         "different numerical results due to floating-point round-off errors from different computation orders. "
         "To turn them off, set the environment variable `TF_ENABLE_ONEDNN_OPTS=0`.\n")
# What TensorFlow says before it aborts on a CPU without the instructions it was built for.
NO_AVX = ("F0000 00:00:1.0 1 cpu_feature_guard.cc:69] The TensorFlow library was compiled to use AVX instructions, "
          "but these aren't available on your machine.\n")


def _python(script, fake_tensorflow=None):
    """Runs script in a fresh interpreter with the project importable; fake_tensorflow: the source of a
    `tensorflow` module put first on the path in its place."""
    folder = testing.ROOT
    argv, env = testing.python_command("run.py", [])
    if fake_tensorflow is not None:
        import tempfile
        folder = tempfile.mkdtemp()
        with open(os.path.join(folder, "tensorflow.py"), "w") as f:
            f.write(textwrap.dedent(fake_tensorflow))
        env["PYTHONPATH"] = os.pathsep.join([folder, env["PYTHONPATH"]])
    return subprocess.run([argv[0], "-c", textwrap.dedent(script)], capture_output=True, text=True, env=env,
                          timeout=300)


class QuietTest(tf.test.TestCase):

    def test_the_notes_are_recognised_and_nothing_else(self):
        for line in NOISE.splitlines():
            self.assertTrue(quiet.is_noise(line), line)
        for line in ("E0000 00:00:1795860811.1 4421 cuda_platform.cc:52] failed call to cuInit: ...",
                     "I0000 00:00:1795860811.1 4421 cpu_feature_guard.cc:227] This TensorFlow binary is optimized",
                     "WARNING: All log messages before absl::InitializeLog() is called are written to STDERR (x)",
                     "Traceback (most recent call last):"):
            self.assertFalse(quiet.is_noise(line), line)

    def test_the_real_import_prints_none_of_its_notes(self):
        result = _python("""
            import sys
            from machine import quiet
            tf = quiet.import_tensorflow()
            print(tf.__name__, sys.modules['tensorflow'] is tf)
            """)
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertEqual(result.stdout, "tensorflow True\n")
        self.assertNotIn("cudart_stub", result.stderr)
        self.assertNotIn("InitializeLog", result.stderr)
        # No I/W/E note at all: what is left of the import's output is not TensorFlow's logging.
        self.assertEqual([line for line in result.stderr.splitlines() if re.match(r"[IWEF]\d{4} ", line)], [])

    def test_anything_else_tensorflow_says_is_shown_and_a_failed_import_too(self):
        result = _python("""
            from machine import quiet
            quiet.import_tensorflow()
            """, fake_tensorflow="""
            import os
            os.write(2, {!r}.encode())
            os.write(2, b"E0000 00:00:1.0 1 loader.cc:1] a real error\\n")
            os.write(2, {!r}.encode())
            raise ImportError("libtensorflow_framework.so.2: cannot open shared object file")
            """.format(NOISE, NOISE))
        self.assertEqual(result.returncode, 1)
        self.assertTrue(result.stderr.startswith("E0000 00:00:1.0 1 loader.cc:1] a real error\nTraceback"),
                        result.stderr)
        self.assertIn("ImportError: libtensorflow_framework.so.2", result.stderr)
        self.assertNotIn("cudart_stub", result.stderr)

    def test_a_signal_during_the_import_is_said_on_the_real_stderr(self):
        result = _python("""
            from session import interrupts
            from machine import quiet
            interrupts.exit_quietly(again="bazel run //:run -- --net=linear")
            quiet.import_tensorflow()
            print("went on")
            """, fake_tensorflow="""
            import os, signal
            os.write(2, {!r}.encode())
            os.kill(os.getpid(), signal.SIGINT)
            """.format(NOISE))
        self.assertEqual(result.returncode, 130, result.stderr)
        self.assertEqual(result.stdout, "")
        self.assertEqual(result.stderr.strip().splitlines(), [
            "SIGINT received while starting: stopped; nothing was written; to start again: "
            "bazel run //:run -- --net=linear"])


    def test_an_import_that_kills_the_process_still_shows_what_tensorflow_said(self):
        for kill, signum in (("os.kill(os.getpid(), signal.SIGILL)", signal.SIGILL), ("os.abort()", signal.SIGABRT)):
            result = _python("""
                from machine import quiet
                quiet.import_tensorflow()
                print("went on")
                """, fake_tensorflow="""
                import os, resource, signal
                resource.setrlimit(resource.RLIMIT_CORE, (0, 0))  # no core file
                os.write(2, {!r}.encode())
                os.write(2, {!r}.encode())
                {}
                """.format(NOISE, NO_AVX, kill))
            self.assertEqual(result.returncode, -signum, result.stderr)
            self.assertEqual(result.stdout, "")
            self.assertEqual(result.stderr.splitlines(), [NO_AVX.rstrip("\n"), quiet.DIED.rstrip("\n")])


class FilesTest(tf.test.TestCase):

    def test_a_write_that_fails_leaves_the_previous_file_whole_and_no_temporary(self):
        folder = self.create_tempdir().full_path
        path = os.path.join(folder, "activations.png")
        files.write_atomically(path, lambda f: f.write(b"the previous picture"))

        def half_then_fail(f):
            f.write(b"half of a")
            raise OSError(28, "No space left on device")

        with self.assertRaisesRegex(OSError, "No space left"):
            files.write_atomically(path, half_then_fail)
        with open(path, "rb") as f:
            self.assertEqual(f.read(), b"the previous picture")
        self.assertEqual(os.listdir(folder), ["activations.png"])


class SessionsTest(tf.test.TestCase):

    def test_no_gpu_device_is_asked_for_without_a_gpu_driver(self):
        config = sessions.config()
        self.assertEqual(config.device_count.get("GPU"), None if sessions.gpu_driver_present() else 0)
        with sessions.new_session(tf.Graph()) as session:
            kinds = {d.device_type for d in session.list_devices()}
        self.assertIn("CPU", kinds)
        if not sessions.gpu_driver_present():
            self.assertNotIn("GPU", kinds)

    def test_a_given_config_is_kept(self):
        base = tf.compat.v1.ConfigProto(inter_op_parallelism_threads=1)
        self.assertIs(sessions.config(base), base)
        self.assertEqual(base.inter_op_parallelism_threads, 1)


    def test_the_one_config_builder_sets_the_bfloat16_rewrite_and_can_switch_rewrites_off(self):
        rc = rewriter_config_pb2.RewriterConfig
        self.assertEqual(sessions.config(bfloat16=True).graph_options.rewrite_options
                         .auto_mixed_precision_onednn_bfloat16, rc.ON)
        self.assertEqual(sessions.config(bfloat16=False).graph_options.rewrite_options
                         .auto_mixed_precision_onednn_bfloat16, rc.OFF)
        self.assertEqual(sessions.config().graph_options.rewrite_options.auto_mixed_precision_onednn_bfloat16,
                         rc.DEFAULT)
        off = sessions.config(rewrites=False, inter_op_parallelism_threads=1)
        self.assertTrue(off.graph_options.rewrite_options.disable_meta_optimizer)
        self.assertEqual(off.graph_options.rewrite_options.constant_folding, rc.OFF)
        self.assertEqual(off.graph_options.optimizer_options.opt_level, tf.compat.v1.OptimizerOptions.L0)
        self.assertEqual(off.inter_op_parallelism_threads, 1)
        self.assertFalse(sessions.config().graph_options.rewrite_options.disable_meta_optimizer)
        with self.assertRaises(TypeError):
            sessions.config(tf.compat.v1.ConfigProto(), inter_op_parallelism_threads=1)


# A TensorFlow error's message as a failed restore raises it: heading, node, stack, the line that says it.
RESTORE_ERROR = ("Graph execution error:\n\nDetected at node 'save/RestoreV2' defined at (most recent call last):\n"
                 "  File \"run.py\", line 1, in <module>\n    saver.restore(session, prefix)\nNode: 'save/RestoreV2'\n"
                 "Unsuccessful TensorSliceReader constructor: Failed to find any matching files for model.ckpt-2\n"
                 "\t [[{{node save/RestoreV2}}]]")
SAID = "Unsuccessful TensorSliceReader constructor: Failed to find any matching files for model.ckpt-2"


class ErrorsTest(tf.test.TestCase):

    def test_the_line_that_says_what_is_wrong(self):
        error = tf.errors.NotFoundError(None, None, RESTORE_ERROR)
        self.assertEqual(errors.error_line(error), SAID)
        self.assertEqual(errors.error_line(error, typed=True, limit=None), "NotFoundError: " + SAID)  # labs/deps.py
        self.assertEqual(errors.error_line(error, skip=errors.TF_WRAPPING + ("File ",), last=True, indented=True),
                         SAID)  # session/damage.py: the last line, the stack's code line is not the last
        self.assertEqual(errors.error_line(error, skip=(), indented=True), "Graph execution error:")  # restore.py
        self.assertEqual(errors.error_line(error, limit=12), SAID[:12])

    def test_an_os_error_says_its_strerror_and_a_writer_thread_error_its_last_part(self):
        self.assertEqual(errors.error_line(OSError(28, "No space left on device")), "No space left on device")
        thread_error = RuntimeError("/tmp/run/events; No space left on device\n\tFailed to flush 44 events")
        self.assertEqual(errors.error_line(thread_error, skip=(), indented=True, after="; "),
                         "No space left on device")  # session/events.py

    def test_control_characters_stay_off_the_terminal_and_an_empty_error_says_its_type(self):
        self.assertEqual(errors.error_line(ValueError("bad \x1b[31mbyte")), "bad ?[31mbyte")
        self.assertEqual(errors.error_line(ValueError("x" * 300)), "x" * 200)
        self.assertEqual(errors.error_line(ValueError()), "ValueError")

if __name__ == "__main__":
    tf.test.main()
