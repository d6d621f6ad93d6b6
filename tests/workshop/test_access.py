"""The page's token: without it no request reaches the page; with it (link or cookie) all do."""

from __future__ import annotations

import asyncio

import pytest
from svsim.experiments.config import ConfigError
from svsim.experiments.workshop.access import COOKIE, TokenGate
from svsim.experiments.workshop.page import is_loopback
from svsim.experiments.workshop.whatif import access_token

TOKEN = "correct-horse-battery"
PAGE = b"<html>the page</html>"


async def _page(scope, receive, send):
    if scope["type"] == "websocket":
        await send({"type": "websocket.accept"})
        return
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": PAGE})


def _call(kind: str, query: bytes = b"", cookie: str | None = None) -> list[dict]:
    headers = [(b"cookie", cookie.encode())] if cookie is not None else []
    scope = {"type": kind, "path": "/", "query_string": query, "headers": headers}
    sent: list[dict] = []

    async def receive():
        return {"type": "websocket.connect"} if kind == "websocket" else {"type": "http.request"}

    async def send(message):
        sent.append(message)

    asyncio.run(TokenGate(_page, TOKEN)(scope, receive, send))
    return sent


@pytest.mark.parametrize(
    ("query", "cookie"),
    [
        (b"", None),
        (b"token=wrong", None),
        (b"token=" + TOKEN[:-1].encode(), None),
        (b"", f"{COOKIE}=wrong"),
        (b"", "other=" + TOKEN),
        (b"", "garbage;;=\x00"),
    ],
)
def test_without_the_token_no_page(query, cookie):
    sent = _call("http", query, cookie)
    assert sent[0]["status"] == 403
    assert all(PAGE not in m.get("body", b"") for m in sent)
    assert _call("websocket", query, cookie) == [{"type": "websocket.close", "code": 1008}]


def test_with_the_token_the_page_and_a_cookie():
    sent = _call("http", b"token=" + TOKEN.encode())
    assert sent[0]["status"] == 200 and sent[1]["body"] == PAGE
    cookie = dict(sent[0]["headers"])[b"set-cookie"].decode()
    assert cookie.startswith(f"{COOKIE}={TOKEN};") and "HttpOnly" in cookie
    again = _call("http", cookie=f"{COOKIE}={TOKEN}")  # the page's own requests: by cookie
    assert again[0]["status"] == 200 and b"set-cookie" not in dict(again[0]["headers"])
    assert _call("websocket", cookie=f"theme=dark; {COOKIE}={TOKEN}") == [
        {"type": "websocket.accept"}
    ]


def test_token_settings():
    assert access_token(None) is None
    assert access_token(TOKEN) == TOKEN
    auto = access_token("auto")
    assert len(auto) >= 16 and auto != access_token("auto")
    for bad in ("short", "has space here", "a&b=cdefgh", 12345678, ""):
        with pytest.raises(ConfigError) as err:
            access_token(bad)
        assert "token=" in str(err.value) and (bad == "" or str(bad) not in str(err.value))


def test_loopback_hosts():
    assert all(is_loopback(h) for h in ("127.0.0.1", "127.1.2.3", "::1", "localhost"))
    assert not any(is_loopback(h) for h in ("0.0.0.0", "::", "192.168.1.10", "example.org"))
