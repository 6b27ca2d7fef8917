"""The TF Serving contract check: a good export passes; an export without
variables, without `serving_default`, with non-string inputs, or with an op
that neither TensorFlow nor TF Text registers fails with a clear message
and exit status 1. (Every task's export is checked in its own tests.)"""

import os
import shutil
import subprocess
import sys

import tensorflow as tf

from tfllm.export.check import check_export


class Echo(tf.Module):
    def __init__(self):
        super().__init__()
        self.scale = tf.Variable(2, dtype=tf.int32)

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="text")])
    def serve(self, text):
        return {"length": tf.strings.length(text) * self.scale, "text": text}

    @tf.function(input_signature=[tf.TensorSpec([None], tf.int32, name="ids")])
    def ids(self, ids):
        return {"ids": ids * self.scale}


def save(folder, signatures):
    module = Echo()
    tf.saved_model.save(module, folder, signatures={
        name: getattr(module, attr) for name, attr in signatures.items()})
    return folder


class ExportCheckTest(tf.test.TestCase):

    def setUp(self):
        super().setUp()
        self.root = os.path.join(self.get_temp_dir(), self.id().rsplit(".", 1)[-1])

    def command(self, path):
        return subprocess.run([sys.executable, "-m", "tfllm.export.check", path],
                              capture_output=True, text=True)

    def test_a_good_export_passes(self):
        save(os.path.join(self.root, "1"), {"serving_default": "serve", "ids": "ids"})
        os.makedirs(os.path.join(self.root, ".tmp-2-abc"))  # staging folders are not versions
        # The command only: each check of a version starts a fresh process.
        run = self.command(self.root)
        self.assertEqual(run.returncode, 0, run.stdout + run.stderr)
        self.assertIn("1 version(s) checked", run.stdout)

    def test_broken_exports_fail_with_a_message(self):
        no_variables = save(os.path.join(self.root, "1"), {"serving_default": "serve"})
        shutil.rmtree(os.path.join(no_variables, "variables"))
        save(os.path.join(self.root, "2"), {"ids_only": "ids"})
        save(os.path.join(self.root, "3"), {"serving_default": "ids"})
        problems = [
            f"{self.root}/1: no variables/ (variables.index), which TF Serving restores the "
            "weights from",
            f"{self.root}/2: no serving_default signature (TF Serving's default); signatures: "
            "['ids_only']",
            f"{self.root}/3: serving_default takes {{'ids': 'int32'}}; it should take raw "
            "strings"]
        run = self.command(self.root)  # `check_export`'s problems, a line each
        self.assertEqual(run.returncode, 1)
        self.assertEqual(run.stdout.splitlines(), [f"error: {p}" for p in problems])

    def test_an_op_outside_tensorflow_and_tf_text_is_named(self):
        from tensorflow.core.protobuf import saved_model_pb2

        version = save(os.path.join(self.root, "1"), {"serving_default": "serve"})
        path = os.path.join(version, "saved_model.pb")
        saved = saved_model_pb2.SavedModel()
        with open(path, "rb") as f:
            saved.ParseFromString(f.read())
        for function in saved.meta_graphs[0].graph_def.library.function:
            for node in function.node_def:
                if node.op == "StringLength":
                    node.op = "CustomStringLength"  # as a custom-op library would add
        with open(path, "wb") as f:
            f.write(saved.SerializeToString())
        self.assertEqual(check_export(self.root), [
            f"{version}: op 'CustomStringLength' (in serving_default) is registered by "
            "neither core TensorFlow nor TF Text; TF Serving cannot run it"])

    def test_missing_folders_and_roots_without_versions(self):
        self.assertEqual(check_export(os.path.join(self.root, "nowhere")),
                         [f"{self.root}/nowhere: no such folder"])
        os.makedirs(os.path.join(self.root, "latest"))
        self.assertEqual(check_export(self.root), [
            f"{self.root}: no numeric version folder (TF Serving loads <root>/<version>/; "
            "found ['latest'])"])


if __name__ == "__main__":
    tf.test.main()
