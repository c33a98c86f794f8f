"""The lessons (lessons/*.ipynb) and `//:lessons` (programs/lessons.py).

Every notebook is executed top to bottom in a fresh kernel in the quick setting (LTFN_LESSONS_QUICK=1);
a cell that raises fails its test naming the notebook, the cell and the error. The notebooks are checked
to be committed without outputs, and the graphs their cells build by hand (cells tagged `graph`) are
checked to be graphs/'s, by labs/sameness (the check their `check` cells run): a change to graphs/ that
the lessons do not follow fails here. The program is run as `bazel run` would: --render writes HTML
pages with outputs, mistakes are one line, and the server answers on 127.0.0.1 with lessons/ open.
"""

import io
import json
import os
import re
import socket
import subprocess
import tempfile
import time
import types
import urllib.error
import urllib.request
from unittest import mock

import numpy as np
from absl.testing import absltest

from programs import exercises
from programs import lessons
from tests import testing

ROOT = testing.ROOT
NOTEBOOKS = lessons.notebooks(ROOT)
# (lesson, net, init) of every graph a lesson writes by hand and checks.
EXPECTED_GRAPHS = [("ltfn1", "linear", "random_normal"), ("ltfn2", "linear", "random_normal"),
                   ("ltfn3", "fc3", "random_normal"),
                   ("ltfn5", "conv4", "random_normal"),
                   ("ltfn6", "conv4", "random_normal"), ("ltfn6", "conv4", "small"),
                   ("ltfn6", "conv4", "variance_scaling")]

def _jupyter_dirs():
    """Jupyter, IPython and matplotlib write their files under the test's own temporary folder."""
    base = os.environ.get("TEST_TMPDIR") or tempfile.mkdtemp()
    for variable, name in (("JUPYTER_RUNTIME_DIR", "jupyter-runtime"), ("JUPYTER_DATA_DIR", "jupyter-data"),
                           ("JUPYTER_CONFIG_DIR", "jupyter-config"), ("IPYTHONDIR", "ipython"),
                           ("MPLCONFIGDIR", "matplotlib")):
        os.environ[variable] = os.path.join(base, name)
        os.makedirs(os.environ[variable], exist_ok=True)
    os.environ["JUPYTER_PLATFORM_DIRS"] = "1"


def code_cells(path):
    with open(path, encoding="utf-8") as f:
        return [c for c in json.load(f)["cells"] if c["cell_type"] == "code"]


def source_of(cell):
    return "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]


class NotebooksTest(absltest.TestCase):

    def test_six_lessons_in_the_posts_order(self):
        titles = []
        for path in NOTEBOOKS:
            with open(path, encoding="utf-8") as f:
                cells = json.load(f)["cells"]
            titles.append(source_of(cells[0]).splitlines()[0])
            # Each has things to try (and a cell that tries them, or the text says how): at its end, or, in
            # LTFN 2, before the appendix of questions beyond the posts.
            ends = [i for i, c in enumerate(cells) if "## Things to try" in source_of(c)]
            appendix = [i for i, c in enumerate(cells) if source_of(c).startswith("## Appendix")]
            self.assertTrue(ends and (ends[-1] >= len(cells) - 2 or (appendix and ends[-1] < appendix[0])), path)
        self.assertEqual([t.split(":")[0] for t in titles], ["# LTFN {}".format(n) for n in range(1, 7)])

    def test_committed_without_outputs(self):
        for path in NOTEBOOKS:
            for i, cell in enumerate(code_cells(path)):
                self.assertEqual((cell["outputs"], cell["execution_count"]), ([], None),
                                 "{}: code cell {} was committed with its outputs; clear them".format(path, i + 1))



def tagged(path, tag):
    return [source_of(c) for c in code_cells(path) if tag in c.get("metadata", {}).get("tags", [])]


