"""A local certificate authority and server certificate for the sandbox (trustme), generated once per process.

Two trust files are written: ``sandbox-ca.pem`` (the sandbox CA alone, for clients that pass it explicitly) and
``ca-bundle.pem`` (the usual public roots plus the sandbox CA). ``ncebot sandbox`` prints the bundle as
``SSL_CERT_FILE``/``REQUESTS_CA_BUNDLE``: exporting those replaces a process's trust store, and a bot that trusted
only the sandbox CA could no longer reach slack.com.
"""

from __future__ import annotations

import socket
import ssl
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path

import trustme


@dataclass(frozen=True)
class TlsFiles:
    ca_path: Path
    cert_path: Path
    key_path: Path
    bundle_path: Path


def public_roots() -> bytes:
    """The public CA roots this Python trusts by default (certifi's bundle, else the system file), or nothing."""
    try:
        import certifi

        return Path(certifi.where()).read_bytes()
    except (ImportError, OSError):
        cafile = ssl.get_default_verify_paths().cafile
        try:
            return Path(cafile).read_bytes() if cafile else b""
        except OSError:
            return b""


_lock = threading.Lock()
_ca: trustme.CA | None = None
_cache: dict[tuple[str, tuple[str, ...]], TlsFiles] = {}


def _names(host: str) -> tuple[str, ...]:
    names = {"127.0.0.1", "localhost", "::1"}
    if host and host not in ("0.0.0.0", "::"):
        names.add(host)
    else:
        names.add(socket.gethostname())
    return tuple(sorted(names))


def sandbox_ca() -> trustme.CA:
    """The sandbox CA of this process (created on first use); :mod:`sandbox.webhooks` issues its signing
    certificate under it."""
    global _ca
    with _lock:
        if _ca is None:
            _ca = trustme.CA(organization_name="ncebot Partner Center sandbox")
        return _ca


def tls_files(host: str, directory: str | Path | None = None) -> TlsFiles:
    """CA PEM + server cert/key for ``host`` (and localhost), written to ``directory`` or a temp dir.

    The CA is shared by every sandbox of this process, so starting one more sandbox costs no key generation."""
    names = _names(host)
    key = (str(directory or ""), names)
    with _lock:
        if key in _cache:
            return _cache[key]
    ca = sandbox_ca()
    with _lock:
        if key in _cache:  # another thread was faster
            return _cache[key]
        folder = Path(directory) if directory else Path(tempfile.mkdtemp(prefix="ncebot-sandbox-tls-"))
        folder.mkdir(parents=True, exist_ok=True)
        cert = ca.issue_cert(*names)
        files = TlsFiles(
            ca_path=folder / "sandbox-ca.pem",
            cert_path=folder / "sandbox-server.pem",
            key_path=folder / "sandbox-server.key",
            bundle_path=folder / "ca-bundle.pem",
        )
        ca.cert_pem.write_to_path(str(files.ca_path))
        roots = public_roots()
        separator = b"" if not roots or roots.endswith(b"\n") else b"\n"
        files.bundle_path.write_bytes(roots + separator + ca.cert_pem.bytes())
        with open(files.cert_path, "wb") as out:
            for blob in cert.cert_chain_pems:
                out.write(blob.bytes())
        cert.private_key_pem.write_to_path(str(files.key_path))
        files.key_path.chmod(0o600)
        _cache[key] = files
        return files
