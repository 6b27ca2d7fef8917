"""End to end: `python -m tasks.translation` on tiny settings."""

import json
import os

import tensorflow as tf

import task_harness
from tfllm.data.sample import translation_pairs

TINY = ["--jit=false", "--hidden_dim=32", "--intermediate_dim=64", "--num_layers=1",
        "--num_heads=2", "--sequence_length=64", "--vocab_size=200", "--dropout=0",
        "--label_smoothing=0", "--warmup_fraction=0"]
PAIRS = translation_pairs(12, seed=5)


class TranslationTaskTest(task_harness.TaskTestCase):
    task_module = "tasks.translation"
    tiny = TINY

    def write_pairs(self, root, pairs=PAIRS):
        source, target = os.path.join(root, "train.en"), os.path.join(root, "train.de")
        for path, side in ((source, 0), (target, 1)):
            with open(path, "w", encoding="utf-8") as f:
                f.write("".join(pair[side] + "\n" for pair in pairs))
        return f"{source},{target}"

    def test_learns_a_handful_of_pairs_and_the_export_translates_them(self):
        root = self.fresh_root()
        files = self.write_pairs(root)
        # Each epoch holds the pairs 40 times: 40 steps an epoch, not 1, so the
        # per-epoch work (validation, checkpoints, logs) is paid 5 times, not 200.
        os.makedirs(os.path.join(root, "repeated"))
        repeated = self.write_pairs(os.path.join(root, "repeated"), PAIRS * 40)
        result, _ = self.run_task(f"--data={repeated}", f"--eval_data={files}", "--epochs=5",
                                  "--batch_size=12", "--learning_rate=5e-3", root=root)
        self.assertAllClose(result.metrics["bleu"], 100.0)
        sources, targets = [s for s, _ in PAIRS], [t for _, t in PAIRS]
        beam = self.assert_serves_like_the_model(result.export_path, "serving_default",
                                                 {"text": sources}, {"translation": targets})
        self.assertEqual(beam["signatures"], ["score", "serving_default", "translate"])
        # The other signatures in this process (the fresh process above
        # showed the export needs only TF and TF Text).
        served = tf.saved_model.load(result.export_path).signatures
        for beams in (1, 4):  # greedy and beam search, chosen per request
            out = served["translate"](text=tf.constant(sources + [""]),
                                      num_beams=tf.constant(beams), max_length=tf.constant(0))
            self.assertEqual([t.decode() for t in out["translation"].numpy()], targets + [""])
        short = served["translate"](text=tf.constant(sources[:2]), num_beams=tf.constant(4),
                                    max_length=tf.constant(3))["translation"].numpy()
        self.assertTrue(all(len(t.split()) <= 3 for t in short))
        scored = served["score"](source=tf.constant(sources[:2]),
                                 target=tf.constant([targets[0], targets[0]]))
        right, wrong = scored["log_probability"].numpy()
        self.assertGreater(right, wrong)  # the true translation is likelier
        with open(os.path.join(result.export_path, "run_card.json")) as f:
            card = json.load(f)
        self.assertEqual(card["data"]["train_pairs"], len(PAIRS) * 40)
        self.assertEqual(card["decoding"]["num_beams"], 4)

    def test_long_pairs_and_empty_lines_are_dropped_and_reported(self):
        root = self.fresh_root()
        long = " ".join(str(i) for i in range(100))
        pairs = PAIRS + [("", "Leer."), (long, long)]
        files = self.write_pairs(root, pairs)
        result, _ = self.run_task(f"--data={files}", f"--eval_data={files}", "--epochs=1",
                                  "--bleu_every_epoch", "--num_beams=1", root=root)
        bleu = result.stages[0].history["val_bleu"]  # scored after the epoch, as at the end
        self.assertAllClose(bleu, [result.metrics["bleu"]])
        with open(os.path.join(result.export_path, "run_card.json")) as f:
            dropped = json.load(f)["data"]["dropped"]
        # The empty pair twice (training and evaluation read one file); only
        # training drops long pairs.
        self.assertEqual(dropped, {"an empty side": 2, "longer than --sequence_length": 1})

    def test_bad_input_stops_with_a_message(self):
        root = self.fresh_root()
        files = self.write_pairs(root)
        with open(files.split(",")[1], "a") as f:
            f.write("Eine Zeile zu viel.\n")
        cases = [([f"--data={files}"], "the files are not aligned: .*train.en has 12 lines, "
                                       ".*train.de has 13"),
                 (["--source_file=a.en"], "--source_file and --target_file go together"),
                 (["--average_last=3", "--patience=2"], "pass --patience=0 with it"),
                 (["--share_embeddings", "--nojoint_vocab"], "needs --joint_vocab"),
                 (["--tokenizer=wordpiece"], "value should be one of <sentencepiece>"),
                 (["--label_names=a"], "--label_names is not read by the translation task")]
        for flags, message in cases:
            with self.assertRaisesRegex(SystemExit, message, msg=flags):
                self.run_task(*flags, root=root)

    def test_trains_and_exports_under_mirrored_strategy(self):
        # Equality with one device is tested in test_seq2seq: shuffled, the
        # two strategies draw their epochs in other orders. Eight batches, not
        # the 3,000 sample pairs: the task's path under the strategy is the point.
        root = self.fresh_root()
        files = self.write_pairs(root, PAIRS * 11)
        result, _ = self.run_task(f"--data={files}", "--epochs=1", "--batch_size=16",
                                  "--strategy=mirrored", "--eval_sentences=4", "--num_beams=2",
                                  root=root)
        self.assertGreater(result.metrics["sentences"], 0)
        self.assertTrue(os.path.isdir(result.export_path))


if __name__ == "__main__":
    tf.test.main()
