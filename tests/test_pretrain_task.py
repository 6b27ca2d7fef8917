"""Pretraining end to end: masked LM (with NSP, whole words and a length
curriculum) on a streamed corpus, the fill-mask export and its keras-hub
preset, fine-tuning sentiment from it (frozen blocks stay fixed) and from a
keras-hub preset saved here (with a curriculum, mean pooling), causal LM (a GPT-2 preset
and the text-generation export), two workers on their own files, resume
after a kill, and clear errors on an empty corpus and on masking flags with
the causal objective."""

import json
import os
import re
import tempfile

import keras_hub
import numpy as np
import tensorflow as tf

import task_harness
from tasks import pretrain
from temp_files import write_temp_file
from tfllm import cli
from tfllm.decoding.generator import TextGenerator
from tfllm.decoding.samplers import make_sampler
from tfllm.export.masked_lm import fill_mask_endpoints
from tfllm.models.presets import PRESET_FOLDER

TINY = ["--jit=false", "--hidden_dim=16", "--num_layers=2", "--num_heads=2",
        "--intermediate_dim=32", "--sequence_length=32", "--batch_size=16", "--vocab_size=80",
        "--epochs=3", "--eval_fraction=0.1", "--learning_rate=3e-3", "--warmup_fraction=0",
        "--seed=1"]
QUERIES = ["the cats [MASK] quickly", "[MASK] [MASK] and", "no mask here", ""]
# Five sentences in random order: a masked word is predictable from its neighbours.
SENTENCES = ["the cats walking quickly to the dogs", "a dog jumped slowly in the rain",
             "the dogs and the cats talking", "running quickly of a morning",
             "cats jumped and dogs talking slowly"]


def sentences(lines, seed=0):
    rng = np.random.default_rng(seed)
    return [SENTENCES[i] for i in rng.integers(0, len(SENTENCES), size=lines)]


SENTIMENT_TINY = ["--epochs=1", "--batch_size=32", "--sequence_length=32"]


class PretrainingCase(task_harness.TaskTestCase):
    """What the pretraining test classes share (split in classes so that the
    suite's workers can run them side by side)."""
    task_module = "tasks.pretrain"
    tiny = TINY

    def corpus_file(self):
        return write_temp_file(self, "corpus.txt.gz", "\n".join(sentences(1000)), compress=True)


