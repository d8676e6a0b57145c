"""A report document as one self-contained HTML page: inline CSS, inline SVG charts, and a few
lines of inline script that make the tables sortable. No network, no external files."""

from __future__ import annotations

from html import escape

from forecast.reports.i18n import NUMERIC, Locale
from forecast.reports.svg import render_chart

CSS = """
body{font-family:-apple-system,"Segoe UI","Noto Sans CJK SC","Microsoft YaHei",
 "WenQuanYi Zen Hei",sans-serif;
 margin:0;color:#222;background:#f6f7f9}
header{background:#1f3b5a;color:#fff;padding:18px 28px}header h1{margin:0;font-size:22px}
header p{margin:4px 0 0;opacity:.85}
nav{padding:8px 28px;background:#fff;border-bottom:1px solid #ddd;font-size:13px}
nav a{margin-right:14px;color:#1f5fa8;text-decoration:none}
main{padding:8px 28px 40px;max-width:1200px}
section{background:#fff;border:1px solid #e1e4e8;border-radius:6px;margin:16px 0;padding:10px 18px}
section.omitted{background:#fafafa;color:#666}
h2{font-size:18px;margin:8px 0}h3{font-size:14px;margin:14px 0 6px}
.note{color:#555;font-size:13px}
.metrics{display:grid;grid-template-columns:repeat(auto-fill,minmax(190px,1fr));gap:8px;
 margin:8px 0}
.metric{border:1px solid #e1e4e8;border-radius:4px;padding:6px 10px}
.metric .label{font-size:12px;color:#555}.metric .value{font-size:18px;font-weight:600}
figure{margin:10px 0}
.table-wrap{overflow-x:auto}
table{border-collapse:collapse;font-size:12.5px;margin:4px 0 10px;min-width:40%}
th,td{border-bottom:1px solid #e6e6e6;padding:4px 8px;text-align:left;vertical-align:top}
td.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
th{background:#f0f3f6;cursor:pointer;user-select:none;white-space:nowrap}
th[aria-sort=ascending]::after{content:" \\25B2"}th[aria-sort=descending]::after{content:" \\25BC"}
"""

# Sorts by the raw value in data-v: numbers numerically, text by locale, blanks last.
SORT_SCRIPT = """
(function(){
  function key(cell){var v=cell.getAttribute('data-v');return v===null?cell.textContent:v;}
  function compare(a,b){
    if(a===''&&b==='')return 0;if(a==='')return 1;if(b==='')return -1;
    var x=Number(a),y=Number(b);
    if(!isNaN(x)&&!isNaN(y))return x-y;
    return String(a).localeCompare(String(b));
  }
  var tables=document.querySelectorAll('table.sortable');
  Array.prototype.forEach.call(tables,function(table){
    var heads=table.tHead.rows[0].cells;
    Array.prototype.forEach.call(heads,function(th,i){
      th.addEventListener('click',function(){
        var asc=th.getAttribute('aria-sort')!=='ascending';
        Array.prototype.forEach.call(heads,function(h){h.removeAttribute('aria-sort');});
        th.setAttribute('aria-sort',asc?'ascending':'descending');
        var body=table.tBodies[0],rows=Array.prototype.slice.call(body.rows);
        rows.sort(function(r,s){var c=compare(key(r.cells[i]),key(s.cells[i]));
          return asc?c:-c;});
        rows.forEach(function(r){body.appendChild(r);});
      });
    });
  });
  document.documentElement.setAttribute('data-sortable-tables',String(tables.length));
})();
"""

def _cell(value: object, column: dict, loc: Locale) -> str:
    raw = "" if value is None else str(value)
    cls = ' class="num"' if column["kind"] in NUMERIC else ""
    return f'<td{cls} data-v="{escape(raw)}">{escape(loc.cell(value, column))}</td>'


def render_table(table: dict, loc: Locale) -> str:
    """One sortable table; each cell keeps its raw value in ``data-v`` for sorting."""
    head = "".join(f"<th>{escape(c['label'])}</th>" for c in table["columns"])
    rows = "".join(
        "<tr>" + "".join(_cell(r.get(c["key"]), c, loc) for c in table["columns"])
        + "</tr>" for r in table["rows"])
    note = f'<p class="note">{escape(table["note"])}</p>' if table.get("note") else ""
    title = f'<h3>{escape(table["title"])}</h3>' if table["title"] else ""
    return (f'{title}{note}<div class="table-wrap">'
            f'<table class="sortable" data-table="{escape(table["key"])}"><thead><tr>{head}</tr>'
            f"</thead><tbody>{rows}</tbody></table></div>")


def _metrics(section: dict, loc: Locale) -> str:
    cards = "".join(
        f'<div class="metric" data-metric="{escape(m["key"])}"><div class="label">'
        f'{escape(m["label"])}</div><div class="value">{escape(loc.format(m["value"], m["kind"]))}'
        "</div></div>" for m in section["metrics"])
    return f'<div class="metrics">{cards}</div>' if cards else ""


def render_section(section: dict, loc: Locale) -> str:
    """One section: title, note, sentences, metric cards, charts and tables."""
    key, title = escape(section["key"]), escape(section["title"])
    note = f'<p class="note">{escape(section["note"])}</p>' if section.get("note") else ""
    if section["status"] == "omitted":
        return f'<section id="{key}" class="omitted"><h2>{title}</h2>{note}</section>'
    paragraphs = "".join(f"<p>{escape(p)}</p>" for p in section["paragraphs"])
    charts = "".join(f'<figure>{render_chart(c, loc)}</figure>' for c in section["charts"])
    tables = "".join(render_table(t, loc) for t in section["tables"])
    return (f'<section id="{key}"><h2>{title}</h2>{note}{paragraphs}{_metrics(section, loc)}'
            f"{charts}{tables}</section>")


def render_html(report: dict) -> str:
    """The whole report as one HTML page."""
    loc = Locale(report["lang"], report.get("currency", ""), report.get("currency_unit", "yuan"))
    nav = "".join(f'<a href="#{escape(s["key"])}">{escape(s["title"])}</a>'
                  for s in report["sections"])
    body = "".join(render_section(s, loc) for s in report["sections"])
    lang = "zh-CN" if report["lang"] == "zh" else "en"
    return (f'<!DOCTYPE html><html lang="{lang}"><head><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width,initial-scale=1">'
            f"<title>{escape(report['title'])}</title><style>{CSS}</style></head><body>"
            f"<header><h1>{escape(report['title'])}</h1><p>{escape(report['subtitle'])}</p>"
            f"</header><nav>{nav}</nav><main>{body}</main><script>{SORT_SCRIPT}</script>"
            "</body></html>\n")
