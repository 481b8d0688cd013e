"""The words a person reads for the engine's states, in plain Chinese: one table each, for
every page and every client (the API answers them beside the codes, as ``*_label``), so no
page keeps its own copy. Event kinds keep their words beside them (engine/events.py)."""
from __future__ import annotations

from engine.explanation import DecidedBy
from engine.oversight.deadlines import Colour
from engine.store.models import ApplicationStatus, Outcome, TaskStatus

APPLICATION_STATUS = {
    ApplicationStatus.RUNNING: "处理中",
    ApplicationStatus.WAITING: "办理中",
    ApplicationStatus.COMPLETED: "已办结",
    ApplicationStatus.FAILED: "转人工处理",
}
OUTCOME = {
    Outcome.APPROVE: "准予",
    Outcome.REJECT: "不予批准",
    Outcome.REVOKED: "已撤销",
    Outcome.PARTIAL: "部分准予",
    Outcome.WITHDRAWN: "已撤回",
}
TASK_STATUS = {
    TaskStatus.OPEN: "待认领",
    TaskStatus.CLAIMED: "已认领",
    TaskStatus.COMPLETED: "已办结",
    TaskStatus.CANCELLED: "已撤回",
}
STEP_STATUS = {  # the same tasks as the applicant sees them, as steps of their case
    TaskStatus.OPEN: "待办理",
    TaskStatus.CLAIMED: "办理中",
    TaskStatus.COMPLETED: "已完成",
    TaskStatus.CANCELLED: "已取消",
}
COLOUR = {  # 电子监察: the deadline's colour, never the only sign on a page
    Colour.GREEN: "正常",
    Colour.YELLOW: "临近到期",
    Colour.RED: "已超期",
}
DECIDED_BY = {
    DecidedBy.RULES: "规则自动判断",
    DecidedBy.CLERK: "工作人员审核",
    DecidedBy.CREDIT: "信用核查",
    DecidedBy.HOLDING: "重复办理核查",
    DecidedBy.SYSTEM: "系统处理",
}


def words(table: dict, code: str | None) -> str | None:
    """The words for ``code`` in ``table`` (a code it does not know stays as it is)."""
    return None if code is None else table.get(code, code)
