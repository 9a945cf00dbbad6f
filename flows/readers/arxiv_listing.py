"""Readers for arXiv daily listings (FORMATS §3): the plain listing text, and the same listing inside .eml / .mbox mail.

One raw record per `\\`-delimited entry (flows/readers/listing_grammar.py), with the listing's provenance and digest
date. Mail is opened with flows/readers/mail.py. Nothing here reads files or picks a reader.
"""

from __future__ import annotations

from flows.readers.base import Dump, Parsed, quarantine_frame, records_frame
from flows.readers.listing_grammar import holds_listing, listing_census, parsed_listing
from flows.readers.mail import (
    email_messages,
    looks_like_email,
    message_body,
    message_date,
    message_summary,
    sent_by_arxiv,
    shown_mail_date,
)
from flows.readers.vocabulary import digest_date, provenance, quarantine_row
from schemas.tables import RAW_RECORDS


class ArxivListingText:
    """arXiv daily listing as plain text (the mail body, or a saved "new" listing): one record per entry.

    >>> # "\\\\\\\\\\narXiv:2601.00010\\nDate: Mon, 5 Jan 2026 ...\\n\\nTitle: A Title\\n  Wrapped\\n..." ->
    >>> # arxiv_id "2601.00010", title_raw "A Title Wrapped", section "new", line = the arXiv: line
    """

    name = "arxiv_listing"
    rank = 0  # arXiv's own metadata
    announces = "entries (\\\\ line + arXiv: id line)"

    def census(self, text: str) -> int:
        return listing_census(text)

    def sniff(self, text: str) -> bool:
        return not looks_like_email(text) and holds_listing(text)

    def read(self, dump: Dump, text: str, year: int | None) -> Parsed:
        listing = parsed_listing(text)
        digest = digest_date(
            dump, year, (listing.digest_date, "header"), (shown_mail_date(text), "email_date_header")
        )
        place = provenance(dump, self.name, digest)
        records = records_frame([{**entry, **place} for entry in listing.entries])
        quarantine = quarantine_frame(
            [quarantine_row(dump, f"line {p.line}", p.reason, p.raw_text) for p in listing.problems]
        )
        return Parsed(records.select(RAW_RECORDS.names), quarantine, self.name)


class ArxivEmail:
    """arXiv listing mail: an RFC 822 .eml or an .mbox of several digests, each body read as a listing.

    >>> # "From no-reply@arxiv.org Tue Jan  6 ...\\nContent-Transfer-Encoding: quoted-printable\\n\\n...=3D..." ->
    >>> # the body's entries; `line` counts lines of the decoded body, quarantine says "message K, line N"
    """

    name = "arxiv_email"
    rank = 0  # arXiv's own metadata
    announces = "entries (\\\\ line + arXiv: id line)"

    def census(self, text: str) -> int:
        return listing_census(text)

    def sniff(self, text: str) -> bool:
        if not looks_like_email(text):
            return False
        # Encoded bodies (base64) show nothing until decoded, so the messages are parsed to look inside.
        return any(
            sent_by_arxiv(m) or holds_listing(message_body(m) or "")
            for m in email_messages(text.encode("utf-8", "surrogateescape"))
        )

    def read(self, dump: Dump, text: str, year: int | None) -> Parsed:
        # The bytes, not `text`: each message declares its own charset and transfer encoding.
        rows, problems, offset = [], [], 0
        for k, message in enumerate(email_messages(dump.data), start=1):
            body = message_body(message)
            if body is None or not body.strip():
                reason = "message has no text/plain part" if body is None else "message has an empty body"
                problems.append(quarantine_row(dump, f"message {k}, line 1", reason, message_summary(message)))
                continue
            listing = parsed_listing(body)
            digest = digest_date(
                dump, year, (listing.digest_date, "header"), (message_date(message), "email_date_header")
            )
            place = provenance(dump, self.name, digest)
            rows += [{**entry, "position": entry["position"] + offset, **place} for entry in listing.entries]
            problems += [
                quarantine_row(dump, f"message {k}, line {p.line}", p.reason, p.raw_text) for p in listing.problems
            ]
            offset += listing.n_blocks
        records = records_frame(rows)
        return Parsed(records.select(RAW_RECORDS.names), quarantine_frame(problems), self.name)
