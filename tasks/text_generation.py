r"""Text generation: train a decoder-only Transformer LM, sample, measure, export.

    python -m tasks.text_generation                       # bundled demo text, offline
    python -m tasks.text_generation --data=../shared/data/tinyshakespeare/train.txt \
        --train_steps=2000 --batch_size=12
    python -m tasks.text_generation --data=tfds:tiny_shakespeare \
        --eval_data=tfds:tiny_shakespeare:validation
    python -m tasks.text_generation --data='books/*.txt' --tokenizer=sentencepiece \
        --vocab_size=4000 --sequence_length=128
    python -m tasks.text_generation --data=notes.txt \
        --init_from=saved_models/pretrain_causal --learning_rate=1e-4

The text is packed into windows of --sequence_length tokens with next-token
targets (no padding). Validation loss is reported in nats per token over every
token of the held-out text, with its perplexity. The export
(saved_models/text_generation/<version>/) answers `serving_default` (prompt ->
text, settings fixed here), `generate` (settings per request) and `score`
(text -> summed NLL and token count).

--init_from continues a GPT-2 decoder preset (what `python -m tasks.pretrain
--objective=causal` writes, or keras-hub's) on the text, with its tokenizer
and the pretraining's cleaning: lowercased by default, as tfllm pretrains;
pass --nolowercase for a cased preset (keras-hub's GPT-2 byte-pair presets).
"""

import math

import tfllm  # noqa: F401  (imports TensorFlow quietly; must come first)

from tfllm import flags as tf_flags
from tfllm.data.corpus import load_corpus_data
from tfllm.data.errors import DataError
from tfllm.decoding.samplers import SAMPLERS
from tfllm.export.text_generation import GenerationSettings, generation_endpoints
from tfllm.metrics.language_model import evaluate_language_model
from tfllm.models.causal_lm import BackboneCausalLM, CausalLM
from tfllm.models.presets import check_transfer_flags, fine_tuning_model, load_tokenizer
from tfllm.preprocessors import LanguageModelPreprocessor, StreamedLanguageModelPreprocessor
from tfllm.task import Stage, Task


