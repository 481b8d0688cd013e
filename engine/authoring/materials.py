"""Materials (申请材料) as a catalogue export lists them, normalised against the materials
dictionary (processes/materials_dictionary.yaml): 身份证件, 身份证 and 本人身份证 are all
居民身份证, so a citizen meets one name for one document across every matter.

The cell format of the 申请材料 column (CSV; JSON may give the same text, or a list):

    居民身份证(申请人自备);户口簿(政府部门核发);告知承诺书(申请人自备,选填)

Materials are separated by ``;`` ``；`` or line breaks. Each is a name, optionally followed
by one bracketed group (half- or full-width) of its 来源渠道 and whether it is required
(必要 / 选填), in any order. A trailing group that names neither is part of the name
(``营业执照（副本）``). 来源渠道: 申请人自备 (also 其他, 中介机构出具), 在线填写, 电子证照库,
人口库, 不动产登记, or 政府部门核发 — read from the source the dictionary names for the
material, else handed in by the applicant. Without a group: 申请人自备, required.

In JSON a material may also be an object: {"材料名称": …, "来源渠道": …, "是否必要": "是"|"否"}.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from engine.authoring.guide import MaterialSource
from engine.config import REPO_ROOT

DICTIONARY_FILE = REPO_ROOT / "processes" / "materials_dictionary.yaml"
SEPARATORS = re.compile(r"[;；\n]+")
TRAILING_GROUP = re.compile(r"^(?P<name>.*?)\s*[（(](?P<group>[^（）()]*)[）)]\s*$")
GROUP_SEPARATORS = re.compile(r"[,，、/\s]+")
QUALIFIER = re.compile(r"[(]?(?:原件及复印件|原件和复印件|原件或复印件|复印件|原件)[)]?$")
ISSUED = "政府部门核发"  # read from the dictionary's source for the material, when it has one
SOURCE_WORDS: dict[str, MaterialSource | str] = {
    **{s.value: s for s in MaterialSource}, **{s.title: s for s in MaterialSource},
    "自备": MaterialSource.APPLICANT, "申请人": MaterialSource.APPLICANT, "其他": MaterialSource.APPLICANT,
    "中介机构出具": MaterialSource.APPLICANT, "中介服务机构": MaterialSource.APPLICANT,
    "申请表": MaterialSource.FORM, "电子证照": MaterialSource.LICENCE_LIBRARY,
    ISSUED: ISSUED, "部门核发": ISSUED, "政府核发": ISSUED, "数据共享": ISSUED,
}
REQUIRED_WORDS = {"必要": True, "必需": True, "必须": True, "必填": True, "是": True,
                  "非必要": False, "非必需": False, "选填": False, "可选": False, "容缺": False, "否": False}


@dataclass(frozen=True)
class Entry:
    """A canonical material of the dictionary."""

    name: str
    source: MaterialSource | None = None  # where 政府部门核发 reads it
    licence_type: str | None = None


class MaterialsDictionary:
    def __init__(self, entries: list[Entry], aliases: dict[str, str]) -> None:
        self.entries = {entry.name: entry for entry in entries}
        self._canonical = {_key(entry.name): entry.name for entry in entries} | {
            _key(alias): name for alias, name in aliases.items()}

    @classmethod
    def parse(cls, text: str, filename: str = "materials_dictionary.yaml") -> MaterialsDictionary:
        """The dictionary; ValueError naming the entry if an alias is claimed twice or a source is unknown."""
        document = yaml.safe_load(text) or {}
        entries, aliases = [], {}
        for name, spec in document.items():
            spec = spec or {}
            source = spec.get("source")
            if source is not None and source not in {s.value for s in MaterialSource}:
                raise ValueError(f"{filename}: {name}: unknown source {source!r}")
            entries.append(Entry(name, MaterialSource(source) if source else None, spec.get("licence_type")))
            for alias in spec.get("aliases") or []:
                if alias in aliases or alias in document:
                    raise ValueError(f"{filename}: alias {alias!r} of {name} is already another material's name")
                aliases[alias] = name
        return cls(entries, aliases)

    def canonical(self, name: str) -> str:
        """The dictionary's name for the material, or the name as given (trimmed)."""
        return self._canonical.get(_key(name), name.strip())

    def entry(self, name: str) -> Entry | None:
        return self.entries.get(name)


def _key(name: str) -> str:
    compact = re.sub(r"\s+", "", name).replace("（", "(").replace("）", ")")
    return QUALIFIER.sub("", compact) or compact


@lru_cache(maxsize=4)
def _load(path: Path, modified_ns: int) -> MaterialsDictionary:
    return MaterialsDictionary.parse(path.read_text(encoding="utf-8"), path.name)


