"""Static checks of the values an administrator enters: Authority, Client ID and Key.

These run before anything is sent to the identity provider. They trim what a paste adds, refuse
what cannot work, and describe each problem without repeating a secret.
"""

from __future__ import annotations

import ipaddress
import re
import unicodedata
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from hatchway.config import is_loopback_host
from hatchway.errors import ValidationResult

MAX_KEY_LENGTH = 512
MAX_CLIENT_ID_LENGTH = 256
MAX_AUTHORITY_LENGTH = 2048
# One label of a host name; underscores are tolerated because some internal names carry them.
_HOST_LABEL = re.compile(r"(?!-)[A-Za-z0-9_-]{1,63}(?<!-)")

_TYPOGRAPHIC_QUOTES = frozenset("\u2018\u2019\u201a\u201b\u201c\u201d\u201e\u201f\u2032\u2033")
_ZERO_WIDTH = frozenset("\u200b\u200c\u200d\u2060\ufeff")
_NON_BREAKING_SPACES = frozenset("\u00a0\u2007\u202f")


@dataclass
class CheckedValue:
    """A value after trimming, with the problems and notices found on the way."""

    value: str
    errors: list[ValidationResult] = field(default_factory=list)
    notices: list[ValidationResult] = field(default_factory=list)


def describe_character(character: str) -> str:
    """Name a character's code point, Unicode name and the kind of paste mistake it suggests."""
    code_point = f"U+{ord(character):04X}"
    # Control characters have no Unicode name, so only their code point is shown.
    name = unicodedata.name(character, "")
    category = unicodedata.category(character)
    if character in _TYPOGRAPHIC_QUOTES:
        kind = "a typographic quote that word processors and e-mail programs add"
    elif character in _ZERO_WIDTH:
        kind = "an invisible zero-width character that web pages and chat programs add"
    elif character in _NON_BREAKING_SPACES:
        kind = "a non-breaking space that web pages and word processors add"
    elif category == "Cf":
        kind = "an invisible formatting character"
    elif category.startswith("C"):
        kind = "a control character"
    elif category.startswith("Z"):
        kind = "a space other than the ASCII space"
    else:
        kind = "a character outside printable ASCII"
    return f"{code_point} ({name}), {kind}" if name else f"{code_point}, {kind}"


def _trim(member: str, raw: str, checked: CheckedValue, *, secret: bool) -> None:
    trimmed = raw.strip()
    if trimmed == raw:
        return
    removed = raw[: len(raw) - len(raw.lstrip())] + raw[len(raw.rstrip()) :]
    breaks = any(character in "\r\n" for character in removed)
    other = any(character not in "\r\n" for character in removed)
    if breaks and other:
        removed_kind = "line breaks and spaces"
    elif breaks:
        removed_kind = "line breaks"
    else:
        removed_kind = "whitespace"
    used = "" if secret else f"; the value used is {trimmed!r}"
    checked.notices.append(
        ValidationResult(
            (member,), f"{member} started or ended with {removed_kind}, now trimmed{used}."
        )
    )
    checked.value = trimmed


def check_key(raw: str) -> CheckedValue:
    """Check a client secret: trimmed, not empty, printable ASCII only, at most 512 characters."""
    checked = CheckedValue(raw)
    _trim("Key", raw, checked, secret=True)
    key = checked.value
    if not key:
        checked.errors.append(
            ValidationResult(
                ("Key",),
                "Key is empty; paste the client secret's value (in Entra ID, from the app "
                "registration's 'Certificates & secrets' page).",
            )
        )
        return checked
    if len(key) > MAX_KEY_LENGTH:
        checked.errors.append(
            ValidationResult(
                ("Key",),
                f"Key has {len(key)} characters; a client secret has at most {MAX_KEY_LENGTH}. "
                "Check that only the secret's Value was pasted.",
            )
        )
    for position, character in enumerate(key, start=1):
        if " " <= character <= "~":
            continue
        checked.errors.append(
            ValidationResult(
                ("Key",),
                f"Key contains at position {position} of {len(key)} the character "
                f"{describe_character(character)}. Client secrets are plain ASCII: copy the "
                "Value again with the portal's copy button and paste it as plain text.",
            )
        )
        break
    if not checked.errors and _is_placeholder(key):
        checked.errors.append(
            ValidationResult(
                ("Key",),
                "Key is enclosed in angle brackets, like the placeholder of an example; paste the "
                "client secret's Value itself, without the brackets.",
            )
        )
    return checked


def _is_placeholder(value: str) -> bool:
    """Tell whether a value is an example's placeholder, such as '<client secret value>'."""
    return len(value) > 2 and value.startswith("<") and value.endswith(">")


