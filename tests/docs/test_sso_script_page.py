"""The page docs/changing-sso-settings-from-a-script.md: its four examples work and agree.

The `hatchway` and `curl` examples run in bash as the page shows them. The PowerShell and
Power Automate examples cannot run here, so the test reads the request each one describes
(method, URI, headers, body) from the page and sends it with httpx. The page's instance URL,
Authority and Client ID are replaced by a Hatchway and an OpenID Provider on 127.0.0.1, or by
a stand-in that records requests, so that nothing is sent to another host.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from tests.support import contract_samples as samples
from tests.support.cli import ProvisioningStub, create_environment, redirect_uri
from tests.support.hatchway import PROVISIONING_KEY, LiveServer
from tests.support.idp import OidcProvider, RegisteredClient

PAGE = Path(__file__).resolve().parents[2] / "docs" / "changing-sso-settings-from-a-script.md"
BIN = Path(sys.executable).parent

EXAMPLE_URL = "https://portal.example.com"
EXAMPLE_AUTHORITY = "https://login.microsoftonline.com/contoso.onmicrosoft.com/v2.0"
EXAMPLE_CLIENT_ID = "3f2a9c4e-8b1d-4e6f-a7c2-5d9e0b1f4a68"
SETTINGS_PATH = "/Provisioning/contoso/SingleSignOnSettings/OAuth2"
KEY_PLACEHOLDER = "<the client secret's Value>"
PROVISIONING_KEY_PLACEHOLDER = "<the Provisioning Key>"
CLIENT_SECRET = "page-example-secret-0b7e"


@dataclass(frozen=True)
class Values:
    """What replaces the page's example values in one test."""

    url: str
    authority: str = EXAMPLE_AUTHORITY
    client_id: str = EXAMPLE_CLIENT_ID
    key: str = CLIENT_SECRET

    def localize(self, text: str) -> str:
        text = text.replace(EXAMPLE_URL, self.url)
        text = text.replace(EXAMPLE_AUTHORITY, self.authority)
        text = text.replace(EXAMPLE_CLIENT_ID, self.client_id)
        assert "example.com" not in text
        return text


@dataclass(frozen=True)
class DescribedRequest:
    """The request an example describes, with every placeholder filled in."""

    method: str
    url: str
    headers: dict[str, str]
    body: dict[str, Any]

    def send(self) -> httpx.Response:
        return httpx.request(
            self.method, self.url, headers=self.headers, content=json.dumps(self.body)
        )


def example(name: str) -> str:
    """Return the fenced code block or table that follows `<!-- example: name -->`."""
    text = PAGE.read_text(encoding="utf-8")
    fenced = re.search(rf"<!-- example: {name} -->\n```[a-z]*\n(.*?)\n```", text, re.DOTALL)
    if fenced:
        return fenced.group(1)
    table = re.search(rf"<!-- example: {name} -->\n((?:\|.*\n)+)", text)
    assert table, f"the page has no example named {name!r}"
    return table.group(1)


def _write_secrets(folder: Path, key: str) -> None:
    for name, secret in (("provisioning-key.txt", PROVISIONING_KEY), ("client-secret.txt", key)):
        path = folder / name
        path.write_text(secret + "\n")
        path.chmod(0o600)


def _run_shell(folder: Path, *names: str, values: Values) -> subprocess.CompletedProcess[str]:
    script = "set -e\n" + "\n".join(values.localize(example(name)) for name in names)
    environment = {
        name: value for name, value in os.environ.items() if not name.startswith("HATCHWAY_")
    }
    environment["PATH"] = f"{BIN}{os.pathsep}{environment.get('PATH', '')}"
    return subprocess.run(
        ["bash", "-c", script],
        cwd=folder,
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
    )


def _powershell_value(raw: str, folder: Path, values: Values) -> str:
    """Evaluate the two value forms the PowerShell example uses."""
    literal = re.fullmatch(r'"(.*)"', raw)
    if literal:
        return values.localize(literal.group(1))
    from_file = re.fullmatch(r"\(Get-Content -Raw (\S+)\)\.Trim\(\)", raw)
    assert from_file, f"the PowerShell example has a value this test cannot read: {raw}"
    return (folder / from_file.group(1)).read_text().strip()


