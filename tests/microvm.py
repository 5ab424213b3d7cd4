"""A real micro-VM for the system test: Debian's cloud kernel, a small initramfs running the built drover-guest.

The initramfs holds busybox, the virtio-net modules, the built drover-guest
(with the host libraries it links), resource-agents' OCF shell library and a
few agents, the authkey and guest.conf. Its init brings up the slirp network,
starts `drover-guest daemon`, and prints `drover-guest status` (run inside the
guest) to the serial console between markers once the web server runs there.
The VM runs under libvirt's qemu driver with TCG; port 3121 is forwarded to
127.0.0.1:PORT with qemu's own hostfwd (libvirt 9.0 rejects passt portForward).
"""

from __future__ import annotations

import gzip
import os
import shutil
import subprocess
from pathlib import Path

import libvirt

from guest.common import authkey

MODULES = ("virtio_ring", "virtio", "virtio_pci_modern_dev", "virtio_pci_legacy_dev", "virtio_pci", "failover",
           "net_failover", "virtio_net")
AGENTS = ("heartbeat/Dummy", "pacemaker/Dummy", "pacemaker/Stateful")
STATUS_BEGIN, STATUS_END = "=== drover-guest status ===", "=== end ==="

INIT = """#!/bin/busybox sh
/bin/busybox --install -s /bin
mkdir -p /proc /sys /dev /run /tmp /var/run /var/lib/drover
mount -t proc proc /proc; mount -t sysfs sys /sys; mount -t devtmpfs dev /dev; mount -t tmpfs tmp /run
for m in {modules}; do insmod /lib/modules/$m.ko; done
ip link set lo up; ip link set eth0 up; ip addr add {address}/24 dev eth0; ip route add default via {gateway}
hostname guest1
export HA_RSCTMP=/run/resource-agents HA_VARRUN=/run PATH=/bin:/opt/drover-guest
mkdir -p $HA_RSCTMP
echo "guest1: starting drover-guest"
/opt/drover-guest/drover-guest daemon > /dev/console 2>&1 &
i=0
while [ $i -lt 600 ]; do
  if /opt/drover-guest/drover-guest status 2>/dev/null | grep -q "Started guest1"; then
    echo "{begin}"; /opt/drover-guest/drover-guest status; echo "{end}"; break
  fi
  sleep 1; i=$((i+1))
done
while true; do sleep 3600; done
"""


class VmGuest:
    """What tests.appliance_harness.Appliance needs of a guest when the guest is a VM: its authkey."""

    def __init__(self, base: Path, port: int = 3121):
        self.base, self.port, self.ocf_root = base, port, Path("/usr/lib/ocf")
        self.key_path = base / "authkey"
        authkey.generate(self.key_path)


def remove_domain(name: str) -> None:
    """Destroy and undefine a domain of qemu:///system if it is there."""
    connection = libvirt.open("qemu:///system")
    try:
        domain = connection.lookupByName(name)
        if domain.isActive():
            domain.destroy()
        if domain.isPersistent():
            domain.undefine()
    except libvirt.libvirtError:
        pass
    finally:
        connection.close()


def kernel(cache: Path) -> tuple[Path, Path]:
    """(vmlinuz, modules dir) of Debian's current cloud kernel, downloaded once into cache."""
    cache.mkdir(parents=True, exist_ok=True)
    depends = subprocess.run(["apt-cache", "depends", "linux-image-cloud-amd64"], capture_output=True, text=True)
    if "Depends:" not in depends.stdout:          # no package lists yet on this machine
        subprocess.run(["apt-get", "update", "-qq"], check=True, capture_output=True)
        depends = subprocess.run(["apt-cache", "depends", "linux-image-cloud-amd64"], capture_output=True,
                                 text=True, check=True)
    package = next(line.split(":", 1)[1].strip() for line in depends.stdout.splitlines() if "Depends:" in line)
    root = cache / package
    if not root.exists():
        subprocess.run(["apt-get", "download", "-q", package], cwd=cache, check=True, capture_output=True)
        deb = next(cache.glob(f"{package}_*.deb"))
        subprocess.run(["dpkg-deb", "-x", str(deb), str(root)], check=True)
        deb.unlink()
    vmlinuz = next((root / "boot").glob("vmlinuz-*"))
    return vmlinuz, next((root / "lib/modules").iterdir())


def _libraries(binaries: list[Path]) -> set[Path]:
    found: set[Path] = set()
    for binary in binaries:
        result = subprocess.run(["ldd", str(binary)], capture_output=True, text=True)
        for line in result.stdout.splitlines():
            parts = line.split()
            for part in parts:
                if part.startswith("/") and Path(part).exists():
                    found.add(Path(part))
    return found


PACEMAKER_INIT = """#!/bin/busybox sh
/bin/busybox --install -s /bin
mkdir -p /proc /sys /dev /run /tmp /var/run /var/lib/pacemaker /var/log/pacemaker /dev/shm
mount -t proc proc /proc; mount -t sysfs sys /sys; mount -t devtmpfs dev /dev; mount -t tmpfs tmp /run
mount -t tmpfs shm /dev/shm
for m in {modules}; do insmod /lib/modules/$m.ko; done
ip link set lo up; ip link set eth0 up; ip addr add {address}/24 dev eth0; ip route add default via {gateway}
hostname guest1
export HA_RSCTMP=/run/resource-agents HA_VARRUN=/run PATH=/bin:/usr/sbin
mkdir -p $HA_RSCTMP
echo "guest1: starting pacemaker-remoted"
PCMK_logfile=/dev/console PCMK_debug=no /usr/sbin/pacemaker-remoted > /dev/console 2>&1 &
while true; do sleep 3600; done
"""


