"""Browser protections: the CSRF double-submit token (signed), security headers, the client's address."""

from __future__ import annotations

import hashlib
import hmac
import secrets

from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tenfour.config import Settings

CSRF_COOKIE = "tenfour_csrf"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
SESSION_COOKIE = "tenfour_session"
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
# Swagger UI sets styles inline; the API docs page alone may use them (no inline script anywhere).
DOCS_CONTENT_SECURITY_POLICY = CONTENT_SECURITY_POLICY.replace("style-src 'self'", "style-src 'self' 'unsafe-inline'")
# Charts are SVG images whose styles are inline attributes; as images they can never run script.
SVG_CONTENT_SECURITY_POLICY = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-ancestors 'none'"


def _sign(secret: str, nonce: str) -> str:
    return hmac.new(secret.encode(), f"csrf:{nonce}".encode(), hashlib.sha256).hexdigest()[:32]


def new_csrf_token(secret: str) -> str:
    nonce = secrets.token_urlsafe(18)
    return f"{nonce}.{_sign(secret, nonce)}"


def csrf_token_is_valid(secret: str, token: str | None) -> bool:
    if not token or "." not in token or len(token) > 100:
        return False
    nonce, signature = token.rsplit(".", 1)
    return hmac.compare_digest(signature, _sign(secret, nonce))


def csrf_token_for(request: Request) -> str:
    """The token to put in this page's forms: the browser's existing one, or a new one set with the response."""
    existing = getattr(request.state, "csrf_token", None)
    if existing:
        return existing
    secret = request.app.state.secret_key
    cookie = request.cookies.get(CSRF_COOKIE)
    token = cookie if csrf_token_is_valid(secret, cookie) else new_csrf_token(secret)
    request.state.csrf_token = token
    if token != cookie:
        request.state.set_csrf_cookie = token
    return token


def is_https(request: Request, settings: Settings) -> bool:
    return settings.force_secure_cookies or request.url.scheme == "https"


def client_ip(request: Request, settings: Settings) -> str | None:
    host = request.client.host if request.client else None
    trusted = {h.strip() for h in settings.trusted_proxies.split(",") if h.strip()}
    forwarded = request.headers.get("x-forwarded-for")
    if host in trusted and forwarded:
        return forwarded.split(",")[-1].strip()[:64]
    return host


class SecurityHeadersMiddleware:
    """Adds security headers to every response, and the CSRF cookie when a page minted a new token."""

    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        self.settings = settings

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope.get("path", "")
        https = self.settings.force_secure_cookies or scope.get("scheme") == "https"

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                names = {name.lower() for name, _ in headers}
                content_type = dict(headers).get(b"content-type", b"")
                if content_type.startswith(b"image/svg+xml"):
                    csp = SVG_CONTENT_SECURITY_POLICY
                elif path in ("/docs", "/redoc"):
                    csp = DOCS_CONTENT_SECURITY_POLICY
                else:
                    csp = CONTENT_SECURITY_POLICY
                extra = {
                    b"content-security-policy": csp.encode(),
                    b"x-content-type-options": b"nosniff",
                    b"referrer-policy": b"no-referrer",
                    b"x-frame-options": b"DENY",
                    b"permissions-policy": b"camera=(), microphone=(), geolocation=(), interest-cohort=()",
                    b"cross-origin-opener-policy": b"same-origin",
                }
                if not path.startswith("/static/"):
                    extra[b"cache-control"] = b"no-store"
                if https:
                    extra[b"strict-transport-security"] = b"max-age=63072000; includeSubDomains"
                for name, value in extra.items():
                    if name not in names:
                        headers.append((name, value))
                state = scope.get("state") or {}
                token = state.get("set_csrf_cookie")
                if token:
                    cookie = f"{CSRF_COOKIE}={token}; Path=/; HttpOnly; SameSite=Lax"
                    if https:
                        cookie += "; Secure"
                    headers.append((b"set-cookie", cookie.encode()))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)
