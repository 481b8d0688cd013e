"""Regions (行政区划): where an application is handled, and who sees it.

The catalogue lists the regions the platform serves (``regions:``: code -> name, e.g.
460100 海口市, 460200 三亚市). A matter is offered in one or more of them — the same matter
code and national code everywhere (四级四同) — and says whether the applicant may choose
where to apply (``nearby: true``, 就近办); otherwise it is handled where the subject is
registered (a person's household, a company's registration), or, when the matter is not
offered there, in the matter's home region.

Every account has a region. Clerks and supervisors see and work only their own region's
applications and tasks (anything else is "not found", like an application of another
department); analysts and admins work for the whole platform.

    regions: ["460100", "460200"]   # where the matter is offered; default: its home region
    nearby: true                    # 就近办: the applicant may pick any of them
"""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import ColumnElement, true

from engine.errors import InvalidInput
from engine.store.models import Matter, User
from engine.people.organisation import read_regions
from engine.people.subjects import Binding, SubjectKind

PLATFORM_ROLES = ("analyst", "admin")  # not bound to a region


@dataclass(frozen=True)
class RegionPolicy:
    """Where a matter is offered, and whether the applicant chooses (就近办)."""

    offered: tuple[str, ...]
    nearby: bool = False

    @classmethod
    def from_elements(cls, elements: dict, home: str) -> RegionPolicy:
        offered = tuple(str(code) for code in elements.get("regions") or [home])
        if home not in offered:
            raise ValueError(f"regions: the matter's home region {home} must be one of them")
        return cls(offered, bool(elements.get("nearby", False)))

    def check_known(self) -> None:
        """Every region offered is one of the catalogue's (read from catalogue.yaml: at
        upsert, never per submission — parsing the file took 13 ms)."""
        known = read_regions()
        unknown = [code for code in self.offered if code not in known]
        if unknown:
            raise ValueError(f"regions: {', '.join(unknown)} not among the catalogue's regions ({', '.join(known)})")


def route(matter: Matter, elements: dict, binding: Binding | None, chosen: str | None) -> str:
    """The region that handles the application: the one chosen where the matter allows it
    (就近办), else the subject's registration region where the matter is offered, else
    the matter's home region. ``elements``: the policy of the version applied for."""
    policy = RegionPolicy.from_elements(elements, matter.region)
    if chosen is not None:
        if not policy.nearby:
            raise InvalidInput("this matter is handled where the subject is registered", {
                "region": ["本事项须在户籍或登记所在地办理，不能选择办理地区"]})
        if chosen not in policy.offered:
            names = read_regions()
            raise InvalidInput(f"{matter.code} is not offered in region {chosen}", {"region": [
                "本事项可在以下地区办理：" + "、".join(f"{names[code]}（{code}）" for code in policy.offered)]})
        return chosen
    registered = registration_region(binding) if binding else None
    return registered if registered in policy.offered else matter.region


def registration_region(binding: Binding) -> str | None:
    """A person's household region (户籍), a company's registration region; None if unknown."""
    if binding.record is None:
        return None
    return binding.record.region if binding.kind is SubjectKind.COMPANY else binding.record.household_region


def sees_every_region(user: User) -> bool:
    return user.role in PLATFORM_ROLES


def in_region(user: User, column) -> ColumnElement[bool]:
    """The SQL condition "this row is in the user's region" (always true for platform roles)."""
    return true() if sees_every_region(user) else column == user.region


def sees_region(user: User, region: str) -> bool:
    return sees_every_region(user) or user.region == region
