"""labs/deps.py (LTFN 2): what session.run executes, proved by a traced run; shapes; the DOT picture.

Random batches stand in for MNIST: what runs does not depend on the pixels.
"""

import collections
import contextlib
import io
import os
import re
import shutil
import subprocess
from unittest import mock

import numpy as np
import tensorflow as tf

from data import loader
from labs import deps
from graphs import model
from graphs import posts
from machine import sessions
from tests import reading
from tests import testing

tf.compat.v1.disable_eager_execution()

NETS = sorted(model.NETS)
FETCHES = ("logits", "cost", "optimizer")


def _batch(net, n=4, seed=0):
    rng = np.random.default_rng(seed)
    size = int(np.prod(model.NETS[net].INPUT_SHAPE))
    images = rng.random((n, size), dtype=np.float32)
    labels = np.eye(10, dtype=np.float32)[rng.integers(0, 10, n)]
    return loader.DataSet(images, labels)


def _setup(net, fetch, feeds=None):
    graph, nodes, init_op = model.build_graph(net, "xavier", 0.01, seed=0)
    fetches = deps.resolve_fetches(graph, fetch.split(","))
    feed_tensors = deps.resolve_feeds(graph, feeds) if feeds is not None else None
    prediction = deps.predict(graph, fetches, feed_tensors)
    if feed_tensors is None:
        feed_tensors = [graph.get_tensor_by_name(n + ":0") for n in prediction.required]
    return graph, nodes, init_op, fetches, feed_tensors, prediction


def _scopes(names):
    return {deps.scope_of(n) for n in names}


class PredictionTest(tf.test.TestCase):
    """LTFN 2: logits needs only input; cost needs labels too; optimizer runs the gradients."""

    def test_logits_needs_only_input(self):
        for net in NETS:
            with self.subTest(net=net):
                graph, _, _, _, _, p = _setup(net, "logits")
                self.assertEqual(p.required, ["input"])
                self.assertEqual(p.fed, {"input"})
                self.assertEqual(p.unfed, [])
                # What runs is TensorFlow's extract_sub_graph minus the fed placeholder.
                self.assertEqual(p.runs, p.sub_graph - {"input"})
                for name in p.runs:
                    self.assertNotIn(deps.scope_of(name), ("gradients", "cost", "optimizer", "labels",
                                                           "accuracy", "predictions", "init"), name)
                self.assertIn("logits", p.runs)

    def test_cost_needs_input_and_labels_but_no_gradients(self):
        for net in NETS:
            with self.subTest(net=net):
                _, _, _, _, _, p = _setup(net, "cost")
                self.assertEqual(p.required, ["input", "labels"])
                self.assertIn("cost", p.runs)
                self.assertIn("cost/softmax_cross_entropy_with_logits", p.runs)
                self.assertFalse(_scopes(p.runs) & {"gradients", "optimizer", "accuracy"})

    def test_optimizer_runs_gradients_and_every_variable_update(self):
        for net in NETS:
            with self.subTest(net=net):
                graph, _, _, _, _, p = _setup(net, "optimizer")
                self.assertEqual(p.required, ["input", "labels"])
                self.assertIn("gradients", _scopes(p.runs))
                with graph.as_default():
                    variables = {v.op.name for v in tf.compat.v1.trainable_variables()}
                updates = [graph.get_operation_by_name(n) for n in p.runs
                           if graph.get_operation_by_name(n).type == "ResourceApplyGradientDescent"]
                self.assertEqual({u.inputs[0].op.name for u in updates}, variables)
                self.assertNotIn("accuracy", _scopes(p.runs))

    def test_feeding_a_hidden_tensor_cuts_off_everything_upstream(self):
        graph, _, init_op, fetches, feeds, p = _setup("fc3", "predictions", ["layer2/layer2_output"])
        self.assertEqual(p.required, [])
        self.assertEqual(p.fed, {"layer2/layer2_output"})
        self.assertFalse(_scopes(p.runs) & {"input", "layer1", "layer2"})
        self.assertIn("layer3/MatMul", p.runs)
        trace = deps.traced_run(graph, init_op, fetches, feeds, _batch("fc3"))
        c = deps.compare(graph, p, trace)
        self.assertEqual((c.missing, c.extra), ([], []))
        self.assertEqual(set(c.feeds.values()), {"layer2/layer2_output"})

    def test_unknown_name_is_one_clear_error(self):
        graph, _, _ = model.build_graph("linear", "xavier", 0.01)
        with self.assertRaisesRegex(deps.DepsError, r"no node named 'cots'.*cost.*logits"):
            deps.resolve_fetches(graph, ["cots"])
        with self.assertRaisesRegex(deps.DepsError, "--feed: no node named 'lables'"):
            deps.resolve_feeds(graph, ["lables"])


