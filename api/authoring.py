"""Analysts: matters made from templates (秒批, 智能审批, 告知承诺, 综合窗口), their guides
edited as new versions, and matter catalogue exports (事项库) imported row by row
(engine/authoring/)."""
from __future__ import annotations

from flask import g
from flask.views import MethodView
from flask_smorest import Blueprint
from flask_smorest.fields import Upload
from marshmallow import Schema, fields, validate

from api.auth import roles
from api.context import services
from engine.authoring.catalogue_import import ImportFormat, Records, RowStatus, format_of, import_catalogue, read_records
from engine.authoring.criteria import ComparisonKind, CriterionKind
from engine.authoring.guide import MaterialSource, guide_fields, guide_of, read_guide
from engine.authoring.matters import Authored, create_matter, edit_guide
from engine.authoring.templates import Template
from engine.definitions.versions import current_definition
from engine.errors import InvalidInput, NotFound
from engine.store.models import Matter

blp = Blueprint("authoring", __name__, url_prefix="/api", description="Matters from templates (analysts)")
MAX_IMPORT_ROWS = 500  # a larger export: `onewindow catalogue import`, which has no request to time out
TEMPLATE_NAMES = [t.value for t in Template]

GUIDE_EXAMPLE = {
    "code": "senior_meal_subsidy", "name": "老年人助餐补贴", "type": "行政给付",
    "legal_basis": "《海南省老年人助餐服务管理办法》", "department": "civil_affairs",
    "national_code": "000000000000-0031-0001", "legal_days": 20, "promised_days": 1,
    "conditions": ["年满70周岁", "本地户籍"],
    "materials": [{"name": "居民身份证", "required": True, "source": "population_registry"}],
    "fee": 0, "criteria": [{"kind": "min_age", "age": 70}, {"kind": "local_household"}]}
AUTHORED_EXAMPLE = {"matter": "senior_meal_subsidy", "version": 1, "template": "instant", "new_version": True,
                    "warnings": [], "guide": {key: value for key, value in GUIDE_EXAMPLE.items() if key != "criteria"}}


class MaterialSchema(Schema):
    name = fields.String(validate=validate.Length(max=200), metadata={"example": "居民身份证"})
    required = fields.Boolean(metadata={"example": True})
    source = fields.String(validate=validate.Length(max=64), metadata={
        "description": "来源渠道: " + ", ".join(f"{s.value} ({s.title})" for s in MaterialSource),
        "example": "population_registry"})
    licence_type = fields.String(validate=validate.Length(max=64),
                                 metadata={"description": "电子证照类型 (licence_library)", "example": "business_licence"})


class CriterionSchema(Schema):
    kind = fields.String(validate=validate.Length(max=64), metadata={
        "description": ", ".join(f"{k.value} ({k.title})" for k in CriterionKind), "example": "min_age"})
    age = fields.Integer(strict=True, metadata={"description": "min_age, max_age: the age", "example": 60})
    message = fields.String(validate=validate.Length(max=200),
                            metadata={"description": "what a refused applicant reads (a default per kind)",
                                      "example": "申请人未满60周岁，不符合办理条件"})


