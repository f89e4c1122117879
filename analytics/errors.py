"""The package's own error types: everything a user can trigger ends in one of these."""

from __future__ import annotations


class AnalyticsError(Exception):
    """Base class of every error this package raises on purpose, with a readable message."""


class DataFileError(AnalyticsError):
    """A whole input file cannot be used (empty, binary, undecodable, missing a column...).

    Attributes
    ----------
    file : str
        The file's name as the user knows it (e.g. ``sessions.csv``).
    problem : str
        What is wrong, in plain words.
    """

    def __init__(self, file: str, problem: str) -> None:
        self.file = file
        self.problem = problem
        super().__init__(f"{file}: {problem}")

    def to_json(self) -> dict[str, str]:
        """The ``{"error": ..., "file": ...}`` object printed by ``--json`` commands."""
        return {"error": str(self), "file": self.file}
