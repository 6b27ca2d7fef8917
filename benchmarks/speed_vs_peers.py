"""Speed side by side with the peers: nanoGPT, and the keras.io Transformer recipe.

    NANOGPT_DIR=/path/to/nanoGPT python benchmarks/speed_vs_peers.py [--pairs=2] [--rows=...]
        [--precision=mixed_bfloat16]

Two rows, each run as a new user runs it, one process after the other,
peer and tfllm alternating (A B A B) so drift on this shared machine hits
both alike, with each pair's ratio reported:

* `shakespeare`: character-level Tiny Shakespeare at nanoGPT's CPU
  configuration (4 layers, 4 heads, width 128, context 64, batch 12, 2000
  steps, dropout 0). The peer is nanoGPT's own `train.py`
  (karpathy/nanoGPT, commit 3adf61e; `--nanogpt_dir` or `NANOGPT_DIR`)
  with its README's CPU overrides, on a copy of its folder whose
  `data/shakespeare_char/input.txt` is ../shared/data/tinyshakespeare/
  train.txt (its `prepare.py` keeps the last 10% for validation, as
  `--eval_fraction=0.1` does). It needs PyTorch (a benchmark-only
  dependency); without it or the folder the row is skipped with a message.
  nanoGPT's steady speed is the median of its per-iteration times (the
  iterations that evaluate left out); its validation loss is its own
  estimate over 20 batches, ours is over every validation character.
* `sst2`: SST-2 at the keras.io recipe's sizes (embed 32, 2 heads,
  feed-forward 32, 1 block, maxlen 64, batch 32, 2 epochs); the peer is
  `benchmarks/peers/keras_io_transformer.py`.

For every run: whole-process wall time, training seconds, steady
throughput, quality, and model FLOPs per second as a share of this CPU's
float32 matmul peak (measured here, 2048x1024x1024); for tfllm's runs also
where the command's time went (`phase_seconds`, from its closing summary).
The results JSON names the CPU and whether it has AMX and AVX-512.
Writes benchmarks/results/speed_vs_peers.json; a run of some rows only, or
with tfllm at `--precision=mixed_bfloat16` (the peers stay float32), writes
speed_vs_peers.<rows>.<precision>.json beside it.
"""

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from benchmarks.common import REPO, SHARED_DATA, print_table, write_results  # noqa: E402

SHAKESPEARE = os.path.join(SHARED_DATA, "tinyshakespeare", "train.txt")
SST2 = os.path.join(SHARED_DATA, "sst2")
# nanoGPT's README, "I only have a macbook": its CPU overrides of config/train_shakespeare_char.py.
NANOGPT_FLAGS = ["config/train_shakespeare_char.py", "--device=cpu", "--compile=False",
                 "--eval_iters=20", "--log_interval=1", "--block_size=64", "--batch_size=12",
                 "--n_layer=4", "--n_head=4", "--n_embd=128", "--max_iters=2000",
                 "--lr_decay_iters=2000", "--dropout=0.0"]
NANOGPT_EVAL_INTERVAL = 250  # config/train_shakespeare_char.py
# The same run with tfllm, nanoGPT's optimizer settings included (as in
# benchmarks/text_generation_shakespeare.py).
TEXT_GENERATION = ["--tokenizer=char", "--eval_fraction=0.1", "--hidden_dim=128",
                   "--num_layers=4", "--num_heads=4", "--intermediate_dim=512",
                   "--sequence_length=64", "--batch_size=12", "--dropout=0",
                   "--learning_rate=1e-3", "--warmup_fraction=0.05", "--weight_decay=0.1",
                   "--beta_2=0.99", "--clipnorm=1.0", "--epochs=1", "--train_steps=2000",
                   "--seed=0"]
SENTIMENT = ["--label_names=negative,positive", "--model=transformer", "--hidden_dim=32",
             "--num_heads=2", "--intermediate_dim=32", "--num_layers=1", "--sequence_length=64",
             "--batch_size=32", "--epochs=2", "--dropout=0.1", "--learning_rate=1e-3",
             "--patience=0", "--seed=0"]


def cpu():
    """The CPU's model name and whether it has AMX (bfloat16 matmul units) and AVX-512."""
    name, flags = "unknown", ""
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name") and name == "unknown":
                name = line.split(":", 1)[1].strip()
            if line.startswith("flags") and not flags:
                flags = line
    return {"model": name, "amx": "amx_bf16" in flags, "avx512": "avx512f" in flags,
            "cores": os.cpu_count()}


