"""Partner Center webhooks in the sandbox: the registration API, signed deliveries, the signing certificate.

- ``GET/POST/PUT /webhooks/v1/registration``, ``GET /webhooks/v1/registration/events``,
  ``POST /webhooks/v1/registration/validationEvents`` and ``GET …/validationEvents/{correlationId}`` (Bearer token
  like every Partner Center route; one registration per partner tenant).
- When a migration is created, completes or fails, and when a schedule fails, the registered URL receives
  ``{EventName, ResourceUri, ResourceName, AuditUri, ResourceChangeUtcDate}`` signed RSA-SHA256 with
  ``Authorization: Signature <base64>``, ``X-MS-Signature-Algorithm: rsa-sha256`` and ``X-MS-Certificate-Url``.
- The signing certificate (issuer ``O=Microsoft Corporation``, an intermediate under the sandbox CA of
  :mod:`sandbox.tls`) is served at ``/webhooks/cert/pcnotifications-dispatch.cer`` (DER, the leaf alone); its AIA
  ``caIssuers`` URL serves the intermediate, so a receiver completes the chain the way it must for Microsoft's.
- Faults (``POST /_sandbox/faults``): ``webhook_bad_signature``, ``webhook_wrong_cert_host`` (the certificate URL
  names ``localhost`` instead of the sandbox's host) and ``webhook_drop``, each for the next N deliveries.

Deliveries are sent by one background thread, in order; while a registration exists it also brings the sandbox up
to its clock every half second, so a migration completes (and is announced) without anyone polling.
"""

from __future__ import annotations

import base64
import json
import logging
import queue
import threading
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import httpx
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.asymmetric.types import CertificateIssuerPrivateKeyTypes
from cryptography.x509.oid import AuthorityInformationAccessOID, NameOID

from sandbox.errors import ApiError, bad_request

log = logging.getLogger(__name__)

EVENTS = (
    "new-commerce-migration-created", "new-commerce-migration-completed", "new-commerce-migration-failed",
    "new-commerce-migration-schedule-failed", "subscription-updated", "usagerecords-thresholdExceeded",
    "invoice-ready", "azure-fraud-event-detected", "referral-created", "referral-updated",
    "related-referral-created", "related-referral-updated", "dap-admin-relationship-approved",
    "dap-admin-relationship-terminated", "granular-admin-relationship-approved",
    "granular-admin-relationship-terminated", "test-created",
)
LEAF_PATH = "/webhooks/cert/pcnotifications-dispatch.cer"
ISSUER_PATH = "/webhooks/cert/issuer.crt"
REFRESH_SECONDS = 0.5


def mint_certificate(
    common_name: str,
    *,
    organisation: str,
    issuer: tuple[x509.Certificate, CertificateIssuerPrivateKeyTypes] | None,
    key: rsa.RSAPrivateKey | None = None,
    ca: bool = False,
    not_before: datetime | None = None,
    not_after: datetime | None = None,
    ca_issuers_url: str | None = None,
) -> tuple[x509.Certificate, rsa.RSAPrivateKey]:
    """An RSA certificate (self-signed when ``issuer`` is None): the sandbox's signing identity, and the tests'
    wrong ones (expired, other issuer, other root)."""
    key = key or rsa.generate_private_key(public_exponent=65537, key_size=2048)
    subject = x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, organisation),
                         x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    issuer_cert, issuer_key = issuer if issuer else (None, key)
    now = datetime.now(UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer_cert.subject if issuer_cert else subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before or now - timedelta(days=1))
        .not_valid_after(not_after or now + timedelta(days=365))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=0 if ca else None), critical=True)
        .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=False, key_encipherment=not ca,
                                     data_encipherment=False, key_agreement=False, key_cert_sign=ca, crl_sign=ca,
                                     encipher_only=False, decipher_only=False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
    )
    if issuer_cert is not None:
        builder = builder.add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_cert.public_key()),  # type: ignore[arg-type]
            critical=False)
    if not ca:
        builder = builder.add_extension(x509.SubjectAlternativeName([x509.DNSName(common_name)]), critical=False)
    if ca_issuers_url:
        builder = builder.add_extension(x509.AuthorityInformationAccess([x509.AccessDescription(
            AuthorityInformationAccessOID.CA_ISSUERS, x509.UniformResourceIdentifier(ca_issuers_url))]),
            critical=False)
    return builder.sign(issuer_key, hashes.SHA256()), key


