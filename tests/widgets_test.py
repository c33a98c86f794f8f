"""The lessons' widgets, driven without a browser (issue 20): every control's handler is called as a
click or a change would call it, and what the widgets then show is read back and checked by value.

labs/explorer (the session.run explorer), labs/deps (//:deps' report with its internals
toggle), labs/microscope (LTFN 6's initialization microscope), labs/questions (predict, then check:
each answer is compared with the same session.run made by hand here).
"""

import base64
import collections
import contextlib
import hashlib
import html
import io
import math
import os
import re
import signal
import subprocess
from unittest import mock

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from data import loader  # noqa: E402
from graphs import model  # noqa: E402
from graphs import posts  # noqa: E402
from labs import board  # noqa: E402
from labs import deps  # noqa: E402
from labs import display  # noqa: E402
from labs import explorer  # noqa: E402
from labs import microscope  # noqa: E402
from labs import questions  # noqa: E402
from machine import sessions  # noqa: E402
from tests import reading  # noqa: E402

tf.compat.v1.disable_eager_execution()

INTERNAL_WORDS = ("_SOURCE", "_retval", "_arg_input_0_0", "_MklMatMul", "FULL_TRACE", "Grappler")


def small_batch(n=8, seed=0):
    """Images in MNIST's shape and range, one-hot labels: what runs does not depend on the pixels."""
    rng = np.random.default_rng(seed)
    return loader.DataSet(rng.uniform(0, 1, (n, 784)).astype(np.float32),
                          np.eye(10, dtype=np.float32)[rng.integers(0, 10, n)])


def _text(value):
    """The lines inside a widget's <pre><code> (or the HTML's text), unescaped."""
    if "<code>" in value:
        value = value.split("<code>", 1)[1].rsplit("</code>", 1)[0]
    return html.unescape(value).splitlines()


def _explorer_prediction(lines):
    """The explorer's prediction lines (explorer.prediction_lines) -> a dict: will_run, rows
    {scope: (inside, total)}, required, not_fed, unused, fed."""
    count, _, scopes = reading.after(lines[0], "Will run ").partition(" nodes, in: ")
    said = {"will_run": int(count), "rows": {}, "not_fed": [], "unused": [], "fed": []}
    for item in reading.names(scopes) if scopes != "nothing" else []:
        scope, _, part = item.partition(" (")
        said["rows"][scope] = tuple(int(n) for n in part.split(" nodes)")[0].split(" of ")) if part else None
    said["required"] = reading.names(reading.after(lines[1], "Placeholders the fetch needs: "))
    for line in lines[2:]:
        if line.startswith("NOT fed: "):
            said["not_fed"].append(reading.after(line, "NOT fed: ").split(" (red border): ")[0])
        elif line.startswith("Fed but not needed: "):
            said["unused"].append(reading.after(line, "Fed but not needed: ").split(" (TensorFlow accepts")[0])
        else:
            said["fed"].append(reading.after(line, "Fed: ").split(": it does not run")[0])
    return said


def _values_shown(lines):
    """{fetch: text} from the explorer's `session.run returned:` lines."""
    start = lines.index("session.run returned:")
    shown = {}
    for line in lines[start + 1:]:
        if not line.startswith("  ") or line.startswith("  by scope: "):
            break
        name, text = line[2:].split(": ", 1)
        shown[name] = text
    return shown


def _range(text):
    """`an array of shape (8, 10), values from -3.2 to 4.1` -> ((8, 10), -3.2, 4.1)."""
    shape, _, values = reading.after(text, "an array of shape ").partition(", values from ")
    low, high = values.split(" to ")
    return tuple(int(d) for d in shape.strip("(,)").split(", ")), float(low), float(high)


def linear_explorer():
    graph, _, init_op = model.build_graph("linear", "random_normal", 0.01)
    return explorer.Explorer(graph, init_op, small_batch())


