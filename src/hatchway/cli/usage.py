"""Usage errors of the client commands: exit code 2 with a sentence that names the fix."""

from __future__ import annotations

import typer


class UsageError(typer.BadParameter):
    """A usage error about a combination of options rather than one option's value.

    Typer 0.29 ships its own copy of click and exports only `BadParameter` of its usage
    errors. `BadParameter` starts every message with "Invalid value:", so this subclass
    prints the message as it is. Pass `param_hint` to name an option as `BadParameter` does.
    """

    def format_message(self) -> str:
        if self.param_hint is not None:
            return super().format_message()
        return self.message
