"""Secret input (a client secret's Key, a password) from a file, standard input or a prompt.

A secret is never an option value: other users of the machine can read a process's command
line (`ps`, /proc/<pid>/cmdline), and shells keep it in their history.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import typer

from hatchway.cli.usage import UsageError


@dataclass(frozen=True)
class SecretSource:
    """The file or standard input that one command reads a secret from, as its options say."""

    label: str
    file: Path | None
    stdin: bool
    file_option: str
    stdin_option: str

    def given(self) -> bool:
        return self.file is not None or self.stdin


def _secret_file_option(flag: str, what: str) -> object:
    return typer.Option(
        flag,
        exists=True,
        dir_okay=False,
        readable=True,
        help=f"Read {what} from this file (one line; a final line break is ignored).",
    )


def _secret_stdin_option(flag: str, what: str) -> object:
    return typer.Option(flag, help=f"Read {what} from the first line of standard input.")


KeyFileOption = Annotated[Path | None, _secret_file_option("--key-file", "the Key")]
KeyStdinOption = Annotated[bool, _secret_stdin_option("--key-stdin", "the Key")]
PasswordFileOption = Annotated[Path | None, _secret_file_option("--password-file", "the password")]
PasswordStdinOption = Annotated[bool, _secret_stdin_option("--password-stdin", "the password")]


def key_source(file: Path | None, stdin: bool) -> SecretSource:
    return SecretSource("Key", file, stdin, "--key-file", "--key-stdin")


def password_source(file: Path | None, stdin: bool) -> SecretSource:
    return SecretSource("Password", file, stdin, "--password-file", "--password-stdin")


def read_secret(
    source: SecretSource, *, prompt: bool, confirm: bool = False, implicit_prompt: bool = False
) -> str | None:
    """Return the secret from the source's file or standard input, else from a hidden prompt.

    Returns None when the options name no source and `prompt` is False. Raises a usage error
    for two sources at once, an unreadable or empty file, empty input, or a prompt that gets
    no answer (standard input closed). A prompt that no option requested (`implicit_prompt`)
    is shown only in a terminal; elsewhere, as in a script, it is a usage error at once.
    """
    if source.file is not None and source.stdin:
        raise UsageError(f"Pass either {source.file_option} or {source.stdin_option}, not both.")
    if source.file is not None:
        return _from_file(source, source.file)
    if source.stdin:
        return _from_stdin(source)
    if not prompt:
        return None
    if implicit_prompt and not stdin_is_terminal():
        # Without a terminal, getpass would warn that it cannot hide the input, then read it.
        raise UsageError(
            f"No {source.label} given, and standard input is not a terminal to ask for it in: "
            f"pass {source.file_option} PATH, or {source.stdin_option} and pipe it in."
        )
    return _from_prompt(source, confirm=confirm)


def stdin_is_terminal() -> bool:
    """Tell whether standard input is a terminal, where a hidden prompt can be answered."""
    return sys.stdin.isatty()


def _from_file(source: SecretSource, path: Path) -> str:
    try:
        value = path.read_text(encoding="utf-8").rstrip("\r\n")
    except (OSError, UnicodeDecodeError) as error:
        raise UsageError(f"cannot read '{path}': {error}.", param_hint=source.file_option) from None
    if not value:
        raise UsageError(
            f"'{path}' is empty; put the {source.label} in it.", param_hint=source.file_option
        )
    return value


def _from_stdin(source: SecretSource) -> str:
    value = sys.stdin.readline().rstrip("\r\n")
    if not value:
        raise UsageError(
            f"{source.stdin_option} was given, but standard input has no {source.label}; "
            f"pipe it in, such as: cat secret.txt | hatchway ... {source.stdin_option}"
        )
    return value


def _from_prompt(source: SecretSource, *, confirm: bool) -> str:
    try:
        value: str = typer.prompt(
            source.label, hide_input=True, confirmation_prompt=confirm, err=True
        )
    except typer.Abort:
        raise UsageError(
            f"No {source.label} given: pass {source.file_option} PATH or "
            f"{source.stdin_option}, or answer the prompt in a terminal."
        ) from None
    return value
