"""//:pitfalls (labs/pitfalls.py): each wrong variant really shows its symptom and each right one fixes
it, in the values the session returned and in the node sets labs/deps predicted and the trace saw;
plus the program's command line.
"""

import contextlib
import io
import os
import re
import shutil
import subprocess
import sys
from unittest import mock

import numpy as np
import tensorflow as tf

from data import loader
from labs import deps
from labs import pitfalls
from programs import pitfalls as program
from session import trainer
from tests import reading
from tests import testing

tf.compat.v1.disable_eager_execution()


def _value(side, start):
    """The number whose label starts with `start` (labels are the library's own, printed as they are)."""
    found = [value for label, value in side.numbers if label.startswith(start)]
    assert len(found) == 1, (start, side.numbers)
    return found[0]


def _watched(side):
    return {w.node: (w.predicted, w.ran) for w in side.watch}


def _label(side, start, pattern):
    """The numbers a value's label states (`pattern`'s groups, as ints where they are digits)."""
    found = [label for label, _ in side.numbers if label.startswith(start)]
    assert len(found) == 1, (start, side.numbers)
    match = re.search(pattern, found[0])
    assert match, (pattern, found[0])
    return [int(g.replace(",", "")) if g.replace(",", "").isdigit() else g for g in match.groups()]


def _printed(side):
    """What //:pitfalls prints for a side (programs/pitfalls.print_side), as lines."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        program.print_side("Wrong", side)
    return out.getvalue().splitlines()


def _expected_watch(graph, runs, watch):
    """(predicted, traced) each watched node should be printed with, from the test's own walk: a graph
    node runs if the walk reaches it; `N nodes, A ... B` (ops built by one step) if the walk reaches all
    N ops from A to B; a branch function's nodes are not graph nodes (predicted None, traced as seen)."""
    ops = [op.name for op in graph.get_operations()]
    if watch.node in ops:
        return watch.node in runs, watch.node in runs
    if " nodes, " in watch.node:
        count, span = watch.node.split(" nodes, ")
        first, last = span.split(" ... ")
        built = ops[ops.index(first):ops.index(last) + 1]
        assert len(built) == int(count), (watch.node, len(built))
        return all(n in runs for n in built), all(n in runs for n in built)
    return None, watch.ran


