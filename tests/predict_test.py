"""//:predict (issue 14): a saved run restored from its meta graph, on MNIST's test images and on
hand-made pictures prepared as MNIST's digits were; every bad input is one line; nothing of graphs/
is imported on the way.

One short linear run of run.py on a small MNIST (5,100 training and 200 test images) serves every test.
"""

import contextlib
import io
import os
import re
import shutil
import subprocess
import tempfile
import warnings
import zlib

import numpy as np
from PIL import Image
from PIL import ImageDraw
import tensorflow as tf

from data import digits
from data import loader
from graphs import model
from pictures import figures
from pictures import mistakes
from pictures import results
from programs import predict
from session import checkpoints
from session import restore
from session import trainer
from tests import drawn
from tests import testing

STEPS = 60
LINE = re.compile(r"^(?P<name>.+): (?P<digit>\d)  (?P<top>(?:p\(\d\)=[0-9.]+ ?){3})(?:  label (?P<label>\d))?$")


def _parse(stdout):
    """{name: (digit, [(digit, probability)] * 3, label)} from predict's lines."""
    found = {}
    for text in stdout.splitlines():
        match = LINE.match(text)
        assert match, text
        top = [(int(d), float(p)) for d, p in re.findall(r"p\((\d)\)=([0-9.]+)", match["top"])]
        found[match["name"]] = (int(match["digit"]), top, None if match["label"] is None else int(match["label"]))
    return found


def draw_digit(size, light_background, shape=(0.4, 0.8), jpeg=False, folder=None, name="digit"):
    """A '3'-like stroke drawing of `shape` (width, height as fractions of the canvas) on a canvas of
    `size` (width, height), dark on light or light on dark, saved as PNG (or JPEG); returns its path."""
    width, height = size
    paper, ink = (255, 20) if light_background else (0, 235)
    image = Image.new("RGB" if jpeg else "L", size, (paper,) * 3 if jpeg else paper)
    draw = ImageDraw.Draw(image)
    w, h = width * shape[0], height * shape[1]
    left, top = (width - w) / 2, (height - h) / 2
    stroke = max(1, int(min(w, h) / 8))
    colour = (ink,) * 3 if jpeg else ink
    draw.arc([left, top, left + w, top + h / 2], 180, 90, fill=colour, width=stroke)
    draw.arc([left, top + h / 2, left + w, top + h], 270, 180, fill=colour, width=stroke)
    path = os.path.join(folder, "{}.{}".format(name, "jpg" if jpeg else "png"))
    image.save(path)
    return path


def _ink_box(image, threshold=0.1):
    rows, columns = np.nonzero(image > threshold)
    return rows.max() - rows.min() + 1, columns.max() - columns.min() + 1


