r"""Where a task's training step spends its time, by TensorFlow op type.

    python benchmarks/profile_steps.py [--first=30 --last=40] -- \
        python -m tasks.text_generation --data=../shared/data/tinyshakespeare/train.txt \
        --jit=false --steps_per_execution=1 --train_steps=60 --epochs=1 ...

Runs the command with `--profile_steps=FIRST,LAST` (and a scratch
`--model_dir`/`--export_dir`), reads the profile it writes, and prints, for
the profiled steps: the wall time a step took, and the time TensorFlow's
threads spent in each op type per step (summed over threads, so on 2 cores
it can reach twice the wall time), largest first. Run with `--jit=false`:
under XLA a step is a few fused clusters and the op types are lost.
`--json` writes the figures to a file. Also prints the command's own
closing `time` line (where the whole command's time went).
"""

import argparse
import collections
import glob
import json
import os
import subprocess
import sys
import tempfile

from tensorflow.tsl.profiler.protobuf import xplane_pb2

HERE = os.path.dirname(os.path.abspath(__file__))


def read_profile(path, by_name_of=None):
    """`(step_seconds, {op type: seconds summed over threads})` of one
    `.xplane.pb`: the profiled steps' wall times and their ops (with
    `by_name_of`, the ops of that type by name instead)."""
    space = xplane_pb2.XSpace()
    with open(path, "rb") as f:
        space.ParseFromString(f.read())
    host = next(plane for plane in space.planes if plane.name == "/host:CPU")
    names = {key: value.name for key, value in host.event_metadata.items()}
    steps, ops = [], collections.Counter()
    for line in host.lines:
        for event in line.events:
            name = names[event.metadata_id]
            if line.name == "python" and name == "Profiled batch":
                steps.append(event.duration_ps / 1e12)
            # An op's event is "scope/name:Type"; runtime events have "::".
            elif line.name.startswith("tf_") and ":" in name and "::" not in name:
                op_name, op_type = name.rsplit(":", 1)
                if by_name_of is None:
                    ops[op_type] += event.duration_ps / 1e12
                elif op_type == by_name_of:
                    ops[op_name] += event.duration_ps / 1e12
    return steps, ops


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--first", type=int, default=30)
    parser.add_argument("--last", type=int, default=40)
    parser.add_argument("--top", type=int, default=20)
    parser.add_argument("--json", default=None)
    parser.add_argument("--op", default=None,
                        help="list the ops of this type by name (say MatMul)")
    parser.add_argument("command", nargs=argparse.REMAINDER)
    args = parser.parse_args()
    command = [arg for arg in args.command if arg != "--"]
    if not command:
        parser.error("give the task's command after --")
    scratch = tempfile.mkdtemp(prefix="profile-")
    run = subprocess.run([*command, f"--profile_steps={args.first},{args.last}",
                          f"--model_dir={scratch}/run", f"--export_dir={scratch}/export"],
                         capture_output=True, text=True, cwd=os.path.dirname(HERE))
    if run.returncode:
        sys.exit(f"the command failed:\n{run.stdout[-2000:]}\n{run.stderr[-3000:]}")
    found = glob.glob(os.path.join(scratch, "run", "**", "*.xplane.pb"), recursive=True)
    if not found:
        sys.exit(f"no profile under {scratch}/run: did training reach step {args.last}?")
    steps, ops = read_profile(found[0], args.op)
    step = sum(steps) / len(steps)
    busy = sum(ops.values()) / len(steps)
    print(f"{len(steps)} steps profiled: {1e3 * step:.1f} ms a step (wall); ops "
          f"{1e3 * busy:.1f} ms a step summed over threads ({busy / step:.2f} threads busy)")
    rows = []
    for op, seconds in ops.most_common(args.top):
        per_step = seconds / len(steps)
        rows.append({"op": op, "ms_per_step": round(1e3 * per_step, 2),
                     "share_of_op_time": round(per_step / busy, 4)})
        print(f"  {op[-80:]:<32} {1e3 * per_step:8.2f} ms  {100 * per_step / busy:5.1f}%")
    whole = [line for line in run.stdout.splitlines() if line.startswith("time ")]
    print(whole[-1] if whole else "(the command printed no time line)")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"command": " ".join(command), "profiled_steps": len(steps),
                       "ms_per_step": round(1e3 * step, 2),
                       "op_ms_per_step": round(1e3 * busy, 2), "ops": rows,
                       "time_line": whole[-1] if whole else None}, f, indent=1)


if __name__ == "__main__":
    main()
