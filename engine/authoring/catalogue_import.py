"""Importing a matter catalogue export (事项库): every row becomes a matter made from a
template, through the same guide checks and deploy as one made by hand.

The file is JSON (a list of objects) or CSV (UTF-8 with or without BOM; GB18030 when it is
not UTF-8), with the national catalogue's column names:

| column | becomes |
|---|---|
| 基本编码, 实施编码 | national_code, implementation_code; the matter's code is ``m_`` + the 实施编码 (else the 基本编码) in lower case, anything but letters and digits as ``_`` — importing the file again finds the same matters |
| 事项名称, 事项类型, 设定依据 | name, type (行政许可…), legal_basis |
| 实施主体 | the department whose name (processes/catalogue.yaml ``departments``) it is — ``民政局``, or with a region's name before it (``三亚市民政局``: that region) — or a department code |
| 法定办结时限, 承诺办结时限 | working days: ``20``, ``20个工作日``, ``20工作日``, ``20天``; ``即办`` is 1 |
| 申请材料 | materials, names normalised by the materials dictionary (engine/authoring/materials.py has the cell format) |
| 办理形式, 到办事现场次数 | handling_form, trips (``0``, ``1次``) |
| 收费 | ``否`` / ``不收费`` / ``0``: none; ``是``: 按标准收取; an amount (``20``, ``20元``); else the text |
| 受理条件 (optional) | conditions, separated by ``;`` ``；`` or line breaks |
| 结果名称 (optional) | result_name |
| 模板 (optional) | the row's template (``instant`` or ``秒批``…) instead of the import's |
| 秒批条件 (秒批 rows) | criteria: ``年满60周岁;本地户籍;在世;70周岁以下`` |
| 比对项 (智能审批 rows, optional) | comparisons: ``姓名;不动产权属`` (default 姓名) |
| 核查时限 (告知承诺 rows, optional) | verify_within_days (default 10 working days) |

Other columns are ignored, and the report names them. Each row is imported in its own
transaction: a refused row (and why: each column at fault) never stops the others.
A row whose matter exists already (made from the same template) updates its guide — a
new version only if something changed — keeping its live files. The report has one entry
per row: created, updated, unchanged or refused.
"""
from __future__ import annotations

import csv
import io
import json
import re
from dataclasses import dataclass, field
from enum import StrEnum
from hashlib import sha256
from typing import Any, Callable

from sqlalchemy.orm import Session

from engine.authoring.guide import Guide, read_guide
from engine.authoring.materials import MaterialsDictionary, load_dictionary, read_materials
from engine.authoring.matters import save_guide
from engine.authoring.templates import Template
from engine.errors import DeploymentRefused, InvalidInput, OneWindowError
from engine.people.organisation import read_departments, read_regions
from engine.store.models import Matter

CODE_PREFIX = "m_"
DAYS = re.compile(r"^(\d{1,4})\s*(?:个)?\s*(?:工作日|天|日)?$")
AT_ONCE = ("即办", "即办件", "即时办结", "当场办结")  # promised: one working day
COUNT = re.compile(r"^(\d{1,3})\s*(?:次)?$")
AMOUNT = re.compile(r"^(\d+(?:\.\d{1,2})?)\s*(?:元)?$")
NO_FEE = ("否", "不收费", "无", "免费", "0", "0元")
LIST_SEPARATORS = re.compile(r"[;；\n]+")
CRITERIA_SEPARATORS = re.compile(r"[;；,，、\n]+")
MIN_AGE = re.compile(r"^年满(\d{1,3})周岁$")
MAX_AGE = re.compile(r"^(\d{1,3})周岁以下$")


class ImportFormat(StrEnum):
    JSON = "json"
    CSV = "csv"


