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
    # What a person reads (plain Chinese): the problem's ``message``; ``title`` and ``detail``
    # stay for developers and logs.
    said = "操作未能完成，请稍后再试"

    def __init__(self, detail: str, **extra: object) -> None:
        super().__init__(detail)
        self.detail = detail
        self.extra = extra


class NotFound(OneWindowError):
    title = "Not found"
    said = "未找到，或您无权查看"


class Forbidden(OneWindowError):
    title = "Forbidden"
    said = "没有权限办理此项操作"


class SubjectRefused(Forbidden):
    """The caller may not apply for that person or company (engine/people/subjects.py); ``rule``
    names the rule that failed."""

    title = "Not allowed to apply for this subject"
    said = "您不能为该对象申请此事项"

    def __init__(self, detail: str, rule: str) -> None:
        super().__init__(detail, rule=rule)
        self.rule = rule


class AuthorisationRefused(SubjectRefused):
    """The caller may not act for that person (授权代办): no authorisation, or it fails a rule."""

    title = "Not authorised to act for this person"
    said = "您没有获得该申请人的授权（授权代办）"


class Unauthenticated(OneWindowError):
    title = "Authentication required"
    said = "请先登录"


class Conflict(OneWindowError):
    """Someone else changed the thing first (optimistic lock, task already taken)."""

    title = "Conflict"
    said = "当前状态下不能这样操作，请刷新后再试"


class InvalidInput(OneWindowError):
    """Submitted data failed validation; ``errors`` maps each field to its messages."""

    title = "Invalid input"
    said = "填写的内容有误，请按提示修改"

    def __init__(self, detail: str, errors: dict[str, list[str]]) -> None:
        super().__init__(detail, errors=errors)
        self.errors = errors


class DeploymentRefused(OneWindowError):
    """An uploaded definition (BPMN, DMN, rule set, form) is unsafe or malformed."""

    title = "Deployment refused"
    said = "流程定义未通过检查，未部署"

    def __init__(self, detail: str, problems: list[Problem]) -> None:
        super().__init__(detail, problems=as_dicts(problems))
        self.problems = problems


class SourceUnavailable(OneWindowError):
    """A data-sharing source did not answer in time; decisions turn to ``manual``."""

    title = "Data source unavailable"
    said = "数据共享服务暂时无法连接，请稍后再试"


class ServiceUnavailable(OneWindowError):
    """The database (or another backing service) cannot be reached right now."""

    title = "Service unavailable"
    said = "服务暂时不可用，请稍后再试"


class IdentityNotVerified(InvalidInput):
    """实名认证: the name and resident ID do not match a living person of the population
    registry; ``errors`` names the field and the reason."""

    title = "Identity not verified"
    said = "请先完成实名认证"


class ResidentAlreadyRegistered(Conflict):
    """One account per resident ID: this person has one already."""

    title = "Already registered"
    said = "该身份已注册过账号"


class UnknownCompany(NotFound):
    """No company of the market-entity registry has this unified social credit code."""

    title = "Unknown company"
    said = "没有找到该企业"


class NotLegalRepresentative(Forbidden):
    """Only the company's legal representative may do this (the registry names them)."""

    title = "Not the legal representative"
    said = "您不是该企业的法定代表人"


class CompanyRoleHeld(Conflict):
    """The person already has an active role for the company."""

    title = "Company role already held"
    said = "该企业的这一身份已有人认领"


class MatterExists(Conflict):
    """A new matter's code is already in the catalogue (engine/authoring/matters.py)."""

    title = "Matter exists"
    said = "该事项编码已存在"


class NotAuthored(Conflict):
    """The matter was not made from a template (its guide is the catalogue file's), or was
    made from another one than asked (engine/authoring/matters.py)."""

    title = "Not a matter made from this template"
    said = "该事项不是由此模板创建的"


class UploadRefused(InvalidInput):
    """An uploaded file is not taken (engine/uploads/): not a PDF, JPEG, PNG or OFD by its
    bytes, found infected, or one too many; ``errors`` names the field (``file``)."""

    title = "Upload refused"
    said = "文件未被接收"


class UploadTooLarge(OneWindowError):
    """An uploaded file is larger than ONEWINDOW_UPLOAD_MAX_BYTES."""

    title = "Upload too large"
    said = "文件过大，请压缩或分开上传"


class UploadNotUsable(InvalidInput):
    """A material names an upload (``upload:<id>``) that is not there, not the caller's (or
    their principal's), not clean, or part of another application; ``errors`` names the
    field, e.g. ``materials.0.reference``."""

    title = "Upload not usable"
    said = "上传的材料不能使用"
