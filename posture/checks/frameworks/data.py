"""Load and validate the shipped framework files (``cis.yaml``, ``nsa.yaml``) once per process.

Each file lists a framework's sections and controls, and maps every check of the catalog to
the controls it evaluates (or to none, with the reason). Whether the mapping covers the
catalog is the tests' business (``catalog_problems``): a check added on its own must not stop
the engine from importing, but it must not reach the main branch unmapped either.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources
from importlib.resources.abc import Traversable
from types import MappingProxyType
from typing import Any

import yaml

try:
    # Same loader choice as the lifecycle tables: the C one where PyYAML has it.
    from yaml import CSafeLoader as _SafeLoader
except ImportError:  # pragma: no cover - depends on how PyYAML was built
    from yaml import SafeLoader as _SafeLoader  # type: ignore[assignment]  # same interface

FRAMEWORK_IDS: tuple[str, ...] = ("cis", "nsa")

_TOP_KEYS = frozenset({"id", "title", "version", "sources", "sections", "mapping"})
_SECTION_KEYS = frozenset({"id", "title", "controls", "not_checkable"})
_CONTROL_KEYS = frozenset({"id", "title", "partial", "not_checkable", "not_evaluated"})


class FrameworkDataError(ValueError):
    """A shipped framework file is malformed: an editing mistake, never user input."""


@dataclass(frozen=True, slots=True)
class Source:
    """Where the framework's text comes from."""

    title: str
    url: str


@dataclass(frozen=True, slots=True)
class Evaluates:
    """One check evaluating one control: all its findings, or those whose message holds text."""

    check: str
    control: str
    message_has: str = ""

    def covers(self, message: str) -> bool:
        """Return whether a finding of the check with ``message`` falls under the control."""
        return not self.message_has or self.message_has in message


@dataclass(frozen=True, slots=True)
class Control:
    """One control (a recommendation) and what evaluates it.

    Exactly one of three holds: checks evaluate it (``evaluated_by``; ``partial`` then says
    what they leave out, if anything), the Kubernetes API cannot show it (``not_checkable``),
    or the API could but no check looks yet (``not_evaluated``). A ``summary`` control stands
    for a whole section that cannot be checked, listed as one entry.
    """

    id: str
    title: str
    section: str
    evaluated_by: tuple[Evaluates, ...] = ()
    partial: str = ""
    not_checkable: str = ""
    not_evaluated: str = ""
    summary: bool = False

    @property
    def checks(self) -> tuple[str, ...]:
        """Return the ids of the checks that evaluate this control, in mapping order."""
        return tuple(dict.fromkeys(e.check for e in self.evaluated_by))


@dataclass(frozen=True, slots=True)
class Section:
    """A section of the framework and its controls, in the framework's order."""

    id: str
    title: str
    controls: tuple[Control, ...]


@dataclass(frozen=True)
class Framework:
    """A framework's controls and the catalog's mapping onto them."""

    id: str
    title: str
    version: str
    sources: tuple[Source, ...]
    sections: tuple[Section, ...]
    # check id -> what it evaluates; check id -> why it evaluates no control.
    evaluates: Mapping[str, tuple[Evaluates, ...]]
    no_control: Mapping[str, str]

    @property
    def label(self) -> str:
        """Return the framework's name with its version, as pages and reports show it."""
        return f"{self.title} {self.version}"

    @property
    def controls(self) -> tuple[Control, ...]:
        """Return every control, sections in order."""
        return tuple(c for s in self.sections for c in s.controls)

    def control(self, control_id: str) -> Control:
        """Return the control ``control_id``; raise KeyError if the framework has none."""
        for c in self.controls:
            if c.id == control_id:
                return c
        raise KeyError(control_id)

    def controls_of(self, check: str, message: str | None = None) -> tuple[str, ...]:
        """Return the ids of the controls ``check`` evaluates (for a finding's ``message``)."""
        return tuple(
            dict.fromkeys(
                e.control
                for e in self.evaluates.get(check, ())
                if message is None or e.covers(message)
            )
        )