class Column(StrEnum):
    NATIONAL_CODE = "基本编码"
    IMPLEMENTATION_CODE = "实施编码"
    NAME = "事项名称"
    TYPE = "事项类型"
    LEGAL_BASIS = "设定依据"
    DEPARTMENT = "实施主体"
    LEGAL_DAYS = "法定办结时限"
    PROMISED_DAYS = "承诺办结时限"
    MATERIALS = "申请材料"
    HANDLING_FORM = "办理形式"
    TRIPS = "到办事现场次数"
    FEE = "收费"
    CONDITIONS = "受理条件"
    RESULT_NAME = "结果名称"
    TEMPLATE = "模板"
    CRITERIA = "秒批条件"
    COMPARISONS = "比对项"
    VERIFY_DAYS = "核查时限"


# The column a guide field comes from (its problems are reported under the column's name).
FIELD_COLUMN = {"code": Column.IMPLEMENTATION_CODE, "national_code": Column.NATIONAL_CODE,
                "implementation_code": Column.IMPLEMENTATION_CODE, "name": Column.NAME, "type": Column.TYPE,
                "legal_basis": Column.LEGAL_BASIS, "department": Column.DEPARTMENT, "region": Column.DEPARTMENT,
                "legal_days": Column.LEGAL_DAYS, "promised_days": Column.PROMISED_DAYS,
                "materials": Column.MATERIALS, "handling_form": Column.HANDLING_FORM, "trips": Column.TRIPS,
                "fee": Column.FEE, "conditions": Column.CONDITIONS, "result_name": Column.RESULT_NAME,
                "criteria": Column.CRITERIA, "comparisons": Column.COMPARISONS,
                "verify_within_days": Column.VERIFY_DAYS}
COMPARISON_WORDS = {"姓名": "name", "name": "name", "不动产权属": "property_owner", "不动产": "property_owner",
                    "property_owner": "property_owner"}


class RowStatus(StrEnum):
    CREATED = "created"
    UPDATED = "updated"  # a new version with the row's guide
    UNCHANGED = "unchanged"
    REFUSED = "refused"


@dataclass(frozen=True)
class Records:
    """The rows of a file as column -> value, and the file line of each (CSV)."""

    rows: list[Any]
    lines: list[int | None]
    columns: list[str]

    @property
    def ignored_columns(self) -> list[str]:
        known = {c.value for c in Column}
        return [name for name in self.columns if name not in known]


@dataclass
class RowReport:
    row: int  # 1: the first matter of the file
    status: RowStatus
    code: str | None = None
    name: str | None = None
    template: str | None = None
    version: int | None = None
    line: int | None = None  # the CSV line it starts on (the header is line 1)
    reasons: list[str] = field(default_factory=list)  # why refused: "column: problem"
    normalised: list[dict] = field(default_factory=list)  # material names: {"from", "to"}
    notes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {"row": self.row, "line": self.line, "status": self.status.value, "code": self.code,
                "name": self.name, "template": self.template, "version": self.version, "reasons": self.reasons,
                "normalised": self.normalised, "notes": self.notes}


@dataclass
class ImportReport:
    rows: list[RowReport]
    ignored_columns: list[str]

    @property
    def counts(self) -> dict[str, int]:
        return {status.value: sum(1 for r in self.rows if r.status is status) for status in RowStatus}

    @property
    def complete(self) -> bool:
        """Every row went in (nothing refused)."""
        return not any(r.status is RowStatus.REFUSED for r in self.rows)

    def summary(self) -> str:
        counts = self.counts
        return f"{len(self.rows)} rows: " + ", ".join(f"{counts[s.value]} {s.value}" for s in RowStatus)

    def as_dict(self) -> dict:
        return {"total": len(self.rows), "counts": self.counts, "ignored_columns": self.ignored_columns,
                "rows": [r.as_dict() for r in self.rows]}


# --- reading the file ------------------------------------------------------------------

def format_of(filename: str) -> ImportFormat | None:
    ending = filename.lower().rsplit(".", 1)[-1] if "." in filename else ""
    return next((f for f in ImportFormat if f.value == ending), None)