def float32_peak():
    """GFLOP/s of a float32 2048x1024x1024 matmul in TensorFlow, best of 10."""
    import tensorflow as tf
    a, b = tf.random.normal([2048, 1024]), tf.random.normal([1024, 1024])
    matmul = tf.function(lambda x, y: tf.linalg.matmul(x, y))
    matmul(a, b).numpy()
    best = float("inf")
    for _ in range(10):
        start = time.perf_counter()
        matmul(a, b).numpy()
        best = min(best, time.perf_counter() - start)
    return 2 * 2048 * 1024 * 1024 / best / 1e9


def gpt_flops_per_token(layers, width, context, vocabulary):
    """Training FLOPs per token (forward and backward) of a GPT, as nanoGPT's
    `estimate_mfu` counts them (PaLM appendix B): 6N + 12 L d T, N the
    parameters without the position embedding."""
    parameters = layers * 12 * width * width + vocabulary * width
    return 6 * parameters + 12 * layers * width * context


def timed(command, cwd, env=None):
    start = time.perf_counter()
    run = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if run.returncode:
        raise RuntimeError(f"{' '.join(command)} failed:\n{run.stdout[-3000:]}"
                           f"\n{run.stderr[-3000:]}")
    return run.stdout + run.stderr, seconds


def quiet_env():
    return {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "PYTHONUNBUFFERED": "1"}


class NanoGPT:
    """nanoGPT's own train.py on a prepared copy of its folder."""

    def __init__(self, folder, scratch):
        self.folder = os.path.join(scratch, "nanoGPT")
        shutil.copytree(folder, self.folder, ignore=shutil.ignore_patterns(".git", "out-*"))
        data = os.path.join(self.folder, "data", "shakespeare_char")
        shutil.copy(SHAKESPEARE, os.path.join(data, "input.txt"))
        timed([sys.executable, "prepare.py"], data)

    def run(self):
        output, seconds = timed([sys.executable, "train.py", *NANOGPT_FLAGS], self.folder,
                                quiet_env())
        times = [(int(i), float(ms)) for i, ms in
                 re.findall(r"^iter (\d+): loss [\d.]+, time ([\d.]+)ms", output, re.M)]
        steady = statistics.median(ms for i, ms in times if i >= 10 and i % NANOGPT_EVAL_INTERVAL)
        losses = re.findall(r"^step (\d+): train loss ([\d.]+), val loss ([\d.]+)", output, re.M)
        tokens = 12 * 64
        return {"system": "nanoGPT", "process_seconds": seconds,
                "train_seconds": sum(ms for _, ms in times) / 1000,
                "steady_per_second": tokens * 1000 / steady, "unit": "tokens",
                "ms_per_step": steady, "validation_loss": float(losses[-1][2]),
                "flops_per_unit": gpt_flops_per_token(4, 128, 64, 65)}


def time_breakdown(output):
    """{phase: seconds} from the `time` line of a run's closing summary."""
    line = re.findall(r"^time\s+(.*) \([\d.]+ s\)$", output, re.M)[-1]
    return {name: float(seconds) for name, seconds in
            (part.rsplit(" ", 1) for part in line.split(", "))}


def tfllm_run(task, flags, scratch):
    """`python -m tasks.TASK` in a fresh process: its run card, wall seconds,
    first stage and where its time went."""
    command = [sys.executable, "-m", f"tasks.{task}", *flags,
               f"--model_dir={scratch}/run-{task}", f"--export_dir={scratch}/export-{task}"]
    shutil.rmtree(f"{scratch}/run-{task}", ignore_errors=True)
    shutil.rmtree(f"{scratch}/export-{task}", ignore_errors=True)
    output, seconds = timed(command, REPO, quiet_env())
    with open(f"{scratch}/export-{task}/1/run_card.json") as f:
        card = json.load(f)
    return card, seconds, card["stages"][0], time_breakdown(output)


def tfllm_shakespeare(scratch, precision):
    flags = [f"--data={SHAKESPEARE}", *TEXT_GENERATION, f"--precision={precision}"]
    card, seconds, stage, phases = tfllm_run("text_generation", flags, scratch)
    return {"system": "tfllm", "process_seconds": seconds, "phase_seconds": phases,
            "train_seconds": stage["seconds"],
            "steady_per_second": stage["throughput"], "unit": "tokens",
            "ms_per_step": 1000 / stage["steps_per_second"],
            "validation_loss": card["metrics"]["loss"],
            "flops_per_unit": gpt_flops_per_token(4, 128, 64, 65)}


def keras_io_sst2(scratch):
    output, seconds = timed([sys.executable, os.path.join(REPO, "benchmarks", "peers",
                                                          "keras_io_transformer.py"),
                             f"{SST2}/train.tsv", f"{SST2}/dev.tsv"], scratch, quiet_env())
    result = json.loads([line for line in output.splitlines() if line.startswith("{")][-1])
    return {"system": "keras.io recipe", "process_seconds": seconds,
            "train_seconds": result["train_seconds"],
            "steady_per_second": result["examples_per_second"], "unit": "examples",
            "dev_accuracy": result["dev_accuracy"]}


