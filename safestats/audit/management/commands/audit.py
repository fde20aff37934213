"""``safestats audit``: check the audit log's hash chain, or export the log as CSV.

``verify`` exits 0 and prints the head hash (to keep somewhere outside the database: it is
what shows later that the newest rows were removed or the log rewritten), or prints the
first bad row and why to stderr and exits 1. ``export`` writes CSV to a file or stdout and
is itself recorded as an ``audit.exported`` event.
"""

from __future__ import annotations

import argparse
import io
import re
import sys
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any, TextIO, cast

from django.core.management.base import BaseCommand, CommandError, CommandParser

from safestats.audit.chain import Head
from safestats.audit.selectors import verify_chain
from safestats.audit.services import Actor, export_events

HEAD = re.compile(r"^(\d+):([0-9a-f]{64})$")


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise CommandError(f"dates are YYYY-MM-DD; got {text!r}") from None


def _positive(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"must be a whole number above 0; got {text!r}")
    return int(text)


def _head(text: str) -> Head:
    match = HEAD.match(text.strip().lower())
    if not match:
        raise CommandError(f"--known-head is SEQ:HASH (e.g. 2000:3f9a...); got {text!r}")
    return Head(int(match[1]), match[2])


class Command(BaseCommand):
    help = "Check the audit log's hash chain (verify) or export the log as CSV (export)."

    def add_arguments(self, parser: CommandParser) -> None:
        commands = parser.add_subparsers(dest="action", metavar="{verify,export}")
        commands.required = True
        verify = commands.add_parser(
            "verify",
            help="recompute the hash chain; exit 1 at the first row that is not intact",
        )
        verify.add_argument(
            "--known-head",
            metavar="SEQ:HASH",
            help="a row number and hash printed by an earlier verify: that row must still "
            "be there, unchanged (catches removal of the newest rows and a rewritten log)",
        )
        verify.add_argument(
            "--chunk-size", type=_positive, default=2000, help="rows read per batch (default 2000)"
        )
        export = commands.add_parser("export", help="write events as CSV (UTF-8 with BOM)")
        export.add_argument(
            "--from", dest="since", metavar="YYYY-MM-DD", help="events on or after this day (UTC)"
        )
        export.add_argument(
            "--to", dest="until", metavar="YYYY-MM-DD", help="events on or before this day (UTC)"
        )
        export.add_argument(
            "--event",
            default="",
            metavar="PREFIX",
            help="events whose name starts with PREFIX, e.g. account.",
        )
        export.add_argument(
            "--actor",
            default="",
            metavar="EMAIL",
            help="events by this actor (email address or label)",
        )
        export.add_argument("--output", metavar="FILE", help="write to FILE (default: stdout)")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["action"] == "verify":
            self.verify(options)
        else:
            self.export(options)

    def verify(self, options: dict[str, Any]) -> None:
        known_head = _head(options["known_head"]) if options["known_head"] else None
        result = verify_chain(known_head=known_head, chunk_size=options["chunk_size"])
        if result.ok:
            self.stdout.write(
                f"Audit log intact: {result.checked} events, last hash {result.last_hash}"
            )
            return
        self.stderr.write(
            f"Audit log broken at row {result.first_bad_seq}: {result.reason}.\n"
            f"Rows before it are intact ({result.checked} events, "
            f"last good hash {result.last_hash})."
        )
        sys.exit(1)

    def export(self, options: dict[str, Any]) -> None:
        since = until = None
        if options["since"]:
            since = datetime.combine(_day(options["since"]), time.min, tzinfo=UTC)
        if options["until"]:
            until = datetime.combine(
                _day(options["until"]) + timedelta(days=1), time.min, tzinfo=UTC
            )
        if since and until and since >= until:
            raise CommandError("--from must be on or before --to")
        filters = {
            "since": since,
            "until": until,
            "event_prefix": options["event"],
            "actor": options["actor"],
        }
        by = Actor.system()
        if options["output"]:
            path = Path(options["output"])
            with path.open("w", encoding="utf-8", newline="") as stream:
                count = export_events(stream, by=by, destination=str(path), **filters)
            self.stdout.write(f"Exported {count} events to {path}")
            return
        # Beneath Django's OutputWrapper, which would end every write with a newline.
        out = cast(TextIO, self.stdout._out)
        binary = getattr(out, "buffer", None)
        if binary is None:  # a text stream given by the caller (call_command(stdout=...))
            export_events(out, by=by, destination="stdout", **filters)
            return
        # The CSV is UTF-8 whatever the terminal's locale, so write bytes beneath stdout.
        out.flush()
        stream = io.TextIOWrapper(binary, encoding="utf-8", newline="", write_through=True)
        try:
            export_events(stream, by=by, destination="stdout", **filters)
        finally:
            stream.flush()
            stream.detach()
