"""Predict, then check (LTFN 2 and the TF1 traps): what will this `session.run` return, what runs?

Each question shows a few lines of graph code and a `session.run`, and offers choices. The learner
picks one before anything is run; "Check" then builds the graph, runs the call with a FULL_TRACE
(graphs/deps.trace_step, Grappler's rewrites off so every node keeps its name) and reports what
TensorFlow returned and which of the nodes at stake ran. The right choice is the one whose
condition holds for what was observed: the answer comes from the run, never from a stored string.
The code shown is the function that ran (inspect), as //:pitfalls shows its traps.

Questions, in QUESTIONS' order: LTFN 2's three first (which nodes `logits` runs, `cost` without
labels, a test loop that fetches optimizer), then five beyond the posts (`y = x` under
control_dependencies, an assign fetched with its variable, a summary nobody fetches, batch
normalization's UPDATE_OPS, a cond whose branch op was made outside it).
"""

import collections
import html
import inspect

import numpy as np
import tensorflow as tf

from labs import deps
from labs import pitfalls
from graphs import model

SEED = 0
REPEATS = 20  # runs of a call whose result TensorFlow does not promise (the order of two fetches)

Choice = collections.namedtuple("Choice", ["text", "holds"])  # holds(facts) -> bool
Question = collections.namedtuple("Question", ["name", "post", "prompt", "code", "choices", "run"])
Outcome = collections.namedtuple("Outcome", ["facts", "evidence", "why"])


def _traced(session, fetches, feed=None):
    """(values, names of the graph's nodes that ran, error line or None): one FULL_TRACE run."""
    graph = session.graph
    many = isinstance(fetches, (list, tuple))
    elements = [graph.as_graph_element(f) for f in (fetches if many else [fetches])]
    try:
        trace = deps.trace_step(session, elements, feed)
    except tf.errors.OpError as e:
        return None, set(), deps.error_line(e)
    prediction = deps.predict(graph, elements, list(feed or {}))
    ran = set(trace.nodes) | set(deps.compare(graph, prediction, trace).fused)  # fused nodes ran too
    return (trace.values if many else trace.values[0]), ran, None


def _yes(flag):
    return "ran" if flag else "did NOT run"


# ---- 4. y = x under control_dependencies (tf.Graph.control_dependencies' own WRONG/RIGHT example)

def identity_code():
    x = tf.compat.v1.get_variable("x", initializer=0.0)
    increment = tf.compat.v1.assign_add(x, 1.0, name="increment")
    with tf.control_dependencies([increment]):
        y = x  # the question: does reading y run increment first?
    return x, increment, y


def identity_right():
    x = tf.compat.v1.get_variable("x", initializer=0.0)
    increment = tf.compat.v1.assign_add(x, 1.0, name="increment")
    with tf.control_dependencies([increment]):
        y = tf.identity(x, name="y")  # an op made inside the block: it gets the dependency
    return x, increment, y


def _run_identity():
    results = {}
    for side, code in (("as written", identity_code), ("with y = tf.identity(x)", identity_right)):
        graph = pitfalls.new_graph()
        with graph.as_default():
            x, increment, y = code()
            init = tf.compat.v1.global_variables_initializer()
        with pitfalls.new_session(graph) as session:
            session.run(init)
            first, ran, _ = _traced(session, y)
            values = [float(first)] + [float(session.run(y)) for _ in range(2)]
        results[side] = (values, increment.op.name in ran)
    values, increment_ran = results["as written"]
    right_values, _ = results["with y = tf.identity(x)"]
    facts = {"values": values, "increment_ran": increment_ran, "right_values": right_values}
    evidence = ["session.run(y), three times: {}".format(", ".join("{:g}".format(v) for v in values)),
                "the traced first call: increment {}".format(_yes(increment_ran)),
                "with y = tf.identity(x) instead: {}".format(", ".join("{:g}".format(v) for v in right_values))]
    why = ("`y = x` makes no op: y is another Python name for the variable, and fetching it reads the variable "
           "through a read op made when the variable was, outside the block. Only ops created inside "
           "`control_dependencies` get the dependency; `tf.identity(x)` is such an op.")
    return Outcome(facts, evidence, why)


