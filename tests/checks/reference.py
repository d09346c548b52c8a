"""The engine's findings on the generated cluster, recorded to compare later versions against.

A change that only makes the engine faster must leave every finding, message and piece of
evidence as it was. After a deliberate change to the rules, record again and review the diff:
``python -m tests.checks.reference``.
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

from posture.checks import evaluate
from tests.checks.builders import TODAY
from tests.checks.generated import POLICIES, generated_inventory

PATH = Path(__file__).resolve().parent / "data" / "engine_reference.json.gz"


def current() -> dict[str, Any]:
    """Return every policy's evaluation of the generated cluster, as JSON-able data."""
    inv = generated_inventory()
    out: dict[str, Any] = {}
    for name, policy in POLICIES.items():
        result = evaluate(inv, policy, TODAY)
        out[name] = {
            "checkset_version": result.checkset_version,
            "evaluated": list(result.evaluated),
            "disabled": list(result.disabled),
            "not_evaluated": result.not_evaluated,
            "counts_by_severity": result.counts_by_severity,
            "counts_by_category": result.counts_by_category,
            "findings": [f.to_dict() for f in result.findings],
        }
    # Through JSON and back, so tuples and lists compare equal to the recorded file.
    loaded: dict[str, Any] = json.loads(json.dumps(out))
    return loaded


def recorded() -> dict[str, Any]:
    """Return the recorded evaluations."""
    with gzip.open(PATH, "rt", encoding="utf-8") as fh:
        data: dict[str, Any] = json.load(fh)
    return data


def main() -> None:
    """Record the current engine's evaluations (deterministic bytes: no timestamp in gzip)."""
    text = json.dumps(current(), indent=0, sort_keys=True, ensure_ascii=False)
    PATH.write_bytes(gzip.compress(text.encode("utf-8"), compresslevel=9, mtime=0))
    print(f"wrote {PATH} ({PATH.stat().st_size:,} bytes)")


if __name__ == "__main__":
    main()
