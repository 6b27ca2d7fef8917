r"""Checks an export against what TF Serving needs of it.

    python -m tfllm.export.check saved_models/sentiment        # every version
    python -m tfllm.export.check saved_models/sentiment/3      # one version

For the export root (a folder of versions, as TF Serving's
`--model_base_path` takes it) or one version folder:

* the layout: numeric version folders, each holding `saved_model.pb` and
  `variables/` (with its index); other names are listed as ignored;
* `serving_default` exists and takes only string inputs (raw text in);
* in a fresh process that imports only TensorFlow and TF Text, as a stock
  TF Serving build has them: the SavedModel loads (an op that neither
  registers is named, with the signatures whose graph holds it), and every
  signature answers a sample input (strings, and 1 for numbers such as a
  beam width or a neighbour count).

Prints one line per finding and exits 1 if any, else prints what was
checked and exits 0.

Example:

>>> problems = check_export("saved_models/sentiment")
>>> problems
[]
"""

import json
import os
import re
import subprocess
import sys

# Runs in a fresh process: imports nothing but TensorFlow and TF Text.
# argv: path, then a JSON {signature: {input: value}} to answer besides the
# sample inputs every signature is run on.
FRESH_PROCESS = r"""
import json, sys
import numpy as np
import tensorflow as tf
import tensorflow_text  # noqa: F401  (registers the tokenizer ops)

def plain(tensor):
    value = tensor.numpy()
    if value.dtype == object:
        value = np.vectorize(lambda b: b.decode("utf-8", "replace"), otypes=[object])(value)
    return value.tolist()

def sample(spec):
    shape = [2 if size is None else size for size in spec.shape]
    if spec.dtype == tf.string:
        values = ["a sample text for the tfllm contract check", ""]
        return tf.reshape(tf.constant(values * (int(np.prod(shape)) // 2 + 1))[
            :int(np.prod(shape))], shape)
    return tf.ones(shape, spec.dtype)

def answer(function, make_inputs):
    specs = function.structured_input_signature[1]
    entry = {"inputs": {key: spec.dtype.name for key, spec in specs.items()}}
    try:
        outputs = function(**make_inputs(specs))
        entry["outputs"] = {key: plain(value) for key, value in outputs.items()}
    except Exception as error:
        entry["error"] = f"{type(error).__name__}: {str(error).splitlines()[0]}"
    return entry

report = {"error": None, "names": [], "signatures": {}, "asked": {}}
try:
    loaded = tf.saved_model.load(sys.argv[1])
except Exception as error:  # any failure to load is the finding
    report["error"] = f"{type(error).__name__}: {error}"
else:
    report["names"] = sorted(loaded.signatures)
    for name in report["names"]:
        report["signatures"][name] = answer(
            loaded.signatures[name],
            lambda specs: {key: sample(spec) for key, spec in specs.items()})
    for name, values in json.loads(sys.argv[2]).items():
        report["asked"][name] = answer(
            loaded.signatures[name],
            lambda specs: {key: tf.constant(value, specs[key].dtype)
                           for key, value in values.items()})
# (`import tensorflow` imports keras itself; keras_hub and tfllm must stay out.)
report["modules"] = sorted(m for m in ("keras_hub", "tfllm") if m in sys.modules)
print(json.dumps(report))
"""
_UNREGISTERED = re.compile(r"Op type not registered '([^']+)'")


