"""The history store: every generation, its status changes, its output, in SQLite (WAL) or PostgreSQL (shared by
replicas), with named migrations run against both (``studio.db``).

A row is written before the create call is sent, and updated on every change, so a task that was paid for is
never forgotten: not when the tab closes, not when the studio restarts. No API key is ever written here.

Blocking (sqlite3, psycopg): the service calls it from worker threads. One connection, guarded by a lock.

Replicas of the studio on one PostgreSQL database cooperate through leases (``take_lease``): a named claim with an
expiry, taken and renewed in the database, so each unfinished generation is followed by one replica at a time.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import re
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from studio.db import Connection, Database, Lock, open_database, statements
from studio.i18n import Message
from studio.i18n import dumps as dump_text
from studio.i18n import loads as load_text
from studio.phases import ENDED

T = TypeVar("T")

Script = str | Mapping[str, str]  # one script for every engine, or one per engine (``studio.db.Dialect.name``)


def _with(script: str, *, postgresql: str) -> dict[str, str]:
    """A script shared by both engines, with more statements on PostgreSQL."""
    return {"sqlite": script, "postgresql": script + postgresql}


# On PostgreSQL, what SQLite keeps implicitly: a column that grows with each insert (SQLite's rowid).
_SEQ = "ALTER TABLE {} ADD COLUMN seq BIGSERIAL;"

# Named migrations, applied in order, each once. Never edit an applied one: add the next. A column typed REAL is an
# 8-byte float on SQLite; on PostgreSQL it is created as DOUBLE PRECISION (its REAL has 4 bytes).
MIGRATIONS: tuple[tuple[str, Script], ...] = (
    (
        "0001_generations",
        _with(
            """
        CREATE TABLE generations (
            id TEXT PRIMARY KEY,
            visitor TEXT NOT NULL,
            provider TEXT NOT NULL,
            endpoint TEXT NOT NULL,
            model TEXT NOT NULL,
            form TEXT NOT NULL,               -- the form as sent, inputs as files in the data dir; never a key
            task_id TEXT,
            status TEXT NOT NULL,
            progress REAL,
            failure_code TEXT,
            failure_reason TEXT,
            estimated_credits INTEGER,
            output_path TEXT,
            created_at REAL NOT NULL,
            updated_at REAL NOT NULL
        );
        CREATE INDEX generations_by_visitor ON generations (visitor, created_at DESC);
        CREATE TABLE status_changes (
            generation_id TEXT NOT NULL REFERENCES generations (id) ON DELETE CASCADE,
            at REAL NOT NULL,
            status TEXT NOT NULL,
            progress REAL,
            detail TEXT
        );
        CREATE INDEX status_changes_by_generation ON status_changes (generation_id, at);
        """,
            postgresql=_SEQ.format("generations") + _SEQ.format("status_changes"),
        ),
    ),
    (
        "0002_vault_lineage_cost",
        """
        ALTER TABLE generations ADD COLUMN poster_path TEXT;
        ALTER TABLE generations ADD COLUMN parent_id TEXT REFERENCES generations (id) ON DELETE SET NULL;
        ALTER TABLE generations ADD COLUMN actual_credits REAL;
        ALTER TABLE generations ADD COLUMN key_source TEXT NOT NULL DEFAULT 'server key';
        ALTER TABLE generations ADD COLUMN seed INTEGER;
        ALTER TABLE generations ADD COLUMN output_seconds REAL;
        """,
    ),
    (
        "0003_failure_text",
        """
        ALTER TABLE generations ADD COLUMN failure_text TEXT;  -- failure_reason's catalog key and parameters (JSON)
        """,
    ),
    (
        # A form's values are named as the request's fields (studio.forms): prompt_text, expression_intensity.
        "0004_form_field_names",
        {
            "sqlite": """
        UPDATE generations SET form = json_remove(json_set(form, '$.prompt_text', json_extract(form, '$.prompt')),
                                                  '$.prompt')
            WHERE json_type(form, '$.prompt') IS NOT NULL;
        UPDATE generations SET form = json_remove(
                json_set(form, '$.expression_intensity', json_extract(form, '$.intensity')), '$.intensity')
            WHERE json_type(form, '$.intensity') IS NOT NULL;
        """,
            "postgresql": """
        UPDATE generations SET form = ((form::jsonb - 'prompt')
                || jsonb_build_object('prompt_text', form::jsonb -> 'prompt'))::text
            WHERE form::jsonb -> 'prompt' IS NOT NULL;
        UPDATE generations SET form = ((form::jsonb - 'intensity')
                || jsonb_build_object('expression_intensity', form::jsonb -> 'intensity'))::text
            WHERE form::jsonb -> 'intensity' IS NOT NULL;
        """,
        },
    ),
    (
        # History as a gallery: stars, soft delete (undo), prompt search, and one index each page is read from.
        "0005_gallery",
        {
            engine: f"""
        ALTER TABLE generations ADD COLUMN starred INTEGER NOT NULL DEFAULT 0;
        ALTER TABLE generations ADD COLUMN deleted_at REAL;  -- hidden since then; purged after the undo window
        ALTER TABLE generations ADD COLUMN prompt_text TEXT NOT NULL DEFAULT '';  -- the form's prompt, searched
        UPDATE generations SET prompt_text = COALESCE({prompt}, '');
        CREATE INDEX generations_listed ON generations (visitor, deleted_at, created_at DESC);
        CREATE INDEX generations_deleted ON generations (deleted_at) WHERE deleted_at IS NOT NULL;
        """
            for engine, prompt in (
                ("sqlite", "CAST(json_extract(form, '$.prompt_text') AS TEXT)"),
                ("postgresql", "form::jsonb ->> 'prompt_text'"),
            )
        },
    ),
    (
        # A purged generation keeps its row, without its form and files, so what it cost still counts against the
        # daily caps (deleting a clip must not give its credits back).
        "0006_purged",
        """
        ALTER TABLE generations ADD COLUMN purged_at REAL;
        """,
    ),
    (
        # Identity (studio.identity): the client address each generation came from (anonymous visitors' spending is
        # also capped per address), and the visitors the server issued a token to (new visitors per address a day).
        "0007_identity",
        """
        ALTER TABLE generations ADD COLUMN address TEXT;  -- NULL for signed-in accounts and older rows
        CREATE INDEX generations_by_address ON generations (address, created_at) WHERE address IS NOT NULL;
        CREATE TABLE visitors (
            visitor TEXT PRIMARY KEY,
            address TEXT NOT NULL,
            created_at REAL NOT NULL
        );
        CREATE INDEX visitors_by_address ON visitors (address, created_at);
        """,
    ),
    (
        # Bounded disk: the retention policy removes a generation's files and keeps its row, marked.
        "0008_retention",
        """
        ALTER TABLE generations ADD COLUMN removed_at REAL;  -- its files were removed by the retention policy then
        CREATE INDEX generations_retained ON generations (created_at) WHERE removed_at IS NULL AND starred = 0;
        """,
    ),
    (
        # Add sound (video_to_audio): the provider's audio file is kept beside the clip it was muxed into.
        "0009_audio",
        """
        ALTER TABLE generations ADD COLUMN audio_path TEXT;  -- the generated audio file, when the output is sound
        """,
    ),
    (
        # Storyboards (studio.storyboards): a visitor's shots in order, each a clip from History with its trim and
        # the transition into the next, kept as JSON; an export is a generation of its own kind (endpoint
        # 'storyboard') whose form names the storyboard and its shots.
        "0010_storyboards",
        _with(
            """
        CREATE TABLE storyboards (
            id TEXT PRIMARY KEY,
            visitor TEXT NOT NULL,
            name TEXT NOT NULL,
            shots TEXT NOT NULL DEFAULT '[]',  -- [{"generation_id", "in_s", "out_s", "crossfade_frames"}]
            fit TEXT NOT NULL DEFAULT 'crop',  -- how shots of another size fit the first's: crop or pad
            created_at REAL NOT NULL,
            updated_at REAL NOT NULL
        );
        CREATE INDEX storyboards_by_visitor ON storyboards (visitor, updated_at DESC);
        """,
            postgresql=_SEQ.format("storyboards"),
        ),
    ),
    (
        # Replicas (studio.service): a named claim held by one replica until it expires unless renewed; for
        # "following generation <id>" and for "retention" (the upkeep one replica runs at a time).
        "0011_leases",
        """
        CREATE TABLE leases (
            name TEXT PRIMARY KEY,
            owner TEXT NOT NULL,  -- the replica holding it (STUDIO_REPLICA_ID)
            expires_at REAL NOT NULL  -- the store's clock; its owner renews it before then
        );
        """,
    ),
)


@dataclass(frozen=True)
class Generation:
    """One row of history."""

    id: str
    visitor: str
    provider: str
    endpoint: str
    model: str
    form: dict[str, Any]
    status: str
    created_at: float
    updated_at: float
    task_id: str | None = None
    progress: float | None = None
    failure_code: str | None = None
    failure_reason: str | None = None
    estimated_credits: int | None = None
    actual_credits: float | None = None
    output_path: str | None = None
    poster_path: str | None = None
    parent_id: str | None = None
    key_source: str = "server key"
    seed: int | None = None
    output_seconds: float | None = None
    failure_text: str | None = None  # how to say failure_reason in another language (studio.i18n.dumps)
    starred: bool = False
    deleted_at: float | None = None  # deleted (hidden) since then; purged once the undo window has passed
    purged_at: float | None = None  # its form and files removed for good (the row stays: what it cost still counts)
    address: str | None = None  # the client address it came from (studio.identity); None for a signed-in account
    removed_at: float | None = None  # its files were removed then by the retention policy (the row stays)
    audio_path: str | None = None  # Add sound: the generated audio file kept beside the clip it was muxed into

    @property
    def terminal(self) -> bool:
        return self.status in ENDED

    @property
    def failure_message(self) -> Message | None:
        """``failure_reason`` as a translatable ``Msg`` when it was kept as one, else as it is (English)."""
        return load_text(self.failure_text, self.failure_reason)

    @property
    def prompt(self) -> str:
        return str(self.form.get("prompt_text") or "")


LEASE_TTL_S = 30.0  # a replica's leases last this long unless renewed (the default of STUDIO_LEASE_TTL_S)
RETENTION_LEASE = "retention"  # held by the one replica that runs the upkeep (purges, the disk policy)


def following(generation_id: str) -> str:
    """The name of the lease of the replica that follows a generation's task."""
    return f"following:{generation_id}"


