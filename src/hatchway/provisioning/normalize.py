"""Request normalization for the Provisioning API, so that existing scripts work unchanged.

Workspace 365 runs on ASP.NET, whose routes ignore case and trailing slashes and whose JSON
binding does not insist on a Content-Type. This middleware gives Hatchway the same tolerance,
without redirects (Power Automate does not follow them on PUT):

- the prefix and the fixed path segments match in any case (`/provisioning/environment/`);
- a trailing slash is removed before routing;
- a body that starts with `{` or `[` is read as JSON whatever its Content-Type says;
- bodies larger than 1 MiB are refused with 413.
"""

from __future__ import annotations

import json

from starlette.types import ASGIApp, Message, Receive, Scope, Send

PREFIX = "/Provisioning"
_NO_LINE_BREAKS = (
    "No Provisioning API call has a path with a line break; remove it, and see "
    "/Provisioning/openapi.json for the calls there are."
)
MAX_BODY_BYTES = 1024 * 1024

_SEGMENTS = {
    word.lower(): word
    for word in (
        "Environment",
        "Validate",
        "Activate",
        "Deactivate",
        "User",
        "SingleSignOnSettings",
        "OAuth2",
        "Verify",
        "History",
        "Restore",
        "EmergencyAccess",
        "AuditLog",
        "openapi.json",
    )
}


def canonical_path(path: str) -> str | None:
    """Return the canonical form of a Provisioning API path, or None for any other path."""
    lowered = path.lower()
    if lowered != PREFIX.lower() and not lowered.startswith(PREFIX.lower() + "/"):
        return None
    rest = path[len(PREFIX) :].strip("/")
    if not rest:
        # The mount matches only paths below the prefix; the bare prefix would otherwise reach
        # the page routes, which redirect.
        return PREFIX + "/"
    segments = [_SEGMENTS.get(segment.lower(), segment) for segment in rest.split("/") if segment]
    return PREFIX + "/" + "/".join(segments)


def _content_type(scope: Scope) -> str:
    for name, value in scope.get("headers", []):
        if name == b"content-type":
            return str(value.decode("latin-1")).lower()
    return ""


class ProvisioningRequestMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = canonical_path(scope["path"])
        if path is None:
            await self.app(scope, receive, send)
            return

        if "\n" in path:
            # No route can match a line break, and the mount's pattern does not even see it.
            await _send_problem(send, 404, "PathNotFound", _NO_LINE_BREAKS)
            return

        scope = dict(scope)
        scope["path"] = path
        scope["raw_path"] = path.encode("utf-8")
        body = await _read_body(receive)
        if body is None:
            await _send_too_large(send)
            return
        if body and "json" not in _content_type(scope) and body.lstrip()[:1] in (b"{", b"["):
            headers = [(k, v) for k, v in scope["headers"] if k != b"content-type"]
            scope["headers"] = [*headers, (b"content-type", b"application/json")]

        delivered = False

        async def replay() -> Message:
            nonlocal delivered
            if delivered:
                return await receive()
            delivered = True
            return {"type": "http.request", "body": body, "more_body": False}

        await self.app(scope, replay, send)


async def _read_body(receive: Receive) -> bytes | None:
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            return None
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


async def _send_too_large(send: Send) -> None:
    await _send_problem(
        send,
        413,
        "RequestTooLarge",
        f"The request body is larger than {MAX_BODY_BYTES} bytes; send less.",
    )


async def _send_problem(send: Send, status: int, error: str, message: str) -> None:
    body = json.dumps({"Error": error, "Message": message}).encode("utf-8")
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode("ascii")),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