def _powershell_assignments(text: str, folder: Path, values: Values) -> dict[str, str]:
    pairs = [line.split("=", 1) for line in re.split(r"[;\n]", text) if "=" in line]
    return {name.strip(): _powershell_value(raw.strip(), folder, values) for name, raw in pairs}


def powershell_request(folder: Path, values: Values) -> DescribedRequest:
    block = example("powershell")
    base = re.search(r'^\$BaseUrl = "(.+)"$', block, re.MULTILINE)
    method = re.search(r"Invoke-RestMethod -Method (\w+)", block)
    uri = re.search(r'-Uri "(.+?)"', block)
    headers = re.search(r"^\$Headers = @\{(.+)\}$", block, re.MULTILINE)
    content_type = re.search(r'-ContentType "(.+?)"', block)
    body = re.search(r"^\$Body = @\{\n(.+?)\n\} \| ConvertTo-Json$", block, re.DOTALL | re.M)
    assert base and method and uri and headers and content_type and body, block
    assert "-Headers $Headers" in block
    assert "-Body $Body" in block

    return DescribedRequest(
        method=method.group(1).upper(),
        url=values.localize(uri.group(1).replace("$BaseUrl", base.group(1))),
        headers={
            **_powershell_assignments(headers.group(1), folder, values),
            "Content-Type": content_type.group(1),
        },
        body=_powershell_assignments(body.group(1), folder, values),
    )


def power_automate_request(values: Values) -> DescribedRequest:
    settings: dict[str, list[str]] = {}
    for row in example("power-automate").splitlines()[2:]:
        setting, value = (cell.strip() for cell in row.strip("|").split("|"))
        settings.setdefault(setting, []).append(value)
    headers = {}
    for header in settings["Headers"]:
        match = re.fullmatch(r"`(.+?)`: `(.+?)`", header)
        assert match, header
        headers[match.group(1)] = match.group(2).replace(
            PROVISIONING_KEY_PLACEHOLDER, PROVISIONING_KEY
        )
    body = values.localize(example("power-automate-body")).replace(KEY_PLACEHOLDER, values.key)

    return DescribedRequest(
        method=settings["Method"][0].strip("`"),
        url=values.localize(settings["URI"][0].strip("`")),
        headers=headers,
        body=json.loads(body),
    )


def _settings(live: LiveServer) -> dict[str, Any]:
    with live.api() as api:
        settings: dict[str, Any] = api.get("/contoso/SingleSignOnSettings").json()
    return settings


@pytest.fixture
def live_values(
    live_server: LiveServer, oidc_provider: OidcProvider
) -> tuple[Values, RegisteredClient]:
    """The environment contoso, and the values that point the examples at loopback servers."""
    create_environment(live_server)
    registered = oidc_provider.register_client(
        [redirect_uri(live_server, "contoso")],
        grant_types=("authorization_code", "client_credentials"),
    )
    return (
        Values(
            url=live_server.url,
            authority=oidc_provider.issuer,
            client_id=registered.client_id,
            key=registered.client_secret,
        ),
        registered,
    )


# The page shows one request


def test_page_uses_example_values() -> None:
    assert example("environment") == f"export HATCHWAY_URL={EXAMPLE_URL}"
    for name in ("hatchway", "curl", "power-automate-body", "powershell"):
        assert EXAMPLE_AUTHORITY in example(name)
        assert EXAMPLE_CLIENT_ID in example(name)


def test_examples_send_same_request(stub: ProvisioningStub, tmp_path: Path) -> None:
    stub.answer("PUT", SETTINGS_PATH, samples.SETTINGS_VIEW)
    values = Values(url=stub.url)
    _write_secrets(tmp_path, values.key)

    hatchway = _run_shell(tmp_path, "environment", "hatchway", values=values)
    curl = _run_shell(tmp_path, "environment", "curl-header-file", "curl", values=values)
    powershell_request(tmp_path, values).send()
    power_automate_request(values).send()

    assert hatchway.returncode == 0, hatchway.stderr
    assert curl.returncode == 0, curl.stderr
    assert len(stub.requests) == 4
    for request in stub.requests:
        headers = {name.lower(): value for name, value in request.headers.items()}
        assert request.method == "PUT"
        assert request.path == SETTINGS_PATH
        assert headers["provisioningkey"] == PROVISIONING_KEY
        assert headers["content-type"] == "application/json"
        assert request.body == {
            "Authority": EXAMPLE_AUTHORITY,
            "ClientId": EXAMPLE_CLIENT_ID,
            "Key": CLIENT_SECRET,
        }


