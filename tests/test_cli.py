"""Flags per task: defaults, scoping, checks before any work, resume records."""

import json
import os
import shutil
import sys
import tempfile

import tfllm  # noqa: F401
import tensorflow as tf

from tfllm import cli
from tfllm import flags as tf_flags
from tfllm.task import Task


class Demo(Task):
    """A demo task: reads a few shared flags and has one of its own."""

    name = "demo"
    shared_flags = ("data", "epochs", "model", "monitor", "patience")
    own_flags = (tf_flags.integer_flag("width", 3, "A flag of the demo task.", lower_bound=1),)
    defaults = {"epochs": 7}
    choices = {"model": ("a", "b")}
    metrics = ("accuracy",)


class Other(Task):
    name = "other"
    shared_flags = ("epochs",)


def parse(task, *flags):
    return cli.parse(task, [task.name, *flags])


class CliTest(tf.test.TestCase):

    def setUp(self):
        super().setUp()
        # Runs record their flags in --model_dir, which defaults to a relative path.
        cwd = os.getcwd()
        os.chdir(tempfile.mkdtemp(dir=self.get_temp_dir()))
        self.addCleanup(os.chdir, cwd)

    def test_task_defaults_then_command_line(self):
        flags = parse(Demo)
        self.assertEqual((flags.epochs, flags.model_dir, flags.model, flags.width),
                         (7, "runs/demo", "a", 3))
        self.assertEqual(parse(Demo, "--epochs=2").epochs, 2)
        # Another task in the same process keeps its own flags and defaults.
        other = parse(Other)
        self.assertEqual(other.epochs, 3)
        self.assertNotIn("width", other)
        self.assertEqual(sorted(tf_flags.values(parse(Demo))),
                         sorted(["width", "data", "epochs", "model", "monitor", "patience",
                                 *tf_flags.RUNNER]))

    def test_bad_flags_exit_with_a_message(self):
        cases = [(["--epoch=2"], "Unknown command line flag 'epoch'"),
                 (["stray"], "unexpected arguments \\['stray'\\]"),
                 (["--model=c"], "--model=c: value should be one of <a|b>"),
                 (["--width=0"], "0 is not a positive integer"),
                 (["--monitor=val_acc"], "value should be one of "
                                         "<val_loss|loss|val_accuracy|accuracy>"),
                 (["--batch_size=8"], "demo: --batch_size is not read by the demo task"),
                 (["--profile_steps=5"], "--profile_steps=5: give FIRST,LAST"),
                 (["--profile_steps=5,x"], "--profile_steps=5,x: give FIRST,LAST"),
                 (["--profile_steps=6,5"], "1 <= FIRST <= LAST")]
        for flags, message in cases:
            with self.assertRaisesRegex(SystemExit, message, msg=flags):
                parse(Demo, *flags)
        self.assertEqual(parse(Demo, "--monitor=val_accuracy").monitor, "val_accuracy")
        self.assertEqual(parse(Demo, "--profile_steps=2,3").profile_steps, ["2", "3"])

    def test_help_shows_the_task_and_its_flags_only(self):
        with self.assertRaises(SystemExit) as exit_, \
                self.captureWritesToStream(sys.stdout) as shown:
            parse(Demo, "--helpfull")
        self.assertEqual(exit_.exception.code, 0)
        text = shown.contents()
        self.assertIn("demo flags:\n  --width: A flag of the demo task.", text)
        self.assertIn("training flags (shared):\n  --epochs", text)
        self.assertNotIn("--batch_size", text)
        self.assertNotIn("flagfile", text)

    def test_a_task_must_give_the_choices_of_enum_flags_it_reads(self):
        class NoChoices(Task):
            name = "no_choices"
            shared_flags = ("tokenizer",)

        with self.assertRaisesRegex(ValueError, "reads --tokenizer and must give its choices"):
            parse(NoChoices)

    def test_an_existing_export_version_stops_the_run(self):
        root = tempfile.mkdtemp(dir=self.get_temp_dir())
        os.makedirs(f"{root}/2")
        self.assertEqual(parse(Demo, f"--export_dir={root}", "--export_version=3")
                         .export_version, 3)
        with self.assertRaisesRegex(SystemExit, f"{root}/2 already exists"):
            parse(Demo, f"--export_dir={root}", "--export_version=2")

    def test_unfinished_run_resumes_only_under_its_own_flags(self):
        root = tempfile.mkdtemp(dir=self.get_temp_dir())
        first = [f"--model_dir={root}", "--epochs=2"]
        parse(Demo, *first)
        self.assertEqual(os.listdir(root), ["flags.json"])  # no staging file left
        with open(f"{root}/flags.json") as f:
            recorded = json.load(f)
        self.assertEqual((recorded["epochs"], recorded["width"]), (2, 3))

        os.makedirs(f"{root}/backup")  # as a run killed after an epoch leaves it
        # Flags that do not change what is computed may differ.
        self.assertEqual(parse(Demo, *first, "--tf_logs").epochs, 2)
        with self.assertRaisesRegex(SystemExit, f"{root} holds an unfinished run "
                                    f"\\({root}/backup\\) started with other flags: "
                                    "--epochs was 2, now 3; --model was 'a', now 'b'; --width "
                                    "was 3, now 4. Run with the same flags to resume it"):
            parse(Demo, *first, "--epochs=3", "--model=b", "--width=4")

        shutil.rmtree(f"{root}/backup")
        os.makedirs(f"{root}/finetune/backup")  # a later stage's backup counts too
        with self.assertRaisesRegex(SystemExit, "finetune/backup"):
            parse(Demo, *first, "--epochs=3")

        shutil.rmtree(f"{root}/finetune")
        os.makedirs(f"{root}/finished")  # and so does a finished first stage
        with self.assertRaisesRegex(SystemExit, "finished"):
            parse(Demo, *first, "--epochs=3")
        for corrupt in ("{half a fi", '["epochs"]'):  # not JSON; JSON but not flags
            with open(f"{root}/flags.json", "w") as f:
                f.write(corrupt)
            with self.assertRaisesRegex(SystemExit,
                                        f"{root}/flags.json: not the JSON tfllm writes"):
                parse(Demo, *first)
        shutil.rmtree(f"{root}/finished")

        # No progress left: any flags start afresh, whatever flags.json holds.
        self.assertEqual(parse(Demo, *first, "--epochs=3").epochs, 3)
        with open(f"{root}/flags.json") as f:
            self.assertEqual(json.load(f)["epochs"], 3)
