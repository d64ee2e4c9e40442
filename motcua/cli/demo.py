"""``motcua demo``: open the app in a browser on the synthetic demo scenario."""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.request
import webbrowser
from pathlib import Path

from motcua.cli._common import load_scenario
from motcua.errors import ScenarioError, UsageError

#: The app's entry point, beside the packages in the repository.
APP = Path(__file__).resolve().parents[2] / "app.py"
#: Where the app listens unless ``--host`` says otherwise: this computer only.
LOCAL_HOST = "127.0.0.1"


def is_local(host: str) -> bool:
    """Whether ``host`` is reachable from this computer only (a loopback address)."""
    import ipaddress

    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def network_warning(host: str, port: int) -> str:
    """What ``motcua demo`` prints before serving beyond this computer."""
    return (f"WARNING: serving on {host}:{port}, beyond this computer. The app has no login: "
            "anyone who can reach this port can open every scenario and result in the "
            "workspace, upload scenarios and run solves. Serve on the network only where "
            f"everyone who can reach it may do that; without --host it listens on {LOCAL_HOST} "
            "only.")


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = subparsers.add_parser(
        "demo",
        help="open the app (streamlit) on the synthetic demo scenario",
        description="Start the Streamlit app on the demo scenario. Results are kept in the "
                    "workspace folder ($MOTCUA_WORKSPACE or ./workspace).",
    )
    p.add_argument("--port", type=int, default=8501, help="port to serve on (default 8501)")
    p.add_argument("--host", "--address", dest="host", default=LOCAL_HOST, metavar="HOST",
                   help=f"address to listen on (default {LOCAL_HOST}: this computer only). "
                        "'--host 0.0.0.0' serves everyone on the network: the app has no "
                        "login, so anyone who can reach the port can read every scenario "
                        "and result and upload scenarios")
    p.add_argument("--workspace", type=Path, default=None,
                   help="folder for saved results (default $MOTCUA_WORKSPACE or ./workspace)")
    p.add_argument("--scenario", default="demo",
                   help="scenario to open: a folder name in scenarios/ (default demo), or the "
                        "path of a scenario folder (e.g. one written by 'motcua import'), "
                        "which is validated and copied into the workspace")
    p.add_argument("--lang", choices=("vi", "en"), default="vi", help="language (default vi)")
    p.add_argument("--no-browser", action="store_true", help="do not open a browser window")
    p.set_defaults(func=run)


def build_command(args: argparse.Namespace) -> list[str]:
    """The ``streamlit run`` command line for ``args``."""
    if not 0 < args.port < 65536:
        msg = f"--port {args.port}: expected 1-65535"
        raise UsageError(msg)
    if not APP.is_file():
        msg = f"the app is not installed beside the package (looked for {APP})"
        raise UsageError(msg)
    _scenario_folder(args.scenario)
    return [
        sys.executable, "-m", "streamlit", "run", str(APP),
        "--server.port", str(args.port),
        "--server.address", args.host,
        # always headless: otherwise streamlit's first run stops at an e-mail prompt;
        # motcua opens the browser itself once the server answers (_open_when_ready)
        "--server.headless", "true",
        "--server.enableStaticServing", "true",
        "--server.fileWatcherType", "none",
        "--browser.gatherUsageStats", "false",
        "--client.showErrorDetails", "none",
    ]


def _open_when_ready(url: str, proc: subprocess.Popen[bytes] | None,
                     timeout_s: float = 120.0) -> bool:
    """Open ``url`` in the user's browser once ``url/_stcore/health`` answers ok.

    Gives up (returns ``False``) when ``proc`` has ended or after ``timeout_s``.
    """
    health = url.rstrip("/") + "/_stcore/health"
    end = time.monotonic() + timeout_s
    while time.monotonic() < end and (proc is None or proc.poll() is None):
        try:
            with urllib.request.urlopen(health, timeout=2) as r:  # noqa: S310 (local URL)
                if r.status == 200:
                    webbrowser.open(url)
                    return True
        except OSError:
            pass
        time.sleep(0.3)
    return False


def _scenario_folder(arg: str) -> tuple[Path, bool]:
    """(folder, shipped) for ``--scenario``: a name in ``scenarios/`` or a folder path."""
    shipped = APP.parent / "scenarios" / arg
    if Path(arg).name == arg and (shipped / "scenario.toml").is_file():
        return shipped, True
    folder = Path(arg).expanduser()
    if (folder / "scenario.toml").is_file():
        return folder.resolve(), False
    msg = (f"--scenario {arg!r}: no {shipped / 'scenario.toml'} and no "
           f"{folder / 'scenario.toml'}; expected a folder name in scenarios/ or the path "
           "of a scenario folder")
    raise UsageError(msg)


def scenario_ref(arg: str, root: Path) -> str:
    """The app's reference for ``--scenario``: a shipped name as is; a folder path is
    validated (every problem named, as in the app) and copied into the workspace at
    ``root``, like an upload."""
    from motcua.app.workspace import Workspace

    folder, shipped = _scenario_folder(arg)
    if shipped:
        return arg
    try:
        scenario = load_scenario(folder)
    except ScenarioError as exc:
        msg = f"--scenario {arg}: the scenario is not valid:\n{exc}"
        raise UsageError(msg) from None
    return Workspace(root).add_scenario(folder, scenario.name)


def run(args: argparse.Namespace) -> int:
    from motcua.app.workspace import default_root

    cmd = build_command(args)
    env = dict(os.environ)
    # the app runs in the repository folder: give it the workspace as resolved here
    # (./workspace is where the user ran the command, as --workspace says)
    root = args.workspace.resolve() if args.workspace is not None else default_root()
    env["MOTCUA_WORKSPACE"] = str(root)
    env["MOTCUA_DEFAULT_SCENARIO"] = scenario_ref(args.scenario, root)
    env["MOTCUA_DEFAULT_LANG"] = args.lang
    host = LOCAL_HOST if args.host in ("0.0.0.0", "::") else args.host
    url = f"http://{host}:{args.port}"
    if not is_local(args.host):
        print(network_warning(args.host, args.port), file=sys.stderr)
    print(f"motcua demo: {url}  (Ctrl+C to stop)", file=sys.stderr)
    proc = subprocess.Popen(cmd, cwd=APP.parent, env=env)
    if not args.no_browser:
        threading.Thread(target=_open_when_ready, args=(url, proc), daemon=True).start()
    return _wait_for(proc)


def _wait_for(proc: subprocess.Popen[bytes]) -> int:
    """Wait for the app server; Ctrl+C, or a SIGTERM / SIGHUP sent to this command
    (a service manager, a closed terminal, a test), stops the server too. Python
    would otherwise exit on SIGTERM at once and leave the server running."""

    def stop(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    catch = [sig for sig in (getattr(signal, "SIGTERM", None), getattr(signal, "SIGHUP", None))
             if sig is not None]
    before = {sig: signal.signal(sig, stop) for sig in catch}
    try:
        return proc.wait()
    except KeyboardInterrupt:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        return 0
    finally:
        for sig, handler in before.items():
            signal.signal(sig, handler)
