"""Masked-LM pretraining, then SST-2 fine-tuning, against the same encoder from scratch.

    python benchmarks/pretrain_transfer.py              # about 90 minutes on 2 cores
    python benchmarks/pretrain_transfer.py --reuse      # fine-tuning only, from the
                                                        # export PRETRAIN_COMMAND wrote
    python benchmarks/pretrain_transfer.py --reuse --seeds=1   # another seed, added to
                                                               # the rows already written
    python benchmarks/pretrain_transfer.py --memory     # peak RSS of the input path
                                                        # over 1x and 4x the corpus

1. Pretrains a small BERT (PRETRAIN_COMMAND, `python -m tasks.pretrain` as a
   user starts it, through its `main`) by masked LM on books of corpus_en
   and the SST-2 training sentences without their labels, and records
   pretraining tokens/s and held-out masked-token accuracy after each epoch,
   with the time it was reached.
2. Fine-tunes sentiment on SST-2 train.tsv from that export (`--init_from`)
   and, in the same script run, from the same architecture and vocabulary
   with random weights (keras-hub `from_preset(load_weights=False)`, saved as
   a preset beside it), with the same fine-tuning flags and budget, seeds
   alternating; scores both on dev.tsv (never trained or tuned on here).

3. (`--memory`) Peak RSS of the pretraining input path (lines counted,
   vocabulary trained, every training batch packed and masked) over one part
   of corpus_en and over all four, each in a fresh process: the corpus is a
   stream, so memory should not grow with it.

Writes benchmarks/results/pretrain_transfer.json (with `pretrain_command`,
and `target_command`, the fine-tuned row's command) and prints the tables.
"""

import json
import os
import shlex
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import tfllm  # noqa: E402,F401  (imports TensorFlow quietly)

import keras_hub  # noqa: E402

from benchmarks.common import RESULTS, print_table, write_results  # noqa: E402
from tasks import pretrain, sentiment  # noqa: E402
from tfllm.models.presets import preset_path, save_preset  # noqa: E402

DATA = os.path.join("..", "shared", "data")
SST2 = os.path.join(DATA, "sst2")
PRETRAINED = os.path.join("saved_models", "pretrain_corpus_en")
# One part of corpus_en (about 4M words of books) and SST-2's training
# sentences (listed twice, so they weigh more), read in turns. Session 1
# (64 x 128 tokens a step, 2 passes, peak 5e-4) stalled at 0.13 held-out
# masked accuracy after 1,618 steps; session 2 takes 32 x 128 tokens a step
# (3,706 steps in 2 passes), with a higher peak and a longer warmup. On
# float32 (this machine's CPU has no AMX, and bfloat16 is slower than float32
# without it) the 1,024-wide feed-forward layers trained 2.4k tokens/s, which
# would have taken 2 passes past the 90-minute budget: they are 512 wide.
# XLA gave no steady gain on CPU (issue 19), hence --jit=false.
PRETRAIN = [f"--data={DATA}/corpus_en/part-00.txt.gz,{SST2}/train.tsv,{SST2}/train.tsv",
            "--text_field=sentence", "--objective=mlm", "--vocab_size=8000",
            "--sequence_length=128", "--hidden_dim=256", "--num_layers=4", "--num_heads=4",
            "--intermediate_dim=512", "--dropout=0.1", "--batch_size=32",
            "--learning_rate=1e-3", "--warmup_fraction=0.1", "--weight_decay=0.01",
            "--epochs=2", "--eval_fraction=0.005", "--jit=false",
            "--seed=0", f"--export_dir={PRETRAINED}"]
FINE_TUNE = [f"--data={SST2}/train.tsv", f"--eval_data={SST2}/dev.tsv",
             "--label_names=negative,positive", "--sequence_length=64", "--batch_size=32",
             "--learning_rate=1e-4", "--warmup_fraction=0.1", "--dropout=0.1", "--epochs=1",
             "--patience=2", "--jit=false"]
SEEDS = (0,)  # one epoch of SST-2 is 7-14 minutes a run here


def command(task, flags):
    return f"python -m tasks.{task} " + " ".join(shlex.quote(flag) for flag in flags)


def run_pretraining(scratch):
    result = pretrain.main(["pretrain", *PRETRAIN, f"--model_dir={scratch}/pretrain"])
    history = result.stages[0].history
    tokens_per_step = 32 * 128  # --batch_size x --sequence_length
    curve = [{"epoch": epoch + 1, "seconds": round(seconds, 1),
              "tokens": int(steps * tokens_per_step),
              "val_masked_accuracy": round(accuracy, 4), "train_loss": round(loss, 4)}
             for epoch, (seconds, steps, accuracy, loss) in enumerate(zip(
                 history["elapsed_seconds"], history["trained_steps"],
                 history["val_masked_accuracy"], history["loss"]))]
    return {"train_seconds": round(result.training_seconds, 1),
            "tokens_per_second": round(result.stages[0].throughput),
            "masked_accuracy": round(result.metrics["masked_accuracy"], 4),
            "masked_perplexity": round(result.metrics["masked_perplexity"], 2)}, curve


def random_copy(preset, folder):
    """The preset's architecture and tokenizer with fresh random weights."""
    backbone = keras_hub.models.Backbone.from_preset(preset, load_weights=False)
    save_preset(backbone, keras_hub.tokenizers.Tokenizer.from_preset(preset), folder)
    return folder


