"""`hatchway rate-limits list|clear` on the server's database, audited, and what it lifts."""

from __future__ import annotations

import json

from sqlalchemy import select
from starlette.testclient import TestClient
from typer.testing import CliRunner, Result

from hatchway.cli.main import app
from hatchway.context import AppContext
from hatchway.db.models import AuditRecord, RateLimitCounter
from hatchway.security import ratelimit
from tests.support.hatchway import PROVISIONING_KEY

WRONG_KEY = "00000000-0000-4000-8000-000000000000"


def hatchway(context: AppContext, *args: str) -> Result:
    settings = context.settings
    runner = CliRunner(
        env={
            "HATCHWAY_DATA_DIR": str(settings.data_dir),
            "HATCHWAY_DATABASE_URL": settings.resolved_database_url,
            "HATCHWAY_PROVISIONING_KEY": None,
        }
    )
    return runner.invoke(app, ["rate-limits", *args], catch_exceptions=False)


def count(context: AppContext, rule: ratelimit.RateLimit, subject: str, times: int) -> None:
    with context.database.write() as session:
        for _ in range(times):
            ratelimit.record(session, rule, subject, context.now())


def buckets(context: AppContext) -> list[str]:
    with context.database.read() as session:
        return sorted(session.scalars(select(RateLimitCounter.bucket)))


def block_address(client: TestClient) -> None:
    for _ in range(ratelimit.PROVISIONING_KEY_FAILURES.limit):
        client.get("/Provisioning/Environment/", headers={"ProvisioningKey": WRONG_KEY})


def test_list_shows_blocking_counter(context: AppContext) -> None:
    count(context, ratelimit.SIGN_IN_FAILURES, "203.0.113.7", 10)
    count(context, ratelimit.EMERGENCY_API_PER_ENVIRONMENT, "contoso", 2)

    result = hatchway(context, "list", "--json")

    assert result.exit_code == 0, result.output
    listed = {item["Kind"]: item for item in json.loads(result.stdout)}
    assert listed["sign-in-failure"]["Subject"] == "203.0.113.7"
    assert listed["sign-in-failure"]["Count"] == 10
    assert listed["sign-in-failure"]["Blocking"] is True
    assert listed["emergency-api-environment"]["Per"] == "environment"
    assert listed["emergency-api-environment"]["Blocking"] is False


def test_list_without_counters_says_nothing_blocked(context: AppContext) -> None:
    result = hatchway(context, "list")

    assert result.exit_code == 0
    assert result.stdout.strip() == "No rate-limit counter is running; nothing is blocked."


def test_list_table_keeps_names_whole_in_pipe(context: AppContext) -> None:
    address = "2001:db8:ffff:ffff:ffff:ffff:ffff:1234"
    count(context, ratelimit.PROVISIONING_KEY_FAILURES, address, 10)

    result = hatchway(context, "list")

    assert result.exit_code == 0, result.output
    rows = [line.split() for line in result.stdout.splitlines() if address in line]
    assert len(rows) == 1, result.stdout
    assert rows[0][:2] == ["provisioning-key-failure", address]
    assert rows[0][-1] == "yes"


def test_clear_by_address_and_kind_keeps_others(context: AppContext) -> None:
    count(context, ratelimit.SIGN_IN_FAILURES, "203.0.113.7", 3)
    count(context, ratelimit.PROVISIONING_KEY_FAILURES, "203.0.113.7", 3)
    count(context, ratelimit.PROVISIONING_KEY_FAILURES, "198.51.100.1", 3)

    result = hatchway(
        context, "clear", "--address", "203.0.113.7", "--kind", "provisioning-key-failure"
    )

    assert result.exit_code == 0, result.output
    assert "Cleared 1 rate-limit counter(s)" in result.stdout
    assert buckets(context) == [
        "provisioning-key-failure:198.51.100.1",
        "sign-in-failure:203.0.113.7",
    ]


def test_clear_is_audited_with_operator(context: AppContext) -> None:
    count(context, ratelimit.SIGN_IN_FAILURES, "203.0.113.7", 10)

    hatchway(context, "clear", "--address", "203.0.113.7")

    with context.database.read() as session:
        [record] = session.scalars(
            select(AuditRecord).where(AuditRecord.action == "rate_limit.clear")
        )
    assert record.actor_type == "CommandLine"
    assert "@" in record.actor
    assert record.target == "sign-in-failure:203.0.113.7"
    assert record.before == {
        "Counters": [
            {"Kind": "sign-in-failure", "Subject": "203.0.113.7", "Count": 10, "Blocking": True}
        ]
    }


def test_clear_without_match_changes_nothing(context: AppContext) -> None:
    count(context, ratelimit.SIGN_IN_FAILURES, "203.0.113.7", 1)

    result = hatchway(context, "clear", "--environment", "contoso")

    assert result.exit_code == 0
    assert "nothing changed" in result.stdout
    assert buckets(context) == ["sign-in-failure:203.0.113.7"]
    with context.database.read() as session:
        assert session.scalars(select(AuditRecord)).all() == []


def test_clear_unknown_kind_is_usage_error(context: AppContext) -> None:
    result = hatchway(context, "clear", "--kind", "signin")

    assert result.exit_code == 2
    assert "--kind 'signin' is not a rate limit; use one of provisioning-key-failure" in (
        result.stderr
    )


def test_clear_lifts_provisioning_key_block(context: AppContext, client: TestClient) -> None:
    block_address(client)
    blocked = client.get(
        "/Provisioning/Environment/", headers={"ProvisioningKey": PROVISIONING_KEY}
    )
    assert blocked.status_code == 429

    result = hatchway(context, "clear", "--address", "testclient")
    context.provisioning_keys.refresh_seconds = 0

    assert result.exit_code == 0, result.output
    lifted = client.get("/Provisioning/Environment/", headers={"ProvisioningKey": PROVISIONING_KEY})
    assert lifted.status_code == 200