def hand_built_reports(path, nb=None):
    """Runs a notebook's `graph` cells, then its `check` cells, in this process (no kernel, no MNIST:
    a made-up batch), and returns the sameness report of each check. With nb (an exercise form), its
    cells are run instead, and a cell the learner has not written yet stops as it would in a kernel."""
    import tensorflow as tf

    from labs import sameness
    from lessons import kit as kit_module

    tf.compat.v1.disable_eager_execution()
    rng = np.random.default_rng(0)
    batch = (rng.random((20, 784), np.float32), np.eye(10, dtype=np.float32)[rng.integers(0, 10, 20)])
    reports = []
    kit = types.SimpleNamespace(
        show=lambda *tensors: None, setting=lambda full, quick: quick, QUICK=True, build_once=kit_module.build_once,
        check=lambda graph, net, init=None, learning_rate=None: reports.append(
            sameness.compare(graph, net, init, learning_rate, batch=batch)))
    namespace = {"kit": kit, "tf": tf}  # (the notebooks import it in a cell of their own)
    cells = code_cells(path) if nb is None else [c for c in nb.cells if c.cell_type == "code"]
    for tag in ("graph", "check"):
        for cell in cells:
            if tag in cell.get("metadata", {}).get("tags", []):
                try:
                    exec(compile(source_of(cell), path, "exec"), namespace)
                except (NotImplementedError, NameError):
                    if nb is None:
                        raise
    return reports


class HandBuiltTest(absltest.TestCase):
    """The graphs the lessons write cell by cell are graphs/'s (labs/sameness): the guarantee that lessons
    and programs cannot drift apart."""

    def test_every_hand_built_graph_is_the_one_graphs_builds(self):
        checked = []
        for path in NOTEBOOKS:
            reports = hand_built_reports(path)
            self.assertGreaterEqual(len(reports), len(tagged(path, "check")), path)  # a cell may check several
            for report in reports:
                self.assertTrue(report.same, "{}: {}".format(os.path.basename(path), report))
                checked.append((os.path.basename(path).split("_")[0], report.net, report.init))
        # LTFN 1's single layer, LTFN 3's deeper net, LTFN 5's ConvNet, LTFN 6's three initializations.
        self.assertEqual(sorted(set(checked)), sorted(set(EXPECTED_GRAPHS)), checked)

    def test_a_drift_in_graphs_fails(self):
        # graphs/ renames a variable (as a careless edit would): LTFN 1's hand-built graph is no longer it.
        from graphs import layers
        original = layers._variables

        def renamed(scope, weights_shape, init, kind):
            w, b = original(scope + "_renamed", weights_shape, init, kind)
            return w, b

        with mock.patch.object(layers, "_variables", renamed):
            report, = hand_built_reports(lessons.find_notebook(ROOT, "ltfn1"))
        self.assertFalse(report.same)
        self.assertIn("where graphs/ has `layer1/layer1_renamed_weights` [784, 10] and `layer1/layer1_renamed_bias` "
                      "[10] (the same shapes, other names)", str(report))


def has_form(path):
    """True if the worked notebook at `path` marks solutions: it has an exercise form."""
    with open(path, encoding="utf-8") as f:
        return exercises.BEGIN in f.read()


# Run in the learner's kernel before each blank and after it stopped: every tf.Graph there, and the
# names it has taken (an op's, a name scope's: name_scope("cost") entered takes `cost`, even with no op).
_GRAPHS_PROBE = """
import gc as _ltfn_gc, sys as _ltfn_sys

def _ltfn_graphs():
    tf = _ltfn_sys.modules.get("tensorflow")
    if tf is None:
        return {}
    return {id(g): (g, set(g._names_in_use)) for g in _ltfn_gc.get_objects() if isinstance(g, tf.Graph)}

def _ltfn_added(before):
    added = {n for g, names in before.values() for n in set(g._names_in_use) - names}
    return ", ".join(sorted({n.split("/")[0] for n in added}))  # `cost`, not each op inside it
"""


def _with_a_mistake(worked_source):
    """A learner's wrong first try at a blank: the solution's lines, then an error where its last line is
    (inside its scope or loop): the cell stops half-way, after adding what the solution adds."""
    lines, out, inside, last = worked_source.splitlines(), [], False, ""
    for line in lines:
        if line.strip() == exercises.END:
            indent = last[:len(last) - len(last.lstrip())]
            out.append(indent + 'raise ValueError("a mistake, made on purpose")')
            inside = False
        elif line.strip() == exercises.BEGIN:
            inside = True
        else:
            out.append(line)
            if inside and line.strip():
                last = line
    return "\n".join(out)


def ltfn1_of(paths):
    path, = [p for p in paths if os.path.basename(p).startswith("ltfn1")]
    return path


