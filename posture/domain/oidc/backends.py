"""Authentication backends: the provider's sign-in, and local passwords.

``OidcBackend`` is mozilla-django-oidc's backend with the provider's endpoints from discovery,
every check of the ID token the library leaves out (it verifies the signature and the nonce
only), accounts matched by issuer and subject, and roles recomputed at each sign-in.
``LocalPasswordBackend`` is Django's, limited by ``POSTURE_LOCAL_LOGIN``.
"""

from __future__ import annotations

import hashlib
from typing import Any

import jwt
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.core.exceptions import SuspiciousOperation
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone
from jwt.types import Options
from mozilla_django_oidc.auth import OIDCAuthenticationBackend

from posture.domain.oidc import discovery, roles
from posture.domain.oidc.models import Identity
from posture.domain.oidc.provider import LocalLogin, OidcSettings

# Clocks differ a little between the provider and Posture.
LEEWAY_SECONDS = 60
USERNAME_MAX = 150


class SignInRefused(Exception):  # noqa: N818  (a refusal, not a bug)
    """A sign-in Posture will not accept; ``reason`` is a stable word for the audit log.

    Not a SuspiciousOperation: the library turns those into a silent ``None``, and the reason
    would be lost on the way to the callback view, which shows and audits it.
    """

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail


def library_settings(oidc: OidcSettings, meta: discovery.Metadata) -> dict[str, Any]:
    """The ``OIDC_*`` settings mozilla-django-oidc reads, for this provider."""
    return {
        "OIDC_RP_CLIENT_ID": oidc.client_id,
        "OIDC_RP_CLIENT_SECRET": oidc.client_secret,
        "OIDC_RP_SCOPES": oidc.scopes,
        "OIDC_OP_AUTHORIZATION_ENDPOINT": meta.authorization_endpoint,
        "OIDC_OP_TOKEN_ENDPOINT": meta.token_endpoint,
        "OIDC_OP_USER_ENDPOINT": meta.userinfo_endpoint,
        "OIDC_OP_JWKS_ENDPOINT": meta.jwks_uri,
        "OIDC_USE_NONCE": True,
        "OIDC_USE_PKCE": True,
        "OIDC_PKCE_CODE_CHALLENGE_METHOD": "S256",
        "OIDC_TOKEN_USE_BASIC_AUTH": meta.client_secret_basic,
        "OIDC_STORE_ID_TOKEN": True,  # the id_token_hint of logout at the provider
        "OIDC_VERIFY_SSL": True,
        "OIDC_TIMEOUT": discovery.TIMEOUT_SECONDS,
        "OIDC_AUTHENTICATION_CALLBACK_URL": "oidc:callback",
        "OIDC_CREATE_USER": True,
        "LOGIN_REDIRECT_URL": settings.LOGIN_REDIRECT_URL,
    }


class LibrarySettings:
    """Answer the library's ``get_settings`` from the provider instead of Django settings."""

    oidc_settings: dict[str, Any]

    def get_settings(self, attr: str, *default: Any) -> Any:
        if attr in self.oidc_settings:
            return self.oidc_settings[attr]
        if default:
            return getattr(settings, attr, default[0])
        return getattr(settings, attr)


