"""The README's fresh machine: its install line installs every package `bazel test //...` needs, and CI
(.ci/run) installs exactly that line.

What the tests need from the system is found in their sources (a program looked up on PATH, a file under
/usr/bin, the tools the environment rule starts) and each such need is mapped to its Debian package here;
where dpkg knows the file, the mapping is checked against it.
"""

import os
import re
import shutil
import subprocess

from absl.testing import absltest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
INSTALL = re.compile(r"^apt-get update && apt-get install -y ([a-z0-9.+ -]+)$", re.M)

# Each system program the tests (or the code they run) need: (Debian package, None: in every Debian system), and
# a file that needs it. A need found in the sources but missing here fails the test.
NEEDS = {
    "/usr/bin/chromium": ("chromium", "tests/browser_test.py"),      # the lessons in headless Chromium
    "dot": ("graphviz", "tests/deps_test.py"),                       # the lessons' and //:deps' graphs
    "python3 -m venv": ("python3-venv", "tools/python_env.bzl"),     # the environment Bazel builds first
    "bazel": ("bazel-bootstrap", ".ci/run"),                          # `bazel test //...` itself
    "sh": (None, "tests/bench_test.py"),                             # dash: essential, in every system
}

# Where a source asks the system for a program: shutil.which("dot"), a "/usr/bin/..." path, `python3 -m venv`.
ASKS = (re.compile(r"""shutil\.which\(["']([\w.+-]+)["']\)"""), re.compile(r"""["'](/usr/bin/[\w.+-]+)["']"""),
        re.compile(r"""(python3 -m venv)"""))


def read(path):
    with open(os.path.join(ROOT, path), encoding="utf-8") as f:
        return f.read()


def readme_packages():
    lines = INSTALL.findall(read("README.md"))
    assert len(lines) == 1, "README.md has {} install lines, not one".format(len(lines))
    return lines[0].split()


def sources():
    """The tests, the code they run that looks for programs, and the environment rule."""
    for folder in ("tests", "labs", "lessons", "tools"):
        for name in sorted(os.listdir(os.path.join(ROOT, folder))):
            if name.endswith((".py", ".bzl")) and name != "install_test.py":
                yield os.path.join(folder, name)


def found_needs():
    """{need: [the sources that ask for it]}."""
    found = {}
    for path in sources():
        text = read(path)
        for ask in ASKS:
            for need in ask.findall(text):
                found.setdefault(need, []).append(path)
    return found


class FreshMachineTest(absltest.TestCase):

    def test_the_install_line_names_every_package_the_tests_need(self):
        found = found_needs()
        self.assertTrue({"/usr/bin/chromium", "dot", "python3 -m venv"} <= set(found), found)  # the sources were read
        self.assertEqual(sorted(set(found) - set(NEEDS)), [], "needs with no package in NEEDS: {}".format(found))
        packages = readme_packages()
        for need, (package, user) in NEEDS.items():
            self.assertIn(need, read(user), "NEEDS says {} needs {}; it no longer says so".format(user, need))
            if package is not None:
                self.assertIn(package, packages, "{} ({}, needed by {}) is not in README.md's install line".format(
                    package, need, user))
        self.assertEqual(len(packages), len(set(packages)))

    def test_each_need_is_in_the_package_named_where_dpkg_knows_it(self):
        if not shutil.which("dpkg"):
            self.skipTest("no dpkg: not a Debian system")
        checked = []
        for need, (package, _) in NEEDS.items():
            path = need if need.startswith("/") else shutil.which(need)
            if package is None or path is None or not os.path.exists(path):
                continue  # `python3 -m venv` is no file; a program not installed here is not asked about
            owner = subprocess.run(["dpkg", "-S", path], capture_output=True, text=True)
            if owner.returncode != 0:  # found as /bin/dot where /bin is /usr/bin: dpkg knows /usr/bin/dot
                path = os.path.join(os.path.realpath(os.path.dirname(path)), os.path.basename(path))
                owner = subprocess.run(["dpkg", "-S", path], capture_output=True, text=True)
            self.assertEqual(owner.returncode, 0, owner.stderr)
            self.assertIn(package, [o.strip() for o in owner.stdout.split(":")[0].split(",")], (need, owner.stdout))
            checked.append(need)
        self.assertNotEqual(checked, [])

    def _fake_system(self, installed):
        """A folder for the front of PATH: dpkg-query knows only `installed`, apt-get and bazel log their arguments."""
        folder = self.create_tempdir().full_path
        log = os.path.join(folder, "log")
        scripts = {
            "dpkg-query": 'case " {} " in *" ${{@: -1}} "*) echo -n "install ok installed";; *) exit 1;; esac'.format(
                " ".join(installed)),
            "apt-get": 'echo "apt-get $*" >> {}'.format(log),
            "bazel": 'echo "bazel $*" >> {0}; [ "$1" = test ] && echo "//tests:a_test PASSED in 1.0s"; true'.format(log),
        }
        for name, body in scripts.items():
            with open(os.path.join(folder, name), "w") as f:
                f.write("#!/bin/bash\n" + body + "\n")
            os.chmod(os.path.join(folder, name), 0o755)
        return folder, log

    def _ci(self, installed):
        """.ci/run on a fake system: (its exit code, its last line, what it asked apt-get and bazel)."""
        folder, log = self._fake_system(installed)
        env = dict(os.environ, PATH=folder + os.pathsep + os.environ["PATH"])
        done = subprocess.run(["bash", os.path.join(ROOT, ".ci", "run")], capture_output=True, text=True, env=env,
                              timeout=60)
        with open(log) as f:
            return done.returncode, done.stdout.splitlines()[-1], f.read().splitlines()

    def test_ci_installs_exactly_the_readme_line(self):
        packages = readme_packages()
        line = "apt-get update && apt-get install -y " + " ".join(packages)
        shown = subprocess.run(["bash", os.path.join(ROOT, ".ci", "run"), "--print-install"], capture_output=True,
                               text=True, timeout=60)
        self.assertEqual((shown.returncode, shown.stdout, shown.stderr), (0, line + "\n", ""))
        # A fresh machine (one package of the line missing): the README's line, and nothing else, then the tests.
        tests = ["bazel test //... --curses=no --color=no", "bazel shutdown"]
        self.assertEqual(self._ci(installed=packages[1:]),
                         (0, "1 passed, 0 failed", ["apt-get update", "apt-get install -y " + " ".join(packages)] + tests))
        # A machine that has them all: nothing installed.
        self.assertEqual(self._ci(installed=packages), (0, "1 passed, 0 failed", tests))


if __name__ == "__main__":
    absltest.main()
