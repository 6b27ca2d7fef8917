import json
import os

import tfllm  # noqa: F401
import tensorflow as tf
import tensorflow_datasets as tfds

from tfllm.data.corpus import load_corpus_data, load_text
from tfllm.data.errors import DataError, RowGuard
from tfllm.data.examples import LABELLED_TEXT, PLAIN_TEXT, load_examples


def load_labelled(spec, text_field=None, label_field=None, guard=None):
    return load_examples(spec, LABELLED_TEXT, {"text": text_field, "label": label_field},
                         guard)


class FileTestCase(tf.test.TestCase):

    def write(self, name, content):
        path = os.path.join(self.get_temp_dir(), name)
        with open(path, "wb") as f:
            f.write(content.encode("utf-8") if isinstance(content, str) else content)
        return path


class SourcesTest(FileTestCase):

    def test_tsv_keeps_quotes_as_text(self):
        path = self.write("a.tsv", 'sentence\tlabel\nsay "hi" now\t1\nbad film\t0\n')
        data = load_labelled(path)
        self.assertEqual(data["text"], ['say "hi" now', "bad film"])
        self.assertEqual(data["label"], ["1", "0"])
        self.assertEqual(data.where(1), f"{path}:3")

    def test_csv_with_quoted_multiline_field_and_named_columns(self):
        path = self.write("a.csv", 'id,body,stars\n1,"two\nlines",pos\n2,plain,neg\n')
        data = load_labelled(path, text_field="body", label_field="stars")
        self.assertEqual(data["text"], ["two\nlines", "plain"])
        self.assertEqual(data["label"], ["pos", "neg"])
        self.assertEqual(data.where(1), f"{path}:4")

    def test_jsonl_and_fasttext(self):
        jsonl = self.write("a.jsonl", json.dumps({"review": "fine", "sentiment": 1}) + "\n\n"
                           + json.dumps({"review": "poor", "sentiment": 0}) + "\n")
        self.assertEqual(load_labelled(jsonl)["label"], ["1", "0"])
        txt = self.write("a.txt", "__label__pos a fine film\n__label__neg dull\n")
        data = load_labelled(txt)
        self.assertEqual((data["text"], data["label"]), (["a fine film", "dull"], ["pos", "neg"]))

    def test_glob_reads_every_file(self):
        self.write("part-1.tsv", "text\tlabel\none\t0\n")
        self.write("part-2.tsv", "text\tlabel\ntwo\t1\n")
        data = load_labelled(os.path.join(self.get_temp_dir(), "part-*.tsv"))
        self.assertEqual(data["text"], ["one", "two"])

    def test_sample_needs_word_order_and_negation(self):
        data = load_labelled("sample")
        self.assertEqual(data.class_names["label"], ["negative", "positive"])
        self.assertEqual(data["text"], load_labelled("sample")["text"])  # deterministic
        bags = {}
        for text, label in zip(data["text"], data["label"]):
            bags.setdefault(tuple(sorted(text.split())), set()).add(label)
        # Same words, opposite labels: no bag-of-words model can reach 100%.
        self.assertGreater(sum(len(labels) > 1 for labels in bags.values()), 10)

    def test_tfds_through_mock_data(self):
        with tfds.testing.mock_data(num_examples=6):
            imdb = load_labelled("tfds:imdb_reviews:test")
            sst2 = load_labelled("tfds:glue/sst2:validation")
        self.assertLen(imdb, 6)
        self.assertEqual(imdb.class_names["label"], ["neg", "pos"])
        self.assertIsInstance(imdb["text"][0], str)
        self.assertEqual(sst2.class_names["label"], ["negative", "positive"])
        self.assertEqual(sst2.where(2), "tfds:glue/sst2:validation[2]")

    def test_tfds_unknown_dataset_is_a_data_error(self):
        with self.assertRaisesRegex(DataError, "tfds:no_such_dataset_x.*could not load"):
            load_labelled("tfds:no_such_dataset_x")

    def test_corpus_sources(self):
        path = self.write("c.txt", "First line.\nSecond line.\n")
        self.assertEqual(load_text(path), "First line.\nSecond line.\n")
        self.assertIn("the", load_text("sample"))
        with tfds.testing.mock_data(num_examples=3):
            self.assertLen(load_examples("tfds:tiny_shakespeare:test", PLAIN_TEXT), 3)
        # Rows of a table or JSONL file are documents too, one line break apart.
        jsonl = self.write("c.jsonl", '{"body": "one"}\n{"body": "two"}\n')
        self.assertEqual(load_text(jsonl, text_field="body"), "one\ntwo")

    def test_corpus_splits_hold_out_the_tail_or_read_eval_data(self):
        path = self.write("d.txt", "a" * 90 + "b" * 10)
        data = load_corpus_data(path, eval_fraction=0.1)
        self.assertEqual((data.train_text, data.eval_text), ("a" * 90, "b" * 10))
        other = self.write("e.txt", "held out")
        self.assertEqual(load_corpus_data(path, other).eval_text, "held out")


