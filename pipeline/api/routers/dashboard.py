"""``/``: the web dashboard, a static page and its assets served from the installed package.

The page needs no token: it holds no data. Its script asks for a token and sends it with every
API call, so the dashboard can do exactly what that token may do, and no more. The routes stay
out of the OpenAPI schema, which describes the API, not its pages.
"""

from __future__ import annotations

from importlib.resources import files

from fastapi import APIRouter
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

router = APIRouter(include_in_schema=False)

_STATIC = files("pipeline.api") / "static"

# Only the page's own script, style and images run: a comment that slipped past the script's
# text-only rendering still could not load or run anything.
_SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self'; object-src 'none'; "
                               "base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-cache",
}


@router.get("/", response_class=HTMLResponse)
def index() -> HTMLResponse:
    return HTMLResponse((_STATIC / "index.html").read_text(encoding="utf-8"),
                        headers=_SECURITY_HEADERS)


# Mounted on the app by create_app: a mount inside a router is kept by include_router only in
# recent FastAPI versions.
assets = StaticFiles(packages=[("pipeline.api", "static")])
