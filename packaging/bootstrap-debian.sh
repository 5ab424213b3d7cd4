#!/bin/sh
# Install the Debian packages drover needs to build and test (make deps).
# As root it runs apt-get; otherwise it uses `sudo -n` when that works, and
# else prints the exact command to run. Installed packages are skipped quickly.
set -eu
packages="gcc make pkg-config python3-venv libvirt-dev libvirt-clients libvirt0 resource-agents \
pacemaker pacemaker-cli-utils rpm rpmlint patchelf ccache systemd \
qemu-system-x86 libvirt-daemon libvirt-daemon-driver-qemu busybox-static cpio iproute2 \
corosync libcpg4 libcmap4 libquorum5 libvotequorum8 fence-agents openipmi ipmitool curl binutils groff-base apache2-bin time pcs"
missing=""
for p in $packages; do
    status=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
    [ "$status" = "installed" ] || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
if ! command -v apt-get >/dev/null; then
    echo "bootstrap: this is not a Debian-like system; install the equivalents of:$missing" >&2
    exit 1
fi
if [ "$(id -u)" -eq 0 ]; then
    sudo=""
elif sudo -n true 2>/dev/null; then
    sudo="sudo -n"
else
    echo "bootstrap: missing Debian packages:$missing" >&2
    echo "bootstrap: run: sudo apt-get install -y$missing   (then run make again)" >&2
    exit 1
fi
echo "bootstrap: installing$missing"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq || { echo "bootstrap: apt-get update failed; check the network or apt sources" >&2; exit 1; }
# shellcheck disable=SC2086
$sudo apt-get install -y -qq --no-install-recommends $missing >/dev/null || {
    echo "bootstrap: apt-get install failed for:$missing" >&2; exit 1; }
