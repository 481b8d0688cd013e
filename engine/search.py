"""Finding a matter by everyday words (网厅模糊搜索): "模拟群众日常口语优化了网厅模糊搜索功能，让办事
群众在网上上万个事项中可快速定位到自己所办事项".

People do not type a matter's official name: they type "老人补贴" for 高龄老人长寿补贴, "开公司"
for 企业开办一件事, or a whole sentence ("我家老人80岁了能领什么补贴"). ``MatterSearch``
indexes each matter's text by Chinese character bigrams (and single characters, weakly), so
word order and extra words do not matter, and scores a hit by where it falls:

| field | weight |
|---|---|
| name, ``aliases:`` (everyday names: 老人补贴, 长寿金), codes | high |
| ``keywords:`` (words people use about it: 营业执照, 过户) | middle |
| result name, department's name, type | low |
| conditions, material names | lowest |

A term's weight is also scaled by how rare it is in the catalogue (inverse document
frequency), so "补贴" counts more than "登记". A query that names a matter's name or alias
outright (the whole phrase) gets a bonus. Filler words (我想, 怎么, 办理…) are dropped first.
A matter needs at least one two-character (or code) hit to be found; ordering is
deterministic (score, then code). The cart (政务超市订单) is not a matter one searches for.

The index is built from the ``matter`` rows and kept per process (``matter_search``),
rebuilt when the catalogue changes: its key is the database, the number of matters and the
newest service definition's id — every deploy, authored matter, guide edit and import adds
a definition (a policy change is a new version), so the key moves with them.
"""
from __future__ import annotations

import math
import re
import threading
import unicodedata
from bisect import bisect_left
from dataclasses import dataclass, field
from collections.abc import Iterable, Mapping

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engine.people.organisation import read_departments
from engine.people.regions import RegionPolicy
from engine.store.models import Matter, ServiceDefinition

MAX_QUERY = 100  # characters a query may have (the API refuses longer ones)
DEFAULT_LIMIT = 10

# Field weights: an everyday name or the official one matters most, a condition least.
NAME, ALIAS, CODE, KEYWORD, RESULT, DEPARTMENT, TYPE, DETAIL = 10.0, 9.0, 8.0, 6.0, 3.0, 3.0, 2.0, 1.0
SINGLE_CHARACTER = 0.15  # a single character's share of a bigram's weight (tie-breaking, typo tolerance)
CODE_PREFIX = 0.5  # "elderly" for elderly_subsidy: half an exact word
PHRASE_BONUS = 4.0  # per character of a query phrase found whole in a name or an alias
EXACT_BONUS = 30.0  # the query is a name, an alias or a code
RELATIVE_FLOOR = 0.15  # hits scoring under this share of the best are left out

# What people say around what they want; dropped before the query is cut into bigrams.
FILLERS = ("能不能", "怎么", "怎样", "如何", "什么", "哪里", "哪儿", "在哪", "请问", "我要", "我想", "想要",
           "需要", "可以", "一下", "办理", "申请", "手续")

_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")
_WORD = re.compile(r"[a-z0-9]+")
_FILLER = re.compile("|".join(map(re.escape, FILLERS)))


def normalise(text: str) -> str:
    """Full-width letters and digits to half-width, compatibility ideographs folded, lower case."""
    return unicodedata.normalize("NFKC", text).lower()


def bigrams(run: str) -> list[str]:
    return [run[i:i + 2] for i in range(len(run) - 1)]


@dataclass(frozen=True)
class Hit:
    """One matter found: what a portal lists, and which of the query's words matched."""

    code: str
    name: str
    department: str
    department_name: str
    score: float
    matched: list[str]


@dataclass
class _Entry:
    """One matter's indexed text."""

    code: str
    name: str
    department: str
    department_name: str
    offered: tuple[str, ...]
    phrases: tuple[str, ...]  # the name and aliases, normalised: a query phrase found whole in one gets a bonus
    exact: frozenset[str]  # the name, aliases and codes, normalised: a query equal to one gets more
    terms: dict[str, float] = field(default_factory=dict)  # bigram or code word -> best field weight
    characters: dict[str, float] = field(default_factory=dict)  # single character -> best field weight

    def add(self, text: str, weight: float) -> None:
        text = normalise(text)
        for run in _CJK.findall(text):
            for term in bigrams(run):
                self.terms[term] = max(weight, self.terms.get(term, 0.0))
            for character in run:
                self.characters[character] = max(weight, self.characters.get(character, 0.0))
        for word in _WORD.findall(text):
            self.terms[word] = max(weight, self.terms.get(word, 0.0))


