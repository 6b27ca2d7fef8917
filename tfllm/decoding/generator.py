"""Prompts to continuations, and texts to their log-likelihood, with a causal LM.

`TextGenerator` pairs a `CausalLM` with its `LanguageModelPreprocessor`.
Its `generate` and `score` are TF ops, so the export's signatures call them
inside the serving graph; `__call__` is the Python convenience, which may
also run past the context window.

Example:

>>> generator = TextGenerator(model, preprocessor)
>>> generator(["ROMEO:"], max_new_tokens=50, sampler=make_sampler("greedy"))
['\\nI so the see the sea the seat ...']
"""

import tensorflow as tf

from tfllm.decoding.generation import continuation_ids
from tfllm.metrics.language_model import text_nll


class TextGenerator:
    """Continuations and scores of texts with `model` and `preprocessor`, in TF ops.

    Example:

    >>> generator = TextGenerator(model, preprocessor)
    >>> generator.score(tf.constant(["To be, or not to be"]))["nll"]
    """

    def __init__(self, model, preprocessor):
        self.model = model
        self.preprocessor = preprocessor
        self.sequence_length = model.sequence_length

    def generate(self, prompts, max_new_tokens, sampler):
        """TF ops: string tensor `[batch]` of prompts -> string tensor of continuations.

        An empty batch gives an empty batch (the model never runs).
        """
        def run():
            ids, mask, lengths, new = self.preprocessor.prompts(prompts, max_new_tokens)
            generated = self.model.generate(ids, mask, sampler)
            return self.preprocessor.detokenize(continuation_ids(generated, lengths, new))

        return tf.cond(tf.size(prompts) > 0, run, lambda: tf.zeros([0], tf.string))

    def __call__(self, prompts, max_new_tokens, sampler):
        """Continuations of a list of prompts as Python strings (graph-compiled).

        Unlike the export, this may run past the context window: it generates
        in chunks of half the window, each conditioned on the last tokens of
        the text so far (a sliding window; the cache is refilled per chunk).
        """
        chunk = max(self.sequence_length // 2, 1)
        runs = {}
        texts = [str(p) for p in prompts]
        out = ["" for _ in texts]
        remaining = max(int(max_new_tokens), 0)
        while remaining > 0:
            step = min(remaining, chunk) if max_new_tokens >= self.sequence_length else remaining
            if step not in runs:
                runs[step] = tf.function(lambda p, n=step: self.generate(p, n, sampler))
            new = [t.decode("utf-8", "replace")
                   for t in runs[step](tf.constant(texts, tf.string)).numpy()]
            texts = [t + n for t, n in zip(texts, new)]
            out = [o + n for o, n in zip(out, new)]
            remaining -= step
        return out

    def score(self, texts):
        """TF ops: `{"nll": summed NLL per text, "tokens": predicted tokens per text}`."""
        nll, count = text_nll(self.model, self.preprocessor.tokenize(texts), self.sequence_length)
        return {"nll": nll, "tokens": count}
