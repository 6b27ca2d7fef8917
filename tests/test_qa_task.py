"""Question answering end to end: a reader overfits a few questions and then
answers them exactly through the export; the export's edge cases (empty
question or context, many windows, non-ASCII); TFDS SQuAD through mock data;
fine-tuning from a keras-hub preset with word vectors refused and allowed
where they fit; and bad data named by question id."""

import json
import os

import keras_hub
import tensorflow as tf
import tensorflow_datasets as tfds

import task_harness
from temp_files import write_temp_file
from tfllm.data.sample import qa_examples
from tfllm.data.squad import load_qa_data
from tfllm.decoding.spans import SpanSearch
from tfllm.export.span_qa import span_qa_endpoints

TINY = ["--jit=false", "--sequence_length=48", "--doc_stride=12", "--max_query_length=12",
        "--batch_size=8", "--learning_rate=5e-3", "--warmup_fraction=0", "--patience=0",
        "--seed=1"]
# The sizes of a reader trained from scratch (a preset brings its own).
SIZES = ["--hidden_dim=32", "--num_layers=1", "--num_heads=2", "--intermediate_dim=64",
         "--vocab_size=300"]
# Contexts with punctuation, repeated spaces and non-ASCII; answers anywhere in them.
FEW = [("Where does Zoë live?", "Zoë lives in Zürich,  not in Lyon.", "Zürich"),
       ("Who lives in Lyon?", "Ana lives in Lyon (since 1999).", "Ana"),
       ("When did Ana move?", "Ana lives in Lyon (since 1999).", "1999"),
       ("What is naïve?", "The café-goer was naïve — very naïve.", "the café-goer"),
       ("How was the music?", "The acting was dull.  The music was moving!", "moving"),
       ("Which city is far?", "Kyoto is far; Oslo is near.", "Kyoto")]


def jsonl(rows):
    return "\n".join(json.dumps(row, ensure_ascii=False) for row in rows)


def few_rows():
    rows = []
    for index, (question, context, answer) in enumerate(FEW):
        start = context.lower().index(answer.lower())
        rows.append({"id": f"q{index}", "question": question, "context": context,
                     "answers": {"text": [context[start:start + len(answer)]],
                                 "answer_start": [start]}})
    return rows


