"""End to end: `python -m tasks.text_generation` on tiny settings."""

import json
import math
import os

import tensorflow as tf
import tensorflow_datasets as tfds

import task_harness
from tfllm.decoding.generator import TextGenerator
from tfllm.decoding.samplers import RequestSampler

# XLA compiling costs more than it saves on models this small; the runs
# here skip it but for one (the char model's, on the defaults), which keeps
# it covered.
TINY = ["--jit=false", "--hidden_dim=16", "--num_layers=1", "--num_heads=2",
        "--intermediate_dim=32", "--sequence_length=32", "--batch_size=8"]
PROMPTS = ["the plot was good", "zzzzzzzz ", "the acting was awful ", ""]


class TextGenerationTaskTest(task_harness.TaskTestCase):
    task_module = "tasks.text_generation"
    tiny = TINY

    def test_char_model_trains_evaluates_exports_and_samples(self):
        # The defaults a user gets: XLA (--jit=auto, fixed shapes) and half
        # the context as new tokens (16).
        result, root = self.run_task("--train_steps=40", "--epochs=2",
                                     "--steps_per_execution=5", "--learning_rate=1e-2",
                                     "--sample_prompt=the plot", "--sample_prompt=", "--jit=auto")
        metrics = result.metrics
        # Far below the uniform guess over 128 ids (4.85 nats): it learned.
        self.assertLess(metrics["loss"], 3.5)
        self.assertAllClose(metrics["perplexity"], math.exp(metrics["loss"]))
        self.assertGreater(result.stages[0].throughput, 0)
        self.assertEqual(result.stages[0].throughput_unit, "tokens")
        self.assertEqual(result.export_path, os.path.join(root, "export", "1"))
        self.assertEqual(result.flags["max_new_tokens"], None)
        self.assertEqual([len(s["text"]) for s in result.answers], [16, 16])
        with open(os.path.join(result.export_path, "run_card.json")) as f:
            card = json.load(f)
        self.assertEqual(card["flags"]["sampler"], "top_k")
        self.assertEqual(card["generation"]["max_new_tokens"], 16)
        self.assertEqual(card["data"]["eval"], "last 0.1 of sample")

        # The export answers in a fresh process as the model does here.
        generator = TextGenerator(result.model, result.preprocessor)
        sampler = RequestSampler(0.8, 10, 1.0, seed=42)
        served = self.assert_serves_like_the_model(
            result.export_path, "serving_default", {"prompt": PROMPTS},
            {"text": generator(PROMPTS, 16, sampler)})
        self.assertEqual(served["signatures"], ["generate", "score", "serving_default"])
        # Seeded top-k sampling: a prompt cut to its last character (as
        # before this was fixed) would answer "zzzzzzzz " and "... awful " alike.
        continuations = served["outputs"]["text"]
        self.assertEqual(len(set(continuations)), len(PROMPTS), continuations)
        self.assertEqual(self.serve_fresh(result.export_path, "serving_default",
                                          {"prompt": []})["outputs"]["text"], [])

    def test_subword_tokenizer_under_mirrored_strategy(self):
        result, _ = self.run_task("--tokenizer=sentencepiece", "--vocab_size=40",
                                  "--strategy=mirrored", "--train_steps=6", "--epochs=1",
                                  "--sampler=greedy", "--steps_per_execution=2")
        self.assertTrue(math.isfinite(result.metrics["loss"]))
        served = tf.saved_model.load(result.export_path)
        scored = served.signatures["score"](text=tf.constant(["the plot was good"]))
        self.assertGreater(int(scored["tokens"][0]), 0)

    def test_tfds_text_dataset_and_byte_tokenizer(self):
        with tfds.testing.mock_data(num_examples=20):
            result, _ = self.run_task("--data=tfds:tiny_shakespeare",
                                      "--eval_data=tfds:tiny_shakespeare:validation",
                                      "--tokenizer=byte", "--sequence_length=8",
                                      "--batch_size=2", "--train_steps=2", "--epochs=1")
        self.assertGreater(result.metrics["tokens"], 0)
        self.assertEqual(result.preprocessor.vocabulary_size, 256)

    def test_bad_input_ends_with_a_one_line_error(self):
        cases = [(["--data=/nonexistent/corpus.txt"], "no such file"),
                 (["--label_names=a,b"], "--label_names is not read by the text_generation task"),
                 (["--max_new_tokens=32"], "--max_new_tokens=32 must be below "
                                           "--sequence_length=32"),
                 (["--hidden_dim=15"], "must be a multiple of --num_heads"),
                 (["--top_p=1.5"], "not a number in the range"),
                 (["--lowercase"], "--lowercase applies to the cleaning of an --init_from"),
                 (["--init_from=bert_tiny_en_uncased", "--tokenizer=char"],
                  "--tokenizer size or start a model trained from scratch"),
                 (["--freeze_layers=1"], "--freeze_layers apply to a pretrained backbone")]
        for flags, message in cases:
            with self.assertRaisesRegex(SystemExit, message, msg=flags):
                self.run_task(*flags)

    def test_killed_run_resumes_at_the_second_epoch(self):
        self.assert_resumes("--steps_per_execution=1")


if __name__ == "__main__":
    tf.test.main()
