"""The SSO page's form: its fields, the write-only Key and the drafts that keep a typed Key.

A page never shows the Key, so a form that is shown again (after Verify, a refused Save or the
confirmation step) would lose a Key the administrator typed. Such a Key is kept in a draft on
the server (`hatchway.sso.staging`), and the form carries only the draft's id. A Key that
passed the administrator's test sign-in is kept with the test run, so the page loaded again
offers it for Save by the run's id. The Key that an action uses is, in this order: the Key
typed into the field, the draft's Key, the tested Key, the stored Key.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from starlette.datastructures import FormData
from starlette.requests import Request

from hatchway.context import get_context
from hatchway.environments import service as environments
from hatchway.errors import ValidationFailed, ValidationResult
from hatchway.security.sealing import SealingError
from hatchway.sso import staging
from hatchway.sso.service import SsoMode
from hatchway.sso.validation import OAuth2Input
from hatchway.web import csrf
from hatchway.web.admin.access import AdminVisit

DRAFT_MINUTES = int(staging.STAGED_LIFETIME.total_seconds() // 60)
EXPIRED_FORM = "The form has expired; reload the page and try again."


@dataclass(frozen=True)
class SsoForm:
    """The submitted fields of the single sign-on form, as text."""

    mode: str
    authority: str
    client_id: str
    key: str = field(repr=False)
    key_expires_on: str
    skip_verification: bool
    draft_id: int | None
    based_on_version: str
    confirm_untested: bool
    csrf_token: str
    confirm_failed_checks: bool = False
    tested_run: int | None = None

    @classmethod
    def read(cls, form: FormData) -> SsoForm:
        def text(name: str) -> str:
            value = form.get(name, "")
            return value if isinstance(value, str) else ""

        draft = text("draft").strip()
        tested_run = text("tested_run").strip()
        return cls(
            mode=SsoMode.NONE.value if text("mode") == SsoMode.NONE.value else "OAuth2",
            authority=text("authority"),
            client_id=text("client_id"),
            key=text("key"),
            key_expires_on=text("key_expires_on"),
            skip_verification=text("skip_verification") == "1",
            draft_id=int(draft) if draft.isdigit() and len(draft) < 12 else None,
            based_on_version=text("based_on_version").strip(),
            confirm_untested=text("confirm_untested") == "1",
            csrf_token=text(csrf.CSRF_FIELD),
            confirm_failed_checks=text("confirm_failed_checks") == "1",
            tested_run=int(tested_run) if tested_run.isdigit() and len(tested_run) < 12 else None,
        )

    def shown(self) -> dict[str, str]:
        """Return the values to show in the form again; the Key is never among them.

        The form keeps the version it was based on, so that a change someone else saved in
        the meantime is still noticed when this form is saved.
        """
        return {
            "based_on_version": self.based_on_version,
            "mode": self.mode,
            "authority": self.authority,
            "client_id": self.client_id,
            "key_expires_on": self.key_expires_on,
            "skip_verification": "1" if self.skip_verification else "",
        }

    def has_oauth2_values(self) -> bool:
        return bool(self.authority.strip() or self.client_id.strip() or self.key)

    def if_match(self) -> str | None:
        """Return the version the form was based on as an If-Match value, when it sent one."""
        version = self.based_on_version
        return f'"{version}"' if version.isdigit() and len(version) < 10 else None


@dataclass(frozen=True)
class StagedKey:
    """The Key an action uses: typed, from a draft, or None to keep the stored Key."""

    key: str | None = field(repr=False)
    draft_id: int | None = None
    tested_run_id: int | None = None

    @property
    def is_new(self) -> bool:
        return self.key is not None


def parse_expiry(raw: str) -> date | None:
    if not raw.strip():
        return None
    try:
        return date.fromisoformat(raw.strip())
    except ValueError:
        raise ValidationFailed.single(
            "KeyExpiresOn",
            f"KeyExpiresOn {raw.strip()!r} is not a date; use the form YYYY-MM-DD, such as "
            "'2026-12-31', or leave it empty.",
        ) from None


def _draft_gone() -> ValidationFailed:
    return ValidationFailed.single(
        "Key",
        f"The Key you entered earlier is no longer kept with this form, which keeps it for "
        f"{DRAFT_MINUTES} minutes; enter it again, or leave the field empty to keep the stored "
        "Key.",
    )


def _tested_key_gone() -> ValidationFailed:
    return ValidationFailed.single(
        "Key",
        f"The Key that passed your test sign-in is no longer kept, because it is kept for "
        f"{DRAFT_MINUTES} minutes and until settings are saved; enter it again, or leave the "
        "field empty to keep the stored Key.",
    )


def staged_key(request: Request, visit: AdminVisit, form: SsoForm) -> StagedKey:
    """Return the Key to use: the typed one, the draft's, the tested one, or None for the stored.

    The tested Key is the one that passed the administrator's own test sign-in; the form
    carries only the test run's id.
    """
    if form.key:
        return StagedKey(form.key)
    if form.draft_id is None and form.tested_run is None:
        return StagedKey(None)
    context = get_context(request)
    with context.database.read() as session:
        environment = environments.get_environment(session, visit.environment.name)
        if form.draft_id is not None:
            draft = staging.find_draft(
                session, environment, form.draft_id, visit.user_id, context.now()
            )
            sealed = draft.key_sealed if draft is not None else None
            missing = _draft_gone()
        else:
            run = staging.find_tested_key(
                session, environment, visit.user_id, context.now(), form.tested_run
            )
            sealed = run.key_sealed if run is not None else None
            missing = _tested_key_gone()
    if sealed is None:
        raise missing
    try:
        key = context.keyring.unseal(sealed)
    except SealingError:
        raise missing from None
    if form.draft_id is not None:
        return StagedKey(key, draft_id=form.draft_id)
    return StagedKey(key, tested_run_id=form.tested_run)


def oauth2_input(form: SsoForm, key: StagedKey) -> OAuth2Input:
    """Return the change the form requests; an empty Key field keeps the stored Key."""
    return OAuth2Input(
        authority=form.authority,
        client_id=form.client_id,
        key=key.key,
        key_expires_on=parse_expiry(form.key_expires_on),
    )


def keep_key(
    request: Request,
    visit: AdminVisit,
    key: StagedKey,
    errors: list[ValidationResult] | None = None,
) -> int | None:
    """Keep a new Key for the form shown next and return the draft id; None when there is none.

    A Key that failed the static checks is not kept, because it has to be entered again.
    """
    if key.key is None or any("Key" in error.member_names for error in errors or []):
        return None
    if key.draft_id is not None:
        return key.draft_id
    context = get_context(request)
    with context.database.write() as session:
        environment = environments.get_environment(session, visit.environment.name)
        draft = staging.create_draft(
            session,
            environment,
            key.key,
            keyring=context.keyring,
            creator=staging.Creator(visit.user_id, visit.actor(request)),
            now=context.now(),
        )
        return draft.id
