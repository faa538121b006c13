"""Text to Video: a prompt, a ratio and a duration (and Veo's sound and negative prompt)."""

from __future__ import annotations

from studio.capabilities import Endpoint
from studio.ui.bindings import Bindings, prompt_field
from studio.ui.tabs.base import GenerationTab, threshold_field, threshold_radio
from studio.ui.translations import UI

EXAMPLES = [
    {
        "prompt_text": "A paper lantern drifts up a quiet river at dusk, fireflies rising around it",
        "model": "gen4.5",
        "ratio": "1280:720",
        "duration": 5,
    },
    {
        "prompt_text": "Rain on a neon-lit street at night, a cyclist passes, tyres hissing on the wet road",
        "model": "veo3.1_fast",
        "ratio": "720:1280",
        "duration": 6,
        "audio": True,
    },
]


class TextToVideoTab(GenerationTab):
    endpoint: Endpoint = "text_to_video"
    prefix = "t2v"

    EXAMPLES = EXAMPLES

    def build_inputs(self) -> None:
        self._prompt(placeholder=UI("ui.t2v_prompt_placeholder"))
        self.sound = self._sound_controls()

    def build_essentials(self) -> None:
        self._duration_control()

    def build_more(self) -> None:
        self.threshold = threshold_radio(self.prefix)

    def make_bindings(self) -> Bindings:
        return Bindings(
            [
                prompt_field(self.prompt),
                *self.common_bindings(),
                self.duration_field(),
                *self.sound,
                threshold_field(self.threshold),
            ],
            groups=self.sound_group,
        )
