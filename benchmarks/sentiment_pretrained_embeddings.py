"""SST-2 with and without pretrained word vectors: the transfer the word-vector task offers.

    python benchmarks/sentiment_pretrained_embeddings.py VECTORS   # about 15 minutes
    python benchmarks/sentiment_pretrained_embeddings.py VECTORS --prepare_command 'python -m ...'

VECTORS is a word2vec text file, e.g. the skip-gram export of the word-vector
benchmark's `target_command` (saved_models/word2vec/N/assets.extra/vectors.txt,
the `prepare_command` below; name another command that made VECTORS with
--prepare_command, so the results record it). Each run is
`python -m tasks.sentiment` as a user starts it (through its `main`): a word
tokenizer (20,000 words, the keras.io BiLSTM recipe's vocabulary), a BiLSTM
as wide as the vectors (100 for the word-vector benchmark's), trained on
SST-2's train.tsv and scored on dev.tsv (never trained on); from scratch,
from the vectors, and from the vectors frozen, for seeds 0 and 1.

Writes benchmarks/results/sentiment_pretrained_embeddings.json (with
`target_command`, the best row's command) and prints a table.
"""

import json
import os
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import tfllm  # noqa: E402,F401  (imports TensorFlow quietly)

from benchmarks.common import print_table, write_results  # noqa: E402
from tasks import sentiment  # noqa: E402
from tfllm.data.word_vectors import WordVectors  # noqa: E402

SST2 = os.path.join("..", "shared", "data", "sst2")
RECIPE = [f"--data={SST2}/train.tsv", f"--eval_data={SST2}/dev.tsv",
          "--label_names=negative,positive", "--tokenizer=word", "--vocab_size=20000",
          "--sequence_length=64", "--batch_size=64", "--model=lstm", "--num_layers=1",
          "--dropout=0.3", "--learning_rate=1e-3", "--epochs=4", "--patience=2"]
PREPARE = ("python -m tasks.word2vec --data='../shared/data/corpus_en/*.txt.gz' --method=skipgram "
           "--dimension=100 --window=5 --negatives=5 --min_count=5 --sample=0.001 --epochs=5 "
           "--seed=0")


def variants(vectors):
    width = f"--hidden_dim={WordVectors.load(vectors, limit=1).dimension}"
    return [("from scratch", [width]),
            ("pretrained", [width, f"--pretrained_embeddings={vectors}"]),
            ("pretrained, frozen", [width, f"--pretrained_embeddings={vectors}",
                                    "--freeze_embeddings"])]


def run(name, flags, seed):
    with tempfile.TemporaryDirectory() as scratch:
        result = sentiment.main(["sentiment", *RECIPE, *flags, f"--seed={seed}",
                                 f"--model_dir={scratch}/run", f"--export_dir={scratch}/export"])
        with open(os.path.join(result.export_path, "run_card.json")) as f:
            embeddings = json.load(f)["pretrained_embeddings"] or {}
    return {"run": name, "seed": seed, "flags": " ".join(flags),
            "epochs": result.stages[0].epochs_run,
            "train_seconds": round(result.training_seconds, 1),
            "dev_accuracy": round(result.metrics["accuracy"], 4),
            "dev_macro_f1": round(result.metrics["macro_f1"], 4),
            "covered": embeddings.get("covered"), "vocabulary": embeddings.get("vocabulary")}


def main(argv):
    if len(argv) not in (2, 4) or (len(argv) == 4 and argv[2] != "--prepare_command"):
        sys.exit(__doc__)
    vectors, prepare = argv[1], PREPARE
    if len(argv) == 4:
        prepare = argv[3]
    started = time.perf_counter()
    rows = [run(name, flags, seed) for seed in (0, 1) for name, flags in variants(vectors)]
    print_table(rows, ["run", "seed", "epochs", "train_seconds", "dev_accuracy", "covered"])
    best = max(variants(vectors), key=lambda variant: sum(
        r["dev_accuracy"] for r in rows if r["run"] == variant[0]))
    target = "python -m tasks.sentiment " + " ".join(RECIPE + best[1] + ["--seed=0"])
    path = write_results("sentiment_pretrained_embeddings", rows, started,
                         target_command=target, prepare_command=prepare,
                         vectors=os.path.relpath(vectors))
    print(f"\nwrote {path}")


if __name__ == "__main__":
    main(sys.argv)
