"""The one browser test (issue 20): LTFN 2 used in JupyterLab as a learner would, in headless Chromium.

Starts `//:lessons` (programs/lessons.py) on a free port, opens LTFN 2 in Debian's Chromium driven by
Playwright's Python package (its own browser download is never used: executable_path points at
/usr/bin/chromium, which .ci/run installs), and checks the learner's first view (only the lessons in
the file browser, no prompt about Jupyter's news), runs every cell (Run > Run All Cells), checks that
no cell shows an error and the widgets drew, then changes the explorer's fetch to `cost` and checks
that the drawing changed and that running it shows TensorFlow's missing-feed error. Then it predicts as
a learner does: it types two predictions of which boxes `session.run(logits)` uses into the lesson's
prediction cell, runs that cell alone, and checks the verdicts, right and then wrong, which the cell
reads from its traced run. Anything wrong fails with the path of a screenshot of the page.
"""

import os
import re
import shutil
import signal
import subprocess
import tempfile
import time

from absl.testing import absltest

from tests import testing

CHROMIUM = "/usr/bin/chromium"
# As root, in a container, offline: no sandbox (needs user namespaces), no GPU, no calls home.
CHROMIUM_FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync"]
NOTEBOOK = "ltfn2_graphs_and_shapes.ipynb"
SERVER_START = 600  # s; a loaded machine can take minutes to start Jupyter (as lessons_test waits)
RUN_ALL = 900  # s for every cell of LTFN 2 in the full setting (about 2 minutes on an idle machine)

# Every code cell's prompt, and the outputs that are errors (a raised exception's traceback, or a
# widget that failed to render).
PROMPTS_JS = """() => [...document.querySelectorAll('.jp-Notebook .jp-CodeCell .jp-InputPrompt')]
                     .map(e => e.textContent.trim())"""
ERRORS_JS = """() => {
  const found = [];
  document.querySelectorAll('.jp-Notebook .jp-CodeCell').forEach((cell, i) => {
    cell.querySelectorAll('.jp-OutputArea-output').forEach(out => {
      const text = out.textContent;
      const error = out.getAttribute('data-mime-type') === 'application/vnd.jupyter.stderr' &&
                    /Traceback|Error:/.test(text);
      if (error || /Error displaying widget|Failed to load model class/.test(text)) {
        found.push('code cell ' + (i + 1) + ': ' + text.trim().split('\\n').slice(-3).join(' | ').slice(0, 300));
      }
    });
  });
  return found;
}"""
SVG_JS = "() => { const s = document.querySelector('.ltfn-explorer svg'); return s ? s.outerHTML : null; }"
# The lesson's prediction cell for `session.run(logits)` on last time's graph, and the learner's two answers.
PREDICTION_CELL = "test_step = kit.check_prediction("
PREDICTION = '''test_images = data.test.images[:100]
you_predict = {}
test_step = kit.check_prediction(you_predict, last.graph, last.logits, {{last.input: test_images}})'''


def _tree(base):
    """A copy of the source tree to serve: the rooms linked, lessons/ a real folder whose notebooks are
    copies. JupyterLab saves a notebook while it runs (outputs and all): into the copy, not the tree."""
    root = os.path.join(base, "tree")
    shutil.rmtree(root, ignore_errors=True)
    os.makedirs(os.path.join(root, "lessons"))
    for name in os.listdir(testing.ROOT):
        if name != "lessons" and not name.startswith((".", "bazel-")):
            os.symlink(os.path.join(testing.ROOT, name), os.path.join(root, name))
    source = os.path.join(testing.ROOT, "lessons")
    for name in os.listdir(source):
        if name.endswith(".ipynb"):
            shutil.copyfile(os.path.join(source, name), os.path.join(root, "lessons", name))
        else:
            os.symlink(os.path.join(source, name), os.path.join(root, "lessons", name))
    return root


