"""Runs a task's main function from a command line, with task defaults.

Example, in `tasks/sentiment.py`:

>>> def main(argv=None):
...     return cli.run(train_and_export, "sentiment", {"epochs": 5}, argv)
"""

import sys

from absl import flags

from tfllm.data.errors import DataError
from tfllm.flags import FLAGS

# Defaults as defined, before any task changed them, so that one task's
# defaults never leak into the next run in the same process.
_DEFINED_DEFAULTS = {}


def _apply_defaults(defaults):
    for name, value in _DEFINED_DEFAULTS.items():
        FLAGS.set_default(name, value)
    for name, value in defaults.items():
        _DEFINED_DEFAULTS.setdefault(name, FLAGS[name].default)
        FLAGS.set_default(name, value)


def run(task_main, task, defaults=None, argv=None, choices=None):
    """Parses `argv` (default `sys.argv`) and calls `task_main(FLAGS)`.

    Flags not given on the command line take `defaults`, then the shared ones;
    `model_dir` and `export_dir` default to `runs/<task>` and
    `saved_models/<task>`. `choices` maps shared flags to the values this task
    accepts. Bad flags and bad data end the run with a one-line message
    (exit status 1) instead of a traceback.
    """
    argv = list(sys.argv if argv is None else argv)
    FLAGS.unparse_flags()
    defaults = {"model_dir": f"runs/{task}", "export_dir": f"saved_models/{task}", **(defaults or {})}
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
    try:
        return task_main(FLAGS)
    except DataError as error:
        sys.exit(f"error: {error}")