def initramfs(target: Path, guest_dist: Path | None, modules: Path, authkey: Path, guest_conf: str,
              pacemaker_remoted: Path | None = None, address: str = "10.0.2.15", gateway: str = "10.0.2.2") -> Path:
    """The guest image; with pacemaker_remoted (a binary unpacked from Debian's package) the guest runs
    Pacemaker's remote daemon instead of drover-guest (the benchmark's comparison)."""
    work = target.with_suffix(".d")
    shutil.rmtree(work, ignore_errors=True)
    (work / "bin").mkdir(parents=True)
    shutil.copy("/bin/busybox", work / "bin/busybox")
    (work / "lib/modules").mkdir(parents=True)
    for name in MODULES:
        source = next(modules.rglob(f"{name}.ko*"))
        shutil.copy(source, work / "lib/modules" / f"{name}.ko")
    if pacemaker_remoted is not None:
        (work / "usr/sbin").mkdir(parents=True)
        shutil.copy(pacemaker_remoted, work / "usr/sbin/pacemaker-remoted")
        binaries = [work / "usr/sbin/pacemaker-remoted"]
    else:
        shutil.copytree(guest_dist, work / "opt/drover-guest", symlinks=True)
        binaries = [work / "opt/drover-guest/drover-guest", *(work / "opt/drover-guest").rglob("*.so*")]
    for library in _libraries(binaries) | {Path("/lib64/ld-linux-x86-64.so.2")}:
        destination = work / str(library.resolve() if library.is_symlink() else library).lstrip("/")
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(library, destination)
        if library.is_symlink() or str(library) != str(library.resolve()):
            link = work / str(library).lstrip("/")
            link.parent.mkdir(parents=True, exist_ok=True)
            if not link.exists():
                shutil.copy(library.resolve(), link)
    ocf = work / "usr/lib/ocf"
    shutil.copytree("/usr/lib/ocf/lib", ocf / "lib", symlinks=True)
    for agent in AGENTS:
        (ocf / "resource.d" / agent).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(f"/usr/lib/ocf/resource.d/{agent}", ocf / "resource.d" / agent)
    (work / "etc/pacemaker").mkdir(parents=True)
    shutil.copy(authkey, work / "etc/pacemaker/authkey")
    os.chmod(work / "etc/pacemaker/authkey", 0o600)
    (work / "etc/drover").mkdir(parents=True)
    (work / "etc/drover/guest.conf").write_text(guest_conf)
    (work / "etc/passwd").write_text("root:x:0:0:root:/root:/bin/sh\nhacluster:x:90:90::/var/lib/pacemaker:/bin/sh\n")
    (work / "etc/group").write_text("root:x:0:\nhaclient:x:90:hacluster\n")
    init = work / "init"
    template = PACEMAKER_INIT if pacemaker_remoted is not None else INIT
    init.write_text(template.format(modules=" ".join(MODULES), begin=STATUS_BEGIN, end=STATUS_END, address=address,
                                    gateway=gateway))
    init.chmod(0o755)
    return pack(work, target)


def pack(work: Path, target: Path) -> Path:
    """The tree `work` as a gzipped newc cpio at `target` (an initramfs); `work` is removed."""
    listing = subprocess.run(["find", "."], cwd=work, capture_output=True, check=True).stdout
    archive = subprocess.run(["cpio", "-o", "-H", "newc", "--quiet"], cwd=work, input=listing, capture_output=True,
                             check=True).stdout
    target.write_bytes(gzip.compress(archive, compresslevel=1))
    shutil.rmtree(work)
    return target


def domain_xml(name: str, vmlinuz: Path, initrd: Path, console: Path, port: int | None = None,
               bridge: str | None = None) -> str:
    """port: forward 127.0.0.1:port to the guest's 3121 (slirp); bridge: a NIC on that host bridge instead."""
    if bridge is not None:
        network = f"    <interface type='bridge'><source bridge='{bridge}'/><model type='virtio'/></interface>\n"
        extra = ""
    else:
        network = ""
        extra = f"""  <qemu:commandline>
    <qemu:arg value='-netdev'/>
    <qemu:arg value='user,id=net0,hostfwd=tcp:127.0.0.1:{port}-:3121'/>
    <qemu:arg value='-device'/>
    <qemu:arg value='virtio-net-pci,netdev=net0'/>
  </qemu:commandline>
"""
    return f"""<domain type='qemu' xmlns:qemu='http://libvirt.org/schemas/domain/qemu/1.0'>
  <name>{name}</name>
  <memory unit='MiB'>512</memory>
  <vcpu>1</vcpu>
  <os>
    <type arch='x86_64' machine='pc'>hvm</type>
    <kernel>{vmlinuz}</kernel>
    <initrd>{initrd}</initrd>
    <cmdline>console=ttyS0 quiet panic=-1</cmdline>
  </os>
  <on_poweroff>destroy</on_poweroff>
  <devices>
    <serial type='file'><source path='{console}' append='on'/><target port='0'/></serial>
    <memballoon model='none'/>
{network}  </devices>
{extra}</domain>
"""
