"""Security headers on every response, pages and API alike.

The Content-Security-Policy allows scripts only from this server's own files (no inline
script, no eval: htmx runs with ``allowEval`` off), styles from its own files (the diagram
page also allows the inline styles bpmn-js sets on SVG elements), no framing by other sites.
"""
from __future__ import annotations

from flask import g, request

BASE_POLICY = {
    "default-src": "'self'",
    "script-src": "'self'",
    "style-src": "'self'",
    "img-src": "'self' data:",
    "font-src": "'self'",
    "connect-src": "'self'",
    "object-src": "'none'",
    "base-uri": "'none'",
    "form-action": "'self'",
    "frame-ancestors": "'none'",
}
# bpmn-js writes style attributes on the SVG it draws; no script is allowed inline anywhere.
DIAGRAM_POLICY = {**BASE_POLICY, "style-src": "'self' 'unsafe-inline'"}
SWAGGER_POLICY = {**BASE_POLICY, "style-src": "'self' 'unsafe-inline'", "script-src": "'self' 'unsafe-inline'"}


def policy_text(policy: dict) -> str:
    return "; ".join(f"{k} {v}" for k, v in policy.items())


BASE = policy_text(BASE_POLICY)
DIAGRAM = policy_text(DIAGRAM_POLICY)
SWAGGER = policy_text(SWAGGER_POLICY)


def init_headers(app) -> None:
    @app.after_request
    def security_headers(response):
        if request.path.startswith("/api/docs"):
            csp = SWAGGER  # Swagger UI's own page bootstraps with an inline script
        elif g.get("allow_inline_styles"):
            csp = DIAGRAM
        else:
            csp = BASE
        response.headers.setdefault("Content-Security-Policy", csp)
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        response.headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
        if request.is_secure:
            response.headers.setdefault("Strict-Transport-Security", "max-age=31536000")
        if response.mimetype == "text/html":
            response.headers.setdefault("Cache-Control", "no-store")  # pages hold personal data
        return response
