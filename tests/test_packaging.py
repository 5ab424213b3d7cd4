"""The RPMs from `make rpm`: contents, dependencies, config flags, a throw-away install that runs,
systemd units that verify cleanly, specs that rpmlint accepts, and the firewalld service."""

from __future__ import annotations

import re
import shutil
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

import build
from guest.common.version import VERSION
from tests.conftest import DIST, TOP, clean_environment

pytestmark = pytest.mark.artifacts

SYSTEM_UNITS = Path("/usr/lib/systemd/system")


def rpm_file(name: str) -> Path:
    path = DIST / f"{name}-{VERSION}-1.x86_64.rpm"
    if not path.exists():
        pytest.fail(f"{path} is missing: run `make rpm` (make test does it)")
    return path


def query(name: str, *args: str) -> str:
    return subprocess.run(["rpm", "-qp", *args, str(rpm_file(name))], capture_output=True, text=True,
                          check=True).stdout


def listed(name: str) -> set[str]:
    files = set(query(name, "-l").split())
    return {f for f in files if not f.startswith(f"/usr/lib64/{name}/") or f == f"/usr/lib64/{name}/{name}"}


def test_drover_contents():
    assert listed("drover") == {
        "/usr/bin/drover", "/usr/lib64/drover", "/usr/lib64/drover/drover",
        "/usr/lib/systemd/system/drover.service",
        "/etc/drover", "/etc/drover/drover.conf", "/etc/drover/drover.conf.d",
        "/var/lib/drover", "/usr/share/doc/drover-0.1.0", "/usr/share/doc/drover-0.1.0/README",
        "/usr/share/licenses/drover-0.1.0", "/usr/share/licenses/drover-0.1.0/COPYING",
        "/usr/share/man/man8/drover.8.gz", "/usr/share/man/man5/drover.conf.5.gz",
        "/usr/share/bash-completion/completions/drover"}


def test_drover_guest_contents():
    assert listed("drover-guest") == {
        "/usr/bin/drover-guest", "/usr/lib64/drover-guest", "/usr/lib64/drover-guest/drover-guest",
        "/usr/lib/systemd/system/drover-guest.service", "/usr/lib/firewalld/services/drover-guest.xml",
        "/etc/drover", "/etc/drover/guest.conf", "/etc/drover/guest.conf.d",
        "/usr/share/doc/drover-guest-0.1.0", "/usr/share/doc/drover-guest-0.1.0/README",
        "/usr/share/licenses/drover-guest-0.1.0", "/usr/share/licenses/drover-guest-0.1.0/COPYING",
        "/usr/share/man/man8/drover-guest.8.gz", "/usr/share/man/man5/guest.conf.5.gz",
        "/usr/share/bash-completion/completions/drover-guest"}


def test_config_files_are_noreplace_and_state_dir_private():
    flags = dict(line.rsplit(" ", 1) for line in query("drover", "--qf", "[%{FILENAMES} %{FILEFLAGS:fflags}\n]")
                 .splitlines())
    assert flags["/etc/drover/drover.conf"] == "cn"
    modes = dict(line.split(" ") for line in query("drover", "--qf", "[%{FILENAMES} %{FILEMODES:octal}\n]")
                 .splitlines())
    assert modes["/var/lib/drover"] == "40750"
    guest_flags = query("drover-guest", "--qf", "[%{FILENAMES} %{FILEFLAGS:fflags}\n]")
    assert "/etc/drover/guest.conf cn\n" in guest_flags


def test_requirements():
    drover = set(query("drover", "--requires").splitlines())
    assert {"glibc >= 2.34", "libvirt-libs"} <= drover
    guest = set(query("drover-guest", "--requires").splitlines())
    assert "glibc >= 2.34" in guest
    assert not any("libvirt" in r for r in guest)
    assert not any(".so" in r for r in drover | guest)  # bundled libraries are not external requirements


def test_every_shipped_object_runs_on_the_el9_glibc_the_specs_require(installed):
    """dnf on EL9 (glibc 2.34) installs what needs at most the required glibc; the objects must not need more."""
    assert build.GLIBC_FLOOR == (2, 34)
    objects = [f for name in ("drover", "drover-guest") for f in (installed / "usr/lib64" / name).rglob("*")
               if f.is_file() and f.read_bytes()[:4] == b"\x7fELF"]
    assert len(objects) > 20
    needed = {str(f.relative_to(installed)): build.glibc_needed(f) for f in objects}
    assert max(needed.values()) == (2, 34), needed
    for spec in ("drover.spec", "drover-guest.spec"):
        assert "Requires:       glibc >= 2.34" in (TOP / "packaging" / spec).read_text()


