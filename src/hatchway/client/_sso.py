"""Provisioning API calls for an environment's single sign-on settings."""

from __future__ import annotations

from datetime import date

from hatchway.client._calls import Calls
from hatchway.client._connection import (
    environment_path,
    if_match_header,
    parse_each,
    request_body,
    segment,
)
from hatchway.client._models import SsoSettings, SsoSettingsChange, SsoVersion, Verification


class SsoCalls(Calls):
    """Calls for an environment's single sign-on settings and their versions."""

    def get_sso_settings(self, environment: str) -> SsoSettings:
        response = self._connection.request(
            "GET", f"{environment_path(environment)}/SingleSignOnSettings"
        )
        etag = response.headers.get("ETag")
        return self._connection.parse(response, lambda data: SsoSettings.from_json(data, etag))

    def set_oauth2(
        self,
        environment: str,
        *,
        authority: str | None = None,
        client_id: str | None = None,
        key: str | None = None,
        key_expires_on: date | None = None,
        verify: bool = True,
        if_match: str | None = None,
    ) -> SsoSettingsChange:
        """Set Authority, Client ID and Key and switch the environment to OpenID Connect.

        A value left as None keeps the stored one. Hatchway verifies the values against the
        identity provider first and rejects them with 400 when a check fails. With
        `verify=False` it saves them anyway and returns the failed checks as warnings.
        """
        body = request_body(
            Authority=authority, ClientId=client_id, Key=key, KeyExpiresOn=key_expires_on
        )
        response = self._connection.request(
            "PUT",
            f"{environment_path(environment)}/SingleSignOnSettings/OAuth2",
            json=body,
            params=None if verify else {"verify": "false"},
            headers=if_match_header(if_match),
            secrets=(key,),
        )
        etag = response.headers.get("ETag")
        return self._connection.parse(
            response, lambda data: SsoSettingsChange.from_json(data, etag)
        )

    def verify_oauth2(
        self,
        environment: str,
        *,
        authority: str | None = None,
        client_id: str | None = None,
        key: str | None = None,
        key_expires_on: date | None = None,
    ) -> Verification:
        """Run the checks on these values, or on the stored settings when none is given.

        Saves nothing. A failed check is part of the result (`passed` False), not an error.
        """
        body = request_body(
            Authority=authority, ClientId=client_id, Key=key, KeyExpiresOn=key_expires_on
        )
        response = self._connection.request(
            "POST",
            f"{environment_path(environment)}/SingleSignOnSettings/OAuth2/Verify",
            json=body,
            secrets=(key,),
        )
        return self._connection.parse(response, Verification.from_json)

    def disable_oauth2(self, environment: str, *, if_match: str | None = None) -> SsoSettings:
        """Switch back to mode None (local sign-in); the old values stay in the history."""
        response = self._connection.request(
            "DELETE",
            f"{environment_path(environment)}/SingleSignOnSettings/OAuth2",
            headers=if_match_header(if_match),
        )
        etag = response.headers.get("ETag")
        return self._connection.parse(response, lambda data: SsoSettings.from_json(data, etag))

    def sso_history(self, environment: str) -> list[SsoVersion]:
        """List the versions of the SSO settings, newest first."""
        response = self._connection.request(
            "GET", f"{environment_path(environment)}/SingleSignOnSettings/History"
        )
        return self._connection.parse(response, lambda data: parse_each(data, SsoVersion.from_json))

    def restore_sso_version(
        self, environment: str, version: int, *, if_match: str | None = None
    ) -> SsoSettingsChange:
        """Verify an earlier version and make it current again, its Key included.

        The result carries the checks under `verification` (None for a version in mode None)
        and the failed ones as `warnings`. Hatchway rejects the restore with 400 when a check
        fails and no active administrator has a password.
        """
        path = (
            f"{environment_path(environment)}/SingleSignOnSettings/History/"
            f"{segment(version, 'version')}/Restore"
        )
        response = self._connection.request("POST", path, headers=if_match_header(if_match))
        etag = response.headers.get("ETag")
        return self._connection.parse(
            response, lambda data: SsoSettingsChange.from_json(data, etag)
        )
