"""Demo data for the embedded default: users of every role and registry records.

Only ``onewindow demo`` (and ``onewindow serve`` where demo data is allowed: the embedded
SQLite, or ONEWINDOW_DEMO=1) calls this; no code path relies on these people or companies
existing. The users' password is published, so elsewhere the server refuses to start while
one of them is active (engine/people/accounts.py).
"""
from __future__ import annotations

import hashlib
from datetime import date, datetime, timedelta, timezone

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.people import authorisations, company_roles, users
from engine.people.identity import companies_of
from engine.people.users import DEMO_PASSWORD
from engine.store.models import Authorisation, User
from engine.store.registries import CompanyRecord, CreditRecord, DeathRecord, DebtorRecord, LicenceRecord, PropertyRecord, RegistryPerson, SubsidyRecipient
from engine.policy.proactive import years_before
from forms.identifiers import make_credit_code, make_resident_id

HAIKOU = "460100"
DEMO_USERS = [
    ("alice", "applicant", None, "王爱丽"),
    ("bob", "applicant", None, "李博"),
    ("agent_post", "agent", "post_haikou", "海口邮政便民服务站代办员"),  # 授权代办 for the demo elders
    ("clerk_civil", "clerk", "civil_affairs", "民政局窗口"),
    ("clerk_housing", "clerk", "housing", "住建局窗口"),
    ("clerk_housing2", "clerk", "housing", "住建局审批岗"),
    ("clerk_window", "clerk", "front_desk", "综合受理窗口"),
    ("clerk_culture", "clerk", "culture", "文化广电旅游局（新闻出版）窗口"),
    ("clerk_health", "clerk", "health", "卫生健康委窗口"),
    ("clerk_social", "clerk", "social_security", "人社局窗口"),
    ("analyst", "analyst", None, "业务分析员"),
    ("supervisor", "supervisor", None, "电子监察"),
    ("admin", "admin", None, "系统管理员"),
    ("clerk_civil_sanya", "clerk", "civil_affairs", "三亚市民政局窗口"),
    ("clerk_window_sanya", "clerk", "front_desk", "三亚市综合受理窗口"),
    ("clerk_housing_sanya", "clerk", "housing", "三亚市住建局窗口"),
    ("supervisor_sanya", "supervisor", None, "三亚市电子监察"),
    # 一件事一次办: the departments of the 企业开办 and 二手房转移登记 bundles' member matters
    ("clerk_market", "clerk", "market_regulation", "市场监管局窗口"),
    ("clerk_police", "clerk", "public_security", "公安局窗口"),
    ("clerk_tax", "clerk", "tax", "税务局窗口"),
    ("clerk_fund", "clerk", "housing_fund", "住房公积金管理中心窗口"),
    ("clerk_estate", "clerk", "real_estate", "不动产登记中心窗口"),
    ("clerk_water", "clerk", "water_utility", "供水企业营业厅"),
    ("clerk_power", "clerk", "power_utility", "供电局营业厅"),
    ("clerk_gas", "clerk", "gas_utility", "燃气企业营业厅"),
]
SANYA = "460200"
REGIONS = {username: SANYA for username, *_ in DEMO_USERS if username.endswith("_sanya")}  # the others: Haikou


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
        "senior_66": demo_id(born(66), "111"),
        "senior_70_no_photo": demo_id(born(70), "112"),  # the licence library lacks their photo
        # 免申即享: turned 80 a week ago; `onewindow proactive` applies for them
        "turned_80": demo_id(years_before(today - timedelta(days=7), 80), "113"),
        # 实名认证: the demo applicants, registered under their own names (DEMO_USERS)
        "alice": demo_id(date(1988, 5, 20), "114"),
        "bob": demo_id(date(1990, 9, 9), "115"),
        # 行政区划: a Sanya resident, whose applications Sanya's clerks and supervisor handle
        "sanya_88": demo_id(born(88), "116", region="460203"),
    }


def registry_name(key: str) -> str:
    """The name the population registry has for a demo resident: a demo user's own name
    (alice: 王爱丽), else the resident's key."""
    return next((name for username, *_, name in DEMO_USERS if username == key), key)



