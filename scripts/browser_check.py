"""Open /docs of a rendered, installed project in a real browser with no network beyond loopback.

Used by the `browser` nox session. Starts `uvicorn app.main:app` on a free loopback port,
registers a user, then drives Debian's Chromium (`/usr/bin/chromium`, through playwright's
Python package; never `playwright install`) through what a newcomer does: open /docs, press
Authorize, log in with the user's e-mail and password, run `GET /api/v1/users/me`, and see 200.
Every request to anything but the service is refused and reported, so a page that needs the
internet (a CDN asset, a web font) fails here. A screenshot is saved either way.

    python -m scripts.browser_check PROJECT_DIR --screenshot PATH [--chromium PATH]

Exit status: 0 when the page showed 200; 1 when it did not, or asked for the internet; 2 when
the service did not come up.
"""

from __future__ import annotations

import argparse
import secrets
import sys
import tempfile
from pathlib import Path
from urllib.parse import urlsplit

from playwright.sync_api import Page, Route, sync_playwright

from tests.support import HOST, free_port, request_json, running, uvicorn

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
UI_TIMEOUT_MS = 20_000


def authorize_and_read_me(page: Page, base: str, email: str, password: str) -> str:
    """What a person does in Swagger UI; returns the status the page shows for /users/me."""
    page.goto(f"{base}/docs")
    page.locator(".swagger-ui .info .title").wait_for(timeout=UI_TIMEOUT_MS)
    page.locator("button.authorize").first.click()
    modal = page.locator(".modal-ux")
    modal.locator("#oauth_username").fill(email)
    modal.locator("#oauth_password").fill(password)
    modal.locator("button.authorize").click()
    modal.locator("button.btn-done").wait_for(timeout=UI_TIMEOUT_MS)
    modal.get_by_text("Authorized", exact=False).first.wait_for(timeout=UI_TIMEOUT_MS)
    modal.locator("button.btn-done").click()

    operation = page.locator(".opblock-get").filter(
        has=page.locator('[data-path="/api/v1/users/me"]')
    )
    operation.locator(".opblock-summary").first.click()
    operation.locator("button.try-out__btn").click()
    operation.locator("button.execute").click()
    status = operation.locator(".live-responses-table .response .response-col_status").first
    status.wait_for(timeout=UI_TIMEOUT_MS)
    return status.inner_text().strip()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("project", type=Path, help="a rendered project, installed in .venv")
    parser.add_argument("--screenshot", type=Path, required=True)
    parser.add_argument("--chromium", default="/usr/bin/chromium")
    args = parser.parse_args(argv)

    project = args.project.resolve()
    work = Path(tempfile.mkdtemp(prefix="browser-check-"))
    email = f"newcomer-{secrets.token_hex(4)}@example.com"
    password = "Newcomer-" + secrets.token_hex(8) + "!A1"
    env = {
        "PATH": str(project / ".venv" / "bin") + ":/usr/bin:/bin",
        "HOME": str(work),
        "ENVIRONMENT": "development",  # what `fastapi dev` runs: migrations at start-up
        "SQLALCHEMY_DATABASE_URI": f"sqlite:///{work}/app.db",
        "LOG_LEVEL": "WARNING",
    }
    port = free_port()
    base = f"http://{HOST}:{port}"
    log_path = work / "uvicorn.log"
    server = uvicorn(project / ".venv", "app.main:app", port)
    try:
        with running(server, f"{base}/openapi.json", log_path, project, env):
            credentials = {"email": email, "password": password}
            status, body = request_json(f"{base}/api/v1/users", credentials)
            if status != 201:
                raise RuntimeError(f"registering {email} answered {status}: {body}")
            return drive(args, base, email, password, work)
    except RuntimeError as exc:  # NotUp, or the registration failed
        print(f"browser: {exc}; server log: {log_path}", file=sys.stderr)
        return 2


def drive(args: argparse.Namespace, base: str, email: str, password: str, work: Path) -> int:
    refused: list[str] = []

    def loopback_only(route: Route) -> None:
        if urlsplit(route.request.url).hostname in (HOST, "localhost"):
            route.continue_()
        else:
            refused.append(route.request.url)
            route.abort("internetdisconnected")

    args.screenshot.parent.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(work / "chromium-profile"),  # a fresh profile every run
            executable_path=args.chromium,
            headless=True,
            args=CHROMIUM_ARGS,
        )
        try:
            context.route("**/*", loopback_only)
            page = context.new_page()
            try:
                shown = authorize_and_read_me(page, base, email, password)
            except Exception as exc:  # a UI step timed out: report it with the screenshot
                shown = f"no status ({type(exc).__name__}: {str(exc).splitlines()[0]})"
            page.screenshot(path=str(args.screenshot), full_page=True)
        finally:
            context.close()
    print(f"browser: GET /api/v1/users/me in /docs showed {shown}; screenshot {args.screenshot}")
    if refused:
        print("browser: the page asked for the internet:\n  " + "\n  ".join(refused))
    return 0 if shown == "200" and not refused else 1


if __name__ == "__main__":
    sys.exit(main())
