"""Every answer the web suites receive, checked against the API's own
description (web/openapi.py, as /api/v1/openapi.json serves it).

conftest.py installs check() on the Flask test client of every app the
suites make and on http_raw (the real stack through Nginx): an answer whose
status the route does not document, a documented header missing or
malformed, a body of another media type or one its JSON Schema refuses
fails the test that received it.  Paths the description does not know (a
test's own route, a malformed path) are only held to the rule that an
error is a problem (application/problem+json) or has no body.
"""

import json
import re
from urllib.parse import unquote

import jsonschema

from web.openapi import document

_NO_BODY = {204, 304}


class Checker:
    """The description of an app's configuration, compiled for checking."""

    def __init__(self, config):
        self.doc = document(config)
        self.resolver = jsonschema.RefResolver.from_schema(self.doc)
        self.paths = []
        for template, item in self.doc["paths"].items():
            pattern = re.sub(r"\\{(\w+)\\}", r"(?P<\1>[^/]+)", re.escape(template))
            # Static paths before templated ones (/api/v1 before /api/v1/fib/{n}).
            self.paths.append((template.count("{"), re.compile(pattern + "$"), template, item))
        self.paths.sort(key=lambda p: p[0])

    def _resolve(self, node):
        while "$ref" in node:
            _, node = self.resolver.resolve(node["$ref"])
        return node

    def _validate(self, instance, schema, where):
        try:
            jsonschema.Draft202012Validator(schema, resolver=self.resolver).validate(instance)
        except jsonschema.ValidationError as error:
            raise AssertionError(f"{where}: {error.message} at {list(error.path)}") from None

    def operation(self, path):
        for _, pattern, template, item in self.paths:
            if pattern.match(path):
                return template, item
        return None, None

    def check(self, method, path, status, headers, body):
        """Raise AssertionError when the answer contradicts the description.
        headers: a mapping with lower-case names; body: bytes."""
        if status < 200:
            return  # informational (100 Continue): the answer follows
        # The path as the server routes it: percent-decoded.
        path = unquote(path.split("?", 1)[0])
        headers = {k.lower(): v for k, v in headers.items()}
        media = headers.get("content-type", "").split(";")[0].strip()
        where = f"{method} {path} -> {status}"
        template, item = self.operation(path)
        if method == "OPTIONS" and status == 200:
            assert "allow" in headers, f"{where}: no Allow"
            return
        if template is None or method not in ("GET", "HEAD", "OPTIONS") or "get" not in item:
            if status >= 400:
                assert media == "application/problem+json" or not body, f"{where}: {media}"
                if body and method != "HEAD":
                    self._validate(json.loads(body), {"$ref": "#/components/schemas/Problem"},
                                   where)
            return
        responses = item["get"]["responses"]
        assert str(status) in responses, \
            f"{where}: status not in the description of {template} ({sorted(responses)})"
        response = self._resolve(responses[str(status)])
        for name, header in response.get("headers", {}).items():
            header = self._resolve(header)
            value = headers.get(name.lower())
            if value is None:
                assert not header.get("required"), f"{where}: no {name} header"
                continue
            self._validate(value, header["schema"], f"{where}: header {name}")
        content = response.get("content")
        if status in _NO_BODY or method == "HEAD" or content is None:
            return
        assert media in content, f"{where}: {media!r} not in {sorted(content)}"
        if "json" in media:
            self._validate(json.loads(body), content[media]["schema"], where)
