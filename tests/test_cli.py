import json
import os
import shutil
import tempfile

import tfllm  # noqa: F401
import tensorflow as tf

from tfllm import cli


def echo(flags):
    return {"epochs": flags.epochs, "model_dir": flags.model_dir, "model": flags.model}


class CliTest(tf.test.TestCase):

    def setUp(self):
        super().setUp()
        # Runs record their flags in --model_dir, which defaults to a relative path.
        cwd = os.getcwd()
        os.chdir(tempfile.mkdtemp(dir=self.get_temp_dir()))
        self.addCleanup(os.chdir, cwd)

    def test_task_defaults_then_command_line(self):
        self.assertEqual(cli.run(echo, "demo", {"epochs": 7}, ["prog"]),
                         {"epochs": 7, "model_dir": "runs/demo", "model": "transformer"})
        self.assertEqual(cli.run(echo, "demo", {"epochs": 7}, ["prog", "--epochs=2"])["epochs"], 2)
        # A later run in the same process does not inherit earlier values.
        self.assertEqual(cli.run(echo, "other", {}, ["prog"])["epochs"], 3)

    def test_bad_flags_exit_with_a_message(self):
        with self.assertRaisesRegex(SystemExit, "Unknown command line flag 'epoch'"):
            cli.run(echo, "demo", {}, ["prog", "--epoch=2"])
        with self.assertRaisesRegex(SystemExit, "unexpected arguments \\['stray'\\]"):
            cli.run(echo, "demo", {}, ["prog", "stray"])
        with self.assertRaisesRegex(SystemExit, "--model must be one of a, b for demo, got 'c'"):
            cli.run(echo, "demo", {}, ["prog", "--model=c"], choices={"model": ("a", "b")})

    def test_unfinished_run_resumes_only_under_its_own_flags(self):
        root = tempfile.mkdtemp(dir=self.get_temp_dir())
        first = ["prog", f"--model_dir={root}", "--epochs=2"]
        cli.run(echo, "demo", {}, first)
        self.assertEqual(os.listdir(root), ["flags.json"])  # no staging file left
        with open(f"{root}/flags.json") as f:
            self.assertEqual(json.load(f)["epochs"], 2)

        os.makedirs(f"{root}/backup")  # as a run killed after an epoch leaves it
        # Flags that do not change what is computed may differ.
        self.assertEqual(cli.run(echo, "demo", {}, first + ["--jit=false"])["epochs"], 2)
        with self.assertRaisesRegex(SystemExit, f"{root} holds an unfinished run "
                                    f"\\({root}/backup\\) started with other flags: "
                                    "--epochs was 2, now 3; --model was 'transformer', now "
                                    "'lstm'. Run with the same flags to resume it"):
            cli.run(echo, "demo", {}, first + ["--epochs=3", "--model=lstm"])

        shutil.rmtree(f"{root}/backup")
        os.makedirs(f"{root}/finetune/backup")  # a later stage's backup counts too
        with self.assertRaisesRegex(SystemExit, "finetune/backup"):
            cli.run(echo, "demo", {}, first + ["--epochs=3"])

        shutil.rmtree(f"{root}/finetune")
        os.makedirs(f"{root}/finished")  # and so does a finished first stage
        with self.assertRaisesRegex(SystemExit, "finished"):
            cli.run(echo, "demo", {}, first + ["--epochs=3"])
        for corrupt in ("{half a fi", '["epochs"]'):  # not JSON; JSON but not flags
            with open(f"{root}/flags.json", "w") as f:
                f.write(corrupt)
            with self.assertRaisesRegex(SystemExit,
                                        f"{root}/flags.json: not the JSON tfllm writes"):
                cli.run(echo, "demo", {}, first)
        shutil.rmtree(f"{root}/finished")

        # No progress left: any flags start afresh, whatever flags.json holds.
        self.assertEqual(cli.run(echo, "demo", {}, first + ["--epochs=3"])["epochs"], 3)
        with open(f"{root}/flags.json") as f:
            self.assertEqual(json.load(f)["epochs"], 3)
