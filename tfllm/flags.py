"""Command-line flags: the ones tasks share, defined once, and how a task declares its own.

absl flags are global by default, so every task imported into one process
(tests, benchmarks, a notebook) would see every other task's flags, values
and defaults. Instead each run defines, into a fresh `absl.flags.FlagValues`,
exactly the flags its task reads: the runner's (`RUNNER`), the shared ones
the task names (`Task.shared_flags`) with the task's defaults, and the
task's own (`Task.own_flags`). So a task's `--helpfull` lists only those, a
shared flag the task does not read stops the run, and the run card records
exactly the task's flags.

A flag is declared as a `Flag` (a spec, defined later into a run's flags):

>>> POOLING = enum_flag("pooling", "mean", ["mean", "max"], "How to pool positions.")
>>> values = flags.FlagValues()
>>> define(values, "sentiment", own=[POOLING], shared=["epochs"], defaults={"epochs": 5})
>>> values(["prog", "--pooling=max"]).pooling  # doctest: +SKIP
"""

import dataclasses

from absl import flags

from tfllm.data.curriculum import KINDS as CURRICULA
from tfllm.training.optimizers import DECAYS
from tfllm.training.precision import PRECISIONS
from tfllm.training.strategy import STRATEGIES


@dataclasses.dataclass(frozen=True)
class Flag:
    """A flag not yet defined: absl's `DEFINE_*` function and its arguments."""

    define_function: object
    name: str
    default: object
    help: str
    group: str = None  # shared flags: "data", "model", "training" or "run"
    arguments: dict = dataclasses.field(default_factory=dict)

    def define(self, flag_values, module_name, default=None, enum_values=None):
        """Defines the flag into `flag_values`; `default` overrides the spec's,
        and a shared enum flag takes a task's `enum_values` (its default
        then being the first of them unless it is one)."""
        arguments = dict(self.arguments)
        default = self.default if default is None else default
        if enum_values is not None:
            arguments["enum_values"] = list(enum_values)
            if default not in enum_values:
                default = enum_values[0]
        self.define_function(name=self.name, default=default, help=self.help,
                             flag_values=flag_values, module_name=module_name, **arguments)


def string_flag(name, default, help, **arguments):
    return Flag(flags.DEFINE_string, name, default, help, arguments=arguments)


def integer_flag(name, default, help, **arguments):
    return Flag(flags.DEFINE_integer, name, default, help, arguments=arguments)


def float_flag(name, default, help, **arguments):
    return Flag(flags.DEFINE_float, name, default, help, arguments=arguments)


def bool_flag(name, default, help):
    return Flag(flags.DEFINE_bool, name, default, help)


def enum_flag(name, default, values, help):
    return Flag(flags.DEFINE_enum, name, default, help, arguments={"enum_values": list(values)})


def list_flag(name, default, help):
    return Flag(flags.DEFINE_list, name, default, help)


def multi_string_flag(name, default, help):
    return Flag(flags.DEFINE_multi_string, name, default, help)


def _shared(group, spec):
    return dataclasses.replace(spec, group=group)


