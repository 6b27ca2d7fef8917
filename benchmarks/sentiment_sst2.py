"""SST-2 sentiment benchmark: dev accuracy, training time and throughput.

    python benchmarks/sentiment_sst2.py

Trains on ../shared/data/sst2/train.tsv and reports on dev.tsv (never seen
in training; it also picks the best epoch, as GLUE dev results do). Runs:
  * speed: one epoch of the same Transformer fed four ways: padded to the
    longest sequence without XLA (the baseline), padded with XLA,
    length-bucketed without XLA (tfllm's default: `--jit=auto` leaves
    bucketed shapes uncompiled), and length-bucketed with XLA; ratios are
    against the baseline measured in this same run;
  * quality: the Transformer (plain, and with adversarial fine-tuning,
    `--finetune_adversarial_epsilon`) and the BiLSTM baseline trained on every
    phrase to early stop, then fine-tuned on the whole training sentences
    (`--finetune_data`, see `write_whole_sentences`), each with seeds 0, 1
    and 2 (one seed repeats a run exactly, but dev accuracy moves by about a
    point from seed to seed), and their mean. Rows give dev accuracy before
    and after fine-tuning.
Writes benchmarks/results/sentiment_sst2.json. Takes about 50 minutes on 2 cores.

    python benchmarks/sentiment_sst2.py "transformer, adversarial fine-tuning"

runs only the quality rows named (here in about 15 minutes) and writes
benchmarks/results/sentiment_sst2.<name>.json. The results hold
`target_command`, the `python -m tasks.sentiment` line of the target row,
whose fine-tuning data `--write_sentences=PATH` writes (`prepare_command`).
"""

import csv
import os
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from benchmarks.common import SHARED_DATA, print_table, write_results  # noqa: E402
from tasks import sentiment  # noqa: E402

SST2 = os.path.join(SHARED_DATA, "sst2")
COMMON = [f"--data={SST2}/train.tsv", f"--eval_data={SST2}/dev.tsv",
          "--label_names=negative,positive", "--sequence_length=64", "--batch_size=64"]
SEEDS = (0, 1, 2)
# Found by a short sweep on dev (see the closing note of issue 2): masked max
# pooling and word dropout each gained about a point over mean pooling.
TRANSFORMER = ["--model=transformer", "--hidden_dim=128", "--num_layers=2", "--num_heads=4",
               "--intermediate_dim=256", "--dropout=0.3", "--learning_rate=5e-4",
               "--weight_decay=0.05", "--pooling=max", "--token_dropout=0.1"]
LSTM = ["--model=lstm", "--hidden_dim=128", "--num_layers=1", "--dropout=0.3",
        "--learning_rate=1e-3"]
SPEED_RUNS = [
    ("speed", "padded, no XLA (baseline)",
     TRANSFORMER + ["--epochs=1", "--nobucket", "--jit=false"]),
    ("speed", "padded + XLA", TRANSFORMER + ["--epochs=1", "--nobucket", "--jit=true"]),
    ("speed", "bucketed, no XLA (default)", TRANSFORMER + ["--epochs=1", "--jit=auto"]),
    ("speed", "bucketed + XLA", TRANSFORMER + ["--epochs=1", "--jit=true"]),
]
# Adversarial training (`--adversarial_epsilon`) from the first step left
# the first epoch at chance and lowered the mean; in fine-tuning alone it
# helps a little. Fine-tuning seeds 0-2 from the same first-stage weights,
# the mean of each seed's best dev accuracy was 0.8192 plain, 0.8200 at 2%
# of the embedding norm and 0.8219 at 4%; at 8% seed 0 fell to 0.76-0.78.
ADVERSARIAL = ["--finetune_adversarial_epsilon=0.04"]
QUALITY_RUNS = [
    ("transformer", TRANSFORMER + ["--epochs=3", "--patience=2"]),
    ("transformer, adversarial fine-tuning",
     TRANSFORMER + ADVERSARIAL + ["--epochs=3", "--patience=2"]),
    ("lstm", LSTM + ["--epochs=4", "--patience=2"]),
]


def write_whole_sentences(path):
    """Writes the training phrases that no other training phrase contains.

    SST-2's train.tsv holds the labelled phrases of the parse trees of about
    6,900 training sentences (mean 9.4 words), while dev holds whole
    sentences (mean 19.5 words). A phrase inside no other phrase is the root
    of its tree: a whole sentence. Fine-tuning on these adapts the model to
    what dev looks like, using training data only. Returns their count.
    """
    with open(os.path.join(SST2, "train.tsv"), newline="") as f:
        rows = list(csv.reader(f, delimiter="\t", quoting=csv.QUOTE_NONE))[1:]
    inside = set()
    for text, _ in rows:
        words = text.split()
        inside.update(" ".join(words[i:j]) for i in range(len(words))
                      for j in range(i + 1, len(words) + 1) if j - i < len(words))
    roots = [(text, label) for text, label in rows if text.strip() not in inside]
    with open(path, "w", newline="") as f:
        writer = csv.writer(f, delimiter="\t", quoting=csv.QUOTE_NONE, lineterminator="\n")
        writer.writerows([("sentence", "label"), *roots])
    return len(roots)


