"""From a command line to a task's flags: help, parsing, checks before any work.

`parse(task_class, argv)` defines the task's flags into a fresh
`absl.flags.FlagValues` (see `tfllm.flags`), prints help for `-h`,
`--help`, `--helpshort` or `--helpfull`, and stops with a one-line message
(exit status 1) on an unknown flag, a shared flag this task does not read, a
value out of range, an export version that already exists, or a `model_dir`
holding a killed run started with other flags.

Example:

>>> flags = parse(Sentiment, ["sentiment", "--epochs=2"])
>>> flags.epochs, flags.model_dir
(2, 'runs/sentiment')
"""

import json
import os
import sys

from absl import flags

from tfllm import flags as tfllm_flags
from tfllm.atomic_files import write_json_atomically
from tfllm.data.curriculum import Curriculum
from tfllm.training.loop import saved_progress

HELP = ("-h", "-?", "--help", "--helpshort", "--helpfull")

# Flags that change where results go or how fast they come, not what is
# computed: a killed run may resume with other values of these (say, on a
# machine with more devices).
_FREE_ON_RESUME = {"model_dir", "export_dir", "export_version", "tf_logs", "strategy", "tpu",
                   "jit", "steps_per_execution", "profile_steps"}


def define_task_flags(task_class):
    """A fresh `FlagValues` holding every flag `task_class` reads."""
    values = flags.FlagValues()
    defaults = {"model_dir": f"runs/{task_class.name}",
                "export_dir": f"saved_models/{task_class.name}", **task_class.defaults}
    monitors = ["val_loss", "loss"] + [prefix + name for name in task_class.metrics
                                       for prefix in ("val_", "")]
    choices = {"monitor": monitors, **task_class.choices}
    tfllm_flags.define(values, task_class.name, own=task_class.own_flags,
                       shared=task_class.shared_flags, defaults=defaults, choices=choices)
    return values


def help_text(task_class, values):
    """The task module's docstring, then its flags and the shared flags it reads, by group."""
    lines = [(sys.modules[task_class.__module__].__doc__ or task_class.name).strip(), ""]
    by_module = values.flags_by_module_dict()
    own = f"{task_class.name} flags"
    for module in [own] + list(tfllm_flags.GROUP_TITLES.values()):
        if module in by_module:
            lines.append(values.module_help(module))
            lines.append("")
    return "\n".join(lines).rstrip() + "\n"


def _fail(program, message):
    sys.exit(f"{program}: {message}\nRun with --helpfull to list the flags.")


def parse(task_class, argv=None):
    """The parsed flags of `task_class` from `argv` (default `sys.argv`)."""
    argv = list(sys.argv if argv is None else argv)
    program = task_class.name
    values = define_task_flags(task_class)
    if any(arg in HELP for arg in argv[1:]):
        print(help_text(task_class, values), end="")
        sys.exit(0)
    try:
        extra = values(argv)
    except flags.UnrecognizedFlagError as error:
        if error.flagname in tfllm_flags.SHARED:
            _fail(program, f"--{error.flagname} is not read by the {task_class.name} task; "
                           "drop it")
        _fail(program, error)
    except flags.Error as error:
        _fail(program, error)
    if len(extra) > 1:
        _fail(program, f"unexpected arguments {extra[1:]}")
    problem = task_class.check_flags(values) or (
        Curriculum.check_flags(values) if "curriculum" in values else None)
    if problem:
        _fail(program, problem)
    _check_export_version(values)
    if values.profile_steps is not None:
        _check_profile_steps(program, values.profile_steps)
    check_resume(values.model_dir, tfllm_flags.values(values))
    return values


def _check_profile_steps(program, steps):
    numbers = [int(step) for step in steps if step.strip().isdigit()]
    if len(steps) != 2 or len(numbers) != 2 or not 1 <= numbers[0] <= numbers[1]:
        _fail(program, f"--profile_steps={','.join(steps)}: give FIRST,LAST, two step numbers "
                       "with 1 <= FIRST <= LAST (say 20,30)")


def _check_export_version(values):
    if values.export_version is None:
        return
    path = os.path.join(values.export_dir, str(values.export_version))
    if os.path.exists(path):
        sys.exit(f"error: {path} already exists; pass another --export_version, or none to "
                 "take the next one.")


def check_resume(model_dir, values):
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
        names = sorted(set(values) | set(before))
        changed = [f"--{name} was {before.get(name, '(not set)')!r}, now "
                   f"{values.get(name, '(not set)')!r}"
                   for name in names
                   if name not in _FREE_ON_RESUME and before.get(name) != values.get(name)]
        if changed:
            sys.exit(f"error: {model_dir} holds an unfinished run ({', '.join(progress)}) "
                     f"started with other flags: {'; '.join(changed)}. Run with the same flags "
                     f"to resume it, or delete {model_dir} (or pass another --model_dir) to "
                     "start afresh.")
        return
    write_json_atomically(path, values)
