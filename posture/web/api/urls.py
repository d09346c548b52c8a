from django.urls import path

from posture.web.api import findings, frameworks, views

app_name = "api"

urlpatterns = [
    path("openapi.json", views.openapi, name="openapi"),
    path("clusters/", views.clusters, name="clusters"),
    path("clusters/<int:pk>/", views.cluster, name="cluster"),
    path("clusters/<int:pk>/scorecard/", views.scorecard, name="scorecard"),
    path("clusters/<int:pk>/snapshots/", views.snapshots, name="snapshots"),
    path("clusters/<int:pk>/findings/", views.findings, name="findings"),
    path("findings/", findings.fleet_findings, name="fleet-findings"),
    path("clusters/<int:pk>/frameworks/<str:framework_id>/", frameworks.cluster_framework,
         name="cluster-framework"),
    path("frameworks/<str:framework_id>/", frameworks.fleet_framework, name="framework"),
    path("clusters/<int:pk>/vulnerabilities/", views.vulnerabilities, name="vulnerabilities"),
]
