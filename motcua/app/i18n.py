"""The app's texts and number/date formats, kept under this name for the app's pages.

They live in :mod:`motcua.i18n`: the services (:mod:`motcua.placement`, ...) word their
answers with them too, and the services do not import the app (an import-linter contract
in pyproject.toml)."""

from motcua.i18n import *  # noqa: F403
