"""Batched beam search with finished hypotheses and a GNMT length penalty, in TF ops.

Written here because keras-hub's `BeamSampler` (0.32) fits none of what
translation needs: it has no length penalty, keeps extending a beam after
its end token (so it ranks hypotheses of one length only), and fixes the
beam width when the graph is built, while the exported `translate`
signature takes the width per request.

Each step keeps the `2 * num_beams` best extensions of the live beams: those
of the best `num_beams` that end (`end_id`) join the finished hypotheses
(so one beam is greedy decoding), scored by their
log-probability divided by the GNMT length penalty `((5 + length) / 6) **
alpha` (Wu et al., 2016; `alpha = 0`: raw log-probability); the best
`num_beams` of the others stay alive. A row stops once no live beam can
still beat its `n_best`-th finished hypothesis, or at its own
`max_lengths` (where the end token is forced).

Example:

>>> sequences, scores = beam_search(step, state, batch_size=2, start_id=2, end_id=3,
...                                 max_lengths=tf.constant([20, 30]), num_beams=4,
...                                 length_penalty=0.6)
>>> sequences.shape, scores.shape     # [batch, n_best, longest], [batch, n_best]
"""

import tensorflow as tf

NEG_INF = -1e9


def length_penalty_factor(length, alpha):
    """GNMT's `((5 + length) / 6) ** alpha`."""
    return tf.pow((5.0 + tf.cast(length, tf.float32)) / 6.0, tf.cast(alpha, tf.float32))


def _tile(x, beams):
    return tf.repeat(x, beams, axis=0)


def _gather_rows(x, rows):
    """`x[rows]` for a flattened `[batch * beams, ...]` tensor."""
    return tf.gather(x, rows, axis=0)


