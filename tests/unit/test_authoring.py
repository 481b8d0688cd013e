"""Authoring without a database (engine/authoring/): the guide's checks, each template's
files (they pass every deploy check and carry their diagram), the materials dictionary and
the cells of a catalogue export."""
from __future__ import annotations

import json

import pytest
from lxml import etree

from engine.authoring.catalogue_import import (ImportFormat, RowPlan, _days, _fee, code_for, decode, plan_row,
                                               read_records)
from engine.authoring.criteria import ComparisonKind, CriterionKind
from engine.authoring.guide import MaterialSource, read_guide
from engine.authoring.materials import MaterialsDictionary, load_dictionary, read_materials
from engine.authoring.templates import Template, files_for
from engine.definitions.versions import upload_warnings, validate_upload
from engine.errors import InvalidInput
from engine.people.assignment import Staffing
from engine.people.organisation import read_departments
from engine.sources.embedded import EMBEDDED_QUERIES

SOURCES = set(EMBEDDED_QUERIES)
GUIDE = {"code": "t_matter", "name": "测试事项", "type": "行政确认", "legal_basis": "《测试办法》",
         "department": "civil_affairs", "legal_days": 20, "promised_days": 5}
EXTRA = {Template.INSTANT: {"criteria": [{"kind": "min_age", "age": 60}, {"kind": "max_age", "age": 99},
                                         {"kind": "local_household"}, {"kind": "alive"}]},
         Template.DATA_COMPARISON: {"comparisons": ["name", "property_owner"]},
         Template.COMMITMENT: {"verify_within_days": 7}, Template.WINDOW: {}}
BPMN = "{http://www.omg.org/spec/BPMN/20100524/MODEL}"
BPMNDI = "{http://www.omg.org/spec/BPMN/20100524/DI}"


def errors_of(data: dict, template: Template = Template.WINDOW) -> dict:
    with pytest.raises(InvalidInput) as refused:
        read_guide(data, template, SOURCES)
    return refused.value.errors


# --- templates ---------------------------------------------------------------------------

@pytest.mark.parametrize("template", list(Template))
def test_each_templates_files_pass_every_deploy_check(template):
    upload = files_for(template, read_guide({**GUIDE, **EXTRA[template]}, template, SOURCES))
    staffing = Staffing(departments=read_departments(), clerks={})
    assert validate_upload(upload, SOURCES, staffing, "civil_affairs") == []
    assert upload_warnings(upload) == []
    assert upload.policy["template"] == template.value and upload.policy["handling_depth"]


@pytest.mark.parametrize("template", list(Template))
def test_each_templates_process_is_drawn(template):
    """BPMN DI: a shape for every flow node and lane, an edge for every flow — bpmn-js opens it as laid out."""
    root = etree.fromstring(files_for(template, read_guide({**GUIDE, **EXTRA[template]}, template, SOURCES))
                            .bpmn.encode("utf-8"))
    process = root.find(f"{BPMN}process")
    assert process.get("id") == "t_matter"
    drawn = {e.get("bpmnElement") for e in root.iter(f"{BPMNDI}BPMNShape", f"{BPMNDI}BPMNEdge")}
    elements = {e.get("id") for e in process.iterdescendants(f"{BPMN}*") if e.get("id")
                and etree.QName(e).localname not in ("laneSet", "timerEventDefinition")}
    assert elements <= drawn, elements - drawn


def test_the_instant_rules_refuse_each_unmet_criterion_and_approve_when_all_hold():
    upload = files_for(Template.INSTANT, read_guide({**GUIDE, **EXTRA[Template.INSTANT]}, Template.INSTANT, SOURCES))
    assert "under_min_age" in upload.ruleset and "申请人未满60周岁，不符合办理条件" in upload.ruleset
    assert "申请人已超过99周岁" in upload.ruleset and "deceased" in upload.ruleset
    assert upload.policy["subject"] == [{"person": "id_number", "fields": {"applicant_name": "name"}}]


def test_a_comparison_of_the_property_asks_for_the_certificate_number():
    guide = read_guide({**GUIDE, "comparisons": ["property_owner"]}, Template.DATA_COMPARISON, SOURCES)
    form = json.loads(files_for(Template.DATA_COMPARISON, guide).form)
    assert "property_cert_no" in [c.get("key") for c in form["components"]]
    assert guide.comparisons == (ComparisonKind.PROPERTY_OWNER,)
    assert read_guide(GUIDE, Template.DATA_COMPARISON, SOURCES).comparisons == (ComparisonKind.NAME,)  # the default


def test_the_commitment_policy_says_when_to_verify():
    guide = read_guide(GUIDE, Template.COMMITMENT, SOURCES)
    assert files_for(Template.COMMITMENT, guide).policy["commitment"]["verify_within_working_days"] == 10


