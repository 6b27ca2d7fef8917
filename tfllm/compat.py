"""Every use of a private Keras or keras-hub API, each with the upstream issue it works around.

Each of these reaches into code that may change in any release, so they live
here together, and tfllm warns at import when Keras or keras-hub is outside
the versions the tests ran on (`TESTED`). When an issue below is fixed
upstream, delete its workaround; the test named beside it shows whether the
public API then suffices.
"""

import contextlib
import warnings

import keras
import keras_hub
import tensorflow as tf
from keras import tree

# Versions (major.minor) the test suite ran on with these workarounds.
TESTED = {"keras": ("3.15",), "keras_hub": ("0.32",)}


def _minor(version):
    return ".".join(version.split(".")[:2])


def check_versions():
    """Warns when Keras or keras-hub is not a version these workarounds were tested on."""
    for module in (keras, keras_hub):
        name = module.__name__
        if _minor(module.__version__) not in TESTED[name]:
            warnings.warn(f"tfllm was tested with {name} {', '.join(TESTED[name])}.x, found "
                          f"{module.__version__}; the workarounds in tfllm/compat.py may "
                          "not hold", RuntimeWarning, stacklevel=2)


# -- 1. Keras `fit` under MultiWorkerMirroredStrategy ----------------------
# keras-team/keras#20585 (open, "Does Keras 3 work with
# tf.distribute.MultiWorkerMirroredStrategy?"; unfixed on Keras master in
# 2026-08): Keras 3 all-reduces the first (x, y) batch
# to build the model's training state, which TF refuses for nested
# structures, and averages each step's scalar logs with
# `strategy.reduce(..., axis=0)`, which fails on scalars. Tested by
# tests/test_sentiment_task.py MultiWorkerTest.

from keras.src.backend.tensorflow import trainer as _tf_trainer  # noqa: E402

_keras_reduce_per_replica = _tf_trainer.reduce_per_replica


def _reduce_per_replica(values, strategy, reduction):
    if (isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy)
            and reduction in ("auto", "mean")):
        return tree.map_structure(
            lambda value: strategy.reduce("MEAN", value, axis=None), values)
    return _keras_reduce_per_replica(values, strategy, reduction)


@contextlib.contextmanager
def multi_worker_logs(strategy):
    """Within this context Keras can reduce step logs across workers (a
    no-op under other strategies); Keras' own function is restored after."""
    if not isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy):
        yield
        return
    _tf_trainer.reduce_per_replica = _reduce_per_replica
    try:
        yield
    finally:
        _tf_trainer.reduce_per_replica = _keras_reduce_per_replica


def build_training_state(model, batch_spec):
    """Creates `model`'s weights, its loss and metrics' state and its
    optimizer's slots from `batch_spec` (the training data's `element_spec`)
    before `fit`, and keeps `fit` from doing it again.

    Under MultiWorkerMirroredStrategy this replaces Keras' all-reduced first
    batch (above). Under the default strategy Keras builds none of this
    before `fit` (`_maybe_symbolic_build` returns at once); the optimizer's
    slots are then created inside the first trace of the train step, and a
    `tf.function` that created variables is traced again
    (tensorflow/tensorflow#48851): the step was traced twice, 6 s of a
    4-layer Transformer's start-up. Tested by tests/test_loop.py.
    """
    with model.distribute_strategy.scope():
        model._symbolic_build(data_batch=batch_spec)
    model._maybe_symbolic_build = lambda *args, **kwargs: None


# -- 2. Global-norm clipping of the whole batch's gradient -----------------
# Not yet filed against Keras 3 (no Keras issue found; nearest:
# keras-team/keras#19308, open, "Gradients Sum in Keras 3 Optimizer with
# Tensorflow backend", and tf.keras' tensorflow/tensorflow#33929, where
# clipping before aggregation was called "usually wrong"). Since Keras 3.5
# (keras-team/keras#19969) `_backend_apply_gradients` calls `_clip_gradients`
# before the all-reduce: with `global_clipnorm`, Keras 3 clips in the
# replica context, before gradients are summed, so under MirroredStrategy
# each replica's half gradient is clipped on its own and training differs
# from one device. Keras has no public hook between the all-reduce and the
# update, so this overrides `Optimizer._clip_gradients`. Tested by
# tests/test_strategy.py (mirrored losses equal one device's).

class ClipAfterSum:
    """Optimizer mixin: the replicas first sum their gradients, the sum is
    clipped with Keras' own clipping, and each replica hands on
    `clipped / replicas`, which Keras' all-reduce then sums back to the
    clipped total. Costs one extra all-reduce per step, only with clipping on
    and more than one replica. Keras' clipping (not `tf.clip_by_global_norm`)
    matters: it densifies embedding `IndexedSlices`, which changes Adam's
    update, so one device and many must clip alike."""

    def _clip_gradients(self, grads):
        context = tf.distribute.get_replica_context()
        if not self.global_clipnorm or context is None or context.num_replicas_in_sync == 1:
            return super()._clip_gradients(grads)
        present = [i for i, g in enumerate(grads) if g is not None]
        total = context.all_reduce(tf.distribute.ReduceOp.SUM, [grads[i] for i in present])
        clipped = super()._clip_gradients(total)
        grads = list(grads)
        for i, g in zip(present, clipped):
            # scalar_mul scales IndexedSlices too.
            grads[i] = tf.math.scalar_mul(1.0 / context.num_replicas_in_sync, g)
        return grads


