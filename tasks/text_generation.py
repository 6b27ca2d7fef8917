"""Text generation: train a decoder-only Transformer LM, sample, measure, export.

    python -m tasks.text_generation                       # bundled demo text, offline
    python -m tasks.text_generation --data=../shared/data/tinyshakespeare/train.txt \
        --train_steps=2000 --batch_size=12
    python -m tasks.text_generation --data=tfds:tiny_shakespeare \
        --eval_data=tfds:tiny_shakespeare:validation
    python -m tasks.text_generation --data='books/*.txt' --tokenizer=sentencepiece \
        --vocab_size=4000 --sequence_length=128

The text is packed into windows of --sequence_length tokens with next-token
targets (no padding). Validation loss is reported in nats per token over every
token of the held-out text, with its perplexity. The export
(saved_models/text_generation/<version>/) answers `serving_default` (prompt ->
text, settings fixed here), `generate` (settings per request) and `score`
(text -> summed NLL and token count). Run with --helpfull for every flag.
"""

import math
import os

import tfllm  # noqa: F401  (imports TensorFlow quietly; must come first)

import keras
import tensorflow as tf
from absl import flags

from tfllm import cli, report
from tfllm.data import packing
from tfllm.data.errors import DataError
from tfllm.data.sources import load_corpus
from tfllm.data.tokenizers import build_tokenizer, save_tokenizer, vocabulary_size
from tfllm.decoding.samplers import SAMPLERS
from tfllm.export.run_card import flag_values, write_run_card
from tfllm.export.text_generation import GenerationSettings, write_text_generation
from tfllm.export.versioned import export_on_chief
from tfllm.metrics.language_model import TrainingThroughput, evaluate_language_model
from tfllm.models.causal_lm import CausalLM
from tfllm.runtime import set_seed
from tfllm.training.loop import fit
from tfllm.training.optimizers import adamw
from tfllm.training.strategy import (get_strategy, is_chief, resolve_jit,
                                     resolve_steps_per_execution, worker_dir)

flags.DEFINE_integer("train_steps", 0,
                     "Training steps in all (split evenly over --epochs). 0: --epochs full "
                     "passes over the packed training text.")
flags.DEFINE_bool("tie_embeddings", True,
                  "Use the transposed token embedding as the output layer.")
flags.DEFINE_enum("sampler", "top_k", list(SAMPLERS),
                  "Decoding for the samples and the export's serving_default.")
flags.DEFINE_integer("max_new_tokens", 200, "Tokens generated per prompt.")
flags.DEFINE_float("temperature", 0.8, "Softmax temperature of sampling.")
flags.DEFINE_integer("top_k", 10, "k of --sampler=top_k.")
flags.DEFINE_float("top_p", 0.9, "p of --sampler=top_p.")
flags.DEFINE_integer("num_beams", 4, "Beams of --sampler=beam.")
flags.DEFINE_multi_string("sample_prompt", None,
                          "Prompt for the samples printed at the end (repeatable). "
                          "Default: the start of the evaluation text.")

TASK = "text_generation"
DEFAULTS = {"tokenizer": "char", "sequence_length": 64, "hidden_dim": 128, "num_layers": 4,
            "num_heads": 4, "intermediate_dim": 512, "dropout": 0.0, "batch_size": 32,
            "epochs": 3, "weight_decay": 0.1, "warmup_fraction": 0.05, "patience": 0,
            # Small models spend much of a step in per-call overhead; fusing 25
            # steps per call measured 1.1-1.25x faster with XLA (see benchmarks).
            "steps_per_execution": 25}


def split_text(train_docs, eval_docs, eval_fraction):
    """(train text, eval text). Without eval documents, the last
    `eval_fraction` of the characters of the training text is held out."""
    train = "\n".join(text for _, text in train_docs)
    if eval_docs is not None:
        return train, "\n".join(text for _, text in eval_docs)
    if not 0 < eval_fraction < 1:
        raise DataError("--eval_fraction", "must be between 0 and 1 without --eval_data")
    cut = int(len(train) * (1 - eval_fraction))
    return train[:cut], train[cut:]