class ExplorerTest(tf.test.TestCase):

    def test_default_state_draws_logits_and_runs_it(self):
        e = linear_explorer()
        self.assertEqual(e.fetches.value, ("logits",))
        self.assertEqual(e.feeds.value, ("input",))
        self.assertIn("session.run(logits, feed_dict={input: ...})", e.call.value)
        self.assertIn("<svg", e.drawing.value)
        self.assertIn("orange", e.drawing.value)
        self.assertIn("Placeholders the fetch needs: input", e.prediction_text.value)
        self.assertEqual(e.result.value, "")  # nothing runs before the click
        e.run_button.click()
        self.assertIn("logits: an array of shape (8, 10)", e.result.value)
        self.assertIn("exactly the orange ones in the drawing", e.result.value)
        self.assertIn("by scope: layer1 6, logits 1", e.result.value)
        for word in INTERNAL_WORDS:
            self.assertNotIn(word, e.result.value)

    def test_prediction_lines_name_what_the_walk_finds(self):
        e = linear_explorer()
        for fetches, feeds in ((("cost",), ("input",)), (("cost",), ("logits", "labels", "input")),
                               (("accuracy", "logits"), ("input", "labels")), (("input",), ()),
                               (("optimizer",), ("input", "labels"))):  # all of cost's scope but the mean itself
            with self.subTest(fetches=fetches, feeds=feeds):
                e.fetches.value, e.feeds.value = fetches, feeds
                said = _explorer_prediction(_text(e.prediction_text.value))
                expected = reading.expected_prediction(e.graph, list(fetches), list(feeds))
                self.assertEqual(said["will_run"], len(expected["runs"]))
                self.assertEqual(said["rows"], {s: None if i == t else (i, t) for s, (i, t, _) in
                                                expected["rows"].items()})
                for key in ("required", "not_fed", "unused", "fed"):
                    self.assertEqual(said[key], expected[key], key)

    def test_values_and_what_ran_against_numpy_and_the_tests_own_trace(self):
        e = linear_explorer()
        batch = e.batch()
        with tf.compat.v1.Session(graph=e.graph) as session:
            session.run(e.init_op)  # the same seeded initial weights the explorer's run starts from
            variables = {v.op.name: v for v in e.graph.get_collection(tf.compat.v1.GraphKeys.GLOBAL_VARIABLES)}
            w, b = session.run([variables["layer1/layer1_weights"], variables["layer1/layer1_bias"]])
        logits = batch.images @ w + b
        cost = np.mean(np.log(np.sum(np.exp(logits), 1)) - np.sum(batch.labels * logits, 1))
        e.fetches.value, e.feeds.value = ("logits", "layer1/layer1_weights", "cost"), ("input", "labels")
        e.run_button.click()
        lines = _text(e.result.value)
        shown = _values_shown(lines)
        for name, array in (("logits", logits), ("layer1/layer1_weights", w)):
            shape, low, high = _range(shown[name])
            self.assertEqual(shape, array.shape, name)
            self.assertAllClose((low, high), (array.min(), array.max()), rtol=5e-4, atol=0, msg=name)
        self.assertAllClose(float(reading.after(shown["cost"], "a number, ")), cost, rtol=1e-5)
        # A range's two ends: a batch whose smallest pixel is its first and whose largest is its last.
        images = np.full((3, 784), 0.5, np.float32)
        images[0, 0], images[-1, -1] = 0.125, 0.875
        edges = explorer.Explorer(e.graph, e.init_op, loader.DataSet(images, batch.labels[:3]), fetches=("input",))
        edges.run_button.click()
        self.assertEqual(_range(_values_shown(_text(edges.result.value))["input"]), ((3, 784), 0.125, 0.875))
        # What ran, by scope, and the executor's own nodes: the test's own FULL_TRACE run of the same call.
        fetches = ["logits", "layer1/layer1_weights/Read/ReadVariableOp", "cost"]
        runs, _ = reading.needed(e.graph, fetches, ["input", "labels"])
        with tf.compat.v1.Session(graph=e.graph, config=sessions.config(rewrites=False)) as session:
            session.run(e.init_op)
            kernels = reading.traced_kernels(session, [n + ":0" for n in fetches],
                                             {"input:0": batch.images, "labels:0": batch.labels})
        self.assertIn("Ran {} nodes: exactly the orange ones in the drawing (the trace saw each of them run).".format(
            len(runs)), lines)
        by_scope = dict(item.split(" ") for item in reading.after(lines[-1], "  by scope: ").split(", "))
        ran = set(kernels) & {op.name for op in e.graph.get_operations()}
        self.assertEqual({s: int(n) for s, n in by_scope.items()},
                         dict(collections.Counter(reading.scope(n) for n in ran)))
        e.internals.value = True
        internals = _text(e.result.value)[len(lines) + 2:]
        expected = reading.expected_verification(e.graph, runs, kernels, {})
        self.assertEqual({line.split(": ")[0].strip() for line in internals},
                         set(expected["feeds"]) | set(expected["runtime"]))
        for node, (op, _) in expected["feeds"].items():
            self.assertIn("  {}: the executor's node carrying the value fed for {}".format(node, op), internals)

    def test_internals_toggle_shows_and_hides_the_executors_nodes(self):
        e = linear_explorer()
        e.run_button.click()
        plain = e.result.value
        e.internals.value = True
        self.assertIn("_SOURCE", e.result.value)
        self.assertIn("_arg_input_0_0", e.result.value)
        self.assertIn("_retval_logits_0_0", e.result.value)
        e.internals.value = False
        self.assertEqual(e.result.value, plain)

    def test_changing_the_fetch_redraws_and_an_unfed_placeholder_raises_tensorflows_error(self):
        e = linear_explorer()
        before = e.drawing.value
        e.fetches.value = ("cost",)
        self.assertNotEqual(e.drawing.value, before)
        self.assertIn('stroke="red"', e.drawing.value)  # labels: must be fed, is not
        self.assertIn("NOT fed: labels", e.prediction_text.value)
        self.assertIn("softmax_cross_entropy_with_logits", e.prediction_text.value)
        e.run_button.click()
        self.assertIn("TensorFlow refused: InvalidArgumentError: You must feed a value for placeholder tensor "
                      "&#x27;labels&#x27;", e.result.value)
        self.assertIn("Feed labels too", e.result.value)
        e.feeds.value = ("input", "labels")
        self.assertEqual(e.result.value, "")  # a change clears the last run
        e.run_button.click()
        self.assertRegex(e.result.value, r"cost: a number, \d")

    def test_odd_choices(self):
        e = linear_explorer()
        # A placeholder fetched without its feed, then with it: nothing runs, the value comes back.
        e.fetches.value, e.feeds.value = ("input",), ()
        e.run_button.click()
        self.assertIn("You must feed a value for placeholder tensor &#x27;input&#x27;", e.result.value)
        self.assertIn("is a placeholder itself", e.result.value)
        e.feeds.value = ("input",)
        e.run_button.click()
        self.assertIn("input: an array of shape (8, 784)", e.result.value)
        self.assertIn("Nothing ran", e.result.value)
        # Feeding logits cuts the network off: cost runs from the fed logits, layer1 does not run.
        e.fetches.value, e.feeds.value = ("cost",), ("logits", "labels", "input")
        self.assertIn("Fed but not needed: input", e.prediction_text.value)
        e.run_button.click()
        self.assertIn("cost: a number", e.result.value)
        self.assertNotIn("layer1", e.result.value.split("by scope:")[1])
        # A variable's name fetches its value, and optimizer returns None.
        e.fetches.value, e.feeds.value = ("layer1/layer1_weights", "optimizer"), ("input", "labels")
        e.run_button.click()
        self.assertIn("layer1/layer1_weights: an array of shape (784, 10)", e.result.value)
        self.assertIn("optimizer: None", e.result.value)
        # No fetch: nothing to draw or run.
        e.fetches.value = ()
        self.assertTrue(e.run_button.disabled)
        e.on_run()
        self.assertEqual(e.result.value, "")

    def test_every_node_can_be_listed_and_the_choices_stay(self):
        e = linear_explorer()
        e.fetches.value = ("cost", "accuracy")
        short = e.fetches.options
        # The short list: the posts' names first, each once, then the rest; no gradient, initializer or saver.
        posts_names = [n for n in deps.POST_NAMES if n in {op.name for op in e.graph.get_operations()}]
        self.assertEqual(list(short[:len(posts_names)]), posts_names)
        self.assertEqual(len(set(short)), len(short))
        self.assertEqual([n for n in short if n.startswith(("gradients", "init", "save"))], [])
        with mock.patch.object(explorer.Explorer, "redraw", autospec=True) as redraw:
            e.all_nodes.value = True
        redraw.assert_called_once_with(e)  # new options and choices, one redraw
        self.assertEqual(len(e.fetches.options), len(e.graph.get_operations()))
        self.assertIn("gradients/layer1/MatMul_grad/MatMul", e.fetches.options)
        self.assertEqual(e.fetches.value, ("cost", "accuracy"))
        e.all_nodes.value = False
        self.assertEqual(e.fetches.options, short)
        # A choice the short list does not hold gives way to its first node, not to no fetch at all.
        e.all_nodes.value = True
        e.fetches.value = ("gradients/layer1/MatMul_grad/MatMul",)
        e.all_nodes.value = False
        self.assertEqual(e.fetches.value, (short[0],))
        self.assertIn("Will run", e.prediction_text.value)

    def test_the_default_batch_is_the_first_100_test_images(self):
        test = loader.load_mnist().test
        batch = explorer.default_batch()
        self.assertAllEqual(batch.images, test.images[:100])
        self.assertAllEqual(batch.labels, test.labels[:100])

    def test_why_a_placeholder_must_be_fed_names_the_fetch_and_the_op_that_needs_it(self):
        e = linear_explorer()
        types = {op.name: op.type for op in e.graph.get_operations()}
        for fetches, feeds in ((("cost",), ("input",)), (("cost",), ()), (("accuracy", "logits"), ("labels",))):
            with self.subTest(fetches=fetches, feeds=feeds):
                e.fetches.value, e.feeds.value = fetches, feeds
                unfed = [p for p in reading.placeholders_needed(e.graph, list(fetches)) if p not in feeds]
                reasons = {}
                for line in _text(e.prediction_text.value):
                    if line.startswith("NOT fed: "):
                        name, why = reading.after(line, "NOT fed: ").split(" (red border): ")
                        self.assertTrue(why.endswith("; session.run will refuse"), line)
                        reasons[name] = why[:-len("; session.run will refuse")]
                self.assertEqual(list(reasons), unfed)
                for name, why in reasons.items():
                    # `<fetch> needs it through <node> (<type>)`: a fetch whose walk reaches that node, which
                    # reaches the placeholder.
                    fetch, node, kind = re.fullmatch(r"(\S+) needs it through (\S+) \((\w+)\)", why).groups()
                    self.assertIn(fetch, fetches)
                    self.assertEqual(types[node], kind)
                    self.assertIn(node, reading.needed(e.graph, [fetch])[0])
                    self.assertIn(name, reading.needed(e.graph, [node])[0])
                e.run_button.click()
                why = next(line for line in _text(e.result.value) if line.startswith("Why: "))
                # The run's Why is about one placeholder: the reason given is that placeholder's own.
                self.assertEqual(why, "Why: {}, and every placeholder a fetch depends on must be fed. Feed {} too, or "
                                      "fetch something that does not need it.".format(reasons[unfed[0]], unfed[0]))

    def test_a_learners_own_graph(self):
        graph = tf.Graph()
        with graph.as_default():
            x = tf.compat.v1.placeholder(tf.float32, (None, 3), name="x")
            w = tf.compat.v1.get_variable("w", [3, 2], initializer=tf.compat.v1.ones_initializer())
            tf.matmul(x, w, name="y")
        e = explorer.Explorer(graph, fetches=("y",), feeds=("x",), batch=small_batch(4))
        self.assertEqual(e.fetches.options, ("x", "w", "y"))
        e.run_button.click()
        self.assertIn("y: an array of shape (4, 2)", e.result.value)
        self.assertIn("exactly the orange ones", e.result.value)


