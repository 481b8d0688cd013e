"""The shipped matter catalogue: ``processes/catalogue.yaml`` names each matter's files.

Loading it upserts the ``matter`` rows and deploys each matter's BPMN + rule set + form
(a no-op when the files are unchanged), so a fresh database gets the shipped matters.
"""
from __future__ import annotations

import logging
from enum import StrEnum
from pathlib import Path

import yaml
from sqlalchemy.orm import Session

from engine.config import CATALOGUE_FILE, REPO_ROOT
from engine.definitions.versions import DefinitionUpload, current_definition, deploy
from engine.policy.holdings import HoldingPolicy
from engine.policy.numbers import NumberPolicy
from engine.people.regions import RegionPolicy
from engine.people.subjects import SubjectPolicy
from engine.store.models import DEFAULT_REGION, Matter, ServiceDefinition

FILE_KEYS = ("bpmn", "rules", "form")
log = logging.getLogger(__name__)


def read_catalogue(path: Path = CATALOGUE_FILE) -> list[dict]:
    return yaml.safe_load(path.read_text(encoding="utf-8"))["matters"]


def upload_for(entry: dict, root: Path = REPO_ROOT) -> DefinitionUpload:
    """The files of one catalogue entry: BPMN in processes/, rules in rules/, forms in forms/."""
    bpmn = root / "processes" / entry["bpmn"]
    rules = root / "rules" / entry["rules"] if "rules" in entry else None  # a bundle has none
    form = root / "forms" / entry["form"]
    dmn = [(root / "processes" / name).read_text(encoding="utf-8") for name in entry.get("dmn", [])]
    return DefinitionUpload(matter_code=entry["code"], bpmn=bpmn.read_text(encoding="utf-8"),
                            ruleset=rules.read_text(encoding="utf-8") if rules else "",
                            form=form.read_text(encoding="utf-8"), dmn=dmn, bpmn_name=bpmn.name,
                            ruleset_name=rules.name if rules else "-", form_name=form.name)


def upsert_matter(session: Session, entry: dict) -> Matter:
    elements = {k: v for k, v in entry.items() if k not in FILE_KEYS and k != "dmn"}
    # a policy the engine cannot follow fails here, not at approval
    HoldingPolicy.of(elements), NumberPolicy.of(elements), SubjectPolicy.of(elements)
    matter = session.get(Matter, entry["code"]) or Matter(code=entry["code"])
    matter.region = str(entry.get("region", DEFAULT_REGION))  # its home region; a local variant names its own
    RegionPolicy.from_elements(elements, matter.region).check_known()
    matter.name, matter.department = entry["name"], entry["department"]
    matter.promised_days, matter.legal_days = entry["promised_days"], entry["legal_days"]
    matter.elements = elements
    session.add(matter)
    session.flush()
    return matter


class CatalogueState(StrEnum):
    DEPLOYED = "deployed"
    UNCHANGED = "unchanged"
    ANALYSTS_KEPT = "kept: an analyst deployed after the shipped files"


def deploy_catalogue(session: Session, source_names: set[str], deployed_by: str = "system",
                     path: Path = CATALOGUE_FILE, only: str | None = None
                     ) -> list[tuple[ServiceDefinition, CatalogueState]]:
    """Upsert and deploy every matter of the catalogue (or the one whose BPMN is ``only``).

    The shipped files never replace an analyst's work: a matter whose live version an
    analyst deployed keeps it (a restart used to deploy the shipped files over it), with a
    warning naming that version."""
    results = []
    for entry in read_catalogue(path):
        if only and only not in (entry["code"], entry["bpmn"]):
            continue
        upsert_matter(session, entry)
        live = current_definition(session, entry["code"], required=False)
        if live is not None and not live.shipped:
            log.warning("%s: v%s deployed by %s is live; the shipped files were not deployed over it",
                        entry["code"], live.version, live.deployed_by)
            results.append((live, CatalogueState.ANALYSTS_KEPT))
            continue
        definition, created = deploy(session, upload_for(entry, path.parent.parent), deployed_by, source_names,
                                     shipped=True)
        results.append((definition, CatalogueState.DEPLOYED if created else CatalogueState.UNCHANGED))
    return results
