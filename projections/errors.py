"""Errors the read side raises on purpose. Imports nothing else from the project."""

from __future__ import annotations


class ProjectionError(Exception):
    """Base for every error the read side raises on purpose."""


class RecordNotFoundError(ProjectionError):
    """The named record does not exist as known at the requested moment."""
