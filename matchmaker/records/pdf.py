"""HTML → PDF with WeasyPrint (Debian's pango underneath) and Japanese fonts from fonts-noto-cjk.

WeasyPrint is imported on first use: where pango is missing the site still runs, and the PDF links
answer 503 with a message saying what to install (`make pdf` installs it)."""

from __future__ import annotations

import logging
from functools import cache
from pathlib import Path

from matchmaker import REPO_ROOT

RECORD_CSS = REPO_ROOT / "static" / "css" / "record.css"
log = logging.getLogger(__name__)


@cache
def unavailable_reason() -> str | None:
    """Why PDFs cannot be made on this machine, or None when they can."""
    try:
        import weasyprint  # noqa: F401
    except (ImportError, OSError) as error:  # OSError: the pango library is not installed
        log.warning("PDF output is off: %s", error)
        return str(error)
    return None


def html_to_pdf(html: str, stylesheet: Path = RECORD_CSS) -> bytes:
    """Render a record's HTML with its print stylesheet. Nothing is fetched: the stylesheet comes
    from disk and every URL in the document (there are none but links) is refused."""
    from weasyprint import CSS, HTML
    from weasyprint.urls import URLFetcher

    no_fetching = URLFetcher(allowed_protocols=())
    document = HTML(string=html, url_fetcher=no_fetching)
    pdf = document.write_pdf(stylesheets=[CSS(filename=str(stylesheet), url_fetcher=no_fetching)])
    assert pdf is not None
    return bytes(pdf)