# ---- 5. An assign and its variable fetched in one call

def assign_and_read_code():
    x = tf.compat.v1.get_variable("x", initializer=0.0)
    increment = tf.compat.v1.assign_add(x, 1.0, name="increment")
    return x, increment  # then: session.run([increment, x])


def _run_assign_and_read():
    graph = pitfalls.new_graph()
    with graph.as_default():
        x, increment = assign_and_read_code()
        init = tf.compat.v1.global_variables_initializer()
    read = graph.as_graph_element(x)  # what fetching x fetches: its read op
    ordered = (increment.op.name in deps.predict(graph, [read]).runs or
               read.op.name in deps.predict(graph, [increment]).runs)
    seen = collections.Counter()
    with pitfalls.new_session(graph) as session:
        for i in range(REPEATS):
            session.run(init)
            if i == 0:
                values, ran, _ = _traced(session, [increment, x])
                both_ran = {increment.op.name, read.op.name} <= ran
            else:
                values = session.run([increment, x])
            seen["[{:g}, {:g}]".format(*values)] += 1
    facts = {"ordered": ordered, "seen": dict(seen), "both_ran": both_ran}
    evidence = ["{} fresh runs of session.run([increment, x]) returned: {}".format(
                    REPEATS, ", ".join("{} ({} times)".format(k, n) for k, n in sorted(seen.items()))),
                "a path between the read of x and increment in the graph: {}".format("yes" if ordered else "none"),
                "the traced call: increment and x's read both {}".format(_yes(both_ran))]
    why = ("Both fetches run in one step, but nothing orders them: neither depends on the other, and "
           "Session.run's documentation leaves the order of evaluating fetches undefined. The read of x may "
           "come before or after the increment; what you saw is one machine's habit, not a promise. Fetch x "
           "in a second session.run, or read it through an op made under control_dependencies([increment]).")
    return Outcome(facts, evidence, why)


# ---- 6. A summary nobody fetches

def summary_code():
    w = tf.compat.v1.get_variable("w", initializer=0.0)
    cost = tf.square(w - 3.0, name="cost")
    tf.compat.v1.summary.scalar("cost", cost)  # the question: is it computed by each training step?
    optimizer = tf.compat.v1.train.GradientDescentOptimizer(0.1).minimize(cost, name="optimizer")
    return optimizer  # then: session.run(optimizer)


def _run_summary():
    graph = pitfalls.new_graph()
    with graph.as_default():
        optimizer = summary_code()
        summary, = graph.get_collection(tf.compat.v1.GraphKeys.SUMMARIES)
        init = tf.compat.v1.global_variables_initializer()
    with pitfalls.new_session(graph) as session:
        session.run(init)
        _, ran, _ = _traced(session, optimizer)
        _, ran_with, _ = _traced(session, [optimizer, summary])
    facts = {"summary_ran": summary.op.name in ran, "fetched_ran": summary.op.name in ran_with}
    evidence = ["traced session.run(optimizer): the summary op {} {}".format(summary.op.name, _yes(facts["summary_ran"])),
                "traced session.run([optimizer, summary]): it {}".format(_yes(facts["fetched_ran"]))]
    why = ("A summary op is a node like any other: it runs only when fetched (or needed by what is). "
           "optimizer does not depend on it, so the training step never computes it, and nothing reaches "
           "TensorBoard until you fetch it (or tf.compat.v1.summary.merge_all()) and pass the result to a "
           "FileWriter's add_summary.")
    return Outcome(facts, evidence, why)


# ---- 7. Batch normalization's UPDATE_OPS

def update_ops_code(input):
    normalized = _batch_normalization(input, training=True, momentum=0.5, name="bn")
    cost = tf.reduce_mean(tf.square(normalized - 1.0), name="cost")
    optimizer = tf.compat.v1.train.GradientDescentOptimizer(0.1).minimize(cost, name="optimizer")
    return optimizer  # then: session.run(optimizer, {input: a batch whose mean is 5})