def demo_companies() -> dict[str, str]:
    """Named demo bookshops (unified social credit codes), one per credit situation."""
    def code(n: int) -> str:
        return make_credit_code(f"91460100MA5T{n:05d}")
    return {
        "bookshop_red": code(1),
        "bookshop_orange_no_licence": code(2),   # orange: 容缺后补 for the missing business licence
        "bookshop_blue": code(3),                # no credit record: blue
        "bookshop_blue_no_permit": code(4),      # blue: asked for the missing permit first
        "bookshop_black": code(5),
        "bookshop_debtor": code(6),              # blue tier but on the dishonest-debtor list
    }


COMPANY_NAMES = {  # 市场主体登记: the bookshops' registered names
    "bookshop_red": "海口椰风书店有限公司",
    "bookshop_orange_no_licence": "海口南渡江书社",
    "bookshop_blue": "海口骑楼书局有限公司",
    "bookshop_blue_no_permit": "海口万绿园书屋",
    "bookshop_black": "海口琼台图书经营部",
    "bookshop_debtor": "海口椰城文化书店",
}
LEGAL_REPRESENTATIVES = {"bookshop_red": "alice"}  # the others': the resident "landlord"
HANDLERS = {"bookshop_red": ["bob"]}  # 经办人 the legal representative authorised

CREDIT_TIERS = {  # companies without an entry have no record (blue)
    "bookshop_red": ("red", "A级纳税人，连续三年无不良记录"),
    "bookshop_orange_no_licence": ("orange", "无不良记录"),
    "bookshop_black": ("black", "严重失信主体名单（虚假承诺）"),
}


def seed(session: Session, today: date) -> dict[str, str]:
    """Create the demo users, registry records, e-licences and credit records (idempotent:
    users by username, records by their keys); returns the named residents and companies."""
    existing = set(session.scalars(select(User.username).where(User.username.in_([u[0] for u in DEMO_USERS]))))
    for username, role, department, name in DEMO_USERS:
        if username not in existing:
            users.create_user(session, username, DEMO_PASSWORD, role, department, name, REGIONS.get(username, HAIKOU))
    people = demo_people(today)
    for key, id_number in people.items():
        if key == "unregistered_84":
            continue
        local = not key.startswith("nonlocal")
        region = SANYA if key.startswith("sanya") else HAIKOU if local else "110100"
        session.merge(RegistryPerson(id_number=id_number, name=registry_name(key), household_local=local,
                                     household_region=region, phone="13800138000"))
    session.merge(DeathRecord(id_number=people["deceased_90"], died_on=date(today.year - 1, 3, 1)))
    session.merge(SubsidyRecipient(id_number=people["receiving_86"], matter_code="elderly_subsidy",
                                   since=date(today.year - 1, 6, 1)))
    session.merge(PropertyRecord(cert_no="琼(2024)海口市不动产权第0000001号", owner_id_number=people["landlord"],
                                 owner_name="landlord", address="海口市龙华区滨海大道1号", seized=False))
    session.merge(PropertyRecord(cert_no="琼(2024)海口市不动产权第0000002号", owner_id_number=people["landlord"],
                                 owner_name="landlord", address="海口市美兰区海甸岛2号", seized=True))
    _seed_licences(session, people, today)
    _verify_demo_users(session, people)
    companies = demo_companies()
    _seed_companies(session, companies, today)
    _seed_company_roles(session, people, companies)
    _seed_paper_authorisations(session, people, today)
    session.flush()
    return {**people, **companies}


def _verify_demo_users(session: Session, people: dict[str, str]) -> None:
    """The demo users who are demo residents (alice, bob) carry their verified identity."""
    for account in session.scalars(select(User).where(User.username.in_(people), User.resident_id.is_(None))):
        account.resident_id, account.full_name = people[account.username], registry_name(account.username)
        account.verified_at = datetime.now(timezone.utc)


