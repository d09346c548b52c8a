"""The OpenAPI 3.1 description of /api/v1/ (served at /api/v1/openapi.json).

Its component schemas are plain JSON Schema (2020-12), and the tests validate every endpoint's
answers against them, so the description cannot drift from the code unnoticed.
"""

from __future__ import annotations

from typing import Any

from posture.checks.frameworks.assess import ControlStatus
from posture.checks.frameworks.data import FRAMEWORK_IDS
from posture.checks.vocabulary import Category, Severity

_nullable_str = {"type": ["string", "null"]}
_nullable_time = {"type": ["string", "null"], "format": "date-time"}
_nullable_num = {"type": ["number", "null"]}
_nullable_int = {"type": ["integer", "null"]}
_counts = {"type": "object", "additionalProperties": {"type": "integer"}}

CLUSTER: dict[str, Any] = {
    "type": "object",
    "required": ["id", "name", "score", "grade", "kubernetes_version", "kubernetes_eol",
                 "last_poll"],
    "properties": {
        "id": {"type": "integer"},
        "name": {"type": "string"},
        "labels": {"type": "object", "additionalProperties": {"type": "string"}},
        "score": _nullable_num,
        "grade": {"type": ["string", "null"], "enum": ["A", "B", "C", "D", "F", None]},
        "kubernetes_version": _nullable_str,
        "kubernetes_support": {"type": "string",
                               "enum": ["supported", "maintenance", "extended", "eol", "unknown"]},
        "kubernetes_eol": {"type": ["string", "null"], "format": "date"},
        "kubernetes_eol_days_left": _nullable_int,
        "open_findings_by_severity": {**_counts, "description": "open findings that count "
                                      "(platform-managed ones apart, unless the policy "
                                      "scores them)"},
        "platform_findings_by_severity": {**_counts, "description": "open platform-managed "
                                          "findings, not in the counts above nor the score"},
        "last_poll": {"type": "object", "required": ["status", "at"], "properties": {
            "status": {"type": ["string", "null"],
                       "enum": ["running", "ok", "partial", "failed", None]},
            "at": _nullable_time}},
        "last_success_at": _nullable_time,
        "poll_interval_minutes": {"type": "integer"},
        "category_scores": {"type": "object"},
        "coverage": {"type": "object"},
    },
}

SNAPSHOT: dict[str, Any] = {
    "type": "object",
    "required": ["id", "taken_at", "status", "score", "grade"],
    "properties": {
        "id": {"type": "integer"},
        "taken_at": {"type": "string", "format": "date-time"},
        "status": {"type": "string", "enum": ["running", "ok", "partial", "failed"]},
        "error": {"type": "string"},
        "duration_ms": _nullable_int,
        "kubernetes_version": {"type": "string"},
        "node_count": _nullable_int,
        "workload_count": _nullable_int,
        "pod_count": _nullable_int,
        "score": _nullable_num,
        "grade": _nullable_str,
        "category_scores": {"type": "object"},
        "finding_counts": {"type": "object"},
        "checkset_version": {"type": "string"},
    },
}

FINDING: dict[str, Any] = {
    "type": "object",
    "required": ["id", "check", "severity", "category", "kind", "namespace", "name", "status",
                 "platform_managed"],
    "properties": {
        "id": {"type": "integer"},
        "check": {"type": "string"},
        "severity": {"type": "string", "enum": ["critical", "high", "medium", "low", "info"]},
        "category": {"type": "string"},
        "kind": {"type": "string"},
        "namespace": {"type": "string"},
        "name": {"type": "string"},
        "container": {"type": "string"},
        "message": {"type": "string"},
        "first_seen_at": {"type": "string", "format": "date-time"},
        "resolved_at": _nullable_time,
        "status": {"type": "string", "enum": ["open", "accepted", "resolved"]},
        "accepted_until": _nullable_time,
        "platform_managed": {
            "type": "boolean",
            "description": "on a component the platform runs (the policy's platform_namespaces "
                           "and platform_workloads), while the policy does not score those: "
                           "shown apart, left out of the score and the headline counts"},
    },
}

