"""Drive oidc-provider's development login and consent pages with plain HTTP, no browser.

For tests of Hatchway's callback handling that need many sign-ins or precise control over
cookies; the browser tests use `tests.support.browser.sign_in_at_provider` instead.
"""

from __future__ import annotations

import re
from urllib.parse import urljoin, urlsplit

import httpx

_FORM_ACTION = re.compile(r'<form[^>]*action="(?P<action>[^"]+)"', re.IGNORECASE)
_PROMPT = re.compile(r'name="prompt"\s+value="(?P<prompt>[a-z]+)"', re.IGNORECASE)
MAX_STEPS = 20


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def authorize(
    provider: httpx.Client, authorization_url: str, login: str, *, relying_party_origin: str
) -> str:
    """Log in and consent at the provider; return the redirect back to the relying party.

    `provider` keeps the provider's cookies between calls, like one browser profile.
    """
    url = authorization_url
    for _ in range(MAX_STEPS):
        if _origin(url) == relying_party_origin:
            return url
        response = provider.get(url, follow_redirects=False)
        if response.is_redirect:
            url = urljoin(url, response.headers["location"])
            continue
        url = _submit_interaction(provider, url, response.text, login)
    raise AssertionError(f"the provider did not redirect back within {MAX_STEPS} steps")


def _submit_interaction(provider: httpx.Client, url: str, html: str, login: str) -> str:
    action = _FORM_ACTION.search(html)
    prompt = _PROMPT.search(html)
    if action is None or prompt is None:
        raise AssertionError(f"unexpected provider page at {url}: {html[:300]}")
    fields = {"prompt": prompt.group("prompt")}
    if fields["prompt"] == "login":
        fields |= {"login": login, "password": "any-password"}
    response = provider.post(urljoin(url, action.group("action")), data=fields)
    assert response.is_redirect, f"provider answered {response.status_code} to {fields['prompt']}"
    return urljoin(url, response.headers["location"])
