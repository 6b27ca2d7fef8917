"""A SavedModel served over TF Serving's REST API by KServe's `ModelServer`.

`TFServingModel` is the `kserve.Model`: KServe routes
`POST /v1/models/NAME:predict` to it with the body passed through, and it
answers in TF Serving's format (`tfllm.serve.rest`) from the newest version
of the export (`tfllm.serve.versions`). Around it, this module adds what
KServe lacks for a server on a workstation: the bind address, a bound on
the request body, TF Serving's model status and metadata routes, and 4xx
answers whose log line is one line, not a traceback.

Example:

>>> serve("sentiment", "saved_models/sentiment", port=8501)   # blocks
"""

import asyncio
import contextlib
import logging
import sys
import time
import warnings

import tensorflow as tf

from tfllm.serve import rest
from tfllm.serve.versions import ServedVersions

log = logging.getLogger("tfllm.serve")


@contextlib.contextmanager
def _argv_hidden():
    """kserve/kserve#4076: `kserve.model_server` parses `sys.argv` with its
    own argparse parser at import, so the server's flags could be taken for
    KServe's (argparse also accepts prefixes of its options). KServe is
    imported with an empty command line; its settings are passed to
    `ModelServer` directly."""
    saved = sys.argv
    sys.argv = saved[:1]
    try:
        yield
    finally:
        sys.argv = saved


with _argv_hidden():
    import kserve
    from kserve import model_server as _kserve_model_server
    from kserve.errors import InvalidInput, ModelNotFound


class TFServingModel(kserve.Model):
    """Answers TF Serving REST requests from the newest version under `base_path`.

    Example:

    >>> model = TFServingModel("sentiment", "saved_models/sentiment")
    >>> model.load()
    True
    >>> await model.predict({"instances": ["a fine film"]})
    {'predictions': [{'label': 'positive', 'probabilities': [...]}]}
    """

    def __init__(self, name, base_path, poll_seconds=1.0):
        super().__init__(name)
        self.versions = ServedVersions(base_path, poll_seconds)

    def load(self):
        self.versions.start()
        self.ready = True
        return self.ready

    async def predict(self, payload, headers=None):
        # KServe awaits this on its event loop; the TensorFlow call runs in
        # the loop's thread pool so that requests overlap (TF releases the GIL).
        _, signatures = self.versions.current()
        try:
            request = rest.parse_request(payload, signatures)
        except rest.BadRequest as error:
            raise InvalidInput(str(error)) from None
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(None, self.answer, signatures, request)

    @staticmethod
    def answer(signatures, request):
        try:
            outputs = signatures[request.signature](**request.inputs)
            return rest.format_response(outputs, request)
        except tf.errors.InvalidArgumentError as error:  # the graph refused these values
            raise InvalidInput(f"signature {request.signature!r} refused the input: "
                               f"{error_summary(error.message)}") from None
        except rest.BadRequest as error:
            raise InvalidInput(str(error)) from None

    def status(self):
        """TF Serving's `GET /v1/models/NAME` answer, with KServe's `ready`."""
        version, _ = self.versions.current()
        return {"name": self.name, "ready": self.ready, "model_version_status": [
            {"version": str(version), "state": "AVAILABLE",
             "status": {"error_code": "OK", "error_message": ""}}]}

    def metadata(self):
        """TF Serving's `GET /v1/models/NAME/metadata` answer (signatures' tensors)."""
        version, signatures = self.versions.current()
        return {"model_spec": {"name": self.name, "version": str(version)},
                "metadata": {"signature_def": rest.signature_metadata(signatures)}}


def error_summary(message):
    """The line of a TensorFlow runtime error that says what went wrong
    (not "Graph execution error:", the node or the stack-trace notice)."""
    lines = [line.strip() for line in message.splitlines()]
    telling = [line for line in lines if line and line != "Graph execution error:"
               and not line.startswith(("Detected at node", "<stack traces", "[["))]
    return (telling or lines)[0]


