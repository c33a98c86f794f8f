"""A saved run on MNIST's test images or your own: `bazel run //:predict -- --run=RUN_DIR --image=my3.png`.

LTFN 9's lesson: the checkpoint's meta graph is restored with import_meta_graph and `input:0` / `logits:0`
are found by name, so no network is built in Python (session/restore.py; this program imports nothing of
graphs/). Your pictures are prepared as MNIST's digits were (data/digits.py). For each input one line:
`NAME: DIGIT  p(D)=P p(D)=P p(D)=P` (the top three probabilities; test images end with their label).
"""

import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from data import digits
from data import idx
from data import loader
from machine import quiet
from programs import cli

TOP = 3


def _indices(text):
    try:
        return [int(i) for i in text.split(",") if i.strip()]
    except ValueError:
        raise cli.UsageError("--test_index={}: give test image numbers separated by commas, e.g. "
                             "--test_index=0,7,42".format(text))


def parse(argv):
    parser = cli.ArgumentParser(prog="bazel run //:predict --", description=__doc__.splitlines()[0])
    parser.add_argument("--run", help="a run folder //:run wrote (its checkpoints/ are used)")
    parser.add_argument("--checkpoint_dir", help="a checkpoint folder (instead of --run)")
    parser.add_argument("--test_index", help="MNIST test images by number, e.g. 0,7,42")
    parser.add_argument("--image", help="your own PNG/JPEG pictures of digits, comma-separated")
    parser.add_argument("--data_dir", help="MNIST's IDX files for --test_index (default: the embedded copy)")
    parser.add_argument("--png", help="draw each input as the network saw it beside its ten probabilities")
    args = parser.parse_args(argv)
    if (args.run is None) == (args.checkpoint_dir is None):
        raise cli.UsageError("give exactly one of --run=RUN_DIR and --checkpoint_dir=DIR")
    if not args.test_index and not args.image:
        raise cli.UsageError("nothing to predict: give --test_index=0,7,42 and/or --image=PATH[,PATH...]")
    return args


if __name__ == "__main__":
    try:
        parse(sys.argv[1:])  # a mistyped command line or --help answers before TensorFlow is imported
    except cli.UsageError as e:
        print("error: {}".format(e), file=sys.stderr)
        sys.exit(1)

quiet.import_tensorflow()  # without its start-up notes that are not about this run (machine/quiet.py)
import tensorflow as tf  # noqa: E402  (the imports from here on load TensorFlow)

from session import restore  # noqa: E402
from session import trainer  # noqa: E402


def inputs(args):
    """[(name, 28x28 image in [0, 1], label or None)] in the order given: test images, then pictures."""
    found = []
    if args.test_index:
        wanted = _indices(args.test_index)
        try:
            test = loader.load_test(cli.user_path(args.data_dir) if args.data_dir else None)
        except idx.IdxError as e:
            raise cli.UsageError(str(e))
        count = len(test.images)
        wrong = [i for i in wanted if not 0 <= i < count]
        if wrong:
            raise cli.UsageError("--test_index {} out of range: the test set holds images 0 to {}".format(
                ",".join(map(str, wrong)), count - 1))
        found += [("test[{}]".format(i), test.images[i].reshape(28, 28), int(test.labels[i].argmax()))
                  for i in wanted]
    pictures = args.image or ""
    # Comma-separated, spaces around a name dropped; a whole value that names a file is that file.
    for path in ([pictures] if os.path.isfile(cli.user_path(pictures)) else
                 [piece.strip() for piece in pictures.split(",")]):
        if path:
            try:
                found.append((path, digits.prepare(cli.user_path(path)), None))
            except digits.DigitImageError as e:
                raise cli.UsageError(str(e))
    return found


def line(name, probabilities, label=None):
    """`NAME: DIGIT  p(D)=P ...` with the top three; the label of a test image at the end."""
    top = probabilities.argsort()[::-1][:TOP]
    text = "{}: {}  {}".format(name, top[0], " ".join("p({})={:.4f}".format(d, probabilities[d]) for d in top))
    return text if label is None else "{}  label {}".format(text, label)


def main(argv=None):
    # The posts' graphs are TF1 graphs: import_meta_graph and its Saver need graph mode.
    tf.compat.v1.disable_eager_execution()
    tf.get_logger().setLevel("ERROR")  # not the Saver's "Restoring parameters from ..." line
    try:
        args = parse(argv)
        directory = (restore.checkpoint_dir_of_run(cli.user_path(args.run)) if args.run
                     else cli.user_path(args.checkpoint_dir))
        checkpoint = restore.latest_checkpoint(directory)
        png = cli.user_path(args.png) if args.png else None
        if png and not os.path.isdir(os.path.dirname(png)):
            raise cli.UsageError("--png {}: its folder does not exist; choose a file in a folder you can "
                                 "write to".format(png))
        found = inputs(args)
        restored = restore.Restored(checkpoint)
        try:
            probabilities = trainer.softmax(restored.logits_of([image for _, image, _ in found]))
        finally:
            restored.close()
        if png:
            from pictures import predictions  # matplotlib only when a picture is asked for
            try:
                predictions.plot([(name, image, p) for (name, image, _), p in zip(found, probabilities)], png)
            except OSError as e:
                raise cli.UsageError("--png {} cannot be written ({})".format(png, e.strerror or e))
    except (cli.UsageError, restore.RestoreError) as e:
        print("error: {}".format(e), file=sys.stderr)
        return 1
    print("restored {} (step {})".format(checkpoint, restore.step_of(checkpoint)), file=sys.stderr)
    for (name, _, label), p in zip(found, probabilities):
        print(line(name, p, label))
    if png:
        print("inputs and probabilities drawn: {}".format(png), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
