"""What History shows, rendered on the server in the visitor's language: the grid of tiles, the lines above and
under it, a generation's details and the compare view.

Every value from a generation is escaped. Files are linked through the studio's own signed route (``link``: a
link relative to the page, from ``studio.links``), never through Gradio's file route or cache. The tiles
carry their generation's id (``data-gid``); ``assets/history.js`` turns clicks on them into the grid's events.
"""

from __future__ import annotations

import datetime as dt
import html
from collections.abc import Callable, Collection, Mapping
from typing import Any

from studio.capabilities import OPTIONS, PROVIDERS
from studio.compare import SettingRow
from studio.history import Generation, HistoryPage
from studio.i18n import Label, Message, localize, t
from studio.phases import RECORDED
from studio.requests import ENDPOINT_LABELS, LABELS, REQUEST_TYPES
from studio.service import Comparison
from studio.storyboards import ENDPOINT as STORYBOARD
from studio.ui.status import charge_text

TITLE_CHARS = 80  # a tile's title: the prompt cut to this many characters


Link = Callable[[str], str]  # a file of the data dir -> the link the page loads it from (relative to the page)


def when(timestamp: float) -> str:
    return dt.datetime.fromtimestamp(timestamp, tz=dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")


def tab_label(endpoint: str) -> Message:
    return Label(ENDPOINT_LABELS[endpoint]) if endpoint in ENDPOINT_LABELS else endpoint


def status_label(status: str, lang: str) -> str:
    return t(lang, f"history.status.{status}") if status in RECORDED else status


def title(g: Generation, lang: str) -> str:
    """What a generation is called: its prompt (cut short), else its tab's name."""
    prompt = " ".join(g.prompt.split())
    if prompt:
        return prompt if len(prompt) <= TITLE_CHARS else prompt[: TITLE_CHARS - 1] + "…"
    return t(lang, "history.untitled", tab=tab_label(g.endpoint))


# --- the grid ---------------------------------------------------------------------------------------------------


def grid_html(items: list[Generation], *, selected: str | None, marked: Collection[str], lang: str, link: Link) -> str:
    """The page's tiles ('' when there are none: the summary line says why)."""
    if not items:
        return ""
    tiles = "".join(_tile(g, selected=g.id == selected, marked=g.id in marked, lang=lang, link=link) for g in items)
    return f'<div class="rs-grid" role="list">{tiles}</div>'


def _tile(g: Generation, *, selected: bool, marked: bool, lang: str, link: Link) -> str:
    plain = title(g, lang)
    name = html.escape(plain)
    classes = "rs-tile" + (" rs-selected" if selected else "") + (" rs-marked" if marked else "")
    star = t(lang, "history.unstar" if g.starred else "history.star")
    mark = html.escape(t(lang, "history.mark"))
    checked = " checked" if marked else ""
    chip = (
        "" if g.status == "succeeded" else f'<span class="rs-chip rs-{g.status}">{status_label(g.status, lang)}</span>'
    )
    return (
        f'<article class="{classes}" role="listitem" data-gid="{html.escape(g.id)}" data-status="{g.status}">'
        f'<button type="button" class="rs-open" aria-label="{html.escape(t(lang, "history.open", title=plain))}"'
        f"{' aria-current=true' if selected else ''}>{_face(g, lang, link)}</button>"
        f'<button type="button" class="rs-star" data-act="star" aria-pressed="{str(g.starred).lower()}"'
        f' aria-label="{html.escape(star)}" title="{html.escape(star)}">{"★" if g.starred else "☆"}</button>'
        f'<label class="rs-mark"><input type="checkbox" data-act="mark" aria-label="{mark}"{checked}>'
        f"<span>{mark}</span></label>"
        f'<div class="rs-meta"><div class="rs-when"><time>{when(g.created_at)}</time>{chip}</div>'
        f'<div class="rs-what"><span class="rs-tab">{html.escape(localize(tab_label(g.endpoint), lang))}</span>'
        f' · <span class="rs-model">{html.escape(g.model)}</span></div>'
        f'<p class="rs-title" title="{name}">{name}</p></div></article>'
    )


def _face(g: Generation, lang: str, link: Link) -> str:
    """The tile's picture: the poster once there is a clip, a progress ring while it runs, else its status."""
    if g.poster_path:
        return f'<img class="rs-thumb" src="{html.escape(link(g.poster_path))}" alt="" loading="lazy">'
    if g.removed_at is not None:  # the retention policy removed its files; the row stays
        removed = html.escape(t(lang, "history.removed_short"))
        return f'<span class="rs-face rs-removed" title="{removed}"><span>{removed}</span></span>'
    label = html.escape(status_label(g.status, lang))
    if g.terminal:
        return f'<span class="rs-face rs-{g.status}"><span>{label}</span></span>'
    percent = max(0, min(100, round((g.progress or 0) * 100)))
    ring = html.escape(t(lang, "history.ring", status=status_label(g.status, lang), percent=percent))
    return (
        f'<span class="rs-face"><span class="rs-ring" role="progressbar" aria-valuemin="0" aria-valuemax="100"'
        f' aria-valuenow="{percent}" aria-label="{ring}" style="--rs-p: {percent}">'
        f'<span class="rs-ring-text"><b>{percent}%</b><small>{label}</small></span></span></span>'
    )


def summary_text(found: HistoryPage, *, filtered: bool, lang: str) -> str:
    if not found.everything:
        return t(lang, "history.empty")
    if filtered and not found.total:
        return t(lang, "history.no_match", everything=found.everything)
    if filtered:
        return t(lang, "history.count_filtered", count=found.total, everything=found.everything)
    if found.running:
        return t(lang, "history.count_running", count=found.total, running=found.running)
    return t(lang, "history.count", count=found.total)


def pages_of(found: HistoryPage) -> int:
    return max(1, -(-found.total // found.size))


def pager_text(found: HistoryPage, lang: str) -> str:
    page = found.offset // found.size + 1
    return t(lang, "history.page", page=page, pages=pages_of(found)) if found.total > found.size else ""


# --- a generation's details ---------------------------------------------------------------------------------------

# The model's own settings a generation lists (its media show as the clip; a hook URL is the host's business).
LISTED_OPTIONS = OPTIONS - {"references", "notify_hook"}


def _option_value(value: Any, lang: str) -> str:
    if isinstance(value, bool):
        return t(lang, "history.on" if value else "history.off")
    if isinstance(value, (list, tuple)):  # aleph2's keyframes: when each applies (and, compared, which file)
        return ", ".join(_keyframe(k, lang) for k in value if isinstance(k, dict))
    return html.escape(str(value))


def _keyframe(k: Mapping[str, Any], lang: str) -> str:
    at = f"{k['seconds']:g} s" if k.get("seconds") is not None else f"{k.get('at', 0):.0%}"
    image = k.get("image")
    return f"{at} ({t(lang, 'history.compare_file', letter=image)})" if isinstance(image, str) else at


def _options(g: Generation, lang: str) -> str:
    """The optional fields this generation set, as "**Sound:** on · **Negative prompt:** blur"."""
    request = REQUEST_TYPES.get(g.endpoint)
    if request is None:
        return ""
    parts = []
    for name, field in request.model_fields.items():
        wire = field.alias or name
        value = g.form.get(name)
        if wire in LISTED_OPTIONS and value not in (None, "", []):
            parts.append(t(lang, "history.option", name=Label(LABELS[wire]), value=_option_value(value, lang)))
    return " · ".join(parts)


def details_markdown(g: Generation, lineage: list[Generation], lang: str = "en") -> str:
    """A generation's details: tab, model and status; prompt; options; length, cost, seed and date; task; why it
    failed; the generations it continues."""
    if g.actual_credits is not None:
        cost = charge_text(g.actual_credits, None, lang)
    else:
        cost = t(lang, "history.credits_estimate", credits=g.estimated_credits)
    provider = Label(PROVIDERS[g.provider].label) if g.provider in PROVIDERS else g.provider
    status = status_label(g.status, lang)
    lines = [
        t(lang, "history.headline", tab=tab_label(g.endpoint), model=g.model, provider=provider, status=status),
        t(lang, "history.prompt", prompt=html.escape(g.prompt) or "—"),
        _options(g, lang),
        t(lang, "history.facts", seconds=g.output_seconds or 0, cost=cost, seed=g.seed, made=when(g.created_at)),
        t(lang, "history.task", task=g.task_id or t(lang, "history.not_created"), key_source=Label(g.key_source))
        if g.provider in PROVIDERS
        else "",  # made by the studio itself (a storyboard's export): no task, no key
    ]
    if g.failure_reason:
        lines.append(t(lang, "history.why_failed", reason=html.escape(localize(g.failure_message, lang))))
    if g.removed_at is not None:
        lines.append(t(lang, "history.removed", date=when(g.removed_at)))
    if len(lineage) > 1:
        steps = " → ".join(t(lang, "history.step", tab=tab_label(x.endpoint), model=x.model) for x in lineage[:-1])
        lines.append(t(lang, "history.shots" if g.endpoint == STORYBOARD else "history.lineage", steps=steps))
    return "\n\n".join(line for line in lines if line)


# --- compare ----------------------------------------------------------------------------------------------------


def compare_html(comparison: Comparison, clips: Mapping[str, str | None], lang: str, *, link: Link) -> str:
    """The compared clips side by side (``clips``: each generation's clip path, or None), one Play/Pause and one
    position for all of them (``assets/history.js`` keeps them in step), and their settings: those that differ
    in a table, the others on one line."""
    generations = comparison.generations
    figures = "".join(_compare_clip(n, g, clips.get(g.id), lang, link) for n, g in enumerate(generations, 1))
    play, pause = (html.escape(t(lang, f"history.compare_{k}")) for k in ("play", "pause"))
    position = html.escape(t(lang, "history.compare_position"))
    controls = (
        f'<div class="rs-cmp-controls"><button type="button" class="rs-cmp-play" data-play="{play}"'
        f' data-pause="{pause}">{play}</button><input type="range" class="rs-cmp-seek" min="0" max="1000"'
        f' value="0" step="1" aria-label="{position}"><output class="rs-cmp-time">0.0 s</output></div>'
    )
    return (
        f'<section class="rs-compare" data-count="{len(generations)}">'
        f"<h3>{html.escape(t(lang, 'history.compare_title', count=len(generations)))}</h3>{controls}"
        f'<div class="rs-cmp-clips" style="--rs-n: {len(generations)}">{figures}</div>'
        f"{_diff(comparison.rows, len(generations), lang)}</section>"
    )


def _compare_clip(n: int, g: Generation, clip: str | None, lang: str, link: Link) -> str:
    if clip:
        poster = f' poster="{html.escape(link(g.poster_path))}"' if g.poster_path else ""
        media = f'<video src="{html.escape(link(clip))}"{poster} muted playsinline preload="auto"></video>'
    else:
        media = (
            f'<span class="rs-face rs-{g.status}"><span>{html.escape(t(lang, "history.compare_no_clip"))}</span></span>'
        )
    caption = (
        f"<b>{n}</b> · {html.escape(title(g, lang))}<br><small>{when(g.created_at)} · {html.escape(g.model)}</small>"
    )
    return f'<figure data-gid="{html.escape(g.id)}">{media}<figcaption>{caption}</figcaption></figure>'


def _diff(rows: list[SettingRow], count: int, lang: str) -> str:
    differing = [row for row in rows if row.differs]
    same = [row for row in rows if not row.differs]
    parts = []
    if differing:
        head = "".join(f'<th scope="col">{n}</th>' for n in range(1, count + 1))
        body = "".join(
            f'<tr><th scope="row">{html.escape(localize(Label(row.label), lang))}</th>'
            + "".join(f"<td>{_setting(row, v, lang)}</td>" for v in row.values)
            + "</tr>"
            for row in differing
        )
        caption = html.escape(t(lang, "history.compare_differs"))
        setting = html.escape(t(lang, "history.compare_setting"))
        parts.append(
            f'<div class="rs-cmp-table"><table class="rs-cmp-diff"><caption>{caption}</caption><thead><tr>'
            f'<th scope="col">{setting}</th>{head}</tr></thead><tbody>{body}</tbody></table></div>'
        )
    else:
        parts.append(f"<p>{html.escape(t(lang, 'history.compare_all_same'))}</p>")
    if same:
        listed = " · ".join(
            f"<b>{html.escape(localize(Label(row.label), lang))}</b>: {_setting(row, row.values[0], lang)}"
            for row in same
        )
        parts.append(f'<p class="rs-cmp-same">{t(lang, "history.compare_same", settings=listed)}</p>')
    return "".join(parts)


def _setting(row: SettingRow, value: Any, lang: str) -> str:
    if value is None:
        return html.escape(t(lang, "history.compare_unset"))
    if row.media:
        return html.escape(t(lang, "history.compare_file", letter=value))
    if row.name == "endpoint":
        return html.escape(localize(Label(str(value)), lang))
    return _option_value(value, lang)
