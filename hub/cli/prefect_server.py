"""Prefect's temporary server, started by the CLI at once instead of when the flow starts.

Without PREFECT_API_URL, Prefect starts a temporary server (`uvicorn ...
prefect.server.api.server:create_app`, about 4 s of CPU: mostly the server's imports)
the first time a flow needs the API, and the flow waits for it. A command that runs a
flow (`sync`, `stitch`, the demo) calls `start_early()` before it imports Prefect: the
same server, started the same way, in its own process, while this one imports Prefect,
loads the workspace, opens the store and takes its lease; `wait_ready()` before the
flow. On two cores the two start-ups overlap. PREFECT_API_URL is set (in this process
and for its children) to the server's address, so Prefect uses it and starts no other;
the server is stopped at exit as Prefect stops its own.

`crossdock sync|stitch|demo` (the console script, or `python -m hub.cli`) starts it as the
`hub.cli` package loads, before even the CLI's own imports (`start_for_command_line`);
the command calls `start_early()` again, which finds it running.

It is started only by the `crossdock` program (its main() calls `enable()`; the app
called in-process, by a test or a script, leaves Prefect to itself), and only when
Prefect would start its own: Prefect not imported yet, no PREFECT_API_URL in the
environment, and no Prefect setting anywhere else that might name a server or turn the
temporary one off (a profile, `.env`, `prefect.toml`, `pyproject.toml`); otherwise
Prefect decides, as before. `prefect server start` once and PREFECT_API_URL=http://127.0.0.1:4200/api skip
the start-up altogether.
"""

from __future__ import annotations

import atexit
import importlib.util
import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

__all__ = [
    "enable",
    "start_for_command_line",
    "start_early",
    "wait_ready",
    "started",
    "STARTUP_SETTING",
    "TIMED_OUT",
]

STARTUP_SETTING = "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS"
# Prefect's own words when its temporary server does not answer; `crossdock`'s main() turns
# a RuntimeError holding them into one line naming the setting.
TIMED_OUT = "Timed out while attempting to connect to ephemeral Prefect API server."
_STOP_SECONDS = 5.0  # as Prefect: SIGTERM, then SIGKILL after this long

_enabled = False
_proc: subprocess.Popen[bytes] | None = None
_url: str | None = None
_ready = False


def enable(on: bool = True) -> None:
    """Let `start_early` start a server in this process (the `crossdock` program's main(),
    for the command it runs)."""
    global _enabled
    _enabled = on


FLOW_COMMANDS = frozenset({"sync", "stitch", "demo"})  # the commands that run a Prefect flow
_NO_FLOW = frozenset({"--help", "--explain-config"})
_ROOT_OPTIONS_WITH_VALUES = frozenset({"--workspace", "-w", "--log-format"})


def start_for_command_line(argv: list[str]) -> bool:
    """Start the server now if `argv` is `crossdock` (the console script, or `python -m
    hub.cli` while the package is being found: argv[0] is then `-m`) running a command that
    runs a flow. Called by hub/cli/__init__.py before the CLI's imports: the server's ~4 s
    of start-up begin at the command's first instant. Anything else is left to the command."""
    program = argv[0] if argv else ""
    if program != "-m" and os.path.basename(program) != "crossdock":
        return False
    if command_in(argv[1:]) not in FLOW_COMMANDS or _NO_FLOW & set(argv):
        return False
    enable()
    return start_early()


def command_in(args: list[str]) -> str | None:
    """The command named by `crossdock`'s arguments (its root options skipped)."""
    rest = iter(args)
    for arg in rest:
        if arg in _ROOT_OPTIONS_WITH_VALUES:
            next(rest, None)
        elif not arg.startswith("-"):
            return arg
    return None


def started() -> str | None:
    """The API address of the server this process started (None: none)."""
    return _url


