r"""Pretraining: a BERT encoder by masked LM (and next-sentence prediction), or a
GPT-2 decoder by causal LM, on plain text.

    python -m tasks.pretrain                              # bundled text, offline
    python -m tasks.pretrain --data='corpus/*.txt.gz' --objective=mlm_nsp \
        --whole_word_masking --epochs=3
    python -m tasks.sentiment --init_from=saved_models/pretrain ...   # then fine-tune
    python -m tasks.pretrain --data='corpus/*.txt.gz' --objective=causal

Data: plain-text files (globs, comma-separated, `.gz`), the --text_field
column of `.csv`/`.tsv` tables, or `tfds:NAME`, read as a stream: the corpus
is never held in memory. Several files are read 256 lines of each in turn.
A WordPiece vocabulary is learned from the first --tokenizer_lines lines;
the text is packed into full sequences of --sequence_length tokens, shuffled
within a window of 10,000. The masked-LM export answers `serving_default`
(text with `[MASK]` -> likeliest words); the causal-LM export answers as the
text-generation task's does (`serving_default`: prompt -> greedy
continuation; `generate`; `score`). Both hold the backbone (keras-hub
`BertBackbone` or `GPT2Backbone`) and its tokenizer as a keras-hub preset in
`assets.extra/preset`, which --init_from of the other tasks (and keras-hub's
own `from_preset`) reads.
"""

import math

import tfllm  # noqa: F401  (imports TensorFlow quietly; must come first)

import keras
import tensorflow as tf

from tfllm import flags as tf_flags
from tfllm.data.curriculum import Curriculum
from tfllm.data.masked_lm import OBJECTIVES, held_out, load_text_stream
from tfllm.export.masked_lm import fill_mask_endpoints
from tfllm.export.text_generation import GenerationSettings, generation_endpoints
from tfllm.models.causal_lm import BackboneCausalLM
from tfllm.models.presets import PRESET_FOLDER, save_preset
from tfllm.models.pretraining import MaskedLMPretrainer, bert_backbone, gpt2_backbone
from tfllm.preprocessors import MaskedLMPreprocessor, StreamedLanguageModelPreprocessor
from tfllm.task import Stage, Task
from tfllm.training.callbacks import TrainingClock
from tfllm.training.loop import count_batches

DEMO_QUERIES = {"sample": ["the cat and the [MASK] with a horse", "red and [MASK] and blue",
                           "a hammer and a [MASK] of the saw"],
                "text": ["she opened the [MASK] and looked out.", "he was the [MASK] of the "
                         "king.", "it was a cold [MASK] in winter."]}


