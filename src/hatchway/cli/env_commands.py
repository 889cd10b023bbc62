"""`hatchway env ...`: environments, through the Provisioning API."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Annotated

import typer
from rich.console import RenderableType
from rich.text import Text

from hatchway.cli.client_options import (
    EnvironmentArgument,
    JsonOption,
    ProvisioningKeyFileOption,
    UrlOption,
    YesOption,
    confirm_or_stop,
    provisioning_client,
    reflow_help,
    report_validation,
)
from hatchway.cli.output import OptionHints, Output, fields_table, table
from hatchway.cli.secret_input import (
    PasswordFileOption,
    PasswordStdinOption,
    password_source,
    read_secret,
)
from hatchway.cli.usage import UsageError
from hatchway.client import Environment

env_app = typer.Typer(
    help="Environments: list, show, create, validate, activate, deactivate, delete.",
    no_args_is_help=True,
)

EmailOption = Annotated[
    str | None, typer.Option("--email", help="The administrator's e-mail address.")
]
FirstNameOption = Annotated[
    str | None, typer.Option("--first-name", help="The administrator's first name.")
]
LastNameOption = Annotated[
    str | None, typer.Option("--last-name", help="The administrator's last name.")
]
MailPasswordOption = Annotated[
    bool,
    typer.Option(
        "--mail-password",
        help="Have Hatchway e-mail the administrator a temporary password instead of "
        "setting one (API version 2.0).",
    ),
]


def _administrator_hints(password_options: str) -> OptionHints:
    return {
        "EmailAddress": "--email ADDRESS",
        "FirstName": "--first-name",
        "LastName": "--last-name",
        "Password": f"{password_options}, or --mail-password to have Hatchway e-mail a "
        "temporary password",
    }


CREATE_HINTS = _administrator_hints("--password-file PATH or --password-stdin")
VALIDATE_HINTS = _administrator_hints("--password-file PATH, --password-stdin or --password-prompt")


def environment_rows(environments: Iterable[Environment]) -> RenderableType:
    return table(
        ["Environment", "Active", "Created"],
        ((item.name, item.is_active, item.created_on) for item in environments),
    )


def environment_fields(environment: Environment) -> RenderableType:
    return fields_table(
        [
            ("Environment", environment.name),
            ("Active", environment.is_active),
            ("Created", environment.created_on),
        ]
    )


@env_app.command("list")
def list_environments(
    url: UrlOption = None,
    provisioning_key_file: ProvisioningKeyFileOption = None,
    json_output: JsonOption = False,
) -> None:
    """List the instance's environments."""
    output = Output(json_output=json_output)
    with provisioning_client(url, provisioning_key_file, output) as client:
        environments = client.list_environments()
    output.result([item.raw for item in environments], lambda: [environment_rows(environments)])


@env_app.command("show")
def show_environment(
    name: EnvironmentArgument,
    url: UrlOption = None,
    provisioning_key_file: ProvisioningKeyFileOption = None,
    json_output: JsonOption = False,
) -> None:
    """Show one environment."""
    output = Output(json_output=json_output)
    with provisioning_client(url, provisioning_key_file, output) as client:
        environment = client.get_environment(name)
    output.result(environment.raw, lambda: [environment_fields(environment)])


