"""Runway Studio: settings from the environment -> the studio and its page -> launch.

With no key set it runs on the built-in simulator: ``python app.py`` and open http://127.0.0.1:7860.
Gradio reads GRADIO_SERVER_NAME / GRADIO_SERVER_PORT (default 127.0.0.1:7860); a Hugging Face Space sets them.
This is also the Space's entry point (``app_file`` in the README's front matter).
"""

from __future__ import annotations

import sys

from studio.settings import Settings, SettingsError
from studio.ui import gradio_compat
from studio.ui.app import assemble, launch_options


def main() -> None:
    gradio_compat.keep_session_ids()  # once, before any page is served: see its docstring
    try:
        settings = Settings.from_env()
    except SettingsError as err:  # a setting the studio cannot use: said plainly, before anything is sent
        sys.exit(f"Runway Studio cannot start: {err}")
    studio, demo = assemble(settings)
    demo.launch(
        prevent_thread_lock=True,
        **launch_options(studio, max_upload_mb=settings.max_upload_mb, max_sessions=settings.max_sessions),
    )
    print(settings.startup_message(demo.local_url or ""), flush=True)
    demo.block_thread()


if __name__ == "__main__":
    main()
