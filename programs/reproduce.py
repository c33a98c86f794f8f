"""Reproduces the posts' figures: `bazel run //:reproduce` (or `-- --rows=linear/random_normal,...`).

Runs //:run once per row of the posts' table with the posts' settings (and issue 15's bfloat16 rows,
`net/init/bfloat16`, against the same bands), streams each run's progress
and ETA, and records every finished row in results/reproduce.json. The Markdown table (the post's
figure beside ours, with the exact command of each row) goes to results/reproduce.md and into
README.md between its `results` markers. Rows run earlier stay in the table, so rows can be run
one at a time.
"""

import datetime
import json
import os
import re
import subprocess
import sys
import time

from absl import flags

from graphs import posts
from programs import cli
from session import precision as precisions

FLAGS = flags.FLAGS


def row_name(net, init, precision):
    """`conv4/small` for the posts' float32 rows (the keys results/reproduce.json has always used),
    `conv4/variance_scaling/bfloat16` for the others."""
    return "/".join([net, init] + ([] if precision == "float32" else [precision]))


def parse_row(row):
    net, init, *rest = row.split("/")
    return net, init, rest[0] if rest else "float32"


ROWS = [row_name(*row) for row in posts.ROWS]

flags.DEFINE_list("rows", ROWS, "Rows to run, as net/init: " + ", ".join(ROWS) +
                  ". --rows= (empty) runs nothing and only rewrites the table from results/reproduce.json.")
flags.DEFINE_integer("seed", 0, "--seed passed to every run.")
flags.DEFINE_string("results_dir", "results", "Where reproduce.json and reproduce.md go (relative to the workspace).")
flags.DEFINE_bool("update_readme", True, "Replace the table between README.md's results markers.")
flags.register_validator("rows", lambda rows: set(rows) <= set(ROWS), "each row must be one of " + ", ".join(ROWS))

RUN_PY = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "run.py")
BEGIN, END = "<!-- results:begin -->", "<!-- results:end -->"


def command(net, init, seed, precision="float32"):
    return "bazel run //:run -- --net={} --init={} --seed={}{}".format(
        net, init, seed, "" if precision == "float32" else " --precision=" + precision)


def workspace_path(path):
    # `bazel run` sets BUILD_WORKSPACE_DIRECTORY: results belong in the source tree, not runfiles.
    return os.path.join(os.environ.get("BUILD_WORKSPACE_DIRECTORY") or os.getcwd(), path)


def machine(read_cpu_name=precisions.cpu_name):
    """Where a row ran, recorded beside its time: the same row takes 10 or 26 minutes on different CPUs."""
    return "{}, {} cores, load average {:.2f} at the start".format(read_cpu_name(), os.cpu_count(), os.getloadavg()[0])


def run_row(net, init, seed, logdir, prefix, precision="float32", more_flags=()):
    """Runs one row through run.py, echoing its output; returns (test cost, test accuracy, seconds).
    more_flags: further //:run flags (the tests' tiny rows: --steps, --data_dir); a row of the table has none."""
    args = [sys.executable, RUN_PY, "--net=" + net, "--init=" + init, "--seed={}".format(seed),
            "--logdir=" + logdir, "--precision=" + precision] + list(more_flags)
    started = time.time()
    child = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1)
    figures = {}
    for line in child.stdout:
        match = re.match(r"(Test Cost|Test accuracy): ([-+0-9.eEinfa]+)", line)
        if match:
            figures[match.group(1)] = float(match.group(2))
        if match or "ETA" in line or line.startswith(("Training", "error")):
            # Drop absl's log prefix ("I1127 15:42:10.438793 1402... run.py:95] ") from progress lines.
            print(prefix, re.sub(r"^[IWE]\d{4} [^\]]*\] ", "", line.rstrip()), flush=True)
    if child.wait() != 0 or len(figures) != 2:
        raise RuntimeError("{} failed (exit {})".format(" ".join(args), child.returncode))
    return figures["Test Cost"], figures["Test accuracy"], time.time() - started


