"""Open a local page in Debian's Chromium through Playwright, with every off-machine request
blocked and recorded: a check that a report is self-contained and renders.

The page's folder is served on 127.0.0.1 by a throwaway http.server on a free port (in a thread,
stopped afterwards). Missing Chromium or Playwright: a skip on a developer's machine, a failure
when SVSIM_SLOW=1 (conftest.require_tool)."""

from __future__ import annotations

import functools
import http.server
import shutil
import threading
from pathlib import Path
from urllib.parse import quote, urlsplit

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
LOCAL_HOSTS = {"127.0.0.1", "localhost"}


def _require_chromium() -> None:
    from conftest import require_tool

    if shutil.which(CHROMIUM) is None:  # Debian's chromium package, not another build
        require_tool(CHROMIUM)  # skips, or fails under SVSIM_SLOW=1
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        require_tool("playwright (python package)")


def _allowed(url: str) -> bool:
    parts = urlsplit(url)
    if parts.scheme == "data":
        return True
    return parts.scheme in ("http", "https") and parts.hostname in LOCAL_HOSTS


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:
        pass


def blocking_router(blocked: list[str]):
    """A Playwright route handler that lets localhost through and aborts (and records) the rest."""

    def route(r) -> None:
        if _allowed(r.request.url):
            r.continue_()
        else:
            blocked.append(r.request.url)
            r.abort()

    return route


# Chromium gives a scripted drop no file entries (webkitGetAsEntry() is null), so the drop event
# carries a stand-in DataTransfer whose one entry yields a real File; the page then reads it
# exactly as it reads a dragged file.
_DROP = """(zone, [name, text]) => {
  const file = new File([text], name, {type: "text/yaml"});
  const entry = {isFile: true, file: (ok) => ok(file)};
  const drop = new Event("drop", {bubbles: true, cancelable: true});
  Object.defineProperty(drop, "dataTransfer", {value: {items: [{webkitGetAsEntry: () => entry}]}});
  zone.dispatchEvent(drop);
}"""


def drop_file(zone, name: str, text: str) -> None:
    """Drop a text file called name onto a drop zone (a Playwright locator)."""
    zone.evaluate(_DROP, [name, text])


def open_in_chromium(path_or_url, screenshot: Path | None = None, timeout_ms: int = 30_000) -> dict:
    """Open a file (served from its folder) or a local URL; return {"images", "images_loaded"
    (complete with naturalWidth > 0), "blocked", "title", "text" (the body's visible text)} and,
    if asked, save a full-page screenshot."""
    _require_chromium()
    from playwright.sync_api import sync_playwright

    target = str(path_or_url)
    server = thread = None
    if not target.startswith(("http://", "https://")):
        file = Path(target).resolve()
        handler = functools.partial(_Quiet, directory=str(file.parent))
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        target = f"http://127.0.0.1:{server.server_address[1]}/{quote(file.name)}"
    blocked: list[str] = []
    route = blocking_router(blocked)

    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
            try:
                page = browser.new_page(viewport={"width": 1280, "height": 900})
                page.route("**/*", route)
                page.on("websocket", lambda ws: blocked.append(ws.url))
                page.goto(target, wait_until="load", timeout=timeout_ms)
                page.wait_for_load_state("networkidle", timeout=timeout_ms)
                images = page.evaluate(
                    "() => Array.from(document.images).map(i => i.complete && i.naturalWidth > 0)"
                )
                title = page.title()
                text = page.inner_text("body")
                if screenshot is not None:
                    page.screenshot(path=str(screenshot), full_page=True)
            finally:
                browser.close()
    finally:
        if server is not None:
            server.shutdown()
            server.server_close()
            thread.join(timeout=5)
    return {
        "images": len(images),
        "images_loaded": sum(bool(x) for x in images),
        "blocked": blocked,
        "title": title,
        "text": text,
    }