class QATaskTest(task_harness.TaskTestCase):
    task_module = "tasks.qa"
    tiny = TINY

    def test_a_reader_overfits_a_few_questions_and_the_export_answers_them(self):
        path = write_temp_file(self, "few.jsonl", jsonl(few_rows()))
        # Twenty copies a training epoch: fewer epochs, so less time validating and saving.
        copies = write_temp_file(self, "copies.jsonl", jsonl(
            [dict(row, id=f"{row['id']}-{copy}") for copy in range(20) for row in few_rows()]))
        result, _ = self.run_task(*SIZES, f"--data={copies}", f"--eval_data={path}",
                                  "--epochs=5", "--model=transformer", "--dropout=0",
                                  "--batch_size=4", "--n_best=4")
        self.assertEqual(result.metrics["exact_match"], 100.0)
        long_context = " ".join(["Filler words go here."] * 12) + " Zoë lives in Zürich."
        questions = [q for q, _, _ in FEW] + ["", "Where does Zoë live?", "Where?"]
        contexts = [c for _, c, _ in FEW] + ["Ana lives in Lyon.", long_context, ""]
        endpoint = span_qa_endpoints(result.model, result.preprocessor,
                                     SpanSearch(30, 4))["serving_default"]
        expected = endpoint(tf.constant(questions), tf.constant(contexts))
        served = self.assert_serves_like_the_model(
            result.export_path, "serving_default", {"question": questions, "context": contexts},
            {"score": expected["score"].numpy(), "answer": [
                a.decode("utf-8") for a in expected["answer"].numpy()]}, atol=1e-4)
        outputs = served["outputs"]
        self.assertEqual(outputs["answer"][:len(FEW)], [a for _, _, a in few_answers()])
        for context, answer, start, end in zip(contexts, outputs["answer"], outputs["start"],
                                               outputs["end"]):
            self.assertEqual(context[start:end] if start >= 0 else "", answer)
        # The long context is read in several windows and answered from one of them.
        windows = result.preprocessor.windows(tf.constant(questions), tf.constant(contexts))
        self.assertGreater(list(windows["example"].numpy()).count(len(FEW) + 1), 3)
        self.assertGreaterEqual(outputs["start"][len(FEW) + 1], 0)
        self.assertEqual((outputs["answer"][-1], outputs["start"][-1]), ("", -1))  # no context
        self.assertEqual(len(outputs["candidates"][0]), 4)
        self.assertEqual(served["inputs"], ["context", "question"])

    def test_tfds_squad_through_mock_data(self):
        records = qa_examples(40, seed=3)

        def as_dataset(self, *args, **kwargs):
            return tf.data.Dataset.from_generator(
                lambda: ({**r, "answers": r["answers"]} for r in records),
                output_signature={
                    "id": tf.TensorSpec([], tf.string), "title": tf.TensorSpec([], tf.string),
                    "question": tf.TensorSpec([], tf.string),
                    "context": tf.TensorSpec([], tf.string),
                    "answers": {"text": tf.TensorSpec([None], tf.string),
                                "answer_start": tf.TensorSpec([None], tf.int32)}})

        with tfds.testing.mock_data(as_dataset_fn=as_dataset):
            result, _ = self.run_task(*SIZES, "--data=tfds:squad/v1.1", "--eval_fraction=0.3",
                                      "--epochs=1")
        self.assertEqual(result.data["train_questions"] + result.data["eval_questions"], 40)
        self.assertEqual(len(result.answers), 5)  # the first held-out questions

    def test_fine_tunes_a_keras_hub_preset(self):
        vocabulary = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "where", "does", "zoe",
                      "live", "?", "lives", "in", "zurich", ",", "not", "lyon", "."]
        folder = os.path.join(self.get_temp_dir(), "bert_tiny_random")
        keras_hub.models.BertBackbone(len(vocabulary), num_layers=1, num_heads=2,
                                      hidden_dim=16, intermediate_dim=32,
                                      max_sequence_length=48).save_to_preset(folder)
        keras_hub.models.BertTokenizer(vocabulary, lowercase=True, strip_accents=True
                                       ).save_to_preset(folder)
        path = write_temp_file(self, "few.jsonl", jsonl(few_rows()))
        tuned, _ = self.run_task(f"--data={path}", f"--eval_data={path}", "--epochs=1",
                                 f"--init_from={folder}", "--freeze_layers=1")
        self.assertEqual(tuned.flags["init_from"], folder)
        self.assertIsInstance(tuned.model.backbone, keras_hub.models.BertBackbone)
        # Accents stripped as the preset's tokenizer does: "Zoë" is the known "zoe".
        ids = tuned.preprocessor.tokenize_with_offsets(tf.constant(["Zoë in Zürich"]))[0]
        self.assertEqual(ids.to_list(), [[7, 11, 12]])
        with self.assertRaisesRegex(SystemExit, "--hidden_dim, --model size or start a model "
                                                "trained from scratch"):
            self.run_task(f"--data={path}", f"--init_from={folder}", "--model=lstm",
                          "--hidden_dim=64")

    def test_word_vectors_start_the_lstm_reader(self):
        # Six questions teach a vocabulary of single letters; two of them have vectors.
        vectors = write_temp_file(self, "vectors.txt", "3 32\n" + "\n".join(
            f"{word} " + " ".join(["0.5"] * 32) for word in ("a", "z", "lyon")))
        path = write_temp_file(self, "few.jsonl", jsonl(few_rows()))
        result, _ = self.run_task(*SIZES, f"--data={path}", f"--eval_data={path}",
                                  "--epochs=1", "--model=lstm",
                                  f"--pretrained_embeddings={vectors}", "--freeze_embeddings")
        with open(os.path.join(result.export_path, "run_card.json")) as f:
            self.assertEqual(json.load(f)["pretrained_embeddings"]["covered"], 2)
        embedding = result.model.token_embedding.embeddings.numpy()
        vocabulary = result.preprocessor.tokenizer.get_vocabulary()
        self.assertAllEqual(embedding[vocabulary.index("z")], [0.5] * 32)

    def test_an_answer_missing_from_its_context_names_the_question(self):
        rows = few_rows()
        rows[2]["answers"] = {"text": ["2001"], "answer_start": [3]}
        path = write_temp_file(self, "bad.jsonl", jsonl(rows))
        with self.assertRaises(SystemExit) as stopped:  # the runner's exit: a message, status 1
            self.run_task(*SIZES, f"--data={path}", f"--eval_data={path}")
        self.assertEqual(str(stopped.exception), f"error: {path}:3: question q2: answer "
                                                 "'2001' does not occur in the context")
        # With --skip_bad_rows it is counted (once in each of the two reads)
        # and left out; the runner reports the count (tested with sentiment).
        skipped = load_qa_data(path, path, 0.1, 0, skip_bad_rows=True)
        self.assertEqual((skipped.rows.skipped, len(skipped.train)), (2, 5))


def few_answers():
    return [(q, c, c[c.lower().index(a.lower()):][:len(a)]) for q, c, a in FEW]


if __name__ == "__main__":
    tf.test.main()