def table(results):
    lines = [
        "| network / init | post | post's test cost | our test cost | post's test accuracy | our test accuracy "
        "| in the expected band | time | command |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for row in ROWS:
        net, init, precision = parse_row(row)
        figure = posts.FIGURES[(net, init)]
        r = results.get(row)
        if r is None:
            ours = ["not run yet"] * 2 + ["", "", "`{}`".format(command(net, init, FLAGS.seed, precision))]
        else:
            ours = ["{:.6g}".format(r["test_cost"]), "{:.2f} %".format(r["test_accuracy"]),
                    "yes" if posts.in_band(net, init, r["test_cost"], r["test_accuracy"]) else "**no**",
                    _duration(r["seconds"]), "`{}`".format(r["command"])]
        lines.append("| {} | {} | {:.6g} | {} | {:.2f} % | {} | {} | {} | {} |".format(
            row.replace("/", " / "), figure.post, figure.test_cost, ours[0], figure.test_accuracy, *ours[1:]))
    return "\n".join(lines) + "\n"


def _duration(seconds):
    return "{:.0f} s".format(seconds) if seconds < 120 else "{:.0f} min".format(seconds / 60)


def write_table(results, results_dir):
    markdown = table(results)
    with open(os.path.join(results_dir, "reproduce.md"), "w") as f:
        f.write(markdown)
    if FLAGS.update_readme:
        update_readme(markdown)
    return markdown


def update_readme(markdown):
    path = workspace_path("README.md")
    with open(path) as f:
        text = f.read()
    if BEGIN not in text or END not in text:
        print("README.md has no {} ... {} markers; table not copied there".format(BEGIN, END))
        return
    head, rest = text.split(BEGIN, 1)
    tail = rest.split(END, 1)[1]
    with open(path, "w") as f:
        f.write(head + BEGIN + "\n" + markdown + END + tail)


def runnable(rows, read_cpu_flags=precisions.cpu_flags):
    """(the rows this CPU can run, {row: why not}): bfloat16 rows need a CPU with bfloat16."""
    refused = {}
    for row in rows:
        try:
            precisions.check(parse_row(row)[2], read_cpu_flags)
        except precisions.PrecisionError as e:
            refused[row] = str(e)
    return [row for row in rows if row not in refused], refused


def main(argv):
    del argv  # cli.run_app has refused any extra argument, and the --rows validator any unknown row
    rows, refused = runnable(FLAGS.rows)
    if refused:
        row, why = next(iter(refused.items()))
        why = why.replace("; use --precision=float32", "")
        if FLAGS["rows"].present:  # asked for by name: say so rather than quietly leave it out
            print("error: row {}: {}; leave it out of --rows".format(row, why), file=sys.stderr)
            return 1
        print("skipping {} (not run on this machine: {})".format(", ".join(refused), why), flush=True)
    results_dir = workspace_path(FLAGS.results_dir)
    os.makedirs(results_dir, exist_ok=True)
    json_path = os.path.join(results_dir, "reproduce.json")
    results = {}
    if os.path.exists(json_path):
        with open(json_path) as f:
            results = json.load(f)
    for i, row in enumerate(rows, 1):
        net, init, precision = parse_row(row)
        where = machine()
        # A new folder each time: an old one's checkpoints would make the run resume instead of train.
        logdir = workspace_path(os.path.join("runs", "reproduce", "{}-{}-{:%Y%m%d-%H%M%S}".format(
            net, init, datetime.datetime.now())))
        try:
            cost, accuracy, seconds = run_row(net, init, FLAGS.seed, logdir, "[{}/{} {}]".format(i, len(rows), row),
                                              precision)
        except RuntimeError as e:
            print("error: {}".format(e), file=sys.stderr)
            return 1
        except KeyboardInterrupt:
            print("interrupted during {}; the rows finished before it are in {}".format(row, json_path),
                  file=sys.stderr)
            return 130
        results[row] = {"command": command(net, init, FLAGS.seed, precision), "test_cost": cost, "test_accuracy": accuracy,
                        "seconds": seconds, "date": datetime.date.today().isoformat(), "machine": where}
        # Written after every row, so an interrupted reproduction keeps what it finished.
        with open(json_path, "w") as f:
            json.dump(results, f, indent=1, sort_keys=True)
        write_table(results, results_dir)
        print("[{}/{} {}] Test Cost {:.6g}, Test accuracy {:.2f} % in {}".format(
            i, len(rows), row, cost, accuracy, _duration(seconds)), flush=True)
    print(write_table(results, results_dir))
    return 0


if __name__ == "__main__":
    cli.run_app(main)
