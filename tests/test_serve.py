"""The local server: TF Serving's REST format both ways, version watching,
and (slow) the server itself over HTTP. Every task's export is also queried
through the server by its own test (`TaskTestCase.assert_serves_like_the_model`)."""

import base64
import os
import shutil
import tempfile
import time

import pytest
import tensorflow as tf

from tfllm.serve import rest
from tfllm.serve.process import request, running_server
from tfllm.serve.versions import NoLoadableVersion, ServedVersions


class Echo(tf.Module):
    """Two signatures: one string input with two outputs, and a string
    batch with a scalar (as a neighbour count) and one output."""

    def __init__(self, scale):
        super().__init__()
        self.scale = tf.Variable(scale, dtype=tf.int32)

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="text")])
    def serve(self, text):
        return {"length": tf.strings.length(text, unit="UTF8_CHAR") * self.scale,
                "upper": tf.strings.upper(text, encoding="utf-8")}

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="words"),
                                  tf.TensorSpec([], tf.int32, name="k")])
    def repeat(self, words, k):
        return {"repeated": tf.strings.reduce_join(
            tf.repeat(tf.expand_dims(words, 1), k, axis=1), axis=1)}


def save_echo(folder, scale=1):
    module = Echo(scale)
    tf.saved_model.save(module, folder, signatures={"serving_default": module.serve,
                                                    "repeat": module.repeat})
    return folder