@cache
def frameworks() -> Mapping[str, Framework]:
    """Return the shipped frameworks by id, parsed once."""
    return MappingProxyType({fid: load(fid) for fid in FRAMEWORK_IDS})


def framework(framework_id: str) -> Framework:
    """Return the shipped framework ``framework_id`` (``cis`` or ``nsa``); KeyError if none."""
    return frameworks()[framework_id]


def load(framework_id: str, folder: Traversable | None = None) -> Framework:
    """Parse and validate ``<framework_id>.yaml`` from ``folder`` (default: the shipped files)."""
    base = resources.files("posture.checks.frameworks") if folder is None else folder
    filename = f"{framework_id}.yaml"
    document = yaml.load((base / filename).read_text(encoding="utf-8"), Loader=_SafeLoader)
    return parse(filename, document)


def parse(filename: str, document: object) -> Framework:
    """Validate one parsed framework file; return the framework or raise FrameworkDataError."""
    where = filename
    top = _mapping(document, where, _TOP_KEYS)
    fid = _text(top.get("id"), f"{where}: id")
    sources = tuple(
        Source(
            _text(s.get("title"), f"{where}: sources[{i}].title"),
            _text(s.get("url"), f"{where}: sources[{i}].url"),
        )
        for i, s in enumerate(_mappings(top.get("sources"), f"{where}: sources"))
    )
    declared: dict[str, tuple[str, dict[str, Any]]] = {}
    section_order: list[tuple[str, str, list[str]]] = []
    for i, raw in enumerate(_mappings(top.get("sections"), f"{where}: sections")):
        sw = f"{where}: sections[{i}]"
        section = _mapping(raw, sw, _SECTION_KEYS)
        sid = _text(section.get("id"), f"{sw}.id")
        title = _text(section.get("title"), f"{sw}.title")
        ids: list[str] = []
        if "not_checkable" in section:
            # A section summarised as one entry: it stands for all of its controls.
            if "controls" in section:
                raise FrameworkDataError(f"{sw}: a section is summarised or lists controls")
            raw_controls = [{"id": sid, "title": title, "not_checkable": section["not_checkable"]}]
        else:
            raw_controls = _mappings(section.get("controls"), f"{sw}.controls")
        for j, rc in enumerate(raw_controls):
            cw = f"{sw}.controls[{j}]"
            control = _mapping(rc, cw, _CONTROL_KEYS)
            cid = _text(control.get("id"), f"{cw}.id")
            if cid in declared:
                raise FrameworkDataError(f"{cw}: control {cid!r} is declared twice")
            declared[cid] = (sid, control)
            ids.append(cid)
        section_order.append((sid, title, ids))
    if len({sid for sid, _, _ in section_order}) != len(section_order):
        raise FrameworkDataError(f"{where}: two sections share an id")

    evaluates: dict[str, tuple[Evaluates, ...]] = {}
    no_control: dict[str, str] = {}
    mapping = top.get("mapping")
    if not isinstance(mapping, dict) or not mapping:
        raise FrameworkDataError(f"{where}: mapping must be a non-empty mapping")
    for check, entry in mapping.items():
        mw = f"{where}: mapping.{check}"
        if not isinstance(check, str) or not check:
            raise FrameworkDataError(f"{where}: mapping keys must be check ids")
        if isinstance(entry, dict):
            if set(entry) != {"none"}:
                raise FrameworkDataError(f"{mw}: expected a list of controls or `none: reason`")
            no_control[check] = _text(entry["none"], f"{mw}.none")
            continue
        if not isinstance(entry, list) or not entry:
            raise FrameworkDataError(f"{mw}: expected a list of controls or `none: reason`")
        found: list[Evaluates] = []
        for item in entry:
            if isinstance(item, str):
                found.append(Evaluates(check, item))
            elif isinstance(item, dict) and set(item) <= {"control", "message_has"}:
                found.append(
                    Evaluates(
                        check,
                        _text(item.get("control"), f"{mw}.control"),
                        _text(item.get("message_has"), f"{mw}.message_has"),
                    )
                )
            else:
                raise FrameworkDataError(f"{mw}: {item!r} is not a control id")
        for e in found:
            if e.control not in declared:
                raise FrameworkDataError(f"{mw}: no control {e.control!r} in {filename}")
            if declared[e.control][1].get("not_checkable") or declared[e.control][1].get(
                "not_evaluated"
            ):
                raise FrameworkDataError(
                    f"{mw}: control {e.control!r} says no check evaluates it, yet one is mapped"
                )
        evaluates[check] = tuple(found)

    by_control: dict[str, list[Evaluates]] = {cid: [] for cid in declared}
    for found_for_check in evaluates.values():
        for e in found_for_check:
            by_control[e.control].append(e)
    sections = []
    for sid, title, ids in section_order:
        controls = []
        for cid in ids:
            _, raw = declared[cid]
            cw = f"{where}: control {cid}"
            not_checkable = _optional_text(raw.get("not_checkable"), f"{cw}.not_checkable")
            not_evaluated = _optional_text(raw.get("not_evaluated"), f"{cw}.not_evaluated")
            partial = _optional_text(raw.get("partial"), f"{cw}.partial")
            evaluated_by = tuple(by_control[cid])
            reasons = sum(1 for r in (not_checkable, not_evaluated) if r)
            if reasons > 1 or (reasons == 0) == (not evaluated_by):
                raise FrameworkDataError(
                    f"{cw}: give checks in the mapping, or not_checkable or not_evaluated "
                    "with the reason (exactly one of them)"
                )
            if partial and not evaluated_by:
                raise FrameworkDataError(f"{cw}: partial needs checks that evaluate the control")
            controls.append(
                Control(
                    id=cid,
                    title=_text(raw.get("title"), f"{cw}.title"),
                    section=sid,
                    evaluated_by=evaluated_by,
                    partial=partial,
                    not_checkable=not_checkable,
                    not_evaluated=not_evaluated,
                    summary=cid == sid,
                )
            )
        sections.append(Section(sid, title, tuple(controls)))
    return Framework(
        id=fid,
        title=_text(top.get("title"), f"{where}: title"),
        version=_text(top.get("version"), f"{where}: version"),
        sources=sources,
        sections=tuple(sections),
        evaluates=MappingProxyType(evaluates),
        no_control=MappingProxyType(no_control),
    )


