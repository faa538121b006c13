"""English and Simplified Chinese: the message catalog, the visitor's language, and messages that translate.

Two kinds of text, two ways to translate it:

* Static page text (labels, hints, buttons) is a ``ui.*`` key given to Gradio's ``gr.I18n``
  (``studio.ui.translations``): the browser picks the language.
* Everything the server says later (status, errors, notes, History) is rendered on the server in the language of
  the request's ``Accept-Language`` header: ``t(lang, key, **params)``, or a message object's ``render(lang)``.

Errors and statuses carry their message as a ``Text`` (``Msg``, ``Label``, ``Join``): an object that knows its
catalog key and parameters and renders itself in any language; ``str()`` of it is the English text. A
``Message`` is either such an object or a plain ``str`` (words from elsewhere, shown as they are).

The catalogs are data, one JSON file per locale in ``studio/locales/`` (Gradio's own convention). This package
imports nothing from the rest of the studio and no Gradio, so the simulator and the request checks can use it.

    catalog.py      the locales, loaded once; ``t``
    negotiation.py  which language a visitor reads (Accept-Language)
    text.py         the message objects, ``localize``, and keeping them in History (``dumps``/``loads``)
"""

from studio.i18n.catalog import CATALOG, DEFAULT, EN, LANGUAGES, ZH, JoinHow, placeholders, t
from studio.i18n.negotiation import language_of, request_language
from studio.i18n.text import Join, Label, Message, Msg, Text, dumps, loads, localize

__all__ = [
    "CATALOG",
    "DEFAULT",
    "EN",
    "LANGUAGES",
    "ZH",
    "Join",
    "JoinHow",
    "Label",
    "Message",
    "Msg",
    "Text",
    "dumps",
    "language_of",
    "loads",
    "localize",
    "placeholders",
    "request_language",
    "t",
]
