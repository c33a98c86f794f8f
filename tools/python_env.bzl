"""A repository rule that builds the project's Python environment from requirements.txt.

The first `bazel run`/`bazel test` creates a virtual environment inside Bazel's external repository
folder and pip-installs requirements.txt into it, showing Bazel's progress line while pip's own output goes
to pip.log in that folder (docs/environment.md); later runs reuse it. Because the rule reads
requirements.txt through its label, editing that file makes Bazel run the rule (and pip) again.
The environment is registered as the Python toolchain, so every py_binary/py_test runs with it.
"""

_BUILD = """\
load("@bazel_tools//tools/python:toolchain.bzl", "py_runtime_pair")

py_runtime(
    name = "python3_runtime",
    interpreter_path = "{python}",
    python_version = "PY3",
    # Bazel's launcher stub would otherwise start with `#!/usr/bin/env python`, a command a fresh
    # Debian machine (and the strict test environment) does not have.
    stub_shebang = "#!{python}",
)

py_runtime_pair(
    name = "runtime_pair",
    py3_runtime = ":python3_runtime",
)

toolchain(
    name = "toolchain",
    toolchain = ":runtime_pair",
    toolchain_type = "@bazel_tools//tools/python:toolchain_type",
)

exports_files(["python"])
"""

# pip's output goes to this file in the repository's folder, not to the terminal: a first build shows one
# progress line instead of some 300 lines of pip; a failed build prints the file's path and last lines.
LOG = "pip.log"
_TAIL = 15

# Runs argv[2:] with its output appended to the file argv[1] (Python itself: no shell needed).
_INTO_LOG = "import subprocess, sys; log = open(sys.argv[1], 'ab'); sys.exit(subprocess.call(sys.argv[2:], stdout=log, stderr=subprocess.STDOUT))"

def _run(rctx, python, what, args, timeout):
    """Runs args quietly; on failure, fails with the log's path and its last lines."""
    log = rctx.path(LOG)
    result = rctx.execute(
        [python, "-c", _INTO_LOG, str(log)] + args,
        timeout = timeout,
        quiet = True,
        environment = {"PYTHONUNBUFFERED": "1"},  # pip's lines in the log in the order it said them
    )
    if result.return_code != 0:
        said = rctx.read(log).strip().split("\n") if log.exists else []
        fail("{} failed (exit {}); its whole output is in {}\nIts last lines:\n{}{}".format(
            what,
            result.return_code,
            log,
            "\n".join(said[-_TAIL:]),
            "\n" + result.stderr[-2000:] if result.stderr else "",
        ))

def _python_env_impl(rctx):
    python = rctx.which(rctx.attr.python)
    if python == None:
        fail("'{}' is not on PATH: install Python 3 (e.g. apt-get install -y python3 python3-venv).".format(rctx.attr.python))
    requirements = rctx.path(rctx.attr.requirements)
    rctx.file(LOG, "")

    # Shown after "Fetching @ltfn_env;" in Bazel's progress line: short enough for an 80-column terminal.
    rctx.report_progress("first build only: python3 -m venv")
    _run(rctx, python, "python3 -m venv (on Debian: apt-get install -y python3-venv)", [python, "-m", "venv", "venv"], 600)

    venv_python = rctx.path("venv/bin/python3")
    rctx.report_progress("first build only: pip install -r requirements.txt")
    _run(
        rctx,
        python,
        "pip install -r requirements.txt",
        [venv_python, "-m", "pip", "install", "--disable-pip-version-check", "--no-input", "-r", requirements],
        rctx.attr.timeout,
    )

    rctx.symlink(venv_python, "python")
    rctx.file("BUILD.bazel", _BUILD.format(python = str(venv_python)))

python_env = repository_rule(
    implementation = _python_env_impl,
    attrs = {
        "requirements": attr.label(mandatory = True, allow_single_file = True),
        "python": attr.string(default = "python3"),
        "timeout": attr.int(default = 3600),
    },
    doc = "A virtual environment built from a requirements file, usable as a Python toolchain.",
)