class GuideSchema(Schema):
    """办事指南. Types are checked here; what the values mean (a known department, promised ≤
    legal days, a criterion's kind…) by the engine, which names every field at fault at once
    (422, ``errors``: ``materials.0.source`` -> messages in Chinese)."""

    class Meta:
        example = GUIDE_EXAMPLE

    code = fields.String(validate=validate.Length(max=64), metadata={"description": "[a-z][a-z0-9_]*"})
    name = fields.String(validate=validate.Length(max=200))
    national_code = fields.String(validate=validate.Length(max=64), metadata={"description": "基本编码"})
    implementation_code = fields.String(validate=validate.Length(max=64), metadata={"description": "实施编码"})
    type = fields.String(validate=validate.Length(max=100), metadata={"description": "事项类型: 行政许可…"})
    legal_basis = fields.String(validate=validate.Length(max=2000), metadata={"description": "设定依据"})
    department = fields.String(validate=validate.Length(max=64), metadata={"description": "a catalogue department"})
    region = fields.String(validate=validate.Length(max=12))
    legal_days = fields.Integer(strict=True, metadata={"description": "法定办结时限 (working days)"})
    promised_days = fields.Integer(strict=True, metadata={"description": "承诺办结时限 (working days), ≤ legal"})
    conditions = fields.List(fields.String(validate=validate.Length(max=500)), validate=validate.Length(max=50))
    aliases = fields.List(fields.String(validate=validate.Length(max=50)), validate=validate.Length(max=50), metadata={
        "description": "俗称: what people call it, found by GET /api/matters/search", "example": ["老人助餐", "老年食堂"]})
    keywords = fields.List(fields.String(validate=validate.Length(max=50)), validate=validate.Length(max=50),
                           metadata={"description": "搜索关键词", "example": ["助餐", "吃饭"]})
    materials = fields.List(fields.Nested(MaterialSchema), validate=validate.Length(max=100))
    fee = fields.Raw(metadata={"description": "0: 不收费; an amount in yuan, or a text (按标准收取)"})
    handling_form = fields.String(validate=validate.Length(max=50), metadata={"description": "办理形式"})
    trips = fields.Integer(strict=True, metadata={"description": "到办事现场次数"})
    result_name = fields.String(validate=validate.Length(max=200))
    criteria = fields.List(fields.Nested(CriterionSchema), validate=validate.Length(max=10),
                           metadata={"description": "秒批 (instant) only: the conditions the rules check"})
    comparisons = fields.List(fields.String(validate=validate.Length(max=64)), validate=validate.Length(max=10),
                              metadata={"description": "智能审批 (data_comparison) only, default [name]: " + ", ".join(
                                  f"{k.value} ({k.title})" for k in ComparisonKind), "example": ["name"]})
    verify_within_days = fields.Integer(strict=True, metadata={
        "description": "告知承诺 (commitment) only: verification within this many working days (default 10)"})


class TemplateFieldSchema(Schema):
    name = fields.String(metadata={"example": "criteria"})
    title = fields.String(metadata={"example": "秒批条件"})
    kind = fields.String(metadata={"description": "text | integer | choice | list | fee | materials | criteria | "
                                                 "comparisons", "example": "criteria"})
    required = fields.Boolean(metadata={"example": True})
    description = fields.String(metadata={"example": "每项：kind 条件种类, age 年龄…"})
    choices = fields.Dict(keys=fields.String(), values=fields.String(),
                          metadata={"description": "value -> title", "example": {"min_age": "年满N周岁"}})


class TemplateSchema(Schema):
    name = fields.String(metadata={"example": "instant"})
    title = fields.String(metadata={"example": "秒批"})
    description = fields.String(metadata={"example": "规则依据数据共享信息即时审批…"})
    handling_depth = fields.String(metadata={"example": "全程网办（秒批）"})
    fields_ = fields.List(fields.Nested(TemplateFieldSchema), data_key="fields")


class MatterGuideSchema(Schema):
    class Meta:
        example = {key: AUTHORED_EXAMPLE[key] for key in ("matter", "version", "template", "guide")}

    matter = fields.String()
    version = fields.Integer(metadata={"description": "the live version"})
    template = fields.String(allow_none=True, metadata={
        "description": "the template it was made from; null: a shipped matter, whose guide is "
                       "processes/catalogue.yaml's (PATCH answers 409)"})
    guide = fields.Dict(metadata={"description": "the guide's fields (criteria and comparisons are in the rule set)"})


class AuthoredSchema(MatterGuideSchema):
    class Meta:
        example = AUTHORED_EXAMPLE

    new_version = fields.Boolean(metadata={"description": "false: nothing changed, the live version is answered"})
    warnings = fields.List(fields.Dict(), metadata={"description": "deploy's lint warnings: file, element_id, reason"})


