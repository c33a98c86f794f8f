"""What the tests share: starting the programs as `bazel run` would, and small datasets in MNIST's layout."""

import gzip
import json
import os
import subprocess
import sys
import tempfile

import numpy as np

from data import idx
from data import loader

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def python_command(script, args, env=None):
    """(argv, env) that run ROOT/script in a fresh interpreter with the project importable.
    A name given None in env is removed from the environment."""
    full_env = dict(os.environ, PYTHONPATH=ROOT, TF_CPP_MIN_LOG_LEVEL="2")
    full_env.update(env or {})
    full_env = {k: v for k, v in full_env.items() if v is not None}
    return [sys.executable, os.path.join(ROOT, script)] + list(args), full_env


def run_program(script, args, env=None, cwd=None, timeout=300):
    argv, full_env = python_command(script, args, env)
    return subprocess.run(argv, capture_output=True, text=True, cwd=cwd, env=full_env, timeout=timeout)


# Runs a script as __main__ (as `python script` does), then writes to a file which of the modules
# asked about the script had imported by the time it exited, however it exited.
_WATCH_IMPORTS = """
import json, runpy, sys
report, watched, script = sys.argv[1], sys.argv[2].split(","), sys.argv[3]
sys.argv = sys.argv[3:]
try:
    runpy.run_path(script, run_name="__main__")
finally:
    with open(report, "w") as f:
        json.dump(sorted(m for m in watched if m in sys.modules), f)
"""


# Runs a script as __main__ on a simulated CPU: session/precision.py reads the CPU's flags from the file
# given instead of /proc/cpuinfo. Only a test can do this (no environment variable reaches it).
_ON_CPU = """
import runpy, sys
from session import precision
precision.CPUINFO, script = sys.argv[1], sys.argv[2]
sys.argv = sys.argv[2:]
runpy.run_path(script, run_name="__main__")
"""


def on_cpu_command(cpuinfo, script, args, env=None):
    """(argv, env) that run ROOT/script (or an absolute path) with `cpuinfo` as the CPU's /proc/cpuinfo."""
    argv, full_env = python_command(script, args, env)
    return [sys.executable, "-c", _ON_CPU, cpuinfo] + argv[1:], full_env


def run_on_cpu(script, args, cpuinfo, env=None, timeout=300):
    """run_program's result, with `cpuinfo` read as the CPU's /proc/cpuinfo."""
    argv, full_env = on_cpu_command(cpuinfo, script, args, env)
    return subprocess.run(argv, capture_output=True, text=True, env=full_env, timeout=timeout)


def run_watching_imports(script, args, modules=("tensorflow",), env=None, timeout=300):
    """run_program's result, and which of `modules` the program had imported when it exited."""
    argv, full_env = python_command(script, args, env)
    with tempfile.TemporaryDirectory() as folder:
        report = os.path.join(folder, "imported.json")
        result = subprocess.run([sys.executable, "-c", _WATCH_IMPORTS, report, ",".join(modules)] + argv[1:],
                                capture_output=True, text=True, env=full_env, timeout=timeout)
        with open(report) as f:
            return result, json.load(f)


def write_idx(path, array, compress=None):
    """array (uint8) as an IDX file; gzipped when path ends in .gz (or compress=True)."""
    array = np.asarray(array)
    header = bytes([0, 0, 0x08, array.ndim]) + b"".join(int(d).to_bytes(4, "big") for d in array.shape)
    opener = gzip.open if (compress if compress is not None else path.endswith(".gz")) else open
    with opener(path, "wb") as f:
        f.write(header + np.ascontiguousarray(array, np.uint8).tobytes())


def random_mnist(folder, train=5100, test=100, seed=0, size=28):
    """A dataset in MNIST's IDX layout and file names that is not MNIST (random pixels and labels),
    of size x size images."""
    rng = np.random.default_rng(seed)
    for prefix, n in (("train", train), ("t10k", test)):
        write_idx(os.path.join(folder, prefix + "-images-idx3-ubyte.gz"), rng.integers(0, 256, (n, size, size)))
        write_idx(os.path.join(folder, prefix + "-labels-idx1-ubyte.gz"), rng.integers(0, 10, n))
    return folder


def small_mnist(folder, train=loader.VALIDATION_SIZE + 100, test=200):
    """The first images of the embedded MNIST as uncompressed IDX files (a --data_dir)."""
    for prefix, count in (("train", train), ("t10k", test)):
        for kind, read in (("images-idx3", idx.read_images), ("labels-idx1", idx.read_labels)):
            name = "{}-{}-ubyte".format(prefix, kind)
            write_idx(os.path.join(folder, name), read(os.path.join(loader.EMBEDDED_DIR, name + ".gz"))[:count])
    return folder
