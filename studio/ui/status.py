"""How a generation's status looks on the page: a line of state, a real progress bar, the message.

Rendered on the server in the visitor's language (``lang``, from the request's Accept-Language).
"""

from __future__ import annotations

import html
from collections.abc import Iterable

from studio.i18n import localize, t
from studio.jobs import JobStatus
from studio.phases import Phase

IDLE = '<div class="rs-status rs-idle" data-phase="idle">{text}</div>'


def idle_page_html() -> str:
    """The quiet panel before anything has run, as the page is built: the browser shows it in its language."""
    from studio.ui.translations import UI  # Gradio only where the page is built

    return IDLE.format(text=UI("ui.status_idle"))


def status_html(status: JobStatus | None, lang: str = "en") -> str:
    """The status panel for ``status`` in ``lang`` (an empty, quiet panel when nothing has run yet)."""
    if status is None:
        return IDLE.format(text=html.escape(t(lang, "status.idle")))
    percent = None if status.progress is None else max(0, min(100, round(status.progress * 100)))
    title = t(lang, f"phase.{status.phase.value}")
    parts = [f"<b>{html.escape(title)}</b>"]
    if percent is not None and status.phase.has_progress:
        parts.append(f'<span class="rs-percent">{percent}%</span>')
    if status.elapsed_s:
        parts.append(t(lang, "status.elapsed", seconds=status.elapsed_s))
    if status.task_id:
        parts.append(f'{t(lang, "status.task")} <code class="rs-task-id">{html.escape(status.task_id)}</code>')
    charge = charge_text(status.credits, status.provider_estimate, lang)
    if charge:
        parts.append(f'<span class="rs-charge">{html.escape(charge)}</span>')
    bar = ""
    if (status.phase.has_progress or status.phase is Phase.SUCCEEDED) and percent is not None:
        bar = f'<progress class="rs-bar" max="100" value="{percent}"></progress>'
    elif not status.phase.final and not status.phase.has_progress:
        bar = '<progress class="rs-bar"></progress>'  # indeterminate: no progress is known yet
    notes = "".join(f"<li>{html.escape(localize(n, lang))}</li>" for n in status.notes)
    notes_html = f'<ul class="rs-notes">{notes}</ul>' if notes else ""
    seed = (
        f'<div class="rs-seed">{t(lang, "status.seed_used", seed=f"<code>{status.seed}</code>")}</div>'
        if status.seed is not None
        else ""
    )
    return (
        f'<div class="rs-status rs-{status.phase}" data-phase="{status.phase}" '
        f'data-progress="{"" if percent is None else percent}">'
        f'<div class="rs-line">{" · ".join(parts)}</div>{bar}'
        f'<div class="rs-message">{html.escape(localize(status.message, lang))}</div>{seed}{notes_html}</div>'
    )


def charge_text(credits: float | None, estimated: float | None, lang: str) -> str:
    """What a task costs as the provider says it: charged (0 = refunded) once over, its estimate while live."""
    if credits is not None:
        return t(lang, "status.refunded") if credits == 0 else t(lang, "status.charged", credits=credits)
    return t(lang, "status.provider_estimate", credits=estimated) if estimated is not None else ""


def error_html(message: str | Iterable[str], lang: str = "en") -> str:
    """A failed-before-sending panel: the form is kept, nothing was sent. ``message``: the lines to list (already in
    ``lang``), or one text with a line per issue."""
    found = message.split("\n") if isinstance(message, str) else list(message)
    lines = "".join(f"<li>{html.escape(line)}</li>" for line in found if line.strip())
    return (
        '<div class="rs-status rs-failed rs-invalid" data-phase="invalid">'
        f'<div class="rs-line"><b>{html.escape(t(lang, "status.not_sent"))}</b> · '
        f"{html.escape(t(lang, 'status.fix_form'))}</div>"
        f'<ul class="rs-issues">{lines}</ul></div>'
    )