class ReportTest(tf.test.TestCase):

    def test_internals_are_behind_the_toggle(self):
        batch = small_batch()
        report = deps.Report("linear", ["optimizer", "cost"], None, lambda: batch)
        self.assertEqual(report.code, 0)
        plain = report.text.value
        self.assertIn("Will run: 83 of 111 nodes", plain)
        self.assertRegex(plain, r"(\d+) of the \1 predicted nodes ran; 0 unexplained")
        for word in INTERNAL_WORDS[:4] + ("FULL_TRACE",):
            self.assertNotIn(word, plain)
        report.internals.value = True
        shown = report.text.value
        for word in ("_SOURCE", "_retval_cost_0_0", "_arg_input_0_0", "_arg_labels_0_1", "FULL_TRACE", "Grappler"):
            self.assertIn(word, shown)
        self.assertNotIn("of the 83 predicted nodes ran;", shown)  # the plain summary gives way to the full one

    def test_each_line_names_the_nodes_found_here(self):
        batch = small_batch()
        report = deps.Report("linear", ["optimizer", "cost"], None, lambda: batch)
        graph, _, init_op = model.build_graph("linear", "random_normal", posts.settings("linear", "random_normal")
                                              .learning_rate, 0)
        expected = reading.expected_prediction(graph, ["optimizer", "cost"])
        runs = expected["runs"]
        with tf.compat.v1.Session(graph=graph, config=sessions.config(rewrites=False)) as session:
            session.run(init_op)
            kernels = reading.traced_kernels(session, ["optimizer", "cost:0"],
                                             {"input:0": batch.images, "labels:0": batch.labels})
        verified = reading.expected_verification(graph, runs, kernels, {})
        for internals in (False, True):
            report.internals.value = internals
            lines = _text(report.text.value)
            said = reading.prediction_report(lines)
            for key in ("required", "not_fed", "unused", "fed", "will_run", "rows", "partly", "not_run"):
                self.assertEqual(said[key], expected[key], (internals, key))
            said = reading.verification_report(lines)
            if internals:
                for key in ("own", "accounted", "feeds", "runtime", "kernels", "unexplained"):
                    self.assertEqual(said[key], verified[key], key)
                self.assertNotIn("plain", said)
            else:  # in a learner's words: how many ran, none of the executor's own nodes
                self.assertEqual(said["plain"], (len(runs), len(runs), 0, False))
                self.assertEqual((said["feeds"], said["runtime"]), ({}, {}))
                self.assertNotIn("own", said)

    def test_the_command_lines_printer_keeps_everything(self):
        say = deps.printer(internals=True)
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            say("idea")
            say("internal", deps.INTERNALS)
            say("plain", deps.PLAIN)
        lines = out.getvalue().splitlines()
        self.assertEqual(lines, ["idea", "internal"])


