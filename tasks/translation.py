r"""Translation: train an encoder-decoder Transformer, score it with sacreBLEU, export it.

    python -m tasks.translation                           # bundled toy en->de pairs, offline
    python -m tasks.translation --data=multi30k/train.de,multi30k/train.en \
        --eval_data=multi30k/val.de,multi30k/val.en
    python -m tasks.translation --source_file=train.de --target_file=train.en \
        --eval_data=val.de,val.en
    python -m tasks.translation --data=pairs.tsv --source_field=de --target_field=en
    python -m tasks.translation --data=tfds:wmt14_translate/de-en --source_lang=de \
        --target_lang=en --eval_data=tfds:wmt14_translate/de-en:validation

Data: two aligned text files (SOURCE,TARGET), a .tsv/.csv/.jsonl of pairs, or a
TFDS translation dataset. The export answers `serving_default` (text ->
translation, beam search fixed here), `translate` (beams and length per
request) and `score` (source, target -> log-probability).
"""

import tfllm  # noqa: F401  (imports TensorFlow quietly; must come first)

import tensorflow as tf

from tfllm import flags as tf_flags
from tfllm.data.parallel import load_parallel_data
from tfllm.decoding.translator import Translator
from tfllm.export.translation import TranslationSettings, translation_endpoints
from tfllm.metrics.translation import translation_scores
from tfllm.models.pretrained_embeddings import embedding_rows, pretrained_embeddings
from tfllm.models.seq2seq import POSITIONS, Seq2SeqTransformer
from tfllm.preprocessors.seq2seq import Seq2SeqPreprocessor
from tfllm.task import Stage, Task
from tfllm.training.callbacks import AverageLastEpochs, EpochScore
from tfllm.training.losses import SmoothedSparseCrossentropy
from tfllm.training.loop import evaluate_scores

DEMO_QUERIES = ["The plot was really good.", "7 scenes were boring, but the music was moving!",
                ""]