class RestFormatTest(tf.test.TestCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.folder = save_echo(os.path.join(tempfile.mkdtemp(), "echo", "1"))
        cls.signatures = tf.saved_model.load(cls.folder).signatures

    def answer(self, body):
        request = rest.parse_request(body, self.signatures)
        return rest.format_response(self.signatures[request.signature](**request.inputs),
                                    request)

    def assertBad(self, body, message):
        with self.assertRaises(rest.BadRequest) as caught:
            self.answer(body)
        self.assertIn(message, str(caught.exception))
        self.assertNotIn("\n", str(caught.exception))

    def test_rows_bare_or_named_give_one_object_per_row(self):
        expected = {"predictions": [{"length": 3, "upper": "ABC"},
                                    {"length": 2, "upper": "DÉ"}]}
        self.assertEqual(self.answer({"instances": ["abc", "dé"]}), expected)
        self.assertEqual(self.answer(b'{"instances": [{"text": "abc"}, {"text": "d\xc3\xa9"}]}'),
                         expected)

    def test_columns_bare_or_named_give_one_object(self):
        expected = {"outputs": {"length": [0, 1], "upper": ["", "Ω"]}}
        self.assertEqual(self.answer({"inputs": ["", "ω"]}), expected)
        self.assertEqual(self.answer({"inputs": {"text": ["", "ω"]}}), expected)

    def test_a_single_output_is_bare_and_a_scalar_may_repeat_in_rows(self):
        self.assertEqual(self.answer({"signature_name": "repeat",
                                      "instances": [{"words": "ab", "k": 2},
                                                    {"words": "c", "k": 2}]}),
                         {"predictions": ["abab", "cc"]})
        self.assertEqual(self.answer({"signature_name": "repeat",
                                      "inputs": {"words": ["x"], "k": 3}}), {"outputs": ["xxx"]})
        self.assertBad({"signature_name": "repeat", "instances": [{"words": "a", "k": 1},
                                                                  {"words": "b", "k": 2}]},
                       "input 'k' is a scalar: every instance must give the same value")

    def test_binary_strings_come_as_b64(self):
        encoded = base64.b64encode("héllo".encode()).decode()
        self.assertEqual(self.answer({"instances": [{"b64": encoded}]}),
                         {"predictions": [{"length": 5, "upper": "HÉLLO"}]})
        self.assertBad({"instances": [{"b64": "not base64!"}]}, "invalid base64")

    def test_bad_requests_say_what_is_wrong(self):
        for body, message in [
                (b'{"instances": [', "the body is not valid JSON"),
                (b"[1, 2]", "the body must be a JSON object, not list"),
                ({"instances": ["a"], "extra": 1}, "unknown field(s) ['extra']"),
                ({"signature_name": "nope", "instances": ["a"]},
                 "no signature 'nope'; this model has ['repeat', 'serving_default']"),
                ({"instances": ["a"], "inputs": ["a"]}, "exactly one of \"instances\""),
                ({"signature_name": "serving_default"}, "exactly one of \"instances\""),
                ({"instances": []}, "\"instances\" must be a non-empty list"),
                ({"instances": "abc"}, "\"instances\" must be a non-empty list"),
                ({"signature_name": "repeat", "instances": [{"words": "a"}]},
                 "instances[0] has ['words']; the signature takes ['k', 'words']"),
                ({"signature_name": "repeat", "inputs": {"words": ["a"]}}, "missing ['k']"),
                ({"signature_name": "repeat", "inputs": {"words": ["a"], "k": 1, "n": 2}},
                 "unknown ['n']"),
                ({"signature_name": "repeat", "inputs": {"words": ["a"], "k": "two"}},
                 "input 'k' takes int32 numbers"),
                ({"signature_name": "repeat", "inputs": {"words": ["a"], "k": True}},
                 "input 'k' takes int32 numbers"),
                ({"signature_name": "repeat", "inputs": {"words": ["a"], "k": [1, 2]}},
                 "input 'k' has shape [2]; the signature takes []"),
                ({"signature_name": "repeat", "inputs": {"words": ["a"], "k": 2 ** 40}},
                 "input 'k'"),
                ({"instances": [7]}, "input 'text' takes strings, got int"),
                ({"instances": [None]}, "input 'text' takes strings, got NoneType"),
                ({"inputs": [["a", "b"], ["c"]]}, "input 'text' is ragged"),
                ({"inputs": [["a"], ["c"]]}, "input 'text' has shape [2, 1]; the signature "
                 "takes [None]"),
                ({"instances": [{"text": {"nested": "a"}}]}, "takes strings, got dict"),
                ({"instances": ["\ud800"]}, "not valid Unicode")]:
            with self.subTest(body=ascii(body)):
                self.assertBad(body, message)

    def test_metadata_describes_every_signature(self):
        self.assertEqual(rest.signature_metadata(self.signatures)["repeat"], {
            "inputs": {"k": {"dtype": "int32", "shape": []},
                       "words": {"dtype": "string", "shape": [-1]}},
            "outputs": {"repeated": {"dtype": "string", "shape": [-1]}}})


class ServedVersionsTest(tf.test.TestCase):

    def test_the_newest_loadable_version_is_served(self):
        root = os.path.join(self.get_temp_dir(), "versions")
        save_echo(os.path.join(root, "1"), scale=1)
        served = ServedVersions(root)
        served.refresh()
        self.assertEqual(served.current()[0], 1)

        save_echo(os.path.join(root, "2"), scale=2)
        self.assertTrue(served.refresh())
        version, signatures = served.current()
        self.assertEqual(version, 2)
        self.assertAllEqual(signatures["serving_default"](text=tf.constant(["ab"]))["length"],
                            [4])

        os.makedirs(os.path.join(root, "3", "variables"))  # still being written
        self.assertFalse(served.refresh())
        with open(os.path.join(root, "3", "saved_model.pb"), "wb") as f:
            f.write(b"not a SavedModel")
        with self.assertLogs("tfllm.serve", "ERROR") as logs:
            self.assertFalse(served.refresh())
        self.assertIn("version 3", logs.output[0])  # once complete, and broken
        self.assertIn("still serving version 2", logs.output[0])
        self.assertEqual(served.current()[0], 2)
        self.assertFalse(served.refresh())  # not tried again

        shutil.rmtree(os.path.join(root, "2"))  # withdrawn: back to the next newest
        self.assertTrue(served.refresh())
        self.assertEqual(served.current()[0], 1)

    def test_nothing_to_serve_is_an_error(self):
        served = ServedVersions(self.get_temp_dir())
        with self.assertRaisesRegex(NoLoadableVersion, "no loadable version under"):
            served.start()


@pytest.mark.slow
class ServerTest(tf.test.TestCase):
    """One server process answers everything the contract names."""

    def test_the_server_answers_like_tf_serving(self):
        root = os.path.join(self.get_temp_dir(), "echo")
        folder = save_echo(os.path.join(root, "1"))
        signatures = tf.saved_model.load(folder).signatures
        with running_server("echo", root, "--poll_seconds=0.2",
                            "--max_request_bytes=100000") as url:
            # Bound to loopback only (uvicorn reports the address it bound).
            port = url.split(":")[2].split("/")[0]
            self.assertIn(f"Uvicorn running on http://127.0.0.1:{port} ", url.output())

            self.assertEqual(request(url), (200, {
                "name": "echo", "ready": True, "model_version_status": [
                    {"version": "1", "state": "AVAILABLE",
                     "status": {"error_code": "OK", "error_message": ""}}]}))
            status, metadata = request(f"{url}/metadata")
            self.assertEqual(sorted(metadata["metadata"]["signature_def"]),
                             ["repeat", "serving_default"])

            # Rows and columns, as the SavedModel answers in this process.
            texts = ["a sample", "", "naïve café", "x" * 1000]
            local = signatures["serving_default"](text=tf.constant(texts))
            self.assertEqual(request(f"{url}:predict", {"instances": texts}), (200, {
                "predictions": [{"length": int(n), "upper": u.decode()}
                                for n, u in zip(local["length"].numpy(),
                                                local["upper"].numpy())]}))
            self.assertEqual(request(f"{url}:predict", {"signature_name": "repeat",
                                                        "inputs": {"words": ["ab"], "k": 2}}),
                             (200, {"outputs": ["abab"]}))

            # Bad requests: a 4xx with a one-line message, and the server lives on.
            for body, code, message in [
                    (b"{not json", 400, "not valid JSON"),
                    (b"\xff\xfe", 400, "not valid JSON"),
                    ({"instances": [{"txt": "a"}]}, 400, "instances[0] has ['txt']"),
                    ({"signature_name": "nope", "instances": ["a"]}, 400, "no signature"),
                    ({"signature_name": "repeat", "inputs": {"words": ["a"], "k": -1}}, 400,
                     "refused the input: Expected multiples[2] >= 0, but got -1"),
                    (b'{"instances": ["' + b"y" * 200_000 + b'"]}', 413,
                     "over 100000 bytes")]:
                with self.subTest(body=ascii(body)[:40]):
                    status, answer = request(f"{url}:predict", body)
                    self.assertEqual(status, code)
                    self.assertIn(message, answer["error"])
                    self.assertNotIn("\n", answer["error"])
            status, answer = request(url.replace("/echo", "/other") + ":predict",
                                     {"instances": ["a"]})
            self.assertEqual((status, answer), (404, {
                "error": "Model with name other does not exist."}))
            self.assertNotIn("Traceback", url.output())

            # A new version is picked up; a broken one leaves it serving.
            save_echo(os.path.join(root, "2"), scale=3)
            self.wait_for_version(url, "2")
            self.assertEqual(request(f"{url}:predict", {"instances": ["ab"]})[1],
                             {"predictions": [{"length": 6, "upper": "AB"}]})
            os.makedirs(os.path.join(root, "3", "variables"))
            with open(os.path.join(root, "3", "saved_model.pb"), "wb") as f:
                f.write(b"broken")
            self.wait_for_log(url, "version 3 at")
            self.assertEqual(request(url)[1]["model_version_status"][0]["version"], "2")
            self.assertEqual(request(f"{url}:predict", {"instances": ["ab"]})[0], 200)

    def wait_until(self, url, done, what, seconds=60):
        deadline = time.monotonic() + seconds
        while not done():
            if time.monotonic() > deadline:
                self.fail(f"{what} did not happen in {seconds} s:\n{url.output()}")
            time.sleep(0.2)

    def wait_for_version(self, url, version):
        self.wait_until(url, lambda: request(url)[1]["model_version_status"][0]["version"]
                        == version, f"serving version {version}")

    def wait_for_log(self, url, text):
        self.wait_until(url, lambda: text in url.output(), f"logging {text!r}")

    def test_without_a_loadable_version_it_stops_with_a_message(self):
        with self.assertRaisesRegex(RuntimeError, "no loadable version under"):
            with running_server("empty", self.get_temp_dir(), startup_seconds=60):
                pass