def _batch_normalization(*args, **kwargs):
    # TF1's tf.compat.v1.layers.batch_normalization: Keras 3 dropped the TF1 layers, tf_keras keeps them
    # (imported here by its own name, as session/pitfalls does, so the process keeps Keras 3).
    import warnings
    from tf_keras.api._v1.keras.__internal__.legacy import layers as v1_layers
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # its deprecation notice: using TF1 is the point here
        return v1_layers.batch_normalization(*args, **kwargs)


def update_ops_right(input):
    normalized = _batch_normalization(input, training=True, momentum=0.5, name="bn")
    cost = tf.reduce_mean(tf.square(normalized - 1.0), name="cost")
    with tf.control_dependencies(tf.compat.v1.get_collection(tf.compat.v1.GraphKeys.UPDATE_OPS)):
        return tf.compat.v1.train.GradientDescentOptimizer(0.1).minimize(cost, name="optimizer")


def _update_ops_side(code, batch):
    """(moving_mean's mean after one traced step, whether the UPDATE_OPS ran, how many there are)."""
    graph = pitfalls.new_graph()
    with graph.as_default():
        input = tf.compat.v1.placeholder(tf.float32, (None, 4), name="input")
        optimizer = code(input)
        update_ops = graph.get_collection(tf.compat.v1.GraphKeys.UPDATE_OPS)
        moving_mean, = [v for v in tf.compat.v1.global_variables() if "moving_mean" in v.name]
        init = tf.compat.v1.global_variables_initializer()
    with pitfalls.new_session(graph) as session:
        session.run(init)
        _, ran, _ = _traced(session, optimizer, {input: batch})
        after = session.run(moving_mean)
    return float(np.mean(after)), any(op.name in ran for op in update_ops), len(update_ops)


def _run_update_ops():
    batch = np.random.default_rng(SEED).normal(5.0, 1.0, (32, 4)).astype(np.float32)
    mean, ran, count = _update_ops_side(update_ops_code, batch)
    right_mean, right_ran, _ = _update_ops_side(update_ops_right, batch)
    facts = {"moving_mean": mean, "updates_ran": ran, "batch_mean": float(batch.mean()),
             "right_moving_mean": right_mean, "right_updates_ran": right_ran}
    evidence = ["moving_mean after the step: {:.4g} (the batch's mean: {:.4g})".format(mean, facts["batch_mean"]),
                "the {} ops in UPDATE_OPS: {} (traced)".format(count, _yes(ran)),
                "with the optimizer under control_dependencies(UPDATE_OPS): they {}, moving_mean {:.4g}".format(
                    _yes(right_ran), right_mean)]
    why = ("batch_normalization puts the moving averages' updates in the UPDATE_OPS collection, and nothing "
           "the optimizer needs depends on them, so a training step never runs them; at test time "
           "(training=False) the layer would then normalize with mean 0 and variance 1. Its documentation's "
           "fix: build the optimizer under tf.control_dependencies(tf.compat.v1.get_collection(UPDATE_OPS)).")
    return Outcome(facts, evidence, why)


# ---- 8. A cond whose branch op was made outside it

def cond_code():
    x = tf.compat.v1.get_variable("x", initializer=0.0)
    take = tf.compat.v1.placeholder(tf.bool, (), name="take")
    increment = tf.compat.v1.assign_add(x, 1.0, name="increment")  # made outside the branch functions
    result = tf.compat.v1.cond(take, lambda: increment, lambda: tf.identity(x))
    return x, take, increment, result  # then: session.run(result, {take: False}); then read x


def _run_cond():
    graph = pitfalls.new_graph()
    with graph.as_default():
        x, take, increment, result = cond_code()
        init = tf.compat.v1.global_variables_initializer()
    with pitfalls.new_session(graph) as session:
        session.run(init)
        value, ran, _ = _traced(session, result, {take: False})
        after = float(session.run(x))
    facts = {"x_after": after, "increment_ran": increment.op.name in ran, "result": float(value)}
    evidence = ["session.run(result, {{take: False}}) returned {:g}; x afterwards: {:g}".format(facts["result"], after),
                "increment {} (traced), though the false branch was taken".format(_yes(facts["increment_ran"]))]
    why = ("Only ops created inside the branch functions are conditional (tf.compat.v1.cond's documentation). "
           "increment was made before the cond, so it is an input the cond needs whichever branch it takes: "
           "it runs first, every time. Create it inside the lambda to make it conditional.")
    return Outcome(facts, evidence, why)


