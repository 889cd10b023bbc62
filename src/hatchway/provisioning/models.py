"""The base of every Provisioning API body: PascalCase names, matched case-insensitively."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic.alias_generators import to_pascal
from pydantic.json_schema import SkipJsonSchema

from hatchway.db.types import unstorable_character
from hatchway.errors import ValidationFailed, ValidationResult


def property_key(name: str) -> str:
    """Reduce a property name to the form names are matched on: 'client_id' → 'clientid'."""
    return "".join(character for character in name.lower() if character.isalnum())


class RequestBody(BaseModel):
    """A JSON request body whose property names match in any case, with or without '_' or '-'.

    Scripts written for Workspace 365 send `ClientId`, `clientId` or `ClientID`; all three are the
    same field here, as they are in ASP.NET's JSON binding. Unknown properties are ignored, as
    there, and listed in `unknown_properties` so that a call can point them out.
    """

    model_config = ConfigDict(alias_generator=to_pascal, populate_by_name=True, extra="ignore")

    unknown_properties: SkipJsonSchema[list[str]] = Field(default_factory=list, exclude=True)

    @model_validator(mode="before")
    @classmethod
    def _match_property_names(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        canonical = {
            property_key(field.alias or name): field.alias or name
            for name, field in cls.model_fields.items()
            if name != "unknown_properties"
        }
        matched: dict[str, Any] = {}
        unknown: list[str] = []
        for key, value in data.items():
            name = canonical.get(property_key(str(key)))
            if name is None:
                unknown.append(str(key))
                continue
            if name in matched:
                raise ValueError(
                    f"property {name} is sent twice with different capitalization; send it once"
                )
            matched[name] = value
        matched["unknown_properties"] = unknown
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


def check_unknown_properties(
    body: RequestBody, misplaced: dict[str, str]
) -> list[ValidationResult]:
    """Reject unknown properties that stand for a known field; return notices for the rest.

    `misplaced` maps a reduced property name (see `property_key`) to the field that was meant,
    such as 'clientsecret' → 'Key': a script that sends ClientSecret must not silently keep
    the old Key.
    """
    errors: list[ValidationResult] = []
    notices: list[ValidationResult] = []
    for name in body.unknown_properties:
        meant = misplaced.get(property_key(name))
        if meant is not None:
            errors.append(
                ValidationResult(
                    (meant,),
                    f"Property {name!r} is not part of this call; the value belongs in {meant!r}.",
                )
            )
        else:
            notices.append(
                ValidationResult(
                    (name,), f"Property {name!r} is not part of this call and was ignored."
                )
            )
    if errors:
        raise ValidationFailed(errors)
    return notices
