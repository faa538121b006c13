"""The history's database: SQLite (embedded, the default) or PostgreSQL (shared by replicas), behind one small shape.

    db = open_database("sqlite:///data/history.sqlite3")          # or a plain path; or postgresql://user@host/db
    with db.transaction() as tx:                                  # BEGIN IMMEDIATE / BEGIN
        tx.execute("SELECT * FROM generations WHERE id = ?", [gid]).fetchone()   # a row: row["id"], row[0], dict(row)

SQL is written once, with ``?`` placeholders (never a ``?`` or ``%`` inside the SQL text itself: values go in
parameters); on PostgreSQL they become ``%s``. What differs between the engines is named here, on ``Dialect``
(the insertion-order column, the substring function, a case-blind LIKE), not spelled out in the queries.

SQLite: the standard library's ``sqlite3``, WAL, a busy timeout, foreign keys. PostgreSQL: psycopg 3 (the optional
``replicas`` extra), imported only for a ``postgresql://`` URL, so ``python app.py`` needs nothing more. Each store
holds one connection guarded by a lock (its calls run on one worker thread anyway); a broken PostgreSQL connection
is opened again at the next transaction.
"""

from __future__ import annotations

import enum
import logging
import re
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlsplit, urlunsplit

log = logging.getLogger(__name__)


class Lock(enum.IntEnum):
    """What transactions serialize on across processes (PostgreSQL's advisory lock keys; on SQLite every write
    transaction is serialized already)."""

    MIGRATIONS = 0x5354_5544_0001  # applying the named migrations (replicas starting together)
    SPENDING = 0x5354_5544_0002  # a spend check and the rows it counts


@dataclass(frozen=True)
class Dialect:
    """What the SQL of one engine spells differently."""

    name: str  # "sqlite" or "postgresql": the key of a migration's per-engine script
    order_column: str  # a column that grows with each insert (ties of equal timestamps keep insertion order)
    position: str  # position of a substring: f"{position}(haystack, needle)" > 0 when it is there
    like: str  # LIKE blind to ASCII case (SQLite's LIKE is; PostgreSQL's is not)


SQLITE = Dialect(name="sqlite", order_column="rowid", position="instr", like="LIKE")
POSTGRESQL = Dialect(name="postgresql", order_column="seq", position="strpos", like="ILIKE")


class Cursor(Protocol):
    rowcount: int

    def fetchone(self) -> Any: ...

    def fetchall(self) -> list[Any]: ...


class Connection(Protocol):
    """What a transaction offers: ``execute`` with ``?`` placeholders; rows read by name or position."""

    def execute(self, sql: str, args: Sequence[Any] = ()) -> Cursor: ...


class Database(Protocol):
    dialect: Dialect
    description: str  # the engine and where it is, for the startup message (never a password)

    def transaction(self) -> Any:
        """A context manager: one transaction that serializes with other writers, yielding a ``Connection``."""

    def serialize(self, tx: Connection, what: Lock) -> None:
        """Within ``tx``: wait until no other process is within a transaction serialized on ``what``."""

    def compact(self) -> None: ...

    def close(self) -> None: ...


def open_database(url: str | Path) -> Database:
    """The database at ``url``: ``postgresql://...`` (or ``postgres://``), ``sqlite:///path``, or a file path."""
    text = str(url)
    if is_postgresql(text):
        return PostgresDatabase(text)
    return SqliteDatabase(sqlite_path(text))


def is_postgresql(url: str) -> bool:
    return url.startswith(("postgresql://", "postgres://"))


def sqlite_path(url: str) -> Path:
    """The file a ``sqlite:///relative/path`` or ``sqlite:////absolute/path`` URL (or a plain path) names."""
    return Path(url.removeprefix("sqlite:///"))


def statements(script: str) -> Iterator[str]:
    """The statements of a migration script (``--`` comments dropped)."""
    lines = [line.split("--", 1)[0] for line in script.splitlines()]
    for statement in "\n".join(lines).split(";"):
        if statement.strip():
            yield statement.strip()


# --- SQLite ----------------------------------------------------------------------------------------------------


