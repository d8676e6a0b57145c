"""``--format pdf``: the HTML report printed by headless Chromium, opened with pypdf: sections
start on new pages, the text and the numbers are there (Chinese too), the charts are drawn.

Needs the Debian package ``chromium``; skipped without it. ``pypdf`` is a dev dependency.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from forecast.cli import main
from forecast.errors import ConfigError
from forecast.pipeline import build_monthly_report, build_risk_report
from forecast.reports import pdf
from forecast.reports.document import find_section
from forecast.reports.i18n import Locale

pypdf = pytest.importorskip("pypdf", reason="pypdf is a dev dependency (pip install -e .[dev])")
pytestmark = pytest.mark.skipif(
    pdf.browser() is None, reason="headless Chromium not installed (apt-get install -y chromium)")


def _pages(path: str) -> list[str]:
    reader = pypdf.PdfReader(path)
    return [re.sub(r"\s+", " ", page.extract_text() or "") for page in reader.pages]


def _squeezed(text: str) -> str:
    return re.sub(r"\s+", "", text)


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_monthly_report_as_pdf(synthetic_config, tmp_path, lang):
    result = build_monthly_report(synthetic_config, "2026-10", lang=lang,
                                  formats=["json", "pdf"], out_dir=tmp_path)
    path = result.files["pdf"]
    assert path.endswith(".pdf") and Path(path).read_bytes().startswith(b"%PDF")
    report = json.loads(Path(result.files["json"]).read_text(encoding="utf-8"))
    pages = _pages(path)
    sections = [s for s in report["sections"] if s["status"] == "ok"]
    # Every section starts on a page of its own (the summary shares the first with the title).
    assert len(pages) >= len(sections)
    starts = {}
    for s in sections[1:]:  # a page starts with the section's title
        hits = [i for i, text in enumerate(pages)
                if _squeezed(text).startswith(_squeezed(s["title"]))]
        assert hits, (s["key"], s["title"], [p[:40] for p in pages])
        starts[s["key"]] = hits[0]
    assert _squeezed(pages[0]).startswith(_squeezed(report["title"] + sections[0]["title"]))
    order = [0, *starts.values()]
    assert order == sorted(order) and len(set(order)) == len(order), starts
    loc = Locale(lang)
    revenue = find_section(report, "revenue")["metrics"]
    value = loc.money(next(m["value"] for m in revenue if m["key"] == "revenue"))
    assert _squeezed(value) in _squeezed(pages[starts["revenue"]])
    # The charts print as vector drawings: the trend chart's axis labels and title are text.
    chart = find_section(report, "revenue")["charts"][0]
    assert chart["periods"][0][:7] in pages[starts["revenue"]]
    assert _squeezed(chart["title"]) in _squeezed(pages[starts["revenue"]])


def test_risk_report_as_pdf_from_the_command_line(synthetic_config, tmp_path, write_config):
    result = build_risk_report(synthetic_config, formats=["pdf"], out_dir=tmp_path / "a")
    assert len(pypdf.PdfReader(result.files["pdf"]).pages) >= 4
    config = write_config({"sources": [], "workspace": str(synthetic_config.workspace)})
    out = CliRunner().invoke(main, ["report", "risk", "--config", str(config), "--format",
                                    "pdf,html", "--out", str(tmp_path / "b"), "--json"])
    assert out.exit_code == 0, out.output
    files = json.loads(out.stdout)["files"]
    assert set(files) == {"pdf", "html"} and files["pdf"].endswith(".pdf")


def test_without_chromium_pdf_says_how_to_install_it(monkeypatch):
    monkeypatch.setattr(pdf, "browser", lambda: None)
    with pytest.raises(ConfigError, match="apt-get install chromium"):
        pdf.pdf_bytes({"report": "risk"})