@dataclass(frozen=True)
class StatusChange:
    at: float
    status: str
    progress: float | None
    detail: str | None


# What History's status filter offers, as the statuses each choice covers ("running": every status not ended).
STATUS_GROUPS: dict[str, tuple[str, ...]] = {
    "running": (),
    "succeeded": ("succeeded",),
    "failed": ("failed",),
    "cancelled": ("cancelled", "lost"),
}


@dataclass(frozen=True)
class HistoryFilter:
    """Which of a visitor's generations a History page lists; an empty field does not filter."""

    endpoint: str = ""  # or several, comma-separated (a tab's)
    model: str = ""
    status: str = ""  # a key of STATUS_GROUPS
    text: str = ""  # every word of it in the prompt (ASCII letters in any case)
    starred: bool = False

    @property
    def active(self) -> bool:
        return bool(self.endpoint or self.model or self.status or self.text.strip() or self.starred)

    def sql(self, *, like: str = "LIKE") -> tuple[str, list[Any]]:
        """The WHERE conditions this filter adds (each starting with AND) and their parameters; ``like`` is the
        engine's LIKE blind to ASCII case (``studio.db.Dialect.like``)."""
        parts: list[str] = []
        args: list[Any] = []

        def add(condition: str, *values: Any) -> None:
            parts.append(" AND " + condition)
            args.extend(values)

        if self.endpoint:  # one endpoint, or a tab's several, comma-separated (Finish: its passes' endpoints)
            endpoints = [e for e in self.endpoint.split(",") if e]
            add(f"endpoint IN ({','.join('?' * len(endpoints))})", *endpoints)
        if self.model:
            add("model = ?", self.model)
        group = STATUS_GROUPS.get(self.status)
        if group is not None:
            statuses = group or ENDED  # "running": every status not ended
            add(f"status {'IN' if group else 'NOT IN'} ({','.join('?' * len(statuses))})", *statuses)
        for word in self.text.split()[:8]:
            add(f"prompt_text {like} ? ESCAPE '\\'", f"%{_like_escaped(word)}%")
        if self.starred:
            add("starred = 1")
        return "".join(parts), args


