"""Files in the Slack stand-in: what the app uploads (``files.upload``, ``files.getUploadURLExternal`` +
``files.completeUploadExternal``), what a user uploads through a modal's ``file_input`` element
(:meth:`FilesApi.upload_user_file`, :meth:`FilesApi.file_input_value`), ``files.info``, and the authenticated
download of ``url_private`` / ``url_private_download``.

Downloads follow Slack: the bytes only with ``Authorization: Bearer <bot token>``; without it, or with another
token, ``302 Found`` to the workspace's sign-in page (``/signin?redir=…``, an HTML page answered 200), never the
file. The stand-in serves the URLs over plain HTTP on its own port (Slack: ``https://files.slack.com``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, unquote

from sandbox.slack_records import StoredFile, opt, parse_json
from sandbox.slack_views import ViewsApi

#: Slack refuses files over 10 MB in a ``file_input`` element.
FILE_INPUT_MAX_BYTES = 10 * 1024 * 1024
FILES_PATH = "/files-pri/"
SIGN_IN_PATH = "/signin"
SIGN_IN_PAGE = (
    b"<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Sign in | Slack</title></head>"
    b"<body><h1>Sign in to Stand-in</h1><form action=\"/signin\" method=\"post\"><input name=\"email\">"
    b"<input name=\"password\" type=\"password\"><button>Sign in</button></form></body></html>"
)


@dataclass(frozen=True)
class Download:
    """The stand-in's answer to a GET of a file URL."""

    status: int
    content_type: str
    body: bytes
    headers: dict[str, str]
    file_id: str | None
    authorized: bool