@env_app.command("create")
@reflow_help
def create_environment(
    name: EnvironmentArgument,
    email: EmailOption = None,
    first_name: FirstNameOption = None,
    last_name: LastNameOption = None,
    password_file: PasswordFileOption = None,
    password_stdin: PasswordStdinOption = False,
    mail_password: MailPasswordOption = False,
    url: UrlOption = None,
    provisioning_key_file: ProvisioningKeyFileOption = None,
    json_output: JsonOption = False,
) -> None:
    """Create an environment, with its administrator when --email is given.

    The administrator's password comes from --password-file, --password-stdin or a hidden
    prompt; with --mail-password Hatchway e-mails a temporary one instead. Without --email the
    environment is created empty. Prints the environment's name as Hatchway stored it.
    """
    output = Output(json_output=json_output, hints=CREATE_HINTS)
    source = password_source(password_file, password_stdin)
    administrator_options = (
        first_name is not None or last_name is not None or source.given() or mail_password
    )
    if email is None and administrator_options:
        raise UsageError(
            "Administrator options need --email: pass the administrator's e-mail address, "
            "or leave out every administrator option to create an empty environment."
        )
    if mail_password and source.given():
        raise UsageError(
            "--mail-password has Hatchway choose the password; leave out --password-file "
            "and --password-stdin, or leave out --mail-password."
        )

    with provisioning_client(url, provisioning_key_file, output) as client:
        password = None
        if email is not None and not mail_password:
            password = read_secret(source, prompt=True, confirm=True, implicit_prompt=True)

        if email is None:
            created = client.create_empty_environment(name)
        elif mail_password:
            created = client.create_environment_mailing_password(
                name, email_address=email, first_name=first_name, last_name=last_name
            )
        else:
            assert password is not None
            created = client.create_environment(
                name,
                email_address=email,
                first_name=first_name,
                last_name=last_name,
                password=password,
            )
    output.result(created, lambda: [Text(f"Created environment '{created}'.")])


@env_app.command("validate")
@reflow_help
def validate_environment(
    name: EnvironmentArgument,
    email: EmailOption = None,
    first_name: FirstNameOption = None,
    last_name: LastNameOption = None,
    password_file: PasswordFileOption = None,
    password_stdin: PasswordStdinOption = False,
    password_prompt: Annotated[
        bool, typer.Option("--password-prompt", help="Ask for the password in a hidden prompt.")
    ] = False,
    mail_password: MailPasswordOption = False,
    url: UrlOption = None,
    provisioning_key_file: ProvisioningKeyFileOption = None,
    json_output: JsonOption = False,
) -> None:
    """Check an environment's create options without creating anything.

    Exits with 1 and lists the problems when Hatchway would refuse them.
    """
    output = Output(json_output=json_output, hints=VALIDATE_HINTS)
    with provisioning_client(url, provisioning_key_file, output) as client:
        password = read_secret(
            password_source(password_file, password_stdin), prompt=password_prompt
        )
        problems = client.validate_environment(
            name,
            email_address=email,
            first_name=first_name,
            last_name=last_name,
            password=password,
            mailing_password=mail_password,
        )
    report_validation(output, problems, f"Hatchway would create environment '{name}'.")


@env_app.command("activate")
def activate_environment(
    name: EnvironmentArgument,
    url: UrlOption = None,
    provisioning_key_file: ProvisioningKeyFileOption = None,
    json_output: JsonOption = False,
) -> None:
    """Activate an environment: its users can sign in again."""
    output = Output(json_output=json_output)
    with provisioning_client(url, provisioning_key_file, output) as client:
        environment = client.activate_environment(name)
    output.result(environment.raw, lambda: [Text(f"Environment '{environment.name}' is active.")])


@env_app.command("deactivate")
def deactivate_environment(
    name: EnvironmentArgument,
    url: UrlOption = None,
    provisioning_key_file: ProvisioningKeyFileOption = None,
    json_output: JsonOption = False,
) -> None:
    """Deactivate an environment: sign-in is refused and sessions end; data stays."""
    output = Output(json_output=json_output)
    with provisioning_client(url, provisioning_key_file, output) as client:
        environment = client.deactivate_environment(name)
    output.result(
        environment.raw, lambda: [Text(f"Environment '{environment.name}' is deactivated.")]
    )


@env_app.command("delete")
def delete_environment(
    name: EnvironmentArgument,
    yes: YesOption = False,
    url: UrlOption = None,
    provisioning_key_file: ProvisioningKeyFileOption = None,
    json_output: JsonOption = False,
) -> None:
    """Delete an environment with all its users and settings."""
    output = Output(json_output=json_output)
    confirm_or_stop(f"Delete environment '{name}' with all its users and settings?", yes)
    with provisioning_client(url, provisioning_key_file, output) as client:
        environment = client.delete_environment(name)
    output.result(environment.raw, lambda: [Text(f"Deleted environment '{environment.name}'.")])
