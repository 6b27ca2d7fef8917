"""One reader per format: records with their file and line, and each bad line named."""

import os

import tensorflow as tf

from temp_files import write_temp_file

from tfllm.data.errors import DataError, RowGuard
from tfllm.data.readers import files, read_file


class ReadersTest(tf.test.TestCase):

    def write(self, name, data, compress=False):
        return write_temp_file(self, name, data, compress)

    def test_tsv_keeps_quotes_as_text_and_counts_lines(self):
        path = self.write("t.tsv", b'sentence\tlabel\n"a" film\t1\n\nbad\xff row\t0\nok\t0\n')
        guard = RowGuard(skip=True)
        records = list(read_file(path, guard))
        self.assertEqual([(line, fields) for _, line, fields in records],
                         [(2, {"sentence": '"a" film', "label": "1"}),
                          (5, {"sentence": "ok", "label": "0"})])
        self.assertEqual(guard.skipped, 1)  # the invalid UTF-8 line, counted
        with self.assertRaisesRegex(DataError, r"t\.tsv:4: invalid UTF-8"):
            list(read_file(path, RowGuard()))

    def test_wrong_field_count_and_broken_json_name_the_line(self):
        table = self.write("t.csv", b"text,label\na,1\nb,1,extra\n")
        with self.assertRaisesRegex(DataError, r"t\.csv:3: expected 2 fields, found 3"):
            list(read_file(table, RowGuard()))
        jsonl = self.write("t.jsonl", b'{"text": "a"}\n\n[1]\n')
        with self.assertRaisesRegex(DataError, r"t\.jsonl:3: not a JSON object"):
            list(read_file(jsonl, RowGuard()))

    def test_fasttext_and_plain_text(self):
        path = self.write("t.txt", b"__label__pos great\nno label here\n")
        guard = RowGuard(skip=True)
        self.assertEqual([f for _, _, f in read_file(path, guard, labelled_txt=True)],
                         [{"label": "pos", "text": "great"}])
        self.assertEqual(guard.skipped, 1)
        [(_, _, document)] = read_file(path, RowGuard())
        self.assertEqual(document["text"], "__label__pos great\nno label here\n")

    def test_files_refuses_directories_missing_and_unknown(self):
        folder = self.get_temp_dir()
        with self.assertRaisesRegex(DataError, "is a directory"):
            files(folder)
        with self.assertRaisesRegex(DataError, "no file matches"):
            files(os.path.join(folder, "*.none"))
        with self.assertRaisesRegex(DataError, "no such file"):
            files(os.path.join(folder, "missing.tsv"))
        with self.assertRaisesRegex(DataError, "unknown file type"):
            read_file(self.write("t.xml", b"<a/>"), RowGuard())
        with self.assertRaisesRegex(DataError, "file is empty"):
            list(read_file(self.write("e.jsonl", b"\n"), RowGuard()))


if __name__ == "__main__":
    tf.test.main()