class Pretrain(Task):
    name = "pretrain"
    shared_flags = (("data", "eval_fraction", "text_field", "lowercase") + tf_flags.TOKENIZATION
                    + ("hidden_dim", "num_layers", "num_heads", "intermediate_dim", "dropout")
                    + tf_flags.LOOP + tf_flags.ADAMW + ("jit", "precision")
                    + tf_flags.CURRICULUM)
    own_flags = (
        tf_flags.enum_flag("objective", "mlm", OBJECTIVES,
                           "mlm (masked LM), mlm_nsp (masked LM and next-sentence "
                           "prediction on sentence pairs, half of them not consecutive), or "
                           "causal (next-token prediction with a GPT-2 decoder)."),
        tf_flags.bool_flag("whole_word_masking", False,
                           "Mask every piece of a selected word (else pieces one by one)."),
        tf_flags.float_flag("mask_rate", 0.15, "Share of tokens selected for prediction; of "
                            "those 80% become [MASK], 10% a random token, 10% stay.",
                            lower_bound=0.01, upper_bound=0.5),
        tf_flags.integer_flag("tokenizer_lines", 200_000,
                              "Lines of the corpus the WordPiece vocabulary is learned from.",
                              lower_bound=1),
    )
    defaults = {"epochs": 3, "batch_size": 32, "learning_rate": 5e-4, "eval_fraction": 0.01,
                "text_field": "text", "vocab_size": 8000, "sequence_length": 128}
    choices = {"tokenizer": ("wordpiece",)}

    @classmethod
    def check_flags(cls, flags):
        if flags.objective == "causal":
            stray = [f"--{name}" for name in ("whole_word_masking", "mask_rate")
                     if flags[name].present]
            if stray:
                return f"{', '.join(stray)} apply to masked LM, not --objective=causal"
        return None

    @property
    def causal(self):
        return self.flags.objective == "causal"

    @property
    def headline(self):
        return "next_token_accuracy" if self.causal else "masked_accuracy"

    def title(self):
        return f"{self.name}: {self.flags.objective} on {self.flags.data}"

    def load_data(self):
        f = self.flags
        return load_text_stream(f.data, f.text_field)

    def build_preprocessor(self, data):
        f = self.flags
        if self.causal:
            return StreamedLanguageModelPreprocessor.train(
                data.lines.take(f.tokenizer_lines), f.vocab_size, f.sequence_length,
                lowercase=f.lowercase)
        return MaskedLMPreprocessor.train(
            data.lines.take(f.tokenizer_lines), f.vocab_size, f.sequence_length,
            objective=f.objective, whole_word=f.whole_word_masking, mask_rate=f.mask_rate,
            lowercase=f.lowercase)

    def describe(self, data, preprocessor):
        bad = (f"; {data.bad_lines:,} lines held bytes that are not UTF-8 (replaced)"
               if data.bad_lines else "")
        return (f"{data.line_count:,} lines, WordPiece vocabulary of "
                f"{preprocessor.vocabulary_size:,}, sequences of {preprocessor.sequence_length} "
                f"tokens, 1 block in {self._every()} held out{bad}")

    def _every(self):
        return max(2, round(1 / self.flags.eval_fraction))

    def build_model(self, data, preprocessor):
        f = self.flags
        sizes = (preprocessor.vocabulary_size, f.sequence_length, f.hidden_dim, f.num_layers,
                 f.num_heads, f.intermediate_dim, f.dropout)
        if self.causal:
            return BackboneCausalLM(gpt2_backbone(*sizes))
        return MaskedLMPretrainer(bert_backbone(*sizes), next_sentence=f.objective == "mlm_nsp")

    def loss(self):
        if self.causal:
            return keras.losses.SparseCategoricalCrossentropy(from_logits=True)
        losses = {"mlm": keras.losses.SparseCategoricalCrossentropy(
            from_logits=True, reduction="mean_with_sample_weight")}
        if self.flags.objective == "mlm_nsp":
            losses["nsp"] = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
        return losses

    def compile_metrics(self):
        if self.causal:
            return {"metrics": [keras.metrics.SparseCategoricalAccuracy(
                name="next_token_accuracy")]}
        accuracy = {"mlm": [keras.metrics.SparseCategoricalAccuracy(name="masked_accuracy")]}
        if self.flags.objective == "mlm_nsp":
            accuracy["nsp"] = [keras.metrics.SparseCategoricalAccuracy(name="nsp_accuracy")]
        return {"weighted_metrics": accuracy}

    def validation_data(self, data, preprocessor):
        # The same masks every epoch, so epochs compare; cached after the first pass.
        blocks = held_out(preprocessor.blocks(data.lines), self._every(), keep=True)
        return preprocessor.batches(blocks, self.flags.batch_size, seed=self.flags.seed,
                                    fixed=True).cache()

    def stages(self, data, preprocessor):
        f = self.flags
        blocks = held_out(preprocessor.blocks(data.lines), self._every(), keep=False)
        curriculum = Curriculum.from_flags(f)
        train = preprocessor.batches(blocks, f.batch_size, seed=f.seed, curriculum=curriculum)
        steps, callbacks = None, [TrainingClock()]  # None: the runner counts the steps
        if curriculum:  # whose schedule needs the count before training
            steps = count_batches(train)
            curriculum.set_units_per_epoch(steps)
            callbacks.append(curriculum.callback)
        return [Stage("train", train, f.epochs, steps, f.learning_rate, f.warmup_fraction,
                      f.data, None, units_per_step=f.batch_size * f.sequence_length,
                      throughput_unit="tokens", callbacks=callbacks)]

    def evaluate(self, model, data, preprocessor, validation):
        scores = model.evaluate(validation, verbose=0, return_dict=True)
        if self.causal:
            return {"loss": scores["loss"], "perplexity": math.exp(min(scores["loss"], 50.0)),
                    "next_token_accuracy": scores["next_token_accuracy"]}
        metrics = {"loss": scores["loss"],
                   "masked_accuracy": scores.get("masked_accuracy",
                                                 scores.get("mlm_masked_accuracy"))}
        mlm_loss = scores.get("mlm_loss", scores["loss"])
        metrics["masked_perplexity"] = math.exp(min(mlm_loss, 50.0))
        if "nsp_nsp_accuracy" in scores:
            metrics["nsp_accuracy"] = scores["nsp_nsp_accuracy"]
        return metrics

    def format_metrics(self, metrics):
        if self.causal:
            return (f"held-out next-token accuracy {metrics['next_token_accuracy']:.4f}, "
                    f"loss {metrics['loss']:.4f} nats/token, perplexity "
                    f"{metrics['perplexity']:.2f}")
        nsp = (f", next-sentence accuracy {metrics['nsp_accuracy']:.4f}"
               if "nsp_accuracy" in metrics else "")
        return (f"held-out masked-token accuracy {metrics['masked_accuracy']:.4f}, masked "
                f"perplexity {metrics['masked_perplexity']:.2f}{nsp}")

    def endpoints(self, model, data, preprocessor):
        if self.causal:
            # The text-generation task's signatures; serving_default continues
            # a prompt greedily, so its answer is repeatable.
            settings = GenerationSettings(sampler="greedy",
                                          max_new_tokens=min(32, self.flags.sequence_length // 2))
            return generation_endpoints(model, preprocessor, settings)
        return fill_mask_endpoints(model, preprocessor)

    def assets(self, model, data, preprocessor):
        def write(folder):
            save_preset(model.backbone, preprocessor.tokenizer,
                        tf.io.gfile.join(folder, PRESET_FOLDER))
        return write

    def card(self, data):
        return {"data": {"train": self.flags.data, "lines": data.line_count,
                         "bad_utf8_lines": data.bad_lines,
                         "held_out": f"1 block in {self._every()}"}}

    def demo_inputs(self, data):
        queries = DEMO_QUERIES["sample" if self.flags.data == "sample" else "text"]
        if self.causal:
            return "serving_default", {"prompt": [q.split(" [MASK]")[0] for q in queries]}
        return "serving_default", {"text": queries}

    def show_answers(self, inputs, outputs):
        if self.causal:
            answers = [{"prompt": prompt, "text": text.decode("utf-8", "replace")}
                       for prompt, text in zip(inputs["prompt"], outputs["text"])]
            for answer in answers:
                print(f"  {answer['prompt']} -> {answer['text'][:60]}")
            return answers
        answers = []
        for text, words, filled in zip(inputs["text"], outputs["predictions"],
                                       outputs["filled"]):
            guesses = [[w.decode() for w in row if w] for row in words]
            answers.append({"text": text, "predictions": guesses, "filled": filled.decode()})
            shown = "; ".join(", ".join(row[:3]) for row in guesses if row)
            print(f"  {text[:50]:<50} -> {shown}")
        return answers

    def summary_rows(self, metrics, stages):
        if self.causal:
            return [("next-token accuracy", f"{metrics['next_token_accuracy']:.4f}"),
                    ("perplexity", f"{metrics['perplexity']:.2f}"),
                    ("speed", f"{stages[0].throughput:,.0f} tokens/s")]
        rows = [("masked accuracy", f"{metrics['masked_accuracy']:.4f}"),
                ("masked perplexity", f"{metrics['masked_perplexity']:.2f}")]
        if "nsp_accuracy" in metrics:
            rows.append(("next sentence", f"{metrics['nsp_accuracy']:.4f}"))
        rows.append(("speed", f"{stages[0].throughput:,.0f} tokens/s"))
        return rows


main = Pretrain.main

if __name__ == "__main__":
    main()
