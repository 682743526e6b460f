"""The locust users of the web benchmark (`bench/web_bench.py` runs this file).

Each simulated user signs in as a different demo person (the CSRF token read from
the sign-in form) and then, for the run's fixed duration, loops over a weighted mix:
the five registers with and without filters and search, record pages of random
records of the person's unit, registers as known at random instants, the dashboard
(the unit alone and the subtree), and the person's own form posts: a draft edit
(authors), a measurement correction (indicator owners) and an e-signature
(approvers, on revisions waiting for approval). A post first reads its form (the
command id, the record's version and the CSRF token come from it), then posts it;
only the post is timed under the post's name.

The plan (people, records, instants) is the JSON file named by QMS_WEB_BENCH_PLAN;
every request's name, milliseconds and status go, one JSON line each, to the file
named by QMS_WEB_BENCH_SAMPLES when the run stops.
"""

from __future__ import annotations

import itertools
import json
import os
import random
import re
import time
from html.parser import HTMLParser
from typing import Any

from locust import HttpUser, between, events, task
from locust.exception import StopUser

PLAN: dict[str, Any] = json.loads(
    open(os.environ["QMS_WEB_BENCH_PLAN"], encoding="utf-8").read()  # noqa: SIM115
)
_PERSONAS = itertools.cycle(PLAN["personas"])
_SAMPLES: list[tuple[str, float, int, bool, float]] = []
REGISTERS = ("documents", "audits", "findings", "indicators", "reviews")


@events.request.add_listener
def _record(
    request_type: str,
    name: str,
    response_time: float,
    response_length: int,
    response: Any = None,
    exception: BaseException | None = None,
    **_: Any,
) -> None:
    status = int(getattr(response, "status_code", 0) or 0)
    _SAMPLES.append(
        (name, float(response_time), status, exception is None, time.time())
    )


@events.quitting.add_listener
def _write(**_: Any) -> None:
    with open(os.environ["QMS_WEB_BENCH_SAMPLES"], "w", encoding="utf-8") as out:
        for name, ms, status, ok, at in _SAMPLES:
            sample = {"name": name, "ms": ms, "status": status, "ok": ok, "at": at}
            out.write(json.dumps(sample))
            out.write("\n")


class _Inputs(HTMLParser):
    """The named inputs of the first form whose action matches, with their values."""

    def __init__(self, action: str) -> None:
        super().__init__()
        self.action = action
        self.inside = False
        self.done = False
        self.fields: dict[str, str] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form" and not self.done and a.get("method", "").lower() == "post":
            self.inside = self.action in a.get("action", "") or not a.get("action")
        elif tag == "input" and self.inside and a.get("name"):
            if a.get("type") in ("checkbox", "radio") and "checked" not in a:
                return
            self.fields.setdefault(a["name"], a.get("value", ""))

    def handle_endtag(self, tag: str) -> None:
        if tag == "form" and self.inside:
            self.inside = False
            self.done = True


def form_fields(html: str, action: str) -> dict[str, str]:
    """Return the inputs of the post form aimed at `action` on the page `html`."""
    parser = _Inputs(action)
    parser.feed(html)
    return parser.fields


_CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


class Clerk(HttpUser):
    """One demo person at work: reads registers and records, and records their part."""

    wait_time = between(0.5, 1.5)

    def on_start(self) -> None:
        self.p: dict[str, Any] = next(_PERSONAS)
        page = self.client.get("/login", name="sign-in form")
        token = _CSRF.search(page.text)
        with self.client.post(
            "/login",
            data={
                "csrf_token": token.group(1) if token else "",
                "user_id": self.p["user_id"],
                "password": self.p["password"],
            },
            name="sign-in post",
            allow_redirects=False,
            catch_response=True,
        ) as answer:
            if answer.status_code != 302:
                answer.failure(f"{self.p['user_id']} could not sign in")
                raise StopUser()
        self.endorsed: list[str] = list(self.p.get("endorsed", []))
        self.corrections = itertools.count(1)

    # --- pages ---------------------------------------------------------------------

    def _page(self, path: str, name: str, params: dict[str, str] | None = None) -> Any:
        """GET a page; anything but the page itself (a sign-in form) is a failure."""
        with self.client.get(
            path, params=params, name=name, catch_response=True
        ) as page:
            if page.status_code == 200 and "/login" in page.url:
                page.failure("sent to the sign-in form")
            return page

    @task(10)
    def register(self) -> None:
        kind = random.choice(REGISTERS)
        self._page(f"/{kind}", f"register: {kind}")

    @task(10)
    def register_filtered(self) -> None:
        kind = random.choice(REGISTERS)
        unit = self.p["unit"]
        words = PLAN["searches"].get(kind) or [""]
        params: dict[str, str] = {
            "documents": {"status": "effective", "unit": unit},
            "audits": {"status": "closed"},
            "findings": {"open": "1", "filtered": "1", "subtree": "1"},
            "indicators": {"status": "active", "unit": unit},
            "reviews": {"unit": unit, "subtree": "0"},
        }[kind]
        params["q"] = random.choice(words)
        self._page(f"/{kind}", f"register: {kind}, filtered", params)

    @task(15)
    def record(self) -> None:
        kinds = [k for k in REGISTERS if self.p["records"].get(k)]
        if not kinds:
            return
        kind = random.choice(kinds)
        record_id = random.choice(self.p["records"][kind])
        self._page(f"/{kind}/{record_id}", f"record: {kind}")

    @task(5)
    def register_as_of(self) -> None:
        kind = random.choice(REGISTERS)
        self._page(
            f"/{kind}", "register as of T", {"as_of": random.choice(PLAN["instants"])}
        )

    @task(4)
    def dashboard(self) -> None:
        self._page("/dashboard", "dashboard: unit", {"subtree": "0"})

    @task(2)
    def dashboard_subtree(self) -> None:
        self._page(
            "/dashboard", "dashboard: HQ subtree", {"unit": PLAN["top"], "subtree": "1"}
        )

    # --- posts ---------------------------------------------------------------------

    def _post(self, path: str, name: str, values: dict[str, str]) -> None:
        form = self._page(path, f"form page: {name}")
        if form.status_code != 200:
            return
        data = form_fields(form.text, path)
        data.update(values)
        with self.client.post(
            path,
            data=data,
            name=f"post: {name}",
            allow_redirects=False,
            catch_response=True,
        ) as answer:
            if answer.status_code != 302:
                answer.failure(f"{answer.status_code}: not recorded")

    @task(3)
    def post(self) -> None:
        role = self.p["role"]
        if role == "author" and self.p.get("drafts"):
            doc_id = random.choice(self.p["drafts"])
            self._post(
                f"/documents/{doc_id}/update",
                "document draft edit",
                {"title": f"Draft {doc_id} ({random.randrange(10**6)})"},
            )
        elif role == "owner" and self.p.get("measured"):
            indicator_id, period, value = random.choice(self.p["measured"])
            self._post(
                f"/indicators/{indicator_id}/correct",
                "measurement correction",
                {
                    "period": period,
                    "value": f"{float(value) * random.uniform(0.95, 1.05):.2f}",
                    "reason": f"Recount {next(self.corrections)} of the period",
                },
            )
        elif role == "approver" and self.endorsed:
            doc_id = self.endorsed.pop()
            self._post(
                f"/documents/{doc_id}/approve",
                "e-signature (approve)",
                {"password": self.p["password"]},
            )
