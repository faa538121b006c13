"""How a generation's status looks on the page: a card with the phase, a progress ring and bar, the elapsed time
and the message, and a detail line (task id, seed, credits).

Rendered on the server in the visitor's language (``lang``, from the request's Accept-Language). The card's
``data-phase`` and ``data-progress`` say where it is for scripts and tests; ``data-elapsed`` lets the page's
script keep the elapsed time ticking between two updates (studio/ui/assets/studio.js).
"""

from __future__ import annotations

import html
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace

from studio.i18n import Msg, localize, t
from studio.jobs import JobStatus
from studio.phases import Phase

IDLE = (
    '<div class="rs-status rs-idle" data-phase="idle"><div class="rs-placeholder" aria-hidden="true">'
    '<svg viewBox="0 0 24 24" width="28" height="28"><path d="M4 6h11a2 2 0 0 1 2 2v8a2 2 0 0 1-2 2H4a2 2 0 0 1'
    '-2-2V8a2 2 0 0 1 2-2zm14 4 4-2.5v9L18 14z" fill="currentColor"/></svg></div>'
    '<div class="rs-message">{text}</div></div>'
)


def idle_page_html(key: str = "ui.status_idle") -> str:
    """The quiet card before anything has run, as the page is built: the browser shows it in its language."""
    from studio.ui.translations import UI  # Gradio only where the page is built

    return IDLE.format(text=UI(key))


def _ring(percent: int | None, phase: Phase) -> str:
    """A progress ring: the percentage when it is known, a spinning arc while the phase has none."""
    if phase.final:
        mark = {Phase.SUCCEEDED: "✓", Phase.FAILED: "!", Phase.LOST: "!", Phase.INTERRUPTED: "…"}.get(phase, "×")
        return f'<span class="rs-ring rs-ring-done" aria-hidden="true"><span>{mark}</span></span>'
    if percent is None:
        return '<span class="rs-ring rs-ring-spin" aria-hidden="true"></span>'
    return f'<span class="rs-ring" style="--p:{percent}" aria-hidden="true"><span>{percent}%</span></span>'


def status_html(status: JobStatus | None, lang: str = "en", *, take: int | None = None) -> str:
    """The status card for ``status`` in ``lang`` (the quiet card when nothing has run yet). ``take``: the card of
    one take among several (numbered from 1), smaller and titled with its number."""
    if status is None:
        return IDLE.format(text=html.escape(t(lang, "status.idle")))
    percent = None if status.progress is None else max(0, min(100, round(status.progress * 100)))
    shown = percent if status.phase.has_progress or status.phase is Phase.SUCCEEDED else None
    title = t(lang, f"phase.{status.phase.value}")
    if take is not None:
        title = t(lang, "status.take", n=take) + " · " + title
    elapsed = (
        f'<span class="rs-elapsed">{html.escape(t(lang, "status.elapsed", seconds=status.elapsed_s))}</span>'
        if status.elapsed_s
        else ""
    )
    details = []
    if status.task_id:
        details.append(f'{t(lang, "status.task")} <code class="rs-task-id">{html.escape(status.task_id)}</code>')
    if status.seed is not None:
        details.append(
            f'<span class="rs-seed">{t(lang, "status.seed_used", seed=f"<code>{status.seed}</code>")}</span>'
        )
    charge = charge_text(status.credits, status.provider_estimate, lang)
    if charge:
        details.append(f'<span class="rs-charge">{html.escape(charge)}</span>')
    bar = ""
    if not status.phase.final:
        bar = (
            f'<div class="rs-bar"><span style="width:{shown}%"></span></div>'
            if shown is not None
            else '<div class="rs-bar rs-bar-busy"><span></span></div>'
        )
    notes = "".join(f"<li>{html.escape(localize(n, lang))}</li>" for n in status.notes)
    return (
        f'<div class="rs-status rs-{status.phase}{" rs-take" if take else ""}" data-phase="{status.phase}" '
        f'data-progress="{"" if percent is None else percent}" data-elapsed="{status.elapsed_s:.1f}">'
        f'<div class="rs-head">{_ring(shown, status.phase)}<div class="rs-text">'
        f'<div class="rs-line"><b>{html.escape(title)}</b>{" · " + elapsed if elapsed else ""}</div>'
        f'<div class="rs-message">{html.escape(localize(status.message, lang))}</div></div></div>{bar}'
        + (f'<div class="rs-details">{" · ".join(details)}</div>' if details else "")
        + (f'<ul class="rs-notes">{notes}</ul>' if notes else "")
        + "</div>"
    )


def takes_status(statuses: Sequence[JobStatus]) -> JobStatus:
    """One status for several takes of a generation: still going while any is; the progress is their average;
    succeeded when any take succeeded; the credits add up."""
    going = [s for s in statuses if not s.final]
    first = going[0] if going else next((s for s in statuses if s.phase is Phase.SUCCEEDED), statuses[0])
    progress = [s.progress or 0.0 for s in statuses if s.phase.has_progress or s.final]
    done = sum(1 for s in statuses if s.phase is Phase.SUCCEEDED)
    credits = [s.credits for s in statuses if s.credits is not None]
    estimates = [s.provider_estimate for s in statuses if s.provider_estimate is not None]
    return replace(
        first,
        message=Msg("status.takes_done", done=done, total=len(statuses)),
        progress=sum(progress) / len(statuses) if going and progress else first.progress,
        elapsed_s=max(s.elapsed_s for s in statuses),
        task_id=None,
        seed=None,
        credits=sum(credits) if len(credits) == len(statuses) else None,
        provider_estimate=sum(estimates) if estimates else None,
    )


def charge_text(credits: float | None, estimated: float | None, lang: str) -> str:
    """What a task costs as the provider says it: charged (0 = refunded) once over, its estimate while live."""
    if credits is not None:
        return t(lang, "status.refunded") if credits == 0 else t(lang, "status.charged", credits=credits)
    return t(lang, "status.provider_estimate", credits=estimated) if estimated is not None else ""


def error_html(message: str | Iterable[str], lang: str = "en", *, at_fields: Mapping[str, str] | None = None) -> str:
    """A failed-before-sending card: the form is kept, nothing was sent. ``message``: the lines to list (already in
    ``lang``), or one text with a line per issue. ``at_fields``: each refused field's message by the id of its
    control, which the page's script shows at the field (studio/ui/assets/studio.js)."""
    found = message.split("\n") if isinstance(message, str) else list(message)
    lines = "".join(f"<li>{html.escape(line)}</li>" for line in found if line.strip())
    fields = html.escape(json.dumps(dict(at_fields or {}), ensure_ascii=False), quote=True)
    return (
        f'<div class="rs-status rs-failed rs-invalid" data-phase="invalid" data-field-errors="{fields}">'
        f'<div class="rs-head">{_ring(None, Phase.FAILED)}<div class="rs-text">'
        f'<div class="rs-line"><b>{html.escape(t(lang, "status.not_sent"))}</b> · '
        f"{html.escape(t(lang, 'status.fix_form'))}</div></div></div>"
        f'<ul class="rs-issues">{lines}</ul></div>'
    )
