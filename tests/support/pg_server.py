"""A throwaway PostgreSQL server for fault tests: stop it, restart it, kill -9 it.

The shared server at 127.0.0.1:5432 serves every other test and must never be disturbed, so fault tests run
their own: ``initdb`` into a temporary directory, a free 127.0.0.1 port, a private unix-socket directory, trust
authentication. As root (this machine), ``initdb`` refuses to run, so the binaries run as ``postgres`` through
``runuser`` and the temporary directory belongs to that user. Every wait is bounded; the directory and any
process left are removed on ``close()`` (a context manager, plus a finaliser at interpreter exit).

    with PgServer.create() as server:
        db = Database(server.url())
        server.kill()   # SIGKILL of the postmaster: the connections die mid-flight
        server.start()  # crash recovery, then accepting connections again
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import weakref
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType

BIN_DIRS = ("/usr/local/bin", "/usr/lib/postgresql/15/bin", "/usr/lib/postgresql/16/bin")
COMMAND_TIMEOUT_S = 60.0  # initdb and pg_ctl must finish within this
WAIT_S = 30  # pg_ctl -t: seconds to wait for a start or a stop
RUN_AS = "postgres"  # the user the server runs as when this process is root
SETTINGS = (  # small, fast and private; commits survive a killed server (not an OS crash)
    "listen_addresses=127.0.0.1",
    "max_connections=30",
    "shared_buffers=16MB",
    "fsync=off",
    "full_page_writes=off",
)


class PgServerError(RuntimeError):
    """A server command failed or did not finish in time; the message carries its output and log tail."""


def find_binaries(names: Sequence[str] = ("initdb", "pg_ctl", "postgres")) -> Path | None:
    """The directory holding every one of ``names`` (``initdb``, ``pg_ctl``, ``postgres``), or ``None``."""
    candidates = [*BIN_DIRS]
    found = shutil.which(names[0])
    if found:
        candidates.insert(0, str(Path(found).parent))
    for directory in candidates:
        if all(os.access(Path(directory, name), os.X_OK) for name in names):
            return Path(directory)
    return None


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nobody listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class PgServer:
    """One private PostgreSQL cluster in a temporary directory (see the module docstring)."""

    def __init__(self, bin_dir: Path) -> None:
        self.bin_dir = bin_dir
        self._as_user = os.geteuid() == 0
        self.root = Path(tempfile.mkdtemp(prefix="mimamori-pg-"))
        self.data_dir = self.root / "data"
        self.socket_dir = self.root / "socket"
        self.log_file = self.root / "server.log"
        self.port = free_port()
        self._finalizer = weakref.finalize(self, _remove, self.root, self.data_dir, self._pg_ctl_argv())
        if self._as_user:
            account = pwd.getpwnam(RUN_AS)
            os.chown(self.root, account.pw_uid, account.pw_gid)
        self.socket_dir.mkdir()
        if self._as_user:
            os.chown(self.socket_dir, account.pw_uid, account.pw_gid)
        self._run([str(bin_dir / "initdb"), "-D", str(self.data_dir), "-A", "trust", "-U", "postgres",
                   "-E", "UTF8", "--no-locale", "--no-sync", "--no-instructions"])  # fmt: skip

    @classmethod
    def create(cls, bin_dir: Path | None = None) -> PgServer:
        """Initialise and start a server; raises ``PgServerError`` (or ``FileNotFoundError`` without binaries)."""
        directory = bin_dir or find_binaries()
        if directory is None:
            raise FileNotFoundError("initdb/pg_ctl/postgres not found (PostgreSQL server binaries)")
        server = cls(directory)
        try:
            server.start()
        except BaseException:
            server.close()
            raise
        return server

    def url(self, database: str = "postgres", *, connect_timeout: int = 3) -> str:
        """A SQLAlchemy URL (psycopg 3) of ``database`` over TCP."""
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}?connect_timeout={connect_timeout}"

    @property
    def pid(self) -> int | None:
        """The postmaster's process id from ``postmaster.pid``, if it is running."""
        try:
            pid = int((self.data_dir / "postmaster.pid").read_text().split("\n", 1)[0])
        except (FileNotFoundError, ValueError, IndexError):
            return None
        return pid if _alive(pid) else None

    def start(self) -> None:
        """Start the server and wait until it accepts connections (after crash recovery, if any).

        After ``kill()``, the old backends may still hold the shared memory for a moment; the start is
        retried until they are gone, within ``WAIT_S``.
        """
        deadline = time.monotonic() + WAIT_S
        options = " ".join(["-p", str(self.port), "-k", str(self.socket_dir)] + [f"-c {s}" for s in SETTINGS])
        while True:
            try:
                self._run([*self._pg_ctl_argv(), "-l", str(self.log_file), "-o", options, "-w",
                           "-t", str(WAIT_S), "start"])  # fmt: skip
                return
            except PgServerError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)

    def stop(self, mode: str = "fast") -> None:
        """Stop the server (``smart``, ``fast`` or ``immediate``) and wait until it is down."""
        self._run([*self._pg_ctl_argv(), "-m", mode, "-w", "-t", str(WAIT_S), "stop"])

    def restart(self, mode: str = "fast") -> None:
        """``stop(mode)`` then ``start()``: every open connection is closed by the server."""
        self.stop(mode)
        self.start()

    def kill(self) -> None:
        """SIGKILL the postmaster (a crash) and wait until it is gone; its backends die on their own."""
        pid = self.pid
        if pid is None:
            raise PgServerError("kill: the server is not running")
        os.kill(pid, signal.SIGKILL)
        _wait_gone(pid, WAIT_S)

    def log_tail(self, lines: int = 20) -> str:
        """The last lines of the server log (for failure messages)."""
        try:
            return "\n".join(self.log_file.read_text(errors="replace").splitlines()[-lines:])
        except FileNotFoundError:
            return ""

    def close(self) -> None:
        """Stop the server at once if it runs and remove its directory; safe to call twice."""
        self._finalizer()

    def __enter__(self) -> PgServer:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.close()

    def _pg_ctl_argv(self) -> list[str]:
        return [*self._prefix(), str(self.bin_dir / "pg_ctl"), "-D", str(self.data_dir)]

    def _prefix(self) -> list[str]:
        return ["runuser", "-u", RUN_AS, "--"] if os.geteuid() == 0 else []

    def _run(self, argv: list[str]) -> None:
        if argv[0] != "runuser":
            argv = [*self._prefix(), *argv]
        try:
            done = subprocess.run(
                argv, capture_output=True, text=True, timeout=COMMAND_TIMEOUT_S, cwd=self.root, check=False
            )
        except subprocess.TimeoutExpired as error:
            raise PgServerError(
                f"{argv!r} timed out after {COMMAND_TIMEOUT_S}s\n{self.log_tail()}"
            ) from error
        if done.returncode != 0:
            raise PgServerError(
                f"{' '.join(argv)} exited {done.returncode}: {done.stdout}{done.stderr}\n{self.log_tail()}"
            )


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    with contextlib.suppress(FileNotFoundError, OSError):  # a zombie counts as gone
        if Path(f"/proc/{pid}/stat").read_text().split(") ", 1)[1].startswith("Z"):
            return False
    return True


def _wait_gone(pid: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while _alive(pid):
        if time.monotonic() > deadline:
            raise PgServerError(f"process {pid} still alive after {timeout}s")
        time.sleep(0.05)


def _remove(root: Path, data_dir: Path, pg_ctl: list[str]) -> None:
    """Stop whatever still runs from ``data_dir`` (immediate mode, then SIGKILL) and delete ``root``."""
    pid_file = data_dir / "postmaster.pid"
    if pid_file.exists():
        with contextlib.suppress(subprocess.SubprocessError, OSError):
            subprocess.run(
                [*pg_ctl, "-m", "immediate", "-w", "-t", "10", "stop"],
                capture_output=True,
                timeout=20,
                cwd=root,
                check=False,
            )
        with contextlib.suppress(FileNotFoundError, ValueError, IndexError, OSError):
            pid = int(pid_file.read_text().split("\n", 1)[0])
            if _alive(pid):
                os.kill(pid, signal.SIGKILL)
                _wait_gone(pid, 10)
    shutil.rmtree(root, ignore_errors=True)
