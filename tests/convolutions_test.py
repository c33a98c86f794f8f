"""Tests for the LTFN 4 convolution lab: labs/convolutions.py and the programs/convolutions.py app."""

import contextlib
import io
import math
import os
import re
import subprocess
import sys
from unittest import mock

import matplotlib.image
from matplotlib import pyplot as plt
import numpy as np
from PIL import Image
import tensorflow as tf

from programs import convolutions as lab
from labs import convolutions
from tests import drawn

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _run_quietly(**kwargs):
    """lab.run with its stdout and stderr captured: (exit code, stdout, stderr)."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = lab.run(**kwargs)
    return code, out.getvalue(), err.getvalue()


class ExamplesTest(tf.test.TestCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.examples = {ex.name: ex for ex in convolutions.build_examples(seed=0)}

    def test_all_examples_are_built_in_order(self):
        self.assertEqual(tuple(self.examples), convolutions.EXAMPLE_NAMES)

    def test_each_grid_of_a_picture_holds_its_arrays_numbers_under_its_title(self):
        # What each example's picture should say, from the case's arrays and the numpy reference: a block of
        # rows per case, a column per array (input, the padded input, each filter, the output), a row per depth.
        for example in self.examples.values():
            fig = convolutions.figure(example)
            try:
                shown = {where: ax for where, ax in drawn.panels(fig).items() if ax.axison}  # (others: empty)
                expected, top = {}, 0
                for case in example.cases:
                    columns = [("Input", case.input)]
                    if example.name == "same":
                        columns.append(("Zero-padded input", np.pad(case.input, ((1, 1), (1, 1), (0, 0)))))
                    if case.filters is None:
                        output = convolutions.numpy_max_pool(case.input, case.pool_size, case.stride, case.padding)
                        title = "Output ({0}x{0} max, {1}, stride {2})".format(case.pool_size, case.padding, case.stride)
                    else:
                        count = case.filters.shape[3]
                        columns += [("Filter {}".format(f + 1) if count > 1 else "Filter", case.filters[:, :, :, f])
                                    for f in range(count)]
                        output = convolutions.numpy_conv2d(case.input, case.filters, case.stride, case.padding)
                        title = "Output ({}, stride {})".format(case.padding, case.stride)
                    columns.append((title, output))
                    for column, (name, array) in enumerate(columns):
                        for depth in range(array.shape[2]):
                            expected[top + depth, column] = (
                                name if array.shape[2] == 1 else "{}, depth {}".format(name, depth + 1), array[:, :, depth])
                    last = shown[top + output.shape[2] - 1, len(columns) - 1]
                    self.assertEqual(last.get_xlabel().splitlines()[0], " x ".join(map(str, output.shape)), example.name)
                    self.assertEqual(shown[top, 0].get_ylabel(), case.label, example.name)
                    top += max(array.shape[2] for _, array in columns)
                self.assertCountEqual(shown, expected, example.name)
                for where, (name, array) in expected.items():
                    ax = shown[where]
                    self.assertEqual(ax.get_title(), name, "{} {}".format(example.name, where))
                    cells = {(int(round(y)), int(round(x))): text for text, (x, y) in drawn.texts(ax)}
                    self.assertEqual(cells, {(i, j): str(int(array[i, j])) for i in range(array.shape[0])
                                             for j in range(array.shape[1])}, "{} {}".format(example.name, name))
                self.assertEqual(drawn.suptitle(fig), "LTFN 4 - {}: {}".format(example.name, example.title))
            finally:
                plt.close(fig)

    def test_the_words_state_the_sizes_and_counts_of_the_arrays(self):
        # Every size, count and pixel value a title or explanation states, read back and compared with the arrays.
        numbers = {"one": 1, "two": 2, "three": 3}
        for ex in self.examples.values():
            with self.subTest(example=ex.name):
                words = ex.title + " " + ex.explanation
                cases = ex.cases
                sizes, products = set(), set()
                for case in cases:
                    for array in [case.input, case.output] + [a for a in [case.padded_input] if a is not None]:
                        sizes |= {array.shape[:2], array.shape}
                    if case.filters is None:
                        sizes.add((case.pool_size,) * 2)
                    else:
                        k, _, depth, _ = case.filters.shape
                        sizes |= {case.filters.shape[:2], case.filters.shape[:3]}
                        products |= {k * k * depth, k * k}  # a window's products, in all and per input depth
                for text in re.findall(r"\b\d+(?:x\d+)+\b", words):
                    self.assertIn(tuple(int(n) for n in text.split("x")), sizes, text)
                for count in re.findall(r"(\d+) products", words):
                    self.assertIn(int(count), products)
                for stride in re.findall(r"[Ss]tride (\d+)", ex.title):
                    self.assertEqual({case.stride for case in cases}, {int(stride)})
                for depth in re.findall(r"[Ii]nput depth (\d+)", words):
                    self.assertEqual({case.input.shape[2] for case in cases}, {int(depth)})
                for depth in re.findall(r"[Oo]utput (?:depth(?: of)?|of depth) (\d+)", words):
                    self.assertEqual({case.output.shape[2] for case in cases}, {int(depth)})
                for count in re.findall(r"\b([Oo]ne|[Tt]wo|[Tt]hree) (?:\d+x\d+x\d+ )?filters?\b", words):
                    self.assertEqual({case.filters.shape[3] for case in cases}, {numbers[count.lower()]})
                for rings in re.findall(r"\b(one|two|three) rings?\b", words):
                    case, = cases
                    self.assertEqual((case.padded_input.shape[0] - case.input.shape[0]) // 2, numbers[rings])
        for ex in self.examples.values():  # the formula's depth: the filters' count, or the input's for pooling
            for case in ex.cases:
                depth, source = re.search(r"; depth (\d+) = (number of filters|input depth)$", case.formula).groups()
                self.assertEqual(int(depth), case.output.shape[2], case.formula)
                self.assertEqual(int(depth), case.input.shape[2] if source == "input depth" else case.filters.shape[3])
        # A filter the case before showed is not printed again: once per example where every case shares it.
        for name in ("edges", "stride"):
            self.assertEqual(convolutions.format_example(self.examples[name]).count("\nFilter:\n"), 1, name)
        light, dark = re.search(r"Light pixels are (\d+), dark ones (\d+)", self.examples["edges"].explanation).groups()
        light_to_dark = self.examples["edges"].cases[0]
        self.assertEqual(light_to_dark.label, "light-to-dark")
        self.assertEqual((int(light), int(dark)), (light_to_dark.input[0, 0, 0], light_to_dark.input[0, -1, 0]))

    def test_tensorflow_matches_numpy_reference(self):
        for ex in self.examples.values():
            for case in ex.cases:
                with self.subTest(example=ex.name, case=case.label):
                    if case.filters is None:
                        expected = convolutions.numpy_max_pool(case.input, case.pool_size, case.stride, case.padding)
                    else:
                        expected = convolutions.numpy_conv2d(case.input, case.filters, case.stride, case.padding)
                    self.assertAllEqual(case.output, expected)

    def test_shape_string_matches_output(self):
        for ex in self.examples.values():
            for case in ex.cases:
                self.assertEqual(case.shape, " x ".join(map(str, case.output.shape)))

    def test_random_inputs_are_small_integers_and_seeded(self):
        valid = self.examples["valid"].cases[0]
        self.assertEqual(valid.input.shape, (5, 5, 1))
        self.assertEqual(valid.filters.shape, (3, 3, 1, 1))
        self.assertTrue(np.all((valid.input >= 0) & (valid.input <= 3)))
        self.assertTrue(np.all(np.abs(valid.filters) <= 1))
        again = convolutions.build_examples(seed=0, names=("depth_out", "valid"))
        self.assertAllEqual(again[0].cases[0].filters, self.examples["depth_out"].cases[0].filters)
        self.assertAllEqual(again[1].cases[0].output, valid.output)
        other = convolutions.build_examples(seed=1, names=("valid",))[0].cases[0]
        self.assertFalse(np.array_equal(other.input, valid.input))

    def test_example_inputs_are_the_examples_own(self):
        # The lesson runs these through conv2d itself and compares with the lab's figures.
        inputs = convolutions.example_inputs(seed=0)
        for name, array in (("valid", inputs.image5), ("same", inputs.image5), ("depth_in", inputs.image5x2),
                            ("max_pool", inputs.image4)):
            self.assertAllEqual(self.examples[name].cases[0].input, array, msg=name)
        self.assertAllEqual(self.examples["valid"].cases[0].filters, inputs.filter3)
        self.assertAllEqual(self.examples["depth_out"].cases[0].filters, inputs.filters2)
        self.assertAllEqual(self.examples["depth_in"].cases[0].filters, inputs.filters2[..., :1])
        self.assertFalse(np.array_equal(convolutions.example_inputs(seed=1).image5, inputs.image5))

    def test_unknown_example_is_rejected(self):
        with self.assertRaisesRegex(ValueError, "unknown examples"):
            convolutions.build_examples(names=("valid", "nope"))

    def test_valid_shrinks_5x5_to_3x3(self):
        case = self.examples["valid"].cases[0]
        self.assertEqual(case.shape, "3 x 3 x 1")
        self.assertEqual(case.formula, "VALID: ceil((5 - 3 + 1) / 1) = 3; depth 1 = number of filters")

    def test_edge_signs(self):
        light_to_dark, dark_to_light = self.examples["edges"].cases
        self.assertEqual(light_to_dark.label, "light-to-dark")
        self.assertAllEqual(light_to_dark.input[:, 0], np.full((6, 1), convolutions.LIGHT))
        self.assertAllEqual(light_to_dark.input[:, -1], np.full((6, 1), convolutions.DARK))
        # Output column j sees input columns j..j+2; it straddles the edge (between columns 2 and 3) for j = 1, 2.
        straddles = np.array([False, True, True, False])
        for case, sign in ((light_to_dark, 1), (dark_to_light, -1)):
            out = case.output[:, :, 0]
            self.assertTrue(np.all(out[:, straddles] * sign > 0), msg=case.label)
            self.assertTrue(np.all(out[:, ~straddles] == 0), msg=case.label)
            # "Large": a full column of light against a full column of dark.
            self.assertAllEqual(out[:, straddles], np.full((4, 2), sign * 3 * (convolutions.LIGHT - convolutions.DARK)))

    def test_same_pads_one_ring_and_keeps_5x5(self):
        case = self.examples["same"].cases[0]
        self.assertEqual(case.shape, "5 x 5 x 1")
        self.assertEqual(case.padded_input.shape, (7, 7, 1))
        self.assertAllEqual(case.padded_input[1:-1, 1:-1], case.input)
        ring = np.ones((7, 7), bool)
        ring[1:-1, 1:-1] = False
        self.assertTrue(np.all(case.padded_input[ring] == 0))
        # SAME is exactly VALID over the zero-padded input.
        valid_on_padded = convolutions.run_in_session(case.padded_input, 1, "VALID", filters=case.filters)
        self.assertAllEqual(case.output, valid_on_padded)

    def test_stride_2(self):
        same, valid = self.examples["stride"].cases
        self.assertEqual((same.padding, same.stride, same.shape), ("SAME", 2, "3 x 3 x 1"))
        self.assertEqual((valid.padding, valid.stride, valid.shape), ("VALID", 2, "2 x 2 x 1"))
        self.assertStartsWith(same.formula, "SAME: ceil(5 / 2) = 3")
        self.assertStartsWith(valid.formula, "VALID: ceil((5 - 3 + 1) / 2) = 2")
        # Stride 2 keeps every other value of the stride-1 output (for VALID, where nothing is padded).
        self.assertAllEqual(valid.output, self.examples["valid"].cases[0].output[::2, ::2])

    def test_depth_in_adds_18_products(self):
        case = self.examples["depth_in"].cases[0]
        self.assertEqual(case.input.shape, (5, 5, 2))
        self.assertEqual(case.filters.shape, (3, 3, 2, 1))
        self.assertEqual(case.shape, "3 x 3 x 1")
        products = case.input[:3, :3, :] * case.filters[:, :, :, 0]
        self.assertEqual(products.size, 18)
        self.assertEqual(case.output[0, 0, 0], products.sum())

    def test_depth_out_stacks_two_distinct_filters(self):
        case = self.examples["depth_out"].cases[0]
        self.assertEqual(case.filters.shape, (3, 3, 2, 2))
        self.assertFalse(np.array_equal(case.filters[..., 0], case.filters[..., 1]))
        self.assertEqual(case.shape, "3 x 3 x 2")
        for f in range(2):
            alone = convolutions.run_in_session(case.input, 1, "VALID", filters=case.filters[..., f:f + 1])
            self.assertAllEqual(case.output[..., f:f + 1], alone)
        self.assertAllEqual(case.output[..., :1], self.examples["depth_in"].cases[0].output)

    def test_max_pool_by_hand(self):
        x = np.array([[1, 3, 2, 4],
                      [5, 6, 1, 2],
                      [7, 2, 9, 0],
                      [3, 8, 4, 4]])[:, :, np.newaxis]
        by_hand = np.array([[6, 4],
                            [8, 9]])[:, :, np.newaxis]
        for padding in convolutions.PADDINGS:
            self.assertAllEqual(convolutions.run_in_session(x, 2, padding, pool_size=2), by_hand)
            self.assertAllEqual(convolutions.numpy_max_pool(x, 2, 2, padding), by_hand)
        case = self.examples["max_pool"].cases[0]
        self.assertEqual(case.shape, "2 x 2 x 1")
        blocks = case.input[:, :, 0].reshape(2, 2, 2, 2).max(axis=(1, 3))
        self.assertAllEqual(case.output[:, :, 0], blocks)


class ShapeRulesTest(tf.test.TestCase):

    def test_formula_text(self):
        self.assertEqual(convolutions.size_formula(5, 3, 2, "SAME"), "SAME: ceil(5 / 2) = 3")
        self.assertEqual(convolutions.size_formula(5, 3, 2, "VALID"), "VALID: ceil((5 - 3 + 1) / 2) = 2")

    def test_same_padding_puts_the_odd_zero_after(self):
        self.assertEqual(convolutions.same_padding(5, 3, 1), (1, 1))
        self.assertEqual(convolutions.same_padding(4, 2, 1), (0, 1))
        self.assertEqual(convolutions.same_padding(6, 3, 2), (0, 1))
        self.assertEqual(convolutions.same_padding(5, 1, 3), (0, 0))

    def test_bad_arguments(self):
        with self.assertRaises(ValueError):
            convolutions.output_size(3, 4, 1, "VALID")
        with self.assertRaises(ValueError):
            convolutions.output_size(3, 3, 1, "FULL")
        with self.assertRaises(ValueError):
            convolutions.run_in_session(np.zeros((3, 3, 1)), 1, "SAME")

    def test_shapes_follow_tensorflow_formulas(self):
        """Every small size, kernel and stride: TF's shapes, the formulas and the numpy reference agree, and so
        do the values (which is what pins down where SAME puts its zeroes)."""
        rng = np.random.default_rng(0)
        for height in range(1, 10):
            width = height + 1  # Not square, so height and width cannot be mixed up.
            x = rng.integers(-3, 4, size=(height, width, 2))
            for k in range(1, 5):
                w = rng.integers(-2, 3, size=(k, k, 2, 3))
                for stride in range(1, 4):
                    for padding in convolutions.PADDINGS:
                        if padding == "VALID" and k > height:
                            continue
                        with self.subTest(height=height, k=k, stride=stride, padding=padding):
                            if padding == "SAME":
                                expected = [math.ceil(n / stride) for n in (height, width)]
                            else:
                                expected = [math.ceil((n - k + 1) / stride) for n in (height, width)]
                            self.assertEqual([convolutions.output_size(n, k, stride, padding) for n in (height, width)],
                                             expected)
                            conv = convolutions.run_in_session(x, stride, padding, filters=w)
                            self.assertEqual(conv.shape, tuple(expected) + (3,))
                            self.assertAllEqual(conv, convolutions.numpy_conv2d(x, w, stride, padding))
                            pool = convolutions.run_in_session(x, stride, padding, pool_size=k)
                            self.assertEqual(pool.shape, tuple(expected) + (2,))
                            self.assertAllEqual(pool, convolutions.numpy_max_pool(x, k, stride, padding))


class AppTest(tf.test.TestCase):

    def test_format_grid(self):
        self.assertEqual(convolutions.format_grid(np.array([[1.0, -10.0], [0.0, 2.0]], np.float32)), ["  1 -10", "  0   2"])
        self.assertEqual(convolutions.format_grid(np.array([[0.5, 2.0]])), ["0.5   2"])

    def test_prints_stride_example(self):
        code, out, _ = _run_quietly(example="stride")
        self.assertEqual(code, 0)
        self.assertIn("== stride: Stride 2 with SAME and VALID padding ==", out)
        self.assertIn("Output shape: 3 x 3 x 1  (SAME: ceil(5 / 2) = 3; depth 1 = number of filters)", out)
        self.assertIn("Output shape: 2 x 2 x 1  (VALID: ceil((5 - 3 + 1) / 2) = 2; depth 1 = number of filters)", out)
        self.assertNotIn(".0", out)  # Integer-valued grids print as integers.
        self.assertEqual(out.count("Input:"), 1)  # The VALID case reuses the input shown for SAME.

    def test_prints_depth_slices(self):
        _, out, _ = _run_quietly(example="depth_out")
        for title in ("Input, depth 1:", "Input, depth 2:", "Filter 1, depth 2:", "Filter 2, depth 1:",
                      "Output (VALID, stride 1), depth 2:", "Output shape: 3 x 3 x 2"):
            self.assertIn(title, out)

    def _assert_pngs(self, folder, names):
        self.assertCountEqual(os.listdir(folder), [name + ".png" for name in names])
        for name in names:
            path = os.path.join(folder, name + ".png")
            with open(path, "rb") as f:
                self.assertEqual(f.read(len(PNG_SIGNATURE)), PNG_SIGNATURE)
            with Image.open(path) as image:
                image.verify()
            pixels = matplotlib.image.imread(path)
            self.assertEqual(pixels.ndim, 3)
            self.assertGreater(pixels.shape[0] * pixels.shape[1], 100 * 100)
            self.assertGreater(pixels.std(), 0)  # Something was drawn.

    def test_png_writes_one_file_per_example(self):
        folder = os.path.join(self.get_temp_dir(), "all", "figures")  # Missing folders are created.
        code, out, _ = _run_quietly(png=folder)
        self.assertEqual(code, 0)
        self._assert_pngs(folder, convolutions.EXAMPLE_NAMES)
        self.assertIn("Wrote " + os.path.join(folder, "edges.png"), out)

    def test_relative_png_resolves_against_build_working_directory(self):
        start = self.create_tempdir().full_path
        with mock.patch.dict(os.environ, {"BUILD_WORKING_DIRECTORY": start}):
            code, _, _ = _run_quietly(example="max_pool", png="figures")
        self.assertEqual(code, 0)
        self._assert_pngs(os.path.join(start, "figures"), ["max_pool"])

    def test_bad_png_folder_is_one_line(self):
        not_a_folder = self.create_tempfile("file").full_path
        code, _, err = _run_quietly(example="valid", png=os.path.join(not_a_folder, "figures"))
        self.assertEqual(code, 1)
        self.assertEqual(len(err.strip().splitlines()), 1)
        self.assertStartsWith(err, "error: --png ")

    def test_bad_png_folder_exits_1_without_traceback(self):
        not_a_folder = self.create_tempfile("file").full_path
        # The test's own sys.path, so the child finds what this process found however it was launched.
        env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in sys.path if p))
        result = subprocess.run([sys.executable, lab.__file__, "--example=valid", "--png=" + not_a_folder + "/x"],
                                capture_output=True, text=True, env=env, timeout=120, check=False)
        self.assertEqual(result.returncode, 1, msg=result.stderr)
        self.assertNotIn("Traceback", result.stderr)
        ours = [line for line in result.stderr.splitlines() if line.startswith("error:")]
        self.assertLen(ours, 1)
        self.assertIn("cannot be created (Not a directory)", ours[0])


if __name__ == "__main__":
    tf.test.main()
