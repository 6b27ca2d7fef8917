"""Span QA pieces: token offsets, windows, training labels, span search and the readers."""

import numpy as np
import tensorflow as tf

from tfllm.decoding.spans import SpanSearch
from tfllm.models.pretraining import esm_backbone
from tfllm.models.span_qa import BackboneReader, build_reader
from tfllm.preprocessors.span_qa import SpanQAPreprocessor

TEXTS = ["Zoë  went,  to Zürich (again)!", "naïve café-goers", "", "The year 1999."]


def preprocessor(**settings):
    texts = tf.data.Dataset.from_tensor_slices(TEXTS * 20)
    return SpanQAPreprocessor.train(texts, vocab_size=120, **{
        "sequence_length": 16, "doc_stride": 4, "max_query_length": 4, **settings})


def utf8(text):
    return text.encode("utf-8")


class SpanQAPreprocessorTest(tf.test.TestCase):

    def test_token_offsets_cover_the_words_of_the_original_text(self):
        p = preprocessor()
        ids, starts, ends = p.tokenize_with_offsets(tf.constant(TEXTS))
        for text, row_ids, row_starts, row_ends in zip(TEXTS, ids.to_list(), starts.to_list(),
                                                       ends.to_list()):
            raw = utf8(text)
            pieces = [raw[s:e].decode("utf-8") for s, e in zip(row_starts, row_ends)]
            # Whole words come back as they were written (case, accents, punctuation).
            self.assertEqual("".join(pieces), "".join(text.split()), text)
            vocabulary = p.tokenizer.get_vocabulary()
            tokens = [vocabulary[i].removeprefix("##") for i in row_ids]
            self.assertEqual("".join(tokens), "".join(text.split()).lower(), text)
        self.assertEqual(ids.to_list()[2], [])

    def test_a_word_vocabulary_gives_one_id_a_word_with_its_span(self):
        texts = tf.data.Dataset.from_tensor_slices(["the cat sat", "The cat ran!", "a dog"] * 3)
        p = SpanQAPreprocessor.train(texts, vocab_size=5 + 4, sequence_length=16,
                                     tokenizer="word", max_query_length=4)
        # Special tokens, then the four most frequent words (ties: first seen).
        self.assertEqual(p.tokenizer.get_vocabulary(),
                         ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "the", "cat", "sat",
                          "ran"])
        text = "The  cats ran."
        ids, starts, ends = p.tokenize_with_offsets(tf.constant([text]))
        vocabulary = p.tokenizer.get_vocabulary()
        self.assertEqual([vocabulary[i] for i in ids.to_list()[0]],
                         ["the", "[UNK]", "ran", "[UNK]"])  # unknown words stay whole
        self.assertEqual([text[s:e] for s, e in zip(starts.to_list()[0], ends.to_list()[0])],
                         ["The", "cats", "ran", "."])

    def test_windows_overlap_and_cover_the_context(self):
        p = preprocessor()
        context = " ".join(f"w{i % 7}" for i in range(30))
        w = p.windows(tf.constant(["w1 ?"]), tf.constant([context]))
        tokens = p.tokenize_with_offsets(tf.constant([context]))[0].to_list()[0]
        room = 16 - 3 - len(p.tokenize_with_offsets(tf.constant(["w1 ?"]))[0].to_list()[0])
        self.assertEqual(w["first"].numpy().tolist(),
                         list(range(0, len(tokens) - room + 4, 4))[:len(w["first"])])
        covered = set()
        for row, first, length, offset in zip(w["token_ids"].numpy(), w["first"].numpy(),
                                              w["length"].numpy(), w["offset"].numpy()):
            self.assertEqual(row[offset:offset + length].tolist(),
                             tokens[first:first + length])
            self.assertEqual(row[offset + length], p.tokenizer.token_to_id("[SEP]"))
            covered.update(range(first, first + length))
        self.assertEqual(covered, set(range(len(tokens))))
        self.assertAllEqual(w["example"], [0] * len(w["first"]))

    def test_every_short_answer_is_whole_in_some_window(self):
        p = preprocessor()
        rng = np.random.default_rng(0)
        words = ["alpha", "beta", "gamma", "Zürich", "1999", ",", "naïve"]
        contexts, questions, starts, ends = [], [], [], []
        for _ in range(40):
            context = " ".join(rng.choice(words, size=rng.integers(1, 40)))
            tokens = context.split(" ")
            first = int(rng.integers(0, len(tokens)))
            last = min(len(tokens) - 1, first + int(rng.integers(0, 4)))  # <= overlap
            prefix = " ".join(tokens[:first]) + (" " if first else "")
            answer = " ".join(tokens[first:last + 1])
            contexts.append(context)
            questions.append("which " + tokens[first] + "?")
            starts.append(len(utf8(prefix)))
            ends.append(len(utf8(prefix)) + len(utf8(answer)))
        inputs, labels = p.labelled_windows(tf.constant(questions), tf.constant(contexts),
                                            tf.constant(starts, tf.int64),
                                            tf.constant(ends, tf.int64))
        w = p.windows(tf.constant(questions), tf.constant(contexts))
        found = set()
        for index, example in enumerate(w["example"].numpy()):
            start, end = labels["start"][index].numpy(), labels["end"][index].numpy()
            if start == 0:
                self.assertEqual(end, 0)
                continue
            shift = w["first"][index].numpy() - w["offset"][index].numpy()
            token_starts = w["token_starts"][example].numpy()
            token_ends = w["token_ends"][example].numpy()
            self.assertEqual(token_starts[start + shift], starts[example])
            self.assertEqual(token_ends[end + shift], ends[example])
            found.add(example)
        self.assertEqual(found, set(range(40)))

    def test_datasets_cut_batches_to_their_longest_window(self):
        p = preprocessor(sequence_length=96)
        batches = list(p.dataset(["went", "to"], ["the year", "zoë went to"], [0, 4], [3, 8],
                                 batch_size=2))
        self.assertEqual(batches[0][0]["token_ids"].shape, (2, 32))
        # [CLS] went [SEP] the year [SEP]: "the" at 3; [CLS] to [SEP] zoë went to: "went" at 4.
        self.assertAllEqual(batches[0][1]["start"], [3, 4])
        self.assertAllEqual(batches[0][1]["end"], [3, 4])


