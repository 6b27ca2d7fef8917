"""The serving signature of extractive QA: question and context in, the answer out.

`serving_default(question: string [batch], context: string [batch])`
returns `answer` (string [batch]), `start` and `end` (int32 [batch],
character offsets into the context: `context[start:end] == answer`, -1 for
no answer), `score` (float32 [batch], the answer's probability among the
candidates), `candidates` and `candidate_scores` ([batch, n_best]).
Windowing, the reader, span search and offset mapping all run in the graph
(core TF and TF Text ops). Windows go through the reader `_CHUNK` at a time,
so a request of many long contexts needs bounded memory.

Example:

>>> endpoints = span_qa_endpoints(reader, preprocessor, SpanSearch(30, 20))
>>> export_task("saved_models/qa", reader, preprocessor, endpoints, card)
"""

import tensorflow as tf

from tfllm.preprocessors.span_qa import MODEL_INPUTS, cut_to_longest
from tfllm.export.saved_model import endpoint

_CHUNK = 64


def _chunked_logits(model, inputs):
    """`model`'s logits of `inputs` ([windows, length]), `_CHUNK` windows a call."""
    count = tf.shape(inputs["token_ids"])[0]
    chunks = (count + _CHUNK - 1) // _CHUNK
    padded = {name: tf.pad(value, [[0, chunks * _CHUNK - count], [0, 0]])
              for name, value in inputs.items()}
    stacked = {name: tf.reshape(value, [chunks, _CHUNK, -1]) for name, value in padded.items()}
    logits = tf.map_fn(lambda chunk: model(chunk, training=False), stacked,
                       fn_output_signature={"start": tf.float32, "end": tf.float32})
    return {name: tf.reshape(value, [chunks * _CHUNK, -1])[:count]
            for name, value in logits.items()}


def answer_function(model, preprocessor, search):
    """A `tf.function(questions, contexts)` -> the answers (see the module docstring)."""

    @tf.function(reduce_retracing=True)
    def answer(questions, contexts):
        windows = preprocessor.windows(questions, contexts)
        inputs = cut_to_longest({name: windows[name] for name in MODEL_INPUTS})
        return search(_chunked_logits(model, inputs), windows, contexts)

    return answer


def answer_examples(answer, examples, batch_size=64):
    """`{id: answer text}` of `tfllm.data.squad.QAExample`s by `answer`
    (an `answer_function`), `batch_size` examples a call."""
    predictions = {}
    for index in range(0, len(examples), batch_size):
        batch = examples[index:index + batch_size]
        answers = answer(tf.constant([e.question for e in batch]),
                         tf.constant([e.context for e in batch]))["answer"].numpy()
        predictions.update({e.id: text.decode("utf-8") for e, text in zip(batch, answers)})
    return predictions


def span_qa_endpoints(model, preprocessor, search):
    """`{"serving_default": tf.function}` for `tfllm.export.saved_model.export_task`."""
    answer = answer_function(model, preprocessor, search)

    @endpoint(tf.TensorSpec([None], tf.string, name="question"),
              tf.TensorSpec([None], tf.string, name="context"))
    def serving_default(question, context):
        return answer(question, context)

    return {"serving_default": serving_default}
