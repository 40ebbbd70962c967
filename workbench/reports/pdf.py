"""The справка as PDF: the HTML page printed to A4 by headless Chromium (Debian's, driven by Playwright), with
page numbers in the footer.

One browser per process serves every municipality the process publishes (a start costs about a second).
Without Chromium (``/usr/bin/chromium``, installed by ``scripts/ensure_chromium.sh``) :class:`PdfUnavailable`
says so in Russian; the caller decides whether that fails the deliverable.

Example
-------
>>> write_pdf(Path("report.html"), Path("report.pdf"))                # doctest: +SKIP
"""
from __future__ import annotations

import atexit
import os
from pathlib import Path

CHROMIUM = Path(os.environ.get("WORKBENCH_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--disable-quic"]
FOOTER = ('<div style="font-size:8px;width:100%;text-align:center;color:#666;font-family:sans-serif">'
          '<span class="pageNumber"></span> / <span class="totalPages"></span></div>')


class PdfUnavailable(RuntimeError):
    """Chromium is missing or does not start."""


_browser = None
_playwright = None


def _get_browser():
    global _browser, _playwright
    if _browser is None:
        if not CHROMIUM.exists():
            raise PdfUnavailable(f"PDF не создан: нет браузера Chromium ({CHROMIUM}); установите его командой "
                                 "scripts/ensure_chromium.sh")
        from playwright.sync_api import sync_playwright

        pw = sync_playwright().start()
        try:
            _browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        except Exception as e:
            pw.stop()
            raise PdfUnavailable(f"PDF не создан: Chromium не запускается ({e})") from e
        _playwright = pw
        atexit.register(close)
    return _browser


def close() -> None:
    """Stop this process's browser, if it started one (Playwright's sync API allows one instance per thread)."""
    global _browser, _playwright
    if _browser is None:
        return
    try:
        _browser.close()
    finally:
        _playwright.stop()
        _browser = _playwright = None


def write_pdf(html_path: Path, path: Path) -> Path:
    """Print ``html_path`` (a self-contained page) to ``path`` (A4, page numbers), atomically."""
    page = _get_browser().new_page()
    try:
        page.goto(Path(html_path).resolve().as_uri(), wait_until="load")
        tmp = path.with_name(path.name + ".tmp")
        page.pdf(path=str(tmp), format="A4", print_background=True, display_header_footer=True,
                 header_template="<div></div>", footer_template=FOOTER,
                 margin={"top": "16mm", "bottom": "18mm", "left": "18mm", "right": "14mm"})
        tmp.replace(path)
    finally:
        page.close()
    return path
