"""Domain errors of the engine.

Each class is one thing that can go wrong for a caller; ``api/problems.py`` maps them
to RFC 9457 problem responses in one place, so nothing below the API knows HTTP.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable


@dataclass(frozen=True)
class Problem:
    """One reason an upload is refused (or a lint warning): where — file, element (a BPMN/DMN
    element id, a rule id, a form field, a policy key) and line — and why. Every deploy-time
    check returns these; the API shows each as ``{"file", "element_id", "line"?, "reason"}``."""

    file: str
    element: str = ""
    line: int | None = None
    reason: str = ""

    def as_dict(self) -> dict[str, str]:
        shown = {"file": self.file, "element_id": self.element, "reason": self.reason}
        return {**shown, "line": str(self.line)} if self.line else shown


def as_dicts(problems: Iterable[Problem]) -> list[dict[str, str]]:
    return [problem.as_dict() for problem in problems]


def rule_problems(filename: str, problems: Iterable) -> list[Problem]:
    """A rule set's or DMN table's problems (rules/ruleset.py ``RuleProblem``), each at its rule id."""
    return [Problem(filename, p.rule_id or "", None, p.message) for p in problems]


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


class SubjectRefused(Forbidden):
    """The caller may not apply for that person or company (engine/people/subjects.py); ``rule``
    names the rule that failed."""

    title = "Not allowed to apply for this subject"

    def __init__(self, detail: str, rule: str) -> None:
        super().__init__(detail, rule=rule)
        self.rule = rule


class AuthorisationRefused(SubjectRefused):
    """The caller may not act for that person (授权代办): no authorisation, or it fails a rule."""

    title = "Not authorised to act for this person"


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

    def __init__(self, detail: str, problems: list[Problem]) -> None:
        super().__init__(detail, problems=as_dicts(problems))
        self.problems = problems


class SourceUnavailable(OneWindowError):
    """A data-sharing source did not answer in time; decisions turn to ``manual``."""

    title = "Data source unavailable"


class ServiceUnavailable(OneWindowError):
    """The database (or another backing service) cannot be reached right now."""

    title = "Service unavailable"


class IdentityNotVerified(InvalidInput):
    """实名认证: the name and resident ID do not match a living person of the population
    registry; ``errors`` names the field and the reason."""

    title = "Identity not verified"


class ResidentAlreadyRegistered(Conflict):
    """One account per resident ID: this person has one already."""

    title = "Already registered"


class UnknownCompany(NotFound):
    """No company of the market-entity registry has this unified social credit code."""

    title = "Unknown company"


class NotLegalRepresentative(Forbidden):
    """Only the company's legal representative may do this (the registry names them)."""

    title = "Not the legal representative"


class CompanyRoleHeld(Conflict):
    """The person already has an active role for the company."""

    title = "Company role already held"


class MatterExists(Conflict):
    """A new matter's code is already in the catalogue (engine/authoring/matters.py)."""

    title = "Matter exists"


class NotAuthored(Conflict):
    """The matter was not made from a template (its guide is the catalogue file's), or was
    made from another one than asked (engine/authoring/matters.py)."""

    title = "Not a matter made from this template"


class UploadRefused(InvalidInput):
    """An uploaded file is not taken (engine/uploads/): not a PDF, JPEG, PNG or OFD by its
    bytes, found infected, or one too many; ``errors`` names the field (``file``)."""

    title = "Upload refused"


class UploadTooLarge(OneWindowError):
    """An uploaded file is larger than ONEWINDOW_UPLOAD_MAX_BYTES."""

    title = "Upload too large"


class UploadNotUsable(InvalidInput):
    """A material names an upload (``upload:<id>``) that is not there, not the caller's (or
    their principal's), not clean, or part of another application; ``errors`` names the
    field, e.g. ``materials.0.reference``."""

    title = "Upload not usable"
