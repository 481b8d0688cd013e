"""The guide (办事指南) an analyst fills in to make a matter from a template: the catalogue's
standard elements (code, name, type, legal basis, department, time limits, materials,
conditions, fee…) and what the template needs (秒批 criteria, 智能审批 comparisons, the
告知承诺 verification limit).

``read_guide`` checks all of it at once and refuses with every field's problem in Chinese
(``InvalidInput``: field -> messages, 422 at the API), so nothing reaches deploy that an
analyst could have been told about. The guide becomes the matter's policy (catalogue keys)
in engine/authoring/templates.py.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Mapping

from engine.authoring.criteria import ComparisonKind, Criterion, CriterionKind
from engine.authoring.templates import Template
from engine.errors import InvalidInput
from engine.people.organisation import read_departments, read_regions

CODE = re.compile(r"^[a-z][a-z0-9_]*$")
MAX_CODE = 64  # matter.code
DEFAULT_VERIFY_DAYS = 10  # 告知承诺: verification within 10 working days unless the guide says
REQUIRED = "必填"
Errors = dict[str, list[str]]


class MatterType(StrEnum):
    """事项类型, as the national catalogue (国家政务服务事项基本目录) names them."""

    LICENSING = "行政许可"
    BENEFIT = "行政给付"
    CONFIRMATION = "行政确认"
    LEVY = "行政征收"
    REWARD = "行政奖励"
    RULING = "行政裁决"
    INSPECTION = "行政检查"
    PENALTY = "行政处罚"
    ENFORCEMENT = "行政强制"
    OTHER_POWER = "其他行政权力"
    PUBLIC_SERVICE = "公共服务"


class MaterialSource(StrEnum):
    """来源渠道 of a material: the applicant, the form itself, or a data-sharing source."""

    APPLICANT = "applicant"  # 申请人自备
    FORM = "form"  # 在线填写（申请表）
    LICENCE_LIBRARY = "licence_library"  # 电子证照库
    POPULATION_REGISTRY = "population_registry"  # 人口库
    PROPERTY_REGISTRY = "property_registry"  # 不动产登记

    @property
    def title(self) -> str:
        return {MaterialSource.APPLICANT: "申请人自备", MaterialSource.FORM: "在线填写",
                MaterialSource.LICENCE_LIBRARY: "电子证照库", MaterialSource.POPULATION_REGISTRY: "人口库",
                MaterialSource.PROPERTY_REGISTRY: "不动产登记"}[self]

    @property
    def shared(self) -> bool:
        """Read from a data-sharing source the engine must have."""
        return self not in (MaterialSource.APPLICANT, MaterialSource.FORM)


@dataclass(frozen=True)
class Material:
    name: str
    required: bool = True
    source: MaterialSource = MaterialSource.APPLICANT
    licence_type: str | None = None  # the e-licence's type (电子证照库)

    def as_policy(self) -> dict:
        shown = {"name": self.name, "required": self.required, "source": self.source.value}
        return shown | ({"licence_type": self.licence_type} if self.licence_type else {})


@dataclass(frozen=True)
class Guide:
    code: str
    name: str
    type: str  # a MatterType value
    legal_basis: str
    department: str  # a department of the catalogue (engine/people/organisation.py)
    legal_days: int  # working days
    promised_days: int
    materials: tuple[Material, ...] = ()
    conditions: tuple[str, ...] = ()
    aliases: tuple[str, ...] = ()  # everyday names (俗称: 老人补贴), found by the portal's search (engine/search.py)
    keywords: tuple[str, ...] = ()  # words people use about it (营业执照, 过户)
    national_code: str | None = None  # 基本编码
    implementation_code: str | None = None  # 实施编码
    region: str | None = None  # default: the home region
    fee: int | float | str = 0  # 0: 不收费; an amount in yuan, or a text (按标准收取)
    handling_form: str | None = None  # 办理形式; default: the template's
    trips: int | None = None  # 到办事现场次数; default: the template's
    result_name: str | None = None
    criteria: tuple[Criterion, ...] = ()  # 秒批
    comparisons: tuple[ComparisonKind, ...] = ()  # 智能审批
    verify_within_days: int | None = None  # 告知承诺

    def as_dict(self) -> dict:
        """The guide as the API takes and gives it."""
        shown: dict[str, Any] = {
            "code": self.code, "name": self.name, "type": self.type, "legal_basis": self.legal_basis,
            "department": self.department, "legal_days": self.legal_days, "promised_days": self.promised_days,
            "materials": [m.as_policy() for m in self.materials], "conditions": list(self.conditions),
            "fee": self.fee}
        optional = {"national_code": self.national_code, "implementation_code": self.implementation_code,
                    "region": self.region, "handling_form": self.handling_form, "trips": self.trips,
                    "result_name": self.result_name, "verify_within_days": self.verify_within_days}
        shown.update({key: value for key, value in optional.items() if value is not None})
        shown.update({key: list(words) for key, words in (("aliases", self.aliases), ("keywords", self.keywords))
                      if words})
        if self.criteria:
            shown["criteria"] = [c.as_dict() for c in self.criteria]
        if self.comparisons:
            shown["comparisons"] = [c.value for c in self.comparisons]
        return shown


@dataclass(frozen=True)
class GuideField:
    """One field of the guide as the templates page shows it."""

    name: str
    title: str
    kind: str  # text | integer | choice | list | fee | materials | criteria | comparisons
    required: bool
    description: str = ""
    templates: tuple[Template, ...] = ()  # only for these; empty: every template
    choices: dict[str, str] = field(default_factory=dict)  # value -> title

    def as_dict(self) -> dict:
        shown = {"name": self.name, "title": self.title, "kind": self.kind, "required": self.required,
                 "description": self.description}
        return shown | ({"choices": self.choices} if self.choices else {})


def guide_fields(template: Template) -> list[GuideField]:
    """The fields a guide for ``template`` takes, in the order a form shows them."""
    departments, regions = read_departments(), read_regions()
    every = [
        GuideField("code", "事项编码", "text", True, "新事项的编码：小写字母开头，只含小写字母、数字和下划线，最长64位"),
        GuideField("name", "事项名称", "text", True),
        GuideField("national_code", "基本编码", "text", False, "国家政务服务事项基本目录编码"),
        GuideField("implementation_code", "实施编码", "text", False),
        GuideField("type", "事项类型", "choice", True, choices={t.value: t.value for t in MatterType}),
        GuideField("legal_basis", "设定依据", "text", True),
        GuideField("department", "实施部门", "choice", True, choices=departments),
        GuideField("region", "行政区划", "choice", False, "默认海口市", choices=regions),
        GuideField("legal_days", "法定办结时限（工作日）", "integer", True),
        GuideField("promised_days", "承诺办结时限（工作日）", "integer", True, "不得超过法定办结时限"),
        GuideField("conditions", "受理条件", "list", False, "向申请人展示的受理条件，每条一句"),
        GuideField("aliases", "俗称", "list", False, "群众日常口语中的叫法，如“老人补贴”“开公司”，网厅搜索用"),
        GuideField("keywords", "搜索关键词", "list", False, "群众办事时会说的词，如“营业执照”“过户”"),
        GuideField("materials", "申请材料", "materials", False,
                   "每项：name 材料名称, required 是否必要, source 来源渠道, licence_type 电子证照类型（可选）",
                   choices={s.value: s.title for s in MaterialSource}),
        GuideField("fee", "收费", "fee", False, "0 为不收费；或金额（元），或收费说明"),
        GuideField("handling_form", "办理形式", "text", False, f"默认：{template.about.handling_form}"),
        GuideField("trips", "到办事现场次数", "integer", False, f"默认：{template.about.trips}"),
        GuideField("result_name", "办理结果名称", "text", False),
    ]
    specific = [
        GuideField("criteria", "秒批条件", "criteria", True,
                   "每项：kind 条件种类, age 年龄（年龄类条件）, message 不符合时告知申请人的话（可选）",
                   (Template.INSTANT,), {k.value: k.title for k in CriterionKind}),
        GuideField("comparisons", "比对项", "comparisons", False, "默认：姓名与人口库登记一致",
                   (Template.DATA_COMPARISON,), {k.value: k.title for k in ComparisonKind}),
        GuideField("verify_within_days", "承诺核查时限（工作日）", "integer", False,
                   f"办理后多少个工作日内核查，默认{DEFAULT_VERIFY_DAYS}", (Template.COMMITMENT,)),
    ]
    return every + [f for f in specific if template in f.templates]


FIELDS = frozenset(f.name for t in Template for f in guide_fields(t))
# Fields that shape the files (rules, form): set when the matter is made, not by editing its guide.
FILE_FIELDS = frozenset({"code", "criteria", "comparisons"})


def read_guide(data: Mapping[str, Any], template: Template, source_names: set[str],
               new_files: bool = True) -> Guide:
    """The guide, or InvalidInput naming every field at fault. ``new_files``: the template's
    files are made from it (a new matter); False when an edit keeps the live files, so the
    fields that shape them (criteria, comparisons) are not asked for."""
    reader = _Reader(data, source_names)
    guide = reader.guide(template, new_files)
    if reader.errors:
        raise InvalidInput(f"办事指南有 {len(reader.errors)} 处错误", reader.errors)
    return guide


class _Reader:
    """Reads each field, collecting every problem instead of stopping at the first."""

    def __init__(self, data: Mapping[str, Any], source_names: set[str]) -> None:
        self.data = data
        self.source_names = source_names
        self.errors: Errors = {}

    def fail(self, name: str, message: str) -> None:
        self.errors.setdefault(name, []).append(message)

    def guide(self, template: Template, new_files: bool) -> Guide | None:
        if not isinstance(self.data, Mapping):
            self.fail("_schema", "办事指南应为一个对象")
            return None
        for name in self.data:
            if name not in FIELDS:
                self.fail(str(name), "未知字段")
        legal, promised = self.days("legal_days"), self.days("promised_days")
        if legal is not None and promised is not None and promised > legal:
            self.fail("promised_days", f"承诺办结时限（{promised}个工作日）不得超过法定办结时限（{legal}个工作日）")
        guide = Guide(
            code=self.code(), name=self.text("name", 200), type=self.choice("type", [t.value for t in MatterType]),
            legal_basis=self.text("legal_basis", 2000), department=self.department(), legal_days=legal,
            promised_days=promised, materials=self.materials(), conditions=self.conditions(),
            aliases=self.words("aliases"), keywords=self.words("keywords"),
            national_code=self.text("national_code", 64, required=False),
            implementation_code=self.text("implementation_code", 64, required=False),
            region=self.region(), fee=self.fee(), handling_form=self.text("handling_form", 50, required=False),
            trips=self.integer("trips", 0, 50, required=False),
            result_name=self.text("result_name", 200, required=False),
            criteria=self.criteria(template, new_files), comparisons=self.comparisons(template, new_files),
            verify_within_days=self.verify_days(template))
        return guide

    # plain values

    def text(self, name: str, longest: int, required: bool = True) -> str | None:
        value = self.data.get(name)
        if value is None or (isinstance(value, str) and not value.strip()):
            if required:
                self.fail(name, REQUIRED)
            return None
        if not isinstance(value, str):
            self.fail(name, "应为文字")
            return None
        if len(value.strip()) > longest:
            self.fail(name, f"不得超过{longest}个字")
            return None
        return value.strip()

    def integer(self, name: str, least: int, most: int, required: bool = True) -> int | None:
        value = self.data.get(name)
        if value is None:
            if required:
                self.fail(name, REQUIRED)
            return None
        if isinstance(value, bool) or not isinstance(value, int) or not least <= value <= most:
            self.fail(name, f"应为{least}至{most}之间的整数")
            return None
        return value

    def days(self, name: str) -> int | None:
        return self.integer(name, 1, 3650)

    def choice(self, name: str, allowed: list[str]) -> str | None:
        value = self.text(name, 100)
        if value is not None and value not in allowed:
            self.fail(name, f"「{value}」不是可选值；可选：{'、'.join(allowed)}")
            return None
        return value

    def code(self) -> str | None:
        code = self.text("code", MAX_CODE)
        if code is not None and not CODE.match(code):
            self.fail("code", "事项编码须以小写字母开头，只含小写字母、数字和下划线")
            return None
        return code

    def department(self) -> str | None:
        department, known = self.text("department", 64), read_departments()
        if department is not None and department not in known:
            self.fail("department", f"未知的实施部门「{department}」；可选："
                                    + "、".join(f"{code}（{name}）" for code, name in known.items()))
            return None
        return department

    def region(self) -> str | None:
        region, known = self.text("region", 12, required=False), read_regions()
        if region is not None and region not in known:
            self.fail("region", f"未知的行政区划「{region}」；可选："
                                + "、".join(f"{code}（{name}）" for code, name in known.items()))
            return None
        return region

    def fee(self) -> int | float | str:
        value = self.data.get("fee", 0)
        if isinstance(value, bool) or value is None:
            self.fail("fee", "应为金额（元，0为不收费）或收费说明")
            return 0
        if isinstance(value, (int, float)):
            if not 0 <= value <= 10_000_000:
                self.fail("fee", "金额应在0至10000000元之间")
            return value
        if not isinstance(value, str) or not value.strip() or len(value.strip()) > 200:
            self.fail("fee", "应为金额（元，0为不收费）或不超过200字的收费说明")
            return 0
        return value.strip()

    # lists

    def items(self, name: str, most: int) -> list:
        value = self.data.get(name, [])
        if value is None:
            return []
        if not isinstance(value, list):
            self.fail(name, "应为列表")
            return []
        if len(value) > most:
            self.fail(name, f"不得超过{most}项")
            return []
        return value

    def conditions(self) -> tuple[str, ...]:
        conditions = []
        for index, value in enumerate(self.items("conditions", 50)):
            if not isinstance(value, str) or not value.strip() or len(value) > 500:
                self.fail(f"conditions.{index}", "每条受理条件应为不超过500字的文字")
            else:
                conditions.append(value.strip())
        return tuple(conditions)

    def words(self, name: str) -> tuple[str, ...]:
        """俗称 or search keywords: short texts, each once."""
        words = []
        for index, value in enumerate(self.items(name, 50)):
            if not isinstance(value, str) or not value.strip() or len(value.strip()) > 50:
                self.fail(f"{name}.{index}", "每项应为不超过50字的文字")
            else:
                words.append(value.strip())
        return tuple(dict.fromkeys(words))

    def materials(self) -> tuple[Material, ...]:
        materials, seen = [], set()
        for index, value in enumerate(self.items("materials", 100)):
            where = f"materials.{index}"
            if not isinstance(value, Mapping):
                self.fail(where, "每项材料应为一个对象：name, required, source")
                continue
            unknown = set(value) - {"name", "required", "source", "licence_type"}
            if unknown:
                self.fail(where, f"未知字段：{'、'.join(sorted(map(str, unknown)))}")
            name = value.get("name")
            if not isinstance(name, str) or not name.strip() or len(name) > 200:
                self.fail(f"{where}.name", "材料名称必填，不超过200字")
                continue
            if name.strip() in seen:
                self.fail(f"{where}.name", f"材料「{name.strip()}」重复")
            seen.add(name.strip())
            required = value.get("required", True)
            if not isinstance(required, bool):
                self.fail(f"{where}.required", "应为 true 或 false")
            source = self.material_source(f"{where}.source", value.get("source", MaterialSource.APPLICANT.value))
            licence_type = value.get("licence_type")
            if licence_type is not None and (not isinstance(licence_type, str) or not licence_type.strip()):
                self.fail(f"{where}.licence_type", "应为电子证照类型（文字）")
                licence_type = None
            if source is not None and isinstance(required, bool):
                materials.append(Material(name.strip(), required, source, licence_type))
        return tuple(materials)

    def material_source(self, where: str, value: Any) -> MaterialSource | None:
        try:
            source = MaterialSource(value)
        except ValueError:
            self.fail(where, "来源渠道应为：" + "、".join(f"{s.value}（{s.title}）" for s in MaterialSource))
            return None
        if source.shared and source.value not in self.source_names:
            self.fail(where, f"数据来源 {source.value}（{source.title}）未接入本平台")
            return None
        return source

    # what the template needs

    def criteria(self, template: Template, new_files: bool) -> tuple[Criterion, ...]:
        if not self.template_field("criteria", template, Template.INSTANT, new_files):
            return ()
        items = self.items("criteria", 10)
        if not items:
            self.fail("criteria", "秒批事项至少设置一项秒批条件，规则才能即时审批")
            return ()
        criteria, kinds = [], set()
        for index, value in enumerate(items):
            criterion = self.criterion(f"criteria.{index}", value)
            if criterion is None:
                continue
            if criterion.kind in kinds:
                self.fail(f"criteria.{index}.kind", f"条件「{criterion.kind.title}」重复")
            kinds.add(criterion.kind)
            criteria.append(criterion)
        ages = {c.kind: c.age for c in criteria if c.kind.takes_age}
        if ages.get(CriterionKind.MIN_AGE, 0) > ages.get(CriterionKind.MAX_AGE, 150):
            self.fail("criteria", "最低年龄不得高于最高年龄：没有人能符合")
        return tuple(criteria)

    def criterion(self, where: str, value: Any) -> Criterion | None:
        if not isinstance(value, Mapping):
            self.fail(where, "每项秒批条件应为一个对象：kind, age, message")
            return None
        unknown = set(value) - {"kind", "age", "message"}
        if unknown:
            self.fail(where, f"未知字段：{'、'.join(sorted(map(str, unknown)))}")
        try:
            kind = CriterionKind(value.get("kind"))
        except ValueError:
            self.fail(f"{where}.kind", "条件种类应为：" + "、".join(f"{k.value}（{k.title}）" for k in CriterionKind))
            return None
        age = value.get("age")
        if kind.takes_age and (isinstance(age, bool) or not isinstance(age, int) or not 0 <= age <= 150):
            self.fail(f"{where}.age", "年龄条件须写明0至150之间的整数年龄")
            return None
        if not kind.takes_age and age is not None:
            self.fail(f"{where}.age", f"条件「{kind.title}」不用年龄")
            return None
        message = value.get("message")
        if message is not None and (not isinstance(message, str) or not message.strip() or len(message) > 200):
            self.fail(f"{where}.message", "告知申请人的话应为不超过200字的文字")
            return None
        return Criterion(kind, age, message.strip() if message else None)

    def comparisons(self, template: Template, new_files: bool) -> tuple[ComparisonKind, ...]:
        if not self.template_field("comparisons", template, Template.DATA_COMPARISON, new_files):
            return ()
        kinds = []
        for index, value in enumerate(self.items("comparisons", 10) or [ComparisonKind.NAME.value]):
            try:
                kind = ComparisonKind(value)
            except ValueError:
                self.fail(f"comparisons.{index}", "比对项应为：" + "、".join(
                    f"{k.value}（{k.title}）" for k in ComparisonKind))
                continue
            if kind in kinds:
                self.fail(f"comparisons.{index}", f"比对项「{kind.title}」重复")
            kinds.append(kind)
        return tuple(dict.fromkeys(kinds))

    def verify_days(self, template: Template) -> int | None:
        if not self.template_field("verify_within_days", template, Template.COMMITMENT, new_files=True):
            return None
        days = self.integer("verify_within_days", 1, 365, required=False)
        return DEFAULT_VERIFY_DAYS if days is None else days

    def template_field(self, name: str, template: Template, owner: Template, new_files: bool) -> bool:
        """Whether to read a template's own field; given to another template, or to an edit
        that keeps the files the field shaped, it is refused."""
        if template is not owner:
            if name in self.data:
                self.fail(name, f"模板「{template.about.title}」不使用此项（仅「{owner.about.title}」模板使用）")
            return False
        if not new_files:
            if name in self.data:
                self.fail(name, "此项写在事项的规则集中：修改规则请在规则编辑器中编辑后部署新版本")
            return False
        return True


def guide_of(policy: Mapping[str, Any]) -> dict:
    """The guide fields a matter's policy holds (the API's shape; criteria and comparisons
    live in its rule set, not here)."""
    guide = {name: policy[name] for name in FIELDS - {"materials", "verify_within_days"} if name in policy}
    guide["materials"] = [{key: m[key] for key in ("name", "required", "source", "licence_type") if key in m}
                          for m in policy.get("materials") or []]
    if "commitment" in policy:
        guide["verify_within_days"] = policy["commitment"]["verify_within_working_days"]
    return guide
