"""The initialization microscope (LTFN 6): choose the initial weights, see every layer at step 0.

LTFN 6 looks at histograms of each layer's output before its ReLU, of the logits and of the
predictions, and finds three cases: weights N(0, 1) make the outputs explode layer after layer,
N(0, 1) x 0.01 makes them vanish, and variance scaling (He) keeps them the same size. The
microscope makes that a control: a scheme (the four --init names, or N(0, stddev^2) for a stddev
of your own) and a scale that multiplies every weight. Each change loads those weights into one
conv4 graph (graphs/model.build_graph), runs one batch forward (no training), and redraws

  * the histograms of `layer1_conv` ... `layer4_conv`, `logits` and `predictions`;
  * a table of each layer's spread (standard deviation) beside what He's and Xavier's analyses
    predict from the layer's input and weights: Var(y) = fan_in * Var(w) * E[x^2], where a ReLU
    before the layer halves E[x^2] (He) or is ignored (Xavier, who analysed linear units);
  * the verdict: exploding, vanishing or about right, from how much the spread grows per layer.

The scheme's weights come from graphs/initializers through build_graph, the same ones //:run trains
from. Every control's handler is a plain method: tests/widgets_test.py drives them without a browser.
"""

import collections
import html
import io
import math

import numpy as np
import tensorflow as tf

from data import loader
from graphs import initializers
from graphs import model
from graphs import posts
from machine import sessions

CUSTOM = "custom"
SCHEMES = tuple(initializers.INITS) + (CUSTOM,)
NET = "conv4"

Layer = collections.namedtuple("Layer", [
    "name",       # the pre-activation's posts' name: layer1_conv ... logits
    "fan_in",     # inputs per output: 3*3*depth for a convolution, the row length for the final layer
    "fan_out",    # outputs per input, as Glorot counts them (3*3*filters for a convolution)
    "w_std",      # the weights' standard deviation as loaded
    "input_ms",   # E[x^2] of the layer's input on this batch
    "std",        # the measured spread of its output (pre-ReLU) on this batch
    "he",         # He's prediction of that spread, from the layer before (ReLU halves E[x^2])
    "xavier",     # Xavier's prediction (linear units: the ReLU ignored)
])

Look = collections.namedtuple("Look", ["layers", "values", "cost", "verdict", "gain"])


def verdict(stds, final=0.0):
    """('exploding' | 'vanishing' | 'about right' | 'all zero' | 'overflowed', growth per layer)
    from the spreads of layer1_conv ... layer4_conv (the four ReLU layers) and of the final layer's."""
    stds = [float(s) for s in stds]
    if not all(math.isfinite(s) for s in stds + [float(final)]):
        return "overflowed", float("inf")
    if stds[0] == 0.0:
        return "all zero", 0.0
    if stds[-1] == 0.0:
        return "vanishing", 0.0
    gain = (stds[-1] / stds[0]) ** (1.0 / (len(stds) - 1))
    if gain > 2.0:
        return "exploding", gain
    if gain < 0.5:
        return "vanishing", gain
    return "about right", gain


def _weights_of(graph):
    variables = {v.op.name: v for v in graph.get_collection(tf.compat.v1.GraphKeys.GLOBAL_VARIABLES)}
    return [variables[n] for n in sorted(variables) if n.endswith("_weights")]


