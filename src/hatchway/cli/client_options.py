"""Options, configuration and error handling shared by the client commands.

Exit codes of every client command:

    0  success
    1  Hatchway refused the request (validation, 4xx) or answered with another error, or
       the person at the terminal answered no to a confirmation question
    2  usage error: a missing or invalid option, an unreadable key file
    3  Hatchway could not be reached (connection failed, timed out, or a proxy in front
       of it answered 502, 503 or 504)
"""

from __future__ import annotations

import enum
import inspect
import os
import sys
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any, TypeVar
from urllib.parse import urlsplit

import typer
from rich.text import Text

from hatchway.cli import secret_input
from hatchway.cli.output import Output, results_text
from hatchway.cli.usage import UsageError
from hatchway.client import (
    HatchwayApiError,
    HatchwayClient,
    HatchwayUnreachable,
    ValidationResult,
    check_provisioning_key,
)
from hatchway.config import is_loopback_host

URL_VARIABLE = "HATCHWAY_URL"
PROVISIONING_KEY_VARIABLE = "HATCHWAY_PROVISIONING_KEY"
PROVISIONING_KEY_FILE_OPTION = "--provisioning-key-file"

# A proxy returns these statuses when Hatchway behind it is down, so Hatchway is unreachable.
_GATEWAY_STATUSES = frozenset({502, 503, 504})


CommandFunction = TypeVar("CommandFunction", bound=Callable[..., Any])


class ExitCode(enum.IntEnum):
    SUCCESS = 0
    REFUSED = 1
    # A "no" at a confirmation question: a decision, not a usage error, and nothing was sent.
    DECLINED = 1
    USAGE = 2
    UNREACHABLE = 3


UrlOption = Annotated[
    str | None,
    typer.Option(
        "--url",
        envvar=URL_VARIABLE,
        show_envvar=True,
        help="The Hatchway instance's URL, such as https://portal.example.com.",
    ),
]
ProvisioningKeyFileOption = Annotated[
    Path | None,
    typer.Option(
        PROVISIONING_KEY_FILE_OPTION,
        exists=True,
        dir_okay=False,
        readable=True,
        help=f"File that contains the Provisioning Key. Without it, the key is read from "
        f"{PROVISIONING_KEY_VARIABLE}. The key is never taken as an option value, because "
        "other users of the machine can read command lines.",
    ),
]
JsonOption = Annotated[
    bool,
    typer.Option("--json", help="Print Hatchway's JSON response instead of a table."),
]
EnvironmentArgument = Annotated[str, typer.Argument(help="The environment's name.")]
YesOption = Annotated[
    bool,
    typer.Option(
        "--yes",
        help="Go ahead without asking for confirmation; required when standard input is not "
        "a terminal.",
    ),
]


def reflow_help(function: CommandFunction) -> CommandFunction:
    """Join the lines of each paragraph of a command's docstring into one line.

    Typer's --help keeps the line breaks of every paragraph after the first, which leaves
    ragged lines in a terminal of another width. Apply it below the `command()` decorator.
    """
    paragraphs = inspect.cleandoc(function.__doc__ or "").split("\n\n")
    function.__doc__ = "\n\n".join(" ".join(paragraph.split()) for paragraph in paragraphs)
    return function


def read_provisioning_key(key_file: Path | None, environ: Mapping[str, str] | None = None) -> str:
    """Return the Provisioning Key from `key_file`, else from HATCHWAY_PROVISIONING_KEY.

    NOTE: Hatchway's server reads its environment only in hatchway.config. The client commands
    are a separate program that runs on an administrator's machine. They read two variables
    and nothing else: HATCHWAY_URL through Typer's `envvar=`, and HATCHWAY_PROVISIONING_KEY
    here, because a secret must not be an option value that `envvar=` would also accept.
    """
    if key_file is not None:
        try:
            key = key_file.read_text(encoding="utf-8").strip()
        except (OSError, UnicodeDecodeError) as error:
            raise UsageError(
                f"cannot read '{key_file}': {error}.", param_hint=PROVISIONING_KEY_FILE_OPTION
            ) from None
        if not key:
            raise UsageError(
                f"'{key_file}' is empty; put the Provisioning Key in it.",
                param_hint=PROVISIONING_KEY_FILE_OPTION,
            )
        return _checked_key(key, source=PROVISIONING_KEY_FILE_OPTION)
    variables = os.environ if environ is None else environ
    key = variables.get(PROVISIONING_KEY_VARIABLE, "").strip()
    if not key:
        raise UsageError(
            f"No Provisioning Key: set {PROVISIONING_KEY_VARIABLE} or pass "
            f"{PROVISIONING_KEY_FILE_OPTION} PATH."
        )
    return _checked_key(key, source=PROVISIONING_KEY_VARIABLE)