class MicroscopeTest(tf.test.TestCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        test = loader.load_mnist().test
        cls.batch = loader.DataSet(test.images[:20], test.labels[:20])
        cls.scope = microscope.Microscope(cls.batch)

    def setUp(self):
        super().setUp()
        self.scope.scheme.value = "variance_scaling"
        self.scope.scale.value = 1.0

    def _own_look(self, scheme):
        """Each layer's row as the table should print it, and the first cost, computed here: the
        scheme's own initial weights (//:run's, same seed), one forward pass in a graph of its own,
        numpy for the spreads, and He's and Xavier's rules from each weight's fan-in and fan-out."""
        graph, nodes, init_op = model.build_graph("conv4", scheme, posts.settings("conv4", scheme).learning_rate, 0)
        layers = ["layer1/layer1_conv", "layer2/layer2_conv", "layer3/layer3_conv", "layer4/layer4_conv",
                  "layer5/layer5_linear"]
        inputs = ["input", "layer1/layer1_out", "pool1/pool1", "layer3/layer3_out", "flatten"]
        variables = {v.op.name: v for v in graph.get_collection(tf.compat.v1.GraphKeys.GLOBAL_VARIABLES)}
        weights = [variables["{}/{}_weights".format(*[n.split("/")[0]] * 2)] for n in layers]
        with tf.compat.v1.Session(graph=graph) as session:
            session.run(init_op)
            pres, xs, ws, logits = session.run(
                [[graph.get_tensor_by_name(n + ":0") for n in layers], [graph.get_tensor_by_name(n + ":0")
                                                                        for n in inputs], weights, nodes.logits],
                {nodes.input: self.batch.images.reshape(-1, 28, 28, 1)})
        rows, previous = {}, None
        for name, pre, x, w in zip(layers, pres, xs, ws):
            fan_in = int(np.prod(w.shape[:-1]))
            fan_out = int(np.prod(w.shape[:-2])) * w.shape[-1]
            var_w = np.var(w, dtype=np.float64)
            he = xavier = math.sqrt(fan_in * var_w * np.mean(np.square(x, dtype=np.float64)))
            if previous is not None:  # after a ReLU: He halves the previous spread's square, Xavier does not
                he, xavier = math.sqrt(fan_in * var_w * previous ** 2 / 2), math.sqrt(fan_in * var_w * previous ** 2)
            previous = np.std(pre, dtype=np.float64)
            rows[name.split("/")[1]] = (fan_in, previous, he, xavier, math.sqrt(var_w), math.sqrt(2 / fan_in),
                                        math.sqrt(2 / (fan_in + fan_out)))
        logits = logits.astype(np.float64)
        cost = np.mean(np.log(np.sum(np.exp(logits - logits.max(1, keepdims=True)), 1)) + logits.max(1) -
                       np.sum(self.batch.labels * logits, 1))
        return rows, cost

    @staticmethod
    def _table(value):
        """The table -> {layer: (fan-in, std(out), He says, Xavier, std(w), He's w, Xavier's w)}."""
        lines = _text(value)
        assert lines[0].split() == ["layer", "fan-in", "std(out)", "He", "says", "Xavier", "|", "std(w)", "He's",
                                    "w", "Xavier's", "w"], lines[0]
        rows = {}
        for line in lines[1:]:
            words = line.split()
            if len(words) != 9 or words[5] != "|":
                break
            rows[words[0]] = tuple(float(w) for w in words[1:5] + words[6:])
        return rows

    @staticmethod
    def _verdict(value):
        """The verdict line -> (kind, the growth per layer it prints, the first cost it prints)."""
        text = html.unescape(value.split("<br>", 1)[1])
        words, cost = text.rsplit("; first cost on this batch: ", 1)
        kind, rest = words.split(": ", 1)
        gain = rest.split(" times ")[0].split()[-1] if " times " in rest else rest.split(" per layer")[0].split("x")[-1]
        return kind, float(gain), float(cost)

    def test_table_and_verdict_against_the_spreads_computed_here(self):
        for scheme in ("variance_scaling", "random_normal", "small", "xavier"):
            with self.subTest(scheme=scheme):
                self.scope.scheme.value = scheme
                rows, cost = self._own_look(scheme)
                table = self._table(self.scope.table.value)
                self.assertEqual(list(table), list(rows))
                for name, row in rows.items():  # printed to 3 significant digits
                    self.assertAllClose(table[name], row, rtol=6e-3, atol=0, msg=name)
                # The verdict: LTFN 6's three cases, from how much the four ReLU layers' spread grows per layer.
                stds = [row[1] for row in rows.values()][:4]
                gain = (stds[3] / stds[0]) ** (1 / 3)
                kind = "EXPLODING" if gain > 2 else "VANISHING" if gain < 0.5 else "ABOUT RIGHT"
                self.assertEqual(self._verdict(self.scope.verdict.value)[0], kind)
                self.assertAllClose(self._verdict(self.scope.verdict.value)[1:], (gain, cost), rtol=6e-3, atol=0)
        # The weights' own spread beside each rule's choice: Xavier's (Glorot uniform) weights have Xavier's
        # spread; variance scaling gives He's to the ReLU layers and Xavier's to the final one.
        for name, row in self._table(self.scope.table.value).items():
            self.assertAllClose(row[4], row[6], rtol=0.05, msg=name)
        self.scope.scheme.value = "variance_scaling"
        table = self._table(self.scope.table.value)
        for name, row in table.items():
            self.assertAllClose(row[4], row[6] if name == "layer5_linear" else row[5], rtol=0.05, msg=name)

    def test_verdict_thresholds(self):
        # 2 and 1/2 per layer: the edges of "about right" (labs/microscope.verdict).
        for growth, kind in ((2.05, "exploding"), (1.95, "about right"), (0.51, "about right"), (0.49, "vanishing")):
            with self.subTest(growth=growth):
                said, gain = microscope.verdict([growth ** i for i in range(4)])
                self.assertEqual(said, kind)
                self.assertAllClose(gain, growth)
        self.assertEqual(microscope.verdict([0.0] * 4)[0], "all zero")
        self.assertEqual(microscope.verdict([1.0, 1.0, 1.0, 0.0])[0], "vanishing")
        self.assertEqual(microscope.verdict([1.0, 2.0, 3.0, 4.0], float("inf"))[0], "overflowed")

    def test_two_clicks_show_the_posts_three_cases(self):
        s = self.scope
        self.assertIn("ABOUT RIGHT", s.verdict.value)
        right = bytes(s.picture.value)
        self.assertTrue(right.startswith(b"\x89PNG"))
        s.scheme.value = "random_normal"
        self.assertIn("EXPLODING", s.verdict.value)
        self.assertNotEqual(bytes(s.picture.value), right)
        self.assertGreater(s.look.layers[3].std, 1000 * s.look.layers[0].std)
        s.scheme.value = "small"
        self.assertIn("VANISHING", s.verdict.value)
        self.assertAlmostEqual(s.look.cost, math.log(10), places=3)  # LTFN 6: cost ln 10 = 2.3026
        self.assertLess(s.look.layers[3].std, s.look.layers[0].std / 100)

    def test_spreads_are_those_of_the_schemes_own_weights(self):
        # The layer-1 spread, computed here from //:run's own initial weights for the same seed.
        graph, nodes, init_op = model.build_graph("conv4", "random_normal", 1e-6, 0)
        with tf.compat.v1.Session(graph=graph) as session:
            session.run(init_op)
            layer1 = session.run(nodes.pre_activations[0], {nodes.input: self.batch.images.reshape(-1, 28, 28, 1)})
        self.scope.scheme.value = "random_normal"
        self.assertAllClose(self.scope.look.layers[0].std, np.std(layer1, dtype=np.float64), rtol=1e-4)
        table = self.scope.table.value
        self.assertIn("layer1_conv", table)
        self.assertIn("layer5_linear", table)
        # He's rule, on He's weights, is near what was measured (pooling aside: layers 2 and 4).
        self.scope.scheme.value = "variance_scaling"
        for i in (1, 3):
            layer = self.scope.look.layers[i]
            self.assertAllClose(layer.he, layer.std, rtol=0.25)

    def test_the_scale_slider_multiplies_every_weight(self):
        s = self.scope
        base = [l.w_std for l in s.look.layers]
        s.scale.value = 0.01
        self.assertIn("VANISHING", s.verdict.value)
        self.assertAllClose([l.w_std for l in s.look.layers], [b * 0.01 for b in base], rtol=1e-4)
        s.scale.value = 10.0
        self.assertIn("EXPLODING", s.verdict.value)

    def _drawn(self):
        """The microscope redrawn (the scale set back to 1, then to itself); returns the Figure its picture was saved
        from (histogram_png's), to read the panels back."""
        from matplotlib import figure as figures

        drawn = []

        class Recorded(figures.Figure):
            def __init__(self, *args, **kwargs):
                super().__init__(*args, **kwargs)
                drawn.append(self)
        with mock.patch.object(figures, "Figure", Recorded):
            self.scope.redraw()
        figure, = drawn
        return figure

    def test_the_title_says_the_weights_loaded(self):
        s = self.scope
        pattern = r"(?:N\(0, ([0-9.e+-]+)\^2\)|(\w+))(?: x ([0-9.e+-]+))? at step 0"
        for scheme, stddev, scale in (("variance_scaling", 0.1, 1.0), ("xavier", 0.1, 0.02), ("custom", 0.5, 1.0),
                                      ("custom", 3.0, 0.1)):
            with self.subTest(scheme=scheme, stddev=stddev, scale=scale):
                s.scale.value = 1.0
                s.scheme.value, s.stddev.value = scheme, stddev
                base = s.look.layers[0].w_std
                s.scale.value = scale
                title = html.unescape(s.verdict.value.split("<b>", 1)[1].split("</b>", 1)[0])
                said_stddev, said_scheme, said_scale = re.fullmatch(pattern, title).groups()
                self.assertEqual(said_scheme, None if scheme == "custom" else scheme)
                # The numbers the title states are the loaded weights' own: their spread, and its ratio to scale 1's.
                self.assertAllClose(float(said_scale or 1), s.look.layers[0].w_std / base, rtol=1e-3)
                if scheme == "custom":
                    self.assertAllClose(float(said_stddev), base, rtol=0.1)  # 576 weights: within 10 %
                self.assertEqual(self._drawn()._suptitle.get_text(), title)

    def test_each_histogram_is_titled_with_the_array_it_counts(self):
        graph, nodes, init_op = model.build_graph("conv4", "variance_scaling", 0.001, 0)
        with tf.compat.v1.Session(graph=graph) as session:
            session.run(init_op)
            logits, predictions = session.run([nodes.logits, nodes.predictions],
                                              {nodes.input: self.batch.images.reshape(-1, 28, 28, 1)})
        panels = {ax.get_title(): ax.patches[0].get_data() for ax in self._drawn().axes}
        self.assertEqual(list(panels), ["layer1_conv", "layer2_conv", "layer3_conv", "layer4_conv", "logits",
                                        "predictions"])
        self.assertAllClose(panels["logits"].edges[[0, -1]], [logits.min(), logits.max()], rtol=1e-4)
        self.assertEqual(panels["logits"].values.sum(), logits.size)
        # predictions on 0..1, every one of them counted
        self.assertAllEqual(panels["predictions"].edges[[0, -1]], [0.0, 1.0])
        self.assertAllEqual(panels["predictions"].values, np.histogram(predictions, bins=50, range=(0, 1))[0])
        for name in panels:
            if name.endswith("_conv"):
                pre = graph.get_tensor_by_name("{0}/{0}_conv:0".format(name.split("_")[0]))
                with tf.compat.v1.Session(graph=graph) as session:
                    session.run(init_op)
                    array = session.run(pre, {nodes.input: self.batch.images.reshape(-1, 28, 28, 1)})
                counted = array.ravel()[:microscope.HISTOGRAM_VALUES]  # the first 2^19 values tell the shape
                self.assertEqual(panels[name].values.sum(), counted.size, name)
                self.assertAllClose(panels[name].edges[[0, -1]], [counted.min(), counted.max()], rtol=1e-4, atol=1e-5)

    def test_a_panel_with_values_past_float32_says_how_many_it_left_out(self):
        s = self.scope
        s.scheme.value = "custom"
        s.stddev.value = 1e4
        s.scale.value = 1000.0
        self.assertIn("OVERFLOWED", s.verdict.value)
        said = {}
        for ax in self._drawn().axes:
            name, _, rest = ax.get_title().partition(" (")
            said[name] = int(rest.split(" not finite)")[0]) if rest else 0
        for name, value in s.look.values.items():
            flat = np.asarray(value).ravel()[:microscope.HISTOGRAM_VALUES]
            self.assertEqual(said[name], int(np.sum(~np.isfinite(flat))), name)
        self.assertGreater(sum(said.values()), 0)

    def test_custom_stddev_including_odd_values(self):
        s = self.scope
        self.assertTrue(s.stddev.disabled)
        s.scheme.value = "custom"
        self.assertFalse(s.stddev.disabled)
        s.stddev.value = 0.0
        self.assertIn("ALL ZERO", s.verdict.value)
        self.assertAllClose(s.look.cost, math.log(10), rtol=1e-5)
        s.stddev.value = 100.0
        self.assertIn("EXPLODING", s.verdict.value)
        self.assertAllClose(s.look.layers[0].w_std, 100.0, rtol=0.05)
        s.stddev.value = 1e4
        s.scale.value = 1000.0
        self.assertIn("OVERFLOWED", s.verdict.value)
        self.assertTrue(bytes(s.picture.value).startswith(b"\x89PNG"))  # drawn from the finite values
        s.stddev.value = -5.0  # the field's own bound
        self.assertEqual(s.stddev.value, 0.0)
        s.scheme.value = "xavier"
        s.stddev.value = 3.0  # ignored unless the scheme is custom
        self.assertIn("xavier", s.verdict.value)


class QuestionsTest(tf.test.TestCase):
    """Each question's answer against the same call made by hand."""

    def test_at_least_six_questions_each_with_one_answer_from_its_run(self):
        self.assertGreaterEqual(len(questions.QUESTIONS), 6)
        for q in questions.QUESTIONS:
            outcome = q.run()
            self.assertLen(questions.answer(q, outcome), 1, (q.name, outcome.facts))
            self.assertNotEmpty(outcome.evidence)

    def test_the_stand_in_test_batch_is_100_images_in_mnists_range(self):
        # LTFN 2's batch of 100; pixels in [0, 1] as MNIST's; one-hot labels; seeded.
        images, labels = questions._test_batch()
        self.assertEqual((images.shape, labels.shape), ((100, 784), (100, 10)))
        self.assertTrue(0.0 <= images.min() < 0.01 and 0.99 < images.max() <= 1.0, (images.min(), images.max()))
        self.assertAllEqual(labels.sum(1), np.ones(100))
        self.assertAllEqual(questions._test_batch()[0], images)

    def test_each_choice_holds_for_the_facts_its_words_describe(self):
        # What each choice's words say a run would observe (numbers read from the words themselves), and the
        # one choice that must hold for it: a choice whose condition and words disagree fails here, whatever
        # this machine's TensorFlow does.
        def numbers(text):
            return [float(n) for n in re.findall(r"\d+(?:\.\d+)?", text.split(":")[0])]
        labels_error = "InvalidArgumentError: You must feed a value for placeholder tensor 'labels'"
        described = {
            "logits": [{"error": labels_error, "cost_ran": False, "optimizer_ran": False, "weights_ran": True},
                       {"error": None, "cost_ran": False, "optimizer_ran": False, "weights_ran": True},
                       {"error": None, "cost_ran": True, "optimizer_ran": True, "weights_ran": True}],
            "cost": [{"error": "", "value": 2.5}, {"error": labels_error, "value": None}, {"error": "", "value": 0.0}],
            "test_loop": [{"changed": False, "update_ran": False}, {"changed": True, "update_ran": True}],
            "identity": [{"values": numbers(c.text), "increment_ran": None, "right_values": None}
                         for c in questions.find("identity").choices],
            "assign_and_read": [{"ordered": True, "seen": {"[1, 1]": 20}, "both_ran": True},
                                {"ordered": True, "seen": {"[1, 0]": 20}, "both_ran": True},
                                {"ordered": False, "seen": {"[1, 1]": 12, "[1, 0]": 8}, "both_ran": True}],
            "summary": [{"summary_ran": True, "fetched_ran": True}, {"summary_ran": False, "fetched_ran": True}],
            # The prompt's batch has mean 5: "About 2.5" moved halfway, "Still 0" never moved, "About 5" set to it.
            "update_ops": [{"moving_mean": number, "updates_ran": number != 0, "batch_mean": 5.0}
                           for c in questions.find("update_ops").choices for number in numbers(c.text)[:1]],
            # The third choice (an error) is never right: tf.cond takes these branches.
            "cond": [{"x_after": numbers(c.text)[0], "increment_ran": numbers(c.text)[0] == 1.0, "result": 0.0}
                     for c in questions.find("cond").choices[:2]],
        }
        self.assertIn("whose mean is 5", questions.find("update_ops").prompt)
        self.assertEqual(set(described), {q.name for q in questions.QUESTIONS})
        for name, facts in described.items():
            question = questions.find(name)
            for index, observed in enumerate(facts):
                with self.subTest(question=name, choice=question.choices[index].text):
                    self.assertEqual(questions.answer(question, questions.Outcome(observed, [], "")), [index])

    def _evidence(self, name):
        """The question's evidence lines, as the card shows them once checked."""
        card = questions.Card(questions.find(name), 1)
        card.choices.value = card.question.choices[0].text
        card.check.click()
        return _text(card.result.value.split("<pre>", 1)[1].split("</pre>", 1)[0])

    @staticmethod
    def _walk(graph, fetch, fed=()):
        return reading.needed(graph, [fetch], fed)[0]

    @staticmethod
    def _words(ran):
        return "ran" if ran else "did NOT run"

    def test_identity_evidence(self):
        values, walks = {}, {}
        for code in (questions.identity_code, questions.identity_right):
            graph = tf.Graph()
            with graph.as_default():
                _, increment, y = code()
                init = tf.compat.v1.global_variables_initializer()
            with tf.compat.v1.Session(graph=graph) as session:
                session.run(init)
                values[code] = ", ".join("{:g}".format(session.run(y)) for _ in range(3))
            walks[code] = increment.op.name in self._walk(graph, graph.as_graph_element(y).name)
        self.assertEqual(self._evidence("identity"), [
            "session.run(y), three times: {}".format(values[questions.identity_code]),
            "the traced first call: increment {}".format(self._words(walks[questions.identity_code])),
            "with y = tf.identity(x) instead: {}".format(values[questions.identity_right])])
        self.assertTrue(walks[questions.identity_right])

    def test_assign_and_read_evidence(self):
        graph = tf.Graph()
        with graph.as_default():
            x, increment = questions.assign_and_read_code()
        read = graph.as_graph_element(x).op.name
        path = (increment.op.name in self._walk(graph, read) or read in self._walk(graph, increment.op.name))
        runs, path_line, traced = self._evidence("assign_and_read")
        counts = {}
        for item in reading.after(runs, "{} fresh runs of session.run([increment, x]) returned: ".format(
                questions.REPEATS)).split(" times), "):
            pair, times = item.rstrip(" times)").split(" (")
            counts[pair] = int(times)
        self.assertEqual(sum(counts.values()), questions.REPEATS)
        self.assertLessEqual(set(counts), {"[1, 1]", "[1, 0]"})  # increment returns 1; x is read before or after
        self.assertEqual(path_line, "a path between the read of x and increment in the graph: {}".format(
            "yes" if path else "none"))
        self.assertEqual(traced, "the traced call: increment and x's read both ran")

    def test_summary_evidence(self):
        graph = tf.Graph()
        with graph.as_default():
            optimizer = questions.summary_code()
            summary, = graph.get_collection(tf.compat.v1.GraphKeys.SUMMARIES)
        self.assertEqual(self._evidence("summary"), [
            "traced session.run(optimizer): the summary op {} {}".format(
                summary.op.name, self._words(summary.op.name in self._walk(graph, optimizer.name))),
            "traced session.run([optimizer, summary]): it ran"])

    def test_update_ops_evidence(self):
        batch = np.random.default_rng(questions.SEED).normal(5.0, 1.0, (32, 4)).astype(np.float32)
        graph = tf.Graph()
        with graph.as_default():
            input = tf.compat.v1.placeholder(tf.float32, (None, 4), name="input")
            optimizer = questions.update_ops_code(input)
            updates = [op.name for op in graph.get_collection(tf.compat.v1.GraphKeys.UPDATE_OPS)]
        ran = any(u in self._walk(graph, optimizer.name, ["input"]) for u in updates)
        # The moving mean starts at 0; momentum 0.5 moves it halfway to the batch's mean when the update runs.
        self.assertEqual(self._evidence("update_ops"), [
            "moving_mean after the step: {:.4g} (the batch's mean: {:.4g})".format(
                batch.mean() / 2 if ran else 0.0, batch.mean()),
            "the {} ops in UPDATE_OPS: {} (traced)".format(len(updates), self._words(ran)),
            "with the optimizer under control_dependencies(UPDATE_OPS): they ran, moving_mean {:.4g}".format(
                batch.mean() / 2)])

    def test_cond_evidence(self):
        graph = tf.Graph()
        with graph.as_default():
            x, take, increment, result = questions.cond_code()
            init = tf.compat.v1.global_variables_initializer()
        with tf.compat.v1.Session(graph=graph) as session:
            session.run(init)
            value = session.run(result, {take: False})
            after = session.run(x)
        ran = increment.op.name in self._walk(graph, result.name, ["take"])
        self.assertEqual(self._evidence("cond"), [
            "session.run(result, {{take: False}}) returned {:g}; x afterwards: {:g}".format(value, after),
            "increment {} (traced), though the false branch was taken".format(self._words(ran))])

    def test_test_loop_evidence(self):
        graph, nodes, init = model.build_graph("linear", "random_normal", 0.5, questions.SEED)
        images, labels = questions._test_batch()
        weights = graph.get_collection(tf.compat.v1.GraphKeys.TRAINABLE_VARIABLES)

        def checksum(session):
            digest = hashlib.sha256()
            for value in session.run(weights):
                digest.update(np.ascontiguousarray(value).tobytes())
            return digest.hexdigest()[:16]
        with tf.compat.v1.Session(graph=graph) as session:
            session.run(init)
            before = checksum(session)
            questions.test_loop_code(nodes, session, images, labels)
            after = checksum(session)
        updates = [op.name for op in graph.get_operations() if op.type.startswith("ResourceApply")]
        walk = self._walk(graph, "optimizer", ["input", "labels"])
        self.assertEqual(self._evidence("test_loop"), [
            "weights' checksum before: {}, after: {}".format(before, after),
            "the gradient-descent update ops ({}): {} (traced)".format(
                ", ".join(updates), self._words(all(u in walk for u in updates)))])

    def test_logits_and_cost_evidence(self):
        graph, nodes, init = model.build_graph("linear", "random_normal", 0.5, questions.SEED)
        images, _ = questions._test_batch()
        walk = self._walk(graph, "logits", ["input"])
        with tf.compat.v1.Session(graph=graph) as session:
            session.run(init)
            shape = session.run(nodes.logits, {nodes.input: images}).shape
            with self.assertRaises(tf.errors.InvalidArgumentError) as raised:
                session.run(nodes.cost, {nodes.input: images})
        self.assertEqual(self._evidence("logits"), [
            "returned: logits of shape {}".format(shape),
            "traced: layer1's weights and bias {}, cost {}, optimizer {}".format(
                self._words(any(n.startswith("layer1/") for n in walk)), self._words("cost" in walk),
                self._words("optimizer" in walk))])
        # TensorFlow's own words (after its "Graph execution error:" heading), and nothing else.
        message = next(line for line in raised.exception.message.splitlines() if "placeholder tensor" in line)
        self.assertEqual(self._evidence("cost"), ["TensorFlow: InvalidArgumentError: " + message.strip()])

    def _card_answers(self, name, right, says):
        """Checks a card: no pick refuses, a wrong pick is told the right one, the right pick is right; and the
        right choice's words begin with `says`, what the test found by hand (a choice's text and its condition
        could disagree)."""
        card = questions.Card(questions.find(name), 1)
        self.assertStartsWith(card.question.choices[right].text, says)
        card.check.click()
        self.assertIn("Pick an answer first", card.result.value)
        self.assertIsNone(card.outcome)  # nothing ran before the prediction
        wrong = (right + 1) % len(card.question.choices)
        card.choices.value = card.question.choices[wrong].text
        card.check.click()
        verdict = html.unescape(card.result.value.split("<b>", 1)[1].split("</b>", 1)[0])
        self.assertEqual(verdict, "Not this one: the run says \u201c{}\u201d.".format(card.question.choices[right].text))
        card.choices.value = card.question.choices[right].text
        self.assertEqual(card.result.value, "")  # a new pick hides the answer until checked
        card.check.click()
        self.assertIn("Right.", card.result.value)
        return card

    @staticmethod
    def _session(graph):
        return tf.compat.v1.Session(graph=graph)

    def test_identity_under_control_dependencies(self):
        graph = tf.Graph()
        with graph.as_default():
            _, _, y = questions.identity_code()
            init = tf.compat.v1.global_variables_initializer()
        with self._session(graph) as session:
            session.run(init)
            by_hand = [float(session.run(y)) for _ in range(3)]
        self.assertEqual(by_hand, [0.0, 0.0, 0.0])
        card = self._card_answers("identity", 1, "{:g}, {:g}, {:g}: ".format(*by_hand))
        self.assertIn("increment did NOT run", card.result.value)

    def test_assign_and_its_variable(self):
        graph = tf.Graph()
        with graph.as_default():
            x, increment = questions.assign_and_read_code()
        # By hand: nothing in the graph orders the read of x after the increment.
        read = graph.as_graph_element(x).op
        self.assertNotIn(increment.op, read.control_inputs)
        self.assertNotIn(increment.op, [t.op for t in read.inputs])
        self._card_answers("assign_and_read", 2, "Either: ")

    def test_summary_never_fetched(self):
        graph = tf.Graph()
        with graph.as_default():
            optimizer = questions.summary_code()
            summary, = graph.get_collection(tf.compat.v1.GraphKeys.SUMMARIES)
        sub = tf.compat.v1.graph_util.extract_sub_graph(graph.as_graph_def(), [optimizer.name])
        self.assertNotIn(summary.op.name, [n.name for n in sub.node])
        self._card_answers("summary", 1, "No: ")

    def test_update_ops(self):
        card = self._card_answers("update_ops", 1, "Still 0: ")
        self.assertEqual(card.outcome.facts["moving_mean"], 0.0)
        self.assertAllClose(card.outcome.facts["right_moving_mean"], card.outcome.facts["batch_mean"] / 2, rtol=0.01)

    def test_cond_with_an_op_made_outside(self):
        graph = tf.Graph()
        with graph.as_default():
            x, take, _, result = questions.cond_code()
            init = tf.compat.v1.global_variables_initializer()
        with self._session(graph) as session:
            session.run(init)
            session.run(result, {take: False})
            after = float(session.run(x))
        self.assertEqual(after, 1.0)
        self._card_answers("cond", 1, "{:g}: ".format(after))

    def test_test_loop_trains(self):
        graph, nodes, init = model.build_graph("linear", "random_normal", 0.5)
        batch = small_batch(50)
        with self._session(graph) as session:
            session.run(init)
            weights = graph.get_collection(tf.compat.v1.GraphKeys.TRAINABLE_VARIABLES)
            before = session.run(weights)
            questions.test_loop_code(nodes, session, batch.images, batch.labels)
            self.assertFalse(np.array_equal(session.run(weights)[0], before[0]))
        self._card_answers("test_loop", 1, "Yes: ")

    def test_logits_and_cost_without_labels(self):
        graph, nodes, init = model.build_graph("linear", "random_normal", 0.01)
        batch = small_batch()
        with self._session(graph) as session:
            session.run(init)
            self.assertEqual(questions.logits_code(nodes, session, batch.images).shape, (8, 10))
            with self.assertRaisesRegex(tf.errors.InvalidArgumentError, "placeholder tensor 'labels'"):
                questions.cost_code(nodes, session, batch.images)
        self._card_answers("logits", 1, "It returns logits; the weights run, cost and optimizer do not")
        self._card_answers("cost", 1, "An error: You must feed a value for placeholder tensor 'labels'")


class BoardTest(tf.test.TestCase):
    """labs/board (LTFN 2's TensorBoard cell): what it writes, read back from the event file, and the servers
    it stops."""

    @staticmethod
    def _runs(logdir):
        """({tag: {traced node: its outputs' shapes}}, [GraphDef]) of the event files in `logdir`."""
        runs, graphs = {}, []
        for name in os.listdir(logdir):
            for event in tf.compat.v1.train.summary_iterator(os.path.join(logdir, name)):
                if event.HasField("tagged_run_metadata"):
                    metadata = tf.compat.v1.RunMetadata.FromString(event.tagged_run_metadata.run_metadata)
                    runs[event.tagged_run_metadata.tag] = {
                        stats.node_name: [[d.size for d in out.tensor_description.shape.dim] for out in stats.output]
                        for device in metadata.step_stats.dev_stats for stats in device.node_stats}
                elif event.HasField("graph_def"):
                    graphs.append(tf.compat.v1.GraphDef.FromString(event.graph_def))
        return runs, graphs

    def test_one_training_step_and_one_test_step_under_their_tags(self):
        graph, nodes, init_op = model.build_graph("linear", "random_normal", 0.5)
        weights = graph.get_collection(tf.compat.v1.GraphKeys.TRAINABLE_VARIABLES)
        train, test = small_batch(12, seed=1), small_batch(7, seed=2)
        logdir = os.path.join(self.create_tempdir().full_path, "board")
        os.makedirs(logdir)
        stale = os.path.join(logdir, "events.out.tfevents.0.stale")
        with open(stale, "w") as f:
            f.write("an older run's file")
        with tf.compat.v1.Session(graph=graph) as session:
            session.run(init_op)
            w, b = sorted(session.run(weights), key=np.ndim, reverse=True)
            with mock.patch.object(board, "stop_with_kernel") as stop:
                self.assertEqual(board.traced_steps(session, nodes, train, test, logdir, (784,), batch_size=5), logdir)
            moved = sorted(session.run(weights), key=np.ndim, reverse=True)
            # The lesson's call: batches of 100 (its default), into a folder that does not exist yet.
            fresh = os.path.join(self.create_tempdir().full_path, "new", "board")
            with mock.patch.object(board, "stop_with_kernel"):
                board.traced_steps(session, nodes, small_batch(100), small_batch(120), fresh, (784,))
            self.assertEqual(self._runs(fresh)[0]["test_step"]["_arg_input_0_0"], [[100, 784]])
        # By hand: one step of gradient descent at 0.5 on the mean cross-entropy of the first 5 training images.
        x, y = train.images[:5].astype(np.float64), train.labels[:5]
        logits = x @ w + b
        softmax = np.exp(logits - logits.max(1, keepdims=True))
        softmax /= softmax.sum(1, keepdims=True)
        error = (softmax - y) / len(x)
        self.assertAllClose(moved, [w - 0.5 * x.T @ error, b - 0.5 * error.sum(0)], rtol=1e-4, atol=1e-5)
        stop.assert_called_once_with()
        self.assertFalse(os.path.exists(stale))  # the folder was emptied first
        runs, graphs = self._runs(logdir)
        self.assertEqual(set(runs), {board.TRAIN_TAG, board.TEST_TAG})
        self.assertEqual((board.TRAIN_TAG, board.TEST_TAG), ("train_step", "test_step"))
        self.assertLen(graphs, 1)
        self.assertEqual({n.name for n in graphs[0].node}, {op.name for op in graph.get_operations()})
        # The training step ran the optimizer's updates and the cost; the test step neither, nor any labels.
        updates = {op.name for op in graph.get_operations() if op.type.startswith("ResourceApply")}
        self.assertNotEmpty(updates)
        self.assertLessEqual(updates, set(runs["train_step"]))
        self.assertTrue(any(reading.scope(n) == "cost" for n in runs["train_step"]))
        self.assertEqual({n for n in runs["test_step"] if reading.scope(n) in ("cost", "gradients", "labels")}
                         | (updates & set(runs["test_step"])), set())
        self.assertFalse(any("labels" in n for n in runs["test_step"]))
        # Batches of 5: the training images fed, and the first 5 test images.
        fed = [shape for node, shapes in runs["test_step"].items() if node.startswith("_arg_input")
               for shape in shapes]
        self.assertEqual(fed, [[5, 784]])

    def test_stop_children_stops_this_processs_tensorboards_only(self):
        Info = collections.namedtuple("Info", ["pid"])
        child = subprocess.Popen(["sleep", "60"])
        # A TensorBoard this process did not start: its parent is the shell.
        shell = subprocess.Popen(["sh", "-c", "sleep 60 & echo $!; wait"], stdout=subprocess.PIPE, text=True)
        grandchild = int(shell.stdout.readline())
        try:
            infos = [Info(2 ** 22 + 1), Info(grandchild), Info(child.pid)]  # the first: no such process
            with mock.patch("tensorboard.manager.get_all", return_value=infos):
                self.assertEqual(board._children_tensorboards(), [child.pid])
                board.stop_children()
            self.assertEqual(child.wait(timeout=60), -signal.SIGTERM)
            self.assertTrue(os.path.exists("/proc/{}".format(grandchild)))
            # One that stopped on its own in between is no error.
            with mock.patch.object(board, "_children_tensorboards", return_value=[child.pid]):
                board.stop_children()
        finally:
            if child.poll() is None:
                child.kill()
            os.kill(grandchild, signal.SIGTERM)
            shell.wait(timeout=60)
            shell.stdout.close()

    def test_stop_with_kernel_registers_once(self):
        with mock.patch.object(board, "_registered", []), mock.patch("atexit.register") as register:
            board.stop_with_kernel()
            board.stop_with_kernel()
        register.assert_called_once_with(board.stop_children)


class DisplayTest(tf.test.TestCase):
    """labs/display: a widget's stand-in on a page rendered without a kernel, read back part by part."""

    STATIC = re.compile(r"<div class='ltfn-static'><p><b>(.*)</b> \(interactive in the live lesson\)</p>(.*)"
                        r"<p><i>(.*)</i></p></div>", re.S)

    def test_the_stand_in_shows_the_title_the_picture_and_where_the_live_widget_is(self):
        import ipywidgets as widgets

        widget = widgets.HTML("live")
        png = b"\x89PNG\r\n\x1a\n and some bytes"
        picture = display.png_img(png)
        title = "Fetch <logits> & cost"
        shown = []
        with mock.patch("IPython.display.display", lambda data, raw: shown.append((data, raw))):
            display.show(widget, picture, title)
        (data, raw), = shown
        self.assertTrue(raw)
        self.assertEqual(data, display.bundle(widget, picture, title))
        self.assertEqual(data[display.WIDGET_VIEW]["model_id"], widget.model_id)  # the live widget itself
        said_title, said_picture, note = self.STATIC.fullmatch(data["text/html"]).groups()
        self.assertEqual(html.unescape(said_title), title)
        self.assertNotIn("<logits>", said_title)  # escaped: shown as text, not taken for a tag
        self.assertEqual(said_picture, picture)
        encoded = re.fullmatch(r"<img src='data:image/png;base64,([A-Za-z0-9+/=]+)'/>", said_picture).group(1)
        self.assertEqual(base64.b64decode(encoded), png)
        self.assertEqual(note, display.NOTE)
        self.assertIn("open the lesson with <code>bazel run //:lessons</code>", note)
        self.assertEqual(data["text/plain"], title + " (interactive: open the lesson with bazel run //:lessons)")


if __name__ == "__main__":
    tf.test.main()
