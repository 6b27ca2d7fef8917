"""The sentiment task end to end: train, evaluate, export, serve, resume, scale out."""

import contextlib
import io
import json
import os
import re
import stat
import subprocess
import sys

import tfllm  # noqa: F401
import tensorflow as tf

import task_harness
from task_harness import REPO, kill_at, quiet_environment, run_quietly
from tasks import sentiment
from tasks.sentiment import DEMO_QUERIES
from tfllm import cli
from tfllm.data import sample

TINY = ["--hidden_dim=32", "--intermediate_dim=64", "--num_layers=1", "--num_heads=2",
        "--sequence_length=32", "--vocab_size=200", "--batch_size=32", "--jit=false",
        "--learning_rate=5e-3"]
QUERIES = ["the plot was good but the acting was awful", "", "<p>NOT bad &amp; funny</p>",
           "zebra " * 100, "the music was \ufffd moving"]


def write_tsv(path, examples, label=lambda name: int(name == "positive")):
    with open(path, "w") as f:
        f.write("sentence\tlabel\n" + "".join(f"{text}\t{label(name)}\n"
                                              for text, name in examples))
    return path


class SentimentTaskTest(task_harness.TaskTestCase):
    task_module = "tasks.sentiment"
    tiny = TINY

    def test_trains_exports_and_serves_raw_text(self):
        result, root = self.run_task("--epochs=4")
        self.assertGreater(result.metrics["accuracy"], 0.8)
        path = result.export_path
        self.assertEqual(path, f"{root}/export/1")
        self.assertEqual(sorted(os.listdir(f"{root}/export")), ["1"])  # no staging left
        with open(os.path.join(path, "run_card.json")) as f:
            card = json.load(f)
        self.assertEqual(card["task"], "sentiment")
        self.assertEqual(card["flags"]["epochs"], 4)
        self.assertEqual((card["flags"]["pooling"], card["pooling"]), (None, "mean"))  # default
        self.assertEqual(card["metrics"]["accuracy"], result.metrics["accuracy"])
        self.assertEqual(card["stages"][0]["epochs_run"], 4)
        self.assertIn("tensorflow", card["versions"])
        self.assertTrue(os.path.isfile(os.path.join(
            path, "assets.extra/preprocessor/vocab.txt")))
        self.assertEqual([a["text"] for a in result.answers], DEMO_QUERIES)

        model, preprocessor = result.model, result.preprocessor
        expected = tf.nn.softmax(model(preprocessor(tf.constant(QUERIES)).to_tensor())).numpy()
        names = ["negative", "positive"]
        self.assert_serves_like_the_model(path, "serving_default", {"text": QUERIES}, {
            "probabilities": expected, "label_id": expected.argmax(-1),
            "label": [names[i] for i in expected.argmax(-1)]})
        empty = self.serve_fresh(path, "serving_default", {"text": []})
        self.assertEqual(empty["outputs"]["label"], [])

    def test_lstm_from_a_tsv_file_exports_the_next_version(self):
        root = self.fresh_root()
        os.makedirs(f"{root}/export/1")
        data = write_tsv(os.path.join(root, "train.tsv"), sample.sentiment_examples(300))
        result, _ = self.run_task("--model=lstm", "--epochs=1", f"--data={data}",
                                  "--label_names=neg,pos", root=root)
        self.assertEqual(result.export_path, f"{root}/export/2")
        self.assertEqual(result.metrics["label_names"], ["neg", "pos"])

    def test_one_seed_repeats_the_run(self):
        # Word dropout and shuffling are the random parts of the input pipeline.
        args = ["--epochs=2", "--patience=0", "--token_dropout=0.2", "--seed=4"]
        first, second = (self.run_task(*args)[0] for _ in range(2))
        self.assertEqual(first.stages[0].history["loss"], second.stages[0].history["loss"])

    def test_fine_tuning_follows_training_and_is_recorded(self):
        root = self.fresh_root()
        tuning = write_tsv(os.path.join(root, "sentences.tsv"),
                           sample.sentiment_examples(100, seed=1), label=str)
        result, _ = self.run_task("--epochs=1", f"--finetune_data={tuning}",
                                  "--finetune_epochs=2", "--finetune_learning_rate=1e-3",
                                  root=root)
        with open(os.path.join(result.export_path, "run_card.json")) as f:
            card = json.load(f)
        train, finetune = card["stages"]
        self.assertEqual((train["name"], train["epochs_run"]), ("train", 1))
        self.assertEqual((finetune["examples"], finetune["epochs_run"]), (100, 2))
        before = finetune["metrics_before"]["accuracy"]
        self.assertGreaterEqual(card["metrics"]["accuracy"], before)  # never worse on eval
        self.assertEqual(card["training_seconds"], train["seconds"] + finetune["seconds"])
        self.assertFalse(os.path.exists(f"{root}/run/finished"))  # the next run starts afresh

        with open(tuning, "a") as f:
            f.write("a calm film\tneutral\n")
        with self.assertRaisesRegex(SystemExit, f"{tuning}:102.*'neutral'"):
            self.run_task("--epochs=1", f"--finetune_data={tuning}", root=root)

    def test_a_mistyped_label_stops_the_run_naming_its_line(self):
        root = self.fresh_root()
        examples = sample.sentiment_examples(300)
        examples[3] = (examples[3][0], "positve")
        data = write_tsv(os.path.join(root, "train.tsv"), examples,
                         label=lambda name: name if name == "positve" else int(name == "positive"))
        with self.assertRaisesRegex(SystemExit, rf"{data}:5: field 'label': label 'positve' is "
                                                "not an integer like the other labels"):
            self.run_task(f"--data={data}", root=root)
        with self.assertRaisesRegex(SystemExit, rf"{data}:5: field 'label': label 'positve' is "
                                                r"not one of --label_names \['neg', 'pos'\]"):
            self.run_task(f"--data={data}", "--label_names=neg,pos", root=root)
        with self.captureWritesToStream(sys.stdout) as printed:
            result, _ = self.run_task(f"--data={data}", "--epochs=1", "--skip_bad_rows",
                                      root=root)
        self.assertEqual(result.metrics["label_names"], ["0", "1"])  # still two classes
        self.assertIn("skipped rows  1 (see the run card)", printed.contents())
        with open(os.path.join(result.export_path, "run_card.json")) as f:
            self.assertEqual(json.load(f)["data"]["bad_rows"]["skipped_rows"], 1)

    def test_bad_flags_stop_before_any_work(self):
        root = self.fresh_root()
        cases = [
            (["--data=/no/such.tsv"], "error: /no/such.tsv: no such file"),
            ([f"--data={root}"], f"error: {root}: is a directory; name a file in it"),
            (["--finetune_data=sample", "--finetune_epochs=0"],
             "--finetune_epochs=0: 0 is not a positive integer"),
            (["--adversarial_epsilon=4"], r"not a number in the range \[0.0, 1.0\]"),
            (["--finetune_adversarial_epsilon=0.05"],
             "--finetune_adversarial_epsilon set the --finetune_data stage"),
            (["--finetune_epochs=2"], "--finetune_epochs set the --finetune_data stage"),
            (["--pooling=cls"], "--pooling=cls reads a pretrained backbone's"),
            (["--model=lstm", "--pooling=max"], "--pooling applies to Transformer encoders"),
            (["--model=cnn"], "--model=cnn: value should be one of <transformer|lstm>"),
            (["--strategy=horovod"], "strategy"),
            (["--epochs=-1"], "--epochs=-1: -1 is not a positive integer"),
            (["--batch_size=0"], "--batch_size=0: 0 is not a positive integer"),
            (["--monitor=val_acc"], "--monitor=val_acc: value should be one of"),
            (["--max_new_tokens=5"], "Unknown command line flag 'max_new_tokens'"),
        ]
        for flags, message in cases:
            with self.assertRaisesRegex(SystemExit, message, msg=flags):
                self.run_task(*flags, root=root)
        self.assertFalse(os.path.exists(f"{root}/export"))

    def test_an_existing_export_version_stops_before_training(self):
        root = self.fresh_root()
        os.makedirs(f"{root}/export/3")
        with self.assertRaisesRegex(SystemExit, f"error: {root}/export/3 already exists"):
            self.run_task("--export_version=3", root=root)
        self.assertFalse(os.path.exists(f"{root}/run/preprocessor"))  # no work was done