class TracedRunTest(tf.test.TestCase):
    """The prediction, checked against what the executor really ran (FULL_TRACE step_stats)."""

    def test_trace_agrees_with_prediction(self):
        for net in NETS:
            for fetch in FETCHES:
                with self.subTest(net=net, fetch=fetch):
                    graph, _, init_op, fetches, feeds, p = _setup(net, fetch)
                    trace = deps.traced_run(graph, init_op, fetches, feeds, _batch(net))
                    self.assertIsNone(trace.error)
                    c = deps.compare(graph, p, trace)
                    self.assertEqual(c.missing, [])
                    self.assertEqual(c.extra, [])
                    self.assertEqual(len(c.matched) + len(c.fused), c.predicted)
                    # Each fed placeholder shows up as the runtime's _arg node, not as itself.
                    self.assertEqual(sorted(c.feeds.values()), p.required)
                    self.assertIn("_SOURCE", c.runtime)
                    # A fusion (oneDNN's Conv2D+BiasAdd) must name a node that ran as a fused kernel.
                    for name, (into, op) in c.fused.items():
                        self.assertIn(into, trace.nodes)
                        self.assertRegex(op, r"^_\w*(Fused|With)")

    def test_unfed_placeholder_raises_tensorflows_own_error(self):
        graph, _, init_op, fetches, feeds, p = _setup("linear", "cost", ["input"])
        self.assertEqual(p.unfed, ["labels"])
        self.assertEqual(p.required, ["input", "labels"])
        trace = deps.traced_run(graph, init_op, fetches, feeds, _batch("linear"))
        self.assertRegex(trace.error,
                         r"^InvalidArgumentError: You must feed a value for placeholder tensor 'labels'")
        self.assertNotIn("\n", trace.error)
        path = deps.dependency_path(p, "labels")
        self.assertEqual((path[0], path[-1]), ("cost", "labels"))
        self.assertIn("softmax_cross_entropy_with_logits", deps.describe_path(graph, path))
        # The very exception TensorFlow raises, not one of ours.
        with tf.compat.v1.Session(graph=graph) as session:
            session.run(init_op)
            with self.assertRaisesRegex(tf.errors.InvalidArgumentError, "placeholder tensor 'labels'"):
                session.run(fetches, deps.feed_dict(graph, feeds, _batch("linear")))

    def test_shapes_show_none_batch_beside_the_run_batch(self):
        graph, _, init_op, fetches, feeds, p = _setup("conv4", "logits")
        batch = _batch("conv4", n=283)
        trace = deps.traced_run(graph, init_op, fetches, feeds, batch)

        def fetch_directly(tensors):
            with tf.compat.v1.Session(graph=graph, config=deps.session_config()) as session:
                session.run(init_op)
                return session.run(tensors, deps.feed_dict(graph, feeds, batch))

        rows = {r.name: r for r in deps.shape_rows(graph, p, trace, fetch_directly)}
        self.assertEqual(rows["input"][2:], ("(?, 28, 28, 1)", "(283, 28, 28, 1)"))
        self.assertEqual(rows["layer1/layer1_out"][2:], ("(?, 28, 28, 64)", "(283, 28, 28, 64)"))
        self.assertEqual(rows["pool2/pool2"][2:], ("(?, 7, 7, 128)", "(283, 7, 7, 128)"))
        self.assertEqual(rows["logits"][2:], ("(?, 10)", "(283, 10)"))
        self.assertEqual(rows["layer1/Conv2D"].static, "(?, 28, 28, 64)")
        self.assertTrue(rows["layer1/Conv2D"].run.startswith("(283, 28, 28, 64)"))
        names = list(rows)
        self.assertLess(names.index("layer1/layer1_out"), names.index("pool1/pool1"))
        self.assertFalse(any(r.op in ("Const", "VarHandleOp") for r in rows.values()))
        self.assertFalse(any(deps.scope_of(n) in ("cost", "gradients") for n in names))


