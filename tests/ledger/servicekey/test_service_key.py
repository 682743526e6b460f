"""The service key file beside the ledger: stores that follow a rotation, stores
without a key, the key file's mode, durable writes and half-done rotations.

Database tests run on SQLite and PostgreSQL.
"""

from __future__ import annotations

import stat
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine

from ledger.clock import FixedClock
from ledger.errors import KeyMaterialError
from ledger.integrity.signing import SigningKey, write_private_key_file
from ledger.servicekey import ServiceKey, ledger_keys_in_force
from ledger.servicekey.keyfile import KeyFile, load_key, write_key_durably
from ledger.store import EventStore
from tests.support.builders import new_event, recheck
from tests.support.origin import ORIGIN


def _key_file(tmp_path: Path, key: SigningKey) -> KeyFile:
    key_file = KeyFile(tmp_path / "keys" / "signing-key.pem")
    write_key_durably(key_file.path, key)
    return key_file


def _follower(
    engine: Engine, key_file: KeyFile, clock: FixedClock, signer: SigningKey | None
) -> tuple[ServiceKey, EventStore]:
    store = EventStore(
        engine, signer, ORIGIN, clock=clock, key_source=lambda: service.load()
    )
    service = ServiceKey(key_file, store)
    return service, store


def test_a_store_holding_the_old_key_follows_a_rotation_elsewhere(
    store: EventStore,
    engine: Engine,
    signer: SigningKey,
    clock: FixedClock,
    tmp_path: Path,
) -> None:
    key_file = _key_file(tmp_path, signer)
    # Two processes over one database and one key file: a rotates, b keeps going.
    a, a_store = _follower(engine, key_file, clock, None)
    b, b_store = _follower(engine, key_file, clock, signer)
    b_store.append([new_event()])
    rotation = a.rotate("scheduled rotation")
    assert rotation.old.key_id == signer.key_id
    (after,) = b_store.append([new_event(stream="document/b")])
    assert after.key == rotation.new.key_id  # never the revoked key
    assert b_store.signer.key_id == rotation.new.key_id
    # And back: b rotates, a (now holding b's old key) follows on its next checkpoint.
    second = b.rotate("again")
    note = a_store.checkpoint()
    assert a_store.signer.key_id == second.new.key_id
    assert note.splitlines()[1] == str(a_store.size())
    recheck(b_store, signer.key_id)


def test_a_store_without_a_key_source_does_not_follow(
    store: EventStore,
    engine: Engine,
    signer: SigningKey,
    clock: FixedClock,
    tmp_path: Path,
) -> None:
    key_file = _key_file(tmp_path, signer)
    ServiceKey(key_file, EventStore(engine, None, ORIGIN, clock=clock)).rotate("r")
    n = store.size()
    with pytest.raises(KeyMaterialError, match=f"{signer.key_id} was revoked"):
        store.append([new_event()])
    assert store.size() == n


def test_a_store_reads_without_a_key_and_says_why_it_cannot_append(
    store: EventStore, engine: Engine, clock: FixedClock
) -> None:
    store.append([new_event()])
    reader = EventStore(engine, None, ORIGIN, clock=clock)
    assert reader.size() == 2
    assert reader.root() == store.root()
    assert [r.key_id for r in ledger_keys_in_force(reader.key_records())] == [
        store.signer.key_id
    ]
    with pytest.raises(KeyMaterialError, match="reading works without one"):
        reader.append([new_event(stream="document/x")])
    with pytest.raises(KeyMaterialError, match="reading works without one"):
        reader.checkpoint()
    note = store.checkpoint()
    assert reader.checkpoint() == note  # a stored checkpoint needs no key
    assert reader.size() == 2


def test_a_rotation_that_never_committed_is_undone(
    store: EventStore,
    engine: Engine,
    signer: SigningKey,
    clock: FixedClock,
    tmp_path: Path,
) -> None:
    key_file = _key_file(tmp_path, signer)
    stray = SigningKey.generate()
    key_file.stage(stray)  # as a rotation killed before its commit leaves it
    service = ServiceKey(key_file, EventStore(engine, None, ORIGIN, clock=clock))
    assert service.load().key_id == signer.key_id
    assert not key_file.staged.exists()
    assert stray.key_id not in {r.key_id for r in store.key_records()}


def test_a_staged_key_registered_and_revoked_since_is_kept(
    store: EventStore,
    engine: Engine,
    signer: SigningKey,
    clock: FixedClock,
    tmp_path: Path,
) -> None:
    key_file = _key_file(tmp_path, signer)
    service = ServiceKey(key_file, EventStore(engine, None, ORIGIN, clock=clock))
    first = service.rotate("one")
    service.rotate("two")
    write_key_durably(key_file.staged, first.new)  # registered, then revoked
    with pytest.raises(KeyMaterialError, match="it is kept"):
        service.load()
    assert load_key(key_file.staged).key_id == first.new.key_id


# --------------------------------------------------------------------------- files


@pytest.mark.parametrize("mode", [0o640, 0o604, 0o644, 0o620])
def test_a_key_file_open_to_others_is_refused(tmp_path: Path, mode: int) -> None:
    path = tmp_path / "k.pem"
    write_private_key_file(path, SigningKey.generate())
    path.chmod(mode)
    with pytest.raises(KeyMaterialError, match=f"run `chmod 600 {path}`"):
        load_key(path)
    path.chmod(0o600)
    assert load_key(path).key_id


def test_a_durable_write_never_replaces_a_key(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "k.pem"
    key = SigningKey.generate()
    write_key_durably(path, key)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    with pytest.raises(KeyMaterialError, match="exists already"):
        write_key_durably(path, SigningKey.generate())
    assert load_key(path).key_id == key.key_id
    assert sorted(p.name for p in path.parent.iterdir()) == ["k.pem"]


def test_install_resumes_after_a_crash_between_link_and_rename(
    tmp_path: Path,
) -> None:
    old, new = SigningKey.generate(), SigningKey.generate()
    key_file = _key_file(tmp_path, old)
    key_file.stage(new)
    key_file.replaced.hardlink_to(key_file.path)  # crashed right after the link
    key_file.destroy_replaced()  # the key file itself must survive this
    assert load_key(key_file.path).key_id == old.key_id
    key_file.replaced.hardlink_to(key_file.path)
    key_file.install_staged()
    assert load_key(key_file.path).key_id == new.key_id
    assert not key_file.staged.exists()
    assert not key_file.replaced.exists()


def test_the_rotation_lock_excludes_another_process(tmp_path: Path) -> None:
    key_file = _key_file(tmp_path, SigningKey.generate())
    probe = (
        "import fcntl, os, sys\n"
        "fd = os.open(sys.argv[1], os.O_RDWR)\n"
        "try:\n"
        "    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)\n"
        "except BlockingIOError:\n"
        "    sys.exit(3)\n"
    )
    with key_file.locked():
        held = subprocess.run(
            [sys.executable, "-c", probe, str(key_file.lock_file)], check=False
        )
    free = subprocess.run(
        [sys.executable, "-c", probe, str(key_file.lock_file)], check=False
    )
    assert (held.returncode, free.returncode) == (3, 0)
    assert stat.S_IMODE(key_file.lock_file.stat().st_mode) == 0o600
