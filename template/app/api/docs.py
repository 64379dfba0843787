"""The interactive API docs, `/docs` (Swagger UI) and `/redoc`, with their assets served here.

FastAPI's own pages load their JavaScript and CSS from a CDN, so they stay blank on networks
without internet access. The `fastapi-offline` package ships the same assets (pinned in
pyproject.toml) and they are served under /docs-assets, as FastAPI's "Self-hosting JavaScript
and CSS for docs" recipe does; `DOCS_FROM_CDN=true` goes back to FastAPI's CDN.
"""

from importlib.resources import files

from fastapi import FastAPI, Request
from fastapi.openapi.docs import (
    get_redoc_html,
    get_swagger_ui_html,
    get_swagger_ui_oauth2_redirect_html,
)
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

ASSETS_PATH = "/docs-assets"
OAUTH2_REDIRECT_PATH = "/docs/oauth2-redirect"


def add_docs_routes(app: FastAPI, *, from_cdn: bool) -> None:
    """/docs, its OAuth2 redirect and /redoc; the app is created with docs_url=None."""
    if not from_cdn:
        assets = StaticFiles(directory=str(files("fastapi_offline") / "static"))
        app.mount(ASSETS_PATH, assets, name="docs-assets")

    @app.get("/docs", include_in_schema=False)
    async def swagger_ui(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "")
        openapi_url, title = f"{root}{app.openapi_url}", f"{app.title} - Swagger UI"
        redirect_url = f"{root}{OAUTH2_REDIRECT_PATH}"
        if from_cdn:
            return get_swagger_ui_html(
                openapi_url=openapi_url,
                title=title,
                oauth2_redirect_url=redirect_url,
                swagger_ui_parameters=app.swagger_ui_parameters,
            )
        return get_swagger_ui_html(
            openapi_url=openapi_url,
            title=title,
            oauth2_redirect_url=redirect_url,
            swagger_ui_parameters=app.swagger_ui_parameters,
            swagger_js_url=f"{root}{ASSETS_PATH}/swagger-ui-bundle.js",
            swagger_css_url=f"{root}{ASSETS_PATH}/swagger-ui.css",
            swagger_favicon_url=f"{root}{ASSETS_PATH}/favicon.png",
        )

    @app.get(OAUTH2_REDIRECT_PATH, include_in_schema=False)
    async def swagger_ui_redirect() -> HTMLResponse:
        return get_swagger_ui_oauth2_redirect_html()

    @app.get("/redoc", include_in_schema=False)
    async def redoc(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "")
        openapi_url, title = f"{root}{app.openapi_url}", f"{app.title} - ReDoc"
        if from_cdn:
            return get_redoc_html(openapi_url=openapi_url, title=title)
        return get_redoc_html(
            openapi_url=openapi_url,
            title=title,
            redoc_js_url=f"{root}{ASSETS_PATH}/redoc.standalone.js",
            redoc_favicon_url=f"{root}{ASSETS_PATH}/favicon.png",
            with_google_fonts=False,
        )
