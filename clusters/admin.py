from django.contrib import admin

from clusters.models import Cluster


@admin.register(Cluster)
class ClusterAdmin(admin.ModelAdmin):
    list_display = ("name", "server", "poll_interval_minutes", "next_poll_at", "created_at")
    search_fields = ("name", "server")
    filter_horizontal = ("owners",)
    # The sealed kubeconfig is never shown, not even encrypted.
    exclude = ("kubeconfig_sealed", "poll_lease_id", "poll_lease_until")
    readonly_fields = ("server", "context", "created_at", "created_by")