class FilesApi(ViewsApi):
    """``files.*`` methods, user uploads and file downloads."""

    # --- scripting (tests) ----------------------------------------------------------------------------------
    def upload_user_file(self, name: str, content: bytes, *, user: str = "UHUMAN001", mimetype: str | None = None,
                         title: str | None = None) -> str:
        """Store a file as if ``user`` had picked it in a ``file_input`` element; returns its id (``F…``).
        Refuses, like Slack, a file over 10 MB (ValueError). Not shared in any channel."""
        if len(content) > FILE_INPUT_MAX_BYTES:
            raise ValueError(f"{name} is {len(content)} bytes; Slack accepts at most 10 MB in a file_input")
        with self._lock:
            file_id = f"F{next(self._counter):08d}"
            self._files[file_id] = StoredFile(id=file_id, filename=name, content=bytes(content), title=title or name,
                                              user=user, mimetype=mimetype)
            return file_id

    def file_input_value(self, *file_ids: str) -> dict[str, Any]:
        """The ``state.values[block_id][action_id]`` of a submitted ``file_input`` holding these files, as Slack
        sends it in ``view_submission``: ``{"type": "file_input", "files": [<file object>, …]}``."""
        with self._lock:
            return {"type": "file_input", "files": [self.file_json(self._files[f]) for f in file_ids]}

    # --- file objects ---------------------------------------------------------------------------------------
    def file_url(self, stored: StoredFile, *, download: bool = False) -> str:
        """``url_private`` (or ``url_private_download``) of a stored file, served by this stand-in."""
        name = quote(stored.filename, safe="")
        return f"{self.root_url}{FILES_PATH}{self.TEAM_ID}-{stored.id}/{'download/' if download else ''}{name}"

    def file_json(self, stored: StoredFile) -> dict[str, Any]:
        """A file object as ``files.info`` and ``file_input`` values carry it (the fields an app reads)."""
        ext = stored.filename.rsplit(".", 1)[-1].lower() if "." in stored.filename else ""
        return {
            "id": stored.id, "created": stored.created, "timestamp": stored.created, "name": stored.filename,
            "title": stored.title or stored.filename, "mimetype": stored.content_type, "filetype": ext or "binary",
            "pretty_type": ext.upper() or "Binary", "user": stored.user or self.BOT_USER_ID,
            "user_team": self.TEAM_ID, "editable": False, "size": len(stored.content), "mode": "hosted",
            "is_external": False, "external_type": "", "is_public": bool(stored.channels),
            "public_url_shared": False, "display_as_bot": stored.user is None, "username": "",
            "url_private": self.file_url(stored), "url_private_download": self.file_url(stored, download=True),
            "permalink": f"https://standin.slack.invalid/files/{stored.user or self.BOT_USER_ID}/{stored.id}/"
                         f"{quote(stored.filename, safe='')}",
            "channels": list(stored.channels), "groups": [], "ims": [], "comments_count": 0,
            "has_rich_preview": False, "file_access": "visible",
        }

    # --- Web API --------------------------------------------------------------------------------------------
    def _files_method(self, method: str, p: dict[str, Any]) -> dict[str, Any] | None:
        """The answer of a ``files.*`` method; None for other methods. Called under ``_lock``."""
        if method == "files.info":
            stored = self._files.get(str(p.get("file") or ""))
            if stored is None:
                return {"ok": False, "error": "file_not_found"}
            return {"ok": True, "file": self.file_json(stored), "comments": [],
                    "response_metadata": {"next_cursor": ""}}
        if method == "files.getUploadURLExternal":
            file_id = f"F{next(self._counter):08d}"
            self._files[file_id] = StoredFile(id=file_id, filename=str(p.get("filename") or "file"), content=b"")
            return {"ok": True, "upload_url": f"{self.root_url}/upload/{file_id}", "file_id": file_id}
        if method == "files.completeUploadExternal":
            entries = parse_json(p.get("files")) or []
            done = []
            for entry in entries if isinstance(entries, list) else []:
                stored_file = self._files.get(str(entry.get("id")))
                if stored_file is None:
                    return {"ok": False, "error": "file_not_found"}
                stored_file.title = entry.get("title")
                done.append(stored_file)
            share_to = opt(p.get("channel_id") or p.get("channel"))
            self._share(done, share_to, opt(p.get("thread_ts")), opt(p.get("initial_comment")))
            return {"ok": True, "files": [{"id": f.id, "name": f.filename, "title": f.title} for f in done]}
        if method == "files.upload":
            content = p.get("file", p.get("content", b""))
            data = content if isinstance(content, bytes) else str(content).encode()
            file_id = f"F{next(self._counter):08d}"
            stored_file = StoredFile(id=file_id, filename=str(p.get("filename") or "file"), content=data,
                                     title=opt(p.get("title")))
            self._files[file_id] = stored_file
            channels = str(p.get("channels") or "")
            self._share([stored_file], channels.split(",")[0] or None, opt(p.get("thread_ts")),
                        opt(p.get("initial_comment")))
            return {"ok": True, "file": {"id": file_id, "name": stored_file.filename}}
        return None

    def _share(self, files: list[StoredFile], channel: str | None, thread_ts: str | None, comment: str | None) -> None:
        if not channel or not files:
            return
        for stored in files:
            stored.channels.append(channel)
            stored.thread_ts = thread_ts
            stored.initial_comment = comment
        msg = self._post(channel, comment or "", [], thread_ts=thread_ts)
        msg.files = [f.id for f in files]

    # --- downloads ------------------------------------------------------------------------------------------
    def _download(self, path: str, authorization: str) -> Download:
        """GET ``/files-pri/{team}-{file}/[download/]{name}``: the exact bytes with the bot token, else a redirect
        to the sign-in page (Slack's answer to a browser without a session)."""
        rest = path.removeprefix(FILES_PATH)
        owner, _, tail = rest.partition("/")
        file_id = owner.removeprefix(f"{self.TEAM_ID}-")
        download = tail.startswith("download/")
        name = unquote(tail.removeprefix("download/"))
        token = authorization[7:].strip() if authorization[:7].lower() == "bearer " else ""
        if token != self.bot_token:
            location = f"{self.root_url}{SIGN_IN_PATH}?redir={quote(path, safe='')}"
            return Download(302, "text/html; charset=utf-8", b"", {"Location": location}, file_id or None, False)
        with self._lock:
            stored = self._files.get(file_id)
        if stored is None or not owner.startswith(f"{self.TEAM_ID}-") or name != stored.filename:
            return Download(404, "text/plain", b"file not found", {}, file_id or None, True)
        headers = {"Content-Disposition": f"attachment; filename*=UTF-8''{quote(stored.filename, safe='')}"}
        return Download(200, stored.content_type, bytes(stored.content), headers if download else {}, stored.id, True)
