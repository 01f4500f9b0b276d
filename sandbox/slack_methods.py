"""The Slack stand-in's Web API method dispatch: ``auth``, ``chat.*``, ``conversations.*``, ``users.info``,
``usergroups.*``; ``views.*`` (:mod:`sandbox.slack_views`) and ``files.*`` (:mod:`sandbox.slack_files`) are
answered by their own layers."""

from __future__ import annotations

from typing import Any

from sandbox.slack_files import FilesApi
from sandbox.slack_records import blocks_of, message_json, opt, parse_json


class WebApi(FilesApi):
    """Every Web API method the stand-in knows (``unknown_method`` for the rest)."""

    def _dispatch(self, method: str, p: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            for layer in (self._views_method, self._files_method):
                answer = layer(method, p)
                if answer is not None:
                    return answer
            if method == "api.test":
                return {"ok": True, "args": p}
            if method == "auth.test":
                return {"ok": True, "url": "https://standin.slack.invalid/", "team": "Stand-in", "user": "ncebot",
                        "team_id": self.TEAM_ID, "user_id": self.BOT_USER_ID, "bot_id": self.BOT_ID}
            if method == "chat.postMessage":
                channel = str(p.get("channel") or "")
                if not channel:
                    return {"ok": False, "error": "channel_not_found"}
                if not p.get("text") and not p.get("blocks"):
                    return {"ok": False, "error": "no_text"}
                msg = self._post(channel, str(p.get("text") or ""), blocks_of(p.get("blocks")),
                                 thread_ts=opt(p.get("thread_ts")))
                metadata = parse_json(p.get("metadata"))
                msg.metadata = metadata if isinstance(metadata, dict) else None
                return {"ok": True, "channel": channel, "ts": msg.ts,
                        "message": {"text": msg.text, "ts": msg.ts, "user": msg.user, "blocks": msg.blocks}}
            if method == "chat.update":
                found = self._find(str(p.get("channel")), str(p.get("ts")))
                if found is None:
                    return {"ok": False, "error": "message_not_found"}
                msg = found
                self._update(msg, opt(p.get("text")), blocks_of(p.get("blocks")) if "blocks" in p else None)
                return {"ok": True, "channel": msg.channel, "ts": msg.ts, "text": msg.text}
            if method == "chat.delete":
                found = self._find(str(p.get("channel")), str(p.get("ts")))
                if found is None:
                    return {"ok": False, "error": "message_not_found"}
                self._delete(found)
                return {"ok": True, "channel": found.channel, "ts": found.ts}
            if method == "chat.postEphemeral":
                channel, user = str(p.get("channel") or ""), str(p.get("user") or "")
                if not channel or not user:
                    return {"ok": False, "error": "channel_not_found" if not channel else "user_not_in_channel"}
                msg = self._post(channel, str(p.get("text") or ""), blocks_of(p.get("blocks")),
                                 thread_ts=opt(p.get("thread_ts")), ephemeral_to=user)
                return {"ok": True, "message_ts": msg.ts}
            if method == "chat.getPermalink":
                channel, ts = str(p.get("channel")), str(p.get("message_ts"))
                if self._find(channel, ts) is None:
                    return {"ok": False, "error": "message_not_found"}
                return {"ok": True, "channel": channel,
                        "permalink": f"https://standin.slack.invalid/archives/{channel}/p{ts.replace('.', '')}"}
            if method == "usergroups.list":
                return {"ok": True, "usergroups": [{"id": g, "handle": self.usergroup_handles.get(g, g.lower())}
                                                   for g in self.usergroups]}
            if method == "usergroups.users.list":
                group = str(p.get("usergroup") or "")
                if group not in self.usergroups:
                    return {"ok": False, "error": "no_such_subteam"}
                return {"ok": True, "users": list(self.usergroups[group])}
            if method == "users.info":
                user = str(p.get("user") or "")
                if not user.startswith(("U", "W")):
                    return {"ok": False, "error": "user_not_found"}
                name = self.users.get(user, user.lower())
                return {"ok": True, "user": {"id": user, "name": name, "real_name": name, "tz": "UTC",
                                             "is_bot": user == self.BOT_USER_ID, "profile": {"real_name": name}}}
            if method == "conversations.info":
                channel = str(p.get("channel") or "")
                if channel not in self.channels:
                    return {"ok": False, "error": "channel_not_found"}
                return {"ok": True, "channel": {"id": channel, "name": self.channels[channel], "is_channel": True,
                                                "is_member": True}}
            if method == "conversations.open":
                users = [u for u in str(p.get("users") or "").split(",") if u]
                if len(users) != 1 or not users[0].startswith(("U", "W")):
                    return {"ok": False, "error": "user_not_found" if users else "users_list_not_supplied"}
                dm = "D" + users[0][1:]
                self.channels.setdefault(dm, f"dm-{self.users.get(users[0], users[0].lower())}")
                return {"ok": True, "channel": {"id": dm, "is_im": True, "user": users[0]}}
            if method == "conversations.replies":
                channel, ts = str(p.get("channel")), str(p.get("ts"))
                parent = self._find(channel, ts)
                if parent is None:
                    return {"ok": False, "error": "thread_not_found"}
                replies = [parent, *self.thread(channel, ts)]
                return {"ok": True, "has_more": False,
                        "messages": [message_json(m, thread_ts=m.thread_ts or ts) for m in replies]}
            if method == "conversations.history":
                channel = str(p.get("channel"))
                top = [m for m in self._messages if m.channel == channel and not m.deleted and m.ephemeral_to is None
                       and (m.thread_ts is None or m.thread_ts == m.ts)]
                return {"ok": True, "has_more": False, "messages": [message_json(m) for m in reversed(top)]}
            return {"ok": False, "error": "unknown_method"}
