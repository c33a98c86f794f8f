"""What a traced session.run says each node ran: the parser of a node's timeline label.

A step run with RunOptions(trace_level=FULL_TRACE) fills RunMetadata.step_stats; each NodeExecStats
carries a `timeline_label` naming the kernel that ran and its inputs:

    [mklcpu 1.0MB 1.0MB] layer1/layer1_conv = _MklNativeConv2DWithBias(input, layer1/layer1_weights, ...)

The traced runs of labs/deps.py (LTFN 2: which nodes a session.run executes) and of the benchmark's
breakdown (bench/throughput.py: where a training step's time goes) both read it here. Standard library only.
"""

import re

# "[mklcpu 1.0MB 1.0MB] layer1/layer1_conv = _MklNativeConv2DWithBias(in0, in1, in2)"
_TIMELINE = re.compile(r"^(?:\[[^\]]*\]\s*)?(\S+) = ([^(\s]+)\((.*)\)\s*$")


def parse_timeline_label(label):
    """(kernel, [input names]) from a traced node's timeline label, `[mem] name = Kernel(a, b)`, or
    None for the executor's own bookkeeping entries, which have none."""
    match = _TIMELINE.match(label)
    if not match:
        return None
    return match.group(2), [i.strip() for i in match.group(3).split(",") if i.strip()]
