"""Each matter's form published as JSON Schema (GET /api/matters/{code}/schema): a valid
schema; a real valid submission validates against it and the server accepts it; each
invalid one fails both; and its example is accepted by the submit endpoint itself."""
from __future__ import annotations

import pytest
from jsonschema import Draft202012Validator

from engine.definitions.catalogue import read_catalogue
from engine.config import CATALOGUE_FILE
from engine.people.subjects import REGISTRY, SubjectKind, SubjectPolicy

FIRST_ID, SECOND_ID, OLD_ID = "110105195803140214", "46010519900709135X", "310104194011020261"
CREDIT_CODE, PHONE = "91110105MA01ABCDXR", "13912345678"
VALID = {
    "senior_card": {"applicant_name": "王秀英", "id_number": OLD_ID, "phone": PHONE, "mail_address": "海口市美兰区1号"},
    "elderly_subsidy": {"applicant_name": "冯三", "id_number": OLD_ID, "phone": PHONE, "bank_account": "6222020200112233445"},
    "resident_pension": {"applicant_name": "王五", "id_number": FIRST_ID, "phone": PHONE, "contribution_years": 15},
    "rental_filing": {"landlord_name": "张三", "landlord_id_number": FIRST_ID, "tenant_name": "李四",
                      "tenant_id_number": SECOND_ID, "property_cert_no": "琼(2024)海口市不动产权第0001234号",
                      "address": "海口市龙华区滨海大道1号", "start_date": "2026-03-01", "end_date": "2027-02-28",
                      "monthly_rent": 2500.5, "phone": PHONE},
    "hygiene_licence": {"company_name": "海口清泉浴室", "credit_code": CREDIT_CODE, "phone": PHONE,
                        "venue_address": "海口市龙华区滨海大道2号", "venue_type": "bathing", "area_m2": 120.5,
                        "staff_certified": "yes", "hygiene_tested": "yes", "commitment": "signed"},
    "publication_retail_check": {"company_name": "椰城书店", "credit_code": CREDIT_CODE, "legal_representative": "李四",
                                 "phone": PHONE, "business_address": "海口市秀英区3号", "report_year": 2025,
                                 "business_area_m2": 80, "annual_sales": 35.5, "staff_count": 4, "penalties": 0,
                                 "truthful": True},
    "road_occupation": {"applicant_name": "海口市政工程公司", "id_number": SECOND_ID, "phone": PHONE,
                        "location": "滨海大道100-200米", "purpose": "管道维修", "start_date": "2026-04-01",
                        "end_date": "2026-04-03", "area_m2": 12.5, "materials_provided": ["临时占用城市道路申请书"],
                        "delivery_method": "mail", "mail_address": "海口市龙华区4号"},
}
WRONG = {  # one field each, wrong in a way the schema states (and the server refuses)
    "senior_card": {"phone": "12345"},
    "elderly_subsidy": {"bank_account": "62220-2020"},
    "resident_pension": {"contribution_years": 2.5},
    "rental_filing": {"monthly_rent": -1},
    "hygiene_licence": {"venue_type": "casino"},
    "publication_retail_check": {"report_year": 1999},
    "road_occupation": {"materials_provided": ["别的材料"]},
}
COMPANY_X = {"company_name": "海口椰风科技有限公司", "licence_no": "琼市监登字〔2026〕第000001号"}
UTIL_X = {"property_address": "海口市龙华区滨海大道1号", "account_no": "0101234567", "property_cert_no": "琼(2024)海口市不动产权第0001234号"}
ME = {"applicant_name": "王五", "id_number": FIRST_ID, "phone": PHONE}
VALID.update({
    "company_registration": {**ME, "company_name": "海口椰风科技有限公司", "company_type": "llc", "registered_capital": 100.5,
                             "business_scope": "软件开发", "business_address": "海口市龙华区1号"},
    "seal_engraving": {**ME, **COMPANY_X, "seal_count": 2},
    "invoice_application": {**ME, **COMPANY_X, "invoice_kind": "ordinary", "monthly_quantity": 20},
    "social_insurance_registration": {**ME, **COMPANY_X, "employee_count": 5},
    "housing_fund_registration": {**ME, **COMPANY_X, "employee_count": 5, "contribution_rate": 8},
    "deed_tax": {**ME, "property_cert_no": "琼(2024)海口市不动产权第0001234号", "transaction_price": 1000000.5, "floor_area": 88.25, "first_home": "no"},
    "property_transfer": {**ME, "property_cert_no": "琼(2024)海口市不动产权第0001234号", "transaction_price": 1000000, "seller_name": "李四", "seller_id_number": SECOND_ID},
    "water_transfer": {**ME, **UTIL_X}, "power_transfer": {**ME, **UTIL_X}, "gas_transfer": {**ME, **UTIL_X},
})
WRONG.update({
    "company_registration": {"company_type": "corp"}, "seal_engraving": {"seal_count": 6},
    "invoice_application": {"monthly_quantity": 1.5}, "social_insurance_registration": {"employee_count": 0},
    "housing_fund_registration": {"contribution_rate": 4}, "deed_tax": {"floor_area": 0},
    "property_transfer": {"seller_id_number": "123"}, "water_transfer": {"account_no": "1" * 33},
    "power_transfer": {"account_no": "1" * 33}, "gas_transfer": {"account_no": "1" * 33},
})

