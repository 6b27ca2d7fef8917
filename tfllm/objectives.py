"""The pretraining objectives: what differs between masked LM and causal LM.

`tasks.pretrain` holds what every objective shares (the streamed corpus,
held-out blocks, the training stage, the keras-hub preset beside the export);
an objective supplies the rest: its preprocessor, model, loss and metrics,
how its scores read, and its serving signatures. Each is one class, picked
by `--objective` from `OBJECTIVES`.

Example:

>>> objective = OBJECTIVES[flags.objective](flags)
>>> preprocessor = objective.preprocessor(lines)
>>> model = objective.model(preprocessor)
>>> model.compile(loss=objective.loss(), **objective.compile_metrics())
"""

import math

import keras

from tfllm.export.masked_lm import fill_mask_endpoints
from tfllm.export.text_generation import GenerationSettings, generation_endpoints
from tfllm.models.causal_lm import BackboneCausalLM
from tfllm.models.pretraining import ENCODERS, MaskedLMPretrainer, gpt2_backbone
from tfllm.preprocessors import MaskedLMPreprocessor, StreamedLanguageModelPreprocessor


def _sizes(flags, preprocessor):
    return (preprocessor.vocabulary_size, flags.sequence_length, flags.hidden_dim,
            flags.num_layers, flags.num_heads, flags.intermediate_dim, flags.dropout)


def _perplexity(loss):
    return math.exp(min(loss, 50.0))  # a diverged run reads as huge, not as an overflow


class MaskedLanguageModeling:
    """BERT's objective on an encoder (`--backbone`: keras-hub's `BertBackbone`
    or pre-LN `ESMBackbone`): predict the masked tokens (`--objective=mlm`),
    and with `mlm_nsp` also whether the second sentence of a pair followed
    the first.

    Example:

    >>> objective = MaskedLanguageModeling(flags)    # flags.objective == "mlm"
    >>> objective.format_metrics({"masked_accuracy": 0.4, "masked_perplexity": 30.0})
    'held-out masked-token accuracy 0.4000, masked perplexity 30.00'
    """

    headline = "masked_accuracy"
    own_flags = ("whole_word_masking", "mask_rate", "backbone")

    def __init__(self, flags):
        self.flags = flags
        self.next_sentence = flags.objective == "mlm_nsp"

    def preprocessor(self, lines):
        f = self.flags
        return MaskedLMPreprocessor.train(
            lines, f.vocab_size, f.sequence_length, objective=f.objective,
            whole_word=f.whole_word_masking, mask_rate=f.mask_rate, lowercase=f.lowercase)

    def model(self, preprocessor):
        return MaskedLMPretrainer(ENCODERS[self.flags.backbone](*_sizes(self.flags, preprocessor)),
                                  next_sentence=self.next_sentence)

    def loss(self):
        losses = {"mlm": keras.losses.SparseCategoricalCrossentropy(
            from_logits=True, reduction="mean_with_sample_weight")}
        if self.next_sentence:
            losses["nsp"] = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
        return losses

    def compile_metrics(self):
        accuracy = {"mlm": [keras.metrics.SparseCategoricalAccuracy(name="masked_accuracy")]}
        if self.next_sentence:
            accuracy["nsp"] = [keras.metrics.SparseCategoricalAccuracy(name="nsp_accuracy")]
        return {"weighted_metrics": accuracy}

    def metrics(self, scores):
        """The run's metrics from `model.evaluate(..., return_dict=True)`;
        with one output Keras names the scores without the output's prefix."""
        metrics = {"loss": scores["loss"],
                   "masked_accuracy": scores.get("masked_accuracy",
                                                 scores.get("mlm_masked_accuracy")),
                   "masked_perplexity": _perplexity(scores.get("mlm_loss", scores["loss"]))}
        if self.next_sentence:
            metrics["nsp_accuracy"] = scores["nsp_nsp_accuracy"]
        return metrics

    def format_metrics(self, metrics):
        nsp = (f", next-sentence accuracy {metrics['nsp_accuracy']:.4f}"
               if "nsp_accuracy" in metrics else "")
        return (f"held-out masked-token accuracy {metrics['masked_accuracy']:.4f}, masked "
                f"perplexity {metrics['masked_perplexity']:.2f}{nsp}")

    def summary_rows(self, metrics):
        rows = [("masked accuracy", f"{metrics['masked_accuracy']:.4f}"),
                ("masked perplexity", f"{metrics['masked_perplexity']:.2f}")]
        if "nsp_accuracy" in metrics:
            rows.append(("next sentence", f"{metrics['nsp_accuracy']:.4f}"))
        return rows

    def endpoints(self, model, preprocessor):
        return fill_mask_endpoints(model, preprocessor)

    def demo_inputs(self, queries):
        """`queries` are texts with `[MASK]` in them."""
        return "serving_default", {"text": queries}

    def show_answers(self, inputs, outputs):
        answers = []
        for text, words, filled in zip(inputs["text"], outputs["predictions"],
                                       outputs["filled"]):
            guesses = [[w.decode() for w in row if w] for row in words]
            answers.append({"text": text, "predictions": guesses, "filled": filled.decode()})
            shown = "; ".join(", ".join(row[:3]) for row in guesses if row)
            print(f"  {text[:50]:<50} -> {shown}")
        return answers


