"""A matter's version history: the files of any version, what changed between two, and
rolling back (回退) to an earlier one as a new version equal to it.

Every deployed version is immutable (engine/definitions/versions.py); a roll-back never
rewrites history, it deploys the old files and policy again as the newest version, with
every check a deploy runs, so running applications keep theirs and new ones take it.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any, Iterable, Mapping

import yaml
from lxml import etree
from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.definitions.catalogue import upsert_matter
from engine.definitions.versions import DefinitionUpload, deploy
from engine.errors import NotFound
from engine.store.models import ServiceDefinition

BPMNDI = "http://www.omg.org/spec/BPMN/20100524/DI"
DIAGRAM_NAMESPACES = frozenset({BPMNDI, "http://www.omg.org/spec/DD/20100524/DC",
                                "http://www.omg.org/spec/DD/20100524/DI"})


def version_of(session: Session, matter_code: str, version: int) -> ServiceDefinition:
    definition = session.scalars(select(ServiceDefinition).where(
        ServiceDefinition.matter_code == matter_code, ServiceDefinition.version == version)).first()
    if definition is None:
        raise NotFound(f"matter {matter_code!r} has no version {version}")
    return definition


def upload_of(definition: ServiceDefinition) -> DefinitionUpload:
    """The files (and policy) of a deployed version, as an upload deploying them again would give."""
    names = definition.file_names or {}
    return DefinitionUpload(
        matter_code=definition.matter_code, bpmn=definition.bpmn, ruleset=definition.ruleset, form=definition.form,
        dmn=list(definition.dmn or []), bpmn_name=names.get("bpmn", "process.bpmn"),
        ruleset_name=names.get("ruleset", "ruleset.yaml"), form_name=names.get("form", "form.json"),
        dmn_names=list(names.get("dmn") or []), called=dict(definition.called_bpmn or {}),
        policy=dict(definition.policy or {}))


def files_of(definition: ServiceDefinition) -> dict:
    """What ``GET /api/definitions/{code}/versions/{version}`` answers: every file's text and name."""
    upload = upload_of(definition)
    return {"matter": definition.matter_code, "version": definition.version, "checksum": definition.checksum,
            "deployed_at": definition.deployed_at.isoformat(), "deployed_by": definition.deployed_by,
            "bpmn": upload.bpmn, "ruleset": upload.ruleset, "form": upload.form,
            "dmn": upload.dmn_documents, "called": upload.called, "names": upload.file_names,
            "policy": upload.policy}


def roll_back(session: Session, matter_code: str, version: int, by: str,
              source_names: set[str]) -> tuple[ServiceDefinition, bool]:
    """Deploy ``version``'s files and policy again as the newest version (every deploy check
    runs again: a source removed since is refused). The matter's guide (name, days, policy)
    becomes that version's again. (definition, created): not created when it is the newest."""
    earlier = upload_of(version_of(session, matter_code, version))
    if earlier.policy:
        upsert_matter(session, {"code": matter_code, **earlier.policy})
    return deploy(session, earlier, by, source_names)


# --- what changed between two versions -------------------------------------------------

@dataclass(frozen=True)
class Changes:
    """Added, removed and changed items of one part (BPMN elements, rules, form fields, policy keys)."""

    added: list[dict]
    removed: list[dict]
    changed: list[dict]

    def as_dict(self) -> dict:
        return {"added": self.added, "removed": self.removed, "changed": self.changed}


def diff(old: ServiceDefinition, new: ServiceDefinition) -> dict:
    """What changed from ``old`` to ``new``: BPMN elements (by id; the layout alone is not a
    change), rules (by id), form fields (by key) and policy keys, each with the Chinese
    label an analyst knows it by."""
    return {"matter": new.matter_code, "old": old.version, "new": new.version,
            "bpmn": _compare(_bpmn_elements(old), _bpmn_elements(new)).as_dict(),
            "rules": _compare(_rules(old.ruleset), _rules(new.ruleset)).as_dict(),
            "form": _compare(_form_fields(old.form), _form_fields(new.form)).as_dict(),
            "policy": _compare(_policy(old.policy), _policy(new.policy)).as_dict()}


