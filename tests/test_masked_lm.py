"""Masked-LM inputs (packing, masking, sentence pairs), the pretraining model,
presets, freezing and layer-wise learning-rate decay."""

import os
import types

import keras
import keras_hub
import numpy as np
import tensorflow as tf

from temp_files import write_temp_file
from tfllm.data.errors import DataError
from tfllm.data.masked_lm import (MaskedLMInputs, block_length, load_text_stream,
                                  pretraining_batches, token_blocks,
                                  train_masked_lm_tokenizer, word_starts)
from tfllm.models.classifier import BackboneClassifier
from tfllm.models.presets import (fine_tuning_model, freeze_layers, layer_decay_multipliers,
                                  load_backbone, load_tokenizer, preset_path, save_preset)
from tfllm.models.pretraining import (MaskedLMPretrainer, bert_backbone, esm_backbone,
                                      gpt2_backbone)
from tfllm.training.optimizers import adamw

WORDS = ["walking", "talking", "running", "jumped", "quickly", "slowly", "cats", "dogs",
         "the", "a", "and", "of", "to", "in"]


def corpus(lines=400, seed=0):
    rng = np.random.default_rng(seed)
    return [" ".join(rng.choice(WORDS, size=12)) for _ in range(lines)]


class MaskedLMInputsTest(tf.test.TestCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.lines = tf.data.Dataset.from_tensor_slices(corpus())
        # Small enough that words split into pieces (for whole-word masking).
        cls.tokenizer = train_masked_lm_tokenizer(cls.lines, vocab_size=40)

    def blocks(self, objective, length, rows=256):
        blocks = token_blocks(self.lines, self.tokenizer, block_length(objective, length))
        return next(iter(blocks.batch(rows)))

    def test_blocks_lay_the_tokens_end_to_end(self):
        tokens = np.concatenate(self.tokenizer(tf.constant(corpus()[:3])))  # eager: lists
        blocks = token_blocks(self.lines, self.tokenizer, 10)
        first = np.concatenate([b.numpy() for b in blocks.take(2)])
        self.assertAllEqual(first, tokens[:20])
        self.assertEqual(blocks.element_spec.shape, [10])

    def test_masking_rates_and_labels(self):
        inputs = MaskedLMInputs(self.tokenizer, sequence_length=64)
        blocks = self.blocks("mlm", 64)
        x, y, weights = inputs(blocks, tf.constant([1, 2]))
        ids, positions = x["token_ids"].numpy(), x["mask_positions"].numpy()
        selected = weights["mlm"].numpy() > 0
        original = np.concatenate(
            [np.full([len(blocks), 1], inputs.cls_id), blocks.numpy(),
             np.full([len(blocks), 1], inputs.sep_id)], axis=1)
        rows = np.repeat(np.arange(len(ids))[:, None], positions.shape[1], axis=1)
        # Labels are the original tokens, at selected positions only.
        self.assertAllEqual(y["mlm"].numpy()[selected], original[rows[selected],
                                                                 positions[selected]])
        self.assertAllEqual(y["mlm"].numpy()[~selected], np.zeros((~selected).sum()))
        # Each row selects 15% of its 62 selectable tokens (not [CLS]/[SEP]), rounded up.
        self.assertAllEqual(selected.sum(axis=1), np.full(len(ids), 10))
        chosen = ids[rows[selected], positions[selected]]
        truth = original[rows[selected], positions[selected]]
        self.assertNear(np.mean(chosen == inputs.mask_id), 0.8, 0.04)
        kept = np.mean(chosen == truth)
        self.assertNear(kept, 0.1 + 0.1 / self.tokenizer.vocabulary_size(), 0.04)
        # Positions never selected are unchanged; [CLS] and [SEP] never selected.
        untouched = np.ones_like(ids, bool)
        untouched[rows[selected], positions[selected]] = False
        self.assertAllEqual(ids[untouched], original[untouched])
        self.assertNotIn(0, positions[selected])
        self.assertNotIn(63, positions[selected])

    def passes(self, fixed):
        """Two passes over masked batches, each as its rows' unmasked token ids."""
        inputs = MaskedLMInputs(self.tokenizer, sequence_length=32)
        blocks = token_blocks(self.lines, self.tokenizer, block_length("mlm", 32))
        batches = pretraining_batches(blocks, inputs, 8, seed=0, fixed=fixed)
        passes = []
        for _ in range(2):
            rows = []
            for x, y, weights in batches:
                ids = x["token_ids"].numpy()
                for row, positions, labels, weight in zip(
                        ids, x["mask_positions"].numpy(), y["mlm"].numpy(),
                        weights["mlm"].numpy()):
                    row[positions[weight > 0]] = labels[weight > 0]
                    rows.append(tuple(row))
            passes.append(rows)
        return passes

    def test_training_batches_are_shuffled_each_epoch_evaluation_fixed(self):
        first, second = self.passes(fixed=False)
        self.assertNotEqual(first, second)
        in_order = self.passes(fixed=True)
        self.assertEqual(in_order[0], in_order[1])
        # Shuffling reorders the blocks; training drops only a last partial batch.
        for rows in (first, second):
            self.assertEqual(len(rows), len(in_order[0]) // 8 * 8)
            self.assertLessEqual(set(rows), set(in_order[0]))
        self.assertNotEqual(first, in_order[0][:len(first)])

    def test_workers_train_on_their_own_files_when_there_are_enough(self):
        spec = ",".join(write_temp_file(self, f"part{i}.txt", f"line {i}\nmore {i}\n")
                        for i in range(3))

        def lines(data):
            return sorted(t.decode() for t in data.as_numpy_iterator())
        second = load_text_stream(spec, worker=(2, 1))
        self.assertEqual(second.line_count, 6)  # the vocabulary reads the whole corpus
        self.assertEqual(lines(second.training_lines), ["line 1", "more 1"])
        self.assertEqual(second.worker_files, (1, 3))
        self.assertIsNone(second.too_few_files)
        # Fewer files than workers: every worker reads them all, and is told so.
        shared = load_text_stream(spec, worker=(4, 0))
        self.assertEqual(lines(shared.training_lines), lines(shared.lines))
        self.assertEqual((shared.worker_files, shared.too_few_files), (None, (3, 4)))
        alone = load_text_stream(spec)
        self.assertEqual((alone.worker_files, alone.too_few_files), (None, None))

    def test_whole_word_masking_takes_every_piece(self):
        inputs = MaskedLMInputs(self.tokenizer, sequence_length=64, whole_word=True)
        x, _, weights = inputs(self.blocks("mlm", 64), tf.constant([3, 4]))
        starts = word_starts(self.tokenizer)
        self.assertGreater((~starts).sum(), 0)  # the vocabulary has ## pieces
        original = inputs.packer(self.blocks("mlm", 64))[0].numpy()
        continued = 0
        for row, positions, weight in zip(original, x["mask_positions"].numpy(),
                                          weights["mlm"].numpy()):
            chosen = set(positions[weight > 0])
            for position in chosen:
                # The piece after a selected one is selected too if it continues the word.
                after = position + 1
                if after < len(row) - 1 and not starts[row[after]]:
                    continued += 1
                    self.assertIn(after, chosen)
                if not starts[row[position]] and position > 1:
                    self.assertIn(position - 1, chosen)
        self.assertGreater(continued, 0)

    def test_next_sentence_pairs_are_half_true(self):
        inputs = MaskedLMInputs(self.tokenizer, sequence_length=33, next_sentence=True,
                                mask_rate=0.01)
        blocks = self.blocks("mlm_nsp", 33)
        self.assertEqual(blocks.shape[1], 30)
        _, y, _ = inputs(blocks, tf.constant([5, 6]))
        pairs, _ = inputs._segments(blocks, tf.constant([5, 6]))
        is_next = y["nsp"].numpy().astype(bool)
        self.assertNear(is_next.mean(), 0.5, 0.1)
        same = np.all(pairs[1].numpy() == blocks.numpy()[:, 15:], axis=1)
        self.assertAllEqual(same[is_next], np.ones(is_next.sum(), bool))
        self.assertLess(same[~is_next].mean(), 0.05)
        token_ids, segment_ids = inputs.packer(pairs)
        self.assertEqual(list(token_ids.numpy()[0][[0, 16, 32]]),
                         [inputs.cls_id, inputs.sep_id, inputs.sep_id])
        self.assertAllEqual(segment_ids.numpy()[0], [0] * 17 + [1] * 16)


def tiny_backbone(vocabulary_size=60, sequence_length=32, encoder=bert_backbone):
    return encoder(vocabulary_size, sequence_length, hidden_dim=16, num_layers=2, num_heads=2,
                   intermediate_dim=32)


def batch(size=2, length=12, vocabulary_size=60):
    rng = np.random.default_rng(0)
    return {"token_ids": tf.constant(rng.integers(5, vocabulary_size, [size, length]),
                                     tf.int32),
            "segment_ids": tf.zeros([size, length], tf.int32),
            "padding_mask": tf.ones([size, length], tf.bool)}


class PresetTest(tf.test.TestCase):

    def test_preset_round_trip_gives_identical_outputs(self):
        lines = tf.data.Dataset.from_tensor_slices(corpus(50))
        tokenizer = train_masked_lm_tokenizer(lines, 60)
        backbone = tiny_backbone(tokenizer.vocabulary_size())
        folder = os.path.join(self.get_temp_dir(), "preset")
        save_preset(backbone, tokenizer, folder)
        x = batch(vocabulary_size=tokenizer.vocabulary_size())
        # Ours with keras-hub's own loaders, and through --init_from's.
        for loaded in (keras_hub.models.BertBackbone.from_preset(folder), load_backbone(folder)):
            self.assertAllClose(loaded(x)["sequence_output"], backbone(x)["sequence_output"])
        self.assertEqual(keras_hub.models.BertTokenizer.from_preset(folder).get_vocabulary(),
                         tokenizer.get_vocabulary())
        self.assertEqual(load_tokenizer(folder)("walking [MASK]").tolist()[-1],
                         tokenizer.token_to_id("[MASK]"))

    def test_init_from_finds_the_preset_of_an_export(self):
        root = self.get_temp_dir()
        for version in (1, 2):
            os.makedirs(os.path.join(root, "exports", str(version), "assets.extra", "preset"))
            open(os.path.join(root, "exports", str(version), "assets.extra", "preset",
                              "config.json"), "w").close()
        newest = os.path.join(root, "exports", "2", "assets.extra", "preset")
        self.assertEqual(preset_path(os.path.join(root, "exports")), newest)
        self.assertEqual(preset_path(os.path.join(root, "exports", "2")), newest)
        self.assertEqual(preset_path(newest), newest)
        self.assertEqual(preset_path("bert_tiny_en_uncased"), "bert_tiny_en_uncased")
        with self.assertRaisesRegex(DataError, "not a keras-hub preset directory"):
            preset_path(root)
        with self.assertRaisesRegex(DataError, "does not exist"):
            preset_path(os.path.join(root, "missing"))

    def test_masked_lm_loss_falls(self):
        lines = tf.data.Dataset.from_tensor_slices(corpus(200))
        tokenizer = train_masked_lm_tokenizer(lines, 60)
        inputs = MaskedLMInputs(tokenizer, sequence_length=32)
        data = (token_blocks(lines, tokenizer, block_length("mlm", 32)).batch(16)
                .map(lambda b: inputs(b, tf.constant([1, 2]))).cache())
        for encoder in (bert_backbone, esm_backbone):
            model = MaskedLMPretrainer(tiny_backbone(tokenizer.vocabulary_size(), 32, encoder))
            model.compile(optimizer=keras.optimizers.Adam(3e-3), loss={
                "mlm": keras.losses.SparseCategoricalCrossentropy(
                    from_logits=True, reduction="mean_with_sample_weight")})
            history = model.fit(data, epochs=6, verbose=0).history["loss"]
            self.assertLess(history[-1], history[0] - 0.5, encoder.__name__)


class PreLayerNormEncoderTest(tf.test.TestCase):
    """--backbone=esm: keras-hub's pre-LN `ESMBackbone`, which takes no segment
    ids, has no pooler and no reversible embedding."""

    def test_pretrainer_preset_and_fine_tuning_heads(self):
        backbone = tiny_backbone(encoder=esm_backbone)
        x = {**batch(size=4), "mask_positions": tf.constant([[1, 3, 5]] * 4)}
        outputs = MaskedLMPretrainer(backbone, next_sentence=True)(x)
        self.assertEqual(outputs["mlm"].shape, (4, 3, 60))
        self.assertEqual(outputs["nsp"].shape, (4, 2))
        folder = os.path.join(self.get_temp_dir(), "esm")
        backbone.save_to_preset(folder)
        loaded = keras_hub.models.Backbone.from_preset(folder)
        self.assertIsInstance(loaded, keras_hub.models.ESMBackbone)
        self.assertTrue(loaded.use_pre_layer_norm)
        self.assertAllClose(loaded({"token_ids": x["token_ids"]}),
                            backbone({"token_ids": x["token_ids"]}))
        # Padding (id 0) is masked: the classifier's answer ignores what follows it.
        classifier = BackboneClassifier(loaded, num_classes=3)
        padded = classifier(tf.constant([[7, 8, 9, 0, 0], [7, 8, 9, 0, 0]]))
        self.assertEqual(padded.shape, (2, 3))
        self.assertAllClose(padded[0], classifier(tf.constant([[7, 8, 9]]))[0], atol=1e-5)
        # Freezing takes the embeddings and their norm along with the first block.
        freeze_layers(loaded, 1)
        frozen = {layer.name for layer in loaded.layers if layer.weights and not layer.trainable}
        self.assertEqual(frozen, {"token_embedding", "emb_layer_norm", "transformer_layer_0"})

    def test_classifier_pools_the_sequence_output_over_its_tokens(self):
        backbone = tiny_backbone(encoder=esm_backbone)
        padded = tf.constant([[7, 8, 9, 0, 0]])
        sequence = backbone({"token_ids": padded})[:, :3]  # the tokens, not the padding
        for pooling, pooled in (("mean", tf.reduce_mean(sequence, axis=1)),
                                ("max", tf.reduce_max(sequence, axis=1)),
                                ("cls", sequence[:, 0])):
            classifier = BackboneClassifier(backbone, num_classes=3, pooling=pooling)
            self.assertAllClose(classifier(padded), classifier.get_layer("logits")(pooled),
                                atol=1e-5, msg=pooling)
            self.assertEqual(classifier.get_config()["pooling"], pooling)
        with self.assertRaisesRegex(ValueError, "must be one of cls, mean, max over a pretrained"):
            BackboneClassifier(backbone, num_classes=3, pooling="attention")


class FineTuningTest(tf.test.TestCase):

    def test_a_decoder_preset_is_refused_by_encoder_tasks(self):
        folder = os.path.join(self.get_temp_dir(), "gpt2")
        gpt2_backbone(30, 16, hidden_dim=8, num_layers=1, num_heads=2,
                      intermediate_dim=16).save_to_preset(folder)
        with self.assertRaisesRegex(DataError, "holds a decoder \\(GPT2Backbone, causal LM\\)"):
            fine_tuning_model(types.SimpleNamespace(init_from=folder), None, None)

    def test_an_encoder_preset_is_refused_by_text_generation(self):
        folder = os.path.join(self.get_temp_dir(), "bert")
        tiny_backbone().save_to_preset(folder)
        with self.assertRaisesRegex(DataError, "holds an encoder \\(BertBackbone, masked LM\\)"):
            fine_tuning_model(types.SimpleNamespace(init_from=folder), None, None, decoder=True)

    def test_frozen_layers_stay_bit_identical(self):
        backbone = tiny_backbone()
        freeze_layers(backbone, 1)
        model = BackboneClassifier(backbone, num_classes=2)
        frozen = [backbone.get_layer("token_embedding"), backbone.transformer_layers[0]]
        before = [[w.numpy().copy() for w in layer.weights] for layer in frozen]
        top = [w.numpy().copy() for w in backbone.transformer_layers[1].weights]
        model.compile(optimizer=adamw(1e-2, total_steps=5),
                      loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
        model.fit(batch(8)["token_ids"], tf.constant([0, 1] * 4), epochs=3, verbose=0)
        for layer, weights in zip(frozen, before):
            for variable, value in zip(layer.weights, weights):
                self.assertAllEqual(variable.numpy(), value)
        self.assertFalse(all(np.array_equal(v.numpy(), t) for v, t in
                             zip(backbone.transformer_layers[1].weights, top)))
        with self.assertRaisesRegex(DataError, "more than the backbone's 2 blocks"):
            freeze_layers(tiny_backbone(), 3)

    def test_layer_decay_scales_each_block_rate(self):
        backbone = tiny_backbone()
        factors = layer_decay_multipliers(backbone, 0.5)
        self.assertEqual(factors[backbone.token_embedding.embeddings.path], 0.125)
        self.assertEqual({factors[w.path] for w in backbone.transformer_layers[0].weights},
                         {0.25})
        self.assertEqual({factors[w.path] for w in backbone.transformer_layers[1].weights},
                         {0.5})
        # AdamW's first step is the rate times sign(gradient): scaled by the factor.
        near, far = keras.Variable([1.0], name="near"), keras.Variable([1.0], name="far")
        optimizer = adamw(0.1, total_steps=10, weight_decay=0.0, clipnorm=0,
                          learning_rate_multipliers={far.path: 0.5})
        optimizer.apply_gradients([(tf.constant([1.0]), near), (tf.constant([1.0]), far)])
        self.assertAllClose(1.0 - near.numpy(), 2 * (1.0 - far.numpy()))


if __name__ == "__main__":
    tf.test.main()