class Translation(Task):
    name = "translation"
    shared_flags = (tf_flags.DATA + tf_flags.TOKENIZATION + tf_flags.MODEL + tf_flags.EMBEDDINGS
                    + tf_flags.TRAINING)
    own_flags = (
        tf_flags.string_flag("source_file", None, "Source side of aligned files "
                             "(with --target_file; or --data=SOURCE,TARGET)."),
        tf_flags.string_flag("target_file", None, "Target side of aligned files."),
        tf_flags.string_flag("source_lang", None, "Source language code: picks the column or "
                             "TFDS side (default: the dataset's own direction)."),
        tf_flags.string_flag("target_lang", None, "Target language code."),
        tf_flags.string_flag("source_field", None, "Source column of a table or JSONL file."),
        tf_flags.string_flag("target_field", None, "Target column of a table or JSONL file."),
        tf_flags.bool_flag("joint_vocab", True, "One vocabulary for both languages (else one "
                                                "each)."),
        tf_flags.enum_flag("positions", "learned", POSITIONS, "Position embeddings."),
        tf_flags.bool_flag("share_embeddings", False, "One matrix for source, target and output "
                                                      "embeddings (needs --joint_vocab)."),
        tf_flags.float_flag("label_smoothing", 0.1, "Label smoothing of the training loss.",
                            lower_bound=0.0, upper_bound=0.5),
        tf_flags.integer_flag("num_beams", 4, "Beams of the evaluation and the export's "
                                              "serving_default (1: greedy).", lower_bound=1),
        tf_flags.float_flag("length_penalty", 0.6, "GNMT length penalty alpha (0: none).",
                            lower_bound=0.0),
        tf_flags.integer_flag("max_decode_length", 10, "A translation may have this many "
                              "tokens more than its source (at most --sequence_length).",
                              lower_bound=0),
        tf_flags.integer_flag("average_last", 0, "Average the weights of the last N epochs "
                              "(checkpoint averaging; needs --patience=0).", lower_bound=0),
        tf_flags.integer_flag("eval_sentences", 0, "Sentences of the evaluation data that BLEU "
                              "is scored on (0: all).", lower_bound=0),
        tf_flags.bool_flag("bleu_every_epoch", False, "Also score BLEU after every epoch "
                                                      "(logged as val_bleu; costs decoding)."),
    )
    # Multi30k's recipe (benchmarks/translation_multi30k.py): 3 + 3 blocks, 256 wide.
    defaults = {"tokenizer": "sentencepiece", "vocab_size": 8000, "sequence_length": 64,
                "hidden_dim": 256, "num_layers": 3, "num_heads": 8, "intermediate_dim": 512,
                "dropout": 0.1, "batch_size": 64, "epochs": 3, "learning_rate": 1e-3,
                "warmup_fraction": 0.05, "weight_decay": 0.01, "patience": 0}
    # SentencePiece keeps spacing and case, so its detokenized output is
    # what BLEU is scored on; WordPiece would lose both.
    choices = {"tokenizer": ("sentencepiece",)}

    @classmethod
    def check_flags(cls, flags):
        if bool(flags.source_file) != bool(flags.target_file):
            return "--source_file and --target_file go together"
        if flags.source_file and flags["data"].present:
            return "pass either --data or --source_file/--target_file"
        if flags.average_last and flags.patience:
            return "--average_last averages the last epochs: pass --patience=0 with it"
        if flags.share_embeddings and not flags.joint_vocab:
            return "--share_embeddings needs --joint_vocab"
        if flags.hidden_dim % flags.num_heads:
            return f"--hidden_dim={flags.hidden_dim} must be a multiple of --num_heads"
        return None

    def title(self):
        return f"{self.name}: Transformer on {self._spec()}"

    def _spec(self):
        f = self.flags
        return f"{f.source_file},{f.target_file}" if f.source_file else f.data

    def settings(self):
        f = self.flags
        return TranslationSettings(f.num_beams, f.length_penalty, f.max_decode_length)

    def load_data(self):
        f = self.flags
        return load_parallel_data(self._spec(), f.eval_data, f.eval_fraction, f.seed,
                                  f.source_lang, f.target_lang, f.source_field, f.target_field,
                                  f.skip_bad_rows)

    def build_preprocessor(self, data):
        f = self.flags
        preprocessor = Seq2SeqPreprocessor.train(data.train["source"], data.train["target"],
                                                 f.vocab_size, f.sequence_length,
                                                 f.joint_vocab)
        # Training drops pairs longer than the context (counted); evaluation
        # keeps every pair, its sources cut to the context.
        sources, targets = preprocessor.token_lengths(data.train["source"], data.train["target"])
        fits = (sources + 1 <= f.sequence_length) & (targets + 1 <= f.sequence_length)
        data.dropped["longer than --sequence_length"] += int((~fits).sum())
        data.train = data.train.subset([i for i in range(len(fits)) if fits[i]])
        data.train_tokens = int(sources[fits].sum() + targets[fits].sum())
        return preprocessor

    def describe(self, data, preprocessor):
        dropped = ", ".join(f"{n} with {why}" for why, n in data.dropped.items() if n)
        return (f"{len(data.train):,} training and {len(data.eval):,} evaluation pairs "
                f"({data.source_lang} -> {data.target_lang}); dropped: {dropped or 'none'}; "
                f"vocabulary {preprocessor.source_vocabulary_size:,} source, "
                f"{preprocessor.vocabulary_size:,} target")

    def build_model(self, data, preprocessor):
        f = self.flags
        model = Seq2SeqTransformer(preprocessor.source_vocabulary_size,
                                   preprocessor.vocabulary_size, f.sequence_length, f.hidden_dim,
                                   f.num_layers, f.num_heads, f.intermediate_dim, f.dropout,
                                   f.positions, f.share_embeddings, f.initializer)
        # Word vectors are of one language: they start the source side.
        embedding = model.source_embedding.token_embedding
        if f.pretrained_embeddings and not embedding.built:
            embedding.build()
        self.embeddings = pretrained_embeddings(
            embedding, preprocessor.source_tokenizer.get_vocabulary(), f)
        return model

    def loss(self):
        return SmoothedSparseCrossentropy(self.flags.label_smoothing)

    def validation_data(self, data, preprocessor):
        return preprocessor.dataset(data.eval["source"], data.eval["target"],
                                    self.flags.batch_size)

    def stages(self, data, preprocessor):
        f = self.flags
        train = preprocessor.dataset(data.train["source"], data.train["target"], f.batch_size,
                                     shuffle=True, seed=f.seed)
        callbacks = [AverageLastEpochs(f.average_last)] if f.average_last else []
        if f.bleu_every_epoch:
            callbacks.append(EpochScore("val_bleu", lambda model: self._bleu(model, preprocessor,
                                                                             data)))
        # Length buckets each end in a partial batch: count the steps.
        return [Stage("train", train, f.epochs, None, f.learning_rate, f.warmup_fraction,
                      self._spec(), len(data.train), units_per_step=f.batch_size,
                      throughput_unit="pairs", callbacks=callbacks)]

    def _scored_split(self, data):
        count = self.flags.eval_sentences or len(data.eval)
        return data.eval["source"][:count], data.eval["target"][:count]

    def _translations(self, model, preprocessor, sources):
        """`sources` translated as the export's serving_default would, in batches."""
        settings = self.settings()
        translate = tf.function(lambda texts: Translator(model, preprocessor).translate(
            texts, settings.num_beams, settings.length_penalty, settings.max_extra_tokens))
        hypotheses = []
        for start in range(0, len(sources), 64):
            batch = translate(tf.constant(sources[start:start + 64]))
            hypotheses += [t.decode("utf-8") for t in batch.numpy()]
        return hypotheses

    def _bleu(self, model, preprocessor, data):
        sources, references = self._scored_split(data)
        return translation_scores(self._translations(model, preprocessor, sources),
                                  references)["bleu"]

    def evaluate(self, model, data, preprocessor, validation):
        sources, references = self._scored_split(data)
        hypotheses = self._translations(model, preprocessor, sources)
        scores = translation_scores(hypotheses, references)
        scores["loss"] = evaluate_scores(model, validation)["loss"]
        scores["examples"] = [{"source": s, "reference": r, "translation": h}
                              for s, r, h in list(zip(sources, references, hypotheses))[:5]]
        return scores

    def format_metrics(self, metrics):
        lines = [f"  BLEU {metrics['bleu']:.2f} ({metrics['bleu_signature']})",
                 f"  chrF {metrics['chrf']:.2f} ({metrics['chrf_signature']})",
                 f"  ROUGE-L {metrics['rouge_l']:.2f}, loss {metrics['loss']:.4f}, "
                 f"{metrics['sentences']} sentences"]
        for example in metrics["examples"][:3]:
            lines.append(f"  {example['source']!r}\n    -> {example['translation']!r}\n"
                         f"    reference {example['reference']!r}")
        return "\n".join(lines)

    def endpoints(self, model, data, preprocessor):
        return translation_endpoints(model, preprocessor, self.settings())

    def card(self, data):
        return {"data": {"train": self._spec(), "eval": self.flags.eval_data
                         or f"{self.flags.eval_fraction} of train",
                         "source_lang": data.source_lang, "target_lang": data.target_lang,
                         "train_pairs": len(data.train), "eval_pairs": len(data.eval),
                         "train_tokens": data.train_tokens, "dropped": dict(data.dropped)},
                "decoding": vars(self.settings()), "pretrained_embeddings": self.embeddings}

    def demo_inputs(self, data):
        queries = DEMO_QUERIES if self._spec() == "sample" else data.eval["source"][:3]
        return "serving_default", {"text": queries}

    def show_answers(self, inputs, outputs):
        answers = []
        for text, translation in zip(inputs["text"], outputs["translation"]):
            answers.append({"text": text, "translation": translation.decode("utf-8")})
            print(f"  {text!r}\n    -> {answers[-1]['translation']!r}")
        return answers

    def summary_rows(self, metrics, stages):
        return [("BLEU", f"{metrics['bleu']:.2f}  {metrics['bleu_signature']}"),
                ("chrF", f"{metrics['chrf']:.2f}"),
                ("decoding", f"{self.flags.num_beams} beam(s), length penalty "
                             f"{self.flags.length_penalty}")] + embedding_rows(self.embeddings)


main = Translation.main

if __name__ == "__main__":
    main()
