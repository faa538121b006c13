"""Runway Studio: a browser studio for Runway's video-generation API, with a built-in simulator."""

__version__ = "0.1.0"
