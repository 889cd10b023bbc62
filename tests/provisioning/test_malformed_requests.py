"""Requests that no route can parse still get the Provisioning API's error shapes."""

from __future__ import annotations

from starlette.testclient import TestClient


def test_line_break_in_path_gets_path_not_found(api: TestClient) -> None:
    response = api.get("/con%0Atoso/SingleSignOnSettings")

    assert response.status_code == 404
    assert response.json()["Error"] == "PathNotFound"
    assert "line break" in response.json()["Message"]


def test_body_not_utf8_gets_validation_results(api: TestClient) -> None:
    response = api.post(
        "/Environment/",
        content=b'{"EnvironmentName": "\xff\xfe"}',
        headers={"Content-Type": "application/json"},
    )

    assert response.status_code == 400
    assert response.json() == [
        {
            "MemberNames": [],
            "ErrorMessage": "The request body could not be read as JSON; send a UTF-8 encoded "
            "JSON object with the properties of this call and Content-Type: application/json.",
        }
    ]
