"""What a learner reads, read back: printed lines parsed into sets and numbers, and the facts they state
worked out here another way than labs/ does (a walk over the GraphDef's inputs; a FULL_TRACE run read
straight from its step_stats). Shared by deps_test, pitfalls_test and widgets_test.
"""

import collections

import tensorflow as tf


def tensor_key(name):
    """`layer1/MatMul:1` -> ('layer1/MatMul', 1); `input` -> ('input', 0)."""
    op, _, slot = name.partition(":")
    return op, int(slot or 0)


def needed(graph, fetches, fed=()):
    """(ops session.run(fetches) executes, ops whose fed value it reads instead), by a walk back over the
    GraphDef's node inputs that stops at each fed tensor. `fetches` and `fed` are names (`op` or `op:k`);
    a fetch names a tensor if its op has outputs, else the op (e.g. `optimizer`)."""
    nodes = {n.name: n for n in graph.as_graph_def().node}
    fed = {tensor_key(f) for f in fed}
    runs, used, stack = set(), set(), []
    for f in fetches:
        key = tensor_key(f)
        if key in fed and graph.get_operation_by_name(key[0]).outputs:
            used.add(key[0])
        else:
            stack.append(key[0])
    while stack:
        name = stack.pop()
        if name in runs:
            continue
        runs.add(name)
        for text in nodes[name].input:
            if text.startswith("^"):
                stack.append(text[1:])
            elif tensor_key(text) in fed:
                used.add(tensor_key(text)[0])
            else:
                stack.append(tensor_key(text)[0])
    return runs, used


def placeholders_needed(graph, fetches):
    """The placeholders a fetch depends on with nothing fed, in graph order: what the posts feed."""
    runs, _ = needed(graph, fetches)
    return [op.name for op in graph.get_operations() if op.type == "Placeholder" and op.name in runs]


def scope(name):
    return name.split("/")[0]


def scopes_in_order(graph):
    return list(collections.OrderedDict.fromkeys(scope(op.name) for op in graph.get_operations()))


def traced_kernels(session, fetches, feed=None):
    """{node name: kernel} of one FULL_TRACE run of `fetches`, from the timeline labels
    (`name = Kernel(inputs)`; the executor's bookkeeping entries have no kernel: None)."""
    options = tf.compat.v1.RunOptions(trace_level=tf.compat.v1.RunOptions.FULL_TRACE)
    metadata = tf.compat.v1.RunMetadata()
    session.run(fetches, feed, options=options, run_metadata=metadata)
    kernels = {}
    for device in metadata.step_stats.dev_stats:
        for stats in device.node_stats:
            label = stats.timeline_label.split("] ")[-1]
            kernel = label.split(" = ", 1)[1].split("(")[0] if " = " in label else None
            kernels[stats.node_name] = kernels.get(stats.node_name) or kernel
    return kernels


def names(text):
    """`a, b, c` -> ['a', 'b', 'c']; `none` -> []."""
    return [] if text == "none" else text.split(", ")


def shortened(text):
    """labs/deps' `_list`: `a, b, ... (12 in all)` -> (['a', 'b'], 12); a whole list -> (list, len)."""
    if text.endswith(" in all)"):
        shown, _, total = text.rpartition(", ... (")
        return shown.split(", "), int(total.split()[0])
    return text.split(", "), len(text.split(", "))


def after(line, prefix):
    assert line.startswith(prefix), (prefix, line)
    return line[len(prefix):]


