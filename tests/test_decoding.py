"""Samplers (greedy, top-k, top-p, beam, temperature, seeds) and prompt rules."""

import numpy as np
import tensorflow as tf

from tfllm.decoding import RequestSampler, make_sampler, prepare_prompts, continuation_ids

VOCAB = 12
# Fixed next-token logits, the same at every step and in every row: the
# sampler is tested without a model.
LOGITS = np.log(np.array([0.02, 0.20, 0.03, 0.15, 0.01, 0.25, 0.04, 0.10, 0.05, 0.06, 0.05, 0.04],
                         np.float32))
RANKED = np.argsort(-LOGITS)  # 5, 1, 3, 7, ...


def fixed_next(prompt, cache, index):
    batch = tf.shape(prompt)[0]
    return tf.tile(tf.constant(LOGITS)[None], [batch, 1]), None, cache


def run(sampler, batch=64, length=20):
    prompt = tf.zeros([batch, length], tf.int32)
    mask = tf.sequence_mask(tf.ones([batch], tf.int32), length)
    return sampler(next=fixed_next, prompt=prompt, cache=None, index=1, mask=mask).numpy()[:, 1:]


class SamplerTest(tf.test.TestCase):

    def test_greedy_is_deterministic_argmax(self):
        out = run(make_sampler("greedy"))
        self.assertTrue((out == RANKED[0]).all())
        self.assertTrue((run(RequestSampler(temperature=0.0, seed=5)) == RANKED[0]).all())

    def test_top_k_never_leaves_the_k_best(self):
        for sampler in (make_sampler("top_k", top_k=3, seed=1),
                        RequestSampler(temperature=1.0, top_k=3, seed=1)):
            out = run(sampler)
            self.assertTrue(np.isin(out, RANKED[:3]).all(), msg=type(sampler).__name__)
            self.assertEqual(len(np.unique(out)), 3)  # and uses all of them

    def test_top_p_samples_only_the_nucleus(self):
        # 0.25 + 0.20 = 0.45 < 0.5, so the nucleus for p=0.5 is the top 3 tokens.
        for sampler in (make_sampler("top_p", top_p=0.5, seed=2),
                        RequestSampler(temperature=1.0, top_p=0.5, seed=2)):
            out = run(sampler)
            self.assertTrue(np.isin(out, RANKED[:3]).all(), msg=type(sampler).__name__)

    def test_top_k_and_top_p_combine(self):
        out = run(RequestSampler(temperature=1.0, top_k=2, top_p=0.99, seed=3))
        self.assertTrue(np.isin(out, RANKED[:2]).all())

    def test_low_temperature_concentrates_high_spreads(self):
        cold = run(make_sampler("random", temperature=0.05, seed=4))
        hot = run(make_sampler("random", temperature=5.0, seed=4))
        self.assertGreater((cold == RANKED[0]).mean(), 0.95)
        self.assertGreater(len(np.unique(hot)), 8)

    def test_seed_makes_sampling_repeatable(self):
        a = run(RequestSampler(1.0, 0, 1.0, seed=7))
        self.assertAllEqual(a, run(RequestSampler(1.0, 0, 1.0, seed=7)))
        self.assertNotAllEqual(a, run(RequestSampler(1.0, 0, 1.0, seed=8)))
        self.assertAllEqual(run(make_sampler("top_k", top_k=5, seed=9)),
                            run(make_sampler("top_k", top_k=5, seed=9)))

    def test_beam_search_finds_a_likelier_sequence_than_greedy(self):
        # Transition table where the greedy first step (token 1) leads to a
        # flat distribution, but token 2 leads to a certain continuation.
        table = np.full([4, 4], 1e-3, np.float32)
        table[0] = [0.0, 0.55, 0.45, 0.0]
        table[1] = [0.25, 0.25, 0.25, 0.25]
        table[2] = [0.0, 0.0, 0.0, 1.0]
        table[3] = [0.0, 0.0, 0.0, 1.0]
        log_table = tf.constant(np.log(table + 1e-9))

        def next_fn(prompt, cache, index):
            return tf.gather(log_table, prompt[:, index - 1]), None, cache

        prompt = tf.zeros([1, 3], tf.int32)
        mask = tf.constant([[True, False, False]])
        greedy = make_sampler("greedy")(next=next_fn, prompt=prompt, index=1, mask=mask)
        beam = make_sampler("beam", num_beams=3)(next=next_fn, prompt=prompt, index=1, mask=mask)
        self.assertEqual(greedy.numpy()[0, 1], 1)
        self.assertAllEqual(beam.numpy()[0], [0, 2, 3])

    def test_unknown_sampler_is_rejected(self):
        with self.assertRaisesRegex(ValueError, "sampler must be one of"):
            make_sampler("nucleus")


class PromptTest(tf.test.TestCase):

    def test_empty_long_and_normal_prompts(self):
        prompts = tf.ragged.constant([[5, 6, 7, 8, 9, 10], [], [3]], tf.int32)
        ids, mask, lengths, new = prepare_prompts(prompts, 3, 8, start_id=1)
        # The long prompt keeps its last 8 - 3 = 5 tokens; the empty one gets the start id.
        self.assertAllEqual(lengths, [5, 1, 1])
        self.assertAllEqual(ids[0, :5], [6, 7, 8, 9, 10])
        self.assertEqual(int(ids[1, 0]), 1)
        self.assertEqual(ids.shape, (3, 8))
        self.assertAllEqual(mask.numpy().sum(axis=1), [5, 1, 1])
        self.assertAllEqual(continuation_ids(ids, lengths, new).shape, (3, 3))

    def test_max_new_tokens_is_clipped_to_the_window(self):
        prompts = tf.ragged.constant([[5, 6, 7]], tf.int32)
        ids, _, lengths, new = prepare_prompts(prompts, 100, 8, start_id=1)
        self.assertEqual(int(new), 7)
        self.assertAllEqual(lengths, [1])  # one token of context remains
        self.assertEqual(ids.shape, (1, 8))
        _, _, _, none = prepare_prompts(prompts, -4, 8, start_id=1)
        self.assertEqual(int(none), 0)


if __name__ == "__main__":
    tf.test.main()
