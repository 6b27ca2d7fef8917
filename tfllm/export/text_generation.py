"""Serving signatures for a causal language model: prompt in, text out.

The export (`saved_models/text_generation/<version>/`) has three signatures,
all taking and returning raw strings or numbers, built only from core TF and
TF Text ops so stock TF Serving runs them:

* `serving_default(prompt: string[batch]) -> text: string[batch]`
  The continuation of each prompt, with the sampler, its settings,
  `max_new_tokens` and the seed fixed at export time. Sampling is
  stateless, so the same prompt always gives the same text.
* `generate(prompt: string[batch], max_new_tokens: int32[], temperature:
  float32[], top_k: int32[], top_p: float32[], seed: int64[]) -> text`
  The same with settings per request (scalars; use TF Serving's columnar
  "inputs" request format). `temperature <= 0` is greedy, `top_k <= 0` and
  `top_p >= 1` switch those limits off.
* `score(text: string[batch]) -> nll: float32[batch], tokens: int32[batch]`
  Summed negative log-likelihood (nats) of each text and how many tokens were
  predicted (all but the first; long texts are cut into windows of the
  context length, as in evaluation). Perplexity over any held-out set is
  `exp(sum(nll) / sum(tokens))`.

Prompt rules (see `tfllm.decoding.generation`): `max_new_tokens` is clipped
to `[0, context - 1]`; a prompt that does not fit in `context -
max_new_tokens` tokens keeps its last tokens; an empty prompt starts from the
start token (the tokenizer's "\\n"), which is not returned.

Example:

>>> path = export_text_generation("saved_models/text_generation", model, tokenizer,
...                               GenerationSettings(sampler="top_k", top_k=10))
>>> served = tf.saved_model.load(path)
>>> served.signatures["serving_default"](prompt=tf.constant(["ROMEO:"]))["text"]
"""

import dataclasses

import keras
import tensorflow as tf

from tfllm.decoding.generation import continuation_ids, prepare_prompts
from tfllm.decoding.samplers import RequestSampler, make_sampler
from tfllm.export.run_card import write_run_card
from tfllm.export.versioned import export_version
from tfllm.metrics.language_model import text_nll


@dataclasses.dataclass
class GenerationSettings:
    """Sampling settings baked into `serving_default` (and `generate`'s docs)."""

    sampler: str = "top_k"
    max_new_tokens: int = 100
    temperature: float = 1.0
    top_k: int = 10
    top_p: float = 0.9
    num_beams: int = 4
    seed: int = 0


def tokenize_ragged(tokenizer, texts):
    """Token ids of `texts` as an int32 RaggedTensor, through the TF path.

    keras-hub tokenizers return Python lists when called eagerly; inside a
    tf.function they run TF/TF Text ops, which is what we want everywhere.
    """
    # Calling the layer (not `.tokenize`) also marks it built, which export needs.
    ids = tf.function(tokenizer)(tf.constant(list(texts), tf.string))
    if not isinstance(ids, tf.RaggedTensor):
        ids = tf.RaggedTensor.from_tensor(ids)
    return tf.cast(ids, tf.int32)


def start_token_id(tokenizer):
    """The id an empty prompt starts from: "\\n" if it tokenizes, else 0."""
    ids = tokenize_ragged(tokenizer, ["\n"]).flat_values.numpy()
    return int(ids[0]) if len(ids) else 0


def _fixed_sampler(settings):
    if settings.sampler in ("greedy", "beam"):
        # Deterministic: the keras-hub samplers hold no random state.
        return make_sampler(settings.sampler, temperature=settings.temperature,
                            num_beams=settings.num_beams)
    # Random samplers go through RequestSampler with constants, so the graph
    # has no seed-generator variable and answers are repeatable.
    top_k = settings.top_k if settings.sampler == "top_k" else 0
    top_p = settings.top_p if settings.sampler == "top_p" else 1.0
    return RequestSampler(settings.temperature, top_k, top_p, settings.seed)


class TextGenerator:
    """Prompts to continuations with a model and its tokenizer, in TF ops.

    Example:

    >>> generator = TextGenerator(model, tokenizer)
    >>> generator(["ROMEO:"], max_new_tokens=50, sampler=make_sampler("greedy"))
    ['\nI so the see the sea the seat ...']
    """

    def __init__(self, model, tokenizer, start_id=None):
        self.model = model
        self.tokenizer = tokenizer
        self.sequence_length = model.sequence_length
        self.start_id = start_token_id(tokenizer) if start_id is None else start_id

    def generate(self, prompts, max_new_tokens, sampler):
        """TF ops: string tensor `[batch]` of prompts -> string tensor of continuations."""
        prompt_ids = self.tokenizer.tokenize(prompts)
        if not isinstance(prompt_ids, tf.RaggedTensor):
            prompt_ids = tf.RaggedTensor.from_tensor(prompt_ids)
        ids, mask, lengths, new = prepare_prompts(
            prompt_ids, max_new_tokens, self.sequence_length, self.start_id)
        generated = self.model.generate(ids, mask, sampler)
        return self.tokenizer.detokenize(continuation_ids(generated, lengths, new))

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
        token_ids = self.tokenizer.tokenize(texts)
        if not isinstance(token_ids, tf.RaggedTensor):
            token_ids = tf.RaggedTensor.from_tensor(token_ids)
        nll, count = text_nll(self.model, token_ids, self.sequence_length)
        return {"nll": nll, "tokens": count}


def build_archive(model, tokenizer, settings):
    """A `keras.export.ExportArchive` with the three signatures."""
    generator = TextGenerator(model, tokenizer)
    fixed = _fixed_sampler(settings)
    archive = keras.export.ExportArchive()
    archive.track(model)
    archive.track(tokenizer)

    strings = tf.TensorSpec([None], tf.string)

    @tf.function(input_signature=[strings])
    def serving_default(prompt):
        return {"text": generator.generate(prompt, settings.max_new_tokens, fixed)}

    @tf.function(input_signature=[
        strings,
        tf.TensorSpec([], tf.int32, name="max_new_tokens"),
        tf.TensorSpec([], tf.float32, name="temperature"),
        tf.TensorSpec([], tf.int32, name="top_k"),
        tf.TensorSpec([], tf.float32, name="top_p"),
        tf.TensorSpec([], tf.int64, name="seed"),
    ])
    def generate(prompt, max_new_tokens, temperature, top_k, top_p, seed):
        sampler = RequestSampler(temperature, top_k, top_p, seed)
        return {"text": generator.generate(prompt, max_new_tokens, sampler)}

    @tf.function(input_signature=[strings])
    def score(text):
        return generator.score(text)

    archive.add_endpoint("serving_default", serving_default)
    archive.add_endpoint("generate", generate)
    archive.add_endpoint("score", score)
    return archive


def write_text_generation(folder, model, tokenizer, settings=None):
    """Writes the SavedModel with the three signatures to `folder`."""
    build_archive(model, tokenizer, settings or GenerationSettings()).write_out(
        folder, verbose=False)


def export_text_generation(root, model, tokenizer, settings=None, version=None, card=None):
    """Writes `root/<version>/` atomically (with a run card) and returns its path."""
    settings = settings or GenerationSettings()

    def write(folder):
        write_text_generation(folder, model, tokenizer, settings)
        write_run_card(folder, task="text_generation",
                       generation=dataclasses.asdict(settings), **(card or {}))

    return export_version(root, write, version)
