"""TensorFlow's C++ log noise is hidden by default and comes back on request."""

import os
import subprocess
import sys

import pytest
import tfllm  # noqa: F401
import tensorflow as tf

from tfllm import report, runtime

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SNIPPET = "import tfllm, tensorflow as tf; print(int(tf.constant(1) + 1))"


def run(*args, **env):
    environment = {k: v for k, v in os.environ.items() if k != "TFLLM_TF_LOGS"}
    return subprocess.run([sys.executable, "-c", SNIPPET, *args], cwd=REPO, text=True,
                          capture_output=True, env={**environment, **env}, timeout=120)


@pytest.mark.slow
class RuntimeTest(tf.test.TestCase):

    def test_quiet_by_default(self):
        result = run()
        self.assertEqual(result.stdout, "2\n")
        self.assertEqual(result.stderr, "")

    def test_flag_or_environment_brings_logs_back(self):
        self.assertNotEqual(run("--tf_logs").stderr, "")
        self.assertNotEqual(run(TFLLM_TF_LOGS="1").stderr, "")
        self.assertTrue(runtime.tf_logs_wanted(["prog", "--tf_logs"]))
        self.assertFalse(runtime.tf_logs_wanted(["prog", "--tf_logs_dir=x"]))


class ReportTest(tf.test.TestCase):

    def test_summary_aligns_rows(self):
        with self.captureWritesToStream(sys.stdout) as captured:
            report.summary("demo", [("accuracy", "0.9"), ("export", "saved_models/x/1")])
        self.assertIn("== demo ==\naccuracy  0.9\nexport    saved_models/x/1", captured.contents())


def test_only_the_first_run_in_a_process_has_a_start_up():
    # A fresh process: the test process's own runs may have asked already.
    code = ("import time, tfllm; from tfllm import runtime; began = runtime.start_up_began(); "
            "print(0 < time.perf_counter() - began < 600, runtime.start_up_began())")
    printed = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True,
                             text=True, check=True).stdout.split()
    assert printed == ["True", "None"]
