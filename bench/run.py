"""`make bench`: Hatchway against its two baselines, on SQLite and PostgreSQL.

Environment variables:
  BENCH_QUICK=1         a smoke run: SQLite only, one round, small counts, 10 vs 200 environments
  BENCH_ROUNDS=N        rounds per scenario (default 3); every figure is the median of the rounds
  BENCH_WORKERS=N       worker processes on PostgreSQL (default 2); SQLite always runs one
  BENCH_DATABASES=...   'sqlite postgresql' (default) or one of them
  BENCH_SECONDS=N       duration of each wrk run (default 5)
  BENCH_OUTPUT=PATH     the Markdown report (default docs/benchmarks.md)

Server CPU is the user and system time of the server process and its workers, read from
/proc through psutil before and after each load run; the provider, wrk and the sign-in
driver run in other processes and do not count.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
from cryptography.fernet import Fernet
from sqlalchemy import create_engine, text
from tests.support.idp import DEFAULT_NODE_MODULES, OidcProvider
from tests.support.server_process import HatchwayProcess, serve_environment

from bench import report, seed
from bench.servers import REPOSITORY, UvicornProcess, cpu_seconds, start_hatchway, worker_rss_mb
from hatchway.db.engine import create_database_engine, upgrade_database

POSTGRES_ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
PROVISIONING_KEY = str(uuid.UUID(int=0x0BE1C4)).upper()
SIGN_IN_ENVIRONMENT = seed.environment_name(0)


@dataclass(frozen=True)
class Plan:
    quick: bool
    rounds: int
    workers: int
    databases: tuple[str, ...]
    wrk_seconds: int
    sign_ins: int
    small_scale: int
    large_scale: int
    output: Path


def plan_from_environment() -> Plan:
    quick = os.environ.get("BENCH_QUICK", "") not in ("", "0")
    default_databases = "sqlite" if quick else "sqlite postgresql"
    return Plan(
        quick=quick,
        rounds=int(os.environ.get("BENCH_ROUNDS", "1" if quick else "3")),
        workers=int(os.environ.get("BENCH_WORKERS", "2")),
        databases=tuple(os.environ.get("BENCH_DATABASES", default_databases).split()),
        wrk_seconds=int(os.environ.get("BENCH_SECONDS", "1" if quick else "5")),
        sign_ins=10 if quick else 60,
        small_scale=10,
        large_scale=200 if quick else 10_000,
        output=Path(os.environ.get("BENCH_OUTPUT", REPOSITORY / "docs" / "benchmarks.md")),
    )


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


# Databases


@contextmanager
def database(backend: str, folder: Path) -> Iterator[str]:
    """Create an empty, migrated database and yield its URL; drop it afterwards."""
    if backend == "sqlite":
        url = f"sqlite:///{folder / 'bench.sqlite3'}"
        migrate(url)
        yield url
        return
    name = f"hatchway_bench_{uuid.uuid4().hex[:10]}"
    admin = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    url = POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    try:
        migrate(url)
        yield url
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def migrate(url: str) -> None:
    engine = create_database_engine(url)
    upgrade_database(engine)
    engine.dispose()


def seed_environments(url: str, count: int) -> float:
    started = time.monotonic()
    engine = create_database_engine(url)
    seed.seed(engine, count)
    engine.dispose()
    return time.monotonic() - started


# Load generators


@dataclass(frozen=True)
class LoadResult:
    requests: int
    seconds: float
    cpu_seconds: float
    latency_p50_ms: float
    errors: int

    @property
    def cpu_ms_per_request(self) -> float:
        return 1000 * self.cpu_seconds / max(1, self.requests)

    @property
    def requests_per_second(self) -> float:
        return self.requests / self.seconds

    def as_json(self) -> dict[str, float]:
        return {
            "requests": self.requests,
            "seconds": round(self.seconds, 3),
            "cpu_seconds": round(self.cpu_seconds, 3),
            "cpu_ms_per_request": round(self.cpu_ms_per_request, 3),
            "requests_per_second": round(self.requests_per_second, 1),
            "latency_p50_ms": round(self.latency_p50_ms, 3),
            "errors": self.errors,
        }


_UNITS_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def run_wrk(
    server_pid: int,
    url: str,
    seconds: int,
    script: Path | None = None,
    authority: str | None = None,
) -> LoadResult:
    """Run wrk against `url`; `authority` is the Authority that bench/put.lua sends."""
    command = [
        "wrk",
        "-t2",
        "-c8",
        f"-d{seconds}s",
        "--latency",
        "-H",
        f"ProvisioningKey: {PROVISIONING_KEY}",
    ]
    if script is not None:
        command += ["-s", str(script)]
    environment = {**os.environ, "BENCH_PROVISIONING_KEY": PROVISIONING_KEY}
    if authority is not None:
        environment["BENCH_AUTHORITY"] = authority
    before = cpu_seconds(server_pid)
    output = subprocess.run(
        [*command, url], capture_output=True, text=True, check=True, env=environment
    ).stdout
    spent = cpu_seconds(server_pid) - before
    requests = int(re.search(r"(\d+) requests in ([\d.]+)(\w+)", output).group(1))  # type: ignore[union-attr]
    duration = re.search(r"requests in ([\d.]+)(m?s)", output)
    elapsed = float(duration.group(1)) * (0.001 if duration.group(2) == "ms" else 1.0)  # type: ignore[union-attr]
    p50 = re.search(r"50%\s+([\d.]+)(us|ms|s)", output)
    latency = float(p50.group(1)) * _UNITS_MS[p50.group(2)]  # type: ignore[union-attr]
    errors_match = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    errors = int(errors_match.group(1)) if errors_match else 0
    socket_errors = re.search(r"Socket errors: .*", output)
    if socket_errors:
        log(f"wrk {url}: {socket_errors.group(0)}")
    return LoadResult(requests, elapsed, spent, latency, errors)


def run_sign_ins(
    server_pid: int, start: str, home: str, origin: str, login_pattern: str, count: int
) -> LoadResult:
    command = [
        sys.executable,
        "-m",
        "bench.load",
        "--start",
        start,
        "--home",
        home,
        "--origin",
        origin,
        "--login-pattern",
        login_pattern,
        "--count",
        str(count),
        "--concurrency",
        "4",
    ]
    before = cpu_seconds(server_pid)
    output = subprocess.run(command, capture_output=True, text=True, check=True, cwd=REPOSITORY)
    spent = cpu_seconds(server_pid) - before
    result = json.loads(output.stdout)
    if result["failed"]:
        log(f"sign-ins failed at {start}: {result['failed']}, first: {result['first_failure']}")
    return LoadResult(
        result["completed"], result["seconds"], spent, result["rp_median_ms"], result["failed"]
    )


# Scenarios


@dataclass
class Targets:
    hatchway: HatchwayProcess
    bare: UvicornProcess
    textbook: UvicornProcess


def configure_sso(hatchway: HatchwayProcess, provider: OidcProvider, environment: str) -> str:
    """Register a client for the environment at the provider and save it in Hatchway."""
    client = provider.register_client(
        [f"{hatchway.url}/{environment}/OAuth2/HandleAuthorityResponse"]
    )
    response = httpx.put(
        f"{hatchway.url}/Provisioning/{environment}/SingleSignOnSettings/OAuth2?verify=false",
        headers={"ProvisioningKey": PROVISIONING_KEY},
        json={
            "Authority": provider.issuer,
            "ClientId": client.client_id,
            "Key": client.client_secret,
        },
        timeout=30,
    )
    response.raise_for_status()
    return client.client_id


def hatchway_sign_ins(targets: Targets, environment: str, count: int) -> LoadResult:
    base = targets.hatchway.url
    return run_sign_ins(
        targets.hatchway.pid,
        f"{base}/{environment}/SignIn",
        f"{base}/{environment}/",
        base,
        seed.user_email(environment, 0).replace("user0@", "user{n}@"),
        count,
    )


def textbook_sign_ins(targets: Targets, count: int) -> LoadResult:
    base = targets.textbook.url
    return run_sign_ins(
        targets.textbook.pid, f"{base}/rp/SignIn", f"{base}/rp/", base, "user{n}@rp.test", count
    )


def settings_url(base: str, environment: str, suffix: str = "") -> str:
    return f"{base}/Provisioning/{environment}/SingleSignOnSettings{suffix}"


def measure_round(targets: Targets, plan: Plan, authority: str) -> dict[str, dict[str, Any]]:
    put_script = Path(__file__).with_name("put.lua")
    environment = SIGN_IN_ENVIRONMENT
    hatchway, bare = targets.hatchway, targets.bare
    return {
        "get": {
            "hatchway": run_wrk(
                hatchway.pid, settings_url(hatchway.url, environment), plan.wrk_seconds
            ).as_json(),
            "bare": run_wrk(
                bare.pid, settings_url(bare.url, environment), plan.wrk_seconds
            ).as_json(),
        },
        "put": {
            "hatchway": run_wrk(
                hatchway.pid,
                settings_url(hatchway.url, "bench00001", "/OAuth2?verify=false"),
                plan.wrk_seconds,
                put_script,
                authority,
            ).as_json(),
            "bare": run_wrk(
                bare.pid,
                settings_url(bare.url, "bench00002", "/OAuth2"),
                plan.wrk_seconds,
                put_script,
                authority,
            ).as_json(),
        },
        "signin": {
            "hatchway": hatchway_sign_ins(targets, environment, plan.sign_ins).as_json(),
            "textbook": textbook_sign_ins(targets, plan.sign_ins).as_json(),
        },
    }


def measure_propagation(
    hatchway: HatchwayProcess, provider: OidcProvider, environment: str
) -> float:
    """Return the seconds from a PUT's response until every worker redirected with its values."""
    client = provider.register_client(
        [f"{hatchway.url}/{environment}/OAuth2/HandleAuthorityResponse"]
    )
    response = httpx.put(
        settings_url(hatchway.url, environment, "/OAuth2?verify=false"),
        headers={"ProvisioningKey": PROVISIONING_KEY},
        json={
            "Authority": provider.issuer,
            "ClientId": client.client_id,
            "Key": client.client_secret,
        },
        timeout=30,
    )
    response.raise_for_status()
    changed_at = time.monotonic()
    pending = set(hatchway.worker_pids()) or {hatchway.pid}
    latest = 0.0
    for _ in range(500):
        answered = httpx.get(f"{hatchway.url}/{environment}/SignIn", timeout=30)
        answered_at = time.monotonic() - changed_at
        location = parse_qs(urlsplit(answered.headers.get("location", "")).query)
        if location.get("client_id") != [client.client_id]:
            continue
        pid = (
            hatchway.pid_of(answered) if len(pending) > 1 or hatchway.workers > 1 else hatchway.pid
        )
        if pid in pending:
            pending.discard(pid)
            latest = max(latest, answered_at)
        if not pending:
            return latest
    raise RuntimeError("not every worker served the new settings within 500 requests")