def catalog_problems(fw: Framework, check_ids: Collection[str]) -> list[str]:
    """Return what is wrong between ``fw``'s mapping and a catalog's ``check_ids`` (none: ok).

    Every check must be mapped to at least one control or to none with a reason, and the
    mapping must name only checks the catalog has.
    """
    problems = []
    mapped = set(fw.evaluates) | set(fw.no_control)
    for check in check_ids:
        if check not in mapped:
            problems.append(
                f"{fw.id}: check {check} is not mapped; add it under `mapping:` in "
                f"posture/checks/frameworks/{fw.id}.yaml with the controls it evaluates, or "
                "`none:` and the reason it evaluates none"
            )
    known = set(check_ids)
    for check in sorted(mapped - known):
        problems.append(f"{fw.id}: mapping names {check}, which the catalog does not have")
    return problems


def _mapping(value: object, where: str, keys: frozenset[str]) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise FrameworkDataError(f"{where}: expected a mapping")
    unknown = set(value) - keys
    if unknown:
        raise FrameworkDataError(f"{where}: unknown keys {sorted(map(str, unknown))}")
    return value


def _mappings(value: object, where: str) -> list[dict[str, Any]]:
    if not isinstance(value, list) or not value or not all(isinstance(v, dict) for v in value):
        raise FrameworkDataError(f"{where}: expected a non-empty list of mappings")
    return value


def _text(value: object, where: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise FrameworkDataError(f"{where}: expected text")
    return " ".join(value.split())


def _optional_text(value: object, where: str) -> str:
    return "" if value is None else _text(value, where)