class ProgressTest(absltest.TestCase):
    """kit.progress, the training cells' bar: Kernel -> Interrupt (SIGINT to the kernel) ends the loop after
    the running step, without a traceback, and leaves Python's own Ctrl-C handling as it was."""

    def test_an_interrupt_stops_after_the_running_step(self):
        import signal

        from lessons import kit
        before = signal.getsignal(signal.SIGINT)
        done = []
        with mock.patch("sys.stdout", new_callable=io.StringIO) as printed:
            for step in kit.progress(100, 10, start=5):
                if step == 8:
                    os.kill(os.getpid(), signal.SIGINT)  # arrives inside the step, as during session.run
                done.append(step)
        self.assertEqual(done, [5, 6, 7, 8])
        self.assertIn("Stopped by Kernel -> Interrupt after 4 of 95 steps", printed.getvalue())
        self.assertIn("4 steps of 10 images in", printed.getvalue())
        self.assertIs(signal.getsignal(signal.SIGINT), before)

    def test_a_loop_that_ends_restores_the_handler(self):
        import signal

        from lessons import kit
        before = signal.getsignal(signal.SIGINT)
        with mock.patch("sys.stdout", new_callable=io.StringIO) as printed:
            self.assertEqual(list(kit.progress(3, 100)), [0, 1, 2])
        self.assertIn("3 steps of 100 images in", printed.getvalue())
        self.assertIs(signal.getsignal(signal.SIGINT), before)


class ExercisesTest(absltest.TestCase):
    """The exercise forms (programs/exercises.py): made from the worked notebooks, graded by the check."""

    def forms(self):
        import nbformat
        folder = self.create_tempdir().full_path
        paths = exercises.write_all(NOTEBOOKS, folder, log=lambda line: None)
        return {os.path.basename(p).split("_")[0]: nbformat.read(p, as_version=4) for p in paths}

    def test_every_hand_built_graph_has_its_exercise_form(self):
        forms = self.forms()
        # LTFN 4 has blanks (its convolutions, their output shapes) but no graph of graphs/ to check.
        self.assertEqual(sorted(forms), sorted(set(lesson for lesson, _, _ in EXPECTED_GRAPHS) | {"ltfn4"}))
        for lesson, form in forms.items():
            worked = lessons.find_notebook(ROOT, lesson)
            with open(worked, encoding="utf-8") as f:
                markers = f.read().count(exercises.BEGIN)
            text = "\n".join(c.source for c in form.cells)
            self.assertNotIn("SOLUTION", text, lesson)
            self.assertEqual(text.count("raise NotImplementedError"), markers, lesson)
            self.assertTrue(form.cells[1].source.startswith("**Exercise form.**"), lesson)
            for cell in form.cells:
                if cell.cell_type == "code":
                    # What is left still parses (IPython's %magic lines are not Python).
                    python = "\n".join(l for l in cell.source.splitlines() if not l.lstrip().startswith("%"))
                    compile(python, lesson, "exec")

    def test_the_check_says_what_is_still_missing(self):
        forms = self.forms()
        for lesson in ("ltfn1", "ltfn3", "ltfn5"):
            report, = hand_built_reports(lessons.find_notebook(ROOT, lesson), forms[lesson])
            self.assertFalse(report.same, lesson)
        report, = hand_built_reports(lessons.find_notebook(ROOT, "ltfn1"), forms["ltfn1"])
        said = str(report)
        self.assertIn("yours has no layer `layer1`: graphs/ has `layer1/layer1_weights` [784, 10] and "
                      "`layer1/layer1_bias` [10]", said)
        self.assertIn('there is no `cost` (the cost): give it name="cost"', said)
        # LTFN 6's form leaves the weights of every network to write: its check cells stop (NotWrittenYet, a
        # NotImplementedError naming the network) before any graph is judged, so nothing unwritten passes.
        reports = hand_built_reports(lessons.find_notebook(ROOT, "ltfn6"), forms["ltfn6"])
        self.assertEqual([(r.init, r.same) for r in reports], [])

    def test_a_form_the_learner_edited_is_kept(self):
        import nbformat
        folder = self.create_tempdir().full_path
        said = []
        path = ltfn1_of(exercises.write_all(NOTEBOOKS, folder, said.append))
        exercises.write_all(NOTEBOOKS, folder, said.append)  # unedited: written again, nothing to say
        self.assertEqual(said, [])
        nb = nbformat.read(path, as_version=4)
        nb.cells[2].source += "\n# my note"
        nbformat.write(nb, path)
        exercises.write_all(NOTEBOOKS, folder, said.append)
        self.assertEqual(said, ["Kept your {} (you edited it; delete it to get a fresh copy)".format(path)])
        self.assertIn("# my note", nbformat.read(path, as_version=4).cells[2].source)

    def test_broken_markers_are_refused(self):
        with self.assertRaisesRegex(exercises.MarkerError, "ltfn9, cell 3: ### BEGIN SOLUTION without"):
            exercises.strip("x = 1\n    ### BEGIN SOLUTION\ny = 2", "ltfn9, cell 3")
        self.assertEqual(exercises.strip("a\n  ### BEGIN SOLUTION\n  b\n  ### END SOLUTION\nc"),
                         ("a\n  # YOUR CODE HERE\n  raise NotImplementedError(\"write the lines this cell is "
                          "missing, then run it again\")\nc", 1))
        # What the learner test puts back: the worked cell as a learner who wrote the solution has it.
        self.assertEqual(exercises.filled("a\n  ### BEGIN SOLUTION\n  b\n  ### END SOLUTION\nc"), "a\n  b\nc")


