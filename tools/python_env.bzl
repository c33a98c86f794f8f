"""A repository rule that builds the project's Python environment from requirements.txt.

The first `bazel run`/`bazel test` creates a virtual environment inside Bazel's external repository
folder and pip-installs requirements.txt into it; later runs reuse it. Because the rule reads
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

def _run(rctx, what, args, timeout):
    # quiet = False streams the tool's own output (pip's resolver and errors) to the terminal.
    result = rctx.execute(args, timeout = timeout, quiet = False)
    if result.return_code != 0:
        fail("{} failed (exit {}); its own error is printed above.\n{}".format(
            what,
            result.return_code,
            result.stderr[-4000:],
        ))

def _python_env_impl(rctx):
    python = rctx.which(rctx.attr.python)
    if python == None:
        fail("'{}' is not on PATH: install Python 3 (e.g. apt-get install -y python3 python3-venv).".format(rctx.attr.python))
    requirements = rctx.path(rctx.attr.requirements)

    rctx.report_progress("Creating a virtual environment with {}".format(python))
    _run(rctx, "python3 -m venv (on Debian: apt-get install -y python3-venv)", [python, "-m", "venv", "venv"], 600)

    venv_python = rctx.path("venv/bin/python3")
    rctx.report_progress("pip install -r requirements.txt (TensorFlow is large: the first time takes a few minutes)")
    _run(
        rctx,
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
