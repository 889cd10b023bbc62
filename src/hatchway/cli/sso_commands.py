"""`hatchway sso ...`: an environment's single sign-on settings, through the Provisioning API."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

import typer
from rich.text import Text

from hatchway.cli.client_options import (
    EnvironmentArgument,
    ExitCode,
    JsonOption,
    ProvisioningKeyFileOption,
    UrlOption,
    YesOption,
    confirm_or_stop,
    provisioning_client,
    reflow_help,
)
from hatchway.cli.output import OptionHints, Output
from hatchway.cli.secret_input import KeyFileOption, KeyStdinOption, key_source, read_secret
from hatchway.cli.sso_output import (
    change_renderables,
    history_table,
    restore_renderables,
    settings_fields,
    verification_renderables,
)
from hatchway.cli.usage import UsageError
from hatchway.client import Verification

sso_app = typer.Typer(
    help="Single sign-on settings of an environment: show, set, verify, history, restore, disable.",
    no_args_is_help=True,
)

AuthorityOption = Annotated[
    str | None,
    typer.Option(
        "--authority",
        help="The identity provider's URL, such as "
        "https://login.microsoftonline.com/contoso.onmicrosoft.com/v2.0. Left out: keep the "
        "stored one.",
    ),
]
ClientIdOption = Annotated[
    str | None,
    typer.Option(
        "--client-id",
        help="The Application (client) ID of the app registration. Left out: keep the stored one.",
    ),
]
def _parse_date(value: str) -> datetime:
    try:
        return datetime.strptime(value.strip(), "%Y-%m-%d")
    except ValueError:
        raise typer.BadParameter(
            f"{value!r} is not a date in the form YYYY-MM-DD, such as 2030-03-31."
        ) from None


KeyExpiresOnOption = Annotated[
    datetime | None,
    typer.Option(
        "--key-expires-on",
        parser=_parse_date,
        metavar="YYYY-MM-DD",
        help="The date the client secret expires (YYYY-MM-DD); Hatchway warns before it.",
    ),
]
IfMatchOption = Annotated[
    str | None,
    typer.Option(
        "--if-match",
        help="Change only if the settings are still at this version (the ETag or version "
        "number that 'sso show' prints); otherwise Hatchway refuses with 412.",
    ),
]


def _settings_hints(key_options: str) -> OptionHints:
    return {
        "Authority": "--authority URL",
        "ClientId": "--client-id ID",
        "Key": key_options,
        "KeyExpiresOn": "--key-expires-on YYYY-MM-DD",
        "": f"--authority URL, --client-id ID and {key_options}",
    }


SET_HINTS = _settings_hints("--key-file PATH or --key-stdin")
VERIFY_HINTS = _settings_hints("--key-file PATH, --key-stdin or --key-prompt")


def _expiry(value: datetime | None) -> date | None:
    return value.date() if value is not None else None


def report_verification(output: Output, verification: Verification) -> None:
    """Print a verification; exit with 1 when a check failed."""
    output.result(verification.raw, lambda: verification_renderables(verification))
    if verification.passed:
        return
    if not output.json_output:
        failed = [check.name for check in verification.failed_checks()]
        output.note(f"Verification failed: {', '.join(failed) or 'see the checks above'}.")
    raise typer.Exit(ExitCode.REFUSED)


@sso_app.command("show")
def show_settings(
    environment: EnvironmentArgument,
    url: UrlOption = None,
    provisioning_key_file: ProvisioningKeyFileOption = None,
    json_output: JsonOption = False,
) -> None:
    """Show the SSO settings; the Key only shows as set or not set."""
    output = Output(json_output=json_output)
    with provisioning_client(url, provisioning_key_file, output) as client:
        settings = client.get_sso_settings(environment)
    output.result(settings.raw, lambda: [settings_fields(settings)])


@sso_app.command("set")
@reflow_help
def set_settings(
    environment: EnvironmentArgument,
    authority: AuthorityOption = None,
    client_id: ClientIdOption = None,
    key_file: KeyFileOption = None,
    key_stdin: KeyStdinOption = False,
    keep_key: Annotated[
        bool, typer.Option("--keep-key", help="Keep the stored Key; do not ask for one.")
    ] = False,
    key_expires_on: KeyExpiresOnOption = None,
    dry_run: Annotated[
        bool,
        typer.Option("--dry-run", help="Only run the checks (Verify); save nothing."),
    ] = False,
    no_verify: Annotated[
        bool,
        typer.Option(
            "--no-verify",
            help="Save even when a check fails; the failed checks are shown as warnings.",
        ),
    ] = False,
    if_match: IfMatchOption = None,
    url: UrlOption = None,
    provisioning_key_file: ProvisioningKeyFileOption = None,
    json_output: JsonOption = False,
) -> None:
    """Set Authority, Client ID and Key, and switch the environment to OpenID Connect sign-in.

    Hatchway checks the values against the identity provider before it saves them, and this
    command shows each check with pass or fail. The Key (the client secret's Value) comes from
    --key-file, --key-stdin or a hidden prompt, never from the command line.
    """
    output = Output(json_output=json_output, hints=SET_HINTS)
    source = key_source(key_file, key_stdin)
    if dry_run and (no_verify or if_match is not None):
        raise UsageError("--dry-run saves nothing; leave out --no-verify and --if-match.")
    if keep_key and source.given():
        raise UsageError("--keep-key keeps the stored Key; leave out --key-file/--key-stdin.")
    with provisioning_client(url, provisioning_key_file, output) as client:
        key = None if keep_key else read_secret(source, prompt=True, implicit_prompt=True)

        if dry_run:
            verification = client.verify_oauth2(
                environment,
                authority=authority,
                client_id=client_id,
                key=key,
                key_expires_on=_expiry(key_expires_on),
            )
        else:
            change = client.set_oauth2(
                environment,
                authority=authority,
                client_id=client_id,
                key=key,
                key_expires_on=_expiry(key_expires_on),
                verify=not no_verify,
                if_match=if_match,
            )
    if dry_run:
        report_verification(output, verification)
        return
    output.result(change.raw, lambda: change_renderables(change))


@sso_app.command("verify")
@reflow_help
def verify_settings(
    environment: EnvironmentArgument,
    authority: AuthorityOption = None,
    client_id: ClientIdOption = None,
    key_file: KeyFileOption = None,
    key_stdin: KeyStdinOption = False,
    key_prompt: Annotated[
        bool, typer.Option("--key-prompt", help="Ask for the Key in a hidden prompt.")
    ] = False,
    url: UrlOption = None,
    provisioning_key_file: ProvisioningKeyFileOption = None,
    json_output: JsonOption = False,
) -> None:
    """Check settings against the identity provider and save nothing.

    Without options the stored settings are checked; values given replace the stored ones for
    the check. Exits with 1 when a check fails.
    """
    output = Output(json_output=json_output, hints=VERIFY_HINTS)
    with provisioning_client(url, provisioning_key_file, output) as client:
        key = read_secret(key_source(key_file, key_stdin), prompt=key_prompt)
        verification = client.verify_oauth2(
            environment, authority=authority, client_id=client_id, key=key
        )
    report_verification(output, verification)


@sso_app.command("history")
def show_history(
    environment: EnvironmentArgument,
    url: UrlOption = None,
    provisioning_key_file: ProvisioningKeyFileOption = None,
    json_output: JsonOption = False,
) -> None:
    """List the versions of the SSO settings, newest first; the Key shows as a fingerprint."""
    output = Output(json_output=json_output)
    with provisioning_client(url, provisioning_key_file, output) as client:
        versions = client.sso_history(environment)
    output.result([version.raw for version in versions], lambda: [history_table(versions)])


@sso_app.command("restore")
@reflow_help
def restore_version(
    environment: EnvironmentArgument,
    version: Annotated[int, typer.Argument(help="The version to restore, from 'sso history'.")],
    if_match: IfMatchOption = None,
    yes: YesOption = False,
    url: UrlOption = None,
    provisioning_key_file: ProvisioningKeyFileOption = None,
    json_output: JsonOption = False,
) -> None:
    """Make an earlier version of the SSO settings current again, its Key included.

    Hatchway checks the version's values against the identity provider first, and this command
    shows each check. When a check fails and no active administrator has a password, Hatchway
    rejects the restore and nothing changes. Asks for confirmation first; pass --yes when
    standard input is not a terminal.
    """
    output = Output(json_output=json_output)
    confirm_or_stop(
        f"Make version {version} of the single sign-on settings of '{environment}' current, "
        "its Key included?",
        yes,
        action="restore it",
        unchanged="Nothing was changed",
    )
    with provisioning_client(url, provisioning_key_file, output) as client:
        change = client.restore_sso_version(environment, version, if_match=if_match)
    output.result(change.raw, lambda: restore_renderables(version, change))


@sso_app.command("disable")
@reflow_help
def disable_sso(
    environment: EnvironmentArgument,
    if_match: IfMatchOption = None,
    yes: YesOption = False,
    url: UrlOption = None,
    provisioning_key_file: ProvisioningKeyFileOption = None,
    json_output: JsonOption = False,
) -> None:
    """Switch the environment back to the local sign-in form (mode None).

    The OAuth2 values stay in the history, so 'sso restore' can bring them back. Asks for
    confirmation first; pass --yes when standard input is not a terminal.
    """
    output = Output(json_output=json_output)
    confirm_or_stop(
        f"Switch environment '{environment}' to the local sign-in form (mode None)? Users "
        "without a password cannot sign in until single sign-on is back.",
        yes,
        action="switch single sign-on off",
        unchanged="Nothing was changed",
    )
    with provisioning_client(url, provisioning_key_file, output) as client:
        settings = client.disable_oauth2(environment, if_match=if_match)
    output.result(
        settings.raw,
        lambda: [Text("Single sign-on is off: mode None."), settings_fields(settings)],
    )
