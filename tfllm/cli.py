"""Runs a task's main function from a command line, with task defaults.

Example, in `tasks/sentiment.py`:

>>> def main(argv=None):
...     return cli.run(train_and_export, "sentiment", {"epochs": 5}, argv)
"""

import json
import os
import sys

from absl import flags

from tfllm.atomic_files import write_json_atomically
from tfllm.data.errors import DataError
from tfllm.export.run_card import flag_values
from tfllm.flags import FLAGS
from tfllm.training.loop import saved_progress

# Defaults as defined, before any task changed them, so that one task's
# defaults never leak into the next run in the same process.
_DEFINED_DEFAULTS = {}


def _apply_defaults(defaults):
    for name, value in _DEFINED_DEFAULTS.items():
        FLAGS.set_default(name, value)
    for name, value in defaults.items():
        _DEFINED_DEFAULTS.setdefault(name, FLAGS[name].default)
        FLAGS.set_default(name, value)


# Flags that change where results go or how fast they come, not what is
# computed: a killed run may resume with other values of these (say, on a
# machine with more devices).
_FREE_ON_RESUME = {"model_dir", "export_dir", "export_version", "tf_logs", "strategy", "tpu",
                   "jit", "steps_per_execution"}


def _check_resume(model_dir, values):
    """Stops a run whose `model_dir` holds a killed run's progress, started
    with other flags, and records `values` in `model_dir/flags.json` otherwise.

    Resuming under other flags would load weights of another shape (an
    obscure error) or, worse, of the same shape but trained on other data or
    another vocabulary (a silently wrong model).
    """
    values = json.loads(json.dumps(values, default=str))  # as they will read back
    path = os.path.join(model_dir, "flags.json")
    progress = saved_progress(model_dir)
    if progress and os.path.isfile(path):
        with open(path) as f:
            try:
                before = json.load(f)
            except json.JSONDecodeError as error:
                before = error
        if not isinstance(before, dict):
            found = before if isinstance(before, Exception) else f"a {type(before).__name__}"
            sys.exit(f"error: {path}: not the JSON tfllm writes ({found}); delete "
                     f"{model_dir} (or pass another --model_dir) to start afresh.")
        changed = [f"--{name} was {before[name]!r}, now {value!r}"
                   for name, value in sorted(values.items())
                   if name in before and name not in _FREE_ON_RESUME and before[name] != value]
        if changed:
            sys.exit(f"error: {model_dir} holds an unfinished run ({', '.join(progress)}) "
                     f"started with other flags: {'; '.join(changed)}. Run with the same flags "
                     f"to resume it, or delete {model_dir} (or pass another --model_dir) to "
                     "start afresh.")
        return
    write_json_atomically(path, values)


def run(task_main, task, defaults=None, argv=None, choices=None):
    """Parses `argv` (default `sys.argv`) and calls `task_main(FLAGS)`.

    Flags not given on the command line take `defaults`, then the shared ones;
    `model_dir` and `export_dir` default to `runs/<task>` and
    `saved_models/<task>`. `choices` maps shared flags to the values this task
    accepts. Bad flags and bad data end the run with a one-line message
    (exit status 1) instead of a traceback, as does a `model_dir` holding a
    killed run started with other flags (see `_check_resume`).
    """
    argv = list(sys.argv if argv is None else argv)
    FLAGS.unparse_flags()
    defaults = {"model_dir": f"runs/{task}", "export_dir": f"saved_models/{task}",
                **(defaults or {})}
    _apply_defaults(defaults)
    try:
        extra = FLAGS(argv)
        if len(extra) > 1:
            raise flags.Error(f"unexpected arguments {extra[1:]}")
        for name, allowed in (choices or {}).items():
            if FLAGS[name].value not in allowed:
                raise flags.Error(f"--{name} must be one of {', '.join(allowed)} for {task}, "
                                  f"got {FLAGS[name].value!r}")
    except flags.Error as error:
        sys.exit(f"{argv[0]}: {error}\nRun with --helpfull to list the flags.")
    _check_resume(FLAGS.model_dir, flag_values(FLAGS))
    try:
        return task_main(FLAGS)
    except DataError as error:
        sys.exit(f"error: {error}")
