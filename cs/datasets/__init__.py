"""Problem generators (``synthetic``) and, later, real data (``video``)."""

from . import synthetic

__all__ = ["synthetic"]