class ImportRequestSchema(Schema):
    class Meta:
        example = {"format": "csv", "template": "window", "content": (
            "基本编码,实施编码,事项名称,事项类型,设定依据,实施主体,法定办结时限,承诺办结时限,申请材料,办理形式,到办事现场次数,收费\n"
            "000000000000-0032-0001,,临时救助,行政给付,《社会救助暂行办法》,海口市民政局,20个工作日,5,"
            "身份证(政府部门核发);户口本(政府部门核发),窗口办理,1,否\n")}

    format = fields.String(required=True, validate=validate.OneOf([f.value for f in ImportFormat]))
    content = fields.String(required=True, validate=validate.Length(min=1, max=3_000_000),
                            metadata={"description": "the file's text: JSON (a list of objects) or CSV with the "
                                                     "national catalogue's column names"})
    template = fields.String(load_default=Template.WINDOW.value, validate=validate.OneOf(TEMPLATE_NAMES),
                             metadata={"description": "each row's template unless its 模板 column names one"})


class ImportFileSchema(Schema):
    class Meta:
        example = {"file": "事项库导出.csv"}

    file = Upload(required=True, metadata={"description": "the export: *.csv (UTF-8, or GB18030) or *.json"})


class ImportFileQuerySchema(Schema):
    format = fields.String(validate=validate.OneOf([f.value for f in ImportFormat]),
                           metadata={"description": "default: from the file name's ending"})
    template = fields.String(load_default=Template.WINDOW.value, validate=validate.OneOf(TEMPLATE_NAMES),
                             metadata={"description": "each row's template unless its 模板 column names one"})


class ImportRowSchema(Schema):
    row = fields.Integer(metadata={"description": "1: the file's first matter", "example": 1})
    line = fields.Integer(allow_none=True, metadata={"description": "CSV: the line it starts on", "example": 2})
    status = fields.String(validate=validate.OneOf([s.value for s in RowStatus]))
    code = fields.String(allow_none=True, metadata={"example": "m_000000000000_0032_0001"})
    name = fields.String(allow_none=True, metadata={"example": "临时救助"})
    template = fields.String(allow_none=True, metadata={"example": "window"})
    version = fields.Integer(allow_none=True, metadata={"example": 1})
    reasons = fields.List(fields.String(), metadata={"description": "why refused: 列名: problem",
                                                     "example": ["实施主体: 未知的实施主体「不存在局」"]})
    normalised = fields.List(fields.Dict(), metadata={"description": "material names: from, to",
                                                      "example": [{"from": "身份证", "to": "居民身份证"}]})
    notes = fields.List(fields.String(), metadata={"example": []})


class ImportReportSchema(Schema):
    total = fields.Integer(metadata={"example": 1})
    counts = fields.Dict(keys=fields.String(), values=fields.Integer(), metadata={
        "example": {"created": 1, "updated": 0, "unchanged": 0, "refused": 0}})
    ignored_columns = fields.List(fields.String(), metadata={"example": ["备注"]})
    rows = fields.List(fields.Nested(ImportRowSchema))


def _template(name: str) -> Template:
    try:
        return Template(name)
    except ValueError:
        raise NotFound(f"没有模板 {name!r}；可用：{', '.join(TEMPLATE_NAMES)}") from None


def _answer(session, authored: Authored) -> dict:
    matter = session.get(Matter, authored.matter)
    return {"matter": authored.matter, "version": authored.version, "template": matter.elements.get("template"),
            "new_version": authored.new_version, "warnings": authored.warnings, "guide": guide_of(matter.elements)}


@blp.route("/templates")
class Templates(MethodView):
    @blp.response(200, TemplateSchema(many=True))
    @roles("analyst", "admin")
    def get(self):
        """The templates a matter can be made from, each with the guide fields it takes."""
        return [{"name": t.value, "title": t.about.title, "description": t.about.description,
                 "handling_depth": t.about.handling_depth, "fields_": [f.as_dict() for f in guide_fields(t)]}
                for t in Template]


