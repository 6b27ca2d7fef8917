"""End-to-end checks every task gets from one call each.

A task's test case subclasses `TaskTestCase`, names its module and the flags
that make it tiny, and calls:

* `run_task(*flags)`: trains in this process through the task's `main`,
  exporting to a fresh folder (or `root=`); returns `(RunResult, root)`;
* `run_command(root, *flags)`: the same as a user's `python -m tasks.X`;
* `serve_fresh(path, signature, inputs)`: asks the export in a fresh process
  that imports only TensorFlow and TF Text, as TF Serving would;
* `assert_serves_like_the_model(path, signature, inputs, expected)`: the
  fresh process's answers equal what the Keras model gives;
* `assert_resumes(*flags)`: kills a run after its first epoch and checks
  that the same command resumes it (and, with `refusal=True`, that other
  flags refuse to).

These tests train and start processes: they are marked `slow`
(`python -m pytest -m "not slow"` runs the rest).
"""

import importlib
import json
import os
import re
import subprocess
import sys
import tempfile

import numpy as np
import pytest
import tensorflow as tf

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# Loads an export as TF Serving does: nothing but TensorFlow and TF Text.
_SERVE = r"""
import json, sys
import numpy as np
import tensorflow as tf
import tensorflow_text  # noqa: F401  (registers the tokenizer ops)

def plain(tensor):
    value = tensor.numpy()
    if value.dtype == object:
        value = np.vectorize(lambda b: b.decode("utf-8", "replace"), otypes=[object])(value)
    return value.tolist()

loaded = tf.saved_model.load(sys.argv[1])
function = loaded.signatures[sys.argv[2]]
specs = function.structured_input_signature[1]
inputs = {name: tf.constant(value, specs[name].dtype)
          for name, value in json.loads(sys.argv[3]).items()}
outputs = function(**inputs)
print(json.dumps({
    "signatures": sorted(loaded.signatures),
    "inputs": sorted(specs),
    "outputs": {name: plain(value) for name, value in outputs.items()},
    # (`import tensorflow` imports keras itself; keras_hub and tfllm must stay out.)
    "modules": sorted(m for m in ("keras_hub", "tfllm") if m in sys.modules),
}))
"""


def quiet_environment():
    return {**os.environ, "PYTHONUNBUFFERED": "1", "TF_CPP_MIN_LOG_LEVEL": "3"}


def run_quietly(command, **kwargs):
    return subprocess.run(command, cwd=REPO, env=quiet_environment(), capture_output=True,
                          text=True, timeout=600, **kwargs)


def kill_at(command, line_start):
    """Runs `command` until it prints a line starting with `line_start`, kills
    it there, and returns its exit status."""
    process = subprocess.Popen(command, cwd=REPO, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True, env=quiet_environment())
    for line in process.stdout:
        if line.startswith(line_start):
            process.kill()
            break
    return process.wait(timeout=60)


@pytest.mark.slow
class TaskTestCase(tf.test.TestCase):
    """Base of a task's end-to-end tests (see the module docstring)."""

    task_module = None  # e.g. "tasks.sentiment"
    tiny = ()           # flags that make the task train in seconds

    def fresh_root(self):
        return tempfile.mkdtemp(dir=self.get_temp_dir())

    def output_flags(self, root):
        return [f"--model_dir={root}/run", f"--export_dir={root}/export"]

    def run_task(self, *flags, root=None):
        """`(RunResult, root)` of the task's `main` on `flags`, writing under
        `root` (default: a fresh folder)."""
        root = root or self.fresh_root()
        module = importlib.import_module(self.task_module)
        argv = [self.task_module, *self.output_flags(root), *self.tiny, *flags]
        return module.main(argv), root

    def command(self, root, *flags):
        return [sys.executable, "-m", self.task_module, *self.tiny, *self.output_flags(root),
                *flags]

    def run_command(self, root, *flags):
        return run_quietly(self.command(root, *flags))

    def serve_fresh(self, path, signature, inputs):
        run = run_quietly([sys.executable, "-c", _SERVE, path, signature, json.dumps(inputs)])
        if run.returncode:
            raise AssertionError(f"the export failed in a fresh process:\n{run.stderr[-3000:]}")
        served = json.loads(run.stdout.strip().splitlines()[-1])
        self.assertEqual(served["modules"], [], "the export needs more than TF and TF Text")
        return served

    def assert_serves_like_the_model(self, path, signature, inputs, expected, atol=1e-5):
        """The export's answers in a fresh process equal `expected` ({output
        name: values}); numbers within `atol`, strings exactly."""
        served = self.serve_fresh(path, signature, inputs)
        self.assertEqual(served["inputs"], sorted(inputs))
        for name, values in expected.items():
            got = served["outputs"][name]
            if np.asarray(values).dtype.kind in "fiu":
                self.assertAllClose(got, values, atol=atol, msg=name)
            else:
                self.assertEqual(got, list(values), msg=name)
        return served

    def assert_resumes(self, *flags, epochs=3, patience=True, refusal=False):
        """A run killed after its first epoch resumes there (`patience`: the
        task has early stopping, turned off here). With `refusal`, also that
        other flags refuse to resume it (the runner's check, the same for
        every task: one task's test runs it)."""
        root = self.fresh_root()
        command = self.command(root, f"--epochs={epochs}", *(["--patience=0"] * patience),
                               *flags)
        # Epoch 1's backup is written before epoch 2 announces itself.
        self.assertNotEqual(kill_at(command, f"Epoch 2/{epochs}"), 0)
        self.assertFalse(os.path.exists(f"{root}/export/1"))

        if refusal:
            changed = run_quietly(command + ["--seed=7"])
            self.assertEqual(changed.returncode, 1, changed.stdout + changed.stderr)
            self.assertIn(f"{root}/run holds an unfinished run ({root}/run/backup) started "
                          "with other flags: --seed was ", changed.stderr)

        resumed = run_quietly(command)
        self.assertEqual(resumed.returncode, 0, resumed.stdout + resumed.stderr)
        self.assertIn(f"Resuming a killed run from {root}/run/backup", resumed.stdout)
        self.assertEqual(re.findall(rf"^Epoch (\d+)/{epochs}", resumed.stdout, re.M),
                         [str(e) for e in range(2, epochs + 1)])
        self.assertRegex(resumed.stdout, rf"training +{epochs} epochs")  # all, not this run's
        self.assertTrue(os.path.isdir(f"{root}/export/1"))
        return resumed
