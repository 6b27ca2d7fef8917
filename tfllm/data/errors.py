"""The error raised for bad input data, and the tally of skipped rows."""

import collections


class DataError(ValueError):
    """Bad input: the message names the source, and the line and field if known."""

    def __init__(self, source, message, line=None, field=None):
        where = source if line is None else f"{source}:{line}"
        if field is not None:
            where += f": field {field!r}"
        super().__init__(f"{where}: {message}")
        self.source, self.line, self.field = source, line, field


class RowGuard:
    """Raises on a bad row, or with `skip=True` counts it and moves on.

    Example:

    >>> guard = RowGuard(skip=True)
    >>> guard.reject(DataError("train.tsv", "missing label", line=7))
    >>> guard.skipped
    1
    """

    def __init__(self, skip=False):
        self.skip = skip
        self.reasons = collections.Counter()
        self.first_errors = []

    @property
    def skipped(self):
        return sum(self.reasons.values())

    def reject(self, error):
        if not self.skip:
            raise error
        self.reasons[error.source] += 1
        if len(self.first_errors) < 5:
            self.first_errors.append(str(error))

    def report(self):
        """JSON-ready summary for the run card."""
        return {"skipped_rows": self.skipped, "by_source": dict(self.reasons),
                "examples": self.first_errors}
