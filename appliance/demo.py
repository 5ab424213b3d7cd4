"""`make demo`: the user's walk-through on embedded defaults, in a throw-away directory.

node1 is this host (state in a temp dir, `drover daemon` as its controller);
guest1 is a real drover-guest daemon on 127.0.0.1 whose "VM" is a domain of
libvirt's test:///default hypervisor (in the daemon's process: a real libvirt
driver that needs no KVM); the web server is ocf:heartbeat:apache running
Debian's apache2 with a configuration of its own (127.0.0.1 on a free port,
its pages in guest1's directory), as the seed has it; only where apache2 is not
installed (make deps installs it) it is ocf:heartbeat:Dummy. It ends with
`drover status` and, with Apache, by fetching the page guest1 serves.
"""

from __future__ import annotations

import contextlib
import json
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

NODE = "node1"


def drover(root: Path, *args: str, show: bool = True, check: bool = True) -> subprocess.CompletedProcess:
    if show:
        print(f"$ drover {' '.join(args)}", flush=True)
    result = subprocess.run([sys.executable, "-m", "appliance", *args], env=dict(os.environ, DROVER_ROOT=str(root)),
                            capture_output=True, text=True)
    if show and result.stdout:
        print(result.stdout, end="", flush=True)
    if check and result.returncode != 0:
        raise SystemExit(f"demo: drover {' '.join(args)} failed:\n{result.stderr}")
    return result


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def spawn(argv: list[str], root: Path, log: Path, **env: str) -> subprocess.Popen:
    with open(log, "wb") as output:
        return subprocess.Popen(argv, stdout=output, stderr=output, env=dict(os.environ, DROVER_ROOT=str(root), **env))


