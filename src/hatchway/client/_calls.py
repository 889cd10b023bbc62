"""The base of the client's groups of calls: the connection and the validation calls."""

from __future__ import annotations

import httpx

from hatchway.client._connection import Connection
from hatchway.client._errors import HatchwayApiError, ValidationResult
from hatchway.client._reader import Json


class Calls:
    """Holds the connection that every group of Provisioning API calls sends through."""

    _connection: Connection

    def _validate(
        self,
        path: str,
        body: dict[str, Json],
        params: dict[str, str] | None,
        secrets: tuple[str | None, ...],
    ) -> list[ValidationResult]:
        """Send a body to a /Validate path; return its validation results, [] when valid."""
        try:
            self._connection.request("POST", path, json=body, params=params, secrets=secrets)
        except HatchwayApiError as error:
            if error.status == httpx.codes.BAD_REQUEST and error.results:
                return list(error.results)
            raise
        return []
