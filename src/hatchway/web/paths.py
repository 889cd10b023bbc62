"""Page paths in any letter case: '/contoso/signin' reaches '/contoso/SignIn'.

People type addresses by hand and scripts copy them from old documentation, so the fixed
segments of page paths match in any case, as the Provisioning API's do. The segments are read
from the application's own routes, so new pages need no list of their own. The first segment
(the environment name) is left alone: the pages redirect it to its canonical form.

The operations paths (/healthz, /readyz, /metrics) are not pages: they match in any case and
with a trailing slash, and answer without a redirect, because probes may not follow one.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from starlette.routing import BaseRoute, Mount, Route
from starlette.types import ASGIApp, Receive, Scope, Send

from hatchway import operations


def literal_segments(routes: Iterable[BaseRoute]) -> dict[str, str]:
    """Map the lower-case form of every fixed path segment of the routes to its spelling."""
    segments: dict[str, str] = {}
    for route in routes:
        if isinstance(route, Mount):
            continue
        if isinstance(route, Route):
            for segment in route.path.split("/"):
                if segment and not segment.startswith("{"):
                    segments.setdefault(segment.lower(), segment)
            continue
        # FastAPI keeps an included router as one entry that holds the original router.
        nested = getattr(getattr(route, "original_router", route), "routes", None)
        if nested:
            for name, spelling in literal_segments(nested).items():
                segments.setdefault(name, spelling)
    return segments


class PagePathMiddleware:
    def __init__(self, app: ASGIApp, routes: Callable[[], Iterable[BaseRoute]]) -> None:
        self.app = app
        self._routes = routes
        self._segments: dict[str, str] | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and not scope["path"].lower().startswith("/provisioning"):
            path = self._canonical(scope["path"])
            if path != scope["path"]:
                scope = {**scope, "path": path, "raw_path": path.encode("utf-8")}
        await self.app(scope, receive, send)

    def _canonical(self, path: str) -> str:
        operations_path = path.lower().rstrip("/")
        if operations_path in operations.PATHS:
            return operations_path
        if self._segments is None:
            self._segments = literal_segments(self._routes())
        parts = path.split("/")
        # parts[0] is empty and parts[1] the environment name; both stay as they are.
        for index in range(2, len(parts)):
            parts[index] = self._segments.get(parts[index].lower(), parts[index])
        return "/".join(parts)