_vuln_severity = {"type": "string", "enum": ["critical", "high", "medium", "low", "unknown"]}
_severity_count = {"type": "object", "required": ["total", "fixable"], "properties": {
    "total": {"type": "integer", "minimum": 0},
    "fixable": {"type": ["integer", "null"], "minimum": 0,
                "description": "null when the report gave counts only, without the list"}}}

IMAGE: dict[str, Any] = {
    "type": "object",
    "description": "A scanned image, de-duplicated over the workloads that run it. Images come "
                   "most urgent first: most fixable criticals, then most criticals, then "
                   "fixable highs, and so on.",
    "required": ["id", "ref", "counts", "stored", "workloads", "vulnerabilities"],
    "properties": {
        "id": {"type": "integer"},
        "ref": {"type": "string", "description": "registry/repository@digest, or :tag when "
                                                 "the digest is not known"},
        "registry": {"type": "string"},
        "repository": {"type": "string"},
        "tag": {"type": "string"},
        "digest": {"type": "string"},
        "os": {"type": "string"},
        "first_seen_at": {"type": "string", "format": "date-time"},
        "counts": {"type": "object", "description": "Every vulnerability read, by severity",
                   "additionalProperties": _severity_count},
        "stored": {"type": "integer", "description": "Vulnerabilities kept (the most urgent)"},
        "more_workloads": {"type": "integer"},
        "workloads": {"type": "array", "items": {
            "type": "object", "required": ["kind", "namespace", "name", "container"],
            "properties": {k: {"type": "string"}
                           for k in ("kind", "namespace", "name", "container")}}},
        "vulnerabilities": {"type": "array", "items": {
            "$ref": "#/components/schemas/ImageVulnerability"}},
    },
}

IMAGE_VULNERABILITY: dict[str, Any] = {
    "type": "object",
    "description": "Most urgent first: fixable criticals, criticals without a fix, fixable "
                   "highs, …; by CVSS score within each.",
    "required": ["id", "vulnerability_id", "package", "installed_version", "fixed_version",
                 "fixable", "severity"],
    "properties": {
        "id": {"type": "integer"},
        "vulnerability_id": {"type": "string"},
        "package": {"type": "string"},
        "installed_version": {"type": "string"},
        "fixed_version": {"type": "string", "description": "empty when no fix exists"},
        "fixable": {"type": "boolean"},
        "severity": _vuln_severity,
        "score": _nullable_num,
        "title": {"type": "string"},
        "link": {"type": ["string", "null"], "format": "uri",
                 "description": "an http(s) URL, or null"},
        "first_seen_at": {"type": "string", "format": "date-time"},
    },
}


FLEET_FINDING: dict[str, Any] = {
    **FINDING,
    "required": [*FINDING["required"], "cluster", "first_seen_at", "resolved_at",
                 "accepted_until"],
    "properties": {
        **FINDING["properties"],
        "cluster": {"type": "object", "required": ["id", "name"], "properties": {
            "id": {"type": "integer"}, "name": {"type": "string"}}},
    },
}

_error = {"description": "A parameter the API cannot use", "content": {"application/json": {
    "schema": {"type": "object", "required": ["error"],
               "properties": {"error": {"type": "string"}}}}}}


def _query(name: str, description: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"name": name, "in": "query", "description": description, "schema": schema}


_severity = {"type": "string", "enum": ["critical", "high", "medium", "low", "info"]}
_scope = {"type": "string", "enum": ["workload", "node", "namespace", "cluster"]}
_cap_name = {"type": "string", "enum": ["eol", "control-plane-unknown", "node-os-unknown"]}
_grade = {"type": ["string", "null"], "enum": ["A", "B", "C", "D", "F", None]}

DEDUCTION: dict[str, Any] = {
    "type": "object",
    "description": "What one check costs in its category, in three figures: `points` lost in "
                   "the category (of its 100), `overall` of the cluster score (points times "
                   "the category's effective weight), `regained` by fixing this check alone "
                   "(the fix list's figure; the category's curve makes it differ from "
                   "`overall`).",
    "required": ["check", "severity", "count", "points", "overall", "regained", "scope",
                 "affected", "out_of", "raw"],
    "additionalProperties": False,
    "properties": {
        "check": {"type": "string"},
        "severity": _severity,
        "count": {"type": "integer", "description": "findings"},
        "points": {"type": "number"},
        "overall": {"type": "number"},
        "regained": {"type": "number"},
        "scope": _scope,
        "affected": {"type": "integer"},
        "out_of": {"type": "integer"},
        "raw": {"type": "number"},
    },
}

