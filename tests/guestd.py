"""Run a real drover-guest daemon process for tests: private root, authkey, port on 127.0.0.1."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from guest.common import authkey, tlsauth
from tests.agents import make_agent_tree
from tests.conftest import MODULES, TOP, clean_environment

REAL_OCF = Path("/usr/lib/ocf")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class GuestDaemon:
    def __init__(self, base: Path, command: list[str] | None = None, settings: str = "",
                 address: str = "127.0.0.1") -> None:
        self.base = base
        self.address = address
        self.root = base / "root"
        self.port = free_port()
        self.key_path = self.root / "etc/pacemaker/authkey"
        if not self.key_path.exists():
            authkey.generate(self.key_path)
        self.identities = [tlsauth.identity_from_authkey(self.key_path.read_bytes())]
        self.ocf_root = self._agent_tree()
        self.command = command or [sys.executable, "-m", MODULES["drover-guest"]]
        self.settings = settings
        self.log_path = base / f"guest-{self.port}.log"
        self.process: subprocess.Popen | None = None

    def _agent_tree(self) -> Path:
        ocf_root, _ = make_agent_tree(self.base / "agents")
        for provider in ("heartbeat", "pacemaker"):
            (ocf_root / "resource.d" / provider).symlink_to(REAL_OCF / "resource.d" / provider)
        (ocf_root / "lib").symlink_to(REAL_OCF / "lib")
        return ocf_root

    def write_config(self) -> None:
        conf = self.root / "etc/drover/guest.conf"
        conf.parent.mkdir(parents=True, exist_ok=True)
        conf.write_text(f"[remote]\nport = {self.port}\nbind_address = {self.address}\nhandshake_timeout = 1s\n"
                        f"frame_timeout = 1s\n[agents]\nocf_root = {self.ocf_root}\n[log]\nlevel = debug\n"
                        + self.settings)

    def start(self, wait: bool = True, env: dict[str, str] | None = None) -> GuestDaemon:
        self.write_config()
        environment = clean_environment(DROVER_ROOT=str(self.root), PYTHONPATH=str(TOP), HA_RSCTMP=str(self.base),
                                        **(env or {}))
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen([*self.command, "daemon"], stdout=log, stderr=log, env=environment,
                                            cwd="/")
        if wait:
            self.wait_log("listening on")
        return self

    def log(self) -> str:
        return self.log_path.read_text() if self.log_path.exists() else ""

    def wait_log(self, text: str, timeout: float = 15.0) -> None:
        deadline = time.monotonic() + timeout
        while text not in self.log():
            if self.process is not None and self.process.poll() is not None:
                raise AssertionError(f"drover-guest exited {self.process.returncode}:\n{self.log()}")
            if time.monotonic() > deadline:
                raise AssertionError(f"no {text!r} in the daemon log within {timeout}s:\n{self.log()}")
            time.sleep(0.05)

    def wait_exit(self, timeout: float = 15.0) -> int:
        assert self.process is not None
        return self.process.wait(timeout)

    def stop(self) -> int:
        """SIGTERM (after SIGCONT, were it frozen) and its exit code; killed if it does not end within 15 s, so
        a failed or timed-out test never leaves a daemon behind."""
        if self.process is None or self.process.poll() is not None:
            return self.process.returncode if self.process else 0
        self.process.send_signal(signal.SIGCONT)
        self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(10)
            raise AssertionError(f"drover-guest did not stop within 15s of SIGTERM:\n{self.log()[-2000:]}") from None
