"""Serving the page to a room: Solara's Starlette app under uvicorn, behind an access token.

`solara run` offers no hook for middleware in its own process, so `fleetsim app` does what
`solara run --production` does (SOLARA_APP, production mode, Solara's log set-up, no version
check or telemetry) and serves `solara.server.starlette.app` itself, wrapped in TokenGate: as
in Jupyter, a page served beyond this machine needs the token of its join link
(`http://HOST:PORT/?token=...`); the first valid visit sets a cookie, so the page's own
requests and its websocket pass without it. Anything else gets 403 (a websocket is closed
before it is accepted, which uvicorn answers with HTTP 403).
"""

from __future__ import annotations

import contextlib
import hmac
import ipaddress
import os
import secrets
import socket
import threading
import time
import warnings
import webbrowser
from http.cookies import CookieError, SimpleCookie
from urllib.parse import parse_qs

LOOPBACK_NAMES = {"localhost", "localhost.localdomain"}
WILDCARDS = {"", "0.0.0.0", "::"}
WS_MAX_BYTES = 16 * 1024 * 1024  # uvicorn's default, stated: uploads come in 2 MiB chunks


def is_loopback(host: str) -> bool:
    """True for 127.0.0.0/8, ::1 and localhost: only this machine can reach the page."""
    if host.lower() in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def new_token() -> str:
    return secrets.token_urlsafe(18)


def valid_token(token: str) -> bool:
    """A token fit for a link: 8 to 200 URL-safe characters."""
    return 8 <= len(token) <= 200 and all(c.isalnum() or c in "-_.~" for c in token)


def bind_host(host: str) -> str:
    """The address uvicorn binds: an empty host means every interface (as socket.bind)."""
    return "0.0.0.0" if host == "" else host


def join_url(host: str, port: int, token: str | None) -> str:
    """The link to give the room; a wildcard address is shown as this machine's name."""
    shown = socket.gethostname() if host in WILDCARDS else host
    if ":" in shown and not shown.startswith("["):
        shown = f"[{shown}]"
    return f"http://{shown}:{port}/" + (f"?token={token}" if token else "")


def cookie_name(port: int) -> str:
    return f"fleetsim_token_{port}"  # cookies ignore ports: one name per server


class TokenGate:
    """ASGI middleware: http and websocket requests pass with `?token=` or the cookie."""

    def __init__(self, app, token: str, port: int):
        self.app, self.token, self.cookie = app, token.encode(), cookie_name(port)

    async def __call__(self, scope, receive, send):
        if scope["type"] not in ("http", "websocket"):
            return await self.app(scope, receive, send)  # lifespan
        by_query, by_cookie = self.presented(scope)
        if not (by_query or by_cookie):
            return await refuse(scope, send)
        if scope["type"] == "http" and by_query and not by_cookie:
            send = self.setting_cookie(send)
        return await self.app(scope, receive, send)

    def presented(self, scope) -> tuple[bool, bool]:
        """Whether the query, and whether the cookie, hold the token."""
        query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
        cookies = SimpleCookie()
        for name, value in scope.get("headers", []):
            if name == b"cookie":
                with contextlib.suppress(CookieError):  # a malformed header: no token
                    cookies.load(value.decode("latin-1"))
        given = cookies[self.cookie].value if self.cookie in cookies else ""
        return (any(self.matches(v) for v in query.get("token", [])[:4]),
                self.matches(given))

    def matches(self, text: str) -> bool:
        return hmac.compare_digest(text.encode("latin-1", "replace"), self.token)

    def setting_cookie(self, send):
        header = (f"{self.cookie}={self.token.decode()}; Path=/; HttpOnly; "
                  "SameSite=Strict").encode()
        return CookieSetter(send, header)


class CookieSetter:
    """An ASGI `send` that adds a Set-Cookie header to the response's start."""

    def __init__(self, send, header: bytes):
        self.send, self.header = send, header

    async def __call__(self, message):
        if message["type"] == "http.response.start":
            message = {**message, "headers": [*message.get("headers", []),
                                              (b"set-cookie", self.header)]}
        await self.send(message)


async def refuse(scope, send) -> None:
    if scope["type"] == "websocket":
        await send({"type": "websocket.close", "code": 1008})
        return
    body = b"403: this page needs the token of its join link (?token=...)\n"
    await send({"type": "http.response.start", "status": 403,
                "headers": [(b"content-type", b"text/plain; charset=utf-8"),
                            (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})


def solara_app(host: str, port: int):
    """Solara's Starlette app for the page, set up as `solara run --production` does."""
    os.environ["SOLARA_APP"] = "fleetsim.viz.app"
    os.environ["SERVER_NAME"] = bind_host(host)
    os.environ["SERVER_PORT"] = str(port)
    # a workshop room may have no internet: no version check, no usage telemetry
    os.environ.setdefault("SOLARA_TELEMETRY_MIXPANEL_ENABLE", "False")
    from solara.server import settings

    settings.main.mode = "production"
    settings.telemetry.mixpanel_enable = False
    # Solara's 13-line samesite warning on every page load over plain http (behaviour stays)
    warnings.filterwarnings("ignore", message="Cookies with samesite=none require https")
    # "This website runs on Solara", fixed at the window's corner, covers a chart there
    settings.theme.show_banner = False
    from solara.server.starlette import app

    return app


def serve(host: str, port: int, token: str | None, open_browser: bool = False) -> None:
    """Serve the page until Ctrl+C; with a token, only through TokenGate."""
    import uvicorn
    from solara.__main__ import LOGGING_CONFIG

    app = solara_app(host, port)
    if token:
        app = TokenGate(app, token, port)
    server = uvicorn.Server(uvicorn.Config(app, host=bind_host(host), port=port,
                                           log_config=LOGGING_CONFIG, ws_max_size=WS_MAX_BYTES))
    if open_browser:
        url = join_url("127.0.0.1" if host in WILDCARDS else host, port, token)
        threading.Thread(target=open_when_started, args=(server, url), daemon=True).start()
    server.run()


def open_when_started(server, url: str) -> None:
    for _ in range(600):
        if server.started:
            webbrowser.open(url)
            return
        time.sleep(0.1)