CATEGORY: dict[str, Any] = {
    "type": "object",
    "description": "A category's score, or null when none of its checks could be evaluated "
                   "(it then leaves the weighted mean: `effective_weight` 0).",
    "required": ["score", "evaluated", "weight", "effective_weight", "deductions"],
    "additionalProperties": False,
    "properties": {
        "score": _nullable_num,
        "evaluated": {"type": "boolean"},
        "weight": {"type": "number", "description": "nominal weight"},
        "effective_weight": {"type": "number",
                             "description": "weight renormalised over evaluated categories"},
        "deductions": {"type": "array", "items": {"$ref": "#/components/schemas/Deduction"}},
    },
}

FIX: dict[str, Any] = {
    "type": "object",
    "description": "One entry of the ranked list: by severity, then exposure "
                   "(`affected`/`out_of`, a cluster-wide check is 1 of 1), then affected "
                   "units, then points gained, then check id.",
    "required": ["rank", "check", "severity", "count", "scope", "affected", "out_of",
                 "points_gained", "lifts"],
    "additionalProperties": False,
    "properties": {
        "rank": {"type": "integer", "minimum": 1},
        "check": {"type": "string"},
        "severity": _severity,
        "count": {"type": "integer"},
        "scope": _scope,
        "affected": {"type": "integer"},
        "out_of": {"type": "integer"},
        "points_gained": {"type": "number",
                          "description": "what the score gains if this check alone is fixed"},
        "lifts": {"type": "array", "items": _cap_name,
                  "description": "caps that fixing this check lifts"},
    },
}

SCORECARD: dict[str, Any] = {
    "type": "object",
    "description": "Every figure of the cluster's scorecard page, from the same computation: "
                   "the open findings scored now with today's accepted risks and policy "
                   "(docs/scoring.md).",
    "required": ["cluster", "snapshot", "score", "grade", "stored_score", "uncapped_score",
                 "cap_points", "caps", "capped_by", "waived", "waived_points", "platform",
                 "platform_points", "not_evaluated", "os_unjudged_nodes", "categories",
                 "fixes", "shown_fixes", "path", "platform_findings"],
    "properties": {
        "cluster": {"type": "integer"},
        "snapshot": {"type": ["object", "null"], "required": ["id", "taken_at"], "properties": {
            "id": {"type": "integer"}, "taken_at": {"type": "string", "format": "date-time"}}},
        "score": _nullable_num,
        "grade": _grade,
        "stored_score": {**_nullable_num,
                         "description": "the score stored with the poll (the history's)"},
        "uncapped_score": {**_nullable_num, "description": "the score before any cap"},
        "cap_points": {"type": "number"},
        "caps": {"type": "array", "items": {
            "type": "object", "required": ["cap", "grade", "ceiling", "reason", "lifted_by",
                                           "cuts"],
            "properties": {"cap": _cap_name, "grade": _grade, "ceiling": {"type": "number"},
                           "reason": {"type": "string"}, "lifted_by": _nullable_str,
                           "cuts": {"type": "boolean",
                                    "description": "false: the score is below it already"}}}},
        "capped_by": {"type": "array", "items": {"type": "string"}},
        "waived": {"type": "integer"},
        "waived_points": {"type": "number"},
        "platform": {"type": "integer", "description": "platform-managed findings left out"},
        "platform_points": {"type": "number"},
        "not_evaluated": {"type": "array", "items": {"type": "string"}},
        "os_unjudged_nodes": {"type": "integer"},
        "categories": {"type": "object",
                       "additionalProperties": {"$ref": "#/components/schemas/Category"}},
        "fixes": {"type": "array", "items": {"$ref": "#/components/schemas/Fix"}},
        "shown_fixes": {"type": "integer",
                        "description": "how many of `fixes` the page lists under Fix first"},
        "path": {"type": ["object", "null"],
                 "description": "the shortest prefix of `fixes` that reaches the next grade; "
                                "null at A",
                 "required": ["target", "steps", "score", "reachable", "blocked_by"],
                 "properties": {"target": _grade, "steps": _nullable_int,
                                "score": _nullable_num, "reachable": {"type": "boolean"},
                                "blocked_by": {"type": "array", "items": _cap_name}}},
        "platform_findings": {"type": "array", "items": {
            "type": "object", "required": ["check", "severity", "count", "resources"],
            "properties": {"check": {"type": "string"}, "severity": _severity,
                           "count": {"type": "integer"},
                           "resources": {"type": "array", "items": {"type": "string"}}}}},
    },
}


