"""The audit log's vocabulary (电子监察): every kind of event the engine appends, and the
one way to append one.

People's own account changes keep their enums beside the rules that make them
(``AccountEvent``, ``IdentityEvent``, ``CompanyRoleEvent``, ``AuthorisationEvent``); every
other event — an application's life, its tasks, deadlines, incidents, ratings — is named
here. ``event.kind`` holds up to 40 characters.
"""
from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy.orm import Session

from engine.store.models import Application, Event


class EventKind(StrEnum):
    SUBMITTED = "application.submitted"
    DECIDED = "application.decided"
    STEPS = "steps"  # the BPMN elements one run passed, one row per run
    WORK_DEFERRED = "work.deferred"
    TASK_CREATED = "task.created"
    TASK_CLAIMED = "task.claimed"
    TASK_RELEASED = "task.released"
    TASK_DELEGATED = "task.delegated"
    TASK_COMPLETED = "task.completed"
    TASK_FIRST_APPROVAL = "task.first_approval"
    TASK_SENT_BACK = "task.sent_back"
    CLOCK_PAUSED = "clock.paused"
    CLOCK_RESUMED = "clock.resumed"
    CREDIT_CHECKED = "credit.checked"
    CREDIT_FAST_LANE = "credit.fast_lane"
    CREDIT_LOWERED = "credit.lowered"
    MATERIALS_FETCHED = "materials.fetched"
    INCIDENT_OPENED = "incident.opened"
    INCIDENT_RETRIED = "incident.retried"
    INCIDENT_VERSION_KEPT = "incident.version_kept"
    DEFINITION_DEPLOYED = "definition.deployed"
    NOTIFICATION_QUEUED = "notification.queued"
    SUPERVISION_ALERT = "supervision.alert"
    RATING = "rating"
    RECTIFICATION_OPENED = "rectification.opened"
    RECTIFICATION_RESOLVED = "rectification.resolved"
    PERSONAL_DATA_VIEWED = "personal_data.viewed"
    BUNDLE_MEMBER_STARTED = "bundle.member_started"  # 一件事: a member application started
    BUNDLE_MEMBER_NOT_STARTED = "bundle.member_not_started"  # … could not start (its form, its subject)
    BUNDLE_MEMBER_ANSWERED = "bundle.member_answered"  # a member step completed with the member's answer
    BUNDLE_STOPPED = "bundle.stopped"  # a refusal stopped the rest (on_refusal: stop)
    MEMBER_WITHDRAWN = "application.withdrawn"  # a member stopped by its bundle
    LOGIN = "login"
    LOGIN_FAILED = "login.failed"


# What a person reads for each kind (an application's history in the pages): plain Chinese.
# Kinds named beside their rules add their words where they are named (engine/uploads/receiving.py).
LABELS: dict[StrEnum, str] = {
    EventKind.SUBMITTED: "提交申请",
    EventKind.DECIDED: "作出办理决定",
    EventKind.STEPS: "办理流程推进",
    EventKind.WORK_DEFERRED: "等待数据共享结果",
    EventKind.TASK_CREATED: "进入办理环节",
    EventKind.TASK_CLAIMED: "工作人员开始办理",
    EventKind.TASK_RELEASED: "转回部门待办",
    EventKind.TASK_DELEGATED: "转交其他工作人员办理",
    EventKind.TASK_COMPLETED: "完成一个办理环节",
    EventKind.TASK_FIRST_APPROVAL: "第一位审批人已同意，待第二位审批",
    EventKind.TASK_SENT_BACK: "退回上一环节重新办理",
    EventKind.CLOCK_PAUSED: "暂停计时",
    EventKind.CLOCK_RESUMED: "恢复计时",
    EventKind.CREDIT_CHECKED: "查询信用信息",
    EventKind.CREDIT_FAST_LANE: "信用良好，进入快速通道",
    EventKind.CREDIT_LOWERED: "信用等级调整",
    EventKind.MATERIALS_FETCHED: "从电子证照库调取材料（免提交）",
    EventKind.INCIDENT_OPENED: "系统异常，转人工处理",
    EventKind.INCIDENT_RETRIED: "系统异常已处理，继续办理",
    EventKind.INCIDENT_VERSION_KEPT: "系统异常已处理，按原流程办理",
    EventKind.DEFINITION_DEPLOYED: "事项流程更新",
    EventKind.NOTIFICATION_QUEUED: "发送通知",
    EventKind.SUPERVISION_ALERT: "电子监察提醒",
    EventKind.RATING: "已评价",
    EventKind.RECTIFICATION_OPENED: "差评整改开始",
    EventKind.RECTIFICATION_RESOLVED: "差评整改完成",
    EventKind.PERSONAL_DATA_VIEWED: "工作人员查看了完整个人信息",
    EventKind.BUNDLE_MEMBER_STARTED: "一件事中的事项开始办理",
    EventKind.BUNDLE_MEMBER_NOT_STARTED: "联办事项未能开始",
    EventKind.BUNDLE_MEMBER_ANSWERED: "一件事中的事项已办结",
    EventKind.BUNDLE_STOPPED: "联办终止",
    EventKind.MEMBER_WITHDRAWN: "已撤回",
    EventKind.LOGIN: "登录",
    EventKind.LOGIN_FAILED: "登录失败",
}


def label_of(kind: str) -> str | None:
    """The Chinese words for an event's kind (a StrEnum member equals its string), or None
    for a kind no person reads in a history (accounts' own changes)."""
    return LABELS.get(kind)


def record(session: Session, kind: StrEnum, actor: str, at: datetime | None = None, data: dict | None = None,
           application: Application | None = None, application_id: int | None = None) -> Event:
    """Append one event. ``application`` (an object not yet flushed) lets a new application
    and its first events reach the database in one flush; otherwise ``application_id``."""
    event = Event(kind=str(kind), actor=actor[:64], data=data or {})
    if at is not None:
        event.at = at
    if application is not None:
        event.application = application
    else:
        event.application_id = application_id
    session.add(event)
    return event