def beam_search(step, state, batch_size, start_id, end_id, max_lengths, num_beams,
                length_penalty=0.0, n_best=1):
    """The `n_best` best hypotheses of each row, and their scores.

    Args:
        step: `step(sequences, index, state) -> (logits, state)`: given the
            hypotheses so far (`[batch * beams, length + 1]`, valid up to
            `index`), the next-token logits `[batch * beams, vocabulary]`
            for position `index + 1`, and the updated state.
        state: nested tensors with a leading batch dimension (caches, the
            encoder's output); tiled to every beam here.
        batch_size: rows (a scalar tensor is fine).
        start_id, end_id: the start and end token ids.
        max_lengths: int32 `[batch]`: tokens each row may generate, the end
            token included.
        num_beams: beams per row (a scalar tensor is fine); 1 keeps one.
        length_penalty: GNMT alpha (0: none).
        n_best: hypotheses returned per row, at most `num_beams`.

    Returns:
        `sequences`, int32 `[batch, n_best, longest]`: generated ids (no start
        token), each ending with `end_id` unless cut, then zeros; `scores`,
        float32 `[batch, n_best]`, best first.
    """
    beams = tf.cast(num_beams, tf.int32)
    batch = tf.cast(batch_size, tf.int32)
    max_lengths = tf.cast(max_lengths, tf.int32)
    longest = tf.reduce_max(max_lengths)
    width = longest + 1  # the start token, then up to `longest` generated
    state = tf.nest.map_structure(lambda x: _tile(x, beams), state)
    row_max = _tile(max_lengths, beams)  # [batch * beams]

    alive = tf.fill([batch * beams, width], 0) + tf.one_hot(0, width, on_value=start_id,
                                                            off_value=0, dtype=tf.int32)
    first = tf.one_hot(0, beams, on_value=0.0, off_value=NEG_INF)
    alive_logp = tf.tile(first[None], [batch, 1])  # only beam 0 is live at first
    finished = tf.zeros([batch, beams, width], tf.int32)
    finished_scores = tf.fill([batch, beams], NEG_INF)

    def cond(index, alive, alive_logp, finished, finished_scores, state):
        best_alive = alive_logp[:, 0] / length_penalty_factor(max_lengths, length_penalty)
        nth_finished = tf.sort(finished_scores, direction="DESCENDING")[:, n_best - 1]
        rows_open = (best_alive > nth_finished) & (index < max_lengths)
        return (index < longest) & tf.reduce_any(rows_open)

    def body(index, alive, alive_logp, finished, finished_scores, state):
        logits, state = step(alive, index, state)
        logp = tf.nn.log_softmax(tf.cast(logits, tf.float32), axis=-1)
        vocabulary = tf.shape(logp)[-1]
        # At its last allowed position a row can only end.
        must_end = (index + 1 >= row_max)[:, None]
        is_end_column = tf.range(vocabulary)[None, :] == end_id
        logp = tf.where(must_end & ~is_end_column, NEG_INF, logp)
        total = tf.reshape(alive_logp, [-1, 1]) + logp
        total = tf.reshape(total, [batch, beams * vocabulary])
        scores, flat = tf.math.top_k(total, k=2 * beams)
        origin = flat // vocabulary  # [batch, 2 * beams]: which live beam
        token = flat % vocabulary
        rows = tf.range(batch)[:, None] * beams + origin
        candidates = tf.gather(alive, rows)  # [batch, 2 * beams, width]
        candidates += tf.one_hot(index + 1, width, dtype=tf.int32)[None, None] * token[..., None]
        # An end joins the finished pool only if it ranks among the best
        # `beams` candidates (as Hugging Face's beam search does), so one
        # beam decodes exactly greedily.
        rank = tf.range(2 * beams)[None, :]
        ended = tf.equal(token, end_id) & (scores > NEG_INF / 2) & (rank < beams)

        # The best non-ending candidates stay alive (and their states follow).
        live_scores = tf.where(ended, NEG_INF, scores)
        live_scores, keep = tf.math.top_k(live_scores, k=beams)
        alive = tf.reshape(tf.gather(candidates, keep, batch_dims=1), [batch * beams, width])
        alive_logp = live_scores
        kept_rows = tf.reshape(tf.gather(rows, keep, batch_dims=1), [-1])
        state = tf.nest.map_structure(lambda x: _gather_rows(x, kept_rows), state)

        # Ending candidates join the finished pool, which keeps its best.
        end_scores = tf.where(ended, scores / length_penalty_factor(index + 1, length_penalty),
                              NEG_INF)
        pool = tf.concat([finished, candidates], axis=1)
        pool_scores = tf.concat([finished_scores, end_scores], axis=1)
        finished_scores, best = tf.math.top_k(pool_scores, k=beams)
        finished = tf.gather(pool, best, batch_dims=1)
        return index + 1, alive, alive_logp, finished, finished_scores, state

    shapes = tf.nest.map_structure(
        lambda x: tf.TensorShape([None] * x.shape.rank),
        (tf.constant(0), alive, alive_logp, finished, finished_scores, state))
    _, alive, alive_logp, finished, finished_scores, _ = tf.while_loop(
        cond, body, (tf.constant(0), alive, alive_logp, finished, finished_scores, state),
        shape_invariants=shapes)

    # Rows that ran out of steps may have fewer finished hypotheses than
    # asked for: live ones (cut, without an end token) fill in, scored alike.
    lengths = tf.reduce_sum(tf.cast(tf.reshape(alive, [batch, beams, width])[:, :, 1:] > 0,
                                    tf.int32), axis=-1)
    live = tf.reshape(alive, [batch, beams, width])
    live_scores = alive_logp / length_penalty_factor(tf.maximum(lengths, 1), length_penalty)
    pool = tf.concat([finished, live], axis=1)
    pool_scores = tf.concat([finished_scores, live_scores], axis=1)
    scores, best = tf.math.top_k(pool_scores, k=n_best)
    return tf.gather(pool, best, batch_dims=1)[:, :, 1:], scores
