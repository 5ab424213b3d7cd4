#!/bin/sh
# Start a libvirtd (qemu driver, qemu:///system) for the system test on a machine without systemd,
# e.g. a CI container: the qemu user the driver expects, a qemu.conf that needs no cgroups, namespaces
# or security driver, and the daemon itself. A libvirtd already answering is left alone, and so is a
# qemu.conf this script did not write. It prints "started libvirtd" when it started one (its pid in
# $DROVER_TEST_LIBVIRTD_PID, default /run/drover-test-libvirtd.pid), so the test can stop it again.
set -eu
if virsh -c qemu:///system version >/dev/null 2>&1; then
    exit 0
fi
[ "$(id -u)" = 0 ] || { echo "system test: libvirtd must be started as root (or start it yourself)" >&2; exit 1; }
getent group libvirt-qemu >/dev/null || groupadd -r libvirt-qemu
getent passwd libvirt-qemu >/dev/null || useradd -r -g libvirt-qemu -d /var/lib/libvirt -s /usr/sbin/nologin libvirt-qemu
getent group kvm >/dev/null || groupadd -r kvm
marker="# written by drover's tests/system/libvirtd.sh"
if [ ! -e /etc/libvirt/qemu.conf ] || grep -q "$marker" /etc/libvirt/qemu.conf; then
    mkdir -p /etc/libvirt
    cat > /etc/libvirt/qemu.conf <<CONF
$marker
user = "root"
group = "root"
dynamic_ownership = 0
remember_owner = 0
cgroup_controllers = [ ]
namespaces = [ ]
security_driver = "none"
stdio_handler = "file"
CONF
fi
mkdir -p /var/run/libvirt /var/log/libvirt/qemu /var/lib/libvirt/qemu /var/cache/libvirt/qemu
libvirtd -d -p "${DROVER_TEST_LIBVIRTD_PID:-/run/drover-test-libvirtd.pid}"
echo "started libvirtd"
i=0
until virsh -c qemu:///system version >/dev/null 2>&1; do
    i=$((i + 1))
    [ $i -lt 50 ] || { echo "system test: libvirtd did not come up" >&2; exit 1; }
    sleep 0.2
done
