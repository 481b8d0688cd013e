"""受理凭证: the acceptance receipt the front desk prints for an applicant whose application
it accepted (一窗受理) — a one-page PDF in plain layout, no QR code.

It states the tracking number (查询号 to follow the case), the matter, whom it is for (the
resident ID masked as on any printed slip), when it was accepted, the promised completion
date (承诺办结日期: the last working day of the promised limit; none while the clock is paused),
the materials received and the department that accepted it. Only a clerk of the accepting
task's department and region gets it (anyone else: not found), and only once accepted.
"""
from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import datetime, timedelta

from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfgen.canvas import Canvas
from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.access import task_of_clerk
from engine.errors import Conflict
from engine.oversight.deadlines import LOCAL, local_day
from engine.oversight.privacy import mask_as
from engine.people.organisation import department_name
from engine.people.subjects import SubjectKind
from engine.store.models import Matter, TaskStatus, Upload, User, as_utc
from engine.store.registries import CompanyRecord, RegistryPerson
from forms.personal import PersonalKind

ACCEPTED = "accept"  # the intake form's outcome that accepts the application (forms/tasks/intake.form.json)
CHINESE_FONT = "STSong-Light"  # reportlab's built-in CID font: no font file needed
LATIN_FONT = "Helvetica"  # the tracking number is drawn in it, so the PDF's text holds it as written
PAUSED = "计时暂停中（补正材料后重新计算）"


@dataclass(frozen=True)
class Receipt:
    tracking_no: str
    matter_name: str
    applicant_name: str
    applicant_id: str  # masked resident ID, or a company's credit code
    accepted_at: datetime
    promised_by: str  # the promised completion date, or why there is none yet
    materials: list[str]
    department_name: str
    accepted_by: str


def acceptance_receipt(session: Session, user: User, task_id: int) -> Receipt:
    """The receipt of an accepted intake task of the clerk's department; NotFound for anyone
    else's task, Conflict for a task not (yet) completed as accepted."""
    task = task_of_clerk(session, user, task_id)
    if task.status != TaskStatus.COMPLETED or (task.result or {}).get("outcome") != ACCEPTED:
        raise Conflict(f"该申请尚未受理，没有受理凭证 (task {task_id} has not accepted its application)")
    application = task.application
    matter = session.get(Matter, application.matter_code)
    name, shown_id = _subject(session, application)
    accepted_by = session.get(User, task.completed_by) if task.completed_by else None
    return Receipt(
        tracking_no=application.tracking_no, matter_name=matter.name, applicant_name=name, applicant_id=shown_id,
        accepted_at=as_utc(task.completed_at), promised_by=_promised_by(application.due_at),
        materials=_materials(session, application), department_name=department_name(task.department),
        accepted_by=(accepted_by.display_name or accepted_by.username) if accepted_by else "")


def _subject(session: Session, application) -> tuple[str, str]:
    """Whom it is for: the registry's name and the identifier as printed (an ID masked)."""
    applicant = session.get(User, application.applicant_id)
    fallback = applicant.full_name or applicant.display_name or applicant.username
    if application.subject_kind == SubjectKind.COMPANY:
        company = session.get(CompanyRecord, application.subject_id)
        return (company.name if company else fallback), application.subject_id
    if application.subject_kind == SubjectKind.PERSON:
        person = session.get(RegistryPerson, application.subject_id)
        return (person.name if person else fallback), mask_as(PersonalKind.RESIDENT_ID, application.subject_id)
    return fallback, mask_as(PersonalKind.RESIDENT_ID, applicant.resident_id or "")


def _promised_by(due_at: datetime | None) -> str:
    """The last day of the promised limit (``due_at`` is the first moment after it)."""
    if due_at is None:
        return PAUSED
    last = local_day(as_utc(due_at) - timedelta(seconds=1))
    return f"{last.year}年{last.month}月{last.day}日"


def _materials(session: Session, application) -> list[str]:
    """What the window holds: the matter's materials every applicant hands in, those handed in
    later (补正), and the files uploaded with the application."""
    listed = [m["name"] for m in application.definition.policy.get("materials", []) if not m.get("when")]
    handed_in = (application.materials or {}).get("handed_in", [])
    files = session.scalars(select(Upload.name).where(Upload.application_id == application.id).order_by(Upload.id))
    names = [*listed, *(n for n in handed_in if n not in listed), *(f"{name}（电子文件）" for name in files)]
    return names or ["（无）"]


def receipt_pdf(receipt: Receipt) -> bytes:
    """The receipt as a one-page A4 PDF (reportlab, the built-in Chinese CID font)."""
    pdfmetrics.registerFont(UnicodeCIDFont(CHINESE_FONT))  # idempotent: registered by name
    out = io.BytesIO()
    canvas = Canvas(out, pagesize=A4, pageCompression=0)  # uncompressed: the text can be read back as written
    canvas.setTitle(f"受理凭证 {receipt.tracking_no}")
    canvas.setSubject(receipt.tracking_no)
    canvas.setAuthor(receipt.department_name)
    width, height = A4
    left, y = 25 * mm, height - 30 * mm
    canvas.setFont(CHINESE_FONT, 20)
    canvas.drawCentredString(width / 2, y, "受 理 凭 证")
    y -= 16 * mm
    accepted = receipt.accepted_at.astimezone(LOCAL)
    lines = [
        ("事项名称", receipt.matter_name),
        ("申请人", receipt.applicant_name),
        ("证件号码", receipt.applicant_id),
        ("受理时间", f"{accepted.year}年{accepted.month}月{accepted.day}日 {accepted:%H:%M}"),
        ("承诺办结日期", receipt.promised_by),
        ("受理部门", receipt.department_name),
        ("经办人", receipt.accepted_by),
    ]
    canvas.setFont(CHINESE_FONT, 12)
    canvas.drawString(left, y, "办件编号：")
    canvas.setFont(LATIN_FONT, 12)
    canvas.drawString(left + 30 * mm, y, receipt.tracking_no)
    y -= 9 * mm
    for label, value in lines:
        canvas.setFont(CHINESE_FONT, 12)
        canvas.drawString(left, y, f"{label}：")
        canvas.drawString(left + 30 * mm, y, value)
        y -= 9 * mm
    canvas.drawString(left, y, "收取材料：")
    for index, name in enumerate(receipt.materials, start=1):
        canvas.drawString(left + 30 * mm, y, f"{index}. {name}")
        y -= 7 * mm
    y -= 6 * mm
    canvas.setFont(CHINESE_FONT, 10)
    for note in ("凭办件编号可在网上办事大厅或本窗口查询办理进度。",
                 "承诺办结日期按工作日计算；补正材料、特别程序期间暂停计时。"):
        canvas.drawString(left, y, note)
        y -= 6 * mm
    canvas.showPage()
    canvas.save()
    return out.getvalue()