CATALOGUE = {entry["code"]: entry for entry in read_catalogue(CATALOGUE_FILE)}
SHIPPED = sorted(code for code, entry in CATALOGUE.items() if "bundle" not in entry)  # bundles: test_bundles.py
# 四级四同: Sanya's variant of 临时占道 has the same form as Haikou's
VALID["road_occupation_sanya"], WRONG["road_occupation_sanya"] = VALID["road_occupation"], WRONG["road_occupation"]


def test_every_shipped_matter_has_a_valid_and_an_invalid_payload_here():
    assert set(VALID) == set(WRONG) == set(SHIPPED)


@pytest.fixture(scope="module")
def published(api) -> dict[str, dict]:
    schemas = {}
    for code in SHIPPED:
        reply = api.get(f"/api/matters/{code}/schema")
        assert reply.status_code == 200, reply.get_json()
        schemas[code] = reply.get_json()
    return schemas


def _validator(schema: dict) -> Draft202012Validator:
    return Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)


def _server_errors(services, code: str, data: dict) -> dict:
    from engine.definitions.versions import current_definition
    from engine.running.compiled import compiled
    from forms import FormValidationError

    with services.sessions() as session:
        form = compiled(current_definition(session, code)).form
    try:
        form.validate(data)
    except FormValidationError as exc:
        return exc.errors
    return {}


@pytest.mark.parametrize("code", SHIPPED)
def test_the_schema_is_json_schema_and_agrees_with_the_server(published, services, code):
    schema = published[code]
    Draft202012Validator.check_schema(schema)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert list(_validator(schema).iter_errors(VALID[code])) == []
    assert _server_errors(services, code, VALID[code]) == {}
    wrong = {**VALID[code], **WRONG[code]}
    assert [error.path[0] for error in _validator(schema).iter_errors(wrong)] == list(WRONG[code])
    assert set(_server_errors(services, code, wrong)) == set(WRONG[code])
    missing = dict(VALID[code])
    missing.pop(schema["required"][0])
    assert not _validator(schema).is_valid(missing) and _server_errors(services, code, missing)
    assert not _validator(schema).is_valid({**VALID[code], "surprise": 1})
    assert _server_errors(services, code, {**VALID[code], "surprise": 1})


def _for_registered_subjects(services, code: str, example: dict, resident, company) -> tuple[dict, str]:
    """The example with each party (engine/people/subjects.py) replaced by a fresh one of the registries
    and its identity fields as the registry has them (an example cannot guess a real person or
    company); returns it and the first party's ID, whom the submission is for."""
    policy = SubjectPolicy.of(CATALOGUE[code])
    assert policy is not None, f"{code} declares no subject"
    subject_ids = [resident(70) if party.kind is SubjectKind.PERSON else company() for party in policy.parties]
    data = dict(example)
    with services.sessions() as session:
        for party, subject_id in zip(policy.parties, subject_ids):
            assert party.id_field in example  # the example names a subject of its own
            record = session.get(REGISTRY[party.kind], subject_id)
            data[party.id_field] = subject_id
            data.update({field: getattr(record, column) for field, column in party.fields.items()})
    return data, subject_ids[0]


@pytest.mark.parametrize("code", SHIPPED)
def test_the_example_is_accepted_by_the_submit_endpoint(api, services, published, applicant_for, resident, company,
                                                        code):
    example = published[code]["examples"][0]
    assert list(_validator(published[code]).iter_errors(example)) == []
    data, subject = _for_registered_subjects(services, code, example, resident, company)
    assert list(_validator(published[code]).iter_errors(data)) == []
    reply = api.post("/api/applications", as_user=applicant_for(subject), json={"matter": code, "data": data})
    assert reply.status_code in (201, 202), reply.get_json()


def test_labels_are_titles_and_checks_are_stated(published):
    fields = published["publication_retail_check"]["properties"]
    assert fields["report_year"] == {"title": "核验年度", "type": "integer", "minimum": 2000, "maximum": 2100}
    assert fields["truthful"]["type"] == "boolean" and fields["truthful"]["enum"] == [True]
    assert published["hygiene_licence"]["properties"]["venue_type"]["enum"][:2] == ["lodging", "bathing"]
    assert published["rental_filing"]["properties"]["start_date"]["format"] == "date"
    assert published["senior_card"]["title"] == "老年人优待证"


def test_an_unknown_matter_has_no_schema(api):
    reply = api.get("/api/matters/no_such_matter/schema")
    assert reply.status_code == 404
    assert reply.headers["Content-Type"] == "application/problem+json"
