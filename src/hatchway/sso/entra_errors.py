"""Entra ID error bodies turned into advice an administrator can act on.

Entra ID explains a refusal in a JSON body such as
``{"error": "invalid_client", "error_description": "AADSTS7000215: Invalid client secret
provided. ...", "error_codes": [7000215], ...}``. The AADSTS code identifies the wrong setting.
The description ends with trace and correlation ids, which Hatchway leaves out.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from hatchway.security.redaction import REDACTED

_AADSTS_CODE = re.compile(r"AADSTS(\d+)")
MAX_DESCRIPTION_LENGTH = 300


@dataclass(frozen=True)
class EntraAdvice:
    """The meaning of an AADSTS code: the settings to correct (`members`) and a sentence on how.

    `check` names the verification check the code belongs to. `known` is False for codes
    without specific advice.
    """

    code: int
    check: str
    members: tuple[str, ...]
    message: str
    known: bool


def error_codes(document: Mapping[str, Any]) -> list[int]:
    """Return the AADSTS codes of an Entra ID error body, from `error_codes` or the description."""
    codes = document.get("error_codes")
    if isinstance(codes, list):
        found = [code for code in codes if isinstance(code, int) and not isinstance(code, bool)]
        if found:
            return found
    description = document.get("error_description")
    if isinstance(description, str):
        return [int(code) for code in _AADSTS_CODE.findall(description)]
    return []


def provider_description(document: Mapping[str, Any], secret: str | None) -> str:
    """Return the first line of a provider's error description, without the secret or trace ids."""
    raw = document.get("error_description")
    if not isinstance(raw, str):
        return ""
    text = raw.replace("\r", "\n").split("\n", 1)[0]
    text = text.split(" Trace ID:", 1)[0].strip()
    if secret:
        text = text.replace(secret, REDACTED)
    if len(text) > MAX_DESCRIPTION_LENGTH:
        text = text[: MAX_DESCRIPTION_LENGTH - 3] + "..."
    return text


def advice_for(code: int, description: str, *, redirect_uri: str) -> EntraAdvice:
    """Return the advice for one AADSTS code; unknown codes get a sentence naming the code."""
    known: dict[int, tuple[str, tuple[str, ...], str]] = {
        7000215: (
            "ClientCredentials",
            ("Key",),
            "the Key looks wrong; paste the secret's Value, not its Secret ID.",
        ),
        7000222: (
            "ClientCredentials",
            ("Key",),
            "the secret has expired; create a new one in the app registration's "
            "'Certificates & secrets' page and send its Value as the Key.",
        ),
        700016: (
            "ClientCredentials",
            ("ClientId",),
            "no application with this Client ID in this tenant; check that ClientId is the "
            "Application (client) ID and that the Authority names the tenant where the app is "
            "registered.",
        ),
        90002: (
            "Discovery",
            ("Authority",),
            "tenant not found; check the tenant in the Authority, which must be the Directory "
            "(tenant) ID or a verified domain of the organization.",
        ),
        50011: (
            "RedirectUri",
            ("RedirectUri",),
            f"register this exact redirect URI in the app registration (Authentication, "
            f"platform 'Web'): {redirect_uri!r}.",
        ),
    }
    if code in known:
        check, members, advice = known[code]
        return EntraAdvice(code, check, members, f"Entra ID answered AADSTS{code}: {advice}", True)
    detail = f" ({description})" if description else ""
    return EntraAdvice(
        code,
        "ClientCredentials",
        ("Authority", "ClientId", "Key"),
        f"Entra ID answered AADSTS{code}{detail}; look the code up in Microsoft's list of "
        "Entra ID error codes to see which setting it names.",
        False,
    )


def find_advice(
    document: Mapping[str, Any], *, secret: str | None, redirect_uri: str
) -> EntraAdvice | None:
    """Return advice for the first AADSTS code of an error body, preferring a known code."""
    description = provider_description(document, secret)
    advices = [
        advice_for(code, description, redirect_uri=redirect_uri) for code in error_codes(document)
    ]
    if not advices:
        return None
    return next((advice for advice in advices if advice.known), advices[0])
