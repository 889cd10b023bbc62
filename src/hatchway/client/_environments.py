"""Provisioning API calls for environments and users."""

from __future__ import annotations

from hatchway.client._calls import Calls
from hatchway.client._connection import (
    environment_path,
    parse_each,
    parse_integer,
    parse_text,
    request_body,
    required_text,
    segment,
)
from hatchway.client._errors import ValidationResult
from hatchway.client._models import Environment, User


class EnvironmentCalls(Calls):
    """Calls for environments and their users."""

    def list_environments(self) -> list[Environment]:
        response = self._connection.request("GET", "/Environment")
        return self._connection.parse(
            response, lambda data: parse_each(data, Environment.from_json)
        )

    def get_environment(self, name: str) -> Environment:
        response = self._connection.request(
            "GET", f"/Environment/{segment(name, 'environment name')}"
        )
        return self._connection.parse(response, Environment.from_json)

    def create_environment(
        self,
        name: str,
        *,
        email_address: str,
        password: str,
        first_name: str | None = None,
        last_name: str | None = None,
    ) -> str:
        """Create an environment with its administrator; return the sanitized name."""
        body = request_body(
            EnvironmentName=name,
            EmailAddress=email_address,
            FirstName=first_name,
            LastName=last_name,
            Password=password,
        )
        response = self._connection.request("POST", "/Environment", json=body, secrets=(password,))
        return self._connection.parse(response, parse_text)

    def create_environment_mailing_password(
        self,
        name: str,
        *,
        email_address: str,
        first_name: str | None = None,
        last_name: str | None = None,
    ) -> str:
        """Create an environment whose administrator gets a temporary password by e-mail."""
        body = request_body(
            EnvironmentName=name,
            EmailAddress=email_address,
            FirstName=first_name,
            LastName=last_name,
        )
        response = self._connection.request(
            "POST", "/Environment", json=body, params={"version": "2.0"}
        )
        return self._connection.parse(response, parse_text)

    def create_empty_environment(self, name: str) -> str:
        """Create an environment without users; return the sanitized name."""
        response = self._connection.request(
            "POST", f"/Environment/{segment(name, 'environment name')}"
        )
        return self._connection.parse(response, parse_text)

    def validate_environment(
        self,
        name: str,
        *,
        email_address: str | None = None,
        first_name: str | None = None,
        last_name: str | None = None,
        password: str | None = None,
        mailing_password: bool = False,
    ) -> list[ValidationResult]:
        """Check a create body without creating anything; return the problems, [] when none.

        With `mailing_password` the body is checked as for
        `create_environment_mailing_password`, which needs no password.
        """
        body = request_body(
            EnvironmentName=name,
            EmailAddress=email_address,
            FirstName=first_name,
            LastName=last_name,
            Password=password,
        )
        params = {"version": "2.0"} if mailing_password else None
        return self._validate("/Environment/Validate", body, params, (password,))

    def activate_environment(self, name: str) -> Environment:
        return self._environment_call("PUT", name, "/Activate")

    def deactivate_environment(self, name: str) -> Environment:
        """Deactivate an environment: sign-in is refused and sessions end, data stays."""
        return self._environment_call("PUT", name, "/Deactivate")

    def delete_environment(self, name: str) -> Environment:
        """Delete an environment with its users; return what it was."""
        return self._environment_call("DELETE", name, "")

    # Users

    def list_users(self, environment: str) -> list[User]:
        response = self._connection.request("GET", f"{environment_path(environment)}/User")
        return self._connection.parse(response, lambda data: parse_each(data, User.from_json))

    def get_user(self, environment: str, user_id: int) -> User:
        response = self._connection.request(
            "GET", f"{environment_path(environment)}/User/{segment(user_id, 'user id')}"
        )
        return self._connection.parse(response, User.from_json)

    def create_user(
        self,
        environment: str,
        *,
        email_address: str,
        first_name: str | None = None,
        last_name: str | None = None,
        password: str | None = None,
        is_administrator: bool = False,
    ) -> int:
        """Create a user and return its id; without a password the user signs in through SSO."""
        body = request_body(
            EmailAddress=email_address,
            FirstName=first_name,
            LastName=last_name,
            Password=password,
            IsAdministrator=is_administrator,
        )
        response = self._connection.request(
            "POST", f"{environment_path(environment)}/User", json=body, secrets=(password,)
        )
        return self._connection.parse(response, parse_integer)

    def validate_user(
        self,
        environment: str,
        *,
        email_address: str | None = None,
        first_name: str | None = None,
        last_name: str | None = None,
        password: str | None = None,
        is_administrator: bool | None = None,
    ) -> list[ValidationResult]:
        """Check a user body without creating the user; return the problems, [] when none."""
        body = request_body(
            EmailAddress=email_address,
            FirstName=first_name,
            LastName=last_name,
            Password=password,
            IsAdministrator=is_administrator,
        )
        return self._validate(
            f"{environment_path(environment)}/User/Validate", body, None, (password,)
        )

    def update_user(
        self,
        environment: str,
        user: int | str,
        *,
        email_address: str | None = None,
        first_name: str | None = None,
        last_name: str | None = None,
        password: str | None = None,
        is_administrator: bool | None = None,
        is_active: bool | None = None,
    ) -> User:
        """Change the given fields of a user, named by id (int) or e-mail address (str).

        A user named by e-mail address keeps that address: pass the id to change it.
        """
        fields = request_body(
            FirstName=first_name,
            LastName=last_name,
            Password=password,
            IsAdministrator=is_administrator,
            IsActive=is_active,
        )
        if isinstance(user, int):
            path = f"{environment_path(environment)}/User/{segment(user, 'user id')}"
            body = {**fields, **request_body(EmailAddress=email_address)}
        else:
            if email_address is not None:
                raise ValueError(
                    f"User {user!r} is named by e-mail address, which then cannot change; "
                    "name the user by id to change the address."
                )
            path = f"{environment_path(environment)}/User"
            body = {"EmailAddress": required_text(user, "e-mail address"), **fields}
        response = self._connection.request("PUT", path, json=body, secrets=(password,))
        return self._connection.parse(response, User.from_json)

    def delete_user(self, environment: str, user: int | str) -> User:
        """Delete a user, named by id (int) or e-mail address (str); return what it was."""
        if isinstance(user, int):
            path = f"{environment_path(environment)}/User/{segment(user, 'user id')}"
            response = self._connection.request("DELETE", path)
        else:
            email = required_text(user, "e-mail address")
            response = self._connection.request(
                "DELETE", f"{environment_path(environment)}/User", params={"EmailAddress": email}
            )
        return self._connection.parse(response, User.from_json)

    def _environment_call(self, method: str, name: str, suffix: str) -> Environment:
        path = f"/Environment/{segment(name, 'environment name')}{suffix}"
        return self._connection.parse(self._connection.request(method, path), Environment.from_json)
