"""How a generation's status looks on the page: a line of state, a real progress bar, the message."""

from __future__ import annotations

import html

from studio.service import JobStatus

PHASE_TITLES = {
    "preparing": "Preparing inputs",
    "submitting": "Submitting",
    "queued": "Queued",
    "throttled": "Throttled: waiting for a slot",
    "running": "Running",
    "downloading": "Downloading",
    "succeeded": "Succeeded",
    "failed": "Failed",
    "cancelled": "Cancelled",
}


def status_html(status: JobStatus | None) -> str:
    """The status panel for ``status`` (an empty, quiet panel when nothing has run yet)."""
    if status is None:
        return '<div class="rs-status rs-idle" data-phase="idle">Ready. Fill in the form and press Generate.</div>'
    percent = None if status.progress is None else max(0, min(100, round(status.progress * 100)))
    parts = [f"<b>{PHASE_TITLES[status.phase]}</b>"]
    if percent is not None and status.phase in ("running", "downloading"):
        parts.append(f'<span class="rs-percent">{percent}%</span>')
    if status.elapsed_s:
        parts.append(f"{status.elapsed_s:.1f} s")
    if status.task_id:
        parts.append(f'task <code class="rs-task-id">{html.escape(status.task_id)}</code>')
    bar = ""
    if status.phase in ("running", "downloading", "succeeded") and percent is not None:
        bar = f'<progress class="rs-bar" max="100" value="{percent}"></progress>'
    elif status.phase in ("preparing", "submitting", "queued", "throttled"):
        bar = '<progress class="rs-bar"></progress>'  # indeterminate: no progress is known yet
    notes = "".join(f'<li>{html.escape(n)}</li>' for n in status.notes)
    notes_html = f'<ul class="rs-notes">{notes}</ul>' if notes else ""
    seed = f'<div class="rs-seed">Seed used: <code>{status.seed}</code></div>' if status.seed is not None else ""
    return (
        f'<div class="rs-status rs-{status.phase}" data-phase="{status.phase}" data-progress="{"" if percent is None else percent}">'
        f'<div class="rs-line">{" · ".join(parts)}</div>{bar}'
        f'<div class="rs-message">{html.escape(status.message)}</div>{seed}{notes_html}</div>'
    )


def error_html(message: str) -> str:
    """A failed-before-sending panel: the form is kept, nothing was sent."""
    lines = "".join(f"<li>{html.escape(line)}</li>" for line in message.split("\n") if line.strip())
    return (
        '<div class="rs-status rs-failed rs-invalid" data-phase="invalid">'
        "<div class=\"rs-line\"><b>Not sent</b> · fix the form and try again (nothing was charged)</div>"
        f'<ul class="rs-issues">{lines}</ul></div>'
    )
