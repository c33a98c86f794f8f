"""The house's rule (docs/house.md): imports point down only.

Reads every project module's imports with `ast` (nothing is imported or run), so a new module that
breaks the rule fails here, whatever it does at run time.
"""

import ast
import json
import os
import re

from absl.testing import absltest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# Each room and the rooms it may import from. Rooms not listed here (tests/, tools/) are not checked.
ALLOWED = {
    "run": {"programs", "labs", "session", "pictures", "graphs", "data", "machine"},
    "programs": {"programs", "labs", "session", "pictures", "graphs", "data", "machine"},
    # The benchmark times what run.py trains with; it imports no program (its command line is machine/'s).
    "bench": {"bench", "session", "graphs", "data", "machine"},
    # Lessons use the libraries, never a program: what a notebook needs lives in a room below programs/.
    "lessons": {"lessons", "labs", "session", "pictures", "graphs", "data", "machine"},
    # The teaching labs (LTFN 2's dependency explainer, LTFN 4's convolutions, the TF1 pitfalls).
    "labs": {"labs", "session", "pictures", "graphs", "data", "machine"},
    # What happens in a training session returns arrays; the programs draw them (pictures/).
    "session": {"session", "graphs", "data", "machine"},
    "pictures": {"pictures", "graphs", "data", "machine"},
    # The posts' networks and the one builder: nothing of the project above them.
    "graphs": {"graphs"},
    "data": {"data"},
    "machine": {"machine"},
}
ROOMS = set(ALLOWED) | {"tests"}
# The programs: the runner and programs/. Every other room is a library (bench/ included) and imports none of them.
PROGRAMS = {"run", "programs"}


# "issue 22", "Issue #8", "issues 3 and 4", "#26": the tracker's numbers mean nothing to a reader of the pages.
ISSUE_NUMBER = re.compile(r"\bissues? *#?\d+|(?<![\w/&#])#\d+\b(?!-)", re.IGNORECASE)


def room_of(path):
    """`session/trainer.py` -> session; `run.py` -> run."""
    parts = os.path.relpath(path, ROOT).split(os.sep)
    return parts[0] if len(parts) > 1 else os.path.splitext(parts[0])[0]


def project_imports(path):
    """The project rooms a module imports from (standard library and packages are not rooms)."""
    with open(path, encoding="utf-8") as f:
        return imports_in(f.read(), path)


def notebook_imports(path):
    """The project rooms a notebook's code cells import from: the lessons are read like modules."""
    with open(path, encoding="utf-8") as f:
        cells = json.load(f)["cells"]
    found = set()
    for i, cell in enumerate(c for c in cells if c["cell_type"] == "code"):
        source = "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]
        found |= imports_in(python_of(source), "{} code cell {}".format(path, i + 1))
    return found


def python_of(cell_source):
    """A cell's code as Python: IPython's magics (`%tensorboard ...`) become the calls they stand for."""
    from IPython.core.inputtransformer2 import TransformerManager
    return TransformerManager().transform_cell(cell_source)


def imports_in(source, name):
    tree = ast.parse(source, name)
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        else:
            continue
        found.update(name.split(".")[0] for name in names if name.split(".")[0] in ROOMS)
    return found


def imported_modules(path, root=ROOT):
    """The project modules (paths relative to `root`) that the module at `path` imports, anywhere in it:
    `from programs import exercises` and `import programs.exercises` both name programs/exercises.py."""
    with open(path, encoding="utf-8") as f:
        tree = ast.parse(f.read(), path)
    dotted = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            dotted.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            dotted.update([node.module] + [node.module + "." + alias.name for alias in node.names])
    found = set()
    for name in dotted:
        relative = os.path.join(*name.split(".")) + ".py"
        if name.split(".")[0] in ROOMS and os.path.isfile(os.path.join(root, relative)):
            found.add(relative)
    return found


def circles(paths, root=ROOT):
    """Each pair of modules that import each other, as 'a.py <-> b.py'."""
    edges = {os.path.relpath(p, root): imported_modules(p, root) for p in paths}
    return sorted("{} <-> {}".format(a, b) for a in edges for b in edges[a] if a < b and a in edges.get(b, ()))


def modules():
    for folder, dirs, files in os.walk(ROOT):
        dirs[:] = [d for d in dirs if not d.startswith((".", "bazel-")) and d != "__pycache__"]
        for name in files:
            if name.endswith(".py"):
                yield os.path.join(folder, name)