# -- 3. The step index in a keras-hub sampler ------------------------------
# Not yet filed against keras-hub (nearest: keras-team/keras-hub#962,
# closed, "Clean up sampler indexing"); unchanged on keras-hub master in
# 2026-08. `Sampler.__call__` hands `get_next_token` only the
# probabilities, not the step index, which a stateless (seeded per step)
# draw needs. Inside one loop-body trace `Sampler.__call__` calls
# `next(prompt, cache, index)` before `get_next_token`, so wrapping `next`
# can hand the index over. Tested by tests/test_decoding.py (seeded
# sampling repeats, other seeds differ).

class StepIndexedSampler(keras_hub.samplers.Sampler):
    """A keras-hub sampler whose `get_next_token` may read `self.step_index`."""

    step_index = None

    def __call__(self, next, prompt, cache=None, index=0, mask=None, **kwargs):
        def next_with_index(prompt, cache, index):
            self.step_index = index
            return next(prompt, cache, index)

        return super().__call__(next_with_index, prompt, cache=cache, index=index, mask=mask,
                                **kwargs)


# -- 4. The loss tracker in a custom train step ----------------------------
# Keras keeps the "loss" metric of `fit`'s logs in the private
# `Model._loss_tracker`, and since keras-team/keras#20610 (merged, 3.8) its
# own TF step unscales the loss with the private
# `keras.src.losses.loss.unscale_loss_for_distribution`; neither has a
# public counterpart. A custom `train_step` that computes its own loss does
# both here: the tracker is found by its name among `model.metrics`.
# Tested by tests/test_classifier.py (the adversarial step's logged loss).

def update_loss_tracker(model, loss, sample_weight):
    """Records `loss` (a per-replica mean) as the step's logged loss."""
    # compute_loss divides by the replica count for the cross-replica sum;
    # the logged loss, as in Keras' own step, is the per-replica mean.
    replicas = tf.distribute.get_strategy().num_replicas_in_sync
    for metric in model.metrics:
        if metric.name == "loss":
            metric.update_state(loss * replicas, sample_weight=sample_weight)


# -- 5. An optimizer's own per-variable state ------------------------------
# A Keras optimizer's `update_step` receives the backend variable, not the
# Keras one, so a subclass finds its slot for it with the private
# `Optimizer._get_variable_index`, as every Keras optimizer does (e.g.
# keras/src/optimizers/adagrad.py); the custom-optimizer guide
# (keras-team/keras#18421, "Document how to write a custom optimizer",
# open) names no public way. Tested by tests/test_word_corpus.py
# (SparseAdagrad touches only the batch's rows).

def optimizer_slot(optimizer, slots, variable):
    """The entry of `slots` (one per variable, in `build`'s order) for `variable`."""
    return slots[optimizer._get_variable_index(variable)]


# -- 6. Splitting text into words as keras-hub's WordPiece tokenizer does ----
# keras-hub's `compute_word_piece_vocabulary` passes none of tf.text's
# learner options (its search bounds), so `tfllm.data.tokenizers` calls the
# learner itself, and must split text into words exactly as keras-hub's
# `WordPieceTokenizer` will: with keras-hub's private `pretokenize`, the
# function both use. No upstream issue asks for the options; when keras-hub
# takes them, call `compute_word_piece_vocabulary` again. Tested by
# tests/test_tokenizers.py (the vocabulary equals keras-hub's own where the
# text fills it).

def split_words(texts):
    """`texts` (a batch of cleaned strings) split into words and
    punctuation, as keras-hub's WordPiece tokenizer splits them before it
    looks up pieces (no lowercasing or accent stripping: cleaning did that)."""
    from keras_hub.src.tokenizers.word_piece_tokenizer import pretokenize
    return pretokenize(texts, lowercase=False, strip_accents=False, split=True,
                       split_on_cjk=True)


# -- 7. Padding in keras-hub's ESM attention -------------------------------
# keras-hub 0.32's `EsmSelfAttention.call` (models/esm/esm_attention.py)
# reshapes the [batch, length] padding mask to [batch, 1, length, 1]: in
# `keras.ops.dot_product_attention`'s (batch, heads, queries, keys) layout
# that masks padded queries and lets every token attend to the padded keys
# (on torch it transposes the mask to the keys, as meant), so with the
# TensorFlow backend an answer changes with the padding of its batch.
# RoformerV2's attention has the same lines. No upstream issue found
# (searched 2026-12); to be filed. This call is upstream's with the mask
# laid on the keys. Tested by tests/test_masked_lm.py PreLayerNormEncoderTest
# (padding leaves a classifier's answer unchanged).

def _esm_attention_masking_keys(self, x, attention_mask=None):
    ops = keras.ops
    batch, length = ops.shape(x)[0], ops.shape(x)[1]
    query, key, value = (ops.reshape(dense(x), (batch, length, self.heads, self.head_size))
                         for dense in (self.q_dense, self.k_dense, self.v_dense))
    if self.use_rotary:
        query, key = self.rotary_embedding_layer(query, key)
    mask = (None if attention_mask is None
            else ops.reshape(attention_mask, (batch, 1, 1, length)))
    attended = ops.dot_product_attention(
        query, key, value, mask=mask, flash_attention=keras.config.is_flash_attention_enabled())
    return self.o_dense(ops.reshape(attended, (batch, length, -1)))


def mask_padding_keys_in_esm():
    """ESM's attention ignores padded keys (see above); idempotent."""
    from keras_hub.src.models.esm.esm_attention import EsmSelfAttention

    EsmSelfAttention.call = _esm_attention_masking_keys


check_versions()
