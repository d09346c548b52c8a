"""Load and validate the shipped lifecycle tables (``data/*.yaml``) once per process.

The files use endoflife.date's field names (``eoas``, ``eol``, ``eoes``) so a refresh is a
copy; each file's header says what it holds and how to refresh it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from functools import cache
from importlib import resources
from importlib.resources.abc import Traversable
from types import MappingProxyType
from typing import Any

import yaml

try:
    # The C loader parses the tables about ten times faster; the pure one is the fallback
    # where PyYAML was built without libyaml.
    from yaml import CSafeLoader as _SafeLoader
except ImportError:  # pragma: no cover - depends on how PyYAML was built
    from yaml import SafeLoader as _SafeLoader  # type: ignore[assignment]  # same interface

DATA_FILES: tuple[str, ...] = ("kubernetes.yaml", "os.yaml", "runtimes.yaml")

_NUMERIC_CYCLE = re.compile(r"(?:[a-z]+-)?([0-9]+(?:\.[0-9]+)*)", re.ASCII)
_CYCLE_KEYS = frozenset(
    {
        "cycle",
        "codename",
        "release",
        "eoas",
        "eol",
        "eoes",
        "latest",
        "latest_date",
        "estimated",
        "note",
        "source",
        "kubernetes_minors",
        "kernels",
        "build",
    }
)
_PRODUCT_KEYS = frozenset({"label", "source", "refresh", "policy", "cycles"})


class DataError(ValueError):
    """A shipped data file is malformed: a packaging or editing mistake, never user input."""


@dataclass(frozen=True, slots=True)
class Cycle:
    """One release cycle of a product, with the last day of each support phase."""

    product: str
    cycle: str
    source: str
    release: date | None = None
    eoas: date | None = None
    eol: date | None = None
    eoes: date | None = None
    latest: str | None = None
    latest_date: date | None = None
    codename: str | None = None
    estimated: bool = False
    note: str = ""
    kubernetes_minors: tuple[str, ...] = ()
    kernels: tuple[str, ...] = ()
    build: str | None = None

    @property
    def key(self) -> tuple[int, ...] | None:
        """Return the cycle as a sortable number tuple (``cos-121`` → ``(121,)``), if numeric."""
        return cycle_key(self.cycle)


@dataclass(frozen=True, slots=True)
class Product:
    """A product's cycles (newest first, as in the file) and where the facts come from."""

    name: str
    label: str
    source: str
    refresh: str | None
    cycles: tuple[Cycle, ...]
    policy: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))
    _by_cycle: Mapping[str, Cycle] = field(default_factory=lambda: MappingProxyType({}))

    def cycle(self, name: str) -> Cycle | None:
        """Return the cycle called ``name``, or None."""
        return self._by_cycle.get(name)

    def policy_value(self, name: str, kind: type[Any]) -> Any:
        """Return policy entry ``name``, checking its type (the data is shipped, so fail loud)."""
        value = self.policy.get(name)
        if not isinstance(value, kind) or isinstance(value, bool) and kind is not bool:
            raise DataError(f"{self.name}: policy.{name} must be a {kind.__name__}")
        return value


@dataclass(frozen=True, slots=True)
class Catalog:
    """Every product from every data file."""

    as_of: date
    products: Mapping[str, Product]

    def product(self, name: str) -> Product:
        """Return product ``name``; a missing one is a data error."""
        try:
            return self.products[name]
        except KeyError:
            raise DataError(f"no product {name!r} in the lifecycle data") from None


def cycle_key(name: str) -> tuple[int, ...] | None:
    """Return ``name`` as a number tuple for ordering, or None when it is not numeric."""
    match = _NUMERIC_CYCLE.fullmatch(name)
    if match is None:
        return None
    return tuple(int(part) for part in match.group(1).split("."))


@cache
def catalog() -> Catalog:
    """Return the parsed, validated data; parsed once, since queries run per node per poll."""
    return load_catalog()


def load_catalog(directory: Traversable | None = None) -> Catalog:
    """Parse and validate the data files in ``directory`` (default: the shipped tables)."""
    products: dict[str, Product] = {}
    as_of: list[date] = []
    folder = resources.files("posture.lifecycle") / "data" if directory is None else directory
    for filename in DATA_FILES:
        document = yaml.load((folder / filename).read_text(encoding="utf-8"), Loader=_SafeLoader)
        file_as_of, file_products = parse_file(filename, document)
        as_of.append(file_as_of)
        for product in file_products:
            if product.name in products:
                raise DataError(f"{filename}: product {product.name!r} is defined twice")
            products[product.name] = product
    return Catalog(as_of=min(as_of), products=MappingProxyType(products))