# ---- 3. The test loop that fetches optimizer (LTFN 2 warns against it: "we don't want to train our
# network on our test set")

def test_loop_code(nodes, session, test_images, test_labels):
    return session.run([nodes.cost, nodes.optimizer], {nodes.input: test_images, nodes.labels: test_labels})


def _checksum(session, graph):
    return pitfalls.checksum(session, graph.get_collection(tf.compat.v1.GraphKeys.TRAINABLE_VARIABLES))


def _linear(learning_rate=0.5):
    return model.build_graph("linear", "random_normal", learning_rate, SEED)


def _test_batch(n=100):
    # Deterministic stand-in images in MNIST's shape and range; the question is about what runs.
    rng = np.random.default_rng(SEED)
    images = rng.uniform(0.0, 1.0, (n, 784)).astype(np.float32)
    labels = np.eye(10, dtype=np.float32)[rng.integers(0, 10, n)]
    return images, labels


def _run_test_loop():
    graph, nodes, init = _linear()
    images, labels = _test_batch()
    with pitfalls.new_session(graph) as session:
        session.run(init)
        before = _checksum(session, graph)
        values, ran, _ = _traced(session, [nodes.cost, nodes.optimizer],
                                 {nodes.input: images, nodes.labels: labels})
        after = _checksum(session, graph)
        updates = [op.name for op in graph.get_operations() if op.type.startswith("ResourceApply") or
                   op.type.startswith("Apply")]
    facts = {"changed": before != after, "update_ran": any(u in ran for u in updates)}
    evidence = ["weights' checksum before: {}, after: {}".format(before, after),
                "the gradient-descent update ops ({}): {} (traced)".format(", ".join(updates), _yes(facts["update_ran"]))]
    why = ("Fetching optimizer runs a training step, whatever images are fed: the weights move toward the "
           "test set's answers, so every test batch after the first scores a network trained on the test "
           "set. LTFN 2: to pass test data we don't want to run the operations defined by optimizer; "
           "fetching logits alone needs no labels and changes no weight.")
    return Outcome(facts, evidence, why)


# ---- 1. Which nodes does session.run(logits) run? (LTFN 2)

def logits_code(nodes, session, images):
    return session.run(nodes.logits, {nodes.input: images})


def _fed_input_only(fetch):
    """Questions 1 and 2's one experiment: the linear graph, freshly initialized, runs fetch(nodes) traced
    with only `input` fed (a test batch). Returns (nodes, value, names of the nodes that ran, error line)."""
    graph, nodes, init = _linear()
    images, _ = _test_batch()
    with pitfalls.new_session(graph) as session:
        session.run(init)
        return (nodes,) + _traced(session, fetch(nodes), {nodes.input: images})


def _run_logits():
    nodes, value, ran, error = _fed_input_only(lambda nodes: nodes.logits)
    weights_read = any(n.startswith("layer1/") for n in ran)
    facts = {"error": error, "cost_ran": nodes.cost.op.name in ran, "optimizer_ran": nodes.optimizer.name in ran,
             "weights_ran": weights_read, "shape": None if value is None else tuple(value.shape)}
    evidence = ["returned: {}".format(error or "logits of shape {}".format(facts["shape"])),
                "traced: layer1's weights and bias {}, cost {}, optimizer {}".format(
                    _yes(weights_read), _yes(facts["cost_ran"]), _yes(facts["optimizer_ran"]))]
    why = ("session.run executes only what the fetches depend on. logits needs input and layer1's weights "
           "and bias; cost and optimizer are built on top of logits, not under it, so they do not run, "
           "and labels (which only cost needs) need not be fed. That is why LTFN 2's test loop feeds no labels.")
    return Outcome(facts, evidence, why)


