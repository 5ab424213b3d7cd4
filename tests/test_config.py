"""Config files: defaults, drop-in order, environment overrides, and one clear error per bad input."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from guest.common import config
from guest.common.errors import UserError
from guest.common.paths import Paths
from guest.common.schemas import drover_schema, guest_schema
from tests.conftest import TOP, run_source

SCHEMAS = {"drover": drover_schema, "guest": guest_schema}


def write(root: Path, relative: str, text: str | bytes) -> Path:
    path = root / "etc/drover" / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text)
    return path


def load(name: str, root: Path, environ: dict | None = None) -> config.Config:
    paths = Paths(root)
    return config.load(SCHEMAS[name](paths), paths, environ or {})


def test_no_files_means_embedded_defaults(root):
    loaded = load("drover", root)
    assert loaded["remote.port"] == 3121
    assert loaded["remote.connect_timeout"] == 60.0
    assert loaded["remote.authkey"] == str(root / "etc/pacemaker/authkey")
    assert loaded["state.dir"] == str(root / "var/lib/drover")
    assert loaded.files == ()
    assert loaded.origin("remote.port") == "default"
    guest = load("guest", root)
    assert guest["access.policy"] == "own-node-attributes"
    assert guest["remote.handshake_timeout"] == 10.0


@pytest.mark.parametrize("name", ["drover", "guest"])
def test_shipped_file_documents_every_option_with_its_default(name, root):
    shipped = (TOP / "config" / f"{name}.conf").read_text()
    documented = dict(re.findall(r"^# ?([a-z_]+) =[ ]?(.*)$", shipped, re.MULTILINE))
    schema = SCHEMAS[name](Paths(Path("/")))
    assert set(documented) == {o.key for o in schema.options}
    for option in schema.options:
        assert documented[option.key] == option.default, option.name
    # Uncommenting every documented line gives a valid file with the same values.
    write(root, f"{name}.conf", re.sub(r"^# ?([a-z_]+ =)", r"\1", shipped, flags=re.MULTILINE))
    loaded = config.load(schema, Paths(root), {})
    defaults = config.load(schema, Paths(Path("/nonexistent")), {})
    assert {k: s.value for k, s in loaded.settings.items()} == {k: s.value for k, s in defaults.settings.items()}


@pytest.mark.parametrize("name", ["drover", "guest"])
def test_shipped_files_load_as_installed(name, root):
    (root / "etc/drover").mkdir(parents=True)
    shutil.copy(TOP / "config" / f"{name}.conf", root / "etc/drover")
    loaded = load(name, root)
    assert loaded.files == (root / "etc/drover" / f"{name}.conf",)
    assert loaded["remote.port"] == 3121


def test_dropins_apply_in_lexical_order_and_later_wins(root):
    write(root, "drover.conf", "[remote]\nport = 4000\n")
    write(root, "drover.conf.d/20-b.conf", "# later\n[remote]\nport = 4002\n")
    write(root, "drover.conf.d/10-a.conf", "[remote]\nport = 4001\nconnect_timeout = 2min\n")
    write(root, "drover.conf.d/30-c.conf.rpmnew", "[remote]\nport = 9999\n")
    write(root, "drover.conf.d/README", "not a config file")
    loaded = load("drover", root)
    assert loaded["remote.port"] == 4002
    assert loaded.origin("remote.port").endswith("drover.conf.d/20-b.conf:3")
    assert loaded["remote.connect_timeout"] == 120.0
    assert [p.name for p in loaded.files] == ["drover.conf", "10-a.conf", "20-b.conf"]


def test_dropins_alone_without_main_file(root):
    write(root, "guest.conf.d/50-local.conf", "[access]\npolicy = read-only\n")
    assert load("guest", root)["access.policy"] == "read-only"


def test_environment_overrides_files(root):
    write(root, "guest.conf", "[remote]\nport = 4000\nauthkey = /srv/key\n")
    loaded = load("guest", root, {"PCMK_remote_port": "3999", "PCMK_authkey_location": "/other/key",
                                  "PCMK_remote_address": "127.0.0.2"})
    assert loaded["remote.port"] == 3999
    assert loaded.origin("remote.port") == "environment PCMK_remote_port"
    assert loaded["remote.authkey"] == "/other/key"
    assert loaded["remote.bind_address"] == "127.0.0.2"


def test_comments_and_inline_comments(root):
    write(root, "drover.conf", "; comment\n  # indented comment\n\n[ remote ]\nport = 4100   # why\n")
    assert load("drover", root)["remote.port"] == 4100


BAD_FILES = [
    ("[remote]\nprot = 1\n", 2, "unknown key 'prot' in [remote]; known keys: port, authkey"),
    ("[remtoe]\n", 1, "unknown section [remtoe]"),
    ("port = 3121\n", 1, "'port' comes before any [section]"),
    ("[remote]\nport = 70000\n", 2, "bad value for remote.port: expected a TCP port 1-65535, got '70000'"),
    ("[remote]\nport =\n", 2, "bad value for remote.port"),
    ("[remote]\n\nconnect_timeout = soon\n", 3, "bad value for remote.connect_timeout: expected a duration"),
    ("[log]\nlevel = loud\n", 2, "expected one of debug, info, notice, warning, error, got 'loud'"),
    ("[cluster]\nnode_name = bad name!\n", 2, "expected a node name"),
    ("[remote]\nport 3121\n", 2, "cannot parse 'port 3121'; expected '[section]' or 'key = value'"),
]


@pytest.mark.parametrize(("text", "line", "message"), BAD_FILES)
def test_bad_file_gives_one_error_naming_file_and_line(root, text, line, message):
    path = write(root, "drover.conf.d/50-local.conf", text)
    with pytest.raises(UserError) as raised:
        load("drover", root)
    assert str(raised.value).startswith(f"{path}:{line}: ")
    assert message in str(raised.value)


def test_bad_guest_values(root):
    write(root, "guest.conf", "[remote]\nbind_address = everywhere\n")
    with pytest.raises(UserError, match=r"guest.conf:2: bad value for remote.bind_address: expected an IP address"):
        load("guest", root)
    write(root, "guest.conf", "[access]\npolicy = anything\n")
    with pytest.raises(UserError, match="read-only, own-node-attributes, full"):
        load("guest", root)


def test_non_utf8_file(root):
    path = write(root, "drover.conf", b"[remote]\nport = \xff\n")
    with pytest.raises(UserError, match=re.escape(f"{path}: not UTF-8 text")):
        load("drover", root)


def test_unreadable_file(root):
    write(root, "drover.conf.d/broken.conf", "").unlink()
    (root / "etc/drover/drover.conf.d/broken.conf").symlink_to(root / "missing-target")
    with pytest.raises(UserError, match=r"broken\.conf: cannot read"):
        load("drover", root)


def test_bad_environment_value_names_the_variable(root):
    with pytest.raises(UserError, match=r"^environment PCMK_remote_port: bad value for remote\.port"):
        load("drover", root, {"PCMK_remote_port": "0"})


@pytest.mark.parametrize(("text", "seconds"), [
    ("30", 30.0), ("30s", 30.0), ("500ms", 0.5), ("5min", 300.0), ("2m", 120.0), ("1h", 3600.0),
    ("1.5s", 1.5), ("10sec", 10.0), ("250msec", 0.25), ("2hr", 7200.0)])
def test_duration_units(text, seconds):
    assert config.parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "s", "-1s", "5 minutes", "1d", "1e3"])
def test_bad_durations(text):
    with pytest.raises(ValueError, match="expected a duration"):
        config.parse_duration(text)


def test_cli_check_reports_a_broken_file_without_traceback(root):
    path = write(root, "guest.conf.d/10-x.conf", "[remote]\nport = abc\n")
    result = run_source("drover-guest", "config", "check", root=root)
    assert result.returncode == 1
    expected = f"drover-guest: {path}:2: bad value for remote.port: expected a TCP port 1-65535, got 'abc'\n"
    assert result.stderr == expected
    assert result.stdout == ""


def test_cli_show_says_where_each_value_comes_from(root):
    path = write(root, "drover.conf", "[libvirt]\nuri = test:///default\n")
    result = run_source("drover", "config", "show", root=root, env={"PCMK_remote_port": "3200"})
    assert result.returncode == 0, result.stderr
    assert f"uri = test:///default  # {path}:2\n" in result.stdout
    assert "port = 3200  # environment PCMK_remote_port\n" in result.stdout
    assert "level = info  # default\n" in result.stdout


def test_a_key_given_twice_in_one_file_is_a_warning_and_the_later_one_wins(root):
    path = write(root, "drover.conf", "[libvirt]\nuri = test:///one\n\nuri = test:///two\n")
    warnings: list[str] = []
    paths = Paths(root)
    loaded = config.load(drover_schema(paths), paths, {}, warn=warnings.append)
    assert loaded["libvirt.uri"] == "test:///two"
    assert warnings == [f"{path}:4: uri in [libvirt] is also set on line 2 of this file; the later one wins"]
    assert run_source("drover", "authkey", "generate", root=root).returncode == 0
    checked = run_source("drover", "config", "check", root=root)
    assert checked.returncode == 0 and f"drover: warning: {path}:4: uri in [libvirt]" in checked.stderr


def test_a_broken_dropin_is_left_out_for_read_only_commands_and_refused_for_the_others(root):
    write(root, "drover.conf", "[cluster]\nnode_name = node1\n")
    good = write(root, "drover.conf.d/10-good.conf", "[cluster]\ncluster_name = prod\n")
    broken = write(root, "drover.conf.d/20-broken.conf", "[cluster]\ncluster_name = other\n[nonsense]\n")
    paths = Paths(root)
    with pytest.raises(UserError):
        config.load(drover_schema(paths), paths, {})
    warnings: list[str] = []
    loaded = config.load(drover_schema(paths), paths, {}, tolerant=True, warn=warnings.append)
    assert loaded["cluster.cluster_name"] == "prod"                  # nothing of the broken file applies
    assert loaded.files[-1] == good and len(warnings) == 1
    assert warnings[0].startswith(f"{broken}:3: unknown section [nonsense]")
    assert warnings[0].endswith(f"; {broken} is left out here (`drover config check` says what to fix)")
    status = run_source("drover", "status", root=root)
    assert status.returncode == 0, status.stderr
    assert status.stdout.startswith("Cluster Summary:")
    assert status.stderr.count("drover: warning:") == 1 and "unknown section [nonsense]" in status.stderr
    change = run_source("drover", "property", "set", "no-quorum-policy=ignore", root=root)
    assert change.returncode == 1 and "unknown section [nonsense]" in change.stderr
