"""End-to-end checks every task gets from one call each.

A task's test case subclasses `TaskTestCase`, names its module and the flags
that make it tiny, and calls:

* `run_task(*flags)`: trains in this process through the task's `main`,
  exporting to a fresh folder (or `root=`); returns `(RunResult, root)`;
* `command(root, *flags)`: the same as a user's `python -m tasks.X`, to
  run in a process (`run_quietly`, `kill_at`);
* `serve_fresh(path, signature, inputs)`: asks the export in a fresh process
  that imports only TensorFlow and TF Text, as TF Serving would;
* `assert_fits_tf_serving(path)`: the export passes `tfllm.export.check`;
* `assert_serves_like_the_model(path, signature, inputs, expected)`: both of
  the above, and the fresh process's answers, and the local server's
  (`python -m tfllm.serve`, asked over HTTP), equal what the Keras model gives;
* `assert_resumes(*flags)`: kills a run after its first epoch and checks
  that the same command resumes it.

These tests train and start processes: they are marked `slow`
(`python -m pytest -m "not slow"` runs the rest).
"""

import importlib
import json
import os
import re
import socket
import subprocess
import sys
import tempfile

import numpy as np
import pytest
import tensorflow as tf

from tfllm.export.check import check_export, fresh_problems, layout_problems, run_fresh
from tfllm.serve.process import request, running_server

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _free_ports(count):
    sockets = [socket.socket() for _ in range(count)]
    for s in sockets:
        s.bind(("localhost", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


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

    def run_local_workers(self, root, *flags, workers=2):
        """The outputs of the task's command on `workers` processes of one
        `--strategy=multi_worker` cluster on localhost; each must exit 0."""
        command = self.command(root, "--strategy=multi_worker", *flags)
        addresses = [f"localhost:{port}" for port in _free_ports(workers)]
        processes = []
        for index in range(workers):
            config = {"cluster": {"worker": addresses}, "task": {"type": "worker", "index": index}}
            env = {**quiet_environment(), "TF_CONFIG": json.dumps(config)}
            processes.append(subprocess.Popen(command, cwd=REPO, env=env, text=True,
                                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT))
        outputs = [p.communicate(timeout=600)[0] for p in processes]
        for index, process in enumerate(processes):
            self.assertEqual(process.returncode, 0, f"worker {index}:\n{outputs[index]}")
        return outputs

    def serve_fresh(self, path, signature, inputs, report=None):
        """The export's answers from a fresh process with only TF and TF Text
        (`report`: that process' `run_fresh` report, if already made)."""
        report = report or run_fresh(path, {signature: inputs})
        self.assertIsNone(report["error"], f"the export failed to load: {report['error']}")
        self.assertEqual(report["modules"], [], "the export needs more than TF and TF Text")
        served = report["asked"][signature]
        self.assertNotIn("error", served)
        return {"signatures": report["names"], "inputs": sorted(served["inputs"]),
                "outputs": served["outputs"]}

    def assert_fits_tf_serving(self, path, report=None):
        """The export passes `python -m tfllm.export.check` (layout, signatures,
        ops), judged from `report` (a `run_fresh` report of `path`) if given."""
        if report is None:
            self.assertEqual(check_export(path), [])
        else:
            self.assertEqual(layout_problems(path) + fresh_problems(path, report), [])

    def serve_over_http(self, path, signature, inputs):
        """The answers of the local server (`python -m tfllm.serve`) over
        HTTP, in TF Serving's columnar format, for the export holding `path`."""
        with running_server(self.task_module.split(".")[-1], os.path.dirname(path)) as url:
            status, answer = request(f"{url}:predict", {"signature_name": signature,
                                                        "inputs": inputs})
            self.assertEqual(status, 200, answer)
            outputs = request(f"{url}/metadata")[1]["metadata"]["signature_def"][signature][
                "outputs"]
        # TF Serving answers a one-output signature with the bare tensor.
        if len(outputs) == 1:
            return {next(iter(outputs)): answer["outputs"]}
        return answer["outputs"]

    def assert_serves_like_the_model(self, path, signature, inputs, expected, atol=1e-5,
                                     over_http=True):
        """The export passes the TF Serving check, and its answers in a fresh
        process and from the local server equal `expected` ({output name:
        values}); numbers within `atol`, strings exactly. `over_http=False`
        skips the server, for an export whose kind another test serves."""
        report = run_fresh(path, {signature: inputs})  # one fresh process for both
        self.assert_fits_tf_serving(path, report)
        served = self.serve_fresh(path, signature, inputs, report)
        self.assertEqual(served["inputs"], sorted(inputs))
        answers = [("fresh process", served["outputs"])]
        if over_http:
            answers.append(("server", self.serve_over_http(path, signature, inputs)))
        for name, values in expected.items():
            for where, outputs in answers:
                got = outputs[name]
                if np.asarray(values).dtype.kind in "fiu":
                    self.assertAllClose(got, values, atol=atol, msg=f"{name} ({where})")
                else:
                    self.assertEqual(got, list(values), msg=f"{name} ({where})")
        return served

    def assert_resumes(self, *flags, epochs=3, patience=True):
        """A run killed after its first epoch resumes there (`patience`: the
        task has early stopping, turned off here)."""
        root = self.fresh_root()
        command = self.command(root, f"--epochs={epochs}", *(["--patience=0"] * patience),
                               *flags)
        # Epoch 1's backup is written before epoch 2 announces itself.
        self.assertNotEqual(kill_at(command, f"Epoch 2/{epochs}"), 0)
        self.assertFalse(os.path.exists(f"{root}/export/1"))

        resumed = run_quietly(command)
        self.assertEqual(resumed.returncode, 0, resumed.stdout + resumed.stderr)
        self.assertIn(f"Resuming a killed run from {root}/run/backup", resumed.stdout)
        self.assertEqual(re.findall(rf"^Epoch (\d+)/{epochs}", resumed.stdout, re.M),
                         [str(e) for e in range(2, epochs + 1)])
        self.assertRegex(resumed.stdout, rf"training +{epochs} epochs")  # all, not this run's
        self.assertTrue(os.path.isdir(f"{root}/export/1"))
        return resumed
