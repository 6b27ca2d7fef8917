"""Initializers by flag name (`--initializer`: glorot_uniform is Xavier, he_normal is He)."""

import keras


def fresh_initializer(spec):
    """A new initializer per layer from a name or config, so layers never
    share one seeded instance (which would give them the same weights)."""
    initializer = keras.initializers.get(spec)
    return initializer.__class__.from_config(initializer.get_config())
