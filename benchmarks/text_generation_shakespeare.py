"""Benchmark: character-level Tiny Shakespeare with tfllm's causal LM.

    python benchmarks/text_generation_shakespeare.py            # everything, ~20 minutes
    python benchmarks/text_generation_shakespeare.py --skip_budget_run

Reads ../shared/data/tinyshakespeare/train.txt (the first 90% of char-rnn's
input.txt) and holds out its last 10% of characters as the validation split,
never trained on. Four parts, one process:

1. speed: the nanoGPT CPU reference model trained for a few hundred steps
   without XLA (baseline), with XLA, and with XLA plus `steps_per_execution`,
   interleaved twice so machine drift hits every variant alike; reported as
   ratios to the baseline;
2. reference: nanoGPT's CPU configuration (char level, 4 layers, 4 heads,
   width 128, context 64, batch 12, 2000 iterations, dropout 0, AdamW 1e-3,
   betas 0.9/0.99, weight decay 0.1, clip 1.0, 100 warmup steps, cosine to
   1e-4) with the fastest variant; loss over every validation character;
3. budget: a configuration of our choice trained for at most 10 minutes of
   wall time (compilation and the final evaluation included);
4. generation: three samples from the budget model, and cached against
   uncached generation speed.

Writes benchmarks/results/text_generation_shakespeare.json and prints a table.
"""

import argparse
import json
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import tfllm  # noqa: E402,F401  (imports TensorFlow quietly)

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from tfllm.data import packing  # noqa: E402
from tfllm.data.tokenizers import build_tokenizer  # noqa: E402
from tfllm.decoding import make_sampler, prepare_prompts  # noqa: E402
from tfllm.export.run_card import library_versions  # noqa: E402
from tfllm.export.text_generation import TextGenerator, tokenize_ragged  # noqa: E402
from tfllm.metrics.language_model import TrainingThroughput, evaluate_language_model  # noqa: E402
from tfllm.models.causal_lm import CausalLM  # noqa: E402
from tfllm.training.optimizers import adamw  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_DATA = os.path.join(ROOT, "..", "shared", "data", "tinyshakespeare", "train.txt")
RESULT = os.path.join(ROOT, "benchmarks", "results", "text_generation_shakespeare.json")

NANOGPT = {"loss": 1.90, "seconds": 106.5, "ms_per_iter": 45.3, "tokens_per_second": 16900}
REFERENCE = dict(hidden_dim=128, num_layers=4, num_heads=4, intermediate_dim=512,
                 sequence_length=64, batch_size=12, steps=2000, dropout=0.0,
                 learning_rate=1e-3, warmup_steps=100, weight_decay=0.1, beta_2=0.99)
BUDGET = dict(hidden_dim=192, num_layers=4, num_heads=6, intermediate_dim=768,
              sequence_length=128, batch_size=16, dropout=0.0,
              learning_rate=2e-3, weight_decay=0.1, beta_2=0.99)


def build(config, vocab, total_steps, warmup_steps, jit, spe, seed=0):
    keras.utils.set_random_seed(seed)
    model = CausalLM(vocab, config["sequence_length"], config["hidden_dim"],
                     config["num_layers"], config["num_heads"], config["intermediate_dim"],
                     config["dropout"])
    # nanoGPT's shakespeare_char uses beta2 = 0.99 (Keras' default is 0.999).
    optimizer = adamw(config["learning_rate"], total_steps, warmup_steps,
                      config["weight_decay"], clipnorm=1.0, final_learning_rate_ratio=0.1,
                      beta_2=config["beta_2"])
    model.compile(optimizer=optimizer,
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  jit_compile=jit, steps_per_execution=spe)
    return model


class StopAfter(keras.callbacks.Callback):
    """Stops training once `seconds` of wall time have passed (a hard budget)."""

    def __init__(self, seconds):
        super().__init__()
        self.deadline = time.perf_counter() + seconds
        self.stopped_early = False

    def on_train_batch_end(self, batch, logs=None):
        if time.perf_counter() > self.deadline:
            self.model.stop_training = True
            self.stopped_early = True


