"""Masking personal answers (engine/oversight/privacy.py) as the form declares them (forms/personal.py)."""
from __future__ import annotations

import pytest

from engine.oversight.privacy import Masking, mask
from forms import FormDefinitionError, load_form, load_form_file
from forms.personal import PersonalKind

ID_NUMBER = "460106195803140214"
RENTAL = load_form_file("forms/rental_filing.form.json")


def test_each_kind_keeps_only_its_ends():
    data = {"landlord_name": "王秀英", "landlord_id_number": ID_NUMBER, "tenant_name": "李四",
            "tenant_id_number": "11010519580314021X", "address": "海口市龙华区滨海大道88号", "phone": "13800138000",
            "monthly_rent": 2000}
    assert mask(data, RENTAL) == {
        "landlord_name": "王**", "landlord_id_number": "4601**********0214", "tenant_name": "李*",
        "tenant_id_number": "1101**********021X", "address": "海口市龙华区" + "*" * 7, "phone": "138****8000",
        "monthly_rent": 2000}


def test_copies_of_an_answer_are_masked_wherever_they_are():
    masking = Masking.of({"id_number": PersonalKind.RESIDENT_ID, "bank_account": PersonalKind.BANK_ACCOUNT},
                         {"id_number": ID_NUMBER, "bank_account": "6222020200112233445"})
    shown = masking({"result": {"holder": ID_NUMBER}, "events": [f"打款至 6222020200112233445 ({ID_NUMBER})"]})
    assert shown == {"result": {"holder": "4601**********0214"},
                     "events": ["打款至 ***************3445 (4601**********0214)"]}


def test_any_valid_resident_id_or_mobile_number_in_a_text_is_masked_but_not_a_tracking_number():
    net = Masking()
    assert net("电话13912345678，身份证110105195803140214") == "电话139****5678，身份证1101**********0214"
    assert net("202611294456176775 LYZ-2026-000123 13912345678901") == "202611294456176775 LYZ-2026-000123 13912345678901"


@pytest.mark.parametrize("declared", ["passport", 7, ["phone"]])
def test_a_form_declaring_an_unknown_personal_kind_is_refused(declared):
    with pytest.raises(FormDefinitionError, match="personal"):
        load_form({"id": "f", "components": [{"type": "textfield", "key": "x", "properties": {"personal": declared}}]})


def test_a_format_declares_itself_and_a_declaration_wins():
    form = load_form({"id": "f", "components": [
        {"type": "textfield", "key": "mobile", "properties": {"format": "phone"}},
        {"type": "textfield", "key": "home", "properties": {"personal": "address"}},
        {"type": "textfield", "key": "credit", "properties": {"format": "credit_code"}}]})
    assert form.personal == {"mobile": PersonalKind.PHONE, "home": PersonalKind.ADDRESS}