def decode(content: bytes) -> str:
    """UTF-8 (a BOM is dropped), else GB18030 (exports from older Windows systems)."""
    try:
        return content.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    try:
        return content.decode("gb18030")
    except UnicodeDecodeError as exc:
        raise InvalidInput("文件既不是 UTF-8 也不是 GB18030 编码", {"content": [str(exc)]}) from exc


def read_records(content: bytes | str, fmt: ImportFormat) -> Records:
    """The file's rows; InvalidInput if it is not a table of matters at all."""
    text = decode(content) if isinstance(content, bytes) else content.removeprefix("\ufeff")
    records = _json_records(text) if fmt is ImportFormat.JSON else _csv_records(text)
    if not records.rows:
        raise InvalidInput("文件中没有事项", {"content": ["没有任何事项行"]})
    return records


def _json_records(text: str) -> Records:
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidInput("JSON 格式有误", {"content": [f"第{exc.lineno}行第{exc.colno}列：{exc.msg}"]}) from exc
    except RecursionError as exc:
        raise InvalidInput("JSON 嵌套过深", {"content": ["JSON 嵌套过深"]}) from exc
    if not isinstance(document, list):
        raise InvalidInput("JSON 应为事项对象的列表", {"content": ["应为列表：[{\"事项名称\": …}, …]"]})
    columns = list(dict.fromkeys(key for row in document if isinstance(row, dict) for key in row))
    return Records(document, [None] * len(document), columns)


def _csv_records(text: str) -> Records:
    reader = csv.DictReader(io.StringIO(text, newline=""))
    rows, lines = [], []
    try:
        columns = [name.strip() for name in reader.fieldnames or []]
        for record in reader:
            start = reader.line_num
            values = {(key or "").strip(): value for key, value in record.items()}
            if all(not (v or "").strip() if isinstance(v, str) else not v for v in values.values()):
                continue  # an empty line
            rows.append(values)
            lines.append(start)
    except csv.Error as exc:
        raise InvalidInput("CSV 格式有误", {"content": [f"第{reader.line_num}行：{exc}"]}) from exc
    return Records(rows, lines, columns)


# --- one row -> one guide ----------------------------------------------------------------

@dataclass
class RowPlan:
    """What a row asks for: its template and guide, or why it cannot be imported."""

    code: str | None = None
    name: str | None = None
    template: Template | None = None
    guide: Guide | None = None
    errors: list[str] = field(default_factory=list)
    normalised: list[dict] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def fail(self, column: str, message: str) -> None:
        self.errors.append(f"{column}: {message}")


def code_for(reference: str) -> str:
    """A matter code from a 实施编码 or 基本编码: the same every import."""
    slug = re.sub(r"[^a-z0-9]+", "_", reference.lower()).strip("_")
    if len(CODE_PREFIX + slug) <= 64:
        return CODE_PREFIX + slug
    return f"{CODE_PREFIX}{slug[:45]}_{sha256(reference.encode('utf-8')).hexdigest()[:12]}"


