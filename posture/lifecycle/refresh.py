"""Refresh the lifecycle tables from the endoflife.date API (v1).

Every product whose data declares a ``refresh`` URL is fetched and merged into its file:
listed cycles get the API's dates and newer latest patches, releases the tables lack are added
when they are newer than every listed cycle or still supported, nothing is deleted, each row
keeps its ``source``, and a field a product's rows never use is not introduced (the tables
leave some out on purpose, e.g. Ubuntu's hardware-enablement end). The YAML is edited in
place, so comments and layout survive; the result is validated with the loader's rules and
written atomically. A product whose fetch or merge fails keeps its rows as they were.

Pure Python, no Django: ``manage.py refresh_lifecycle`` is a thin wrapper around ``refresh``.
"""

from __future__ import annotations

import http.client
import json
import os
import re
import stat
import tempfile
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Collection, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, SequenceNode

from posture.lifecycle.data import DATA_FILES, DataError, parse_file

DATA_DIR: Path = Path(__file__).resolve().parent / "data"
DEFAULT_BASE_URL = "https://endoflife.date/api/v1"
DEFAULT_TIMEOUT = 20.0
# The largest product (Windows) is well under 100 kB; anything this big is not the API.
MAX_RESPONSE_BYTES = 4 * 1024 * 1024
USER_AGENT = "posture-lifecycle-refresh (+https://endoflife.date/docs/api/v1/)"

# Fetches are I/O-bound and independent; a few at a time keeps a slow product from holding up
# the rest without hammering a community-run service.
_FETCH_WORKERS = 4

_REFRESH_URL = re.compile(r"https://endoflife\.date/api/v1/products/([a-z0-9][a-z0-9-]*)/?")
_RELEASE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_VERSION_PART = re.compile(r"[0-9]+|[A-Za-z]+")
_HEADER_AS_OF = re.compile(r"^# As of: ([0-9]{4}-[0-9]{2}-[0-9]{2})", re.MULTILINE)
_MAX_TEXT = 128

# (API field, data key) for the dates a release carries.
_DATE_FIELDS = (
    ("releaseDate", "release"),
    ("eoasFrom", "eoas"),
    ("eolFrom", "eol"),
    ("eoesFrom", "eoes"),
)
_PHASE_KEYS = ("release", "eoas", "eol", "eoes")
# The order keys take in a row, so an inserted key lands where a person would have put it.
_KEY_ORDER = (
    "cycle",
    "codename",
    "release",
    "eoas",
    "eol",
    "eoes",
    "estimated",
    "latest",
    "latest_date",
    "build",
    "kubernetes_minors",
    "kernels",
    "note",
    "source",
)

Value = date | str


class RefreshError(Exception):
    """One product or file could not be refreshed; the message is a single line."""


@dataclass(frozen=True, slots=True)
class Release:
    """One release cycle as the API reports it, in the data files' vocabulary."""

    name: str
    values: Mapping[str, Value]
    maintained: bool | None = None

    def end(self) -> date | None:
        """Return the last day of any support the API knows of, or None."""
        end = self.values.get("eoes") or self.values.get("eol")
        return end if isinstance(end, date) else None


@dataclass(frozen=True, slots=True)
class RefreshReport:
    """What a refresh changed (or would), what failed, the files it replaced, and what it skips.

    ``by_hand`` names the products with no ``refresh`` URL: their rows need a person.
    """

    changes: tuple[str, ...] = ()
    errors: tuple[str, ...] = ()
    written: tuple[str, ...] = ()
    by_hand: tuple[str, ...] = ()


@dataclass(slots=True)
class _Plan:
    """The edits one product needs: changed keys per row, and new rows per insertion point."""

    updates: dict[int, dict[str, Value]] = field(default_factory=dict)
    additions: dict[int, list[dict[str, Value]]] = field(default_factory=dict)
    lines: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class _Target:
    """A product to refresh: its data name, its file and its endoflife.date slug."""

    name: str
    filename: str
    slug: str


