"""Sentiment classification: train, evaluate, export, and query the export.

    python -m tasks.sentiment                      # bundled demo data, offline
    python -m tasks.sentiment --data=../shared/data/sst2/train.tsv \
        --eval_data=../shared/data/sst2/dev.tsv --label_names=negative,positive
    python -m tasks.sentiment --data=tfds:imdb_reviews --eval_data=tfds:imdb_reviews:test
    python -m tasks.sentiment --data=phrases.tsv --finetune_data=sentences.tsv \
        --eval_data=dev.tsv                        # train, then fine-tune

Run with --helpfull for every flag.
"""

import math
import os

import tfllm  # noqa: F401  (imports TensorFlow quietly; must come first)

import keras
import numpy as np
import tensorflow as tf
from absl import flags

from tfllm import cli, report
from tfllm.data.classification import load_classification_data
from tfllm.data.cleaning import clean_text
from tfllm.data.pipeline import TextEncoder, classification_dataset
from tfllm.data.tokenizers import build_tokenizer, save_tokenizer, vocabulary_size
from tfllm.export.classifier import write_classifier
from tfllm.export.run_card import flag_values, write_run_card
from tfllm.export.versioned import export_on_chief
from tfllm.metrics.classification import classification_report, format_report
from tfllm.models.classifier import MODELS, POOLINGS, build_classifier
from tfllm.runtime import set_seed
from tfllm.training.loop import clear_finished, fit
from tfllm.training.optimizers import adamw
from tfllm.training.strategy import (get_strategy, is_chief, resolve_jit,
                                     resolve_steps_per_execution, worker_dir)

flags.DEFINE_enum("pooling", "mean", list(POOLINGS),
                  "How the Transformer summarises positions: masked mean or max.")
flags.DEFINE_float("token_dropout", 0.0,
                   "Share of training tokens replaced by the unknown token each epoch.")
flags.DEFINE_string("finetune_data", None,
                    "Data for a second training stage after the first, same forms as --data: "
                    "text that looks like what the model will see (e.g. whole sentences "
                    "after phrase-level training data).")
flags.DEFINE_integer("finetune_epochs", 4, "Epochs of the --finetune_data stage.",
                     lower_bound=1)
flags.DEFINE_float("finetune_learning_rate", 3e-4,
                   "Peak learning rate of the --finetune_data stage (no warm-up).",
                   lower_bound=0.0)
flags.DEFINE_float("adversarial_epsilon", 0.0,
                   "Adversarial training: also train on each batch with its embedded text "
                   "moved this far (a share of its norm, at most 1) the way that raises the "
                   "loss most; 0: off. About doubles the cost of a step.",
                   lower_bound=0.0, upper_bound=1.0)
flags.DEFINE_float("finetune_adversarial_epsilon", 0.0,
                   "--adversarial_epsilon of the --finetune_data stage.",
                   lower_bound=0.0, upper_bound=1.0)
flags.register_multi_flags_validator(
    ["finetune_adversarial_epsilon", "finetune_data"],
    lambda values: not values["finetune_adversarial_epsilon"] or values["finetune_data"],
    "--finetune_adversarial_epsilon applies to the --finetune_data stage; "
    "pass --finetune_data, or --adversarial_epsilon for training on --data")
flags.DEFINE_bool("bucket", True,
                  "Batch texts of similar length together (else pad every batch to "
                  "--sequence_length).")

TASK = "sentiment"
# Accuracy, not loss, picks the best epoch: on SST-2 dev loss rises from
# overconfidence while accuracy still improves.
DEFAULTS = {"epochs": 5, "sequence_length": 128, "vocab_size": 8000, "batch_size": 32,
            "monitor": "val_accuracy"}
DEMO_QUERIES = ["the plot was good but the acting was awful",
                "the acting was awful but the plot was good",
                "not a <b>bad</b> film at all &amp; the music was moving"]


def _train_tokenizer(texts, FLAGS):
    cleaned = (tf.data.Dataset.from_tensor_slices(texts).batch(1024)
               .map(lambda t: clean_text(t, FLAGS.lowercase)).unbatch())
    return build_tokenizer(FLAGS.tokenizer, cleaned, FLAGS.vocab_size)