def prediction_report(lines):
    """//:deps' prediction lines (print_prediction) -> a dict of what each line says:
    fetch, required, not_fed, unused, fed, will_run (n, total), rows {scope: (inside, total, note)},
    partly (rest, initializers, {op type: n}) or None, not_run {scope: fed?} and its order."""
    start = next(i for i, line in enumerate(lines) if line.startswith("Fetch: "))
    end = next(i for i, line in enumerate(lines) if line.startswith("Will NOT run (whole scopes): "))
    said = {"not_fed": [], "unused": [], "fed": [], "rows": {}, "partly": None}
    said["fetch"] = after(lines[start], "Fetch: ")
    said["required"] = names(after(lines[start + 1], "Feeds required: "))
    for line in lines[start + 2:end]:
        if line.startswith("  NOT fed: "):
            said["not_fed"].append(after(line, "  NOT fed: ").split("  ")[0])
            assert line.endswith("  (session.run will fail on it)"), line
        elif line.startswith("  fed but not needed: "):
            said["unused"].append(after(line, "  fed but not needed: ").split("  ")[0])
        elif line.startswith("  fed: "):
            said["fed"].append(after(line, "  fed: ").split("  ")[0])
        elif line.startswith("Will run: "):
            words = after(line, "Will run: ").split()
            assert words[1] == "of" and words[3] == "nodes", line
            said["will_run"] = (int(words[0]), int(words[2]))
        elif line.startswith("  (partly): their other "):
            rest, body = after(line, "  (partly): their other ").split(" nodes do not run: ")
            initializers, kinds = body.split(" variable initializers (those run with `init`)")
            others = {}
            for item in filter(None, kinds.split(", ")):
                count, kind = item.split(" ")
                others[kind] = int(count)
            said["partly"] = (int(rest), int(initializers), others)
        else:
            words = line.split()
            assert line.startswith("  ") and words[2] == "of", line
            note = " ".join(words[4:])
            assert note in ("", "(partly)", "(NOT fed)"), line
            said["rows"][words[0]] = (int(words[1]), int(words[3]), note)
    said["not_run_order"] = []
    said["not_run"] = {}
    for item in names(after(lines[end], "Will NOT run (whole scopes): ")):
        name = item.replace(" (fed)", "")
        said["not_run_order"].append(name)
        said["not_run"][name] = item.endswith(" (fed)")
    return said


def expected_prediction(graph, fetches, feeds=None):
    """What prediction_report should read for session.run(fetches) with `feeds` (None: the placeholders
    the fetches need), from needed()'s walk."""
    if feeds is None:
        feeds = placeholders_needed(graph, fetches)
    runs, used = needed(graph, fetches, feeds)
    ops = graph.get_operations()
    placeholders = {op.name for op in ops if op.type == "Placeholder"}
    total = collections.Counter(scope(op.name) for op in ops)
    inside = collections.Counter(scope(n) for n in runs)
    unfed = [op.name for op in ops if op.name in placeholders & runs]
    rows = {s: (inside[s], total[s], "(NOT fed)" if s in unfed else "" if inside[s] == total[s] else "(partly)")
            for s in total if inside[s]}
    partly = [s for s in total if 0 < inside[s] < total[s]]
    rest = [op for op in ops if scope(op.name) in partly and op.name not in runs]
    init_runs, _ = needed(graph, ["init"])
    others = collections.Counter(op.type for op in rest if op.name not in init_runs)
    feed_ops = [tensor_key(f)[0] for f in feeds]
    return {
        "runs": runs,
        "required": [op.name for op in ops if op.name in placeholders & (runs | used)],
        "not_fed": unfed,
        "unused": [f for f in feed_ops if f not in runs | used],
        "fed": sorted(used - placeholders),
        "will_run": (len(runs), len(ops)),
        "rows": rows,
        "partly": (len(rest), len(rest) - sum(others.values()), dict(others)) if partly else None,
        "not_run": {s: any(scope(n) == s for n in used) for s in total if not inside[s]},
        "not_run_order": [s for s in scopes_in_order(graph) if not inside[s]],
    }