# --- the guide ---------------------------------------------------------------------------

def test_a_guide_is_refused_with_every_fields_problem_in_chinese():
    errors = errors_of({"code": "9lives", "name": " ", "type": "许可", "department": "nowhere", "legal_days": 0,
                        "promised_days": True, "region": "110000", "fee": -1, "trips": 99, "colour": "red",
                        "materials": [{"name": "身份证"}, {"name": "身份证", "source": "population_registry"},
                                      {"source": "applicant"}], "conditions": ["", 3]})
    assert set(errors) == {"code", "name", "type", "legal_basis", "department", "legal_days", "promised_days",
                           "region", "fee", "trips", "colour", "materials.1.name", "materials.2.name",
                           "conditions.0", "conditions.1"}
    assert errors["name"] == errors["legal_basis"] == ["必填"]
    assert errors["colour"] == ["未知字段"]
    assert errors["materials.1.name"] == ["材料「身份证」重复"]


def test_promised_days_may_not_exceed_legal_days():
    assert errors_of({**GUIDE, "promised_days": 21}) == {
        "promised_days": ["承诺办结时限（21个工作日）不得超过法定办结时限（20个工作日）"]}


def test_instant_needs_criteria_that_someone_can_meet():
    assert "criteria" in errors_of(GUIDE, Template.INSTANT)
    impossible = errors_of({**GUIDE, "criteria": [{"kind": "min_age", "age": 70}, {"kind": "max_age", "age": 60}]},
                           Template.INSTANT)
    assert impossible == {"criteria": ["最低年龄不得高于最高年龄：没有人能符合"]}
    assert set(errors_of({**GUIDE, "criteria": [{"kind": "min_age"}, {"kind": "tall"}, {"kind": "alive", "age": 3}]},
                         Template.INSTANT)) == {"criteria.0.age", "criteria.1.kind", "criteria.2.age"}


def test_a_field_of_another_template_is_refused_not_ignored():
    assert errors_of({**GUIDE, "criteria": [{"kind": "alive"}], "verify_within_days": 3}) == {
        "criteria": ["模板「综合窗口」不使用此项（仅「秒批」模板使用）"],
        "verify_within_days": ["模板「综合窗口」不使用此项（仅「告知承诺」模板使用）"]}


def test_a_shared_source_the_platform_lacks_is_refused():
    with pytest.raises(InvalidInput) as refused:
        read_guide({**GUIDE, "materials": [{"name": "不动产权证书", "source": "property_registry"}]}, Template.WINDOW,
                   {"population_registry"})
    assert refused.value.errors == {"materials.0.source": ["数据来源 property_registry（不动产登记）未接入本平台"]}


# --- materials ---------------------------------------------------------------------------

def test_the_shipped_dictionary_loads_with_the_id_card_problem_solved():
    dictionary = load_dictionary()
    assert len(dictionary.entries) >= 20
    for alias in ("身份证", "身份证件", "二代身份证", "本人身份证", "身份证复印件", "居民身份证（原件）", " 身份证 "):
        assert dictionary.canonical(alias) == "居民身份证", alias
    assert dictionary.canonical("户口薄") == dictionary.canonical("户口本") == "户口簿"
    assert dictionary.canonical("房产证") == "不动产权证书"
    assert dictionary.canonical("一张不在字典里的证明") == "一张不在字典里的证明"


def test_an_alias_claimed_twice_is_refused():
    with pytest.raises(ValueError, match="身份证"):
        MaterialsDictionary.parse("居民身份证: {aliases: [身份证]}\n临时身份证: {aliases: [身份证]}\n")


def test_a_materials_cell_is_read_and_normalised():
    read = read_materials("身份证(政府部门核发);户口本（政府部门核发）；营业执照（副本）；委托书(申请人自备,选填)\n"
                          "出生证(政府部门核发)", load_dictionary())
    assert read.errors == []
    assert read.materials == [
        {"name": "居民身份证", "required": True, "source": "population_registry"},
        {"name": "户口簿", "required": True, "source": "population_registry"},
        {"name": "营业执照（副本）", "required": True, "source": "applicant"},
        {"name": "授权委托书", "required": False, "source": "applicant"},
        {"name": "出生医学证明", "required": True, "source": "applicant"}]
    assert read.normalised == [{"from": "身份证", "to": "居民身份证"}, {"from": "户口本", "to": "户口簿"},
                               {"from": "委托书", "to": "授权委托书"}, {"from": "出生证", "to": "出生医学证明"}]
    assert read.notes == ["「出生医学证明」由政府部门核发但未接入数据共享：由申请人提交"]