def test_powershell_example_shows_contract(tmp_path: Path) -> None:
    _write_secrets(tmp_path, CLIENT_SECRET)

    request = powershell_request(tmp_path, Values(url="http://127.0.0.1"))

    assert request.method == "PUT"
    assert urlsplit(request.url).path == SETTINGS_PATH
    assert request.headers == {
        "ProvisioningKey": PROVISIONING_KEY,
        "Content-Type": "application/json",
    }
    assert set(request.body) == {"Authority", "ClientId", "Key"}


def test_power_automate_example_shows_contract() -> None:
    request = power_automate_request(Values(url="http://127.0.0.1"))

    assert request.method == "PUT"
    assert urlsplit(request.url).path == SETTINGS_PATH
    assert request.headers == {
        "ProvisioningKey": PROVISIONING_KEY,
        "Content-Type": "application/json",
    }
    assert request.body["Key"] == CLIENT_SECRET


# Each example against Hatchway


def test_hatchway_example_saves_settings(
    live_server: LiveServer, live_values: tuple[Values, RegisteredClient], tmp_path: Path
) -> None:
    values, registered = live_values
    _write_secrets(tmp_path, values.key)

    result = _run_shell(tmp_path, "environment", "hatchway", values=values)

    assert result.returncode == 0, result.stderr
    assert "Saved version 1." in result.stdout
    assert registered.client_secret not in result.stdout + result.stderr
    assert _settings(live_server)["Authority"] == values.authority


def test_curl_example_saves_settings(
    live_server: LiveServer, live_values: tuple[Values, RegisteredClient], tmp_path: Path
) -> None:
    values, _ = live_values
    _write_secrets(tmp_path, values.key)

    result = _run_shell(tmp_path, "environment", "curl-header-file", "curl", values=values)

    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["Mode"] == "OAuth2"
    assert _settings(live_server)["ClientId"] == values.client_id


def test_curl_example_reads_key_file(stub: ProvisioningStub, tmp_path: Path) -> None:
    stub.answer("PUT", SETTINGS_PATH, samples.SETTINGS_VIEW)
    # Characters that JSON or the shell would treat specially, had the page pasted the Key.
    values = Values(url=stub.url, key='se"cret\\with$HOME and `quotes`')
    _write_secrets(tmp_path, values.key)

    result = _run_shell(tmp_path, "environment", "curl-header-file", "curl", values=values)

    assert result.returncode == 0, result.stderr
    assert values.key not in example("curl")
    assert "client-secret.txt" in example("curl")
    assert stub.requests[0].body["Key"] == values.key
    assert sorted(path.name for path in tmp_path.iterdir()) == [
        "client-secret.txt",
        "provisioning-key.header",
        "provisioning-key.txt",
    ]


def test_curl_example_refusal_exits_22(
    live_server: LiveServer, live_values: tuple[Values, RegisteredClient], tmp_path: Path
) -> None:
    values, _ = live_values
    refused = Values(url=values.url, authority="not a url", client_id=values.client_id)
    _write_secrets(tmp_path, values.key)

    result = _run_shell(tmp_path, "environment", "curl-header-file", "curl", values=refused)

    assert result.returncode == 22
    assert [item["MemberNames"] for item in json.loads(result.stdout)] == [["Authority"]]
    assert _settings(live_server)["Mode"] == "None"


def test_powershell_request_saves_settings(
    live_server: LiveServer, live_values: tuple[Values, RegisteredClient], tmp_path: Path
) -> None:
    values, _ = live_values
    _write_secrets(tmp_path, values.key)

    response = powershell_request(tmp_path, values).send()

    assert response.status_code == 200, response.text
    assert _settings(live_server)["Authority"] == values.authority


def test_power_automate_request_saves_settings(
    live_server: LiveServer, live_values: tuple[Values, RegisteredClient]
) -> None:
    values, _ = live_values

    response = power_automate_request(values).send()

    assert response.status_code == 200, response.text
    assert _settings(live_server)["KeySet"] is True
