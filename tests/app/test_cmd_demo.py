"""``motcua demo``: the streamlit command it builds and its option checks."""

from __future__ import annotations

import sys

import pytest

from motcua.cli import UsageError, build_parser
from motcua.cli.demo import APP, build_command


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
    # headless also when a browser is wanted: no first-run e-mail prompt to block on
    with_browser = build_command(_args("--port", "8600"))
    assert dict(zip(with_browser[5::2], with_browser[6::2], strict=True))[
        "--server.headless"] == "true"
    assert (APP.parent / "static" / "leaflet" / "leaflet.js").is_file()


def test_bad_port_and_unknown_scenario_are_usage_errors() -> None:
    with pytest.raises(UsageError, match="--port 0"):
        build_command(_args("--port", "0"))
    with pytest.raises(UsageError, match="no-such-place"):
        build_command(_args("--scenario", "no-such-place"))


def test_browser_opens_once_the_server_answers(monkeypatch: pytest.MonkeyPatch) -> None:
    """motcua opens the user's browser itself, only after the health URL answers."""
    import http.server
    import threading

    from motcua.cli import demo as cmd_demo

    class Health(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802
            ok = self.path == "/_stcore/health"
            self.send_response(200 if ok else 404)
            self.end_headers()
            self.wfile.write(b"ok" if ok else b"")

        def log_message(self, *a: object) -> None:
            pass

    opened: list[str] = []
    monkeypatch.setattr(cmd_demo.webbrowser, "open", opened.append)
    # nothing listens yet: gives up without opening anything
    assert not cmd_demo._open_when_ready("http://127.0.0.1:9", None, timeout_s=0.5)
    assert opened == []
    srv = http.server.HTTPServer(("127.0.0.1", 0), Health)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{srv.server_port}"
        assert cmd_demo._open_when_ready(url, None, timeout_s=10)
    finally:
        srv.shutdown()
        srv.server_close()
    assert opened == [url]


def test_scenario_folder_is_validated_and_copied(tmp_path) -> None:  # noqa: ANN001
    import shutil
    from pathlib import Path

    from motcua.cli.demo import scenario_ref

    tiny = Path(__file__).resolve().parent / "data" / "tiny"
    assert scenario_ref("demo", tmp_path / "ws") == "demo"  # shipped: by name, not copied
    assert not (tmp_path / "ws").exists()
    ref = scenario_ref(str(tiny), tmp_path / "ws")
    assert ref.startswith("ws:")
    assert (tmp_path / "ws" / "scenarios" / ref[3:] / "scenario.toml").is_file()
    # a broken folder: every problem named, nothing copied
    bad = tmp_path / "bad"
    shutil.copytree(tiny, bad)
    demand = (bad / "demand.csv").read_text(encoding="utf-8").replace("2000", "-3")
    (bad / "demand.csv").write_text(demand, encoding="utf-8")
    with pytest.raises(UsageError, match=r"demand\.csv.*population.*-3"):
        scenario_ref(str(bad), tmp_path / "ws2")
    assert not (tmp_path / "ws2").exists()
    with pytest.raises(UsageError, match="no-such-folder"):
        scenario_ref(str(tmp_path / "no-such-folder"), tmp_path / "ws3")


def test_listens_on_this_computer_only_unless_told(capsys: pytest.CaptureFixture[str],
                                                   monkeypatch: pytest.MonkeyPatch,
                                                   tmp_path) -> None:  # noqa: ANN001
    import tomllib

    from motcua.cli import demo as cmd_demo

    opts = dict(zip(*(lambda c: (c[5::2], c[6::2]))(build_command(_args("--no-browser"))),
                    strict=True))
    assert opts["--server.address"] == "127.0.0.1"
    config = tomllib.loads((APP.parent / ".streamlit" / "config.toml").read_text())
    assert config["server"]["address"] == "127.0.0.1"
    wide = build_command(_args("--host", "0.0.0.0", "--no-browser"))
    assert dict(zip(wide[5::2], wide[6::2], strict=True))["--server.address"] == "0.0.0.0"
    assert cmd_demo.is_local("127.0.0.1") and cmd_demo.is_local("::1")
    assert cmd_demo.is_local("localhost") and not cmd_demo.is_local("0.0.0.0")
    assert not cmd_demo.is_local("192.168.1.5")

    started: list[list[str]] = []

    class Done:
        def __init__(self, cmd: list[str], **kw: object) -> None:
            started.append(cmd)

        def wait(self, timeout: float | None = None) -> int:
            return 0

    monkeypatch.setattr(cmd_demo.subprocess, "Popen", Done)  # no server: only what is printed
    for argv, warned in ((["--host", "0.0.0.0"], True), ([], False),
                         (["--address", "127.0.0.1"], False)):
        assert cmd_demo.run(_args(*argv, "--no-browser", "--workspace", str(tmp_path))) == 0
        err = capsys.readouterr().err
        assert ("WARNING: serving on 0.0.0.0:8501, beyond this computer. The app has no login"
                in err) is warned, err
    assert len(started) == 3
