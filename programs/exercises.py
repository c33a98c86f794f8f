"""The lessons' exercise forms, made from the worked notebooks: `bazel run //:lessons -- --exercises`.

One source for both forms, so they cannot drift: in a worked notebook (lessons/ltfn*.ipynb) the lines a
learner should write stand between `### BEGIN SOLUTION` and `### END SOLUTION` (nbgrader's markers). The
exercise form is the same notebook with those lines replaced by a line that says so and stops the cell
(`raise NotImplementedError`); the lesson's check cell (labs/sameness) then grades what the learner
wrote and says, in words, what is still missing or different.

A learner fills a blank and runs that cell again, so in a worked notebook nothing a cell runs before
its blank may add to a graph (not even a `name_scope` or `variable_scope` entered: its name would be
taken, and the second run would make `cost_1`); tests/lessons_test.py plays every form that way.

  python programs/exercises.py DIR     writes DIR/<notebook>.ipynb for every lesson that has exercises

The forms go to lessons/exercises/ (not committed: made again from the worked notebooks) unless a form
there was edited by a learner since it was written: that one is kept, and said so.
"""

import glob
import hashlib
import json
import os
import re
import sys

BEGIN, END = "### BEGIN SOLUTION", "### END SOLUTION"
FOLDER = os.path.join("lessons", "exercises")
_MARKER = re.compile(r"^([ \t]*)### (BEGIN|END) SOLUTION[ \t]*$")
INTRO = """**Exercise form.** This is the lesson with a few lines left for you to write. Run the cells top to
bottom: a cell that says `# YOUR CODE HERE` stops with `NotImplementedError` before it adds anything to the graph.
Replace those two lines with yours (the comment above them and the text before the cell say what to make), run
that cell again, and go on. The check cell compares your graph with the project's (`graphs/model.build_graph`)
and says what is still missing or different. A cell that adds to `graph` begins with `kit.build_once(graph, ...)`:
run a second time, it stops there before adding its nodes twice, and says so; to change such a cell after it ran,
run the cells again from `graph = tf.Graph()`. The worked lesson is `lessons/{name}`."""
PATTERN = "ltfn*.ipynb"  # the worked lessons in lessons/, and their forms in lessons/exercises/


class MarkerError(ValueError):
    """A BEGIN without its END (or the reverse): said with the notebook and cell."""


def strip(source, where="a cell"):
    """(exercise source, number of solutions taken out) of one cell's code."""
    out, count, inside = [], 0, None
    for line in source.splitlines():
        marker = _MARKER.match(line)
        if marker and marker.group(2) == "BEGIN":
            if inside is not None:
                raise MarkerError("{}: {} inside another".format(where, BEGIN))
            inside = marker.group(1)
            out.append(inside + "# YOUR CODE HERE")
            out.append(inside + 'raise NotImplementedError("write the lines this cell is missing, then run it again")')
            count += 1
        elif marker:
            if inside is None:
                raise MarkerError("{}: {} without {}".format(where, END, BEGIN))
            inside = None
        elif inside is None:
            out.append(line)
    if inside is not None:
        raise MarkerError("{}: {} without {}".format(where, BEGIN, END))
    return "\n".join(out), count


def filled(worked_source):
    """A cell as a learner who wrote the solution has it: the worked cell without its markers."""
    return "\n".join(line for line in worked_source.splitlines() if not _MARKER.match(line))


def notebooks(folder):
    """The lessons' notebooks in `folder` (lessons/, or lessons/exercises/), LTFN 1 first."""
    return sorted(glob.glob(os.path.join(folder, PATTERN)))


def exercise_form(nb, name):
    """The exercise form of a worked notebook (an nbformat node), or None if it has no solutions marked.
    Cells that lost lines are tagged `exercise`."""
    import copy

    import nbformat

    form = copy.deepcopy(nb)
    total = 0
    for index, cell in enumerate(form.cells):
        if cell.cell_type != "code":
            continue
        cell.source, count = strip(cell.source, "{}, cell {}".format(name, index + 1))
        if count:
            cell.metadata["tags"] = list(cell.metadata.get("tags", [])) + ["exercise"]
            total += count
    if not total:
        return None
    form.cells.insert(1, nbformat.v4.new_markdown_cell(INTRO.format(name=name)))
    form.metadata["ltfn_exercise"] = {"worked": name, "cells_sha256": _cells_hash(form)}
    return form


def _cells_hash(nb):
    """What a learner changes: the cells' sources (outputs and metadata do not count)."""
    text = json.dumps([c["source"] for c in nb["cells"]], ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def edited(path):
    """True if the form at `path` was changed since it was written (or is not one of ours)."""
    with open(path, encoding="utf-8") as f:
        nb = json.load(f)
    recorded = nb.get("metadata", {}).get("ltfn_exercise", {}).get("cells_sha256")
    nb["cells"] = [dict(c, source="".join(c["source"]) if isinstance(c["source"], list) else c["source"])
                   for c in nb["cells"]]
    return recorded != _cells_hash(nb)


def write_all(worked_paths, out_dir, log=print):
    """Writes the exercise form of each worked notebook into out_dir; keeps a form a learner edited.
    Returns the paths of the forms there."""
    import nbformat

    os.makedirs(out_dir, exist_ok=True)
    written = []
    for path in worked_paths:
        name = os.path.basename(path)
        form = exercise_form(nbformat.read(path, as_version=4), name)
        if form is None:
            continue
        target = os.path.join(out_dir, name)
        if os.path.exists(target) and edited(target):
            log("Kept your {} (you edited it; delete it to get a fresh copy)".format(target))
        else:
            nbformat.write(form, target)
        written.append(target)
    return written


def main(argv):
    if len(argv) != 1:
        print("error: give the folder to write the exercise forms into", file=sys.stderr)
        return 1
    source_tree = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    try:
        for path in write_all(notebooks(os.path.join(source_tree, "lessons")), argv[0]):
            print(path)
    except (OSError, MarkerError) as e:
        print("error: {}".format(e), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
