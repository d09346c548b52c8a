"""The dashboard's pages: fleet overview (home), trends, checklist, findings."""

from django.urls import path

from posture.views import checklist, findings, overview, scorecard, vocabulary, vulnerabilities

urlpatterns = [
    path("", overview.home, name="home"),
    path("clusters/<int:pk>/trends/", scorecard.cluster_trends, name="cluster-trends"),
    path("clusters/<int:pk>/checklist/", checklist.cluster_checklist, name="cluster-checklist"),
    path("clusters/<int:pk>/checklist/accept/", checklist.accept_risk, name="accept-risk"),
    path("clusters/<int:pk>/acceptances/<int:acceptance_pk>/revoke/", checklist.revoke_risk,
         name="revoke-risk"),
    path("findings/<int:pk>/", findings.finding_detail, name="finding"),
    path("clusters/<int:pk>/vulnerabilities/", vulnerabilities.cluster_vulnerabilities,
         name="cluster-vulnerabilities"),
    path("clusters/<int:pk>/vulnerabilities.csv", vulnerabilities.cluster_vulnerabilities_csv,
         name="cluster-vulnerabilities-csv"),
    path("vocabulary.css", vocabulary.vocabulary_css, name="vocabulary-css"),
]
