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
Under --strategy=multi_worker each worker trains on its own files
(file i goes to worker i mod workers) when there are at least as many files
as workers, else on its share of every batch. A WordPiece vocabulary is
learned from the first --tokenizer_lines lines of the whole corpus;
the text is packed into full sequences of --sequence_length tokens, shuffled
within a window of 10,000. The masked-LM export answers `serving_default`
(text with `[MASK]` -> likeliest words); the causal-LM export answers as the
text-generation task's does (`serving_default`: prompt -> greedy
continuation; `generate`; `score`). Both hold the backbone (keras-hub
`BertBackbone`, `ESMBackbone` with --backbone=esm, or `GPT2Backbone`) and
its tokenizer as a keras-hub preset in `assets.extra/preset`, which
--init_from of the other tasks (and keras-hub's own `from_preset`) reads.
"""

import tfllm  # noqa: F401  (imports TensorFlow quietly; must come first)

import tensorflow as tf

from tfllm import flags as tf_flags
from tfllm.data.curriculum import Curriculum
from tfllm.data.masked_lm import held_out, load_text_stream
from tfllm.models.pretraining import ENCODERS
from tfllm.models.presets import PRESET_FOLDER, save_preset
from tfllm.objectives import OBJECTIVES
from tfllm.task import Stage, Task
from tfllm.training.callbacks import TrainingClock
from tfllm.training.loop import count_steps, evaluate_scores, worker_local
from tfllm.training.strategy import worker_shard

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
        tf_flags.enum_flag("objective", "mlm", tuple(OBJECTIVES),
                           "mlm (masked LM), mlm_nsp (masked LM and next-sentence "
                           "prediction on sentence pairs, half of them not consecutive), or "
                           "causal (next-token prediction with a GPT-2 decoder)."),
        tf_flags.enum_flag("backbone", "bert", tuple(ENCODERS),
                           "The masked-LM encoder: bert (keras-hub BertBackbone, post-LN) or "
                           "esm (keras-hub ESMBackbone: pre-LN blocks, rotary positions, no "
                           "segment embeddings)."),
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

    def __init__(self, flags):
        super().__init__(flags)
        self.objective = OBJECTIVES[flags.objective](flags)

    @classmethod
    def check_flags(cls, flags):
        chosen = OBJECTIVES[flags.objective]
        stray = sorted({f"--{name}" for objective in OBJECTIVES.values() if objective is not chosen
                        for name in objective.own_flags
                        if name not in chosen.own_flags and flags[name].present})
        if stray:
            return f"{', '.join(stray)} do not apply to --objective={flags.objective}"
        return None

    @property
    def headline(self):
        return self.objective.headline

    def title(self):
        return f"{self.name}: {self.flags.objective} on {self.flags.data}"

    def load_data(self):
        f = self.flags
        # Under multi_worker each worker trains on its own files (when there
        # are enough), so none reads the whole corpus.
        return load_text_stream(f.data, f.text_field,
                                worker=worker_shard(self.strategy))

    def build_preprocessor(self, data):
        return self.objective.preprocessor(data.lines.take(self.flags.tokenizer_lines))

    def describe(self, data, preprocessor):
        bad = (f"; {data.bad_lines:,} lines held bytes that are not UTF-8 (replaced)"
               if data.bad_lines else "")
        own = (f"; this worker trains on {data.worker_files[0]} of the {data.worker_files[1]} "
               "files" if data.worker_files else "")
        if data.too_few_files:
            files, workers = data.too_few_files
            own = (f"; {files} file(s) for {workers} workers: each worker reads them all and "
                   f"trains on its share of every batch (give at least {workers} files to "
                   "split the reading)")
        return (f"{data.line_count:,} lines, WordPiece vocabulary of "
                f"{preprocessor.vocabulary_size:,}, sequences of {preprocessor.sequence_length} "
                f"tokens, 1 block in {self._every()} held out{bad}{own}")

    def _every(self):
        return max(2, round(1 / self.flags.eval_fraction))

    def build_model(self, data, preprocessor):
        return self.objective.model(preprocessor)

    def loss(self):
        return self.objective.loss()

    def compile_metrics(self):
        return self.objective.compile_metrics()

    def validation_data(self, data, preprocessor):
        # The same masks every epoch, so epochs compare; cached after the first pass.
        blocks = held_out(preprocessor.blocks(data.training_lines), self._every(), keep=True)
        return self._own(data, preprocessor.batches(blocks, self.flags.batch_size,
                                                    seed=self.flags.seed, fixed=True).cache())

    @staticmethod
    def _own(data, batches):
        """A worker's batches of its own files are not sharded again."""
        return batches if data.own_lines is None else worker_local(batches)

    def stages(self, data, preprocessor):
        f = self.flags
        blocks = held_out(preprocessor.blocks(data.training_lines), self._every(), keep=False)
        curriculum = Curriculum.from_flags(f)
        train = self._own(data, preprocessor.batches(blocks, f.batch_size, seed=f.seed,
                                                     curriculum=curriculum))
        steps, callbacks = None, [TrainingClock()]  # None: the runner counts the steps
        if curriculum:  # whose schedule needs the count before training
            steps = count_steps(train, self.strategy)
            curriculum.set_units_per_epoch(steps)
            callbacks.append(curriculum.callback)
        return [Stage("train", train, f.epochs, steps, f.learning_rate, f.warmup_fraction,
                      f.data, None, units_per_step=f.batch_size * f.sequence_length,
                      throughput_unit="tokens", callbacks=callbacks)]

    def evaluate(self, model, data, preprocessor, validation):
        return self.objective.metrics(evaluate_scores(model, validation))

    def format_metrics(self, metrics):
        return self.objective.format_metrics(metrics)

    def endpoints(self, model, data, preprocessor):
        return self.objective.endpoints(model, preprocessor)

    def assets(self, model, data, preprocessor):
        def write(folder):
            save_preset(model.backbone, preprocessor.tokenizer,
                        tf.io.gfile.join(folder, PRESET_FOLDER))
        return write

    def card(self, data):
        return {"data": {"train": self.flags.data, "lines": data.line_count,
                         "bad_utf8_lines": data.bad_lines,
                         "held_out": f"1 block in {self._every()}",
                         **({"files_per_worker": data.worker_files[0]}
                            if data.worker_files else {})}}

    def demo_inputs(self, data):
        return self.objective.demo_inputs(
            DEMO_QUERIES["sample" if self.flags.data == "sample" else "text"])

    def show_answers(self, inputs, outputs):
        return self.objective.show_answers(inputs, outputs)

    def summary_rows(self, metrics, stages):
        return self.objective.summary_rows(metrics) + [
            ("speed", f"{stages[0].throughput:,.0f} tokens/s")]


main = Pretrain.main

if __name__ == "__main__":
    main()