class ExecuteTest(absltest.TestCase):
    """One test per notebook: executed as a person would, top to bottom, in the quick setting."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        _jupyter_dirs()

    def _execute(self, stem):
        """The lesson run top to bottom in a kernel; a lesson with an exercise form is run as its learner
        runs the form (play_the_learner): that is every cell of the worked lesson, and each blank met."""
        path = lessons.find_notebook(ROOT, stem)
        if has_form(path):
            nb = self.play_the_learner(path)
        else:
            nb, error = lessons.execute(path, quick=True, timeout=600, root=ROOT)
            if error:
                self.fail(str(error))
        # Each check cell, run in the kernel on MNIST, found the learner's graph to be graphs/'s.
        for cell in nb.cells:
            if "check" in cell.metadata.get("tags", []):
                said = "".join(o.get("text", "") for o in cell.outputs)
                self.assertTrue(said.startswith("Your graph is the one graphs/model.build_graph"), said)
        return nb

    def play_the_learner(self, path):
        """Runs the exercise form of the worked notebook at `path` as a learner does, in a kernel (quick
        setting): top to bottom. A cell that stops with NotImplementedError is first checked against the
        lesson's next check cell, run out of order (it must say what is missing, never that the graph is
        graphs/'s); then filled with a mistake that stops it half-way (the solution, then an error), then with
        the solution (the worked cell without its markers) and run again; then on. Every graph cell, and every
        filled blank, is run a second time at once (Shift+Enter twice). A second run may add nothing to a graph
        that existed before it: it works, or it stops with kit's RanBefore (the cell says to run the cells again
        from `graph = tf.Graph()`, and the learner does). Fails when a blank's first run had already added to a
        graph, when a second run adds to one (`cost_1`; the later cells, finding nodes by name, would use the
        first), when a cell fails for another reason, or when a blank is never met. Returns the form as
        executed."""
        import nbclient
        import nbformat

        worked = nbformat.read(path, as_version=4)
        name = os.path.basename(path)
        form = exercises.exercise_form(worked, name)
        solutions = {c.id: c.source for c in worked.cells}
        folder = self.create_tempdir().full_path
        client = nbclient.NotebookClient(form, timeout=600, kernel_name=lessons.KERNEL,
                                         resources={"metadata": {"path": folder}})
        blanks = [i for i, c in enumerate(form.cells) if "exercise" in c.metadata.get("tags", [])]
        checks = [i for i, c in enumerate(form.cells) if "check" in c.metadata.get("tags", [])]
        met = []

        def where(index):
            return "{}'s exercise form, cell {} ({!r})".format(name, index + 1, lessons._first_line(form.cells[index]))

        def run(index):
            """The cell's error name, or None if it ran; the names it added to graphs that existed before it."""
            self._in_kernel(client, "_ltfn_before = _ltfn_graphs()")
            try:
                client.execute_cell(form.cells[index], index)
                error = None
            except nbclient.exceptions.CellExecutionError as e:
                error = e
            return error, self._in_kernel(client, "print(_ltfn_added(_ltfn_before))").strip()

        def run_again(index, what):
            """A second run of a cell that ran: it adds nothing; stopped by RanBefore, the cells from
            `graph = tf.Graph()` to this one run again, as the message says."""
            error, added = run(index)
            self.assertEqual(added, "", "{}, {}: it added {} to a graph again (a second `cost` is `cost_1`, and the "
                             "later cells would use the first one). Start the cell with kit.build_once(graph, ...) "
                             "naming what it builds.".format(where(index), what, added))
            if error is None:
                return
            if error.ename != "RanBefore":
                self.fail("{}, {}: {}: {}".format(where(index), what, error.ename, error.evalue))
            self.assertIn("run the cells again from `graph = tf.Graph()`", error.evalue)
            restart = max(i for i in range(index + 1) if form.cells[i].cell_type == "code"
                          and re.search(r"^\s*graph = tf\.Graph\(\)", form.cells[i].source, re.M))
            for i in range(restart, index + 1):
                if form.cells[i].cell_type == "code":
                    error, _ = run(i)
                    if error is not None:
                        self.fail("{}: run again from `graph = tf.Graph()` after RanBefore, it failed: {}: {}".format(
                            where(i), error.ename, error.evalue))

        with client.setup_kernel(env=lessons.kernel_env(ROOT, quick=True)):
            self._in_kernel(client, _GRAPHS_PROBE)
            for index, cell in enumerate(form.cells):
                if cell.cell_type != "code":
                    continue
                error, added = run(index)
                if error is None:
                    if "graph" in cell.metadata.get("tags", []):
                        run_again(index, "run twice")
                    continue
                if error.ename != "NotImplementedError" or index not in blanks:
                    self.fail("{}: {}: {}".format(where(index), error.ename, error.evalue))
                self.assertEqual(added, "", "{}: before its blank stopped it, the cell had already added to a graph "
                                 "({}); filled and run again it adds that twice (a scope entered again is `cost_1`, a "
                                 "variable made again is refused). In "
                                 "the worked notebook, begin the SOLUTION before any line that adds to the graph, "
                                 "or split the cell.".format(where(index), added))
                later = [i for i in checks if i > index]
                if later:  # the check run before the blank is written: it says what is missing
                    error, _ = run(later[0])
                    said = "".join(o.get("text", "") for o in form.cells[later[0]].outputs)
                    if error is None:
                        self.assertFalse(said.startswith("Your graph is the one"), "{}, run before {} was written, "
                                         "praised the graph: {}".format(where(later[0]), where(index), said))
                    elif error.ename not in ("NotWrittenYet", "NameError"):
                        self.fail("{}, run before {} was written: {}: {}".format(
                            where(later[0]), where(index), error.ename, error.evalue))
                solution = exercises.filled(solutions[cell.id])
                cell.source = _with_a_mistake(solutions[cell.id])
                error, _ = run(index)
                if error is not None and error.ename not in ("ValueError", "NotImplementedError"):
                    self.fail("{}: filled with a mistake, it failed otherwise: {}: {}".format(
                        where(index), error.ename, error.evalue))
                cell.source = solution
                # (A mistake after a `return` never runs: then this is the corrected cell's second run.)
                run_again(index, "filled with a mistake, then corrected and run again")
                run_again(index, "filled, and run twice")
                met.append(index)
        self.assertEqual(met, blanks, "{}: cells {} have blanks a learner running top to bottom never meets".format(
            name, [i + 1 for i in blanks if i not in met]))
        return form

    def _in_kernel(self, client, source):
        """Runs `source` in the client's kernel, outside the notebook; what it printed."""
        import nbformat
        cell = nbformat.v4.new_code_cell(source)
        client.execute_cell(cell, 0)
        return "".join(o.get("text", "") for o in cell.outputs)

    def test_every_lesson_is_executed_and_every_form_played(self):
        # One test per notebook below; those with SOLUTION markers run as their learner runs the form.
        tests = sorted(n for n in dir(self) if re.fullmatch(r"test_ltfn\d+", n))
        self.assertEqual(tests, ["test_" + os.path.basename(p).split("_")[0] for p in NOTEBOOKS])
        self.assertTrue({"ltfn1", "ltfn3"} <= {os.path.basename(p).split("_")[0] for p in NOTEBOOKS if has_form(p)})

    def test_ltfn1_exercise_form_in_a_kernel(self):
        # As a learner opens it: the cells to write stop with NotImplementedError, and the check cell,
        # run on MNIST in the kernel, says what is missing.
        import nbclient
        import nbformat
        folder = self.create_tempdir().full_path
        path = ltfn1_of(exercises.write_all(NOTEBOOKS, folder, log=lambda line: None))
        nb = nbformat.read(path, as_version=4)
        check = next(i for i, c in enumerate(nb.cells) if "check" in c.metadata.get("tags", []))
        nb.cells = nb.cells[:check + 1]
        client = nbclient.NotebookClient(nb, timeout=600, kernel_name=lessons.KERNEL, allow_errors=True,
                                         resources={"metadata": {"path": folder}})
        with client.setup_kernel(env=lessons.kernel_env(ROOT, quick=True)):
            for index, cell in enumerate(nb.cells):
                client.execute_cell(cell, index)
        stopped = [c for c in nb.cells if c.cell_type == "code" and any(o.get("ename") for o in c.outputs)]
        self.assertTrue(stopped and all("exercise" in c.metadata["tags"] for c in stopped[:1]))
        said = "".join(o.get("text", "") for o in nb.cells[check].outputs)
        self.assertTrue(said.startswith("Your graph differs from graphs/model.build_graph('linear'"), said)
        self.assertIn("yours has no layer `layer1`", said)

    def test_ltfn6_a_blank_corrected_after_the_cells_below_ran(self):
        # The learner writes LTFN 5's weights wrong (x 0.01), runs on past the check (which says so) through
        # the training and the look inside, then goes back, corrects the cell and runs it and the cells below
        # again: they must work on the corrected network (the session of the old one kept its x 0.01 weights,
        # and the look's N(0, 1) checks failed on them).
        import nbclient
        import nbformat
        path = lessons.find_notebook(ROOT, "ltfn6")
        worked = nbformat.read(path, as_version=4)
        form = exercises.exercise_form(worked, os.path.basename(path))
        index = {c.get("id"): i for i, c in enumerate(form.cells)}
        weights, check, train, look = (index[i] for i in ("cc5c51eb", "1bdc5c1c", "ltfn6-10", "ltfn6-11"))
        solution = exercises.filled(worked.cells[weights - 1].source)  # (the form has one cell more: its intro)
        self.assertIn("tf.random.normal(shape)", solution)
        folder = self.create_tempdir().full_path
        client = nbclient.NotebookClient(form, timeout=600, kernel_name=lessons.KERNEL, allow_errors=True,
                                         resources={"metadata": {"path": folder}})

        def said(i):
            client.execute_cell(form.cells[i], i)
            return "".join(o.get("text", "") or o.get("evalue", "") for o in form.cells[i].outputs)

        with client.setup_kernel(env=lessons.kernel_env(ROOT, quick=True)):
            form.cells[weights].source = solution.replace("tf.random.normal(shape)", "tf.random.normal(shape) * 0.01")
            for i in range(look + 1):
                if form.cells[i].cell_type == "code":
                    client.execute_cell(form.cells[i], i)
            self.assertTrue(said(check).startswith("Your graph differs"))
            form.cells[weights].source = solution
            for i in (weights, check, train, look):
                text = said(i)
                errors = ["{}: {}".format(o.ename, o.evalue) for o in form.cells[i].outputs if o.output_type == "error"]
                self.assertEqual(errors, [], "cell {} after the correction: {}".format(i + 1, text[-500:]))
            self.assertTrue(said(check).startswith("Your graph is the one"))

    def test_ltfn1(self):
        nb = self._execute("ltfn1")
        # The graph is drawn (an SVG) and the training printed the post's lines.
        outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs]
        self.assertTrue(any("image/svg+xml" in o.get("data", {}) for o in outputs))
        self.assertTrue(any("Cost:" in o.get("text", "") for o in outputs))
        # Every picture is shown: MNIST's first ten, watch it learn four times, the ten templates and what
        # training added to them (a plt.show() after pictures/ switched matplotlib to Agg showed only two).
        self.assertEqual(sum("image/png" in o.get("data", {}) for o in outputs), 7)

    def _widget_pictures(self, nb):
        """The titles of the widgets' stand-ins in the page --render writes (labs/display): a picture of
        each widget's first state and the note that the live one needs //:lessons."""
        page = lessons.to_html(nb, "page")
        self.assertNotIn('type="application/vnd.jupyter.widget-view+json"', page)  # no widget state stored
        self.assertEqual(page.count("open the lesson with <code>bazel run //:lessons</code>"), page.count('"ltfn-static"'))
        return re.findall(r'<div class="ltfn-static"><p><b>([^<]+)</b>', page)

    def test_ltfn2(self):
        nb = self._execute("ltfn2")
        pictures = self._widget_pictures(nb)
        self.assertIn("The session.run explorer", pictures)
        self.assertIn("Predict, then check", pictures)
        self.assertIn("The //:deps report", pictures)

    def test_ltfn3(self):
        self._execute("ltfn3")

    def test_ltfn4(self):
        self._execute("ltfn4")

    def test_ltfn5(self):
        self._execute("ltfn5")

    def test_ltfn6(self):
        nb = self._execute("ltfn6")
        self.assertEqual(self._widget_pictures(nb), ["The initialization microscope"])

    def test_a_broken_cell_names_the_notebook_cell_and_error(self):
        import nbformat
        folder = self.create_tempdir().full_path
        nb = nbformat.read(NOTEBOOKS[0], as_version=4)
        nb.cells = nb.cells[:2] + [nbformat.v4.new_code_cell("x = 1\nundefined_name + x")]
        path = os.path.join(folder, "ltfn9_broken.ipynb")
        nbformat.write(nb, path)
        executed, error = lessons.execute(path, quick=True, timeout=300, root=ROOT)
        self.assertIsInstance(error, lessons.CellError)
        self.assertIn("ltfn9_broken.ipynb, cell 3 of 3", str(error))
        self.assertIn("NameError", str(error))
        self.assertEqual(executed.cells[2].outputs[-1]["ename"], "NameError")


