"""Serves an export over TF Serving's REST API on this machine.

    python -m tfllm.serve --model_name=sentiment --model_base_path=saved_models/sentiment

Then, as with TF Serving:

    curl http://127.0.0.1:8501/v1/models/sentiment
    curl -d '{"instances": ["a gripping, funny film"]}' \\
        http://127.0.0.1:8501/v1/models/sentiment:predict

Needs the `serve` extra (`pip install -e ".[serve]"`: KServe's model server).
"""

import sys

from absl import flags

from tfllm import runtime


def define_flags():
    values = flags.FlagValues()
    scope = {"flag_values": values, "module_name": "server flags"}
    flags.DEFINE_string("model_name", None, "The name in the URL: /v1/models/NAME:predict.",
                        **scope)
    flags.DEFINE_string("model_base_path", None, "The export's folder of numeric versions "
                        "(saved_models/NAME); the newest one that loads is served, and a "
                        "newer one is picked up while serving.", **scope)
    flags.DEFINE_integer("port", 8501, "The REST port (TF Serving's default, 8501).",
                         lower_bound=0, upper_bound=65535, **scope)
    flags.DEFINE_string("host", "127.0.0.1", "The address to bind: 127.0.0.1 answers only this "
                        "machine; 0.0.0.0 answers every network it is on.", **scope)
    flags.DEFINE_integer("max_request_bytes", 16 << 20, "Larger request bodies get 413.",
                         lower_bound=1, **scope)
    flags.DEFINE_float("poll_seconds", 1.0, "How often to look for a new version.",
                       lower_bound=0.05, **scope)
    flags.DEFINE_boolean("tf_logs", False, "Show TensorFlow's own log output.",
                         **scope)
    flags.mark_flags_as_required(["model_name", "model_base_path"], flag_values=values)
    return values


def main(argv):
    values = define_flags()
    if any(arg in ("-h", "--help", "--helpfull") for arg in argv[1:]):
        print(__doc__.strip() + "\n\n" + values.get_help())
        return
    try:
        values(argv)
    except flags.Error as error:
        sys.exit(f"error: {error}")
    runtime.import_tensorflow()
    try:
        from tfllm.serve.server import serve
        from tfllm.serve.versions import NoLoadableVersion
    except ImportError as error:
        sys.exit(f"error: {error}; the server needs the serve extra: "
                 "pip install -e \".[serve]\"")
    try:
        serve(values.model_name, values.model_base_path, port=values.port, host=values.host,
              max_request_bytes=values.max_request_bytes, poll_seconds=values.poll_seconds)
    except NoLoadableVersion as error:
        sys.exit(f"error: {error}")


if __name__ == "__main__":
    main(sys.argv)
