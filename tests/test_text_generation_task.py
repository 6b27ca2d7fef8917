"""End to end: `python -m tasks.text_generation` on tiny settings."""

import json
import math
import os
import tempfile

import tensorflow as tf
import tensorflow_datasets as tfds

from tasks import text_generation

TINY = ["--hidden_dim=16", "--num_layers=1", "--num_heads=2", "--intermediate_dim=32",
        "--sequence_length=32", "--batch_size=8", "--max_new_tokens=12"]


def run_task(*extra):
    tmp = tempfile.mkdtemp()
    argv = ["text_generation", f"--model_dir={tmp}/run", f"--export_dir={tmp}/export", *TINY,
            *extra]
    return text_generation.main(argv), tmp


class TextGenerationTaskTest(tf.test.TestCase):

    def test_char_model_trains_evaluates_exports_and_samples(self):
        result, tmp = run_task("--train_steps=40", "--epochs=2", "--steps_per_execution=5",
                               "--learning_rate=1e-2", "--sample_prompt=the plot",
                               "--sample_prompt=")
        metrics = result["metrics"]
        # Far below the uniform guess over 128 ids (4.85 nats): it learned.
        self.assertLess(metrics["loss"], 3.5)
        self.assertAllClose(metrics["perplexity"], math.exp(metrics["loss"]))
        self.assertGreater(metrics["train_tokens_per_second"], 0)
        self.assertEqual(result["export_path"], os.path.join(tmp, "export", "1"))
        self.assertEqual([len(s["text"]) for s in result["samples"]], [12, 12])
        with open(os.path.join(result["export_path"], "run_card.json")) as f:
            card = json.load(f)
        self.assertEqual(card["flags"]["sampler"], "top_k")
        self.assertEqual(card["data"]["eval"], "last 0.1 of sample")
        loaded = tf.saved_model.load(result["export_path"])
        self.assertEqual(sorted(loaded.signatures), ["generate", "score", "serving_default"])

    def test_subword_tokenizer_under_mirrored_strategy(self):
        result, _ = run_task("--tokenizer=sentencepiece", "--vocab_size=40", "--strategy=mirrored",
                             "--train_steps=6", "--epochs=1", "--sampler=greedy",
                             "--steps_per_execution=2")
        self.assertTrue(math.isfinite(result["metrics"]["loss"]))
        served = tf.saved_model.load(result["export_path"])
        scored = served.signatures["score"](text=tf.constant(["the plot was good"]))
        self.assertGreater(int(scored["tokens"][0]), 0)

    def test_tfds_text_dataset_and_byte_tokenizer(self):
        with tfds.testing.mock_data(num_examples=20):
            result, _ = run_task("--data=tfds:tiny_shakespeare",
                                 "--eval_data=tfds:tiny_shakespeare:validation",
                                 "--tokenizer=byte", "--sequence_length=8", "--batch_size=2",
                                 "--train_steps=2", "--epochs=1", "--jit=false")
        self.assertGreater(result["metrics"]["tokens"], 0)
        self.assertEqual(result["tokenizer"].vocabulary_size(), 256)

    def test_missing_file_ends_with_a_one_line_error(self):
        with self.assertRaisesRegex(SystemExit, "no such file"):
            run_task("--data=/nonexistent/corpus.txt")


if __name__ == "__main__":
    tf.test.main()
