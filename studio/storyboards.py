"""Storyboards: a visitor's shots in order, each a clip from History, exported as one video.

A storyboard keeps, per shot, the generation whose clip it shows, its in and out points (the trim) and the
transition into the next shot (a cut, or a crossfade of N frames). It is the visitor's own: saved on every change
in the history database (``storyboards`` table), so it survives a reload and a restart, and listed, renamed and
deleted like History's items. A shot whose clip was deleted stays in the storyboard, marked, until the visitor
removes it; an export names it and makes nothing.

An export (``Storyboards.export``) renders the shots with ``studio.media.stitch`` off the event loop and keeps the
result as a generation of its own kind (endpoint ``storyboard``, provider ``studio``): History shows it with a
poster, a download and its shots; Reuse reopens the storyboard.

    boards = Storyboards(studio)
    board = await boards.from_lineage(visitor, generation_id)     # a chain of Continue, as shots in order
    board = await boards.save(visitor, board.with_shots(...))
    async for progress in boards.export(visitor, board.id): ...    # fractions, then the export's Generation
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
import uuid
from collections.abc import AsyncIterator, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from studio import media
from studio.errors import FieldIssue, InvalidInput, StudioError
from studio.history import Generation, HistoryStore, NewGeneration
from studio.i18n import Label, Message, Msg
from studio.links import random_name
from studio.phases import Phase

if TYPE_CHECKING:
    from studio.service import Studio

log = logging.getLogger(__name__)

ENDPOINT = "storyboard"  # an export's kind in History (not an API endpoint)
PROVIDER = "studio"  # made here, by the studio itself: no provider, no key, no credits
MODEL = "export"
Fit = Literal["crop", "pad"]
FITS: tuple[Fit, ...] = ("crop", "pad")
MAX_SHOTS = 12  # the editor's rows
MAX_CROSSFADE_FRAMES = 48
NAME_MAX_CHARS = 80


def shot_label(index: int) -> str:
    """How the page names a shot: "Shot 1" for the first."""
    return f"Shot {index + 1}"


@dataclass(frozen=True)
class Shot:
    """One shot: a clip from History, trimmed to [in_s, out_s) (None: to its end), and the transition into the
    next shot (0 frames: a cut)."""

    generation_id: str
    in_s: float = 0.0
    out_s: float | None = None
    crossfade_frames: int = 0


@dataclass(frozen=True)
class Storyboard:
    id: str
    visitor: str
    name: str
    shots: tuple[Shot, ...] = ()
    fit: Fit = "crop"
    created_at: float = 0.0
    updated_at: float = 0.0

    def with_shots(self, shots: Sequence[Shot]) -> Storyboard:
        return replace(self, shots=tuple(shots))

    def form(self) -> dict[str, Any]:
        """What an export keeps as its form: enough to reopen the storyboard, even after it was deleted."""
        return {
            "storyboard_id": self.id,
            "name": self.name,
            "prompt_text": self.name,  # History's search and tiles read a form's prompt
            "fit": self.fit,
            "shots": [asdict(s) for s in self.shots],
        }

    @classmethod
    def from_form(cls, form: dict[str, Any], *, visitor: str) -> Storyboard:
        return cls(
            id=str(form.get("storyboard_id") or new_id()),
            visitor=visitor,
            name=str(form.get("name") or ""),
            shots=tuple(Shot(**s) for s in form.get("shots") or ()),
            fit="pad" if form.get("fit") == "pad" else "crop",
        )


@dataclass(frozen=True)
class ShotView:
    """A shot as the editor shows it: its generation (None once deleted) and its clip's length."""

    shot: Shot
    generation: Generation | None
    clip_seconds: float | None = None

    @property
    def gone(self) -> bool:
        return self.generation is None or not self.generation.output_path or self.clip_seconds is None


def new_id() -> str:
    return str(uuid.uuid4())


