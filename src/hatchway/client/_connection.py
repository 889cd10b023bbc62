"""The HTTP side of the client: the base URL, the ProvisioningKey header, errors, parsing."""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Generator, Mapping
from typing import Any, TypeVar
from urllib.parse import quote, urlsplit

import httpx

from hatchway import __version__
from hatchway.client._errors import (
    HatchwayApiError,
    HatchwayUnreachable,
    Secret,
    scrub,
    scrub_json,
)
from hatchway.client._models import as_json_value
from hatchway.client._reader import Json, ResponseShapeError, read_list, read_results

PROVISIONING_KEY_HEADER = "ProvisioningKey"
PROVISIONING_PATH = "/Provisioning"
DEFAULT_TIMEOUT_SECONDS = 30.0

T = TypeVar("T")


class _ProvisioningKeyAuth(httpx.Auth):
    """Adds the ProvisioningKey header to each request."""

    def __init__(self, key: Secret) -> None:
        self._key = key

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.headers[PROVISIONING_KEY_HEADER] = self._key.value
        yield request

    def __repr__(self) -> str:
        return f"_ProvisioningKeyAuth(key={self._key!r})"


def provisioning_base_url(instance_url: str) -> str:
    """Return the Provisioning API's base URL for an instance URL.

    Accepts the instance URL ('https://portal.example.com') or the API's own base URL
    ('https://portal.example.com/Provisioning'). Raises ValueError for anything but an absolute
    http or https URL without query or fragment.
    """
    parts = urlsplit(instance_url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(
            f"URL {instance_url!r} is not an absolute http(s) URL; use the instance's address, "
            "such as 'https://portal.example.com'."
        )
    if parts.query or parts.fragment:
        raise ValueError(f"URL {instance_url!r} has a query or fragment; remove it.")
    path = parts.path.rstrip("/")
    if not path.lower().endswith(PROVISIONING_PATH.lower()):
        path += PROVISIONING_PATH
    return f"{parts.scheme}://{parts.netloc}{path}"


def check_provisioning_key(key: str) -> str:
    """Check the Provisioning Key and return it without surrounding whitespace.

    Raises ValueError for an empty key and for one with a character outside printable ASCII,
    such as the curly quotes a word processor adds. The message names that character and its
    position, never the key.
    """
    key = key.strip()
    if not key:
        raise ValueError("The Provisioning Key is empty; pass the instance's Provisioning Key.")
    for position, character in enumerate(key, start=1):
        if not " " <= character <= "~":
            raise ValueError(
                f"The Provisioning Key contains {_describe(character)} at position {position} "
                f"of {len(key)}, a character outside printable ASCII; copy the key again as "
                "plain text, without quotes or line breaks."
            )
    return key


def _describe(character: str) -> str:
    name = unicodedata.name(character, "")
    code = f"U+{ord(character):04X}"
    return f"{code} ({name})" if name else code


def segment(value: str | int, what: str) -> str:
    """Quote one path segment, so that a name never adds segments of its own ('../x')."""
    text = str(value).strip()
    if not text:
        raise ValueError(f"The {what} is empty; pass a non-empty {what}.")
    return quote(text, safe="")


def if_match_header(if_match: str | None) -> dict[str, str]:
    """Build an If-Match header; a bare version number such as '3' becomes the ETag '"3"'."""
    if if_match is None:
        return {}
    tag = if_match.strip()
    if tag != "*" and not tag.startswith(('"', "W/")):
        tag = f'"{tag}"'
    return {"If-Match": tag}


def request_body(**members: Any) -> dict[str, Json]:
    """Build a request body from PascalCase members, leaving out those that are None."""
    return {name: as_json_value(value) for name, value in members.items() if value is not None}


def _retry_after(response: httpx.Response) -> int | None:
    raw = response.headers.get("Retry-After", "").strip()
    return int(raw) if raw.isdigit() else None


class Connection:
    """An httpx client bound to one instance's Provisioning API and its Provisioning Key."""

    def __init__(
        self,
        base_url: str,
        provisioning_key: str,
        transport: httpx.BaseTransport | None,
        timeout: float,
    ) -> None:
        self.base_url = provisioning_base_url(base_url)
        self.timeout = timeout
        self._key = Secret(check_provisioning_key(provisioning_key))
        self._http = httpx.Client(
            base_url=self.base_url,
            auth=_ProvisioningKeyAuth(self._key),
            transport=transport,
            timeout=timeout,
            follow_redirects=False,
            headers={"Accept": "application/json", "User-Agent": f"hatchway-client/{__version__}"},
        )

    def __repr__(self) -> str:
        return f"Connection(base_url={self.base_url!r})"

    def close(self) -> None:
        self._http.close()

    def request(
        self,
        method: str,
        path: str,
        *,
        json: Json = None,
        params: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
        secrets: tuple[str | None, ...] = (),
    ) -> httpx.Response:
        known_secrets = (self._key.value, *(secret for secret in secrets if secret))
        try:
            response = self._http.request(method, path, json=json, params=params, headers=headers)
        except httpx.TimeoutException:
            # `from None`: the httpx exception contains the request, and with it the headers.
            raise HatchwayUnreachable(
                self.base_url, f"no answer within {self.timeout:g} s", timed_out=True
            ) from None
        except httpx.TransportError as error:
            reason = scrub(str(error) or type(error).__name__, known_secrets)
            raise HatchwayUnreachable(self.base_url, reason) from None
        if response.is_redirect:
            raise _redirect_error(response, known_secrets)
        if response.is_error:
            raise _api_error(response, known_secrets)
        return response

    def parse(self, response: httpx.Response, parser: Callable[[Json], T]) -> T:
        request = response.request
        what = f"{request.method} {request.url.path}"
        try:
            data = response.json()
        except ValueError:
            raise HatchwayApiError(
                response.status_code,
                f"Hatchway's answer to {what} is not JSON; check that the URL names a "
                "Hatchway instance.",
                error="UnexpectedResponse",
            ) from None
        try:
            return parser(data)
        except ResponseShapeError as error:
            raise HatchwayApiError(
                response.status_code,
                f"Hatchway's answer to {what} has an unexpected shape: {error}. The client "
                f"(version {__version__}) may be older than the server.",
                error="UnexpectedResponse",
                body=data,
            ) from None


def _redirect_error(response: httpx.Response, secrets: tuple[str, ...]) -> HatchwayApiError:
    location = scrub(response.headers.get("Location", "(no Location header)"), secrets)
    return HatchwayApiError(
        response.status_code,
        f"Hatchway answered with a redirect to {location}. The client follows no redirects, "
        "because they would carry the Provisioning Key to another address; if you trust that "
        "address, use it as the instance URL.",
        error="Redirect",
    )


def _api_error(response: httpx.Response, secrets: tuple[str, ...]) -> HatchwayApiError:
    """Build the error for an error response, with every known secret scrubbed."""
    status = response.status_code
    retry_after = _retry_after(response)
    try:
        body = scrub_json(response.json(), secrets)
    except ValueError:
        return HatchwayApiError(
            status,
            f"Hatchway answered {status} {response.reason_phrase} without a JSON body.",
            retry_after=retry_after,
        )

    if status == httpx.codes.BAD_REQUEST and isinstance(body, list):
        try:
            results = read_results(body, "ValidationResults")
        except ResponseShapeError:
            results = ()
        if results:
            message = "; ".join(str(result) for result in results)
            return HatchwayApiError(status, message, results=results, body=body)

    if isinstance(body, dict) and isinstance(body.get("Message"), str):
        error = body.get("Error")
        return HatchwayApiError(
            status,
            body["Message"],
            error=error if isinstance(error, str) else None,
            body=body,
            retry_after=retry_after,
        )
    return HatchwayApiError(
        status,
        f"Hatchway answered {status} {response.reason_phrase}.",
        body=body,
        retry_after=retry_after,
    )


def environment_path(environment: str) -> str:
    return "/" + segment(environment, "environment name")


def required_text(value: str, what: str) -> str:
    text = value.strip()
    if not text:
        raise ValueError(f"The {what} is empty; pass a non-empty {what}.")
    return text


def parse_each(data: Json, parse: Callable[[Json], T]) -> list[T]:
    return [parse(item) for item in read_list(data, "The response")]


def parse_text(data: Json) -> str:
    if not isinstance(data, str):
        raise ResponseShapeError(f"the response is {type(data).__name__}, expected a string")
    return data


def parse_integer(data: Json) -> int:
    if isinstance(data, bool) or not isinstance(data, int):
        raise ResponseShapeError(f"the response is {type(data).__name__}, expected a number")
    return data
