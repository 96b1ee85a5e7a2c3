"""A browser stand-in for the page tests: Flask's test client keeping the session cookie,
reading the CSRF token off each page it gets."""
from __future__ import annotations

import re

from tests.helpers import PASSWORD

CSRF = re.compile(r'name="csrf-token" content="([^"]+)"')


class Browser:
    def __init__(self, app):
        self.client = app.test_client()
        self.csrf = None

    def get(self, path: str, **kwargs):
        response = self.client.get(path, **kwargs)
        found = CSRF.search(response.get_data(as_text=True)) if response.mimetype == "text/html" else None
        if found:
            self.csrf = found.group(1)
        return response

    def post(self, path: str, data: dict | None = None, csrf: bool = True, **kwargs):
        if self.csrf is None:
            self.get("/")
        form = dict(data or {})
        if csrf:
            form.setdefault("csrf_token", self.csrf)
        response = self.client.post(path, data=form, **kwargs)
        self.followed = None
        if response.status_code in (301, 302, 303):
            # as a browser does (a new session has a new token; a flash message shows there)
            self.followed = self.get(response.headers["Location"])
        return response

    def sign_in(self, username: str, password: str = PASSWORD):
        self.get("/")
        response = self.post("/signin", {"username": username, "password": password})
        assert response.status_code == 302, response.get_data(as_text=True)[:500]
        return response

    def text(self, response) -> str:
        return response.get_data(as_text=True)
