"""The log read as transparency tools read it: checkpoint, tiles, entry bundles, proofs.

One ledger of 70,000 events is grown once for the module (batched appends through the
store, SQLite file); at each size of SIZES the served checkpoint is fetched, which
signs that size. The roots are then rebuilt from the tiles served over HTTP by the
independent tile reader of tests.support.tlog_tiles.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

import pytest
from flask import Flask
from flask.testing import FlaskClient

from ledger.clock import FixedClock
from ledger.errors import VerificationError
from ledger.integrity.checkpoint import verify_checkpoint
from ledger.integrity.signing import SigningKey
from ledger.integrity.tlog_proof import verify_proof
from ledger.store import EventStore, create_engine_for, migrate
from tests.support import tlog_tiles as tt
from tests.support.builders import new_event
from tests.support.origin import ORIGIN
from tests.support.webapp import make_web_app

SIZES = (1, 255, 256, 257, 65_536, 70_000)
_BATCH = 2_000


@dataclass
class Log:
    app: Flask
    public: bytes
    notes: dict[int, str]  # size -> the checkpoint served at that size

    def client(self) -> FlaskClient:
        return self.app.test_client()

    def fetch(self, where: str) -> bytes:
        response = self.client().get(f"/ledger/{where}")
        assert response.status_code == 200, where
        return response.data


@pytest.fixture(scope="module")
def log(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Log]:
    folder = tmp_path_factory.mktemp("log")
    engine = create_engine_for(f"sqlite:///{folder / 'ledger.sqlite3'}")
    migrate(engine)
    signer = SigningKey.generate()
    clock = FixedClock(datetime(2026, 1, 5, 8, 0, tzinfo=UTC))
    store = EventStore(engine, signer, ORIGIN, clock=clock)
    store.initialize()
    app = make_web_app(store, signer, clock, folder / "instance")
    client = app.test_client()
    notes: dict[int, str] = {}
    for target in SIZES:
        while (n := store.size()) < target:
            count = min(_BATCH, target - n)
            stream = f"document/QP-{n // _BATCH:04d}-{target}"
            store.append([new_event(stream=stream) for _ in range(count)])
        response = client.get("/ledger/checkpoint")
        assert response.status_code == 200
        notes[target] = response.get_data(as_text=True)
    try:
        yield Log(app, signer.public_raw, notes)
    finally:
        app.extensions["qms.store"].engine.dispose()
        engine.dispose()


@pytest.mark.parametrize("size", SIZES)
def test_the_root_rebuilt_from_served_tiles_is_the_signed_one(
    log: Log, size: int
) -> None:
    checkpoint = verify_checkpoint(log.notes[size], ORIGIN, [log.public])
    assert checkpoint.size == size
    reader = tt.TileReader(log.fetch, size)
    assert reader.root() == checkpoint.root


def test_entry_bundles_rebuild_the_level_0_tiles(log: Log) -> None:
    size = SIZES[-1]
    for index in range(-(-size // 256)):
        width = tt.width_in(0, index, size)
        entries = tt.bundle_entries(log.fetch(tt.path("entries", index, width)))
        tile = log.fetch(tt.path(0, index, width))
        assert len(entries) == width
        assert all(len(e) == 32 for e in entries)
        assert b"".join(tt.leaf(e) for e in entries) == tile, index


def test_higher_tiles_hold_the_roots_of_the_tiles_below(log: Log) -> None:
    size = SIZES[-1]
    reader = tt.TileReader(log.fetch, size)
    level1 = reader.tile(1, 0) + reader.tile(1, 1)
    assert len(level1) == size // 256
    for i, hash_ in enumerate(level1):
        assert hash_ == tt.mth(reader.tile(0, i))
    (level2,) = reader.tile(2, 0)  # one subtree of 65,536 leaves so far
    assert level2 == tt.mth(reader.tile(1, 0))


@pytest.mark.parametrize("size", SIZES)
def test_partial_tiles_have_the_width_of_each_checkpointed_size(
    log: Log, size: int
) -> None:
    client = log.client()
    for level in range(3):
        count = size >> (8 * level)
        index, width = divmod(count, 256)
        if width:
            data = client.get("/ledger/" + tt.path(level, index, width)).data
            assert len(data) == 32 * width
            if level == 0:
                bundle = client.get("/ledger/" + tt.path("entries", index, width))
                assert len(tt.bundle_entries(bundle.data)) == width
        if width > 1:  # a width no checkpoint has
            other = client.get("/ledger/" + tt.path(level, index, width - 1))
            assert other.status_code == 404


@pytest.mark.parametrize(
    "where",
    [
        "tile/0/274",  # beyond the tree of 70,000
        "tile/0/273",  # partial in the tree: not served as full
        "tile/0/273.p/113",  # one leaf more than the tree
        "tile/1/001",
        "tile/2/000",
        "tile/3/000.p/1",
        "tile/entries/274",
        "tile/entries/273",
        "tile/0/000.p/100",  # a size with no checkpoint
        "tile/0/0",  # not three digits
        "tile/0/x000/001",
        "tile/0/000.p/256",
        "tile/0/000.p/0",
        "tile/0/000.p/012",
        "tile/00/000",
        "tile/64/000",
        "tile/-1/000",
        "tile/entries",
        "tile/0/abc",
        "tile/data/000",
    ],
)
def test_what_is_not_in_the_tree_or_malformed_is_404(log: Log, where: str) -> None:
    assert log.client().get(f"/ledger/{where}").status_code == 404


def test_headers_and_no_sign_in(log: Log) -> None:
    client = log.client()
    checkpoint = client.get("/ledger/checkpoint")
    assert checkpoint.headers["Content-Type"] == "text/plain; charset=utf-8"
    assert checkpoint.headers["Cache-Control"] == "public, max-age=5"
    assert checkpoint.get_data(as_text=True) == log.notes[SIZES[-1]]
    full = client.get("/ledger/tile/0/000")
    assert full.headers["Content-Type"] == "application/octet-stream"
    assert full.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    partial = client.get("/ledger/tile/0/273.p/112")
    assert partial.status_code == 200
    assert "immutable" not in partial.headers["Cache-Control"]
    for response in (checkpoint, full, partial):
        assert "default-src 'self'" in response.headers["Content-Security-Policy"]
        assert response.headers["X-Content-Type-Options"] == "nosniff"


def _leaf(log: Log, seq: int) -> bytes:
    index, offset = divmod(seq - 1, 256)
    width = tt.width_in(0, index, SIZES[-1])
    return tt.bundle_entries(log.fetch(tt.path("entries", index, width)))[offset]


@pytest.mark.parametrize("seq", [1, 256, 257, 65_536, 70_000])
def test_the_proof_file_of_an_event_verifies(log: Log, seq: int) -> None:
    response = log.client().get(f"/ledger/proof/{seq}")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/plain; charset=utf-8"
    assert (
        f'filename="event-{seq}.tlog-proof"' in response.headers["Content-Disposition"]
    )
    text = response.get_data(as_text=True)
    lines = text.split("\n")
    assert lines[:2] == ["c2sp.org/tlog-proof@v1", f"index {seq - 1}"]
    assert text.endswith("\n\n" + log.notes[SIZES[-1]])
    proof, checkpoint = verify_proof(text, _leaf(log, seq), ORIGIN, [log.public])
    assert (proof.index, checkpoint.size) == (seq - 1, SIZES[-1])
    with pytest.raises(VerificationError, match="does not lead to the root"):
        verify_proof(text, _leaf(log, seq % 70_000 + 1), ORIGIN, [log.public])


def _flip_first_hash(lines: list[str]) -> list[str]:
    flipped = bytearray(base64.b64decode(lines[2]))
    flipped[0] ^= 1
    return [*lines[:2], base64.b64encode(flipped).decode(), *lines[3:]]


TAMPERS = {
    "a proof hash": lambda text: "\n".join(_flip_first_hash(text.split("\n"))),
    "the index": lambda text: text.replace("index 299\n", "index 298\n"),
    "a dropped hash": lambda text: "\n".join(
        text.split("\n")[:2] + text.split("\n")[3:]
    ),
    "the checkpoint size": lambda text: text.replace("\n70000\n", "\n70001\n"),
    "the header": lambda text: text.replace("@v1", "@v2", 1),
}


@pytest.mark.parametrize("what", TAMPERS)
def test_a_tampered_proof_file_fails(log: Log, what: str) -> None:
    text = log.client().get("/ledger/proof/300").get_data(as_text=True)
    bad = TAMPERS[what](text)
    assert bad != text
    with pytest.raises(VerificationError):
        verify_proof(bad, _leaf(log, 300), ORIGIN, [log.public])


def test_no_proof_of_an_event_beyond_the_ledger(log: Log) -> None:
    client = log.client()
    assert client.get("/ledger/proof/70001").status_code == 404
    assert client.get("/ledger/proof/0").status_code == 404
