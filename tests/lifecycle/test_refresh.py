"""Refreshing the lifecycle tables from endoflife.date, against a local stand-in for its API.

The stand-in serves responses recorded in the API v1 shape (``tests/data/endoflife``), or a
failure for one product at a time. Every test refreshes a copy of the data folder.
"""

from __future__ import annotations

import json
import shutil
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from io import StringIO
from pathlib import Path

import pytest
import yaml
from django.core.management import call_command
from django.core.management.base import CommandError

from posture.lifecycle import DATA_AS_OF, data_age_days
from posture.lifecycle.data import DATA_FILES, load_catalog
from posture.lifecycle.refresh import DATA_DIR, refresh
from posture.site import startup_checks

RECORDED = Path(__file__).resolve().parent.parent / "data" / "endoflife"
TODAY = date(2026, 12, 1)
KUBERNETES = ("kubernetes", "amazon-eks")
RUNTIMES = ("containerd", "docker-engine")


@dataclass
class Api:
    """A local endoflife.date: recorded answers by slug, overridable per slug."""

    base_url: str = ""
    answers: dict[str, tuple[int, bytes]] = field(default_factory=dict)
    stalled: set[str] = field(default_factory=set)
    requests: list[str] = field(default_factory=list)

    def answer(self, slug: str, status: int, body: bytes) -> None:
        self.answers[slug] = (status, body)

    def recorded(self, slug: str) -> dict:
        return json.loads((RECORDED / f"{slug}.json").read_text(encoding="utf-8"))


@pytest.fixture
def api() -> Iterator[Api]:
    state = Api(answers={p.stem: (200, p.read_bytes()) for p in RECORDED.glob("*.json")})
    release = threading.Event()

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
            prefix = "/api/v1/products/"
            slug = self.path[len(prefix) :].strip("/") if self.path.startswith(prefix) else ""
            state.requests.append(slug)
            if slug in state.stalled:
                release.wait(10)
                return
            status, body = state.answers.get(slug, (404, b'{"message": "Product not found"}'))
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    state.base_url = f"http://127.0.0.1:{server.server_address[1]}/api/v1"
    try:
        yield state
    finally:
        release.set()
        server.shutdown()
        server.server_close()


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "data"
    shutil.copytree(DATA_DIR, folder)
    return folder


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def _product(folder: Path, filename: str, name: str) -> dict:
    return yaml.safe_load((folder / filename).read_text(encoding="utf-8"))["products"][name]


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


# --- merging ------------------------------------------------------------------------------


def test_refresh_updates_dates_and_patches_and_adds_new_cycles(api: Api, data_dir: Path) -> None:
    report = refresh(TODAY, data_dir=data_dir, base_url=api.base_url, products=KUBERNETES)

    assert report.errors == ()
    assert report.written == ("kubernetes.yaml",)
    assert "kubernetes 1.31: eol 2025-11-11 -> 2025-10-28" in report.changes
    assert (
        "kubernetes 1.37: latest 1.37.1 -> 1.37.3, latest_date 2026-09-15 -> 2026-11-18"
        in report.changes
    )
    assert (
        "eks: added 1.37 (release 2026-11-24, eol 2028-01-24, eoes 2029-01-24, "
        "latest 1.37-eks-2)" in report.changes
    )
    data = load_catalog(data_dir)
    upstream, eks = data.product("kubernetes"), data.product("eks")
    assert upstream.cycle("1.31").eol == date(2025, 10, 28)
    assert upstream.cycle("1.37").latest == "1.37.3"
    assert upstream.cycle("1.37").latest_date == date(2026, 11, 18)
    added = eks.cycle("1.37")
    assert (added.release, added.eol, added.eoes) == (
        date(2026, 11, 24),
        date(2028, 1, 24),
        date(2029, 1, 24),
    )
    assert added.source == "https://endoflife.date/amazon-eks"
    assert [c.cycle for c in eks.cycles[:3]] == ["1.37", "1.36", "1.35"]