_control_status = {"type": "string", "enum": [str(s) for s in ControlStatus.ordered()]}
_status_counts = {"type": "object", "required": [str(s) for s in ControlStatus.ordered()],
                  "properties": {str(s): {"type": "integer"} for s in ControlStatus.ordered()},
                  "additionalProperties": False}
_control_finding = {"type": "object", "required": ["id", "check", "kind", "namespace", "name",
                                                   "container", "severity", "message"],
                    "properties": {"id": {"type": "integer"}, "check": {"type": "string"},
                                   "kind": {"type": "string"}, "namespace": {"type": "string"},
                                   "name": {"type": "string"}, "container": {"type": "string"},
                                   "severity": _severity, "message": {"type": "string"},
                                   "set_apart": {"type": "string"}}}
_framework_properties: dict[str, Any] = {
    "id": {"type": "string"}, "title": {"type": "string"}, "version": {"type": "string"}}
_framework = {"type": "object", "required": ["id", "title", "version"],
              "properties": _framework_properties}

CONTROL_RESULT: dict[str, Any] = {
    "type": "object",
    "required": ["id", "title", "section", "status", "reason", "checks", "findings",
                 "set_apart", "findings_count", "set_apart_count", "findings_truncated"],
    "properties": {
        "id": {"type": "string"}, "title": {"type": "string"}, "section": {"type": "string"},
        "status": _control_status, "status_label": {"type": "string"},
        "reason": {"type": "string", "description": "Why it is not evaluated or not checkable"},
        "partial": {"type": "string", "description": "What its checks leave out, if anything"},
        "checks": {"type": "array", "items": {"type": "string"}},
        "not_evaluated_checks": {"type": "object",
                                 "additionalProperties": {"type": "string"}},
        "findings": {"type": "array", "items": _control_finding,
                     "description": "The first open findings that fail the control"},
        "set_apart": {"type": "array", "items": _control_finding,
                      "description": "Accepted risks and platform-managed findings: they "
                                     "fail no control, as they cost no points"},
        "findings_count": {"type": "integer"}, "set_apart_count": {"type": "integer"},
        "findings_truncated": {"type": "boolean"},
    },
}

CLUSTER_FRAMEWORK: dict[str, Any] = {
    "type": "object",
    "required": ["cluster", "framework", "snapshot", "counts", "controls"],
    "properties": {
        "cluster": {"type": "object", "required": ["id", "name"], "properties": {
            "id": {"type": "integer"}, "name": {"type": "string"}}},
        "framework": _framework,
        "snapshot": {"type": ["object", "null"], "required": ["id", "taken_at",
                                                              "checkset_version"],
                     "properties": {"id": {"type": "integer"},
                                    "taken_at": {"type": "string", "format": "date-time"},
                                    "checkset_version": {"type": "string"}}},
        "counts": {"oneOf": [_status_counts, {"type": "null"}]},
        "controls": {"type": "array", "items": {"$ref": "#/components/schemas/ControlResult"}},
        "findings_per_control": {"type": "integer"},
    },
}

