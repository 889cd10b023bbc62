"""Fast bulk seeding of environments and users, straight into Hatchway's tables."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Engine, func, insert, select

from hatchway.db.models import Environment, SsoSettings, User
from hatchway.environments.passwords import hash_password

USERS_PER_ENVIRONMENT = 100
BATCH_ENVIRONMENTS = 200


def environment_name(index: int) -> str:
    return f"bench{index:05d}"


def user_email(environment: str, index: int) -> str:
    return f"user{index}@{environment}.test"


def seed(engine: Engine, up_to: int) -> None:
    """Add environments (each with 100 users and SSO settings row) until there are `up_to`.

    The first user of each environment is an administrator with a password, as Hatchway's own
    create call makes one; without it, Hatchway refuses unverified SSO settings (the PUT with
    ?verify=false) because they could lock every administrator out.
    """
    now = datetime.now(UTC)
    admin_password_hash = hash_password("bench-administrator-password")
    with engine.connect() as connection:
        existing = int(connection.scalar(select(func.count()).select_from(Environment)) or 0)
    for first in range(existing, up_to, BATCH_ENVIRONMENTS):
        last = min(first + BATCH_ENVIRONMENTS, up_to)
        names = [environment_name(index) for index in range(first, last)]
        with engine.begin() as connection:
            connection.execute(
                insert(Environment),
                [
                    {"name": name, "is_active": True, "created_at": now, "updated_at": now}
                    for name in names
                ],
            )
            ids = dict(
                connection.execute(
                    select(Environment.name, Environment.id).where(Environment.name.in_(names))
                ).all()
            )
            connection.execute(
                insert(SsoSettings),
                [
                    {"environment_id": ids[name], "mode": "None", "version": 0, "updated_at": now}
                    for name in names
                ],
            )
            connection.execute(
                insert(User),
                [
                    {
                        "environment_id": ids[name],
                        "email": user_email(name, index),
                        "email_key": user_email(name, index),
                        "first_name": "Bench",
                        "last_name": f"User {index}",
                        "is_administrator": index == 0,
                        "password_hash": admin_password_hash if index == 0 else None,
                        "is_active": True,
                        "password_is_temporary": False,
                        "created_at": now,
                        "updated_at": now,
                    }
                    for name in names
                    for index in range(USERS_PER_ENVIRONMENT)
                ],
            )