def test_refresh_deletes_nothing_and_keeps_what_the_api_does_not_say(
    api: Api, data_dir: Path
) -> None:
    before = load_catalog(data_dir)
    refresh(TODAY, data_dir=data_dir, base_url=api.base_url, products=KUBERNETES)
    after = load_catalog(data_dir)

    upstream = after.product("kubernetes")
    # 1.38 is scheduled, not yet on endoflife.date: kept, still marked estimated.
    assert upstream.cycle("1.38") == before.product("kubernetes").cycle("1.38")
    assert upstream.cycle("1.37").source == "https://kubernetes.io/releases/1.37/"
    assert upstream.cycle("1.34").note == before.product("kubernetes").cycle("1.34").note
    # The API lags behind the table for EKS 1.34's platform version: never go backwards.
    assert after.product("eks").cycle("1.34").latest == "1.34-eks-27"
    # 1.18 is long past end of life and was left out on purpose.
    assert upstream.cycle("1.18") is None and after.product("eks").cycle("1.18") is None
    assert len(upstream.cycles) == len(before.product("kubernetes").cycles)
    assert len(after.product("eks").cycles) == len(before.product("eks").cycles) + 1
    for name in ("gke", "aks"):
        assert after.product(name) == before.product(name)


def test_fields_a_product_does_not_use_are_not_introduced(api: Api, data_dir: Path) -> None:
    before = _snapshot(data_dir)

    report = refresh(TODAY, data_dir=data_dir, base_url=api.base_url, products=["ubuntu"])

    # The API gives Ubuntu an active-support end and point releases; the table uses neither,
    # and every date it does use already matches: nothing to write.
    assert report.errors == () and report.changes == () and report.written == ()
    assert _snapshot(data_dir) == before
    ubuntu = load_catalog(data_dir).product("ubuntu")
    assert all(c.eoas is None and c.latest is None for c in ubuntu.cycles)
    assert {"25.04", "24.10", "16.04", "14.04"}.isdisjoint(c.cycle for c in ubuntu.cycles)


def test_a_missing_cycle_still_supported_is_added_in_release_order(
    api: Api, data_dir: Path
) -> None:
    path = data_dir / "os.yaml"
    text = path.read_text(encoding="utf-8")
    jammy = next(line for line in text.splitlines(True) if 'cycle: "22.04"' in line)
    path.write_text(text.replace(jammy, ""), encoding="utf-8")

    report = refresh(TODAY, data_dir=data_dir, base_url=api.base_url, products=["ubuntu"])

    assert report.changes == (
        "ubuntu: added 22.04 (codename Jammy Jellyfish, release 2022-04-21, eol 2027-04-01, "
        "eoes 2032-04-09)",
    )
    ubuntu = load_catalog(data_dir).product("ubuntu")
    assert [c.cycle for c in ubuntu.cycles] == [
        "26.04",
        "25.10",
        "24.04",
        "22.04",
        "20.04",
        "18.04",
    ]
    jammy_again = ubuntu.cycle("22.04")
    assert jammy_again.eoas is None and jammy_again.latest is None
    assert jammy_again.source == "https://endoflife.date/ubuntu"


def test_as_of_moves_only_when_every_product_of_the_file_was_refreshed(
    api: Api, data_dir: Path
) -> None:
    report = refresh(
        TODAY, data_dir=data_dir, base_url=api.base_url, products=KUBERNETES + RUNTIMES
    )

    assert "runtimes.yaml: as_of 2026-11-28 -> 2026-12-01" in report.changes
    runtimes = (data_dir / "runtimes.yaml").read_text(encoding="utf-8")
    assert yaml.safe_load(runtimes)["as_of"] == TODAY
    assert "# As of: 2026-12-01." in runtimes
    # GKE and AKS were not fetched: kubernetes.yaml changed but is not fully as of today.
    kubernetes = yaml.safe_load((data_dir / "kubernetes.yaml").read_text(encoding="utf-8"))
    assert kubernetes["as_of"] == date(2026, 11, 28)
    assert not any(line.startswith("kubernetes.yaml: as_of") for line in report.changes)