def _parse_dot(text):
    """A strict reader for the DOT we write: quoted ids, balanced braces, declared endpoints."""
    lines = text.strip().splitlines()
    assert re.match(r'^digraph "[^"]+" \{$', lines[0]), lines[0]
    assert lines[-1] == "}", lines[-1]
    assert text.count("{") == text.count("}") == 1
    quoted = r'"((?:[^"\\]|\\.)*)"'
    nodes, edges = {}, []
    for line in lines[1:-1]:
        node = re.match(r"^  {} \[(.*)\];$".format(quoted), line)
        edge = re.match(r"^  {} -> {}(?: \[(.*)\])?;$".format(quoted, quoted), line)
        if edge:
            edges.append((edge.group(1), edge.group(2), edge.group(3) or ""))
        elif node:
            nodes[node.group(1)] = node.group(2)
        else:
            assert re.match(r"^  (\w+=[^;]+|(node|edge) \[.*\]);$", line), line
    for src, dst, _ in edges:
        assert src in nodes and dst in nodes, (src, dst)
    return nodes, edges


class DotTest(tf.test.TestCase):
    """The post's figure: the graph by top-level scope, the fetched sub-graph in orange."""

    def test_logits_highlights_exactly_its_scopes(self):
        graph, _, _, _, _, p = _setup("conv4", "logits")
        nodes, edges = _parse_dot(deps.to_dot(graph, p, "conv4"))
        self.assertEqual(set(nodes), {deps.scope_of(op.name) for op in graph.get_operations()})
        orange = {n for n, attrs in nodes.items() if "fillcolor=orange" in attrs}
        self.assertEqual(orange, {"input", "layer1", "layer2", "pool1", "layer3", "layer4", "pool2",
                                  "flatten", "layer5", "logits"})
        self.assertIn(("input", "layer1", 'label="(?, 28, 28, 1)", color=darkorange, penwidth=2'), edges)
        self.assertNotIn("darkorange", " ".join(a for s, d, a in edges if d in ("cost", "gradients")))

    def test_cost_with_labels_unfed_marks_labels(self):
        graph, _, _, _, _, p = _setup("linear", "cost", ["input"])
        nodes, _ = _parse_dot(deps.to_dot(graph, p, "linear"))
        orange = {n for n, attrs in nodes.items() if "fillcolor=orange" in attrs}
        self.assertEqual(orange, {"input", "labels", "layer1", "logits", "cost"})
        self.assertIn("color=red", nodes["labels"])

    def test_graphviz_renders_it_where_installed(self):
        graph, _, _, _, _, p = _setup("fc3", "optimizer")
        path = os.path.join(self.create_tempdir().full_path, "g.dot")
        written = deps.write_dot(deps.to_dot(graph, p, "fc3"), path)
        self.assertEqual(written[0], path)
        if not shutil.which("dot"):
            self.assertLen(written, 1)
            return  # Graphviz is optional; the strict parse above covers the syntax
        self.assertEqual([os.path.splitext(w)[1] for w in written], [".dot", ".svg", ".png"])
        done = subprocess.run(["dot", "-Tsvg", path], capture_output=True, text=True, timeout=60)
        self.assertEqual(done.returncode, 0, done.stderr)
        self.assertIn("<svg", done.stdout)

    def test_placeholders_are_ellipses_the_rest_boxes(self):
        graph, _, _, _, _, p = _setup("fc3", "cost", ["input"])
        nodes, _ = _parse_dot(deps.to_dot(graph, p, "fc3"))
        placeholders = {op.name for op in graph.get_operations() if op.type == "Placeholder"}
        self.assertEqual({n for n, attrs in nodes.items() if "shape=ellipse" in attrs}, placeholders)
        self.assertEqual(placeholders, {"input", "labels"})
        # Each box is labelled with its scope, and with how many ops it holds if more than one.
        counts = collections.Counter(deps.scope_of(op.name) for op in graph.get_operations())
        for scope, n in counts.items():
            label = re.search(r'label="((?:[^"\\]|\\.)*)"', nodes[scope]).group(1)
            self.assertEqual(label, scope if n == 1 else "{}\\n{} ops".format(scope, n), scope)
        self.assertEqual(counts["input"], 1)

    def test_without_graphviz_the_report_says_how_to_render_the_dot_file(self):
        path = os.path.join(self.create_tempdir().full_path, "g.dot")
        out = io.StringIO()
        with mock.patch.object(deps.shutil, "which", return_value=None), contextlib.redirect_stdout(out):
            deps.explain("linear", ["logits"], None, lambda: _batch("linear"), dot_path=path)
        self.assertEqual(out.getvalue().splitlines()[-2:], [
            "Graph: {}".format(path), "  render it: apt-get install graphviz, then dot -Tsvg {} -o graph.svg".format(path)])
        self.assertTrue(os.path.exists(path))

    def test_unwritable_path_is_one_line(self):
        graph, _, _, _, _, p = _setup("linear", "logits")
        blocker = os.path.join(self.create_tempdir().full_path, "file")
        open(blocker, "w").close()
        with self.assertRaisesRegex(deps.DepsError, r"^--dot .* cannot be written"):
            deps.write_dot(deps.to_dot(graph, p), os.path.join(blocker, "g.dot"))


