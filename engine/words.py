"""The words a person reads for the engine's states, in plain Chinese: one table each, for
every page and every client (the API answers them beside the codes, as ``*_label``), so no
page keeps its own copy — and a decision's facts as staff read them (``facts_of``). Event
kinds keep their words beside them (engine/events.py)."""
from __future__ import annotations

from engine.explanation import DecidedBy
from engine.people.assignment import APPLICANT_LANE
from engine.oversight.deadlines import Colour
from engine.running.compiled import compiled
from engine.store.models import Application, ApplicationStatus, Outcome, TaskStatus

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


SOURCE = {  # 数据共享: where a fact was read (engine/sources, the rule sets' ``source:``)
    "form": "申请表",
    "population_registry": "人口库",
    "death_records": "死亡登记信息",
    "property_registry": "不动产登记信息",
    "subsidy_register": "补贴发放名册",
    "credit_registry": "公共信用信息",
    "debtor_list": "失信被执行人名单",
    "licence_library": "电子证照库",
}
READING = {  # how reading a fact went (rules/decision.py FACT_STATUSES)
    "ok": "已核验",
    "no_record": "无记录",
    "unavailable": "暂时无法查询",
    "invalid": "数据有误",
}


LANE = {  # a process's lanes, as the engine reads them (engine/people/assignment.py), besides departments
    APPLICANT_LANE: "申请人",
    "system": "系统自动办理",
    # MATTER_DEPARTMENT_LANE ("department") is the matter's own department: named by it
}
SYSTEM_ACTOR = {  # who did it, when no person did (an event's actor); people are named by their account
    "engine": "系统",
    "worker": "系统",
    "system": "系统",
    "proactive": "免申即享",
    "supervision": "电子监察",
}


def words(table: dict, code: str | None) -> str | None:
    """The words for ``code`` in ``table`` (a code it does not know stays as it is)."""
    return None if code is None else table.get(code, code)


def facts_of(application: Application) -> list[dict]:
    """The facts the rule set judged, as staff read them (the technical side of a decision):
    each with its name in the rule set (``label``), its value, where it was read and how the
    reading went, in words."""
    stored = (application.decision or {}).get("facts", {})
    ruleset = compiled(application.definition).ruleset if stored else None
    specs = ruleset.facts if ruleset is not None else {}
    return [{"name": name, "label": specs[name].label if name in specs else name, "value": fact.get("value"),
             "source": fact.get("source"), "source_label": words(SOURCE, fact.get("source")),
             "status": fact.get("status", "ok"), "status_label": words(READING, fact.get("status", "ok")),
             "read_at": fact.get("read_at")}
            for name, fact in stored.items()]