def run_fresh(path, inputs=None):
    """What `FRESH_PROCESS` reports for the SavedModel at `path`: every
    signature's answer to sample inputs (`signatures`) and, under `asked`,
    the answers to `inputs` ({signature: {input: value}}), if given."""
    run = subprocess.run([sys.executable, "-c", FRESH_PROCESS, path, json.dumps(inputs or {})],
                         capture_output=True, text=True,
                         env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"})
    if run.returncode:
        raise RuntimeError(f"the fresh process failed on {path}:\n{run.stderr[-3000:]}")
    return json.loads(run.stdout.strip().splitlines()[-1])


def versions(path):
    """`(version folders, problems)` of an export root or one version folder."""
    if not os.path.isdir(path):
        return [], [f"{path}: no such folder"]
    if os.path.isfile(os.path.join(path, "saved_model.pb")):
        return [path], []
    names = sorted(os.listdir(path))
    found = sorted((name for name in names if name.isdigit()), key=int)
    if not found:
        return [], [f"{path}: no numeric version folder (TF Serving loads <root>/<version>/; "
                    f"found {names or 'nothing'})"]
    return [os.path.join(path, name) for name in found], []


def layout_problems(version):
    """What TF Serving would miss in one version folder."""
    problems = []
    if not os.path.isfile(os.path.join(version, "saved_model.pb")):
        problems.append(f"{version}: no saved_model.pb")
    if not os.path.isfile(os.path.join(version, "variables", "variables.index")):
        problems.append(f"{version}: no variables/ (variables.index), which TF Serving "
                        "restores the weights from")
    return problems


def signature_ops(version):
    """{signature: the op types its graph runs, through every function it calls}."""
    from tensorflow.core.protobuf import saved_model_pb2

    saved = saved_model_pb2.SavedModel()
    with open(os.path.join(version, "saved_model.pb"), "rb") as f:
        saved.ParseFromString(f.read())
    graph = saved.meta_graphs[0].graph_def
    functions = {function.signature.name: function for function in graph.library.function}
    nodes = {node.name: node for node in graph.node}

    def called(node):
        names = [attr.func.name for attr in node.attr.values() if attr.func.name]
        names += [f.name for attr in node.attr.values() for f in attr.list.func]
        return names + ([node.op] if node.op in functions else [])

    def ops_of(start):
        ops, seen, todo = set(), set(), list(start)
        while todo:
            node = todo.pop()
            ops.add(node.op)
            for name in called(node):
                if name not in seen:
                    seen.add(name)
                    todo.extend(functions[name].node_def)
        return ops - set(functions)

    result = {}
    for name, signature in saved.meta_graphs[0].signature_def.items():
        start, seen = [], set()
        todo = [tensor.name.split(":")[0] for tensor in signature.outputs.values()]
        while todo:  # the main graph's nodes the outputs depend on
            node = nodes.get(todo.pop().lstrip("^").split(":")[0])
            if node is None or node.name in seen:
                continue
            seen.add(node.name)
            start.append(node)
            todo.extend(node.input)
        result[name] = ops_of(start)
    return result


def fresh_problems(version, report=None):
    """What the fresh process finds (`report`: a `run_fresh` report of
    `version`, if one was made): a failed load (naming the op TF and TF Text
    do not register, and where it is), a missing or non-string
    `serving_default`, signatures that fail on a sample input."""
    report = report or run_fresh(version)
    if report["error"]:
        missing = _UNREGISTERED.search(report["error"])
        if not missing:
            return [f"{version}: does not load with TensorFlow and TF Text: "
                    f"{report['error'].splitlines()[0]}"]
        op = missing.group(1)
        where = sorted(name for name, ops in signature_ops(version).items() if op in ops)
        return [f"{version}: op {op!r} (in {', '.join(where) or 'no signature'}) is registered "
                "by neither core TensorFlow nor TF Text; TF Serving cannot run it"]
    problems = [f"{version}: imports {module} to load" for module in report["modules"]]
    serving = report["signatures"].get("serving_default")
    if serving is None:
        problems.append(f"{version}: no serving_default signature (TF Serving's default); "
                        f"signatures: {sorted(report['signatures']) or 'none'}")
    elif any(dtype != "string" for dtype in serving["inputs"].values()):
        problems.append(f"{version}: serving_default takes {serving['inputs']}; it should "
                        "take raw strings")
    problems += [f"{version}: signature {name} fails on a sample input: {entry['error']}"
                 for name, entry in report["signatures"].items() if "error" in entry]
    return problems


def check_export(path):
    """Every problem found in the export at `path` (a root or one version)."""
    found, problems = versions(path)
    for version in found:
        layout = layout_problems(version)
        problems += layout
        if not layout:
            problems += fresh_problems(version)
    return problems


def main(argv):
    if len(argv) != 2 or argv[1].startswith("-"):
        sys.exit(__doc__.split("\n\n")[0])
    problems = check_export(argv[1])
    for problem in problems:
        print(f"error: {problem}")
    if problems:
        sys.exit(1)
    print(f"{argv[1]}: the layout, signatures and ops fit TF Serving "
          f"({len(versions(argv[1])[0])} version(s) checked in a fresh process)")


if __name__ == "__main__":
    main(sys.argv)
