"""A raw HTTP/1.1 client for the end-to-end suites: it sends exactly the
bytes it is given (malformed request lines included) and parses the
answer, so the tests see what Nginx and Gunicorn really do."""

import gzip
import json
import socket

# check(method, path, status, headers, body), called on every answer
# (conftest.py sets it: openapi_check.Checker.check).
CHECK = None


class Answer:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers  # lower-case names
        self.body = body

    def json(self):
        return json.loads(self.body)

    @property
    def text(self):
        return self.body.decode()


def _read_chunked(data):
    parts, at = [], 0
    while True:
        end = data.index(b"\r\n", at)
        size = int(data[at:end].split(b";")[0], 16)
        if size == 0:
            return b"".join(parts)
        parts.append(data[end + 2:end + 2 + size])
        at = end + 2 + size + 2


def raw(url_base, request_line, headers=(), timeout=30, source=None):
    """Send request_line (bytes or str) with headers to url_base
    ("http://127.0.0.1:port"), from the address source when given, and
    return the Answer."""
    host, port = url_base.split("//")[1].split(":")
    if isinstance(request_line, str):
        request_line = request_line.encode()
    head = [request_line, f"Host: {host}:{port}".encode(), b"Connection: close"]
    head += [h.encode() if isinstance(h, str) else h for h in headers]
    with socket.create_connection((host, int(port)), timeout=timeout,
                                  source_address=(source, 0) if source else None) as s:
        s.sendall(b"\r\n".join(head) + b"\r\n\r\n")
        chunks = []  # joined once: += would copy a 20.9 MB answer per chunk
        while chunk := s.recv(1 << 20):
            chunks.append(chunk)
        data = b"".join(chunks)
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    if headers.get("transfer-encoding") == "chunked":
        body = _read_chunked(body)
    if headers.get("content-encoding") == "gzip":
        body = gzip.decompress(body)
    if CHECK is not None:
        method, _, rest = request_line.decode("latin-1").partition(" ")
        CHECK(method, rest.rsplit(" ", 1)[0], status, headers, body)
    return Answer(status, headers, body)


def get(url_base, path, headers=(), timeout=30, source=None):
    return raw(url_base, f"GET {path} HTTP/1.1", headers, timeout, source)