class PretrainTaskTest(PretrainingCase):
    _run = None

    def pretrained(self):
        """One mlm_nsp whole-word run on a gzipped corpus, shared by the tests."""
        if PretrainTaskTest._run is None:
            PretrainTaskTest._run = self.run_task(
                f"--data={self.corpus_file()}", "--objective=mlm_nsp", "--whole_word_masking",
                "--curriculum=length", "--curriculum_epochs=2", root=tempfile.mkdtemp())
        return PretrainTaskTest._run

    def test_pretraining_learns_and_exports_a_preset_and_fill_mask(self):
        result, _ = self.pretrained()
        history = result.stages[0].history
        self.assertLess(history["mlm_loss"][-1], history["mlm_loss"][0] - 0.3)
        self.assertEqual(result.metrics["masked_accuracy"],
                         history["val_mlm_masked_accuracy"][-1])
        self.assertIn("nsp_accuracy", result.metrics)
        # The curve's clock: equal steps an epoch, time moving on.
        steps = history["trained_steps"]
        self.assertEqual(steps, [steps[0] * (epoch + 1) for epoch in range(3)])
        self.assertGreater(steps[0], 0)
        self.assertEqual(sorted(history["elapsed_seconds"]), history["elapsed_seconds"])
        preset = os.path.join(result.export_path, PRESET_FOLDER)
        loaded = keras_hub.models.Backbone.from_preset(preset)
        self.assertIsInstance(loaded, keras_hub.models.BertBackbone)
        for mine, theirs in zip(result.model.backbone.weights, loaded.weights):
            self.assertAllEqual(mine.numpy(), theirs.numpy())
        self.assertEqual(keras_hub.tokenizers.Tokenizer.from_preset(preset).get_vocabulary(),
                         result.preprocessor.tokenizer.get_vocabulary())

        endpoint = fill_mask_endpoints(result.model, result.preprocessor)["serving_default"]
        expected = {name: value.numpy() for name, value in endpoint(tf.constant(QUERIES)).items()}
        served = self.assert_serves_like_the_model(result.export_path, "serving_default",
                                                   {"text": QUERIES},
                                                   {"scores": expected["scores"]})
        outputs = served["outputs"]
        self.assertEqual(np.array(outputs["predictions"]).shape[:2], (4, 2))
        self.assertNotIn("", outputs["predictions"][1][1])   # two masks: both answered
        self.assertEqual(outputs["predictions"][0][1], [""] * 5)  # one mask: padded
        self.assertEqual(outputs["predictions"][2], [[""] * 5] * 2)
        self.assertEqual(outputs["filled"][2], "no mask here")
        self.assertNotIn("[MASK]", outputs["filled"][0])
        self.assertEqual(outputs["filled"][0].split()[:2], ["the", "cats"])

    def test_sentiment_fine_tunes_from_the_pretraining_export(self):
        result, root = self.pretrained()
        sentiment = task_harness.TaskTestCase.run_task.__get__(self)
        self.task_module, self.tiny = "tasks.sentiment", SENTIMENT_TINY
        try:
            tuned, _ = sentiment(f"--init_from={root}/export", "--freeze_layers=1",
                                 "--layer_decay=0.8")
        finally:
            self.task_module, self.tiny = PretrainingCase.task_module, TINY
        self.assertEqual(tuned.flags["init_from"], f"{root}/export")
        backbone = tuned.model.backbone
        pretrained = {w.path: w.numpy() for w in result.model.backbone.weights}
        frozen = backbone.get_layer("token_embedding").weights + \
            backbone.transformer_layers[0].weights
        for variable in frozen:
            self.assertAllEqual(variable.numpy(), pretrained[variable.path])
        top = backbone.transformer_layers[1].weights
        self.assertFalse(all(np.array_equal(v.numpy(), pretrained[v.path]) for v in top))
        with open(os.path.join(tuned.export_path, "run_card.json")) as f:
            self.assertEqual(json.load(f)["pooling"], "cls")  # the default over a backbone
        served = self.serve_fresh(tuned.export_path, "serving_default",
                                  {"text": ["the cats walking", ""]})
        self.assertEqual(len(served["outputs"]["label"]), 2)

    def test_sentiment_fine_tunes_from_a_keras_hub_preset(self):
        # A tiny random BERT saved as keras-hub saves its presets (offline
        # stand-in for bert_tiny_en_uncased, whose vocabulary is BERT's).
        vocabulary = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "the", "plot", "was",
                      "good", "bad", "awful", "acting", "but", "film", "not", "a", "at", "all",
                      "music", "moving", "&", ";", "amp"]
        folder = os.path.join(self.get_temp_dir(), "bert_tiny_random")
        keras_hub.models.BertBackbone(len(vocabulary), num_layers=2, num_heads=2, hidden_dim=16,
                                      intermediate_dim=32, max_sequence_length=64
                                      ).save_to_preset(folder)
        keras_hub.models.BertTokenizer(vocabulary, lowercase=True).save_to_preset(folder)
        self.task_module, self.tiny = "tasks.sentiment", SENTIMENT_TINY
        try:
            tuned, _ = self.run_task(f"--init_from={folder}", "--curriculum=length",
                                     "--pooling=mean")
            with self.assertRaisesRegex(SystemExit, "error: --sequence_length: 128 is longer "
                                                    "than the preset's 64 positions"):
                self.run_task(f"--init_from={folder}", "--sequence_length=128")
        finally:
            self.task_module, self.tiny = PretrainingCase.task_module, TINY
        self.assertEqual(tuned.preprocessor.tokenizer.get_vocabulary(), vocabulary)
        self.assertEqual(tuned.model.pooling, "mean")
        self.assertEqual(len(tuned.answers), 3)