def _items(value: object) -> list:
    return value if isinstance(value, list) else []


def _texts(value: object) -> list[str]:
    """A catalogue value as texts: a string, or a list's strings (anything else: none)."""
    if isinstance(value, str):
        return [value]
    return [item for item in _items(value) if isinstance(item, str)]


def _offered(elements: Mapping, home: str) -> tuple[str, ...]:
    try:
        return RegionPolicy.from_elements(elements, home).offered
    except (ValueError, TypeError):  # a policy deploy would refuse; where the matter lives is still known
        return (home,)


def _entry(code: str, name: str, department: str, region: str, elements: Mapping,
           departments: Mapping[str, str]) -> _Entry:
    department_name = elements.get("department_name")
    if not isinstance(department_name, str):
        department_name = departments.get(department, department)
    aliases = _texts(elements.get("aliases"))
    codes = [code, *_texts(elements.get("national_code")), *_texts(elements.get("implementation_code"))]
    entry = _Entry(code, name, department, department_name, _offered(elements, region),
                   phrases=tuple(normalise(text) for text in [name, *aliases]),
                   exact=frozenset(normalise(text) for text in [name, *aliases, *codes]))
    weighted = [(NAME, [name]), (ALIAS, aliases), (CODE, codes), (KEYWORD, _texts(elements.get("keywords"))),
                (RESULT, _texts(elements.get("result_name"))), (DEPARTMENT, [department_name]),
                (TYPE, _texts(elements.get("type"))), (DETAIL, _texts(elements.get("conditions"))),
                (DETAIL, [m["name"] for m in _items(elements.get("materials"))
                          if isinstance(m, Mapping) and isinstance(m.get("name"), str)])]
    for weight, texts in weighted:
        for text in texts:
            entry.add(text, weight)
    return entry


def _is_cart(elements: Mapping) -> bool:
    bundle = elements.get("bundle")
    return isinstance(bundle, Mapping) and bool(bundle.get("cart"))


@dataclass(frozen=True)
class _Query:
    runs: tuple[str, ...]  # runs of Chinese characters, fillers removed
    words: tuple[str, ...]  # letters and digits (codes, "80")
    whole: str  # the query normalised, for exact matches

    @classmethod
    def of(cls, text: str) -> _Query:
        text = normalise(text[:MAX_QUERY]).strip()
        kept = _FILLER.sub(" ", text)
        return cls(tuple(_CJK.findall(kept)), tuple(dict.fromkeys(_WORD.findall(kept))), text)

    @property
    def bigrams(self) -> set[str]:
        return {term for run in self.runs for term in bigrams(run)}

    @property
    def characters(self) -> set[str]:
        return {character for run in self.runs for character in run}


