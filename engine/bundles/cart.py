"""The cart (政务超市): which matters may be ordered together, and their merged form.

"多项业务按需选办、一次下单、批量办理": an applicant picks any matters; one order runs them as
an ad-hoc bundle of the generic cart process (processes/cart.bpmn). An order is refused,
naming each matter and why, when a matter is unknown or not deployed, is itself a bundle,
is listed twice or is the same national matter twice (四级四同: one matter in two places),
is not offered in the applicant's region, is for another kind of subject than the others
(a person's matters and a company's are two orders), or excludes another (``excludes:``).
"""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.bundles.policy import is_bundle
from engine.definitions.versions import current_definitions
from engine.errors import InvalidInput
from engine.people.organisation import read_regions
from engine.people.regions import RegionPolicy
from engine.people.subjects import SubjectKind, SubjectPolicy
from engine.running.compiled import compiled
from engine.store.models import Matter, User

MAX_ORDER = 200  # matters in one order
_KIND_NAMES = {SubjectKind.PERSON: "个人", SubjectKind.COMPANY: "企业"}


def check_order(session: Session, user: User, codes: list[str]) -> list[Matter]:
    """The order's matters, or InvalidInput (422) with every reason under ``matters``."""
    problems: list[str] = []
    if not codes:
        raise InvalidInput("the cart is empty", {"matters": ["购物车中没有事项"]})
    if len(codes) > MAX_ORDER:
        raise InvalidInput("too many matters", {"matters": [f"一次最多办理{MAX_ORDER}个事项"]})
    matters: list[Matter] = []
    known = {m.code: m for m in session.scalars(select(Matter).where(Matter.code.in_(set(codes))))}
    definitions = current_definitions(session, list(known))
    for code in dict.fromkeys(codes):
        matter, definition = known.get(code), definitions.get(code)
        if matter is None or definition is None:
            problems.append(f"{code}：没有这个事项，或尚未上线")
        elif is_bundle(definition):
            problems.append(f"{matter.name}：是“一件事”套餐，请单独办理")
        else:
            matters.append(matter)
    problems += [f"{known[code].name if code in known else code}：重复加入"
                 for code in sorted({c for c in codes if codes.count(c) > 1})]
    problems += _same_national_matter(matters) + _excluded(matters) + _not_offered(matters, user.region)
    problems += _subject_kinds(matters)
    if problems:
        raise InvalidInput("these matters cannot be ordered together", {"matters": problems})
    return matters


def merged_form(session: Session, codes: list[str], cart: str) -> dict:
    """One form-js form for the order: each field once, in the order first met, with
    ``properties.needed_by`` naming the matters that need it (a page shows a matter's own
    questions only with that matter); the cart's own fields (``cart``: its matter) last."""
    components, seen = [], {}
    ordered = [*dict.fromkeys(codes), cart]
    matters = {m.code: m for m in session.scalars(select(Matter).where(Matter.code.in_(ordered)))}
    definitions = current_definitions(session, ordered)
    for code in ordered:
        matter = matters[code]
        for component in compiled(definitions[code]).form.components:
            key = component.get("key")
            if key is None:
                continue  # text blocks: each matter's own
            if key in seen:
                seen[key]["properties"]["needed_by"].append(matter.name)
                continue
            merged = {**component, "properties": {**component.get("properties", {}), "needed_by": [matter.name]}}
            seen[key] = merged
            components.append(merged)
    return {"type": "default", "id": "cart", "schemaVersion": 16, "components": components}


def _same_national_matter(matters: list[Matter]) -> list[str]:
    by_code: dict[str, list[str]] = {}
    for matter in matters:
        national = (matter.elements or {}).get("national_code")
        if national:
            by_code.setdefault(national, []).append(matter.name)
    return [f"{'、'.join(names)}：是同一事项在不同地区的办理，只能选一个" for names in by_code.values() if len(names) > 1]


def _excluded(matters: list[Matter]) -> list[str]:
    """Pairs where either matter's ``excludes`` names the other, each once."""
    chosen = {m.code: m for m in matters}
    pairs = {tuple(sorted((m.code, other))) for m in matters for other in (m.elements or {}).get("excludes") or []
             if other in chosen and other != m.code}
    return [f"{chosen[a].name}与{chosen[b].name}不能同时办理" for a, b in sorted(pairs)]


def _not_offered(matters: list[Matter], region: str) -> list[str]:
    elsewhere = [m for m in matters if region not in RegionPolicy.from_elements(m.elements or {}, m.region).offered]
    if not elsewhere:
        return []
    where = read_regions().get(region, region)  # the catalogue file is read only to name it
    return [f"{m.name}：不在{where}办理" for m in elsewhere]


def _subject_kinds(matters: list[Matter]) -> list[str]:
    kinds: dict[SubjectKind, list[str]] = {}
    for matter in matters:
        policy = SubjectPolicy.of(matter.elements or {})
        kind = policy.parties[0].kind if policy else SubjectKind.PERSON
        kinds.setdefault(kind, []).append(matter.name)
    if len(kinds) < 2:
        return []
    return ["个人事项与企业事项须分别下单：" + "；".join(f"{_KIND_NAMES[k]}事项 {'、'.join(v)}" for k, v in kinds.items())]
