"""TLS 1.3 contexts with mutual authentication derived from the shared authkey.

An Ed25519 key is derived from the authkey bytes with HKDF-SHA256; from it a
self-signed certificate is made deterministically (fixed serial, validity and a
subject unique to the key), so both sides build byte-identical certificates and
pin exactly those: a peer is accepted only if it presents one of the trusted
certificates, which it can do only if it holds the same authkey. Two keys may be
trusted at once for rotation; the first is the one presented. No session
tickets: every connection proves the key afresh. Nothing here is hand-made
cryptography: HKDF, Ed25519 and X.509 come from `cryptography`, TLS from OpenSSL.
"""

from __future__ import annotations

import datetime
import hashlib
import ssl
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.x509.oid import NameOID

HKDF_SALT = b"drover authkey identity"
HKDF_INFO = b"ed25519 tls certificate v1"
NOT_BEFORE = datetime.datetime(2000, 1, 1, tzinfo=datetime.UTC)
NOT_AFTER = datetime.datetime(9999, 12, 31, 23, 59, 59, tzinfo=datetime.UTC)


@dataclass(frozen=True)
class Identity:
    """The certificate and key one authkey stands for."""

    fingerprint: str  # short hex of the public key, safe to log
    certificate_pem: bytes
    certificate_der: bytes
    private_key_pem: bytes


def identity_from_authkey(authkey: bytes) -> Identity:
    seed = HKDF(algorithm=hashes.SHA256(), length=32, salt=HKDF_SALT, info=HKDF_INFO).derive(authkey)
    private_key = Ed25519PrivateKey.from_private_bytes(seed)
    public_key = private_key.public_key()
    raw_public = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    digest = hashlib.sha256(raw_public).digest()
    fingerprint = digest[:8].hex()
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"drover cluster key {fingerprint}")])
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(public_key)
        .serial_number(int.from_bytes(digest[:16], "big") >> 1 or 1)
        .not_valid_before(NOT_BEFORE)
        .not_valid_after(NOT_AFTER)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, content_commitment=False,
                                     key_encipherment=False, data_encipherment=False, key_agreement=False,
                                     crl_sign=False, encipher_only=False, decipher_only=False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
        .sign(private_key, None)  # Ed25519 signatures are deterministic
    )
    return Identity(
        fingerprint=fingerprint,
        certificate_pem=certificate.public_bytes(serialization.Encoding.PEM),
        certificate_der=certificate.public_bytes(serialization.Encoding.DER),
        private_key_pem=private_key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                  serialization.NoEncryption()),
    )


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
