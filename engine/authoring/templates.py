"""Templates (模板): the four shapes most matters take, turned into a deployable matter.

A template is a BPMN skeleton (processes/templates/*.bpmn, drawn: it opens in bpmn-js as
laid out) plus a rule set and a form made here from the guide (engine/authoring/guide.py):

- 秒批 ``instant``: the rules decide at once from the data-sharing sources — approve, or
  refuse with the unmet criterion's message; a fact that cannot be verified goes to a clerk.
- 智能审批 ``data_comparison``: what the applicant states is compared with a source (the name
  with the population registry, the owner with the property registry); everything matching
  is approved at once, a mismatch goes to the department's clerk.
- 告知承诺 ``commitment``: approved at once on the applicant's commitment; N working days
  later a verification task reaches the department, and a false commitment revokes it.
- 综合窗口 ``window``: front desk intake, the department's review, delivery (出件).

``files_for(template, guide)`` gives the DefinitionUpload (BPMN, rule set, form, and the
policy: the matter's catalogue keys) that deploy checks and stores like any other.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from enum import StrEnum
from string import Template as Placeholders
from typing import TYPE_CHECKING
from xml.sax.saxutils import escape

import yaml

from engine.authoring.criteria import FACTS, ComparisonKind, all_of
from engine.config import REPO_ROOT
from engine.definitions.versions import DefinitionUpload
from engine.people.organisation import department_name
from engine.store.models import DEFAULT_REGION

if TYPE_CHECKING:
    from engine.authoring.guide import Guide

TEMPLATES_DIR = REPO_ROOT / "processes" / "templates"
COMMITMENT_METHODS = ["document", "online", "site_visit"]  # 书面核查, 网上核查, 现场核查


class Template(StrEnum):
    INSTANT = "instant"
    DATA_COMPARISON = "data_comparison"
    COMMITMENT = "commitment"
    WINDOW = "window"

    @property
    def about(self) -> TemplateInfo:
        return ABOUT[self]

    @classmethod
    def named(cls, text: str) -> Template | None:
        """The template a value or a Chinese title names (``instant``, ``秒批``), else None."""
        text = text.strip()
        return next((t for t in cls if text in (t.value, t.about.title)), None)


@dataclass(frozen=True)
class TemplateInfo:
    title: str  # 秒批…
    description: str
    bpmn: str  # the skeleton in processes/templates/
    process_name: str
    names: dict  # the skeleton's other placeholders
    handling_depth: str  # 办理深度, set by the template
    handling_form: str  # 办理形式 unless the guide says
    trips: int  # 到办事现场次数 unless the guide says
    intro: str  # the form's opening text


ABOUT: dict[Template, TemplateInfo] = {
    Template.INSTANT: TemplateInfo(
        "秒批", "规则依据数据共享信息即时审批：符合全部秒批条件的当场办结，不符合的告知原因；"
                "无法核验的转部门人工审核。",
        "decide_then_review.bpmn", "秒批（规则即时审批）",
        {"decide_name": "规则审查（秒批）", "review_name": "人工审核（无法核验时）"},
        "全程网办（秒批）", "网上办理", 0,
        "# 在线申请（秒批）\n\n提交后系统依据数据共享信息即时审批，姓名由人口库自动填写。"),
    Template.DATA_COMPARISON: TemplateInfo(
        "智能审批", "将申请人填写的信息与数据共享来源比对（如姓名与人口库）：比对一致的即时办结，"
                  "不一致或无法核验的转部门人工审核。",
        "decide_then_review.bpmn", "智能审批（数据比对）",
        {"decide_name": "数据比对", "review_name": "人工核对（比对不一致）"},
        "全程网办（智能审批）", "网上办理", 0,
        "# 在线申请（智能审批）\n\n系统将所填信息与共享数据比对：一致的即时办结，不一致的转工作人员审核。"),
    Template.COMMITMENT: TemplateInfo(
        "告知承诺", "申请人承诺符合条件的当场办理，部门在规定的工作日内核查；承诺不实的撤销办理结果。"
                  "不作承诺的按一般程序由部门审查。",
        "commitment.bpmn", "告知承诺（当场办理、事后核查）", {},
        "全程网办（告知承诺，事后核查）", "网上办理", 0,
        "# 在线申请（告知承诺）\n\n承诺符合办理条件的当场办理，部门将在规定时限内核查；承诺不实的撤销办理结果。"),
    Template.WINDOW: TemplateInfo(
        "综合窗口", "综合窗口前台受理（所缺材料一次性告知），部门后台审核，窗口统一出件。",
        "window.bpmn", "综合窗口（前台受理、后台审批、统一出件）", {},
        "综合窗口受理（前台受理、后台审批、统一出件）", "窗口办理", 1,
        "# 申请\n\n可在综合窗口或网上提交；所缺材料由窗口一次性告知。"),
}


def files_for(template: Template, guide: Guide) -> DefinitionUpload:
    """The BPMN, rule set and form of a new matter made from ``template``, with its policy."""
    code = guide.code
    return DefinitionUpload(
        matter_code=code, bpmn=bpmn_for(template, code), ruleset=ruleset_for(template, guide),
        form=form_for(template, guide), bpmn_name=f"{code}.bpmn", ruleset_name=f"{code}.yaml",
        form_name=f"{code}.form.json", policy=policy_for(template, guide))


def bpmn_for(template: Template, process_id: str) -> str:
    about = template.about
    skeleton = Placeholders((TEMPLATES_DIR / about.bpmn).read_text(encoding="utf-8"))
    names = {"process_id": process_id, "process_name": about.process_name, **about.names}
    return skeleton.substitute({key: escape(value, {'"': "&quot;"}) for key, value in names.items()})


def policy_for(template: Template, guide: Guide) -> dict:
    """The matter's catalogue keys (engine/definitions/policy.py), versioned with its files."""
    about = template.about
    policy = {
        "code": guide.code, "name": guide.name, "type": guide.type, "legal_basis": guide.legal_basis,
        "department": guide.department, "department_name": department_name(guide.department),
        "region": guide.region or DEFAULT_REGION,
        "conditions": list(guide.conditions), "materials": [m.as_policy() for m in guide.materials],
        "legal_days": guide.legal_days, "promised_days": guide.promised_days, "fee": guide.fee,
        "handling_depth": about.handling_depth,
        "handling_form": guide.handling_form or about.handling_form,
        "trips": about.trips if guide.trips is None else guide.trips,
        "subject": _subject(template), "template": template.value,
    }
    optional = {"national_code": guide.national_code, "implementation_code": guide.implementation_code,
                "result_name": guide.result_name}
    policy.update({key: value for key, value in optional.items() if value})
    policy.update({key: list(words) for key, words in (("aliases", guide.aliases), ("keywords", guide.keywords))
                   if words})
    if template is Template.COMMITMENT:
        policy["commitment"] = {"verify_within_working_days": guide.verify_within_days,
                                "methods": list(COMMITMENT_METHODS)}
    return policy


