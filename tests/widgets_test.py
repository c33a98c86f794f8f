"""The lessons' widgets, driven without a browser (issue 20): every control's handler is called as a
click or a change would call it, and what the widgets then show is read back and checked by value.

labs/explorer (the session.run explorer), labs/deps (//:deps' report with its internals
toggle), labs/microscope (LTFN 6's initialization microscope), labs/questions (predict, then check:
each answer is compared with the same session.run made by hand here).
"""

import contextlib
import io
import math
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from data import loader  # noqa: E402
from graphs import model  # noqa: E402
from labs import deps  # noqa: E402
from labs import explorer  # noqa: E402
from labs import microscope  # noqa: E402
from labs import questions  # noqa: E402

tf.compat.v1.disable_eager_execution()

INTERNAL_WORDS = ("_SOURCE", "_retval", "_arg_input_0_0", "_MklMatMul", "FULL_TRACE", "Grappler")


def small_batch(n=8, seed=0):
    """Images in MNIST's shape and range, one-hot labels: what runs does not depend on the pixels."""
    rng = np.random.default_rng(seed)
    return loader.DataSet(rng.uniform(0, 1, (n, 784)).astype(np.float32),
                          np.eye(10, dtype=np.float32)[rng.integers(0, 10, n)])


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
        short = len(e.fetches.options)
        e.all_nodes.value = True
        self.assertEqual(len(e.fetches.options), len(e.graph.get_operations()))
        self.assertIn("gradients/layer1/MatMul_grad/MatMul", e.fetches.options)
        self.assertEqual(e.fetches.value, ("cost", "accuracy"))
        e.all_nodes.value = False
        self.assertEqual(len(e.fetches.options), short)

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

    def _card_answers(self, name, right):
        """Checks a card: no pick refuses, a wrong pick is told the right one, the right pick is right."""
        card = questions.Card(questions.find(name), 1)
        card.check.click()
        self.assertIn("Pick an answer first", card.result.value)
        self.assertIsNone(card.outcome)  # nothing ran before the prediction
        wrong = (right + 1) % len(card.question.choices)
        card.choices.value = card.question.choices[wrong].text
        card.check.click()
        self.assertIn("Not this one", card.result.value)
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
        card = self._card_answers("identity", 1)
        self.assertIn("increment did NOT run", card.result.value)

    def test_assign_and_its_variable(self):
        graph = tf.Graph()
        with graph.as_default():
            x, increment = questions.assign_and_read_code()
        # By hand: nothing in the graph orders the read of x after the increment.
        read = graph.as_graph_element(x).op
        self.assertNotIn(increment.op, read.control_inputs)
        self.assertNotIn(increment.op, [t.op for t in read.inputs])
        self._card_answers("assign_and_read", 2)

    def test_summary_never_fetched(self):
        graph = tf.Graph()
        with graph.as_default():
            optimizer = questions.summary_code()
            summary, = graph.get_collection(tf.compat.v1.GraphKeys.SUMMARIES)
        sub = tf.compat.v1.graph_util.extract_sub_graph(graph.as_graph_def(), [optimizer.name])
        self.assertNotIn(summary.op.name, [n.name for n in sub.node])
        self._card_answers("summary", 1)

    def test_update_ops(self):
        card = self._card_answers("update_ops", 1)
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
            self.assertEqual(float(session.run(x)), 1.0)
        self._card_answers("cond", 1)

    def test_test_loop_trains(self):
        graph, nodes, init = model.build_graph("linear", "random_normal", 0.5)
        batch = small_batch(50)
        with self._session(graph) as session:
            session.run(init)
            weights = graph.get_collection(tf.compat.v1.GraphKeys.TRAINABLE_VARIABLES)
            before = session.run(weights)
            questions.test_loop_code(nodes, session, batch.images, batch.labels)
            self.assertFalse(np.array_equal(session.run(weights)[0], before[0]))
        self._card_answers("test_loop", 1)

    def test_logits_and_cost_without_labels(self):
        graph, nodes, init = model.build_graph("linear", "random_normal", 0.01)
        batch = small_batch()
        with self._session(graph) as session:
            session.run(init)
            self.assertEqual(questions.logits_code(nodes, session, batch.images).shape, (8, 10))
            with self.assertRaisesRegex(tf.errors.InvalidArgumentError, "placeholder tensor 'labels'"):
                questions.cost_code(nodes, session, batch.images)
        self._card_answers("logits", 1)
        self._card_answers("cost", 1)


if __name__ == "__main__":
    tf.test.main()
