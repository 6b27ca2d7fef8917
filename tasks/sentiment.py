r"""Sentiment classification: train, evaluate, export, and query the export.

    python -m tasks.sentiment                      # bundled demo data, offline
    python -m tasks.sentiment --data=../shared/data/sst2/train.tsv \
        --eval_data=../shared/data/sst2/dev.tsv --label_names=negative,positive
    python -m tasks.sentiment --data=tfds:imdb_reviews --eval_data=tfds:imdb_reviews:test
    python -m tasks.sentiment --data=phrases.tsv --finetune_data=sentences.tsv \
        --eval_data=dev.tsv                        # train, then fine-tune
    python -m tasks.sentiment --init_from=saved_models/pretrain --freeze_layers=1
                                                   # fine-tune a pretrained encoder

Data: .csv/.tsv with a header row, .jsonl, fastText .txt (__label__NAME text).
"""

import math

import tfllm  # noqa: F401  (imports TensorFlow quietly; must come first)

from tfllm import flags as tf_flags
from tfllm.data.classification import load_classification_data
from tfllm.data.curriculum import Curriculum
from tfllm.export.classifier import classifier_endpoints
from tfllm.metrics.classification import evaluate_classifier, format_report
from tfllm.models.classifier import (BACKBONE_POOLINGS, MODELS, BackboneClassifier,
                                     build_classifier)
from tfllm.models.presets import (build_task_model, check_transfer_flags, load_tokenizer,
                                  model_description)
from tfllm.models.pretrained_embeddings import embedding_rows
from tfllm.preprocessors import ClassificationPreprocessor
from tfllm.task import Stage, Task

DEMO_QUERIES = ["the plot was good but the acting was awful",
                "the acting was awful but the plot was good",
                "not a <b>bad</b> film at all &amp; the music was moving"]


