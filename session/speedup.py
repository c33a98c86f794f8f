"""How much faster `--precision=bfloat16` trains this run's graph on this CPU: the line a float32 run
starts with on a CPU with AMX.

On AMX (Sapphire Rapids and later) oneDNN's bfloat16 kernels are about three times float32's speed, so a
learner running the posts' float32 should know the other arithmetic exists, and what it costs in figures.
Where the CPU has only AVX-512 BF16, bfloat16 is about half float32's speed (docs/bfloat16.md), and without
either the run refuses it: there the line would mislead, so it is not printed.

N is measured, not guessed: a few training steps of the run's own graph, in two throwaway sessions (one per
precision) on one batch. Those sessions have variables and random state of their own, so the run's seeded
weights and every printed figure are exactly what they are without the trial (tests/precision_test.py).
"""

import json
import statistics
import time

from graphs import posts
from session import precision

# Steps of each precision: the first runs Grappler's rewrite and oneDNN's kernel creation (not timed); the
# median of the rest is one step's time. At AMX speed conv4's trial takes about 3 s.
WARMUP_STEPS = 2
TIMED_STEPS = 5
# Below this the two precisions are within a trial's noise: the line says bfloat16 is no faster here.
FASTER = 1.1


def wanted(run_precision, read_cpu_flags=precision.cpu_flags):
    """True where the line belongs: a float32 run on a CPU with AMX's bfloat16."""
    return run_precision == "float32" and "amx_bf16" in read_cpu_flags()


def step_time(session, fetch, feed, clock=time.perf_counter):
    """The median seconds of one `session.run(fetch, feed)` after WARMUP_STEPS untimed ones."""
    for _ in range(WARMUP_STEPS):
        session.run(fetch, feed)
    times = []
    for _ in range(TIMED_STEPS):
        start = clock()
        session.run(fetch, feed)
        times.append(clock() - start)
    return statistics.median(times)


def measure(graph, nodes, init_op, images, labels, read_cpu_flags=precision.cpu_flags, clock=time.perf_counter):
    """(float32 seconds per step, bfloat16 seconds per step) of the training op on one batch, each in a
    session of its own: the run's own session is not touched."""
    import tensorflow as tf  # here: the module itself stays importable before TensorFlow is

    seconds = []
    for arithmetic in ("float32", "bfloat16"):
        config = precision.session_config(arithmetic, read_cpu_flags)
        with tf.compat.v1.Session(graph=graph, config=config) as session:
            session.run(init_op)
            seconds.append(step_time(session, nodes.optimizer, {nodes.input: images, nodes.labels: labels}, clock))
    return tuple(seconds)


def recorded(results_path, net, init):
    """The recorded bfloat16 row of //:reproduce for net/init ({test_cost, test_accuracy, ...}), or None."""
    try:
        with open(results_path) as f:
            return json.load(f).get("{}/{}/bfloat16".format(net, init))
    except (OSError, ValueError):
        return None


def line(net, init, float32_seconds, bfloat16_seconds, row):
    """The one line: N× from the trial, the band from the recorded row (or that none is recorded yet), and
    how to turn the line off."""
    ratio = float32_seconds / max(bfloat16_seconds, 1e-9)  # a clock too coarse to see a step: no crash
    timed = "{:.3g} ms a step against {:.3g} ms in float32, timed just now over {} steps each".format(
        bfloat16_seconds * 1000, float32_seconds * 1000, TIMED_STEPS)
    if ratio >= FASTER:
        said = "this CPU has AMX: --precision=bfloat16 trains this network about {:.1f}× faster ({})".format(
            ratio, timed)
    else:
        said = "this CPU has AMX, but --precision=bfloat16 is not faster for this network: {:.2f}× ({})".format(
            ratio, timed)
    if row is None:
        figures = "its test figures in bfloat16 are not recorded for {}/{} yet".format(net, init)
    else:
        inside = posts.in_band(net, init, row["test_cost"], row["test_accuracy"])
        figures = "recorded in bfloat16: test cost {:g}, {:.2f} %, {} the posts' band".format(
            row["test_cost"], row["test_accuracy"], "inside" if inside else "OUTSIDE")
    return "{}; {}; --nobfloat16_hint turns this trial and line off".format(said, figures)
