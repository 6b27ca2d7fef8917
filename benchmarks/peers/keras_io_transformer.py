"""The keras.io recipe "Text classification with Transformer" (Apoorv Nandan), on SST-2.

    python benchmarks/peers/keras_io_transformer.py TRAIN.tsv DEV.tsv

The peer of `benchmarks/speed_vs_peers.py`: the example's model as it writes
it (token + position `Embedding`, one block of `MultiHeadAttention` and a
relu feed-forward, each with dropout 0.1, residual and post-LayerNorm at
1e-6; global average pooling, dropout, Dense 20 relu, dropout, softmax over
2), embed 32, 2 heads, feed-forward 32, Adam, sparse categorical
cross-entropy, plain `fit` on padded NumPy arrays, batch 32, 2 epochs. The
example reads IMDB as integer arrays; SST-2 is text, so a Keras
`TextVectorization` (20,000 tokens, the example's vocabulary) turns it into
arrays padded to 64 (the issue's maxlen). Prints one JSON line: training
seconds, examples/s and dev accuracy.
"""

import csv
import json
import sys
import time

import keras
import numpy as np
from keras import layers, ops

VOCABULARY, MAXLEN, EMBED, HEADS, FEED_FORWARD, BATCH, EPOCHS = 20000, 64, 32, 2, 32, 32, 2


class TransformerBlock(layers.Layer):
    def __init__(self, embed_dim, num_heads, ff_dim, rate=0.1):
        super().__init__()
        self.att = layers.MultiHeadAttention(num_heads=num_heads, key_dim=embed_dim)
        self.ffn = keras.Sequential([layers.Dense(ff_dim, activation="relu"),
                                     layers.Dense(embed_dim)])
        self.layernorm1 = layers.LayerNormalization(epsilon=1e-6)
        self.layernorm2 = layers.LayerNormalization(epsilon=1e-6)
        self.dropout1 = layers.Dropout(rate)
        self.dropout2 = layers.Dropout(rate)

    def call(self, inputs, training=False):
        attention = self.dropout1(self.att(inputs, inputs), training=training)
        out1 = self.layernorm1(inputs + attention)
        ffn_output = self.dropout2(self.ffn(out1), training=training)
        return self.layernorm2(out1 + ffn_output)


class TokenAndPositionEmbedding(layers.Layer):
    def __init__(self, maxlen, vocab_size, embed_dim):
        super().__init__()
        self.token_emb = layers.Embedding(input_dim=vocab_size, output_dim=embed_dim)
        self.pos_emb = layers.Embedding(input_dim=maxlen, output_dim=embed_dim)

    def call(self, x):
        positions = self.pos_emb(ops.arange(start=0, stop=ops.shape(x)[-1], step=1))
        return self.token_emb(x) + positions


def read(path):
    with open(path, newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE))
    return [r["sentence"] for r in rows], np.array([int(r["label"]) for r in rows])


def main(train_path, dev_path):
    started = time.perf_counter()
    (train_text, y_train), (dev_text, y_dev) = read(train_path), read(dev_path)
    vectorize = layers.TextVectorization(max_tokens=VOCABULARY, output_sequence_length=MAXLEN)
    vectorize.adapt(train_text)
    x_train, x_dev = np.array(vectorize(train_text)), np.array(vectorize(dev_text))

    inputs = layers.Input(shape=(MAXLEN,))
    x = TokenAndPositionEmbedding(MAXLEN, VOCABULARY, EMBED)(inputs)
    x = TransformerBlock(EMBED, HEADS, FEED_FORWARD)(x)
    x = layers.GlobalAveragePooling1D()(x)
    x = layers.Dropout(0.1)(x)
    x = layers.Dense(20, activation="relu")(x)
    x = layers.Dropout(0.1)(x)
    outputs = layers.Dense(2, activation="softmax")(x)
    model = keras.Model(inputs=inputs, outputs=outputs)
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    fit_started = time.perf_counter()
    model.fit(x_train, y_train, batch_size=BATCH, epochs=EPOCHS, verbose=2,
              validation_data=(x_dev, y_dev))
    train_seconds = time.perf_counter() - fit_started
    _, accuracy = model.evaluate(x_dev, y_dev, verbose=0)
    print(json.dumps({"train_seconds": train_seconds,
                      "examples_per_second": EPOCHS * len(x_train) / train_seconds,
                      "dev_accuracy": accuracy,
                      "seconds_before_fit": fit_started - started}))


if __name__ == "__main__":
    main(*sys.argv[1:3])
