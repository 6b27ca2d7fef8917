"""Packing a token stream into windows with next-token targets."""

import numpy as np
import tensorflow as tf

from tfllm.data import packing
from tfllm.data.tokenizers import train_tokenizer


class PackingTest(tf.test.TestCase):

    def test_windows_hold_next_token_targets(self):
        ids = np.arange(100, 123)  # 23 tokens
        windows = packing.pack_windows(ids, sequence_length=5)
        x, y = packing.split_inputs_targets(windows)
        self.assertEqual(windows.shape, (4, 6))  # (23 - 1) // 5 windows
        for row_x, row_y in zip(x, y):
            # Each target is the token that follows its input in the stream.
            for a, b in zip(row_x, row_y):
                self.assertEqual(b, a + 1)
        # Consecutive windows continue the stream: no token is skipped, none padded.
        self.assertAllEqual(x.reshape(-1), ids[:20])
        self.assertAllEqual(y.reshape(-1), ids[1:21])

    def test_tensor_and_numpy_packing_agree(self):
        ids = np.random.RandomState(0).randint(0, 50, size=41).astype(np.int32)
        self.assertAllEqual(packing.pack_windows(tf.constant(ids), 8),
                            packing.pack_windows(ids, 8))
        self.assertAllEqual(packing.pack_windows(ids, 8, offset=3),
                            packing.pack_windows(ids[3:], 8))

    def test_concat_adds_separators_between_documents(self):
        out = packing.concat_token_ids([[1, 2], [3], [4, 5]], separator_ids=[0])
        self.assertAllEqual(out, [1, 2, 0, 3, 0, 4, 5])

    def test_evaluation_windows_score_every_token_once(self):
        ids = np.arange(1, 24)  # 23 tokens, 22 predictions, L=5 -> 5 windows, last partial
        x, y, w = packing.pack_for_evaluation(ids, 5)
        self.assertEqual(x.shape, (5, 5))
        self.assertEqual(w.sum(), 22)
        self.assertAllEqual(y[w > 0], ids[1:])
        self.assertAllEqual(x[w > 0] + 1, y[w > 0])

    def test_training_dataset_fixed_shapes_and_targets(self):
        ids = np.arange(1000, dtype=np.int32)
        ds = packing.training_dataset(ids, sequence_length=16, batch_size=4, seed=1)
        for x, y in ds.take(30):
            self.assertEqual(x.shape, (4, 16))
            self.assertAllEqual(x.numpy() + 1, y.numpy())  # ids are consecutive
            # Windows start anywhere (random per-epoch offset), but stay whole.
            self.assertAllEqual(x[:, 1:], x[:, :-1] + 1)

    def test_epochs_of_fixed_steps_draw_new_windows(self):
        ids = np.arange(1000, dtype=np.int32)
        ds = packing.training_dataset(ids, sequence_length=16, batch_size=4, seed=1, steps=5)
        first = np.concatenate([x.numpy() for x, _ in ds])
        second = np.concatenate([x.numpy() for x, _ in ds])
        self.assertEqual(first.shape, (20, 16))
        self.assertNotAllEqual(first, second)

    def test_tokenize_stream_keeps_line_breaks(self):
        text = "First Citizen:\nBefore we proceed\n\nany further, h\u00e9ar me"
        for kind in ("char", "byte"):
            tokenizer = train_tokenizer(kind, [text], vocab_size=256)
            ids = packing.tokenize_stream(tokenizer, text, batch_lines=2)
            expected = [ord(c) for c in text] if kind == "char" else list(text.encode("utf-8"))
            self.assertAllEqual(ids, expected)

    def test_training_dataset_rejects_too_short_text(self):
        with self.assertRaisesRegex(ValueError, "too few"):
            packing.training_dataset(np.arange(5), sequence_length=8, batch_size=2)


if __name__ == "__main__":
    tf.test.main()
