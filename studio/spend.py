"""The spend guard for demo hosts: the server key's money is capped per day, for the whole deployment and per
visitor, to the models the host allows; or visitors must bring their own key.

Caps count what was actually created with the server key (from history, so they survive restarts), including
tasks in flight and tasks that may exist after a failed create. The check runs in the service, before the create
call, so calling the Gradio API directly cannot get around it. Days are UTC days.

The visitor cap also holds per client address (``studio.identity``): a caller who makes up new visitors from one
address shares that address's cap. A signed-in account is counted by account only.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

from studio.errors import FieldIssue, InvalidInput
from studio.history import HistoryStore
from studio.i18n import Join, Label, Message, Msg


@dataclass(frozen=True)
class SpendPolicy:
    deployment_daily_credits: int | None = None
    visitor_daily_credits: int | None = None
    allowed_models: frozenset[str] | None = None  # None: every model the provider serves
    visitor_key_required: bool = False

    @property
    def caps_spending(self) -> bool:
        return self.deployment_daily_credits is not None or self.visitor_daily_credits is not None


@dataclass(frozen=True)
class Budget:
    """What the server key may still spend today."""

    deployment_left: int | None
    visitor_left: int | None
    resets_at: dt.datetime

    def describe(self, now: dt.datetime) -> Message:
        when = _resets(self.resets_at, now)
        studio, visitor = self.deployment_left, self.visitor_left
        if studio is not None and visitor is not None:
            return Msg("spend.budget_both", studio=studio, visitor=visitor, when=when)
        if studio is not None:
            return Msg("spend.budget_studio", studio=studio, when=when)
        if visitor is not None:
            return Msg("spend.budget_visitor", visitor=visitor, when=when)
        return ""


class SpendRefused(InvalidInput):
    """A generation the spend guard refused before anything was sent."""


class SpendGuard:
    def __init__(
        self, policy: SpendPolicy, history: HistoryStore, *, wall_clock: Callable[[], float] | None = None
    ) -> None:
        self.policy = policy
        self._history = history
        self._now = wall_clock or (lambda: dt.datetime.now(dt.timezone.utc).timestamp())

    def _day(self) -> tuple[dt.datetime, dt.datetime, dt.datetime]:
        now = dt.datetime.fromtimestamp(self._now(), tz=dt.timezone.utc)
        start = now.replace(hour=0, minute=0, second=0, microsecond=0)
        return now, start, start + dt.timedelta(days=1)

    def budget(self, visitor: str, address: str | None = None) -> Budget:
        """Blocking (reads history). The visitor's part is what is left to them and to their address, the less."""
        _, start, resets = self._day()
        spent_all = self._history.server_key_credits_since(start.timestamp())
        spent_mine = self._history.server_key_credits_since(start.timestamp(), visitor=visitor)
        if address is not None and self.policy.visitor_daily_credits is not None:
            spent_there = self._history.server_key_credits_since(start.timestamp(), address=address)
            spent_mine = max(spent_mine, spent_there)
        cap_all, cap_mine = self.policy.deployment_daily_credits, self.policy.visitor_daily_credits
        return Budget(
            deployment_left=None if cap_all is None else max(0, cap_all - spent_all),
            visitor_left=None if cap_mine is None else max(0, cap_mine - spent_mine),
            resets_at=resets,
        )

    def check_key(self, key_source: str) -> None:
        if self.policy.visitor_key_required and key_source == "server key":
            raise SpendRefused(FieldIssue("API key", Msg("spend.own_key_required")))

    def check(self, *, visitor: str, model: str, credits: int, key_source: str, address: str | None = None) -> None:
        """Refuse a server-key generation the policy does not allow. Blocking (reads history)."""
        self.check_key(key_source)
        if key_source != "server key":
            return  # a visitor's own key, or the free simulator: not the host's money
        allowed = self.policy.allowed_models
        if allowed is not None and model not in allowed:
            names = Join(sorted(allowed)) if allowed else Label("none")
            raise SpendRefused(FieldIssue("Model", Msg("spend.model_not_allowed", model=model, allowed=names)))
        if not self.policy.caps_spending:
            return
        now, _, _ = self._day()
        budget = self.budget(visitor, address)
        for left, which in (
            (budget.deployment_left, Msg("spend.studio_cap")),
            (budget.visitor_left, Msg("spend.visitor_cap")),
        ):
            if left is not None and credits > left:
                raise SpendRefused(
                    FieldIssue(
                        "Cost",
                        Msg(
                            "spend.over_cap",
                            credits=credits,
                            which=which,
                            left=left,
                            when=_resets(budget.resets_at, now),
                        ),
                    )
                )


def _resets(at: dt.datetime, now: dt.datetime) -> Msg:
    left = at - now
    hours, minutes = int(left.total_seconds() // 3600), int(left.total_seconds() % 3600 // 60)
    return Msg("spend.resets", hours=hours, minutes=minutes)