def parse_file(filename: str, document: object) -> tuple[date, list[Product]]:
    """Validate one parsed data file; return its as-of date and products or raise DataError."""
    if not isinstance(document, dict):
        raise DataError(f"{filename}: expected a mapping at the top level")
    as_of = document.get("as_of")
    if not isinstance(as_of, date):
        raise DataError(f"{filename}: as_of must be a date")
    raw_products = document.get("products")
    if not isinstance(raw_products, dict) or not raw_products:
        raise DataError(f"{filename}: products must be a non-empty mapping")
    return as_of, [
        _parse_product(f"{filename}: {name}", name, raw) for name, raw in raw_products.items()
    ]


def _parse_product(where: str, name: object, raw: object) -> Product:
    if not isinstance(name, str) or not isinstance(raw, dict):
        raise DataError(f"{where}: a product is a name mapped to a mapping")
    unknown = set(raw) - _PRODUCT_KEYS
    if unknown:
        raise DataError(f"{where}: unknown keys {sorted(unknown)}")
    label = _text(where, raw, "label", required=True)
    source = _url(where, raw.get("source"))
    refresh = _url(where, raw["refresh"]) if "refresh" in raw else None
    policy = raw.get("policy", {})
    if not isinstance(policy, dict):
        raise DataError(f"{where}: policy must be a mapping")
    if policy:
        _url(f"{where} policy", policy.get("source"))
    raw_cycles = raw.get("cycles")
    if not isinstance(raw_cycles, list):
        raise DataError(f"{where}: cycles must be a list")
    if not raw_cycles and not policy:
        raise DataError(f"{where}: a product needs cycles or a policy")
    cycles = tuple(_parse_cycle(where, name, item) for item in raw_cycles)
    by_cycle = {c.cycle: c for c in cycles}
    if len(by_cycle) != len(cycles):
        raise DataError(f"{where}: a cycle is listed twice")
    return Product(
        name=name,
        label=label or name,
        source=source,
        refresh=refresh,
        cycles=cycles,
        policy=MappingProxyType(dict(policy)),
        _by_cycle=MappingProxyType(by_cycle),
    )


def _parse_cycle(where: str, product: str, raw: object) -> Cycle:
    if not isinstance(raw, dict):
        raise DataError(f"{where}: each cycle must be a mapping")
    name = raw.get("cycle")
    if not isinstance(name, str) or not name:
        raise DataError(f"{where}: each cycle needs a quoted `cycle` name")
    where = f"{where} {name}"
    unknown = set(raw) - _CYCLE_KEYS
    if unknown:
        raise DataError(f"{where}: unknown keys {sorted(unknown)}")
    dates = {k: _date(where, raw, k) for k in ("release", "eoas", "eol", "eoes", "latest_date")}
    phases = [(k, dates[k]) for k in ("release", "eoas", "eol", "eoes") if dates[k] is not None]
    for (earlier, first), (later, second) in zip(phases, phases[1:], strict=False):
        if first is not None and second is not None and first > second:
            raise DataError(f"{where}: {earlier} {first} is after {later} {second}")
    if dates["eoes"] is not None and dates["eol"] is None:
        raise DataError(f"{where}: eoes without eol")
    estimated = raw.get("estimated", False)
    if not isinstance(estimated, bool):
        raise DataError(f"{where}: estimated must be true or false")
    return Cycle(
        product=product,
        cycle=name,
        source=_url(where, raw.get("source")),
        release=dates["release"],
        eoas=dates["eoas"],
        eol=dates["eol"],
        eoes=dates["eoes"],
        latest=_text(where, raw, "latest"),
        latest_date=dates["latest_date"],
        codename=_text(where, raw, "codename"),
        estimated=estimated,
        note=_text(where, raw, "note") or "",
        kubernetes_minors=_texts(where, raw, "kubernetes_minors"),
        kernels=_texts(where, raw, "kernels"),
        build=_text(where, raw, "build"),
    )


def _date(where: str, raw: dict[str, Any], key: str) -> date | None:
    value = raw.get(key)
    # YAML turns an unquoted 2026-11-28 into a date; a datetime or a string here is a typo.
    if value is None or type(value) is date:
        return value
    raise DataError(f"{where}: {key} must be a YYYY-MM-DD date")


def _text(where: str, raw: dict[str, Any], key: str, *, required: bool = False) -> str | None:
    value = raw.get(key)
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value:
        raise DataError(f"{where}: {key} must be a non-empty string")
    return value


def _texts(where: str, raw: dict[str, Any], key: str) -> tuple[str, ...]:
    value = raw.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise DataError(f"{where}: {key} must be a list of strings")
    return tuple(value)


def _url(where: str, value: object) -> str:
    if not isinstance(value, str) or not value.startswith("https://"):
        raise DataError(f"{where}: source must be an https:// URL")
    return value
