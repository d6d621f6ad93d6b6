"""Who may use the workshop page: an optional token in front of the page's ASGI app.

A request passes when its query carries `token=<the token>` (the printed link does; the answer
then sets a cookie, so the page's own requests and its websocket pass too) or when it carries
that cookie. Anything else gets a short 403 and none of the page.
"""

from __future__ import annotations

import hmac
from http.cookies import SimpleCookie
from urllib.parse import parse_qs

COOKIE = "svsim_token"
REFUSED = b"This page needs its access link: ask the facilitator for it.\n"


class TokenGate:
    """ASGI middleware: only requests with the token (query or cookie) reach `app`."""

    def __init__(self, app, token: str):
        self.app, self.token = app, token.encode()

    def _matches(self, given: str | None) -> bool:
        return given is not None and hmac.compare_digest(given.encode(), self.token)

    async def __call__(self, scope, receive, send):
        if scope["type"] not in ("http", "websocket"):
            return await self.app(scope, receive, send)  # lifespan events
        query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
        by_query = self._matches((query.get("token") or [None])[0])
        headers = dict(scope.get("headers") or [])
        jar = SimpleCookie()
        try:
            jar.load(headers.get(b"cookie", b"").decode("latin-1"))
        except Exception:  # a malformed cookie header is no token
            jar = SimpleCookie()
        by_cookie = COOKIE in jar and self._matches(jar[COOKIE].value)
        if not (by_query or by_cookie):
            if scope["type"] == "websocket":
                return await send({"type": "websocket.close", "code": 1008})
            await send(
                {
                    "type": "http.response.start",
                    "status": 403,
                    "headers": [(b"content-type", b"text/plain; charset=utf-8")],
                }
            )
            return await send({"type": "http.response.body", "body": REFUSED})
        if by_query and scope["type"] == "http":
            cookie = f"{COOKIE}={self.token.decode()}; Path=/; HttpOnly; SameSite=Strict"

            async def send_with_cookie(message):
                if message["type"] == "http.response.start":
                    message = {
                        **message,
                        "headers": [*message.get("headers", []), (b"set-cookie", cookie.encode())],
                    }
                await send(message)

            return await self.app(scope, receive, send_with_cookie)
        return await self.app(scope, receive, send)
