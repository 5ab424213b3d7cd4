"""TLS 1.3 contexts with mutual authentication derived from the shared authkey.

An Ed25519 key is derived from the authkey bytes with HKDF-SHA256; from it a
self-signed certificate is made deterministically (fixed serial, validity and a
subject unique to the key), so both sides build byte-identical certificates and
pin exactly those: a peer is accepted only if it presents one of the trusted
certificates, which it can do only if it holds the same authkey. Two keys may be
trusted at once for rotation; the first is the one presented. No session
tickets: every connection proves the key afresh. Nothing here is hand-made
cryptography: HKDF, Ed25519 and X.509 come from `cryptography` (tls_derive.py,
loaded only to derive; a daemon derives in a forked child and never loads it),
TLS from OpenSSL.
"""

from __future__ import annotations

import json
import os
import ssl
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Identity:
    """The certificate and key one authkey stands for."""

    fingerprint: str  # short hex of the public key, safe to log
    certificate_pem: bytes
    certificate_der: bytes
    private_key_pem: bytes


def identity_from_authkey(authkey: bytes) -> Identity:
    from guest.common.tls_derive import derive  # cryptography is loaded only to derive

    return derive(authkey)


def identities_apart(keys: Sequence[bytes]) -> list[Identity]:
    """The identities of `keys`, derived in a forked child so that this process never loads cryptography
    (about 10 MiB that a daemon would keep resident for nothing); derived here if the child fails."""
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:                                        # the child: derive, write, leave without cleanup
        code = 1
        try:
            os.close(read_end)
            payload = json.dumps([{"fingerprint": i.fingerprint, "certificate_pem": i.certificate_pem.decode(),
                                   "certificate_der": i.certificate_der.hex(),
                                   "private_key_pem": i.private_key_pem.decode()}
                                  for i in map(identity_from_authkey, keys)]).encode()
            with os.fdopen(write_end, "wb") as out:
                out.write(payload)
            code = 0
        finally:
            os._exit(code)
    os.close(write_end)
    with os.fdopen(read_end, "rb") as received:
        data = received.read()
    _, status = os.waitpid(pid, 0)
    if status != 0:
        return [identity_from_authkey(key) for key in keys]
    return [Identity(entry["fingerprint"], entry["certificate_pem"].encode(), bytes.fromhex(entry["certificate_der"]),
                     entry["private_key_pem"].encode()) for entry in json.loads(data)]


def _configure(context: ssl.SSLContext, identities: Sequence[Identity]) -> ssl.SSLContext:
    if not identities:
        raise ValueError("at least one authkey identity is needed")
    context.minimum_version = ssl.TLSVersion.TLSv1_3
    context.maximum_version = ssl.TLSVersion.TLSv1_3
    context.verify_mode = ssl.CERT_REQUIRED
    context.options |= ssl.OP_NO_TICKET
    # ssl loads a certificate chain only from files: write it to a private directory and remove it at once.
    with tempfile.TemporaryDirectory(prefix="drover-tls-") as directory:
        chain = Path(directory) / "identity.pem"
        chain.touch(mode=0o600)
        chain.write_bytes(identities[0].private_key_pem + identities[0].certificate_pem)
        context.load_cert_chain(chain)
    context.load_verify_locations(cadata="".join(i.certificate_pem.decode() for i in identities))
    return context


def server_context(identities: Sequence[Identity]) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.num_tickets = 0
    return _configure(context, identities)


def client_context(identities: Sequence[Identity]) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False  # the peer is pinned by certificate, not by name
    return _configure(context, identities)


def pinned_peer(ssl_object: ssl.SSLObject | ssl.SSLSocket, identities: Sequence[Identity]) -> Identity | None:
    """The trusted identity the peer presented, checked byte for byte (beyond OpenSSL's chain check)."""
    presented = ssl_object.getpeercert(binary_form=True)
    return next((i for i in identities if i.certificate_der == presented), None)