# ---- 2. cost without labels (LTFN 2)

def cost_code(nodes, session, images):
    return session.run(nodes.cost, {nodes.input: images})


def _run_cost():
    _, value, _, error = _fed_input_only(lambda nodes: nodes.cost)
    facts = {"error": error or "", "value": None if value is None else float(value)}
    evidence = ["TensorFlow: {}".format(error) if error else "returned {:g}".format(facts["value"])]
    why = ("cost is softmax_cross_entropy_with_logits(labels, logits): it depends on the labels "
           "placeholder, and every placeholder a fetch depends on must be fed. The step stops with this "
           "error at the placeholder (nodes that do not need it may have run by then), and returns nothing.")
    return Outcome(facts, evidence, why)


QUESTIONS = [
    Question("logits", "what session.run(logits) runs (LTFN 2)",
             "Only `input` is fed. What happens?", [logits_code], [
                 Choice("An error: labels must be fed too", lambda f: bool(f["error"])),
                 Choice("It returns logits; the weights run, cost and optimizer do not",
                        lambda f: not f["error"] and f["weights_ran"] and not f["cost_ran"] and not f["optimizer_ran"]),
                 Choice("It returns logits, after running the whole graph, cost and optimizer included",
                        lambda f: not f["error"] and f["cost_ran"] and f["optimizer_ran"]),
             ], _run_logits),
    Question("cost", "cost without labels (LTFN 2)", "Only `input` is fed. What happens?", [cost_code], [
        # A cost of 0 is the third choice's, not this one's: one run, one right answer.
        Choice("It returns a cost computed from the logits alone", lambda f: f["value"] not in (None, 0.0)),
        Choice("An error: You must feed a value for placeholder tensor 'labels'",
               lambda f: f["value"] is None and "labels" in f["error"]),
        Choice("It returns 0: a missing placeholder counts as zeros", lambda f: f["value"] == 0.0),
    ], _run_cost),
    Question("test_loop", "the test loop that fetches optimizer (LTFN 2)",
             "Does this test step change the weights?", [test_loop_code], [
                 Choice("No: these are test images, the network is only evaluated",
                        lambda f: not f["changed"]),
                 Choice("Yes: fetching optimizer trains on whatever is fed, test images included",
                        lambda f: f["changed"] and f["update_ran"]),
             ], _run_test_loop),
    Question("identity", "control_dependencies; beyond the posts", "What do three calls of `session.run(y)` return?",
             [identity_code], [
                 Choice("1, 2, 3: each read of y runs increment first", lambda f: f["values"] == [1.0, 2.0, 3.0]),
                 Choice("0, 0, 0: increment never runs", lambda f: f["values"] == [0.0, 0.0, 0.0]),
                 Choice("1, 1, 1: increment runs once, the first time", lambda f: f["values"] == [1.0, 1.0, 1.0]),
             ], _run_identity),
    Question("assign_and_read", "fetching an assign and its variable; beyond the posts",
             "x starts at 0. What does `session.run([increment, x])` return?",
             [assign_and_read_code], [
                 Choice("[1, 1]: the increment runs first, then x is read",
                        lambda f: f["ordered"] and set(f["seen"]) == {"[1, 1]"}),
                 Choice("[1, 0]: x is read first", lambda f: f["ordered"] and set(f["seen"]) == {"[1, 0]"}),
                 Choice("Either: TensorFlow does not say which of the two runs first",
                        lambda f: not f["ordered"] and f["both_ran"]),
             ], _run_assign_and_read),
    Question("summary", "a summary that is never fetched; beyond the posts",
             "Does `session.run(optimizer)` compute the `cost` summary?",
             [summary_code], [
                 Choice("Yes: every summary in the graph is computed at each step",
                        lambda f: f["summary_ran"]),
                 Choice("No: only what optimizer depends on runs, and it does not depend on the summary",
                        lambda f: not f["summary_ran"] and f["fetched_ran"]),
             ], _run_summary),
    Question("update_ops", "UPDATE_OPS (batch normalization); beyond the posts",
             "After one `session.run(optimizer, ...)` on a batch whose mean is 5, what is `moving_mean`?",
             [update_ops_code], [
                 Choice("About 2.5: moved halfway (momentum 0.5) toward the batch's mean",
                        lambda f: f["updates_ran"] and abs(f["moving_mean"] - f["batch_mean"] / 2) < 0.5),
                 Choice("Still 0: the updates were never run",
                        lambda f: not f["updates_ran"] and f["moving_mean"] == 0.0),
                 Choice("About 5: set to the batch's mean", lambda f: abs(f["moving_mean"] - f["batch_mean"]) < 0.5),
             ], _run_update_ops),
    Question("cond", "a cond whose branch op was made outside it; beyond the posts",
             "x starts at 0. After `session.run(result, {take: False})`, what is x?",
             [cond_code], [
                 Choice("0: the true branch, which increments, was not taken", lambda f: f["x_after"] == 0.0),
                 Choice("1: increment runs whichever branch is taken", lambda f: f["x_after"] == 1.0 and f["increment_ran"]),
                 Choice("An error: the branches do not match", lambda f: False),
             ], _run_cond),
]


