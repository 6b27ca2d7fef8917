r"""Extractive question answering: find the answer to a question as a span of its context.

    python -m tasks.qa                                   # bundled demo data, offline
    python -m tasks.qa --model=transformer               # a Transformer reader (BiLSTM: default)
    python -m tasks.qa --data=train-v1.1.json --eval_data=dev-v1.1.json
    python -m tasks.qa --data=tfds:squad/v1.1 --eval_data=tfds:squad/v1.1:validation
    python -m tasks.qa --data=../shared/data/squad/train_from_dev_v1.1.json \
        --eval_fraction=0.2 --sequence_length=256       # hold out whole articles
    python -m tasks.qa --tokenizer=word --hidden_dim=100 \
        --pretrained_embeddings=saved_models/word2vec/1/assets.extra/vectors.txt
    python -m tasks.qa --init_from=saved_models/pretrain --sequence_length=128 \
        --learning_rate=1e-4                             # fine-tune a pretrained encoder

Data: SQuAD v1.1 / v2.0 JSON, JSONL rows with `question`, `context` and
`answers`, or TFDS `squad`. Answers whose offset does not match their text
are moved to where the text is and counted; answers whose text is not in
the context stop the run naming the question (or, with --skip_bad_rows, are
counted and left out). Scores: exact match and F1 as the official SQuAD
script computes them. The export answers `serving_default(question,
context)` with the answer text and its character offsets.
"""

import tfllm  # noqa: F401  (imports TensorFlow quietly; must come first)

import keras
import tensorflow as tf

from tfllm import flags as tf_flags
from tfllm.data.squad import load_qa_data
from tfllm.decoding.spans import SpanSearch
from tfllm.export.span_qa import answer_examples, answer_function, span_qa_endpoints
from tfllm.metrics.squad import squad_scores
from tfllm.models.presets import (build_task_model, check_transfer_flags, load_tokenizer,
                                  model_description)
from tfllm.models.pretrained_embeddings import embedding_rows
from tfllm.models.span_qa import READERS, BackboneReader, build_reader
from tfllm.preprocessors import SpanQAPreprocessor
from tfllm.task import Stage, Task

DEMO_QUERIES = {"question": ["Where does Zoë live?", "How was the music?", "Who lives in Oslo?"],
                "context": ["Zoë lives in Zürich.  Omar was born in 1984.",
                            "The acting was dull.  The music was moving.",
                            "Li was born in 1990.  Mia lives in Oslo.  Li lives in Lima."]}


