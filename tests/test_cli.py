import tfllm  # noqa: F401
import tensorflow as tf

from tfllm import cli


def echo(flags):
    return {"epochs": flags.epochs, "model_dir": flags.model_dir, "model": flags.model}


class CliTest(tf.test.TestCase):

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
