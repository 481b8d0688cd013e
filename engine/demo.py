"""Demo data for the embedded default: users of every role and registry records.

Only ``onewindow demo`` (and ``onewindow serve`` on an empty database) calls this; no
code path relies on these people existing.
"""
from __future__ import annotations

from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine import users
from engine.models import DeathRecord, PropertyRecord, RegistryPerson, SubsidyRecipient, User
from forms.identifiers import make_resident_id

HAIKOU = "460100"
DEMO_PASSWORD = "demo-password"
DEMO_USERS = [
    ("alice", "applicant", None, "王爱丽"),
    ("bob", "applicant", None, "李博"),
    ("clerk_civil", "clerk", "civil_affairs", "民政局窗口"),
    ("clerk_housing", "clerk", "housing", "住建局窗口"),
    ("clerk_housing2", "clerk", "housing", "住建局审批岗"),
    ("clerk_window", "clerk", "front_desk", "综合受理窗口"),
    ("analyst", "analyst", None, "业务分析员"),
    ("supervisor", "supervisor", None, "电子监察"),
    ("admin", "admin", None, "系统管理员"),
]


def demo_id(birth: date, seq: str, region: str = "460105") -> str:
    return make_resident_id(region, birth, seq)


def demo_people(today: date) -> dict[str, str]:
    """Named demo residents, ages relative to ``today`` so the demo stays true."""
    def born(years: int) -> date:
        return date(today.year - years, 1, 15)
    return {
        "local_85": demo_id(born(85), "101"),
        "local_92": demo_id(born(92), "102"),
        "local_101": demo_id(born(101), "103"),
        "local_75": demo_id(born(75), "104"),
        "nonlocal_88": demo_id(born(88), "105", region="110105"),
        "deceased_90": demo_id(born(90), "106"),
        "receiving_86": demo_id(born(86), "107"),
        "landlord": demo_id(date(1970, 5, 20), "108"),
        "tenant": demo_id(date(1995, 8, 8), "109"),
        "unregistered_84": demo_id(born(84), "110"),
    }


def seed(session: Session, today: date) -> dict[str, str]:
    """Create the demo users and registry records (idempotent by username)."""
    existing = set(session.scalars(select(User.username).where(User.username.in_([u[0] for u in DEMO_USERS]))))
    for username, role, department, name in DEMO_USERS:
        if username not in existing:
            users.create_user(session, username, DEMO_PASSWORD, role, department, name)
    people = demo_people(today)
    for key, id_number in people.items():
        if key == "unregistered_84":
            continue
        local = not key.startswith("nonlocal")
        session.merge(RegistryPerson(id_number=id_number, name=key, household_local=local,
                                     household_region=HAIKOU if local else "110100"))
    session.merge(DeathRecord(id_number=people["deceased_90"], died_on=date(today.year - 1, 3, 1)))
    session.merge(SubsidyRecipient(id_number=people["receiving_86"], matter_code="elderly_subsidy",
                                   since=date(today.year - 1, 6, 1)))
    session.merge(PropertyRecord(cert_no="琼(2024)海口市不动产权第0000001号", owner_id_number=people["landlord"],
                                 owner_name="landlord", address="海口市龙华区滨海大道1号", seized=False))
    session.merge(PropertyRecord(cert_no="琼(2024)海口市不动产权第0000002号", owner_id_number=people["landlord"],
                                 owner_name="landlord", address="海口市美兰区海甸岛2号", seized=True))
    session.flush()
    return people
