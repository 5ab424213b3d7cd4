"""A micro-VM whose PID 1 is a real systemd: the drover-guest RPM's unit, binary and config, run as shipped.

The initramfs's /init is the host's systemd (/usr/lib/systemd/systemd with
the libraries ldd names), with systemctl and busybox, in a merged-/usr tree. The
drover-guest RPM is unpacked into it with rpm2cpio | cpio, so
/usr/lib/systemd/system/drover-guest.service, /usr/bin/drover-guest,
/usr/lib64/drover-guest/ and /etc/drover/guest.conf are exactly the package's;
the unit is enabled as an administrator would (`systemctl --root=TREE enable`).
What systemd needs around it is written here: a handful of targets
(default.target is multi-user.target), a oneshot unit loading the virtio-net
modules and configuring the slirp network as tests.microvm.INIT does, a stand-in
pacemaker_remote.service (/bin/sleep), the test's agent ocf:drover-test:sleeper
(its start leaves a `sleep` daemon behind), and a check script run as a unit
that prints its findings on the serial console between CHECK_BEGIN and CHECK_END.
Service output goes to the console (DefaultStandardOutput=tty: there is no journald). The host's
C.utf8 locale is included: systemd gives services LANG=C.UTF-8, and without that locale installed the
Nuitka-built drover-guest aborts (SIGABRT, no message) before doing anything.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

from tests import microvm

CHECK_BEGIN, CHECK_END = "=== unit check ===", "=== end of unit check ==="
CHECK_PREFIX = "UNITCHECK "
AGENT_PROVIDER, AGENT_TYPE = "drover-test", "sleeper"
AGENT_STATE = "/run/drover-test-sleeper"      # pidfiles and the agent's log of the actions it was asked for
UNIT = "drover-guest.service"

# The test's OCF agent: start leaves `sleep 1000000` running as a daemon (setsid, pidfile), as a service an agent
# manages would be; every action it is asked for is appended to $AGENT_STATE/actions.log. A probe on a node that
# never started it (the host) finds no state directory and creates nothing.
AGENT = """#!/bin/sh
# ocf:drover-test:sleeper: a daemon (sleep) that outlives the agent, with a pidfile
state=__STATE__
pidfile=$state/$OCF_RESOURCE_INSTANCE.pid
note() { [ -d "$state" ] && echo "$(date +%s) $OCF_RESOURCE_INSTANCE $1 $2" >> "$state/actions.log"; return 0; }
running() { [ -s "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; }
case "$1" in
  meta-data)
    cat <<'EOF'
<?xml version="1.0"?>
<resource-agent name="sleeper" version="1.0">
  <version>1.0</version>
  <longdesc lang="en">Leaves a sleep daemon running (the drover systemd unit test).</longdesc>
  <shortdesc lang="en">sleep daemon</shortdesc>
  <parameters/>
  <actions>
    <action name="start" timeout="20s"/>
    <action name="stop" timeout="20s"/>
    <action name="monitor" timeout="20s" interval="5s"/>
    <action name="meta-data" timeout="5s"/>
  </actions>
</resource-agent>
EOF
    exit 0;;
  start)
    mkdir -p "$state"
    if running; then note start 0; exit 0; fi
    rm -f "$pidfile"
    setsid sh -c 'echo $$ > "$1"; exec sleep 1000000' sleeper "$pidfile" < /dev/null > /dev/null 2>&1 &
    i=0
    while [ $i -lt 50 ] && ! running; do sleep 0.1; i=$((i+1)); done
    if running; then note start 0; exit 0; fi
    note start 1; exit 1;;
  stop)
    if running; then kill "$(cat "$pidfile")"; fi
    rm -f "$pidfile"; note stop 0; exit 0;;
  monitor)
    if running; then note monitor 0; exit 0; fi
    note monitor 7; exit 7;;
  *) exit 3;;
esac
"""

NETWORK_UNIT = """[Unit]
Description=virtio-net modules and the slirp network (test image)
DefaultDependencies=no
Before=network.target network-online.target

