"""Admin pages for the posture domain: mostly read-only, since the pages and the audit trail
are the way to change things."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from posture.domain.models import (
    ApiToken,
    AuditEvent,
    DigestDelivery,
    DigestPreference,
    OrgPolicy,
    RiskAcceptance,
)


class ReadOnly(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnly):
    list_display = ("at", "actor_name", "action", "cluster", "target", "ip")
    list_filter = ("action",)
    search_fields = ("actor_name", "target")
    date_hierarchy = "at"


@admin.register(RiskAcceptance)
class RiskAcceptanceAdmin(ReadOnly):
    list_display = ("cluster", "check_id", "namespace", "name_pattern", "expires_at",
                    "created_by", "revoked_at")
    list_filter = ("check_id",)


@admin.register(DigestDelivery)
class DigestDeliveryAdmin(admin.ModelAdmin):
    """Deliveries can be re-marked ``failed`` so the next run resends an interrupted one."""

    list_display = ("week", "user", "status", "claimed_at", "sent_at", "error")
    list_filter = ("status", "week")
    readonly_fields = ("user", "week", "claimed_at", "sent_at", "error")


@admin.register(DigestPreference)
class DigestPreferenceAdmin(admin.ModelAdmin):
    list_display = ("user", "enabled")
    filter_horizontal = ("clusters",)


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    """Tokens can be revoked here; the token itself was shown once and is not kept."""

    list_display = ("name", "user", "prefix", "created_at", "last_used_at", "revoked_at")
    readonly_fields = ("user", "name", "prefix", "created_at", "last_used_at")
    exclude = ("digest",)

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(OrgPolicy)
class OrgPolicyAdmin(ReadOnly):
    """Edited on the Policy page, where it is validated and audited."""

    list_display = ("__str__", "updated_at", "updated_by")
