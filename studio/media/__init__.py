"""Image and video preparation: read what a visitor gave, check it, and turn it into a data URI that fits.

Every limit comes from the ``InputLimits`` / ``VideoInputRule`` objects passed in (``capabilities.py``); every
rejection is a ``MediaError`` naming the caller's field label and saying what is allowed. The functions block
(Pillow, PyAV): callers run them in a worker thread.

* ``images``: read, check, orient, fit and encode images (``prepare_image``).
* ``videos``: the one video reader (``probe_video``, and the stream and length that the simulator's renderer
  reads too), length checks and re-encoding (``prepare_video``), frames saved as pictures (``save_frame``).
* ``datauri``: data URIs and their size arithmetic.
* ``links``: inputs given as https links (``check_url``).
* ``stitch``: a storyboard's shots exported as one video (``plan_issues``, ``stitch``). Imported as
  ``studio.media.stitch``, not from here: it writes with the simulator's encoder, which reads clips through
  ``videos``.
* ``sound``: an Add sound pass's audio muxed into its clip (``mux_audio``).

Callers use this package's names (``from studio import media; media.prepare_image(...)``); the decisions behind
each step are in the modules' docstrings.
"""

from studio.media.images import MAX_SOURCE_PIXELS, SOURCE_SIDE_FACTOR, Fit, PreparedImage, prepare_image
from studio.media.links import check_url
from studio.media.sound import mux_audio
from studio.media.videos import (
    REENCODE_MAX_SIDE,
    SENDABLE_VIDEO_CODECS,
    STILL_IMAGE_CODECS,
    PreparedVideo,
    VideoInfo,
    prepare_video,
    probe_video,
    save_frame,
    save_last_frame,
)

__all__ = [
    "MAX_SOURCE_PIXELS",
    "REENCODE_MAX_SIDE",
    "SENDABLE_VIDEO_CODECS",
    "SOURCE_SIDE_FACTOR",
    "STILL_IMAGE_CODECS",
    "Fit",
    "PreparedImage",
    "PreparedVideo",
    "VideoInfo",
    "check_url",
    "mux_audio",
    "prepare_image",
    "prepare_video",
    "probe_video",
    "save_frame",
    "save_last_frame",
]