def _checked_key(key: str, *, source: str) -> str:
    """Check the key where it was read, so that the usage error names that option or variable."""
    try:
        return check_provisioning_key(key)
    except ValueError as error:
        raise UsageError(str(error), param_hint=source) from None


def connect(url: str | None, key_file: Path | None, output: Output) -> HatchwayClient:
    """Build a client from the command's options, or raise a usage error that names the fix."""
    if not url:
        raise UsageError(
            f"No Hatchway URL: pass --url or set {URL_VARIABLE}, such as "
            "'https://portal.example.com'."
        )
    key = read_provisioning_key(key_file)
    try:
        client = HatchwayClient(url, key)
    except ValueError as error:
        raise UsageError(str(error), param_hint="--url") from None
    parts = urlsplit(client.base_url)
    if parts.scheme == "http" and not is_loopback_host(parts.hostname or ""):
        output.note(
            f"Warning: {url} uses http, so the Provisioning Key crosses the network "
            "unencrypted. Use https unless the server is on this machine."
        )
    return client


def exit_code_for(error: HatchwayApiError) -> ExitCode:
    if error.status in _GATEWAY_STATUSES:
        return ExitCode.UNREACHABLE
    return ExitCode.REFUSED


@contextmanager
def provisioning_client(
    url: str | None, key_file: Path | None, output: Output
) -> Iterator[HatchwayClient]:
    """Yield a connected client; turn its errors into messages and the documented exit codes."""
    client = connect(url, key_file, output)
    with client:
        try:
            yield client
        except HatchwayUnreachable as error:
            output.unreachable(error)
            raise typer.Exit(ExitCode.UNREACHABLE) from None
        except HatchwayApiError as error:
            output.refused(error)
            raise typer.Exit(exit_code_for(error)) from None
        except ValueError as error:
            # The client raises ValueError for arguments it cannot send, such as an empty name.
            raise UsageError(str(error)) from None


def report_validation(output: Output, problems: list[ValidationResult], success: str) -> None:
    """Print the outcome of a /Validate call; exit with 1 when Hatchway found problems."""
    raw = [
        {"MemberNames": list(item.member_names), "ErrorMessage": item.error_message}
        for item in problems
    ]
    if not problems:
        output.result(raw, lambda: [Text(success)])
        return
    if output.json_output:
        output.print_json(raw)
        raise typer.Exit(ExitCode.REFUSED)
    output.errors.print(Text("Hatchway would refuse this:"))
    output.errors.print(results_text(problems, hints=output.hints))
    raise typer.Exit(ExitCode.REFUSED)


def confirm_or_stop(
    question: str,
    yes: bool,
    *,
    action: str = "delete",
    unchanged: str = "Nothing was deleted",
) -> None:
    """Ask before a deletion or another change that is hard to undo, unless --yes was given.

    In a terminal, anything but yes is a deliberate no: `unchanged` goes to standard error
    and the command exits with 1. Without a terminal nobody can answer, so the question is
    not shown and a script that forgot --yes stops with a usage error (exit code 2) before
    anything changes. `action` and `unchanged` word the refusal, such as "delete" and
    "Nothing was deleted".
    """
    if yes:
        return
    if not secret_input.stdin_is_terminal():
        raise UsageError(
            f"{unchanged}; pass --yes to {action} without the question. --yes is required "
            "when no terminal can answer it."
        )

    # Read the answer here instead of typer.confirm, whose prompt writes a space to standard
    # output, where a script reading --json output would find it.
    typer.echo(f"{question} [y/N]: ", nl=False, err=True)
    answer = sys.stdin.readline()
    if not answer:
        typer.echo(err=True)
    if answer.strip().lower() in ("y", "yes"):
        return
    typer.echo(f"{unchanged}.", err=True)
    raise typer.Exit(ExitCode.DECLINED)