[Service]
Type=oneshot
RemainAfterExit=yes
ExecStart=/bin/sh -c 'for m in {modules}; do insmod /lib/modules/$m.ko; done; ip link set lo up; \\
ip link set eth0 up; ip addr add {address}/24 dev eth0; ip route add default via {gateway}'

[Install]
WantedBy=network-online.target
"""

STAND_IN_UNIT = """[Unit]
Description=Stand-in for Pacemaker's pacemaker_remote.service (test image)

[Service]
ExecStart=/bin/sleep 1000000
"""

CHECK_UNIT = """[Unit]
Description=The drover-guest unit checks (test image)
After=drover-guest.service network-online.target

[Service]
Type=simple
ExecStart=/usr/libexec/unit-check
Environment=SYSTEMD_PAGER=cat SYSTEMD_COLORS=0
StandardOutput=tty
StandardError=tty

[Install]
WantedBy=multi-user.target
"""

# Runs once the host has started the resource in the guest; every finding is one `UNITCHECK key=value` line.
# A step that must see the host reconnect waits for a monitor the agent logs after it (the host re-registers
# its recurring monitor with the new daemon), within WAIT seconds.
CHECK = """#!/bin/sh
state=__STATE__
pidfile=$state/__RESOURCE__.pid
log=$state/actions.log
WAIT=90
say() { echo "__PREFIX__$*"; }
active() { systemctl is-active __UNIT__; }
mainpid() { systemctl show -p MainPID --value __UNIT__; }
alive() { if kill -0 "$pid" 2>/dev/null && [ "$(cat /proc/$pid/comm)" = sleep ]; then echo yes; else echo no; fi; }
cgroup() { cat /proc/$pid/cgroup 2>/dev/null | tr '\\n' ' '; }
count() { n=$(grep -c " __RESOURCE__ $1$" "$log" 2>/dev/null); echo "${n:-0}"; }
monitors() { count "monitor 0"; }
# wait_monitor NAME: a successful monitor after this moment, within WAIT seconds
wait_monitor() {
  before=$(monitors); i=0
  while [ $i -lt $WAIT ]; do
    if [ "$(monitors)" -gt "$before" ]; then say "$1=yes after=${i}s"; return; fi
    sleep 1; i=$((i+1))
  done
  say "$1=no"
}
i=0
while [ $i -lt 300 ] && [ "$(count "start 0")" = 0 ]; do sleep 1; i=$((i+1)); done
echo "__BEGIN__"
[ "$(count "start 0")" != 0 ] || { say "started=no"; echo "__END__"; exit 1; }
pid=$(cat "$pidfile")
say "started=yes"
wait_monitor monitor_before
say "pid=$pid"
say "alive_at_start=$(alive)"
say "cgroup_at_start=$(cgroup)"
say "active_at_boot=$(active)"
for p in FragmentPath Type KillMode TasksMax; do say "$p=$(systemctl show -p $p --value __UNIT__)"; done
say "unit_sha256=$(sha256sum "$(systemctl show -p FragmentPath --value __UNIT__)" | cut -d' ' -f1)"
say "main_pid_before=$(mainpid)"
say "main_exe=$(readlink /proc/$(mainpid)/exe)"

systemctl restart __UNIT__; say "restart_rc=$?"
say "active_after_restart=$(active)"
say "main_pid_after_restart=$(mainpid)"
say "alive_after_restart=$(alive)"
say "cgroup_after_restart=$(cgroup)"
wait_monitor monitor_after_restart

systemctl stop __UNIT__; say "stop_rc=$?"
say "active_after_stop=$(active)"
say "alive_after_stop=$(alive)"
say "cgroup_after_stop=$(cgroup)"
sleep 2
say "alive_after_stop_2s=$(alive)"
systemctl start __UNIT__; say "start_rc=$?"
say "active_after_start=$(active)"
say "alive_after_start=$(alive)"
wait_monitor monitor_after_start