def wait_until(what: str, check, log: Path, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise SystemExit(f"demo: {what} did not happen within {timeout:.0f}s; log:\n{log.read_text()}")
        time.sleep(0.2)


def placement(root: Path) -> dict[str, list]:
    status = json.loads(drover(root, "status", "--output-as=json", show=False).stdout)
    return {m["id"]: m["nodes"] for r in status["resources"] for m in r["members"] if m["role"] != "Stopped"}


def online(root: Path) -> list[str]:
    status = json.loads(drover(root, "status", "--output-as=json", show=False).stdout)
    return [n["name"] for n in status["nodes"] if n["state"] == "online"]


APACHE = "/usr/sbin/apache2"
MODULES = Path("/usr/lib/apache2/modules")
MODULE_NAMES = ("mpm_event", "authz_core", "dir", "mime", "status")    # what the demo's site loads
PAGE = "<html><body><h1>drover demo: served by Apache in guest1</h1></body></html>\n"


def apache_site(guest: Path, port: int) -> Path:
    """A configuration of the demo's own for Debian's apache2: 127.0.0.1:port, pages and logs in guest1's
    directory, mod_status for the agent's monitor. Its directories are opened up to the worker user."""
    www = guest / "www"
    www.mkdir(parents=True)
    (www / "index.html").write_text(PAGE)
    temp = Path(tempfile.gettempdir())
    for directory in (www, *www.parents):            # the demo's own directories, up to the temp dir
        if directory == temp or temp not in directory.parents:
            break
        directory.chmod(0o755)
    user = "www-data" if _user_exists("www-data") else "nobody"
    modules = "".join(f"LoadModule {name}_module {MODULES / f'mod_{name}.so'}\n" for name in MODULE_NAMES)
    config = guest / "apache.conf"
    config.write_text(f"""# the demo's web server (ocf:heartbeat:apache starts it with this file)
ServerRoot "{guest}"
{modules}User {user}
ServerName localhost
Listen 127.0.0.1:{port}
PidFile "{guest / 'apache.pid'}"
ErrorLog "{guest / 'apache-error.log'}"
TypesConfig /etc/mime.types
DocumentRoot "{www}"
DirectoryIndex index.html
<Directory "{www}">
    Require all granted
</Directory>
<Location "/server-status">
    SetHandler server-status
    Require all granted
</Location>
""")
    return config


def _user_exists(name: str) -> bool:
    try:
        pwd.getpwnam(name)
    except KeyError:
        return False
    return True


def webserver_agent(guest: Path, port: int) -> list[str]:
    """The seed's Apache where apache2 is installed (its site in `guest`, on 127.0.0.1:port), else Dummy."""
    if not have_apache():
        print(f"demo: {APACHE} is not installed (make deps installs apache2-bin): the web server is "
              "ocf:heartbeat:Dummy", flush=True)
        return ["ocf:heartbeat:Dummy"]
    return ["apache", f"configfile={apache_site(guest, port)}", f"statusurl=http://127.0.0.1:{port}/server-status"]


def have_apache() -> bool:
    return os.access(APACHE, os.X_OK) and all((MODULES / f"mod_{name}.so").exists() for name in MODULE_NAMES)


def stop_apache(guest: Path) -> None:
    """The demo is thrown away: its Apache goes too (stopping drover's daemons leaves resources running)."""
    pid_file = guest / "apache.pid"
    with contextlib.suppress(OSError, ValueError):          # it never started, or has already gone
        pid = int(pid_file.read_text().strip())
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:                  # gone before the demo's directory is
            os.kill(pid, 0)
            time.sleep(0.1)


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="drover-demo-") as temp:
        base = Path(temp)
        host, guest = base / "node1", base / "guest1"
        print(f"demo: node1 is DROVER_ROOT={host}, guest1 is DROVER_ROOT={guest}", flush=True)
        (host / "etc/drover").mkdir(parents=True)
        (host / "etc/drover/drover.conf").write_text(f"[cluster]\nnode_name = {NODE}\n")
        drover(host, "authkey", "generate")
        (guest / "etc/pacemaker").mkdir(parents=True)
        shutil.copy(host / "etc/pacemaker/authkey", guest / "etc/pacemaker/authkey")
        (guest / "etc/pacemaker/authkey").chmod(0o600)
        print("$ cp /etc/pacemaker/authkey guest1:/etc/pacemaker/authkey", flush=True)
        port = free_port()
        (guest / "etc/drover").mkdir(parents=True)
        (guest / "etc/drover/guest.conf").write_text(f"[remote]\nport = {port}\nbind_address = 127.0.0.1\n")
        guest_log, daemon_log = base / "guest1.log", base / "drover.log"
        print(f"$ drover-guest daemon          (guest1, listening on 127.0.0.1:{port})", flush=True)
        guest_daemon = spawn([sys.executable, "-m", "guest", "daemon"], guest, guest_log, HA_RSCTMP=str(guest))
        processes = [guest_daemon]
        try:
            wait_until("drover-guest listening", lambda: "listening on" in guest_log.read_text(), guest_log, 15)
            vm_xml = base / "vm-guest1.xml"
            vm_xml.write_text("<domain type='test'>\n  <name>vm-guest1</name>\n  <memory unit='MiB'>256</memory>\n"
                              "  <os><type>hvm</type></os>\n</domain>\n")
            drover(host, "resource", "create", "vm-guest1", "VirtualDomain", "hypervisor=test:///default",
                   f"config={vm_xml}", "meta", "remote-node=guest1", "remote-addr=127.0.0.1", f"remote-port={port}")
            print("$ drover daemon                (node1's controller; systemd runs it as drover.service)",
                  flush=True)
            processes.append(spawn([sys.executable, "-m", "appliance", "daemon"], host, daemon_log,
                                   HA_RSCTMP=str(host)))
            wait_until("guest1 online", lambda: "guest1" in online(host), daemon_log)
            print("demo: the VM is running and guest1 is online", flush=True)
            web_port = free_port()
            agent = webserver_agent(guest, web_port)
            drover(host, "resource", "create", "webserver", *agent, "op", "monitor", "interval=30s")
            drover(host, "constraint", "location", "webserver", "prefers", "guest1")
            wait_until("webserver started on guest1", lambda: placement(host).get("webserver") == ["guest1"],
                       daemon_log)
            drover(host, "status")
            if agent[0] == "apache":
                url = f"http://127.0.0.1:{web_port}/"
                print(f"$ curl {url}", flush=True)
                with urllib.request.urlopen(url, timeout=10) as response:
                    print(response.read().decode(), end="", flush=True)
        finally:
            for process in reversed(processes):
                process.send_signal(signal.SIGTERM)
                process.wait(15)
            stop_apache(guest)
    return 0


if __name__ == "__main__":
    sys.exit(main())
