"""A report document as PDF: the HTML report printed by headless Chromium.

Directors forward reports by mail; the PDF is the HTML page (its charts are inline SVG, so they
print as vectors) with print rules added: no navigation bar, each section from a new page, no
chart or table row cut in two. Chromium is found on the PATH (``chromium``, ``chromium-browser``
or ``google-chrome``); without it ``pdf`` cannot be rendered and the error says how to install
it.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

from forecast.errors import ConfigError
from forecast.reports.html import render_html

BROWSERS = ("chromium", "chromium-browser", "google-chrome")
TIMEOUT_SECONDS = 120
PRINT_CSS = """
@page{size:A4;margin:12mm 10mm}
@media print{
 body{background:#fff;-webkit-print-color-adjust:exact;print-color-adjust:exact}
 nav{display:none}
 main{padding:0;max-width:none}
 section{break-before:page;border:none;margin:0;padding:0 2mm}
 main>section:first-of-type{break-before:avoid}
 figure,svg,.metric,tr,h2,h3{break-inside:avoid}
 h2,h3{break-after:avoid}
 .table-wrap{overflow:visible}
 table{font-size:9px;width:100%}
 th{cursor:auto}
}
"""


def browser() -> str | None:
    """The path of a headless Chromium on this machine, or None."""
    return next((path for name in BROWSERS if (path := shutil.which(name))), None)


def pdf_bytes(report: dict) -> bytes:
    """The report printed to PDF by headless Chromium (sections on new pages, charts intact).

    Raises:
        ConfigError: no Chromium on the PATH, or Chromium could not print the page.
    """
    program = browser()
    if program is None:
        raise ConfigError("the pdf format needs headless Chromium on the PATH (Debian: "
                          "`apt-get install chromium`); other formats: html, md, json, xlsx")
    page = render_html(report).replace("</style>", PRINT_CSS + "</style>", 1)
    with tempfile.TemporaryDirectory(prefix="forecast-pdf-") as folder:
        source, target = Path(folder) / "report.html", Path(folder) / "report.pdf"
        source.write_text(page, encoding="utf-8")
        command = [program, "--headless", "--no-sandbox", "--disable-gpu",
                   "--no-pdf-header-footer", f"--user-data-dir={Path(folder) / 'profile'}",
                   f"--print-to-pdf={target}", source.as_uri()]
        try:
            done = subprocess.run(command, capture_output=True, text=True,
                                  timeout=TIMEOUT_SECONDS, check=False)
        except subprocess.TimeoutExpired:
            raise ConfigError(f"{program} did not print the report to PDF within "
                              f"{TIMEOUT_SECONDS} s") from None
        if not target.is_file() or target.stat().st_size == 0:
            raise ConfigError(f"{program} could not print the report to PDF (exit "
                              f"{done.returncode}): {done.stderr.strip()[-500:]}")
        return target.read_bytes()
