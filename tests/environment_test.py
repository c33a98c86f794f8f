"""tools/python_env.bzl, the rule that builds the Python environment (docs/environment.md).

Bazel runs the rule only when the environment is built, which takes minutes, so the test runs what it can
alone: the rule's log writer (a Python one-liner kept in the .bzl), and that no tool the rule starts writes
to the terminal. The whole rule was checked by hand from a copy of the tree (docs/environment.md).
"""

import ast
import os
import re
import subprocess
import sys

from absl.testing import absltest

RULE = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "tools", "python_env.bzl")


def rule_source():
    with open(RULE, encoding="utf-8") as f:
        return f.read()


def arguments_of(call, source):
    """The argument text of each `call(...)` in source (parentheses balanced, over several lines)."""
    for start in (m.end() for m in re.finditer(re.escape(call + "("), source)):
        depth, end = 1, start
        while depth:
            depth += {"(": 1, ")": -1}.get(source[end], 0)
            end += 1
        yield source[start:end - 1]


class PythonEnvRuleTest(absltest.TestCase):

    def test_the_log_writer_keeps_all_a_tool_says_and_its_exit_code(self):
        writer = ast.literal_eval(re.search(r"^_INTO_LOG = (\".*\")$", rule_source(), re.M).group(1))
        log = os.path.join(self.create_tempdir().full_path, "pip.log")
        with open(log, "w") as f:
            f.write("python3 -m venv said this\n")  # the rule's earlier step: the log is appended to
        tool = "import sys; print('Collecting tensorflow', flush=True); sys.stderr.write('ERROR: No matching distribution\\n'); " \
               "sys.exit(3)"
        result = subprocess.run([sys.executable, "-c", writer, log, sys.executable, "-c", tool],
                                capture_output=True, text=True, timeout=60)
        self.assertEqual(result.returncode, 3)
        self.assertEqual((result.stdout, result.stderr), ("", ""))  # nothing reaches the terminal
        with open(log) as f:
            self.assertEqual(f.read(), "python3 -m venv said this\nCollecting tensorflow\n"
                                       "ERROR: No matching distribution\n")

    def test_every_tool_runs_quietly_and_the_build_says_what_it_does(self):
        source = rule_source()
        calls = list(arguments_of("rctx.execute", source))
        self.assertNotEqual(calls, [])
        for call in calls:
            self.assertIn("quiet = True", call)
            self.assertIn("_INTO_LOG", call)
        self.assertRegex(source, r'report_progress\("first build only: pip install -r requirements.txt"\)')


if __name__ == "__main__":
    absltest.main()