class Model:
    """One conv4 graph and session to look through, and each scheme's initial weights (cached)."""

    def __init__(self, images, seed=0):
        self.seed = seed
        self.images = images.reshape((-1,) + model.NETS[NET].INPUT_SHAPE)
        self.graph, self.nodes, init_op = self._build("variance_scaling")
        self.weights = _weights_of(self.graph)
        with self.graph.as_default():
            # One placeholder and assign per weight, made once: loading new weights adds no op later.
            self._feeds = [tf.compat.v1.placeholder(tf.float32, w.shape, name="microscope/" + w.op.name.split("/")[-1])
                           for w in self.weights]
            self._loads = [w.assign(p) for w, p in zip(self.weights, self._feeds)]
        self.graph.finalize()
        self.session = sessions.new_session(self.graph)
        self.session.run(init_op)
        self.layer_inputs = [self._layer_input(t) for t in self.pre_activations]
        self._scheme_weights = {}

    def _build(self, init):
        return model.build_graph(NET, init, posts.settings(NET, init).learning_rate, self.seed)

    @property
    def pre_activations(self):
        """layer1_conv ... layer4_conv, then the final layer's output (logits before the identity)."""
        return list(self.nodes.pre_activations) + [self.nodes.logits.op.inputs[0]]

    @staticmethod
    def _layer_input(pre):
        # BiasAdd(Conv2D(x, w) or MatMul(x, w), b): x is the layer's input.
        return pre.op.inputs[0].op.inputs[0]

    def scheme_weights(self, scheme):
        """The initial weights //:run starts from for --init=scheme (same seed), as arrays."""
        if scheme not in self._scheme_weights:
            graph, _, init_op = self._build(scheme)
            with tf.compat.v1.Session(graph=graph, config=sessions.config()) as session:
                session.run(init_op)
                self._scheme_weights[scheme] = session.run(_weights_of(graph))
        return self._scheme_weights[scheme]

    def custom_weights(self, stddev):
        """N(0, stddev^2) for every layer's weights (random_normal's shape of scheme, your stddev)."""
        rng = np.random.default_rng(self.seed)
        return [rng.standard_normal(w.shape.as_list()).astype(np.float32) * np.float32(stddev)
                for w in self.weights]

    def look(self, weights, labels=None):
        """Loads `weights`, runs the batch forward; returns a Look."""
        self.session.run(self._loads, dict(zip(self._feeds, weights)))
        fetches = self.pre_activations + [self.nodes.logits, self.nodes.predictions] + self.layer_inputs
        feed = {self.nodes.input: self.images}
        if labels is not None:
            fetches.append(self.nodes.cost)
            feed[self.nodes.labels] = labels
        with np.errstate(all="ignore"):
            out = self.session.run(fetches, feed)
            n = len(self.pre_activations)
            pres, logits, predictions, inputs = out[:n], out[n], out[n + 1], out[n + 2:2 * n + 2]
            cost = float(out[-1]) if labels is not None else None
            layers = self._layers(weights, pres, inputs)
        names = [l.name for l in layers[:-1]] + ["logits", "predictions"]
        values = collections.OrderedDict(zip(names, pres[:-1] + [logits, predictions]))
        kind, gain = verdict([l.std for l in layers[:-1]], layers[-1].std)
        return Look(layers, values, cost, kind, gain)

    def _layers(self, weights, pres, inputs):
        rows, previous = [], None
        for tensor, pre, x, w in zip(self.pre_activations, pres, inputs, weights):
            receptive = int(np.prod(w.shape[:-2]))  # 3*3 for a convolution, 1 for the final matmul
            fan_in, fan_out = receptive * w.shape[-2], receptive * w.shape[-1]
            w_var = float(np.var(w, dtype=np.float64))
            input_ms = float(np.mean(np.square(x, dtype=np.float64)))
            std = float(np.std(pre, dtype=np.float64))
            if previous is None:  # the image itself: no ReLU before layer 1
                he = xavier = math.sqrt(fan_in * w_var * input_ms)
            else:
                he = math.sqrt(fan_in * w_var * previous ** 2 / 2)
                xavier = math.sqrt(fan_in * w_var * previous ** 2)
            name = tensor.op.name.split("/")[-1]  # layer1_conv ... layer5_linear
            rows.append(Layer(name, fan_in, fan_out, math.sqrt(w_var), input_ms, std, he, xavier))
            previous = std
        return rows


def _g(x):
    return "{:.3g}".format(x) if math.isfinite(x) else "inf"


def table_lines(look):
    """Each layer's spread beside He's and Xavier's predictions, and the weights beside their choices."""
    lines = ["{:<14} {:>7} {:>10} {:>10} {:>10} | {:>10} {:>10} {:>10}".format(
        "layer", "fan-in", "std(out)", "He says", "Xavier", "std(w)", "He's w", "Xavier's w")]
    for l in look.layers:
        # He: Var(w) = 2 / fan_in; Glorot (Xavier): Var(w) = 2 / (fan_in + fan_out).
        xavier_w = math.sqrt(2.0 / (l.fan_in + l.fan_out))
        lines.append("{:<14} {:>7} {:>10} {:>10} {:>10} | {:>10} {:>10} {:>10}".format(
            l.name, l.fan_in, _g(l.std), _g(l.he), _g(l.xavier), _g(l.w_std), _g(math.sqrt(2.0 / l.fan_in)),
            _g(xavier_w)))
    lines.append("He says / Xavier: sqrt(fan_in * Var(w) * E[x^2]) from the layer before; He halves E[x^2] for the "
                 "ReLU, Xavier (linear units) does not.")
    lines.append("pool1 and pool2 (before layer3 and layer5) keep each window's largest value, which raises E[x^2]: "
                 "neither rule counts it.")
    return lines


def verdict_line(look):
    kind, gain = look.verdict, look.gain
    words = {
        "exploding": "EXPLODING: each layer's output is {:.3g} times wider than the one before; the logits are "
                     "huge and the predictions pile up at 0 and 1 (LTFN 5's huge cost)",
        "vanishing": "VANISHING: each layer's output is {:.3g} times as wide as the one before; the logits are "
                     "nearly 0 and every prediction is about 0.1: cost ln 10 = 2.3026, nothing to learn from",
        "about right": "ABOUT RIGHT: the spread changes by x{:.3g} per layer, so the last layer sees values as "
                       "wide as the first; the predictions spread between 0 and 1 (LTFN 6's fix)",
        "all zero": "ALL ZERO: with weights of 0 every output is its bias, 0; every prediction is 0.1 and "
                    "every weight of a layer gets the same gradient: nothing tells them apart",
        "overflowed": "OVERFLOWED: the outputs grew past float32's largest number (3.4e38): inf and NaN, "
                      "left out of the histograms",
    }[kind]
    return words.format(gain)


