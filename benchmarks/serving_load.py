r"""Load and bad input on the local server (`python -m tfllm.serve`).

    python benchmarks/serving_load.py [--model_base_path=saved_models/sentiment]
        [--seconds=20]

Serves a sentiment export (by default, the demo's, trained first into a
scratch folder) and drives it from a second process over loopback:

1. **Load.** One sentence a request, TF Serving's row format, keep-alive
   connections, for `--seconds` per setting at concurrency 1, 8 and 32:
   requests/s and p50/p99 latency. Baseline, in the same run: the same
   SavedModel called in-process on the same sentences, one at a time
   (`serving_default(text=[sentence])`), so `server / in-process` is what
   HTTP, JSON and KServe cost.
2. **Bad input.** Empty strings, 1 MB strings, invalid UTF-8 (raw in the
   body, and as `{"b64": ...}` so it reaches the model), nested and missing
   fields, a 10,000-row batch, a 100 MB body: each answer is counted as
   correct (200 with one prediction a row), 4xx, or a crash (5xx, a dropped
   connection, a dead server; must be zero), and the server must still
   answer afterwards.

On this 2-core machine the client process and the server share the cores,
so the server's figures are a floor. Writes
`benchmarks/results/serving_load.json`.
"""

import argparse
import base64
import concurrent.futures
import http.client
import json
import os
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from benchmarks.common import REPO, SHARED_DATA, print_table, write_results  # noqa: E402

SENTENCES = os.path.join(SHARED_DATA, "sst2", "dev.tsv")
DEMO_COMMAND = [sys.executable, "-m", "tasks.sentiment"]


def sentences():
    """SST-2 dev sentences (the bundled demo's if the shared data is absent)."""
    if os.path.exists(SENTENCES):
        with open(SENTENCES, encoding="utf-8") as f:
            return [line.split("\t")[0] for line in f.read().splitlines()[1:]]
    from tfllm.data.sample import sentiment_examples
    return [text for text, _ in sentiment_examples()]


