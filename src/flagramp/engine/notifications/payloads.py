"""What each destination receives for a notice: a Slack-compatible message, the
notice as JSON, or an e-mail with a plain-text and an HTML part.

A notice's `data` may carry `link` (the run's page: shown as a link everywhere)
and `evidence` (any JSON: in full in the JSON body and the e-mail). Everything
of `data` goes to JSON receivers as it is.
"""

from __future__ import annotations

import html
import json
from email.message import EmailMessage

from flagramp.core.types import Json
from flagramp.engine.notifications.signing import DELIVERY_HEADER, KIND_HEADER
from flagramp.engine.notify import Notice

#: Slack's limits: 150 characters in a header block, 3,000 in a section.
SLACK_HEADER_MAX = 150
SLACK_SECTION_MAX = 3000
SUBJECT_PREFIX = "[flagramp] "


def json_body(notice: Notice, delivery_id: str) -> bytes:
    """The signed JSON body: the delivery id (signed with it) and the notice."""
    document = {"delivery": delivery_id, "notice": notice.to_json()}
    return json.dumps(document, sort_keys=True, ensure_ascii=False).encode()


def slack_body(notice: Notice) -> bytes:
    """A message Slack's incoming webhooks (and Mattermost, Rocket.Chat) accept."""
    fallback = f"{notice.title}\n{notice.text}"
    blocks: list[dict[str, Json]] = [
        {
            "type": "header",
            "text": {
                "type": "plain_text",
                "text": _cut(notice.title, SLACK_HEADER_MAX),
            },
        },
        {
            "type": "section",
            "text": {
                "type": "mrkdwn",
                "text": _cut(_slack_escape(notice.text), SLACK_SECTION_MAX),
            },
        },
    ]
    context = f"{notice.kind.value} · run {notice.run} · {notice.environment}"
    link = _link(notice)
    if link is not None:
        context += f" · <{_slack_escape(link)}|open the run>"
    blocks.append(
        {"type": "context", "elements": [{"type": "mrkdwn", "text": context}]}
    )
    document = {"text": _slack_escape(fallback), "blocks": blocks}
    return json.dumps(document, ensure_ascii=False).encode()


def email_message(
    notice: Notice, delivery_id: str, *, sender: str, recipient: str
) -> EmailMessage:
    """The e-mail for one recipient: plain text and HTML, the delivery id in a
    header and in the Message-ID (some mail systems drop a second copy by it)."""
    message = EmailMessage()
    message["Subject"] = SUBJECT_PREFIX + notice.title
    message["From"] = sender
    message["To"] = recipient
    message["Message-ID"] = f"<{delivery_id}@flagramp>"
    message[DELIVERY_HEADER] = delivery_id
    message[KIND_HEADER] = notice.kind.value
    message.set_content(_plain(notice))
    message.add_alternative(_html(notice), subtype="html")
    return message


def _plain(notice: Notice) -> str:
    lines = [notice.title, "", notice.text, "", f"Run: {notice.run}"]
    lines.append(f"Environment: {notice.environment}")
    link = _link(notice)
    if link is not None:
        lines.append(f"Link: {link}")
    evidence = notice.data.get("evidence")
    if evidence is not None:
        lines += ["", "Evidence:", json.dumps(evidence, indent=2, ensure_ascii=False)]
    return "\n".join(lines) + "\n"


def _html(notice: Notice) -> str:
    escape = html.escape
    parts = [
        "<!DOCTYPE html>",
        '<html><body style="font-family: sans-serif">',
        f"<h2>{escape(notice.title)}</h2>",
        f'<p style="white-space: pre-wrap">{escape(notice.text)}</p>',
        "<p>",
        f"Run <b>{escape(notice.run)}</b> in <b>{escape(notice.environment)}</b>",
    ]
    link = _link(notice)
    if link is not None:
        parts.append(f' · <a href="{escape(link, quote=True)}">open the run</a>')
    parts.append("</p>")
    evidence = notice.data.get("evidence")
    if evidence is not None:
        shown = json.dumps(evidence, indent=2, ensure_ascii=False)
        parts.append(f"<pre>{escape(shown)}</pre>")
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


def _link(notice: Notice) -> str | None:
    link = notice.data.get("link")
    if isinstance(link, str) and link.startswith(("http://", "https://")):
        return link
    return None


def _slack_escape(text: str) -> str:
    # Slack reads &, < and > as markup (links, mentions): these three only.
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