def _predict(model, dataset):
    """(true, predicted) label ids over `dataset`, in one pass so they stay aligned."""
    step = tf.function(lambda x: tf.argmax(model(x, training=False), axis=-1),
                       reduce_retracing=True)
    pairs = [(y.numpy(), step(x).numpy()) for x, y in dataset]
    return np.concatenate([t for t, _ in pairs]), np.concatenate([p for _, p in pairs])


def _training_set(examples, label_ids, encoder, FLAGS):
    return classification_dataset(examples.texts, label_ids, encoder, FLAGS.batch_size,
                                  shuffle=True, seed=FLAGS.seed, bucket=FLAGS.bucket,
                                  token_dropout=FLAGS.token_dropout)


def _compile(model, strategy, FLAGS, examples, epochs, learning_rate, warmup_fraction):
    """Compiles `model` with a fresh AdamW schedule over `epochs` of `examples`."""
    steps = epochs * math.ceil(examples / FLAGS.batch_size)
    with strategy.scope():
        model.compile(
            optimizer=adamw(learning_rate, steps, int(warmup_fraction * steps),
                            FLAGS.weight_decay, FLAGS.clipnorm, ema_momentum=FLAGS.ema),
            loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
            metrics=["accuracy"],
            jit_compile=resolve_jit(FLAGS.jit, strategy, fixed_shapes=not FLAGS.bucket),
            steps_per_execution=resolve_steps_per_execution(FLAGS.steps_per_execution,
                                                            strategy))


def _finetune(model, strategy, data, encoder, evaluation, model_dir, FLAGS):
    """The `--finetune_data` stage, after training; returns its run-card record."""
    before = classification_report(*_predict(model, evaluation), data.labels.names)
    kept = (f"; the trained weights (accuracy {before['accuracy']:.4f}) stay unless an epoch "
            "beats them" if FLAGS.patience else "")
    report.stage(f"Fine-tuning on {FLAGS.finetune_data} for {FLAGS.finetune_epochs} "
                 f"epochs{kept}")
    model.adversarial_epsilon = FLAGS.finetune_adversarial_epsilon
    _compile(model, strategy, FLAGS, len(data.finetune), FLAGS.finetune_epochs,
             FLAGS.finetune_learning_rate, 0.0)
    history, seconds = fit(
        model, _training_set(data.finetune, data.finetune_ids, encoder, FLAGS), evaluation,
        epochs=FLAGS.finetune_epochs, model_dir=os.path.join(model_dir, "finetune"),
        patience=FLAGS.patience, monitor=FLAGS.monitor, start_competes=True)
    clear_finished(model_dir)
    return {"data": FLAGS.finetune_data, "examples": len(data.finetune),
            "epochs_run": len(history.epoch), "seconds": seconds, "metrics_before": before}