def verification_report(lines):
    """//:deps' lines after the traced run (print_verification, as //:deps prints them) -> a dict:
    own (ran under own names, predicted), fused [(node, into, kernel)], removed (shown, n),
    accounted (n, predicted, only Grappler's, unexplained), added (shown, n), feeds {node: (op, type)},
    runtime {node: why}, folded (shown, n), kernels ([(node, kernel)], n), unexplained [lines]."""
    start = next(i for i, line in enumerate(lines) if line.startswith(
        ("Verified: one traced run", "Checked by running it once on a batch of")))
    said = {"fused": [], "removed": ([], 0), "added": ([], 0), "feeds": {}, "runtime": {}, "folded": ([], 0),
            "kernels": ([], 0), "unexplained": [], "no_step": False}
    for line in lines[start + 1:]:
        if line.startswith("  UNEXPLAINED: "):
            said["unexplained"].append(line)
        elif line.endswith(" predicted nodes ran under their own names"):
            words = line.split()
            said["own"] = (int(words[0]), int(words[2]))
        elif line.startswith("  + "):
            count, _, items = after(line, "  + ").partition(" fused into the node after them by ")
            items = items.split(": ", 1)[1]
            for item in items.split(", "):
                node, rest = item.split(" into ")
                into, kernel = rest[:-1].split(" (")
                said["fused"].append((node, into, kernel))
            assert int(count) == len(said["fused"]), line
        elif line.startswith("  ~ "):
            count, _, items = after(line, "  ~ ").partition(" did not run under their names: ")
            shown, n = shortened(items.split("not traced one to one: ")[1])
            assert int(count) == n, line
            said["removed"] = (shown, n)
        elif line.startswith("  = "):
            words = after(line, "  = ").split()
            assert words[1] == "of" and words[3:6] == ["predicted", "nodes", "accounted"], line
            only = int(line.split(" (")[1].split()[0]) if " only as Grappler's)" in line else 0
            said["accounted"] = (int(words[0]), int(words[2]), only, int(line.split("; ")[1].split()[0]))
        elif " predicted nodes ran" in line and line.endswith(" unexplained"):
            words = line.split()
            said["plain"] = (int(words[0]), int(words[3]), int(line.split("; ")[1].split()[0]),
                             "(some inside a combined kernel)" in line)
        elif line.startswith("  also ran: ") and " nodes Grappler made (names not in the graph): " in line:
            count, items = after(line, "  also ran: ").split(" nodes Grappler made (names not in the graph): ")
            said["added"] = shortened(items)
            assert said["added"][1] == int(count), line
        elif line.startswith("  also ran: "):
            node, why = after(line, "  also ran: ").split("  (", 1)
            if why.startswith("carries the value fed for "):
                op, kind = after(why, "carries the value fed for ").split("; the ")
                said["feeds"][node] = (op, kind.split(" itself did not run)")[0])
            else:
                said["runtime"][node] = why[:-1]
        elif " ran as constants: Grappler folded what they compute: " in line:
            count, items = line.split(" ran as constants: Grappler folded what they compute: ")
            said["folded"] = shortened(items)
            assert said["folded"][1] == int(count), line
        elif " more ran under their own names with a specialised kernel: " in line:
            count, items = line.split(" more ran under their own names with a specialised kernel: ")
            shown, n = shortened(items)
            said["kernels"] = ([tuple(item.split(" as ")) for item in shown], n)
            assert n == int(count), line
        elif line == "  (no step ran: every fetch was fed, so session.run handed the fed values straight back)":
            said["no_step"] = True
        else:
            assert not line.startswith("  "), line  # a line of the report this reader does not know
            break
    return said


# Why the executor adds its own nodes, by kernel (or name), as the report words it.
RUNTIME_WHY = {"_SOURCE": "the executor's start node: every step begins there",
               "_Retval": "hands a fetched value back to session.run"}


def expected_verification(graph, runs, kernels, fused):
    """What verification_report should read, from needed()'s `runs`, the run's `kernels` (traced_kernels)
    and the fused nodes it names ({node: (into, kernel)}, each checked by the caller)."""
    ops = {op.name: op for op in graph.get_operations()}
    traced = set(kernels)
    own = runs & traced
    feeds, runtime, added = {}, {}, []
    for node in traced - runs:
        op = node[len("_arg_"):].rsplit("_", 2)[0]
        if node.startswith("_arg_") and op in ops:
            feeds[node] = (op, ops[op].type)
        elif node.startswith("_"):
            runtime[node] = RUNTIME_WHY[node if node in RUNTIME_WHY else kernels[node]]
        else:
            added.append(node)
    targets = {into for into, _ in fused.values()}
    removed = sorted(runs - traced - set(fused))
    specialised = sorted((n, kernels[n]) for n in own if kernels[n] not in (ops[n].type, "Const") and n not in targets)
    return {
        "own": (len(own), len(runs)),
        "removed": (removed[:8], len(removed)) if removed else ([], 0),
        "accounted": (len(runs), len(runs), len(removed), 0),
        "added": (sorted(added)[:8], len(added)) if added else ([], 0),
        "feeds": feeds,
        "runtime": runtime,
        "folded": _first8(sorted(n for n in own if kernels[n] == "Const" and ops[n].type != "Const")),
        "kernels": _first8(specialised),
        "unexplained": [],
        "no_step": not traced,
    }