class StoryboardStore:
    """The ``storyboards`` table, on the history store's connection (same file, same lock)."""

    def __init__(self, history: HistoryStore) -> None:
        self.history = history

    def add(self, board: Storyboard) -> Storyboard:
        now = self.history.now()
        board = replace(board, created_at=now, updated_at=now)
        with self.history.transaction() as db:
            db.execute(
                "INSERT INTO storyboards (id, visitor, name, shots, fit, created_at, updated_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                (board.id, board.visitor, board.name, _shots_json(board.shots), board.fit, now, now),
            )
        return board

    def save(self, board: Storyboard) -> Storyboard | None:
        """Write a visitor's own storyboard (its name, shots and fit); None when it is not theirs or is gone."""
        now = self.history.now()
        with self.history.transaction() as db:
            changed = db.execute(
                "UPDATE storyboards SET name = ?, shots = ?, fit = ?, updated_at = ? WHERE id = ? AND visitor = ?",
                (board.name, _shots_json(board.shots), board.fit, now, board.id, board.visitor),
            ).rowcount
        return replace(board, updated_at=now) if changed else None

    def get(self, board_id: str, *, visitor: str) -> Storyboard | None:
        with self.history.transaction() as db:
            row = db.execute("SELECT * FROM storyboards WHERE id = ? AND visitor = ?", (board_id, visitor)).fetchone()
        return _board(row) if row else None

    def of(self, visitor: str) -> list[Storyboard]:
        """A visitor's storyboards, the last changed first."""
        with self.history.transaction() as db:
            rows = db.execute(
                "SELECT * FROM storyboards WHERE visitor = ?"
                f" ORDER BY updated_at DESC, {self.history.order_column} DESC",
                (visitor,),
            ).fetchall()
        return [_board(r) for r in rows]

    def delete(self, board_id: str, *, visitor: str) -> bool:
        with self.history.transaction() as db:
            return db.execute("DELETE FROM storyboards WHERE id = ? AND visitor = ?", (board_id, visitor)).rowcount > 0

    def containing(self, generation_id: str, *, visitor: str) -> list[Storyboard]:
        """A visitor's storyboards with a shot of ``generation_id``."""
        return [b for b in self.of(visitor) if any(s.generation_id == generation_id for s in b.shots)]


def _shots_json(shots: Sequence[Shot]) -> str:
    return json.dumps([asdict(s) for s in shots])


def _board(row: Any) -> Storyboard:
    return Storyboard(
        id=row["id"],
        visitor=row["visitor"],
        name=row["name"],
        shots=tuple(Shot(**s) for s in json.loads(row["shots"])),
        fit="pad" if row["fit"] == "pad" else "crop",
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )


@dataclass
class ExportProgress:
    """What an export reports as it goes: a fraction, then (once kept) its generation."""

    fraction: float
    generation: Generation | None = None