FLEET_FRAMEWORK: dict[str, Any] = {
    "type": "object",
    "required": ["id", "title", "version", "clusters_assessed", "clusters_not_polled",
                 "controls"],
    "properties": {
        **_framework_properties,
        "clusters_assessed": {"type": "integer"},
        "clusters_not_polled": {"type": "array", "items": {
            "type": "object", "required": ["id", "name"],
            "properties": {"id": {"type": "integer"}, "name": {"type": "string"}}}},
        "controls": {"type": "array", "items": {
            "type": "object", "required": ["id", "title", "section", "clusters",
                                           "failed_clusters"],
            "properties": {
                "id": {"type": "string"}, "title": {"type": "string"},
                "section": {"type": "string"}, "not_checkable": {"type": "string"},
                "clusters": _status_counts,
                "failed_clusters": {"type": "array", "items": {
                    "type": "object", "required": ["id", "name", "findings"],
                    "properties": {"id": {"type": "integer"}, "name": {"type": "string"},
                                   "findings": {"type": "integer"}}}}}}},
    },
}


def _ok(schema_ref: str, key: str, extra: dict[str, Any] | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"type": "object", "required": [key], "properties": {
        key: {"type": "array", "items": {"$ref": f"#/components/schemas/{schema_ref}"}}}}
    body["properties"].update(extra or {})
    return {"200": {"description": "OK", "content": {"application/json": {"schema": body}}},
            "401": {"description": "Not logged in and no valid bearer token"},
            "404": {"description": "No such cluster, or not one the caller may see"}}


def _fleet_findings_responses() -> dict[str, Any]:
    responses = _ok("FleetFinding", "findings", {"next": {
        "type": ["string", "null"], "format": "uri", "description": "The next page; null on "
                                                                   "the last"}})
    responses["200"]["content"]["application/json"]["schema"]["required"].append("next")
    return {**responses, "400": _error}


def _clusters_responses() -> dict[str, Any]:
    responses = _ok("Cluster", "clusters", {"next": {
        "type": ["string", "null"], "format": "uri", "description": "The next page; null on "
                                                                   "the last"}})
    responses["200"]["content"]["application/json"]["schema"]["required"].append("next")
    return {**responses, "400": _error}


_pk = [{"name": "pk", "in": "path", "required": True, "schema": {"type": "integer"}}]
_framework_param = {"name": "framework", "in": "path", "required": True,
                    "schema": {"type": "string", "enum": list(FRAMEWORK_IDS)}}


def _one(schema_ref: str, missing: str) -> dict[str, Any]:
    return {"200": {"description": "OK", "content": {"application/json": {
                "schema": {"$ref": f"#/components/schemas/{schema_ref}"}}}},
            "401": {"description": "Not logged in and no valid bearer token"},
            "404": {"description": missing}}


