"""GET /api/matters/search: the portal's search by everyday words (engine/search.py), public
like the catalogue. What people type finds the matter, a signed-in caller sees their
region's matters, a matter authored a moment ago is found at once, a blank query is a 422
in Chinese, and no text whatever is a 5xx."""
from __future__ import annotations

from urllib.parse import quote

import pytest

from engine.definitions.catalogue import read_catalogue
from engine.demo import DEMO_PASSWORD
from engine.people import users

SEARCH = "/api/matters/search"
HAIKOU, SANYA = "460100", "460200"
# Other tests of the suite add matters (copies of shipped ones under other codes): the
# expectations below are about the shipped ones.
SHIPPED = {entry["code"] for entry in read_catalogue()}


def found(api, query: str, as_user: str | None = None, **parameters) -> list[dict]:
    reply = api.get(SEARCH, as_user, query_string={"q": query, **parameters})
    assert reply.status_code == 200, reply.get_data(as_text=True)[:500]
    return reply.get_json()


def shipped(hits: list[dict]) -> list[str]:
    """The codes of the shipped matters among the hits, in the order found."""
    return [hit["code"] for hit in hits if hit["code"] in SHIPPED]


def test_old_peoples_subsidy_is_found_by_everyday_words(api):
    [first, *rest] = found(api, "老人补贴")
    assert first == {"code": "elderly_subsidy", "name": "高龄老人长寿补贴", "department": "civil_affairs",
                     "department_name": "民政局", "score": first["score"], "matched": ["老人补贴"]}
    assert first["score"] > 0 and all(hit["score"] <= first["score"] for hit in rest)
    sentence = found(api, "我家老人80岁了能领什么补贴")
    assert sentence[0]["code"] == "elderly_subsidy" and {"老人", "补贴"} <= set(sentence[0]["matched"])


@pytest.mark.parametrize(("query", "expected"), [
    ("开公司", {"business_startup", "company_registration"}),
    ("房子过户", {"property_transfer", "property_transfer_bundle"}),
])
def test_everyday_words_for_a_company_and_a_house(api, query, expected):
    assert set(shipped(found(api, query))[:2]) == expected


def test_nothing_found_is_an_empty_list_and_limit_bounds_the_answer(api):
    assert found(api, "火星移民签证") == []
    assert len(found(api, "过户", limit=2)) == 2


def test_a_signed_in_caller_sees_the_matters_of_their_region(api, services, new_user):
    assert set(shipped(found(api, "占道"))) == {"road_occupation", "road_occupation_sanya"}  # anonymous
    haikou = new_user()  # an applicant of Haikou
    with services.sessions() as session:
        users.create_user(session, "search_sanya", DEMO_PASSWORD, "applicant", region=SANYA)
        session.commit()
    assert shipped(found(api, "占道", haikou)) == ["road_occupation"]
    assert shipped(found(api, "占道", "search_sanya")) == ["road_occupation_sanya"]
    assert shipped(found(api, "占道", haikou, region=SANYA)) == ["road_occupation_sanya"]  # named
    assert set(shipped(found(api, "占道", new_user("analyst")))) == {"road_occupation", "road_occupation_sanya"}
    stale = api.http.get(SEARCH, query_string={"q": "占道"}, headers={"Authorization": "Bearer no-such-token"})
    assert stale.status_code == 200  # public: a stale token searches everywhere
    assert set(shipped(stale.get_json())) == {"road_occupation", "road_occupation_sanya"}


def test_a_matter_authored_now_is_found_at_once(api, new_user):
    """The index is rebuilt when the catalogue changes (a new definition), not per request;
    the guide's 俗称 and keywords (aliases, keywords) are searched like the catalogue's."""
    assert "search_digging" not in [hit["code"] for hit in found(api, "道路挖掘")]
    created = api.post("/api/templates/window/matters", new_user("analyst"), json={
        "code": "search_digging", "name": "城市道路挖掘许可", "type": "行政许可", "legal_basis": "《城市道路管理条例》",
        "department": "housing", "legal_days": 20, "promised_days": 10, "aliases": ["挖马路"], "keywords": ["管线施工"]})
    assert created.status_code == 201, created.get_json()
    assert found(api, "道路挖掘")[0]["code"] == "search_digging"
    assert found(api, "挖马路")[0] == {"code": "search_digging", "name": "城市道路挖掘许可", "department": "housing",
                                      "department_name": "住房和城乡建设局", "score": found(api, "挖马路")[0]["score"],
                                      "matched": ["挖马路"]}
    assert found(api, "管线施工")[0]["code"] == "search_digging"


@pytest.mark.parametrize(("parameters", "field"), [
    ({}, "q"), ({"q": ""}, "q"), ({"q": "   "}, "q"), ({"q": "\u3000\t"}, "q"), ({"q": "老" * 101}, "q"),
    ({"q": "老人", "limit": "0"}, "limit"), ({"q": "老人", "limit": "x"}, "limit"), ({"q": "老人", "region": "海口"}, "region"),
])
def test_a_blank_or_bad_query_is_a_422_in_chinese(api, parameters, field):
    reply = api.get(SEARCH, query_string=parameters)
    assert reply.status_code == 422 and reply.headers["Content-Type"].startswith("application/problem+json")
    assert field in reply.get_json()["errors"]
    if field == "q":
        assert any("\u4e00" <= c <= "\u9fff" for c in reply.get_json()["errors"]["q"][0])


@pytest.mark.parametrize("query", ["老" * 100, "%00", "'; DROP TABLE matter; --", "<script>alert(1)</script>",
                                   "🙂" * 50, "../../etc/passwd", "ＡＢＣ", "\ufffd", "search"])
def test_any_text_is_answered_without_a_server_error(api, query):
    reply = api.get(SEARCH, query_string={"q": query})
    assert reply.status_code == 200 and isinstance(reply.get_json(), list)


def test_a_nul_is_refused_like_everywhere_else(api):
    """api/protection.py refuses NUL in any query before the view (422, ``query: q``)."""
    reply = api.get(SEARCH, query_string={"q": "老人\x00补贴"})
    assert reply.status_code == 422 and "query: q" in reply.get_json()["errors"]


def test_search_is_not_taken_for_a_matter_code(api):
    assert api.get(SEARCH).status_code == 422  # not 404 "no matter 'search'"
    assert api.get(f"{SEARCH}?q={quote('老人补贴')}").status_code == 200
    assert api.get("/api/matters/elderly_subsidy").status_code == 200


def test_the_document_describes_the_search(api):
    operation = api.get("/api/openapi.json").get_json()["paths"][SEARCH]["get"]
    assert operation["operationId"] == "getSearchMatters" and operation["security"] == []
    parameters = {p["name"]: p for p in operation["parameters"]}
    assert parameters["q"]["required"] and parameters["q"]["schema"]["maxLength"] == 100
    assert {"200", "422"} <= set(operation["responses"])