def sandbox_root() -> tuple[x509.Certificate, CertificateIssuerPrivateKeyTypes]:
    """The sandbox CA (:mod:`sandbox.tls`) as cryptography objects, to issue certificates under it."""
    from sandbox.tls import sandbox_ca

    ca = sandbox_ca()
    cert = x509.load_pem_x509_certificate(ca.cert_pem.bytes())
    key = serialization.load_pem_private_key(ca.private_key_pem.bytes(), password=None)
    return cert, key  # type: ignore[return-value]


def sign(body: bytes, key: rsa.RSAPrivateKey) -> str:
    return base64.b64encode(key.sign(body, padding.PKCS1v15(), hashes.SHA256())).decode()


def signed_headers(body: bytes, key: rsa.RSAPrivateKey, cert_url: str) -> dict[str, str]:
    """The three headers of a Partner Center delivery."""
    return {"Authorization": f"Signature {sign(body, key)}", "X-MS-Certificate-Url": cert_url,
            "X-MS-Signature-Algorithm": "rsa-sha256", "Content-Type": "application/json"}


def resource_uri(base_url: str, customer_id: str, kind: str, item_id: str) -> str:
    tail = f"{item_id}" if kind == "migration" else f"schedules/{item_id}"
    return f"{base_url}/webhooks/v1/customers/{customer_id}/migrations/newcommerce/{tail}"


@dataclass
class Identity:
    leaf: x509.Certificate
    intermediate: x509.Certificate
    key: rsa.RSAPrivateKey
    intermediate_key: rsa.RSAPrivateKey