@dataclass
class Storyboards:
    """The storyboards of every visitor, and their exports (kept in History)."""

    studio: Studio
    store: StoryboardStore = field(init=False)
    exporting: set[str] = field(default_factory=set)
    renders: set[asyncio.Future[Any]] = field(
        default_factory=set
    )  # the renders whose threads still run  # the exports this process is rendering

    def __post_init__(self) -> None:
        self.store = StoryboardStore(self.studio.history)

    async def end_interrupted(self, unfinished: Sequence[Generation]) -> int:
        """Mark failed the exports a stopped studio was rendering (none of this process's own): exporting again is
        the way on. Returns how many."""
        ended = 0
        for generation in unfinished:
            if generation.endpoint == ENDPOINT and generation.id not in self.exporting:
                history = self.studio.history
                ended += await history.run(
                    history.record, generation.id, Phase.FAILED, failure_reason=Msg("board.export_interrupted")
                )
        return ended

    async def _run(self, fn: Any, /, *args: Any, **kwargs: Any) -> Any:
        return await self.studio.history.run(fn, *args, **kwargs)

    # --- the visitor's storyboards --------------------------------------------------------------------------

    async def of(self, visitor: str) -> list[Storyboard]:
        return list(await self._run(self.store.of, visitor))

    async def get(self, board_id: str | None, *, visitor: str) -> Storyboard | None:
        if not board_id:
            return None
        found: Storyboard | None = await self._run(self.store.get, board_id, visitor=visitor)
        return found

    async def create(self, visitor: str, *, name: str = "", shots: Sequence[Shot] = ()) -> Storyboard:
        name = _clean_name(name) or await self._next_name(visitor)
        board = Storyboard(id=new_id(), visitor=visitor, name=name, shots=tuple(shots)[:MAX_SHOTS])
        added: Storyboard = await self._run(self.store.add, board)
        return added

    async def _next_name(self, visitor: str) -> str:
        taken = {b.name for b in await self.of(visitor)}
        return next(f"Storyboard {n}" for n in range(1, len(taken) + 2) if f"Storyboard {n}" not in taken)

    async def from_lineage(self, visitor: str, generation_id: str) -> Storyboard:
        """A new storyboard whose shots are the clip's lineage in order (the first clip of the chain first), the
        clips only: a failed or clip-less step of the chain is left out."""
        chain = await self.studio.lineage(generation_id, visitor=visitor)
        clips = [g for g in chain if g.output_path and g.endpoint != ENDPOINT]
        if not clips:
            raise InvalidInput(FieldIssue("Storyboard", Msg("board.no_clip_to_open")))
        name = _clean_name(clips[0].prompt) or ""
        return await self.create(visitor, name=name, shots=[Shot(g.id) for g in clips[-MAX_SHOTS:]])

    async def reopen(self, generation: Generation) -> Storyboard | None:
        """An export's storyboard (Reuse, "Open as storyboard"): the storyboard itself while it exists, else a new
        one with the export's shots. None for a generation that is not an export."""
        if generation.endpoint != ENDPOINT:
            return None
        kept = Storyboard.from_form(generation.form, visitor=generation.visitor)
        found = await self.get(kept.id, visitor=generation.visitor)
        if found is not None:
            return found
        return await self.create(generation.visitor, name=kept.name, shots=kept.shots)

    async def save(self, board: Storyboard) -> Storyboard:
        """Keep the visitor's changes (checked: a name, at most MAX_SHOTS, trims and fades that make sense as
        numbers; whether they fit the clips is the export's check)."""
        board = replace(board, name=_clean_name(board.name) or board.name, shots=board.shots[:MAX_SHOTS])
        saved: Storyboard | None = await self._run(self.store.save, board)
        if saved is None:
            raise InvalidInput(FieldIssue("Storyboard", Msg("board.gone")))
        return saved

    async def rename(self, board: Storyboard, name: str) -> Storyboard:
        clean = _clean_name(name)
        if not clean:
            raise InvalidInput(FieldIssue("Name", Msg("board.name_needed", most=NAME_MAX_CHARS)))
        return await self.save(replace(board, name=clean))

    async def delete(self, board_id: str, *, visitor: str) -> bool:
        return bool(await self._run(self.store.delete, board_id, visitor=visitor))

    async def add_shot(self, board: Storyboard, generation_id: str, *, after: str | None = None) -> Storyboard:
        """``generation_id``'s clip as a new shot: right after ``after``'s shot, else at the end."""
        found = await self.studio.generation(generation_id, visitor=board.visitor)
        if found is None or not found.output_path:
            raise InvalidInput(FieldIssue("Clip", Msg("board.clip_not_found")))
        if len(board.shots) >= MAX_SHOTS:
            raise InvalidInput(FieldIssue("Storyboard", Msg("board.full", most=MAX_SHOTS)))
        shots = list(board.shots)
        at = next((i + 1 for i, s in enumerate(shots) if s.generation_id == after), len(shots))
        shots.insert(at, Shot(generation_id))
        return await self.save(board.with_shots(shots))

    async def continued(self, visitor: str, parent_id: str, child_id: str) -> list[Storyboard]:
        """A clip made by Continue joins, right after the clip it continues, every storyboard of the visitor's
        that has that clip (and is not full). Returns the storyboards changed."""
        changed = []
        for board in await self._run(self.store.containing, parent_id, visitor=visitor):
            if len(board.shots) >= MAX_SHOTS or any(s.generation_id == child_id for s in board.shots):
                continue
            shots = list(board.shots)
            at = max(i for i, s in enumerate(shots) if s.generation_id == parent_id) + 1
            shots.insert(at, Shot(child_id))
            saved = await self._run(self.store.save, board.with_shots(shots))
            if saved is not None:
                changed.append(saved)
        return changed

    async def views(self, board: Storyboard) -> list[ShotView]:
        """Each shot with its generation and clip length (a deleted clip: no generation)."""
        views = []
        for shot in board.shots:
            found = await self.studio.generation(shot.generation_id, visitor=board.visitor)
            seconds = None
            clip = await self.studio.local_file(found.output_path) if found is not None else None
            if clip is not None:  # made by another replica: fetched from the shared store first
                seconds = await asyncio.to_thread(_clip_seconds, clip)
            views.append(ShotView(shot, found, seconds))
        return views

    # --- export ---------------------------------------------------------------------------------------------

    async def problems(self, views: Sequence[ShotView]) -> list[FieldIssue]:
        """What stops these shots from being exported, each naming its shot: a deleted clip, then (once every clip
        is there) a trim or fade that does not fit its clip. Nothing is rendered."""
        from studio.media import stitch

        if not views:
            return [FieldIssue("Storyboard", Msg("board.no_shots"))]
        gone = [
            FieldIssue(shot_label(i), Msg("board.clip_gone", shot=Label(shot_label(i))))
            for i, view in enumerate(views)
            if view.gone
        ]
        return gone or list(await asyncio.to_thread(stitch.plan_issues, _cuts(views)))

    async def check(self, board: Storyboard) -> list[ShotView]:
        """The shots, ready to export; raises InvalidInput naming each problem (``problems``)."""
        views = await self.views(board)
        issues = await self.problems(views)
        if issues:
            raise InvalidInput(issues)
        return views

    async def export(self, board_id: str, *, visitor: str) -> AsyncIterator[ExportProgress]:
        """Render a storyboard into one MP4 kept in History: progress fractions as frames are written, then the
        export's generation. Raises InvalidInput (before anything is made) when it cannot be exported."""
        from studio.media import stitch

        board = await self.get(board_id, visitor=visitor)
        if board is None:
            raise InvalidInput(FieldIssue("Storyboard", Msg("board.gone")))
        views = await self.check(board)
        seconds = await asyncio.to_thread(stitch.expected_seconds, _cuts(views))
        history = self.studio.history
        row: Generation = await history.run(
            history.add,
            NewGeneration(
                visitor=visitor,
                provider=PROVIDER,
                endpoint=ENDPOINT,
                model=MODEL,
                form=board.form(),
                estimated_credits=0,
                key_source="none",
                seed=None,
                output_seconds=seconds,
                parent_id=board.shots[-1].generation_id,
            ),
            status=Phase.RUNNING.value,
            owner=self.studio.replica_id,  # rendered here: no other replica ends it while this one renews it
            lease_s=self.studio.lease_ttl_s,
        )
        self.exporting.add(row.id)
        loop = asyncio.get_running_loop()
        fractions: asyncio.Queue[float] = asyncio.Queue()
        stop = threading.Event()  # set when the export is abandoned (the page went away): the render stops

        def on_progress(fraction: float) -> None:
            if stop.is_set():
                raise _Abandoned
            loop.call_soon_threadsafe(fractions.put_nowait, fraction)

        dest = self.studio.outputs / f"{random_name()}.mp4"

        def render_clip() -> Any:
            try:
                return stitch.stitch(_cuts(views), dest, fit=board.fit, on_progress=on_progress)
            finally:
                if stop.is_set():  # abandoned after its last frame: the file it made is no one's
                    dest.unlink(missing_ok=True)

        try:
            async with self.studio.media_gate:  # CPU work: no more at once than there are cores
                render = asyncio.ensure_future(asyncio.to_thread(render_clip))
                self.renders.add(render)  # kept until its thread ends, even when the export is abandoned
                render.add_done_callback(self.renders.discard)
                render.add_done_callback(_retrieved)  # an abandoned render's stop is expected, not an error
                while not render.done():
                    getter = asyncio.ensure_future(fractions.get())
                    await asyncio.wait({render, getter}, return_when=asyncio.FIRST_COMPLETED)
                    if getter.done():
                        yield ExportProgress(getter.result())
                    else:
                        getter.cancel()
                made = render.result()
            poster = await asyncio.to_thread(media.save_frame, made.path, made.path.with_suffix(".jpg"), at=0.0)
        except BaseException as err:
            stop.set()
            dest.unlink(missing_ok=True)
            if isinstance(err, InvalidInput):
                reason: Message = err.issues[0].message
            else:
                reason = Msg("board.export_failed")
                if isinstance(err, Exception):
                    log.exception("storyboard export %s failed", row.id)
            await history.run(history.record, row.id, Phase.FAILED, failure_reason=reason)
            raise
        finally:
            self.exporting.discard(row.id)
        for file in (made.path, poster):  # for every replica (a store that fails: the export failed)
            try:
                await asyncio.to_thread(self.studio.store.put, file)
            except StudioError:
                await history.run(history.record, row.id, Phase.FAILED, failure_reason=Msg("board.export_failed"))
                raise
        await history.run(
            history.set_output, row.id, output_path=str(made.path), poster_path=str(poster), actual_credits=0
        )
        await history.run(history.record, row.id, Phase.SUCCEEDED, progress=1.0)
        kept = await self.studio.generation(row.id, visitor=visitor)
        yield ExportProgress(1.0, kept)


class _Abandoned(Exception):
    """Raised in the render's thread to stop an export no one waits for."""


def _retrieved(render: asyncio.Future[Any]) -> None:
    """Reads an abandoned render's outcome, so asyncio does not log it as an exception never retrieved."""
    if not render.cancelled():
        render.exception()


def _cuts(views: Sequence[ShotView]) -> list[Any]:
    from studio.media.stitch import ShotCut

    return [
        ShotCut(
            path=Path(str(v.generation.output_path if v.generation else "")),
            label=shot_label(i),
            in_s=v.shot.in_s,
            out_s=v.shot.out_s,
            crossfade_frames=v.shot.crossfade_frames if i < len(views) - 1 else 0,
        )
        for i, v in enumerate(views)
    ]


def _clip_seconds(path: Path) -> float | None:
    if not path.is_file():
        return None
    try:
        return media.probe_video(path, field="Clip").duration_s
    except InvalidInput:
        return None


def _clean_name(name: str | None) -> str:
    return " ".join(str(name or "").split())[:NAME_MAX_CHARS]
