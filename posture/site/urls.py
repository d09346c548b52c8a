from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from posture.web.views.accounts import PostureLoginView
from posture.web.views.audit import audit_log, audit_log_csv
from posture.web.views.exports import cluster_findings_csv, fleet_findings_csv
from posture.web.views.metrics import metrics
from posture.web.views.policy import policy_view

urlpatterns = [
    path("", include("posture.web.urls")),
    path("login/", PostureLoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("clusters/", include("posture.web.cluster_urls")),
    path("policy/", policy_view, name="policy"),
    path("digest/", include("posture.web.digest_urls")),
    path("api/v1/", include("posture.web.api.urls")),
    path("findings.csv", fleet_findings_csv, name="findings-csv"),
    path("metrics", metrics, name="metrics"),
    path("audit/", audit_log, name="audit"),
    path("audit.csv", audit_log_csv, name="audit-csv"),
    path("clusters/<int:pk>/findings.csv", cluster_findings_csv, name="cluster-findings-csv"),
    path("admin/", admin.site.urls),
]
