"""`hatchway user ...`: an environment's users, through the Provisioning API."""

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
from hatchway.client import User

user_app = typer.Typer(
    help="Users of an environment: list, show, create, validate, update, delete.",
    no_args_is_help=True,
)

UserArgument = Annotated[
    str, typer.Argument(help="The user's id, or the user's e-mail address.", show_default=False)
]
EmailOption = Annotated[str | None, typer.Option("--email", help="The user's e-mail address.")]
FirstNameOption = Annotated[str | None, typer.Option("--first-name", help="First name.")]
LastNameOption = Annotated[str | None, typer.Option("--last-name", help="Last name.")]
PasswordPromptOption = Annotated[
    bool, typer.Option("--password-prompt", help="Ask for the password in a hidden prompt.")
]


USER_HINTS: OptionHints = {
    "EmailAddress": "--email ADDRESS",
    "FirstName": "--first-name",
    "LastName": "--last-name",
    "Password": "--password-file PATH, --password-stdin or --password-prompt",
}


def user_reference(value: str) -> int | str:
    """Read a USER argument: digits are an id, anything else an e-mail address."""
    text = value.strip()
    return int(text) if text.isdigit() else text


def users_table(users: Iterable[User]) -> RenderableType:
    return table(
        ["Id", "E-mail address", "Name", "Administrator", "Active", "Password", "Last sign-in"],
        (
            (
                user.id,
                user.email_address,
                f"{user.first_name} {user.last_name}".strip(),
                user.is_administrator,
                user.is_active,
                user.has_password,
                user.last_sign_in_on,
            )
            for user in users
        ),
    )


def user_fields(user: User) -> RenderableType:
    return fields_table(
        [
            ("Id", user.id),
            ("E-mail address", user.email_address),
            ("First name", user.first_name),
            ("Last name", user.last_name),
            ("Administrator", user.is_administrator),
            ("Active", user.is_active),
            ("Password set", user.has_password),
            ("Bound to identity provider", user.bound_to_identity_provider),
            ("Created", user.created_on),
            ("Last sign-in", user.last_sign_in_on),
        ]
    )


@user_app.command("list")
def list_users(
    environment: EnvironmentArgument,
    url: UrlOption = None,
    provisioning_key_file: ProvisioningKeyFileOption = None,
    json_output: JsonOption = False,
) -> None:
    """List the users of an environment."""
    output = Output(json_output=json_output)
    with provisioning_client(url, provisioning_key_file, output) as client:
        users = client.list_users(environment)
    output.result([user.raw for user in users], lambda: [users_table(users)])


@user_app.command("show")
def show_user(
    environment: EnvironmentArgument,
    user_id: Annotated[int, typer.Argument(help="The user's id.")],
    url: UrlOption = None,
    provisioning_key_file: ProvisioningKeyFileOption = None,
    json_output: JsonOption = False,
) -> None:
    """Show one user."""
    output = Output(json_output=json_output)
    with provisioning_client(url, provisioning_key_file, output) as client:
        user = client.get_user(environment, user_id)
    output.result(user.raw, lambda: [user_fields(user)])


@user_app.command("create")
@reflow_help
def create_user(
    environment: EnvironmentArgument,
    email: Annotated[str, typer.Option("--email", help="The user's e-mail address.")],
    first_name: FirstNameOption = None,
    last_name: LastNameOption = None,
    administrator: Annotated[
        bool, typer.Option("--administrator", help="Make the user an administrator.")
    ] = False,
    password_file: PasswordFileOption = None,
    password_stdin: PasswordStdinOption = False,
    password_prompt: PasswordPromptOption = False,
    url: UrlOption = None,
    provisioning_key_file: ProvisioningKeyFileOption = None,
    json_output: JsonOption = False,
) -> None:
    """Create a user; without a password option the user signs in through SSO only.

    Prints the new user's id.
    """
    output = Output(json_output=json_output, hints=USER_HINTS)
    with provisioning_client(url, provisioning_key_file, output) as client:
        password = read_secret(
            password_source(password_file, password_stdin), prompt=password_prompt, confirm=True
        )
        user_id = client.create_user(
            environment,
            email_address=email,
            first_name=first_name,
            last_name=last_name,
            password=password,
            is_administrator=administrator,
        )
    output.result(user_id, lambda: [Text(f"Created user {user_id} ({email}).")])