def plan_row(record: Any, default: Template, dictionary: MaterialsDictionary, source_names: set[str]) -> RowPlan:
    plan = RowPlan()
    if not isinstance(record, dict):
        plan.fail("行", "应为一个对象（列名: 值）")
        return plan
    row = {str(key).strip(): value for key, value in record.items()}

    def text(column: Column) -> str | None:
        value = row.get(column.value)
        if value is None or isinstance(value, (list, dict)):
            return None
        return str(value).strip() or None

    plan.name = text(Column.NAME)
    plan.template = default
    if text(Column.TEMPLATE):
        plan.template = Template.named(text(Column.TEMPLATE))
        if plan.template is None:
            plan.fail(Column.TEMPLATE, f"未知的模板「{text(Column.TEMPLATE)}」；可选："
                                       + "、".join(f"{t.value}（{t.about.title}）" for t in Template))
    reference = text(Column.IMPLEMENTATION_CODE) or text(Column.NATIONAL_CODE)
    if reference is None:
        plan.fail(Column.IMPLEMENTATION_CODE, "缺少实施编码和基本编码：无法确定事项编码")
    else:
        plan.code = code_for(reference)
    data: dict[str, Any] = {"code": plan.code, "name": plan.name, "type": text(Column.TYPE),
                            "legal_basis": text(Column.LEGAL_BASIS), "national_code": text(Column.NATIONAL_CODE),
                            "implementation_code": text(Column.IMPLEMENTATION_CODE),
                            "handling_form": text(Column.HANDLING_FORM), "result_name": text(Column.RESULT_NAME)}
    _department(text(Column.DEPARTMENT), data, plan)
    for column, name in ((Column.LEGAL_DAYS, "legal_days"), (Column.PROMISED_DAYS, "promised_days"),
                         (Column.VERIFY_DAYS, "verify_within_days")):
        data[name] = _days(row.get(column.value), column, plan)
    data["trips"] = _count(row.get(Column.TRIPS.value), plan)
    data["fee"] = _fee(row.get(Column.FEE.value))
    data["conditions"] = _list(row.get(Column.CONDITIONS.value))
    materials = read_materials(row.get(Column.MATERIALS.value), dictionary)
    data["materials"] = materials.materials
    plan.normalised, plan.notes = materials.normalised, materials.notes
    for error in materials.errors:
        plan.fail(Column.MATERIALS, error)
    data["criteria"] = _criteria(row.get(Column.CRITERIA.value), plan)
    data["comparisons"] = _comparisons(row.get(Column.COMPARISONS.value), plan)
    if plan.template is None:
        return plan
    given = {key: value for key, value in data.items() if value not in (None, [])}
    failed = {error.split(":", 1)[0] for error in plan.errors}
    try:
        plan.guide = read_guide(given, plan.template, source_names)
    except InvalidInput as exc:
        for name, messages in exc.errors.items():
            column = FIELD_COLUMN.get(name.split(".", 1)[0], name)
            if column not in failed:  # a value already refused above is not "必填" as well
                plan.errors += [f"{column}: {message}" for message in messages]
    if plan.errors:
        plan.guide = None
    return plan


def _department(value: str | None, data: dict, plan: RowPlan) -> None:
    """实施主体 -> department (and region, when the name starts with a region's)."""
    if value is None:
        plan.fail(Column.DEPARTMENT, "必填")
        return
    departments = read_departments()
    by_name = {name: code for code, name in departments.items()}
    if value in departments or value in by_name:
        data["department"] = value if value in departments else by_name[value]
        return
    for region, region_name in read_regions().items():
        if value.startswith(region_name) and value[len(region_name):] in by_name:
            data["department"], data["region"] = by_name[value[len(region_name):]], region
            return
    plan.fail(Column.DEPARTMENT, f"未知的实施主体「{value}」：事项目录中没有这个部门（processes/catalogue.yaml 的 departments）")


def _days(value: Any, column: Column, plan: RowPlan) -> int | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    text = str(value).strip()
    if text in AT_ONCE:
        return 1
    match = DAYS.match(text)
    if match is None:
        plan.fail(column, f"无法识别的时限「{text}」（应为工作日数，如 20 或 20个工作日）")
        return None
    return int(match.group(1))


def _count(value: Any, plan: RowPlan) -> int | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    match = COUNT.match(str(value).strip())
    if match is None:
        plan.fail(Column.TRIPS, f"无法识别的次数「{value}」（应为 0、1、2…）")
        return None
    return int(match.group(1))


def _fee(value: Any) -> Any:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return value
    text = str(value).strip()
    if text in NO_FEE:
        return 0
    if text in ("是", "收费"):
        return "按标准收取"
    amount = AMOUNT.match(text)
    if amount is not None:
        number = float(amount.group(1))
        return int(number) if number.is_integer() else number
    return text


def _list(value: Any) -> list | None:
    if value is None:
        return None
    if isinstance(value, list):
        return value
    return [part.strip() for part in LIST_SEPARATORS.split(str(value)) if part.strip()]


