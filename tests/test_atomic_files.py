import json
import os

import tensorflow as tf

from tfllm.atomic_files import write_json_atomically


class WriteJsonAtomicallyTest(tf.test.TestCase):

    def test_writes_creates_the_folder_and_replaces(self):
        path = os.path.join(self.get_temp_dir(), "new", "state.json")
        write_json_atomically(path, {"epochs": 3})
        write_json_atomically(path, {"epochs": 5, "names": ["a", "b"]})
        with open(path) as f:
            self.assertEqual(json.load(f), {"epochs": 5, "names": ["a", "b"]})
        self.assertEqual(os.listdir(os.path.dirname(path)), ["state.json"])  # no staging file

    def test_a_failed_write_keeps_the_old_file_and_leaves_nothing(self):
        folder = os.path.join(self.get_temp_dir(), "failed")
        os.makedirs(folder)
        path = os.path.join(folder, "state.json")
        write_json_atomically(path, {"epochs": 3})
        with self.assertRaises(TypeError):  # not serialisable, found halfway through
            write_json_atomically(path, {"epochs": 4, "model": object()})
        with open(path) as f:
            self.assertEqual(json.load(f), {"epochs": 3})
        self.assertEqual(os.listdir(folder), ["state.json"])
