"""Engine, sessions and migrations for SQLite (default) and PostgreSQL.

Alembic is imported only when a migration runs or the newest revision is looked up, because
it adds about 10 MiB to every process that imports it, and serving requests never needs it.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

if TYPE_CHECKING:
    from alembic.config import Config

logger = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
_WRITE_OPTION = "hatchway_write"


def normalize_database_url(url: str) -> str:
    """Pick the psycopg 3 driver for plain PostgreSQL URLs, which SQLAlchemy maps to psycopg2."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def _configure_sqlite(dbapi_connection: Any, _record: Any) -> None:
    # Let SQLAlchemy's "begin" event below issue BEGIN itself instead of the sqlite3 module.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def _begin_sqlite(connection: Connection) -> None:
    # A write transaction takes the write lock at BEGIN: a deferred one that reads first and
    # writes later fails at once (SQLITE_BUSY) when another writer committed in between.
    if connection.get_execution_options().get(_WRITE_OPTION):
        connection.exec_driver_sql("BEGIN IMMEDIATE")
    else:
        connection.exec_driver_sql("BEGIN")


def sqlite_file(url: str) -> Path | None:
    """Return the file of an SQLite URL, or None for PostgreSQL and in-memory SQLite."""
    parsed = make_url(normalize_database_url(url))
    if parsed.get_backend_name() != "sqlite" or not parsed.database:
        return None
    if parsed.database == ":memory:":
        return None
    return Path(parsed.database)


def _create_private_file(path: Path) -> None:
    """Create an empty SQLite file readable by its owner only, unless the file exists.

    SQLite creates the -wal and -shm files with the mode of the database file.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return
    os.close(descriptor)


def create_database_engine(url: str) -> Engine:
    """Create the engine; SQLite gets WAL, foreign keys and a busy timeout on every connection.

    A missing SQLite file is created, readable by its owner only.
    """
    url = normalize_database_url(url)
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        path = sqlite_file(url)
        if path is not None:
            _create_private_file(path)
        engine = create_engine(
            url, connect_args={"check_same_thread": False, "timeout": 10}, pool_size=20
        )
        event.listen(engine, "connect", _configure_sqlite)
        event.listen(engine, "begin", _begin_sqlite)
        return engine
    return create_engine(url, pool_size=10, max_overflow=20, pool_pre_ping=True)


class Database:
    """The engine and two kinds of transactions: reads, and writes that serialize on SQLite.

    On PostgreSQL a write transaction is an ordinary READ COMMITTED one; services that must
    serialize on a row lock it with SELECT ... FOR UPDATE.
    """

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._read_factory = sessionmaker(bind=engine, expire_on_commit=False)
        self._write_engine = engine.execution_options(**{_WRITE_OPTION: True})
        self._write_factory = sessionmaker(bind=self._write_engine, expire_on_commit=False)

    @property
    def backend(self) -> str:
        return self.engine.url.get_backend_name()

    @contextmanager
    def read(self) -> Iterator[Session]:
        """Open a transaction for reading; it commits at the end so that small writes stay."""
        with self._read_factory() as session, session.begin():
            yield session

    @contextmanager
    def write(self) -> Iterator[Session]:
        """Open a transaction that commits when the block ends normally and rolls back on error."""
        with self._write_factory() as session, session.begin():
            yield session

    @contextmanager
    def write_connection(self) -> Iterator[Connection]:
        """Open a write transaction on a Core connection, for hot paths that need no ORM.

        It serializes on SQLite like `write` and commits or rolls back in the same way.
        """
        with self._write_engine.begin() as connection:
            yield connection

    def dispose(self) -> None:
        self.engine.dispose()


def _alembic_config(engine: Engine) -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["engine"] = engine
    return config


def upgrade_database(engine: Engine) -> None:
    """Apply every pending Alembic migration."""
    from alembic import command

    logger.info("database.migrate.start backend=%s", engine.url.get_backend_name())
    command.upgrade(_alembic_config(engine), "head")
    logger.info("database.migrate.done revision=%s", current_revision(engine))


def current_revision(engine: Engine) -> str | None:
    """Return the revision the database is at, or None before the first migration."""
    with engine.connect() as connection:
        if not engine.dialect.has_table(connection, "alembic_version"):
            return None
        # Alembic's own version table; one row while the migrations form one line.
        revision = connection.scalar(text("SELECT version_num FROM alembic_version"))
    return None if revision is None else str(revision)


def head_revision(engine: Engine) -> str | None:
    """Return the newest migration shipped with this code."""
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(_alembic_config(engine)).get_current_head()


def is_unique_violation(error: IntegrityError) -> bool:
    """Tell whether an IntegrityError comes from a unique constraint (not a foreign key)."""
    sqlstate = getattr(error.orig, "sqlstate", None)
    if sqlstate is not None:
        # PostgreSQL's unique_violation.
        return bool(sqlstate == "23505")
    return str(error.orig).startswith("UNIQUE constraint failed")
