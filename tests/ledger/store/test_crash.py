"""A process killed in the middle of an append leaves no trace: the ledger is unchanged."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ledger.integrity.signing import SigningKey, write_private_key_file
from ledger.store import EventStore
from tests.support.builders import chain_of, new_event, recheck

pytestmark = pytest.mark.slow

# Appends 1,000 events; the projector runs inside the transaction after every row is
# written, tells the test through a file, and waits there to be killed.
_CHILD = """
import sys
import time
from pathlib import Path

from ledger.integrity.envelope import NewEvent
from ledger.integrity.signing import load_private_key_file
from ledger.store import EventStore, create_engine_for

url, key_file, origin, signal_file = sys.argv[1:5]


class Stall:
    def apply(self, connection, events):
        Path(signal_file).write_text(str(len(events)))
        time.sleep(600)


store = EventStore(create_engine_for(url), load_private_key_file(Path(key_file)), origin)
store.append(
    [
        NewEvent(
            stream="document/QP-07",
            type="document.drafted",
            data={"title": f"draft {i}"},
            actor="u-alice",
        )
        for i in range(1000)
    ],
    projectors=[Stall()],
)
"""


def _wait_for(path: Path, child: subprocess.Popen[bytes]) -> str:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if path.exists() and path.read_text():
            return path.read_text()
        if child.poll() is not None:
            _, err = child.communicate()
            pytest.fail(f"the appending process ended early: {err.decode()}")
        time.sleep(0.05)
    child.kill()
    pytest.fail("the appending process never reached its projector")


def test_killed_append_leaves_the_ledger_unchanged(
    store: EventStore, engine_url: str, signer: SigningKey, origin: str, tmp_path: Path
) -> None:
    store.append(chain_of(5))
    before = store.head()
    root_before = store.root()
    key_file = tmp_path / "signing-key.pem"
    write_private_key_file(key_file, signer)
    signal_file = tmp_path / "in-projector"

    child = subprocess.Popen(
        [
            sys.executable,
            "-c",
            _CHILD,
            engine_url,
            str(key_file),
            origin,
            str(signal_file),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        assert _wait_for(signal_file, child) == "1000"
        # Readers do not wait for the append in flight, and do not see it.
        assert store.head() == before
        os.kill(child.pid, signal.SIGKILL)
        child.communicate(timeout=60)
    finally:
        if child.poll() is None:
            child.kill()
            child.communicate()
    assert child.returncode == -signal.SIGKILL

    assert store.head() == before
    assert store.root() == root_before
    assert store.stream_version("document/QP-07") == 5
    recheck(store, signer.key_id)
    # The lock died with the process: the next append goes through, right after.
    (event,) = store.append([new_event()])
    assert event.seq == before[0] + 1
    assert event.version == 6
    recheck(store, signer.key_id)