def train_and_export(FLAGS):
    strategy = get_strategy(FLAGS.strategy, FLAGS.tpu)  # first: multi-worker needs it so
    set_seed(FLAGS.seed)
    chief = is_chief(strategy)
    model_dir = worker_dir(FLAGS.model_dir, strategy)

    report.stage(f"Loading data from {FLAGS.data}")
    if FLAGS.data == "sample":
        report.stage("Using the bundled demo data (generated, not a benchmark); "
                     "pass --data to train on real data.")
    data = load_classification_data(
        FLAGS.data, FLAGS.eval_data, FLAGS.eval_fraction, FLAGS.seed, FLAGS.text_field,
        FLAGS.label_field, FLAGS.label_names, FLAGS.skip_bad_rows, FLAGS.finetune_data)
    if data.rows.skipped:
        report.stage(f"Skipped {data.rows.skipped} malformed rows: {data.rows.first_errors}")
    report.stage(f"{len(data.train)} training and {len(data.eval)} evaluation examples, "
                 f"labels {data.labels.names}")
    if data.finetune is not None:
        report.stage(f"{len(data.finetune)} fine-tuning examples from {FLAGS.finetune_data}")

    report.stage(f"Training a {FLAGS.tokenizer} vocabulary of up to {FLAGS.vocab_size}")
    tokenizer = _train_tokenizer(data.train.texts, FLAGS)
    save_tokenizer(tokenizer, os.path.join(model_dir, "tokenizer"))
    encoder = TextEncoder(tokenizer, FLAGS.sequence_length, FLAGS.lowercase)
    evaluation = classification_dataset(data.eval.texts, data.eval_ids, encoder,
                                        FLAGS.batch_size, bucket=FLAGS.bucket)

    with strategy.scope():
        model = build_classifier(
            FLAGS.model, vocabulary_size(tokenizer), len(data.labels.names),
            FLAGS.sequence_length, FLAGS.hidden_dim, FLAGS.num_layers, FLAGS.num_heads,
            FLAGS.intermediate_dim, FLAGS.dropout, FLAGS.initializer, FLAGS.pooling,
            FLAGS.adversarial_epsilon)
    _compile(model, strategy, FLAGS, len(data.train), FLAGS.epochs, FLAGS.learning_rate,
             FLAGS.warmup_fraction)
    report.stage(f"Training {FLAGS.model} ({model.count_params():,} parameters) for "
                 f"{FLAGS.epochs} epochs on {strategy.num_replicas_in_sync} replica(s), "
                 f"XLA {'on' if model.jit_compile else 'off'}")
    finetuning = data.finetune is not None
    history, seconds = fit(model, _training_set(data.train, data.train_ids, encoder, FLAGS),
                           evaluation, epochs=FLAGS.epochs, model_dir=model_dir,
                           patience=FLAGS.patience, monitor=FLAGS.monitor,
                           more_stages_follow=finetuning)
    finetune_record = None
    if finetuning:
        finetune_record = _finetune(model, strategy, data, encoder, evaluation, model_dir, FLAGS)
        seconds += finetune_record["seconds"]

    report.stage("Evaluating")
    metrics = classification_report(*_predict(model, evaluation), data.labels.names)
    print(format_report(metrics))

    def write(folder):
        write_classifier(folder, model, encoder, data.labels.names)
        save_tokenizer(tokenizer, os.path.join(folder, "assets.extra", "tokenizer"))
        write_run_card(folder, task=TASK, flags=flag_values(FLAGS), data={
            "train": FLAGS.data, "eval": FLAGS.eval_data or f"{FLAGS.eval_fraction} of train",
            "train_examples": len(data.train), "eval_examples": len(data.eval),
            "labels": data.labels.names, "bad_rows": data.rows.report()},
            metrics=metrics, training_seconds=seconds, epochs_run=len(history.epoch),
            finetune=finetune_record)

    report.stage("Exporting")
    path = export_on_chief(FLAGS.export_dir, write, chief, FLAGS.export_version)
    if path is None:
        return {"metrics": metrics, "export_path": None}

    report.stage("Querying the export")
    serve = tf.saved_model.load(path).signatures["serving_default"]
    queries = DEMO_QUERIES if FLAGS.data == "sample" else data.eval.texts[:3]
    answers = serve(text=tf.constant(queries))
    for text, label, probs in zip(queries, answers["label"].numpy(),
                                  answers["probabilities"].numpy()):
        print(f"  {label.decode():>10} ({probs.max():.2f})  {text[:70]}")

    tuned_epochs = f" + {finetune_record['epochs_run']} fine-tuning" if finetuning else ""
    report.summary(f"{TASK}: {FLAGS.model} on {FLAGS.data}", [
        ("accuracy", f"{metrics['accuracy']:.4f}"),
        ("macro F1", f"{metrics['macro_f1']:.4f}"),
        ("training", f"{len(history.epoch)}{tuned_epochs} epochs, {seconds:.1f} s"),
        ("export", path),
        ("run card", os.path.join(path, "run_card.json")),
        ("logs", os.path.join(model_dir, "logs")),
    ])
    return {"metrics": metrics, "export_path": path, "history": history.history,
            "model": model, "encoder": encoder}


def main(argv=None):
    return cli.run(train_and_export, TASK, DEFAULTS, argv,
                   choices={"model": MODELS, "tokenizer": ("wordpiece", "sentencepiece")})


if __name__ == "__main__":
    main()
