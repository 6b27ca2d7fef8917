"""The pretraining objectives (tfllm/objectives.py): what each reads from
Keras' scores, how it compiles, and which flags are its own."""

import math
import os
import tempfile

import tfllm  # noqa: F401
import keras
import tensorflow as tf

from tasks import pretrain
from tfllm import cli
from tfllm.objectives import OBJECTIVES, CausalLanguageModeling, MaskedLanguageModeling


def objective(name, *flags):
    parsed = cli.parse(pretrain.Pretrain, ["pretrain", f"--objective={name}", *flags])
    return OBJECTIVES[name](parsed)


class ObjectivesTest(tf.test.TestCase):

    def setUp(self):
        super().setUp()
        # Parsing records the flags in --model_dir, by default a relative path.
        cwd = os.getcwd()
        os.chdir(tempfile.mkdtemp(dir=self.get_temp_dir()))
        self.addCleanup(os.chdir, cwd)

    def test_each_objective_name_picks_its_class(self):
        self.assertEqual({name: cls.__name__ for name, cls in OBJECTIVES.items()},
                         {"mlm": "MaskedLanguageModeling", "mlm_nsp": "MaskedLanguageModeling",
                          "causal": "CausalLanguageModeling"})
        self.assertFalse(objective("mlm").next_sentence)
        self.assertTrue(objective("mlm_nsp").next_sentence)

    def test_masked_lm_reads_single_and_two_output_scores(self):
        # One output: Keras names the metric without the output's prefix.
        single = objective("mlm").metrics({"loss": 2.0, "masked_accuracy": 0.4})
        self.assertEqual(single["masked_accuracy"], 0.4)
        self.assertAllClose(single["masked_perplexity"], math.exp(2.0))
        self.assertNotIn("nsp_accuracy", single)
        pair = objective("mlm_nsp").metrics({"loss": 3.0, "mlm_loss": 1.0,
                                             "mlm_masked_accuracy": 0.5,
                                             "nsp_nsp_accuracy": 0.75})
        self.assertEqual((pair["masked_accuracy"], pair["nsp_accuracy"]), (0.5, 0.75))
        self.assertAllClose(pair["masked_perplexity"], math.e)  # from the MLM loss alone
        self.assertIn("next-sentence accuracy 0.7500", objective("mlm_nsp").format_metrics(pair))
        self.assertEqual([row[0] for row in objective("mlm_nsp").summary_rows(pair)],
                         ["masked accuracy", "masked perplexity", "next sentence"])

    def test_a_diverged_loss_reads_as_a_huge_perplexity_not_an_overflow(self):
        metrics = objective("causal").metrics({"loss": 1e6, "next_token_accuracy": 0.0})
        self.assertAllClose(metrics["perplexity"], math.exp(50.0))

    def test_losses_and_metrics_follow_the_outputs(self):
        self.assertEqual(sorted(objective("mlm").loss()), ["mlm"])
        self.assertEqual(sorted(objective("mlm_nsp").loss()), ["mlm", "nsp"])
        self.assertEqual(sorted(objective("mlm_nsp").compile_metrics()["weighted_metrics"]),
                         ["mlm", "nsp"])
        causal = objective("causal")
        self.assertIsInstance(causal.loss(), keras.losses.SparseCategoricalCrossentropy)
        self.assertEqual([m.name for m in causal.compile_metrics()["metrics"]],
                         ["next_token_accuracy"])

    def test_demo_queries_become_each_objectives_inputs(self):
        queries = ["the cat sat on the [MASK] today"]
        self.assertEqual(objective("mlm").demo_inputs(queries),
                         ("serving_default", {"text": queries}))
        self.assertEqual(objective("causal").demo_inputs(queries),
                         ("serving_default", {"prompt": ["the cat sat on the"]}))

    def test_only_masked_lm_owns_the_masking_and_encoder_flags(self):
        self.assertEqual(MaskedLanguageModeling.own_flags,
                         ("whole_word_masking", "mask_rate", "backbone"))
        self.assertEqual(CausalLanguageModeling.own_flags, ())
        with self.assertRaisesRegex(SystemExit, "--whole_word_masking do not apply"):
            objective("causal", "--whole_word_masking")
        with self.assertRaisesRegex(SystemExit, "--backbone do not apply"):
            objective("causal", "--backbone=esm")


if __name__ == "__main__":
    tf.test.main()