@dataclass
class WebhookHub:
    """The registration and the delivery thread. ``faults``: a callable consuming one count of a fault by name."""

    take_fault: Any = None  # Callable[[str], bool]
    refresh: Any = None  # Callable[[], None]: bring the sandbox up to its clock
    base_url: str = ""
    registration: dict[str, Any] | None = None
    validations: dict[str, dict[str, Any]] = field(default_factory=dict)
    deliveries: list[dict[str, Any]] = field(default_factory=list)  # what was sent (or dropped) and the answer
    served: dict[str, bytes] = field(default_factory=dict)  # extra certificate files (tests' wrong certificates)

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._queue: queue.Queue[tuple[str, str, str | None] | None] = queue.Queue()
        self._thread: threading.Thread | None = None
        self._identity: Identity | None = None
        self._stop = threading.Event()

    # --- identity -------------------------------------------------------------------------------------------
    def identity(self) -> Identity:
        with self._lock:
            if self._identity is None:
                root = sandbox_root()
                inter, inter_key = mint_certificate("Sandbox Microsoft Webhook Issuing CA",
                                                    organisation="Microsoft Corporation", issuer=root, ca=True)
                leaf, key = mint_certificate("pcnotifications-dispatch.sandbox.invalid",
                                             organisation="Microsoft Corporation", issuer=(inter, inter_key),
                                             ca_issuers_url=self.base_url + ISSUER_PATH)
                self._identity = Identity(leaf=leaf, intermediate=inter, key=key, intermediate_key=inter_key)
            return self._identity

    def certificate_file(self, name: str) -> bytes | None:
        if "/webhooks/cert/" + name == LEAF_PATH:
            return self.identity().leaf.public_bytes(serialization.Encoding.DER)
        if "/webhooks/cert/" + name == ISSUER_PATH:
            return self.identity().intermediate.public_bytes(serialization.Encoding.DER)
        with self._lock:
            return self.served.get(name)

    def cert_url(self, *, wrong_host: bool = False) -> str:
        url = self.base_url + LEAF_PATH
        if wrong_host:
            parts = urlsplit(url)
            url = url.replace(parts.netloc, f"localhost:{parts.port}", 1)
        return url

    # --- registration API (called under the sandbox lock by the app's routes) -------------------------------
    def _registration_body(self, body: Any) -> tuple[str, list[str]]:
        if not isinstance(body, dict):
            raise bad_request("The request body must be a JSON object.")
        url = body.get("webhookurl")
        events = body.get("webhookevents")
        if not isinstance(url, str) or not url:
            raise bad_request("WebhookUrl is required.")
        parts = urlsplit(url)
        loopback = parts.hostname in ("127.0.0.1", "localhost", "::1")
        if parts.scheme != "https" and not (parts.scheme == "http" and loopback):
            raise bad_request("WebhookUrl must be an https URL.")
        if not isinstance(events, list) or not events or not all(isinstance(e, str) for e in events):
            raise bad_request("WebhookEvents must be a non-empty list of event names.")
        unknown = [e for e in events if e not in EVENTS]
        if unknown:
            raise bad_request(f"Unsupported webhook events: {', '.join(unknown)}.")
        return url, list(dict.fromkeys(events))

    def get_registration(self) -> tuple[int, Any]:
        if self.registration is None:
            raise ApiError(404, 800004, "No webhook registration exists for this partner.")
        return 200, self.registration

    def create_registration(self, body: Any, now: datetime) -> tuple[int, Any]:
        if self.registration is not None:
            raise ApiError(409, 800009, "A webhook registration already exists; update it with PUT.")
        url, events = self._registration_body(body)
        self.registration = {"SubscriberId": str(uuid.uuid4()), "WebhookUrl": url, "WebhookEvents": events,
                             "lastModifiedTimestamp": now.isoformat().replace("+00:00", "Z")}
        self._ensure_thread()
        return 201, self.registration

    def update_registration(self, body: Any, now: datetime) -> tuple[int, Any]:
        if self.registration is None:
            raise ApiError(404, 800004, "No webhook registration exists for this partner.")
        url, events = self._registration_body(body)
        self.registration = {**self.registration, "WebhookUrl": url, "WebhookEvents": events,
                             "lastModifiedTimestamp": now.isoformat().replace("+00:00", "Z")}
        return 200, self.registration

    def validation_event(self) -> tuple[int, Any]:
        if self.registration is None:
            raise ApiError(404, 800004, "No webhook registration exists for this partner.")
        if "test-created" not in self.registration["WebhookEvents"]:
            raise bad_request("The registration must include the test-created event to send a validation event.")
        correlation = str(uuid.uuid4())
        self.validations[correlation] = {"correlationId": correlation, "status": "pending",
                                         "callbackUrl": self.registration["WebhookUrl"], "results": []}
        self._queue.put(("test-created", self.base_url + "/webhooks/v1/test", correlation))
        self._ensure_thread()
        return 200, {"correlationId": correlation}

    def validation_status(self, correlation_id: str) -> tuple[int, Any]:
        found = self.validations.get(correlation_id.lower())
        if found is None:
            raise ApiError(404, 800004, f"Validation event {correlation_id} was not found.")
        return 200, found

    # --- deliveries -----------------------------------------------------------------------------------------
    def emit(self, event: str, customer_id: str, kind: str, item_id: str) -> None:
        """Queue a delivery of ``event`` (called by the sandbox state when it happens; never blocks)."""
        registration = self.registration
        if registration is None or event not in registration["WebhookEvents"]:
            return
        self._queue.put((event, resource_uri(self.base_url, customer_id, kind, item_id), None))

    def _ensure_thread(self) -> None:
        if self._thread is None or not self._thread.is_alive():
            self._stop.clear()
            self._thread = threading.Thread(target=self._run, name="pc-sandbox-webhooks", daemon=True)
            self._thread.start()

    def close(self) -> None:
        self._stop.set()
        self._queue.put(None)
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._thread = None

    def _run(self) -> None:
        with httpx.Client(timeout=10, follow_redirects=False) as client:
            while not self._stop.is_set():
                try:
                    item = self._queue.get(timeout=REFRESH_SECONDS)
                except queue.Empty:
                    if self.refresh is not None and self.registration is not None:
                        try:
                            self.refresh()
                        except Exception:
                            log.exception("sandbox webhooks: refresh failed")
                    continue
                if item is None:
                    return
                try:
                    self._deliver(client, *item)
                except Exception:
                    log.exception("sandbox webhooks: delivery failed")

    def _deliver(self, client: httpx.Client, event: str, uri: str, correlation: str | None) -> None:
        registration = self.registration
        if registration is None:
            return
        record: dict[str, Any] = {"event": event, "resourceUri": uri, "url": registration["WebhookUrl"]}
        fault = self.take_fault or (lambda _name: False)
        if fault("webhook_drop"):
            self.deliveries.append({**record, "dropped": True})
            return
        payload = {"EventName": event, "ResourceUri": uri,
                   "ResourceName": "test" if correlation else "NewCommerceMigration", "AuditUri": None,
                   "ResourceChangeUtcDate": datetime.now(UTC).isoformat().replace("+00:00", "Z")}
        body = json.dumps(payload).encode()
        identity = self.identity()
        signed = b"tampered" + body if fault("webhook_bad_signature") else body
        headers = signed_headers(signed, identity.key, self.cert_url(wrong_host=fault("webhook_wrong_cert_host")))
        try:
            response = client.post(registration["WebhookUrl"], content=body, headers=headers)
            record.update(status=response.status_code, response=response.text[:200])
        except httpx.HTTPError as exc:
            record.update(status=None, error=type(exc).__name__)
        self.deliveries.append(record)
        if correlation is not None:
            self.validations[correlation].update(status="completed", results=[{
                "responseCode": str(record.get("status") or ""), "responseMessage": record.get("response", ""),
                "systemError": record.get("error", ""), "dateTimeUtc": payload["ResourceChangeUtcDate"]}])
