"""One line from an exception, for the one-line messages a user sees: what went wrong, in a few words.

A TensorFlow error's message is many lines: a "Graph execution error:" heading, the node, the stack
where the op was defined, and somewhere among them the line that says what is wrong. An OSError says
it in its strerror. Every "error line from an exception" of the project is made here (session/
checkpoints, events, restore; labs/deps); the parameters keep each message's own wording.
"""

# The wrapping of a TensorFlow error's message (not what went wrong).
TF_WRAPPING = ("Graph execution error", "Detected at node", "Node:", "[[")


def error_line(error, skip=TF_WRAPPING, last=False, indented=False, after=None, typed=False, limit=200):
    """The line of `error` that says what is wrong: its strerror if it has one, else the first (last=True:
    the last) line of its message that does not start with one of `skip`.

    Lines that start with whitespace (a stack's) are skipped too, unless indented=True; after: keep only what
    follows the last `after` in the line ("path; No space left on device" -> "No space left on device");
    typed: prefix the exception's type ("NotFoundError: ..."); limit: at most this many characters
    (None: the whole line). Control characters show as '?': a garbled file's bytes stay off the terminal.
    With no line left, the first non-empty line; with no text at all, the exception's type.
    """
    text = getattr(error, "strerror", None) or getattr(error, "message", None) or str(error)
    lines = [line for line in str(text).splitlines() if line.strip()]
    said = [line.strip() for line in lines
            if (indented or not line[0].isspace()) and not line.strip().startswith(tuple(skip))]
    if said:
        line = said[-1] if last else said[0]
    else:
        line = lines[0].strip() if lines else type(error).__name__
    if after:
        line = line.split(after)[-1]
    line = "".join(c if c.isprintable() else "?" for c in line)[:limit]
    return "{}: {}".format(type(error).__name__, line) if typed else line
