"""The task runner: every task runs through the same steps, and supplies only what differs.

A task is a `Task` subclass: its flags (`own_flags`, the `shared_flags` it
reads, its `defaults`) and a fixed set of hooks, as Model Garden's
`official/nlp/tasks` give every task the same ones (there without a
registry or config classes: a task module is a class and a `main`):

    load_data           the task's data, read and checked
    build_preprocessor  tokenizer and friends, trained on the data
    describe            one line about the data, for people
    build_model         the Keras model (called in the strategy's scope)
    stages              the training stages: data, epochs, learning rate
    evaluate            the task's metrics of a model
    endpoints           the export's serving signatures
    demo_inputs         what to ask the export at the end of the run
    show_answers        the export's answers, printed for people
    summary_rows        the task's lines of the closing summary

and, where the defaults do not fit: `optimizer` (AdamW with the shared
schedule; word2vec's is sparse SGD), `loss`, `compile_metrics`, `served_model` (what the
export holds: the model, or what the task makes of it) and `assets` (files
the export carries beside the SavedModel).

`run(task_class, argv)` does everything else the same way for every task:
flags (`tfllm.cli`), strategy, seed, chief and worker folders, the
demo-data notice, compiling each stage with the task's optimizer (AdamW and
its warmup/cosine schedule by default), `fit` with checkpoints, resume
after a kill (per stage) and early stopping, throughput, evaluation, the
atomic versioned export with its preprocessor and run card, querying the export, and the summary. It
returns a `RunResult`.

Example, a task module:

>>> class Sentiment(Task):
...     name = "sentiment"
...     shared_flags = DATA + TRAINING
...     def load_data(self): ...
...     # ... the other hooks
>>> main = Sentiment.main          # python -m tasks.sentiment --epochs=2
"""

import dataclasses
import os
import sys

import keras
import tensorflow as tf

from tfllm import cli, compat, report, runtime
from tfllm import flags as tfllm_flags
from tfllm.data.errors import DataError
from tfllm.export.saved_model import export_task
from tfllm.metrics.language_model import TrainingThroughput
from tfllm.models.presets import layer_decay_multipliers
from tfllm.runtime import set_seed
from tfllm.training.loop import clear_finished, count_steps, epochs_trained, fit
from tfllm.training.optimizers import adamw
from tfllm.training.precision import precision_policy
from tfllm.training.strategy import (get_strategy, is_chief, resolve_jit,
                                     resolve_steps_per_execution, worker_dir)


@dataclasses.dataclass
class Stage:
    """One `fit` of a run.

    Attributes:
        name: names the stage for people and its folder in `model_dir` (the
            first stage uses `model_dir` itself).
        data: the training `tf.data.Dataset` (one epoch of it).
        epochs: epochs to train.
        steps_per_epoch: steps an epoch has, for the learning-rate schedule;
            None: counted by one pass over `data`.
        learning_rate, warmup_fraction: the AdamW schedule's peak and warmup.
        source: what it trains on, for people and the run card.
        examples: examples (or windows) an epoch has, for the run card.
        units_per_step, throughput_unit: what a training step consumes
            (say 32 examples, or 768 tokens), for the throughput figure.
        exact_steps: whether `data` yields exactly `steps_per_epoch` batches,
            so steps per call may be chosen to divide them.
        model_settings: model attributes set before the stage compiles
            (e.g. `{"adversarial_epsilon": 0.04}`).
        callbacks: the stage's own Keras callbacks, after the runner's.
    """

    name: str
    data: object
    epochs: int
    steps_per_epoch: object
    learning_rate: float
    warmup_fraction: float
    source: str
    examples: int
    units_per_step: int
    throughput_unit: str = "examples"
    exact_steps: bool = False
    model_settings: dict = dataclasses.field(default_factory=dict)
    callbacks: list = dataclasses.field(default_factory=list)


@dataclasses.dataclass
class StageRecord:
    """What a stage did. `epochs_run` counts the epochs of a killed run it
    resumed; `throughput` is steady-state `throughput_unit`s per second
    (compilation left out); of `seconds`, `compile_seconds` went to the
    first step (tracing, XLA) and `steady_seconds` to the steps after it,
    the rest to validation and checkpoints; `metrics_before` scores the
    weights the stage started from (later stages only)."""

    name: str
    source: str
    examples: int
    epochs_run: int
    seconds: float
    steps_per_second: float
    throughput: float
    throughput_unit: str
    history: dict
    compile_seconds: float
    steady_seconds: float
    metrics_before: dict = None