class SqliteDatabase:
    """One SQLite file (WAL): every transaction ``BEGIN IMMEDIATE``, so writers in other processes wait their turn."""

    dialect = SQLITE

    def __init__(self, path: Path) -> None:
        self.path = path
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.description = f"SQLite, {path.resolve()}"
        self._lock = threading.Lock()
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.row_factory = sqlite3.Row
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA foreign_keys=ON")
        self._db.execute("PRAGMA busy_timeout=5000")

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def serialize(self, tx: Connection, what: Lock) -> None:
        """Nothing more to do: ``BEGIN IMMEDIATE`` already holds the file's write lock until the commit."""

    def compact(self) -> None:
        """Write the write-ahead log into the database and truncate it (it otherwise keeps its largest size)."""
        with self._lock:
            self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    def close(self) -> None:
        with self._lock:
            self._db.close()


# --- PostgreSQL ------------------------------------------------------------------------------------------------

_PLACEHOLDER = re.compile(r"\?")


class _Row(dict[str, Any]):
    """A row read by column name, by position (``row[0]``, as ``sqlite3.Row``), or copied whole with ``dict(row)``."""

    def __getitem__(self, key: Any) -> Any:
        if isinstance(key, int):
            return list(self.values())[key]
        return super().__getitem__(key)


def _rows(cursor: Any) -> Any:
    names = [column.name for column in cursor.description or ()]
    return lambda values: _Row(zip(names, values))


class _PgConnection:
    """A psycopg connection that takes the studio's ``?`` SQL."""

    def __init__(self, conn: Any) -> None:
        self._conn = conn

    def execute(self, sql: str, args: Sequence[Any] = ()) -> Any:
        return self._conn.execute(_PLACEHOLDER.sub("%s", sql.replace("%", "%%")), list(args))


class PostgresDatabase:
    """A PostgreSQL database shared by the studio's replicas (psycopg 3, one connection per store)."""

    dialect = POSTGRESQL

    def __init__(self, url: str) -> None:
        self.url = url
        self.description = f"PostgreSQL, {database_address(url)}"
        self._lock = threading.Lock()
        self._conn: Any = None
        with self._lock:
            self._connect()

    def _connect(self) -> Any:
        try:
            import psycopg
        except ImportError:  # the optional extra: pip install -e ".[replicas]"
            raise RuntimeError(
                "STUDIO_DATABASE_URL names PostgreSQL, which needs psycopg: pip install 'psycopg[binary]'"
            ) from None
        if self._conn is None or self._conn.closed or self._conn.broken:
            # Client-side binding (as sqlite3 does): no server-side type guesses for a bare "? IS NULL".
            self._conn = psycopg.connect(
                self.url, autocommit=True, row_factory=_rows, cursor_factory=psycopg.ClientCursor
            )
        return self._conn

    @contextmanager
    def transaction(self) -> Iterator[_PgConnection]:
        with self._lock:
            conn = self._begin()
            try:
                yield _PgConnection(conn)
            except BaseException:
                if not conn.broken:
                    conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")

    def _begin(self) -> Any:
        """BEGIN on the store's connection; one found broken then (the server restarted, a failover, an idle
        timeout) is opened again and BEGIN sent once more: nothing of the transaction had run yet."""
        conn = self._connect()
        try:
            conn.execute("BEGIN")
        except Exception:
            if not conn.broken:
                raise
            log.warning("the PostgreSQL connection was lost; connecting again")
            conn = self._connect()
            conn.execute("BEGIN")
        return conn

    def serialize(self, tx: Connection, what: Lock) -> None:
        """A transaction-scoped advisory lock: the others serialized on ``what`` wait until this one ends."""
        tx.execute(f"SELECT pg_advisory_xact_lock({int(what)})")

    def compact(self) -> None:
        """Nothing to do: PostgreSQL's autovacuum keeps its files in bounds."""

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()


def database_address(url: str) -> str:
    """A database URL fit to print: no ``user:password@``, no query (libpq takes ``?password=`` there too)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    netloc = f"{host}:{parts.port}" if parts.port else host
    return urlunsplit(parts._replace(netloc=netloc, query=""))
