"""The page's tabs: one module per tab, each holding that tab's controls, its one list of bindings and its events.

base.py             what every generation tab shares (model, ratio, prompt, seed, cost, Generate, Cancel)
image_to_video.py   video_to_video.py   character.py   finish.py   history.py
"""

from studio.ui.tabs.base import GenerationTab, Shared
from studio.ui.tabs.character import CharacterTab
from studio.ui.tabs.finish import FinishTab
from studio.ui.tabs.history import HistoryTab
from studio.ui.tabs.image_to_video import ImageToVideoTab
from studio.ui.tabs.text_to_video import TextToVideoTab
from studio.ui.tabs.video_to_video import VideoToVideoTab

GENERATION_TABS: tuple[type[GenerationTab], ...] = (
    ImageToVideoTab,
    TextToVideoTab,
    VideoToVideoTab,
    CharacterTab,
    FinishTab,
)

__all__ = [
    "GENERATION_TABS",
    "CharacterTab",
    "FinishTab",
    "GenerationTab",
    "HistoryTab",
    "ImageToVideoTab",
    "TextToVideoTab",
    "Shared",
    "VideoToVideoTab",
]