def _seed_company_roles(session: Session, people: dict[str, str], companies: dict[str, str]) -> None:
    """The bookshops in the market-entity registry; alice represents one, bob handles it."""
    for key, credit_code in companies.items():
        representative = LEGAL_REPRESENTATIVES.get(key, "landlord")
        session.merge(CompanyRecord(credit_code=credit_code, name=COMPANY_NAMES[key], region=HAIKOU,
                                    legal_rep_id_number=people[representative],
                                    legal_rep_name=registry_name(representative)))
    session.flush()
    accounts = {user.username: user for user in session.scalars(select(User).where(User.username.in_(people)))}
    for key, username in LEGAL_REPRESENTATIVES.items():
        if companies[key] not in companies_of(session, accounts[username]):
            company_roles.claim_legal_representative(session, accounts[username], companies[key])
        for handler in HANDLERS.get(key, []):
            if companies[key] not in companies_of(session, accounts[handler]):
                company_roles.grant_handler(session, accounts[username], companies[key], handler)


PAPER_AUTHORISED = ("local_85", "local_92", "local_101", "local_75", "nonlocal_88", "receiving_86",
                    "landlord", "tenant", "senior_66", "senior_70_no_photo", "turned_80", "sanya_88")


def _seed_paper_authorisations(session: Session, people: dict[str, str], today: date) -> None:
    """授权代办: the demo residents without an account authorised the post office's
    service station on paper, for every matter; its staff member agent_post applies for them."""
    staff = session.scalars(select(User).where(User.username == "agent_post")).one()
    held = set(session.scalars(select(Authorisation.principal_id_number).where(
        Authorisation.outlet == staff.department, Authorisation.revoked_at.is_(None))))
    valid_from = datetime(today.year, today.month, today.day, tzinfo=timezone.utc) - timedelta(days=365)
    for key in PAPER_AUTHORISED:
        if people[key] not in held:
            authorisations.record_paper(session, staff, people[key], registry_name(key), None, valid_from,
                                        valid_from + timedelta(days=3 * 365), f"演示授权书-{key}")


def photo_licence_no(id_number: str) -> str:
    """A photo's licence number that does not spell out the ID (digits 7-17 of it did: with a
    masked ID's visible ends, two digits were left to guess)."""
    return "ZP" + hashlib.sha256(id_number.encode()).hexdigest()[:11].upper()


def _seed_licences(session: Session, people: dict[str, str], today: date) -> None:
    """E-licences of the registered demo residents: ID card and photo (免证办), except the
    one resident whose photo the library lacks."""
    for key, id_number in people.items():
        if key == "unregistered_84":
            continue
        session.merge(LicenceRecord(holder=id_number, licence_type="resident_id_card", licence_no=id_number,
                                    valid_until=date(today.year + 10, 12, 31)))
        if key != "senior_70_no_photo":
            session.merge(LicenceRecord(holder=id_number, licence_type="id_photo",
                                        licence_no=photo_licence_no(id_number), valid_until=None))


def _seed_companies(session: Session, companies: dict[str, str], today: date) -> None:
    """Credit records, the debtor list and the bookshops' e-licences (营业执照, 出版物经营许可证)."""
    now = datetime.now(timezone.utc)
    for key, (tier, reason) in CREDIT_TIERS.items():
        session.merge(CreditRecord(subject=companies[key], tier=tier, reason=reason, updated_at=now))
    session.merge(DebtorRecord(subject=companies["bookshop_debtor"], case_no="（2025）琼0105执1234号",
                               court="海口市秀英区人民法院", listed_on=date(today.year - 1, 9, 1)))
    for number, (key, credit_code) in enumerate(companies.items(), start=1):
        if key != "bookshop_orange_no_licence":
            session.merge(LicenceRecord(holder=credit_code, licence_type="business_licence",
                                        licence_no=credit_code, valid_until=None))
        if key != "bookshop_blue_no_permit":
            session.merge(LicenceRecord(holder=credit_code, licence_type="publication_permit",
                                        licence_no=f"新出发琼零字第{number:05d}号",
                                        valid_until=date(today.year + 2, 12, 31)))
