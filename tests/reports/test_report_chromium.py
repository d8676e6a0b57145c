"""The HTML reports in headless Chromium: no console errors, every chart drawn, tables sort, the
key numbers on the page; a screenshot of each is kept in test-artifacts/reports/ (gitignored).

Needs the Debian package ``chromium`` (``apt-get install -y chromium``); skipped without it.
"""

from __future__ import annotations

import html
import json
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from forecast.pipeline import build_monthly_report, build_risk_report
from forecast.reports.document import find_section
from forecast.reports.i18n import Locale

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "reports"
pytestmark = pytest.mark.skipif(
    CHROMIUM is None, reason="headless Chromium not installed (apt-get install -y chromium)")

# Records errors, uncaught exceptions, failed loads and console.error calls, then clicks the
# second header of the first table and writes what it saw onto <html> for --dump-dom.
HOOK = """<script>
window.__errors = [];
window.addEventListener('error', function (e) {
  window.__errors.push(String(e.message || (e.target && (e.target.src || e.target.href)) || e));
}, true);
window.addEventListener('unhandledrejection', function (e) {
  window.__errors.push('unhandled rejection: ' + e.reason);
});
(function () { var original = console.error; console.error = function () {
  window.__errors.push(Array.prototype.join.call(arguments, ' '));
  original.apply(console, arguments); }; })();
window.addEventListener('load', function () {
  var table = document.querySelector('table.sortable');
  if (table) {
    table.tHead.rows[0].cells[1].click();
    var values = Array.prototype.map.call(table.tBodies[0].rows, function (r) {
      return r.cells[1].getAttribute('data-v'); });
    document.documentElement.setAttribute('data-sorted', JSON.stringify(values));
  }
  document.documentElement.setAttribute('data-errors', JSON.stringify(window.__errors));
});
</script>"""


def chromium(args: list[str], profile: Path) -> subprocess.CompletedProcess:
    command = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
               f"--user-data-dir={profile}", "--enable-logging=stderr", "--v=0", *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=120, check=True)


def rendered_dom(page: Path, tmp_path: Path) -> tuple[str, str]:
    """The DOM after load of an instrumented copy of ``page``, and Chromium's log."""
    instrumented = tmp_path / f"instrumented-{page.name}"
    instrumented.write_text(page.read_text(encoding="utf-8").replace("<head>", "<head>" + HOOK, 1),
                            encoding="utf-8")
    done = chromium(["--virtual-time-budget=5000", "--dump-dom", instrumented.as_uri()],
                    tmp_path / "profile")
    return done.stdout, done.stderr


def attribute(dom: str, name: str) -> str:
    match = re.search(rf'<html[^>]* {name}="([^"]*)"', dom)
    assert match, f"<html> has no {name}: the page's scripts did not run"
    return html.unescape(match.group(1))


def screenshot(page: Path, tmp_path: Path) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    target = ARTIFACTS / f"{page.stem}.png"
    chromium(["--window-size=1280,5000", f"--screenshot={target}", page.as_uri()],
             tmp_path / "profile")
    print(f"screenshot: {target}")
    return target


def test_the_error_hook_catches_errors(tmp_path):
    page = tmp_path / "broken.html"
    page.write_text("<!DOCTYPE html><html><head></head><body><script>notDefined();</script>"
                    "</body></html>", encoding="utf-8")
    dom, _ = rendered_dom(page, tmp_path)
    assert "notDefined" in attribute(dom, "data-errors")


def check_page(page: Path, report: dict, tmp_path: Path) -> str:
    dom, log = rendered_dom(page, tmp_path)
    assert json.loads(attribute(dom, "data-errors")) == []
    assert "Uncaught" not in log and ":CONSOLE(" not in log, log
    tables = sum(len(s["tables"]) for s in report["sections"])
    assert int(attribute(dom, "data-sortable-tables")) == tables
    sorted_values = [float(v) for v in json.loads(attribute(dom, "data-sorted")) if v]
    assert sorted_values == sorted(sorted_values) and len(sorted_values) > 1
    charts = [c["kind"] for s in report["sections"] for c in s["charts"]]
    svgs = re.findall(r'<svg [^>]*data-chart="(\w+)"[^>]*>(.*?)</svg>', dom, flags=re.DOTALL)
    assert [kind for kind, _ in svgs] == charts
    for kind, body in svgs:
        assert len(re.findall(r"<(rect|polyline|polygon|line)\b", body)) >= 3, kind
    return dom


BLUE, GREEN, RED = (31, 95, 168), (46, 125, 50), (198, 40, 40)


def check_screenshot(path: Path, colours: tuple[tuple[int, int, int], ...]) -> None:
    """The page is drawn, not blank: each chart colour covers a visible area."""
    image = Image.open(path).convert("RGB")
    assert image.size == (1280, 5000)
    pixels = np.asarray(image.resize((320, 1250)), dtype=int)
    for colour in colours:
        near = int((np.abs(pixels - np.array(colour)).sum(axis=2) < 60).sum())
        assert near > 30, (path, colour, near)


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_monthly_report_in_chromium(synthetic_config, tmp_path, lang):
    result = build_monthly_report(synthetic_config, "2026-10", lang=lang,
                                  formats=["html", "json"], out_dir=tmp_path / "out")
    report = json.loads(Path(result.files["json"]).read_text(encoding="utf-8"))
    page = Path(result.files["html"])
    dom = check_page(page, report, tmp_path)
    loc = Locale(lang)
    revenue = {m["key"]: m["value"] for m in find_section(report, "revenue")["metrics"]}
    for text in (report["title"], loc.money(revenue["revenue"]), loc.pct(revenue["mom"], True),
                 loc.money(revenue["ytd_target"])):
        assert html.escape(text) in dom, text
    assert len(report["sections"][0]["charts"]) == 0
    assert [c["kind"] for s in report["sections"] for c in s["charts"]] == [
        "trend", "waterfall", "bars", "funnel"]
    check_screenshot(screenshot(page, tmp_path), (BLUE, GREEN, RED))


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_risk_report_in_chromium(synthetic_config, tmp_path, lang):
    result = build_risk_report(synthetic_config, lang=lang, formats=["html", "json"],
                               out_dir=tmp_path / "out")
    report = json.loads(Path(result.files["json"]).read_text(encoding="utf-8"))
    page = Path(result.files["html"])
    dom = check_page(page, report, tmp_path)
    k = {m["key"]: m["value"] for m in find_section(report, "concentration")["metrics"]}
    assert Locale(lang).pct(k["top10_share"]) in dom
    assert [c["kind"] for s in report["sections"] for c in s["charts"]] == ["heatmap", "bars"]
    check_screenshot(screenshot(page, tmp_path), (RED, GREEN))