@dataclasses.dataclass
class RunResult:
    """The outcome of `run`, the same for every task.

    `export_path` and `answers` are None and empty on workers other than the
    chief, which publish nothing.
    """

    task: str
    flags: dict
    data: dict  # the run card's record of the data (sources, sizes, skipped rows)
    metrics: dict
    stages: list
    export_path: str
    answers: list
    model: object
    preprocessor: object

    @property
    def training_seconds(self):
        return sum(stage.seconds for stage in self.stages)


class Task:
    """Base class of tasks: declarations and hooks (see the module docstring).

    Subclasses set `name` and override the hooks; the instance holds the
    run's parsed flags as `self.flags`.
    """

    name = None
    own_flags = ()      # `tfllm.flags.Flag` specs of this task's own flags
    shared_flags = ()   # names of the shared flags it reads (see tfllm.flags)
    defaults = {}       # this task's defaults of those flags
    choices = {}        # values of the shared enum flags it reads (model, tokenizer)
    metrics = ()        # Keras metrics compiled in; with "loss" they are --monitor's choices
    headline = "loss"   # the metric named in stage messages

    def __init__(self, flags):
        self.flags = flags

    @classmethod
    def check_flags(cls, flags):
        """A message when flag values do not fit together, else None."""
        return None

    @classmethod
    def main(cls, argv=None):
        """Runs the task from a command line (default `sys.argv`)."""
        return run(cls, argv)

    def loss(self):
        return keras.losses.SparseCategoricalCrossentropy(from_logits=True)

    def optimizer(self, stage, total_steps, model):
        """The optimizer of `stage` (`total_steps` long) for `model`: AdamW
        with the shared warmup and decay schedule, from the `ADAMW` flags;
        a pretrained backbone's blocks at decayed rates with --layer_decay."""
        f = self.flags
        decay = self.setting("layer_decay", 1.0)
        multipliers = (layer_decay_multipliers(model.backbone, decay)
                       if decay < 1.0 and hasattr(model, "backbone") else None)
        return adamw(stage.learning_rate, total_steps, int(stage.warmup_fraction * total_steps),
                     f.weight_decay, f.clipnorm, beta_2=f.beta_2, ema_momentum=f.ema,
                     decay=f.decay, learning_rate_multipliers=multipliers)

    def compile_metrics(self):
        """Keras `compile`'s metric arguments: `metrics` by default (a task
        with several outputs or weighted targets names them per output)."""
        return {"metrics": list(self.metrics) or None}

    @property
    def strategy(self):
        """The run's tf.distribute strategy (the runner's: one per process)."""
        return get_strategy(self.flags.strategy, self.flags.tpu)

    def setting(self, name, default):
        """The value of shared flag `name`, or `default` where this task
        does not read it (a task without validation data has no --patience)."""
        return self.flags[name].value if name in self.flags else default

    def title(self):
        return f"{self.name} on {self.flags.data}"

    # The hooks every task supplies.
    def load_data(self):
        raise NotImplementedError

    def build_preprocessor(self, data):
        raise NotImplementedError

    def describe(self, data, preprocessor):
        raise NotImplementedError

    def build_model(self, data, preprocessor):
        raise NotImplementedError

    def validation_data(self, data, preprocessor):
        """The dataset `fit` validates on each epoch (None: no validation)."""
        raise NotImplementedError

    def stages(self, data, preprocessor):
        raise NotImplementedError

    def evaluate(self, model, data, preprocessor, validation):
        raise NotImplementedError

    def format_metrics(self, metrics):
        raise NotImplementedError

    def served_model(self, model, data, preprocessor):
        """What the export holds and `endpoints` serve: the trained model, or
        what the task makes of it (word vectors from a Word2Vec model)."""
        return model

    def endpoints(self, model, data, preprocessor):
        raise NotImplementedError

    def assets(self, model, data, preprocessor):
        """A function that writes the task's own files into the export
        folder (under `assets.extra/`), or None."""
        return None

    def card(self, data):
        """The task's entries of the run card: at least `data` (sources, sizes)."""
        raise NotImplementedError

    def demo_inputs(self, data):
        """`(signature name, {input name: list of values})` to ask the export."""
        raise NotImplementedError

    def show_answers(self, inputs, outputs):
        """Prints the export's `outputs` (NumPy) for `inputs`; returns them as records."""
        raise NotImplementedError

    def summary_rows(self, metrics, stages):
        raise NotImplementedError


