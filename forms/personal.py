"""Which answers of a form are personal data (个人信息), declared by the form itself.

A component says what it holds with form-js ``properties: {"personal": "<kind>"}``; a
``resident_id`` or ``phone`` format is personal without saying so. Who sees these masked,
and how each kind is masked, is engine/oversight/privacy.py's.
"""
from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from typing import Any


class PersonalKind(StrEnum):
    RESIDENT_ID = "resident_id"  # 居民身份证号码
    PHONE = "phone"  # 手机号码
    BANK_ACCOUNT = "bank_account"  # 银行卡/社保卡号
    ADDRESS = "address"  # 住址、地址
    NAME = "name"  # 自然人姓名


FORMAT_KINDS = {"resident_id": PersonalKind.RESIDENT_ID, "phone": PersonalKind.PHONE}


def personal_problem(component: Mapping[str, Any]) -> str | None:
    """Why the component's ``personal`` property cannot be used, or None."""
    declared = (component.get("properties") or {}).get("personal")
    if declared is None or declared in list(PersonalKind):
        return None
    return f"unknown personal kind {declared!r}; expected one of {', '.join(kind.value for kind in PersonalKind)}"


def personal_kind(component: Mapping[str, Any]) -> PersonalKind | None:
    """What personal data the component holds (its declaration, else its format), or None."""
    properties = component.get("properties") or {}
    declared = properties.get("personal")
    if declared is not None:
        return PersonalKind(declared)
    return FORMAT_KINDS.get(properties.get("format"))