class TextGeneration(Task):
    name = "text_generation"
    shared_flags = (tf_flags.DATA + ("text_field", "lowercase") + tf_flags.TOKENIZATION
                    + tf_flags.MODEL + tf_flags.TRANSFER + tf_flags.TRAINING)
    own_flags = (
        tf_flags.integer_flag("train_steps", 0,
                              "Training steps in all (split evenly over --epochs). 0: --epochs "
                              "full passes over the packed training text.", lower_bound=0),
        tf_flags.bool_flag("tie_embeddings", True,
                           "Use the transposed token embedding as the output layer."),
        tf_flags.enum_flag("sampler", "top_k", SAMPLERS,
                           "Decoding for the samples and the export's serving_default."),
        tf_flags.integer_flag("max_new_tokens", None,
                              "Tokens serving_default generates per prompt, below "
                              "--sequence_length (the export does not generate past the "
                              "context window). Default: half of --sequence_length, so a "
                              "prompt keeps at least its last half-window of tokens.",
                              lower_bound=0),
        tf_flags.float_flag("temperature", 0.8, "Softmax temperature of sampling (0: greedy).",
                            lower_bound=0.0),
        tf_flags.integer_flag("top_k", 10, "k of --sampler=top_k.", lower_bound=1),
        tf_flags.float_flag("top_p", 0.9, "p of --sampler=top_p.", lower_bound=0.0,
                            upper_bound=1.0),
        tf_flags.integer_flag("num_beams", 4, "Beams of --sampler=beam.", lower_bound=1),
        tf_flags.multi_string_flag("sample_prompt", None,
                                   "Prompt for the samples printed at the end (repeatable). "
                                   "Default: pieces of the evaluation text."),
    )
    defaults = {"tokenizer": "char", "sequence_length": 64, "hidden_dim": 128, "num_layers": 4,
                "num_heads": 4, "intermediate_dim": 512, "dropout": 0.0, "batch_size": 32,
                "epochs": 3, "weight_decay": 0.1, "warmup_fraction": 0.05, "patience": 0,
                # Small models spend much of a step in per-call overhead; fusing 25
                # steps per call measured 1.1-1.25x faster with XLA (see benchmarks).
                "steps_per_execution": 25}
    choices = {"tokenizer": ("char", "byte", "wordpiece", "sentencepiece")}
    transfer = None  # the run card's record of --init_from's preset

    @classmethod
    def check_flags(cls, flags):
        if flags.max_new_tokens is not None and flags.max_new_tokens >= flags.sequence_length:
            return (f"--max_new_tokens={flags.max_new_tokens} must be below "
                    f"--sequence_length={flags.sequence_length}: the export does not generate "
                    "past the context window")
        if flags.hidden_dim % flags.num_heads:
            return f"--hidden_dim={flags.hidden_dim} must be a multiple of --num_heads"
        if flags["lowercase"].present and not flags.init_from:
            return ("--lowercase applies to the cleaning of an --init_from preset's text; "
                    "trained from scratch, the model reads the text as written")
        return check_transfer_flags(flags, scratch_only=("tokenizer", "vocab_size",
                                                         "tie_embeddings"))

    def title(self):
        return f"{self.name}: causal LM on {self.flags.data}"

    def load_data(self):
        f = self.flags
        return load_corpus_data(f.data, f.eval_data, f.eval_fraction, f.text_field,
                                f.skip_bad_rows)

    def build_preprocessor(self, data):
        f = self.flags
        if f.init_from:  # the preset's tokenizer, after the pretraining's cleaning
            preprocessor = StreamedLanguageModelPreprocessor(load_tokenizer(f.init_from),
                                                             f.sequence_length, f.lowercase)
        else:
            preprocessor = LanguageModelPreprocessor.train(data.train_text, f.tokenizer,
                                                           f.vocab_size, f.sequence_length)
        # The token streams every later hook reads, tokenized once here.
        data.train_ids = preprocessor.token_stream(data.train_text)
        data.eval_ids = preprocessor.token_stream(data.eval_text)
        if len(data.train_ids) < (f.batch_size + 1) * f.sequence_length + 1:
            raise DataError(f.data, f"{len(data.train_ids)} training tokens are too few for one "
                            f"batch of {f.batch_size} windows of {f.sequence_length}; lower "
                            "--batch_size or --sequence_length")
        if len(data.eval_ids) < 2:
            raise DataError(f.eval_data or f.data, "the evaluation text has under 2 tokens")
        return preprocessor

    def describe(self, data, preprocessor):
        windows = (len(data.train_ids) - 1) // self.flags.sequence_length
        vocabulary = (f"the vocabulary of {self.flags.init_from}" if self.flags.init_from
                      else "vocabulary")
        return (f"{len(data.train_ids):,} training and {len(data.eval_ids):,} evaluation "
                f"tokens, {vocabulary} {preprocessor.vocabulary_size:,}, {windows:,} windows of "
                f"{self.flags.sequence_length}")

    def build_model(self, data, preprocessor):
        f = self.flags
        if f.init_from:
            self.transfer, model = fine_tuning_model(f, preprocessor, BackboneCausalLM,
                                                     decoder=True)
            return model
        return CausalLM(preprocessor.vocabulary_size, f.sequence_length, f.hidden_dim,
                        f.num_layers, f.num_heads, f.intermediate_dim, f.dropout,
                        f.tie_embeddings, f.initializer)

    def validation_data(self, data, preprocessor):
        return preprocessor.evaluation_dataset(data.eval_ids, self.flags.batch_size)

    def stages(self, data, preprocessor):
        f = self.flags
        windows = (len(data.train_ids) - 1) // f.sequence_length
        if f.train_steps:
            epochs = max(min(f.epochs, f.train_steps), 1)
            steps_per_epoch = math.ceil(f.train_steps / epochs)
        else:
            epochs, steps_per_epoch = f.epochs, max(windows // f.batch_size, 1)
        train = preprocessor.training_dataset(data.train_ids, f.batch_size, seed=f.seed,
                                              steps=steps_per_epoch)
        return [Stage("train", train, epochs, steps_per_epoch, f.learning_rate,
                      f.warmup_fraction, f.data, windows,
                      units_per_step=f.batch_size * f.sequence_length, throughput_unit="tokens",
                      exact_steps=True)]

    def evaluate(self, model, data, preprocessor, validation):
        return evaluate_language_model(model, data.eval_ids, self.flags.sequence_length,
                                       batch_size=64, jit_compile=bool(model.jit_compile))

    def format_metrics(self, metrics):
        return (f"  loss {metrics['loss']:.4f} nats/token, perplexity "
                f"{metrics['perplexity']:.3f} over {metrics['tokens']:,} tokens")

    def settings(self):
        f = self.flags
        new_tokens = f.sequence_length // 2 if f.max_new_tokens is None else f.max_new_tokens
        return GenerationSettings(sampler=f.sampler, max_new_tokens=new_tokens,
                                  temperature=f.temperature, top_k=f.top_k, top_p=f.top_p,
                                  num_beams=f.num_beams, seed=f.seed)

    def endpoints(self, model, data, preprocessor):
        return generation_endpoints(model, preprocessor, self.settings())

    def card(self, data):
        f = self.flags
        return {"data": {"train": f.data,
                         "eval": f.eval_data or f"last {f.eval_fraction} of {f.data}",
                         "train_tokens": int(len(data.train_ids)),
                         "eval_tokens": int(len(data.eval_ids))},
                "generation": vars(self.settings()), "init_from": self.transfer}

    def demo_inputs(self, data):
        text = data.eval_text
        return "serving_default", {
            "prompt": self.flags.sample_prompt or [text[:40], "", text[len(text) // 2:][:20]]}

    def show_answers(self, inputs, outputs):
        samples = []
        for prompt, text in zip(inputs["prompt"], outputs["text"]):
            samples.append({"prompt": prompt, "text": text.decode("utf-8", "replace")})
            print(f"--- prompt {prompt!r}\n{prompt}{samples[-1]['text']}")
        return samples

    def summary_rows(self, metrics, stages):
        settings = self.settings()
        kept = self.flags.sequence_length - settings.max_new_tokens
        return [("validation loss", f"{metrics['loss']:.4f} nats/token"),
                ("perplexity", f"{metrics['perplexity']:.3f}"),
                ("throughput", f"{stages[0].throughput:,.0f} tokens/s"),
                ("serving_default", f"{settings.sampler}, {settings.max_new_tokens} new tokens "
                                    f"after at most the prompt's last {kept}")]


main = TextGeneration.main

if __name__ == "__main__":
    main()
