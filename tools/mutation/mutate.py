"""Mutation testing of graphs/, session/ and data/ with cosmic-ray, against the fast tests (docs/testing.md).

cosmic-ray mutates a copy of the tree in place, one mutant at a time, and runs a test command for each: a
killed mutant is one a test failed on. Importing TensorFlow costs seconds per test run on a loaded 2-core
machine, so a warm server imports it once and forks a child per test run, which imports the project's modules
fresh from the mutated copy (the server never imports them).

  python3 tools/mutation/mutate.py config NAME SOCKET   the cosmic-ray config of session NAME (SESSIONS below)
  PYTHON tools/mutation/mutate.py serve SOCKET           the warm server (PYTHON: the project's environment)
  python3 tools/mutation/mutate.py test SOCKET T.py [ARGS] [--and T2.py ...]   one test command, for cosmic-ray
  python3 tools/mutation/mutate.py sample DB N [SEED]   keep a seeded random N of each module's pending mutants

Standard library only; cosmic-ray itself is installed in a scratch environment, not in requirements.txt.
"""

import json
import os
import socket
import sys

# name: (the modules mutated, the fast tests that exercise them: test file and absltest test names).
SESSIONS = {
    "nets": (["graphs/conv4.py", "graphs/fc3.py", "graphs/linear.py"],
             "tests/graphs_test.py Conv4ShapesTest NetworksTest"),
    "core": (["graphs/initializers.py", "graphs/layers.py", "graphs/model.py"], "tests/graphs_test.py"),
    "posts": (["graphs/posts.py"],
              "tests/graphs_test.py PostsDefaultsTest PostsFiguresTest InitializersTest --and tests/reproduce_test.py"),
    "trainer": (["session/trainer.py"], "tests/graphs_test.py TrainingTest TestInferenceTest"),
    "idx": (["data/idx.py"], "tests/idx_test.py"),
    "loader": (["data/loader.py"], "tests/loader_test.py"),
    "digits": (["data/digits.py"], "tests/predict_test.py DigitsTest"),
    "checkpoints": (["session/checkpoints.py", "session/damage.py", "session/folder_lock.py",
                     "session/run_settings.py"], "tests/checkpoints_test.py FolderTest LockTest"),
    # labs/ (the teaching labs; labs/sameness*.py have their own sessions): the in-process test classes.
    "labs-deps": (["labs/deps.py"], "tests/deps_test.py PredictionTest TracedRunTest DotTest ReportReadTest ReportWordsTest"),
    "labs-pitfalls": (["labs/pitfalls.py"], "tests/pitfalls_test.py PitfallsTest"),
    "labs-convolutions": (["labs/convolutions.py"], "tests/convolutions_test.py ExamplesTest ShapeRulesTest AppTest"),
    "labs-explorer": (["labs/explorer.py"], "tests/widgets_test.py ExplorerTest ReportTest"),
    "labs-microscope": (["labs/microscope.py"], "tests/widgets_test.py MicroscopeTest"),
    "labs-questions": (["labs/questions.py"], "tests/widgets_test.py QuestionsTest"),
    "labs-board": (["labs/board.py", "labs/display.py"], "tests/widgets_test.py BoardTest DisplayTest"),
    # session/'s other modules, run.py and bench/: what a user reads of a run, a prediction and the benchmark
    "restore": (["session/restore.py"], "tests/predict_test.py RestoreTest"),
    "summaries": (["session/summaries.py"], "tests/tensorboard_test.py SummariesTest"),
    "interrupts": (["session/interrupts.py"], "tests/robustness_test.py SignalsTest StartingTest"),
    "precision": (["session/precision.py", "session/speedup.py"], "tests/precision_test.py ConfigTest SpeedupTest"),
    "run": (["run.py"], "tests/run_test.py PathsTest FlagsTest ProgressTest InProcessTest --and tests/robustness_test.py "
                        "SignalsTest"),
    "bench": (["bench/throughput.py", "bench/peers.py", "bench/torch_peer.py"],
              "tests/bench_test.py BreakdownTest FiguresTest PeerProtocolTest "
              "FunctionsTest.test_flops_count_the_gradient_convolutions FunctionsTest.test_report_line_formats "
              "FunctionsTest.test_bfloat16_lines_name_the_precision_and_float32_lines_do_not_change "
              "FunctionsTest.test_speed_up_over_float32_is_the_median_of_repeat_by_repeat_ratios "
              "FunctionsTest.test_find_program_takes_paths_and_names_on_path "
              "FunctionsTest.test_bfloat16_peak_is_a_bfloat16_matmul "
              "FunctionsTest.test_flops_fall_back_to_three_forward_passes_when_the_profiler_misses_the_gradients "
              "FunctionsTest.test_flags_defaults_are_the_documented_ones "
              "FunctionsTest.test_the_breakdown_traces_the_steps_after_two_untimed_ones_in_a_one_op_at_a_time_session "
              "FunctionsTest.test_flops_by_kind_count_the_forward_ops_and_the_gradient_ops_that_ran"),
    # pictures/: each picture read back from its artists; //:report's and //:predict --png's figures in-process.
    "pictures": (["pictures/figures.py", "pictures/histograms.py", "pictures/learned.py", "pictures/mistakes.py",
                  "pictures/predictions.py", "pictures/results.py"],
                 "tests/tensorboard_test.py PicturesSayTest StoredArraysTest PicturesReadBackTest"),
    # programs/: each program against the tests of what it prints and refuses (in-process where they can be).
    "cli": (["programs/cli.py"], "tests/programs_test.py CliTest --and tests/tensorboard_test.py TensorBoardArgumentsTest"
                                 " --and tests/programs_test.py ArgparseProgramsTest"),
    "tensorboard_main": (["programs/tensorboard_main.py"],
                         "tests/tensorboard_test.py TensorBoardArgumentsTest TensorBoardMainTest --and tests/programs_test.py ArgparseProgramsTest"),
    "report": (["programs/report.py"], "tests/tensorboard_test.py StoredArraysTest PicturesReadBackTest"),
    "reproduce": (["programs/reproduce.py"], "tests/reproduce_test.py"),
    "convolutions": (["programs/convolutions.py"], "tests/convolutions_test.py AppTest"),
    "deps": (["programs/deps.py"], "tests/deps_test.py CommandLineTest"),
    "pitfalls": (["programs/pitfalls.py"], "tests/pitfalls_test.py ProgramTest"),
    "predict": (["programs/predict.py"], "tests/predict_test.py PredictTest PredictOutputTest"),
    "lessons": (["programs/lessons.py", "programs/exercises.py"],
                "tests/lessons_test.py ProgramTest.test_mistakes_are_one_line ProgramTest.test_the_news_prompt_is_switched_off "
                "ProgramTest.test_a_served_kernel_runs_the_full_setting_even_if_the_tests_quick_one_was_set ExercisesTest"),
}

