"""The operator console: static HTML, CSS, plain JS modules (web/js/) and the language dictionaries
(web/i18n/) from central/web/, no build step."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

WEB_DIR = Path(__file__).resolve().parent / "web"


def mount_web(app: FastAPI) -> None:
    """Serve the UI at / (mounted last, so API routes win)."""
    if not (WEB_DIR / "index.html").is_file():
        raise RuntimeError(f"web UI missing: {WEB_DIR / 'index.html'}")
    app.mount("/", StaticFiles(directory=WEB_DIR, html=True), name="web")
