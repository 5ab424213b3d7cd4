"""A real appliance for tests: a private root sharing the guest's authkey, the walk-through, a daemon.

The daemon runs either in the test's own event loop (so the test can reach the
in-process libvirt `test:///default` hypervisor and destroy the VM) or as a
`drover daemon` process (for kill -9). Guest1 is a real drover-guest process
on 127.0.0.1; its "VM" is a test-driver domain.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from appliance.cli import state
from appliance.daemon import Daemon
from appliance.store.cib_store import CibStore
from guest.common import config
from guest.common.cli import Context
from guest.common.paths import Paths
from guest.common.schemas import drover_schema
from tests.conftest import MODULES, TOP, clean_environment, run_source
from tests.guestd import GuestDaemon

NODE = "node1"


class Appliance:
    def __init__(self, base: Path, guest: GuestDaemon, settings: str = ""):
        self.base = base
        self.guest = guest
        self.root = base / "appliance"
        key = self.root / "etc/pacemaker/authkey"
        key.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(guest.key_path, key)
        key.chmod(0o600)
        conf = self.root / "etc/drover/drover.conf"
        conf.parent.mkdir(parents=True, exist_ok=True)
        conf.write_text(f"[cluster]\nnode_name = {NODE}\n[agents]\nocf_root = {guest.ocf_root}\n"
                        f"[log]\nlevel = debug\n{settings}")
        self.domain = f"vm-guest1-{guest.port}"          # test:///default is shared by everything in a process
        self.vm_xml = base / "vm-guest1.xml"
        self.vm_xml.write_text(f"<domain type='test'><name>{self.domain}</name><memory unit='MiB'>64</memory>"
                               f"<os><type>hvm</type></os></domain>")
        self.daemon: Daemon | None = None
        self.process: subprocess.Popen | None = None
        self.log_path = base / "drover.log"

    @property
    def state_db(self) -> Path:
        return self.root / "var/lib/drover/state.db"

    def drover(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        result = run_source("drover", *args, root=self.root)
        if check and result.returncode != 0:
            raise AssertionError(f"drover {' '.join(args)} exited {result.returncode}:\n{result.stderr}")
        return result

    def walkthrough(self, monitor: str = "1s", vm_monitor: str | None = None) -> None:
        self.drover("resource", "create", "vm-guest1", "VirtualDomain", "hypervisor=test:///default",
                    f"config={self.vm_xml}", "op", "monitor", f"interval={vm_monitor or monitor}", "meta",
                    "remote-node=guest1",
                    f"remote-addr={self.guest.address}", f"remote-port={self.guest.port}", "remote-connect-timeout=30s")
        self.drover("resource", "create", "webserver", "ocf:heartbeat:Dummy", "op", "monitor", f"interval={monitor}")
        self.drover("constraint", "location", "webserver", "prefers", "guest1")

    # -- in-process daemon ---------------------------------------------------------------------------------

    def start_in_process(self) -> Daemon:
        paths = Paths(self.root)
        loaded = config.load(drover_schema(paths), paths, {})
        self.daemon = Daemon(loaded, state.settings(Context("drover", paths, {})), paths)
        self.daemon.start()
        return self.daemon

    async def stop_in_process(self) -> None:
        if self.daemon is not None:
            await self.daemon.stop()
            self.daemon = None

    # -- daemon process ------------------------------------------------------------------------------------

    def start_process(self, command: list[str] | None = None) -> subprocess.Popen:
        environment = clean_environment(DROVER_ROOT=str(self.root), PYTHONPATH=str(TOP),
                                        HA_RSCTMP=os.environ.get("HA_RSCTMP", str(self.base)))
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen([*(command or [sys.executable, "-m", MODULES["drover"]]), "daemon"],
                                            stdout=log, stderr=log, env=environment, cwd="/")
        return self.process

    def kill_process(self, signum: int = signal.SIGKILL) -> None:
        if self.process is not None and self.process.poll() is None:
            os.kill(self.process.pid, signum)
            self.process.wait(15)

    def log(self) -> str:
        return self.log_path.read_text() if self.log_path.exists() else ""

    # -- observing -----------------------------------------------------------------------------------------

    def cib(self):
        store = CibStore.open(self.state_db)
        try:
            return store.read()
        finally:
            store.close()

    def status_json(self) -> dict:
        return json.loads(self.drover("status", "--output-as=json").stdout)

    def placement(self) -> dict[str, list[tuple[str, str]]]:
        """resource id -> [(node, role)] according to `drover status`."""
        found: dict[str, list[tuple[str, str]]] = {}
        for resource in self.status_json()["resources"]:
            for member in resource["members"]:
                found[member["id"]] = [(node, member["role"]) for node in member["nodes"]]
        return found

    def ops(self, resource: str, node: str | None = None, action: str | None = None) -> list:
        return [op for entry in self.cib().status.history if entry.resource == resource
                and (node is None or entry.node == node) for op in entry.ops
                if action is None or op.operation == action]


async def wait_for(predicate: Callable[[], object], timeout: float = 30.0, what: str = "condition",
                   log: Callable[[], str] | None = None) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            if predicate():
                return
        except (AssertionError, KeyError, IndexError, ValueError):
            pass
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} not reached within {timeout}s" + (f"\n{log()}" if log else ""))
        await asyncio.sleep(0.1)


def wait_for_sync(predicate: Callable[[], object], timeout: float = 30.0, what: str = "condition",
                  log: Callable[[], str] | None = None) -> None:
    asyncio.run(wait_for(predicate, timeout, what, log))
