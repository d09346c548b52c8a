"""The dashboard's pages: fleet overview (home), fleet findings, trends, checklist, findings."""

from django.urls import path

from posture.web.views import (
    checklist,
    findings,
    fleet_findings,
    overview,
    scorecard,
    vocabulary,
    vulnerabilities,
)

urlpatterns = [
    path("", overview.home, name="home"),
    path("clusters/<int:pk>/trends/", scorecard.cluster_trends, name="cluster-trends"),
    path("clusters/<int:pk>/checklist/", checklist.cluster_checklist, name="cluster-checklist"),
    path("clusters/<int:pk>/checklist/accept/", checklist.accept_risk, name="accept-risk"),
    path("clusters/<int:pk>/acceptances/<int:acceptance_pk>/revoke/", checklist.revoke_risk,
         name="revoke-risk"),
    path("findings/<int:pk>/", findings.finding_detail, name="finding"),
    # Every check across the fleet; /findings/<pk>/ above is one finding of one cluster.
    path("fleet/findings/", fleet_findings.fleet_findings_page, name="fleet-findings"),
    path("fleet/findings.csv", fleet_findings.fleet_findings_csv, name="fleet-findings-csv"),
    path("fleet/findings/<str:check_id>/", fleet_findings.fleet_check_page, name="fleet-check"),
    path("fleet/findings/<str:check_id>/findings.csv", fleet_findings.fleet_check_csv,
         name="fleet-check-csv"),
    path("clusters/<int:pk>/vulnerabilities/", vulnerabilities.cluster_vulnerabilities,
         name="cluster-vulnerabilities"),
    path("clusters/<int:pk>/vulnerabilities.csv", vulnerabilities.cluster_vulnerabilities_csv,
         name="cluster-vulnerabilities-csv"),
    path("vocabulary.css", vocabulary.vocabulary_css, name="vocabulary-css"),
]