class CausalLanguageModeling:
    """Next-token prediction on keras-hub's `GPT2Backbone`
    (`--objective=causal`); the export answers as the text-generation
    task's does.

    Example:

    >>> objective = CausalLanguageModeling(flags)
    >>> objective.metrics({"loss": 2.0, "next_token_accuracy": 0.5})["perplexity"]
    7.38905609893065
    """

    headline = "next_token_accuracy"
    own_flags = ()

    def __init__(self, flags):
        self.flags = flags

    def preprocessor(self, lines):
        f = self.flags
        return StreamedLanguageModelPreprocessor.train(
            lines, f.vocab_size, f.sequence_length, lowercase=f.lowercase)

    def model(self, preprocessor):
        return BackboneCausalLM(gpt2_backbone(*_sizes(self.flags, preprocessor)))

    def loss(self):
        return keras.losses.SparseCategoricalCrossentropy(from_logits=True)

    def compile_metrics(self):
        return {"metrics": [keras.metrics.SparseCategoricalAccuracy(name="next_token_accuracy")]}

    def metrics(self, scores):
        return {"loss": scores["loss"], "perplexity": _perplexity(scores["loss"]),
                "next_token_accuracy": scores["next_token_accuracy"]}

    def format_metrics(self, metrics):
        return (f"held-out next-token accuracy {metrics['next_token_accuracy']:.4f}, "
                f"loss {metrics['loss']:.4f} nats/token, perplexity "
                f"{metrics['perplexity']:.2f}")

    def summary_rows(self, metrics):
        return [("next-token accuracy", f"{metrics['next_token_accuracy']:.4f}"),
                ("perplexity", f"{metrics['perplexity']:.2f}")]

    def endpoints(self, model, preprocessor):
        # serving_default continues a prompt greedily, so its answer is repeatable.
        settings = GenerationSettings(sampler="greedy",
                                      max_new_tokens=min(32, self.flags.sequence_length // 2))
        return generation_endpoints(model, preprocessor, settings)

    def demo_inputs(self, queries):
        """`queries` are texts with `[MASK]` in them; the text before it is the prompt."""
        return "serving_default", {"prompt": [q.split(" [MASK]")[0] for q in queries]}

    def show_answers(self, inputs, outputs):
        answers = [{"prompt": prompt, "text": text.decode("utf-8", "replace")}
                   for prompt, text in zip(inputs["prompt"], outputs["text"])]
        for answer in answers:
            print(f"  {answer['prompt']} -> {answer['text'][:60]}")
        return answers


OBJECTIVES = {"mlm": MaskedLanguageModeling, "mlm_nsp": MaskedLanguageModeling,
              "causal": CausalLanguageModeling}
