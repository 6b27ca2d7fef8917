"""Reading SQuAD JSON and JSONL: answers checked against their contexts,
offsets fixed and counted, and malformed files named by question id."""

import json

import tensorflow as tf

from temp_files import write_temp_file
from tfllm.data.errors import DataError, RowGuard
from tfllm.data.squad import Answer, load_qa_data, read_squad

CONTEXT = "Zoë went to Zürich in 1999. In 1999 she left Zürich."


def squad(*questions, context=CONTEXT):
    return {"version": "1.1", "data": [{"title": "Trips", "paragraphs": [
        {"context": context, "qas": list(questions)}]}]}


def question(qid, *answers, **extra):
    return {"id": qid, "question": "When?", "answers": [
        {"text": text, "answer_start": start} for text, start in answers], **extra}


class SquadDataTest(tf.test.TestCase):

    def write(self, name, document):
        if name.endswith(".jsonl"):
            return write_temp_file(self, name, "\n".join(json.dumps(d) for d in document))
        return write_temp_file(self, name, json.dumps(document))

    def test_answers_are_checked_and_wrong_offsets_fixed(self):
        path = self.write("train.json", squad(
            question("q1", ("Zürich", 12), ("1999", 22)),    # both right (Unicode offsets)
            question("q2", ("Zürich", 0)),                   # wrong: the nearest occurrence
            question("q3", ("left", 3)),                     # wrong: the only occurrence
            question("q4", is_impossible=True)))             # SQuAD 2.0: no answer
        data = read_squad(path, RowGuard())
        q1, q2, q3, q4 = data.examples
        self.assertEqual(q1.answers, [Answer("Zürich", 12), Answer("1999", 22)])
        self.assertEqual(CONTEXT[q1.answers[0].start:q1.answers[0].end], "Zürich")
        self.assertEqual(q2.answers, [Answer("Zürich", 12)])
        self.assertEqual(q3.answers, [Answer("left", CONTEXT.index("left"))])
        self.assertEqual((q4.answers, q1.title, q1.context), ([], "Trips", CONTEXT))
        self.assertEqual((data.fixed_offsets, data.unanswerable), (2, 1))

    def test_malformed_files_name_the_question(self):
        cases = [
            (squad(question("q7", ("Paris", 3))),
             r"train.json: question q7: answer 'Paris' does not occur in the context"),
            (squad(question("q8", ("1999", "22"))),
             r"question q8: answers\[0\].answer_start is str, expected an integer"),
            (squad({"id": "q9", "question": 5, "answers": []}),
             r"question q9: 'question' is int, expected str"),
            ({"data": [{"title": "Trips", "paragraphs": [{"context": CONTEXT}]}]},
             r"train.json: article 'Trips' paragraph 0 has no 'qas' list"),
            ([1, 2], r"not SQuAD JSON"),
        ]
        for document, message in cases:
            path = self.write("train.json", document)
            with self.assertRaisesRegex(DataError, message):
                read_squad(path, RowGuard())

    def test_bad_questions_are_skipped_and_counted_when_asked(self):
        path = self.write("train.json", squad(question("q1", ("Zürich", 12)),
                                              question("q7", ("Paris", 3))))
        guard = RowGuard(skip=True)
        data = read_squad(path, guard)
        self.assertEqual([e.id for e in data.examples], ["q1"])
        self.assertEqual(guard.skipped, 1)
        self.assertIn("question q7", guard.first_errors[0])

    def test_jsonl_in_both_answer_layouts(self):
        path = self.write("train.jsonl", [
            {"id": "a", "question": "Who?", "context": CONTEXT,
             "answers": {"text": ["Zoë"], "answer_start": [0]}},
            {"question": "Where?", "context": CONTEXT,
             "answers": [{"text": "Zürich", "answer_start": 12}]}])
        data = read_squad(path, RowGuard())
        self.assertEqual([e.answers for e in data.examples],
                         [[Answer("Zoë", 0)], [Answer("Zürich", 12)]])
        bad = self.write("bad.jsonl", [{"id": "b", "question": "Who?", "context": CONTEXT,
                                        "answers": {"text": ["Zoë"], "answer_start": []}}])
        with self.assertRaisesRegex(DataError, r"bad.jsonl:1: question b: 1 answer texts but "
                                               r"0 offsets"):
            read_squad(bad, RowGuard())

    def test_held_out_articles_are_whole_and_unanswerable_questions_counted(self):
        articles = [{"title": f"article {a}", "paragraphs": [
            {"context": CONTEXT, "qas": [question(f"a{a}q{q}", ("Zürich", 12))
                                         for q in range(3)]}]} for a in range(10)]
        articles[0]["paragraphs"][0]["qas"].append(question("none", is_impossible=True))
        path = self.write("train.json", {"data": articles})
        data = load_qa_data(path, None, 0.2, seed=0, skip_bad_rows=False)
        held = {e.title for e in data.eval}
        self.assertEqual(len(held), 2)
        self.assertFalse(held & {e.title for e in data.train})
        self.assertEqual(len(data.train) + len(data.eval), 31)
        self.assertEqual(data.unanswerable, int("article 0" not in held))
        self.assertEqual(data.held_out, f"0.2 of the articles of {path}")
        one = self.write("one.json", squad(question("q1", ("Zürich", 12))))
        with self.assertRaisesRegex(DataError, "the data has 1 article"):
            load_qa_data(one, None, 0.2, seed=0, skip_bad_rows=False)
        both = load_qa_data(path, one, 0.2, seed=0, skip_bad_rows=False)
        self.assertEqual((len(both.train), len(both.eval), both.held_out), (31, 1, one))


if __name__ == "__main__":
    tf.test.main()
