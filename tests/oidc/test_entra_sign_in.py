"""Sign-in with ID tokens shaped like Entra ID's, from a fake Entra ID on loopback."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from starlette.testclient import TestClient

from hatchway.config import Settings
from hatchway.context import AppContext
from hatchway.db.models import User
from tests.support.entra import (
    CLIENT_ID,
    CLIENT_SECRET,
    TENANT_DOMAIN,
    TENANT_ID,
    FakeEntra,
    assert_signed_in,
    entra_claims,
    sign_in,
)
from tests.support.hatchway import test_settings as make_settings
from tests.support.provisioning import ADMIN_EMAIL, create_environment

REDIRECT_URI = "http://127.0.0.1/contoso/OAuth2/HandleAuthorityResponse"
OTHER_TENANT = "55555555-5555-5555-5555-555555555555"


def configure(api: TestClient, authority: str, **extra: Any) -> None:
    body = {"Authority": authority, "ClientId": CLIENT_ID, "Key": CLIENT_SECRET, **extra}
    response = api.put("/contoso/SingleSignOnSettings/OAuth2", json=body)
    assert response.status_code == 200, response.text


@pytest.fixture
def environment(api: TestClient, fake_entra: FakeEntra) -> str:
    fake_entra.register_app(redirect_uris=(REDIRECT_URI,))
    fake_entra.add_tenant(OTHER_TENANT)
    name = create_environment(api)
    configure(api, f"https://login.microsoftonline.com/{TENANT_DOMAIN}/v2.0")
    return name


def users(context: AppContext) -> list[User]:
    with context.database.read() as session:
        return list(session.scalars(select(User).order_by(User.id)))


# Issuers


def test_domain_authority_accepts_guid_issuer(
    client: TestClient, environment: str, fake_entra: FakeEntra
) -> None:
    response = sign_in(
        client, fake_entra, iss=f"https://login.microsoftonline.com/{TENANT_ID}/v2.0"
    )

    assert_signed_in(response)


def test_v1_token_refused_naming_both_issuers(
    client: TestClient, environment: str, fake_entra: FakeEntra
) -> None:
    v1_issuer = f"https://sts.windows.net/{TENANT_ID}/"

    response = sign_in(client, fake_entra, iss=v1_issuer, ver="1.0")

    assert response.status_code == 400
    page = response.text
    assert f"v1.0 token from issuer &#39;{v1_issuer}&#39;" in page
    assert f"&#39;https://login.microsoftonline.com/{TENANT_ID}/v2.0&#39;" in page
    assert "Use the v2.0 Authority" in page


def test_other_issuer_refused(client: TestClient, environment: str, fake_entra: FakeEntra) -> None:
    response = sign_in(
        client, fake_entra, iss=f"https://login.microsoftonline.com/{OTHER_TENANT}/v2.0"
    )

    assert response.status_code == 400
    assert "but the provider&#39;s discovery document names" in response.text


class TestMultiTenant:
    @pytest.fixture
    def organizations(self, api: TestClient, environment: str) -> None:
        configure(
            api,
            "https://login.microsoftonline.com/organizations/v2.0",
            AllowedTenants=[TENANT_ID],
        )

    def test_allowed_tenant_accepted(
        self, client: TestClient, organizations: None, fake_entra: FakeEntra
    ) -> None:
        assert_signed_in(sign_in(client, fake_entra))

    def test_other_tenant_refused(
        self, client: TestClient, organizations: None, fake_entra: FakeEntra
    ) -> None:
        response = sign_in(
            client,
            fake_entra,
            tid=OTHER_TENANT,
            iss=f"https://login.microsoftonline.com/{OTHER_TENANT}/v2.0",
        )

        assert response.status_code == 400
        assert f"tenant &#39;{OTHER_TENANT}&#39;, which is not among" in response.text

    def test_any_tenant_without_list(
        self, api: TestClient, client: TestClient, organizations: None, fake_entra: FakeEntra
    ) -> None:
        configure(api, "https://login.microsoftonline.com/organizations/v2.0", AllowedTenants=[])

        response = sign_in(
            client,
            fake_entra,
            tid=OTHER_TENANT,
            iss=f"https://login.microsoftonline.com/{OTHER_TENANT}/v2.0",
        )

        assert_signed_in(response)

    def test_token_without_tid_refused(
        self, client: TestClient, organizations: None, fake_entra: FakeEntra
    ) -> None:
        response = sign_in(client, fake_entra, tid=None)

        assert response.status_code == 400
        assert "has no &#39;tid&#39; claim" in response.text

    def test_tid_must_match_issuer(
        self, client: TestClient, organizations: None, fake_entra: FakeEntra
    ) -> None:
        # The issuer names another tenant than the signed 'tid' claim.
        response = sign_in(
            client, fake_entra, iss=f"https://login.microsoftonline.com/{OTHER_TENANT}/v2.0"
        )

        assert response.status_code == 400


# Times


def test_iat_four_seconds_ahead_accepted(
    client: TestClient, environment: str, fake_entra: FakeEntra
) -> None:
    response = sign_in(client, fake_entra, iat=int(time.time()) + 4)

    assert_signed_in(response)


def test_nbf_ahead_within_leeway_accepted(
    client: TestClient, environment: str, fake_entra: FakeEntra
) -> None:
    response = sign_in(client, fake_entra, nbf=int(time.time()) + 100)

    assert_signed_in(response)


def test_iat_beyond_leeway_refused(
    client: TestClient, environment: str, fake_entra: FakeEntra
) -> None:
    response = sign_in(client, fake_entra, iat=int(time.time()) + 300)

    assert response.status_code == 400
    assert "more than the 120 seconds of clock skew allowed" in response.text


class TestWithoutLeeway:
    @pytest.fixture
    def settings(self, tmp_path: Path, database_url: str) -> Settings:
        return make_settings(tmp_path / "data", database_url, clock_leeway_seconds=0)

    def test_iat_ahead_refused(
        self, client: TestClient, environment: str, fake_entra: FakeEntra
    ) -> None:
        response = sign_in(client, fake_entra, iat=int(time.time()) + 4)

        assert response.status_code == 400
        assert "more than the 0 seconds of clock skew allowed" in response.text


# Keys


def test_jwks_without_alg_accepted(
    client: TestClient, environment: str, fake_entra: FakeEntra
) -> None:
    assert [key.public_jwk().get("alg") for key in fake_entra.published_keys] == [None]

    assert_signed_in(sign_in(client, fake_entra))


def test_rotated_key_accepted_after_one_refetch(
    client: TestClient, environment: str, fake_entra: FakeEntra
) -> None:
    assert_signed_in(sign_in(client, fake_entra))
    fetched = fake_entra.count("/discovery/v2.0/keys")
    fake_entra.rotate_keys()

    response = sign_in(client, fake_entra)

    assert_signed_in(response)
    assert fake_entra.count("/discovery/v2.0/keys") == fetched + 1


def test_unknown_kid_refetch_rate_limited(
    client: TestClient, environment: str, fake_entra: FakeEntra
) -> None:
    assert_signed_in(sign_in(client, fake_entra))
    fake_entra.rotate_keys()
    assert_signed_in(sign_in(client, fake_entra))
    fetched = fake_entra.count("/discovery/v2.0/keys")
    fake_entra.rotate_keys()

    response = sign_in(client, fake_entra)

    assert response.status_code == 400
    assert "which the provider&#39;s JWKS" in response.text
    assert fake_entra.count("/discovery/v2.0/keys") == fetched


def test_token_without_kid_uses_single_key(
    client: TestClient, environment: str, fake_entra: FakeEntra
) -> None:
    response = sign_in(client, fake_entra, header={"kid": None})

    assert_signed_in(response)


# Who signed in


def test_preferred_username_without_email_signs_in(
    client: TestClient, environment: str, fake_entra: FakeEntra, context: AppContext
) -> None:
    response = sign_in(client, fake_entra, preferred_username=ADMIN_EMAIL, name="Ada Admin")

    assert_signed_in(response)
    assert [user.email for user in users(context)] == [ADMIN_EMAIL]


def test_upn_used_when_preferred_username_is_no_address(
    client: TestClient, environment: str, fake_entra: FakeEntra, context: AppContext
) -> None:
    response = sign_in(client, fake_entra, preferred_username="ada", upn="ada.upn@contoso.test")

    assert_signed_in(response)
    assert users(context)[-1].email == "ada.upn@contoso.test"


def test_missing_email_names_claim_and_fix(
    client: TestClient, environment: str, fake_entra: FakeEntra
) -> None:
    response = sign_in(client, fake_entra, preferred_username=None)

    assert response.status_code == 400
    page = response.text
    assert "has no &#39;email&#39; or &#39;preferred_username&#39; or &#39;upn&#39; claim" in page
    assert "optional claims &#39;email&#39; and &#39;upn&#39;" in page


def test_groups_overage_signs_in(
    client: TestClient, environment: str, fake_entra: FakeEntra
) -> None:
    response = sign_in(
        client,
        fake_entra,
        _claim_names={"groups": "src1"},
        _claim_sources={
            "src1": {"endpoint": f"https://graph.windows.net/{TENANT_ID}/users/x/getMemberObjects"}
        },
    )

    assert_signed_in(response)


def test_user_bound_by_tenant_and_object_id(
    client: TestClient, environment: str, fake_entra: FakeEntra, context: AppContext
) -> None:
    claims = entra_claims(nonce="-")
    assert_signed_in(sign_in(client, fake_entra, preferred_username=ADMIN_EMAIL))

    # Another app registration gives another 'sub'; the user renamed their account.
    response = sign_in(
        client,
        fake_entra,
        sub="another-pairwise-subject",
        preferred_username="ada.new@contoso.test",
    )

    assert_signed_in(response)
    [user] = users(context)
    assert user.email == ADMIN_EMAIL
    assert user.idp_issuer == f"entra-tenant:{TENANT_ID}"
    assert user.idp_subject == claims["oid"]


def test_sign_in_marks_last_known_good(
    api: TestClient, client: TestClient, environment: str, fake_entra: FakeEntra
) -> None:
    assert api.get("/contoso/SingleSignOnSettings").json()["LastKnownGoodVersion"] is None

    assert_signed_in(sign_in(client, fake_entra))

    assert api.get("/contoso/SingleSignOnSettings").json()["LastKnownGoodVersion"] == 1
    history = api.get("/contoso/SingleSignOnSettings/History").json()
    assert history[0]["IsLastKnownGood"] is True


def test_allowed_tenants_ignored_for_single_tenant(
    api: TestClient, client: TestClient, environment: str, fake_entra: FakeEntra
) -> None:
    configure(
        api,
        f"https://login.microsoftonline.com/{TENANT_DOMAIN}/v2.0",
        AllowedTenants=[OTHER_TENANT],
    )

    assert_signed_in(sign_in(client, fake_entra))
