"""The benchmark report: machine and versions, medians and ratios, and docs/benchmarks.md."""

from __future__ import annotations

import importlib.metadata
import json
import os
import platform
import sqlite3
import statistics
import subprocess
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, text

REPOSITORY = Path(__file__).resolve().parent.parent
FINDINGS = Path(__file__).with_name("findings.md")
# Keycloak 26's sizing guide: about 120 client credential grants per second per vCPU.
KEYCLOAK_GRANTS_PER_VCPU = 120


def machine() -> dict[str, Any]:
    model = "unknown"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            model = line.split(":", 1)[1].strip()
            break
    memory_kb = int(Path("/proc/meminfo").read_text().split()[1])
    return {
        "cpu": model,
        "vcpus": os.cpu_count(),
        "memory_gib": round(memory_kb / 2**20, 1),
        "kernel": platform.release(),
        "os": platform.freedesktop_os_release().get("PRETTY_NAME", platform.system()),
    }


def _package(name: str) -> str:
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def versions() -> dict[str, str]:
    found = {
        name: _package(name)
        for name in (
            "hatchway",
            "fastapi",
            "starlette",
            "uvicorn",
            "sqlalchemy",
            "psycopg",
            "pydantic",
            "authlib",
            "httpx",
        )
    }
    found["python"] = platform.python_version()
    found["sqlite"] = sqlite3.sqlite_version
    found["node"] = subprocess.run(
        ["node", "--version"], capture_output=True, text=True
    ).stdout.strip()
    package = REPOSITORY / "tests" / "idp" / "node_modules" / "oidc-provider" / "package.json"
    if package.exists():
        found["oidc-provider"] = json.loads(package.read_text())["version"]
    found["wrk"] = _wrk_version()
    try:
        engine = create_engine("postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
        with engine.connect() as connection:
            found["postgresql"] = str(connection.scalar(text("SHOW server_version")))
        engine.dispose()
    except Exception:
        found["postgresql"] = "not reachable"
    return found


def _wrk_version() -> str:
    completed = subprocess.run(["wrk", "--version"], capture_output=True, text=True)
    words = (completed.stdout + completed.stderr).split()
    return words[1] if len(words) > 1 else "unknown"


def _median(rounds: list[dict[str, Any]], scenario: str, target: str, field: str) -> float:
    return float(statistics.median(item[scenario][target][field] for item in rounds))


def _failed(rounds: list[dict[str, Any]], scenario: str) -> int:
    """Return how many requests of a scenario failed, over every round and server."""
    return sum(int(result["errors"]) for item in rounds for result in item[scenario].values())


def summarize(document: dict[str, Any]) -> list[dict[str, Any]]:
    """Return one row per target: the measured values, their ratio and whether it is met."""
    rows: list[dict[str, Any]] = []
    for backend, results in document["backends"].items():
        rounds = results["rounds"]
        label = f"{backend}, {results['workers']} worker{'s' if results['workers'] > 1 else ''}"

        def add(
            name: str,
            ours: float,
            theirs: float | None,
            ratio: float | None,
            target: str,
            met: bool,
            unit: str,
            failed: int = 0,
            label: str = label,
        ) -> None:
            rows.append(
                {
                    "setup": label,
                    "measure": name,
                    "hatchway": round(ours, 3),
                    "baseline": None if theirs is None else round(theirs, 3),
                    "ratio": None if ratio is None else round(ratio, 2),
                    "target": target,
                    # A run whose requests failed measured the failures, not the work.
                    "met": met and failed == 0,
                    "unit": unit,
                    "failed_requests": failed,
                }
            )

        ours = _median(rounds, "signin", "hatchway", "cpu_ms_per_request")
        theirs = _median(rounds, "signin", "textbook", "cpu_ms_per_request")
        add(
            "server CPU per sign-in",
            ours,
            theirs,
            ours / theirs,
            "≤ 1.0 × textbook RP",
            ours / theirs <= 1.0,
            "ms",
            _failed(rounds, "signin"),
        )
        for scenario, title in (("get", "GET"), ("put", "PUT ?verify=false")):
            failed = _failed(rounds, scenario)
            ours = _median(rounds, scenario, "hatchway", "cpu_ms_per_request")
            theirs = _median(rounds, scenario, "bare", "cpu_ms_per_request")
            add(
                f"{title}: server CPU per request",
                ours,
                theirs,
                ours / theirs,
                "≤ 1.5 × bare",
                ours / theirs <= 1.5,
                "ms",
                failed,
            )
            ours = _median(rounds, scenario, "hatchway", "requests_per_second")
            theirs = _median(rounds, scenario, "bare", "requests_per_second")
            add(
                f"{title}: requests per second",
                ours,
                theirs,
                ours / theirs,
                "≥ 0.6 × bare",
                ours / theirs >= 0.6,
                "req/s",
                failed,
            )

        if "propagation_seconds" in results:
            worst = max(results["propagation_seconds"])
            add(
                "propagation to every worker (worst of rounds)",
                worst * 1000,
                None,
                None,
                "≤ 1000 ms",
                worst <= 1.0,
                "ms",
            )
        rss = max(
            results["rss_mb_per_worker_after_scale"]
            if "rss_mb_per_worker_after_scale" in results
            else results["rss_mb_per_worker"]
        )
        add(
            "resident memory per worker (max)",
            rss,
            max(results["rss_mb_per_worker_bare"]),
            None,
            "≤ 120 MB",
            rss <= 120 * 1e6 / 2**20,
            "MiB",
        )

        if "scale" in results:
            sizes = [key for key in results["scale"] if key.isdigit()]
            small, large = sorted(sizes, key=int)
            for scenario, title in (
                ("get", "GET latency p50"),
                ("signin", "sign-in RP latency p50"),
            ):
                few = statistics.median(
                    item[scenario]["latency_p50_ms"] for item in results["scale"][small]
                )
                many = statistics.median(
                    item[scenario]["latency_p50_ms"] for item in results["scale"][large]
                )
                add(
                    f"{title}, {large} vs {small} environments",
                    many,
                    few,
                    many / few,
                    "≤ 1.2 ×",
                    many / few <= 1.2,
                    "ms",
                )

        cpu_ms = _median(rounds, "signin", "hatchway", "cpu_ms_per_request")
        add(
            "sign-ins per second per vCPU (context)",
            1000 / cpu_ms,
            float(KEYCLOAK_GRANTS_PER_VCPU),
            None,
            "Keycloak 26: 120 client-credential grants/s/vCPU",
            True,
            "1/s",
        )
    return rows


def _cell(value: float | None) -> str:
    if value is None:
        return "–"
    return f"{value:,.2f}" if value < 100 else f"{value:,.0f}"


def markdown(document: dict[str, Any]) -> str:
    machine_info = document["machine"]
    version_info = document["versions"]
    plan = document["plan"]
    quick_note = " (quick smoke run, not a measurement)" if document["quick"] else ""
    rounds = f"{plan['rounds']} round{'s' if plan['rounds'] != 1 else ''}"
    lines = [
        "# Benchmarks",
        "",
        "Generated by `make bench` (`bench/run.py`); do not edit the tables by hand.",
        "",
        f"- Date: {document['date']}{quick_note}",
        f"- Machine: {machine_info['cpu']}, {machine_info['vcpus']} vCPUs, "
        f"{machine_info['memory_gib']} GiB, {machine_info['os']}, Linux {machine_info['kernel']}",
        "- Versions: " + ", ".join(f"{name} {value}" for name, value in version_info.items()),
        f"- Plan: {rounds}, every figure the median of the rounds; wrk 2 threads × 8 "
        f"connections for {plan['wrk_seconds']} s per GET and PUT run; "
        f"{plan['sign_ins_per_round']} sign-ins per round, 4 at a time, each with a fresh cookie "
        "jar (provider login and consent every time)",
        f"- Run time: {document['duration_seconds']} s",
        "",
        "Server CPU is the user and system time of the server process and all its workers "
        "(from /proc, via psutil), so the provider, wrk and the sign-in driver do not count. "
        "Every server (Hatchway and both baselines) runs with the same number of uvicorn "
        "workers. The ratio is Hatchway ÷ baseline.",
        "",
        "| setup | measure | Hatchway | baseline | ratio | target | met |",
        "| --- | --- | ---: | ---: | ---: | --- | --- |",
    ]
    for row in document["summary"]:
        failed = row.get("failed_requests", 0)
        met = "yes" if row["met"] else "**no**"
        if failed:
            met += f" ({failed:,} requests failed)"
        lines.append(
            f"| {row['setup']} | {row['measure']} ({row['unit']}) | {_cell(row['hatchway'])} | "
            f"{_cell(row['baseline'])} | {_cell(row['ratio'])} | {row['target']} | {met} |"
        )
    lines += [
        "",
        "Baselines: for GET and PUT, `bench/baselines/bare_app.py`, a bare Starlette app that "
        "does the same reads and writes (settings row, version row, audit row) with SQLAlchemy "
        "Core on the same database and compares the Provisioning Key with a constant; for "
        "sign-in, `bench/baselines/textbook_rp.py`, Authlib's Starlette client with a signed "
        "cookie session and no database. The Keycloak figure is from Keycloak 26's sizing "
        "guide and is context, not a comparison of equal work: a client-credential grant has "
        "no browser, no consent and no user lookup.",
        "",
    ]
    if FINDINGS.exists():
        lines.append(FINDINGS.read_text(encoding="utf-8").rstrip() + "\n")
    return "\n".join(lines)
