"""The site's pages and API: the overview (home), fleet findings, a finding, the policy, the
audit log, accounts, metrics; ``/clusters/`` (``cluster_urls``), ``/digest/`` and ``/api/v1/``."""

from django.urls import include, path

from posture.web.views import alerts as alert_views
from posture.web.views import (
    findings,
    fleet_findings,
    frameworks,
    overview,
    report,
    tickets,
    vocabulary,
)
from posture.web.views.accounts import PostureLoginView
from posture.web.views.audit import audit_log, audit_log_csv
from posture.web.views.exports import fleet_findings_csv
from posture.web.views.metrics import metrics
from posture.web.views.policy import policy_view
from posture.web.views.sign_in import SignOutView

urlpatterns = [
    path("", overview.home, name="home"),
    path("login/", PostureLoginView.as_view(), name="login"),
    path("logout/", SignOutView.as_view(), name="logout"),
    path("oidc/", include("posture.web.oidc_urls")),
    path("clusters/", include("posture.web.cluster_urls")),
    path("findings/<int:pk>/", findings.finding_detail, name="finding"),
    # Every check across the fleet; /findings/<pk>/ above is one finding of one cluster.
    path("fleet/findings/", fleet_findings.fleet_findings_page, name="fleet-findings"),
    path("fleet/findings.csv", fleet_findings.fleet_findings_csv, name="fleet-findings-csv"),
    path("fleet/findings/<str:check_id>/", fleet_findings.fleet_check_page, name="fleet-check"),
    path("fleet/findings/<str:check_id>/findings.csv", fleet_findings.fleet_check_csv,
         name="fleet-check-csv"),
    path("findings.csv", fleet_findings_csv, name="findings-csv"),
    path("frameworks/", frameworks.fleet_frameworks, name="frameworks"),
    path("frameworks/<str:framework_id>/", frameworks.fleet_framework, name="framework"),
    path("frameworks/<str:framework_id>/controls.csv", frameworks.fleet_framework_csv,
         name="framework-csv"),
    path("frameworks/<str:framework_id>/<str:control_id>/", frameworks.fleet_control,
         name="framework-control"),
    path("report/", report.fleet_report, name="fleet-report"),
    path("fixes.csv", tickets.open_fixes_csv, name="fixes-csv"),
    path("fixes.json", tickets.open_fixes_json, name="fixes-json"),
    path("policy/", policy_view, name="policy"),
    path("digest/", include("posture.web.digest_urls")),
    path("alerts/", alert_views.rules_page, name="alert-rules"),
    path("alerts/<int:pk>/", alert_views.rule_edit, name="alert-rule-edit"),
    path("alerts/outbox/", alert_views.outbox, name="alert-outbox"),
    path("api/v1/", include("posture.web.api.urls")),
    path("metrics", metrics, name="metrics"),
    path("audit/", audit_log, name="audit"),
    path("audit.csv", audit_log_csv, name="audit-csv"),
    path("vocabulary.css", vocabulary.vocabulary_css, name="vocabulary-css"),
]
