"""Small Gradio component adaptations."""

from __future__ import annotations

from typing import Any

import gradio as gr

from gradio.events import Dependency

class RawImage(gr.Image):
    """An image upload that hands the uploaded file to the studio untouched.

    ``gr.Image`` opens every upload with Pillow before the handler runs, so a broken, huge or disguised file
    fails there with a bare "Error". This one passes the file's path on, and the studio's own checks answer
    with a message naming the field and what is allowed. It uses ``gr.Image``'s frontend unchanged.
    """

    def get_block_name(self) -> str:
        return "image"

    def preprocess(self, payload: Any) -> str | None:
        return str(payload.path) if payload is not None and payload.path else None
    from typing import Callable, Literal, Sequence, Any, TYPE_CHECKING
    from gradio.blocks import Block
    if TYPE_CHECKING:
        from gradio.components import Timer
        from gradio.components.base import Component
class RawSlider(_PassThrough, gr.Slider):
    def get_block_name(self) -> str:
        return "slider"
    from typing import Callable, Literal, Sequence, Any, TYPE_CHECKING
    from gradio.blocks import Block
    if TYPE_CHECKING:
        from gradio.components import Timer
        from gradio.components.base import Component

    
class RawNumber(_PassThrough, gr.Number):
    def get_block_name(self) -> str:
        return "number"
    from typing import Callable, Literal, Sequence, Any, TYPE_CHECKING
    from gradio.blocks import Block
    if TYPE_CHECKING:
        from gradio.components import Timer
        from gradio.components.base import Component

    
class RawRadio(_PassThrough, gr.Radio):
    """Passes the choice's value through (the page only offers valid ones; the form checks API callers')."""

    def get_block_name(self) -> str:
        return "radio"
    from typing import Callable, Literal, Sequence, Any, TYPE_CHECKING
    from gradio.blocks import Block
    if TYPE_CHECKING:
        from gradio.components import Timer
        from gradio.components.base import Component

    