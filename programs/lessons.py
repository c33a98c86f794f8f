"""The lessons, one notebook per post: `bazel run //:lessons` opens them in JupyterLab.

  bazel run //:lessons                        JupyterLab on http://127.0.0.1:8888 with lessons/ open
  bazel run //:lessons -- ltfn2               the same, opening LTFN 2's notebook
  bazel run //:lessons -- --port=9000 --no-browser   --port and other flags go to Jupyter
  bazel run //:lessons -- --port=0            any free port (the URL printed says which)
  bazel run //:lessons -- --render=DIR        executes the notebooks and writes DIR/<notebook>.html
                                              and DIR/index.html, for reading without a server
  bazel run //:lessons -- --render=DIR --quick ltfn4   ... in the quick setting, one notebook
  bazel run //:lessons -- --exercises         the exercise forms (lessons/exercises/, made from the worked
                                              notebooks by programs/exercises.py): a few lines to write,
                                              graded by each lesson's check cell

The notebooks are the source tree's lessons/ (BUILD_WORKSPACE_DIRECTORY under `bazel run`), so a
learner's edits stay in the working copy; the kernel runs in the project's environment (this very
interpreter) with the source tree importable. A relative --render DIR resolves against the folder
`bazel run` was started in. --render prints how long each cell took.
"""

import os
import secrets
import socket
import sys
import time

from programs import cli
from programs import exercises

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8888
QUICK_VARIABLE = "LTFN_LESSONS_QUICK"  # read by each notebook's first cell (lessons/kit.py)
KERNEL = "python3"  # ipykernel's own kernel: this interpreter, so the project's environment
# What the file browser (and the server's contents API) leaves out of lessons/: the kit and the
# widgets' glue, Bazel's BUILD, caches. A learner sees the notebooks.
# (Jupyter's own defaults, which this list replaces, are kept in it.)
HIDDEN_FILES = ["*.py", "BUILD", "BUILD.bazel", "__pycache__", "*.pyc", "*.pyo", ".DS_Store", "*~"]
# JupyterLab's settings for the lessons (overrides.json in its app settings folder): no prompt asking
# to fetch Jupyter's news over the first cell, and no check for a newer JupyterLab (both would reach
# out of this machine).
LAB_SETTINGS = {"@jupyterlab/apputils-extension:notification": {"fetchNews": "false", "checkForUpdates": False}}


def source_root():
    """The source tree (not Bazel's runfiles copy): under `bazel run`, BUILD_WORKSPACE_DIRECTORY."""
    workspace = os.environ.get("BUILD_WORKSPACE_DIRECTORY")
    if workspace and os.path.isdir(os.path.join(workspace, "lessons")):
        return workspace
    return os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def notebooks(root, folder=None):
    """The lessons' notebooks (in lessons/, or in `folder`), LTFN 1 first."""
    return exercises.notebooks(folder or os.path.join(root, "lessons"))


def find_notebook(root, name, folder=None):
    """`ltfn2`, `ltfn2_graphs_and_shapes` or its file name -> the notebook's path; UsageError if none."""
    all_paths = notebooks(root, folder)
    stem = os.path.basename(name)
    stem = stem[:-len(".ipynb")] if stem.endswith(".ipynb") else stem
    for path in all_paths:
        base = os.path.basename(path)[:-len(".ipynb")]
        if stem in (base, base.split("_")[0]):
            return path
    raise cli.UsageError("no lesson named {}; choose one of {}".format(
        name, ", ".join(os.path.basename(p).split("_")[0] for p in all_paths)))


