"""The OpenAPI document as integrators meet it: every operation has a unique operationId, a
one-line summary, and an example of its request body and of each success response (at the
media type, on the schema, or on every field a client would fill in); each matter's form
is published as JSON Schema and offered as a submission example."""
from __future__ import annotations

import pytest

SUCCESS = ("200", "201", "202")


@pytest.fixture(scope="module")
def document(api) -> dict:
    reply = api.get("/api/openapi.json")
    assert reply.status_code == 200
    return reply.get_json()


def _operations(document: dict):
    for path, item in document["paths"].items():
        for method, operation in item.items():
            if method in ("get", "post", "put", "patch", "delete"):
                yield f"{method.upper()} {path}", operation


def _resolve(document: dict, schema: dict) -> dict:
    while "$ref" in schema:
        schema = document["components"]["schemas"][schema["$ref"].rsplit("/", 1)[-1]]
    return schema


def without_example(document: dict, schema: dict, where: str) -> list[str]:
    """Where a client would see no example value: nothing at this level and, below it, a
    field (or the items of a list) with none."""
    if "example" in schema or "examples" in schema:
        return []
    if "$ref" in schema:
        return without_example(document, _resolve(document, schema), where)
    if "allOf" in schema:  # apispec wraps a described nested schema as allOf [ref]
        return [gap for part in schema["allOf"] for gap in without_example(document, part, where)]
    if schema.get("type") == "array":
        return without_example(document, schema.get("items", {}), f"{where}[]")
    if schema.get("properties"):
        return [gap for name, field in schema["properties"].items()
                for gap in without_example(document, field, f"{where}.{name}")]
    return [where]


def _media(content: dict) -> tuple[str, dict]:
    media_type, media = next(iter(content.items()))
    return media_type, media


def test_every_operation_has_a_unique_operation_id_and_a_one_line_summary(document):
    ids = {}
    for name, operation in _operations(document):
        assert operation.get("operationId"), name
        assert operation["operationId"] not in ids, (name, ids.get(operation["operationId"]))
        ids[operation["operationId"]] = name
        assert operation.get("summary", "").strip(), f"{name} has no summary (the view's docstring)"
        assert "\n" not in operation["summary"], name
    assert ids["postApplications"] == "POST /api/applications"
    assert ids["getMatterFormSchema"] == "GET /api/matters/{code}/schema"


def test_every_request_body_and_success_response_has_an_example(document):
    gaps = []
    for name, operation in _operations(document):
        bodies = []
        if "requestBody" in operation:
            bodies.append(("request", operation["requestBody"]["content"]))
        for status, response in operation["responses"].items():
            response = _resolve_response(document, response)
            if status in SUCCESS and "content" in response:
                bodies.append((status, response["content"]))
        for label, content in bodies:
            _, media = _media(content)
            if "example" in media or "examples" in media:
                continue
            gaps += without_example(document, media.get("schema", {}), f"{name} {label}")
    assert gaps == []


def _resolve_response(document: dict, response: dict) -> dict:
    if "$ref" in response:
        return document["components"]["responses"][response["$ref"].rsplit("/", 1)[-1]]
    return response


def test_each_matter_form_is_a_schema_and_a_submission_example(api, document):
    codes = {matter["code"] for matter in api.get("/api/matters").get_json() if matter["version"]}
    schemas = document["components"]["schemas"]
    assert {name.removeprefix("MatterForm_") for name in schemas if name.startswith("MatterForm_")} == codes
    submit = document["paths"]["/api/applications"]["post"]["requestBody"]["content"]["application/json"]
    assert set(submit["examples"]) == codes
    senior = submit["examples"]["senior_card"]["value"]
    assert senior["matter"] == "senior_card"
    assert set(senior["data"]) == set(schemas["MatterForm_senior_card"]["required"])
    assert schemas["MatterForm_senior_card"]["properties"]["id_number"]["title"] == "老人身份证号码"
    assert "/api/matters/{code}/schema" in schemas["Submission"]["properties"]["data"]["description"]


def test_the_supplement_body_is_the_supplement_task_forms_json_schema(document):
    supplement = document["paths"]["/api/applications/{reference}/supplement"]["post"]
    schema = supplement["requestBody"]["content"]["application/json"]["schema"]
    materials = schema["properties"]["materials"]
    assert (materials["type"], materials["minItems"], materials["maxItems"]) == ("array", 1, 50)
    assert materials["items"]["required"] == ["name", "reference"] and schema["required"] == ["materials"]
    assert schema["example"] == {"materials": [{"name": "材料名称", "reference": "材料编号"}]}