def measure_scale(
    targets: Targets, plan: Plan, url: str, provider: OidcProvider, restart: Callable[[], Targets]
) -> tuple[dict[str, Any], Targets]:
    """Measure GET and sign-in with few environments, then with many; return the new targets."""
    results: dict[str, Any] = {}
    for count in (plan.small_scale, plan.large_scale):
        if count > plan.small_scale:
            targets.hatchway.stop()
            log(f"seeding up to {count} environments")
            results["seed_seconds"] = seed_environments(url, count)
            targets.hatchway = restart().hatchway
        environment = seed.environment_name(count // 2)
        configure_sso(targets.hatchway, provider, environment)
        # The server for the larger count has just started: fill its connection pool, caches and
        # key snapshot first, as the warm-up before the main rounds did for the smaller count.
        run_wrk(targets.hatchway.pid, settings_url(targets.hatchway.url, environment), 1)
        hatchway_sign_ins(targets, environment, 4)
        rounds = []
        for _ in range(plan.rounds):
            get = run_wrk(
                targets.hatchway.pid,
                settings_url(targets.hatchway.url, environment),
                plan.wrk_seconds,
            )
            sign_in = hatchway_sign_ins(targets, environment, plan.sign_ins)
            rounds.append({"get": get.as_json(), "signin": sign_in.as_json()})
        results[str(count)] = rounds
    return results, targets


# Orchestration


def hatchway_environment(folder: Path, url: str, sealing_key: str) -> dict[str, str]:
    return serve_environment(
        folder / "data",
        url,
        PROVISIONING_KEY,
        sealing_key,
        # The outbox worker polls every second; nothing is mailed here, so it would only add noise.
        HATCHWAY_OUTBOX_WORKER="false",
    )


def start_targets(
    folder: Path, url: str, workers: int, sealing_key: str, provider: OidcProvider
) -> Targets:
    hatchway = start_hatchway(hatchway_environment(folder, url, sealing_key), workers)
    bare = UvicornProcess(
        "bench.baselines.bare_app:create_app",
        {"BENCH_DATABASE_URL": url, "BENCH_PROVISIONING_KEY": PROVISIONING_KEY},
        workers,
    )
    bare.start()
    textbook = UvicornProcess("bench.baselines.textbook_rp:create_app", {}, workers)
    client = provider.register_client(
        [f"http://127.0.0.1:{textbook.port}/rp/OAuth2/HandleAuthorityResponse"]
    )
    textbook.environment.update(
        {
            "BENCH_ISSUER": provider.issuer,
            "BENCH_CLIENT_ID": client.client_id,
            "BENCH_CLIENT_SECRET": client.client_secret,
            "BENCH_PUBLIC_URL": textbook.url,
            "BENCH_SESSION_SECRET": Fernet.generate_key().decode("ascii"),
        }
    )
    textbook.start()
    return Targets(hatchway, bare, textbook)


def stop_targets(targets: Targets) -> None:
    targets.hatchway.stop()
    targets.bare.stop()
    targets.textbook.stop()


def run_backend(backend: str, plan: Plan, provider: OidcProvider) -> dict[str, Any]:
    workers = 1 if backend == "sqlite" else plan.workers
    sealing_key = Fernet.generate_key().decode("ascii")
    with (
        tempfile.TemporaryDirectory(prefix="hatchway-bench-") as temporary,
        database(backend, Path(temporary)) as url,
    ):
        folder = Path(temporary)
        log(f"{backend}: seeding {plan.small_scale} environments with 100 users each")
        seed_environments(url, plan.small_scale)
        targets = start_targets(folder, url, workers, sealing_key, provider)
        try:
            configure_sso(targets.hatchway, provider, SIGN_IN_ENVIRONMENT)
            # One warm-up sign-in each fills discovery and JWKS caches and the connection pools.
            hatchway_sign_ins(targets, SIGN_IN_ENVIRONMENT, 4)
            textbook_sign_ins(targets, 4)
            rounds = []
            for index in range(plan.rounds):
                log(f"{backend}: round {index + 1} of {plan.rounds}")
                rounds.append(measure_round(targets, plan, provider.issuer))
            results: dict[str, Any] = {"workers": workers, "rounds": rounds}

            if workers > 1:
                log(f"{backend}: propagation")
                results["propagation_seconds"] = [
                    measure_propagation(targets.hatchway, provider, seed.environment_name(3))
                    for _ in range(max(3, plan.rounds))
                ]
            results["rss_mb_per_worker"] = worker_rss_mb(targets.hatchway.pid)
            results["rss_mb_per_worker_bare"] = worker_rss_mb(targets.bare.pid)
            results["rss_mb_per_worker_textbook"] = worker_rss_mb(targets.textbook.pid)

            if backend == plan.databases[-1]:
                log(f"{backend}: scale {plan.small_scale} vs {plan.large_scale} environments")

                def restart() -> Targets:
                    server = start_hatchway(hatchway_environment(folder, url, sealing_key), workers)
                    return Targets(server, targets.bare, targets.textbook)

                results["scale"], targets = measure_scale(targets, plan, url, provider, restart)
                results["rss_mb_per_worker_after_scale"] = worker_rss_mb(targets.hatchway.pid)
        finally:
            stop_targets(targets)
    return results


def main() -> None:
    plan = plan_from_environment()
    started = time.monotonic()
    provider = OidcProvider()
    provider.start(DEFAULT_NODE_MODULES)
    try:
        backends = {backend: run_backend(backend, plan, provider) for backend in plan.databases}
    finally:
        provider.stop()
    document = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "quick": plan.quick,
        "plan": {
            "rounds": plan.rounds,
            "workers": plan.workers,
            "wrk_seconds": plan.wrk_seconds,
            "sign_ins_per_round": plan.sign_ins,
            "environments": [plan.small_scale, plan.large_scale],
        },
        "machine": report.machine(),
        "versions": report.versions(),
        "backends": backends,
        "duration_seconds": round(time.monotonic() - started, 1),
    }
    document["summary"] = report.summarize(document)
    results_dir = REPOSITORY / "bench" / "results"
    results_dir.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    json_path = results_dir / f"{'quick-' if plan.quick else ''}{stamp}.json"
    json_path.write_text(json.dumps(document, indent=2), encoding="utf-8")
    plan.output.parent.mkdir(parents=True, exist_ok=True)
    plan.output.write_text(report.markdown(document), encoding="utf-8")
    log(f"wrote {json_path} and {plan.output} in {document['duration_seconds']} s")


if __name__ == "__main__":
    main()