class CommandLineTest(task_harness.TaskTestCase):
    """What a user sees running `python -m tasks.sentiment`."""

    task_module = "tasks.sentiment"
    tiny = TINY

    def test_help_lists_this_tasks_flags_and_the_shared_ones_it_reads(self):
        # The command itself once; the other spellings take the same path in-process.
        shown = run_quietly([sys.executable, "-m", "tasks.sentiment", "--help"])
        self.assertEqual(shown.returncode, 0, shown.stderr)
        texts = [shown.stdout]
        for flag in ("-h", "--helpshort", "--helpfull"):
            printed = io.StringIO()
            with contextlib.redirect_stdout(printed), self.assertRaises(SystemExit) as stop:
                cli.parse(sentiment.Sentiment, ["sentiment", flag])
            self.assertEqual(stop.exception.code, 0)
            texts.append(printed.getvalue())
        self.assertEqual(texts[1:], texts[:1] * 3)
        self.assertIn("sentiment flags:\n  --adversarial_epsilon", shown.stdout)
        self.assertIn("data flags (shared):", shown.stdout)
        self.assertIn("--label_names", shown.stdout)
        self.assertNotIn("--max_new_tokens", shown.stdout)  # text generation's
        self.assertNotIn("absl", shown.stdout)
        self.assertLess(shown.stdout.count("\n"), 200)

    def test_flags_file_and_run_card_hold_the_tasks_own_flags_readable_by_all(self):
        root = self.fresh_root()
        # Under a common umask the export and records are readable by other
        # users (TF Serving's), though the export is staged in a private folder.
        run = subprocess.run(["sh", "-c", "umask 022 && exec \"$@\"", "sh",
                              *self.command(root, "--epochs=1", "--pooling=max",
                                            "--bucket=false")],
                             cwd=REPO, env=quiet_environment(), capture_output=True, text=True,
                             timeout=600)
        self.assertEqual(run.returncode, 0, run.stderr)
        for path in (f"{root}/export/1", f"{root}/export/1/variables"):
            self.assertEqual(stat.S_IMODE(os.stat(path).st_mode), 0o755, path)
        for path in (f"{root}/export/1/saved_model.pb", f"{root}/run/flags.json"):
            self.assertEqual(stat.S_IMODE(os.stat(path).st_mode), 0o644, path)
        with open(f"{root}/run/flags.json") as f:
            recorded = json.load(f)
        with open(f"{root}/export/1/run_card.json") as f:
            card = json.load(f)["flags"]
        for flags in (recorded, card):
            self.assertEqual((flags["pooling"], flags["bucket"]), ("max", False))
            self.assertIn("adversarial_epsilon", flags)
            self.assertNotIn("max_new_tokens", flags)
            self.assertNotIn("flagfile", flags)

    def test_bad_values_end_in_one_line_not_a_traceback(self):
        # One process shows the command's way out; other values take the
        # same path (their messages are tested in test_cli).
        run = run_quietly([sys.executable, "-m", "tasks.sentiment", "--epochs=-1"])
        self.assertEqual(run.returncode, 1)
        self.assertEqual(run.stderr, "sentiment: flag --epochs=-1: -1 is not a positive "
                                     "integer\nRun with --helpfull to list the flags.\n")
        self.assertEqual(run.stdout, "")  # stopped before any work

    def test_run_killed_while_fine_tuning_resumes_without_training_again(self):
        # One kill covers both kinds of resuming (other tasks' tests kill a
        # one-stage run): the finished first stage is loaded, the second
        # resumes from its backup.
        root = self.fresh_root()
        command = self.command(root, "--epochs=2", "--batch_size=4", "--patience=0",
                               "--finetune_data=sample", "--finetune_epochs=3")
        # Fine-tuning's first epoch is backed up when its second announces itself.
        self.assertNotEqual(kill_at(command, "Epoch 2/3"), 0)
        self.assertFalse(os.path.exists(f"{root}/export/1"))

        changed = run_quietly(command + ["--seed=7"])
        self.assertEqual(changed.returncode, 1, changed.stdout + changed.stderr)
        self.assertIn(f"{root}/run holds an unfinished run ({root}/run/finetune/backup, "
                      f"{root}/run/finished) started with other flags: --seed was 42, now 7",
                      changed.stderr)

        second = run_quietly(command)
        self.assertEqual(second.returncode, 0, second.stdout + second.stderr)
        self.assertIn(f"A killed run finished this stage: loaded it from {root}/run/finished",
                      second.stdout)
        self.assertIn(f"Resuming a killed run from {root}/run/finetune/backup", second.stdout)
        # Only fine-tuning's last two epochs: the first stage (Epoch n/2) is not rerun.
        self.assertEqual(re.findall(r"^Epoch (\d/\d)", second.stdout, re.M), ["2/3", "3/3"])
        self.assertIn("training  2 train + 3 finetune epochs", second.stdout)
        self.assertTrue(os.path.isdir(f"{root}/export/1"))
        self.assertFalse(os.path.exists(f"{root}/run/finished"))


class MultiWorkerTest(task_harness.TaskTestCase):
    """Two workers on localhost; also covers tfllm.compat's multi-worker fixes."""

    task_module = "tasks.sentiment"
    tiny = TINY

    def test_two_local_workers_train_and_finish(self):
        root = self.fresh_root()
        # Fine-tuning with model selection covers evaluation and a second
        # compile under the strategy as well, there switching to the
        # classifier's own (adversarial) training step.
        outputs = self.run_local_workers(root, "--epochs=1", "--patience=1",
                                         "--finetune_data=sample", "--finetune_epochs=1",
                                         "--finetune_adversarial_epsilon=0.05")
        self.assertIn("on 2 replica(s)", outputs[0])
        self.assertIn(f"export    {root}/export/1", outputs[0])  # the chief exports once
        self.assertEqual(os.listdir(f"{root}/export"), ["1"])
        self.assertNotIn("Querying the export", outputs[1])  # joined the save, published nothing


if __name__ == "__main__":
    tf.test.main()
