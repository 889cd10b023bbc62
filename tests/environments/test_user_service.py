"""The user service functions behind the users page: search, counts, and field checks."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient

from hatchway.audit.service import SYSTEM_ACTOR
from hatchway.context import AppContext
from hatchway.db.models import Environment
from hatchway.environments import service
from hatchway.environments.service import UserInput
from hatchway.errors import ValidationFailed
from tests.support.accounts import add_user, create_environment


@pytest.fixture
def environment(api: TestClient) -> str:
    name = create_environment(api)
    add_user(api, name, "grace.hopper@contoso.test", is_administrator=True, password=None)
    for email, first, last in (
        ("alan@contoso.test", "Alan", "Turing"),
        ("kj@contoso.test", "Katherine", "Johnson"),
        ("percent_50@contoso.test", "Per", "Cent"),
    ):
        response = api.post(
            f"/{name}/User/", json={"EmailAddress": email, "FirstName": first, "LastName": last}
        )
        assert response.status_code == 200, response.text
    return name


def search(context: AppContext, name: str, term: str, limit: int = 100) -> tuple[list[str], int]:
    with context.database.read() as session:
        environment = service.get_environment(session, name)
        users, total = service.search_users(session, environment, term, limit=limit)
        return [user.email for user in users], total


def load(context: AppContext, name: str) -> Environment:
    with context.database.read() as session:
        return service.get_environment(session, name)


def test_search_matches_email_in_any_case(context: AppContext, environment: str) -> None:
    assert search(context, environment, "ALAN@") == (["alan@contoso.test"], 1)


def test_search_matches_full_name(context: AppContext, environment: str) -> None:
    assert search(context, environment, "katherine joh") == (["kj@contoso.test"], 1)


def test_search_treats_wildcards_literally(context: AppContext, environment: str) -> None:
    assert search(context, environment, "t_50") == (["percent_50@contoso.test"], 1)
    assert search(context, environment, "%") == ([], 0)


def test_empty_search_lists_everyone(context: AppContext, environment: str) -> None:
    emails, total = search(context, environment, "  ")

    assert total == 5
    assert emails[0] == "admin@contoso.test"


def test_search_limit_keeps_total(context: AppContext, environment: str) -> None:
    emails, total = search(context, environment, "contoso", limit=2)

    assert len(emails) == 2
    assert total == 5


def test_search_with_nul_finds_nothing(context: AppContext, environment: str) -> None:
    assert search(context, environment, "al\x00an") == ([], 0)


def test_counts_administrators_with_password(context: AppContext, environment: str) -> None:
    with context.database.read() as session:
        db_environment = service.get_environment(session, environment)
        assert service.active_administrator_count(session, db_environment) == 2
        assert service.active_administrators_with_password(session, db_environment) == 1
        assert service.count_users(session, db_environment) == 5


def test_create_rejects_nul_in_name(context: AppContext, environment: str) -> None:
    with pytest.raises(ValidationFailed) as raised, context.database.write() as session:
        db_environment = service.get_environment(session, environment)
        service.create_user(
            session,
            db_environment,
            UserInput(email="nul@contoso.test", first_name="Nu\x00ll"),
            actor=SYSTEM_ACTOR,
            now=context.now(),
        )

    (result,) = raised.value.results
    assert result.member_names == ("FirstName",)
    assert result.message == (
        "FirstName contains at position 3 a NUL character (U+0000); remove it."
    )


def test_update_rejects_password_equal_to_email(api: TestClient, environment: str) -> None:
    user_id = add_user(api, environment, "samepass@contoso.test", is_administrator=False)

    response = api.put(f"/{environment}/User/{user_id}", json={"Password": "samepass@contoso.test"})

    assert response.status_code == 400
    assert response.json() == [
        {
            "MemberNames": ["Password"],
            "ErrorMessage": "Password is the e-mail address or its user part; choose one that "
            "is hard to guess.",
        }
    ]