def kernel_env(root, quick):
    """The kernel's environment: the source tree importable first, the quick setting on or off."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([root] + [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p])
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    # `%tensorboard` (TensorBoard's notebook extension) starts this environment's TensorBoard, not
    # whichever `tensorboard` is first on PATH.
    tensorboard = os.path.join(os.path.dirname(sys.executable), "tensorboard")
    if os.path.exists(tensorboard):
        env.setdefault("TENSORBOARD_BINARY", tensorboard)
    if quick:
        env[QUICK_VARIABLE] = "1"
    else:
        env.pop(QUICK_VARIABLE, None)
    return env


def use_environment(env):
    """Makes env this process's environment, for the kernels the server starts: names env lacks are
    removed too (os.environ.update alone would leave LTFN_LESSONS_QUICK on, and a learner's notebooks
    would run in the tests' quick setting)."""
    for name in set(os.environ) - set(env):
        del os.environ[name]
    os.environ.update(env)


class CellError(Exception):
    """A cell raised: says which notebook, which cell and what error, in one line."""


def execute(path, quick, timeout=3600, root=None, on_cell=None):
    """Runs every cell of the notebook at `path` in a fresh kernel (nbclient), in its own folder.

    on_cell(number, first line, seconds), if given, is called as each code cell finishes.
    Returns (notebook with outputs, None) or (notebook with the outputs so far, CellError).
    """
    import nbclient
    import nbformat

    root = root or os.path.dirname(os.path.dirname(os.path.abspath(path)))
    nb = nbformat.read(path, as_version=4)
    # store_widget_state=False: a rendered page has no kernel, so its widgets' state would only make
    # nbconvert fetch the widget renderer from the web; without it each widget's picture shows (labs/display).
    client = nbclient.NotebookClient(nb, timeout=timeout, kernel_name=KERNEL, store_widget_state=False,
                                     resources={"metadata": {"path": os.path.dirname(os.path.abspath(path))}})
    name = os.path.basename(path)
    with client.setup_kernel(env=kernel_env(root, quick)):
        for index, cell in enumerate(nb.cells):
            started = time.perf_counter()
            try:
                client.execute_cell(cell, index)
                if cell.cell_type == "code" and on_cell is not None:
                    on_cell(index + 1, _first_line(cell), time.perf_counter() - started)
            except nbclient.exceptions.CellExecutionError as e:
                return nb, CellError("{}, cell {} of {} ({!r}): {}: {}".format(
                    name, index + 1, len(nb.cells), _first_line(cell), e.ename, e.evalue))
            except nbclient.exceptions.CellTimeoutError:
                return nb, CellError("{}, cell {} of {}: still running after {} s".format(
                    name, index + 1, len(nb.cells), timeout))
            except nbclient.exceptions.DeadKernelError as e:
                return nb, CellError("{}, cell {} of {}: the kernel died ({})".format(
                    name, index + 1, len(nb.cells), e))
    return nb, None


def _first_line(cell):
    return (cell.source.strip().splitlines()[0] if cell.source.strip() else "")[:60]


def format_timing(number, line, seconds):
    """`  cell  21:    98.3 s  train(...)`: what --render prints as each cell finishes."""
    return "  cell {:>3}: {:>7.1f} s  {}".format(number, seconds, line)


def to_html(nb, title):
    from nbconvert import HTMLExporter

    exporter = HTMLExporter(template_name="lab")
    nb.metadata["title"] = title
    body, _ = exporter.from_notebook_node(nb)
    return body


def title_of(nb, fallback):
    """The notebook's first heading (`LTFN 2: Graphs and Shapes`)."""
    for cell in nb.cells:
        if cell.cell_type == "markdown" and cell.source.startswith("# "):
            return cell.source.splitlines()[0][2:].strip()
    return fallback


def render(root, out_dir, paths, quick, log=print):
    """Executes each notebook and writes out_dir/<name>.html and out_dir/index.html; returns the errors.

    A notebook whose cell raises is still written, with its outputs up to the error (shown there)."""
    import html

    pages, errors = [], []
    for path in paths:
        name = os.path.basename(path)[:-len(".ipynb")]
        log("Executing {}{} ...".format(name, " (quick setting)" if quick else ""))
        started = time.time()
        timings = []

        def on_cell(number, line, seconds):
            timings.append((seconds, number))
            log(format_timing(number, line, seconds))

        nb, error = execute(path, quick, root=root, on_cell=on_cell)
        if timings:
            log("  longest: cell {} ({:.1f} s)".format(max(timings)[1], max(timings)[0]))
        title = title_of(nb, name)
        page = os.path.join(out_dir, name + ".html")
        _write(page, to_html(nb, title))
        pages.append((name + ".html", title, error))
        if error:
            errors.append(error)
            log("  FAILED: {}".format(error))
        log("  wrote {} ({:.0f} s)".format(page, time.time() - started))
    items = "\n".join('<li><a href="{}">{}</a>{}</li>'.format(
        html.escape(href), html.escape(title), " (stopped at an error: {})".format(html.escape(str(e))) if e else "")
        for href, title, e in pages)
    index = os.path.join(out_dir, "index.html")
    _write(index, "<!DOCTYPE html>\n<html><head><meta charset='utf-8'><title>LTFN lessons</title></head>\n"
                  "<body><h1>LTFN lessons</h1>\n<p>Executed{}; each page shows the cells and their outputs.</p>\n"
                  "<ol>\n{}\n</ol></body></html>\n".format(" in the quick setting" if quick else "", items))
    log("Wrote {}".format(index))
    return errors


def _write(path, text):
    try:
        with open(path, "w", encoding="utf-8") as f:
            f.write(text)
    except OSError as e:
        raise cli.UsageError("cannot write {} ({}); choose a --render folder you can write to".format(
            path, e.strerror or e))


def make_exercises(root):
    """lessons/exercises/, with the exercise form of every lesson that has one (programs/exercises.py)."""
    folder = os.path.join(root, exercises.FOLDER)
    try:
        exercises.write_all(notebooks(root), folder)
    except OSError as e:
        raise cli.UsageError("cannot write the exercise forms into {} ({}); check that folder's permissions".format(
            folder, e.strerror or e))
    except exercises.MarkerError as e:
        raise cli.UsageError("a worked lesson's solution markers are broken: {}".format(e))
    return folder


def check_port(host, port):
    """The port to serve on: `port`, or a free one for 0 (as //:tensorboard takes it). Refuses a port
    Jupyter could not serve on, before Jupyter starts (it would pick another one, and the URL printed
    here would be wrong)."""
    if not 0 <= port <= 65535:
        raise cli.UsageError("--port {} is not a port number (1 to 65535, or 0 for any free port)".format(port))
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        try:
            s.bind((host, port))
        except OSError as e:
            raise cli.UsageError("cannot serve on {}:{} ({}); choose another --port".format(
                host, port, e.strerror or e))
        # Port 0: the system's choice, released for Jupyter to bind a moment later (Jupyter's own
        # --port=0 would choose only after the URL is printed).
        return s.getsockname()[1]


def lab_settings_dir():
    """A folder holding LAB_SETTINGS as JupyterLab's overrides.json (--LabApp.app_settings_dir).

    This environment has no app settings of its own (share/jupyter/lab/settings), so nothing is lost;
    the learner's own settings stay in their user settings folder."""
    import json
    import tempfile

    folder = os.path.join(tempfile.gettempdir(), "ltfn-lessons", "jupyterlab-settings")
    os.makedirs(folder, exist_ok=True)
    _write(os.path.join(folder, "overrides.json"), json.dumps(LAB_SETTINGS, indent=2) + "\n")
    return folder


def check_jupyter_arguments(rest):
    """The arguments passed on to JupyterLab must be its own: Jupyter would only warn about a mistyped
    one and start anyway, so it is refused here, in one line."""
    from jupyterlab.labapp import LabApp  # imported only when serving: it takes a second

    app = LabApp()
    expects_value = False
    for arg in rest:
        if expects_value and not arg.startswith("-"):
            expects_value = False  # the value of `--alias VALUE`
            continue
        if not arg.startswith("-"):
            raise cli.UsageError("unexpected argument {}; name at most one lesson (ltfn1 ... ltfn6), and give flags "
                                 "as --name=value".format(arg))
        name, has_value = arg.lstrip("-").split("=", 1)[0], "=" in arg
        if "." not in name and name not in app.flags and name not in app.aliases:  # --Class.trait=value is config
            raise cli.UsageError("--{} is neither a flag of //:lessons nor one of JupyterLab's (jupyter lab "
                                 "--help-all lists those); see --help".format(name))
        expects_value = name in app.aliases and not has_value


def lab_argv(root, args, rest, token, folder=None):
    """JupyterLab's argv (without the program name) for our parsed arguments; folder: the one it opens
    (lessons/, or lessons/exercises/ with --exercises)."""
    folder = folder or os.path.join(root, "lessons")
    argv = ["--ServerApp.ip=" + args.host, "--ServerApp.port={}".format(args.port),
            "--ServerApp.port_retries=0", "--ServerApp.root_dir=" + folder,
            "--IdentityProvider.token=" + token,
            "--ContentsManager.hide_globs={!r}".format(HIDDEN_FILES),
            "--LabApp.app_settings_dir=" + lab_settings_dir()]
    if hasattr(os, "geteuid") and os.geteuid() == 0 and "--allow-root" not in rest:
        argv.append("--allow-root")  # Jupyter refuses to run as root without it
    if args.notebook:
        argv.append(os.path.basename(find_notebook(root, args.notebook, folder)))
    return argv + rest


def parse(argv):
    parser = cli.ArgumentParser(prog="bazel run //:lessons --", description=__doc__.splitlines()[0],
                                epilog="Any other flag goes to JupyterLab (jupyter lab --help-all), e.g. --no-browser.")
    parser.add_argument("notebook", nargs="?", help="a lesson to open or render: ltfn1 ... ltfn6 (default: all)")
    parser.add_argument("--render", metavar="DIR",
                        help="execute the notebooks and write them as HTML pages into DIR, then exit")
    parser.add_argument("--quick", action="store_true",
                        help="with --render: the quick setting the tests use (few steps, small batches)")
    parser.add_argument("--exercises", action="store_true",
                        help="open the exercise forms (lessons/exercises/, made from the worked lessons; "
                             "a form you edited is kept)")
    parser.add_argument("--host", default=DEFAULT_HOST, help="address to serve on (default 127.0.0.1: this machine only)")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help="port to serve on (default 8888; 0: any free port)")
    args, rest = parser.parse_known_args(argv)
    if args.render is None and args.quick:
        raise cli.UsageError("--quick goes with --render (a notebook you open runs in the full setting)")
    if args.render is not None and args.exercises:
        raise cli.UsageError("--exercises opens the exercise forms to work on; --render runs the worked lessons "
                             "(use one of them)")
    if args.render is not None and rest:
        raise cli.UsageError("unexpected arguments with --render: {}".format(" ".join(rest)))
    return args, rest


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    root = source_root()
    try:
        args, rest = parse(argv)
        if args.render is not None:
            out_dir = cli.make_writable_dir(cli.user_path(args.render), "render")
            paths = [find_notebook(root, args.notebook)] if args.notebook else notebooks(root)
            errors = render(root, out_dir, paths, args.quick)
            if errors:
                print("error: {} of {} notebooks stopped at an error (their pages show it): {}".format(
                    len(errors), len(paths), "; ".join(str(e) for e in errors)), file=sys.stderr)
                return 1
            return 0
        check_jupyter_arguments(rest)
        args.port = check_port(args.host, args.port)
        folder = make_exercises(root) if args.exercises else os.path.join(root, "lessons")
        token = secrets.token_hex(24)
        lab = lab_argv(root, args, rest, token, folder)
    except cli.UsageError as e:
        print("error: {}".format(e), file=sys.stderr)
        return 1
    use_environment(kernel_env(root, quick=False))
    # Kernels the server starts without a notebook (a console, the API) start in lessons/ too.
    os.chdir(folder)
    page = "lab/tree/" + os.path.basename(find_notebook(root, args.notebook, folder)) if args.notebook else "lab"
    print("{}: {} (JupyterLab, this machine's project environment)".format(
        "Exercises" if args.exercises else "Lessons", folder))
    print("Open http://{}:{}/{}?token={}  (Ctrl+C to stop)".format(args.host, args.port, page, token), flush=True)
    from jupyterlab.labapp import LabApp  # imported only now: a mistyped flag answers at once
    try:
        LabApp.launch_instance(argv=lab)
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
