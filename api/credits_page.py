"""The residents' phone page ``/credits`` and its static files (docs/API.md §6).

``GET /credits`` serves ``static/credits.html`` with the log's public key injected as
``<meta name="gongxin-log-key">`` (from ``app.state.log_vkey``, a ``name+keyid+base64``
string), the witness policy (``--witness-policy``; see :func:`policy_json`) as
``<meta name="gongxin-witness-policy">`` (empty without one), and a strict
Content-Security-Policy: the page loads nothing but its own scripts and stylesheet from
``/credits/static/`` and talks only to this origin. The page itself checks the checkpoint
signature, the witnesses' cosignatures against the policy's quorum (``static/cosign.js``)
and every inclusion proof in the browser (``static/verify.js``).

``GET /credits/static/{name}`` serves the page's files from a fixed list read at import
(no path from the request ever reaches the file system). Asset URLs in the page carry
``?v=<hash of all assets>``, so assets may be cached for a day and a new release is still
picked up at once; the page itself is revalidated on every load (``no-cache``).

:func:`mount` adds both routes to an app.
"""

from __future__ import annotations

import hashlib
import html
import json
from pathlib import Path
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import HTMLResponse, Response

from api.problems import Problem
from verifier.witness.policy import WitnessPolicy

__all__ = ["CSP", "mount", "policy_json", "router"]

STATIC_DIR = Path(__file__).resolve().parent / "static"
_TYPES = {
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
}

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'none'"
)
"""The page's Content-Security-Policy: own origin only, no inline code, no framing."""

_COMMON_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


def _load_assets() -> dict[str, tuple[bytes, str]]:
    """The page's assets by URL name (``credits.js``, ``vendor/nacl-fast.min.js``, …):
    every ``.js``, ``.css`` and ``.svg`` file under ``static/``, with its content type."""
    assets: dict[str, tuple[bytes, str]] = {}
    for path in sorted(STATIC_DIR.rglob("*")):
        media = _TYPES.get(path.suffix)
        if media and path.is_file():
            assets[path.relative_to(STATIC_DIR).as_posix()] = (path.read_bytes(), media)
    return assets


_ASSETS = _load_assets()
_VERSION = hashlib.sha256(
    b"".join(name.encode() + b"\0" + body for name, (body, _) in _ASSETS.items())
).hexdigest()[:12]
_TEMPLATE = (STATIC_DIR / "credits.html").read_text(encoding="utf-8")

router = APIRouter(include_in_schema=False)


def policy_json(policy: WitnessPolicy | None) -> str:
    """The witness policy as the page reads it, or ``""`` for none: compact JSON
    ``{"witnesses": [{"name": 审计局, "key": "<witness verifier key>"}, …],
    "groups": [{"name", "threshold", "members"}, …], "quorum": name | null}`` (names are
    the policy-local ones; log lines and URLs are left out). Cost: O(size of the policy)."""
    if policy is None:
        return ""
    doc: dict[str, Any] = {
        "witnesses": [{"name": w.name, "key": str(w.key)} for w in policy.witnesses],
        "groups": [
            {"name": g.name, "threshold": g.threshold, "members": list(g.members)}
            for g in policy.groups
        ],
        "quorum": policy.quorum,
    }
    return json.dumps(doc, ensure_ascii=False, separators=(",", ":"))


def render_page(log_vkey: str, policy: WitnessPolicy | None = None) -> str:
    """The page's HTML with ``log_vkey`` and the witness policy (both attribute-escaped)
    and the asset version filled in."""
    return (
        _TEMPLATE.replace("{{LOG_KEY}}", html.escape(log_vkey, quote=True))
        .replace("{{WITNESS_POLICY}}", html.escape(policy_json(policy), quote=True))
        .replace("{{VERSION}}", _VERSION)
    )


def _witness_policy(request: Request) -> WitnessPolicy | None:
    """``app.state.witness_policy`` if set (tests), else the server state's policy."""
    policy = getattr(request.app.state, "witness_policy", None)
    if policy is None:
        policy = getattr(getattr(request.app.state, "server", None), "witness_policy", None)
    return policy if isinstance(policy, WitnessPolicy) else None


@router.get("/credits", response_class=HTMLResponse)
def credits_page(request: Request) -> HTMLResponse:
    """The residents' page. An app without ``state.log_vkey`` still serves it, with an
    empty key: the page then shows 验证失败 for every look-up rather than 已验证. With a
    witness policy the page also requires its quorum of cosignatures (else a warning)."""
    log_vkey = getattr(request.app.state, "log_vkey", "") or ""
    return HTMLResponse(
        render_page(str(log_vkey), _witness_policy(request)),
        media_type="text/html; charset=utf-8",
        headers={
            **_COMMON_HEADERS,
            "Content-Security-Policy": CSP,
            "Cache-Control": "no-cache",
            "X-Frame-Options": "DENY",
        },
    )


@router.get("/credits/static/{name:path}")
def credits_asset(name: str) -> Response:
    """One of the page's assets, or 404 (problem+json) for any other name."""
    asset = _ASSETS.get(name)
    if asset is None:
        raise Problem(404, "not_found", f"no such file: /credits/static/{name}")
    body, media = asset
    return Response(
        body,
        media_type=media,
        headers={**_COMMON_HEADERS, "Cache-Control": "public, max-age=86400"},
    )


def mount(app: FastAPI) -> None:
    """Add ``/credits`` and ``/credits/static/…`` to ``app`` (``app.state.log_vkey`` must
    hold the log's verifier key string for the page to verify anything)."""
    app.include_router(router)