def load_dictionary(path: Path = DICTIONARY_FILE) -> MaterialsDictionary:
    """The dictionary file, parsed once per version of it."""
    return _load(path, path.stat().st_mtime_ns)


@dataclass
class ReadMaterials:
    """A row's materials in the guide's shape, what was normalised, notes and problems."""

    materials: list[dict] = field(default_factory=list)
    normalised: list[dict] = field(default_factory=list)  # {"from": 身份证, "to": 居民身份证}
    notes: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


def read_materials(value: Any, dictionary: MaterialsDictionary) -> ReadMaterials:
    """The 申请材料 of one row: a cell of text, or (JSON) a list of texts or objects."""
    read = ReadMaterials()
    if value is None or (isinstance(value, str) and not value.strip()):
        return read
    if isinstance(value, str):
        items: list = [part for part in SEPARATORS.split(value) if part.strip()]
    elif isinstance(value, list):
        items = value
    else:
        read.errors.append("应为文字（如 居民身份证(申请人自备);户口簿(政府部门核发)）或列表")
        return read
    seen: dict[str, str] = {}
    for item in items:
        parsed = _item(item, read)
        if parsed is None:
            continue
        written, source_word, required = parsed
        name = dictionary.canonical(written)
        if name != written:
            read.normalised.append({"from": written, "to": name})
        if name in seen:
            read.notes.append(f"「{written}」与「{seen[name]}」是同一材料「{name}」，已合并")
            continue
        seen[name] = written
        read.materials.append(_material(name, source_word, required, dictionary, read))
    return read


def _item(item: Any, read: ReadMaterials) -> tuple[str, MaterialSource | str | None, bool | None] | None:
    """(name as written, source word, required) of one material, or None (a problem noted)."""
    if isinstance(item, dict):
        name = item.get("材料名称", item.get("name"))
        channel = item.get("来源渠道", item.get("source"))
        required = item.get("是否必要", item.get("required"))
        if not isinstance(name, str) or not name.strip():
            read.errors.append(f"材料缺少名称：{item}")
            return None
        source = None
        if channel not in (None, ""):
            source = SOURCE_WORDS.get(str(channel).strip())
            if source is None:
                read.errors.append(f"材料「{name.strip()}」的来源渠道「{channel}」无法识别")
                return None
        if isinstance(required, str):
            required = REQUIRED_WORDS.get(required.strip())
        if required is not None and not isinstance(required, bool):
            read.errors.append(f"材料「{name.strip()}」的是否必要应为 是 或 否")
            return None
        return name.strip(), source, required
    if not isinstance(item, str) or not item.strip():
        read.errors.append(f"无法识别的材料：{item!r}")
        return None
    return _cell_item(item.strip(), read)


def _cell_item(text: str, read: ReadMaterials) -> tuple[str, MaterialSource | str | None, bool | None] | None:
    match = TRAILING_GROUP.match(text)
    if match is None or not match.group("name").strip():
        return text, None, None
    words = [w for w in GROUP_SEPARATORS.split(match.group("group")) if w]
    known = [w for w in words if w in SOURCE_WORDS or w in REQUIRED_WORDS]
    if not known:
        return text, None, None  # 营业执照（副本）: the group is part of the name
    unknown = [w for w in words if w not in known]
    if unknown:
        read.errors.append(f"材料「{match.group('name').strip()}」的「{'、'.join(unknown)}」无法识别"
                           f"（来源渠道：申请人自备、政府部门核发、电子证照库、人口库、不动产登记、在线填写；是否必要：必要、选填）")
        return None
    source = next((SOURCE_WORDS[w] for w in words if w in SOURCE_WORDS), None)
    required = next((REQUIRED_WORDS[w] for w in words if w in REQUIRED_WORDS), None)
    return match.group("name").strip(), source, required


def _material(name: str, source_word: MaterialSource | str | None, required: bool | None,
              dictionary: MaterialsDictionary, read: ReadMaterials) -> dict:
    entry = dictionary.entry(name)
    source = source_word if isinstance(source_word, MaterialSource) else MaterialSource.APPLICANT
    if source_word == ISSUED:
        if entry is not None and entry.source is not None:
            source = entry.source
        else:
            read.notes.append(f"「{name}」由政府部门核发但未接入数据共享：由申请人提交")
    material = {"name": name, "required": True if required is None else required, "source": source.value}
    if source is MaterialSource.LICENCE_LIBRARY and entry is not None and entry.licence_type:
        material["licence_type"] = entry.licence_type
    return material