def _fixed_shapes(dataset):
    """Whether every batch has one shape but for the batch size (XLA then
    compiles once, or twice with a short last batch)."""
    specs = tf.nest.flatten(dataset.element_spec)
    return all(spec.shape[1:].is_fully_defined() for spec in specs)


class _Runner:
    """The steps of one run; see the module docstring."""

    def __init__(self, task):
        self.task, self.flags = task, task.flags
        # First: multi-worker set-up must precede other TensorFlow work.
        self.strategy = get_strategy(self.flags.strategy, self.flags.tpu)
        set_seed(self.flags.seed)
        self.chief = is_chief(self.strategy)
        self.model_dir = worker_dir(self.flags.model_dir, self.strategy)
        self.clock = report.PhaseClock(started=runtime.start_up_began())

    def run(self):
        task, flags = self.task, self.flags
        report.stage(f"Loading data from {flags.data}")
        if flags.data == "sample":
            report.stage("Using the bundled demo data (generated, not a benchmark); pass "
                         "--data to train on real data.")
        with self.clock("data"):
            data = task.load_data()
        if data.rows.skipped:
            report.stage(f"Skipped {data.rows.skipped} malformed rows: {data.rows.first_errors}")
        with self.clock("preprocessor"):
            preprocessor = task.build_preprocessor(data)
            preprocessor.save(os.path.join(self.model_dir, "preprocessor"))
            report.stage(task.describe(data, preprocessor))
            validation = task.validation_data(data, preprocessor)
        with self.clock("model"), self.strategy.scope():
            model = task.build_model(data, preprocessor)
        records = self.train(model, data, preprocessor, validation)

        report.stage("Evaluating")
        with self.clock("evaluation"):
            metrics = task.evaluate(model, data, preprocessor, validation)
        print(task.format_metrics(metrics))

        report.stage("Exporting")
        card = {"task": task.name, "flags": tfllm_flags.values(flags), **task.card(data),
                "metrics": metrics, "training_seconds": sum(r.seconds for r in records),
                "stages": [dataclasses.asdict(r) for r in records]}
        card["data"] = {**card.get("data", {}), "bad_rows": data.rows.report()}
        with self.clock("export"):
            served = task.served_model(model, data, preprocessor)
            path = export_task(flags.export_dir, served, preprocessor,
                               task.endpoints(served, data, preprocessor), card, self.chief,
                               flags.export_version, task.assets(served, data, preprocessor))
        result = RunResult(task.name, card["flags"], card["data"], metrics, records, path, [],
                           model, preprocessor)
        if path is None:  # other workers joined the save and published nothing
            return result
        with self.clock("query"):
            result.answers = self.query(path, data)
        self.summarize(result, data)
        return result

    def train(self, model, data, preprocessor, validation):
        """Fits `model` stage by stage; returns their `StageRecord`s."""
        stages = self.task.stages(data, preprocessor)
        records = []
        for index, stage in enumerate(stages):
            if stage.steps_per_epoch is None:
                with self.clock("counting steps"):
                    stage.steps_per_epoch = count_steps(stage.data, self.strategy)
            before = None
            if index:
                with self.clock("evaluation"):
                    before = self.task.evaluate(model, data, preprocessor, validation)
                kept = (f"; the weights so far ({self.task.headline} "
                        f"{before[self.task.headline]:.4f}) stay unless an epoch beats them"
                        if self.task.setting("patience", 0) and validation is not None
                        else "")
                report.stage(f"Stage {stage.name} on {stage.source}{kept}")
            self.compile(model, stage)
            report.stage(
                f"Training ({stage.name}): {model.count_params():,} parameters, "
                f"{stage.epochs} epochs of {stage.steps_per_epoch:,} steps on "
                f"{self.strategy.num_replicas_in_sync} replica(s), XLA "
                f"{'on' if model.jit_compile else 'off'}, {model.steps_per_execution} "
                "step(s) per call")
            profile = self._profile_steps(stage, model)
            speed = TrainingThroughput()
            stage_dir = self.model_dir if not index else os.path.join(self.model_dir,
                                                                      stage.name)
            history, seconds = fit(
                model, stage.data, validation, epochs=stage.epochs, model_dir=stage_dir,
                patience=self.task.setting("patience", 0),
                monitor=self.task.setting("monitor", "val_loss"),
                callbacks=[speed.callback, *stage.callbacks], start_competes=bool(index),
                more_stages_follow=index < len(stages) - 1,
                profile_steps=profile)
            records.append(StageRecord(
                stage.name, stage.source, stage.examples, epochs_trained(history), seconds,
                speed.steps_per_second, speed.steps_per_second * stage.units_per_step,
                stage.throughput_unit, history.history, speed.compile_seconds or 0.0,
                speed.seconds, before))
            self.clock.add("compile", speed.compile_seconds or 0.0)
            self.clock.add("steps", speed.seconds)
            self.clock.add("validation+checkpoints",
                           seconds - (speed.compile_seconds or 0.0) - speed.seconds)
        clear_finished(self.model_dir)
        return records

    def _profile_steps(self, stage, model):
        """--profile_steps as (first, last), or None; says so when the stage
        has fewer calls than they name (Keras' profiler would stay silent)."""
        if not self.flags.profile_steps:
            return None
        first, last = (int(step) for step in self.flags.profile_steps)
        calls = -(-stage.epochs * stage.steps_per_epoch // model.steps_per_execution)
        if first > calls:
            report.stage(f"--profile_steps={first},{last}: stage {stage.name} makes only "
                         f"{calls:,} calls; nothing of it is profiled")
        elif last > calls:
            report.stage(f"--profile_steps={first},{last}: stage {stage.name} makes only "
                         f"{calls:,} calls; the profile ends with the last")
        return [first, last]

    def compile(self, model, stage):
        """Compiles `model` with a fresh optimizer (and schedule) over `stage`.
        Without a --jit flag the task's steps are not XLA-compiled."""
        flags = self.flags
        for name, value in stage.model_settings.items():
            setattr(model, name, value)
        with self.strategy.scope():
            model.compile(
                optimizer=self.task.optimizer(stage, stage.epochs * stage.steps_per_epoch, model),
                loss=self.task.loss(), **self.task.compile_metrics(),
                jit_compile=resolve_jit(self.task.setting("jit", "false"), self.strategy,
                                        _fixed_shapes(stage.data)),
                steps_per_execution=resolve_steps_per_execution(
                    flags.steps_per_execution, self.strategy,
                    stage.steps_per_epoch if stage.exact_steps else None))

    def query(self, path, data):
        """Asks the export what `demo_inputs` says, as a client would."""
        signature, inputs = self.task.demo_inputs(data)
        report.stage(f"Querying the export ({signature})")
        served = tf.saved_model.load(path).signatures[signature]
        outputs = served(**{name: tf.constant(values) for name, values in inputs.items()})
        return self.task.show_answers(inputs, {k: v.numpy() for k, v in outputs.items()})

    def summarize(self, result, data):
        stages = result.stages
        epochs = " + ".join(f"{r.epochs_run} {r.name}" if len(stages) > 1 else f"{r.epochs_run}"
                            for r in stages)
        rows = self.task.summary_rows(result.metrics, stages) + [
            ("training", f"{epochs} epochs, {result.training_seconds:.1f} s")]
        if data.rows.skipped:
            rows.append(("skipped rows", f"{data.rows.skipped} (see the run card)"))
        rows += [("time", self.clock.line()),
                 ("export", result.export_path),
                 ("run card", os.path.join(result.export_path, "run_card.json")),
                 ("logs", os.path.join(self.model_dir, "logs"))]
        report.summary(self.task.title(), rows)


def run(task_class, argv=None):
    """Parses `argv` for `task_class` and runs it; returns a `RunResult`.

    Bad flags and bad data end the run with a one-line message (exit status
    1) instead of a traceback.
    """
    flags = cli.parse(task_class, argv)
    task = task_class(flags)
    try:
        runner = _Runner(task)
        with compat.multi_worker_logs(runner.strategy), precision_policy(
                task.setting("precision", "float32")):
            return runner.run()
    except DataError as error:
        sys.exit(f"error: {error}")
