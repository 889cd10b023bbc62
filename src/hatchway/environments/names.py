"""Environment names: sanitized to lower-case ASCII letters and digits."""

from __future__ import annotations

import unicodedata

MAX_NAME_LENGTH = 63

# Names that would shadow a path of the instance itself.
RESERVED_NAMES = frozenset(
    {
        "provisioning",
        "environment",
        "validate",
        "static",
        "healthz",
        "readyz",
        "metrics",
        "admin",
        "api",
    }
)


# Letters that Unicode decomposition does not reduce to ASCII, spelled as their languages do.
_TRANSLITERATIONS = str.maketrans(
    {
        "ß": "ss",
        "ẞ": "ss",
        "æ": "ae",
        "Æ": "ae",
        "œ": "oe",
        "Œ": "oe",
        "ø": "o",
        "Ø": "o",
        "đ": "d",
        "Đ": "d",
        "ł": "l",
        "Ł": "l",
        "þ": "th",
        "Þ": "th",
        "\u0131": "i",  # dotless i
    }
)


def sanitize_environment_name(raw: str) -> str:
    """Reduce a name to lower-case ASCII letters and digits ('Contoso Ltd.' → 'contosoltd')."""
    decomposed = unicodedata.normalize("NFKD", raw.translate(_TRANSLITERATIONS))
    ascii_only = decomposed.encode("ascii", "ignore").decode("ascii").lower()
    return "".join(character for character in ascii_only if character.isalnum())


def environment_name_problem(raw: str, sanitized: str) -> str | None:
    """Return why a requested name cannot be used, or None when its sanitized form can."""
    if not raw.strip():
        return "EnvironmentName is empty; send a name such as 'contoso'."
    if not sanitized:
        return (
            f"EnvironmentName {raw!r} has no letters or digits; names are reduced to lower-case "
            "letters and digits, so use a name such as 'contoso'."
        )
    if len(sanitized) > MAX_NAME_LENGTH:
        return (
            f"EnvironmentName {raw!r} has {len(sanitized)} letters and digits; "
            f"use at most {MAX_NAME_LENGTH}."
        )
    if sanitized in RESERVED_NAMES:
        return f"EnvironmentName {raw!r} is reserved by Hatchway; choose another name."
    return None
