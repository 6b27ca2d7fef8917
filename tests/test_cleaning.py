import tfllm  # noqa: F401
import tensorflow as tf

from tfllm.data.cleaning import clean_text


class CleanTextTest(tf.test.TestCase):

    def test_html_tags_and_entities(self):
        out = clean_text(tf.constant(["<b>Great</b> film &amp; cast<br />!",
                                      "&lt;b&gt; stays &quot;text&quot; &#39;"]))
        self.assertAllEqual(out, [b"great film & cast !", b'<b> stays "text" \''])

    def test_unicode_normalisation_and_case(self):
        out = clean_text(tf.constant(["\uFB01ne \u00C9COLE\u00A0\t x"]), lowercase=True)
        self.assertAllEqual(out, ["fine \u00e9cole x".encode()])
        kept = clean_text(tf.constant(["Caf\u0065\u0301"]), lowercase=False)
        self.assertAllEqual(kept, ["Caf\u00e9".encode()])

    def test_invalid_utf8_is_replaced_not_fatal(self):
        out = clean_text(tf.constant([b"bad \xff byte"]))
        self.assertAllEqual(out, ["bad \ufffd byte".encode()])
