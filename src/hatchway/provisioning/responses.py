"""Response descriptions shared by every Provisioning API route, for the OpenAPI document."""

from __future__ import annotations

from typing import Any

from hatchway.provisioning.models import ProblemBody, ValidationResultBody

ERRORS: dict[int | str, dict[str, Any]] = {
    400: {
        "model": list[ValidationResultBody],
        "description": "Array of validation results, each naming the field and the fix.",
    },
    403: {
        "model": ProblemBody,
        "description": "The ProvisioningKey header is missing or wrong, or the API is disabled.",
    },
    404: {"model": ProblemBody, "description": "The environment, user or path does not exist."},
    413: {"model": ProblemBody, "description": "The request body is larger than 1 MiB."},
    429: {
        "model": ProblemBody,
        "description": "Too many failed attempts; wait for the seconds in Retry-After.",
    },
}
