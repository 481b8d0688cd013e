"""The embedded data-sharing registries (数据共享): demo tables behind the embedded sources
(engine/sources/embedded.py) — population registry, market entities, deaths, property,
benefits, credit, debtors, e-licences. A production deployment reads the provincial
platform instead and leaves these empty."""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    Boolean,
    Date,
    String,
)
from sqlalchemy.orm import Mapped, mapped_column

from engine.store.models import DEFAULT_REGION, Base, utcnow


class RegistryPerson(Base):
    """Population registry (人口库) record."""

    __tablename__ = "src_person"
    id_number: Mapped[str] = mapped_column(String(18), primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    household_region: Mapped[str] = mapped_column(String(12))
    household_local: Mapped[bool] = mapped_column(Boolean)
    phone: Mapped[str | None] = mapped_column(String(20))  # for 免申即享 notices and forms


class CompanyRecord(Base):
    """Market-entity registry (市场主体登记) record: a company and its legal representative."""

    __tablename__ = "src_company"
    credit_code: Mapped[str] = mapped_column(String(18), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    legal_rep_id_number: Mapped[str] = mapped_column(String(18))
    legal_rep_name: Mapped[str] = mapped_column(String(100))
    region: Mapped[str] = mapped_column(String(12), default=DEFAULT_REGION)


class DeathRecord(Base):
    """Death records (殡葬/死亡信息)."""

    __tablename__ = "src_death"
    id_number: Mapped[str] = mapped_column(String(18), primary_key=True)
    died_on: Mapped[date] = mapped_column(Date)


class PropertyRecord(Base):
    """Property registry (不动产登记) record."""

    __tablename__ = "src_property"
    cert_no: Mapped[str] = mapped_column(String(40), primary_key=True)
    owner_id_number: Mapped[str] = mapped_column(String(18))
    owner_name: Mapped[str] = mapped_column(String(100))
    address: Mapped[str] = mapped_column(String(200))
    seized: Mapped[bool] = mapped_column(Boolean, default=False)


class SubsidyRecipient(Base):
    """People already receiving a benefit or holding a card (e.g. 高龄补贴发放名册, 老年人优待证).

    The primary key is the guarantee of one approval per subject per matter: a second
    approval's insert conflicts in the database, whatever the timing."""

    __tablename__ = "src_subsidy_recipient"
    id_number: Mapped[str] = mapped_column(String(18), primary_key=True)
    matter_code: Mapped[str] = mapped_column(String(64), primary_key=True)
    since: Mapped[date] = mapped_column(Date)
    tracking_no: Mapped[str | None] = mapped_column(String(32))  # the approval that granted it
    result_no: Mapped[str | None] = mapped_column(String(64))  # the card / notice number held


class CreditRecord(Base):
    """Credit registry (信用信息平台): a person's (resident ID) or company's (unified social
    credit code) tier. No record means no adverse or outstanding information: blue."""

    __tablename__ = "src_credit"
    subject: Mapped[str] = mapped_column(String(18), primary_key=True)
    tier: Mapped[str] = mapped_column(String(8))  # red | orange | blue | black
    reason: Mapped[str] = mapped_column(String(200), default="")
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class DebtorRecord(Base):
    """Dishonest-debtor list (失信被执行人名单) from the courts."""

    __tablename__ = "src_debtor"
    subject: Mapped[str] = mapped_column(String(18), primary_key=True)
    case_no: Mapped[str] = mapped_column(String(64))
    court: Mapped[str] = mapped_column(String(100))
    listed_on: Mapped[date] = mapped_column(Date)


class LicenceRecord(Base):
    """E-licence library (电子证照库): one licence or certificate of a holder."""

    __tablename__ = "src_licence"
    holder: Mapped[str] = mapped_column(String(18), primary_key=True)
    licence_type: Mapped[str] = mapped_column(String(64), primary_key=True)
    licence_no: Mapped[str] = mapped_column(String(64))
    valid_until: Mapped[date | None] = mapped_column(Date)