@blp.route("/templates/<template>/matters")
class TemplateMatters(MethodView):
    @blp.arguments(GuideSchema)
    @blp.response(201, AuthoredSchema)
    @blp.alt_response(400, "BAD_REQUEST")
    @blp.alt_response(404, "NOT_FOUND")
    @blp.alt_response(409, "CONFLICT")
    @blp.alt_response(422, "UNPROCESSABLE_ENTITY")
    @roles("analyst", "admin")
    def post(self, guide: dict, template: str):
        """A new matter from a template: its guide in the body, version 1 deployed (409: the code is taken)."""
        made_from, wired = _template(template), services()
        checked = read_guide(guide, made_from, set(wired.sources))
        with wired.sessions() as session:
            authored = create_matter(session, made_from, checked, g.user.username, set(wired.sources))
            session.commit()
            return _answer(session, authored), 201, {"Location": f"/api/matters/{authored.matter}/guide"}


@blp.route("/matters/<code>/guide")
class AuthoredGuide(MethodView):
    @blp.response(200, MatterGuideSchema)
    @blp.alt_response(404, "NOT_FOUND")
    @blp.alt_response(409, "CONFLICT")
    @roles("analyst", "admin")
    def get(self, code: str):
        """The guide of a matter made from a template, as an edit starts from it."""
        with services().sessions() as session:
            matter = session.get(Matter, code)
            if matter is None:
                raise NotFound(f"没有编码为 {code} 的事项")
            live = current_definition(session, code)
            policy = live.policy or matter.elements
            return {"matter": code, "version": live.version, "template": policy.get("template"),
                    "guide": guide_of(policy)}

    @blp.arguments(GuideSchema)
    @blp.response(200, AuthoredSchema)
    @blp.alt_response(400, "BAD_REQUEST")
    @blp.alt_response(404, "NOT_FOUND")
    @blp.alt_response(409, "CONFLICT")
    @blp.alt_response(422, "UNPROCESSABLE_ENTITY")
    @roles("analyst", "admin")
    def patch(self, changes: dict, code: str):
        """Change a matter's guide: a new version with the live files and the changed policy
        (the live version when nothing changed). 409: not a matter made from a template."""
        wired = services()
        with wired.sessions() as session:
            authored = edit_guide(session, code, changes, g.user.username, set(wired.sources))
            session.commit()
            return _answer(session, authored)


@blp.route("/catalogue/import")
class CatalogueImport(MethodView):
    @blp.arguments(ImportRequestSchema)
    @blp.response(200, ImportReportSchema)
    @blp.alt_response(400, "BAD_REQUEST")
    @blp.alt_response(422, "UNPROCESSABLE_ENTITY")
    @roles("analyst", "admin")
    def post(self, body: dict):
        """Import a matter catalogue export (事项库, JSON or CSV): one report entry per row —
        created, updated, unchanged or refused and why. Each row is its own transaction."""
        return _import(read_records(body["content"], ImportFormat(body["format"])), body["template"])


@blp.route("/catalogue/import/file")
class CatalogueImportFile(MethodView):
    @roles("analyst", "admin")  # first: who may upload is known before the upload is read
    @blp.arguments(ImportFileQuerySchema, location="query")
    @blp.arguments(ImportFileSchema, location="files")
    @blp.response(200, ImportReportSchema)
    @blp.alt_response(400, "BAD_REQUEST")
    @blp.alt_response(422, "UNPROCESSABLE_ENTITY")
    def post(self, query: dict, upload: dict):
        """Import a catalogue export uploaded as a file (multipart/form-data, field ``file``);
        the same report as POST /api/catalogue/import."""
        file = upload["file"]
        fmt = ImportFormat(query["format"]) if "format" in query else format_of(file.filename or "")
        if fmt is None:
            raise InvalidInput("无法判断文件格式", {"format": ["文件名应以 .csv 或 .json 结尾，或写明 format=csv|json"]})
        return _import(read_records(file.read(), fmt), query["template"])


def _import(records: Records, template: str) -> dict:
    if len(records.rows) > MAX_IMPORT_ROWS:
        raise InvalidInput(f"一次最多导入 {MAX_IMPORT_ROWS} 行", {"content": [
            f"共 {len(records.rows)} 行：请分批导入，或使用命令 onewindow catalogue import"]})
    wired = services()
    report = import_catalogue(wired.sessions, records, Template(template), g.user.username, set(wired.sources))
    return report.as_dict()
