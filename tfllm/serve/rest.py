"""TF Serving's REST predict format, to tensors and back.

TF Serving's REST API (`POST /v1/models/NAME:predict`) takes a JSON object
with an optional `"signature_name"` (default `serving_default`) and either

* the row format, `"instances"`: a list with one entry per example, each an
  object of named inputs (`{"text": "..."}`) or, for a signature with one
  input, the bare value; answered with `{"predictions": [...]}`, one entry
  per example (an object of named outputs, or the bare value when the
  signature has one output);
* the columnar format, `"inputs"`: an object of named inputs, each holding
  its whole tensor (or, for one input, the bare tensor); answered with
  `{"outputs": ...}` (an object of named outputs, or the bare tensor).

Strings go in and come out as JSON strings (`{"b64": ...}` is accepted for
binary input, as TF Serving does). One liberty TF Serving does not take: a
scalar input (a beam width, a neighbour count) may appear in the row format
when every instance gives the same value.

Every problem with a request raises `BadRequest`, whose message is one line
naming the field, for the server to answer with a 4xx.

Example:

>>> request = parse_request({"instances": [{"text": "fine"}]}, loaded.signatures)
>>> outputs = loaded.signatures[request.signature](**request.inputs)
>>> format_response(outputs, request)
{'predictions': [{'label': 'positive', ...}]}
"""

import base64
import json
from typing import NamedTuple

import numpy as np
import tensorflow as tf

DEFAULT_SIGNATURE = "serving_default"


class BadRequest(ValueError):
    """A request the signature cannot answer; its message says why, in one line."""


class Request(NamedTuple):
    signature: str
    inputs: dict   # input name -> tf.Tensor
    rows: bool     # True for "instances" (answer "predictions"), False for "inputs"


def parse_json(body):
    """The request object in `body` (bytes or an already-parsed value)."""
    if isinstance(body, (bytes, str)):
        try:
            body = json.loads(body)
        except (ValueError, UnicodeDecodeError) as error:
            raise BadRequest(f"the body is not valid JSON: {error}") from None
    if not isinstance(body, dict):
        raise BadRequest(f"the body must be a JSON object, not {type(body).__name__}")
    return body


def input_specs(function):
    """{input name: tf.TensorSpec} of a loaded signature."""
    return function.structured_input_signature[1]


def parse_request(body, signatures):
    """A `Request` for one of `signatures` ({name: concrete function}) from a
    TF Serving REST body."""
    body = parse_json(body)
    unknown = sorted(set(body) - {"signature_name", "instances", "inputs"})
    if unknown:
        raise BadRequest(f"unknown field(s) {unknown}; a request holds \"instances\" or "
                         "\"inputs\", and optionally \"signature_name\"")
    name = body.get("signature_name", DEFAULT_SIGNATURE)
    if not isinstance(name, str) or name not in signatures:
        raise BadRequest(f"no signature {name!r}; this model has {sorted(signatures)}")
    specs = input_specs(signatures[name])
    if ("instances" in body) == ("inputs" in body):
        raise BadRequest("a request holds exactly one of \"instances\" (rows) and \"inputs\" "
                         "(columns)")
    if "instances" in body:
        columns = rows_to_columns(body["instances"], specs)
    else:
        columns = body["inputs"]
        if len(specs) == 1 and not named(columns):
            columns = {next(iter(specs)): columns}  # the bare tensor of the one input
        if not isinstance(columns, dict):
            raise BadRequest(f"\"inputs\" must be an object with {sorted(specs)}")
    return Request(name, to_tensors(columns, specs, name), "instances" in body)


def named(value):
    """True if `value` is an object of named inputs (not a bare value, which
    may be a `{"b64": ...}` string)."""
    return isinstance(value, dict) and set(value) != {"b64"}


def rows_to_columns(instances, specs):
    """{input name: list of values} from the row format's instances."""
    if not isinstance(instances, list) or not instances:
        raise BadRequest("\"instances\" must be a non-empty list, one entry per example")
    if len(specs) == 1 and not any(named(row) for row in instances):
        instances = [{next(iter(specs)): row} for row in instances]  # bare values
    columns = {}
    for index, row in enumerate(instances):
        if not isinstance(row, dict):
            raise BadRequest(f"instances[{index}] must be an object with {sorted(specs)}")
        if set(row) != set(specs):
            raise BadRequest(f"instances[{index}] has {sorted(row)}; the signature takes "
                             f"{sorted(specs)}")
        for key, value in row.items():
            columns.setdefault(key, []).append(value)
    for key, spec in specs.items():
        if spec.shape.rank == 0:  # one value for the whole batch
            values = columns[key]
            if any(value != values[0] for value in values):
                raise BadRequest(f"input {key!r} is a scalar: every instance must give the "
                                 "same value (or use the columnar \"inputs\" format)")
            columns[key] = values[0]
    return columns


