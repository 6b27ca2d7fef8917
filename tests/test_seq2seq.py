"""The translation pieces: preprocessor round trip, the model's cache, beam search, metrics."""

import os

import numpy as np
import sacrebleu
import tensorflow as tf

from tfllm.data.sample import translation_pairs
from tfllm.decoding.beam_search import beam_search
from tfllm.decoding.translator import Translator
from tfllm.metrics.translation import translation_scores
from tfllm.models.seq2seq import Seq2SeqTransformer
from tfllm.preprocessors import Preprocessor
from tfllm.preprocessors.seq2seq import Seq2SeqPreprocessor
from tfllm.training.losses import SmoothedSparseCrossentropy
from tfllm.training.optimizers import adamw
from tfllm.training.strategy import get_strategy

PAIRS = translation_pairs(400, seed=1)
TRICKY = ["Größe: 12,5 cm (ca. 3\u00a0Zoll)!", "\"Wait,\" she said -- 1999's best?",
          "Çà et là: naïve façade."]


def preprocessor(joint=True):
    sources = [s for s, _ in PAIRS] + TRICKY
    targets = [t for _, t in PAIRS] + TRICKY
    return Seq2SeqPreprocessor.train(sources, targets, 120, 32, joint=joint)


def tiny_model(pre, **options):
    return Seq2SeqTransformer(pre.source_vocabulary_size, pre.vocabulary_size, 32,
                              hidden_dim=32, num_layers=2, num_heads=2, intermediate_dim=64,
                              dropout=0.0, **options)


# Seeding (as tf.test.TestCase's setUp does) drops SentencePiece models made
# before it (see tfllm.data.tokenizers): each test builds its preprocessors,
# and no test seeds after.

class Seq2SeqPreprocessorTest(tf.test.TestCase):

    def setUp(self):
        super().setUp()
        self.joint = preprocessor(joint=True)

    def test_detokenization_restores_cased_spaced_text(self):
        texts = [t for _, t in PAIRS[:20]] + TRICKY
        ids = self.joint.encode_target(tf.constant(texts)).to_tensor()
        back = [t.decode("utf-8") for t in tf.function(self.joint.detokenize)(ids).numpy()]
        # NFKC turns the no-break space into a space; everything else is kept.
        self.assertEqual(back, [t.replace("\u00a0", " ") for t in texts])

    def test_special_tokens_and_truncation(self):
        pre = self.joint
        source = pre.encode_source(tf.constant(["Ein Hund.", "wort " * 100])).to_list()
        self.assertEqual(source[0][-1], pre.source_end_id)
        self.assertLen(source[1], 32)
        target = pre.encode_target(tf.constant(["A dog."])).to_list()[0]
        self.assertEqual((target[0], target[-1]), (pre.start_id, pre.end_id))
        self.assertEqual(pre.encode_source(tf.constant([b"bad \xff byte"])).shape[0], 1)

    def test_batches_shift_targets(self):
        sources, targets = zip(*PAIRS[:50])
        (source_ids, decoder_inputs), labels = next(iter(
            self.joint.dataset(sources, targets, 50, bucket=False)))
        self.assertAllEqual(decoder_inputs[:, 1:], labels[:, :-1])
        self.assertAllEqual(decoder_inputs[:, 0], [self.joint.start_id] * 50)
        self.assertEqual(source_ids.shape, (50, 32))

    def test_saved_and_loaded_joint_and_separate(self):
        for pre in (self.joint, preprocessor(joint=False)):
            folder = os.path.join(self.get_temp_dir(), f"joint_{pre.joint}")
            pre.save(folder)
            loaded = Preprocessor.load(folder)
            self.assertEqual(loaded.joint, pre.joint)
            texts = tf.constant(TRICKY)
            self.assertAllEqual(loaded.encode_source(texts).to_tensor(),
                                pre.encode_source(texts).to_tensor())
            self.assertAllEqual(loaded.encode_target(texts).to_tensor(),
                                pre.encode_target(texts).to_tensor())


