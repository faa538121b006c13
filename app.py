"""Runway Studio: settings from the environment -> the studio -> the page -> launch.

With no key set it runs on the built-in simulator: ``python app.py`` and open http://127.0.0.1:7860.
Gradio reads GRADIO_SERVER_NAME / GRADIO_SERVER_PORT (default 127.0.0.1:7860), as on a Hugging Face Space.
"""

from __future__ import annotations

from studio.service import Studio
from studio.settings import Settings
from studio.ui.app import build_app, launch_options, queue


def main() -> None:
    settings = Settings.from_env()
    studio = Studio.from_settings(settings)
    demo = queue(build_app(studio, default_provider=settings.provider, browser_secret=studio.browser_secret(settings)))
    demo.launch(**launch_options(studio, max_upload_mb=settings.max_upload_mb))


if __name__ == "__main__":
    main()