def logits_of(start_rows, end_rows):
    return {"start": tf.constant(start_rows, tf.float32),
            "end": tf.constant(end_rows, tf.float32)}


class SpanSearchTest(tf.test.TestCase):

    def setUp(self):
        super().setUp()
        self.p = preprocessor(sequence_length=8, doc_stride=2)

    def test_the_best_span_respects_order_and_length_across_windows(self):
        contexts = tf.constant(["Zoë went to Zürich again"])  # words of the vocabulary
        w = self.p.windows(tf.constant(["went"]), contexts)
        windows, size = len(w["first"]), w["token_ids"].shape[1]
        start, end = np.zeros((windows, size)), np.zeros((windows, size))
        last = windows - 1
        offset = int(w["offset"][last])
        # Two windows (zoë went to zürich | to zürich again). In the last:
        # the start logit peaks at "Zürich", the end logit before it (no
        # span ends before it starts) and at "again" a token on.
        self.assertEqual(windows, 2)
        start[last, offset + int(w["length"][last]) - 2] = 5.0
        start[last, offset] = -20.0
        end[last, offset] = 9.0
        end[last, offset + int(w["length"][last]) - 1] = 4.0
        answers = SpanSearch(max_answer_length=2, n_best=3)(logits_of(start, end), w, contexts)
        self.assertEqual(answers["answer"].numpy().tolist(), ["Zürich again".encode()])
        self.assertEqual((int(answers["start"][0]), int(answers["end"][0])), (12, 24))
        self.assertEqual("Zoë went to Zürich again"[12:24], "Zürich again")
        self.assertEqual(answers["candidates"].shape, (1, 3))
        self.assertAllClose(tf.reduce_sum(answers["candidate_scores"]), 1.0, atol=0.05)
        shorter = SpanSearch(max_answer_length=1, n_best=3)(logits_of(start, end), w, contexts)
        self.assertEqual(shorter["answer"].numpy().tolist(), [b"Z\xc3\xbcrich"])

    def test_no_answer_wins_only_with_a_threshold(self):
        contexts = tf.constant(["a b", ""])
        w = self.p.windows(tf.constant(["q", "q"]), contexts)
        size = w["token_ids"].shape[1]
        start, end = np.zeros((2, size)), np.zeros((2, size))
        start[:, 0] = end[:, 0] = 3.0  # [CLS]: no answer
        always = SpanSearch(30, 5)(logits_of(start, end), w, contexts)
        self.assertEqual(always["answer"].numpy().tolist(), [b"a", b""])
        self.assertAllEqual(always["start"], [0, -1])
        self.assertEqual(float(always["score"][1]), 0.0)
        null = SpanSearch(30, 5, null_score_threshold=0.0)(logits_of(start, end), w, contexts)
        self.assertEqual(null["answer"].numpy().tolist(), [b"", b""])
        self.assertAllEqual(null["end"], [-1, -1])
        self.assertGreater(float(null["score"][0]), 0.5)
        lenient = SpanSearch(30, 5, null_score_threshold=10.0)(logits_of(start, end), w, contexts)
        self.assertEqual(lenient["answer"].numpy().tolist()[0], b"a")


class SpanReaderTest(tf.test.TestCase):

    def test_readers_give_logits_only_where_an_answer_can_be(self):
        p = preprocessor()
        inputs, _ = p.labelled_windows(tf.constant(["went", ""]), tf.constant(["Zoë went", ""]),
                                       tf.constant([-1, -1], tf.int64),
                                       tf.constant([-1, -1], tf.int64))
        sizes = dict(hidden_dim=8, num_layers=1, num_heads=2, intermediate_dim=16)
        readers = {name: build_reader(name, p.vocabulary_size, 16, **sizes)
                   for name in ("transformer", "lstm")}
        # A pretrained encoder without segment embeddings (--backbone=esm).
        readers["esm"] = BackboneReader(esm_backbone(p.vocabulary_size, 16, **sizes))
        for name, reader in readers.items():
            logits = reader(inputs)
            self.assertEqual(logits["start"].shape, (2, 16))
            possible = (logits["start"].numpy() > -1e8).tolist()
            # [CLS] went [SEP] zoë went [SEP]: [CLS] and the two context tokens.
            self.assertEqual([i for i, ok in enumerate(possible[0]) if ok], [0, 3, 4], name)
            self.assertEqual([i for i, ok in enumerate(possible[1]) if ok], [0], name)


if __name__ == "__main__":
    tf.test.main()
