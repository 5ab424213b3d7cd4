"""The shared authkey file: generate it safely, read it with its permissions checked.

Any length from MIN_KEY_BYTES works (Pacemaker's 4096-byte `dd` key
included): a shorter key can be guessed over the network (a 1-byte key fell in
168 tries). A key readable by everyone, or writable by anyone but its owner,
is refused; group-readable is allowed, as Pacemaker's 0640 root:haclient key
is. Generation never leaves a partial or world-readable file:
it writes a 0600 temporary file in the same directory, syncs, then renames.
"""

from __future__ import annotations

import secrets
import stat
from pathlib import Path

from guest.common.errors import UserError
from guest.common.files import write_atomic

KEY_BYTES = 4096
MIN_KEY_BYTES = 32           # 256 bits: the strength of the TLS identity derived from it


def generate(path: Path, force: bool = False) -> None:
    if path.exists() and not force:
        raise UserError(f"{path} already exists; keep it (every node needs the same key) "
                        "or pass --force to replace it")
    write_atomic(path, secrets.token_bytes(KEY_BYTES), 0o600)


def load(path: Path) -> bytes:
    try:
        info = path.stat()
    except FileNotFoundError:
        raise UserError(f"authkey {path} does not exist; create it with `drover authkey generate {path}` "
                        "and copy it to every node") from None
    except OSError as error:
        raise UserError(f"authkey {path}: {error.strerror}") from None
    if not stat.S_ISREG(info.st_mode):
        raise UserError(f"authkey {path} is not a regular file")
    mode = stat.S_IMODE(info.st_mode)
    if info.st_mode & stat.S_IROTH:
        raise UserError(f"authkey {path} is readable by everyone (mode {mode:04o}); run `chmod 0600 {path}`")
    if info.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
        raise UserError(f"authkey {path} is writable by {'everyone' if mode & stat.S_IWOTH else 'its group'} "
                        f"(mode {mode:04o}): anyone who can write it can replace it; run `chmod 0600 {path}`")
    try:
        key = path.read_bytes()
    except OSError as error:
        raise UserError(f"authkey {path}: cannot read: {error.strerror}") from None
    if len(key) < MIN_KEY_BYTES:
        raise UserError(f"authkey {path} has {len(key)} byte{'s' if len(key) != 1 else ''}, fewer than the "
                        f"{MIN_KEY_BYTES} needed to resist guessing; generate a new one with "
                        f"`drover authkey generate --force {path}` and copy it to every node")
    return key


def identities(loaded, apart: bool = False) -> list:
    """The TLS identities of the configured authkey (and of also_accept_authkey, during a rotation); `apart`:
    derived in a forked child, for a daemon that should not keep cryptography loaded."""
    from guest.common import tlsauth

    keys = [load(Path(loaded["remote.authkey"]))]
    if loaded["remote.also_accept_authkey"]:
        keys.append(load(Path(loaded["remote.also_accept_authkey"])))
    return tlsauth.identities_apart(keys) if apart else [tlsauth.identity_from_authkey(key) for key in keys]
