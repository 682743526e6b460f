"""The printable HTML page of the QMS status report. Pure: report data in, text out.

One self-contained page (no scripts, no external files), readable on screen and on
paper: summary figures first, then documents, findings, audits and indicators, with
charts where a manager would rather look than read, and the ledger stamp that lets a
reader prove which history the report was built from.
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence

from ledger.integrity.canonical import JSONValue

_CSS = """
body{font-family:"Noto Sans CJK SC","Noto Sans",sans-serif;margin:2em;color:#1d2733}
h1{font-size:1.5em;margin-bottom:.2em}h2{font-size:1.15em;margin-top:1.6em;
border-bottom:2px solid #4a6fa5;padding-bottom:.2em}
.sub{color:#566}.tiles{display:flex;flex-wrap:wrap;gap:.8em;margin:1em 0}
.tile{border:1px solid #c9d3de;border-radius:6px;padding:.6em 1em;min-width:9em}
.tile b{display:block;font-size:1.6em}.tile.bad b{color:#b3261e}
table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #c9d3de;
padding:3px 8px;font-size:12px;text-align:left}th{background:#eef2f7}
td.num{text-align:right}.grid td.p{min-width:3em;text-align:center;font-size:11px}.grid th{white-space:nowrap}
.grid td.name{min-width:14em}
.met{background:#d7f0dc}.missed{background:#f8d7d4}.none{background:#eee}
.stamp{border:1px solid #c9d3de;background:#f7f9fb;padding:.6em 1em;font-size:12px}
.stamp code,.stamp pre{font-size:11px;word-break:break-all;white-space:pre-wrap}
@media print{body{margin:0}h2{break-after:avoid}table{break-inside:avoid}}
"""


def _m(value: JSONValue) -> Mapping[str, JSONValue]:
    return value if isinstance(value, Mapping) else {}


def _l(value: JSONValue) -> Sequence[JSONValue]:
    return value if isinstance(value, list) else []


def _s(value: JSONValue) -> str:
    return "" if value is None else html.escape(str(value))


def _n(value: JSONValue) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def _tile(label: str, value: JSONValue, *, bad: bool = False) -> str:
    shown = "&ndash;" if value is None else _s(value)
    cls = "tile bad" if bad else "tile"
    return f'<div class="{cls}"><b>{shown}</b>{html.escape(label)}</div>'


def _bars(title: str, counts: Sequence[tuple[str, int]], colour: str) -> str:
    """A horizontal bar chart as inline SVG."""
    width, bar_h, gap, label_w = 460, 20, 8, 150
    peak = max([c for _, c in counts] + [1])
    height = len(counts) * (bar_h + gap) + gap
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'role="img" aria-label="{html.escape(title)}">'
    ]
    for idx, (name, count) in enumerate(counts):
        y = gap + idx * (bar_h + gap)
        w = (width - label_w - 40) * count // peak
        parts.append(
            f'<text x="0" y="{y + 14}" font-size="12">{html.escape(name)}</text>'
            f'<rect x="{label_w}" y="{y}" width="{w}" height="{bar_h}" fill="{colour}"/>'
            f'<text x="{label_w + w + 6}" y="{y + 14}" font-size="12">{count}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def _table(head: Sequence[str], rows: Sequence[Sequence[str]], empty: str) -> str:
    if not rows:
        return f"<p class=sub>{html.escape(empty)}</p>"
    cells = "".join(
        "<tr>" + "".join(f"<td>{c}</td>" for c in r) + "</tr>" for r in rows
    )
    header = "".join(f"<th>{html.escape(h)}</th>" for h in head)
    return f"<table><tr>{header}</tr>{cells}</table>"


def _documents(docs: Mapping[str, JSONValue]) -> str:
    by_status = _m(docs.get("by_status"))
    chart = _bars(
        "Documents by status",
        [(str(k), _n(v)) for k, v in sorted(by_status.items())],
        "#4a6fa5",
    )
    overdue = [
        [_s(d.get("doc_id")), _s(d.get("revision")), _s(d.get("title")),
         _s(d.get("unit")), _s(d.get("next_review_due"))]
        for d in map(_m, _l(docs.get("overdue_reviews")))
    ]  # fmt: skip
    return (
        "<h2>Controlled documents [7.5]</h2>"
        + chart
        + "<h3>Periodic reviews overdue</h3>"
        + _table(
            ["document", "revision", "title", "unit", "review due"],
            overdue,
            "No periodic review is overdue.",
        )
    )


def _findings(f: Mapping[str, JSONValue]) -> str:
    by_class = _m(f.get("open_by_classification"))
    chart = _bars(
        "Open findings by classification",
        [(str(k), _n(v)) for k, v in by_class.items()],
        "#b3541e",
    )
    overdue = [
        [_s(x.get("finding_id")), _s(x.get("classification")), _s(x.get("unit")),
         _s(x.get("due_on"))]
        for x in map(_m, _l(f.get("overdue")))
    ]  # fmt: skip
    return (
        "<h2>Findings and corrective actions [10.2]</h2>"
        "<h3>Open findings by classification</h3>"
        + chart
        + "<h3>Overdue</h3>"
        + _table(
            ["finding", "classification", "unit", "due"],
            overdue,
            "No open finding is overdue.",
        )
    )


def _audits(a: Mapping[str, JSONValue]) -> str:
    rows = []
    for programme, counts in sorted(_m(a.get("by_programme")).items()):
        c = _m(counts)
        planned, done = _n(c.get("planned")), _n(c.get("done"))
        share = 100 * done // planned if planned else 0
        bar = (
            '<svg xmlns="http://www.w3.org/2000/svg" width="160" height="12">'
            '<rect width="160" height="12" fill="#e3e8ef"/>'
            f'<rect width="{160 * share // 100}" height="12" fill="#2e7d4f"/></svg>'
        )
        rows.append(
            [_s(programme), str(planned), str(done), str(_n(c.get("cancelled"))), bar]
        )
    return "<h2>Internal audits [9.2]</h2>" + _table(
        ["programme", "planned", "done", "cancelled", "done of planned"],
        rows,
        "No audit is planned.",
    )


def _indicators(items: Sequence[JSONValue]) -> str:
    periods = sorted(
        {str(_m(p).get("period")) for i in items for p in _l(_m(i).get("periods"))}
    )
    shown = periods[-12:]  # the last twelve periods fit a printed page
    head = "".join(f"<th>{html.escape(p)}</th>" for p in shown)
    rows = []
    for item in map(_m, items):
        cells = {str(_m(p).get("period")): _m(p) for p in _l(item.get("periods"))}
        tds = []
        for period in shown:
            cell = cells.get(period)
            if cell is None:
                tds.append('<td class="p"></td>')
                continue
            met = cell.get("met")
            cls = "p met" if met is True else "p missed" if met is False else "p none"
            tip = f"target {_s(cell.get('target'))}"
            tds.append(f'<td class="{cls}" title="{tip}">{_s(cell.get("value"))}</td>')
        rows.append(
            f"<tr><th>{_s(item.get('indicator_id'))}</th><td class='name'>{_s(item.get('name'))}</td>"
            f"<td>{_s(item.get('measure'))}</td>"
            f'<td class="num">{_n(item.get("met"))}</td>'
            f'<td class="num">{_n(item.get("missed"))}</td>{"".join(tds)}</tr>'
        )
    if not rows:
        return "<h2>Indicators and quality objectives [6.2, 9.1]</h2><p class=sub>No indicator.</p>"
    return (
        "<h2>Indicators and quality objectives [6.2, 9.1]</h2>"
        "<p class=sub>Green: target met, red: missed, against the target in force "
        "for that period.</p>"
        '<table class="grid"><tr><th>indicator</th><th>name</th><th>measure</th>'
        f"<th>met</th><th>missed</th>{head}</tr>{''.join(rows)}</table>"
    )


def _covering(covering: Mapping[str, JSONValue]) -> str:
    """The checkpoint covering a prefix that has none of its own, or nothing."""
    if not covering:
        return ""
    proof = "\n".join(str(h) for h in _l(covering.get("consistency_proof")))
    return (
        "<p>No key in force can sign that prefix any more (a key rotation followed); "
        "the checkpoint that sealed its key's epoch covers it:</p>"
        f"<pre>{_s(covering.get('note'))}</pre>"
        "<p>RFC 9162 consistency proof from the prefix to that checkpoint:</p>"
        f"<pre>{html.escape(proof) or '(empty)'}</pre>"
    )


def render_html(data: Mapping[str, JSONValue], digest: str) -> str:
    """Return the report as one printable, self-contained HTML page."""
    ledger = _m(data.get("ledger"))
    docs = _m(data.get("documents"))
    finds = _m(data.get("findings"))
    audits = _m(data.get("audits"))
    scope = data.get("unit") or "all units"
    title = f"QMS status report: {scope}"
    by_status = _m(docs.get("by_status"))
    tiles = "".join(
        [
            _tile("documents", docs.get("total")),
            _tile("effective", by_status.get("effective", 0)),
            _tile("reviews overdue", len(_l(docs.get("overdue_reviews"))),
                  bad=bool(_l(docs.get("overdue_reviews")))),
            _tile("open findings", finds.get("open")),
            _tile("findings overdue", len(_l(finds.get("overdue"))),
                  bad=bool(_l(finds.get("overdue")))),
            _tile("median days to close", finds.get("median_days_to_close")),
            _tile("closed on time %", finds.get("on_time_closure_percent")),
            _tile("audits done / planned",
                  f"{_n(audits.get('done'))} / {_n(audits.get('planned'))}"),
        ]
    )  # fmt: skip
    units = ", ".join(str(u) for u in _l(data.get("units")))
    return (
        '<!DOCTYPE html>\n<html lang="zh-CN"><head><meta charset="utf-8">'
        f"<title>{html.escape(title)}</title><style>{_CSS}</style></head><body>"
        f"<h1>{html.escape(title)}</h1>"
        f"<p class=sub>As known at {_s(data.get('as_of'))} · units: {html.escape(units)}</p>"
        f'<div class="tiles">{tiles}</div>'
        + _documents(docs)
        + _findings(finds)
        + _audits(audits)
        + _indicators(_l(data.get("indicators")))
        + '<h2>Ledger stamp</h2><div class="stamp">'
        f"<p>Built from the first <b>{_s(ledger.get('size'))}</b> events of ledger "
        f"<code>{_s(ledger.get('origin'))}</code>, Merkle root "
        f"<code>{_s(ledger.get('root'))}</code>.</p>"
        f"<p>SHA-256 of this report's canonical JSON: <code>{html.escape(digest)}</code></p>"
        "<p>Signed checkpoint of that prefix (C2SP signed note):</p>"
        f"<pre>{_s(ledger.get('checkpoint')) or 'none: see docs/ledger-format.md'}</pre>"
        + _covering(_m(ledger.get("checkpoint_covering")))
        + "</div></body></html>\n"
    )