def _criteria(value: Any, plan: RowPlan) -> list | None:
    """秒批条件: the guide's objects (JSON) or the words 年满N周岁, N周岁以下, 本地户籍, 在世."""
    if value is None or isinstance(value, list):
        return value
    criteria = []
    for word in (w.strip() for w in CRITERIA_SEPARATORS.split(str(value)) if w.strip()):
        if MIN_AGE.match(word):
            criteria.append({"kind": "min_age", "age": int(MIN_AGE.match(word).group(1))})
        elif MAX_AGE.match(word):
            criteria.append({"kind": "max_age", "age": int(MAX_AGE.match(word).group(1))})
        elif word in ("本地户籍", "在世"):
            criteria.append({"kind": "local_household" if word == "本地户籍" else "alive"})
        else:
            plan.fail(Column.CRITERIA, f"无法识别的秒批条件「{word}」（可写：年满N周岁、N周岁以下、本地户籍、在世）")
    return criteria


def _comparisons(value: Any, plan: RowPlan) -> list | None:
    if value is None or isinstance(value, list):
        return value
    kinds = []
    for word in (w.strip() for w in CRITERIA_SEPARATORS.split(str(value)) if w.strip()):
        if word in COMPARISON_WORDS:
            kinds.append(COMPARISON_WORDS[word])
        else:
            plan.fail(Column.COMPARISONS, f"无法识别的比对项「{word}」（可写：姓名、不动产权属）")
    return kinds


# --- the import ----------------------------------------------------------------------------

def import_catalogue(sessions: Callable[[], Session], records: Records, template: Template, by: str,
                     source_names: set[str], on_each: Callable[[], None] | None = None) -> ImportReport:
    """Import every row, each in its own transaction; the report has one entry per row."""
    dictionary = load_dictionary()
    report = ImportReport([], records.ignored_columns)
    first_row_of: dict[str, int] = {}
    for number, (record, line) in enumerate(zip(records.rows, records.lines, strict=True), start=1):
        plan = plan_row(record, template, dictionary, source_names)
        row = RowReport(number, RowStatus.REFUSED, plan.code, plan.name,
                        plan.template.value if plan.template else None, line=line,
                        normalised=plan.normalised, notes=plan.notes)
        if plan.code in first_row_of:
            row.reasons.append(f"{Column.IMPLEMENTATION_CODE}: 与第{first_row_of[plan.code]}行的事项编码 {plan.code} 重复")
        elif plan.code is not None:
            first_row_of[plan.code] = number
        row.reasons += plan.errors
        if not row.reasons:
            _save(sessions, plan, row, by, source_names)
        report.rows.append(row)
        if on_each is not None:
            on_each()
    return report


def _save(sessions: Callable[[], Session], plan: RowPlan, row: RowReport, by: str, source_names: set[str]) -> None:
    with sessions() as session:
        existed = session.get(Matter, plan.code) is not None
        try:
            saved = save_guide(session, plan.template, plan.guide, by, source_names)
            session.commit()
        except OneWindowError as exc:
            session.rollback()
            row.reasons += _reasons(exc)
            return
    row.version = saved.version
    row.status = (RowStatus.UPDATED if saved.new_version else RowStatus.UNCHANGED) if existed else RowStatus.CREATED
    if existed and saved.files_differ:
        row.notes.append("流程、规则和表单沿用现行版本（与模板按本行生成的不同：如秒批条件有变，请在规则编辑器中修改）")


def _reasons(error: OneWindowError) -> list[str]:
    if isinstance(error, InvalidInput):
        return [f"{FIELD_COLUMN.get(name.split('.', 1)[0], name)}: {message}"
                for name, messages in error.errors.items() for message in messages]
    if isinstance(error, DeploymentRefused):
        return [f"部署被拒绝 {p.file} {p.element}: {p.reason}" for p in error.problems]
    return [error.detail]