class DigitsTest(tf.test.TestCase):
    """data/digits.py: pictures of any size and either polarity come out as MNIST's digits are."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.test = loader.load_test()
        # Where MNIST's own digits have their centre of mass (the median over the test set).
        images = cls.test.images.reshape(-1, 28, 28)
        cls.mnist_centre = np.median([digits.centre_of_mass(image) for image in images[:2000]], axis=0)

    def test_sizes_and_polarities_come_out_as_mnist_digits(self):
        folder = self.create_tempdir().full_path
        prepared = {}
        for size in ((40, 30), (200, 300), (1000, 600)):
            for light in (True, False):
                for jpeg in (False, True):
                    key = (size, light, jpeg)
                    path = draw_digit(size, light, jpeg=jpeg, folder=folder, name="{}x{}-{}".format(*size, light))
                    image = digits.prepare(path)
                    prepared[key] = image
                    self.assertEqual(image.shape, (28, 28))
                    self.assertEqual(image.dtype, np.float32)
                    self.assertBetween(float(image.min()), 0.0, 0.0)  # the background is black
                    self.assertBetween(float(image.max()), 0.5, 1.0)  # the ink is light
                    # The bounding box fits 20x20 with its long side 20 (a drawn 3 is taller than wide).
                    box_height, box_width = _ink_box(image)
                    self.assertBetween(box_height, 19, 21, key)
                    self.assertLess(box_width, box_height, key)
                    # Its centre of mass is the field's centre (to the half pixel a whole-pixel shift allows).
                    com = digits.centre_of_mass(image)
                    self.assertAllClose(com, self.mnist_centre, atol=0.55, msg=str(key))  # a whole-pixel shift: ±0.5
        # Dark on light and light on dark give the same digit.
        for size in ((40, 30), (200, 300), (1000, 600)):
            self.assertLess(np.abs(prepared[(size, True, False)] - prepared[(size, False, False)]).max(), 0.1)

    def test_aspect_ratio_is_kept(self):
        folder = self.create_tempdir().full_path
        wide = digits.prepare(draw_digit((400, 400), True, shape=(0.8, 0.4), folder=folder))
        height, width = _ink_box(wide)
        self.assertBetween(width, 19, 21)
        self.assertBetween(height, 9, 12)  # half as tall as wide, as drawn

    def test_an_mnist_digit_enlarged_and_inverted_comes_back_as_it_was(self):
        folder = self.create_tempdir().full_path
        for i in (0, 7, 42):
            original = self.test.images[i].reshape(28, 28)
            big = Image.fromarray(np.uint8(255 - original * 255)).resize((280, 280), Image.Resampling.BICUBIC)
            path = os.path.join(folder, "mnist{}.png".format(i))
            big.save(path)
            prepared = digits.prepare(path)
            # MNIST placed its digits to the whole pixel too: compare shapes up to a one-pixel shift.
            correlation = max(np.corrcoef(np.roll(prepared, (dr, dc), (0, 1)).ravel(), original.ravel())[0, 1]
                              for dr in (-1, 0, 1) for dc in (-1, 0, 1))
            self.assertGreater(correlation, 0.95, i)

    def _same_digit(self, path, reference, tolerance=0.1):
        prepared = digits.prepare(path)
        self.assertLess(np.abs(prepared - reference).max(), tolerance, path)

    def _alike(self, path, reference, least):
        # Placed to the whole pixel: a shape is alike up to a one-pixel shift.
        prepared = digits.prepare(path)
        correlation = max(np.corrcoef(np.roll(prepared, (dr, dc), (0, 1)).ravel(), reference.ravel())[0, 1]
                          for dr in (-1, 0, 1) for dc in (-1, 0, 1))
        self.assertGreater(correlation, least, path)
        return prepared

    def test_every_kind_of_picture_gives_the_same_digit(self):
        # Issue 14: one drawing saved as each kind of picture a user may have is one digit.
        folder = self.create_tempdir().full_path
        grey = np.asarray(Image.open(draw_digit((60, 80), True, folder=folder, name="plain")))
        reference = digits.prepare(os.path.join(folder, "plain.png"))
        ink = 255 - grey  # the stroke's opacity
        path = lambda name: os.path.join(folder, name)  # noqa: E731
        # 16-bit and 32-bit greys, floats in 0-1: were clipped to 255 (two levels) or read as black.
        Image.fromarray(np.uint16(grey) * 257).save(path("16bit.png"))
        Image.fromarray(np.int32(grey) * 257).save(path("32bit.tif"))
        Image.fromarray(np.float32(grey) / 255).save(path("float.tif"))
        # Ink drawn only in the alpha channel on a transparent background, black or white ink: white
        # ink on the white paper transparency counted as was blank.
        for colour in (0, 255):
            Image.merge("RGBA", [Image.new("L", grey.shape[::-1], colour)] * 3 + [Image.fromarray(ink)]).save(
                path("alpha{}.png".format(colour)))
        # A JPEG whose EXIF says to turn it a quarter clockwise (as phones save them): read sideways before.
        exif = Image.Exif()
        exif[0x0112] = 6
        Image.fromarray(grey).transpose(Image.Transpose.ROTATE_90).save(path("turned.jpg"), exif=exif, quality=95)
        for name in ("16bit.png", "32bit.tif", "float.tif", "alpha0.png", "alpha255.png"):
            self._same_digit(path(name), reference)
        self._alike(path("turned.jpg"), reference, 0.98)  # JPEG's own noise

    def test_grey_paper_either_ink(self):
        # Dark ink on dim paper (a photo of paper is often mid-grey), light ink on light-grey paper: the
        # ink's side of the background decides, not whether the background is over half grey (both
        # were "blank"). Faint and thin strokes come out full white, as every MNIST digit's brightest pixel.
        folder = self.create_tempdir().full_path
        stroke = 255 - np.asarray(Image.open(draw_digit((60, 80), True, folder=folder, name="plain")), np.float64)
        reference = digits.prepare(os.path.join(folder, "plain.png"))
        for paper, ink in ((110, 50), (80, 40), (160, 220)):
            path = os.path.join(folder, "grey{}-{}.png".format(paper, ink))
            Image.fromarray(np.uint8(np.round(paper + (ink - paper) * stroke / 255))).save(path)
            prepared = self._alike(path, reference, 0.9)
            self.assertAlmostEqual(float(prepared.max()), 1.0, places=5)

    def test_a_noisy_photo_is_its_digit_and_noise_alone_is_blank(self):
        folder = self.create_tempdir().full_path
        rng = np.random.default_rng(0)
        stroke = 255 - np.asarray(Image.open(draw_digit((300, 400), True, folder=folder, name="plain")), np.float64)
        reference = digits.prepare(os.path.join(folder, "plain.png"))
        paper = 190 + rng.normal(0, 12, stroke.shape)  # camera noise: specks stood out as ink, box = the picture
        Image.fromarray(np.uint8(np.clip(paper + (40 - paper) * stroke / 255, 0, 255))).save(
            os.path.join(folder, "photo.png"))
        self._alike(os.path.join(folder, "photo.png"), reference, 0.95)
        for name, pixels in (("noise", 200 + rng.normal(0, 8, (300, 300))),
                             ("dot", np.pad(np.zeros((1, 1)), 150, constant_values=255))):
            path = os.path.join(folder, name + ".png")
            Image.fromarray(np.uint8(np.clip(pixels, 0, 255))).save(path)
            with self.assertRaisesRegex(digits.DigitImageError, "is blank"):
                digits.prepare(path)

    def test_pillows_warnings_are_not_printed(self):
        # Between MAX_IMAGE_PIXELS and twice it Pillow warned in two lines on stderr before the answer.
        folder = self.create_tempdir().full_path
        path = draw_digit((60, 80), False, folder=folder)
        limit = Image.MAX_IMAGE_PIXELS
        self.addCleanup(setattr, Image, "MAX_IMAGE_PIXELS", limit)
        Image.MAX_IMAGE_PIXELS = 60 * 80 - 1
        stderr = io.StringIO()
        with contextlib.redirect_stderr(stderr), warnings.catch_warnings():
            warnings.simplefilter("always")
            digits.prepare(path)
        self.assertEqual(stderr.getvalue(), "")
        Image.MAX_IMAGE_PIXELS = 60 * 80 // 2 - 1
        with self.assertRaisesRegex(digits.DigitImageError, "cannot be read .*decompression bomb"):
            digits.prepare(path)
        # Corrupt EXIF data (now read for the orientation) warned in two lines too.
        with open(path, "rb") as f:
            png = f.read()
        garbage = b"II*\x00\x08\x00\x00\x00\xff\xff" + bytes(30)
        chunk = len(garbage).to_bytes(4, "big") + b"eXIf" + garbage + zlib.crc32(b"eXIf" + garbage).to_bytes(4, "big")
        with open(path, "wb") as f:
            f.write(png[:33] + chunk + png[33:])  # after the signature and IHDR
        Image.MAX_IMAGE_PIXELS = limit
        with contextlib.redirect_stderr(stderr), warnings.catch_warnings():
            warnings.simplefilter("always")
            digits.prepare(path)
        self.assertEqual(stderr.getvalue(), "")

    def test_blank_pictures_are_refused(self):
        folder = self.create_tempdir().full_path
        rng = np.random.default_rng(0)
        faint = np.uint8(230 + rng.integers(0, 10, (100, 80)))  # paper texture, no ink
        for name, pixels in (("white", np.full((50, 50), 255, np.uint8)), ("black", np.zeros((50, 50), np.uint8)),
                             ("faint", faint)):
            path = os.path.join(folder, name + ".png")
            Image.fromarray(pixels).save(path)
            with self.assertRaisesRegex(digits.DigitImageError, "is blank"):
                digits.prepare(path)

    def test_specks_far_apart_are_blank_once_scaled_to_20x20(self):
        # Two 2x2 specks at opposite corners of 1000x1000: ink (each stands out of its 3x3 average), but their box
        # is the whole picture, and at 20x20 nothing of them is left.
        ink = np.zeros((1000, 1000))
        ink[:2, :2] = ink[-2:, -2:] = 1.0
        with self.assertRaisesRegex(digits.DigitImageError, r"^specks is blank once scaled to 20x20"):
            digits.normalize(ink, "specks")


class PredictTest(tf.test.TestCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.start = tempfile.mkdtemp(dir=os.environ.get("TEST_TMPDIR"))
        cls.data_dir = os.path.join(cls.start, "data")
        os.makedirs(cls.data_dir)
        testing.small_mnist(cls.data_dir)
        result = testing.run_program("run.py", [
            "--net=linear", "--steps={}".format(STEPS), "--print_every={}".format(STEPS), "--learning_rate=0.05",
            "--data_dir=data", "--logdir=runs/linear"], env={"BUILD_WORKING_DIRECTORY": cls.start})
        assert result.returncode == 0, result.stderr
        cls.run_dir = os.path.join(cls.start, "runs", "linear")
        cls.test = loader.load_test(cls.data_dir)

    def setUp(self):
        super().setUp()
        os.environ["BUILD_WORKING_DIRECTORY"] = self.start
        self.addCleanup(os.environ.pop, "BUILD_WORKING_DIRECTORY")

    def _main(self, args):
        """predict.main in this process: (exit code, stdout, stderr)."""
        stdout, stderr = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
            code = predict.main(args)
        return code, stdout.getvalue(), stderr.getvalue()

    def _own_argmax(self, indices):
        """The trained network's answers computed the other way: graph rebuilt in Python, weights restored."""
        graph, nodes, _ = model.build_graph("linear", "random_normal", 0.05)
        with graph.as_default():
            saver = tf.compat.v1.train.Saver()
        with tf.compat.v1.Session(graph=graph) as session:
            saver.restore(session, tf.compat.v1.train.latest_checkpoint(os.path.join(self.run_dir, "checkpoints")))
            logits = session.run(nodes.logits, {nodes.input: self.test.images[indices]})
        return logits.argmax(axis=1)

    def test_test_images_get_the_networks_own_answers(self):
        indices = [0, 7, 42, 199]
        code, stdout, stderr = self._main(["--run=runs/linear", "--data_dir=data",
                                           "--test_index=" + ",".join(map(str, indices))])
        self.assertEqual(code, 0, stderr)
        found = _parse(stdout)
        self.assertEqual(list(found), ["test[{}]".format(i) for i in indices])  # in the order asked
        own = self._own_argmax(indices)
        for i, expected in zip(indices, own):
            digit, top, label = found["test[{}]".format(i)]
            self.assertEqual(digit, expected)
            self.assertEqual(top[0][0], digit)
            self.assertEqual(label, int(self.test.labels[i].argmax()))
            probabilities = [p for _, p in top]
            self.assertEqual(probabilities, sorted(probabilities, reverse=True))
            self.assertLessEqual(sum(probabilities), 1.0001)
        self.assertIn("step {}".format(STEPS), stderr)

    def test_predictions_equal_the_runs_own(self):
        # The run's own answer for every test image, from its logits-only test pass (pictures.npz).
        own = results.load(self.run_dir).arrays
        indices = list(range(0, 200, 9))
        code, stdout, stderr = self._main(["--run=runs/linear", "--data_dir=data",
                                           "--test_index=" + ",".join(map(str, indices))])
        self.assertEqual(code, 0, stderr)
        found = _parse(stdout)
        self.assertEqual([found["test[{}]".format(i)][0] for i in indices], list(own["predictions"][indices]))
        # And the run's mistakes are the restored network's most confident wrong answers, in order.
        restored = restore.Restored(restore.latest_checkpoint(os.path.join(self.run_dir, "checkpoints")))
        probabilities = trainer.softmax(restored.logits_of(self.test.images))
        restored.close()
        labels = self.test.labels.argmax(axis=1)
        wrong = [i for i in range(len(labels)) if probabilities[i].argmax() != labels[i]]
        wrong.sort(key=lambda i: -probabilities[i].max())
        self.assertEqual(list(own["mistake_index"]), wrong[:mistakes.SHOWN])

    def _own_probabilities(self, images):
        """The trained network's probabilities computed the other way: graph rebuilt in Python, weights restored."""
        graph, nodes, _ = model.build_graph("linear", "random_normal", 0.05)
        with graph.as_default():
            saver = tf.compat.v1.train.Saver()
        with tf.compat.v1.Session(graph=graph) as session:
            saver.restore(session, tf.compat.v1.train.latest_checkpoint(os.path.join(self.run_dir, "checkpoints")))
            logits = session.run(nodes.logits, {nodes.input: np.reshape(images, (-1, 784))}).astype(np.float64)
        return np.exp(logits - logits.max(axis=1, keepdims=True)) / np.exp(
            logits - logits.max(axis=1, keepdims=True)).sum(axis=1, keepdims=True)

    def test_checkpoint_dir_and_pictures_with_a_png(self):
        folder = self.create_tempdir().full_path
        three = draw_digit((120, 90), True, folder=folder, name="three")
        with drawn.saved_figures(figures) as saved:
            code, stdout, stderr = self._main(["--checkpoint_dir=runs/linear/checkpoints", "--data_dir=data",
                                               "--test_index=3,7", "--image=" + three, "--png=seen.png"])
        self.assertEqual(code, 0, stderr)
        found = _parse(stdout)
        self.assertEqual(list(found), ["test[3]", "test[7]", three])
        self.assertIsNone(found[three][2])
        with Image.open(os.path.join(self.start, "seen.png")) as png:
            self.assertEqual(png.format, "PNG")
            self.assertGreater(png.size[1], 300)  # three rows
        # What the picture says, row by row: the input as the network saw it under its name, its ten
        # probabilities as bars (the network's own, recomputed here), the answer's bar coloured and named.
        ((path, fig),) = saved
        self.assertEqual(path, os.path.join(self.start, "seen.png"))
        inputs = [self.test.images[3].reshape(28, 28), self.test.images[7].reshape(28, 28), digits.prepare(three)]
        own = self._own_probabilities(inputs)
        self.assertNotEqual(own[0].argmax(), own[1].argmax())  # two different answers, so a mix-up shows
        shown = drawn.panels(fig)
        self.assertLen(shown, 2 * len(inputs))
        for row, (name, image, probabilities) in enumerate(zip(["test[3]", "test[7]", three], inputs, own)):
            picture, bars = shown[row, 0], shown[row, 1]
            self.assertEqual(picture.get_title(), name if len(name) <= 24 else "…" + name[-23:])
            self.assertAllClose(drawn.image(picture), image, atol=1e-6)
            drawn_bars = drawn.bars(bars)
            self.assertEqual([centre for centre, _, _ in drawn_bars], list(range(10)))
            self.assertAllClose([height for _, height, _ in drawn_bars], probabilities, atol=1e-5)
            answer = int(probabilities.argmax())
            self.assertEqual(drawn.highlighted(drawn_bars), [answer], name)
            self.assertEqual(bars.get_title(), "predicted {} ({:.1f}%)".format(answer, 100 * probabilities[answer]))
            self.assertEqual(drawn.tick_labels(bars, "x"), {float(d): str(d) for d in range(10)})
            self.assertEqual(bars.get_ylim(), (0.0, 1.0))

    def test_image_names_with_spaces_around_commas_or_a_comma_inside(self):
        folder = self.create_tempdir().full_path
        three = draw_digit((120, 90), True, folder=folder, name="three")
        comma = os.path.join(folder, "my,three.png")
        shutil.copy(three, comma)
        code, stdout, stderr = self._main(["--run=runs/linear", "--image={} , {}".format(three, three)])
        self.assertEqual(code, 0, stderr)  # the second name was " /…/three.png": no such file
        self.assertLen(stdout.splitlines(), 2)
        self.assertEqual(list(_parse(stdout)), [three])
        code, stdout, stderr = self._main(["--run=runs/linear", "--image=" + comma])
        self.assertEqual(code, 0, stderr)  # was split into ".../my" and "three.png"
        self.assertEqual(list(_parse(stdout)), [comma])

    def test_restore_imports_nothing_of_graphs_and_looks_for_no_gpu(self):
        # A fresh interpreter runs //:predict's main and then lists the project modules it loaded.
        script = ("import sys\nfrom programs import predict\n"
                  "code = predict.main(['--run=runs/linear', '--data_dir=data', '--test_index=1'])\n"
                  "print('modules:', sorted(m for m in sys.modules if m.split('.')[0] in "
                  "('graphs', 'session', 'data', 'programs')))\nsys.exit(code)\n")
        argv, env = testing.python_command("programs/predict.py", [], env={"BUILD_WORKING_DIRECTORY": self.start})
        result = subprocess.run([argv[0], "-c", script], capture_output=True, text=True, env=env, timeout=300)
        self.assertEqual(result.returncode, 0, result.stderr)
        loaded = result.stdout.splitlines()[-1]
        self.assertIn("'session.restore'", loaded)  # the listing is real
        self.assertNotIn("graphs", loaded)
        # Its session comes from machine/sessions.py: no GPU is looked for where no driver exists.
        self.assertNotIn("cuInit", result.stderr)

    def _refused(self, args, message):
        code, stdout, stderr = self._main(args)
        self.assertEqual(code, 1, args)
        self.assertEqual(stdout, "")
        self.assertLen(stderr.splitlines(), 1, stderr)
        self.assertRegex(stderr, "^error: " + message, args)

    def test_bad_pictures_are_one_line(self):
        folder = self.create_tempdir().full_path
        text = os.path.join(folder, "notes.png")
        with open(text, "w") as f:
            f.write("not a picture\n")
        blank = os.path.join(folder, "blank.png")
        Image.new("L", (64, 64), 255).save(blank)
        truncated = os.path.join(folder, "cut.png")
        with open(draw_digit((200, 200), True, folder=folder), "rb") as f:
            head = f.read(200)
        with open(truncated, "wb") as f:
            f.write(head)
        for image, message in ((os.path.join(folder, "missing.png"), ".*missing.png: no such file"),
                               (folder, ".* is a folder"),
                               (text, ".*notes.png is not an image"),
                               (truncated, ".*cut.png cannot be read"),
                               (blank, ".*blank.png is blank")):
            self._refused(["--run=runs/linear", "--image=" + image], message)

    def test_bad_runs_and_checkpoints_are_one_line(self):
        empty = self.create_tempdir().full_path
        # An older run: checkpoints saved without their meta graph.
        old = os.path.join(self.create_tempdir().full_path, "checkpoints")
        shutil.copytree(os.path.join(self.run_dir, "checkpoints"), old)
        for name in os.listdir(old):
            if name.endswith(".meta"):
                os.remove(os.path.join(old, name))
        # A checkpoint of some other graph, with no input:0 / logits:0.
        other = self.create_tempdir().full_path
        graph = tf.Graph()
        with graph.as_default():
            tf.compat.v1.get_variable("v", [2])
            saver = tf.compat.v1.train.Saver()
            with tf.compat.v1.Session() as session:
                session.run(tf.compat.v1.global_variables_initializer())
                saver.save(session, os.path.join(other, checkpoints.PREFIX), global_step=1)
        # A damaged meta graph.
        damaged = os.path.join(self.create_tempdir().full_path, "checkpoints")
        shutil.copytree(os.path.join(self.run_dir, "checkpoints"), damaged)
        with open(restore.latest_checkpoint(damaged) + ".meta", "wb") as f:
            f.write(b"\x00garbage")
        # An index naming a checkpoint whose weights are gone: read as a resuming run reads it.
        cut = os.path.join(self.create_tempdir().full_path, "checkpoints")
        shutil.copytree(os.path.join(self.run_dir, "checkpoints"), cut)
        newest = os.path.basename(restore.latest_checkpoint(cut))
        for name in os.listdir(cut):
            if name.startswith(newest + ".data"):
                os.remove(os.path.join(cut, name))
        for args, message in (
                (["--checkpoint_dir=" + cut], "the checkpoint index .* names step \\d+, but .*data-00000-of-00001 is "
                                              "missing; use another run, or resume this one with //:run"),
                (["--run=nowhere"], ".*nowhere is not a folder"),
                (["--run=" + empty], "{} holds no checkpoint".format(empty)),
                (["--checkpoint_dir=" + old], "checkpoint .* has no meta graph"),
                (["--checkpoint_dir=" + other], "the graph in .* has no input:0 and logits:0"),
                (["--checkpoint_dir=" + damaged], ".*meta is not a readable meta graph")):
            self._refused(args + ["--data_dir=data", "--test_index=0"], message)

    def _saved_graph(self, input_shape):
        """The checkpoint folder of a network that has `input` and `logits` but takes images of input_shape."""
        folder = self.create_tempdir().full_path
        graph = tf.Graph()
        with graph.as_default():
            images = tf.compat.v1.placeholder(tf.float32, input_shape, name="input")
            weights = tf.compat.v1.get_variable("weights", [28 * 28, 10])
            tf.identity(tf.matmul(tf.reshape(images, [-1, 28 * 28]), weights), name="logits")
            saver = tf.compat.v1.train.Saver()
            with tf.compat.v1.Session() as session:
                session.run(tf.compat.v1.global_variables_initializer())
                saver.save(session, os.path.join(folder, checkpoints.PREFIX), global_step=1)
        return folder

    def test_a_graph_whose_input_is_not_28x28_is_one_line(self):
        # LTFN 8's VGG takes MNIST padded to 32x32; a colour input; a batch of unknown rank; an image of open size.
        for shape, shown in (([None, 32, 32, 1], "(None, 32, 32, 1)"), ([None, 28, 28, 3], "(None, 28, 28, 3)"),
                             (None, "<unknown>"), ([None, None, None, 1], "(None, None, None, 1)")):
            folder = self._saved_graph(shape)
            self._refused(["--checkpoint_dir=" + folder, "--data_dir=data", "--test_index=0"], re.escape(
                "input:0 in {}.meta takes images of shape {}, not MNIST's 28x28: it is not a network this project's "
                "//:run trained; use one of its runs\n".format(os.path.join(folder, "model.ckpt-1"), shown)) + "$")
        # 28x28 in another layout (a ConvNet's) is restored and fed as its graph asks.
        code, stdout, stderr = self._main(["--checkpoint_dir=" + self._saved_graph([None, 28, 28, 1]),
                                           "--data_dir=data", "--test_index=0"])
        self.assertEqual(code, 0, stderr)
        self.assertEqual(list(_parse(stdout)), ["test[0]"])

    def test_bad_arguments_are_one_line(self):
        for args, message in (
                (["--test_index=0"], "give exactly one of --run"),
                (["--run=runs/linear", "--checkpoint_dir=runs/linear/checkpoints", "--test_index=0"],
                 "give exactly one of --run"),
                (["--run=runs/linear"], "nothing to predict"),
                (["--run=runs/linear", "--data_dir=data", "--test_index=200"], "--test_index 200 out of range"),
                (["--run=runs/linear", "--data_dir=data", "--test_index=3,-1"], "--test_index -1 out of range"),
                (["--run=runs/linear", "--test_index=seven"], "--test_index=seven"),
                (["--run=runs/linear", "--test_index=1", "--data_dir=nowhere"], "--data_dir .* is not a folder"),
                (["--run=runs/linear", "--test_index=1", "extra"], "unrecognized arguments: extra"),
                (["--run=runs/linear", "--data_dir=data", "--test_index=1", "--png=no/such/dir/p.png"],
                 "--png .*: its folder does not exist")):
            self._refused(args, message)

    def test_a_real_process_ends_with_one_line_and_no_traceback(self):
        result = testing.run_program("programs/predict.py", ["--run=nowhere", "--test_index=0"],
                                     env={"BUILD_WORKING_DIRECTORY": self.start})
        self.assertEqual(result.returncode, 1)
        self.assertNotIn("Traceback", result.stderr)
        self.assertEqual(result.stderr.splitlines()[-1],
                         "error: {} is not a folder; name a run folder that //:run wrote "
                         "(runs/<net>-<init>-<time>)".format(os.path.join(self.start, "nowhere")))