def _env(base, root):
    """Serve `root`; Jupyter's, IPython's, matplotlib's and TensorBoard's files under the test's own folder."""
    # BUILD_WORKSPACE_DIRECTORY is where //:lessons finds the lessons (programs/lessons.source_root).
    env = {"BUILD_WORKSPACE_DIRECTORY": root, "BUILD_WORKING_DIRECTORY": root, "TMPDIR": base,
           "JUPYTER_PLATFORM_DIRS": "1"}
    for variable, name in (("JUPYTER_RUNTIME_DIR", "jupyter-runtime"), ("JUPYTER_DATA_DIR", "jupyter-data"),
                           ("JUPYTER_CONFIG_DIR", "jupyter-config"), ("IPYTHONDIR", "ipython"),
                           ("MPLCONFIGDIR", "matplotlib"), ("HOME", "home")):
        env[variable] = os.path.join(base, name)
        os.makedirs(env[variable], exist_ok=True)
    return env


def _stop_tensorboards(base):
    """The TensorBoard servers the lesson started (their records are in its TMPDIR), if any survived."""
    folder = os.path.join(base, ".tensorboard-info")
    for name in os.listdir(folder) if os.path.isdir(folder) else []:
        match = re.match(r"pid-(\d+)\.info$", name)
        if match:
            try:
                os.kill(int(match.group(1)), signal.SIGTERM)
            except OSError:
                pass


class Server:
    """programs/lessons.py --no-browser --port=0, as `bazel run //:lessons` starts it."""

    def __init__(self, env):
        argv, full_env = testing.python_command("programs/lessons.py", ["--no-browser", "--port=0"], env)
        self.log = tempfile.TemporaryFile("w+")
        self.process = subprocess.Popen(argv, env=full_env, stdout=subprocess.PIPE, stderr=self.log, text=True,
                                        start_new_session=True)
        self.process.stdout.readline()  # "Lessons: ..."
        line = self.process.stdout.readline()  # "Open http://127.0.0.1:PORT/lab?token=...  (Ctrl+C to stop)"
        match = re.search(r"(http://127\.0\.0\.1:\d+)/lab\?token=(\w+)", line)
        if not match:
            raise AssertionError("//:lessons did not print its URL; it said: {!r}\n{}".format(line, self.said()))
        self.base, self.token = match.groups()

    def said(self):
        self.log.seek(0)
        return self.log.read()[-3000:]

    def stop(self):
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)  # the server, and the kernels it started
            try:
                self.process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        self.process.stdout.close()
        self.log.close()


