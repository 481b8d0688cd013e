"""Fuzzing every operation of the OpenAPI document with schemathesis.

The document is the contract clients are generated from, so every answer must be one it
documents (status, media type, body schema) and none may be a 5xx, whatever the input.
Bounded and derandomised: CI sends the same requests on every run.
"""
from __future__ import annotations

from dataclasses import replace

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings, strategies as st
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (content_type_conformance, negative_data_rejection,
                                               response_headers_conformance, response_schema_conformance,
                                               status_code_conformance)

from api import create_app
from engine.people import users
from engine.demo import DEMO_PASSWORD
from tests.integration.helpers import ApiClient
from tests.integration.test_concurrent_approvals import give_identity
from tests.integration.test_tasks import task_of

EXAMPLES = 20
CALLERS = {"applicant": ("applicant", None), "clerk": ("clerk", "civil_affairs"), "analyst": ("analyst", None)}
CONTRACT = [not_a_server_error, status_code_conformance, content_type_conformance,
            response_schema_conformance, response_headers_conformance]
# Positive data may still be refused (403 for the role, 404 for a random id), so
# positive_data_acceptance would not be fair; invalid data must always be refused.
CHECKS = {GenerationMode.POSITIVE: CONTRACT, GenerationMode.NEGATIVE: [*CONTRACT, negative_data_rejection]}
# Signing out ends the caller's token, and every operation fuzzed after it would only meet
# a 401 (test_accounts.py covers it).
NOT_FUZZED = {"POST /api/auth/logout"}


@pytest.fixture(scope="module")
def targets(api, services, people) -> dict:
    """A signed-in caller per role, and real objects for the fuzzer to hit now and then:
    random ids and matter codes only ever find nothing, and a 404 exercises little."""
    with services.sessions() as session:
        callers = {name: users.create_user(session, f"fuzz_{name}", DEMO_PASSWORD, role, department)
                   for name, (role, department) in CALLERS.items()}
        elder = give_identity(session, callers["applicant"], age=85)  # a verified person (实名认证) of 85
        session.commit()
    applications = [_waiting_application(services, "fuzz_applicant", elder) for _ in range(2)]
    return {"headers": {name: api.headers(f"fuzz_{name}") for name in CALLERS},
            "application_id": applications,
            "task_id": [task_of(api, "fuzz_clerk", a)["id"] for a in applications],
            "code": [m["code"] for m in api.get("/api/matters").get_json()],
            "credit_code": [people["bookshop_red"], people["bookshop_blue"]]}  # demo companies


def _waiting_application(services, applicant: str, id_number: str) -> int:
    """The applicant's own elderly-subsidy application, waiting for a civil-affairs clerk:
    with the death register not answering, the rules cannot verify it (转人工)."""
    silent = services.sources["death_records"].slowed(delay=1, timeout=0.01)
    unverifiable = ApiClient(create_app(replace(services, sources={**services.sources, "death_records": silent})))
    body = unverifiable.post("/api/applications", applicant, json={
        "matter": "elderly_subsidy", "data": {"id_number": id_number, "phone": "13700137000"}}).get_json()
    assert body["status"] == "waiting", body
    return body["id"]


@pytest.fixture(scope="module")
def openapi(api):
    """The document as the app serves it. The token is ours to send: schemathesis must not
    generate or drop Authorization (test_authorization.py covers who may call what)."""
    schema = schemathesis.openapi.from_wsgi("/api/openapi.json", api.app)
    schema.config.generation.update(with_security_parameters=False)
    return schema


def aim_at_real_objects(case, data, targets: dict) -> None:
    """Half the time, a real id or matter code instead of the generated one."""
    for name in case.path_parameters or {}:
        if name in targets and data.draw(st.booleans(), label=f"real {name}"):
            case.path_parameters[name] = data.draw(st.sampled_from(targets[name]), label=name)
    if isinstance(case.body, dict) and "matter" in case.body and data.draw(st.booleans(), label="real matter"):
        case.body["matter"] = data.draw(st.sampled_from(targets["code"]), label="matter")


def fuzz(operation, mode: GenerationMode, headers: dict, targets: dict) -> None:
    """EXAMPLES requests to one operation; raises schemathesis' report of what failed."""
    @settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
              suppress_health_check=list(HealthCheck))
    @given(data=st.data())
    def run(data) -> None:
        case = data.draw(operation.as_strategy(generation_mode=mode), label="case")
        if mode == GenerationMode.POSITIVE:  # a real id would make a negative case valid
            aim_at_real_objects(case, data, targets)
        case.call_and_validate(headers=headers, checks=CHECKS[mode])

    try:
        run()
    except Unsatisfiable:
        if mode == GenerationMode.POSITIVE:
            raise  # else: nothing in this operation can be made invalid (GET /api/matters)


@pytest.mark.parametrize("mode", list(GenerationMode))
@pytest.mark.parametrize("role", list(CALLERS))
def test_every_operation_answers_as_documented_and_never_with_5xx(openapi, targets, role, mode):
    failures = {}
    for operation in openapi.get_all_operations():
        operation = operation.ok()
        if operation.label in NOT_FUZZED:
            continue
        try:
            fuzz(operation, mode, targets["headers"][role], targets)
        except (Exception, BaseExceptionGroup) as exc:  # schemathesis raises a FailureGroup
            failures[operation.label] = exc  # fuzz every operation, report every failure
    assert not failures, "\n\n".join(f"{label}: {exc}" for label, exc in failures.items())


def test_the_document_says_which_operations_need_no_token(api):
    """Generated clients must not demand a token for login, registration, the catalogue, the
    guides, the bundles or the departments' names (the fuzzer always sends one, so it cannot tell)."""
    paths = api.get("/api/openapi.json").get_json()["paths"]
    public = {(method.upper(), path) for path, operations in paths.items() for method, operation in operations.items()
              if isinstance(operation, dict) and operation.get("security") == []}
    assert public == {("POST", "/api/auth/login"), ("POST", "/api/auth/register"), ("GET", "/api/matters"),
                      ("GET", "/api/matters/{code}"), ("GET", "/api/matters/{code}/schema"),
                      ("POST", "/api/matters/{code}/materials"), ("GET", "/api/bundles"), ("GET", "/api/matters/search"),
                      ("GET", "/api/departments")}