systemctl start pacemaker_remote.service; say "conflict_rc=$?"
say "pacemaker_remote=$(systemctl is-active pacemaker_remote.service)"
# with After= beside Conflicts=, systemd ends drover-guest's stop before it starts the other unit
say "drover_when_pacemaker_remote_started=$(active)"
i=0
while [ $i -lt 30 ] && [ "$(active)" != inactive ]; do sleep 1; i=$((i+1)); done
say "active_after_conflict=$(active) after=${i}s"
say "alive_after_conflict=$(alive)"
systemctl stop pacemaker_remote.service
systemctl start __UNIT__; say "start_again_rc=$?"
say "active_after_start_again=$(active)"
wait_monitor monitor_after_start_again
say "alive_at_end=$(alive)"
say "agent_starts=$(count "start 0")"
say "agent_stops=$(count "stop 0")"
echo "__END__"
"""

TARGETS = {
    "sysinit.target": "[Unit]\nDescription=System Initialization\nDefaultDependencies=no\n",
    "basic.target": "[Unit]\nDescription=Basic System\nRequires=sysinit.target\nAfter=sysinit.target\n",
    "multi-user.target": "[Unit]\nDescription=Multi-User System\nRequires=basic.target\nAfter=basic.target\n"
                         "AllowIsolate=yes\n",
    "shutdown.target": "[Unit]\nDescription=System Shutdown\nDefaultDependencies=no\n",
    "network.target": "[Unit]\nDescription=Network\n",
    "network-online.target": "[Unit]\nDescription=Network is Online\nRequires=network.target\n"
                             "After=network.target\n",
    "time-sync.target": "[Unit]\nDescription=System Time Synchronized\n",
}


def _copy_with_libraries(binaries: list[Path], work: Path) -> None:
    """Each host binary to its own path in `work`, with the libraries ldd names (at the paths ldd gives)."""
    for binary in binaries:
        destination = work / str(binary).lstrip("/")
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(binary, destination)
    _add_libraries(binaries, work)


def _add_libraries(binaries: list[Path], work: Path) -> None:
    for library in microvm._libraries(binaries) | {Path("/lib64/ld-linux-x86-64.so.2")}:
        if library.is_relative_to(work):                # bundled with the binary (the package's own)
            continue
        destination = work / str(library).lstrip("/")
        if not destination.exists():
            destination.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(library.resolve(), destination)


def initramfs(target: Path, rpm: Path, modules: Path, authkey: Path, resource: str,
              edit_unit: Callable[[str], str] | None = None, address: str = "10.0.2.15",
              gateway: str = "10.0.2.2") -> Path:
    """The image; `resource` is the id of the sleeper resource the check script waits for; `edit_unit`, when
    given, rewrites the package's drover-guest.service (only to prove the test fails on a wrong unit)."""
    work = target.with_suffix(".d")
    shutil.rmtree(work, ignore_errors=True)
    for directory in ("bin", "sbin", "lib", "lib64"):       # merged /usr, as Debian and EL9 have it
        (work / "usr" / directory).mkdir(parents=True)
        (work / directory).symlink_to(f"usr/{directory}")
    for directory in ("etc/systemd/system", "proc", "sys", "dev", "run", "tmp", "root", "var/lib", "var/log",
                      "usr/libexec"):
        (work / directory).mkdir(parents=True, exist_ok=True)
    (work / "var/run").symlink_to("../run")

    # the package, exactly as shipped
    payload = subprocess.run(["rpm2cpio", str(rpm)], capture_output=True, check=True).stdout
    subprocess.run(["cpio", "-idm", "--quiet"], cwd=work, input=payload, check=True)
    guest_binary = work / "usr/lib64/drover-guest/drover-guest"
    _add_libraries([guest_binary, *guest_binary.parent.rglob("*.so*")], work)
    unit = work / "usr/lib/systemd/system" / UNIT
    if edit_unit is not None:
        unit.write_text(edit_unit(unit.read_text()))

    # systemd as PID 1, systemctl and busybox for the shell and its tools
    _copy_with_libraries([Path("/usr/lib/systemd/systemd"), Path("/usr/bin/systemctl")], work)
    (work / "init").symlink_to("usr/lib/systemd/systemd")
    shutil.copy("/bin/busybox", work / "usr/bin/busybox")
    applets = subprocess.run(["/bin/busybox", "--list"], capture_output=True, text=True, check=True).stdout.split()
    for applet in applets:
        link = work / "usr/bin" / applet
        if not link.exists() and not link.is_symlink():
            link.symlink_to("busybox")
    (work / "lib/modules").mkdir(parents=True)
    for name in microvm.MODULES:
        shutil.copy(next(modules.rglob(f"{name}.ko*")), work / "lib/modules" / f"{name}.ko")

    etc = work / "etc"
    # systemd gives services LANG=C.UTF-8; every distribution ships that locale (drover-guest aborts without it)
    shutil.copytree("/usr/lib/locale/C.utf8", work / "usr/lib/locale/C.utf8")
    (etc / "os-release").write_text('NAME="Drover test guest"\nID=drover-test\nPRETTY_NAME="Drover test guest"\n')
    (etc / "machine-id").write_text("")
    (etc / "hostname").write_text("guest1\n")
    (etc / "passwd").write_text("root:x:0:0:root:/root:/bin/sh\nhacluster:x:90:90::/var/lib/pacemaker:/bin/sh\n")
    (etc / "group").write_text("root:x:0:\nhaclient:x:90:hacluster\n")
    (etc / "systemd/system.conf").write_text("[Manager]\nDefaultStandardOutput=tty\nDefaultStandardError=tty\n")
    (etc / "pacemaker").mkdir(exist_ok=True)
    shutil.copy(authkey, etc / "pacemaker/authkey")
    os.chmod(etc / "pacemaker/authkey", 0o600)

    # resource-agents' shell library and the test's agent
    ocf = work / "usr/lib/ocf"
    shutil.copytree("/usr/lib/ocf/lib", ocf / "lib", symlinks=True)
    write_agent(ocf)

    # the units around the package's
    units = etc / "systemd/system"
    for name, text in TARGETS.items():
        (units / name).write_text(text)
    (units / "default.target").symlink_to("multi-user.target")
    (units / "guest-network.service").write_text(NETWORK_UNIT.format(
        modules=" ".join(microvm.MODULES), address=address, gateway=gateway))
    (units / "pacemaker_remote.service").write_text(STAND_IN_UNIT)
    (units / "unit-check.service").write_text(CHECK_UNIT)
    check = work / "usr/libexec/unit-check"
    check.write_text(CHECK.replace("__STATE__", AGENT_STATE).replace("__RESOURCE__", resource)
                     .replace("__PREFIX__", CHECK_PREFIX).replace("__UNIT__", UNIT)
                     .replace("__BEGIN__", CHECK_BEGIN).replace("__END__", CHECK_END))
    check.chmod(0o755)
    subprocess.run(["systemctl", f"--root={work}", "enable", UNIT, "guest-network.service", "unit-check.service"],
                   check=True, capture_output=True)
    return microvm.pack(work, target)


