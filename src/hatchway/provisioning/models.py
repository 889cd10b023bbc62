"""The base of every Provisioning API body: PascalCase names, matched case-insensitively."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, field_validator, model_validator
from pydantic.alias_generators import to_pascal

from hatchway.db.types import unstorable_character


class RequestBody(BaseModel):
    """A JSON request body whose property names match in any case; unknown properties are ignored.

    Scripts written for Workspace 365 send `ClientId`, `clientId` or `ClientID`; all three are the
    same field here, as they are in ASP.NET's JSON binding.
    """

    model_config = ConfigDict(alias_generator=to_pascal, populate_by_name=True, extra="ignore")

    @model_validator(mode="before")
    @classmethod
    def _match_property_names(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        canonical = {
            (field.alias or name).lower(): field.alias or name
            for name, field in cls.model_fields.items()
        }
        matched: dict[str, Any] = {}
        for key, value in data.items():
            name = canonical.get(str(key).lower())
            if name is None:
                continue
            if name in matched:
                raise ValueError(
                    f"property {name} is sent twice with different capitalization; send it once"
                )
            matched[name] = value
        return matched

    @field_validator("*", mode="after")
    @classmethod
    def _refuse_unstorable_characters(cls, value: Any) -> Any:
        if isinstance(value, str) and (problem := unstorable_character(value)):
            raise ValueError(problem)
        return value


class ResponseBody(BaseModel):
    """A response body, serialized with PascalCase property names."""

    model_config = ConfigDict(
        alias_generator=to_pascal, populate_by_name=True, serialize_by_alias=True
    )


class ValidationResultBody(BaseModel):
    """One entry of a 400 response."""

    MemberNames: list[str]
    ErrorMessage: str


class ProblemBody(BaseModel):
    """The body of 403, 404, 412 and 429 responses."""

    Error: str
    Message: str
