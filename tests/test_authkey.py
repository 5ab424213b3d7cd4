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


@pytest.mark.parametrize("size", [1, 32, 4096, 100_000])
def test_load_accepts_any_length(tmp_path, size):
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
    with pytest.raises(UserError, match="is empty"):
        authkey.load(empty)


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
