"""The run card: a small JSON record of how an export was made."""

import json
import os
import platform
import sys
import time


def library_versions():
    """Versions of the libraries that shaped a run."""
    import keras
    import keras_hub
    import tensorflow as tf
    import tensorflow_text

    versions = {
        "python": sys.version.split()[0],
        "tensorflow": tf.__version__,
        "tensorflow_text": tensorflow_text.__version__,
        "keras": keras.__version__,
        "keras_hub": keras_hub.__version__,
    }
    try:
        import tensorflow_datasets

        versions["tensorflow_datasets"] = tensorflow_datasets.__version__
    except ImportError:
        pass
    return versions


def write_run_card(folder, **record):
    """Writes `folder/run_card.json` with `record` plus versions and machine."""
    card = {
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        **record,
        "versions": library_versions(),
        "machine": {"platform": platform.platform(), "cpu_count": os.cpu_count()},
    }
    path = os.path.join(folder, "run_card.json")
    with open(path, "w") as f:
        json.dump(card, f, indent=2, default=str)
    return path