def refresh(
    today: date,
    *,
    data_dir: Path = DATA_DIR,
    base_url: str = DEFAULT_BASE_URL,
    products: Collection[str] = (),
    dry_run: bool = False,
    timeout: float = DEFAULT_TIMEOUT,
) -> RefreshReport:
    """Fetch the selected products (default: all with a refresh URL) and merge them in.

    ``products`` holds data names (``eks``) or endoflife.date slugs (``amazon-eks``). A file's
    ``as_of`` becomes ``today`` only when every refreshable product in it was refreshed.
    Fetch and merge failures are reported per product in the result; a bad base URL, an
    unknown product or a data file the loader refuses raise ValueError before any fetch.
    """
    api_url(base_url, "kubernetes")  # refuse a bad base URL before any work
    documents = {name: _read(data_dir / name) for name in DATA_FILES}
    targets, by_hand = _targets(documents, products)
    fetched = _fetch_all(base_url, targets, timeout)

    changes: list[str] = []
    errors: list[str] = []
    written: list[str] = []
    for filename in DATA_FILES:
        text, document = documents[filename]
        in_file = [t for t in targets if t.filename == filename]
        if not in_file:
            continue
        plans: dict[str, _Plan] = {}
        for target in in_file:
            outcome = fetched[target.name]
            if isinstance(outcome, RefreshError):
                errors.append(f"{target.name} ({target.slug}): {outcome}")
                continue
            try:
                plans[target.name] = _checked_plan(filename, document, target, outcome, today)
            except RefreshError as error:
                errors.append(f"{target.name} ({target.slug}): {error}")
        refreshable = {n for n, p in document["products"].items() if "refresh" in p}
        bump = refreshable <= plans.keys() and document["as_of"] < today
        try:
            new_text = _edited(filename, text, document, plans, today if bump else None)
        except RefreshError as error:
            errors.append(f"{filename}: {error}")
            continue
        changes.extend(line for plan in plans.values() for line in plan.lines)
        if bump:
            changes.append(f"{filename}: as_of {document['as_of']} -> {today}")
        if new_text != text and not dry_run:
            _replace(data_dir / filename, new_text)
            written.append(filename)
    return RefreshReport(tuple(changes), tuple(errors), tuple(written), by_hand)


