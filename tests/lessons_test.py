"""The lessons (lessons/*.ipynb) and `//:lessons` (programs/lessons.py).

Every notebook is executed top to bottom in a fresh kernel in the quick setting (LTFN_LESSONS_QUICK=1);
a cell that raises fails its test naming the notebook, the cell and the error. The notebooks are checked
to be committed without outputs and to hold no network code (they import graphs/). The program is run
as `bazel run` would: --render writes HTML pages with outputs, mistakes are one line, and the server
answers on 127.0.0.1 with lessons/ open.
"""

import ast
import json
import os
import re
import subprocess
import tempfile
import time
import urllib.error
import urllib.request

from absl.testing import absltest

from programs import lessons
from tests import testing

ROOT = testing.ROOT
NOTEBOOKS = lessons.notebooks(ROOT)

# Calls that build network code; a lesson imports graphs/ instead of making them in a cell.
NETWORK_CALLS = frozenset([
    "get_variable", "Variable", "placeholder", "conv2d", "max_pool", "max_pool2d", "matmul", "bias_add", "relu",
    "dense", "softmax_cross_entropy_with_logits", "GradientDescentOptimizer", "variable_scope", "random_normal",
])


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


def network_calls(source):
    """The NETWORK_CALLS a cell's code makes, by the called name (`tf.nn.conv2d(...)` -> conv2d)."""
    from IPython.core.inputtransformer2 import TransformerManager
    found = []
    # IPython's magics (`%tensorboard ...`) become the calls they stand for, so the cell parses as Python.
    for node in ast.walk(ast.parse(TransformerManager().transform_cell(source))):
        if isinstance(node, ast.Call):
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
            if name in NETWORK_CALLS:
                found.append(name)
    return found


def source_of(cell):
    return "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]


class NotebooksTest(absltest.TestCase):

    def test_six_lessons_in_the_posts_order(self):
        titles = []
        for path in NOTEBOOKS:
            with open(path, encoding="utf-8") as f:
                cells = json.load(f)["cells"]
            titles.append(source_of(cells[0]).splitlines()[0])
            # Each ends with things to try (and a cell that tries them, or the text says how).
            self.assertTrue(any("## Things to try" in source_of(c) for c in cells[-2:]), path)
        self.assertEqual([t.split(":")[0] for t in titles], ["# LTFN {}".format(n) for n in range(1, 7)])

    def test_committed_without_outputs(self):
        for path in NOTEBOOKS:
            for i, cell in enumerate(code_cells(path)):
                self.assertEqual((cell["outputs"], cell["execution_count"]), ([], None),
                                 "{}: code cell {} was committed with its outputs; clear them".format(path, i + 1))

    def test_no_network_code_in_cells(self):
        for path in NOTEBOOKS:
            for i, cell in enumerate(code_cells(path)):
                self.assertEqual(network_calls(source_of(cell)), [],
                                 "{}: code cell {} builds network code; import it from graphs/".format(path, i + 1))

    def test_the_checker_sees_network_code(self):
        self.assertEqual(network_calls("w = tf.compat.v1.get_variable('w', [3])\ny = tf.nn.conv2d(x, w, 1, 'SAME')\n"
                                       "z = matmul(a, b)\nkit.Run('conv4')"),
                         ["get_variable", "conv2d", "matmul"])


class ExecuteTest(absltest.TestCase):
    """One test per notebook: executed as a person would, top to bottom, in the quick setting."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        _jupyter_dirs()

    def _execute(self, stem):
        path = lessons.find_notebook(ROOT, stem)
        nb, error = lessons.execute(path, quick=True, timeout=600, root=ROOT)
        if error:
            self.fail(str(error))
        return nb

    def test_ltfn1(self):
        nb = self._execute("ltfn1")
        # The graph is drawn (an SVG) and the training printed the post's lines.
        outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs]
        self.assertTrue(any("image/svg+xml" in o.get("data", {}) for o in outputs))
        self.assertTrue(any("Cost:" in o.get("text", "") for o in outputs))

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

    def test_mistakes_are_one_line(self):
        folder = self.create_tempdir().full_path
        blocker = os.path.join(folder, "file")
        open(blocker, "w").close()
        for args, words in ((["ltfn7"], "no lesson named ltfn7"),
                            (["--render=file/pages"], "--render"),
                            (["--quick"], "--quick goes with --render"),
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