class BadInputTest(FileTestCase):

    def test_a_directory_is_named_as_one(self):
        with self.assertRaisesRegex(DataError, f"{self.get_temp_dir()}: is a directory; name a "
                                               "file in it, or a glob such as"):
            load_labelled(self.get_temp_dir())

    def test_missing_file(self):
        with self.assertRaisesRegex(DataError, "nope.tsv: no such file"):
            load_labelled("nope.tsv")
        with self.assertRaisesRegex(DataError, "no file matches"):
            load_labelled(os.path.join(self.get_temp_dir(), "none-*.tsv"))

    def test_empty_file(self):
        with self.assertRaisesRegex(DataError, "empty.tsv: file is empty"):
            load_labelled(self.write("empty.tsv", "\n"))

    def test_unknown_column(self):
        path = self.write("a.tsv", "sentence\tlabel\nok\t1\n")
        with self.assertRaisesRegex(DataError, r"text column 'body' not found; columns are "
                                               r"\['sentence', 'label'\]"):
            load_labelled(path, text_field="body")
        path = self.write("b.tsv", "words\tlabel\nok\t1\n")
        with self.assertRaisesRegex(DataError, "no text column.*--text_field"):
            load_labelled(path)

    def test_unusable_label_names_line_and_field(self):
        path = self.write("a.jsonl", '{"text": "ok", "label": 1}\n{"text": "x", "label": [1]}\n')
        with self.assertRaisesRegex(DataError, r"a.jsonl:2: field 'label': missing or unusable"):
            load_labelled(path)

    def test_invalid_utf8_names_line(self):
        path = self.write("a.tsv", b"text\tlabel\ngood\t1\nbad \xff byte\t0\n")
        with self.assertRaisesRegex(DataError, r"a.tsv:3: invalid UTF-8 at byte 4"):
            load_labelled(path)

    def test_wrong_field_count(self):
        path = self.write("a.tsv", "text\tlabel\ngood\t1\textra\n")
        with self.assertRaisesRegex(DataError, r"a.tsv:2: expected 2 fields, found 3"):
            load_labelled(path)

    def test_skipped_rows_are_counted_not_lost(self):
        path = self.write("a.tsv", b"text\tlabel\ngood\t1\n\xff\t0\nx\t1\textra\n\t1\nfine\t0\n")
        guard = RowGuard(skip=True)
        data = load_labelled(path, guard=guard)
        self.assertEqual(data["text"], ["good", "fine"])
        self.assertEqual(guard.skipped, 3)
        self.assertEqual(guard.report()["by_source"], {path: 3})
        self.assertLen(guard.report()["examples"], 3)

    def test_unknown_extension(self):
        with self.assertRaisesRegex(DataError, "unknown file type"):
            load_labelled(self.write("a.parquet", "x"))
