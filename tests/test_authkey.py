"""The authkey: generated 0600 and never half-written; loaded only with safe permissions."""

from __future__ import annotations

import os
import stat

import pytest

from guest.common import authkey
from guest.common.errors import UserError
from tests.conftest import run_source


def mode(path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_generate_writes_4096_random_bytes_mode_0600(tmp_path):
    first, second = tmp_path / "a/authkey", tmp_path / "b/authkey"
    authkey.generate(first)
    authkey.generate(second)
    assert len(first.read_bytes()) == 4096
    assert mode(first) == 0o600
    assert first.read_bytes() != second.read_bytes()
    assert [p.name for p in first.parent.iterdir()] == ["authkey"]  # no temporary left behind


def test_generate_keeps_an_existing_key_unless_forced(tmp_path):
    path = tmp_path / "authkey"
    authkey.generate(path)
    before = path.read_bytes()
    with pytest.raises(UserError, match="already exists"):
        authkey.generate(path)
    assert path.read_bytes() == before
    authkey.generate(path, force=True)
    assert path.read_bytes() != before
    assert mode(path) == 0o600


def test_generate_is_0600_even_with_a_permissive_umask(tmp_path):
    old = os.umask(0)
    try:
        authkey.generate(tmp_path / "authkey")
    finally:
        os.umask(old)
    assert mode(tmp_path / "authkey") == 0o600


@pytest.mark.parametrize("size", [32, 256, 4096, 100_000])
def test_load_accepts_any_length_from_32_bytes(tmp_path, size):
    path = tmp_path / "authkey"
    path.write_bytes(os.urandom(size))
    path.chmod(0o600)
    assert len(authkey.load(path)) == size


def test_load_accepts_group_readable_like_pacemaker(tmp_path):
    path = tmp_path / "authkey"
    path.write_bytes(b"k" * 64)
    path.chmod(0o640)
    assert authkey.load(path) == b"k" * 64


def test_load_refuses_world_readable_with_the_fix(tmp_path):
    path = tmp_path / "authkey"
    path.write_bytes(b"k" * 64)
    path.chmod(0o644)
    with pytest.raises(UserError, match=rf"readable by everyone \(mode 0644\); run `chmod 0600 {path}`"):
        authkey.load(path)


def test_load_errors(tmp_path):
    with pytest.raises(UserError, match="does not exist; create it with `drover authkey generate"):
        authkey.load(tmp_path / "missing")
    with pytest.raises(UserError, match="is not a regular file"):
        authkey.load(tmp_path)
    empty = tmp_path / "empty"
    empty.touch(mode=0o600)
    with pytest.raises(UserError, match="has 0 bytes, fewer than the 32 needed"):
        authkey.load(empty)


@pytest.mark.parametrize("size", [1, 16, 31])
def test_load_refuses_keys_short_enough_to_guess(tmp_path, size):
    path = tmp_path / "authkey"
    path.write_bytes(b"k" * size)
    path.chmod(0o600)
    with pytest.raises(UserError, match=rf"has {size} bytes?, fewer than the 32 needed to resist guessing; "
                                        rf"generate a new one with `drover authkey generate --force {path}`"):
        authkey.load(path)
    path.write_bytes(b"k" * 32)
    assert authkey.load(path) == b"k" * 32


@pytest.mark.parametrize(("mode_bits", "who"), [(0o602, "everyone"), (0o620, "its group"), (0o660, "its group")])
def test_load_refuses_keys_others_can_write(tmp_path, mode_bits, who):
    path = tmp_path / "authkey"
    path.write_bytes(b"k" * 64)
    path.chmod(mode_bits)
    with pytest.raises(UserError, match=rf"is writable by {who} \(mode {mode_bits:04o}\): anyone who can write it "
                                        rf"can replace it; run `chmod 0600 {path}`"):
        authkey.load(path)


@pytest.mark.parametrize("program", ["drover", "drover-guest"])
def test_config_check_checks_the_authkey(root, program):
    key = root / "etc/pacemaker/authkey"
    key.parent.mkdir(parents=True)
    key.write_bytes(b"k" * 4096)
    key.chmod(0o644)                          # what the seed's `dd ... bs=4096 count=1` leaves under umask 022
    refused = run_source(program, "config", "check", root=root)
    assert refused.returncode == 1
    assert refused.stderr == f"{program}: authkey {key} is readable by everyone (mode 0644); run `chmod 0600 {key}`\n"
    key.chmod(0o600)
    accepted = run_source(program, "config", "check", root=root)
    assert accepted.returncode == 0, accepted.stderr
    assert accepted.stdout == f"configuration is valid (no files, embedded defaults); authkey {key} usable\n"


def test_cli_generates_at_the_configured_default(root):
    result = run_source("drover", "authkey", "generate", root=root)
    assert result.returncode == 0, result.stderr
    key = root / "etc/pacemaker/authkey"
    assert len(key.read_bytes()) == 4096 and mode(key) == 0o600
    again = run_source("drover", "authkey", "generate", root=root)
    assert again.returncode == 1
    assert again.stderr == (f"drover: {key} already exists; keep it (every node needs the same key) "
                            "or pass --force to replace it\n")


def test_cli_generates_where_the_environment_says(root, tmp_path):
    result = run_source("drover", "authkey", "generate", root=root,
                        env={"PCMK_authkey_location": str(tmp_path / "elsewhere")})
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "elsewhere").stat().st_size == 4096
