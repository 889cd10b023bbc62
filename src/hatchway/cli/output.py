"""Output of the client commands: Rich tables for people, Hatchway's JSON (--json) for scripts.

Results go to standard output and everything else (errors, warnings, prompts) to standard
error, so that `hatchway ... --json | jq` always reads one JSON document. With --json a
failure is that document too (see `error_json`), and no sentence repeats it on standard error.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import date, datetime
from typing import Any

from rich import box
from rich.console import Console, RenderableType
from rich.table import Table
from rich.text import Text

from hatchway.client import HatchwayApiError, HatchwayUnreachable, ValidationResult

# Rich wraps table cells to the terminal width. Output that goes to a file or a pipe has no
# width, so it gets a wide one, and long values such as URLs and e-mail addresses stay whole.
PIPE_WIDTH = 240


def make_console(*, stderr: bool = False) -> Console:
    """Return a console for plain text: terminal width in a terminal, PIPE_WIDTH elsewhere."""
    stream = sys.stderr if stderr else sys.stdout
    width = None if stream.isatty() else PIPE_WIDTH
    return Console(stderr=stderr, width=width, markup=False, highlight=False, emoji=False)


def cell(value: object) -> Text:
    """Render one table cell as plain text: never as Rich markup, which '[...]' would start."""
    if value is None:
        return Text("-", style="dim")
    if isinstance(value, bool):
        return Text("yes" if value else "no")
    if isinstance(value, datetime):
        return Text(value.isoformat(sep=" ", timespec="seconds"))
    if isinstance(value, date):
        return Text(value.isoformat())
    return Text(str(value))


def table(columns: Sequence[str], rows: Iterable[Sequence[object]]) -> Table:
    """Build a table whose cells are plain text."""
    result = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False)
    for column in columns:
        result.add_column(column, overflow="fold")
    for row in rows:
        result.add_row(*(cell(value) for value in row))
    return result


def fields_table(rows: Iterable[tuple[str, object]]) -> Table:
    """Build a two-column table of field names and values, for one record."""
    result = Table(box=None, show_header=False, pad_edge=False)
    result.add_column("Field", style="bold")
    result.add_column("Value", overflow="fold")
    for name, value in rows:
        result.add_row(Text(name), cell(value))
    return result


# The options of one command that set each member of the request body, such as
# {"EmailAddress": "--email ADDRESS"}. The key "" stands for a result that names no member.
OptionHints = Mapping[str, str]


def results_text(
    results: Iterable[ValidationResult], *, bullet: str = "-", hints: OptionHints | None = None
) -> Text:
    """List validation results, one per line, each with the fields it names.

    The server's sentences name request members and API details (`?version=2.0`), so a result
    whose member has an entry in `hints` gets a second line that names the command's option.
    """
    known = hints or {}
    lines = []
    for result in results:
        lines.append(f"  {bullet} {result}")
        members = result.member_names or ("",)
        options = dict.fromkeys(known[member] for member in members if member in known)
        lines.extend(f"    In hatchway: use {option}." for option in options)
    return Text("\n".join(lines))


class Output:
    """Prints one command's result and errors, as tables or, with --json, as JSON."""

    def __init__(self, *, json_output: bool, hints: OptionHints | None = None) -> None:
        self.json_output = json_output
        self.hints = hints
        self.console = make_console()
        self.errors = make_console(stderr=True)

    def result(self, raw: Any, render: Callable[[], Iterable[RenderableType]]) -> None:
        """Print Hatchway's JSON `raw` with --json, else the renderables `render` returns."""
        if self.json_output:
            self.print_json(raw)
            return
        for renderable in render():
            self.console.print(renderable)

    def print_json(self, value: Any) -> None:
        sys.stdout.write(json.dumps(value, indent=2, ensure_ascii=False) + "\n")
        sys.stdout.flush()

    def note(self, message: str) -> None:
        """Print a remark for people on standard error; scripts that read stdout skip it."""
        self.errors.print(Text(message))

    def refused(self, error: HatchwayApiError) -> None:
        """Print why Hatchway refused a call, in the server's own sentences."""
        if self.json_output:
            self.print_json(error_json(error))
            return
        if error.results:
            self.errors.print(Text(f"Hatchway refused the request (HTTP {error.status}):"))
            self.errors.print(results_text(error.results, hints=self.hints))
            return
        code = f", {error.error}" if error.error else ""
        self.errors.print(Text(f"Error (HTTP {error.status}{code}): {error.message}"))
        if error.error == "PathNotFound":
            self.errors.print(
                Text("This Hatchway server may be an older version that lacks this call.")
            )
        if error.error == "SingleSignOnSettingsVersionNotFound":
            self.errors.print(Text("'hatchway sso history ENVIRONMENT' lists the versions."))
        # Hatchway's own 429 responses name the wait, but a proxy's responses may not.
        if error.retry_after is not None and "Try again in" not in error.message:
            self.errors.print(Text(f"Retry after {error.retry_after} seconds."))

    def unreachable(self, error: HatchwayUnreachable) -> None:
        if self.json_output:
            self.print_json(
                {
                    "Status": None,
                    "Error": "Unreachable",
                    "Message": str(error),
                    "ValidationResults": [],
                    "Url": error.url,
                }
            )
            return
        advice = (
            "The server accepted the connection but did not answer in time; a change may or "
            "may not have been saved, so read it back before repeating it."
            if error.timed_out
            else "Check --url (or HATCHWAY_URL) and that the server is running."
        )
        self.errors.print(Text(f"Error: {error}. {advice}"))


def error_json(error: HatchwayApiError) -> dict[str, Any]:
    """Build the document that --json prints when Hatchway refused a call.

    `Status` is the HTTP status, `Error` the problem code (None for a 400 with validation
    results), `Message` the server's sentence and `ValidationResults` the entries of a 400.
    """
    return {
        "Status": error.status,
        "Error": error.error,
        "Message": error.message,
        "ValidationResults": [
            {"MemberNames": list(result.member_names), "ErrorMessage": result.error_message}
            for result in error.results
        ],
    }
