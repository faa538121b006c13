"""The phases of a generation, from pressing Generate to its end: one enum, read by the job, History and the page.

    preparing -> [uploading] -> submitting -> queued <-> throttled -> running -> downloading -> succeeded
                                                                              \\-> failed | cancelled | lost
    interrupted: the page stops following, but the task is not over: History keeps it open and the reconciler
                 picks it up again.  lost: the provider no longer knows the task.

History stores every phase but ``preparing`` and ``interrupted`` (nothing was sent yet / nothing ended).
The values are the strings History keeps, so a ``Phase`` compares equal to its stored text.
"""

from __future__ import annotations

from enum import Enum


class Phase(str, Enum):
    PREPARING = "preparing"
    UPLOADING = "uploading"  # big inputs go to the provider's ephemeral uploads first; nothing is created yet
    SUBMITTING = "submitting"
    QUEUED = "queued"
    THROTTLED = "throttled"
    RUNNING = "running"
    DOWNLOADING = "downloading"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"
    LOST = "lost"
    INTERRUPTED = "interrupted"

    def __str__(self) -> str:  # "running", not "Phase.RUNNING", wherever it is written out
        return self.value

    def __format__(self, spec: str) -> str:
        return format(self.value, spec)

    @property
    def ended(self) -> bool:
        """The generation is over for good: History never reopens it."""
        return self in _ENDED

    @property
    def final(self) -> bool:
        """The page stops following it (ended, or interrupted: the reconciler carries on)."""
        return self in _ENDED or self is Phase.INTERRUPTED

    @property
    def recorded(self) -> bool:
        """History keeps this phase."""
        return self not in (Phase.PREPARING, Phase.INTERRUPTED)

    @property
    def seen_by_provider(self) -> bool:
        """Only a read of the task gives this phase: the provider has shown the task at least once."""
        return self in (Phase.THROTTLED, Phase.RUNNING, Phase.DOWNLOADING)

    @property
    def has_progress(self) -> bool:
        """The provider reports a real percentage in this phase."""
        return self in (Phase.UPLOADING, Phase.RUNNING, Phase.DOWNLOADING)


_ENDED = frozenset({Phase.SUCCEEDED, Phase.FAILED, Phase.CANCELLED, Phase.LOST})
ENDED: tuple[str, ...] = tuple(p.value for p in Phase if p.ended)  # as History stores them (for SQL)
RECORDED: tuple[Phase, ...] = tuple(p for p in Phase if p.recorded)  # what History can show
