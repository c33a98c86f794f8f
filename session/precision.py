"""The arithmetic a training session runs in: `--precision=float32|bfloat16` (issue 15).

float32 is the posts' arithmetic (LTFN 1-6). bfloat16 is TensorFlow's Grappler rewrite
`auto_mixed_precision_onednn_bfloat16`, switched on in the session's ConfigProto: when the session
runs the graph, convolutions and matmuls (and what lies between them) compute in bfloat16 on oneDNN,
while the graph the learner built, its names, its float32 variables, the checkpoints and TensorBoard's
graph stay exactly as they are. This module decides a training session's config; machine/sessions.py builds it.

It imports no TensorFlow at module level, so programs can define --precision before importing it.
"""

PRECISIONS = ("float32", "bfloat16")
DEFAULT = "float32"
# CPU flags (as /proc/cpuinfo spells them) of native bfloat16 arithmetic: AVX-512 BF16 (Zen 4,
# Cooper Lake and later) or AMX (Sapphire Rapids). TensorFlow's own test for oneDNN bfloat16 kernels asks
# only for AVX-512F, on which oneDNN emulates bfloat16; with less (AVX2) the rewrite silently does nothing.
# Either way the run would not be what --precision=bfloat16 promises: refused, not taken.
NATIVE_BFLOAT16 = ("avx512_bf16", "amx_bf16")
# Where cpu_flags reads. No environment variable changes it (a stray one would bypass the refusal): tests
# present another CPU with read_cpu_flags, or to a whole program with tests/testing.run_on_cpu.
CPUINFO = "/proc/cpuinfo"


class PrecisionError(Exception):
    """A precision this machine cannot run; the message says what to use instead."""


def _cpuinfo(field, path=None):
    """The value of the first `field` line of /proc/cpuinfo, or None if there is none or it is unreadable."""
    try:
        with open(path or CPUINFO) as f:
            for line in f:
                key, _, value = line.partition(":")
                if key.strip() == field:
                    return value.strip()
    except OSError:
        pass
    return None


def cpu_flags(path=None):
    """The CPU's feature flags, from the first `flags` line of /proc/cpuinfo (empty if unreadable)."""
    return frozenset((_cpuinfo("flags", path) or "").split())


def cpu_name(path=None):
    """The CPU's `model name` in /proc/cpuinfo ("unknown CPU" if unreadable): speeds differ by CPU."""
    return _cpuinfo("model name", path) or "unknown CPU"


def check(precision, read_cpu_flags=cpu_flags):
    """Raises PrecisionError unless this CPU runs `precision` natively."""
    if precision not in PRECISIONS:
        raise PrecisionError("--precision={} is not one of {}".format(precision, ", ".join(PRECISIONS)))
    if precision == "bfloat16" and not set(NATIVE_BFLOAT16) & set(read_cpu_flags()):
        raise PrecisionError(
            "--precision=bfloat16 needs a CPU with native bfloat16 arithmetic ({} in /proc/cpuinfo) and this "
            "one has neither, so TensorFlow would run float32 or emulate bfloat16 slowly; use "
            "--precision=float32".format(" or ".join(NATIVE_BFLOAT16)))


def session_config(precision=DEFAULT, read_cpu_flags=cpu_flags, **fields):
    """The ConfigProto of a training session in `precision` (other ConfigProto fields as keywords).

    Raises PrecisionError for bfloat16 on a CPU without it (read_cpu_flags is injectable for tests).
    """
    check(precision, read_cpu_flags)
    # Imported here, not at the top: run.py defines its flags from this module before loading TensorFlow.
    from machine import sessions

    return sessions.config(bfloat16=precision == "bfloat16", **fields)


def describe(precision):
    """What the run's first line says about its arithmetic."""
    if precision == "bfloat16":
        return "precision bfloat16 (convolutions and matmuls in bfloat16 on oneDNN; weights stay float32)"
    return "precision float32 (the posts' arithmetic)"