class Sentiment(Task):
    name = "sentiment"
    shared_flags = (tf_flags.DATA + ("text_field", "label_field", "label_names", "lowercase")
                    + tf_flags.TOKENIZATION + ("model",) + tf_flags.MODEL + tf_flags.EMBEDDINGS
                    + tf_flags.TRANSFER + tf_flags.TRAINING + tf_flags.CURRICULUM)
    own_flags = (
        tf_flags.enum_flag("pooling", None, BACKBONE_POOLINGS,
                           "How the classifier summarises the text: the masked mean or max "
                           "of the encoder's positions, or (over an --init_from backbone) its "
                           "pooled [CLS] output. Default: cls with --init_from, else mean. "
                           "The LSTM reads its final states."),
        tf_flags.float_flag("token_dropout", 0.0,
                            "Share of training tokens replaced by the unknown token each epoch.",
                            lower_bound=0.0, upper_bound=0.95),
        tf_flags.string_flag("finetune_data", None,
                             "Data for a second training stage, same forms as --data: text "
                             "that looks like what the model will see (e.g. whole sentences "
                             "after phrase-level training data)."),
        tf_flags.integer_flag("finetune_epochs", 4, "Epochs of the --finetune_data stage.",
                              lower_bound=1),
        tf_flags.float_flag("finetune_learning_rate", 3e-4,
                            "Peak learning rate of the --finetune_data stage (no warm-up).",
                            lower_bound=0.0),
        tf_flags.float_flag("adversarial_epsilon", 0.0,
                            "Adversarial training: also train on each batch with its embedded "
                            "text moved this far (a share of its norm, at most 1) the way that "
                            "raises the loss most; 0: off. About doubles the cost of a step.",
                            lower_bound=0.0, upper_bound=1.0),
        tf_flags.float_flag("finetune_adversarial_epsilon", 0.0,
                            "--adversarial_epsilon of the --finetune_data stage.",
                            lower_bound=0.0, upper_bound=1.0),
        tf_flags.bool_flag("bucket", True, "Batch texts of similar length together (else pad "
                                           "every batch to --sequence_length)."),
    )
    # Accuracy, not loss, picks the best epoch: on SST-2 dev loss rises from
    # overconfidence while accuracy still improves.
    defaults = {"epochs": 5, "sequence_length": 128, "vocab_size": 8000, "batch_size": 32,
                "monitor": "val_accuracy"}
    choices = {"model": MODELS, "tokenizer": ("wordpiece", "sentencepiece", "word")}
    metrics = ("accuracy",)
    headline = "accuracy"

    @classmethod
    def check_flags(cls, flags):
        transfer = check_transfer_flags(flags, scratch_only=(
            "model", "tokenizer", "vocab_size", "adversarial_epsilon",
            "finetune_adversarial_epsilon"))
        if transfer:
            return transfer
        if flags.pooling == "cls" and not flags.init_from:
            return ("--pooling=cls reads a pretrained backbone's [CLS] summary; pass "
                    "--init_from, or pool a model trained from scratch with mean or max")
        if flags.pooling and flags.model == "lstm":
            return "--pooling applies to Transformer encoders; the LSTM reads its final states"
        if flags.finetune_data:
            return None
        stray = [f"--{name}" for name in ("finetune_epochs", "finetune_learning_rate",
                                          "finetune_adversarial_epsilon") if flags[name].present]
        if stray:
            return (f"{', '.join(stray)} set the --finetune_data stage; pass --finetune_data "
                    "(or, for training on --data, --epochs, --learning_rate, "
                    "--adversarial_epsilon)")
        return None

    def title(self):
        return f"{self.name}: {model_description(self.flags)} on {self.flags.data}"

    def load_data(self):
        f = self.flags
        return load_classification_data(f.data, f.eval_data, f.eval_fraction, f.seed,
                                        f.text_field, f.label_field, f.label_names,
                                        f.skip_bad_rows, f.finetune_data)

    def build_preprocessor(self, data):
        f = self.flags
        if f.init_from:
            return ClassificationPreprocessor(load_tokenizer(f.init_from), f.sequence_length,
                                              f.lowercase, end_token=True)
        return ClassificationPreprocessor.train(data.train["text"], f.tokenizer, f.vocab_size,
                                                f.sequence_length, f.lowercase)

    def describe(self, data, preprocessor):
        tuning = f", {len(data.finetune)} for fine-tuning" if data.finetune else ""
        vocabulary = (f"the vocabulary of {self.flags.init_from}" if self.flags.init_from
                      else f"{self.flags.tokenizer} vocabulary")
        return (f"{len(data.train)} training and {len(data.eval)} evaluation examples{tuning}, "
                f"labels {data.labels.names}, {vocabulary} of {preprocessor.vocabulary_size:,}")

    def build_model(self, data, preprocessor):
        f = self.flags
        classes = len(data.labels.names)
        model, self.transfer, self.embeddings = build_task_model(
            f, preprocessor,
            head=lambda backbone: BackboneClassifier(backbone, classes, f.dropout,
                                                     pad_id=preprocessor.tokenizer.pad_token_id,
                                                     pooling=self.pooling),
            from_scratch=lambda: build_classifier(
                f.model, preprocessor.vocabulary_size, classes, f.sequence_length, f.hidden_dim,
                f.num_layers, f.num_heads, f.intermediate_dim, f.dropout, f.initializer,
                self.pooling, f.adversarial_epsilon))
        return model

    @property
    def pooling(self):
        """--pooling or its default: a pretrained backbone's [CLS] summary,
        else the mean over positions; None for the LSTM (its final states)."""
        f = self.flags
        if f.init_from:
            return f.pooling or "cls"
        return None if f.model == "lstm" else f.pooling or "mean"

    def validation_data(self, data, preprocessor):
        return preprocessor.dataset(data.eval["text"], data.eval_ids, self.flags.batch_size,
                                    bucket=self.flags.bucket)

    def _stage(self, name, examples, label_ids, source, epochs, learning_rate, warmup,
               epsilon, preprocessor):
        f = self.flags
        curriculum = Curriculum.from_flags(f)
        train = preprocessor.dataset(examples["text"], label_ids, f.batch_size, shuffle=True,
                                     seed=f.seed, bucket=f.bucket, token_dropout=f.token_dropout,
                                     curriculum=curriculum)
        return Stage(name, train, epochs, math.ceil(len(examples) / f.batch_size),
                     learning_rate, warmup, source, len(examples), units_per_step=f.batch_size,
                     model_settings={"adversarial_epsilon": epsilon},
                     callbacks=[curriculum.callback] if curriculum else [])

    def stages(self, data, preprocessor):
        f = self.flags
        stages = [self._stage("train", data.train, data.train_ids, f.data, f.epochs,
                              f.learning_rate, f.warmup_fraction, f.adversarial_epsilon,
                              preprocessor)]
        if data.finetune is not None:
            stages.append(self._stage("finetune", data.finetune, data.finetune_ids,
                                      f.finetune_data, f.finetune_epochs,
                                      f.finetune_learning_rate, 0.0,
                                      f.finetune_adversarial_epsilon, preprocessor))
        return stages

    def evaluate(self, model, data, preprocessor, validation):
        return evaluate_classifier(model, validation, data.labels.names)

    def format_metrics(self, metrics):
        return format_report(metrics)

    def endpoints(self, model, data, preprocessor):
        return classifier_endpoints(model, preprocessor, data.labels.names)

    def card(self, data):
        f = self.flags
        return {"data": {"train": f.data, "eval": f.eval_data or f"{f.eval_fraction} of train",
                         "finetune": f.finetune_data, "train_examples": len(data.train),
                         "eval_examples": len(data.eval), "labels": data.labels.names},
                "pooling": self.pooling, "pretrained_embeddings": self.embeddings,
                "init_from": self.transfer}

    def demo_inputs(self, data):
        return "serving_default", {
            "text": DEMO_QUERIES if self.flags.data == "sample" else data.eval["text"][:3]}

    def show_answers(self, inputs, outputs):
        answers = []
        for text, label, probabilities in zip(inputs["text"], outputs["label"],
                                              outputs["probabilities"]):
            answers.append({"text": text, "label": label.decode(),
                            "probability": float(probabilities.max())})
            print(f"  {answers[-1]['label']:>10} ({probabilities.max():.2f})  {text[:70]}")
        return answers

    def summary_rows(self, metrics, stages):
        return [("accuracy", f"{metrics['accuracy']:.4f}"),
                ("macro F1", f"{metrics['macro_f1']:.4f}")] + embedding_rows(self.embeddings)


main = Sentiment.main

if __name__ == "__main__":
    main()