class BodySizeLimit:
    """ASGI middleware answering 413 to a request body over `max_bytes`.

    Neither KServe nor uvicorn bounds the body; this checks the declared
    `Content-Length` before reading, and counts a chunked body as it
    arrives. Before answering it reads and drops the rest of the body for
    up to `drain_seconds`, as nginx's lingering close does: a client still
    sending when the server closes gets a reset instead of the 413
    (uvicorn hands no more of the body over once a response is complete).
    """

    class TooLarge(Exception):
        pass

    def __init__(self, app, max_bytes, drain_seconds=10.0):
        self.app = app
        self.max_bytes = max_bytes
        self.drain_seconds = drain_seconds

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        declared = dict(scope["headers"]).get(b"content-length", b"0")
        if not declared.isdigit() or int(declared) > self.max_bytes:
            await self.drain(receive)
            return await self.refuse(send)
        received = 0
        started = False

        async def counted_receive():
            nonlocal received
            message = await receive()
            received += len(message.get("body", b""))
            if received > self.max_bytes:
                raise self.TooLarge()
            return message

        async def tracked_send(message):
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted_receive, tracked_send)
        except self.TooLarge:
            if not started:
                await self.drain(receive)
                await self.refuse(send)

    async def drain(self, receive):
        """Reads and drops the rest of the request body, for a while at most."""
        deadline = time.monotonic() + self.drain_seconds
        while time.monotonic() < deadline:
            message = await receive()
            if message["type"] != "http.request" or not message.get("more_body"):
                return

    async def refuse(self, send):
        body = (f'{{"error": "the request body is over {self.max_bytes} bytes '
                '(--max_request_bytes)"}').encode()
        await send({"type": "http.response.start", "status": 413,
                    "headers": [(b"content-type", b"application/json"),
                                (b"content-length", str(len(body)).encode()),
                                (b"connection", b"close")]})
        await send({"type": "http.response.body", "body": body})


class OneLineClientErrors(logging.Filter):
    """KServe logs every exception it answers with its traceback; for a bad
    request (4xx) one line is what an operator needs."""

    def filter(self, record):
        if record.exc_info and isinstance(record.exc_info[1], (InvalidInput, ModelNotFound)):
            error = record.exc_info[1]
            record.msg, record.args = "%s: %s", (type(error).__name__, error)
            record.exc_info = record.exc_text = None
        return True


def add_routes(app, model):
    """TF Serving's status and metadata routes for `model`, ahead of KServe's
    own `GET /v1/models/NAME` (which reports readiness without a version)."""
    def served(model_name):
        if model_name != model.name:
            raise ModelNotFound(model_name)
        return model

    app.add_api_route("/v1/models/{model_name}", lambda model_name: served(model_name).status(),
                      methods=["GET"])
    app.add_api_route("/v1/models/{model_name}/metadata",
                      lambda model_name: served(model_name).metadata(), methods=["GET"])


class LoopbackModelServer(kserve.ModelServer):
    """`kserve.ModelServer` bound to `host`: kserve/kserve#4558, its REST
    server hard-codes 0.0.0.0 (every interface), which exposes a model on a
    workstation to the network. `setup_event_loop` is the one hook KServe
    calls between creating its uvicorn config and serving; the host is set
    there (on the private `_rest_server`)."""

    def __init__(self, host, **kwargs):
        super().__init__(**kwargs)
        self.host = host

    def setup_event_loop(self):
        self._rest_server.config.host = self.host
        super().setup_event_loop()


def serve(model_name, base_path, port=8501, host="127.0.0.1", max_request_bytes=16 << 20,
          poll_seconds=1.0):
    """Serves the export at `base_path` as `model_name` until interrupted."""
    model = TFServingModel(model_name, base_path, poll_seconds)
    model.load()
    app = _kserve_model_server.app  # KServe's FastAPI app, module-level by design
    add_routes(app, model)
    app.add_middleware(BodySizeLimit, max_bytes=max_request_bytes)
    server = LoopbackModelServer(host, http_port=port, enable_grpc=False,
                                 enable_latency_logging=False)
    logging.getLogger("kserve").addFilter(OneLineClientErrors())
    logging.getLogger("kserve.trace").setLevel(logging.WARNING)  # two timing lines a request
    # KServe 0.21 answers with FastAPI's ORJSONResponse, which FastAPI 0.165
    # deprecates once per route; the answers are unaffected.
    warnings.filterwarnings("ignore", message="ORJSONResponse is deprecated")
    version, signatures = model.versions.current()
    print(f"Serving {model_name} version {version} ({', '.join(sorted(signatures))}) on "
          f"http://{host}:{port}/v1/models/{model_name}:predict", flush=True)
    server.start([model])
