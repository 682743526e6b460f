"""The printable report page: every figure a reader needs, nothing a browser would run."""

from __future__ import annotations

from projections.reports.html import render_html

DATA = {
    "unit": "BJ",
    "units": ["BJ", "BJ-LAB"],
    "as_of": "2026-06-30T12:00:00.000000Z",
    "ledger": {
        "origin": "qms.test/ledger",
        "size": 42,
        "root": "ab" * 32,
        "checkpoint": "qms.test/ledger\n42\nq80=\n",
    },
    "documents": {
        "total": 3,
        "by_status": {"effective": 2, "drafted": 1},
        "overdue_reviews": [
            {
                "doc_id": "QP-07",
                "revision": "B",
                "title": "<script>alert(1)</script>",
                "unit": "BJ",
                "next_review_due": "2026-01-01",
            }
        ],
    },
    "findings": {
        "open": 2,
        "open_by_classification": {
            "major": 1,
            "minor": 1,
            "observation": 0,
            "opportunity": 0,
        },
        "overdue": [
            {
                "finding_id": "2026-0042",
                "classification": "major",
                "unit": "BJ",
                "due_on": "2026-05-01",
            }
        ],
        "median_days_to_close": "12.5",
        "on_time_closure_percent": "80.0",
    },
    "audits": {
        "by_programme": {"2026": {"planned": 4, "done": 1, "cancelled": 0}},
        "planned": 4,
        "done": 1,
    },
    "indicators": [
        {
            "indicator_id": "BJ-OTR",
            "name": "检验报告按时出具率",
            "measure": "%",
            "met": 1,
            "missed": 1,
            "periods": [
                {"period": "2026-04", "value": "97.20", "target": "95.00", "met": True},
                {
                    "period": "2026-05",
                    "value": "93.10",
                    "target": "95.00",
                    "met": False,
                },
            ],
        }
    ],
}


def test_page_carries_the_figures_the_stamp_and_the_charts() -> None:
    page = render_html(DATA, "cd" * 32)
    assert "QMS status report: BJ" in page
    assert "As known at 2026-06-30T12:00:00.000000Z" in page
    assert page.count("<svg") >= 3  # documents, findings, audit progress
    assert 'class="p met" title="target 95.00">97.20' in page
    assert 'class="p missed" title="target 95.00">93.10' in page
    assert "检验报告按时出具率" in page
    assert "2026-0042" in page
    assert "ab" * 32 in page
    assert "cd" * 32 in page
    assert "qms.test/ledger\n42\nq80=" in page


def test_record_text_is_escaped() -> None:
    page = render_html(DATA, "cd" * 32)
    assert "<script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