class CausalPretrainingTest(PretrainingCase):

    def test_causal_pretraining_exports_a_gpt2_preset_that_continues_text(self):
        result, _ = self.run_task(f"--data={self.corpus_file()}", "--objective=causal",
                                  "--epochs=12", "--learning_rate=1e-2")
        history = result.stages[0].history
        self.assertLess(history["loss"][-1], history["loss"][0] - 1.0)
        self.assertEqual(result.metrics["next_token_accuracy"],
                         history["val_next_token_accuracy"][-1])
        # Five sentences in random order: most next words follow from the last ones.
        self.assertGreater(result.metrics["next_token_accuracy"], 0.5)
        preset = os.path.join(result.export_path, PRESET_FOLDER)
        loaded = keras_hub.models.Backbone.from_preset(preset)
        self.assertIsInstance(loaded, keras_hub.models.GPT2Backbone)
        for mine, theirs in zip(result.model.backbone.weights, loaded.weights):
            self.assertAllEqual(mine.numpy(), theirs.numpy())

        prompts = ["the cats walking", "a dog", ""]
        generator = TextGenerator(result.model, result.preprocessor)
        greedy = tf.function(lambda p: generator.generate(p, 16, make_sampler("greedy")))
        expected = [text.decode() for text in greedy(tf.constant(prompts)).numpy()]
        # The text-generation export: its test takes that through the server.
        served = self.assert_serves_like_the_model(result.export_path, "serving_default",
                                                   {"prompt": prompts}, {"text": expected},
                                                   over_http=False)
        # The corpus' sentences, learned: the word after "the cats walking".
        self.assertEqual(served["outputs"]["text"][0].split()[0], "quickly",
                         served["outputs"]["text"])

        # Text generation continues the decoder on other text, from its weights.
        text = write_temp_file(self, "more.txt", "\n".join(sentences(200, seed=1)).upper())
        self.task_module, self.tiny = "tasks.text_generation", ["--jit=false"]
        try:
            tuned, _ = self.run_task(f"--data={text}", f"--init_from={result.export_path}",
                                     "--freeze_layers=1", "--sequence_length=16",
                                     "--batch_size=8", "--train_steps=6", "--epochs=2",
                                     "--learning_rate=1e-2")
        finally:
            self.task_module, self.tiny = PretrainingCase.task_module, TINY
        self.assertIsInstance(tuned.model.backbone, keras_hub.models.GPT2Backbone)
        self.assertEqual(tuned.preprocessor.tokenizer.get_vocabulary(),
                         result.preprocessor.tokenizer.get_vocabulary())
        # Upper-case text, lowercased as the pretraining's was: no unknown words.
        self.assertNotIn(result.preprocessor.tokenizer.token_to_id("[UNK]"),
                         tuned.preprocessor.token_stream("THE CATS WALKING"))
        first, last = tuned.model.backbone.transformer_layers[0], \
            tuned.model.backbone.transformer_layers[-1]
        before = {v.path: v.numpy() for v in loaded.weights}
        for variable in first.weights:
            self.assertAllEqual(variable.numpy(), before[variable.path])
        self.assertFalse(all(np.array_equal(v.numpy(), before[v.path]) for v in last.weights))
        with open(os.path.join(tuned.export_path, "run_card.json")) as f:
            self.assertEqual(json.load(f)["init_from"]["freeze_layers"], 1)

    def test_masking_flags_are_refused_with_the_causal_objective(self):
        with self.assertRaisesRegex(SystemExit, "--backbone, --mask_rate, --whole_word_masking "
                                                "do not apply to --objective=causal"):
            cli.parse(pretrain.Pretrain, ["pretrain", "--objective=causal", "--mask_rate=0.2",
                                          "--whole_word_masking", "--backbone=esm"])
        cli.parse(pretrain.Pretrain, ["pretrain", "--objective=mlm_nsp", "--mask_rate=0.2"])


class PretrainingRunTest(PretrainingCase):
    """Several workers, a kill and an empty corpus."""

    def test_two_workers_train_on_their_own_files(self):
        # Files of unequal length: the workers' parts differ, their step counts must not.
        short = write_temp_file(self, "short.txt", "\n".join(sentences(300, seed=1)))
        long = self.corpus_file()
        outputs = self.run_local_workers(self.fresh_root(), f"--data={short},{long}",
                                         "--epochs=1")
        steps = []
        for output in outputs:
            self.assertIn("this worker trains on 1 of the 2 files", output)
            steps.append(re.search(r"1 epochs of (\d+) steps on 2 replica", output).group(1))
        self.assertEqual(steps[0], steps[1])
        self.assertIn("masked accuracy", outputs[0])  # the chief's summary

    def test_resumes_after_a_kill(self):
        self.assert_resumes(f"--data={self.corpus_file()}", patience=False)

    def test_empty_corpus_is_a_clear_error(self):
        empty = write_temp_file(self, "empty.txt", "")
        with self.assertRaisesRegex(SystemExit, f"error: {empty}: has no lines"):
            self.run_task(f"--data={empty}")


if __name__ == "__main__":
    tf.test.main()