_SHARED = [
    # Data.
    _shared("data", string_flag(
        "data", "sample",
        "Training data: 'sample' (bundled demo data), 'tfds:NAME[/CONFIG][:SPLIT]', or local "
        "files (a path or glob; the task says which formats it reads).")),
    _shared("data", string_flag(
        "eval_data", None,
        "Evaluation data, same forms as --data. Default: hold out --eval_fraction of --data.")),
    _shared("data", float_flag("eval_fraction", 0.1,
                               "Share of --data held out when --eval_data is not set.",
                               lower_bound=0.0, upper_bound=1.0)),
    _shared("data", bool_flag(
        "skip_bad_rows", False,
        "Skip malformed rows (counted in the report) instead of stopping at the first one.")),
    _shared("data", string_flag("text_field", None,
                                "Text column/field (default: found by common names).")),
    _shared("data", string_flag("label_field", None,
                                "Label column/field (default: found by common names).")),
    _shared("data", list_flag(
        "label_names", None,
        "Names for integer labels 0..N-1, e.g. negative,positive; string labels name "
        "themselves. Every class must be listed here or seen often enough in training.")),
    _shared("data", bool_flag("lowercase", True, "Lowercase text when cleaning it.")),
    _shared("data", Flag(flags.DEFINE_enum, "tokenizer", "wordpiece",
                         "Tokenizer to train (or, for char and byte, to use).")),
    _shared("data", integer_flag("vocab_size", 8000, "Vocabulary size of trained tokenizers.",
                                 lower_bound=8)),
    _shared("data", integer_flag("sequence_length", 128, "Longest token sequence the model sees.",
                                 lower_bound=2)),
    # Model.
    _shared("model", Flag(flags.DEFINE_enum, "model", "transformer", "Model family.")),
    _shared("model", integer_flag("hidden_dim", 128, "Width of embeddings and hidden states.",
                                  lower_bound=1)),
    _shared("model", integer_flag("num_layers", 2,
                                  "Number of Transformer blocks (or LSTM layers).",
                                  lower_bound=1)),
    _shared("model", integer_flag("num_heads", 4, "Attention heads per Transformer block.",
                                  lower_bound=1)),
    _shared("model", integer_flag("intermediate_dim", 256,
                                  "Width of each Transformer feed-forward layer.",
                                  lower_bound=1)),
    _shared("model", float_flag("dropout", 0.1, "Dropout rate.", lower_bound=0.0,
                                upper_bound=0.95)),
    _shared("model", string_flag("initializer", "glorot_uniform",
                                 "Kernel initializer: glorot_uniform (Xavier), he_normal, ...")),
    _shared("model", string_flag(
        "pretrained_embeddings", None,
        "Word vectors (word2vec text format, e.g. a word2vec export's "
        "assets.extra/vectors.txt, or GloVe's files) to start the token embedding from; "
        "their dimension must be --hidden_dim. Best with --tokenizer=word.")),
    _shared("model", bool_flag("freeze_embeddings", False,
                               "Keep the --pretrained_embeddings fixed during training.")),
    _shared("model", string_flag(
        "init_from", None,
        "Start from a pretrained encoder and its tokenizer: a keras-hub preset directory, a "
        "pretraining export (saved_models/pretrain, or one version of it), or, with "
        "internet, a keras-hub preset name such as bert_tiny_en_uncased. The model flags "
        "then come from the preset.")),
    _shared("model", integer_flag("freeze_layers", 0,
                                  "With --init_from: keep the embeddings and the first N "
                                  "Transformer blocks fixed.", lower_bound=0)),
    _shared("model", float_flag("layer_decay", 1.0,
                                "With --init_from: each block trains at this factor of the "
                                "rate of the block above it (the head at the full rate); "
                                "1: one rate for all.", lower_bound=0.0, upper_bound=1.0)),
    # Training.
    _shared("training", integer_flag("epochs", 3, "Training epochs.", lower_bound=1)),
    _shared("training", integer_flag("batch_size", 32,
                                     "Global batch size (split across replicas).",
                                     lower_bound=1)),
    _shared("training", float_flag("learning_rate", 1e-3, "Peak learning rate.",
                                   lower_bound=0.0)),
    _shared("training", float_flag("warmup_fraction", 0.1,
                                   "Share of training steps spent warming up linearly.",
                                   lower_bound=0.0, upper_bound=1.0)),
    _shared("training", float_flag("weight_decay", 0.01, "AdamW weight decay.",
                                   lower_bound=0.0)),
    _shared("training", enum_flag("decay", "cosine", DECAYS,
                                  "Learning-rate decay after the warmup: cosine (to a tenth "
                                  "of the peak at the end) or inverse_sqrt (Vaswani et al.).")),
    _shared("training", float_flag("beta_2", 0.999, "AdamW's second-moment decay.",
                                   lower_bound=0.0, upper_bound=1.0)),
    _shared("training", float_flag("clipnorm", 1.0,
                                   "Clip gradients to this global norm (0: no clipping).",
                                   lower_bound=0.0)),
    _shared("training", float_flag(
        "ema", 0.0,
        "Keep a moving average of the weights with this momentum (e.g. 0.999) and evaluate, "
        "select and export it (0: off).", lower_bound=0.0, upper_bound=0.99999)),
    _shared("training", enum_flag(
        "curriculum", "none", CURRICULA,
        "length: short sequences first, widening to all lengths over --curriculum_epochs "
        "(a competence schedule, Platanios et al. 2019); none: every length from the start.")),
    _shared("training", integer_flag("curriculum_epochs", 1,
                                     "Epochs over which --curriculum=length widens to all "
                                     "lengths.", lower_bound=1)),
    _shared("training", integer_flag("patience", 2,
                                     "Early stopping patience in epochs (0: off).",
                                     lower_bound=0)),
    _shared("training", Flag(flags.DEFINE_enum, "monitor", "val_loss",
                             "Metric for early stopping and for keeping the best epoch.")),
    _shared("training", enum_flag("jit", "auto", ["auto", "true", "false"],
                                  "XLA-compile training steps. auto: where the strategy allows "
                                  "it and batches have one shape.")),
    _shared("training", enum_flag("precision", "float32", PRECISIONS,
                                  "Numerics: float32, or mixed_bfloat16 (bfloat16 compute, "
                                  "float32 weights, logits and loss; fast on CPUs with AMX).")),
    _shared("training", integer_flag("steps_per_execution", 1,
                                     "Training steps per tf.function call.", lower_bound=1)),
    # The run: where it runs and where its results go.
    _shared("run", enum_flag("strategy", "default", STRATEGIES, "tf.distribute strategy.")),
    _shared("run", string_flag("tpu", "", "TPU address for --strategy=tpu (empty: local TPU).")),
    _shared("run", integer_flag("seed", 42,
                                "Random seed for data order, initialization and dropout.")),
    _shared("run", string_flag("model_dir", None,
                               "Checkpoints, TensorBoard logs, the run's flags and preprocessor. "
                               "Default: runs/<task>.")),
    _shared("run", string_flag("export_dir", None, "Export root. Default: saved_models/<task>.")),
    _shared("run", integer_flag("export_version", None,
                                "Export version (default: the next integer).", lower_bound=1)),
    _shared("run", bool_flag("tf_logs", False, "Show TensorFlow's own log output.")),
    _shared("run", list_flag("profile_steps", None,
                             "FIRST,LAST: write a TensorFlow profile of these training steps "
                             "(counted from 1; calls, with --steps_per_execution above 1) to "
                             "<model_dir>/logs/train, for TensorBoard's Profile tab or "
                             "benchmarks/profile_steps.py.")),
]
SHARED = {spec.name: spec for spec in _SHARED}

