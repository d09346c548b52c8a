"""Single sign-on with an OpenID Connect provider (Okta, Entra ID, Keycloak, …).

Authorization code flow with state, nonce and PKCE, through mozilla-django-oidc, with what the
library leaves to its users done here: the provider's endpoints from its discovery document,
every check of the ID token (signature, issuer, audience, authorized party, expiry, nonce),
accounts matched by issuer and subject only, roles recomputed from the provider's groups at
each sign-in and audited, and logout at the provider.

- ``config``: the ``POSTURE_OIDC_*`` settings and ``POSTURE_LOCAL_LOGIN`` (no Django import)
- ``discovery``: the provider's metadata, fetched and checked, cached a while
- ``backends``: the sign-in backend, and local passwords limited by ``POSTURE_LOCAL_LOGIN``
- ``roles``: groups claim → security team, auditors, teams; one audit row when they change
- ``views``: start, callback (refusals shown and audited), logout at the provider
"""
