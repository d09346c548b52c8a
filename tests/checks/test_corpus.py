"""The regression corpus: small manifests written from the upstream docs of each field.

Every ``corpus/<topic>/*.yaml`` file starts with comment lines:

- ``# expect: check=fail, other=pass`` (one or more lines): ``fail`` means at least one finding
  of that check, ``pass`` that it ran and found nothing, ``not-evaluated`` that it could not run;
- ``# expect-message: check: text`` (optional): some finding of that check says ``text``;
- ``# source: URL``: the upstream document the manifest follows.

Each file goes through what ``posture scan`` runs, the real manifest loader and engine.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from posture.checks import CATALOG, Policy, evaluate
from posture.checks.manifests import build_inventory, load
from tests.checks.builders import TODAY

CORPUS = Path(__file__).resolve().parent / "corpus"
FILES = sorted(CORPUS.rglob("*.yaml"))
POLICY = Policy(approved_registries=("registry.example.com",))
_OUTCOMES = ("fail", "pass", "not-evaluated")


class Header:
    """What a corpus file expects, read from its leading comments."""

    def __init__(self, path: Path) -> None:
        self.expect: dict[str, str] = {}
        self.messages: list[tuple[str, str]] = []
        self.sources: list[str] = []
        for line in path.read_text(encoding="utf-8").splitlines():
            if not line.startswith("#"):
                break
            key, _, value = line[1:].strip().partition(":")
            value = value.strip()
            if key == "expect":
                for item in value.split(","):
                    check, _, outcome = item.strip().partition("=")
                    self.expect[check.strip()] = outcome.strip()
            elif key == "expect-message":
                check, _, text = value.partition(":")
                self.messages.append((check.strip(), text.strip()))
            elif key == "source":
                self.sources.append(value)


def test_the_corpus_is_large_and_covers_every_topic() -> None:
    topics = {path.parent.name for path in FILES}
    assert len(FILES) >= 60
    assert {"pods", "security-context", "ephemeral", "digests", "networkpolicy", "rbac"} <= topics


def test_the_corpus_exercises_every_access_check() -> None:
    expected = {check for path in FILES for check in Header(path).expect}
    access = {check for check in CATALOG if check.startswith("access.")}
    assert access <= expected


@pytest.mark.parametrize("path", FILES, ids=[str(p.relative_to(CORPUS)) for p in FILES])
def test_corpus_file(path: Path) -> None:
    header = Header(path)
    assert header.expect, "no # expect: line"
    assert len(header.sources) == 1 and header.sources[0].startswith("https://"), "one # source:"
    for check, outcome in header.expect.items():
        assert check in CATALOG, f"unknown check {check}"
        assert outcome in _OUTCOMES, f"{check}: outcome {outcome!r}"
    objects, errors = load([str(path)])
    assert errors == []
    result = evaluate(build_inventory(objects), POLICY, TODAY)
    for check, outcome in header.expect.items():
        found = [f for f in result.findings if f.check == check]
        if outcome == "not-evaluated":
            assert check in result.not_evaluated, check
            continue
        assert check in result.evaluated, f"{check}: {result.not_evaluated.get(check)}"
        if outcome == "fail":
            assert found, f"{check} found nothing"
        else:
            assert found == [], f"{check}: {[f.message for f in found]}"
    for check, text in header.messages:
        messages = [f.message for f in result.findings if f.check == check]
        assert any(text in m for m in messages), f"{check}: {text!r} not in {messages}"
