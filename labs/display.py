"""Showing a widget in a lesson so that a page rendered without a kernel still shows something.

A live widget needs a kernel: `bazel run //:lessons`. A page rendered by `bazel run //:lessons --
--render=DIR` has none, so each widget is displayed with a second form beside it: a picture of its
default state (the drawing, the histograms, the question) and a note saying where the live one is.
JupyterLab shows the widget (its renderer outranks HTML); nbconvert, which has no widget state
(programs/lessons.py does not store it), shows the picture.
"""

import base64
import html

WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
NOTE = ("This is a picture of the widget as it starts. To use it (choose, click, drag), open the lesson with "
        "<code>bazel run //:lessons</code>.")


def static_html(picture_html, title):
    """The widget's stand-in: a title, the picture, the note."""
    return ("<div class='ltfn-static'><p><b>{}</b> (interactive in the live lesson)</p>{}"
            "<p><i>{}</i></p></div>".format(html.escape(title), picture_html, NOTE))


def png_img(png_bytes):
    return "<img src='data:image/png;base64,{}'/>".format(base64.b64encode(bytes(png_bytes)).decode("ascii"))


def bundle(widget, picture_html, title):
    """The display data: the widget's own view, the stand-in as HTML, and a line of plain text."""
    data = dict(widget._repr_mimebundle_())
    data["text/html"] = static_html(picture_html, title)
    data["text/plain"] = "{} (interactive: open the lesson with bazel run //:lessons)".format(title)
    return data


def show(widget, picture_html, title):
    from IPython.display import display

    display(bundle(widget, picture_html, title), raw=True)
