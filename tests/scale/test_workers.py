"""`hatchway serve --workers 2` on PostgreSQL: settings, sessions, rate limits and metrics.

Each request goes over a new connection, so that the kernel hands it to either worker; the
access log tells which worker answered (its process id next to the request id).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from cryptography.fernet import Fernet
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import create_engine, delete, text

from hatchway.db.engine import Database, create_database_engine
from hatchway.db.models import RateLimitCounter
from hatchway.db.types import utcnow
from hatchway.provisioning.auth import ensure_provisioning_key, rotate_provisioning_key
from hatchway.provisioning.key_cache import REFRESH_SECONDS
from tests.support.hatchway import PROVISIONING_KEY, PostgresDatabase
from tests.support.idp import OidcProvider, RegisteredClient
from tests.support.idp_http import authorize
from tests.support.server_process import HatchwayProcess, serve_environment

MAX_REQUESTS = 200
PROPAGATION_LIMIT_SECONDS = 1.0


@pytest.fixture(scope="module")
def server(
    postgres_database: PostgresDatabase | None, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[HatchwayProcess]:
    if postgres_database is None:
        pytest.skip(
            "several workers need a shared database server; SQLite serves one process well, "
            "so this runs with HATCHWAY_TEST_DATABASE=postgresql"
        )
    postgres_database.truncate_all()
    environment = serve_environment(
        tmp_path_factory.mktemp("workers"),
        postgres_database.url,
        PROVISIONING_KEY,
        Fernet.generate_key().decode("ascii"),
    )
    process = HatchwayProcess(environment, workers=2)
    process.start()
    try:
        yield process
    finally:
        process.stop()


def api(server: HatchwayProcess) -> httpx.Client:
    return httpx.Client(
        base_url=f"{server.url}/Provisioning",
        headers={"ProvisioningKey": PROVISIONING_KEY},
        timeout=30,
    )


def fresh_get(server: HatchwayProcess, path: str, **headers: str) -> httpx.Response:
    """GET over a new connection, so that either worker may answer."""
    return httpx.get(f"{server.url}{path}", headers=headers, timeout=30, follow_redirects=False)


def until_every_worker(
    server: HatchwayProcess, send: Callable[[], httpx.Response]
) -> list[tuple[int, httpx.Response]]:
    """Send requests until each worker answered at least twice; return (pid, response) pairs."""
    answered: list[tuple[int, httpx.Response]] = []
    for _ in range(MAX_REQUESTS):
        response = send()
        answered.append((server.pid_of(response), response))
        pids = [pid for pid, _ in answered]
        if all(pids.count(worker) >= 2 for worker in server.worker_pids()):
            return answered
    raise AssertionError(f"not every worker answered within {MAX_REQUESTS} requests")


def create_environment(server: HatchwayProcess, name: str) -> None:
    with api(server) as client:
        response = client.post(
            "/Environment/",
            json={
                "EnvironmentName": name,
                "EmailAddress": f"admin@{name}.test",
                "FirstName": "Ada",
                "LastName": "Admin",
                "Password": "a-long-local-password",
            },
        )
    assert response.status_code == 200, response.text


def register(provider: OidcProvider, server: HatchwayProcess, name: str) -> RegisteredClient:
    return provider.register_client([f"{server.url}/{name}/OAuth2/HandleAuthorityResponse"])


def put_sso(
    server: HatchwayProcess, name: str, provider: OidcProvider, client: RegisteredClient
) -> None:
    with api(server) as http:
        response = http.put(
            f"/{name}/SingleSignOnSettings/OAuth2?verify=false",
            json={
                "Authority": provider.issuer,
                "ClientId": client.client_id,
                "Key": client.client_secret,
            },
        )
    assert response.status_code == 200, response.text


def redirect_client_id(response: httpx.Response) -> str:
    assert response.status_code == 302, response.text
    return parse_qs(urlsplit(response.headers["location"]).query)["client_id"][0]


def test_server_runs_two_workers(server: HatchwayProcess) -> None:
    assert len(server.worker_pids()) == 2


def test_settings_change_reaches_every_worker_at_once(
    server: HatchwayProcess, oidc_provider: OidcProvider
) -> None:
    create_environment(server, "propagation")
    first = register(oidc_provider, server, "propagation")
    second = register(oidc_provider, server, "propagation")
    put_sso(server, "propagation", oidc_provider, first)
    before = until_every_worker(server, lambda: fresh_get(server, "/propagation/SignIn"))
    assert {redirect_client_id(response) for _, response in before} == {first.client_id}

    put_sso(server, "propagation", oidc_provider, second)
    changed_at = time.monotonic()
    after = until_every_worker(server, lambda: fresh_get(server, "/propagation/SignIn"))
    elapsed = time.monotonic() - changed_at

    stale = [pid for pid, response in after if redirect_client_id(response) != second.client_id]
    assert stale == [], f"workers {stale} used the old settings {elapsed:.2f} s after the PUT"
    assert {pid for pid, _ in after} == server.worker_pids()


def sign_in(server: HatchwayProcess, name: str, login: str) -> str:
    """Sign in through the provider and return the session cookie's value."""
    with httpx.Client(timeout=30, follow_redirects=False) as browser:
        start = browser.get(f"{server.url}/{name}/SignIn")
        assert start.status_code == 302, start.text
        callback = authorize(
            browser, start.headers["location"], login, relying_party_origin=server.url
        )
        finished = browser.get(callback)
        assert finished.status_code == 303, finished.text
        token = browser.cookies.get("hatchway_session")
    assert token
    return token