def find(name):
    for question in QUESTIONS:
        if question.name == name:
            return question
    raise KeyError("no question named {!r}; choose one of {}".format(name, ", ".join(q.name for q in QUESTIONS)))


def answer(question, outcome):
    """The indices of the choices that hold for what was observed."""
    return [i for i, c in enumerate(question.choices) if c.holds(outcome.facts)]


def source_of(question):
    return "\n".join(inspect.getsource(f) for f in question.code)


class Card:
    """One question as a widget: the code, the choices, "Check", and the answer once checked."""

    def __init__(self, question, number):
        import ipywidgets as widgets

        self.question = question
        self.outcome = None
        self.prompt = widgets.HTML("<b>{}. {}</b> ({})<pre><code>{}</code></pre>".format(
            number, html.escape(question.prompt), html.escape(question.post), html.escape(source_of(question))))
        self.choices = widgets.RadioButtons(options=[c.text for c in question.choices], value=None,
                                            layout=widgets.Layout(width="auto"))
        self.check = widgets.Button(description="Check (runs it, traced)")
        self.result = widgets.HTML()
        self.check.on_click(self.on_check)
        self.choices.observe(self.on_choice, names="value")
        self.widget = widgets.VBox([self.prompt, self.choices, self.check, self.result])
        self.widget.add_class("ltfn-question")

    def on_choice(self, change=None):
        self.result.value = ""  # a new pick hides the last answer until it is checked again

    def on_check(self, button=None):
        if self.choices.value is None:
            self.result.value = "<i>Pick an answer first: the run comes after your prediction.</i>"
            return
        if self.outcome is None:
            self.outcome = self.question.run()
        right = answer(self.question, self.outcome)
        picked = self.choices.index
        if not right:
            verdict = "None of the choices matches what TensorFlow did this time:"
        elif picked in right:
            verdict = "Right."
        else:
            verdict = "Not this one: the run says \u201c{}\u201d.".format(self.question.choices[right[0]].text)
        self.result.value = "<b>{}</b><pre><code>{}</code></pre><p>{}</p>".format(
            html.escape(verdict), html.escape("\n".join(self.outcome.evidence)), html.escape(self.outcome.why))


def show(names=None):
    """The questions (all, or those named) as cards, displayed; returns the Cards. A page rendered
    without a kernel shows the questions and their choices, not the answers (they come from runs)."""
    import ipywidgets as widgets

    from labs import display

    chosen = [find(n) for n in names] if names else QUESTIONS
    cards = [Card(q, i + 1) for i, q in enumerate(chosen)]
    picture = "".join("{}<ul>{}</ul>".format(c.prompt.value, "".join(
        "<li>{}</li>".format(html.escape(choice.text)) for choice in c.question.choices)) for c in cards)
    display.show(widgets.VBox([c.widget for c in cards]), picture, "Predict, then check")
    return cards