# The policy keys policy_for writes: editing a guide replaces these, and keeps any other.
POLICY_KEYS = frozenset({"code", "name", "type", "legal_basis", "department", "department_name", "region",
                         "conditions", "materials", "legal_days", "promised_days", "fee", "handling_depth",
                         "handling_form", "trips", "subject", "template", "national_code", "implementation_code",
                         "result_name", "commitment", "aliases", "keywords"})


def _subject(template: Template) -> list[dict]:
    """Whom the application is for (engine/people/subjects.py): the caller or who authorised
    them. 秒批 fills and checks the name from the registry; 智能审批 compares the name the
    applicant typed instead, so it is not filled; the others offer it (秒填)."""
    if template is Template.INSTANT:
        return [{"person": "id_number", "fields": {"applicant_name": "name"}}]
    if template is Template.DATA_COMPARISON:
        return [{"person": "id_number"}]
    return [{"person": "id_number", "fill": {"applicant_name": "name"}}]


# --- rule sets ---------------------------------------------------------------------------

def ruleset_for(template: Template, guide: Guide) -> str:
    rules = {Template.INSTANT: _instant_rules, Template.DATA_COMPARISON: _comparison_rules,
             Template.COMMITMENT: _commitment_rules, Template.WINDOW: _window_rules}[template](guide)
    facts = sorted({fact for rule in rules for fact in _facts_of(rule["when"])})
    document = {"matter": guide.code, "default": "manual", "facts": {name: FACTS[name] for name in facts},
                "rules": rules}
    header = (f"# 由模板「{template.about.title}」生成 (engine/authoring/templates.py)；部署后可在规则编辑器中修改。\n"
              "# 规则未能决定的（包括无法核验的事实）转人工审核，不会据此拒绝。\n")
    return header + yaml.safe_dump(document, allow_unicode=True, sort_keys=False, width=120, default_flow_style=None)