class ProgramTest(absltest.TestCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        _jupyter_dirs()

    def test_a_served_kernel_runs_the_full_setting_even_if_the_tests_quick_one_was_set(self):
        saved = dict(os.environ)
        self.addCleanup(lambda: (os.environ.clear(), os.environ.update(saved)))
        os.environ[lessons.QUICK_VARIABLE] = "1"
        os.environ["LTFN_TEST_OTHER_NAME"] = "kept"  # (Bazel's test environment has no HOME to look at)
        lessons.use_environment(lessons.kernel_env(testing.ROOT, quick=False))
        self.assertNotIn(lessons.QUICK_VARIABLE, os.environ)  # a browser check found it leaked to kernels
        self.assertEqual(os.environ["PYTHONPATH"].split(os.pathsep)[0], testing.ROOT)
        self.assertEqual(os.environ["LTFN_TEST_OTHER_NAME"], "kept")

    def run_lessons(self, args, cwd=None, timeout=600):
        return testing.run_program("programs/lessons.py", args, cwd=cwd, timeout=timeout,
                                   env={"BUILD_WORKING_DIRECTORY": cwd or ROOT})

    def test_render_writes_html_with_outputs(self):
        folder = self.create_tempdir().full_path
        done = self.run_lessons(["--render=pages", "--quick", "ltfn4"], cwd=folder)
        self.assertEqual(done.returncode, 0, done.stderr[-2000:])
        with open(os.path.join(folder, "pages", "ltfn4_convolutions.html"), encoding="utf-8") as f:
            page = f.read()
        self.assertIn("LTFN 4", page)
        self.assertIn("Output shape: 3 x 3 x 1", page)  # an output, computed by TensorFlow when rendering
        self.assertIn("data:image/png;base64", page)  # the grids, drawn
        with open(os.path.join(folder, "pages", "index.html"), encoding="utf-8") as f:
            self.assertIn('href="ltfn4_convolutions.html"', f.read())
        # How long each code cell took, one line each as it finishes: how the full setting is timed.
        # Each line names the cell by its number among all cells and by its first line, as the notebook has them.
        timed = re.findall(r"^  cell +(\d+): +[\d.]+ s  (.*)$", done.stdout, re.M)
        with open(lessons.find_notebook(ROOT, "ltfn4"), encoding="utf-8") as f:
            cells = json.load(f)["cells"]
        expected = [(str(number), (source_of(cell).strip().splitlines() or [""])[0][:60])
                    for number, cell in enumerate(cells, 1) if cell["cell_type"] == "code"]
        self.assertEqual(timed, expected, done.stdout)
        self.assertRegex(done.stdout, r"longest: cell \d+ \([\d.]+ s\)")

    def test_mistakes_are_one_line(self):
        folder = self.create_tempdir().full_path
        blocker = os.path.join(folder, "file")
        open(blocker, "w").close()
        for args, words in ((["ltfn7"], "no lesson named ltfn7"),
                            (["--render=file/pages"], "--render"),
                            (["--quick"], "--quick goes with --render"),
                            (["--exercises", "--render=x"], "--exercises opens the exercise forms"),
                            (["--render=x", "--no-browser"], "unexpected arguments with --render"),
                            (["--port=70000"], "is not a port number"),
                            (["--bogus=1"], "--bogus is neither a flag of //:lessons nor one of JupyterLab's"),
                            (["ltfn1", "ltfn2"], "unexpected argument ltfn2")):
            done = self.run_lessons(args, cwd=folder, timeout=120)
            self.assertEqual(done.returncode, 1, (args, done.stderr))
            lines = done.stderr.strip().splitlines()
            self.assertEqual(len(lines), 1, (args, done.stderr))
            self.assertTrue(lines[0].startswith("error: ") and words in lines[0], (args, lines))

    def test_serves_the_lessons_on_localhost(self):
        # --port=0: the program picks a free port and prints it in the URL. It is released before
        # Jupyter binds it, so another process can take it in between: then the server is started again.
        for _ in range(3):
            contents, said = self._serve_and_list()
            if contents is not None:
                break
            self.assertRegex(said, "in use|no available port|not available", "the server stopped; it said:\n" + said)
        self.assertIsNotNone(contents, "three ports in a row were taken:\n" + said)
        # lessons/ is the server's root, and the notebooks are all a learner sees there: no kit.py,
        # __init__.py or BUILD (hidden: --ContentsManager.hide_globs).
        names = sorted(item["name"] for item in contents["content"])
        self.assertEqual(names, [os.path.basename(p) for p in NOTEBOOKS])

    def test_the_news_prompt_is_switched_off(self):
        # JupyterLab asks "Would you like to get notified about official Jupyter news?" unless fetchNews
        # is decided; the lessons decide it in the app settings folder they pass to JupyterLab.
        folder = lessons.lab_settings_dir()
        with open(os.path.join(folder, "overrides.json"), encoding="utf-8") as f:
            settings = json.load(f)
        self.assertEqual(settings["@jupyterlab/apputils-extension:notification"]["fetchNews"], "false")
        argv = lessons.lab_argv(ROOT, lessons.parse(["--port=0"])[0], [], "token")
        self.assertIn("--LabApp.app_settings_dir=" + folder, argv)

    def _serve_and_list(self):
        """(the listing of the server's root, None if the server stopped; what it said on stderr)."""
        argv, env = testing.python_command("programs/lessons.py", ["--no-browser", "--port=0"])
        with tempfile.TemporaryFile("w+") as stderr:
            server = subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=stderr, text=True)
            try:
                lines = [server.stdout.readline(), server.stdout.readline()]
                if server.poll() is not None and not lines[1]:
                    return None, _read(stderr)  # refused before starting Jupyter
                url = lines[1].split()[1]
                self.assertRegex(url, r"^http://127\.0\.0\.1:[1-9][0-9]*/lab\?token=", lines)
                port = int(url.split(":")[2].split("/")[0])
                token = url.split("token=")[1]
                # Generous, as tensorboard_test's: a loaded machine can take minutes to start Jupyter; the
                # loop ends as soon as it answers, the deadline only stops waiting for a server that never does.
                deadline = time.time() + 600
                while time.time() < deadline:
                    try:
                        with urllib.request.urlopen("http://127.0.0.1:{}/api/contents?token={}".format(port, token),
                                                    timeout=10) as response:
                            return json.load(response), _read(stderr)
                    except (urllib.error.URLError, ConnectionError):
                        if server.poll() is not None:
                            return None, _read(stderr)
                        time.sleep(1)
                self.fail("the server did not answer in 600 s; it said:\n" + _read(stderr))
            finally:
                server.terminate()
                server.wait(timeout=60)
                server.stdout.close()


def _read(f):
    f.seek(0)
    return f.read()

if __name__ == "__main__":
    absltest.main()
