"""A BMC for the tests: OpenIPMI's `ipmi_sim` on a loopback UDP port, whose chassis power is a process (its
`startcmd`): powered on, the process runs; powered off, ipmi_sim has killed it. Real fence agents
(fence_ipmilan over IPMI 2.0 lanplus) drive it as they would a server's BMC.

Rules: everything under the given directory; `close()` kills ipmi_sim and the chassis process."""

from __future__ import annotations

import contextlib
import random
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

USERNAME, PASSWORD = "admin", "drover-test"


def free_port(kind: int = socket.SOCK_DGRAM) -> int:
    with socket.socket(socket.AF_INET, kind) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class IpmiSim:
    """`machine`: the chassis process's command, given the marker as its last argument (default: `sleep`);
    `namespace`: run ipmi_sim in that network namespace, listening on `address`:`port`."""

    def __init__(self, directory: Path, address: str = "127.0.0.1", port: int | None = None,
                 namespace: str | None = None, machine: str = "sleep") -> None:
        self.directory = directory
        self.address, self.namespace, self.machine = address, namespace, machine
        self.port = port or free_port()
        self.marker = f"86400.{random.randrange(10**8):08d}"      # the chassis process: `MACHINE MARKER`
        self.process: subprocess.Popen | None = None

    @property
    def params(self) -> dict[str, str]:
        return {"ip": self.address, "ipport": str(self.port), "username": USERNAME, "password": PASSWORD,
                "lanplus": "1", "cipher": "3"}     # ipmi_sim answers no cipher-suite query: name one

    def start(self, powered: bool = True) -> IpmiSim:
        self.directory.mkdir(parents=True, exist_ok=True)
        (self.directory / "lan.conf").write_text(f"""name "drover-test"
set_working_mc 0x20
  startlan 1
    addr {self.address} {self.port}
    priv_limit admin
    allowed_auths_callback none md2 md5 straight
    allowed_auths_user none md2 md5 straight
    allowed_auths_operator none md2 md5 straight
    allowed_auths_admin none md2 md5 straight
    guid a123456789abcdefa123456789abcdef
  endlan
  serial 15 127.0.0.1 {free_port(socket.SOCK_STREAM)} codec VM
  startcmd "{self.machine} {self.marker}"
  startnow {"true" if powered else "false"}
  poweroff_wait 1
  kill_wait 2
  user 2 true "{USERNAME}" "{PASSWORD}" admin 10 none md2 md5 straight
""")
        (self.directory / "sim.emu").write_text("mc_setbmc 0x20\n"
                                                "mc_add 0x20 0 no-device-sdrs 0x23 9 8 0x9f 0x1291 0xf02\n"
                                                "mc_enable 0x20\n")
        with open(self.directory / "ipmi_sim.log", "wb") as log:
            prefix = ["ip", "netns", "exec", self.namespace] if self.namespace else []
            self.process = subprocess.Popen(
                [*prefix, "ipmi_sim", "-n", "-c", str(self.directory / "lan.conf"), "-f",
                 str(self.directory / "sim.emu"), "-s", str(self.directory / "state")],
                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + 10
        while powered and not self.powered() and time.monotonic() < deadline:
            time.sleep(0.1)
        return self

    def powered(self) -> bool:
        """Whether the chassis process runs (the BMC's power, as the machine itself would feel it)."""
        found = subprocess.run(["pgrep", "-f", f" {self.marker}$"], capture_output=True)
        return found.returncode == 0

    def close(self) -> None:
        if self.process is not None and self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=10)
        subprocess.run(["pkill", "-KILL", "-f", f" {self.marker}$"], capture_output=True)


def available() -> bool:
    return shutil.which("ipmi_sim") is not None and Path("/usr/sbin/fence_ipmilan").exists() \
        and shutil.which("ipmitool") is not None
