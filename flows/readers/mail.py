"""Mail containers of arXiv listings: .eml and .mbox bytes -> messages, their text bodies and dates.

What `ArxivEmail` (flows/readers/arxiv_listing.py) needs to open the envelope, and what tells a mailbox from a
listing copied out of a mail program. Not a reader; the standard library parses each message.
"""

from __future__ import annotations

import datetime as dt
import email
import re
from email.message import Message
from email.utils import parsedate_to_datetime

from flows.readers.base import decoded_text
from flows.readers.listing_grammar import SNIFF_CHARS

# An mbox "From " separator line carries a sender and a time ("From x@y Tue Jan  6 20:14:03 2026"), which
# keeps a plain text whose first line is a title such as "From Pixels to Proteins" from passing for a mailbox.
MBOX_FROM_LINE = re.compile(rb"^From \S+ [^\n]*\d{1,2}:\d{2}")
# The blank line before a "From " line belongs to the separator; the message keeps its own final newline.
MBOX_SEPARATOR = re.compile(rb"(?:\A|(?<=\n)\n)From \S+ [^\n]*\d{1,2}:\d{2}[^\n]*\n")
MBOX_ESCAPED_FROM = re.compile(rb"^>(>*From )", re.MULTILINE)
HEADER_LINE = re.compile(r"^(?P<name>[!-9;-~]+):")
MAIL_HEADERS = frozenset(
    {"received", "from", "subject", "date", "mime-version", "message-id", "return-path", "to", "content-type",
     "delivered-to", "reply-to", "sender", "content-transfer-encoding"}
)
# Headers only a stored message carries (a mail program's printed or copied view shows From/To/Subject/Date).
CONTAINER_HEADERS = frozenset(
    {"received", "mime-version", "message-id", "return-path", "content-type", "delivered-to",
     "content-transfer-encoding", "dkim-signature", "arc-seal", "authentication-results", "list-id"}
)


def looks_like_email(text: str) -> bool:
    """True for a mail container: an mbox (`From ` separator line) or an RFC 822 message as a mail program stores
    it, with transport or MIME headers (Received, Message-ID, MIME-Version, Content-Type...) at the very top.

    >>> looks_like_email("Received: from a by b\\nDate: Tue, 06 Jan 2026 20:14:03 -0500\\n\\nbody")
    True

    A listing copied as text with the few header lines a mail program shows (From, To, Subject, Date) is listing
    text, not a container: nothing in it is encoded and it has no transport headers.
    """
    head = text.lstrip("\n")[:SNIFF_CHARS]
    if MBOX_FROM_LINE.match(head[:1000].encode("utf-8", "replace")):
        return True
    names = mail_header_names(head)
    return names is not None and any(name in CONTAINER_HEADERS or name.startswith("x-") for name in names)


def mail_header_names(head: str) -> list[str] | None:
    """Lower-case names of the header block opening the text, or None when the text does not open with one."""
    names = []
    for line in head.split("\n", 100)[:100]:
        if not line.strip():
            break
        if line[0] in " \t" and names:  # a folded header continues the previous one
            continue
        if not (m := HEADER_LINE.match(line)):
            return None
        names.append(m["name"].lower())
    return names if any(name in MAIL_HEADERS for name in names) else None


def email_messages(data: bytes) -> list[Message]:
    """A .eml's or .mbox's bytes -> its messages in order (mboxrd `>From ` escapes undone).

    >>> [m["Subject"] for m in email_messages(b"From a@b Tue Jan  6 20:14:03 2026\\nSubject: one\\n\\nx\\n")]
    ['one']

    mailbox.mbox needs a file path and readers get bytes, so the `From ` lines are split here; each message is then
    parsed by the standard library.
    """
    # Line ends of any convention (CRLF as sent, a lone CR from an old Mac mail store) become LF: the `From `
    # separators, the header block and quoted-printable soft breaks are all found by line.
    data = data.removeprefix(b"\xef\xbb\xbf").replace(b"\r\n", b"\n").replace(b"\r", b"\n")
    if not MBOX_FROM_LINE.match(data.lstrip(b"\n")):
        return [email.message_from_bytes(data)]
    chunks = MBOX_SEPARATOR.split(data.lstrip(b"\n"))[1:]
    return [email.message_from_bytes(MBOX_ESCAPED_FROM.sub(rb"\1", chunk)) for chunk in chunks]


def message_body(message: Message) -> str | None:
    """The message's first text/plain part, transfer-decoded and decoded with its declared charset (None if none).

    >>> # Content-Transfer-Encoding: quoted-printable, charset=utf-8, "M=C3=BCller =3D" -> "Müller ="
    """
    part = next(
        (
            p
            for p in message.walk()
            if p.get_content_type() == "text/plain" and not p.is_multipart()
            and p.get_content_disposition() != "attachment"
        ),
        None,
    )
    if part is None:
        return None
    payload = part.get_payload(decode=True) or b""
    try:
        text = payload.decode(part.get_content_charset() or "utf-8")
    except (LookupError, UnicodeDecodeError):
        # A missing or lying charset: fall back to the same guesses as for any dump (utf-8, then cp1252).
        text = decoded_text(payload)[0]
    return text.removeprefix("\ufeff").replace("\r\n", "\n").replace("\r", "\n")


def message_date(message: Message) -> dt.date | None:
    """The calendar date of the message's Date header, as the sender wrote it (its own time zone), or None."""
    try:
        return parsedate_to_datetime(message["Date"]).date() if message["Date"] else None
    except (TypeError, ValueError, IndexError):
        return None


def shown_mail_date(text: str) -> dt.date | None:
    """The Date of the mail header lines a copied listing may open with (From/To/Subject/Date), or None."""
    head = text.lstrip("\n")[:SNIFF_CHARS]
    if mail_header_names(head) is None:
        return None
    header = head.split("\n\n", 1)[0]
    return message_date(email.message_from_string(header + "\n\n"))


def sent_by_arxiv(message: Message) -> bool:
    """True when the message says it comes from arxiv.org (From, Sender or Return-Path)."""
    return any("arxiv.org" in str(message.get(h, "")).lower() for h in ("From", "Sender", "Return-Path"))


def message_summary(message: Message) -> str:
    """The message's From, Date and Subject lines: what a quarantine row shows of a message it cannot read."""
    return "\n".join(f"{h}: {message[h]}" for h in ("From", "Date", "Subject") if message[h])


