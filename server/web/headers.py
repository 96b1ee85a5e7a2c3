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


#: Set on every response that does not set them itself (lowercased name, name, value).
ALWAYS = tuple((name.lower(), name, value) for name, value in (
    ("X-Frame-Options", "DENY"),
    ("X-Content-Type-Options", "nosniff"),
    ("Referrer-Policy", "same-origin"),
    ("Cross-Origin-Opener-Policy", "same-origin"),
))


def init_headers(app) -> None:
    @app.after_request
    def security_headers(response):
        # The names the response has are read once; each missing header is added (Headers.setdefault
        # would scan the list twice per header and raise and catch a KeyError for each missing one).
        req = request._get_current_object()
        headers = response.headers
        present = {name.lower() for name, _ in headers}
        if "content-security-policy" not in present:
            if req.path.startswith("/api/docs"):
                csp = SWAGGER  # Swagger UI's own page bootstraps with an inline script
            elif g.get("allow_inline_styles"):
                csp = DIAGRAM
            else:
                csp = BASE
            headers.add("Content-Security-Policy", csp)
        for lowered, name, value in ALWAYS:
            if lowered not in present:
                headers.add(name, value)
        if req.is_secure and "strict-transport-security" not in present:
            headers.add("Strict-Transport-Security", "max-age=31536000")
        if "cache-control" not in present and response.mimetype == "text/html":
            headers.add("Cache-Control", "no-store")  # pages hold personal data
        return response
