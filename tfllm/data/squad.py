"""Reading extractive-QA data: SQuAD v1.1/v2.0 JSON and JSONL, with every answer checked.

An example is a question, its context, and its gold answers as text with
character offsets into the context. Each answer's text must be the
context's text at its offset. Where it is not, the answer is fixed when the
text occurs elsewhere in the context (at the occurrence nearest the stated
offset) and counted; where the text does not occur at all, the question is
a bad row (`RowGuard`: an error naming the file and the question id, or
skipped and counted with --skip_bad_rows). Nothing is kept or dropped
without being counted.

JSONL rows hold `id` (optional), `question`, `context` and `answers`:
`{"text": [...], "answer_start": [...]}` (the TFDS / Hugging Face layout)
or a list of `{"text", "answer_start"}`.

Example:

>>> data = read_squad("dev-v1.1.json", RowGuard())
>>> data.examples[0].answers[0]
Answer(text='Denver Broncos', start=177)
>>> data.fixed_offsets
0
"""

import dataclasses
import json

from tfllm.data.errors import DataError, RowGuard
from tfllm.data.readers import files, read_tfds
from tfllm.data.sample import qa_examples
from tfllm.data.splits import holdout_indices


@dataclasses.dataclass(frozen=True)
class Answer:
    text: str
    start: int

    @property
    def end(self):
        return self.start + len(self.text)


@dataclasses.dataclass
class QAExample:
    id: str
    question: str
    context: str
    answers: list  # of Answer; empty: unanswerable (SQuAD 2.0)
    title: str = ""

    def byte_span(self):
        """The first answer's byte span in the UTF-8 context ((-1, -1): none),
        as the span preprocessor's token offsets count."""
        if not self.answers:
            return -1, -1
        answer = self.answers[0]
        start = len(self.context[:answer.start].encode("utf-8"))
        return start, start + len(answer.text.encode("utf-8"))


@dataclasses.dataclass
class QAData:
    examples: list
    fixed_offsets: int = 0  # answers moved to where their text is
    unanswerable: int = 0


def _require(value, kind, where, field):
    if not isinstance(value, kind):
        names = kind.__name__ if isinstance(kind, type) else "/".join(k.__name__ for k in kind)
        raise DataError(where, f"{field} is {type(value).__name__}, expected {names}")
    return value


def _placed(context, text, start):
    """`(start, moved)`: `start` if the context holds `text` there, else the
    nearest offset where it does; None where it nowhere does."""
    if context[start:start + len(text)] == text:
        return start, False
    found, offset = [], context.find(text)
    while offset >= 0 and text:
        found.append(offset)
        offset = context.find(text, offset + 1)
    if not found:
        return None, False
    return min(found, key=lambda offset: abs(offset - start)), True


def _example(record, where, title, data):
    """A checked `QAExample` from a SQuAD `qas` entry or a JSONL row."""
    question_id = str(record.get("id", "?"))
    where = f"{where}: question {question_id}"
    question = _require(record.get("question"), str, where, "'question'")
    context = _require(record.get("context"), str, where, "'context'")
    raw = record.get("answers", [])
    if isinstance(raw, dict):  # {"text": [...], "answer_start": [...]}
        texts = _require(raw.get("text", []), list, where, "'answers.text'")
        starts = _require(raw.get("answer_start", []), list, where, "'answers.answer_start'")
        if len(texts) != len(starts):
            raise DataError(where, f"{len(texts)} answer texts but {len(starts)} offsets")
        raw = [{"text": t, "answer_start": s} for t, s in zip(texts, starts)]
    _require(raw, list, where, "'answers'")
    if record.get("is_impossible") and raw:
        raise DataError(where, "is_impossible but has answers")
    answers = []
    for index, answer in enumerate(raw):
        _require(answer, dict, where, f"answers[{index}]")
        text = _require(answer.get("text"), str, where, f"answers[{index}].text")
        start = answer.get("answer_start")
        if isinstance(start, bool) or not isinstance(start, int):
            raise DataError(where, f"answers[{index}].answer_start is "
                                   f"{type(start).__name__}, expected an integer")
        placed, moved = _placed(context, text, start)
        if placed is None:
            raise DataError(where, f"answer {text!r} does not occur in the context")
        data.fixed_offsets += moved
        answers.append(Answer(text, placed))
    data.unanswerable += not answers
    return QAExample(question_id, question, context, answers, title)


def _squad_examples(path, document, guard, data):
    articles = document.get("data") if isinstance(document, dict) else None
    if not isinstance(articles, list):
        raise DataError(path, "not SQuAD JSON: expected {\"data\": [articles]}")
    for a, article in enumerate(articles):
        title = article.get("title", f"article {a}") if isinstance(article, dict) else ""
        paragraphs = article.get("paragraphs") if isinstance(article, dict) else None
        if not isinstance(paragraphs, list):
            guard.reject(DataError(path, f"article {title!r} has no 'paragraphs' list"))
            continue
        for p, paragraph in enumerate(paragraphs):
            where = f"article {title!r} paragraph {p}"
            questions = paragraph.get("qas") if isinstance(paragraph, dict) else None
            if not isinstance(questions, list):
                guard.reject(DataError(path, f"{where} has no 'qas' list"))
                continue
            for record in questions:
                if not isinstance(record, dict):
                    guard.reject(DataError(path, f"{where}: a question is not an object"))
                    continue
                try:
                    yield _example({**record, "context": paragraph.get("context")}, path,
                                   title, data)
                except DataError as error:
                    guard.reject(error)


