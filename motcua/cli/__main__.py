"""``python -m motcua.cli``: the ``motcua`` command."""

from motcua.cli.main import entry

entry()