def run(kind, name, flags, seed=0):
    """One run of the sentiment task as a user would start it, as a table row."""
    with tempfile.TemporaryDirectory() as scratch:
        result = sentiment.main(["sentiment", *COMMON, *flags, f"--seed={seed}",
                                 f"--model_dir={scratch}/run", f"--export_dir={scratch}/export"])
    train, *finetune = result.stages
    seconds = result.training_seconds
    examples = sum(stage.epochs_run * stage.examples for stage in result.stages)
    row = {"kind": kind, "run": name, "seed": seed, "flags": " ".join(flags),
           "epochs": train.epochs_run}
    if finetune:
        row["finetune_epochs"] = finetune[0].epochs_run
        row["dev_accuracy_before_finetune"] = round(finetune[0].metrics_before["accuracy"], 4)
    return {
        **row,
        "train_seconds": round(seconds, 1),
        "train_examples_per_s": round(examples / seconds, 1),
        "dev_accuracy": round(result.metrics["accuracy"], 4),
        "dev_macro_f1": round(result.metrics["macro_f1"], 4),
    }


def seed_mean(rows):
    """One row with the mean of the seeded `rows`' figures."""
    mean = {"kind": "quality mean", "run": rows[0]["run"],
            "seed": ",".join(str(r["seed"]) for r in rows)}
    for key in ("epochs", "finetune_epochs", "train_seconds", "train_examples_per_s",
                "dev_accuracy_before_finetune", "dev_accuracy", "dev_macro_f1"):
        mean[key] = round(sum(r[key] for r in rows) / len(rows), 4 if "dev" in key else 1)
    return mean


def finetuning(sentences):
    return [f"--finetune_data={sentences}", "--finetune_epochs=4",
            "--finetune_learning_rate=3e-4"]


# The target row's fine-tuning data, written from train.tsv (nothing of dev).
SENTENCES = "/tmp/sst2_whole_sentences.tsv"
PREPARE_COMMAND = f"python benchmarks/sentiment_sst2.py --write_sentences={SENTENCES}"


def target_command():
    """The command that trains and exports the target row's model (seed 0),
    run from the project root after `PREPARE_COMMAND`."""
    flags = dict(QUALITY_RUNS)["transformer, adversarial fine-tuning"]
    common = [flag.replace(SHARED_DATA, "../shared/data") for flag in COMMON]
    return " ".join(["python -m tasks.sentiment", *common, *flags, *finetuning(SENTENCES),
                     "--seed=0"])


def main(only=()):
    """Runs the benchmark; with names of quality runs in `only`, just those
    (no speed rows), written to their own results file."""
    unknown = set(only) - {name for name, _ in QUALITY_RUNS}
    if unknown:
        sys.exit(f"error: no quality run named {sorted(unknown)}; "
                 f"the runs are {[name for name, _ in QUALITY_RUNS]}")
    started = time.perf_counter()
    rows = [] if only else [run(*spec) for spec in SPEED_RUNS]
    for row in rows:
        row["speed_vs_baseline"] = round(
            row["train_examples_per_s"] / rows[0]["train_examples_per_s"], 2)
    with tempfile.TemporaryDirectory() as scratch:
        sentences = os.path.join(scratch, "sentences.tsv")
        count = write_whole_sentences(sentences)
        for name, flags in QUALITY_RUNS:
            if only and name not in only:
                continue
            seeded = [run("quality", name, flags + finetuning(sentences), seed)
                      for seed in SEEDS]
            rows += seeded + [seed_mean(seeded)]
    print()
    print_table(rows, ["kind", "run", "seed", "epochs", "finetune_epochs", "train_seconds",
                       "train_examples_per_s", "speed_vs_baseline",
                       "dev_accuracy_before_finetune", "dev_accuracy", "dev_macro_f1"])
    name = "sentiment_sst2" + "".join(
        "." + "_".join(run_name.replace(",", "").split()) for run_name in only)
    path = write_results(name, rows, started,
                         target_command=target_command(), prepare_command=PREPARE_COMMAND,
                         split="SST-2 dev.tsv (872 examples)",
                         finetune_data=f"{count} whole training sentences (write_whole_sentences)",
                         budget="speed: 1 epoch each, seed 0; quality: transformer up to 3 "
                                "epochs, lstm up to 4, then up to 4 epochs of fine-tuning on "
                                "the whole training sentences (learning rate 3e-4), seeds 0-2 "
                                "each, early stop on dev accuracy (patience 2) in both stages; "
                                "train_seconds include both stages, the per-epoch dev "
                                "evaluation and XLA compilation")
    print(f"\nwrote {path}")


if __name__ == "__main__":
    if len(sys.argv) == 2 and sys.argv[1].startswith("--write_sentences="):
        path = sys.argv[1].split("=", 1)[1]
        print(f"wrote {write_whole_sentences(path)} whole training sentences to {path}")
    else:
        main(sys.argv[1:])
