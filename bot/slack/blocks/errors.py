"""Every error reply's sentence, in the one error style (:func:`bot.slack.blocks.common.error_text`)."""

from __future__ import annotations

from bot.domain import AlreadyDecided, DomainError, InvalidInput, NotAuthorized, NotFound
from bot.partner_center.errors import PartnerCenterAuthError, PartnerCenterError, PartnerCenterUnavailable
from bot.slack.blocks.common import error_text, esc, users


def error_message(error: BaseException, reference: str) -> str:
    """What the person who acted is told about ``error``: emoji, what went wrong, what to do, ids in backticks.
    Never a stack trace or a secret; text that came from a person or Partner Center is escaped. ``reference``:
    quoted for an unexpected error, so an administrator can find its log line."""
    if isinstance(error, AlreadyDecided):
        request = error.request
        verb = {"rejected": "rejected", "expired": "expired"}.get(request.state.value, "approved")
        who = "" if verb == "expired" else f" by {users(request.decided_by) if request.decided_by else 'the system'}"
        return error_text(":information_source:", f"Request {request.id} was already {verb}{who}",
                          "nothing more to do here")
    if isinstance(error, NotAuthorized):
        return error_text(":lock:", esc(error), "ask one of the approvers if you need this")
    if isinstance(error, InvalidInput):
        return error_text(":warning:", esc(error), "correct it and try again (`/nce help` lists the commands)")
    if isinstance(error, NotFound):
        return error_text(":mag:", esc(error), f"check the ids ({esc('`/nce subscriptions <customer>`')} lists them)")
    if isinstance(error, DomainError):
        text = esc(error)
        for own in getattr(error, "mentions", ()):  # markup the domain put there itself (e.g. <#C…>) stays live
            text = text.replace(esc(own), own)
        return error_text(":warning:", text)
    if isinstance(error, PartnerCenterAuthError):
        return error_text(":warning:", "ncebot could not sign in to Partner Center",
                          "an administrator should run `ncebot doctor`")
    if isinstance(error, PartnerCenterUnavailable):
        return error_text(":hourglass:", "Partner Center is busy or unreachable right now. Nothing was changed",
                          "try again shortly")
    if isinstance(error, PartnerCenterError):
        code = f" `{esc(error.code)}`" if error.code is not None else ""
        return error_text(":warning:", f"Partner Center refused it{code}: {esc(error.description)}",
                          "nothing was changed; fix the cause it names, then try again")
    return error_text(":boom:", f"Something went wrong on our side (reference `{reference}`). Nothing was changed",
                      "try again; if it keeps failing, give the reference to an administrator")