class HouseTest(absltest.TestCase):

    def test_imports_point_down_only(self):
        checked, wrong = 0, []
        for path in modules():
            room = room_of(path)
            if room not in ALLOWED:
                continue
            checked += 1
            for imported in sorted(project_imports(path) - ALLOWED[room]):
                wrong.append("{} imports {}".format(os.path.relpath(path, ROOT), imported))
        self.assertGreater(checked, 20)  # the walk really found the project's modules
        self.assertEqual(wrong, [])

    def test_lessons_import_like_modules_of_their_room(self):
        folder = os.path.join(ROOT, "lessons")
        paths = sorted(os.path.join(folder, n) for n in os.listdir(folder) if n.endswith(".ipynb"))
        self.assertLen(paths, 6)
        found, wrong = set(), []
        for path in paths:
            imported = notebook_imports(path)
            found |= imported
            wrong += ["{} imports {}".format(os.path.relpath(path, ROOT), r) for r in sorted(imported - ALLOWED["lessons"])]
        self.assertEqual(wrong, [])
        self.assertTrue({"lessons", "graphs", "labs", "session"} <= found, found)  # the cells really were read

    def test_no_library_module_and_not_the_benchmark_imports_a_program(self):
        # Read without the table above: a room given "programs" there is still refused here.
        checked, wrong = set(), []
        for path in modules():
            room = room_of(path)
            if room in PROGRAMS or room == "tests":
                continue
            checked.add(room)
            wrong += ["{} imports {}".format(os.path.relpath(path, ROOT), r)
                      for r in sorted(project_imports(path) & PROGRAMS)]
        self.assertTrue(checked >= set(ALLOWED) - PROGRAMS, checked)  # every library room (and bench/) was read
        self.assertEqual(wrong, [])

    def test_what_labs_and_the_benchmark_share_is_defined_once_below_them(self):
        # The traced node parser (labs/deps.py's traced runs, the benchmark's breakdown) and the command line
        # (the programs', the benchmark's): one definition each, in a room both may import.
        homes = {"parse_timeline_label": "session/timeline.py", "user_path": "machine/command_line.py",
                 "parse_command_line": "machine/command_line.py", "run_app": "machine/command_line.py"}
        defined = {name: [] for name in homes}
        for path in modules():
            if room_of(path) == "tests":
                continue
            with open(path, encoding="utf-8") as f:
                tree = ast.parse(f.read(), path)
            for node in ast.walk(tree):
                if isinstance(node, ast.FunctionDef) and node.name in defined:
                    defined[node.name].append(os.path.relpath(path, ROOT).replace(os.sep, "/"))
        self.assertEqual(defined, {name: [home] for name, home in homes.items()})

    def test_the_readme_and_docs_name_no_issue_numbers(self):
        pages = [os.path.join(ROOT, "README.md")] + sorted(
            os.path.join(ROOT, "docs", n) for n in os.listdir(os.path.join(ROOT, "docs")) if n.endswith(".md"))
        self.assertGreater(len(pages), 10)
        found = []
        for path in pages:
            with open(path, encoding="utf-8") as f:
                for number, line in enumerate(f, 1):
                    found += ["{}:{}: {}".format(os.path.relpath(path, ROOT), number, m.group(0))
                              for m in ISSUE_NUMBER.finditer(line)]
        self.assertEqual(found, [])
        # What the pattern takes, and what it leaves (anchors, HTML entities, counts).
        self.assertEqual([m.group(0) for m in ISSUE_NUMBER.finditer(
            "issue 22's; Issue #8; issues 3 and 4; (#26); [a](#2-why) &#8212; 16 issues")],
                         ["issue 22", "Issue #8", "issues 3", "#26"])

    def test_the_checker_sees_a_wrong_arrow(self):
        folder = self.create_tempdir().full_path
        path = os.path.join(folder, "bad.py")
        with open(path, "w") as f:
            f.write("import os\nfrom programs import cli\nimport session.trainer\nfrom . import sibling\n")
        self.assertEqual(project_imports(path), {"programs", "session"})

    def test_no_two_modules_import_each_other(self):
        # Even a lazy import inside a function makes a circle: each module then needs the other to be read.
        self.assertEqual(circles(list(modules())), [])

    def test_the_checker_sees_a_circle(self):
        root = self.create_tempdir().full_path
        os.makedirs(os.path.join(root, "programs"))
        for name, text in (("a", "from programs import b\n"), ("b", "def f():\n    import programs.a\n"),
                           ("c", "from programs import a\n")):
            with open(os.path.join(root, "programs", name + ".py"), "w") as f:
                f.write(text)
        paths = [os.path.join(root, "programs", n + ".py") for n in "abc"]
        self.assertEqual(circles(paths, root), ["programs/a.py <-> programs/b.py"])

    def test_root_holds_only_the_runner(self):
        python_files = sorted(n for n in os.listdir(ROOT) if n.endswith(".py"))
        self.assertEqual(python_files, ["run.py"])


if __name__ == "__main__":
    absltest.main()