def start_early() -> bool:
    """Start Prefect's temporary server in its own process now, if Prefect would start one
    for this process's first flow anyway. Returns whether one runs (started now or before)."""
    global _proc, _url
    if _proc is not None:
        return True
    if not _enabled or not _prefect_would_start_one():
        return False
    prefect = importlib.util.find_spec("prefect")  # found, not imported
    if prefect is None or prefect.origin is None:
        return False
    port = _free_port()
    env = {
        **os.environ,
        # what Prefect's SubprocessASGIServer sets for its temporary server
        "PREFECT_UI_ENABLED": "0",
        "PREFECT__SERVER_EPHEMERAL": "1",
        "PREFECT__SERVER_FINAL": "1",
    }
    _proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "--app-dir",
            str(Path(prefect.origin).parent.parent),
            "--factory",
            "prefect.server.api.server:create_app",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--log-level",
            "error",
            "--lifespan",
            "on",
        ],
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,  # never into `--json` output; errors go to stderr
    )
    _url = f"http://127.0.0.1:{port}/api"
    os.environ["PREFECT_API_URL"] = _url  # read when Prefect is imported, after this
    atexit.register(_stop)  # registered before Prefect's own: runs after they flush to it
    return True


def wait_ready() -> None:
    """Return once the server started here answers (at once if none was started); raise
    RuntimeError (TIMED_OUT, and why) after STARTUP_SETTING seconds or if it exits."""
    global _ready
    if _proc is None or _ready:
        return
    from urllib.error import URLError
    from urllib.request import urlopen

    budget = float(os.environ.get(STARTUP_SETTING) or 20)
    deadline = time.monotonic() + budget
    while True:
        code = _proc.poll()
        if code is not None:
            raise RuntimeError(f"{TIMED_OUT} Its process exited with code {code}.")
        try:
            with urlopen(f"{_url}/health", timeout=2) as answer:
                if answer.status == 200:
                    _ready = True
                    return
        except (URLError, OSError):
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(f"{TIMED_OUT} It did not answer within {budget:g} s.")
        time.sleep(0.05)


def _stop() -> None:
    global _proc, _ready
    proc, _proc, _ready = _proc, None, False
    if proc is None or proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(timeout=_STOP_SECONDS)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


_PREFECT_FILES = (".env", "prefect.toml")  # in the working folder, as Prefect reads them
_EPHEMERAL_SWITCHES = ("PREFECT_SERVER_EPHEMERAL_ENABLED", "PREFECT_SERVER_ALLOW_EPHEMERAL_MODE")
_OFF = re.compile(r"(?i)ALLOW_EPHEMERAL_MODE|EPHEMERAL_ENABLED")
_FALSE = {"0", "false", "no", "off"}


def _prefect_would_start_one() -> bool:
    """True only when nothing may configure Prefect's API: a wrong guess must never send a
    user's flow runs to this server instead of theirs (or start one they turned off)."""
    if "prefect" in sys.modules:
        return False  # its settings are read already; let it decide
    if any(os.environ.get(name) for name in ("PREFECT_API_URL", "PREFECT_PROFILES_PATH")):
        return False
    if any(
        os.environ.get(name, "").strip().lower() in _FALSE
        for name in _EPHEMERAL_SWITCHES
        if name in os.environ
    ):
        return False
    cwd = Path.cwd()
    if any((cwd / name).exists() for name in _PREFECT_FILES):
        return False
    if "tool.prefect" in _text(cwd / "pyproject.toml"):
        return False
    home = Path(os.environ.get("PREFECT_HOME") or Path.home() / ".prefect").expanduser()
    profiles = _text(home / "profiles.toml")
    if "PREFECT_API_URL" in profiles or "PREFECT_API_KEY" in profiles:
        return False
    # a profile that turns the temporary server off (Prefect's own default profile turns it on)
    return not any(_OFF.search(line) and _has_false(line) for line in profiles.splitlines())


def _has_false(line: str) -> bool:
    value = line.partition("=")[2].strip().strip("\"'").lower()
    return value in _FALSE


def _text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""
