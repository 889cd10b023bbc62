"""HatchwayClient: one method per Provisioning API call."""

from __future__ import annotations

from collections.abc import Iterator
from types import TracebackType

import httpx

from hatchway.client._connection import (
    DEFAULT_TIMEOUT_SECONDS,
    Connection,
    environment_path,
    parse_each,
    request_body,
)
from hatchway.client._environments import EnvironmentCalls
from hatchway.client._models import (
    AuditPage,
    AuditRecord,
    Delivery,
    EmergencyAccessGrant,
    EmergencyRequest,
    RecordId,
)
from hatchway.client._sso import SsoCalls


class HatchwayClient(EnvironmentCalls, SsoCalls):
    """A client of one Hatchway instance's Provisioning API.

    `base_url` is the instance URL ('https://portal.example.com'); '/Provisioning' is added
    unless it is already there. `transport` replaces httpx's network transport (for example an
    `httpx.MockTransport` in tests). Each method raises `HatchwayApiError` when Hatchway answers
    with an error status and `HatchwayUnreachable` when it does not answer. The client follows
    no redirects, because a redirect would carry the ProvisioningKey header to another address.

    Use it as a context manager, or call `close()`, to release its connections.
    """

    def __init__(
        self,
        base_url: str,
        provisioning_key: str,
        *,
        transport: httpx.BaseTransport | None = None,
        timeout: float = DEFAULT_TIMEOUT_SECONDS,
    ) -> None:
        self._connection = Connection(base_url, provisioning_key, transport, timeout)
        self.base_url = self._connection.base_url

    def __repr__(self) -> str:
        return f"HatchwayClient(base_url={self.base_url!r})"

    def __enter__(self) -> HatchwayClient:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        self._connection.close()

    # Emergency access

    def request_emergency_access(
        self, environment: str, email_address: str, *, delivery: Delivery | str = Delivery.EMAIL
    ) -> EmergencyAccessGrant:
        """Issue a one-time sign-in link for an administrator.

        `Delivery.EMAIL` mails the link; `Delivery.RESPONSE` returns it in `url`.
        """
        body = request_body(EmailAddress=email_address, Delivery=str(Delivery(delivery)))
        response = self._connection.request(
            "POST", f"{environment_path(environment)}/EmergencyAccess", json=body
        )
        return self._connection.parse(response, EmergencyAccessGrant.from_json)

    def list_emergency_requests(self, environment: str) -> list[EmergencyRequest]:
        """List recent emergency access requests with their delivery status, newest first."""
        response = self._connection.request(
            "GET", f"{environment_path(environment)}/EmergencyAccess"
        )
        return self._connection.parse(
            response, lambda data: parse_each(data, EmergencyRequest.from_json)
        )

    # Audit log

    def audit_log(
        self,
        environment: str,
        *,
        limit: int = 50,
        before: RecordId | None = None,
        action: str | None = None,
        actor: str | None = None,
    ) -> AuditPage:
        """Return one page of audit records, newest first, older than `before` when given."""
        params = {
            name: str(value)
            for name, value in (
                ("limit", limit),
                ("before", before),
                ("action", action),
                ("actor", actor),
            )
            if value is not None
        }
        response = self._connection.request(
            "GET", f"{environment_path(environment)}/AuditLog", params=params
        )
        return self._connection.parse(response, AuditPage.from_json)

    def iter_audit_records(
        self,
        environment: str,
        *,
        page_size: int = 50,
        before: RecordId | None = None,
        action: str | None = None,
        actor: str | None = None,
    ) -> Iterator[AuditRecord]:
        """Yield every audit record older than `before` (all when None), newest first.

        Requests one page of `page_size` records at a time, as the caller iterates.
        """
        while True:
            page = self.audit_log(
                environment, limit=page_size, before=before, action=action, actor=actor
            )
            yield from page.records
            if page.next_before is None or not page.records:
                return
            before = page.next_before