def fine_tune(name, init_from, seed, scratch):
    flags = [*FINE_TUNE, f"--init_from={init_from}", f"--seed={seed}"]
    result = sentiment.main(["sentiment", *flags, f"--model_dir={scratch}/{name}-{seed}",
                             f"--export_dir={scratch}/{name}-{seed}-export"])
    stage = result.stages[0]
    return {"run": name, "seed": seed, "epochs": stage.epochs_run,
            "train_seconds": round(result.training_seconds, 1),
            "examples_per_second": round(stage.throughput),
            "dev_accuracy": round(result.metrics["accuracy"], 4),
            "dev_macro_f1": round(result.metrics["macro_f1"], 4)}


def memory_probe(spec):
    """Prints, as JSON, the peak RSS of one pass of the pretraining input
    path over `spec` (counting lines, training the vocabulary, packing and
    masking every training batch), as `python -m tasks.pretrain` runs it."""
    import resource

    from tfllm import cli
    from tfllm.training.loop import count_batches

    with tempfile.TemporaryDirectory() as scratch:
        flags = cli.parse(pretrain.Pretrain, [
            "pretrain", f"--data={spec}", *[f for f in PRETRAIN if f.startswith(
                ("--text_field", "--vocab_size", "--sequence_length", "--batch_size"))],
            f"--model_dir={scratch}/run"])
        task = pretrain.Pretrain(flags)
        data = task.load_data()
        preprocessor = task.build_preprocessor(data)
        batches = count_batches(task.stages(data, preprocessor)[0].data)
    print(json.dumps({"lines": data.line_count, "batches": batches,
                      "peak_rss_mib": round(resource.getrusage(
                          resource.RUSAGE_SELF).ru_maxrss / 1024)}))


def memory_rows():
    """Peak RSS of the input path over 1x and 4x the corpus, each in a fresh process."""
    import subprocess

    rows = []
    for scale, parts in (("1x", "part-00.txt.gz"), ("4x", "part-0[0-3].txt.gz")):
        started = time.perf_counter()
        probe = subprocess.run(
            [sys.executable, os.path.abspath(__file__), "--memory_probe",
             f"{DATA}/corpus_en/{parts}"], capture_output=True, text=True, check=True)
        row = json.loads(probe.stdout.strip().splitlines()[-1])
        rows.append({"corpus": f"{scale} ({parts})", **row,
                     "seconds": round(time.perf_counter() - started, 1)})
    return rows


def main(argv):
    started = time.perf_counter()
    if "--memory_probe" in argv:
        return memory_probe(argv[argv.index("--memory_probe") + 1])
    if "--memory" in argv:
        rows = memory_rows()
        print_table(rows, ["corpus", "lines", "batches", "peak_rss_mib", "seconds"])
        # The memory rows measure the input path of this command's pretraining.
        path = write_results("pretrain_memory", rows, started,
                             target_command=command("pretrain", PRETRAIN))
        print(f"\nwrote {path}")
        return None
    pretraining, curve = None, []
    with tempfile.TemporaryDirectory() as scratch:
        if "--reuse" not in argv:
            pretraining, curve = run_pretraining(scratch)
            # Kept at once: the fine-tuning below takes a while.
            write_results("pretrain_transfer", [], started, pretraining=pretraining,
                          pretraining_curve=curve, pretrain_command=command("pretrain", PRETRAIN))
        preset = preset_path(PRETRAINED)
        random = random_copy(preset, os.path.join(scratch, "random_preset"))
        seeds = SEEDS
        for arg in argv:
            if arg.startswith("--seeds="):
                seeds = tuple(int(seed) for seed in arg.split("=", 1)[1].split(","))
        rows = []
        for seed in seeds:
            rows.append(fine_tune("pretrained", PRETRAINED, seed, scratch))
            rows.append(fine_tune("from scratch (same encoder)", random, seed, scratch))
    if pretraining is None:  # --reuse: keep the figures of the run that pretrained,
        with open(os.path.join(RESULTS, "pretrain_transfer.json")) as f:
            kept = json.load(f)
        pretraining, curve = kept["pretraining"], kept["pretraining_curve"]
        # and its fine-tuning rows of other seeds.
        rows = [row for row in kept["runs"] if row["seed"] not in seeds] + rows
    print("\nPretraining (held-out masked-token accuracy after each epoch):")
    print_table(curve, ["epoch", "seconds", "tokens", "val_masked_accuracy", "train_loss"])
    print("\nSST-2 dev, fine-tuned with the same flags and budget:")
    print_table(rows, ["run", "seed", "epochs", "train_seconds", "examples_per_second",
                       "dev_accuracy"])
    mean = {}
    for name in ("pretrained", "from scratch (same encoder)"):
        scores = [r["dev_accuracy"] for r in rows if r["run"] == name]
        mean[name] = sum(scores) / len(scores)
    gain = mean["pretrained"] - mean["from scratch (same encoder)"]
    print(f"\npretrained {mean['pretrained']:.4f} vs from scratch "
          f"{mean['from scratch (same encoder)']:.4f}: {100 * gain:+.2f} points (mean over "
          f"{len(rows) // 2} seed(s))")
    path = write_results(
        "pretrain_transfer", rows, started, pretraining=pretraining, pretraining_curve=curve,
        mean_dev_accuracy=mean, gain_points=round(100 * gain, 2),
        pretrain_command=command("pretrain", PRETRAIN),
        target_command=command("sentiment", [*FINE_TUNE, f"--init_from={PRETRAINED}",
                                             "--seed=0"]))
    print(f"\nwrote {path}")


if __name__ == "__main__":
    main(sys.argv)