def to_tensors(columns, specs, signature):
    """{input name: tf.Tensor} matching the signature's specs."""
    missing, unknown = sorted(set(specs) - set(columns)), sorted(set(columns) - set(specs))
    if missing or unknown:
        raise BadRequest(f"signature {signature!r} takes inputs {sorted(specs)}; "
                         + (f"missing {missing}" if missing else f"unknown {unknown}"))
    return {key: to_tensor(key, columns[key], spec) for key, spec in specs.items()}


def to_tensor(key, value, spec):
    if spec.dtype == tf.string:
        array = np.array(strings_to_bytes(key, value), dtype=object)
        if not all(isinstance(item, bytes) for item in array.flat):
            raise BadRequest(f"input {key!r} is ragged; every row must have the same length")
    else:
        if not all_numbers(value):
            raise BadRequest(f"input {key!r} takes {spec.dtype.name} numbers")
        try:
            array = np.asarray(value, dtype=spec.dtype.as_numpy_dtype)
        except (ValueError, OverflowError) as error:
            raise BadRequest(f"input {key!r}: {error}") from None
    if not spec.shape.is_compatible_with(array.shape):
        raise BadRequest(f"input {key!r} has shape {list(array.shape)}; the signature takes "
                         f"{spec.shape.as_list() if spec.shape.rank is not None else 'any'} "
                         "(None: any size)")
    return tf.constant(array, spec.dtype)


def strings_to_bytes(key, value):
    """Nested lists of str (or {"b64": ...}) as nested lists of bytes."""
    if isinstance(value, list):
        return [strings_to_bytes(key, item) for item in value]
    if isinstance(value, str):
        try:
            return value.encode("utf-8")
        except UnicodeEncodeError:  # a lone surrogate escape such as "\\ud800"
            raise BadRequest(f"input {key!r} is not valid Unicode (a lone surrogate)") from None
    if isinstance(value, dict) and set(value) == {"b64"} and isinstance(value["b64"], str):
        try:
            return base64.b64decode(value["b64"], validate=True)
        except ValueError:
            raise BadRequest(f"input {key!r}: invalid base64 in {{\"b64\": ...}}") from None
    raise BadRequest(f"input {key!r} takes strings, got {type(value).__name__}")


def all_numbers(value):
    if isinstance(value, list):
        return all(all_numbers(item) for item in value)
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def to_json(array):
    """A NumPy array as JSON values, strings decoded as UTF-8."""
    if array.dtype == object:
        return np.vectorize(lambda b: b.decode("utf-8", "replace"), otypes=[object])(
            array).tolist()
    return array.tolist()


def format_response(outputs, request):
    """TF Serving's answer to `request` from the signature's outputs."""
    arrays = {key: value.numpy() for key, value in outputs.items()}
    columns = {key: to_json(array) for key, array in arrays.items()}
    single = next(iter(columns)) if len(columns) == 1 else None
    if not request.rows:
        return {"outputs": columns[single] if single else columns}
    sizes = {array.shape[0] if array.ndim else None for array in arrays.values()}
    if len(sizes) != 1 or None in sizes:
        raise BadRequest(f"signature {request.signature!r} answers with outputs that are not "
                         "one row per example; ask it in the columnar \"inputs\" format")
    if single:
        return {"predictions": columns[single]}
    return {"predictions": [dict(zip(columns, row)) for row in zip(*columns.values())]}


def signature_metadata(signatures):
    """{name: {"inputs"|"outputs": {tensor: {"dtype", "shape"}}}} as TF Serving's
    metadata endpoint describes them (-1: any size)."""
    def describe(specs):
        return {key: {"dtype": spec.dtype.name,
                      "shape": [-1 if size is None else size for size in spec.shape.as_list()]}
                for key, spec in specs.items()}

    return {name: {"inputs": describe(input_specs(function)),
                   "outputs": describe(function.structured_outputs)}
            for name, function in signatures.items()}
