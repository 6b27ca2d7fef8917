"""Command-line flags shared by every task, defined once.

Tasks set their own defaults with `tfllm.cli.run` instead of redefining
flags, so several task modules can be imported in one process (as the tests
do).
"""

from absl import flags

from tfllm.training.strategy import STRATEGIES

# Data.
flags.DEFINE_string(
    "data", "sample",
    "Training data: 'sample' (bundled demo data), 'tfds:NAME[/CONFIG][:SPLIT]', "
    "or a local file (.csv, .tsv, .jsonl, .txt).")
flags.DEFINE_string(
    "eval_data", None,
    "Evaluation data, same forms as --data. Default: hold out --eval_fraction of --data.")
flags.DEFINE_float("eval_fraction", 0.1, "Share of --data held out when --eval_data is not set.")
flags.DEFINE_string("text_field", None, "Text column/field (default: found by common names).")
flags.DEFINE_string("label_field", None, "Label column/field (default: found by common names).")
flags.DEFINE_list(
    "label_names", None,
    "Names for integer labels 0..N-1, e.g. negative,positive. String labels name themselves.")
flags.DEFINE_bool(
    "skip_bad_rows", False,
    "Skip malformed rows (counted in the report) instead of stopping at the first one.")
flags.DEFINE_bool("lowercase", True, "Lowercase text when cleaning it.")
flags.DEFINE_enum("tokenizer", "wordpiece", ["wordpiece", "sentencepiece", "char", "byte"],
                  "Tokenizer to train or use (not every task accepts every kind).")
flags.DEFINE_integer("vocab_size", 8000, "Vocabulary size for trained tokenizers.")
flags.DEFINE_integer("sequence_length", 128, "Longest token sequence the model sees.")

# Model.
flags.DEFINE_string("model", "transformer", "Model family (the task lists its choices).")
flags.DEFINE_integer("hidden_dim", 128, "Width of embeddings and hidden states.")
flags.DEFINE_integer("num_layers", 2, "Number of Transformer blocks (or LSTM layers).")
flags.DEFINE_integer("num_heads", 4, "Attention heads per Transformer block.")
flags.DEFINE_integer("intermediate_dim", 256, "Width of each Transformer feed-forward layer.")
flags.DEFINE_float("dropout", 0.1, "Dropout rate.")
flags.DEFINE_string("initializer", "glorot_uniform",
                    "Kernel initializer: glorot_uniform (Xavier), he_normal, ...")

# Training.
flags.DEFINE_integer("epochs", 3, "Training epochs.")
flags.DEFINE_integer("batch_size", 32, "Global batch size (split across replicas).")
flags.DEFINE_float("learning_rate", 1e-3, "Peak learning rate of AdamW.")
flags.DEFINE_float("warmup_fraction", 0.1, "Share of training steps spent warming up linearly.")
flags.DEFINE_float("weight_decay", 0.01, "AdamW weight decay.")
flags.DEFINE_float("clipnorm", 1.0, "Clip gradients to this global norm (0: no clipping).")
flags.DEFINE_float("ema", 0.0,
                   "Keep a moving average of the weights with this momentum (e.g. 0.999) "
                   "and evaluate, select and export it (0: off).")
flags.DEFINE_integer("patience", 2, "Early stopping patience in epochs (0: off).")
flags.DEFINE_string("monitor", "val_loss",
                    "Validation metric for early stopping and for keeping the best epoch.")
flags.DEFINE_enum("jit", "auto", ["auto", "true", "false"],
                  "XLA-compile training steps. auto: wherever the strategy allows.")
flags.DEFINE_integer("steps_per_execution", 1, "Training steps per tf.function call.")
flags.DEFINE_enum("strategy", "default", list(STRATEGIES), "tf.distribute strategy.")
flags.DEFINE_string("tpu", "", "TPU address for --strategy=tpu (empty: the local TPU).")
flags.DEFINE_integer("seed", 42, "Random seed for data order, initialization and dropout.")

# Outputs.
flags.DEFINE_string("model_dir", None,
                    "Checkpoints, TensorBoard logs and the report. Default: runs/<task>.")
flags.DEFINE_string("export_dir", None, "Export root. Default: saved_models/<task>.")
flags.DEFINE_integer("export_version", None, "Export version (default: the next integer).")
flags.DEFINE_bool("tf_logs", False, "Show TensorFlow's own log output.")

FLAGS = flags.FLAGS
