"""The shipped lifecycle tables: well-formed, sourced, and refused when malformed."""

from __future__ import annotations

from datetime import date
from importlib import resources

import pytest
import yaml

from posture.lifecycle import (
    DATA_AS_OF,
    OSFamily,
    Provider,
    Runtime,
    SupportStatus,
    data_sources,
)
from posture.lifecycle.data import DATA_FILES, DataError, catalog, parse_file

TODAY = date(2026, 11, 28)


def _raw(filename: str) -> dict:
    text = (resources.files("posture.lifecycle") / "data" / filename).read_text(encoding="utf-8")
    return yaml.safe_load(text)


def _all_cycles():
    for product in catalog().products.values():
        yield from product.cycles


def test_data_is_as_of_the_reference_date():
    assert DATA_AS_OF == TODAY
    for filename in DATA_FILES:
        assert _raw(filename)["as_of"] == TODAY


@pytest.mark.parametrize("filename", DATA_FILES)
def test_each_file_has_a_header_saying_what_when_and_how_to_refresh(filename):
    text = (resources.files("posture.lifecycle") / "data" / filename).read_text(encoding="utf-8")
    header = text.split("\n\n", 1)[0]
    assert all(line.startswith("#") for line in header.splitlines())
    assert "What it is" in text and "As of: 2026-11-28" in text and "How to refresh" in text


def test_every_cycle_has_a_source_and_dates_in_order():
    cycles = list(_all_cycles())
    assert len(cycles) > 150
    for cycle in cycles:
        assert cycle.source.startswith("https://"), cycle
        phases = [d for d in (cycle.release, cycle.eoas, cycle.eol, cycle.eoes) if d is not None]
        assert phases == sorted(phases), cycle
        assert phases, f"{cycle.product} {cycle.cycle} has no date at all"
        if cycle.eoes is not None:
            assert cycle.eol is not None


def test_every_product_is_sourced_and_has_cycles_or_a_policy():
    for product in catalog().products.values():
        assert product.source.startswith("https://")
        assert product.cycles or product.policy.get("source", "").startswith("https://")


def test_every_enumerated_family_provider_and_runtime_has_data():
    names = set(catalog().products)
    assert {f.value for f in OSFamily} <= names
    assert {p.value for p in Provider} <= names
    assert {r.value for r in Runtime} <= names
    assert "kubernetes" in names


def test_every_enumeration_has_a_label():
    assert OSFamily.UBUNTU.label == "Ubuntu"
    assert OSFamily.WINDOWS_SERVER.label == "Windows Server"
    assert Runtime.CRI_O.label == "CRI-O"
    assert Provider.EKS.label == "Amazon EKS"
    assert SupportStatus.EXTENDED.label == "Extended support only"
    for enumeration in (OSFamily, Runtime, Provider, SupportStatus):
        assert all(member.label for member in enumeration)


def test_kubernetes_minors_are_contiguous_and_newest_first():
    for name in ("kubernetes", "eks", "gke", "aks"):
        minors = [c.key for c in catalog().product(name).cycles]
        assert minors == sorted(minors, reverse=True), name
        assert [m[1] for m in minors] == list(range(minors[0][1], minors[-1][1] - 1, -1)), name


def test_upstream_kubernetes_cycles_know_their_latest_patch():
    for cycle in catalog().product("kubernetes").cycles:
        if cycle.release is not None and cycle.release <= TODAY:
            assert cycle.latest is not None and cycle.latest.startswith(cycle.cycle + ".")


def test_data_sources_lists_every_cited_url_once():
    sources = data_sources()
    assert len(sources) == len(set(sources))
    urls = {url for _, url in sources}
    assert all(url.startswith("https://") for url in urls)
    assert {c.source for c in _all_cycles()} <= urls
    labels = {label for label, _ in sources}
    assert {
        "Kubernetes",
        "Amazon EKS",
        "Ubuntu",
        "containerd",
        "CRI-O",
        "Flatcar Container Linux",
    } <= labels


def test_catalog_is_parsed_once():
    assert catalog() is catalog()


def _minimal(**cycle):
    return {
        "as_of": TODAY,
        "products": {
            "thing": {
                "label": "Thing",
                "source": "https://example.org/thing",
                "cycles": [{"cycle": "1", "source": "https://example.org/1", **cycle}],
            }
        },
    }


def test_a_minimal_file_parses():
    as_of, products = parse_file("t.yaml", _minimal(release=date(2020, 1, 1), eol=date(2021, 1, 1)))
    assert as_of == TODAY
    assert products[0].cycle("1").eol == date(2021, 1, 1)


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ([], "mapping at the top level"),
        ({"products": {}}, "as_of must be a date"),
        ({"as_of": TODAY, "products": {}}, "non-empty mapping"),
        (_minimal(release=date(2022, 1, 1), eol=date(2021, 1, 1)), "is after"),
        (_minimal(eol=date(2021, 1, 1), eoes=date(2020, 1, 1)), "is after"),
        (_minimal(eoes=date(2021, 1, 1)), "eoes without eol"),
        (_minimal(eol="2021-01-01"), "YYYY-MM-DD"),
        (_minimal(eol=date(2021, 1, 1), eoll=date(2021, 1, 1)), "unknown keys"),
        (_minimal(source="http://insecure.example.org"), "https://"),
        (_minimal(estimated="yes"), "true or false"),
        (_minimal(kernels="6.1"), "list of strings"),
    ],
)
def test_malformed_data_is_refused(document, message):
    with pytest.raises(DataError, match=message):
        parse_file("t.yaml", document)


def test_a_cycle_listed_twice_is_refused():
    document = _minimal()
    cycles = document["products"]["thing"]["cycles"]
    cycles.append(dict(cycles[0]))
    with pytest.raises(DataError, match="listed twice"):
        parse_file("t.yaml", document)


def test_an_unquoted_cycle_name_is_refused():
    document = _minimal()
    document["products"]["thing"]["cycles"][0]["cycle"] = 1.3
    with pytest.raises(DataError, match="quoted"):
        parse_file("t.yaml", document)


def test_a_product_without_cycles_needs_a_sourced_policy():
    document = _minimal()
    document["products"]["thing"]["cycles"] = []
    with pytest.raises(DataError, match="cycles or a policy"):
        parse_file("t.yaml", document)
    document["products"]["thing"]["policy"] = {"follows": "kubernetes"}
    with pytest.raises(DataError, match="https://"):
        parse_file("t.yaml", document)


def test_policy_values_are_type_checked():
    flatcar = catalog().product("flatcar")
    assert flatcar.policy_value("stable_support_days", int) == 365
    with pytest.raises(DataError, match="must be a str"):
        flatcar.policy_value("stable_support_days", str)
    with pytest.raises(DataError):
        flatcar.policy_value("missing", int)
    with pytest.raises(DataError, match="no product"):
        catalog().product("nonexistent")