def char_vocabulary_size(text, limit):
    """Code points seen in training, rounded up to a multiple of 64, at most `limit`.

    Tiny Shakespeare needs 128 ids instead of a 8,000-way softmax; rarer code
    points seen later are clamped to the last id by the tokenizer.
    """
    top = max(map(ord, text), default=127) + 1
    return int(min(limit, 64 * math.ceil(top / 64)))


def make_tokenizer(kind, text, vocab_size):
    if kind == "char":
        return build_tokenizer("char", None, char_vocabulary_size(text, vocab_size))
    if kind == "byte":
        return build_tokenizer("byte")
    # Trainers want sentences, not one megabyte-long line.
    lines = [line for line in text.split("\n") if line.strip()]
    return build_tokenizer(kind, lines, vocab_size)


def generation_settings(FLAGS):
    return GenerationSettings(sampler=FLAGS.sampler, max_new_tokens=FLAGS.max_new_tokens,
                              temperature=FLAGS.temperature, top_k=FLAGS.top_k,
                              top_p=FLAGS.top_p, num_beams=FLAGS.num_beams, seed=FLAGS.seed)


def train_and_export(FLAGS):
    strategy = get_strategy(FLAGS.strategy, FLAGS.tpu)
    set_seed(FLAGS.seed)
    chief = is_chief(strategy)
    model_dir = worker_dir(FLAGS.model_dir, strategy)
    length = FLAGS.sequence_length

    report.stage(f"Loading text from {FLAGS.data}")
    if FLAGS.data == "sample":
        report.stage("Using the bundled demo text (generated, not a benchmark); "
                     "pass --data to train on real text.")
    train_docs = load_corpus(FLAGS.data)
    eval_docs = load_corpus(FLAGS.eval_data) if FLAGS.eval_data else None
    train_text, eval_text = split_text(train_docs, eval_docs, FLAGS.eval_fraction)

    report.stage(f"Building a {FLAGS.tokenizer} tokenizer")
    tokenizer = make_tokenizer(FLAGS.tokenizer, train_text, FLAGS.vocab_size)
    save_tokenizer(tokenizer, os.path.join(model_dir, "tokenizer"))
    train_ids = packing.tokenize_stream(tokenizer, train_text)
    eval_ids = packing.tokenize_stream(tokenizer, eval_text)
    if len(train_ids) < length + 1 + FLAGS.batch_size * length:
        raise DataError(FLAGS.data, f"{len(train_ids)} training tokens are too few for one "
                        f"batch of {FLAGS.batch_size} windows of {length}; lower "
                        "--batch_size or --sequence_length")
    if len(eval_ids) < 2:
        raise DataError(FLAGS.eval_data or FLAGS.data, "the evaluation text has under 2 tokens")
    windows = (len(train_ids) - 1) // length
    report.stage(f"{len(train_ids):,} training and {len(eval_ids):,} evaluation tokens, "
                 f"vocabulary {vocabulary_size(tokenizer):,}, {windows:,} windows of {length}")

    steps_per_pass = max(windows // FLAGS.batch_size, 1)
    if FLAGS.train_steps:
        epochs = max(min(FLAGS.epochs, FLAGS.train_steps), 1)
        steps_per_epoch = math.ceil(FLAGS.train_steps / epochs)
    else:
        epochs, steps_per_epoch = FLAGS.epochs, steps_per_pass
    total_steps = epochs * steps_per_epoch
    train = packing.training_dataset(train_ids, length, FLAGS.batch_size, seed=FLAGS.seed,
                                     steps=steps_per_epoch)
    evaluation = packing.evaluation_dataset(eval_ids, length, FLAGS.batch_size)

    jit = resolve_jit(FLAGS.jit, strategy, fixed_shapes=True)  # packed windows: one shape
    steps_per_execution = resolve_steps_per_execution(FLAGS.steps_per_execution, strategy,
                                                      steps_per_epoch)
    with strategy.scope():
        model = CausalLM(vocabulary_size(tokenizer), length, FLAGS.hidden_dim,
                         FLAGS.num_layers, FLAGS.num_heads, FLAGS.intermediate_dim,
                         FLAGS.dropout, FLAGS.tie_embeddings, FLAGS.initializer)
        model.compile(
            optimizer=adamw(FLAGS.learning_rate, total_steps,
                            int(FLAGS.warmup_fraction * total_steps), FLAGS.weight_decay,
                            FLAGS.clipnorm, ema_momentum=FLAGS.ema),
            loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
            jit_compile=jit, steps_per_execution=steps_per_execution)
    report.stage(f"Training a causal LM ({model.count_params():,} parameters) for "
                 f"{total_steps:,} steps ({epochs} epochs of {steps_per_epoch}) on "
                 f"{strategy.num_replicas_in_sync} replica(s), XLA {'on' if jit else 'off'}, "
                 f"{steps_per_execution} steps per call")
    speed = TrainingThroughput()
    history, seconds = fit(model, train, evaluation, epochs=epochs, model_dir=model_dir,
                           patience=FLAGS.patience, callbacks=[speed.callback])
    tokens_per_second = speed.tokens_per_second(FLAGS.batch_size * length)

    report.stage("Evaluating on every token of the held-out text")
    metrics = evaluate_language_model(model, eval_ids, length, batch_size=64, jit_compile=jit)
    metrics.update(train_tokens_per_second=tokens_per_second, training_seconds=seconds,
                   steps=total_steps)
    print(f"  loss {metrics['loss']:.4f} nats/token, perplexity {metrics['perplexity']:.3f} "
          f"over {metrics['tokens']:,} tokens")

    settings = generation_settings(FLAGS)
    prompts = FLAGS.sample_prompt or [eval_text[:40], "", eval_text[len(eval_text) // 2:][:20]]

    def write(folder):
        write_text_generation(folder, model, tokenizer, settings)
        save_tokenizer(tokenizer, os.path.join(folder, "assets.extra", "tokenizer"))
        write_run_card(folder, task=TASK, flags=flag_values(FLAGS), data={
            "train": FLAGS.data,
            "eval": FLAGS.eval_data or f"last {FLAGS.eval_fraction} of {FLAGS.data}",
            "train_tokens": int(len(train_ids)), "eval_tokens": int(len(eval_ids))},
            metrics=metrics, generation=vars(settings), epochs_run=len(history.epoch))

    report.stage("Exporting")
    path = export_on_chief(FLAGS.export_dir, write, chief, FLAGS.export_version)
    if path is None:  # other workers took part in the save and discarded it
        return {"metrics": metrics, "export_path": None}

    report.stage(f"Sampling from the export ({FLAGS.sampler}, {FLAGS.max_new_tokens} tokens)")
    served = tf.saved_model.load(path)
    texts = served.signatures["serving_default"](prompt=tf.constant(prompts))["text"].numpy()
    samples = []
    for prompt, text in zip(prompts, texts):
        samples.append({"prompt": prompt, "text": text.decode("utf-8", "replace")})
        print(f"--- prompt {prompt!r}\n{prompt}{samples[-1]['text']}")

    report.summary(f"{TASK}: causal LM on {FLAGS.data}", [
        ("validation loss", f"{metrics['loss']:.4f} nats/token"),
        ("perplexity", f"{metrics['perplexity']:.3f}"),
        ("training", f"{total_steps:,} steps, {seconds:.1f} s, "
                     f"{tokens_per_second:,.0f} tokens/s"),
        ("export", path),
        ("run card", os.path.join(path, "run_card.json")),
        ("logs", os.path.join(model_dir, "logs")),
    ])
    return {"metrics": metrics, "export_path": path, "history": history.history,
            "samples": samples, "model": model, "tokenizer": tokenizer}


def main(argv=None):
    return cli.run(train_and_export, TASK, DEFAULTS, argv)


if __name__ == "__main__":
    main()
