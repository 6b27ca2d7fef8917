"""SQuAD exact match and F1, worked by hand, as the official scripts score them."""

import tensorflow as tf

from tfllm.metrics.squad import (example_scores, normalize_answer, squad_scores, token_f1)


class SquadMetricsTest(tf.test.TestCase):

    def test_normalisation(self):
        self.assertEqual(normalize_answer("  The  Eiffel-Tower, in PARIS! "),
                         "eiffeltower in paris")
        self.assertEqual(normalize_answer("an apple a day"), "apple day")
        self.assertEqual(normalize_answer("theory of Anthem"), "theory of anthem")  # words only
        self.assertEqual(normalize_answer("Café «crème»"), "café «crème»")  # ASCII punctuation

    def test_f1_by_hand(self):
        # prediction "cat sat on mat" vs gold "the cat sat": common {cat, sat} = 2;
        # precision 2/4, recall 2/2, F1 = 2 * 0.5 * 1 / 1.5 = 2/3.
        self.assertAllClose(token_f1("cat sat on mat", "the cat sat"), 2 / 3)
        # Repeated tokens count as often as both sides have them: "a b b" vs "b b b c":
        # normalised "b b" vs "b b b c"; common 2; P = 1, R = 1/2, F1 = 2/3.
        self.assertAllClose(token_f1("a b b", "b b b c"), 2 / 3)
        self.assertEqual(token_f1("dog", "cat"), 0.0)

    def test_best_over_several_gold_answers_and_an_empty_prediction(self):
        golds = ["Denver Broncos", "the Broncos", "Broncos"]
        self.assertEqual(example_scores("Broncos", golds), (1.0, 1.0))
        em, f1 = example_scores("Denver", golds)  # "denver" vs "denver broncos": P 1, R 1/2
        self.assertEqual(em, 0.0)
        self.assertAllClose(f1, 2 / 3)
        self.assertEqual(example_scores("", golds), (0.0, 0.0))

    def test_scores_of_a_set_in_percent(self):
        golds = {"q1": ["Denver Broncos"], "q2": ["1990", "in 1990"], "q3": ["Santa Clara"]}
        predictions = {"q1": "the Denver Broncos", "q2": "1991", "q3": "Santa Clara, California"}
        scores = squad_scores(predictions, golds)
        # q1: EM 1, F1 1; q2: 0, 0; q3: EM 0, F1 = 2 * 1 * (2/3) / (5/3) = 0.8.
        self.assertAllClose(scores["exact_match"], 100 / 3)
        self.assertAllClose(scores["f1"], 100 * 1.8 / 3)
        self.assertEqual(scores["examples"], 3)
        self.assertNotIn("has_answer_f1", scores)
        # A question left unanswered scores as the empty prediction.
        self.assertAllClose(squad_scores({}, golds)["f1"], 0.0)

    def test_unanswerable_questions_split_has_and_no_answer(self):
        golds = {"a": ["Paris"], "b": [], "c": [""], "d": ["Rome"]}
        predictions = {"a": "Paris", "b": "", "c": "Lyon", "d": ""}
        scores = squad_scores(predictions, golds)
        # a: 1; b: empty for no answer: 1; c: an answer where none exists: 0; d: 0.
        self.assertAllClose(scores["exact_match"], 50.0)
        self.assertAllClose(scores["has_answer_exact_match"], 50.0)
        self.assertAllClose(scores["no_answer_exact_match"], 50.0)
        self.assertEqual((scores["has_answer_examples"], scores["no_answer_examples"]), (2, 2))


if __name__ == "__main__":
    tf.test.main()