def test_layout_and_comments_survive_a_refresh(api: Api, data_dir: Path) -> None:
    before = (data_dir / "runtimes.yaml").read_text(encoding="utf-8").splitlines()

    report = refresh(TODAY, data_dir=data_dir, base_url=api.base_url, products=RUNTIMES)

    after = (data_dir / "runtimes.yaml").read_text(encoding="utf-8").splitlines()
    assert len(after) == len(before)
    changed = [(old, new) for old, new in zip(before, after, strict=True) if old != new]
    assert [old.split(",")[0].strip() for old, _ in changed] == [
        "# As of: 2026-11-28. containerd from its RELEASES.md as of 2026-08-22 (cross-checked with",
        "as_of: 2026-11-28",
        '- {cycle: "2.4"',
        '- {cycle: "2.3"',
        '- {cycle: "29"',
    ]
    assert changed[2][1] == (
        '      - {cycle: "2.4", release: 2026-09-09, eol: 2027-04-26, estimated: true, '
        'latest: "2.4.1", note: "tentative dates in RELEASES.md", '
        'source: "https://github.com/containerd/containerd/blob/main/RELEASES.md"}'
    )
    assert (
        "containerd 2.4: release 2026-08-26 -> 2026-09-09, latest unset -> 2.4.1 "
        "(review the row: it is marked estimated)" in report.changes
    )
    # The API has no end date for 2.4 yet: the table's tentative one stays.
    assert load_catalog(data_dir).product("containerd").cycle("2.4").eol == date(2027, 4, 26)


# --- failures -----------------------------------------------------------------------------


def _bad_date(api: Api) -> bytes:
    body = api.recorded("kubernetes")
    body["result"]["releases"][0]["eolFrom"] = "end of 2027"
    return json.dumps(body).encode()


@pytest.mark.parametrize(
    ("failure", "reported"),
    [
        ("http-500", "HTTP 500 from http://127.0.0.1:"),
        ("not-json", "malformed response from http://127.0.0.1:"),
        ("wrong-shape", "no result.releases list"),
        ("bad-date", "release 1.37: eolFrom 'end of 2027' is not a YYYY-MM-DD date"),
        ("timeout", "timed out after 0.5s"),
    ],
)
def test_a_failed_product_keeps_its_data_and_is_reported_on_one_line(
    api: Api, data_dir: Path, failure: str, reported: str
) -> None:
    if failure == "http-500":
        api.answer("kubernetes", 500, b"<html>Internal Server Error</html>")
    elif failure == "not-json":
        api.answer("kubernetes", 200, b'{"schema_version": "1.2.0", "result": {')
    elif failure == "wrong-shape":
        api.answer("kubernetes", 200, b'{"schema_version": "1.2.0", "result": {"releases": 7}}')
    elif failure == "bad-date":
        api.answer("kubernetes", 200, _bad_date(api))
    else:
        api.stalled.add("kubernetes")
    upstream_before = _product(data_dir, "kubernetes.yaml", "kubernetes")

    report = refresh(
        TODAY, data_dir=data_dir, base_url=api.base_url, products=KUBERNETES, timeout=0.5
    )

    assert len(report.errors) == 1
    (error,) = report.errors
    assert error.startswith("kubernetes (kubernetes): ") and reported in error
    assert "\n" not in error
    assert _product(data_dir, "kubernetes.yaml", "kubernetes") == upstream_before
    assert not any(line.startswith("kubernetes ") for line in report.changes)
    # The other product of the file was refreshed all the same.
    assert load_catalog(data_dir).product("eks").cycle("1.37") is not None


def test_a_merge_the_loader_would_refuse_is_not_applied(api: Api, data_dir: Path) -> None:
    body = api.recorded("kubernetes")
    body["result"]["releases"][0]["eolFrom"] = "2026-01-01"  # before 1.37's release
    api.answer("kubernetes", 200, json.dumps(body).encode())
    upstream_before = _product(data_dir, "kubernetes.yaml", "kubernetes")

    report = refresh(TODAY, data_dir=data_dir, base_url=api.base_url, products=KUBERNETES)

    (error,) = report.errors
    assert error.startswith("kubernetes (kubernetes): merged data refused, kept as it was:")
    assert "1.37: eoas 2027-08-28 is after eol 2026-01-01" in error
    assert _product(data_dir, "kubernetes.yaml", "kubernetes") == upstream_before
    load_catalog(data_dir)