class MatterSearch:
    """The catalogue's search index: built once, read by any number of threads."""

    def __init__(self, entries: Iterable[_Entry]) -> None:
        self.entries = sorted(entries, key=lambda e: e.code)
        self.postings: dict[str, list[tuple[int, float]]] = {}
        characters: dict[str, int] = {}
        for index, entry in enumerate(self.entries):
            for term, weight in entry.terms.items():
                self.postings.setdefault(term, []).append((index, weight))
            for character in entry.characters:
                characters[character] = characters.get(character, 0) + 1
        total = len(self.entries)
        self.idf = {term: math.log(1 + total / len(hits)) for term, hits in self.postings.items()}
        self.character_idf = {c: math.log(1 + total / count) for c, count in characters.items()}
        self.words = sorted(term for term in self.postings if _WORD.fullmatch(term))  # for code prefixes

    @classmethod
    def of_matters(cls, matters: Iterable[Matter], departments: Mapping[str, str] | None = None) -> MatterSearch:
        departments = read_departments() if departments is None else departments
        return cls(_entry(m.code, m.name, m.department, m.region, m.elements or {}, departments)
                   for m in matters if not _is_cart(m.elements or {}))

    def __len__(self) -> int:
        return len(self.entries)

    def search(self, text: str, region: str | None = None, limit: int = DEFAULT_LIMIT) -> list[Hit]:
        """The matters ``text`` finds, best first; only those offered in ``region`` if given."""
        query = _Query.of(text)
        scores: dict[int, float] = {}
        matched: dict[int, set[str]] = {}
        for term in sorted(query.bigrams):
            self._credit(term, 1.0, scores, matched)
        for word in query.words:
            self._credit(word, 1.0, scores, matched)
            if len(word) >= 3:
                for term in self._prefixed(word):
                    self._credit(term, CODE_PREFIX, scores, matched, shown=word)
        if not scores and len(query.whole) == 1 and _CJK.fullmatch(query.whole):  # a one-character query: "证"
            for index, entry in enumerate(self.entries):
                if query.whole in entry.characters:
                    scores[index], matched[index] = 0.0, set()
        for index in scores:
            scores[index] += self._bonus(self.entries[index], query)
        found = [(round(score, 2), self.entries[index].code, index) for index, score in scores.items()
                 if region is None or region in self.entries[index].offered]
        if not found:
            return []
        best = max(score for score, _, _ in found)
        found = sorted((hit for hit in found if hit[0] >= best * RELATIVE_FLOOR), key=lambda hit: (-hit[0], hit[1]))
        return [self._hit(self.entries[index], score, query, matched[index]) for score, _, index in found[:limit]]

    def _credit(self, term: str, share: float, scores: dict[int, float], matched: dict[int, set[str]],
                shown: str | None = None) -> None:
        for index, weight in self.postings.get(term, ()):
            scores[index] = scores.get(index, 0.0) + self.idf[term] * weight * share
            matched.setdefault(index, set()).add(shown or term)

    def _prefixed(self, word: str) -> list[str]:
        """Code words starting with ``word`` (not equal to it)."""
        found, start = [], bisect_left(self.words, word)
        for term in self.words[start:]:
            if not term.startswith(word):
                break
            if term != word:
                found.append(term)
        return found

    def _bonus(self, entry: _Entry, query: _Query) -> float:
        bonus = sum(self.character_idf[c] * entry.characters[c] * SINGLE_CHARACTER
                    for c in sorted(query.characters) if c in entry.characters)
        bonus += sum(PHRASE_BONUS * len(run) for run in query.runs
                     if len(run) >= 2 and any(run in phrase for phrase in entry.phrases))
        if query.whole in entry.exact:
            bonus += EXACT_BONUS
        return bonus

    @staticmethod
    def _hit(entry: _Entry, score: float, query: _Query, terms: set[str]) -> Hit:
        return Hit(entry.code, entry.name, entry.department, entry.department_name, score,
                   _matched_words(query, terms, entry))


def _matched_words(query: _Query, terms: set[str], entry: _Entry) -> list[str]:
    """The query's words that matched, in the query's order: overlapping matched bigrams
    joined ("营业执照"), separate ones apart ("老人", "补贴"); code words as typed."""
    if query.whole in entry.exact:  # a name, an alias or a code, typed whole
        return [query.whole]
    words: list[str] = []
    for run in query.runs:
        if len(run) == 1:  # a lone character shows only as the whole query ("证")
            if run == query.whole and run in entry.characters:
                words.append(run)
            continue
        current = ""
        for term in bigrams(run):
            if term in terms:
                current = current + term[1] if current else term
            else:
                if current:
                    words.append(current)
                current = ""
        if current:
            words.append(current)
    words += [word for word in query.words if word in terms]
    return list(dict.fromkeys(words))


# --- the process's index ----------------------------------------------------------------

_lock = threading.Lock()
_cached: tuple[tuple, MatterSearch] | None = None


def catalogue_key(session: Session) -> tuple:
    """What changes when the catalogue does: the database, how many matters, the newest
    definition (one query of two aggregates)."""
    count, newest = session.execute(select(select(func.count(Matter.code)).scalar_subquery(),
                                           select(func.max(ServiceDefinition.id)).scalar_subquery())).one()
    return str(session.get_bind().url), count, newest


def matter_search(session: Session) -> MatterSearch:
    """The index of the catalogue as it is now, built when it changed since the last call."""
    global _cached
    key = catalogue_key(session)
    cached = _cached
    if cached is not None and cached[0] == key:
        return cached[1]
    with _lock:
        if _cached is not None and _cached[0] == key:
            return _cached[1]
        index = MatterSearch.of_matters(session.scalars(select(Matter)))
        _cached = (key, index)
        return index


def forget() -> None:
    """Drop the process's index (engine/caches.py ``reset``)."""
    global _cached
    _cached = None