def api_url(base_url: str, slug: str) -> str:
    """Return the API v1 URL of product ``slug`` under ``base_url`` (http or https only)."""
    parts = urllib.parse.urlsplit(base_url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError(f"the base URL must be an http(s):// URL, not {base_url!r}")
    return f"{base_url.rstrip('/')}/products/{slug}/"


def fetch_releases(
    base_url: str, slug: str, timeout: float = DEFAULT_TIMEOUT
) -> dict[str, Release]:
    """Return product ``slug``'s releases by name, or raise RefreshError saying what failed."""
    url = api_url(base_url, slug)
    headers = {"Accept": "application/json", "User-Agent": USER_AGENT}
    try:
        # api_url lets only http(s) through, so urlopen never reads a file: or custom URL.
        request = urllib.request.Request(url, headers=headers)  # noqa: S310
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            body = response.read(MAX_RESPONSE_BYTES + 1)
    except urllib.error.HTTPError as error:
        error.close()
        raise RefreshError(f"HTTP {error.code} from {url}") from None
    except (OSError, http.client.HTTPException) as error:
        raise RefreshError(f"cannot fetch {url}: {_reason(error, timeout)}") from None
    if len(body) > MAX_RESPONSE_BYTES:
        raise RefreshError(f"response from {url} is larger than {MAX_RESPONSE_BYTES} bytes")
    try:
        payload = json.loads(body)
    except (ValueError, RecursionError):
        raise RefreshError(f"malformed response from {url}: not JSON") from None
    try:
        return parse_releases(payload)
    except RefreshError as error:
        raise RefreshError(f"malformed response from {url}: {error}") from None


def parse_releases(payload: object) -> dict[str, Release]:
    """Return the releases of an API v1 product response, or raise RefreshError."""
    result = payload.get("result") if isinstance(payload, dict) else None
    raw_releases = result.get("releases") if isinstance(result, dict) else None
    if not isinstance(raw_releases, list) or not raw_releases:
        raise RefreshError("no result.releases list")
    releases: dict[str, Release] = {}
    for raw in raw_releases:
        release = _parse_release(raw)
        if release.name in releases:
            raise RefreshError(f"release {release.name} is listed twice")
        releases[release.name] = release
    return releases


def _parse_release(raw: object) -> Release:
    if not isinstance(raw, dict):
        raise RefreshError("a release is not an object")
    name = raw.get("name")
    if not isinstance(name, str) or not _RELEASE_NAME.fullmatch(name):
        raise RefreshError(f"release name {_shown(name)} is not a plain version")
    values: dict[str, Value] = {}
    for api_field, key in _DATE_FIELDS:
        value = _api_date(name, api_field, raw.get(api_field))
        if value is not None:
            values[key] = value
    latest = raw.get("latest")
    if latest is not None:
        if not isinstance(latest, dict):
            raise RefreshError(f"release {name}: latest is not an object")
        values["latest"] = _api_text(name, "latest.name", latest.get("name"))
        latest_date = _api_date(name, "latest.date", latest.get("date"))
        if latest_date is not None:
            values["latest_date"] = latest_date
    if raw.get("codename") is not None:
        values["codename"] = _api_text(name, "codename", raw["codename"])
    maintained = raw.get("isMaintained")
    return Release(name, values, maintained if isinstance(maintained, bool) else None)


def _api_date(name: str, api_field: str, value: object) -> date | None:
    if value is None:
        return None
    if isinstance(value, str) and _ISO_DATE.fullmatch(value):
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
    raise RefreshError(f"release {name}: {api_field} {_shown(value)} is not a YYYY-MM-DD date")


def _api_text(name: str, api_field: str, value: object) -> str:
    if isinstance(value, str) and value.strip() and len(value) <= _MAX_TEXT and value.isprintable():
        return value.strip()
    raise RefreshError(f"release {name}: {api_field} {_shown(value)} is not a short text")


def _shown(value: object) -> str:
    """Return untrusted ``value`` as one short, escaped line for a message."""
    text = ascii(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _reason(error: BaseException, timeout: float) -> str:
    reason = error.reason if isinstance(error, urllib.error.URLError) else error
    if isinstance(reason, TimeoutError):
        return f"timed out after {timeout:g}s"
    return " ".join(str(reason).split()) or type(reason).__name__


def _read(path: Path) -> tuple[str, dict[str, Any]]:
    """Return a data file's text and document; raise DataError if the loader would refuse it."""
    text = path.read_text(encoding="utf-8")
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise DataError(f"{path.name}: not valid YAML: {' '.join(str(error).split())}") from None
    parse_file(path.name, document)
    return text, document


def _targets(
    documents: Mapping[str, tuple[str, dict[str, Any]]], wanted: Collection[str]
) -> tuple[list[_Target], tuple[str, ...]]:
    targets: list[_Target] = []
    by_hand: list[str] = []
    known: set[str] = set()
    for filename, (_, document) in documents.items():
        for name, product in document["products"].items():
            known.add(name)
            url = product.get("refresh")
            match = _REFRESH_URL.fullmatch(url) if isinstance(url, str) else None
            if url is None:
                by_hand.append(name)
            elif match is None:
                raise ValueError(f"{filename}: {name}: {url} is not an endoflife.date v1 URL")
            else:
                known.add(match.group(1))
                targets.append(_Target(name, filename, match.group(1)))
    unknown = sorted(set(wanted) - known)
    if unknown:
        raise ValueError(f"unknown product {', '.join(unknown)}")
    not_refreshable = sorted(set(wanted) & set(by_hand))
    if not_refreshable:
        raise ValueError(f"no refresh URL, review by hand: {', '.join(not_refreshable)}")
    if wanted:
        targets = [t for t in targets if t.name in wanted or t.slug in wanted]
    return targets, tuple(by_hand)


def _fetch_all(
    base_url: str, targets: list[_Target], timeout: float
) -> dict[str, dict[str, Release] | RefreshError]:
    def fetch(target: _Target) -> dict[str, Release] | RefreshError:
        try:
            return fetch_releases(base_url, target.slug, timeout)
        except RefreshError as error:
            return error

    if not targets:
        return {}
    with ThreadPoolExecutor(max_workers=min(_FETCH_WORKERS, len(targets))) as pool:
        return dict(zip((t.name for t in targets), pool.map(fetch, targets), strict=True))


def _checked_plan(
    filename: str,
    document: dict[str, Any],
    target: _Target,
    releases: Mapping[str, Release],
    today: date,
) -> _Plan:
    """Plan ``target``'s merge and check the merged rows pass the loader; else RefreshError."""
    product = document["products"][target.name]
    plan = _plan(target, product["cycles"], releases, today)
    merged = {**product, "cycles": _merged_rows(product["cycles"], plan)}
    try:
        parse_file(filename, {"as_of": document["as_of"], "products": {target.name: merged}})
    except DataError as error:
        raise RefreshError(f"merged data refused, kept as it was: {error}") from None
    return plan


def _plan(
    target: _Target, rows: list[dict[str, Any]], releases: Mapping[str, Release], today: date
) -> _Plan:
    plan = _Plan()
    used = {key for row in rows for key in row}
    listed = {row["cycle"] for row in rows}
    for index, row in enumerate(rows):
        release = releases.get(row["cycle"])
        if release is None:
            continue
        changed = _changed(row, release, used)
        if changed:
            plan.updates[index] = changed
            described = ", ".join(
                f"{key} {row.get(key, 'unset')} -> {value}" for key, value in changed.items()
            )
            plan.lines.append(f"{target.name} {row['cycle']}: {described}{_review(row, changed)}")
    newest = max((r["release"] for r in rows if isinstance(r.get("release"), date)), default=None)
    unlisted = [r for r in releases.values() if r.name not in listed]
    unlisted.sort(key=lambda r: r.values.get("release") or date.min, reverse=True)
    for release in unlisted:
        released = release.values.get("release")
        if not isinstance(released, date) or not _worth_adding(release, released, newest, today):
            continue
        added: dict[str, Value] = {"cycle": release.name}
        added.update(
            {k: release.values[k] for k in _KEY_ORDER if k in used and k in release.values}
        )
        added["source"] = f"https://endoflife.date/{target.slug}"
        plan.additions.setdefault(_insert_at(rows, released), []).append(added)
        described = ", ".join(f"{k} {v}" for k, v in added.items() if k not in ("cycle", "source"))
        plan.lines.append(f"{target.name}: added {release.name} ({described})")
    return plan


def _changed(row: Mapping[str, Any], release: Release, used: set[str]) -> dict[str, Value]:
    """Return the keys of ``row`` the API improves on, among those the product uses."""
    changed: dict[str, Value] = {}
    for key in _PHASE_KEYS:
        value = release.values.get(key)
        if key in used and value is not None and value != row.get(key):
            changed[key] = value
    latest = release.values.get("latest")
    # A patch number only moves forward: an API that lags behind the table must not undo it.
    if "latest" in used and isinstance(latest, str) and _newer(latest, row.get("latest")):
        changed["latest"] = latest
        latest_date = release.values.get("latest_date")
        if "latest_date" in used and latest_date is not None:
            changed["latest_date"] = latest_date
    return changed


def _review(row: Mapping[str, Any], changed: Mapping[str, Value]) -> str:
    """Return a hint when what a person wrote on the row may no longer hold."""
    hints = ["it is marked estimated"] if row.get("estimated") else []
    note = row.get("note") or ""
    mentioned = [str(row[key]) for key in changed if key in row and str(row[key]) in note]
    if mentioned:
        hints.append(f"its note mentions {', '.join(mentioned)}")
    return f" (review the row: {'; '.join(hints)})" if hints else ""


def _newer(candidate: str, current: object) -> bool:
    if not isinstance(current, str):
        return True
    return _version_key(candidate) > _version_key(current)


def _version_key(version: str) -> tuple[tuple[int, int | str], ...]:
    return tuple(
        (0, int(part)) if part.isdigit() else (1, part.lower())
        for part in _VERSION_PART.findall(version)
    )


def _worth_adding(release: Release, released: date, newest: date | None, today: date) -> bool:
    """Return whether an unlisted release belongs in the table: new, or still supported.

    Releases the table leaves out that are past all support stay out: they were left out on
    purpose, and the queries already call anything older than every listed cycle end of life.
    """
    if newest is not None and released > newest:
        return True
    end = release.end()
    if end is not None:
        return end >= today
    return release.maintained is True


def _insert_at(rows: list[dict[str, Any]], released: date) -> int:
    """Return where a row released on ``released`` goes in a newest-first list."""
    for index, row in enumerate(rows):
        other = row.get("release")
        if isinstance(other, date) and other < released:
            return index
    return len(rows)


def _merged_rows(rows: list[dict[str, Any]], plan: _Plan) -> list[dict[str, Any]]:
    merged: list[dict[str, Any]] = []
    for index in range(len(rows) + 1):
        merged.extend(plan.additions.get(index, []))
        if index < len(rows):
            merged.append({**rows[index], **plan.updates.get(index, {})})
    return merged


def _edited(
    filename: str,
    text: str,
    document: dict[str, Any],
    plans: Mapping[str, _Plan],
    as_of: date | None,
) -> str:
    """Return ``text`` with ``plans`` applied, proven to read back as the merged data."""
    expected = {
        **document,
        "products": {
            name: (
                {**product, "cycles": _merged_rows(product["cycles"], plans[name])}
                if name in plans
                else product
            )
            for name, product in document["products"].items()
        },
    }
    if as_of is not None:
        expected["as_of"] = as_of
    edits = _edits(text, plans, as_of)
    if not edits:
        return text
    new_text = text
    # Edits never overlap; applying them from the end keeps every earlier offset valid.
    for start, end, replacement in sorted(edits, key=lambda e: e[0], reverse=True):
        new_text = new_text[:start] + replacement + new_text[end:]
    if yaml.safe_load(new_text) != expected:
        raise RefreshError("the edited file does not read back as the merged data; not written")
    try:
        parse_file(filename, yaml.safe_load(new_text))
    except DataError as error:
        raise RefreshError(f"the edited file is refused, not written: {error}") from None
    return new_text


def _edits(text: str, plans: Mapping[str, _Plan], as_of: date | None) -> list[tuple[int, int, str]]:
    root = yaml.compose(text, Loader=yaml.SafeLoader)
    if root is None:  # parse_file() above read a document from this very text
        raise RefreshError("the data file is empty")
    top = _pairs(root)
    edits: list[tuple[int, int, str]] = []
    if as_of is not None:
        node = top["as_of"][1]
        edits.append((node.start_mark.index, node.end_mark.index, as_of.isoformat()))
        header = _HEADER_AS_OF.search(text)
        if header is not None:
            edits.append((header.start(1), header.end(1), as_of.isoformat()))
    products = _pairs(top["products"][1])
    for name, plan in plans.items():
        cycles_key, cycles = _pairs(products[name][1])["cycles"]
        if not isinstance(cycles, SequenceNode):
            raise RefreshError(f"{name}: cycles is not a list")
        edits.extend(_row_edits(name, cycles.value, plan))
        edits.extend(_addition_edits(text, name, cycles_key, cycles, plan))
    return edits


def _pairs(node: Node) -> dict[str, tuple[Node, Node]]:
    if not isinstance(node, MappingNode):
        raise RefreshError("expected a mapping")
    return {str(key.value): (key, value) for key, value in node.value}


def _row_edits(name: str, items: list[Node], plan: _Plan) -> list[tuple[int, int, str]]:
    edits: list[tuple[int, int, str]] = []
    for index, changed in plan.updates.items():
        node = items[index]
        if not isinstance(node, MappingNode) or not node.flow_style:
            raise RefreshError(f"{name}: rows must be written {{key: value, ...}} to be edited")
        pairs = _pairs(node)
        inserts: dict[int, list[str]] = {}
        for key, value in changed.items():
            if key in pairs:
                old = pairs[key][1]
                edits.append((old.start_mark.index, old.end_mark.index, _scalar(value)))
                continue
            earlier = [k for k in pairs if k in _KEY_ORDER[: _KEY_ORDER.index(key)]]
            anchor = pairs[max(earlier, key=_KEY_ORDER.index)][1].end_mark.index
            inserts.setdefault(anchor, []).append(f", {key}: {_scalar(value)}")
        edits.extend((at, at, "".join(parts)) for at, parts in inserts.items())
    return edits


def _addition_edits(
    text: str, name: str, cycles_key: Node, cycles: SequenceNode, plan: _Plan
) -> list[tuple[int, int, str]]:
    if not plan.additions:
        return []
    items = cycles.value
    if not items:
        # `cycles: []`: replace the empty flow list with a block list at the usual indent.
        prefix = " " * (cycles_key.start_mark.column + 2) + "- "
        rows = [row for index in sorted(plan.additions) for row in plan.additions[index]]
        block = "".join(f"\n{prefix}{_flow(row)}" for row in rows)
        return [(cycles.start_mark.index, cycles.end_mark.index, block)]
    prefix = text[_line_start(text, items[0].start_mark.index) : items[0].start_mark.index]
    if prefix.strip() != "-":
        raise RefreshError(f"{name}: each row must start its own line with '- '")
    edits: list[tuple[int, int, str]] = []
    for index, rows in plan.additions.items():
        lines = "".join(f"{prefix}{_flow(row)}\n" for row in rows)
        if index < len(items):
            at = _line_start(text, items[index].start_mark.index)
        else:
            line_end = text.find("\n", items[-1].end_mark.index)
            at = len(text) if line_end == -1 else line_end + 1
            if line_end == -1:
                lines = "\n" + lines
        edits.append((at, at, lines))
    return edits


def _line_start(text: str, index: int) -> int:
    return text.rfind("\n", 0, index) + 1


def _flow(row: Mapping[str, Value]) -> str:
    return "{" + ", ".join(f"{key}: {_scalar(value)}" for key, value in row.items()) + "}"


def _scalar(value: Value) -> str:
    if isinstance(value, date):
        return value.isoformat()
    # A JSON string is a valid YAML double-quoted scalar, escapes included.
    return json.dumps(value)


def _replace(path: Path, text: str) -> None:
    """Write ``text`` over ``path`` atomically: readers see the old file or the new one."""
    mode = stat.S_IMODE(path.stat().st_mode)
    descriptor, temporary = tempfile.mkstemp(
        dir=path.parent, prefix=f".{path.name}.", suffix=".tmp"
    )
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temporary, mode)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
