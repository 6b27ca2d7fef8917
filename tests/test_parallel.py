"""Reading translation pairs: aligned files, tables, TFDS, the sample, and bad input."""

import os

import tfllm  # noqa: F401
import tensorflow as tf
import tensorflow_datasets as tfds

from tfllm.data.errors import DataError
from tfllm.data.parallel import load_pairs, load_parallel_data


class ParallelTest(tf.test.TestCase):

    def write(self, name, content):
        path = os.path.join(self.get_temp_dir(), name)
        with open(path, "wb") as f:
            f.write(content.encode("utf-8") if isinstance(content, str) else content)
        return path

    def test_aligned_files(self):
        de = self.write("a.de", "Ein Hund.\nZwei Katzen.\n")
        en = self.write("a.en", "A dog.\nTwo cats.\n")
        pairs, languages = load_pairs(f"{de},{en}")
        self.assertEqual(pairs["source"], ["Ein Hund.", "Zwei Katzen."])
        self.assertEqual(pairs["target"], ["A dog.", "Two cats."])
        self.assertEqual(pairs.where(1), f"{de}:2")
        self.assertEqual(languages, ("de", "en"))  # from the extensions

    def test_mismatched_counts_name_both_files_and_counts(self):
        de = self.write("b.de", "Ein Hund.\nZwei Katzen.\nDrei.\n")
        en = self.write("b.en", "A dog.\nTwo cats.\n")
        with self.assertRaisesRegex(DataError, f"the files are not aligned: {de} has 3 lines, "
                                               f"{en} has 2"):
            load_pairs(f"{de},{en}")

    def test_empty_sides_are_dropped_and_counted(self):
        de = self.write("c.de", "Ein Hund.\n\nDrei Vögel.\nVier.\n")
        en = self.write("c.en", "A dog.\nTwo cats.\n \nFour.\n")
        data = load_parallel_data(f"{de},{en}", f"{de},{en}")
        self.assertEqual(data.train["target"], ["A dog.", "Four."])
        self.assertEqual(data.dropped["an empty side"], 4)  # two in train, two in eval

    def test_invalid_utf8_keeps_the_files_aligned(self):
        de = self.write("d.de", b"Ein Hund.\nZwei \xff Katzen.\nDrei.\n")
        en = self.write("d.en", "A dog.\nTwo cats.\nThree.\n")
        with self.assertRaisesRegex(DataError, f"{de}:2: invalid UTF-8"):
            load_pairs(f"{de},{en}")
        data = load_parallel_data(f"{de},{en}", f"{de},{en}", skip_bad_rows=True)
        self.assertEqual(list(zip(data.train["source"], data.train["target"])),
                         [("Ein Hund.", "A dog."), ("Drei.", "Three.")])
        self.assertEqual(data.rows.skipped, 2)

    def test_table_columns_by_language_by_role_or_named(self):
        tsv = self.write("p.tsv", "de\ten\nEin Hund.\tA dog.\n")
        pairs, _ = load_pairs(tsv, source_lang="de", target_lang="en")
        self.assertEqual((pairs["source"], pairs["target"]), (["Ein Hund."], ["A dog."]))
        reverse, _ = load_pairs(tsv, source_lang="en", target_lang="de")
        self.assertEqual(reverse["source"], ["A dog."])
        jsonl = self.write("p.jsonl", '{"source": "Hallo", "target": "Hello"}\n')
        self.assertEqual(load_pairs(jsonl)[0]["target"], ["Hello"])
        named = self.write("q.tsv", "src_text\ttgt_text\nHallo\tHello\n")
        self.assertEqual(load_pairs(named, source_field="src_text",
                                    target_field="tgt_text")[0]["source"], ["Hallo"])
        with self.assertRaisesRegex(DataError, "no source column"):
            load_pairs(named)

    def test_tfds_translation_datasets_and_their_direction(self):
        with tfds.testing.mock_data(num_examples=4):
            pairs, languages = load_pairs("tfds:ted_hrlr_translate/pt_to_en")
            self.assertEqual(languages, ("pt", "en"))
            self.assertLen(pairs, 4)
            reverse, languages = load_pairs("tfds:wmt14_translate/de-en:validation",
                                            source_lang="en", target_lang="de")
            self.assertEqual(languages, ("en", "de"))
            self.assertIsInstance(reverse["source"][0], str)

    def test_sample_is_a_labelled_demo_of_english_to_german(self):
        data = load_parallel_data("sample", eval_fraction=0.1)
        self.assertEqual((data.source_lang, data.target_lang), ("en", "de"))
        self.assertEqual(len(data.train) + len(data.eval), 3000)
        self.assertTrue(any("ö" in target or "ß" in target for target in data.train["target"]))
        swapped = load_parallel_data("sample", source_lang="de", target_lang="en")
        self.assertTrue(swapped.train["target"][0][0].isupper())
        self.assertNotIn("Die", " ".join(swapped.train["target"]))


if __name__ == "__main__":
    tf.test.main()