class OidcBackend(LibrarySettings, OIDCAuthenticationBackend):
    """Sign in with the configured OpenID provider (authorization code + PKCE)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        # The library reads its settings here; they depend on the provider's discovery
        # document, so they are read when a sign-in happens (and never when it is off).
        self.UserModel = get_user_model()
        self.oidc_settings = {}

    def authenticate(self, request: HttpRequest | None, **kwargs: Any) -> Any:
        oidc: OidcSettings | None = settings.POSTURE_OIDC
        # Only the callback view passes a nonce and a code verifier: a password form, even one
        # posted with ?code=…&state=…, never reaches the provider.
        if oidc is None or request is None or not {"nonce", "code_verifier"} <= set(kwargs):
            return None
        if "username" in kwargs or "password" in kwargs:
            return None
        self.configure(oidc)
        return super().authenticate(request, **kwargs)

    def configure(self, oidc: OidcSettings) -> None:
        """Aim the backend at ``oidc``'s provider (its discovery document, maybe cached)."""
        self.oidc = oidc
        self.oidc_settings = library_settings(oidc, discovery.metadata(oidc))
        for name in ("OIDC_OP_TOKEN_ENDPOINT", "OIDC_OP_USER_ENDPOINT", "OIDC_OP_JWKS_ENDPOINT",
                     "OIDC_RP_CLIENT_ID", "OIDC_RP_CLIENT_SECRET"):
            setattr(self, name, self.oidc_settings[name])

    def verify_token(self, token: str, **kwargs: Any) -> dict[str, Any]:
        """Check an ID token as OpenID Connect Core 3.1.3.7 says, or refuse the sign-in."""
        is_id_token = "nonce" in kwargs
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise SignInRefused("malformed-token") from None
        if header.get("alg") not in self.oidc.signing_algorithms:
            raise SignInRefused("algorithm", str(header.get("alg"))[:20])
        try:
            key = self.retrieve_matching_jwk(token)
        except (SuspiciousOperation, KeyError):
            raise SignInRefused("signature", "no key of the provider matches") from None
        required = ["iss", "sub", "aud", "exp", "iat"] if is_id_token else ["iss", "sub", "aud"]
        options: Options = {"require": required}
        try:
            payload: dict[str, Any] = jwt.decode(
                token, key, algorithms=list(self.oidc.signing_algorithms),
                audience=self.oidc.client_id, issuer=self.oidc.issuer,
                leeway=LEEWAY_SECONDS, options=options)
        except jwt.InvalidSignatureError:
            raise SignInRefused("signature") from None
        except jwt.ExpiredSignatureError:
            raise SignInRefused("expired") from None
        except jwt.ImmatureSignatureError:
            raise SignInRefused("not-yet-valid") from None
        except jwt.InvalidAudienceError:
            raise SignInRefused("audience") from None
        except jwt.InvalidIssuerError:
            raise SignInRefused("issuer") from None
        except jwt.MissingRequiredClaimError as exc:
            raise SignInRefused("claims", f"no {exc.claim}") from None
        except jwt.PyJWTError:
            raise SignInRefused("malformed-token") from None
        audiences = payload["aud"] if isinstance(payload["aud"], list) else [payload["aud"]]
        # With other audiences beside us, the token must have been issued to us (azp).
        if (len(audiences) > 1 or "azp" in payload) and payload.get("azp") != self.oidc.client_id:
            raise SignInRefused("audience", "authorized party is another client")
        if is_id_token and payload.get("nonce") != kwargs["nonce"]:
            raise SignInRefused("nonce")
        if not isinstance(payload.get("sub"), str) or not payload["sub"]:
            raise SignInRefused("claims", "no subject")
        return payload

    def get_or_create_user(self, access_token: str, id_token: str,
                           payload: dict[str, Any]) -> Any:
        claims = dict(payload)
        if self.OIDC_OP_USER_ENDPOINT and access_token:
            info = self.get_userinfo(access_token, id_token, payload)
            # OpenID Connect Core 5.3.2: a userinfo answer about someone else is ignored.
            if not isinstance(info, dict) or info.get("sub") != payload["sub"]:
                raise SignInRefused("userinfo-subject")
            claims.update(info)
        return self.sign_in(claims)

    @transaction.atomic
    def sign_in(self, claims: dict[str, Any]) -> Any:
        """Find or make the user of (issuer, subject), refresh them, recompute their roles."""
        subject = str(claims["sub"])[:255]
        identity = (Identity.objects.select_for_update().select_related("user")
                    .filter(issuer=self.oidc.issuer, subject=subject).first())
        given = claims.get("email")
        email = given[:254] if isinstance(given, str) else ""
        if identity is None:
            user = self.UserModel.objects.create_user(
                self.free_username(claims, subject), email=email)
            identity = Identity.objects.create(user=user, issuer=self.oidc.issuer,
                                               subject=subject)
        else:
            user = identity.user
            if email and user.email != email:
                user.email = email
                user.save(update_fields=["email"])
        if not user.is_active:
            raise SignInRefused("inactive")
        groups = roles.posture_groups(claims, self.oidc)
        roles.apply(user, groups, request=self.request)
        identity.last_login_at = timezone.now()
        identity.groups = sorted(groups)
        identity.save(update_fields=["last_login_at", "groups"])
        return user

    def free_username(self, claims: dict[str, Any], subject: str) -> str:
        """The provider's user name for a new user, made distinct if a local user has it."""
        wanted = claims.get(self.oidc.username_claim) or claims.get("email") or subject
        name = str(wanted).strip()[:USERNAME_MAX] or subject[:USERNAME_MAX]
        if not self.UserModel.objects.filter(username=name).exists():
            return name
        tag = hashlib.sha256(f"{self.oidc.issuer} {subject}".encode()).hexdigest()[:8]
        return f"{name[:USERNAME_MAX - 9]}~{tag}"

    def get_user(self, user_id: Any) -> Any:
        user = super().get_user(user_id)
        # As Django's ModelBackend: a deactivated user's sessions end.
        return user if user is not None and user.is_active else None


class LocalPasswordBackend(ModelBackend):
    """Django's password login, for whom ``POSTURE_LOCAL_LOGIN`` allows.

    Its sessions follow the same rule: switching local login off ends local users' sessions.
    """

    def user_can_authenticate(self, user: Any) -> bool:
        mode = settings.POSTURE_LOCAL_LOGIN
        if mode == LocalLogin.OFF:
            return False
        if mode == LocalLogin.SUPERUSERS and not getattr(user, "is_superuser", False):
            return False
        return super().user_can_authenticate(user)