def test_a_failed_write_leaves_the_file_whole(
    api: Api, data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = _snapshot(data_dir)

    def replace_fails(source: str, target: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("posture.lifecycle.refresh.os.replace", replace_fails)
    with pytest.raises(OSError, match="No space left"):
        refresh(TODAY, data_dir=data_dir, base_url=api.base_url, products=RUNTIMES)

    assert _snapshot(data_dir) == before  # no half-written file, no temporary left behind


def test_unknown_or_unrefreshable_products_and_bad_urls_are_refused_before_fetching(
    api: Api, data_dir: Path
) -> None:
    with pytest.raises(ValueError, match="unknown product fedora"):
        refresh(TODAY, data_dir=data_dir, base_url=api.base_url, products=["fedora"])
    with pytest.raises(ValueError, match="review by hand: talos"):
        refresh(TODAY, data_dir=data_dir, base_url=api.base_url, products=["talos"])
    with pytest.raises(ValueError, match="http"):
        refresh(TODAY, data_dir=data_dir, base_url="file:///etc", products=["kubernetes"])
    assert api.requests == []


def test_products_are_selected_by_data_name_or_slug(api: Api, data_dir: Path) -> None:
    refresh(TODAY, data_dir=data_dir, base_url=api.base_url, products=["eks", "containerd"])

    assert sorted(api.requests) == ["amazon-eks", "containerd"]


# --- the command --------------------------------------------------------------------------


def test_command_prints_the_changes_and_writes_them(api: Api, data_dir: Path) -> None:
    out = StringIO()

    call_command(
        "refresh_lifecycle",
        "--base-url",
        api.base_url,
        "--data-dir",
        str(data_dir),
        "--product",
        *RUNTIMES,
        stdout=out,
    )

    lines = out.getvalue().splitlines()
    assert "containerd 2.3: latest 2.3.4 -> 2.3.6" in lines
    assert "docker 29: latest 29.7.2 -> 29.7.3" in lines
    assert lines[-1] == "Wrote runtimes.yaml."
    assert load_catalog(data_dir).product("docker").cycle("29").latest == "29.7.3"


def test_command_dry_run_prints_the_changes_and_writes_nothing(api: Api, data_dir: Path) -> None:
    before = _snapshot(data_dir)
    out = StringIO()

    call_command(
        "refresh_lifecycle",
        "--dry-run",
        "--base-url",
        api.base_url,
        "--data-dir",
        str(data_dir),
        "--product",
        *KUBERNETES,
        *RUNTIMES,
        stdout=out,
    )

    lines = out.getvalue().splitlines()
    assert "kubernetes 1.31: eol 2025-11-11 -> 2025-10-28" in lines
    assert lines[-1] == "Dry run: nothing written."
    assert _snapshot(data_dir) == before


def test_command_offline_fails_cleanly_and_changes_nothing(data_dir: Path) -> None:
    refreshable = [
        name
        for filename in DATA_FILES
        for name, product in yaml.safe_load((data_dir / filename).read_text())["products"].items()
        if "refresh" in product
    ]
    before = _snapshot(data_dir)
    out, err = StringIO(), StringIO()
    base_url = f"http://127.0.0.1:{_closed_port()}/api/v1"

    with pytest.raises(CommandError, match=rf"{len(refreshable)} product\(s\) not refreshed"):
        call_command(
            "refresh_lifecycle",
            "--base-url",
            base_url,
            "--data-dir",
            str(data_dir),
            stdout=out,
            stderr=err,
        )

    errors = err.getvalue().splitlines()
    assert [line.split(" ")[0] for line in errors] == refreshable
    assert errors[0].startswith("kubernetes (kubernetes): cannot fetch http://127.0.0.1:")
    assert all("Connection refused" in line for line in errors)
    assert _snapshot(data_dir) == before


def test_command_refuses_an_unknown_product(data_dir: Path) -> None:
    with pytest.raises(CommandError, match="unknown product fedora"):
        call_command("refresh_lifecycle", "--data-dir", str(data_dir), "--product", "fedora")


# --- staleness ----------------------------------------------------------------------------


def test_data_age_counts_days_since_the_as_of_date() -> None:
    assert data_age_days(DATA_AS_OF) == 0
    assert data_age_days(DATA_AS_OF + timedelta(days=91)) == 91


def test_system_check_warns_past_90_days_with_a_hint_to_refresh() -> None:
    (warning,) = startup_checks.lifecycle_data_is_fresh(
        None, today=DATA_AS_OF + timedelta(days=91)
    )

    assert warning.id == "posture.W010"
    assert "91 days old" in warning.msg
    assert "manage.py refresh_lifecycle" in warning.hint


@pytest.mark.parametrize("days", [0, 89, 90])
def test_system_check_is_quiet_within_90_days(days: int) -> None:
    assert (
        startup_checks.lifecycle_data_is_fresh(None, today=DATA_AS_OF + timedelta(days=days))
        == []
    )