def demo_export(scratch):
    """Trains the demo sentiment model into `scratch`; returns its export root."""
    root = os.path.join(scratch, "sentiment")
    subprocess.run(DEMO_COMMAND + [f"--model_dir={scratch}/run", f"--export_dir={root}"],
                   cwd=REPO, check=True, capture_output=True,
                   env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"})
    return root


def percentile(values, share):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def summary(setting, latencies, seconds, errors=0):
    return {"setting": setting, "requests": len(latencies), "errors": errors,
            "requests_per_s": round(len(latencies) / seconds, 1),
            "p50_ms": round(1000 * percentile(latencies, 0.5), 2),
            "p99_ms": round(1000 * percentile(latencies, 0.99), 2)}


def in_process(base_path, texts, seconds):
    """The baseline: the newest version's serving_default called directly."""
    import tensorflow as tf
    import tensorflow_text  # noqa: F401

    from tfllm.serve.versions import ServedVersions

    served = ServedVersions(base_path)
    served.refresh()
    function = served.current()[1]["serving_default"]
    function(text=tf.constant(texts[:1]))  # warm up
    latencies, index, end = [], 0, time.perf_counter() + seconds
    while time.perf_counter() < end:
        start = time.perf_counter()
        function(text=tf.constant([texts[index % len(texts)]]))
        latencies.append(time.perf_counter() - start)
        index += 1
    return summary("in-process, 1 thread", latencies, seconds)


def drive(port, path, texts, concurrency, seconds):
    """`concurrency` client threads, each on its own keep-alive connection."""
    end = time.perf_counter() + seconds

    def client(offset):
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        latencies, errors, index = [], 0, offset
        while time.perf_counter() < end:
            body = json.dumps({"instances": [texts[index % len(texts)]]})
            start = time.perf_counter()
            connection.request("POST", path, body, {"Content-Type": "application/json"})
            answer = connection.getresponse()
            answer.read()
            latencies.append(time.perf_counter() - start)
            errors += answer.status != 200
            index += concurrency
        connection.close()
        return latencies, errors

    with concurrent.futures.ThreadPoolExecutor(concurrency) as pool:
        results = list(pool.map(client, range(concurrency)))
    latencies = [value for found, _ in results for value in found]
    return summary(f"server, concurrency {concurrency}", latencies, seconds,
                   sum(errors for _, errors in results))


def bad_inputs(texts):
    """(name, body bytes, rows or None) for the bad-input run."""
    invalid = base64.b64encode(b"caf\xe9 \xff\xfe ok").decode()
    rows = [texts[i % len(texts)] for i in range(10_000)]
    return [
        ("empty strings", json.dumps({"instances": ["", ""]}).encode(), 2),
        ("1 MB string", json.dumps({"instances": ["good " * 200_000]}).encode(), 1),
        ("invalid UTF-8 in the body", b'{"instances": ["caf\xe9 \xff"]}', None),
        ("invalid UTF-8 as b64", json.dumps({"instances": [{"b64": invalid}]}).encode(), 1),
        ("lone surrogate escape", b'{"instances": ["\\ud800"]}', None),
        ("nested lists", json.dumps({"instances": [[["deep"]]]}).encode(), None),
        ("nested objects", json.dumps({"instances": [{"text": {"text": "a"}}]}).encode(), None),
        ("missing instances", json.dumps({"signature_name": "serving_default"}).encode(), None),
        ("wrong input name", json.dumps({"instances": [{"txt": "a"}]}).encode(), None),
        ("numbers for text", json.dumps({"instances": [1, 2]}).encode(), None),
        ("null", b"null", None),
        ("truncated JSON", b'{"instances": ["a"', None),
        ("10,000-row batch", json.dumps({"instances": rows}).encode(), 10_000),
        ("100 MB body", b'{"instances": ["' + b"x" * (100 << 20) + b'"]}', None),
    ]


def send(port, path, body):
    """(status or None for a dropped connection, parsed answer)."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=300)
    try:
        connection.request("POST", path, body, {"Content-Type": "application/json"})
        answer = connection.getresponse()
        return answer.status, json.loads(answer.read() or b"null")
    except (OSError, http.client.HTTPException, ValueError) as error:
        return None, str(error)
    finally:
        connection.close()


def classify(status, answer, rows):
    if status == 200 and rows is not None and len(answer.get("predictions", [])) == rows:
        return "correct"
    if status is not None and 400 <= status < 500:
        return "4xx"
    return "crash"


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model_base_path", help="a sentiment export (default: the demo's)")
    parser.add_argument("--seconds", type=float, default=20.0, help="per load setting (<= 60)")
    args = parser.parse_args()
    started = time.perf_counter()
    texts = sentences()
    scratch = tempfile.mkdtemp(prefix="serving-load-")
    base_path = args.model_base_path or demo_export(scratch)

    from tfllm.serve.process import free_port, request, running_server

    rows = [in_process(base_path, texts, args.seconds)]
    port = free_port()
    path = "/v1/models/sentiment:predict"
    with running_server("sentiment", base_path, port=port) as url:
        drive(port, path, texts, 1, 2.0)  # warm up
        for concurrency in (1, 8, 32):
            row = drive(port, path, texts, concurrency, args.seconds)
            row["vs_in_process"] = round(row["requests_per_s"] / rows[0]["requests_per_s"], 3)
            rows.append(row)
        print_table(rows, ["setting", "requests", "errors", "requests_per_s", "vs_in_process",
                           "p50_ms", "p99_ms"])

        bad = []
        for name, body, expected_rows in bad_inputs(texts):
            status, answer = send(port, path, body)
            bad.append({"input": name, "status": status,
                        "outcome": classify(status, answer, expected_rows),
                        "answer": (answer.get("error") if isinstance(answer, dict)
                                   else answer)})
        alive = url.process.poll() is None and request(url)[0] == 200
        after = send(port, path, json.dumps({"instances": ["still there?"]}).encode())
        print()
        print_table(bad, ["input", "status", "outcome", "answer"])
        counts = {outcome: sum(row["outcome"] == outcome for row in bad)
                  for outcome in ("correct", "4xx", "crash")}
        print(f"\nbad input: {counts}; the server answers afterwards: "
              f"{alive and after[0] == 200}")
    # The served model: the demo's, as `python -m tasks.sentiment` trains and exports it.
    write_results("serving_load", rows, started, target_command="python -m tasks.sentiment",
                  model_base_path=args.model_base_path or "a scratch copy of the demo's export",
                  bad_input=bad,
                  bad_input_counts=counts, alive_after_bad_input=alive and after[0] == 200)


if __name__ == "__main__":
    main()
