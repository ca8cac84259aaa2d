"""A person's browser over real HTTP, with the few methods of Flask's test client the tests use, for a server on
127.0.0.1 (the demo world's in tests/security_world.py, the suite's app in tests/conftest.py: ``http_client``)."""

from __future__ import annotations

import requests


class HttpResponse:
    """A ``requests`` answer with the few attributes of Flask's test response the walks read."""

    def __init__(self, response: requests.Response):
        self.status_code = response.status_code
        self.headers = response.headers
        self._response = response

    def get_data(self, as_text: bool = False):
        return self._response.text if as_text else self._response.content

    @property
    def json(self):
        return self._response.json()


class HttpClient:
    """A person's browser over real HTTP to the world's server on 127.0.0.1: cookies kept, redirects not
    followed, the methods of Flask's test client that the walks use."""

    def __init__(self, base_url: str):
        self.base_url = base_url
        self.session = requests.Session()

    def open(self, path: str, method: str = "GET", *, data=None, json=None, headers=None, query_string=None):
        fields, files = {}, {}
        for name, value in (data or {}).items():
            if isinstance(value, tuple):  # (file object, file name), as Flask's test client takes a file
                files[name] = (value[1], value[0].read())
            else:
                fields[name] = value
        response = self.session.request(
            method,
            self.base_url + path,
            params=query_string,
            data=fields or None,
            files=files or None,
            json=json,
            headers=headers,
            allow_redirects=False,
            timeout=60,
        )
        return HttpResponse(response)

    def get(self, path: str, **kwargs):
        return self.open(path, "GET", **kwargs)

    def post(self, path: str, **kwargs):
        return self.open(path, "POST", **kwargs)

    def save(self):
        return self.session.cookies.copy()

    def restore(self, saved) -> None:
        self.session.cookies = saved.copy()