class PitfallsTest(tf.test.TestCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.data = loader.load_mnist()

    def run_pitfall(self, name):
        result = pitfalls.run(name, self.data)
        for side in result:
            # The prediction and the trace agree on every graph node the pitfall is about, and each
            # side's code is a real function whose source //:pitfalls prints.
            for w in side.watch:
                if w.predicted is not None:
                    self.assertEqual(w.predicted, w.ran, (name, w))
            self.assertTrue(all(callable(f) for f in side.code))
            self.assertTrue(side.ran)
            self.assert_printed_as_found_here(side)
        return result

    def assert_printed_as_found_here(self, side):
        """//:pitfalls' lines for a side, read back, against the test's own walk over the GraphDef from
        the call the side prints, and the values the session returned."""
        lines = _printed(side)
        said = reading.pitfall_side(lines)
        fetches, feeds = reading.session_run_text(side.fetch)
        graph = side.graph
        runs, used = reading.needed(graph, fetches, feeds)
        types = {op.name: op.type for op in graph.get_operations()}
        unseen = sorted(runs - side.ran)
        self.assertEqual(said["call"], side.fetch)
        self.assertEqual((said["predicted"], said["ran"], said["more"]),
                         (len(runs), len(runs & side.ran), len(side.ran - runs)))
        self.assertEqual(said["unseen"], ([(n, types[n]) for n in unseen[:6]], len(unseen) > 6,
                                          any(types[n].endswith("If") for n in unseen)))
        self.assertEqual(said["required"], [n for n in types if types[n] == "Placeholder" and n in runs | used])
        self.assertEqual(said["unused"], [f for f in feeds if f not in runs | used])
        self.assertEqual(said["fed"], {n: types[n] for n in used if types[n] != "Placeholder"})
        self.assertEqual(said["watch"], {w.node: (w.what,) + _expected_watch(graph, runs, w) for w in side.watch})
        returned = lines[lines.index("  What the session returned:") + 1:lines.index(next(
            line for line in lines if line.startswith("  Why: ")))]
        self.assertLen(returned, len(side.numbers))
        for line, (label, value) in zip(returned, side.numbers):
            shown = reading.printed_value(reading.after(line, "    {}: ".format(label)), value)
            if any(isinstance(v, str) for v in (value if isinstance(value, (list, tuple)) else [value])):
                self.assertEqual(shown, value, label)
            else:  # printed to 4 significant digits
                self.assertAllClose(shown, value, rtol=5e-4, atol=0, msg=label)

    def run_scored(self, name):
        """Runs pitfall `name` recording each trainer.score call: (Result, [(labels scored against, accuracy)])."""
        calls, real = [], trainer.score

        def score(logits, labels):
            result = real(logits, labels)
            calls.append((np.array(labels), result[1]))
            return result
        with mock.patch.object(trainer, "score", score):
            return self.run_pitfall(name), calls

    def assert_scored_on_the_images_it_names(self, side, calls, start):
        """The accuracy (or accuracies) labelled `start...` was scored against exactly the test images its label
        names: `(test 1000-1999)`, or `2,000 test images` (the first 2,000)."""
        (label, value), = [(l, v) for l, v in side.numbers if l.startswith(start)]
        span = re.search(r"\(test (\d+)-(\d+)\)", label)
        count = re.search(r"([\d,]+) test images", label)
        begin, end = (int(span.group(1)), int(span.group(2)) + 1) if span else (0, int(count.group(1).replace(",", "")))
        expected = self.data.test.labels[begin:end]
        for accuracy in value if isinstance(value, list) else [value]:
            self.assertTrue(any(a == accuracy and np.array_equal(labels, expected) for labels, a in calls),
                            (label, accuracy))

    def assert_all(self, side, predicted, ran=None):
        for node, (p, r) in _watched(side).items():
            self.assertEqual(p, predicted, node)
            self.assertEqual(r, predicted if ran is None else ran, node)

    def test_every_pitfall_is_listed_once_with_its_rule(self):
        self.assertEqual(list(pitfalls.PITFALLS), [
            "update_ops", "assign_not_fetched", "control_dependencies_alias", "summary_not_fetched",
            "feed_any_tensor", "cond_outside_branches", "graph_grows_in_loop", "test_loop_trains",
            "variables_after_init_op", "dropout_left_on"])
        for name, p in pitfalls.PITFALLS.items():
            self.assertTrue(p.summary and p.rule, name)

    def test_batch_normalization_is_tf_compat_v1_layers(self):
        # labs/pitfalls.py imports tf_keras' module by name; under TF_USE_LEGACY_KERAS=1 it is the very
        # module tf.compat.v1.layers routes to, so the lab uses tf.compat.v1.layers.batch_normalization.
        done = subprocess.run([sys.executable, "-c", (
            "import tensorflow as tf\n"
            "from tf_keras.api._v1.keras.__internal__.legacy import layers\n"
            "print(tf.compat.v1.layers.batch_normalization is layers.batch_normalization)\n")],
            capture_output=True, text=True, timeout=300,
            env=dict(os.environ, TF_USE_LEGACY_KERAS="1", TF_CPP_MIN_LOG_LEVEL="3"))
        self.assertEqual(done.stdout.strip(), "True", done.stderr[-2000:])

    def test_update_ops(self):
        (wrong, right), calls = self.run_scored("update_ops")
        for side in (wrong, right):
            self.assert_scored_on_the_images_it_names(side, calls, "test accuracy in inference mode")
        mean = "moving_mean after"
        variance = "moving_variance after"
        # Without the dependency the moving statistics never move from their initial 0 and 1 ...
        self.assertEqual(_value(wrong, mean), 0.0)
        self.assertEqual(_value(wrong, variance), 1.0)
        self.assert_all(wrong, False)
        # ... with it they track the batches' own statistics, and inference mode classifies better.
        batch_mean, batch_variance = _value(right, "the last training batch")
        self.assertAllClose(_value(right, mean), batch_mean, atol=0.02)
        self.assertAllClose(_value(right, variance), batch_variance, rtol=0.3)
        self.assert_all(right, True)
        self.assertLen(right.watch, 2)  # moving mean and moving variance
        self.assertGreater(_value(right, "test accuracy"), _value(wrong, "test accuracy") + 2)

    def test_assign_not_fetched(self):
        wrong, right = self.run_pitfall("assign_not_fetched")
        self.assertEqual(_value(wrong, "images_seen"), [0] * pitfalls.RUNS)
        self.assertEqual(_value(right, "images_seen"), [100 * (i + 1) for i in range(pitfalls.RUNS)])
        runs, batch = _label(right, "images_seen", r"by (\d+) runs on batches of (\d+)$")
        self.assertEqual(_value(right, "images_seen"), [batch * (i + 1) for i in range(runs)])
        self.assert_all(wrong, False)
        self.assert_all(right, True)
        self.assertEqual(wrong.prediction.unused_feeds, ["input:0"])  # nothing the fetch needs reads it
        # Had the trace seen a node run that was not predicted, the Why line would count it apart.
        extra = wrong._replace(ran=wrong.ran | {op.name for op in wrong.graph.get_operations()
                                                if op.type == "AssignAddVariableOp"})
        self.assert_printed_as_found_here(extra)
        said = reading.pitfall_side(_printed(extra))
        self.assertEqual((said["ran"], said["more"]), (len(wrong.prediction.runs), 1))

    def test_control_dependencies_alias(self):
        wrong, right = self.run_pitfall("control_dependencies_alias")
        self.assertEqual(_value(wrong, "session.run(y)"), [0.0] * pitfalls.RUNS)
        self.assertEqual(_value(right, "session.run(y)"), [float(i + 1) for i in range(pitfalls.RUNS)])
        runs, = _label(right, "session.run(y)", r"^session\.run\(y\), (\d+) times$")
        self.assertEqual(_value(right, "session.run(y)"), [float(i + 1) for i in range(runs)])
        self.assert_all(wrong, False)
        self.assert_all(right, True)
        # y = x fetched the variable's own read, made with the variable, outside the block.
        self.assertEqual(wrong.prediction.fetches, ["x/Read/ReadVariableOp"])

    def test_summary_not_fetched(self):
        wrong, right = self.run_pitfall("summary_not_fetched")
        self.assertEqual(_value(wrong, "`train_cost` scalars"), 0)
        self.assertEqual(_value(right, "`train_cost` scalars"), pitfalls.RUNS)
        steps, = _label(right, "`train_cost` scalars", r"after (\d+) training steps$")
        self.assertEqual(_value(right, "`train_cost` scalars"), steps)  # one scalar per fetched step
        self.assert_all(wrong, False)
        self.assert_all(right, True)

    def test_feed_any_tensor(self):
        (wrong, right), calls = self.run_scored("feed_any_tensor")
        for side in (wrong, right):
            for start in ("accuracy against the labels of the images fed", "accuracy against the labels of the batch"):
                self.assert_scored_on_the_images_it_names(side, calls, start)
        # The fed layer1 output came from another batch: the logits are that batch's, exactly.
        self.assertEqual(_value(wrong, "largest difference"), 0.0)
        self.assertGreater(_value(right, "largest difference"), 1.0)
        self.assertGreater(_value(wrong, "accuracy against the labels of the batch layer1"),
                           _value(wrong, "accuracy against the labels of the images fed") + 15)
        self.assertGreater(_value(right, "accuracy against the labels of the images fed"),
                           _value(right, "accuracy against the labels of the batch layer1") + 15)
        # Nothing at or below the fed tensor ran: no node of input or layer1.
        self.assertEqual({deps.scope_of(n) for n in wrong.ran} & {"input", "layer1"}, set())
        self.assertIn("layer1", {deps.scope_of(n) for n in right.ran})
        self.assertEqual(wrong.prediction.fed, {"layer1/layer1_output"})
        self.assertEqual(wrong.prediction.unused_feeds, ["input:0"])
        self.assert_all(wrong, False)
        self.assert_all(right, True)

    def test_cond_outside_branches(self):
        wrong, right = self.run_pitfall("cond_outside_branches")
        self.assertEqual(_value(wrong, "counter after"), pitfalls.RUNS)
        self.assertEqual(_value(right, "counter after"), 0)
        runs, pred = _label(wrong, "counter after", r"^counter after (\d+) runs with pred=(\w+) \(the true branch")
        self.assertEqual((_value(wrong, "counter after"), _value(right, "counter after")),
                         (runs, runs if pred == "True" else 0))
        # The branch functions by what they are: `then` runs when pred is True, `else` when it is False.
        for side in (wrong, right):
            said = {w.node: w for w in side.watch}
            self.assertEqual(said["cond/then/..."].what, "the true branch's function (then)")
            self.assertEqual(said["cond/else/..."].what, "the false branch's function (else)")
            taken = "true" if pred == "True" else "false"
            self.assertEqual([w.what.split()[1] for w in side.watch if w.node.startswith("cond/") and w.ran], [taken])
        self.assertEqual(_watched(wrong)["AssignAddVariableOp"], (True, True))
        for side in (wrong, right):  # pred=False: the false branch's function ran, the true one's did not
            self.assertEqual(_watched(side)["cond/then/..."], (None, False))
            self.assertEqual(_watched(side)["cond/else/..."], (None, True))
        self.assertNotIn("AssignAddVariableOp", {op.type for op in right.graph.get_operations()})

    def test_graph_grows_in_loop(self):
        wrong, right = self.run_pitfall("graph_grows_in_loop")
        before, first, last = _value(wrong, "nodes in the graph")
        steps, = _label(wrong, "nodes in the graph", r"after step 1 / after step (\d+)$")
        self.assertEqual(last, before + (first - before) * steps)
        per_step = first - before
        self.assertGreater(per_step, 0)
        self.assertEqual(last, before + per_step * pitfalls.LOOP_STEPS)
        self.assertEqual(len(set(_value(right, "nodes in the graph"))), 1)
        self.assertIn("Graph is finalized", _value(wrong, "the same step after graph.finalize()"))
        self.assertTrue(right.graph.finalized)
        (step_nodes,) = wrong.watch
        self.assertTrue(step_nodes.node.startswith("{} nodes".format(per_step)))
        self.assertEqual((step_nodes.predicted, step_nodes.ran), (True, True))
        self.assert_all(right, True)

    def test_test_loop_trains(self):
        weights = []  # every weight, each time the pitfall takes a checksum: before and after each loop

        def checksum(session, variables):
            weights.append(session.run(variables))
            return real_checksum(session, variables)
        real_checksum = pitfalls.checksum
        with mock.patch.object(pitfalls, "checksum", checksum):
            wrong, right = self.run_pitfall("test_loop_trains")
        before, after = _value(wrong, "checksum")
        self.assertNotEqual(before, after)
        before_right, after_right = _value(right, "checksum")
        self.assertEqual(before_right, after_right)  # every weight bit-identical
        self.assertEqual(before_right, before)  # and the wrong loop started from the same weights

        def accuracy(values):  # the linear model's test accuracy, computed here with numpy
            w, b = sorted(values, key=np.ndim, reverse=True)
            logits = self.data.test.images @ w + b
            return 100.0 * np.mean(np.argmax(logits, 1) == np.argmax(self.data.test.labels, 1))
        right_before, right_after, _, wrong_after = map(accuracy, weights)
        # The right loop reports the accuracy of the weights it was given, and leaves it so; the wrong loop
        # leaves weights trained on the test set, as its logits-only accuracy afterwards says.
        honest = _value(right, "test accuracy the loop reports")
        self.assertAllClose(honest, right_before, atol=0.011)  # one image in 10,000 may round the other way
        self.assertAllClose(_value(right, "logits-only test accuracy after"), right_after, atol=0.011)
        self.assertAllClose(_value(wrong, "logits-only test accuracy after"), wrong_after, atol=0.011)
        self.assertGreater(_value(wrong, "test accuracy the loop reports"), honest)
        self.assertGreater(_value(wrong, "logits-only test accuracy after"), honest)
        self.assert_all(wrong, True)
        self.assert_all(right, False)
        self.assertEqual(wrong.prediction.required, ["input", "labels"])
        self.assertEqual(right.prediction.required, ["input"])

    def test_variables_after_init_op(self):
        wrong, right = self.run_pitfall("variables_after_init_op")
        self.assertEqual(_value(wrong, "variables still uninitialized"), ["layer1_bias"])
        self.assertEqual(_value(right, "variables still uninitialized"), [])
        self.assertTrue(_value(wrong, "session.run(layer1_bias)").startswith("FailedPreconditionError"))
        self.assertIn("layer1_bias", _value(wrong, "session.run(layer1_bias)"))
        self.assertEqual(_watched(wrong), {"layer1_weights/Assign": (True, True),
                                           "layer1_bias/Assign": (False, False)})
        self.assert_all(right, True)

    def test_dropout_left_on(self):
        (wrong, right), calls = self.run_scored("dropout_left_on")
        left_on = _value(wrong, "test accuracy of")
        off = _value(right, "test accuracy of")
        for side in (wrong, right):
            self.assert_scored_on_the_images_it_names(side, calls, "test accuracy of")
            evaluations, = _label(side, "test accuracy of", r"^test accuracy of (\d+) evaluations")
            self.assertLen(_value(side, "test accuracy of"), evaluations)
        # The right side's branch is dropout's `then` (training=True); evaluation feeds nothing: False.
        (branch,), = [right.watch]
        self.assertEqual((branch.what, branch.ran), ("the true branch's function (then)", False))
        self.assertGreater(len(set(left_on)), 1)  # another accuracy at every evaluation
        self.assertEqual(len(set(off)), 1)
        self.assertGreater(off[0], max(left_on))
        self.assert_all(wrong, True)
        self.assertEqual(_watched(right), {"dropout/then/...": (None, False)})


def _program(args, **kwargs):
    return testing.run_program("programs/pitfalls.py", args, **kwargs)


class ProgramTest(tf.test.TestCase):

    def test_list_names_every_pitfall_one_line_each(self):
        done = _program(["--list"])
        self.assertEqual(done.returncode, 0, done.stderr)
        lines = done.stdout.strip().splitlines()
        self.assertEqual([line.split()[0] for line in lines], list(pitfalls.PITFALLS))

    def test_unknown_pitfall_is_one_line_naming_them_all(self):
        done = _program(["--pitfall=update_op"])
        self.assertEqual(done.returncode, 1)
        errors = [line for line in done.stderr.splitlines() if line.startswith("error:")]
        self.assertLen(errors, 1)
        for name in pitfalls.PITFALLS:
            self.assertIn(name, errors[0])
        self.assertNotIn("Traceback", done.stderr)
        self.assertEqual(done.stdout, "")

    def test_extra_arguments_are_refused(self):
        done = _program(["--list", "update_ops"])
        self.assertNotEqual(done.returncode, 0)
        self.assertIn("error: unexpected arguments update_ops", done.stderr)
        self.assertNotIn("Traceback", done.stderr)

    def test_one_pitfall_with_pictures_side_by_side(self):
        folder = os.path.join(self.create_tempdir().full_path, "pictures")
        done = _program(["--pitfall=control_dependencies_alias", "--dot=pictures"],
                        env={"BUILD_WORKING_DIRECTORY": os.path.dirname(folder)})
        self.assertEqual(done.returncode, 0, done.stderr)
        # The code printed is the library's own source; the symptom and the fix are in the numbers.
        self.assertIn("y = x  # a second Python name for x", done.stdout)
        self.assertIn("[0, 0, 0, 0, 0]", done.stdout)
        self.assertIn("[1, 2, 3, 4, 5]", done.stdout)
        self.assertEqual(done.stdout.count("=" * 100), 1)
        with open(os.path.join(folder, "control_dependencies_alias.dot")) as f:
            text = f.read()
        clusters = re.findall(r'subgraph "cluster_\d"', text)
        self.assertLen(clusters, 2)  # wrong and right side by side
        orange = set(re.findall(r'"(p\d\.[^"]+)" \[[^\]]*fillcolor=orange', text))
        # Wrong: only the variable's read ran; right: the assign_add ran too.
        self.assertEqual(orange, {"p0.x", "p1.x", "p1.Const", "p1.AssignAddVariableOp", "p1.Identity"})
        # Each panel names the pitfall's nodes and whether they ran.
        self.assertIn("AssignAddVariableOp: did NOT run", text.split("cluster_1")[0])
        self.assertIn("AssignAddVariableOp: ran", text.split("cluster_1")[1])
        if shutil.which("dot"):
            self.assertTrue(os.path.exists(os.path.join(folder, "control_dependencies_alias.svg")))

    def test_pictures_without_graphviz_are_dot_files_and_say_so(self):
        folder = self.create_tempdir().full_path
        empty = self.create_tempdir().full_path  # a PATH where `dot` cannot be found
        done = _program(["--pitfall=assign_not_fetched", "--dot=" + folder], env={"PATH": empty})
        self.assertEqual(done.returncode, 0, done.stderr)
        self.assertEqual(os.listdir(folder), ["assign_not_fetched.dot"])
        self.assertIn("Graphviz's `dot` is not installed", done.stdout)

    def test_unwritable_dot_folder_is_one_line(self):
        blocker = os.path.join(self.create_tempdir().full_path, "file")
        with open(blocker, "w") as f:
            f.write("not a folder")
        done = _program(["--pitfall=assign_not_fetched", "--dot=" + os.path.join(blocker, "pictures")])
        self.assertEqual(done.returncode, 1)
        self.assertRegex(done.stderr.strip().splitlines()[-1], r"^error: --dot .* cannot be created")
        self.assertNotIn("Traceback", done.stderr)
        self.assertEqual(done.stdout, "")


if __name__ == "__main__":
    np.set_printoptions(precision=4)
    tf.test.main()