def train(config, train_ids, vocab, steps, jit, spe, seed=0, seconds=None, total_steps=None):
    """Trains `steps` steps; returns (model, record)."""
    total_steps = total_steps or steps
    warmup = config.get("warmup_steps", int(0.05 * total_steps))
    start = time.perf_counter()
    model = build(config, vocab, total_steps, warmup, jit, spe, seed)
    data = packing.training_dataset(train_ids, config["sequence_length"], config["batch_size"],
                                    seed=seed)
    speed = TrainingThroughput()
    callbacks = [speed.callback]
    stop = StopAfter(seconds - (time.perf_counter() - start)) if seconds else None
    if stop:
        callbacks.append(stop)
    history = model.fit(data, epochs=1, steps_per_epoch=steps, verbose=0, callbacks=callbacks)
    wall = time.perf_counter() - start
    tokens_per_step = config["batch_size"] * config["sequence_length"]
    steps_done = int(model.optimizer.iterations.numpy())
    return model, {
        "jit": jit, "steps_per_execution": spe, "steps": steps_done,
        "wall_seconds": wall, "compile_seconds": speed.compile_seconds,
        "steady_tokens_per_second": speed.tokens_per_second(tokens_per_step),
        "overall_tokens_per_second": steps_done * tokens_per_step / wall,
        "ms_per_step": 1000 / speed.steps_per_second,
        "final_train_loss": float(history.history["loss"][-1]),
        "stopped_by_budget": bool(stop and stop.stopped_early),
    }


def speed_comparison(train_ids, vocab, steps, rounds=2):
    variants = [("baseline: no XLA, 1 step/call", False, 1), ("XLA, 1 step/call", True, 1),
                ("XLA, 50 steps/call", True, 50)]
    results = {name: [] for name, _, _ in variants}
    for r in range(rounds):
        order = variants if r % 2 == 0 else variants[::-1]  # cancel drift
        for name, jit, spe in order:
            _, record = train(REFERENCE, train_ids, vocab, steps, jit, spe)
            results[name].append(record["steady_tokens_per_second"])
            print(f"  speed {name:<32} {record['steady_tokens_per_second']:>8,.0f} tokens/s "
                  f"(compile {record['compile_seconds']:.1f} s)", flush=True)
    base = np.mean(results[variants[0][0]])
    return [{"variant": name, "jit": jit, "steps_per_execution": spe,
             "tokens_per_second": float(np.mean(results[name])),
             "runs": results[name], "ratio_to_baseline": float(np.mean(results[name]) / base)}
            for name, jit, spe in variants]


def generation_speed(model, tokenizer):
    new_tokens = model.sequence_length - 8
    generator = TextGenerator(model, tokenizer)
    greedy = make_sampler("greedy")
    out = {}
    for use_cache in (True, False):
        ids = tokenize_ragged(tokenizer, ["ROMEO:"])

        @tf.function
        def run(prompt_ids):
            token_ids, mask, _, _ = prepare_prompts(prompt_ids, new_tokens,
                                                    model.sequence_length, generator.start_id)
            return model.generate(token_ids, mask, greedy, use_cache=use_cache)

        first = run(ids)
        start = time.perf_counter()
        again = run(ids)
        seconds = time.perf_counter() - start
        out["cached" if use_cache else "uncached"] = {"seconds": seconds,
                                                      "tokens_per_second": new_tokens / seconds}
        out.setdefault("outputs", []).append(again.numpy().tolist())
        del first
    out["same_output"] = out["outputs"][0] == out["outputs"][1]
    out["new_tokens"] = new_tokens
    out["speedup"] = out["uncached"]["seconds"] / out["cached"]["seconds"]
    del out["outputs"]
    return out