def read_squad(path, guard):
    """`QAData` of a SQuAD JSON file (`.json`) or a JSONL file (`.jsonl`)."""
    data = QAData([])
    if path.endswith(".jsonl"):
        with open(path, encoding="utf-8") as f:
            for number, line in enumerate(f, start=1):
                if not line.strip():
                    continue
                try:
                    record = json.loads(line)
                    if not isinstance(record, dict):
                        raise DataError(f"{path}:{number}", "not a JSON object")
                    data.examples.append(_example(record, f"{path}:{number}", "", data))
                except ValueError as error:  # DataError is one
                    guard.reject(error if isinstance(error, DataError)
                                 else DataError(path, f"not JSON: {error}", line=number))
        return data
    with open(path, encoding="utf-8") as f:
        try:
            document = json.load(f)
        except ValueError as error:
            raise DataError(path, f"not JSON: {error}") from error
    data.examples.extend(_squad_examples(path, document, guard, data))
    return data


def read_records(records, source, guard):
    """`QAData` of SQuAD-style records (dicts as a JSONL row holds them),
    e.g. the bundled sample; `source` names them in errors."""
    data = QAData([])
    for index, record in enumerate(records):
        try:
            data.examples.append(_example(record, f"{source}[{index}]",
                                          record.get("title", ""), data))
        except DataError as error:
            guard.reject(error)
    return data


def read_squad_tfds(spec, guard):
    """`QAData` of a TFDS SQuAD split (`tfds:squad/v1.1:validation`, or v2.0)."""
    _, records = read_tfds(spec)

    def plain(record):
        answers = record.get("answers", {})
        record["answers"] = {"text": [t.decode("utf-8") for t in answers.get("text", [])],
                             "answer_start": [int(s) for s in answers.get("answer_start", [])]}
        record["is_impossible"] = bool(record.get("is_impossible", False))
        return record

    data = QAData([])
    for source, _, record in records:
        try:
            data.examples.append(_example(plain(record), source, record.get("title", ""),
                                          data))
        except DataError as error:
            guard.reject(error)
    return data


def read_qa(spec, guard):
    """`QAData` of `spec`: `sample`, `tfds:NAME[:SPLIT]`, or SQuAD JSON / JSONL files."""
    if spec == "sample":
        return read_records(qa_examples(), "sample", guard)
    if spec.startswith("tfds:"):
        return read_squad_tfds(spec, guard)
    data = QAData([])
    for path in files(spec):
        if not path.endswith((".json", ".jsonl")):
            raise DataError(path, "expected SQuAD JSON (.json) or JSONL (.jsonl)")
        part = read_squad(path, guard)
        data.examples += part.examples
        data.fixed_offsets += part.fixed_offsets
        data.unanswerable += part.unanswerable
    if not data.examples:
        raise DataError(spec, "holds no questions")
    return data


def hold_out_articles(examples, fraction, seed):
    """(training, held-out) examples: a seeded `fraction` of the articles
    (titles; contexts where there are none) held out whole, so no held-out
    context was read in training."""
    articles = sorted({example.title or example.context for example in examples})
    if len(articles) < 2:
        raise DataError("--eval_fraction", f"the data has {len(articles)} article(s); "
                                           "holding some out needs two (or pass --eval_data)")
    kept, _ = holdout_indices(len(articles), fraction, seed)
    kept = {articles[index] for index in kept}
    return ([e for e in examples if (e.title or e.context) in kept],
            [e for e in examples if (e.title or e.context) not in kept])


@dataclasses.dataclass
class QASplits:
    """A QA task's data: training and evaluation `QAExample`s and how reading went."""

    train: list
    eval: list
    rows: object            # the RowGuard: skipped malformed questions
    fixed_offsets: int      # answers moved to where their text is
    unanswerable: int       # training questions without an answer (SQuAD 2.0)
    held_out: str           # what the evaluation data is, for people


def load_qa_data(spec, eval_spec, eval_fraction, seed, skip_bad_rows):
    """`QASplits` of `spec` and `eval_spec` (else `eval_fraction` of the articles)."""
    guard = RowGuard(skip_bad_rows)
    train = read_qa(spec, guard)
    if eval_spec:
        evaluation = read_qa(eval_spec, guard)
        examples, held, held_out = train.examples, evaluation.examples, eval_spec
        fixed = train.fixed_offsets + evaluation.fixed_offsets
    else:
        examples, held = hold_out_articles(train.examples, eval_fraction, seed)
        held_out = f"{eval_fraction:g} of the articles of {spec}"
        fixed = train.fixed_offsets
    return QASplits(examples, held, guard, fixed, sum(not e.answers for e in examples),
                    held_out)
