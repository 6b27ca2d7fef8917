"""The causal LMs (ours, and keras-hub's GPT-2 backbone wrapped for causal
pretraining): shapes, causal masking, cached generation, scoring."""

import keras
import keras_hub
import numpy as np
import tensorflow as tf

from tfllm.data import packing
from tfllm.metrics.language_model import evaluate_language_model, text_nll
from tfllm.models.causal_lm import BackboneCausalLM, CausalLM
from tfllm.models.pretraining import gpt2_backbone


def tiny(**overrides):
    keras.utils.set_random_seed(0)
    config = dict(vocabulary_size=30, sequence_length=16, hidden_dim=16, num_layers=2,
                  num_heads=2, intermediate_dim=32, dropout=0.0)
    return CausalLM(**{**config, **overrides})


def tiny_gpt2():
    keras.utils.set_random_seed(0)
    return BackboneCausalLM(gpt2_backbone(30, 16, hidden_dim=16, num_layers=2, num_heads=2,
                                          intermediate_dim=32, dropout=0.0))


BOTH = (("CausalLM", tiny), ("BackboneCausalLM", tiny_gpt2))


class CausalLMTest(tf.test.TestCase):

    def test_logits_shape_and_tied_embedding(self):
        tied, untied = tiny(), tiny(tie_embeddings=False)
        self.assertEqual(tied(tf.zeros([3, 7], tf.int32)).shape, (3, 7, 30))
        # Untying adds exactly one [hidden, vocab] output matrix.
        self.assertEqual(untied.count_params() - tied.count_params(), 16 * 30)

    def test_changing_a_future_token_leaves_earlier_logits_unchanged(self):
        for name, make in BOTH:
            with self.subTest(name):
                model = make()
                ids = np.random.RandomState(1).randint(0, 30, size=[2, 12]).astype(np.int32)
                changed = ids.copy()
                changed[:, 7] = (changed[:, 7] + 5) % 30
                before, after = model(ids), model(changed)
                self.assertEqual(before.shape, (2, 12, 30))
                self.assertAllClose(before[:, :7], after[:, :7], atol=1e-6)
                self.assertNotAllClose(before[:, 7:], after[:, 7:])

    def test_cached_step_logits_match_full_pass(self):
        for name, make in BOTH:
            with self.subTest(name):
                model = make()
                ids = np.random.RandomState(2).randint(0, 30, size=[2, 10]).astype(np.int32)
                full = model(ids)
                cache = model.empty_cache(2, 10)
                _, cache = model.call_with_cache(ids[:, :4], cache, 0)
                for i in range(4, 10):
                    logits, cache = model.call_with_cache(ids[:, i:i + 1], cache, i)
                    self.assertAllClose(logits[:, 0], full[:, i], atol=1e-5)

    def test_cached_and_uncached_greedy_generation_agree(self):
        ids = np.zeros([3, 16], np.int32)
        mask = np.zeros([3, 16], bool)
        for row, prompt in enumerate([[3, 4, 5], [7], [1, 2, 3, 4, 5, 6]]):
            ids[row, :len(prompt)] = prompt
            mask[row, :len(prompt)] = True
        greedy = keras_hub.samplers.GreedySampler()
        for name, make in BOTH:
            with self.subTest(name):
                model = make()
                cached = model.generate(ids, mask, greedy)
                uncached = model.generate(ids, mask, greedy, use_cache=False)
                self.assertAllEqual(cached, uncached)
                self.assertAllEqual(cached[mask], ids[mask])  # prompts are kept

    def test_text_score_agrees_with_keras_loss(self):
        model = tiny()
        model.compile(loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
        stream = np.random.RandomState(3).randint(0, 30, size=3 * 16 + 1).astype(np.int32)
        x, y = packing.split_inputs_targets(packing.pack_windows(stream, 16))
        keras_loss = model.evaluate(x, y, batch_size=3, verbose=0)
        nll, count = text_nll(model, tf.RaggedTensor.from_tensor(stream[None]), 16)
        self.assertEqual(int(count[0]), 48)
        self.assertAllClose(float(nll[0]) / 48, keras_loss, rtol=1e-5)
        result = evaluate_language_model(model, stream, 16, batch_size=2)
        self.assertAllClose(result["loss"], keras_loss, rtol=1e-5)
        self.assertAllClose(result["perplexity"], np.exp(keras_loss), rtol=1e-5)

    def test_a_few_training_steps_lower_the_loss(self):
        model = tiny()
        model.compile(optimizer=keras.optimizers.Adam(1e-2),
                      loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                      jit_compile=False)
        stream = np.tile(np.arange(10, dtype=np.int32), 40)
        ds = packing.training_dataset(stream, 8, 8, seed=0)
        history = model.fit(ds, steps_per_epoch=15, epochs=2, verbose=0)
        self.assertLess(history.history["loss"][-1], 0.5 * history.history["loss"][0])

    def test_config_round_trip(self):
        model = tiny(tie_embeddings=False)
        clone = CausalLM.from_config(model.get_config())
        self.assertEqual(clone.count_params(), model.count_params())


if __name__ == "__main__":
    tf.test.main()