# One replacement per operator, as mutmut makes, instead of cosmic-ray's every-operator-for-every-operator
# (x + y as x - y, not also as x ** y, x << y, x ^ y ...); the random VariableInserter/Replacer left out.
EXCLUDED_OPERATORS = [
    "core/VariableInserter",
    "core/VariableReplacer",
    "core/ReplaceBinaryOperator_(?!(Add_Sub|Sub_Add|Mul_Div|Div_Mul|FloorDiv_Div|Mod_FloorDiv|Pow_Mul|LShift_RShift"
    "|RShift_LShift|BitOr_BitAnd|BitAnd_BitOr|BitXor_BitOr)$)",
    "core/ReplaceComparisonOperator_(?!(Eq_NotEq|NotEq_Eq|Lt_LtE|LtE_Lt|Gt_GtE|GtE_Gt|Is_IsNot|IsNot_Is|In_NotIn"
    "|NotIn_In)$)",
    "core/ReplaceUnaryOperator_(?!Delete_)",
]


def config(name, sock):
    modules, tests = SESSIONS[name]
    command = "python3 {} test {} {}".format(os.path.abspath(__file__), sock, tests)
    return "\n".join([
        "[cosmic-ray]",
        "module-path = {}".format(json.dumps(modules)),
        "timeout = 300.0",
        "excluded-modules = []",
        "test-command = {}".format(json.dumps(command)),
        "",
        "[cosmic-ray.distributor]",
        'name = "local"',
        "",
        "[cosmic-ray.filters.operators-filter]",
        "exclude-operators = {}".format(json.dumps(EXCLUDED_OPERATORS)),
        "",
    ])


