"""Benchmark: character-level Tiny Shakespeare with the text-generation task.

    python benchmarks/text_generation_shakespeare.py            # everything, ~25 minutes
    python benchmarks/text_generation_shakespeare.py --skip_speed --skip_budget_run

Every run is `python -m tasks.text_generation` as a user starts it (through
its `main`), on ../shared/data/tinyshakespeare/train.txt (the first 90% of
char-rnn's input.txt) with its last 10% of characters held out as the
validation split, never trained on. Four parts, one process:

1. speed: the nanoGPT CPU reference model trained for a few hundred steps
   without XLA (baseline), with XLA, and with XLA plus `steps_per_execution`,
   interleaved twice so machine drift hits every variant alike; reported as
   ratios to the baseline;
2. reference: nanoGPT's CPU configuration (char level, 4 layers, 4 heads,
   width 128, context 64, batch 12, 2000 iterations, dropout 0, AdamW 1e-3,
   betas 0.9/0.99, weight decay 0.1, clip 1.0, 100 warmup steps, cosine to
   1e-4) with the fastest variant; loss over every validation character;
3. budget: a configuration of our choice, its steps planned from a short
   timed probe run to fit 10 minutes of wall time (probe, compilation and
   the final evaluation included);
4. generation: three samples from the last model, and cached against
   uncached generation speed.

Writes benchmarks/results/text_generation_shakespeare.json and prints a table.
"""

import argparse
import os
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import tfllm  # noqa: E402,F401  (imports TensorFlow quietly)

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from benchmarks.common import REPO, RESULTS, SHARED_DATA, write_results  # noqa: E402
from tasks import text_generation  # noqa: E402
from tfllm.decoding import make_sampler  # noqa: E402
from tfllm.decoding.generator import TextGenerator  # noqa: E402

DATA = os.path.join(SHARED_DATA, "tinyshakespeare", "train.txt")
NANOGPT = {"loss": 1.90, "seconds": 106.5, "ms_per_iter": 45.3, "tokens_per_second": 16900,
           "note": "given, measured on another day: see benchmarks/speed_vs_peers.py"}
COMMON = ["--tokenizer=char", "--eval_fraction=0.1", "--dropout=0", "--weight_decay=0.1",
          "--beta_2=0.99", "--clipnorm=1.0", "--epochs=1", "--seed=0", "--sample_prompt=ROMEO:"]
# nanoGPT's config/train_shakespeare_char.py with its README's CPU overrides.
REFERENCE = ["--hidden_dim=128", "--num_layers=4", "--num_heads=4", "--intermediate_dim=512",
             "--sequence_length=64", "--batch_size=12", "--learning_rate=1e-3",
             "--warmup_fraction=0.05"]
BUDGET = ["--hidden_dim=192", "--num_layers=4", "--num_heads=6", "--intermediate_dim=768",
          "--sequence_length=128", "--batch_size=16", "--learning_rate=2e-3",
          "--warmup_fraction=0.05"]
FASTEST = ["--jit=true", "--steps_per_execution=50"]


def train(config, steps, speed=FASTEST, data=DATA):
    """One run of the task; returns its `RunResult` and a row of figures."""
    flags = [f"--data={data}", *COMMON, *config, *speed, f"--train_steps={steps}"]
    start = time.perf_counter()
    with tempfile.TemporaryDirectory() as scratch:
        result = text_generation.main(["text_generation", *flags,
                                       f"--model_dir={scratch}/run",
                                       f"--export_dir={scratch}/export"])
    stage = result.stages[0]
    return result, {
        "flags": " ".join(flags), "steps": steps,
        "command_seconds": time.perf_counter() - start,
        "train_seconds": stage.seconds,
        "steady_tokens_per_second": stage.throughput,
        "ms_per_step": 1000 / stage.steps_per_second,
        "final_train_loss": float(stage.history["loss"][-1]),
        "validation": result.metrics,
    }


def speed_comparison(steps, rounds=2):
    variants = [("baseline: no XLA, 1 step/call", ["--jit=false", "--steps_per_execution=1"]),
                ("XLA, 1 step/call", ["--jit=true", "--steps_per_execution=1"]),
                ("XLA, 50 steps/call", FASTEST)]
    results = {name: [] for name, _ in variants}
    for r in range(rounds):
        order = variants if r % 2 == 0 else variants[::-1]  # cancel drift
        for name, speed in order:
            _, row = train(REFERENCE, steps, speed)
            results[name].append(row["steady_tokens_per_second"])
            print(f"  speed {name:<32} {row['steady_tokens_per_second']:>8,.0f} tokens/s",
                  flush=True)
    base = np.mean(results[variants[0][0]])
    return [{"variant": name, "flags": " ".join(speed),
             "tokens_per_second": float(np.mean(results[name])), "runs": results[name],
             "ratio_to_baseline": float(np.mean(results[name]) / base)}
            for name, speed in variants]


def generation_speed(model, preprocessor):
    new_tokens = model.sequence_length - 8
    greedy = make_sampler("greedy")
    out = {}
    for use_cache in (True, False):
        @tf.function
        def run(prompts):
            token_ids, mask, _, _ = preprocessor.prompts(prompts, new_tokens)
            return model.generate(token_ids, mask, greedy, use_cache=use_cache)

        prompt = tf.constant(["ROMEO:"])
        run(prompt)  # trace and compile
        start = time.perf_counter()
        again = run(prompt)
        seconds = time.perf_counter() - start
        out["cached" if use_cache else "uncached"] = {"seconds": seconds,
                                                      "tokens_per_second": new_tokens / seconds}
        out.setdefault("outputs", []).append(again.numpy().tolist())
    out["same_output"] = out["outputs"][0] == out["outputs"][1]
    out["new_tokens"] = new_tokens
    out["speedup"] = out["uncached"]["seconds"] / out["cached"]["seconds"]
    del out["outputs"]
    return out


