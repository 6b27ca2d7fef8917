"""The length curriculum: the competence schedule, shortest-first sampling of
examples, sequence cuts of a packed stream, and its flags."""

import os
import tempfile

import numpy as np
import tensorflow as tf

from tfllm import cli
from tfllm.data.curriculum import INITIAL_COMPETENCE, Curriculum, competence
from tfllm.task import Task
from tfllm import flags as tf_flags


class Demo(Task):
    name = "demo"
    shared_flags = ("epochs",) + tf_flags.CURRICULUM


class CurriculumTest(tf.test.TestCase):

    def test_competence_schedule(self):
        values = competence(tf.constant([0.0, 0.25, 0.5, 1.0, 2.0])).numpy()
        c0 = INITIAL_COMPETENCE
        self.assertAllClose(values, [c0, np.sqrt(0.25 * (1 - c0**2) + c0**2),
                                     np.sqrt(0.5 * (1 - c0**2) + c0**2), 1.0, 1.0])

    def draws(self, curriculum, epoch, ids, labels):
        curriculum.epoch.assign(epoch)
        return [(row.numpy().size, label.numpy())
                for row, label in curriculum.sample(ids, labels, seed=3)]

    def test_examples_are_drawn_shortest_first_then_from_all(self):
        # 200 examples, example i of length i + 1 (in shuffled order), labelled by length.
        lengths = np.random.default_rng(0).permutation(200) + 1
        ids = tf.ragged.constant([[7] * n for n in lengths])
        labels = tf.constant(lengths)
        curriculum = Curriculum(epochs=2)
        first = self.draws(curriculum, 0, ids, labels)
        self.assertLen(first, 200)  # an epoch keeps its size
        for length, label in first:
            self.assertEqual(length, label)  # rows keep their labels
        drawn = np.array([length for length, _ in first])
        # Position p of epoch 0 (progress p / 400) draws among the ceil(c * 200) shortest.
        bound = np.ceil(competence(np.arange(200) / 400).numpy() * 200)
        self.assertTrue(np.all(drawn <= bound))
        self.assertLessEqual(drawn[0], 2)  # c0 = 1%: one of the two shortest
        self.assertLess(drawn[:50].mean(), drawn[150:].mean())
        # After the schedule every length is open: the longest are drawn too.
        later = np.array([length for length, _ in self.draws(curriculum, 2, ids, labels)])
        self.assertGreater(later.max(), 190)
        self.assertGreater(later.mean(), drawn.mean())

    def test_stream_sequences_are_cut_then_whole(self):
        curriculum = Curriculum(epochs=1, units_per_epoch=10)
        sequences = tf.ones([4, 100], tf.int32)
        self.assertEqual(curriculum.cut(0, sequences).shape, [4, 8])  # never under 8
        expected = int(np.ceil(competence(0.5).numpy() * 100))
        self.assertEqual(curriculum.cut(5, sequences).shape, [4, expected])
        curriculum.epoch.assign(1)
        self.assertEqual(curriculum.cut(0, sequences).shape, [4, 100])

    def test_flags(self):
        cwd = os.getcwd()
        os.chdir(tempfile.mkdtemp(dir=self.get_temp_dir()))
        self.addCleanup(os.chdir, cwd)
        flags = cli.parse(Demo, ["demo", "--curriculum=length", "--curriculum_epochs=2",
                                 "--epochs=3"])
        self.assertEqual(Curriculum.from_flags(flags).epochs, 2)
        self.assertIsNone(Curriculum.from_flags(cli.parse(Demo, ["demo"])))
        for argv, message in [(["--curriculum=length", "--curriculum_epochs=4", "--epochs=3"],
                               "--curriculum_epochs=4 is more than --epochs=3"),
                              (["--curriculum_epochs=2"],
                               "--curriculum_epochs applies to --curriculum=length"),
                              (["--curriculum=easy"], "value should be one of <none|length>")]:
            with self.assertRaisesRegex(SystemExit, message):
                cli.parse(Demo, ["demo", *argv])


if __name__ == "__main__":
    tf.test.main()
