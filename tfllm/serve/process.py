"""The local server in a child process, for tests and benchmarks.

Example:

>>> with running_server("sentiment", "saved_models/sentiment") as url:
...     requests.post(f"{url}:predict", json={"instances": ["fine"]})
"""

import contextlib
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request


def free_port():
    """A loopback port no one listens on now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def request(url, body=None, timeout=60):
    """`(status, parsed JSON answer)` of a GET (or a POST of `body`: bytes,
    or a value sent as JSON) to `url`; HTTP errors are answers too."""
    data = body if body is None or isinstance(body, bytes) else json.dumps(body).encode()
    try:
        with urllib.request.urlopen(urllib.request.Request(url, data=data),
                                    timeout=timeout) as answer:
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as error:
        body = error.read()
        try:
            return error.code, json.loads(body or b"null")
        except ValueError:  # not JSON (uvicorn's own plain-text errors)
            return error.code, {"error": body.decode("utf-8", "replace")}


@contextlib.contextmanager
def running_server(model_name, base_path, *flags, port=None, startup_seconds=120):
    """Starts `python -m tfllm.serve` on a free loopback port, waits until
    it reports the model, and yields `http://127.0.0.1:PORT/v1/models/NAME`
    (with `.process` and `.log` on the yielded `ServerURL`); stops it on exit."""
    port = port or free_port()
    log = tempfile.NamedTemporaryFile("w+", prefix="tfllm-serve-", suffix=".log", delete=False)
    process = subprocess.Popen(
        [sys.executable, "-m", "tfllm.serve", f"--model_name={model_name}",
         f"--model_base_path={base_path}", f"--port={port}", *flags],
        stdout=log, stderr=subprocess.STDOUT,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONUNBUFFERED": "1"})
    url = ServerURL(f"http://127.0.0.1:{port}/v1/models/{model_name}", process, log)
    try:
        deadline = time.monotonic() + startup_seconds
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"the server exited ({process.returncode}):\n{url.output()}")
            try:
                if request(url, timeout=5)[0] == 200:
                    break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"the server did not answer in {startup_seconds} s:\n"
                                   f"{url.output()}")
            time.sleep(0.2)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()
        os.unlink(log.name)


class ServerURL(str):
    """The model's URL, with the server `process` and what it printed (`output()`)."""

    def __new__(cls, url, process, log):
        self = super().__new__(cls, url)
        self.process, self.log = process, log
        return self

    def output(self):
        self.log.flush()
        with open(self.log.name) as f:
            return f.read()
