"""Every page under ``/clusters/``: the registry's pages and each cluster's own pages, named
``clusters:<page>``."""

from django.urls import path

from posture.web.views import (
    checklist,
    cluster_settings,
    clusters,
    exports,
    frameworks,
    report,
    scorecard,
    tickets,
    vulnerabilities,
    who_can,
)

app_name = "clusters"

urlpatterns = [
    path("", clusters.cluster_list, name="list"),
    path("register/", clusters.cluster_register, name="register"),
    path("<int:pk>/", clusters.cluster_detail, name="detail"),
    path("<int:pk>/poll/", clusters.cluster_poll_now, name="poll"),
    path("<int:pk>/poll-status/", clusters.cluster_poll_status, name="poll-status"),
    path("<int:pk>/settings/", cluster_settings.cluster_settings, name="settings"),
    path("<int:pk>/delete/", cluster_settings.cluster_delete, name="delete"),
    path("<int:pk>/trends/", scorecard.cluster_trends, name="trends"),
    path("<int:pk>/checklist/", checklist.cluster_checklist, name="checklist"),
    path("<int:pk>/checklist/accept/", checklist.accept_risk, name="accept-risk"),
    path("<int:pk>/acceptances/<int:acceptance_pk>/revoke/", checklist.revoke_risk,
         name="revoke-risk"),
    path("<int:pk>/checklist/<str:check_id>/issue.md", tickets.cluster_issue_markdown,
         name="issue-markdown"),
    path("<int:pk>/report/", report.cluster_report, name="report"),
    path("<int:pk>/findings.csv", exports.cluster_findings_csv, name="findings-csv"),
    path("<int:pk>/vulnerabilities/", vulnerabilities.cluster_vulnerabilities,
         name="vulnerabilities"),
    path("<int:pk>/vulnerabilities.csv", vulnerabilities.cluster_vulnerabilities_csv,
         name="vulnerabilities-csv"),
    path("<int:pk>/who-can/", who_can.cluster_who_can, name="who-can"),
    path("<int:pk>/frameworks/", frameworks.cluster_frameworks, name="frameworks"),
    path("<int:pk>/frameworks/<str:framework_id>/", frameworks.cluster_framework,
         name="framework"),
    path("<int:pk>/frameworks/<str:framework_id>/controls.csv", frameworks.cluster_framework_csv,
         name="framework-csv"),
]