def test_the_build_refuses_objects_that_need_a_newer_glibc(tmp_path):
    source = tmp_path / "uses_hypot.c"
    source.write_text("#include <math.h>\n#include <stdlib.h>\n"
                      "int main(int c, char **v) { return c > 1 ? (int) hypot(c - 2, atof(v[1])) : 0; }\n")
    dist = tmp_path / "demo.dist"
    dist.mkdir()
    subprocess.run(["cc", str(source), "-lm", "-o", str(dist / "demo")], check=True)
    with pytest.raises(SystemExit, match=r"demo needs GLIBC_2\.35"):
        build.check_glibc_floor(dist)
    wrapped = tmp_path / "wrapped.dist"
    wrapped.mkdir()
    subprocess.run(["cc", str(source), *build.glibc_floor_flags(tmp_path).split(), "-lm", "-o",
                    str(wrapped / "demo")], check=True)
    build.check_glibc_floor(wrapped)
    assert build.glibc_needed(wrapped / "demo") <= (2, 34)
    assert subprocess.run([str(wrapped / "demo"), "3"], timeout=10).returncode == 3  # the old hypot, linked


def test_scriptlets_use_the_systemd_macros():
    scripts = query("drover-guest", "--scripts")
    assert "systemctl --no-reload preset drover-guest.service" in scripts
    assert "firewall-cmd --reload" in scripts
    assert "systemctl try-restart drover-guest.service" in scripts


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    """Both RPMs installed into a throw-away root (no dependencies, no scriptlets)."""
    root = tmp_path_factory.mktemp("rpmroot")
    subprocess.run(["rpm", "--root", str(root), "--initdb"], check=True)
    subprocess.run(["rpm", "--root", str(root), "--nodeps", "--noscripts", "-i",
                    str(rpm_file("drover")), str(rpm_file("drover-guest"))], check=True, capture_output=True)
    return root


def run_installed(root: Path, program: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(root / "usr/bin" / program), *args], capture_output=True, text=True,
                          env=clean_environment(DROVER_ROOT=str(root)),
                          cwd="/", timeout=60)


@pytest.mark.parametrize(("program", "config"), [("drover", "drover.conf"), ("drover-guest", "guest.conf")])
def test_installed_binaries_run_and_read_the_installed_config(installed, program, config):
    version = run_installed(installed, program, "--version")
    assert version.returncode == 0 and version.stdout.startswith(f"{program} {VERSION}")
    key = installed / "etc/pacemaker/authkey"
    key.unlink(missing_ok=True)
    # A fresh install has no key: check says so and how to make one, instead of passing.
    missing = run_installed(installed, program, "config", "check")
    assert missing.returncode == 1 and missing.stdout == ""
    assert f"authkey {key} does not exist; create it with `drover authkey generate" in missing.stderr
    assert run_installed(installed, "drover", "authkey", "generate").returncode == 0
    check = run_installed(installed, program, "config", "check")
    assert check.returncode == 0, check.stderr
    assert check.stdout == f"configuration is valid ({installed}/etc/drover/{config}); authkey {key} usable\n"


def test_installed_drover_generates_the_authkey(installed):
    (installed / "etc/pacemaker/authkey").unlink(missing_ok=True)
    result = run_installed(installed, "drover", "authkey", "generate")
    assert result.returncode == 0, result.stderr
    assert (installed / "etc/pacemaker/authkey").stat().st_size == 4096


@pytest.mark.parametrize("unit", ["drover.service", "drover-guest.service"])
def test_units_verify_without_warnings(installed, tmp_path, unit):
    # systemd-analyze resolves dependencies (multi-user.target, ...) inside --root, so give it the host's units.
    root = tmp_path / "root"
    shutil.copytree(installed, root, symlinks=True)
    shutil.copytree(SYSTEM_UNITS, root / SYSTEM_UNITS.relative_to("/"), symlinks=True, dirs_exist_ok=True)
    shutil.copy(installed / SYSTEM_UNITS.relative_to("/") / unit, root / SYSTEM_UNITS.relative_to("/") / unit)
    result = subprocess.run(["systemd-analyze", "verify", f"--root={root}", str(SYSTEM_UNITS / unit)],
                            capture_output=True, text=True)
    assert (result.returncode, result.stdout, result.stderr) == (0, "", "")


