"""What `//:predict --png=PATH` draws: each input as the network saw it (28x28) beside its ten probabilities."""

from pictures import figures

ROW_HEIGHT = 1.6  # inches per input


def plot(rows, out_path):
    """rows: [(name, 28x28 image, ten probabilities)]; one row per input. Returns out_path."""
    return figures.save(figure(rows), out_path)


def figure(rows):
    """The matplotlib figure plot() saves: per row, the image (titled with its name) and its ten bars."""
    height = ROW_HEIGHT * len(rows) + 0.3
    fig = figures.new(6.5, height)
    axes = fig.subplots(len(rows), 2, squeeze=False, gridspec_kw={"width_ratios": [1, 2.6]})
    # Margins in inches: the bars' digits need 0.25 in below the last row, whatever the number of rows.
    fig.subplots_adjust(left=0.03, right=0.98, top=1 - 0.2 / height, bottom=0.25 / height, hspace=0.6, wspace=0.15)
    for (name, image, probabilities), (picture, bars) in zip(rows, axes):
        figures.digit(picture, image, name if len(name) <= 24 else "…" + name[-23:])
        predicted = int(probabilities.argmax())
        colours = ["tab:orange" if d == predicted else "tab:blue" for d in range(10)]
        bars.bar(range(10), probabilities, color=colours)
        bars.set_xticks(range(10))
        bars.set_ylim(0, 1)
        bars.tick_params(labelsize=8)
        bars.set_title("predicted {} ({:.1%})".format(predicted, probabilities[predicted]), fontsize=9)
    return fig
