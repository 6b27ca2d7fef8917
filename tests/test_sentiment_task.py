"""The sentiment task end to end: train, evaluate, export, serve, resume, scale out."""

import json
import os
import re
import socket
import subprocess
import sys
import tempfile

import tfllm  # noqa: F401
import tensorflow as tf

from tasks import sentiment
from tfllm.data import sample

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TINY = ["--hidden_dim=32", "--intermediate_dim=64", "--num_layers=1", "--num_heads=2",
        "--sequence_length=32", "--vocab_size=200", "--batch_size=32", "--jit=false",
        "--learning_rate=5e-3"]
QUERIES = ["the plot was good but the acting was awful", "", "<p>NOT bad &amp; funny</p>",
           "zebra " * 100, "the music was \ufffd moving"]

# Loads an export the way TF Serving does: nothing but TensorFlow and TF Text.
SERVE = """
import json, sys
import tensorflow as tf, tensorflow_text  # noqa
serve = tf.saved_model.load(sys.argv[1]).signatures["serving_default"]
out = serve(text=tf.constant(json.loads(sys.argv[2])))
print(json.dumps({"inputs": list(serve.structured_input_signature[1]),
                  "label": [x.decode() for x in out["label"].numpy()],
                  "label_id": out["label_id"].numpy().tolist(),
                  "probabilities": out["probabilities"].numpy().tolist()}))
"""


def task_command(*args):
    return [sys.executable, "-m", "tasks.sentiment", *TINY, *args]


def run_quietly(command, **kwargs):
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    return subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True,
                          timeout=600, **kwargs)


def kill_at(command, line_start):
    """Runs `command` until it prints a line starting with `line_start`, kills
    it there, and returns its exit status."""
    process = subprocess.Popen(command, cwd=REPO, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True,
                               env={**os.environ, "PYTHONUNBUFFERED": "1"})
    for line in process.stdout:
        if line.startswith(line_start):
            process.kill()
            break
    return process.wait(timeout=60)


class SentimentTaskTest(tf.test.TestCase):

    def run_task(self, root, *args):
        return sentiment.main(["sentiment", f"--model_dir={root}/run",
                               f"--export_dir={root}/export", *TINY, *args])

    def test_trains_exports_and_serves_raw_text(self):
        root = tempfile.mkdtemp(dir=self.get_temp_dir())
        result = self.run_task(root, "--epochs=4")
        self.assertGreater(result["metrics"]["accuracy"], 0.8)
        path = result["export_path"]
        self.assertEqual(path, f"{root}/export/1")
        self.assertEqual(sorted(os.listdir(f"{root}/export")), ["1"])  # no staging left
        with open(os.path.join(path, "run_card.json")) as f:
            card = json.load(f)
        self.assertEqual(card["task"], "sentiment")
        self.assertEqual(card["flags"]["epochs"], 4)
        self.assertEqual(card["metrics"]["accuracy"], result["metrics"]["accuracy"])
        self.assertIn("tensorflow", card["versions"])
        self.assertTrue(os.path.isfile(os.path.join(path, "assets.extra/tokenizer/vocab.txt")))

        served = json.loads(run_quietly([sys.executable, "-c", SERVE, path,
                                         json.dumps(QUERIES)], check=True).stdout)
        self.assertEqual(served["inputs"], ["text"])
        model, encoder = result["model"], result["encoder"]
        expected = tf.nn.softmax(model(encoder(tf.constant(QUERIES)).to_tensor())).numpy()
        self.assertAllClose(served["probabilities"], expected, atol=1e-5)
        self.assertEqual(served["label_id"], expected.argmax(-1).tolist())
        names = ["negative", "positive"]
        self.assertEqual(served["label"], [names[i] for i in served["label_id"]])

    def test_lstm_from_a_tsv_file_exports_the_next_version(self):
        root = tempfile.mkdtemp(dir=self.get_temp_dir())
        os.makedirs(f"{root}/export/1")
        data = os.path.join(root, "train.tsv")
        with open(data, "w") as f:
            f.write("sentence\tlabel\n" + "".join(
                f"{text}\t{int(label == 'positive')}\n"
                for text, label in sample.sentiment_examples(300)))
        result = self.run_task(root, "--model=lstm", "--epochs=1", f"--data={data}",
                               "--label_names=neg,pos")
        self.assertEqual(result["export_path"], f"{root}/export/2")
        self.assertEqual(result["metrics"]["label_names"], ["neg", "pos"])

    def test_one_seed_repeats_the_run(self):
        # Word dropout and shuffling are the random parts of the input pipeline.
        args = ["--epochs=2", "--patience=0", "--token_dropout=0.2", "--seed=4"]
        first, second = (self.run_task(tempfile.mkdtemp(dir=self.get_temp_dir()), *args)
                         for _ in range(2))
        self.assertEqual(first["history"]["loss"], second["history"]["loss"])

    def test_fine_tuning_follows_training_and_is_recorded(self):
        root = tempfile.mkdtemp(dir=self.get_temp_dir())
        tuning = os.path.join(root, "sentences.tsv")
        with open(tuning, "w") as f:
            f.write("sentence\tlabel\n" + "".join(
                f"{text}\t{label}\n" for text, label in sample.sentiment_examples(100, seed=1)))
        result = self.run_task(root, "--epochs=1", f"--finetune_data={tuning}",
                               "--finetune_epochs=2", "--finetune_learning_rate=1e-3")
        with open(os.path.join(result["export_path"], "run_card.json")) as f:
            card = json.load(f)
        self.assertEqual(card["epochs_run"], 1)
        self.assertEqual(card["finetune"]["examples"], 100)
        self.assertEqual(card["finetune"]["epochs_run"], 2)
        before = card["finetune"]["metrics_before"]["accuracy"]
        self.assertGreaterEqual(card["metrics"]["accuracy"], before)  # never worse on eval
        self.assertGreater(card["training_seconds"], card["finetune"]["seconds"])
        self.assertFalse(os.path.exists(f"{root}/run/finished"))  # the next run starts afresh

        with open(tuning, "a") as f:
            f.write("a calm film\tneutral\n")
        with self.assertRaisesRegex(SystemExit, f"{tuning}:102.*'neutral'"):
            self.run_task(root, "--epochs=1", f"--finetune_data={tuning}")

    def test_bad_input_stops_with_a_message(self):
        root = tempfile.mkdtemp(dir=self.get_temp_dir())
        with self.assertRaisesRegex(SystemExit, "error: /no/such.tsv: no such file"):
            self.run_task(root, "--data=/no/such.tsv")
        with self.assertRaisesRegex(SystemExit, "--finetune_epochs=0: 0 is not a positive integer"):
            self.run_task(root, "--finetune_data=sample", "--finetune_epochs=0")
        with self.assertRaisesRegex(SystemExit, r"not a number in the range \[0.0, 1.0\]"):
            self.run_task(root, "--adversarial_epsilon=4")
        with self.assertRaisesRegex(SystemExit, "applies to the --finetune_data stage"):
            self.run_task(root, "--finetune_adversarial_epsilon=0.05")
        with self.assertRaisesRegex(SystemExit, "--model must be one of transformer, lstm"):
            self.run_task(root, "--model=cnn")
        with self.assertRaisesRegex(SystemExit, "strategy"):
            self.run_task(root, "--strategy=horovod")
        self.assertFalse(os.path.exists(f"{root}/export"))


