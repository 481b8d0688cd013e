"""Domain errors of the engine.

Each class is one thing that can go wrong for a caller; ``api/problems.py`` maps them
to RFC 9457 problem responses in one place, so nothing below the API knows HTTP.
"""
from __future__ import annotations


class OneWindowError(Exception):
    """Base of every error a caller may see."""

    title = "Error"

    def __init__(self, detail: str, **extra: object) -> None:
        super().__init__(detail)
        self.detail = detail
        self.extra = extra


class NotFound(OneWindowError):
    title = "Not found"


class Forbidden(OneWindowError):
    title = "Forbidden"


class Unauthenticated(OneWindowError):
    title = "Authentication required"


class Conflict(OneWindowError):
    """Someone else changed the thing first (optimistic lock, task already taken)."""

    title = "Conflict"


class InvalidInput(OneWindowError):
    """Submitted data failed validation; ``errors`` maps each field to its messages."""

    title = "Invalid input"

    def __init__(self, detail: str, errors: dict[str, list[str]]) -> None:
        super().__init__(detail, errors=errors)
        self.errors = errors


class DeploymentRefused(OneWindowError):
    """An uploaded definition (BPMN, DMN, rule set, form) is unsafe or malformed."""

    title = "Deployment refused"

    def __init__(self, detail: str, problems: list[dict[str, str]]) -> None:
        super().__init__(detail, problems=problems)
        self.problems = problems


class SourceUnavailable(OneWindowError):
    """A data-sharing source did not answer in time; decisions turn to ``manual``."""

    title = "Data source unavailable"


class ServiceUnavailable(OneWindowError):
    """The database (or another backing service) cannot be reached right now."""

    title = "Service unavailable"