SCHEMA: dict[str, Any] = {
    "openapi": "3.1.0",
    "info": {
        "title": "Posture API",
        "version": "1",
        "description": "Read-only. Every answer holds exactly what the caller may see on the "
                       "pages. Authenticate with the browser session or `Authorization: Bearer "
                       "<token>` (`manage.py create_api_token`).",
    },
    "components": {
        "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"},
                            "session": {"type": "apiKey", "in": "cookie", "name": "sessionid"}},
        "schemas": {"Cluster": CLUSTER, "Snapshot": SNAPSHOT, "Finding": FINDING,
                    "Scorecard": SCORECARD, "Category": CATEGORY, "Deduction": DEDUCTION,
                    "Fix": FIX, "FleetFinding": FLEET_FINDING,
                    "Image": IMAGE, "ImageVulnerability": IMAGE_VULNERABILITY,
                    "ControlResult": CONTROL_RESULT, "ClusterFramework": CLUSTER_FRAMEWORK,
                    "FleetFramework": FLEET_FRAMEWORK},
    },
    "security": [{"bearer": []}, {"session": []}],
    "paths": {
        "/api/v1/clusters/": {"get": {
            "summary": "Clusters the caller may see, by name, page by page",
            "parameters": [
                _query("limit", "Clusters per page (default 100)",
                       {"type": "integer", "minimum": 1, "maximum": 1000}),
                _query("cursor", "From the previous page's `next` link; opaque",
                       {"type": "string"}),
            ],
            "responses": _clusters_responses()}},
        "/api/v1/clusters/{pk}/": {"get": {
            "summary": "One cluster, with category scores and coverage", "parameters": _pk,
            "responses": {"200": {"description": "OK", "content": {"application/json": {
                "schema": {"$ref": "#/components/schemas/Cluster"}}}},
                "404": {"description": "Not found or not visible"}}}},
        "/api/v1/clusters/{pk}/scorecard/": {"get": {
            "summary": "The cluster's scorecard: score, caps, categories, ranked fixes, path",
            "parameters": _pk,
            "responses": {"200": {"description": "OK", "content": {"application/json": {
                "schema": {"$ref": "#/components/schemas/Scorecard"}}}},
                "401": {"description": "Not logged in and no valid bearer token"},
                "404": {"description": "No such cluster, or not one the caller may see"}}}},
        "/api/v1/clusters/{pk}/snapshots/": {"get": {
            "summary": "A cluster's polls, newest first",
            "parameters": _pk + [
                {"name": "limit", "in": "query", "schema": {"type": "integer", "maximum": 1000}},
                {"name": "before", "in": "query", "schema": {"type": "string",
                                                              "format": "date-time"}}],
            "responses": _ok("Snapshot", "snapshots", {"next_before": _nullable_time})}},
        "/api/v1/clusters/{pk}/findings/": {"get": {
            "summary": "A cluster's findings with their status",
            "parameters": _pk + [{"name": "status", "in": "query", "schema": {
                "type": "string", "enum": ["open", "resolved", "all"]}}],
            "responses": _ok("Finding", "findings")}},
        "/api/v1/findings/": {"get": {
            "summary": "Findings across every cluster the caller may see, page by page",
            "description": "In id order, which polls only ever append to: following `next` "
                           "until it is null visits every finding that exists throughout. "
                           "Open findings an active risk acceptance covers have the status "
                           "`accepted`.",
            "parameters": [
                _query("check", "A check id (docs/checks.md)", {"type": "string"}),
                _query("severity", "The finding's severity",
                       {"type": "string", "enum": [str(s) for s in Severity.ordered()]}),
                _query("category", "The check's category",
                       {"type": "string", "enum": [str(c) for c in Category.ordered()]}),
                _query("cluster", "A cluster id, or a cluster name (one not made of digits "
                                  "only); 404 when the caller cannot see it",
                       {"type": "string"}),
                _query("label", "A cluster label, key=value", {"type": "string"}),
                _query("status", "open (the default: accepted risks included, marked), "
                                 "resolved, or all",
                       {"type": "string", "enum": ["open", "resolved", "all"]}),
                _query("limit", "Findings per page (default 100)",
                       {"type": "integer", "minimum": 1, "maximum": 1000}),
                _query("cursor", "From the previous page's `next` link; opaque",
                       {"type": "string"}),
            ],
            "responses": _fleet_findings_responses()}},
        "/api/v1/clusters/{pk}/vulnerabilities/": {"get": {
            "summary": "A cluster's scanned images with their known vulnerabilities",
            "description": "From Trivy Operator's VulnerabilityReports as of the newest "
                           "successful poll. `evaluated` is false (with the `reason`) when the "
                           "cluster has no Trivy Operator or its reports could not be read.",
            "parameters": _pk + [
                {"name": "severity", "in": "query", "schema": _vuln_severity},
                {"name": "fixable", "in": "query", "description": "true: only fixable ones",
                 "schema": {"type": "boolean"}}],
            "responses": _ok("Image", "images", {
                "evaluated": {"type": "boolean"}, "reason": _nullable_str})}},
        "/api/v1/clusters/{pk}/frameworks/{framework}/": {"get": {
            "summary": "Where the cluster stands on each control of a framework",
            "description": "From the newest successful poll's open findings, as the score "
                           "reads them; `snapshot` is null before the first. `framework` is "
                           "`cis` or `nsa` (docs/frameworks.md).",
            "parameters": _pk + [_framework_param],
            "responses": _one("ClusterFramework", "No such cluster or framework, or a "
                                                  "cluster the caller may not see")}},
        "/api/v1/frameworks/{framework}/": {"get": {
            "summary": "Per control, how many visible clusters pass, fail or are not evaluated",
            "parameters": [_framework_param],
            "responses": _one("FleetFramework", "No such framework")}},
    },
}
