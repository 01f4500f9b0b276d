"""Download of a file a user uploaded to Slack (``/nce import``'s ``file_input``), with the bot token.

``files.info`` names the file and its ``url_private_download``; the download is a GET with ``Authorization:
Bearer <bot token>`` (scope ``files:read``). The token is only ever sent to Slack's own file host or to the host of
the configured Web API (``SLACK_API_URL``, the stand-in in tests), never to another host a file record might name.
The size is bounded before and during the download. httpx, like the Partner Center client: redirects are not
followed blindly (Slack answers a bad token with a redirect to its login page, which must read as a refusal).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Final
from urllib.parse import urlsplit

import httpx
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.domain import InvalidInput

log = logging.getLogger(__name__)

#: Largest file accepted: a BAM file of 50,000 rows is about 15 MB, one of BAM's 200 rows about 60 KB.
MAX_BYTES: Final = 5 * 1024 * 1024
_SLACK_FILE_HOSTS: Final = ("files.slack.com", "slack.com")


@dataclass(frozen=True)
class Downloaded:
    file_id: str
    name: str
    content: bytes


class DownloadRefused(InvalidInput):
    """The file cannot be brought in (too large, gone, not readable); the message says why."""

    def __init__(self, message: str) -> None:
        super().__init__(message, field="file")


def _mb(size: int) -> str:
    return f"{size / (1024 * 1024):.1f} MB"


def trusted_download_url(url: str, api_base: str) -> bool:
    """Whether the bot token may be sent to ``url``: Slack's own file hosts over https, or the configured Web API
    host itself."""
    parts, api = urlsplit(url), urlsplit(api_base)
    host = (parts.hostname or "").lower()
    if parts.scheme == "https" and (host in _SLACK_FILE_HOSTS or host.endswith(".slack.com")):
        return True
    return bool(host) and host == (api.hostname or "").lower() and parts.port == api.port \
        and parts.scheme == api.scheme


def download(client: WebClient, file_id: str, *, uploaded_by: str | None = None, max_bytes: int = MAX_BYTES,
             timeout: float = 30.0) -> Downloaded:
    """The file's bytes, or :class:`DownloadRefused` saying why not. ``uploaded_by``: the person who submitted
    the modal; a file someone else uploaded is not read (the bot token could read any file it can see)."""
    try:
        info = client.files_info(file=file_id)
    except SlackApiError as exc:
        code = str(exc.response.get("error") or "unknown_error")
        if code == "missing_scope":
            raise DownloadRefused("ncebot cannot read uploaded files (it lacks the files:read scope): reinstall the "
                                  "app from manifest.yml.") from exc
        raise DownloadRefused(f"Slack did not give ncebot the file (`{code}`): upload it again.") from exc
    record = info.get("file") or {}
    name = str(record.get("name") or file_id)
    if uploaded_by and record.get("user") and record.get("user") != uploaded_by:
        raise DownloadRefused(f"`{name}` was uploaded by someone else: upload your own copy of the file.")
    size = int(record.get("size") or 0)
    if size > max_bytes:
        raise DownloadRefused(f"`{name}` is {_mb(size)}; ncebot takes BAM files up to {_mb(max_bytes)}. Split it "
                              "into several files.")
    url = str(record.get("url_private_download") or record.get("url_private") or "")
    token = client.token or ""
    if not url or not trusted_download_url(url, client.base_url):
        log.warning("files.info of %s named an untrusted download host; not downloading", file_id)
        raise DownloadRefused(f"Slack gave no download address ncebot trusts for `{name}`.")
    chunks: list[bytes] = []
    got = 0
    try:
        with httpx.Client(timeout=timeout, follow_redirects=False) as http, \
                http.stream("GET", url, headers={"Authorization": f"Bearer {token}"}) as response:
            if response.status_code != 200:
                raise DownloadRefused(f"Slack refused the download of `{name}` (HTTP {response.status_code}).")
            if "text/html" in response.headers.get("content-type", ""):
                raise DownloadRefused(f"Slack answered the download of `{name}` with a web page (a sign-in page: the "
                                      "bot token cannot read it).")
            for chunk in response.iter_bytes():
                got += len(chunk)
                if got > max_bytes:
                    raise DownloadRefused(f"`{name}` is larger than {_mb(max_bytes)}; ncebot takes BAM files up to "
                                          f"{_mb(max_bytes)}. Split it into several files.")
                chunks.append(chunk)
    except httpx.HTTPError as exc:
        raise DownloadRefused(f"The download of `{name}` failed ({type(exc).__name__}): upload it again.") from exc
    return Downloaded(file_id=file_id, name=name, content=b"".join(chunks))