def test_the_same_material_twice_is_merged_and_an_unknown_channel_refused():
    dictionary = load_dictionary()
    twice = read_materials("身份证;居民身份证(申请人自备)", dictionary)
    assert [m["name"] for m in twice.materials] == ["居民身份证"] and "已合并" in twice.notes[0]
    unknown = read_materials("营业执照(政府部门核发,快递)", dictionary)
    assert unknown.materials == [] and "「快递」无法识别" in unknown.errors[0]
    licence = read_materials([{"材料名称": "营业执照副本", "来源渠道": "政府部门核发", "是否必要": "是"}], dictionary)
    assert licence.materials == [{"name": "营业执照", "required": True, "source": MaterialSource.LICENCE_LIBRARY.value,
                                  "licence_type": "business_licence"}]


# --- a catalogue export ----------------------------------------------------------------------

def test_a_code_comes_from_the_implementation_or_basic_code_and_is_stable():
    assert code_for("11460100MB1234567X-4000-01") == "m_11460100mb1234567x_4000_01"
    long = "4600" * 30
    assert code_for(long) == code_for(long) and len(code_for(long)) <= 64 and code_for(long) != code_for(long + "1")


@pytest.mark.parametrize(("written", "days"), [("20", 20), (20, 20), ("20个工作日", 20), ("20工作日", 20),
                                               (" 5 天", 5), ("即办", 1), ("二十天", None), ("20 months", None)])
def test_time_limits_in_the_forms_exports_write_them(written, days):
    plan = RowPlan()
    assert _days(written, "法定办结时限", plan) == days
    assert bool(plan.errors) == (days is None)


@pytest.mark.parametrize(("written", "fee"), [("否", 0), ("不收费", 0), ("是", "按标准收取"), ("20元", 20),
                                              ("12.5", 12.5), ("按《收费标准》收取", "按《收费标准》收取"), (30, 30)])
def test_a_fee_is_none_an_amount_or_a_text(written, fee):
    assert _fee(written) == fee


def test_a_department_is_found_by_its_chinese_name_with_a_region_before_it():
    row = {"实施编码": "X-1", "事项名称": "测试", "事项类型": "公共服务", "设定依据": "《测试办法》",
           "法定办结时限": "10", "承诺办结时限": "5", "实施主体": "三亚市民政局"}
    plan = plan_row(row, Template.WINDOW, load_dictionary(), SOURCES)
    assert plan.errors == [] and (plan.guide.department, plan.guide.region) == ("civil_affairs", "460200")
    assert plan_row({**row, "实施主体": "民政局"}, Template.WINDOW, load_dictionary(), SOURCES).guide.region is None
    unknown = plan_row({**row, "实施主体": "北京市民政局"}, Template.WINDOW, load_dictionary(), SOURCES)
    assert unknown.guide is None and unknown.errors[0].startswith("实施主体: 未知的实施主体「北京市民政局」")


def test_instant_criteria_are_written_as_words():
    row = {"实施编码": "X-2", "事项名称": "测试", "事项类型": "行政给付", "设定依据": "《测试办法》", "实施主体": "民政局",
           "法定办结时限": "10", "承诺办结时限": "5", "模板": "秒批", "秒批条件": "年满80周岁；本地户籍、在世;100周岁以下"}
    plan = plan_row(row, Template.WINDOW, load_dictionary(), SOURCES)
    assert plan.template is Template.INSTANT
    assert [(c.kind, c.age) for c in plan.guide.criteria] == [
        (CriterionKind.MIN_AGE, 80), (CriterionKind.LOCAL_HOUSEHOLD, None), (CriterionKind.ALIVE, None),
        (CriterionKind.MAX_AGE, 100)]
    wrong = plan_row({**row, "秒批条件": "身高1米2以上"}, Template.WINDOW, load_dictionary(), SOURCES)
    assert wrong.errors == ["秒批条件: 无法识别的秒批条件「身高1米2以上」（可写：年满N周岁、N周岁以下、本地户籍、在世）"]


def test_a_file_is_utf8_with_or_without_bom_or_gb18030():
    text = "事项名称,实施编码\n测试,X\n"
    assert decode(text.encode("utf-8")) == decode(("\ufeff" + text).encode("utf-8")) == decode(text.encode("gb18030"))


def test_csv_rows_keep_their_lines_and_skip_empty_ones():
    records = read_records("事项名称,实施编码,备注\n一,A,\n,,\n\"二\n（续）\",B,x\n三,C,\n", ImportFormat.CSV)
    assert [r["事项名称"] for r in records.rows] == ["一", "二\n（续）", "三"]
    assert records.lines == [2, 5, 6] and records.ignored_columns == ["备注"]


def test_what_is_no_table_is_refused():
    for content, fmt in (("{}", ImportFormat.JSON), ("[", ImportFormat.JSON), ("事项名称\n", ImportFormat.CSV),
                         ("[]", ImportFormat.JSON), ("[" * 100_000, ImportFormat.JSON)):
        with pytest.raises(InvalidInput):
            read_records(content, fmt)
