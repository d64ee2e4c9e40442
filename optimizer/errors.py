"""Errors of :mod:`optimizer` a caller can act on.

:class:`InvalidInputError` marks input a caller can fix (a seed out of range, fewer
points than must-open sites, arrays of different lengths): front ends (the
``motcua`` command line, the app) show its message as "fix your input".  Any
other exception from a model is a bug and is reported as one.  It is a
``ValueError`` so that code written against the plain ``ValueError`` still
catches it.
"""

from __future__ import annotations


class InvalidInputError(ValueError):
    """Input to a model or service that cannot be used, named in the message."""