def git_commit():
    try:
        return subprocess.run(["git", "-C", ROOT, "rev-parse", "HEAD"], capture_output=True,
                              text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=DEFAULT_DATA)
    parser.add_argument("--speed_steps", type=int, default=300)
    parser.add_argument("--reference_steps", type=int, default=REFERENCE["steps"])
    parser.add_argument("--budget_seconds", type=float, default=600.0)
    parser.add_argument("--skip_speed", action="store_true")
    parser.add_argument("--skip_budget_run", action="store_true")
    parser.add_argument("--output", default=RESULT)
    args = parser.parse_args()
    started = time.time()

    with open(args.data, encoding="utf-8") as f:
        text = f.read()
    cut = int(len(text) * 0.9)
    tokenizer = build_tokenizer("char", vocab_size=128)  # ASCII text: ids = code points
    train_ids = packing.tokenize_stream(tokenizer, text[:cut])
    val_ids = packing.tokenize_stream(tokenizer, text[cut:])
    vocab = 128
    print(f"train {len(train_ids):,} characters, validation {len(val_ids):,} characters",
          flush=True)
    record = {
        "command": " ".join([sys.executable] + sys.argv),
        "git_commit": git_commit(),
        "versions": library_versions(),
        "machine": {"cpu_count": os.cpu_count(),
                    "gpu": bool(tf.config.list_physical_devices("GPU"))},
        "data": {"path": os.path.abspath(args.data), "train_characters": int(len(train_ids)),
                 "validation_characters": int(len(val_ids)),
                 "split": "first 90% of train.txt / last 10% (by characters)"},
        "nanogpt_reference": NANOGPT,
    }

    if not args.skip_speed:
        print(f"Speed: {args.speed_steps} steps per variant, two interleaved rounds", flush=True)
        record["speed"] = speed_comparison(train_ids, vocab, args.speed_steps)
        record["speed_budget"] = f"{args.speed_steps} steps per variant and round"

    print("Reference configuration (nanoGPT CPU), XLA + 50 steps/call", flush=True)
    model, run = train(REFERENCE, train_ids, vocab, args.reference_steps, True, 50)
    run["validation"] = evaluate_language_model(model, val_ids, REFERENCE["sequence_length"],
                                                batch_size=256, jit_compile=True)
    run["config"] = REFERENCE
    run["budget"] = f"{args.reference_steps} steps"
    record["reference"] = run
    print(f"  val loss {run['validation']['loss']:.4f}, {run['wall_seconds']:.1f} s, "
          f"{run['steady_tokens_per_second']:,.0f} tokens/s", flush=True)
    best, best_config = model, REFERENCE

    if not args.skip_budget_run:
        print(f"Budget run: at most {args.budget_seconds:.0f} s of wall time", flush=True)
        start = time.perf_counter()
        # Plan the schedule from a short timed probe, then train with a hard stop.
        probe_steps = 150
        _, probe = train(BUDGET, train_ids, vocab, probe_steps, True, 50)
        reserve = 25.0  # final evaluation plus compilation of the real run
        remaining = args.budget_seconds - (time.perf_counter() - start) - reserve
        steps = int(remaining * 1000 / probe["ms_per_step"] * 0.97) // 50 * 50
        print(f"  probe: {probe['ms_per_step']:.1f} ms/step -> planning {steps} steps", flush=True)
        model, run = train(BUDGET, train_ids, vocab, steps, True, 50,
                           seconds=args.budget_seconds - (time.perf_counter() - start) - 8.0)
        run["validation"] = evaluate_language_model(model, val_ids, BUDGET["sequence_length"],
                                                    batch_size=128, jit_compile=True)
        run["config"] = BUDGET
        run["planned_steps"] = steps
        run["probe"] = probe
        run["total_seconds_including_probe_and_eval"] = time.perf_counter() - start
        run["budget"] = f"{args.budget_seconds:.0f} s wall time, probe and evaluation included"
        record["budget_run"] = run
        print(f"  val loss {run['validation']['loss']:.4f} after {run['steps']} steps, "
              f"{run['total_seconds_including_probe_and_eval']:.1f} s", flush=True)
        best, best_config = model, BUDGET

    generator = TextGenerator(best, tokenizer)
    prompts = ["ROMEO:\n", "", "First Citizen:\nWe"]
    samples = generator(prompts, 300, make_sampler("top_k", top_k=10, temperature=0.8, seed=1))
    record["samples"] = [{"prompt": p, "continuation": s, "sampler": "top_k k=10 T=0.8 seed=1",
                          "model": "budget" if best_config is BUDGET else "reference"}
                         for p, s in zip(prompts, samples)]
    record["generation_speed"] = generation_speed(best, tokenizer)
    record["total_wall_seconds"] = time.time() - started

    os.makedirs(os.path.dirname(args.output), exist_ok=True)
    with open(args.output, "w") as f:
        json.dump(record, f, indent=2, default=float)
    print_table(record)
    for sample in record["samples"]:
        print(f"\n--- {sample['model']} model, prompt {sample['prompt']!r}\n"
              f"{sample['prompt']}{sample['continuation']}")
    print(f"\nwrote {args.output}")


def print_table(record):
    rows = [("run", "budget", "val loss", "wall s", "tokens/s", "vs baseline")]
    rows.append(("nanoGPT (PyTorch, given)", "2000 steps", f"{NANOGPT['loss']:.2f}",
                 f"{NANOGPT['seconds']:.1f}", f"{NANOGPT['tokens_per_second']:,}", ""))
    for s in record.get("speed", []):
        rows.append((s["variant"], record["speed_budget"].split(" per")[0], "", "",
                     f"{s['tokens_per_second']:,.0f}", f"{s['ratio_to_baseline']:.2f}x"))
    for key, name in (("reference", "tfllm reference config"), ("budget_run", "tfllm 10-min run")):
        if key in record:
            r = record[key]
            rows.append((name, f"{r['steps']} steps", f"{r['validation']['loss']:.4f}",
                         f"{r['wall_seconds']:.1f}", f"{r['steady_tokens_per_second']:,.0f}", ""))
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