def _first8(items):
    return (items[:8], len(items)) if items else ([], 0)


def session_run_text(text):
    """`session.run(a, b, feed_dict={x, y})` (//:pitfalls' words for a call) -> ([a, b], [x, y])."""
    inner = after(text, "session.run(")[:-1]
    fetches, _, feeds = inner.partition(", feed_dict={")
    return fetches.split(", "), feeds[:-1].split(", ") if feeds else []


# //:pitfalls' words for a watched node: predicted (True, False, None: not a graph node) and traced.
PREDICTED_WORDS = {"predicted to run": True, "predicted NOT to run": False,
                   "inside a function: not a graph node": None}
TRACED_WORDS = {"ran": True, "did NOT run": False}


def pitfall_side(lines):
    """//:pitfalls' lines for one side (print_side), from `  Why:` on -> a dict: predicted, ran, more
    (the Why line's counts), unseen ([(node, type)], cut short?, the If note?), required, unused, fed
    {node: type}, watch {node: (what, predicted, traced)}."""
    start = next(i for i, line in enumerate(lines) if line.startswith("  Why: labs/deps predicted that "))
    why = after(lines[start], "  Why: labs/deps predicted that ")
    call, counts = why.split(" runs ", 1)
    predicted, rest = counts.split(" nodes; the traced run ran ")
    ran, rest = rest.split(" of them")
    said = {"call": call, "predicted": int(predicted), "ran": int(ran),
            "more": int(after(rest, " (and ").split()[0]) if rest else 0,
            "unseen": ([], False, False), "required": [], "unused": [], "fed": {}, "watch": {}}
    assert rest in ("",) or rest.endswith(" more)"), lines[start]
    note = " (TensorFlow lowers tf.cond's If ops into Switch/Merge nodes before it runs them)"
    for line in lines[start + 1:]:
        if line.startswith("    predicted, not in the trace under their own names: "):
            text = after(line, "    predicted, not in the trace under their own names: ")
            lowered = text.endswith(note)
            text = text[:-len(note)] if lowered else text
            cut = text.endswith(", ...")
            text = text[:-len(", ...")] if cut else text
            said["unseen"] = ([tuple(item[:-1].split(" (")) for item in text.split(", ")], cut, lowered)
        elif line.startswith("    feeds it needs: "):
            said["required"] = names(after(line, "    feeds it needs: "))
        elif line.startswith("    fed but not needed: "):
            said["unused"].append(after(line, "    fed but not needed: ").split(" (TensorFlow accepts")[0])
        elif line.startswith("    fed: "):
            node, kind = after(line, "    fed: ").split(" (", 1)
            said["fed"][node] = kind.split(": the fed value replaces it")[0]
        elif line.startswith("    ") and "; traced: " in line:
            head, traced = line[4:].rsplit("; traced: ", 1)
            words = next(w for w in PREDICTED_WORDS if head.endswith("): " + w))
            node, what = head[:-len("): " + words)].split(" (", 1)
            said["watch"][node] = (what, PREDICTED_WORDS[words], TRACED_WORDS[traced])
        elif line.strip():
            raise AssertionError("a line of //:pitfalls this reader does not know: " + line)
    return said


def printed_value(text, like):
    """//:pitfalls' text for a value (format_value) read back as a value of the type of `like`."""
    if isinstance(like, tuple):
        return tuple(printed_value(t, v) for t, v in zip(text.split(" / "), like))
    if isinstance(like, list):
        assert text.startswith("[") and text.endswith("]"), text
        items = text[1:-1].split(", ") if text != "[]" else []
        return [printed_value(t, v) for t, v in zip(items, like)] + items[len(like):]
    if isinstance(like, bool) or not isinstance(like, (int, float)):
        return text
    return type(like)(float(text.replace(",", "")))