class BrowserTest(absltest.TestCase):

    def setUp(self):
        super().setUp()
        if not os.path.exists(CHROMIUM):
            self.fail("{} is missing: apt-get install -y chromium (.ci/run installs it)".format(CHROMIUM))
        self.base = os.environ.get("TEST_TMPDIR") or tempfile.mkdtemp()
        self.shots = os.environ.get("TEST_UNDECLARED_OUTPUTS_DIR") or self.base
        self.root = _tree(self.base)
        self.server = Server(_env(self.base, self.root))
        self.addCleanup(_stop_tensorboards, self.base)
        self.addCleanup(self.server.stop)

    def test_ltfn2_runs_in_jupyterlab_and_the_explorer_redraws(self):
        from playwright.sync_api import Error as PlaywrightError
        from playwright.sync_api import sync_playwright

        profile = os.path.join(self.base, "chromium-profile")  # a new, empty one
        shutil.rmtree(profile, ignore_errors=True)
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch_persistent_context(
                profile, executable_path=CHROMIUM, headless=True, args=CHROMIUM_FLAGS,
                viewport={"width": 1400, "height": 1000})
            page = browser.pages[0] if browser.pages else browser.new_page()
            try:
                self._use_the_lesson(page)
            except (AssertionError, PlaywrightError) as e:
                shot = os.path.join(self.shots, "browser_test_failure.png")
                try:
                    page.screenshot(path=shot, full_page=False)
                except PlaywrightError:
                    shot = "(no screenshot: the page is gone)"
                raise AssertionError("{}\nscreenshot: {}\nthe server said:\n{}".format(e, shot, self.server.said()))
            finally:
                browser.close()

    def _use_the_lesson(self, page):
        page.goto("{}/lab/tree/{}?token={}".format(self.server.base, NOTEBOOK, self.server.token),
                  timeout=SERVER_START * 1000)
        page.wait_for_selector(".jp-Notebook .jp-CodeCell", timeout=SERVER_START * 1000)
        # The first view: the six lessons and nothing else, no question to dismiss.
        page.wait_for_selector(".jp-DirListing-item", timeout=60000)
        listed = sorted(page.locator(".jp-DirListing-item .jp-DirListing-itemName").all_inner_texts())
        notebooks = sorted(n for n in os.listdir(os.path.join(self.root, "lessons")) if n.endswith(".ipynb"))
        self.assertEqual(listed, notebooks)
        # The kernel started: the status bar says "Python 3 (ipykernel) | Idle".
        page.wait_for_function("() => document.body.innerText.includes('| Idle')", timeout=SERVER_START * 1000)
        self.assertEqual(page.locator("text=official Jupyter news").count(), 0)

        started = time.time()
        page.locator(".lm-MenuBar-itemLabel", has_text="Run").first.click()
        page.locator(".lm-Menu-itemLabel", has_text="Run All Cells").first.click()
        prompts = self._wait_until_every_cell_ran(page)
        print("LTFN 2: {} code cells ran in {:.0f} s".format(len(prompts), time.time() - started))
        self.assertEqual(page.evaluate(ERRORS_JS), [])
        for widget in ("ltfn-explorer", "ltfn-question", "ltfn-report"):
            self.assertGreater(page.locator("." + widget).count(), 0, "no {} widget was drawn".format(widget))

        # The explorer: fetch cost (with only input fed) instead of logits.
        explorer = page.locator(".ltfn-explorer")
        explorer.scroll_into_view_if_needed()
        before = page.evaluate(SVG_JS)
        self.assertIsNotNone(before, "the explorer drew no graph")
        explorer.locator("select").first.select_option("cost")
        page.wait_for_function("(before) => { const s = document.querySelector('.ltfn-explorer svg');"
                               " return s && s.outerHTML !== before; }", arg=before, timeout=120000)
        after = page.evaluate(SVG_JS)
        self.assertIn('stroke="red"', after)  # labels: needed, not fed
        self.assertNotIn('stroke="red"', before)
        explorer.locator("button", has_text="Run it (traced)").click()
        explorer.locator("text=TensorFlow refused").wait_for(timeout=120000)
        self.assertIn("You must feed a value for placeholder tensor 'labels'", explorer.inner_text())
        self.assertEqual(page.evaluate(ERRORS_JS), [])

        # Predict, then check: the right boxes, then one too many (labels, which logits does not need).
        said = self._predict(page, '{"input", "layer1", "logits"}', "Right:")
        self.assertIn("Right: you predicted exactly the boxes the traced run used.", said)
        said = self._predict(page, '{"input", "labels", "layer1", "logits"}', "Not quite:")
        self.assertIn("Not quite: in your prediction, and did not run: labels.", said)
        self.assertEqual(page.evaluate(ERRORS_JS), [])

    def _predict(self, page, answer, verdict):
        """Types `answer` as you_predict into the prediction cell, runs that cell alone (Shift+Enter) and
        returns its output once it shows `verdict`."""
        cell = page.locator(".jp-Notebook .jp-CodeCell", has_text=PREDICTION_CELL).first
        cell.scroll_into_view_if_needed()
        cell.locator(".cm-content").click()
        page.keyboard.press("Control+A")
        page.keyboard.insert_text(PREDICTION.format(answer))  # as pasted: no brackets closed for us
        page.keyboard.press("Shift+Enter")
        output = cell.locator(".jp-OutputArea-output", has_text=verdict)
        output.wait_for(timeout=120000)
        return output.inner_text()

    def _wait_until_every_cell_ran(self, page):
        deadline = time.time() + RUN_ALL
        while time.time() < deadline:
            prompts = page.evaluate(PROMPTS_JS)
            if prompts and all(re.match(r"^\[\d+\]:$", p) for p in prompts):
                return prompts
            errors = page.evaluate(ERRORS_JS)
            if errors:  # Run All stops at a cell that raised: the rest stay unrun
                self.fail("a cell raised: {}".format(errors))
            time.sleep(2)
        self.fail("not every cell ran in {} s: prompts {}".format(RUN_ALL, page.evaluate(PROMPTS_JS)))


if __name__ == "__main__":
    absltest.main()
