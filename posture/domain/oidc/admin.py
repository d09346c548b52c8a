"""Identities are made by signing in; the admin only shows them."""

from __future__ import annotations

from django.contrib import admin

from posture.domain.admin import ReadOnly
from posture.domain.oidc.models import Identity


@admin.register(Identity)
class IdentityAdmin(ReadOnly):
    list_display = ("user", "subject", "issuer", "last_login_at")
    search_fields = ("user__username", "subject")