def budget_run(budget_seconds):
    start = time.perf_counter()
    _, probe = train(BUDGET, 150)
    # The real run pays compilation, evaluation and export again: reserve them.
    reserve = probe["command_seconds"] - probe["train_seconds"] + 10.0
    remaining = budget_seconds - (time.perf_counter() - start) - reserve
    steps = int(remaining * 1000 / probe["ms_per_step"] * 0.95) // 50 * 50
    print(f"  probe: {probe['ms_per_step']:.1f} ms/step -> planning {steps} steps", flush=True)
    result, row = train(BUDGET, steps)
    row.update(probe=probe, total_seconds_including_probe=time.perf_counter() - start,
               budget=f"{budget_seconds:.0f} s wall time, probe, compilation, evaluation "
                      "and export included")
    return result, row


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--speed_steps", type=int, default=300)
    parser.add_argument("--reference_steps", type=int, default=2000)
    parser.add_argument("--budget_seconds", type=float, default=600.0)
    parser.add_argument("--skip_speed", action="store_true")
    parser.add_argument("--skip_budget_run", action="store_true")
    parser.add_argument("--output", default=os.path.join(RESULTS,
                                                         "text_generation_shakespeare.json"))
    args = parser.parse_args()
    started = time.perf_counter()
    record = {"data": {"path": "../shared/data/tinyshakespeare/train.txt",
                       "split": "first 90% of train.txt / last 10% (by characters)"},
              "nanogpt_reference": NANOGPT}

    if not args.skip_speed:
        print(f"Speed: {args.speed_steps} steps per variant, two interleaved rounds", flush=True)
        record["speed"] = speed_comparison(args.speed_steps)
        record["speed_budget"] = f"{args.speed_steps} steps per variant and round"

    print("Reference configuration (nanoGPT CPU), XLA + 50 steps/call", flush=True)
    result, record["reference"] = train(REFERENCE, args.reference_steps)
    record["reference_command"] = _command(REFERENCE, args.reference_steps)
    print(f"  val loss {result.metrics['loss']:.4f}, "
          f"{record['reference']['steady_tokens_per_second']:,.0f} tokens/s", flush=True)

    if not args.skip_budget_run:
        print(f"Budget run: at most {args.budget_seconds:.0f} s of wall time", flush=True)
        result, record["budget_run"] = budget_run(args.budget_seconds)
        record["target_command"] = _command(BUDGET, record["budget_run"]["steps"])
        print(f"  val loss {result.metrics['loss']:.4f} after {record['budget_run']['steps']} "
              f"steps, {record['budget_run']['total_seconds_including_probe']:.1f} s",
              flush=True)

    generator = TextGenerator(result.model, result.preprocessor)
    prompts = ["ROMEO:\n", "", "First Citizen:\nWe"]
    samples = generator(prompts, 300, make_sampler("top_k", top_k=10, temperature=0.8, seed=1))
    record["samples"] = [{"prompt": p, "continuation": s, "sampler": "top_k k=10 T=0.8 seed=1"}
                         for p, s in zip(prompts, samples)]
    record["generation_speed"] = generation_speed(result.model, result.preprocessor)
    path = write_results("text_generation_shakespeare", [], started, path=args.output,
                         **record)
    print_table(record)
    for sample in record["samples"]:
        print(f"\n--- prompt {sample['prompt']!r}\n{sample['prompt']}{sample['continuation']}")
    print(f"\nwrote {path}")


def _command(config, steps):
    """The command line of a run, from the project root, as a user would type it."""
    flags = [f"--data={os.path.relpath(DATA, REPO)}", *COMMON, *config, *FASTEST,
             f"--train_steps={steps}"]
    return " ".join(["python -m tasks.text_generation", *flags])


def print_table(record):
    rows = [("run", "budget", "val loss", "train s", "tokens/s", "vs baseline")]
    rows.append(("nanoGPT (PyTorch, given)", "2000 steps", f"{NANOGPT['loss']:.2f}",
                 f"{NANOGPT['seconds']:.1f}", f"{NANOGPT['tokens_per_second']:,}", ""))
    for s in record.get("speed", []):
        rows.append((s["variant"], record["speed_budget"].split(" per")[0], "", "",
                     f"{s['tokens_per_second']:,.0f}", f"{s['ratio_to_baseline']:.2f}x"))
    for key, name in (("reference", "tfllm reference config"), ("budget_run", "tfllm 10-min run")):
        if key in record:
            r = record[key]
            rows.append((name, f"{r['steps']} steps", f"{r['validation']['loss']:.4f}",
                         f"{r['train_seconds']:.1f}", f"{r['steady_tokens_per_second']:,.0f}",
                         ""))
    g = record.get("generation_speed")
    if g:
        for name, run, ratio in (("cached", g["cached"], f"{g['speedup']:.1f}x"),
                                 ("uncached", g["uncached"], "1.0x")):
            rows.append((f"generation, {name}", f"{g['new_tokens']} tokens", "",
                         f"{run['seconds']:.2f}", f"{run['tokens_per_second']:,.0f}", ratio))
    widths = [max(len(str(r[i])) for r in rows) for i in range(len(rows[0]))]
    print()
    for i, row in enumerate(rows):
        print("  ".join(str(c).ljust(w) for c, w in zip(row, widths)))
        if i == 0:
            print("  ".join("-" * w for w in widths))


if __name__ == "__main__":
    main()
