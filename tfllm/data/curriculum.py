"""Length curriculum: short sequences first, widening to all lengths.

A competence schedule (Platanios et al. 2019, "Competence-based Curriculum
Learning for Neural Machine Translation"): at training progress `p` (0 at
the first step, 1 after `epochs` epochs) the model may see the easiest
`c(p)` share of the data, with

    c(p) = min(1, sqrt(p * (1 - c0**2) + c0**2))

and `c0` the share it starts with. Length is the difficulty. Written here:
neither Keras, keras-hub nor tf.data has a curriculum.

* Examples held in memory (classification): every position of an epoch
  draws an example uniformly from the `c(p)` shortest, as the paper
  samples, so an epoch keeps its size and the learning-rate schedule its
  length.
* A packed stream (pretraining), whose sequences are all full: each batch's
  sequences are cut to `c(p)` of their length (sequence-length warm-up, as
  Li et al. 2022 do for GPT pretraining); the rest of the text is dropped.

Progress is computed inside tf.data from the position in the epoch and the
epoch, which `Curriculum.callback` sets at each epoch's start (so a resumed
run picks up where it stopped).

Example:

>>> curriculum = Curriculum(epochs=2)
>>> train = curriculum.sample(ids, labels, seed=0)     # one epoch, shortest first
>>> Stage(..., callbacks=[curriculum.callback])
"""

import keras
import tensorflow as tf

KINDS = ("none", "length")
INITIAL_COMPETENCE = 0.01  # Platanios et al.'s c0


def competence(progress, initial=INITIAL_COMPETENCE):
    """The share of the data open at `progress` (a float tensor, 1 = done)."""
    progress = tf.clip_by_value(tf.cast(progress, tf.float32), 0.0, 1.0)
    return tf.minimum(1.0, tf.sqrt(progress * (1.0 - initial**2) + initial**2))


class Curriculum:
    """A competence schedule over the first `epochs` epochs.

    `units_per_epoch` counts what an epoch's positions are (examples, or
    batches of a stream); a stream's count is set once known
    (`set_units_per_epoch`).
    """

    def __init__(self, epochs, units_per_epoch=1, initial=INITIAL_COMPETENCE):
        self.epochs, self.initial = int(epochs), float(initial)
        self.epoch = tf.Variable(0, dtype=tf.int64, trainable=False, name="curriculum_epoch")
        self.units = tf.Variable(max(1, int(units_per_epoch)), dtype=tf.int64,
                                 trainable=False, name="curriculum_units")
        outer = self

        class _Callback(keras.callbacks.Callback):
            def on_epoch_begin(self, epoch, logs=None):
                outer.epoch.assign(epoch)

        self.callback = _Callback()

    @classmethod
    def from_flags(cls, flags):
        """The curriculum --curriculum asks for, or None."""
        return cls(flags.curriculum_epochs) if flags.curriculum == "length" else None

    @staticmethod
    def check_flags(flags):
        """A message when --curriculum_epochs outlasts training, else None."""
        if flags.curriculum == "length" and flags.curriculum_epochs > flags.epochs:
            return (f"--curriculum_epochs={flags.curriculum_epochs} is more than "
                    f"--epochs={flags.epochs}: training would end before the longest "
                    "sequences are open")
        if flags.curriculum == "none" and flags["curriculum_epochs"].present:
            return "--curriculum_epochs applies to --curriculum=length"
        return None

    def set_units_per_epoch(self, units):
        self.units.assign(max(1, int(units)))

    def competence(self, position):
        """The open share at `position` (int64) of the current epoch."""
        progress = ((tf.cast(self.epoch, tf.float32)
                     + tf.cast(position, tf.float32) / tf.cast(self.units, tf.float32))
                    / self.epochs)
        return competence(progress, self.initial)

    def sample(self, ids, labels, seed):
        """One epoch of `(ids, label)`, as many as there are examples, each
        position drawing uniformly from the shortest `competence` share.
        `ids`: RaggedTensor [examples, None]; `labels`: [examples]."""
        count = int(ids.nrows())
        self.set_units_per_epoch(count)
        # Shortest first; ties keep their order, so a seed gives one ordering.
        order = tf.argsort(ids.row_lengths(), stable=True)

        def draw(position):
            open_count = tf.maximum(1, tf.cast(tf.math.ceil(
                self.competence(position) * count), tf.int32))
            index = order[tf.random.stateless_uniform(
                [], tf.stack([tf.cast(seed, tf.int64), self.epoch * count + position]),
                0, open_count, dtype=tf.int32)]
            return ids[index], labels[index]

        return tf.data.Dataset.range(count).map(draw, num_parallel_calls=tf.data.AUTOTUNE)

    def cut(self, position, sequences):
        """`sequences` [batch, length] cut to the open share of their length
        (at least 8 tokens) at `position` (a batch index) of the epoch."""
        length = tf.shape(sequences)[1]
        keep = tf.cast(tf.math.ceil(self.competence(position) * tf.cast(length, tf.float32)),
                       tf.int32)
        return sequences[:, :tf.clip_by_value(keep, tf.minimum(8, length), length)]
