"""Text cleaning as TensorFlow ops, so training and serving clean alike.

Example:

>>> clean_text(tf.constant(["<b>Great</b> film &amp; cast<br />!"])).numpy()
array([b'great film & cast !'], dtype=object)
"""

import tensorflow as tf
import tensorflow_text as tf_text

# The entities that occur in scraped reviews (IMDB, Multi30k). Replaced after
# tags are removed, so an escaped "&lt;b&gt;" stays visible text.
_ENTITIES = (
    ("&lt;", "<"), ("&gt;", ">"), ("&quot;", '"'), ("&#34;", '"'), ("&#39;", "'"),
    ("&apos;", "'"), ("&nbsp;", " "), ("&amp;", "&"),
)


def clean_text(text, lowercase=True):
    """Cleans a string tensor of any shape.

    Invalid UTF-8 becomes U+FFFD, unicode is NFKC-normalised, HTML tags are
    dropped and common entities decoded, case is folded if `lowercase`, and
    runs of whitespace become one space.
    """
    text = tf.strings.unicode_transcode(text, "UTF-8", "UTF-8", errors="replace")
    text = tf_text.normalize_utf8(text, "NFKC")
    text = tf.strings.regex_replace(text, r"<[^>]*>", " ")
    for entity, character in _ENTITIES:
        text = tf.strings.regex_replace(text, entity, character, replace_global=True)
    if lowercase:
        text = tf_text.case_fold_utf8(text)
    text = tf.strings.regex_replace(text, r"\s+", " ")
    return tf.strings.strip(text)