def check_client_id(raw: str) -> CheckedValue:
    checked = CheckedValue(raw)
    _trim("ClientId", raw, checked, secret=False)
    client_id = checked.value
    if not client_id:
        checked.errors.append(
            ValidationResult(
                ("ClientId",),
                "ClientId is empty; use the client ID that the provider registered (in Entra ID, "
                "the Application (client) ID on the app registration's overview page).",
            )
        )
        return checked
    if len(client_id) > MAX_CLIENT_ID_LENGTH:
        checked.errors.append(
            ValidationResult(
                ("ClientId",),
                f"ClientId has {len(client_id)} characters; use at most {MAX_CLIENT_ID_LENGTH}.",
            )
        )
    for position, character in enumerate(client_id, start=1):
        if not (" " <= character <= "~"):
            checked.errors.append(
                ValidationResult(
                    ("ClientId",),
                    f"ClientId contains at position {position} the character "
                    f"{describe_character(character)}; copy the Application (client) ID again "
                    "and paste it as plain text.",
                )
            )
            break
    if not checked.errors and _is_placeholder(client_id):
        checked.errors.append(
            ValidationResult(
                ("ClientId",),
                f"ClientId {client_id!r} is the placeholder of an example; use the client ID that "
                "the provider registered (in Entra ID, the Application (client) ID on the app "
                "registration's overview page).",
            )
        )
    return checked


def _is_host(host: str) -> bool:
    """Tell whether a URL's host is an IP address without zone or a syntactically valid DNS name."""
    if "%" in host:
        return False
    try:
        ipaddress.ip_address(host)
        return True
    except ValueError:
        pass
    labels = host.removesuffix(".").split(".")
    return len(host) <= 253 and all(_HOST_LABEL.fullmatch(label) for label in labels)


_HOST_WITHOUT_SCHEME = re.compile(r"^[A-Za-z0-9.-]+(:[0-9]+)?(/|$)")


def _with_scheme(authority: str, allow_loopback_http: bool) -> str | None:
    """Return the Authority with the scheme it lacks, quoted, when it starts with a host name."""
    if not _HOST_WITHOUT_SCHEME.match(authority):
        return None
    host = urlsplit(f"//{authority}").hostname or ""
    scheme = "http" if allow_loopback_http and is_loopback_host(host) else "https"
    return f"'{scheme}://{authority}'"


def check_authority(raw: str, *, allow_loopback_http: bool) -> CheckedValue:
    """Check that the Authority is an absolute https URL (http only on loopback when allowed)."""
    checked = CheckedValue(raw)
    _trim("Authority", raw, checked, secret=False)
    authority = checked.value
    example = "such as 'https://login.microsoftonline.com/contoso.onmicrosoft.com/v2.0'"
    if not authority:
        checked.errors.append(
            ValidationResult(
                ("Authority",), f"Authority is empty; send the provider's URL, {example}."
            )
        )
        return checked
    if len(authority) > MAX_AUTHORITY_LENGTH:
        checked.errors.append(
            ValidationResult(
                ("Authority",),
                f"Authority has {len(authority)} characters; use at most {MAX_AUTHORITY_LENGTH}.",
            )
        )
        return checked
    if any(not (" " < character <= "~") for character in authority):
        checked.errors.append(
            ValidationResult(
                ("Authority",),
                f"Authority {authority!r} contains spaces or characters outside printable ASCII; "
                f"send a plain URL, {example}.",
            )
        )
        return checked

    try:
        parts = urlsplit(authority)
        port = parts.port
    except ValueError:
        parts, port = None, None
    if parts is None or parts.scheme.lower() not in ("https", "http") or not parts.hostname:
        checked.errors.append(
            ValidationResult(
                ("Authority",),
                f"Authority {authority!r} is not an absolute https URL; send "
                f"{_with_scheme(authority, allow_loopback_http) or f'one {example}'}.",
            )
        )
        return checked
    if port == 0 or not _is_host(parts.hostname):
        checked.errors.append(
            ValidationResult(
                ("Authority",),
                f"Authority {authority!r} has no valid host name or port; send a URL {example}.",
            )
        )
        return checked
    if parts.username or parts.password:
        checked.errors.append(
            ValidationResult(
                ("Authority",),
                f"Authority {authority!r} contains a user name or password; remove it.",
            )
        )
    if parts.query or parts.fragment:
        checked.errors.append(
            ValidationResult(
                ("Authority",),
                f"Authority {authority!r} has a query or fragment ('?' or '#'); remove it.",
            )
        )
    if parts.scheme.lower() == "http":
        if not is_loopback_host(parts.hostname):
            checked.errors.append(
                ValidationResult(
                    ("Authority",),
                    f"Authority {authority!r} uses http; identity providers must be reached "
                    "over https, so use the https URL.",
                )
            )
        elif not allow_loopback_http:
            checked.errors.append(
                ValidationResult(
                    ("Authority",),
                    f"Authority {authority!r} uses http on a loopback address, which is allowed "
                    "only when the server runs with HATCHWAY_INSECURE_LOOPBACK_IDP=true (for "
                    "local testing); use an https URL.",
                )
            )
    return checked
