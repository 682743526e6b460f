"""The QMS status report of a unit subtree as known at T: data, JSON, CSV and HTML.

`build_report` (build.py) reads the facts (facts.py) and stamps them (stamp.py); the
renderings are csv.py and html.py. This face re-exports the public names.
"""

from __future__ import annotations

from projections.reports.build import REPORT_FORMAT, StatusReport, build_report
from projections.reports.csv import render_csv
from projections.reports.html import render_html
from projections.reports.stamp import LedgerKeyEntry, ReportLedger

__all__ = [
    "REPORT_FORMAT",
    "LedgerKeyEntry",
    "ReportLedger",
    "StatusReport",
    "build_report",
    "render_csv",
    "render_html",
]