def test_session_is_honored_and_ended_on_every_worker(
    server: HatchwayProcess, oidc_provider: OidcProvider
) -> None:
    create_environment(server, "sessions")
    put_sso(server, "sessions", oidc_provider, register(oidc_provider, server, "sessions"))
    token = sign_in(server, "sessions", "admin@sessions.test")
    cookie = f"hatchway_session={token}"

    signed_in = until_every_worker(server, lambda: fresh_get(server, "/sessions/", Cookie=cookie))
    assert {response.status_code for _, response in signed_in} == {200}
    assert all("admin@sessions.test" in response.text for _, response in signed_in)

    signed_out = fresh_get(server, "/sessions/SignOut", Cookie=cookie)
    assert signed_out.status_code == 200
    ended = until_every_worker(server, lambda: fresh_get(server, "/sessions/", Cookie=cookie))
    assert {response.status_code for _, response in ended} == {303}
    assert all("/sessions/SignIn" in response.headers["location"] for _, response in ended)


def samples(response: httpx.Response, name: str, **labels: str) -> float:
    for family in text_string_to_metric_families(response.text):
        for item in family.samples:
            if item.name == name and all(item.labels.get(k) == v for k, v in labels.items()):
                return float(item.value)
    return 0.0


def test_metrics_sum_requests_of_every_worker(server: HatchwayProcess) -> None:
    labels = {"route": "/{EnvironmentName}/User", "method": "GET", "status": "404"}
    served = until_every_worker(
        server,
        lambda: fresh_get(server, "/Provisioning/nosuchenv/User", ProvisioningKey=PROVISIONING_KEY),
    )
    assert {response.status_code for _, response in served} == {404}

    scrapes = until_every_worker(server, lambda: fresh_get(server, "/metrics"))

    counts = {
        samples(response, "hatchway_provisioning_requests_total", **labels)
        for _, response in scrapes
    }
    assert counts == {float(len(served))}


def test_rate_limit_counts_failures_of_every_worker(
    server: HatchwayProcess, postgres_database: PostgresDatabase
) -> None:
    wrong_key = {"ProvisioningKey": "00000000-0000-0000-0000-000000000000"}
    try:
        refused = [fresh_get(server, "/Provisioning/Environment", **wrong_key) for _ in range(10)]
        assert {response.status_code for response in refused} == {403}

        limited = until_every_worker(
            server, lambda: fresh_get(server, "/Provisioning/Environment", **wrong_key)
        )
        assert {response.status_code for _, response in limited} == {429}
        assert all(response.headers["retry-after"].isdigit() for _, response in limited)
    finally:
        # The limit would refuse the right key from 127.0.0.1 too, for five minutes.
        engine = create_engine(postgres_database.url)
        with engine.begin() as connection:
            connection.execute(text("DELETE FROM rate_limits"))
        engine.dispose()


def test_rotated_key_stops_on_every_worker(
    server: HatchwayProcess, postgres_database: PostgresDatabase
) -> None:
    def get_with(key: str) -> httpx.Response:
        return fresh_get(server, "/Provisioning/Environment", ProvisioningKey=key)

    warmed = until_every_worker(server, lambda: get_with(PROVISIONING_KEY))
    assert {response.status_code for _, response in warmed} == {200}
    database = Database(create_database_engine(postgres_database.url))
    try:
        new_key = rotate_provisioning_key(database, utcnow())
        # Each worker's key snapshot may accept the old key until its next reload.
        time.sleep(REFRESH_SECONDS)

        # The new key first: after ten rejections of the old one, 127.0.0.1 is limited.
        accepted = until_every_worker(server, lambda: get_with(new_key))
        rejected = until_every_worker(server, lambda: get_with(PROVISIONING_KEY))
    finally:
        ensure_provisioning_key(database, PROVISIONING_KEY, utcnow())
        with database.write() as session:
            # The rejected requests count as failures of 127.0.0.1, which the next tests use.
            session.execute(delete(RateLimitCounter))
        database.dispose()

    # After ten failures the limit returns 429 in place of 403; neither accepts the key.
    assert {response.status_code for _, response in rejected} <= {403, 429}
    assert rejected[0][1].status_code == 403
    assert {response.status_code for _, response in accepted} == {200}
