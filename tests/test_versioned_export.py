import os

import tfllm  # noqa: F401
import tensorflow as tf

from tfllm.export.versioned import export_on_chief, export_version, next_version


def write_files(folder):
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, "saved_model.pb"), "w") as f:
        f.write("x")


class VersionedExportTest(tf.test.TestCase):

    def test_versions_count_up_and_ignore_other_names(self):
        root = self.get_temp_dir()
        self.assertEqual(next_version(os.path.join(root, "missing")), 1)
        os.makedirs(os.path.join(root, "3"))
        os.makedirs(os.path.join(root, ".tmp-9-abc"))
        path = export_version(root, write_files)
        self.assertEqual(path, os.path.join(root, "4"))
        self.assertTrue(os.path.isfile(os.path.join(path, "saved_model.pb")))

    def test_failed_write_leaves_no_version_and_no_staging(self):
        root = os.path.join(self.get_temp_dir(), "failing")

        def broken(folder):
            write_files(folder)
            raise RuntimeError("disk full")

        with self.assertRaisesRegex(RuntimeError, "disk full"):
            export_version(root, broken)
        self.assertEqual(os.listdir(root), [])

    def test_refuses_to_overwrite(self):
        root = os.path.join(self.get_temp_dir(), "taken")
        export_version(root, write_files, version=7)
        with self.assertRaisesRegex(FileExistsError, "choose another --export_version"):
            export_version(root, write_files, version=7)

    def test_only_the_chief_publishes(self):
        root = os.path.join(self.get_temp_dir(), "workers")
        written = []

        def write(folder):
            write_files(folder)
            written.append(folder)

        self.assertIsNone(export_on_chief(root, write, chief=False))
        self.assertFalse(os.path.exists(root))
        self.assertFalse(os.path.exists(written[0]))  # the scratch copy is gone
        self.assertEqual(export_on_chief(root, write, chief=True), os.path.join(root, "1"))
