"""The agent console's static site (infra/console/): its files, their content types and the security headers.

One definition for both places that serve it: the local stack's gateway (`/console/`) and the CloudFront
distribution of infra/constructs/console.py (its response headers policy). The console has no inline scripts or
styles, so the content security policy allows only its own origin plus the APIs it talks to.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

CONSOLE_DIR = Path(__file__).resolve().parent / "console"
PREFIX = "/console"
CONTENT_TYPES = {".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8",
                 ".css": "text/css; charset=utf-8", ".json": "application/json", ".svg": "image/svg+xml",
                 ".png": "image/png", ".ico": "image/x-icon"}
# Media the console shows comes from the API's short-lived download links (S3 pre-signed URLs) or the channel.
IMAGE_SOURCES = ("'self'", "data:", "blob:", "https:")


def owns(path: str) -> bool:
    """`/console` and everything below it."""
    return path == PREFIX or path.startswith(f"{PREFIX}/")


def files() -> list[Path]:
    """Every file the site ships (what the bucket deployment uploads)."""
    return sorted(p for p in CONSOLE_DIR.rglob("*") if p.is_file() and p.suffix in CONTENT_TYPES)


def content_type(path: str) -> str | None:
    return CONTENT_TYPES.get(Path(path).suffix)


def content_security_policy(connect: Sequence[str]) -> str:
    """`connect` adds the origins fetch and WebSocket may reach beyond 'self' (the WebSocket API, Cognito)."""
    return "; ".join((
        "default-src 'none'", "script-src 'self'", "style-src 'self'", f"img-src {' '.join(IMAGE_SOURCES)}",
        f"media-src {' '.join(IMAGE_SOURCES)}", f"connect-src 'self' {' '.join(connect)}".strip(),
        "font-src 'self'", "manifest-src 'self'", "base-uri 'none'", "form-action 'self'",
        "frame-ancestors 'none'", "object-src 'none'",
    ))


def security_headers(connect: Sequence[str]) -> dict[str, str]:
    """What every console response carries (locally; CloudFront adds the same with its policy)."""
    return {
        "Content-Security-Policy": content_security_policy(connect),
        "X-Content-Type-Options": "nosniff",
        "X-Frame-Options": "DENY",
        "Referrer-Policy": "no-referrer",
        "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
        "Cache-Control": "no-cache",
    }


def read(path: str) -> tuple[bytes, str] | None:
    """The file at `/console/<path>` (`/console/` is index.html); None for anything outside the site."""
    relative = path.removeprefix(PREFIX).lstrip("/") or "index.html"
    target = (CONSOLE_DIR / relative).resolve()
    kind = content_type(relative)
    if kind is None or not target.is_relative_to(CONSOLE_DIR) or not target.is_file():
        return None
    return target.read_bytes(), kind