def write_agent(ocf_root: Path) -> Path:
    """ocf:drover-test:sleeper under `ocf_root` (the guest's, and the host's so `resource create` knows it)."""
    agent = ocf_root / "resource.d" / AGENT_PROVIDER / AGENT_TYPE
    agent.parent.mkdir(parents=True, exist_ok=True)
    agent.write_text(AGENT.replace("__STATE__", AGENT_STATE))
    agent.chmod(0o755)
    return agent


def domain_xml(name: str, vmlinuz: Path, initrd: Path, console: Path, port: int) -> str:
    """tests.microvm.domain_xml, with systemd's own messages (notices and worse) on the console too."""
    xml = microvm.domain_xml(name, vmlinuz, initrd, console, port)
    return xml.replace("console=ttyS0 quiet", "console=ttyS0 quiet systemd.log_target=console "
                                              "systemd.log_level=notice systemd.show_status=error")


def findings(console: str) -> dict[str, str]:
    """The check script's `key=value` findings from the console text between the markers."""
    section = console.split(CHECK_BEGIN, 1)[1].split(CHECK_END, 1)[0]
    found: dict[str, str] = {}
    for line in section.splitlines():
        if CHECK_PREFIX in line:
            key, _, value = line.split(CHECK_PREFIX, 1)[1].strip().partition("=")
            found[key] = value
    return found