def _save_network(folder, input_shape=(None, 784), steps=(1,), seed=0):
    """A checkpoint folder of a tiny network with `input` and `logits` and known weights: logits =
    reshape(input, 784) @ weights + bias, saved after each of `steps`. Returns (weights, bias)."""
    rng = np.random.default_rng(seed)
    weights, bias = rng.normal(size=(784, 10)).astype(np.float32), rng.normal(size=10).astype(np.float32)
    graph = tf.Graph()
    with graph.as_default():
        images = tf.compat.v1.placeholder(tf.float32, input_shape, name="input")
        w = tf.compat.v1.get_variable("weights", initializer=weights)
        b = tf.compat.v1.get_variable("bias", initializer=bias)
        tf.identity(tf.matmul(tf.reshape(images, [-1, 784]), w) + b, name="logits")
        saver = tf.compat.v1.train.Saver()
        with tf.compat.v1.Session() as session:
            session.run(tf.compat.v1.global_variables_initializer())
            for step in steps:
                saver.save(session, os.path.join(folder, checkpoints.PREFIX), global_step=step)
    return weights, bias


class RestoreTest(tf.test.TestCase):
    """session/restore.py in this process, on tiny networks saved here: the logits against numpy on the same
    weights, and each refusal's whole message (the path, the step, the shape it names)."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        tf.compat.v1.disable_eager_execution()  # as //:predict's main does before it restores

    def refused(self, call, message):
        with self.assertRaises(restore.RestoreError) as raised:
            call()
        self.assertEqual(str(raised.exception), message)

    def test_logits_are_the_saved_weights_applied_in_any_batches(self):
        folder = self.create_tempdir().full_path
        weights, bias = _save_network(folder, steps=(3, 7))
        checkpoint = restore.latest_checkpoint(folder)
        self.assertEqual(checkpoint, os.path.join(folder, "model.ckpt-7"))
        self.assertEqual(restore.step_of(checkpoint), 7)
        images = np.random.default_rng(1).random((7, 28, 28), np.float32)
        expected = images.reshape(7, 784) @ weights + bias
        restored = restore.Restored(checkpoint)
        try:
            self.assertEqual(restored.input_shape, (784,))
            for batch_size in (1000, 3, 1):  # one batch; 3 + 3 + 1; one image at a time
                self.assertAllClose(restored.logits_of(images, batch_size=batch_size), expected, rtol=1e-5, atol=1e-4)
            self.assertEqual(restored.logits_of(np.zeros((0, 28, 28))).shape, (0, 10))
        finally:
            restored.close()
        # 28x28 in a ConvNet's layout: fed as its graph asks.
        folder = self.create_tempdir().full_path
        weights, bias = _save_network(folder, input_shape=(None, 28, 28, 1), seed=2)
        restored = restore.Restored(restore.latest_checkpoint(folder))
        try:
            self.assertEqual(restored.input_shape, (28, 28, 1))
            self.assertAllClose(restored.logits_of(images), images.reshape(7, 784) @ weights + bias, rtol=1e-5,
                                atol=1e-4)
        finally:
            restored.close()

    def test_a_run_folder_or_its_checkpoints(self):
        run_dir = self.create_tempdir().full_path
        self.assertEqual(restore.checkpoint_dir_of_run(run_dir), run_dir)
        os.makedirs(os.path.join(run_dir, "checkpoints"))
        self.assertEqual(restore.checkpoint_dir_of_run(run_dir), os.path.join(run_dir, "checkpoints"))
        missing = os.path.join(run_dir, "nowhere")
        self.refused(lambda: restore.checkpoint_dir_of_run(missing), "{} is not a folder; name a run folder that //:run "
                     "wrote (runs/<net>-<init>-<time>)".format(missing))
        self.refused(lambda: restore.latest_checkpoint(missing), "{} is not a folder; point --checkpoint_dir at a "
                     "run's checkpoints".format(missing))
        self.refused(lambda: restore.latest_checkpoint(run_dir), "{} holds no checkpoint: train one with //:run (it "
                     "saves every --save_every steps and at the end)".format(run_dir))
        self.assertIsNone(restore.step_of(os.path.join(run_dir, "model.ckpt")))

    def test_the_shape_of_one_image(self):
        shape = tf.TensorShape
        self.assertEqual(restore.image_shape(shape([None, 784])), (784,))
        self.assertEqual(restore.image_shape(shape([5, 28, 28, 1])), (28, 28, 1))
        self.assertEqual(restore.image_shape(shape([None, 28, 28])), (28, 28))
        for other in ([None, 32, 32, 1], [None, 28, 28, 3], [None, 783], [None, None], [784], []):
            self.assertIsNone(restore.image_shape(shape(other)), other)
        self.assertIsNone(restore.image_shape(shape(None)))

    def test_each_refusal_names_the_checkpoint_and_what_is_wrong_with_it(self):
        # Saved before checkpoints carried their graph: no .meta.
        folder = self.create_tempdir().full_path
        _save_network(folder, steps=(4,))
        checkpoint = os.path.join(folder, "model.ckpt-4")
        os.remove(checkpoint + ".meta")
        self.refused(lambda: restore.latest_checkpoint(folder), "checkpoint {0} has no meta graph ({0}.meta): it was "
                     "saved before checkpoints carried their graph; train a new run with //:run, whose checkpoints "
                     "do".format(checkpoint))
        # Another size of image: the shape is the graph's own.
        folder = self.create_tempdir().full_path
        _save_network(folder, input_shape=(None, 32, 32, 1), steps=(2,))
        checkpoint = os.path.join(folder, "model.ckpt-2")
        self.refused(lambda: restore.Restored(checkpoint), "input:0 in {}.meta takes images of shape (None, 32, 32, 1), "
                     "not MNIST's 28x28: it is not a network this project's //:run trained; use one of its "
                     "runs".format(checkpoint))
        # The weights gone from beside the graph.
        folder = self.create_tempdir().full_path
        _save_network(folder, steps=(5,))
        checkpoint = os.path.join(folder, "model.ckpt-5")
        os.remove(checkpoint + ".data-00000-of-00001")
        with self.assertRaises(restore.RestoreError) as raised:
            restore.Restored(checkpoint)
        self.assertRegex(str(raised.exception), r"^checkpoint {} cannot be restored \(.+\); use another checkpoint or "
                                                r"run$".format(re.escape(checkpoint)))
        # A garbled graph.
        with open(checkpoint + ".meta", "wb") as f:
            f.write(b"\x00garbage")
        with self.assertRaises(restore.RestoreError) as raised:
            restore.Restored(checkpoint)
        self.assertRegex(str(raised.exception), r"^{}\.meta is not a readable meta graph \(.+\); use another "
                                                r"checkpoint or run$".format(re.escape(checkpoint)))
        # A graph without the two names.
        folder = self.create_tempdir().full_path
        graph = tf.Graph()
        with graph.as_default():
            tf.compat.v1.get_variable("v", [2])
            saver = tf.compat.v1.train.Saver()
            with tf.compat.v1.Session() as session:
                session.run(tf.compat.v1.global_variables_initializer())
                saver.save(session, os.path.join(folder, checkpoints.PREFIX), global_step=1)
        checkpoint = os.path.join(folder, "model.ckpt-1")
        self.refused(lambda: restore.Restored(checkpoint), "the graph in {}.meta has no input:0 and logits:0 tensors: it "
                     "is not a network this project's //:run trained".format(checkpoint))


class PredictOutputTest(tf.test.TestCase):
    """What //:predict prints for each input and how it reads its arguments, in this process (no run needed):
    each line against probabilities sorted here, each refusal word for word."""

    def test_a_line_names_the_answer_then_the_top_three_and_a_test_images_label(self):
        p = np.array([0.01, 0.05, 0.6, 0.02, 0.2, 0.0, 0.1, 0.01, 0.01, 0.0])
        self.assertEqual(predict.line("test[7]", p, 4), "test[7]: 2  p(2)=0.6000 p(4)=0.2000 p(6)=0.1000  label 4")
        self.assertEqual(predict.line("three.png", p), "three.png: 2  p(2)=0.6000 p(4)=0.2000 p(6)=0.1000")
        self.assertEqual(predict.line("test[0]", p, 0), "test[0]: 2  p(2)=0.6000 p(4)=0.2000 p(6)=0.1000  label 0")
        rng = np.random.RandomState(5)
        for k in range(20):
            logits = rng.normal(0.0, 3.0, 10)
            probabilities = np.exp(logits) / np.exp(logits).sum()
            order = sorted(range(10), key=lambda d: -probabilities[d])
            ((digit, top, label),) = _parse(predict.line("x{}".format(k), probabilities, k % 10)).values()
            self.assertEqual(digit, order[0])
            self.assertEqual([d for d, _ in top], order[:3])
            self.assertAllClose([q for _, q in top], probabilities[order[:3]], atol=5e-5)
            self.assertEqual(label, k % 10)

    def _inputs(self, argv):
        return predict.inputs(predict.parse(argv))

    def test_test_images_are_the_embedded_test_sets_in_the_order_asked(self):
        test = loader.load_test(None)
        found = self._inputs(["--run=r", "--test_index=42, 0,7,"])
        self.assertEqual([(name, label) for name, _, label in found],
                         [("test[42]", int(test.labels[42].argmax())), ("test[0]", int(test.labels[0].argmax())),
                          ("test[7]", int(test.labels[7].argmax()))])
        for (_, image, _), i in zip(found, (42, 0, 7)):
            self.assertAllEqual(image, test.images[i].reshape(28, 28))

    def test_argument_mistakes_are_said_word_for_word(self):
        for argv, said in (
                ([], "give exactly one of --run=RUN_DIR and --checkpoint_dir=DIR"),
                (["--run=a", "--checkpoint_dir=b", "--test_index=0"],
                 "give exactly one of --run=RUN_DIR and --checkpoint_dir=DIR"),
                (["--checkpoint_dir=b"], "nothing to predict: give --test_index=0,7,42 and/or --image=PATH[,PATH...]"),
                (["--run=a", "--test_index=0,x"],
                 "--test_index=0,x: give test image numbers separated by commas, e.g. --test_index=0,7,42"),
                (["--run=a", "--test_index=10000,3,-1"],
                 "--test_index 10000,-1 out of range: the test set holds images 0 to 9999")):
            with self.assertRaises(predict.cli.UsageError, msg=argv) as refused:
                self._inputs(argv)
            self.assertEqual(str(refused.exception), said, argv)


if __name__ == "__main__":
    tf.test.main()
