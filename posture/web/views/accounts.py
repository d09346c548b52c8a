"""Log in, with throttling against password guessing."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django import forms
from django.conf import settings
from django.contrib.auth.forms import AuthenticationForm
from django.contrib.auth.views import LoginView
from django.db.models import Q
from django.utils import timezone

from posture.domain.audit import client_ip
from posture.domain.models import AuditEvent


class ThrottledAuthenticationForm(AuthenticationForm):
    """Refuse to even try a password after too many recent failures for the same user name or
    from the same address; the failures are the audit log's own rows."""

    def clean(self) -> dict[str, Any]:
        username = (self.data.get("username") or "")[:150]
        ip = client_ip(self.request) if self.request is not None else None
        window = timezone.now() - timedelta(seconds=settings.POSTURE_LOGIN_LOCKOUT_SECONDS)
        scope = Q(target=username) if username else Q(pk__in=[])
        if ip:
            scope |= Q(ip=ip)
        failures = AuditEvent.objects.filter(
            scope, action=AuditEvent.Action.LOGIN_FAILED, at__gte=window).count()
        if failures >= settings.POSTURE_LOGIN_MAX_FAILURES:
            minutes = max(1, settings.POSTURE_LOGIN_LOCKOUT_SECONDS // 60)
            raise forms.ValidationError(
                f"Too many failed logins. Wait {minutes} minutes and try again.",
                code="throttled")
        return super().clean()


class PostureLoginView(LoginView):
    authentication_form = ThrottledAuthenticationForm
    redirect_authenticated_user = True