# As session/summaries: a histogram of the first 2^19 values tells the shape as well as all 5 million.
HISTOGRAM_VALUES = 1 << 19


def histogram_png(look, title):
    """The six histograms (four layers, logits, predictions) as one PNG; non-finite values left out."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(12, 2.6))
    FigureCanvasAgg(figure)
    axes = figure.subplots(1, len(look.values))
    for ax, (name, value) in zip(axes, look.values.items()):
        flat = np.asarray(value).ravel()[:HISTOGRAM_VALUES].astype(np.float64)
        finite = flat[np.isfinite(flat)]
        if finite.size:
            # predictions on 0..1, as the post draws them: "all at 0.1" is the point of the small case
            counts, edges = np.histogram(finite, bins=50, range=(0.0, 1.0) if name == "predictions" else None)
            ax.stairs(counts, edges, fill=True, color="tab:orange" if name == "predictions" else "tab:blue")
        left_out = flat.size - finite.size
        ax.set_title(name + (" ({} not finite)".format(left_out) if left_out else ""), fontsize=9)
        ax.tick_params(labelsize=7)
        ax.ticklabel_format(axis="x", style="sci", scilimits=(-2, 3))
        ax.set_yticks([])
    figure.suptitle(title, fontsize=10)
    figure.subplots_adjust(left=0.02, right=0.98, bottom=0.2, top=0.78, wspace=0.15)  # tight_layout, fixed: faster
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=80)
    return buffer.getvalue()


class Microscope:
    """The widget: `Microscope().widget` in a cell (or `microscope.show()`).

    `batch` is a loader.DataSet (default: the first 100 MNIST test images).
    """

    def __init__(self, batch=None, seed=0):
        import ipywidgets as widgets

        if batch is None:
            test = loader.load_mnist().test
            batch = loader.DataSet(test.images[:100], test.labels[:100])
        self.batch = batch
        self.model = Model(batch.images, seed)
        self.scheme = widgets.ToggleButtons(options=list(SCHEMES), value="variance_scaling", description="init")
        self.stddev = widgets.BoundedFloatText(value=0.1, min=0.0, max=1e4, step=0.01,
                                               description="custom stddev", style={"description_width": "initial"})
        self.scale = widgets.FloatLogSlider(value=1.0, base=10, min=-3, max=3, step=0.1,
                                            description="x scale", readout_format=".3g")
        self.picture = widgets.Image(format="png")
        self.verdict = widgets.HTML()
        self.table = widgets.HTML()
        for control, handler in ((self.scheme, self.on_scheme), (self.stddev, self.on_stddev),
                                 (self.scale, self.on_scale)):
            control.observe(handler, names="value")
        self.look = None
        self.widget = widgets.VBox([self.scheme, widgets.HBox([self.stddev, self.scale]), self.verdict,
                                    self.picture, self.table])
        self.widget.add_class("ltfn-microscope")
        self.redraw()

    def description(self):
        scheme = self.scheme.value
        what = "N(0, {:g}^2)".format(self.stddev.value) if scheme == CUSTOM else scheme
        return "{}{} at step 0".format(what, " x {:.3g}".format(self.scale.value) if self.scale.value != 1 else "")

    def weights(self):
        if self.scheme.value == CUSTOM:
            base = self.model.custom_weights(self.stddev.value)
        else:
            base = self.model.scheme_weights(self.scheme.value)
        return [w * np.float32(self.scale.value) for w in base]

    def redraw(self):
        self.stddev.disabled = self.scheme.value != CUSTOM
        with np.errstate(all="ignore"):
            self.look = self.model.look(self.weights(), self.batch.labels)
        cost = "first cost on this batch: {}".format(_g(self.look.cost)) if self.look.cost is not None else ""
        self.verdict.value = "<b>{}</b><br>{}; {}".format(html.escape(self.description()),
                                                          html.escape(verdict_line(self.look)), cost)
        self.picture.value = histogram_png(self.look, self.description())
        self.table.value = "<pre style='margin: 0'><code>{}</code></pre>".format(html.escape("\n".join(table_lines(self.look))))

    def on_scheme(self, change=None):
        self.redraw()

    def on_stddev(self, change=None):
        if self.scheme.value == CUSTOM:
            self.redraw()

    def on_scale(self, change=None):
        self.redraw()


def show(**kwargs):
    """The microscope, displayed; returns it. A page rendered without a kernel shows its first look."""
    from labs import display

    microscope = Microscope(**kwargs)
    display.show(microscope.widget, microscope.verdict.value + display.png_img(microscope.picture.value) +
                 microscope.table.value, "The initialization microscope")
    return microscope
