"""Answer spans from a span reader's start and end logits, across the windows of each example.

A span is a (first, last) pair of context positions of one window with
first <= last < first + `max_answer_length`, scored by start + end logit;
each window's `n_best` spans compete with the other windows' of the same
example, and the best becomes the answer: its text cut from the original
context at the spans' byte offsets, and its character offsets, so that
`context[start:end] == answer` in Python. With `null_score_threshold` set
(a reader trained on unanswerable questions, SQuAD 2.0), the answer is
empty when the no-answer score (`[CLS]` start + end, the lowest over the
example's windows, as BERT's run_squad takes it) beats the best span's by
more than the threshold. An example without any span (an empty context)
gets the empty answer. Start and end are -1 for an empty answer.

Written here: span search over a window's whole start x end matrix, with
n-best merging across windows, exists in no library as graph ops (BERT's
and Hugging Face's postprocessing are Python loops over NumPy arrays),
and the export needs it in the graph.

Example:

>>> search = SpanSearch(max_answer_length=30, n_best=20)
>>> answers = search(logits, windows, contexts)
>>> answers["answer"].numpy(), answers["start"].numpy()
(array([b'Denver Broncos'], dtype=object), array([177], dtype=int32))
"""

import tensorflow as tf

_NONE = float("-inf")


class SpanSearch:
    """Best answers of examples from the logits of their windows.

    Args:
        max_answer_length: longest answer, in tokens.
        n_best: candidates kept per window and per example.
        null_score_threshold: None: always answer with a span where there
            is one (SQuAD 1.1); a number: answer "" when the no-answer
            score exceeds the best span's by more than this.
    """

    def __init__(self, max_answer_length=30, n_best=20, null_score_threshold=None):
        self.max_answer_length, self.n_best = int(max_answer_length), int(n_best)
        self.null_score_threshold = null_score_threshold

    def window_candidates(self, start_logits, end_logits, offset, length):
        """`(scores, first, last)` [windows, k]: each window's k best spans,
        as positions in the window (score -inf: no such span). Each start
        meets only the `max_answer_length` ends from it on (`tf.signal.frame`),
        not the window's whole start x end matrix."""
        size, longest = tf.shape(start_logits)[1], self.max_answer_length
        relative = tf.range(size)[None, :] - offset[:, None]
        context = (relative >= 0) & (relative < length[:, None])
        start_logits = tf.where(context, start_logits, _NONE)
        end_logits = tf.where(context, end_logits, _NONE)
        ends = tf.signal.frame(tf.pad(end_logits, [[0, 0], [0, longest - 1]],
                                      constant_values=_NONE), longest, 1, axis=1)
        scores = start_logits[:, :, None] + ends  # [windows, first, last - first]
        scores, index = tf.math.top_k(tf.reshape(scores, [tf.shape(scores)[0], -1]),
                                      k=tf.minimum(self.n_best, size * longest))
        return scores, index // longest, index // longest + index % longest

    def __call__(self, logits, windows, contexts):
        """Answers of `contexts` (string [batch]) from `logits` (`{"start",
        "end"}`, float [windows, length]) of their `windows` (as
        `SpanQAPreprocessor.windows` makes them). Returns `answer`, `start`,
        `end` ([batch]), `score` (the answer's probability among the
        candidates and, where allowed, no answer), `candidates` and
        `candidate_scores` ([batch, n_best], best first, "" and 0 where
        there are fewer)."""
        start_logits = tf.cast(logits["start"], tf.float32)
        end_logits = tf.cast(logits["end"], tf.float32)
        example, first = windows["example"], windows["first"]
        batch = tf.shape(contexts)[0]
        scores, first_pos, last_pos = self.window_candidates(
            start_logits, end_logits, windows["offset"], windows["length"])
        # Positions -> the example's context token indices, then all windows of an example.
        shift = (first - windows["offset"])[:, None]

        def per_example(values, fill):
            # One more column of `fill`: even an empty batch has a best "candidate".
            values = tf.RaggedTensor.from_value_rowids(values, example, nrows=batch)
            return tf.concat([values.merge_dims(1, 2).to_tensor(fill),
                              tf.fill([batch, 1], tf.cast(fill, values.dtype))], axis=1)

        scores = per_example(scores, _NONE)
        first_token = per_example(first_pos + shift, 0)
        last_token = per_example(last_pos + shift, 0)
        scores, best = tf.math.top_k(scores, k=tf.minimum(self.n_best, tf.shape(scores)[1]))
        missing = [[0, 0], [0, self.n_best - tf.shape(best)[1]]]  # always n_best columns
        scores = tf.pad(scores, missing, constant_values=_NONE)
        first_token = tf.pad(tf.gather(first_token, best, batch_dims=1), missing)
        last_token = tf.pad(tf.gather(last_token, best, batch_dims=1), missing)
        found = scores > _NONE

        byte_start = _token_bytes(windows["token_starts"], first_token, found)
        byte_end = _token_bytes(windows["token_ends"], last_token, found)
        texts = tf.strings.substr(tf.broadcast_to(contexts[:, None], tf.shape(byte_start)),
                                  byte_start, byte_end - byte_start, unit="BYTE")
        candidates = tf.where(found, texts, "")

        answered, choices = found[:, 0], scores
        if self.null_score_threshold is not None:
            null = tf.math.unsorted_segment_min(start_logits[:, 0] + end_logits[:, 0], example,
                                                batch)
            answered &= ~(null - scores[:, 0] > self.null_score_threshold)
            choices = tf.concat([scores, null[:, None]], axis=1)
        probabilities = tf.where(tf.math.is_finite(choices), tf.nn.softmax(choices), 0.0)
        # The chosen answer's probability: the best span's, or no answer's (the last column).
        chosen = tf.where(answered, probabilities[:, 0],
                          probabilities[:, -1] if self.null_score_threshold is not None else 0.0)
        answer = tf.where(answered, candidates[:, 0], "")
        start = _char_offsets(contexts, tf.where(answered, byte_start[:, 0], 0))
        end = _char_offsets(contexts, tf.where(answered, byte_end[:, 0], 0))
        return {"answer": answer, "start": tf.where(answered, start, -1),
                "end": tf.where(answered, end, -1), "score": chosen,
                "candidates": candidates, "candidate_scores": probabilities[:, :self.n_best]}


def _token_bytes(offsets, token, found):
    """Byte offsets (int64 ragged [batch, tokens]) of `token` ([batch, k]
    indices into each row); 0 where not `found`."""
    rows = tf.cast(offsets.row_splits[:-1], tf.int32)[:, None]
    flat = tf.where(found, rows + token, 0)
    values = tf.concat([offsets.values, tf.zeros([1], offsets.values.dtype)], axis=0)
    return tf.where(found, tf.gather(values, flat), 0)


def _char_offsets(texts, byte_offsets):
    """Character (code point) offsets of `byte_offsets` (int [batch]) in `texts`."""
    _, char_starts = tf.strings.unicode_decode_with_offsets(texts, "UTF-8")
    before = tf.cast(char_starts < tf.cast(byte_offsets, tf.int64)[:, None], tf.int32)
    return tf.reduce_sum(before, axis=1)