def test_unit_verification_catches_mistakes(installed, tmp_path):
    root = tmp_path / "root"
    shutil.copytree(installed, root, symlinks=True)
    shutil.copytree(SYSTEM_UNITS, root / SYSTEM_UNITS.relative_to("/"), symlinks=True, dirs_exist_ok=True)
    unit = (TOP / "packaging/drover.service").read_text().replace("/usr/bin/drover", "/usr/bin/drover-missing")
    (root / SYSTEM_UNITS.relative_to("/") / "broken.service").write_text(unit + "[Service]\nProtectBogus=yes\n")
    result = subprocess.run(["systemd-analyze", "verify", f"--root={root}", str(SYSTEM_UNITS / "broken.service")],
                            capture_output=True, text=True)
    assert "Unknown key 'ProtectBogus'" in result.stderr
    assert "drover-missing is not executable" in result.stderr


@pytest.mark.parametrize("unit", ["drover.service", "drover-guest.service"])
def test_units_are_notify_and_hardened(unit):
    text = (TOP / "packaging" / unit).read_text()
    for setting in ["Type=notify", "NotifyAccess=main", "UMask=0077", "ProtectKernelLogs=yes", "LockPersonality=yes",
                    "RestrictRealtime=yes", "SystemCallArchitectures=native", "Restart=on-failure"]:
        assert f"\n{setting}\n" in text, setting


def test_specs_and_built_packages_pass_rpmlint():
    """Every message rpmlint gives is fixed or justified in packaging/rpmlintrc (each filter says why), and
    every filter there is still needed (rpmlint reports an unused one as an error)."""
    result = subprocess.run(["rpmlint", "-r", str(TOP / "packaging/rpmlintrc"),
                             str(TOP / "packaging/drover.spec"), str(TOP / "packaging/drover-guest.spec"),
                             str(rpm_file("drover")), str(rpm_file("drover-guest"))],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "2 packages and 2 specfiles checked; 0 errors, 0 warnings" in result.stdout, result.stdout


def test_installed_man_pages_render_cleanly_and_the_completion_completes(installed):
    for page in ("man8/drover.8.gz", "man5/drover.conf.5.gz", "man8/drover-guest.8.gz", "man5/guest.conf.5.gz"):
        source = subprocess.run(["gzip", "-dc", str(installed / "usr/share/man" / page)], capture_output=True,
                                check=True).stdout
        rendered = subprocess.run(["groff", "-man", "-Tutf8", "-ww", "-z"], input=source, capture_output=True,
                                  timeout=60)
        assert rendered.returncode == 0 and rendered.stderr == b"", (page, rendered.stderr)
    drover_page = subprocess.run(["gzip", "-dc", str(installed / "usr/share/man/man8/drover.8.gz")],
                                 capture_output=True, text=True, check=True).stdout
    assert '.SS "drover resource"' in drover_page and "debug-start" in drover_page
    conf_page = subprocess.run(["gzip", "-dc", str(installed / "usr/share/man/man5/drover.conf.5.gz")],
                               capture_output=True, text=True, check=True).stdout
    assert ".B connect_timeout" in conf_page and "Default: 60s." in conf_page
    completion = installed / "usr/share/bash-completion/completions/drover"
    script = (f"source {completion}; COMP_WORDS=(drover resource debug-s); COMP_CWORD=2; _drover; "
              'echo "${COMPREPLY[@]}"')
    completed = subprocess.run(["bash", "-c", script], capture_output=True, text=True, timeout=30)
    assert completed.stdout.split() == ["debug-start", "debug-stop"], completed.stderr


def test_spec_versions_match_the_code():
    for spec in ["drover.spec", "drover-guest.spec"]:
        text = (TOP / "packaging" / spec).read_text()
        assert re.search(r"^Version:\s+(\S+)$", text, re.MULTILINE).group(1) == VERSION
        assert "Requires:       glibc >= 2.34" in text


def test_firewalld_service_opens_3121_tcp():
    service = ET.parse(TOP / "packaging/drover-guest.xml").getroot()
    assert service.tag == "service"
    assert [(p.get("protocol"), p.get("port")) for p in service.findall("port")] == [("tcp", "3121")]
    assert service.findtext("short")
