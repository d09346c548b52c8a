"""Official clients built from the kubeconfigs emulators write."""

from __future__ import annotations

import urllib3
import yaml
from kubernetes import client, config

from emulator import Emulator


def api_client(emulator: Emulator, *, retries: bool = True,
               kubeconfig: str | None = None) -> client.ApiClient:
    """Return an ApiClient loaded from the emulator's kubeconfig, as a user would load it.

    ``retries=False`` turns off urllib3's retries so a fault shows up as it happened.
    """
    api = config.new_client_from_config_dict(yaml.safe_load(kubeconfig or emulator.kubeconfig()))
    if not retries:
        api.rest_client.pool_manager.connection_pool_kw["retries"] = False
    return api


def raw_request(emulator: Emulator, method: str, path: str, *, token: str | None = None,
                body: bytes | None = None, **kwargs: object) -> urllib3.BaseHTTPResponse:
    """Send one request with urllib3, verifying TLS against the emulator's CA."""
    http = urllib3.PoolManager(ca_cert_data=emulator.ca_pem, retries=False)
    headers = {"Authorization": f"Bearer {token if token is not None else emulator.token}"}
    return http.request(method, emulator.url + path, headers=headers, body=body,
                        redirect=False, **kwargs)