# Every task reads these: the runner uses them.
RUNNER = tuple(spec.name for spec in _SHARED if spec.group == "run")
# Groups a task can name in `shared_flags`.
DATA = ("data", "eval_data", "eval_fraction", "skip_bad_rows")
TOKENIZATION = ("tokenizer", "vocab_size", "sequence_length")
MODEL = ("hidden_dim", "num_layers", "num_heads", "intermediate_dim", "dropout", "initializer")
EMBEDDINGS = ("pretrained_embeddings", "freeze_embeddings")
TRANSFER = ("init_from", "freeze_layers", "layer_decay")
# The training loop's own flags; a task with its own optimizer (say plain
# SGD) reads these and leaves out the AdamW and selection groups.
LOOP = ("epochs", "batch_size", "learning_rate", "steps_per_execution")
ADAMW = ("warmup_fraction", "weight_decay", "decay", "beta_2", "clipnorm", "ema")
# Early stopping and best-epoch selection, on validation data; XLA; numerics.
SELECTION = ("patience", "monitor")
TRAINING = LOOP + ADAMW + SELECTION + ("jit", "precision")
CURRICULUM = ("curriculum", "curriculum_epochs")

GROUP_TITLES = {"data": "data flags (shared)", "model": "model flags (shared)",
                "training": "training flags (shared)", "run": "run flags (shared)"}


def define(flag_values, task_name, own=(), shared=(), defaults=None, choices=None):
    """Defines the runner's flags, the `shared` ones named and the task's `own`
    into `flag_values`, with the task's `defaults`. `choices` gives the values
    of the shared enum flags (`model`, `tokenizer`, `monitor`) for this task."""
    defaults, choices = defaults or {}, choices or {}
    names = list(RUNNER) + [name for name in shared if name not in RUNNER]
    for name in names:
        spec = SHARED[name]
        if spec.define_function is flags.DEFINE_enum and "enum_values" not in spec.arguments \
                and name not in choices:
            raise ValueError(f"task {task_name} reads --{name} and must give its choices")
        spec.define(flag_values, GROUP_TITLES[spec.group], defaults.get(name),
                    choices.get(name))
    for spec in own:
        spec.define(flag_values, f"{task_name} flags", defaults.get(spec.name))
    unknown = set(defaults) - set(names) - {spec.name for spec in own}
    if unknown:
        raise ValueError(f"task {task_name} sets defaults of flags it does not read: "
                         f"{sorted(unknown)}")


def values(flag_values):
    """The values of a run's flags (not absl's own), JSON-ready."""
    return {name: flag_values[name].value for name in flag_values
            if flag_values.find_module_defining_flag(name, "") != "absl.flags"}
