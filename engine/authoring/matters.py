"""Making a matter from a template, and editing its guide afterwards.

``create_matter`` puts the matter in the catalogue (the ``matter`` row) and deploys its
version 1 through the normal deploy — every check runs, and deploy records who deployed
it and when (the ``definition.deployed`` event). ``edit_guide`` changes the guide (name,
conditions, materials, time limits, legal basis, fee…): the matter's policy is versioned
with its files, so the change is a new version with the live version's files and the new
policy; an edit that changes nothing returns the live version.

Only matters made from a template are edited here: the shipped ones are maintained in
processes/catalogue.yaml, whose entries a restart writes back into the ``matter`` rows.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from engine.authoring.guide import FILE_FIELDS, Guide, guide_of, read_guide
from engine.authoring.templates import POLICY_KEYS, Template, files_for, policy_for
from engine.definitions.catalogue import upsert_matter
from engine.definitions.versions import DefinitionUpload, current_definition, deploy, upload_warnings
from engine.errors import InvalidInput, MatterExists, NotAuthored, NotFound, as_dicts
from engine.store.models import Matter, ServiceDefinition


@dataclass(frozen=True)
class Authored:
    """What an authoring call deployed (or found already live)."""

    matter: str
    version: int
    new_version: bool  # False: the live version already had these files and this policy
    warnings: list[dict]  # deploy's lint warnings (file, element_id, reason)
    # save_guide: the live files were kept though the template makes other ones from this guide now
    files_differ: bool = False


def create_matter(session: Session, template: Template, guide: Guide, by: str, source_names: set[str]) -> Authored:
    """A new matter from ``template``; MatterExists (409) if its code is taken."""
    if session.get(Matter, guide.code) is not None:
        raise MatterExists(f"事项编码 {guide.code} 已存在")
    upload = files_for(template, guide)
    _upsert(session, upload.policy)
    definition, _ = deploy(session, upload, by, source_names)
    return Authored(definition.matter_code, definition.version, True, as_dicts(upload_warnings(upload)))


def edit_guide(session: Session, code: str, changes: Mapping[str, Any], by: str,
               source_names: set[str]) -> Authored:
    """A new version of the matter with its guide changed and its live files."""
    matter, live, template = _authored(session, code)
    fixed = sorted(name for name in changes if name in FILE_FIELDS)
    if fixed:
        raise InvalidInput("这些项不能通过办事指南修改", {name: [
            "事项编码不能修改" if name == "code" else "此项写在事项的规则集中：修改规则请在规则编辑器中编辑后部署新版本"]
            for name in fixed})
    guide = read_guide(guide_of(live.policy or matter.elements) | dict(changes), template, source_names,
                       new_files=False)
    return _redeploy(session, live, template, guide, by, source_names)


def save_guide(session: Session, template: Template, guide: Guide, by: str, source_names: set[str]) -> Authored:
    """Create the matter, or (importing a catalogue again) give the existing one made from
    the same template this guide: a new version only if its policy changed. The live files
    are kept — an analyst may have edited them since — and ``files_differ`` says when the
    template would now make different ones (its 秒批条件 changed, say)."""
    if session.get(Matter, guide.code) is None:
        return create_matter(session, template, guide, by, source_names)
    _, live, made_from = _authored(session, guide.code)
    if made_from is not template:
        raise NotAuthored(f"事项 {guide.code} 已按模板「{made_from.about.title}」创建，"
                          f"不能改用模板「{template.about.title}」")
    saved = _redeploy(session, live, template, guide, by, source_names)
    fresh = files_for(template, guide)
    same = (fresh.bpmn, fresh.ruleset, fresh.form) == (live.bpmn, live.ruleset, live.form)
    return Authored(saved.matter, saved.version, saved.new_version, saved.warnings, not same)


def _authored(session: Session, code: str) -> tuple[Matter, ServiceDefinition, Template]:
    matter = session.get(Matter, code)
    if matter is None:
        raise NotFound(f"没有编码为 {code} 的事项")
    live = current_definition(session, code)
    template = Template.named(str((live.policy or matter.elements).get("template", "")))
    if template is None:
        raise NotAuthored(f"事项 {code} 不是由模板创建的：其办事指南在 processes/catalogue.yaml 中维护")
    return matter, live, template


def _redeploy(session: Session, live: ServiceDefinition, template: Template, guide: Guide, by: str,
              source_names: set[str]) -> Authored:
    """The live version's files with the guide's policy (other policy keys kept)."""
    kept = {key: value for key, value in (live.policy or {}).items() if key not in POLICY_KEYS}
    policy = kept | policy_for(template, guide)
    if policy == live.policy:  # what deploy would find by checksum, without checking the files again
        return Authored(live.matter_code, live.version, False, [])
    names = live.file_names or {}
    upload = DefinitionUpload(
        matter_code=live.matter_code, bpmn=live.bpmn, ruleset=live.ruleset, form=live.form, dmn=list(live.dmn),
        bpmn_name=names.get("bpmn", "process.bpmn"), ruleset_name=names.get("ruleset", "ruleset.yaml"),
        form_name=names.get("form", "form.json"), dmn_names=list(names.get("dmn") or []),
        called=dict(live.called_bpmn or {}), policy=policy)
    _upsert(session, policy)
    definition, created = deploy(session, upload, by, source_names)
    return Authored(definition.matter_code, definition.version, created, as_dicts(upload_warnings(upload)))


def _upsert(session: Session, policy: dict) -> None:
    """The ``matter`` row; a code taken meanwhile (two creations at once) is a conflict."""
    try:
        with session.begin_nested():
            upsert_matter(session, policy)
    except IntegrityError as exc:
        raise MatterExists(f"事项编码 {policy['code']} 已存在") from exc
    except ValueError as exc:  # a policy piece upsert checks (regions, subject): read_guide should have refused it
        raise InvalidInput("办事指南有误", {"_schema": [str(exc)]}) from exc
