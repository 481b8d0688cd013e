"""Pure logic of credit tiers, certificate-free materials and scenario guides, with
in-memory data-sharing sources (the integration tests use the real SQL ones)."""
from __future__ import annotations

from datetime import date, datetime, timezone

import pytest

from engine.definitions import guides
from engine.operations import credit, materials
from engine.errors import InvalidInput, SourceUnavailable
from engine.sources import SourceRecord


class MemorySource:
    def __init__(self, name: str, records: dict | None = None, down: bool = False) -> None:
        self.name, self.deferred, self._records, self._down = name, False, records or {}, down

    def lookup(self, key: str) -> SourceRecord:
        if self._down:
            raise SourceUnavailable(f"{self.name} is down")
        return SourceRecord(self.name, key, self._records.get(key), datetime.now(timezone.utc))


def sources(tier: str = "blue", listed: bool = False, credit_down: bool = False, debtor_down: bool = False) -> dict:
    return {"credit_registry": MemorySource("credit_registry", {"C1": {"tier": tier, "reason": ""}}, credit_down),
            "debtor_list": MemorySource("debtor_list", {"C1": {"listed": listed}}, debtor_down)}


BLOCKING = {"subject_field": "code", "blocks": True, "legal_basis": "《某规定》"}


@pytest.mark.parametrize(("days", "cut"), [(1, 1), (5, 3), (10, 7), (20, 14), (90, 63), (180, 126)])
def test_the_fast_lane_cuts_30_percent_rounding_down(days, cut):
    assert credit.fast_lane_days(days) == cut


def test_tiers_grant_their_privileges_and_black_or_debtors_are_blocked_where_the_matter_says():
    red = credit.check(BLOCKING, {"code": "C1"}, sources("red"))
    assert (red["path"], red["allows"]) == ("normal", {"tolerate_missing": True, "commitment": True, "fast_lane": True})
    assert credit.check(BLOCKING, {"code": "C1"}, sources("blue"))["allows"] == dict.fromkeys(credit.PRIVILEGES, False)
    black = credit.check(BLOCKING, {"code": "C1"}, sources("black"))
    assert black["path"] == "refuse" and "《某规定》" in black["message"]
    debtor = credit.check({**BLOCKING, "blocks": False}, {"code": "C1"}, sources("red", listed=True))
    assert debtor["path"] == "manual" and "失信被执行人" in debtor["message"]


def test_cannot_verify_never_refuses():
    unknown_tier = credit.check(BLOCKING, {"code": "C1"}, sources(credit_down=True))
    assert (unknown_tier["tier"], unknown_tier["path"]) == ("unknown", "normal")
    assert not any(unknown_tier["allows"].values())
    assert credit.check(BLOCKING, {"code": "C1"}, sources(debtor_down=True))["path"] == "manual"


def test_a_false_commitment_takes_commitment_away():
    assert credit._lowered("red") == credit._lowered("orange") == "blue"
    assert credit._lowered("black") == "black"


ELEMENTS = {"certificate_free": {"holder_field": "id"}, "materials": [
    {"name": "身份证", "required": True, "source": "licence_library", "licence_type": "id_card"},
    {"name": "照片", "required": True, "source": "licence_library", "licence_type": "photo"},
    {"name": "申请表", "required": True, "source": "form"},
    {"name": "说明", "required": False, "source": "applicant"}]}


def test_library_materials_are_fetched_and_only_the_rest_requested():
    library = {"licence_library": MemorySource("licence_library", {"P1": {"licences": {
        "id_card": {"licence_no": "ID-1", "valid_until": None},
        "photo": {"licence_no": "PH-1", "valid_until": "2026-01-01"}}}})}
    result = materials.fetch(ELEMENTS, {"id": "P1"}, library, date(2026, 6, 1))
    assert result["fetched"] == [{"name": "身份证", "licence_no": "ID-1", "source": "licence_library"}]
    assert (result["requested"], result["avoided"]) == (["照片"], 1)  # the photo expired; the form counts as given


def test_an_unreachable_library_asks_for_everything_instead_of_failing():
    down = {"licence_library": MemorySource("licence_library", down=True)}
    result = materials.fetch(ELEMENTS, {"id": "P1"}, down, date(2026, 6, 1))
    assert (result["requested"], result["library"]) == (["身份证", "照片"], "unavailable")


GUIDE = {"scenarios": [{"id": "ac", "question": "空调？", "options": {"yes": "是", "no": "否"}}],
         "conditions": ["条件"], "materials": [{"name": "基本材料", "required": True},
                                              {"name": "空调报告", "required": True, "when": {"ac": "yes"}}]}


def test_scenario_answers_choose_the_materials():
    assert [m["name"] for m in guides.materials_for(GUIDE, {"ac": "yes"})["materials"]] == ["基本材料", "空调报告"]
    assert [m["name"] for m in guides.materials_for(GUIDE, {"ac": "no"})["materials"]] == ["基本材料"]
    with pytest.raises(InvalidInput) as caught:
        guides.materials_for(GUIDE, {"ac": "perhaps", "x": 1})
    assert set(caught.value.errors) == {"ac", "x"}
