"""Verification of Partner Center webhook deliveries (SPEC §11).

A delivery is accepted only when every step passes, checked cheapest first so that junk costs no network:

1. headers: the signature (``Authorization: Signature <base64>`` or ``x-ms-signature``), ``X-MS-Signature-Algorithm:
   rsa-sha256`` and ``X-MS-Certificate-Url``;
2. the certificate URL: https, host and port in ``PARTNER_CENTER_WEBHOOK_CERT_HOSTS`` (``host`` means port 443);
3. the certificate, fetched without following redirects (DER or PEM), cached for ``ttl`` seconds;
4. its validity dates and its issuer organisation ``Microsoft Corporation``;
5. its chain against the trust store (``SSL_CERT_FILE`` / the system's default CA file), with cryptography's X.509
   path validation; an intermediate the delivery does not carry is fetched from the leaf's AIA ``caIssuers`` URL
   when that host is allowed too;
6. RSA-SHA256 (PKCS#1 v1.5) over the raw body bytes.

Each failure raises :class:`WebhookRejected` with a short ``reason`` (a metrics label) and a detail for the log.
"""

from __future__ import annotations

import base64
import binascii
import logging
import re
import ssl
import threading
import warnings
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

import httpx
from cachetools import TTLCache
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import AuthorityInformationAccessOID, NameOID
from cryptography.x509.verification import ExtensionPolicy, PolicyBuilder, Store, VerificationError

log = logging.getLogger("ncebot.webhooks")

ALGORITHM = "rsa-sha256"
ISSUER_ORGANISATION = "Microsoft Corporation"
MAX_CERT_BYTES = 64 * 1024
CERT_TTL_SECONDS = 3600.0
_PEM_BLOCK = re.compile(rb"-----BEGIN CERTIFICATE-----.+?-----END CERTIFICATE-----", re.DOTALL)


class WebhookRejected(Exception):
    """The delivery failed verification: answer 401. ``reason`` is a fixed token (a metrics label)."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


def trust_file() -> str | None:
    """The CA file this process trusts: ``SSL_CERT_FILE`` or OpenSSL's default (what ``ssl`` itself uses)."""
    paths = ssl.get_default_verify_paths()
    if paths.cafile:
        return paths.cafile
    try:
        import certifi

        return str(certifi.where())
    except ImportError:  # pragma: no cover - httpx depends on certifi
        return None


def load_certificates(data: bytes) -> list[x509.Certificate]:
    """Every certificate of a PEM bundle (unparsable blocks skipped) or of one DER certificate."""
    if b"-----BEGIN" not in data:
        return [x509.load_der_x509_certificate(data)]
    out: list[x509.Certificate] = []
    with warnings.catch_warnings():  # old roots in system bundles trip deprecation warnings (e.g. serial 0)
        warnings.simplefilter("ignore")
        for block in _PEM_BLOCK.findall(data):
            try:
                out.append(x509.load_pem_x509_certificate(block))
            except ValueError:
                continue
    return out


def _host_port(entry: str) -> tuple[str, int] | None:
    parts = urlsplit("//" + entry.strip())
    try:
        port = parts.port or 443
    except ValueError:
        return None
    return (parts.hostname or "").lower(), port


@dataclass(frozen=True)
class Delivery:
    """The verified parts of a request: the signature bytes and the certificate URL."""

    signature: bytes
    cert_url: str