class ResumeTest(tf.test.TestCase):

    def test_killed_run_resumes_at_the_second_epoch(self):
        root = tempfile.mkdtemp(dir=self.get_temp_dir())
        command = task_command("--epochs=3", "--batch_size=4", "--patience=0",
                               f"--model_dir={root}/run", f"--export_dir={root}/export")
        # Epoch 1's backup is written before epoch 2 announces itself.
        self.assertNotEqual(kill_at(command, "Epoch 2/3"), 0)
        self.assertFalse(os.path.exists(f"{root}/export/1"))
        changed = run_quietly(command + ["--hidden_dim=48"])
        self.assertEqual(changed.returncode, 1)
        self.assertIn(f"{root}/run holds an unfinished run ({root}/run/backup) started with "
                      "other flags: --hidden_dim was 32, now 48.", changed.stderr)

        second = run_quietly(command)
        self.assertEqual(second.returncode, 0, second.stdout + second.stderr)
        self.assertEqual(re.findall(r"^Epoch (\d)/3", second.stdout, re.M), ["2", "3"])
        self.assertTrue(os.path.isdir(f"{root}/export/1"))

    def test_run_killed_while_fine_tuning_resumes_without_training_again(self):
        root = tempfile.mkdtemp(dir=self.get_temp_dir())
        command = task_command("--epochs=2", "--batch_size=4", "--patience=0",
                               "--finetune_data=sample", "--finetune_epochs=3",
                               f"--model_dir={root}/run", f"--export_dir={root}/export")
        # Fine-tuning's first epoch is backed up when its second announces itself.
        self.assertNotEqual(kill_at(command, "Epoch 2/3"), 0)

        second = run_quietly(command)
        self.assertEqual(second.returncode, 0, second.stdout + second.stderr)
        # Only fine-tuning's last two epochs: the first stage (Epoch n/2) is not rerun.
        self.assertEqual(re.findall(r"^Epoch (\d/\d)", second.stdout, re.M), ["2/3", "3/3"])
        self.assertTrue(os.path.isdir(f"{root}/export/1"))
        self.assertFalse(os.path.exists(f"{root}/run/finished"))


def _free_ports(count):
    sockets = [socket.socket() for _ in range(count)]
    for s in sockets:
        s.bind(("localhost", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


class MultiWorkerTest(tf.test.TestCase):
    """Two workers on localhost; also covers tfllm.training.keras_fixes."""

    def test_two_local_workers_train_and_finish(self):
        root = tempfile.mkdtemp(dir=self.get_temp_dir())
        workers = [f"localhost:{port}" for port in _free_ports(2)]
        # Fine-tuning with model selection covers evaluation and a second
        # compile under the strategy as well, there switching to the
        # classifier's own (adversarial) training step.
        command = task_command("--strategy=multi_worker", "--epochs=1", "--patience=1",
                               "--finetune_data=sample", "--finetune_epochs=1",
                               "--finetune_adversarial_epsilon=0.05",
                               f"--model_dir={root}/run", f"--export_dir={root}/export")
        processes = []
        for index in range(2):
            config = {"cluster": {"worker": workers}, "task": {"type": "worker", "index": index}}
            env = {**os.environ, "TF_CONFIG": json.dumps(config)}
            processes.append(subprocess.Popen(command, cwd=REPO, env=env, text=True,
                                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT))
        outputs = [p.communicate(timeout=600)[0] for p in processes]
        for index, process in enumerate(processes):
            self.assertEqual(process.returncode, 0, f"worker {index}:\n{outputs[index]}")
        self.assertIn("on 2 replica(s)", outputs[0])
        self.assertIn(f"export    {root}/export/1", outputs[0])  # the chief exports once
        self.assertEqual(os.listdir(f"{root}/export"), ["1"])
        self.assertNotIn("Querying the export", outputs[1])  # joined the save, published nothing
