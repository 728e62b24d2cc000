"""Page helpers: request by endpoint name and parse the HTML."""

from __future__ import annotations

from typing import Any

from bs4 import BeautifulSoup
from flask import url_for
from flask.testing import FlaskClient


def get_page(client: FlaskClient, endpoint: str, expected_status: int = 200, **values: Any) -> BeautifulSoup:
    response = client.get(url_for(endpoint, **values))
    assert response.status_code == expected_status, (endpoint, response.status_code, response.location)
    return BeautifulSoup(response.get_data(as_text=True), "html.parser")


def post_page(client: FlaskClient, endpoint: str, data: dict[str, Any] | None = None,
              expected_status: int = 200, follow_redirects: bool = True, **values: Any) -> BeautifulSoup:
    response = client.post(url_for(endpoint, **values), data=data or {}, follow_redirects=follow_redirects)
    assert response.status_code == expected_status, (endpoint, response.status_code, response.location)
    return BeautifulSoup(response.get_data(as_text=True), "html.parser")


def page_text(page: BeautifulSoup) -> str:
    return " ".join(page.get_text(" ").split())
