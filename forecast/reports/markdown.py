"""A report document as Markdown: headings, notes, sentences, metrics and pipe tables.

Charts are left to the HTML report; every number they show is also in a table here.
"""

from __future__ import annotations

from forecast.reports.i18n import NUMERIC, Locale


def _escape(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def render_table(table: dict, loc: Locale) -> list[str]:
    """A pipe table with formatted values (numbers right-aligned)."""
    lines = [f"### {table['title']}", ""] if table["title"] else []
    if table.get("note"):
        lines += [f"_{table['note']}_", ""]
    if not table["rows"]:
        return lines + ["-", ""]
    lines.append("| " + " | ".join(_escape(c["label"]) for c in table["columns"]) + " |")
    lines.append("|" + "|".join("---:" if c["kind"] in NUMERIC else "---"
                                for c in table["columns"]) + "|")
    for row in table["rows"]:
        cells = [_escape(loc.cell(row.get(c["key"]), c)) for c in table["columns"]]
        lines.append("| " + " | ".join(cells) + " |")
    return lines + [""]


def render_section(section: dict, loc: Locale) -> list[str]:
    """One section as Markdown lines."""
    lines = [f"## {section['title']}", ""]
    if section.get("note"):
        lines += [f"> {section['note']}", ""]
    if section["status"] == "omitted":
        return lines
    lines += [line for p in section["paragraphs"] for line in (p, "")]
    if section["metrics"]:
        lines += ["| | |", "|---|---:|"]
        lines += [f"| {_escape(m['label'])} | {loc.format(m['value'], m['kind'])} |"
                  for m in section["metrics"]]
        lines.append("")
    for table in section["tables"]:
        lines += render_table(table, loc)
    return lines


def render_markdown(report: dict) -> str:
    """The whole report as Markdown text."""
    loc = Locale(report["lang"], report.get("currency", ""), report.get("currency_unit", "yuan"))
    lines = [f"# {report['title']}", "", f"_{report['subtitle']}_", ""]
    for section in report["sections"]:
        lines += render_section(section, loc)
    return "\n".join(lines).rstrip() + "\n"