def _like_escaped(word: str) -> str:
    """``word`` matched literally by LIKE (its % and _ are not wildcards)."""
    return word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


@dataclass(frozen=True)
class HistoryPage:
    """One page of a visitor's History, newest first, and the counts the page shows."""

    items: list[Generation]
    total: int  # the generations the filter matches
    everything: int  # all of the visitor's generations, whatever the filter
    running: int  # the visitor's generations not ended yet
    offset: int
    size: int


@dataclass
class NewGeneration:
    visitor: str
    provider: str
    endpoint: str
    model: str
    form: dict[str, Any]
    estimated_credits: int | None
    key_source: str
    seed: int | None
    output_seconds: float | None
    parent_id: str | None = None
    address: str | None = None  # the client address; None for a signed-in account (counted by account)
    id: str = field(default_factory=lambda: str(uuid.uuid4()))


class HistoryStore:
    """The studio's memory. Safe to share between threads.

    ``database``: a SQLite file's path, a ``sqlite:///path`` or ``postgresql://...`` URL, or an open ``Database``.
    ``clock``: the time rows and leases are stamped with (wall-clock seconds; replicas must agree on it)."""

    def __init__(self, database: str | Path | Database, *, clock: Callable[[], float] = time.time) -> None:
        self.db: Database = open_database(database) if isinstance(database, (str, Path)) else database
        self._clock = clock
        self._open = threading.local()  # the transaction open on this thread, which nested calls join
        self.applied = migrate(self.db)
        # Its own thread, so history writes never queue behind renders or image work on the default pool.
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="history")

    def now(self) -> float:
        """The store's clock (timestamps of rows and changes)."""
        return self._clock()

    async def run(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
        """Call one of this store's methods off the event loop, on the store's own thread."""
        return await asyncio.get_running_loop().run_in_executor(self._executor, functools.partial(fn, *args, **kwargs))

    @property
    def path(self) -> Path:
        """The SQLite file (only a SQLite store has one)."""
        path = getattr(self.db, "path", None)
        if not isinstance(path, Path):
            raise AttributeError(f"a history in {self.db.description} has no file")
        return path

    @property
    def order_column(self) -> str:
        """The column that keeps insertion order, for ties (``rowid`` on SQLite, ``seq`` on PostgreSQL)."""
        return self.db.dialect.order_column

    def close(self) -> None:
        self._executor.shutdown(wait=True)
        self.db.close()

    @contextlib.contextmanager
    def _tx(self) -> Iterator[Connection]:
        """A transaction; within one already open on this thread (``add_checked``'s check), that same one."""
        joined = getattr(self._open, "tx", None)
        if joined is not None:
            yield joined
            return
        with self.db.transaction() as db:
            self._open.tx = db
            try:
                yield db
            finally:
                self._open.tx = None

    def transaction(self) -> Any:
        """One transaction on the store's connection (serialized with other writers: ``BEGIN IMMEDIATE`` on SQLite),
        for the stores that share it (``studio.storyboards``). A context manager yielding a ``studio.db.Connection``.
        """
        return self._tx()

    # --- writing ---------------------------------------------------------------------------------------------

    def add(
        self, new: NewGeneration, *, status: str = "submitting", owner: str | None = None, lease_s: float = 0.0
    ) -> Generation:
        """Record a new generation; with ``owner``, that replica takes its lease (for ``lease_s``) with it."""
        with self._tx() as db:
            self._insert(db, new, status=status)
            if owner is not None:
                self._claim(db, following(new.id), owner, lease_s)
        found = self.get(new.id)
        assert found is not None
        return found

    def add_checked(self, news: list[NewGeneration], check: Callable[[], None], *, owner: str, lease_s: float) -> None:
        """Run ``check`` (the spend guard: it raises to refuse) and insert ``news`` in ONE transaction that every
        replica serializes on (``Lock.SPENDING``), so two replicas pressing at once cannot both pass a cap that
        only one of them fits under. Each new generation's lease is taken by ``owner`` in the same transaction."""
        with self._tx() as db:
            self.db.serialize(db, Lock.SPENDING)
            check()  # its reads join this transaction (``_tx``)
            for new in news:
                self._insert(db, new, status="submitting")
                self._claim(db, following(new.id), owner, lease_s)

    def _insert(self, db: Connection, new: NewGeneration, *, status: str) -> None:
        now = self._clock()
        db.execute(
            """INSERT INTO generations (id, visitor, provider, endpoint, model, form, status, estimated_credits,
               key_source, seed, output_seconds, parent_id, created_at, updated_at, prompt_text, address)
               VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
            (
                new.id,
                new.visitor,
                new.provider,
                new.endpoint,
                new.model,
                json.dumps(new.form),
                status,
                new.estimated_credits,
                new.key_source,
                new.seed,
                new.output_seconds,
                new.parent_id,
                now,
                now,
                str(new.form.get("prompt_text") or ""),
                new.address,
            ),
        )
        db.execute("INSERT INTO status_changes (generation_id, at, status) VALUES (?, ?, ?)", (new.id, now, status))

    def set_task(self, generation_id: str, task_id: str) -> None:
        with self._tx() as db:
            db.execute(
                "UPDATE generations SET task_id = ?, updated_at = ? WHERE id = ?",
                (task_id, self._clock(), generation_id),
            )

    def record(
        self,
        generation_id: str,
        status: str,
        *,
        progress: float | None = None,
        failure_code: str | None = None,
        failure_reason: Message | None = None,
    ) -> bool:
        """Update the status; a change of status (not a mere progress tick) is also logged. True when it changed.

        ``failure_reason`` is kept as its English text and, when it is a ``studio.i18n.Msg``, as its key and
        parameters too, so History can show it in the visitor's language."""
        now = self._clock()
        failure_text = dump_text(failure_reason)
        reason = None if failure_reason is None else str(failure_reason)
        with self._tx() as db:
            row = db.execute("SELECT status FROM generations WHERE id = ?", (generation_id,)).fetchone()
            if row is None or row["status"] in ENDED:
                return False  # a finished generation is never reopened (and a deleted one stays deleted)
            db.execute(
                """UPDATE generations SET status = ?, progress = COALESCE(?, progress),
                   failure_code = COALESCE(?, failure_code),
                   failure_reason = COALESCE(?, failure_reason),
                   failure_text = CASE WHEN ? IS NULL THEN failure_text ELSE ? END, updated_at = ? WHERE id = ?""",
                (status, progress, failure_code, reason, reason, failure_text, now, generation_id),
            )
            if status in ENDED:  # nobody needs to follow it any more
                db.execute("DELETE FROM leases WHERE name = ?", (following(generation_id),))
            changed = row["status"] != status
            if changed:
                db.execute(
                    "INSERT INTO status_changes (generation_id, at, status, progress, detail) VALUES (?, ?, ?, ?, ?)",
                    (generation_id, now, status, progress, reason),
                )
            return changed

    def set_output(
        self,
        generation_id: str,
        *,
        output_path: str,
        poster_path: str | None,
        actual_credits: float | None,
        audio_path: str | None = None,
    ) -> None:
        with self._tx() as db:
            db.execute(
                "UPDATE generations SET output_path = ?, poster_path = ?, audio_path = ?, actual_credits = ?,"
                " updated_at = ? WHERE id = ?",
                (output_path, poster_path, audio_path, actual_credits, self._clock(), generation_id),
            )

    def set_cost(self, generation_id: str, credits: float) -> None:
        """What the provider charged for a task that ended without a clip (moderated: charged; cancelled: 0)."""
        with self._tx() as db:
            db.execute(
                "UPDATE generations SET actual_credits = ?, updated_at = ? WHERE id = ?",
                (credits, self._clock(), generation_id),
            )

    def set_starred(self, generation_id: str, *, visitor: str, starred: bool) -> bool:
        """Star or unstar a visitor's own generation. False when it is not theirs (or deleted)."""
        with self._tx() as db:
            cursor = db.execute(
                "UPDATE generations SET starred = ? WHERE id = ? AND visitor = ? AND deleted_at IS NULL",
                (int(starred), generation_id, visitor),
            )
            return cursor.rowcount == 1

    def soft_delete(self, generation_id: str, *, visitor: str) -> Generation | None:
        """Hide a visitor's own generation now (``deleted_at``); ``restore`` brings it back until ``purge`` removes
        it. Returns what was hidden, or None when it is not theirs or already deleted."""
        found = self.get(generation_id, visitor=visitor)
        if found is None:
            return None
        with self._tx() as db:
            db.execute(
                "UPDATE generations SET deleted_at = ? WHERE id = ? AND visitor = ? AND deleted_at IS NULL",
                (self._clock(), generation_id, visitor),
            )
        return found

    def restore(self, generation_id: str, *, visitor: str) -> bool:
        """Undo a delete not purged yet. False when there is nothing of theirs to restore."""
        with self._tx() as db:
            cursor = db.execute(
                "UPDATE generations SET deleted_at = NULL"
                " WHERE id = ? AND visitor = ? AND deleted_at IS NOT NULL AND purged_at IS NULL",
                (generation_id, visitor),
            )
            return cursor.rowcount == 1

    def deleted_before(self, cutoff: float, *, visitor: str | None = None) -> list[Generation]:
        """The deleted generations (of ``visitor``, or everyone's) deleted at or before ``cutoff``: due a purge."""
        query = "SELECT * FROM generations WHERE deleted_at IS NOT NULL AND deleted_at <= ? AND purged_at IS NULL"
        args: list[Any] = [cutoff]
        if visitor is not None:
            query, args = query + " AND visitor = ?", args + [visitor]
        with self._tx() as db:
            rows = db.execute(query, args).fetchall()
        return [_generation(r) for r in rows]

    def purge(self, generation_id: str) -> bool:
        """Forget a deleted generation's form and files for good (the files are the caller's to delete). The row
        stays, hidden, with what it cost: the daily caps still count it. Only a row deleted before, and not purged
        yet, is purged: a restored one stays."""
        with self._tx() as db:
            cursor = db.execute(
                """UPDATE generations SET purged_at = ?, form = '{}', prompt_text = '', output_path = NULL,
                       poster_path = NULL, audio_path = NULL
                   WHERE id = ? AND deleted_at IS NOT NULL AND purged_at IS NULL""",
                (self._clock(), generation_id),
            )
            return cursor.rowcount == 1

    def retention_candidates(self, *, made_before: float | None = None, limit: int = 200) -> list[Generation]:
        """What the retention policy may remove, oldest first: ended, not starred, not deleted (a purge removes
        those), files not removed yet; with ``made_before``, only those made before it."""
        marks = ",".join("?" * len(ENDED))
        query = (
            f"SELECT * FROM generations WHERE removed_at IS NULL AND starred = 0 AND deleted_at IS NULL"
            f" AND status IN ({marks})"
        )
        args: list[Any] = list(ENDED)
        if made_before is not None:
            query, args = query + " AND created_at < ?", args + [made_before]
        with self._tx() as db:
            rows = db.execute(query + f" ORDER BY created_at, {self.order_column} LIMIT ?", [*args, limit]).fetchall()
        return [_generation(r) for r in rows]

    def mark_removed(self, generation_id: str) -> bool:
        """Mark a generation's files removed by the retention policy (its clip and poster paths cleared), unless it
        was starred, deleted or reopened meanwhile. True when it was marked: its files are the caller's to delete."""
        marks = ",".join("?" * len(ENDED))
        with self._tx() as db:
            cursor = db.execute(
                f"UPDATE generations SET removed_at = ?, output_path = NULL, poster_path = NULL, audio_path = NULL"
                f" WHERE id = ?"
                f" AND removed_at IS NULL AND starred = 0 AND deleted_at IS NULL AND status IN ({marks})",
                [self._clock(), generation_id, *ENDED],
            )
            return cursor.rowcount == 1

    def compact(self) -> None:
        """Write SQLite's write-ahead log into the database and truncate it (it otherwise keeps its largest size)."""
        self.db.compact()

    # --- reading ---------------------------------------------------------------------------------------------

    def mentions(self, text: str, *, besides: str | None = None) -> bool:
        """Whether any generation whose files are kept (not removed by the retention policy), other than
        ``besides``, has a form that mentions ``text``: a kept input shared by several generations (the takes of
        one press, or the same image sent again) stays while one of them uses it."""
        query = f"SELECT 1 FROM generations WHERE {self.db.dialect.position}(form, ?) > 0 AND removed_at IS NULL"
        args: list[Any] = [text]
        if besides is not None:
            query, args = query + " AND id != ?", args + [besides]
        with self._tx() as db:
            return db.execute(query + " LIMIT 1", args).fetchone() is not None

    def get(self, generation_id: str, *, visitor: str | None = None) -> Generation | None:
        """A generation by id; with ``visitor``, only when it is theirs and not deleted."""
        query, args = "SELECT * FROM generations WHERE id = ?", [generation_id]
        if visitor is not None:
            query, args = query + " AND visitor = ? AND deleted_at IS NULL", args + [visitor]
        with self._tx() as db:
            row = db.execute(query, args).fetchone()
        return _generation(row) if row else None

    def for_visitor(self, visitor: str, *, limit: int = 200) -> list[Generation]:
        """A visitor's generations, newest first."""
        return self.page(visitor, size=limit).items

    def page(self, visitor: str, *, where: HistoryFilter | None = None, offset: int = 0, size: int = 24) -> HistoryPage:
        """One page of a visitor's generations, newest first, read with LIMIT/OFFSET on the
        (visitor, deleted_at, created_at) index: only the page's rows are read, however long the history."""
        conditions, args = (where or HistoryFilter()).sql(like=self.db.dialect.like)
        mine = "FROM generations WHERE visitor = ? AND deleted_at IS NULL"
        marks = ",".join("?" * len(ENDED))
        with self._tx() as db:
            rows = db.execute(
                f"SELECT * {mine}{conditions} ORDER BY created_at DESC, {self.order_column} DESC LIMIT ? OFFSET ?",
                [visitor, *args, size, max(0, offset)],
            ).fetchall()
            total = db.execute(f"SELECT COUNT(*) {mine}{conditions}", [visitor, *args]).fetchone()[0]
            everything = total if not conditions else db.execute(f"SELECT COUNT(*) {mine}", [visitor]).fetchone()[0]
            running = db.execute(f"SELECT COUNT(*) {mine} AND status NOT IN ({marks})", [visitor, *ENDED]).fetchone()
        return HistoryPage([_generation(r) for r in rows], total, everything, running[0], max(0, offset), size)

    def models_of(self, visitor: str) -> list[str]:
        """The models a visitor's generations used (History's model filter offers these)."""
        with self._tx() as db:
            rows = db.execute(
                "SELECT DISTINCT model FROM generations WHERE visitor = ? AND deleted_at IS NULL ORDER BY model",
                (visitor,),
            ).fetchall()
        return [r[0] for r in rows]

    def unfinished(self) -> list[Generation]:
        """Every generation not yet at an end and not deleted, oldest first (the reconciler's work list)."""
        marks = ",".join("?" * len(ENDED))
        with self._tx() as db:
            rows = db.execute(
                f"SELECT * FROM generations WHERE status NOT IN ({marks}) AND deleted_at IS NULL ORDER BY created_at",
                ENDED,
            ).fetchall()
        return [_generation(r) for r in rows]

    def changes(self, generation_id: str) -> list[StatusChange]:
        with self._tx() as db:
            rows = db.execute(
                "SELECT at, status, progress, detail FROM status_changes WHERE generation_id = ?"
                f" ORDER BY at, {self.order_column}",
                (generation_id,),
            ).fetchall()
        return [StatusChange(r["at"], r["status"], r["progress"], r["detail"]) for r in rows]

    def lineage(self, generation_id: str, *, visitor: str) -> list[Generation]:
        """The chain of parents of a generation, oldest first, ending with the generation itself."""
        chain: list[Generation] = []
        current = self.get(generation_id, visitor=visitor)
        while current is not None and len(chain) < 100:
            chain.append(current)
            current = self.get(current.parent_id, visitor=visitor) if current.parent_id else None
        return list(reversed(chain))

    def server_key_credits_since(self, since: float, *, visitor: str | None = None, address: str | None = None) -> int:
        """Credits of what the server key created since ``since``: what the provider charged once known, else the
        estimate (tasks in flight, or that may exist after a failed create). Refused-before-created (failed with no
        task and no code) costs nothing."""
        query = """SELECT COALESCE(SUM(COALESCE(actual_credits, estimated_credits)), 0) FROM generations
                   WHERE key_source = 'server key' AND created_at >= ?
                   AND NOT (status = 'failed' AND task_id IS NULL AND failure_code IS NULL)"""
        args: list[Any] = [since]
        if visitor is not None:
            query, args = query + " AND visitor = ?", args + [visitor]
        if address is not None:
            query, args = query + " AND address = ?", args + [address]
        with self._tx() as db:
            return int(db.execute(query, args).fetchone()[0])

    # --- leases (replicas) ------------------------------------------------------------------------------------

    def take_lease(self, name: str, *, owner: str, ttl_s: float) -> bool:
        """Claim ``name`` for ``owner`` until ttl_s from now: True when it was free, expired, or ``owner``'s already
        (then this renews it). One statement, atomic on both engines: an insert, or an update of an expired or
        own claim (``ON CONFLICT ... DO UPDATE ... WHERE``; a concurrent claim waits for the row and re-checks)."""
        with self._tx() as db:
            return self._claim(db, name, owner, ttl_s)

    def _claim(self, db: Connection, name: str, owner: str, ttl_s: float) -> bool:
        now = self._clock()
        cursor = db.execute(
            "INSERT INTO leases (name, owner, expires_at) VALUES (?, ?, ?)"
            " ON CONFLICT (name) DO UPDATE SET owner = excluded.owner, expires_at = excluded.expires_at"
            " WHERE leases.expires_at <= ? OR leases.owner = excluded.owner",
            (name, owner, now + ttl_s, now),
        )
        return cursor.rowcount == 1

    def renew_lease(self, name: str, *, owner: str, ttl_s: float) -> bool:
        """Extend ``owner``'s claim on ``name`` to ttl_s from now. False when it is not theirs (any more): another
        replica took it after it expired, or it was released."""
        with self._tx() as db:
            cursor = db.execute(
                "UPDATE leases SET expires_at = ? WHERE name = ? AND owner = ?", (self._clock() + ttl_s, name, owner)
            )
            return cursor.rowcount == 1

    def release_lease(self, name: str, *, owner: str) -> None:
        """Give up ``owner``'s claim on ``name`` (nothing happens when it is not theirs)."""
        with self._tx() as db:
            db.execute("DELETE FROM leases WHERE name = ? AND owner = ?", (name, owner))

    def lease_holder(self, name: str) -> str | None:
        """Who holds ``name`` now (an expired claim is held by nobody)."""
        with self._tx() as db:
            row = db.execute(
                "SELECT owner FROM leases WHERE name = ? AND expires_at > ?", (name, self._clock())
            ).fetchone()
        return None if row is None else str(row["owner"])

    # --- visitors (studio.identity) ------------------------------------------------------------------------------

    def add_visitor(self, visitor: str, *, address: str) -> None:
        """A visitor the server issued a token to, from ``address``."""
        with self._tx() as db:
            db.execute(
                "INSERT INTO visitors (visitor, address, created_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
                (visitor, address, self._clock()),
            )

    def new_visitors_since(self, since: float, *, address: str) -> int:
        with self._tx() as db:
            row = db.execute(
                "SELECT COUNT(*) FROM visitors WHERE address = ? AND created_at >= ?", (address, since)
            ).fetchone()
        return int(row[0])

    def knows_visitor(self, visitor: str) -> bool:
        """The visitor has history here (or was issued a token here)."""
        with self._tx() as db:
            row = db.execute(
                "SELECT 1 FROM generations WHERE visitor = ?"
                " UNION ALL SELECT 1 FROM visitors WHERE visitor = ? LIMIT 1",
                (visitor, visitor),
            ).fetchone()
        return row is not None

    def owns_file(self, path: str, *, visitor: str) -> bool:
        with self._tx() as db:
            row = db.execute(
                "SELECT 1 FROM generations WHERE visitor = ? AND deleted_at IS NULL"
                " AND (output_path = ? OR poster_path = ? OR audio_path = ?) LIMIT 1",
                (visitor, path, path, path),
            ).fetchone()
        return row is not None


def migrate(db: Database) -> list[str]:
    """Apply the migrations not applied yet, each in its own transaction (replicas starting together take turns).
    Returns the names applied now."""
    floats = "DOUBLE PRECISION" if db.dialect.name == "postgresql" else "REAL"
    with db.transaction() as tx:
        db.serialize(tx, Lock.MIGRATIONS)
        tx.execute(f"CREATE TABLE IF NOT EXISTS migrations (name TEXT PRIMARY KEY, applied_at {floats} NOT NULL)")
    applied: list[str] = []
    for name, script in MIGRATIONS:
        with db.transaction() as tx:
            db.serialize(tx, Lock.MIGRATIONS)
            if tx.execute("SELECT 1 FROM migrations WHERE name = ?", [name]).fetchone() is not None:
                continue
            for statement in statements(script_for(script, db.dialect.name)):
                tx.execute(re.sub(r"\bREAL\b", floats, statement))
            tx.execute("INSERT INTO migrations (name, applied_at) VALUES (?, ?)", (name, time.time()))
        applied.append(name)
    return applied


def script_for(script: Script, engine: str) -> str:
    """A migration's script for ``engine`` (``studio.db.Dialect.name``)."""
    return script if isinstance(script, str) else script[engine]


def _generation(row: Any) -> Generation:
    data = dict(row)
    data.pop("seq", None)  # PostgreSQL's insertion order (SQLite's rowid is not a column of *)
    data["form"] = json.loads(data["form"])
    data["starred"] = bool(data.get("starred"))
    data.pop("prompt_text", None)  # the form's prompt, kept beside it for search (Generation.prompt reads the form)
    return Generation(**data)
