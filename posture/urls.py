from django.contrib import admin
from django.urls import include, path

from posture.oidc.views import SignOutView
from posture.views.accounts import PostureLoginView
from posture.views.audit import audit_log, audit_log_csv
from posture.views.exports import cluster_findings_csv, fleet_findings_csv
from posture.views.metrics import metrics
from posture.views.policy import policy_view

urlpatterns = [
    path("", include("posture.views.dashboard_urls")),
    path("login/", PostureLoginView.as_view(), name="login"),
    path("logout/", SignOutView.as_view(), name="logout"),
    path("oidc/", include("posture.oidc.urls")),
    path("clusters/", include("clusters.urls")),
    path("policy/", policy_view, name="policy"),
    path("digest/", include("posture.views.digest_urls")),
    path("api/v1/", include("posture.api.urls")),
    path("findings.csv", fleet_findings_csv, name="findings-csv"),
    path("metrics", metrics, name="metrics"),
    path("audit/", audit_log, name="audit"),
    path("audit.csv", audit_log_csv, name="audit-csv"),
    path("clusters/<int:pk>/findings.csv", cluster_findings_csv, name="cluster-findings-csv"),
    path("admin/", admin.site.urls),
]