class Seq2SeqModelTest(tf.test.TestCase):

    def test_cached_steps_equal_full_decoding(self):
        pre = preprocessor()
        for positions in ("learned", "sinusoidal"):
            model = tiny_model(pre, positions=positions)
            source = pre.encode_source(tf.constant(["Ein Hund läuft.", "Zwei."])).to_tensor()
            target = tf.constant([[2, 17, 25, 9, 40], [2, 33, 8, 0, 0]])
            full = model((source, target))
            encoded, mask = model.encode(source)
            self_cache, cross_cache = model.empty_caches(2, tf.shape(source)[1], 5)
            for index in range(5):
                logits, self_cache, cross_cache = model.call_with_cache(
                    target[:, index:index + 1], encoded, mask, self_cache, cross_cache, index,
                    fill_cross_cache=index == 0)
                self.assertAllClose(logits[0, 0], full[0, index], atol=1e-4, msg=positions)

    def test_source_padding_is_ignored_and_embeddings_can_be_shared(self):
        pre = preprocessor()
        model = tiny_model(pre, share_embeddings=True)
        self.assertIs(model.source_embedding.token_embedding,
                      model.target_embedding.token_embedding)
        short = model((tf.constant([[40, 41, 3]]), tf.constant([[2, 7]])))
        padded = model((tf.constant([[40, 41, 3, 0, 0]]), tf.constant([[2, 7]])))
        self.assertAllClose(short, padded, atol=1e-5)
        with self.assertRaisesRegex(ValueError, "one vocabulary"):
            Seq2SeqTransformer(100, 120, 16, share_embeddings=True)


def fixed_step(table):
    """A step whose next-token log-probabilities depend only on the last token."""
    table = tf.math.log(tf.constant(table, tf.float32))

    def step(sequences, index, state):
        return tf.gather(table, sequences[:, index]), state

    return step


class BeamSearchTest(tf.test.TestCase):
    # Tokens: 0 pad, 1 start, 2 end, 3 "a", 4 "b".
    # After start: end 0.4, a 0.35, b 0.25; after a: b 0.9; after b: end 0.95.
    TABLE = [[0.2, 0.2, 0.2, 0.2, 0.2],
             [0.0, 0.0, 0.4, 0.35, 0.25],
             [0.2, 0.2, 0.2, 0.2, 0.2],
             [0.0, 0.0, 0.05, 0.05, 0.9],
             [0.0, 0.0, 0.95, 0.025, 0.025]]

    def search(self, **options):
        sequences, scores = beam_search(fixed_step(self.TABLE), (), 1, 1, 2,
                                        tf.constant([6]), **options)
        return sequences.numpy().tolist(), scores.numpy()

    def test_beams_find_what_greedy_misses(self):
        # Greedy ends at once (p 0.4); "a b end" has 0.35 * 0.9 * 0.95 = 0.299,
        # "b end" 0.2375: plain beam search prefers the short end ...
        greedy, _ = self.search(num_beams=1)
        self.assertEqual(greedy[0][0][:1], [2])
        best, scores = self.search(num_beams=3, n_best=3)
        self.assertEqual([row[:3] for row in best[0]], [[2, 0, 0], [3, 4, 2], [4, 2, 0]])
        self.assertAllClose(scores[0], np.log([0.4, 0.35 * 0.9 * 0.95, 0.25 * 0.95]), atol=1e-5)
        # ... and a length penalty lets the longer hypothesis win.
        long, _ = self.search(num_beams=3, length_penalty=3.0)
        self.assertEqual(long[0][0][:3], [3, 4, 2])

    def test_the_last_allowed_position_forces_the_end(self):
        sequences, _ = beam_search(fixed_step(self.TABLE), (), 1, 1, 2, tf.constant([2]),
                                   num_beams=3, length_penalty=3.0, n_best=3)
        # "a" would go on to "b" (0.9), but two tokens are all it may have.
        self.assertEqual(sorted(sequences.numpy()[0].tolist()), [[2, 0], [3, 2], [4, 2]])