def _instant_rules(guide: Guide) -> list[dict]:
    criteria = list(guide.criteria)
    eligible = {"id": "eligible", "when": all_of([c.met for c in criteria]), "outcome": "approve",
                "message": "符合全部办理条件，准予办理"}
    return [c.rule() for c in criteria] + [eligible]


def _comparison_rules(guide: Guide) -> list[dict]:
    comparisons = list(guide.comparisons)
    matched = {"id": "matches", "when": all_of([c for kind in comparisons for c in kind.matched]),
               "outcome": "approve", "message": "申请信息与登记信息比对一致，准予办理"}
    return [rule for kind in comparisons for rule in kind.rules()] + [matched]


def _commitment_rules(guide: Guide) -> list[dict]:
    return [{"id": "committed", "when": {"commitment": {"eq": "signed"}}, "outcome": "approve",
             "message": "申请人已承诺符合办理条件，当场办理（告知承诺）"},
            {"id": "not_committed", "when": {"commitment": {"eq": "declined"}}, "outcome": "manual",
             "message": "申请人未选择告知承诺，按一般程序审查"}]


def _window_rules(guide: Guide) -> list[dict]:
    return [{"id": "identity_checked", "when": {"name_matches": {"eq": True}}, "outcome": "approve",
             "message": "预审：申请人姓名与人口库登记一致"},
            {"id": "identity_mismatch", "when": {"name_matches": {"eq": False}}, "outcome": "manual",
             "message": "预审：申请人姓名与人口库登记不一致，请核对"}]


def _facts_of(condition: dict) -> set[str]:
    names = set()
    for key, value in condition.items():
        names |= {n for item in value for n in _facts_of(item)} if key in ("all", "any") else {key}
    return names



# --- forms -------------------------------------------------------------------------------

def form_for(template: Template, guide: Guide) -> str:
    components = [
        {"type": "text", "id": "Text_intro", "text": template.about.intro},
        {"type": "textfield", "id": "Field_applicant_name", "key": "applicant_name", "label": "申请人姓名",
         "validate": {"required": True, "maxLength": 50}, "properties": {"personal": "name"}},
        {"type": "textfield", "id": "Field_id_number", "key": "id_number", "label": "申请人身份证号码",
         "description": "18位居民身份证号码", "validate": {"required": True}, "properties": {"format": "resident_id"}},
        {"type": "textfield", "id": "Field_phone", "key": "phone", "label": "联系电话", "description": "11位手机号码",
         "validate": {"required": True}, "properties": {"format": "phone"}},
        *_template_fields(template, guide),
    ]
    form = {"type": "default", "id": guide.code, "schemaVersion": 16,
            "exporter": {"name": "OneWindow authoring", "version": "1"}, "components": components}
    return json.dumps(form, ensure_ascii=False, indent=2) + "\n"


def _template_fields(template: Template, guide: Guide) -> list[dict]:
    if template is Template.DATA_COMPARISON and ComparisonKind.PROPERTY_OWNER in guide.comparisons:
        return [{"type": "textfield", "id": "Field_property_cert_no", "key": "property_cert_no", "label": "不动产权证书号",
                 "validate": {"required": True, "maxLength": 40}}]
    if template is Template.COMMITMENT:
        return [{"type": "radio", "id": "Field_commitment", "key": "commitment", "label": "办理方式",
                 "validate": {"required": True},
                 "values": [{"label": "告知承诺：本人承诺符合办理条件，所填信息真实有效", "value": "signed"},
                            {"label": "一般程序：不作承诺，由部门审查", "value": "declined"}]}]
    if template is Template.WINDOW:
        return [{"type": "radio", "id": "Field_delivery_method", "key": "delivery_method", "label": "结果领取方式",
                 "validate": {"required": True},
                 "values": [{"label": "窗口领取", "value": "pickup"}, {"label": "邮寄送达", "value": "mail"}]},
                {"type": "textfield", "id": "Field_mail_address", "key": "mail_address",
                 "label": "邮寄地址（选择邮寄时填写）", "validate": {"maxLength": 300}, "properties": {"personal": "address"}}]
    return []