def parse_headers(headers: Mapping[str, str]) -> Delivery:
    """The signature and certificate URL of a delivery; :class:`WebhookRejected` when missing or malformed.
    ``headers`` keys are lower-case."""
    raw = headers.get("authorization") or headers.get("x-ms-signature")
    if not raw:
        raise WebhookRejected("missing_signature", "no Authorization or x-ms-signature header")
    scheme, _, value = raw.strip().partition(" ")
    if scheme.lower() != "signature":
        if "authorization" in headers or value:
            raise WebhookRejected("malformed_signature", "the signature header is not 'Signature <base64>'")
        value = scheme  # x-ms-signature may carry the bare base64 value
    try:
        signature = base64.b64decode(value.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise WebhookRejected("malformed_signature", "the signature is not base64") from None
    if not signature:
        raise WebhookRejected("malformed_signature", "the signature is empty")
    algorithm = headers.get("x-ms-signature-algorithm")
    if not algorithm:
        raise WebhookRejected("missing_algorithm", "no X-MS-Signature-Algorithm header")
    if algorithm.strip().lower() != ALGORITHM:
        raise WebhookRejected("unknown_algorithm", f"signature algorithm {algorithm[:40]!r} is not rsa-sha256")
    cert_url = headers.get("x-ms-certificate-url")
    if not cert_url:
        raise WebhookRejected("missing_certificate_url", "no X-MS-Certificate-Url header")
    return Delivery(signature=signature, cert_url=cert_url.strip())


class WebhookVerifier:
    """Thread-safe. ``allowed_hosts``: ``host`` or ``host:port`` entries; ``trust_pem``: the trusted roots (default:
    :func:`trust_file`); ``now``: the clock for validity dates."""

    def __init__(
        self,
        allowed_hosts: Iterable[str],
        *,
        trust_pem: bytes | None = None,
        ttl: float = CERT_TTL_SECONDS,
        timeout: float = 5.0,
        now: Callable[[], datetime] | None = None,
    ) -> None:
        self._allowed = {hp for hp in (_host_port(h) for h in allowed_hosts if h.strip()) if hp is not None}
        cafile = trust_file()
        if trust_pem is None:
            trust_pem = Path(cafile).read_bytes() if cafile else b""  # read once, at start
        roots = load_certificates(trust_pem) if trust_pem else []
        self._store = Store(roots) if roots else None
        context = ssl.create_default_context(cadata=trust_pem.decode("ascii", "ignore")) if roots else \
            ssl.create_default_context()
        self._http = httpx.Client(verify=context, follow_redirects=False, timeout=timeout, trust_env=False)
        self._now = now or (lambda: datetime.now(UTC))
        self._cache: TTLCache[str, tuple[x509.Certificate, tuple[x509.Certificate, ...]]] = TTLCache(128, ttl)
        self._lock = threading.Lock()

    def close(self) -> None:
        self._http.close()

    # --- the steps ----------------------------------------------------------------------------------------
    def verify(self, headers: Mapping[str, str], body: bytes) -> x509.Certificate:
        """The signing certificate of a valid delivery, else :class:`WebhookRejected`."""
        delivery = parse_headers(headers)
        self._check_url(delivery.cert_url, https_only=True)
        leaf = self.certificate(delivery.cert_url)
        key = leaf.public_key()
        if not isinstance(key, rsa.RSAPublicKey):
            raise WebhookRejected("bad_signature", "the certificate's key is not RSA")
        try:
            key.verify(delivery.signature, body, padding.PKCS1v15(), hashes.SHA256())
        except InvalidSignature:
            raise WebhookRejected("bad_signature", "the signature does not match the body") from None
        return leaf

    def _check_url(self, url: str, *, https_only: bool) -> None:
        try:
            parts = urlsplit(url)
            port = parts.port or (443 if parts.scheme.lower() == "https" else 80)
        except ValueError:
            raise WebhookRejected("certificate_url_not_allowed", "the certificate URL is malformed") from None
        scheme = parts.scheme.lower()
        if scheme != "https" and (https_only or scheme != "http"):
            raise WebhookRejected("certificate_url_not_https", f"certificate URL scheme {scheme!r} is not https")
        host = (parts.hostname or "").lower()
        allowed = (host, port) in self._allowed or (scheme == "http" and (host, 443) in self._allowed)
        if parts.username or parts.password or not allowed:
            raise WebhookRejected("certificate_url_not_allowed", f"certificate host {host}:{port} is not allowed")

    def certificate(self, url: str) -> x509.Certificate:
        """The leaf at ``url``, fetched (or cached), within its dates, issued by Microsoft, chain verified."""
        with self._lock:
            cached = self._cache.get(url)
        if cached is None:
            certs = self._fetch_certificates(url)
            leaf, extra = certs[0], tuple(certs[1:])
        else:
            leaf, extra = cached
        now = self._now()
        if not leaf.not_valid_before_utc <= now <= leaf.not_valid_after_utc:
            raise WebhookRejected("certificate_expired", f"certificate valid {leaf.not_valid_before_utc:%Y-%m-%d} to "
                                  f"{leaf.not_valid_after_utc:%Y-%m-%d}")
        organisations = [a.value for a in leaf.issuer.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)]
        if ISSUER_ORGANISATION not in organisations:
            raise WebhookRejected("wrong_issuer", f"issuer organisation {organisations!r} is not Microsoft Corporation")
        extra = self._verify_chain(leaf, extra, now)
        if cached is None:
            with self._lock:
                self._cache[url] = (leaf, extra)
        return leaf

    def _fetch_certificates(self, url: str) -> list[x509.Certificate]:
        try:
            with self._http.stream("GET", url) as response:
                if response.status_code != 200:
                    raise WebhookRejected("certificate_fetch_failed",
                                          f"certificate URL answered {response.status_code}")
                data = b""
                for chunk in response.iter_bytes():
                    data += chunk
                    if len(data) > MAX_CERT_BYTES:
                        raise WebhookRejected("certificate_fetch_failed", "the certificate is too large")
        except httpx.HTTPError as exc:
            raise WebhookRejected("certificate_fetch_failed",
                                  f"{type(exc).__name__} fetching the certificate") from None
        try:
            certs = load_certificates(data)
        except ValueError:
            certs = []
        if not certs:
            raise WebhookRejected("certificate_unparsable", "the certificate is neither DER nor PEM")
        return certs

    def _verify_chain(
        self, leaf: x509.Certificate, extra: Sequence[x509.Certificate], now: datetime
    ) -> tuple[x509.Certificate, ...]:
        """The intermediates that complete a trusted chain (fetched from AIA if needed), else rejected."""
        if self._store is None:
            raise WebhookRejected("untrusted_chain", "no trusted roots are configured")
        verifier = (
            PolicyBuilder().store(self._store).time(now.replace(tzinfo=None))
            # The signing certificate is not a TLS server or client certificate: its EKU/SAN are not checked.
            .extension_policies(ca_policy=ExtensionPolicy.webpki_defaults_ca(), ee_policy=ExtensionPolicy.permit_all())
            .build_client_verifier()
        )
        try:
            verifier.verify(leaf, list(extra))
            return tuple(extra)
        except VerificationError as first:
            fetched = self._aia_issuers(leaf)
            if not fetched:
                raise WebhookRejected("untrusted_chain", str(first)[:200]) from None
        try:
            verifier.verify(leaf, [*extra, *fetched])
        except VerificationError as exc:
            raise WebhookRejected("untrusted_chain", str(exc)[:200]) from None
        return (*extra, *fetched)

    def _aia_issuers(self, leaf: x509.Certificate) -> list[x509.Certificate]:
        try:
            aia = leaf.extensions.get_extension_for_class(x509.AuthorityInformationAccess).value
        except x509.ExtensionNotFound:
            return []
        out: list[x509.Certificate] = []
        for description in aia:
            location = description.access_location
            if description.access_method != AuthorityInformationAccessOID.CA_ISSUERS:
                continue
            if not isinstance(location, x509.UniformResourceIdentifier):
                continue
            # caIssuers URLs are usually plain http; what they serve only counts if it chains to a trusted root.
            self._check_url(location.value, https_only=False)
            out.extend(self._fetch_certificates(location.value))
        return out