@user_app.command("validate")
@reflow_help
def validate_user(
    environment: EnvironmentArgument,
    email: EmailOption = None,
    first_name: FirstNameOption = None,
    last_name: LastNameOption = None,
    administrator: Annotated[
        bool, typer.Option("--administrator", help="Check the user as an administrator.")
    ] = False,
    password_file: PasswordFileOption = None,
    password_stdin: PasswordStdinOption = False,
    password_prompt: PasswordPromptOption = False,
    url: UrlOption = None,
    provisioning_key_file: ProvisioningKeyFileOption = None,
    json_output: JsonOption = False,
) -> None:
    """Check a user's create options without creating the user.

    Exits with 1 and lists the problems when Hatchway would refuse them.
    """
    output = Output(json_output=json_output, hints=USER_HINTS)
    with provisioning_client(url, provisioning_key_file, output) as client:
        password = read_secret(
            password_source(password_file, password_stdin), prompt=password_prompt
        )
        problems = client.validate_user(
            environment,
            email_address=email,
            first_name=first_name,
            last_name=last_name,
            password=password,
            is_administrator=administrator,
        )
    report_validation(output, problems, f"Hatchway would create user '{email}'.")


@user_app.command("update")
def update_user(
    environment: EnvironmentArgument,
    user: UserArgument,
    email: Annotated[
        str | None,
        typer.Option("--email", help="New e-mail address; name the user by id to change it."),
    ] = None,
    first_name: FirstNameOption = None,
    last_name: LastNameOption = None,
    administrator: Annotated[
        bool | None,
        typer.Option(
            "--administrator/--no-administrator", help="Grant or take away administration."
        ),
    ] = None,
    active: Annotated[
        bool | None,
        typer.Option("--active/--inactive", help="Allow or refuse the user's sign-in."),
    ] = None,
    password_file: PasswordFileOption = None,
    password_stdin: PasswordStdinOption = False,
    password_prompt: PasswordPromptOption = False,
    url: UrlOption = None,
    provisioning_key_file: ProvisioningKeyFileOption = None,
    json_output: JsonOption = False,
) -> None:
    """Change the given fields of a user; the others keep their values."""
    output = Output(json_output=json_output, hints=USER_HINTS)
    with provisioning_client(url, provisioning_key_file, output) as client:
        password = read_secret(
            password_source(password_file, password_stdin), prompt=password_prompt, confirm=True
        )
        updated = client.update_user(
            environment,
            user_reference(user),
            email_address=email,
            first_name=first_name,
            last_name=last_name,
            password=password,
            is_administrator=administrator,
            is_active=active,
        )
    output.result(updated.raw, lambda: [Text("Updated user:"), user_fields(updated)])


@user_app.command("delete")
def delete_user(
    environment: EnvironmentArgument,
    user: UserArgument,
    yes: YesOption = False,
    url: UrlOption = None,
    provisioning_key_file: ProvisioningKeyFileOption = None,
    json_output: JsonOption = False,
) -> None:
    """Delete a user."""
    output = Output(json_output=json_output)
    confirm_or_stop(f"Delete user '{user}' of environment '{environment}'?", yes)
    with provisioning_client(url, provisioning_key_file, output) as client:
        deleted = client.delete_user(environment, user_reference(user))
    output.result(
        deleted.raw, lambda: [Text(f"Deleted user {deleted.id} ({deleted.email_address}).")]
    )
