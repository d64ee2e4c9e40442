"""``motcua demo``: the streamlit command it builds and its option checks."""

from __future__ import annotations

import sys

import pytest

from motcua.cli import UsageError, build_parser
from motcua.cmd_demo import APP, build_command


def _args(*argv: str):  # noqa: ANN202
    return build_parser().parse_args(["demo", *argv])


def test_command_serves_the_app_with_static_leaflet(demo_dir) -> None:  # noqa: ANN001
    cmd = build_command(_args("--port", "8600", "--no-browser"))
    assert cmd[:5] == [sys.executable, "-m", "streamlit", "run", str(APP)]
    opts = dict(zip(cmd[5::2], cmd[6::2], strict=True))
    assert opts["--server.port"] == "8600"
    assert opts["--server.enableStaticServing"] == "true"
    assert opts["--server.headless"] == "true"
    assert opts["--browser.gatherUsageStats"] == "false"
    assert (APP.parent / "static" / "leaflet" / "leaflet.js").is_file()


def test_bad_port_and_unknown_scenario_are_usage_errors() -> None:
    with pytest.raises(UsageError, match="--port 0"):
        build_command(_args("--port", "0"))
    with pytest.raises(UsageError, match="no-such-place"):
        build_command(_args("--scenario", "no-such-place"))
