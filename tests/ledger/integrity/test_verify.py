"""The offline verifier: reference vectors, the tamper matrix on export files, proofs."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import shutil
import subprocess
import sys
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest

from ledger.errors import VerificationError
from ledger.integrity.signing import SigningKey
from ledger.integrity.verify import verify_export, verify_lines
from tests.support.chainbuilder import ChainBuilder
from tests.support.independent_verifier import verify_folder

REPO = Path(__file__).resolve().parents[3]
VECTORS = REPO.parent / "shared" / "spec" / "vectors"
TRUSTED = "04747aa6434c663e"


def _vectors() -> Path:
    if not VECTORS.is_dir():
        if os.environ.get("CI"):
            pytest.fail(f"reference vectors missing at {VECTORS}")
        pytest.skip(
            "reference vectors (shared/spec/vectors) are not beside the checkout"
        )
    return VECTORS


EXPECTED = {
    "valid": (None, ""),
    "tamper-data": (20, "hash mismatch"),
    "tamper-delete_middle": (20, "seq is 21, expected 20"),
    "tamper-reorder": (20, "seq is 21, expected 20"),
    "tamper-wrong_prev": (20, "prev mismatch"),
    "tamper-bad_checkpoint_sig": (0, "checkpoint signature does not verify"),
}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_reference_vectors_give_the_published_results(name: str) -> None:
    folder = _vectors() / name
    seq, reason = EXPECTED[name]
    if seq is None:
        result = verify_export(folder, trusted_key_id=TRUSTED)
        assert result.head.size == 52
        assert base64.b64encode(result.head.root).decode() == (
            "jYTqEX86lqQBqAyL8MAQpX5u/qZqMCB0gvDs0vhiZZU="
        )
        assert result.head.esignatures == 1
        assert result.blobs_checked == 1
    else:
        with pytest.raises(VerificationError) as info:
            verify_export(folder, trusted_key_id=TRUSTED)
        assert info.value.seq == seq
        assert reason in info.value.reason


def test_reference_old_checkpoint_and_consistency_proof_verify() -> None:
    side = _vectors() / "valid-side"
    result = verify_export(
        _vectors() / "valid",
        trusted_key_id=side.joinpath("trusted-key-id").read_text().strip(),
        old_checkpoint=(side / "checkpoint.old").read_text(),
        consistency_proof=json.loads((side / "consistency.json").read_text()),
    )
    assert result.old_checkpoint_size == 40


def test_reference_vectors_agree_with_the_independent_verifier() -> None:
    for name, (seq, _) in EXPECTED.items():
        ok, bad_seq, _why = verify_folder(_vectors() / name, TRUSTED)
        assert ok == (seq is None), name
        if seq is not None:
            assert bad_seq == seq, name


# --- the tamper matrix on export files --------------------------------------------


@pytest.fixture
def chain() -> ChainBuilder:
    """A ledger of 16 events: an esign key, documents, a key rotation, an e-signature, a blob."""
    b = ChainBuilder()
    alice = SigningKey.generate()
    b.register(alice, holder="u-alice", purpose="esign")  # 2
    for _ in range(5):  # 3..7
        b.add()
    b.add("finding/2026-0001", data={"classification": "minor"})  # 8
    b.rotate(SigningKey.generate())  # 9, 10
    b.attach(b"QP-07 revision A\n" * 10)  # 11
    b.esign("document/QP-07", "u-alice", alice, "ab" * 32)  # 12
    for _ in range(4):  # 13..16
        b.add()
    b.alice = alice  # type: ignore[attr-defined]
    return b


Tamper = Callable[[ChainBuilder, Path], Path]


def _edit(seq: int, fn: Callable[[dict], None], *, reseal: bool = False) -> Tamper:
    def run(b: ChainBuilder, out: Path) -> Path:
        fn(b.envs[seq - 1])
        if reseal:
            b.reseal(seq)
            return b.write(out)
        return b.write(out, checkpoint=None)

    return run


def _raw_edit(seq: int, fn: Callable[[dict], None]) -> Tamper:
    """Change an event without re-hashing (no key needed), keep the original checkpoint."""

    def run(b: ChainBuilder, out: Path) -> Path:
        note = b.checkpoint()
        fn(b.envs[seq - 1])
        return b.write(out, checkpoint=note)

    return run


def _delete(seq: int) -> Tamper:
    def run(b: ChainBuilder, out: Path) -> Path:
        note = b.checkpoint()
        lines = b.lines()
        del lines[seq - 1]
        return b.write(out, lines=lines, checkpoint=note)

    return run


def _swap(seq: int) -> Tamper:
    def run(b: ChainBuilder, out: Path) -> Path:
        note = b.checkpoint()
        lines = b.lines()
        lines[seq - 1], lines[seq] = lines[seq], lines[seq - 1]
        return b.write(out, lines=lines, checkpoint=note)

    return run


def _insert_forged(seq: int) -> Tamper:
    """Insert an event signed by a key the ledger never registered; renumber the rest."""

    def run(b: ChainBuilder, out: Path) -> Path:
        forged = dict(
            b.envs[seq - 2],
            stream="document/FORGED",
            version=1,
            data={"title": "forged"},
        )
        b.envs.insert(seq - 1, forged)
        b.signers.insert(seq - 1, SigningKey.generate())
        for i, env in enumerate(b.envs, start=1):
            env["seq"] = i
        b.reseal(seq)
        return b.write(out)

    return run


def _sig_from(seq: int, other: int) -> Tamper:
    def run(b: ChainBuilder, out: Path) -> Path:
        note = b.checkpoint()
        b.envs[seq - 1]["sig"] = b.envs[other - 1]["sig"]
        return b.write(out, checkpoint=note)

    return run


def _sign_with(seq: int, key_of: Callable[[ChainBuilder], SigningKey]) -> Tamper:
    def run(b: ChainBuilder, out: Path) -> Path:
        b.signers[seq - 1] = key_of(b)
        b.reseal(seq)
        return b.write(out)

    return run


def _checkpoint_root(b: ChainBuilder, out: Path) -> Path:
    lines = b.checkpoint().split("\n")
    lines[2] = base64.b64encode(hashlib.sha256(b"other").digest()).decode()
    return b.write(out, checkpoint="\n".join(lines))


def _checkpoint_size(b: ChainBuilder, out: Path) -> Path:
    return b.write(out, checkpoint=b.checkpoint(size=len(b.envs) - 1))


def _alter_blob(b: ChainBuilder, out: Path) -> Path:
    folder = b.write(out)
    blob = next((folder / "blobs").iterdir())
    blob.write_bytes(blob.read_bytes().replace(b"A", b"B", 1))
    return folder


def _drop_blob(b: ChainBuilder, out: Path) -> Path:
    folder = b.write(out)
    (folder / "blobs" / next(iter(b.blobs))).unlink()
    return folder


def _rewrite_other_key(b: ChainBuilder, out: Path) -> Path:
    other = SigningKey.generate()
    b.envs[0]["data"]["public_key"] = other.public_b64
    b.envs[10]["data"]["content"]["name"] = "rewritten.txt"
    b.signers = [
        other if s.key_id in {x.key_id for x in b.signers if x is not b.alice} else s
        for s in b.signers
    ]  # type: ignore[attr-defined]
    b.key = other
    b.reseal(1)
    return b.write(out)


def _move_esig(b: ChainBuilder, out: Path) -> Path:
    esig = b.envs[11]["data"]["esig"]
    b.envs[12]["data"] = {"esig": esig, "revision": "A"}
    b.envs[12]["stream"] = "document/QP-07"
    b.envs[12]["actor"] = "u-alice"
    b.envs[12]["type"] = "document.approved"
    b.envs[12]["stream"] = "document/QP-08"
    b.envs[12]["version"] = 1
    b.reseal(13)
    return b.write(out)


def _esig_changed(b: ChainBuilder, out: Path) -> Path:
    b.envs[11]["data"]["esig"]["subject_sha256"] = "cd" * 32
    b.reseal(12)
    return b.write(out)


def _not_canonical(b: ChainBuilder, out: Path) -> Path:
    note = b.checkpoint()
    lines = b.lines()
    lines[4] = json.dumps(json.loads(lines[4]), sort_keys=True).encode()
    return b.write(out, lines=lines, checkpoint=note)


MATRIX: dict[str, tuple[Tamper, int, str]] = {
    "edit_data_value": (
        _raw_edit(5, lambda e: e["data"].update(title="QP-07 edited")),
        5,
        "hash mismatch",
    ),
    "edit_recorded_at": (
        _raw_edit(6, lambda e: e.update(recorded_at="2026-01-05T09:00:00.000000Z")),
        6,
        "hash mismatch",
    ),
    "recorded_at_goes_back_resigned": (
        _edit(
            7,
            lambda e: e.update(recorded_at="2026-01-04T00:00:00.000000Z"),
            reseal=True,
        ),
        7,
        "before the previous",
    ),
    "delete_middle_event": (_delete(6), 6, "seq is 7, expected 6"),
    "swap_two_events": (_swap(4), 4, "seq is 5, expected 4"),
    "insert_forged_event": (_insert_forged(5), 5, "is not registered"),
    "replace_signature": (_sig_from(4, 5), 4, "signature does not verify"),
    "sign_with_unregistered_key": (
        _sign_with(14, lambda b: SigningKey.generate()),
        14,
        "is not registered",
    ),
    "use_revoked_key": (
        _sign_with(13, lambda b: b.signers[1 - 1]),
        13,
        "was revoked at seq 10",
    ),
    "sign_with_esign_key": (_sign_with(13, lambda b: b.alice), 13, "not a ledger key"),  # type: ignore[attr-defined]
    "break_stream_version": (
        _edit(8, lambda e: e.update(version=2), reseal=True),
        8,
        "version is 2, expected 1",
    ),
    "alter_checkpoint_root": (_checkpoint_root, 0, "checkpoint"),
    "checkpoint_for_other_size": (_checkpoint_size, 0, "checkpoint is for size 15"),
    "alter_blob": (_alter_blob, 0, "does not match its digest"),
    "drop_referenced_blob": (_drop_blob, 0, "missing from blobs/"),
    "rewrite_all_with_another_key": (_rewrite_other_key, 1, "is not the trusted key"),
    "move_esig_to_another_record": (_move_esig, 13, "esig subject"),
    "change_esigned_content": (
        _esig_changed,
        12,
        "e-signature of u-alice does not verify",
    ),
    "non_canonical_line": (_not_canonical, 5, "not the JCS form"),
}


@pytest.mark.parametrize("case", sorted(MATRIX))
def test_tampered_export_fails_at_the_first_bad_seq(
    chain: ChainBuilder, tmp_path: Path, case: str
) -> None:
    trusted = chain.envs[0]["key"]
    tamper, seq, reason = MATRIX[case]
    folder = tamper(chain, tmp_path / "export")
    with pytest.raises(VerificationError) as info:
        verify_export(folder, trusted_key_id=trusted, workers=1)
    assert (info.value.seq, reason in info.value.reason) == (seq, True), (
        info.value.reason
    )


def test_untampered_export_verifies_with_both_verifiers(
    chain: ChainBuilder, tmp_path: Path
) -> None:
    folder = chain.write(tmp_path / "export")
    trusted = chain.envs[0]["key"]
    result = verify_export(folder, trusted_key_id=trusted)
    assert result.head.size == 16
    assert result.head.esignatures == 1
    assert verify_folder(folder, trusted) == (True, 0, "")


def test_zip_export_verifies(chain: ChainBuilder, tmp_path: Path) -> None:
    folder = chain.write(tmp_path / "export")
    archive = tmp_path / "export.zip"
    with zipfile.ZipFile(archive, "w") as z:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                z.write(path, path.relative_to(folder).as_posix())
    assert verify_export(archive, trusted_key_id=chain.envs[0]["key"]).head.size == 16


def _kept(b: ChainBuilder, size: int) -> str:
    return b.checkpoint(size=size, key=b.signers[size - 1] if size < 10 else b.key)


def test_truncation_is_caught_with_a_kept_checkpoint(
    chain: ChainBuilder, tmp_path: Path
) -> None:
    kept = chain.checkpoint()
    del chain.envs[12:]
    del chain.signers[12:]
    folder = chain.write(tmp_path / "export")
    trusted = chain.envs[0]["key"]
    verify_export(
        folder, trusted_key_id=trusted
    )  # on its own, a shorter ledger verifies
    with pytest.raises(VerificationError) as info:
        verify_export(folder, trusted_key_id=trusted, old_checkpoint=kept)
    assert info.value.seq == 0
    assert "truncated" in info.value.reason


@pytest.mark.parametrize("same_key", [True, False])
def test_full_rewrite_is_caught_with_a_kept_checkpoint(
    chain: ChainBuilder, tmp_path: Path, same_key: bool
) -> None:
    trusted = chain.envs[0]["key"]
    kept = chain.checkpoint(size=14)
    chain.envs[4]["data"]["title"] = "history rewritten"
    if same_key:
        chain.reseal(5)
    else:
        chain.reseal(5, key=SigningKey.generate())
    folder = chain.write(tmp_path / "export")
    with pytest.raises(VerificationError) as info:
        verify_export(folder, trusted_key_id=trusted, old_checkpoint=kept)
    # Re-signed by the holder of the key, the chain alone verifies: only the kept
    # checkpoint shows the rewrite. With another key the chain itself fails.
    assert (info.value.seq, info.value.reason[:10]) == (
        (0, "checkpoint") if same_key else (5, "key " + info.value.reason[4:10])
    )


def test_consistency_proof_from_a_kept_checkpoint(
    chain: ChainBuilder, tmp_path: Path
) -> None:
    from ledger.integrity import merkle

    hashes = [bytes.fromhex(e["hash"]) for e in chain.envs]

    def node(level: int, index: int) -> bytes:
        return merkle.root_from_leaves(hashes[index << level : (index + 1) << level])

    proof = {
        "size1": 12,
        "size2": 16,
        "hashes": [h.hex() for h in merkle.consistency_proof(12, 16, node)],
    }
    folder = chain.write(tmp_path / "export")
    result = verify_export(
        folder,
        trusted_key_id=chain.envs[0]["key"],
        old_checkpoint=chain.checkpoint(size=12),
        consistency_proof=proof,
    )
    assert result.old_checkpoint_size == 12
    proof["hashes"][0] = "00" * 32
    with pytest.raises(
        VerificationError, match="consistency proof 12 -> 16 does not verify"
    ):
        verify_export(
            folder,
            trusted_key_id=chain.envs[0]["key"],
            old_checkpoint=chain.checkpoint(size=12),
            consistency_proof=proof,
        )


def test_parallel_and_inline_signature_checks_agree_on_the_first_failure() -> None:
    b = ChainBuilder()
    for _ in range(9000):
        b.add()
    lines = b.lines()
    env = json.loads(lines[7000])
    env["sig"] = json.loads(lines[7001])["sig"]
    from ledger.integrity.canonical import canonical_bytes

    lines[7000] = canonical_bytes(env)
    for workers in (1, 2):
        with pytest.raises(VerificationError) as info:
            verify_lines(lines, trusted_key_id=b.envs[0]["key"], workers=workers)
        assert info.value.seq == 7001
    head = verify_lines(b.lines(), trusted_key_id=b.envs[0]["key"], workers=2)
    assert head.size == 9001


def test_offline_verifier_runs_without_any_database_driver(
    chain: ChainBuilder, tmp_path: Path
) -> None:
    """`python -m ledger.verify` must work where sqlalchemy, psycopg and flask cannot be imported."""
    folder = chain.write(tmp_path / "export")
    blocker = tmp_path / "blocker"
    blocker.mkdir()
    for name in ("sqlalchemy", "psycopg", "flask", "marshmallow", "alembic"):
        (blocker / f"{name}.py").write_text(
            f"raise ImportError('{name} is not available offline')\n"
        )
    env = {**os.environ, "PYTHONPATH": f"{blocker}{os.pathsep}{REPO}"}
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "ledger.verify",
            "--export",
            str(folder),
            "--trusted-key",
            chain.envs[0]["key"],
        ],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    assert run.stdout.startswith("OK n=16 root=")
    shutil.copy(folder / "events.jsonl", tmp_path / "copy.jsonl")
    lines = (folder / "events.jsonl").read_bytes().replace(b'"n":4', b'"n":5')
    (folder / "events.jsonl").write_bytes(lines)
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "ledger.verify",
            "--export",
            str(folder),
            "--trusted-key",
            chain.envs[0]["key"],
        ],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        check=False,
    )
    assert run.returncode == 1
    assert run.stdout.startswith("FAIL seq=")


# --- found in review: each was accepted, crashed or named the wrong reason before ----


def _verify(b: ChainBuilder, folder: Path) -> VerificationError:
    with pytest.raises(VerificationError) as info:
        verify_export(folder, trusted_key_id=b.envs[0]["key"], workers=1)
    return info.value


def test_every_reference_to_a_blob_must_state_its_true_size(
    chain: ChainBuilder, tmp_path: Path
) -> None:
    ref = dict(chain.envs[10]["data"]["content"], size=99999)
    chain.add("document/QP-07", "document.draft_updated", {"content": ref})
    error = _verify(chain, chain.write(tmp_path / "e"))
    assert (error.seq, "says 99999" in error.reason) == (0, True)


def test_a_blob_size_must_be_a_byte_count(chain: ChainBuilder, tmp_path: Path) -> None:
    ref = dict(chain.envs[10]["data"]["content"], size="160")
    chain.add("document/QP-07", "document.draft_updated", {"content": ref})
    error = _verify(chain, chain.write(tmp_path / "e"))
    assert (error.seq, "not a byte count" in error.reason) == (17, True)


@pytest.mark.parametrize(
    "moment",
    ["\uff12\uff10\uff12\uff16-01-05T08:00:02.000002Z", "2026-13-45T99:99:99.000000Z"],
)
def test_times_must_be_real_instants_in_ascii_digits(
    chain: ChainBuilder, tmp_path: Path, moment: str
) -> None:
    chain.envs[5]["occurred_at"] = moment
    chain.reseal(6)
    error = _verify(chain, chain.write(tmp_path / "e"))
    assert (error.seq, "occurred_at" in error.reason) == (6, True)


def test_a_zip_with_two_event_files_is_refused(
    chain: ChainBuilder, tmp_path: Path
) -> None:
    folder = chain.write(tmp_path / "e")
    archive = tmp_path / "e.zip"
    with zipfile.ZipFile(archive, "w") as z:
        z.write(folder / "events.jsonl", "events.jsonl")
        z.write(folder / "checkpoint", "checkpoint")
        with pytest.warns(UserWarning, match="Duplicate name"):
            z.writestr("events.jsonl", b"{}\n")
    error = _verify(chain, archive)
    assert (error.seq, "two entries named events.jsonl" in error.reason) == (0, True)


def test_a_folder_in_place_of_a_blob_is_reported_not_raised(
    chain: ChainBuilder, tmp_path: Path
) -> None:
    folder = chain.write(tmp_path / "e")
    blob = next((folder / "blobs").iterdir())
    blob.unlink()
    blob.mkdir()
    error = _verify(chain, folder)
    assert (error.seq, "is not a regular file" in error.reason) == (0, True)


def test_an_esign_key_must_belong_to_a_person(tmp_path: Path) -> None:
    b = ChainBuilder()
    b.register(SigningKey.generate(), holder="system", purpose="esign")
    error = _verify(b, b.write(tmp_path / "e"))
    assert (error.seq, "held by a person" in error.reason) == (2, True)


def test_an_edited_esig_rehashed_without_the_key_names_the_event_signature(
    chain: ChainBuilder, tmp_path: Path
) -> None:
    note = chain.checkpoint()
    env = chain.envs[11]
    env["data"]["esig"]["name"] = "Mallory"
    from ledger.integrity.chain import event_hash

    env["hash"] = event_hash(env).hex()
    chain.envs[12]["prev"] = env["hash"]
    error = _verify(chain, chain.write(tmp_path / "e", checkpoint=note))
    assert (error.seq, "signature does not verify with key" in error.reason) == (
        12,
        True,
    )
