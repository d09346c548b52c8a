"""Who a person is at the OpenID provider, and which Posture user that is."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class Identity(models.Model):
    """A provider's account (issuer + subject) linked to the Posture user it signs in as.

    Accounts are matched on this pair only, never on a user name or an email address, which a
    provider's users may be able to choose: an account at the provider cannot take over a local
    account, such as a break-glass administrator, by naming itself after it.
    """

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                             related_name="oidc_identities")
    issuer = models.CharField(max_length=500)
    subject = models.CharField(max_length=255, help_text="The provider's `sub` claim.")
    created_at = models.DateTimeField(auto_now_add=True)
    last_login_at = models.DateTimeField(null=True, blank=True)
    groups = models.JSONField(default=list, blank=True,
                              help_text="The Posture groups the last sign-in gave.")

    class Meta:
        verbose_name_plural = "identities"
        constraints = [
            models.UniqueConstraint(fields=["issuer", "subject"], name="oidc_identity_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.subject} at {self.issuer}"
