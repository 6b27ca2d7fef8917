"""Data sources, cleaning, tokenizers and tf.data pipelines."""