def sample(db, count, seed=21):
    """Keeps a seeded random `count` of each module's mutants not yet run in cosmic-ray's database, drops the rest.

    On a shared 2-core machine a whole module's mutants can take hours; a sample's score is an estimate, and
    docs/testing.md says which modules were sampled and with what seed."""
    import random
    import sqlite3

    with sqlite3.connect(db) as conn:
        # The mutants cr-filter-operators skipped go too, so cr-report's figures count only mutants run.
        skipped = conn.execute("SELECT job_id FROM work_results WHERE worker_outcome = 'SKIPPED'").fetchall()
        for table in ("work_results", "mutation_specs", "work_items"):
            conn.executemany("DELETE FROM {} WHERE job_id = ?".format(table), skipped)
        rows = conn.execute("SELECT s.job_id, s.module_path FROM mutation_specs s LEFT JOIN work_results r "
                            "ON s.job_id = r.job_id WHERE r.job_id IS NULL ORDER BY s.module_path, s.job_id")
        by_module = {}
        for job_id, module in rows.fetchall():
            by_module.setdefault(module, []).append(job_id)
        rng = random.Random(seed)
        for module, jobs in sorted(by_module.items()):
            keep = set(rng.sample(jobs, min(count, len(jobs))))
            dropped = [(job,) for job in jobs if job not in keep]
            conn.executemany("DELETE FROM mutation_specs WHERE job_id = ?", dropped)
            conn.executemany("DELETE FROM work_items WHERE job_id = ?", dropped)
            print("{}: {} of {} mutants kept".format(module, len(keep), len(jobs)))


def serve(path):
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import runpy
    import threading
    import numpy  # noqa: F401  (the expensive imports, done once)
    import tensorflow  # noqa: F401
    from absl.testing import absltest  # noqa: F401
    if os.path.exists(path):
        os.unlink(path)
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(path)
    server.listen(16)
    while True:
        conn, _ = server.accept()
        request = json.loads(conn.makefile().readline())
        pid = os.fork()
        if pid == 0:  # the child: one test file, run as `python T.py ARGS` would, from the mutated copy
            server.close()
            code = 1
            try:
                os.chdir(request["cwd"])
                sys.path.insert(0, request["cwd"])
                log = os.open(request["log"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
                os.dup2(log, 1)
                os.dup2(log, 2)
                sys.argv = list(request["argv"])
                runpy.run_path(sys.argv[0], run_name="__main__")
                code = 0
            except SystemExit as e:
                code = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
            except BaseException:
                import traceback
                traceback.print_exc()
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(code)

        def answer(pid=pid, conn=conn):
            _, status = os.waitpid(pid, 0)
            with conn:
                conn.sendall(b"%d\n" % os.waitstatus_to_exitcode(status))
        threading.Thread(target=answer, daemon=True).start()


def test(path, args):
    """Each test file in turn in the warm server, from the current folder; exit 1 at the first that fails."""
    commands, current = [], []
    for arg in args:
        if arg == "--and":
            commands.append(current)
            current = []
        else:
            current.append(arg)
    commands.append(current)
    for argv in commands:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.connect(path)
            s.sendall((json.dumps({"cwd": os.getcwd(), "argv": argv,
                                   "log": os.path.join(os.getcwd(), ".mutation-test.log")}) + "\n").encode())
            if int(s.makefile().readline() or 1) != 0:
                sys.exit(1)


if __name__ == "__main__":
    if len(sys.argv) < 3 or sys.argv[1] not in ("config", "serve", "test", "sample"):
        sys.exit(__doc__)
    if sys.argv[1] == "sample":
        sample(sys.argv[2], int(sys.argv[3]), *[int(a) for a in sys.argv[4:5]])
    elif sys.argv[1] == "config":
        print(config(sys.argv[2], sys.argv[3]), end="")
    elif sys.argv[1] == "serve":
        serve(sys.argv[2])
    else:
        test(sys.argv[2], sys.argv[3:])