class QA(Task):
    name = "qa"
    shared_flags = (tf_flags.DATA + ("lowercase",) + tf_flags.TOKENIZATION + ("model",)
                    + tf_flags.MODEL + tf_flags.EMBEDDINGS + tf_flags.TRANSFER
                    + tf_flags.TRAINING)
    own_flags = (
        tf_flags.integer_flag("doc_stride", 128, "Context tokens from one window's start to "
                                                 "the next's, for contexts longer than one "
                                                 "sequence.", lower_bound=1),
        tf_flags.integer_flag("max_query_length", 64, "Question tokens kept.", lower_bound=1),
        tf_flags.integer_flag("max_answer_length", 30, "Longest answer, in tokens.",
                              lower_bound=1),
        tf_flags.integer_flag("n_best", 20, "Candidate spans kept per window and per question "
                                            "(the export returns them).", lower_bound=1),
        tf_flags.float_flag("null_score_threshold", 0.0,
                            "With unanswerable training questions (SQuAD 2.0): answer nothing "
                            "when the no-answer score beats the best span's by more than "
                            "this. Without them the model always answers."),
    )
    # The BiLSTM reader by default: from scratch it learns the bundled
    # sample (exact match 100 after these 5 epochs) where the Transformer
    # stalls below 50%, and it leads on SQuAD (benchmarks/qa_squad.py);
    # --init_from brings a pretrained Transformer (fine-tune it at ~1e-4).
    defaults = {"model": "lstm", "sequence_length": 384, "vocab_size": 8000, "epochs": 5,
                "batch_size": 32, "learning_rate": 2e-3}
    # `word`: whole words, one id each, for word vectors (--pretrained_embeddings).
    choices = {"model": READERS, "tokenizer": ("wordpiece", "word")}
    metrics = ()
    headline = "f1"

    @classmethod
    def check_flags(cls, flags):
        if flags.max_query_length > flags.sequence_length - 4:
            return (f"--max_query_length={flags.max_query_length} leaves no room for the "
                    f"context in --sequence_length={flags.sequence_length}")
        return check_transfer_flags(flags, scratch_only=("model", "tokenizer", "vocab_size"))

    def title(self):
        return f"{self.name}: {model_description(self.flags)} on {self.flags.data}"

    def load_data(self):
        f = self.flags
        return load_qa_data(f.data, f.eval_data, f.eval_fraction, f.seed, f.skip_bad_rows)

    def build_preprocessor(self, data):
        f = self.flags
        settings = dict(doc_stride=f.doc_stride, max_query_length=f.max_query_length,
                        lowercase=f.lowercase)
        if f.init_from:
            return SpanQAPreprocessor(load_tokenizer(f.init_from), f.sequence_length,
                                      **settings)
        texts = [e.question for e in data.train] + sorted({e.context for e in data.train})
        return SpanQAPreprocessor.train(tf.data.Dataset.from_tensor_slices(texts), f.vocab_size,
                                        f.sequence_length, tokenizer=f.tokenizer, **settings)

    def describe(self, data, preprocessor):
        f = self.flags
        fixed = (f"; {data.fixed_offsets} answer offsets moved to where their text is"
                 if data.fixed_offsets else "")
        unanswerable = f", {data.unanswerable} without an answer" if data.unanswerable else ""
        return (f"{len(data.train):,} training questions{unanswerable}, {len(data.eval):,} "
                f"evaluation questions ({data.held_out}); "
                f"{'word' if f.tokenizer == 'word' else 'WordPiece'} vocabulary of "
                f"{preprocessor.vocabulary_size:,}; windows of {f.sequence_length} tokens, a "
                f"new one every {f.doc_stride}{fixed}")

    def search(self, data):
        threshold = self.flags.null_score_threshold if data.unanswerable else None
        return SpanSearch(self.flags.max_answer_length, self.flags.n_best, threshold)

    def build_model(self, data, preprocessor):
        f = self.flags
        model, self.transfer, self.embeddings = build_task_model(
            f, preprocessor, head=BackboneReader,
            from_scratch=lambda: build_reader(
                f.model, preprocessor.vocabulary_size, f.sequence_length, f.hidden_dim,
                f.num_layers, f.num_heads, f.intermediate_dim, f.dropout, f.initializer))
        return model

    def loss(self):
        return {name: keras.losses.SparseCategoricalCrossentropy(from_logits=True)
                for name in ("start", "end")}

    def compile_metrics(self):
        return {"metrics": {name: [keras.metrics.SparseCategoricalAccuracy(name="accuracy")]
                            for name in ("start", "end")}}

    def validation_data(self, data, preprocessor):
        return preprocessor.examples_dataset(data.eval, self.flags.batch_size)

    def stages(self, data, preprocessor):
        f = self.flags
        train = preprocessor.examples_dataset(data.train, f.batch_size, shuffle=True, seed=f.seed)
        return [Stage("train", train, f.epochs, None, f.learning_rate, f.warmup_fraction, f.data,
                      len(data.train), units_per_step=f.batch_size, throughput_unit="windows")]

    def evaluate(self, model, data, preprocessor, validation):
        predictions = answer_examples(answer_function(model, preprocessor, self.search(data)),
                                      data.eval)
        return squad_scores(predictions, {e.id: [a.text for a in e.answers] for e in data.eval})

    def format_metrics(self, metrics):
        split = "".join(f"; {name.replace('_', ' ')} EM {metrics[f'{name}_exact_match']:.1f} "
                        f"F1 {metrics[f'{name}_f1']:.1f}"
                        for name in ("has_answer", "no_answer") if f"{name}_f1" in metrics)
        return (f"exact match {metrics['exact_match']:.2f}, F1 {metrics['f1']:.2f} on "
                f"{metrics['examples']:,} questions{split}")

    def endpoints(self, model, data, preprocessor):
        return span_qa_endpoints(model, preprocessor, self.search(data))

    def card(self, data):
        f = self.flags
        return {"data": {"train": f.data, "eval": data.held_out,
                         "train_questions": len(data.train), "eval_questions": len(data.eval),
                         "fixed_answer_offsets": data.fixed_offsets,
                         "unanswerable_train_questions": data.unanswerable},
                "pretrained_embeddings": self.embeddings, "init_from": self.transfer}

    def demo_inputs(self, data):
        if self.flags.data == "sample":
            return "serving_default", DEMO_QUERIES
        return "serving_default", {"question": [e.question for e in data.eval[:5]],
                                   "context": [e.context for e in data.eval[:5]]}

    def show_answers(self, inputs, outputs):
        answers = []
        for question, context, answer, start, end, score in zip(
                inputs["question"], inputs["context"], outputs["answer"], outputs["start"],
                outputs["end"], outputs["score"]):
            answers.append({"question": question, "answer": answer.decode("utf-8"),
                            "start": int(start), "end": int(end), "score": float(score)})
            print(f"  {question[:50]:<50} -> {answers[-1]['answer'][:40]!r} ({score:.2f})")
        return answers

    def summary_rows(self, metrics, stages):
        return [("exact match", f"{metrics['exact_match']:.2f}"),
                ("F1", f"{metrics['f1']:.2f}"),
                ("speed", f"{stages[0].throughput:,.0f} windows/s")] + embedding_rows(
                    self.embeddings)


main = QA.main

if __name__ == "__main__":
    main()