def tfllm_sst2(scratch, precision):
    flags = [f"--data={SST2}/train.tsv", f"--eval_data={SST2}/dev.tsv", *SENTIMENT,
             f"--precision={precision}"]
    card, seconds, stage, phases = tfllm_run("sentiment", flags, scratch)
    return {"system": "tfllm", "process_seconds": seconds, "phase_seconds": phases,
            "train_seconds": stage["seconds"],
            "steady_per_second": stage["throughput"], "unit": stage["throughput_unit"],
            "dev_accuracy": card["metrics"]["accuracy"]}


def nanogpt_folder(given):
    """The nanoGPT folder, or None with the reason the row is skipped."""
    folder = given or os.environ.get("NANOGPT_DIR")
    if not folder or not os.path.isfile(os.path.join(folder, "train.py")):
        return None, ("no nanoGPT folder (pass --nanogpt_dir or set NANOGPT_DIR to a checkout "
                      "of karpathy/nanoGPT at 3adf61e)")
    try:
        import torch  # noqa: F401
    except ImportError:
        return None, "PyTorch is not installed (pip install torch; a benchmark-only dependency)"
    return folder, None


def pairs_of(name, peer, ours, pairs):
    rows = []
    for index in range(pairs):
        pair = []
        for run in (peer, ours):
            row = {"row": name, "pair": index + 1, **run()}
            print(f"  {name} pair {index + 1}: {row['system']:<16} "
                  f"{row['process_seconds']:7.1f} s process, "
                  f"{row['steady_per_second']:9,.0f} {row['unit']}/s", flush=True)
            pair.append(row)
        pair[1]["steady_ratio"] = pair[1]["steady_per_second"] / pair[0]["steady_per_second"]
        pair[1]["process_ratio"] = pair[1]["process_seconds"] / pair[0]["process_seconds"]
        rows += pair
    return rows


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pairs", type=int, default=2)
    parser.add_argument("--rows", default="shakespeare,sst2")
    parser.add_argument("--nanogpt_dir", default=None)
    parser.add_argument("--precision", default="float32",
                        choices=("float32", "mixed_bfloat16"))
    args = parser.parse_args()
    started = time.perf_counter()
    machine = {**cpu(), "float32_peak_gflops": round(float32_peak(), 1)}
    print(f"CPU {machine['model']}, AMX {machine['amx']}, float32 matmul peak "
          f"{machine['float32_peak_gflops']} GFLOP/s", flush=True)
    rows, skipped = [], {}
    with tempfile.TemporaryDirectory() as scratch:
        wanted = args.rows.split(",")
        if "shakespeare" in wanted:
            folder, reason = nanogpt_folder(args.nanogpt_dir)
            if folder is None:
                print(f"skipping shakespeare: {reason}")
                skipped["shakespeare"] = reason
            else:
                nanogpt = NanoGPT(folder, scratch)
                rows += pairs_of("shakespeare", nanogpt.run,
                                 lambda: tfllm_shakespeare(scratch, args.precision), args.pairs)
        if "sst2" in wanted:
            rows += pairs_of("sst2", lambda: keras_io_sst2(scratch),
                             lambda: tfllm_sst2(scratch, args.precision), args.pairs)
    for row in rows:
        if "flops_per_unit" in row:
            gflops = row["flops_per_unit"] * row["steady_per_second"] / 1e9
            row["model_gflops"] = round(gflops, 2)
            row["share_of_float32_peak"] = round(gflops / machine["float32_peak_gflops"], 4)
    print_table(rows, ["row", "pair", "system", "process_seconds", "train_seconds",
                       "steady_per_second", "steady_ratio", "process_ratio", "validation_loss",
                       "dev_accuracy", "share_of_float32_peak"])
    relative = os.path.relpath(SHAKESPEARE, REPO)
    target = ("python -m tasks.text_generation " + " ".join([f"--data={relative}",
                                                             *TEXT_GENERATION]))
    sst2 = os.path.relpath(SST2, REPO)
    name = "speed_vs_peers"
    if sorted(wanted) != ["shakespeare", "sst2"] or args.precision != "float32":
        name += f".{'-'.join(wanted)}.{args.precision}"
    path = write_results(
        name, rows, started, machine_detail=machine, skipped=skipped,
        nanogpt_command="python train.py " + " ".join(NANOGPT_FLAGS),
        target_command=f"{target} --precision={args.precision}",
        sst2_command="python -m tasks.sentiment " + " ".join(
            [f"--data={sst2}/train.tsv", f"--eval_data={sst2}/dev.tsv", *SENTIMENT,
             f"--precision={args.precision}"]))
    print(f"\nwrote {path}")


if __name__ == "__main__":
    main()