Item = tuple[str, Any]  # (label shown, the content compared)


def _compare(old: Mapping[str, Item], new: Mapping[str, Item]) -> Changes:
    return Changes(
        added=[{"id": key, "label": new[key][0]} for key in new if key not in old],
        removed=[{"id": key, "label": old[key][0]} for key in old if key not in new],
        changed=[{"id": key, "label": new[key][0], "old": old[key][1], "new": new[key][1]}
                 for key in new if key in old and old[key][1] != new[key][1]])


def _bpmn_elements(definition: ServiceDefinition) -> dict[str, Item]:
    """Every element with an id in the main and called documents, by id: its kind and name
    as the label; compared by its XML without the diagram (moving a shape is no change)."""
    elements: dict[str, Item] = {}
    for text in [definition.bpmn, *(definition.called_bpmn or {}).values()]:
        root = etree.fromstring(text.encode("utf-8"), etree.XMLParser(resolve_entities=False, no_network=True))
        for element in root.iter(etree.Element):
            element_id = element.get("id")
            if element_id is None or etree.QName(element).namespace in DIAGRAM_NAMESPACES:
                continue
            kind = etree.QName(element).localname
            elements[element_id] = (f"{kind} {element.get('name') or ''}".strip(), _summary(element))
    return elements


def _summary(element: etree._Element) -> str:
    """The element's own attributes and its children without ids (scripts, conditions, lane
    members, extensions), each child compared on its own: how a tool declares namespaces or
    indents the file is no change."""
    parts = [f"{k}={v}" for k, v in sorted(element.attrib.items())]
    parts += [_shortened(_canonical_xml(child)) for child in element
              if isinstance(child.tag, str) and child.get("id") is None
              and etree.QName(child).namespace not in DIAGRAM_NAMESPACES]
    return "; ".join(parts)


def _canonical_xml(element: etree._Element) -> str:
    """An element as its local name, sorted attributes, trimmed text and children: no prefixes,
    namespace declarations or whitespace."""
    attributes = " ".join(f"{etree.QName(k).localname}={v!r}" for k, v in sorted(element.attrib.items()))
    children = "".join(_canonical_xml(child) for child in element if isinstance(child.tag, str))
    text = (element.text or "").strip()
    return f"<{etree.QName(element).localname}{' ' + attributes if attributes else ''}>{text}{children}</>"


def _shortened(text: str) -> str:
    """A long child (a script) shortened to its opening and a hash of the whole."""
    return text if len(text) <= 160 else f"{text[:120]}… #{hashlib.sha1(text.encode()).hexdigest()[:8]}"


def _rules(text: str) -> dict[str, Item]:
    if not text.strip():
        return {}
    document = yaml.safe_load(text) or {}
    items: dict[str, Item] = {f"rule:{r.get('id')}": (str(r.get("message") or r.get("id")), _canonical(r))
                              for r in document.get("rules") or [] if isinstance(r, dict)}
    items |= {f"fact:{name}": (str((spec or {}).get("label") or name), _canonical(spec))
              for name, spec in (document.get("facts") or {}).items()}
    items |= {key: (key, _canonical(value)) for key, value in document.items() if key not in ("rules", "facts")}
    return items


def _form_fields(text: str) -> dict[str, Item]:
    return {str(component.get("key") or component.get("id")): (
                str(component.get("label") or component.get("dateLabel") or component.get("key")), _canonical(component))
            for component in _components(json.loads(text).get("components") or [])
            if component.get("key") or component.get("id")}


def _components(components: Iterable[Mapping]) -> Iterable[Mapping]:
    for component in components:
        yield component
        yield from _components(component.get("components") or [])


def _policy(policy: Mapping | None) -> dict[str, Item]:
    return {key: (key, _canonical(value)) for key, value in (policy or {}).items()}


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False, default=str)