def _printed(net, fetches, feeds, batch, rewrites=False):
    """The lines //:deps prints (deps.printer(): the post's lines and TensorFlow's internals)."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = deps.explain(net, fetches, feeds, lambda: batch, rewrites=rewrites)
    return code, out.getvalue().splitlines()


def _graph_of(net):
    """The graph explain() builds for `net` (its post's init), for the test's own walk and run."""
    init = posts.DEFAULT_INIT[net]
    return model.build_graph(net, init, posts.settings(net, init).learning_rate, 0)


def _feed_values(graph, feeds, batch):
    """The test's own feed_dict: the batch for input and labels, zeros of the right shape elsewhere."""
    values = {}
    for name in feeds:
        tensor = graph.get_tensor_by_name(name if ":" in name else name + ":0")
        shape = [len(batch.images)] + tensor.shape.as_list()[1:]
        values[tensor] = (batch.images.reshape(shape) if name == "input" else batch.labels if name == "labels"
                          else np.zeros(shape, np.float32))
    return values


def _own_trace(net, fetches, feeds, batch, rewrites=False):
    """(graph, the walk's runs, {traced node: kernel}) for the same call, run here in a session of its own."""
    graph, _, init_op = _graph_of(net)
    if feeds is None:
        feeds = reading.placeholders_needed(graph, fetches)
    runs, _ = reading.needed(graph, fetches, feeds)
    with tf.compat.v1.Session(graph=graph, config=sessions.config(rewrites=rewrites)) as session:
        session.run(init_op)
        elements = [graph.as_graph_element(f, allow_operation=True) for f in fetches]
        elements = [e.outputs[0] if isinstance(e, tf.Operation) and e.outputs else e for e in elements]
        kernels = reading.traced_kernels(session, elements, _feed_values(graph, feeds, batch))
    return graph, runs, kernels


# (net, fetches, feeds): every kind of line of the prediction: partly running scopes, fed scopes, a
# placeholder not fed, a hidden tensor fed, a feed not needed, a fetch that is itself fed.
CASES = [
    ("linear", ["optimizer", "cost"], None),
    ("linear", ["cost"], ["input"]),
    ("fc3", ["predictions"], ["layer2/layer2_output", "labels"]),
    ("conv4", ["logits"], None),
    ("fc3", ["accuracy"], ["input", "labels", "logits"]),
    ("linear", ["input"], ["input"]),
    ("conv4", ["flatten/shape"], None),  # one node of a scope of two: "(partly)" at its edge
]


class ReportReadTest(tf.test.TestCase):
    """//:deps' report read back line by line into sets and counts, against the test's own walk over the
    GraphDef's inputs and its own FULL_TRACE run of the same call."""

    def test_each_prediction_line_names_the_nodes_the_walk_finds(self):
        for net, fetches, feeds in CASES:
            with self.subTest(net=net, fetches=fetches, feeds=feeds):
                _, lines = _printed(net, fetches, feeds, _batch(net))
                said = reading.prediction_report(lines)
                expected = reading.expected_prediction(_graph_of(net)[0], fetches, feeds)
                self.assertEqual(said["fetch"], ", ".join(fetches))
                for key in ("required", "not_fed", "unused", "fed", "will_run", "rows", "partly", "not_run",
                            "not_run_order"):
                    self.assertEqual(said[key], expected[key], key)

    def test_the_lines_say_what_each_case_is_about(self):
        # The cases above, each line's content spelled out once (the walk could share a mistake).
        said = {(net, tuple(f)): reading.prediction_report(_printed(net, f, feeds, _batch(net))[1])
                for net, f, feeds in CASES[1:3]}
        cost = said["linear", ("cost",)]
        self.assertEqual((cost["required"], cost["not_fed"]), (["input", "labels"], ["labels"]))
        self.assertEqual(cost["rows"]["labels"], (1, 1, "(NOT fed)"))
        self.assertEqual(cost["not_run"], {"input": True, "gradients": False, "optimizer": False,
                                           "predictions": False, "accuracy": False, "init": False})
        cut = said["fc3", ("predictions",)]
        self.assertEqual((cut["required"], cut["unused"], cut["fed"]), ([], ["labels"], ["layer2/layer2_output"]))
        self.assertEqual(set(cut["rows"]), {"layer3", "logits", "predictions"})
        self.assertEqual({s for s, fed in cut["not_run"].items() if fed}, {"layer2"})

    def test_each_traced_run_line_against_the_tests_own_trace(self):
        for net, fetches, feeds in CASES[:1] + CASES[2:]:
            with self.subTest(net=net, fetches=fetches, feeds=feeds):
                batch = _batch(net)
                code, lines = _printed(net, fetches, feeds, batch)
                self.assertEqual(code, 0)
                said = reading.verification_report(lines)
                graph, runs, kernels = _own_trace(net, fetches, feeds, batch)
                self.assertLessEqual(runs, set(kernels))  # rewrites off: every node ran under its name
                self.assertEqual(said["fused"], [])
                expected = reading.expected_verification(graph, runs, kernels, {})
                for key in ("own", "removed", "accounted", "added", "feeds", "runtime", "folded", "kernels",
                            "unexplained", "no_step"):
                    self.assertEqual(said[key], expected[key], key)
                self.assertNotIn("plain", said)  # //:deps prints the internals' summary, not the plain one
                # Every node of the run is on exactly one line: run as predicted, carrying a feed, or the executor's.
                self.assertEqual(set(kernels), runs | set(said["feeds"]) | set(said["runtime"]))

    def test_grappler_lines_against_a_traced_run_with_the_rewrites_on(self):
        batch = _batch("fc3")
        code, lines = _printed("fc3", ["optimizer"], None, batch, rewrites=True)
        self.assertEqual(code, 0)
        said = reading.verification_report(lines)
        graph, runs, kernels = _own_trace("fc3", ["optimizer"], None, batch, rewrites=True)
        fused = {}
        for node, into, kernel in said["fused"]:
            # A fused node did not run under its name; the node it went into ran as that fused kernel,
            # downstream of it.
            self.assertIn(node, runs - set(kernels))
            self.assertEqual(kernels.get(into), kernel)
            self.assertRegex(kernel, r"^_\w*(Fused|With)")
            self.assertIn(node, reading.needed(graph, [into])[0])
            fused[node] = (into, kernel)
        self.assertNotEmpty(fused)
        expected = reading.expected_verification(graph, runs, kernels, fused)
        for key in ("own", "removed", "accounted", "feeds", "runtime", "folded", "kernels", "unexplained"):
            self.assertEqual(said[key], expected[key], key)
        self.assertEqual(said["added"][1], expected["added"][1])
        self.assertLessEqual(set(said["added"][0]), set(expected["added"][0]) | set(kernels))


class ReportWordsTest(tf.test.TestCase):
    """//:deps' other lines read back: the heading, why a run failed and the chain it names, the shapes table."""

    def test_a_shape_says_what_it_knows(self):
        # `?` is a dimension left None (LTFN 2's batch); a known 0 is shown as 0.
        self.assertEqual(deps.format_shape(tf.TensorShape([None, 28, 28, 1])), "(?, 28, 28, 1)")
        self.assertEqual(deps.format_shape([0, 784]), "(0, 784)")
        self.assertEqual(deps.format_shape([-1, 10]), "(?, 10)")
        self.assertEqual(deps.format_shape([7]), "(7,)")
        self.assertEqual(deps.format_shape(tf.TensorShape(None)), "<unknown>")

    def test_the_heading_names_the_net_and_its_init(self):
        for net, init in (("linear", None), ("fc3", None), ("linear", "xavier")):
            with self.subTest(net=net, init=init):
                out = io.StringIO()
                with contextlib.redirect_stdout(out):
                    deps.explain(net, ["logits"], None, lambda: _batch(net), init=init)
                heading = out.getvalue().splitlines()[0]
                said_net, said_init = re.fullmatch(r"LTFN 2 — what session\.run executes in (\w+) \(init (\w+)\)",
                                                   heading).groups()
                self.assertEqual((said_net, said_init), (net, init or posts.DEFAULT_INIT[net]))

    def test_why_a_run_failed_follows_edges_of_the_graph(self):
        for net, fetches, feeds in (("linear", ["cost"], ["input"]), ("fc3", ["accuracy"], ["input"]),
                                    ("linear", ["logits", "cost"], ["labels"])):
            with self.subTest(net=net, fetches=fetches, feeds=feeds):
                code, lines = _printed(net, fetches, feeds, _batch(net))
                self.assertEqual(code, 0)
                graph = _graph_of(net)[0]
                unfed = [n for n in reading.placeholders_needed(graph, fetches) if n not in feeds]
                why = next(line for line in lines if line.startswith("Why: "))
                fetch, missing, node, kind, also = re.fullmatch(
                    r"Why: (\S+) depends on (\S+) through (\S+) \((\w+)\), and every placeholder in the fetched "
                    r"sub-graph must be fed; feed (.+) too, or fetch something that does not need it \(e\.g\. logits\)\.",
                    why).groups()
                self.assertIn(fetch, fetches)
                self.assertEqual(missing, unfed[0])
                self.assertEqual(also.split(" and "), unfed)
                chain = reading.after(lines[lines.index(why) + 1], "  (the dependency: ")[:-1].split(" <- ")
                self.assertEqual((chain[0], chain[-1]), (fetch, missing))
                ops = {op.name: op for op in graph.get_operations()}
                for consumer, source in zip(chain, chain[1:]):  # `a <- b`: a reads b's output (or waits for it)
                    self.assertIn(source, [t.op.name for t in ops[consumer].inputs] +
                                  [c.name for c in ops[consumer].control_inputs], (consumer, source))
                self.assertIn(node, chain[1:-1])
                self.assertEqual(ops[node].type, kind)

    def test_the_shapes_table_static_and_run_columns(self):
        # With the rewrites on, Grappler fuses nodes away: their run shapes come from fetching them (`*`).
        batch = _batch("fc3", n=6)
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            code = deps.explain("fc3", ["logits"], None, lambda: batch, rewrites=True, shapes=True)
        self.assertEqual(code, 0)
        lines = out.getvalue().splitlines()
        start = lines.index("Shapes (LTFN 2): static shape in the graph, and the shape a batch of 6 produced")
        self.assertEqual(lines[start + 1].split(), ["node", "op", "static", "run"])
        rows = {}
        for line in lines[start + 2:]:
            match = re.fullmatch(r"  (\S+) +(\S+) +(\(.*?\)) +(\(.*?\))( \*)?", line)
            if not match:
                break
            rows[match.group(1)] = match.group(2, 3, 4) + (bool(match.group(5)),)
        graph, runs, kernels = _own_trace("fc3", ["logits"], None, batch, rewrites=True)
        fed = reading.placeholders_needed(graph, ["logits"])  # their run shape is the fed value's
        shapeless = ("Const", "VarHandleOp", "ReadVariableOp", "NoOp")  # their outputs say nothing of the batch
        expected = {}
        for op in graph.get_operations():
            if op.name in runs | set(fed) and op.type not in shapeless:
                static = op.outputs[0].shape.as_list()
                expected[op.name] = (op.type, "({})".format(", ".join("?" if d is None else str(d) for d in static)),
                                     "({})".format(", ".join(str(6 if d is None else d) for d in static)),
                                     op.name not in kernels and op.name not in fed)
        self.assertEqual(rows, expected)
        self.assertTrue(any(starred for *_, starred in rows.values()))
        self.assertEqual(lines[start + 2 + len(rows)], "  * fused away in the traced run; shape from fetching the tensor itself")


class CommandLineTest(tf.test.TestCase):
    """`bazel run //:deps` end to end (programs/deps.py started as a script, on the embedded MNIST)."""

    def _deps(self, *args):
        result = testing.run_program("programs/deps.py", ["--net=linear"] + list(args))
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertNotIn("UNEXPLAINED", result.stdout + result.stderr)
        return result.stdout

    def _shape_rows(self, stdout):
        """{node: (static shape, run shape)} from the --shapes table."""
        rows = {}
        for line in stdout.split("the shape a batch of")[1].splitlines()[2:]:
            match = re.match(r"^  (\S+) +\S+ +(\(.*?\)) +(\(.*?\))$", line)
            if match:
                rows[match.group(1)] = match.group(2, 3)
        return rows

    def test_feeding_too_little_shows_tensorflows_error_and_why_with_exit_0(self):
        stdout = self._deps("--fetch=cost", "--feed=input")
        self.assertIn("NOT fed: labels", stdout)
        said = reading.prediction_report(stdout.splitlines())
        expected = reading.expected_prediction(_graph_of("linear")[0], ["cost"], ["input"])
        for key in ("required", "not_fed", "unused", "fed", "will_run", "rows", "partly", "not_run"):
            self.assertEqual(said[key], expected[key], key)
        self.assertIn("Ran it: TensorFlow raised InvalidArgumentError: You must feed a value for placeholder "
                      "tensor 'labels'", stdout)
        self.assertRegex(stdout, r"Why: cost depends on labels through .*softmax_cross_entropy_with_logits")

    def test_optimizer_with_a_batch_of_7_runs_the_gradients_but_not_the_cost_node(self):
        stdout = self._deps("--fetch=optimizer", "--batch=7", "--shapes")
        self.assertIn("Verified: one traced run (FULL_TRACE, batch of 7;", stdout)
        self.assertRegex(stdout, r"= (\d+) of \1 predicted nodes accounted for; 0 unexplained")
        rows = self._shape_rows(stdout)
        self.assertEqual(rows["input"], ("(?, 784)", "(7, 784)"))
        self.assertEqual(rows["gradients/layer1/MatMul_grad/MatMul_1"], ("(784, 10)", "(784, 10)"))
        self.assertIn("cost/softmax_cross_entropy_with_logits:0", rows)
        # The mean that is `cost` itself does not run: its gradient needs only its input's shape.
        self.assertNotIn("cost", rows)
        self.assertTrue(any(name.startswith("gradients/cost_grad/") for name in rows))

    def test_grappler_traces_with_the_rewrites_and_accounts_for_every_node(self):
        stdout = self._deps("--fetch=logits", "--grappler")
        self.assertIn("TensorFlow's default graph rewrites ON (--grappler)", stdout)
        self.assertRegex(stdout, r"= (\d+) of \1 predicted nodes accounted for; 0 unexplained")
        # With the rewrites on, the matmul is fused into the bias add and reported as such.
        self.assertRegex(stdout, r"layer1/MatMul into layer1/layer1_linear \(_\w*Fused\w*\)")


if __name__ == "__main__":
    tf.test.main()