class TranslatorTest(tf.test.TestCase):

    def setUp(self):
        super().setUp()
        self.pre = preprocessor()
        self.translator = Translator(tiny_model(self.pre), self.pre)
        self.sources = tf.constant([s for s, _ in PAIRS[:6]])

    def ids(self, **options):
        source_ids = self.pre.encode_source(self.sources)
        lengths = self.translator._max_lengths(source_ids, 8)
        return source_ids, lengths

    def test_one_beam_is_greedy(self):
        source_ids, lengths = self.ids()
        greedy = self.translator.greedy_ids(source_ids, lengths)
        beam, _ = self.translator.beam_ids(source_ids, lengths, 1)
        width = min(greedy.shape[1], beam.shape[2])
        # Beam search writes nothing after an end token; greedy goes on.
        text = tf.function(self.pre.detokenize)
        self.assertAllEqual(text(greedy[:, :width]), text(beam[:, 0, :width]))

    def test_beam_search_with_cache_equals_without(self):
        source_ids, lengths = self.ids()
        cached, cached_scores = self.translator.beam_ids(source_ids, lengths, 3, 0.6, n_best=2)
        full, full_scores = self.translator.beam_ids(source_ids, lengths, 3, 0.6, n_best=2,
                                                     use_cache=False)
        self.assertAllEqual(cached, full)
        self.assertAllClose(cached_scores, full_scores, atol=1e-4)

    def test_beams_per_call_and_edge_inputs(self):
        translate = tf.function(lambda texts, beams: self.translator.translate(texts, beams))
        texts = tf.constant(["Ein Hund.", "", "   ", "wort " * 200])
        for beams in (1, 3):
            out = translate(texts, tf.constant(beams)).numpy()
            self.assertEqual(out[1:3].tolist(), [b"", b""])  # empty sources: empty output
            self.assertLen(out, 4)
        self.assertEqual(translate(tf.constant([], tf.string), tf.constant(2)).shape, (0,))

    def test_score_is_the_sum_of_target_log_probabilities(self):
        scored = self.translator.score(tf.constant(["Ein Hund."]), tf.constant(["A dog."]))
        target = self.pre.encode_target(tf.constant(["A dog."])).to_tensor()
        source = self.pre.encode_source(tf.constant(["Ein Hund."])).to_tensor()
        logp = tf.nn.log_softmax(self.translator.model((source, target[:, :-1])))
        expected = tf.reduce_sum(tf.gather(logp[0], target[0, 1:], batch_dims=1))
        self.assertAllClose(scored["log_probability"][0], expected, atol=1e-4)
        self.assertEqual(int(scored["tokens"][0]), target.shape[1] - 1)


class SmoothedLossTest(tf.test.TestCase):

    def test_mean_over_real_tokens_with_smoothing(self):
        logits = tf.constant([[[0.0, 2.0, 0.0], [1.0, 1.0, 1.0], [5.0, 0.0, 0.0]]])
        labels = tf.constant([[1, 2, 0]])  # the last position is padding
        logp = tf.nn.log_softmax(logits)[0]
        nll = -(logp[0, 1] + logp[1, 2]) / 2
        uniform = -(tf.reduce_mean(logp[0]) + tf.reduce_mean(logp[1])) / 2
        self.assertAllClose(SmoothedSparseCrossentropy()(labels, logits), nll)
        self.assertAllClose(SmoothedSparseCrossentropy(0.2)(labels, logits),
                            0.8 * nll + 0.2 * uniform)


class MirroredMatchesDefaultTest(tf.test.TestCase):
    """Length-bucketed batches split unevenly over two replicas, yet train
    as on one device: the loss is a mean over the whole batch's tokens."""

    def test_same_model_after_training(self):
        pre = preprocessor()
        sources, targets = zip(*PAIRS[:24])
        data = pre.dataset(sources, targets, 12)  # unshuffled: one order for both
        probe = (tf.constant([[40, 41, 3]]), tf.constant([[2, 50, 51]]))
        outputs, weights = [], None
        for name in ("default", "mirrored"):
            strategy = get_strategy(name)
            with strategy.scope():
                model = tiny_model(pre)
                weights = weights or model.get_weights()
                model.set_weights(weights)
                model.compile(adamw(3e-3, 20, 2), SmoothedSparseCrossentropy(0.1),
                              jit_compile=False)
            model.fit(data, epochs=1, verbose=0)
            outputs.append(model(probe))
        self.assertAllClose(outputs[0], outputs[1], atol=1e-4)


class TranslationMetricsTest(tf.test.TestCase):

    def test_bleu_is_sacrebleus_corpus_bleu(self):
        hypotheses = ["A dog runs in the park.", "Two men are talking .", ""]
        references = ["A dog is running in the park.", "Two men talk.", "A cat."]
        scores = translation_scores(hypotheses, references)
        self.assertAllClose(scores["bleu"],
                            sacrebleu.corpus_bleu(hypotheses, [references]).score)
        self.assertAllClose(scores["chrf"],
                            sacrebleu.corpus_chrf(hypotheses, [references]).score)
        self.assertStartsWith(scores["bleu_signature"], "nrefs:1|case:mixed|eff:no|tok:13a")
        self.assertAllClose(translation_scores(references, references)["bleu"], 100.0)
        with self.assertRaisesRegex(ValueError, "2 hypotheses for 3 references"):
            translation_scores(hypotheses[:2], references)


if __name__ == "__main__":
    tf.test.main()
