"""The text-generation export: three signatures, loaded in a fresh TF-only process."""

import dataclasses
import json
import os
import subprocess
import sys
import tempfile

import keras
import numpy as np
import pytest
import tensorflow as tf

from tfllm.data.tokenizers import train_tokenizer
from tfllm.decoding import RequestSampler, make_sampler
from tfllm.decoding.generator import TextGenerator
from tfllm.export.saved_model import export_task
from tfllm.export.text_generation import GenerationSettings, generation_endpoints
from tfllm.metrics.language_model import evaluate_language_model
from tfllm.models.causal_lm import CausalLM
from tfllm.preprocessors import LanguageModelPreprocessor

# Runs in a fresh interpreter that imports only TensorFlow and TF Text, as
# TF Serving would: no keras, keras_hub or tfllm code may be needed.
FRESH = r"""
import json, sys
import tensorflow as tf
import tensorflow_text  # noqa: F401
loaded = tf.saved_model.load(sys.argv[1])
sigs = loaded.signatures
def gen(prompts, new, temperature, seed, top_k=0, top_p=1.0):
    out = sigs["generate"](prompt=tf.constant(prompts), max_new_tokens=tf.constant(new),
                           temperature=tf.constant(temperature), top_k=tf.constant(top_k),
                           top_p=tf.constant(top_p), seed=tf.constant(seed, tf.int64))
    return [t.decode("utf-8") for t in out["text"].numpy()]
score = sigs["score"](text=tf.constant(json.loads(sys.argv[2])))
result = {
    "signatures": sorted(sigs),
    "default": [t.decode() for t in sigs["serving_default"](
        prompt=tf.constant(["to be or", "", "x" * 200]))["text"].numpy()],
    "greedy": gen(["to be or", "", "y" * 200], 5, 0.0, 0),
    "sampled": gen(["to be or"] * 3, 8, 1.0, 11, top_k=4),
    "sampled_again": gen(["to be or"] * 3, 8, 1.0, 11, top_k=4),
    "other_seed": gen(["to be or"] * 3, 8, 1.0, 12, top_k=4),
    "none": gen(["to be or"], 0, 1.0, 0),
    "too_many": gen(["ab"], 1000, 0.0, 0),
    "top_p_zero": gen(["to be or"], 5, 1.0, 4, top_p=0.0),
    "empty_batch": [sigs["serving_default"](prompt=tf.constant([], tf.string))["text"].shape[0],
                    sigs["score"](text=tf.constant([], tf.string))["nll"].shape[0]],
    "nll": score["nll"].numpy().tolist(),
    "tokens": score["tokens"].numpy().tolist(),
    # (`import tensorflow` itself imports keras; keras_hub and tfllm must stay out.)
    "modules": sorted(m for m in ("keras_hub", "tfllm") if m in sys.modules),
}
print(json.dumps(result))
"""

SCORED = ["to be or not to be, that is the question: whether 'tis nobler in the mind",
          "", "a"]


@pytest.mark.slow
class TextGenerationExportTest(tf.test.TestCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        keras.utils.set_random_seed(0)
        cls.preprocessor = LanguageModelPreprocessor(train_tokenizer("char", ["to be"], 128), 16)
        cls.model = CausalLM(128, 16, hidden_dim=16, num_layers=2, num_heads=2,
                             intermediate_dim=32)
        cls.settings = GenerationSettings(sampler="top_k", top_k=5, max_new_tokens=6, seed=3,
                                          temperature=0.9)
        cls.root = tempfile.mkdtemp()
        endpoints = generation_endpoints(cls.model, cls.preprocessor, cls.settings)
        cls.path = export_task(cls.root, cls.model, cls.preprocessor, endpoints,
                               {"generation": dataclasses.asdict(cls.settings)})
        env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
        run = subprocess.run([sys.executable, "-c", FRESH, cls.path, json.dumps(SCORED)],
                             capture_output=True, text=True, env=env, timeout=300)
        if run.returncode:
            raise AssertionError(run.stderr[-3000:])
        cls.fresh = json.loads(run.stdout.strip().splitlines()[-1])

    def test_loads_with_only_tensorflow_and_tf_text(self):
        self.assertEqual(self.fresh["signatures"], ["generate", "score", "serving_default"])
        self.assertEqual(self.fresh["modules"], [])
        self.assertEqual(os.listdir(self.root), ["1"])  # no staging folder left behind
        with open(os.path.join(self.path, "run_card.json")) as f:
            self.assertEqual(json.load(f)["generation"]["top_k"], 5)

    def test_serving_default_matches_the_python_generator(self):
        generator = TextGenerator(self.model, self.preprocessor)
        sampler = RequestSampler(0.9, 5, 1.0, 3)
        expected = generator(["to be or", "", "x" * 200], 6, sampler)
        self.assertEqual(self.fresh["default"], expected)
        self.assertTrue(all(len(t) == 6 for t in self.fresh["default"]))

    def test_greedy_generate_matches_keras_greedy_and_handles_edge_prompts(self):
        generator = TextGenerator(self.model, self.preprocessor)
        greedy = generator(["to be or", "", "y" * 200], 5, make_sampler("greedy"))
        self.assertEqual(self.fresh["greedy"], greedy)
        # A too-long prompt keeps its end: same output as the last 16 - 5 characters.
        self.assertEqual(greedy[2], generator(["y" * 11], 5, make_sampler("greedy"))[0])
        # An empty prompt starts from "\n".
        self.assertEqual(greedy[1], generator(["\n"], 5, make_sampler("greedy"))[0])
        self.assertEqual(self.fresh["none"], [""])
        self.assertEqual(len(self.fresh["too_many"][0]), 15)  # clipped to context - 1
        self.assertEqual(self.fresh["top_p_zero"], generator(["to be or"], 5,
                                                             make_sampler("greedy")))
        self.assertEqual(self.fresh["empty_batch"], [0, 0])

    def test_seeded_sampling_is_repeatable(self):
        self.assertEqual(self.fresh["sampled"], self.fresh["sampled_again"])
        self.assertNotEqual(self.fresh["sampled"], self.fresh["other_seed"])

    def test_score_agrees_with_the_model_loss(self):
        self.assertEqual(self.fresh["tokens"], [len(SCORED[0]) - 1, 0, 0])
        self.assertEqual(self.fresh["nll"][1:], [0.0, 0.0])
        ids = self.preprocessor.token_stream(SCORED[0])
        loss = evaluate_language_model(self.model, ids, 16)["loss"]
        self.assertAllClose(self.fresh["nll"][0] / self.fresh["tokens"][0], loss, rtol=1e-5)
        # ... and with a Keras loss on the same windows: 72 predictions are
        # four whole windows of 16 and a last window of 8.
        total = keras.losses.SparseCategoricalCrossentropy(from_logits=True, reduction="sum")
        x = np.stack([ids[i:i + 16] for i in range(0, 64, 16)])
        y = np.stack([ids[i + 1:i + 17] for i in range(0, 64, 16)])
        keras_nll = total(y, self.model(x)) + total(ids[65:][None], self.model(ids[64:-1][None]))
        self.assertAllClose(self.fresh["nll"][0], float(keras_nll), rtol=1e-5)


if __name__ == "__main__":
    tf.test.main()
