"""Exports a certifier can trust: only the export's files, capped sizes, clean failures.

Each crafted export must end in `FAIL seq=N <reason>` (exit 1) in every verifier
(`verify_export`, `python -m ledger.verify`, `qms verify --export`, text and JSON),
never in OK for content other than what was signed, never in a traceback.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest

from ledger.errors import EventRejectedError, VerificationError
from ledger.integrity.canonical import canonical_bytes
from ledger.integrity.envelope import NewEvent
from ledger.integrity.export_reader import (
    MAX_BLOB,
    MAX_CHECKPOINT,
    MAX_EVENT_LINE,
    ExportReader,
)
from ledger.integrity.verify import verify_export
from ledger.store import EventStore
from ledger.store.export import write_export
from tests.support.chainbuilder import ChainBuilder, esign_chain, trusted_key
from web.cli import main as qms_main

REPO = Path(__file__).resolve().parents[3]
# Runs the offline verifier and reports its own peak memory (KiB) on stderr: VmHWM,
# the high-water mark of this program's memory (ru_maxrss would also count the pytest
# process it was forked from).
_MEASURED = (
    "import sys\n"
    "from ledger.verify import main\n"
    "code = main(sys.argv[1:])\n"
    "status = open('/proc/self/status').read().split('VmHWM:')[1].split()[0]\n"
    "sys.stderr.write(f'peak_kib={status}\\n')\n"
    "sys.exit(code)\n"
)


@pytest.fixture
def chain() -> ChainBuilder:
    """A ledger of 8 events: an esign key, documents, an e-signature, a blob."""
    return esign_chain()


def _fail(b: ChainBuilder, path: Path) -> VerificationError:
    with pytest.raises(VerificationError) as info:
        verify_export(path, trusted_key_id=trusted_key(b), workers=1)
    return info.value


def _offline(path: Path, trusted: str, *extra: str) -> subprocess.CompletedProcess[str]:
    """Run `python -m ledger.verify` (measured) on an export."""
    return subprocess.run(
        [
            sys.executable,
            "-c",
            _MEASURED,
            "--export",
            str(path),
            "--trusted-key",
            trusted,
            *extra,
        ],
        capture_output=True,
        text=True,
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        timeout=120,
        check=False,
    )


def _peak_mib(run: subprocess.CompletedProcess[str]) -> float:
    line = run.stderr.strip().splitlines()[-1]
    assert line.startswith("peak_kib="), run.stderr
    return int(line.removeprefix("peak_kib=")) / 1024


def _qms(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    *args: str,
) -> tuple[int, str, str]:
    monkeypatch.setenv("QMS_INSTANCE", str(tmp_path / "instance"))
    monkeypatch.delenv("QMS_DATABASE_URL", raising=False)
    monkeypatch.delenv("QMS_SIGNING_KEY_FILE", raising=False)
    capsys.readouterr()
    try:
        qms_main(list(args))
        code = 0
    except SystemExit as exc:
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


def _zip_of(folder: Path, archive: Path, **extra: bytes) -> Path:
    """Zip an export folder as `qms export --zip` does, plus `extra` entries."""
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as z:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                z.write(path, path.relative_to(folder).as_posix())
        for name, content in extra.items():
            z.writestr(name, content)
    return archive


# --- the export's layout ---------------------------------------------------------------


def test_a_zip_with_a_second_events_file_under_another_spelling_is_refused(
    store: EventStore, tmp_path: Path
) -> None:
    """What `unzip` and `extractall` keep must be what was verified: both or neither."""
    out = tmp_path / "e.zip"
    write_export(store, out, as_zip=True)
    with zipfile.ZipFile(out) as z:
        original = z.read("events.jsonl")
    tampered = original.replace(b'"system"', b'"mallory"', 1)
    with zipfile.ZipFile(out, "a") as z:
        z.writestr("./events.jsonl", tampered)
    with zipfile.ZipFile(out) as z:
        z.extractall(tmp_path / "unpacked")
    assert (tmp_path / "unpacked" / "events.jsonl").read_bytes() == tampered
    with pytest.raises(VerificationError) as info:
        verify_export(out, trusted_key_id=store.signer.key_id)
    assert info.value.seq == 0
    assert "two entries named events.jsonl" in info.value.reason
    assert "./events.jsonl" in info.value.reason
    with pytest.raises(VerificationError, match="hash mismatch"):  # what they read
        verify_export(tmp_path / "unpacked", trusted_key_id=store.signer.key_id)


def test_the_store_refuses_an_event_too_large_for_a_ledger_line(
    store: EventStore, tmp_path: Path
) -> None:
    """What the store appends always fits the verifier's cap, so its exports verify."""
    size = store.size()

    def drafted(title: str) -> NewEvent:
        return NewEvent(
            stream="document/QP-01",
            type="document.drafted",
            data={"title": title},
            actor="u-alice",
        )

    with pytest.raises(
        EventRejectedError, match=f"more than the {MAX_EVENT_LINE} bytes"
    ):
        store.append([drafted("x" * MAX_EVENT_LINE)])
    assert store.size() == size
    store.append([drafted("x" * (MAX_EVENT_LINE - 2048))])
    out = tmp_path / "e.zip"
    write_export(store, out, as_zip=True)
    assert verify_export(out, trusted_key_id=store.signer.key_id).head.size == size + 1


def _symlink_entry(name: str, target: str) -> Callable[[zipfile.ZipFile], None]:
    def add(z: zipfile.ZipFile) -> None:
        info = zipfile.ZipInfo(name)
        info.external_attr = (stat.S_IFLNK | 0o777) << 16
        z.writestr(info, target)

    return add


def _dos_directory(name: str) -> Callable[[zipfile.ZipFile], None]:
    def add(z: zipfile.ZipFile) -> None:
        info = zipfile.ZipInfo(name)
        info.external_attr = 0x10
        z.writestr(info, b"")

    return add


def _method(
    name: str, method: int, content: bytes
) -> Callable[[zipfile.ZipFile], None]:
    def add(z: zipfile.ZipFile) -> None:
        z.writestr(name, content, compress_type=method)

    return add


def _entry(name: str, content: bytes) -> Callable[[zipfile.ZipFile], None]:
    def add(z: zipfile.ZipFile) -> None:
        z.writestr(name, content, compress_type=zipfile.ZIP_DEFLATED)

    return add


# name -> (entries to leave out, entries to add, seq, reason)
ZIPS: dict[str, tuple[set[str], list[Callable[[zipfile.ZipFile], None]], str]] = {
    "dot_slash_duplicate": (set(), [_entry("./events.jsonl", b"{}\n")], "two entries named events.jsonl"),
    "case_duplicate": (set(), [_entry("Checkpoint", b"x\n")], "two entries named checkpoint"),
    "parent_duplicate": (set(), [_entry("../events.jsonl", b"{}\n")], "two entries named events.jsonl"),
    "extra_file": (set(), [_entry("README.txt", b"hello\n")], "the export holds 'README.txt'"),
    "nested_folder": ({"checkpoint"}, [_entry("export/checkpoint", b"x\n")], "the export holds 'export/checkpoint'"),
    "blob_not_a_digest": (set(), [_entry("blobs/notes.txt", b"x")], "'blobs/notes.txt' is not named by a SHA-256 digest"),
    "checkpoint_symlink": ({"checkpoint"}, [_symlink_entry("checkpoint", "/etc/passwd")], "checkpoint is not a regular file"),
    "checkpoint_directory": ({"checkpoint"}, [_dos_directory("checkpoint")], "checkpoint is not a regular file"),
    "directory_entry": (set(), [_entry("docs/", b"")], "the export holds 'docs/'"),
    "directory_for_a_file": ({"checkpoint"}, [_entry("checkpoint/", b"")], "the export holds 'checkpoint/'"),
    "lzma_entry": ({"checkpoint"}, [_method("checkpoint", zipfile.ZIP_LZMA, b"x" * 100)], "compression method 14"),
    "bzip2_entry": ({"checkpoint"}, [_method("checkpoint", zipfile.ZIP_BZIP2, b"x" * 100)], "compression method 12"),
    "checkpoint_too_large": ({"checkpoint"}, [_entry("checkpoint", b"x" * (MAX_CHECKPOINT + 1))], f"more than the {MAX_CHECKPOINT} allowed"),
}  # fmt: skip


@pytest.mark.parametrize("case", sorted(ZIPS))
def test_a_zip_with_other_content_is_refused(
    chain: ChainBuilder, tmp_path: Path, case: str
) -> None:
    drop, extra, reason = ZIPS[case]
    folder = chain.write(tmp_path / "e")
    archive = tmp_path / "e.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as z:
        for path in sorted(folder.rglob("*")):
            name = path.relative_to(folder).as_posix()
            if path.is_file() and name not in drop:
                z.write(path, name)
        for add in extra:
            add(z)
    error = _fail(chain, archive)
    assert (error.seq, reason in error.reason) == (0, True), error.reason


def test_a_zip_written_by_zip_r_with_its_blobs_folder_entry_verifies(
    chain: ChainBuilder, tmp_path: Path
) -> None:
    folder = chain.write(tmp_path / "e")
    archive = _zip_of(folder, tmp_path / "e.zip")
    with zipfile.ZipFile(archive, "a") as z:
        z.mkdir("blobs")
    assert verify_export(archive, trusted_key_id=trusted_key(chain)).blobs_checked == 1


def _patch_central(archive: Path, name: bytes, offset: int, value: bytes) -> None:
    """Overwrite bytes of `name`'s central directory record (offset from its start)."""
    data = bytearray(archive.read_bytes())
    at = data.rfind(b"PK\x01\x02", 0, data.rfind(name))
    assert at >= 0
    data[at + offset : at + offset + len(value)] = value
    archive.write_bytes(bytes(data))


def test_a_blob_stated_larger_than_the_cap_is_refused_before_it_is_read(
    chain: ChainBuilder, tmp_path: Path
) -> None:
    folder = chain.write(tmp_path / "e")
    archive = tmp_path / "e.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_STORED) as z:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                z.write(path, path.relative_to(folder).as_posix())
    digest = next(iter(chain.blobs)).encode()
    _patch_central(
        archive, b"blobs/" + digest, 24, (MAX_BLOB + 1).to_bytes(4, "little")
    )
    error = _fail(chain, archive)
    assert (error.seq, f"more than the {MAX_BLOB} allowed" in error.reason) == (0, True)


FOLDERS: dict[str, tuple[Callable[[Path], None], str]] = {
    "extra_file": (lambda f: (f / "notes.txt").write_text("x"), "the export holds 'notes.txt'"),
    "events_symlink": (
        lambda f: ((f / "real.jsonl").write_bytes((f / "events.jsonl").read_bytes()), (f / "events.jsonl").unlink(), (f / "events.jsonl").symlink_to("real.jsonl")),
        "events.jsonl is not a regular file",
    ),
    "checkpoint_symlink": (
        lambda f: (shutil.move(f / "checkpoint", f.parent / "cp"), (f / "checkpoint").symlink_to(f.parent / "cp")),
        "checkpoint is not a regular file",
    ),
    "checkpoint_folder": (lambda f: ((f / "checkpoint").unlink(), (f / "checkpoint").mkdir()), "checkpoint is not a regular file"),
    "blobs_file": (lambda f: (shutil.rmtree(f / "blobs"), (f / "blobs").write_text("x")), "blobs is not a folder"),
    "folder_inside_blobs": (lambda f: (f / "blobs" / "sub").mkdir(), "'blobs/sub' is not named by a SHA-256 digest"),
}  # fmt: skip


@pytest.mark.parametrize("case", sorted(FOLDERS))
def test_a_folder_with_other_content_is_refused(
    chain: ChainBuilder, tmp_path: Path, case: str
) -> None:
    change, reason = FOLDERS[case]
    folder = chain.write(tmp_path / "e")
    change(folder)
    error = _fail(chain, folder)
    assert (error.seq, reason in error.reason) == (0, True), error.reason


# --- malformed exports end in FAIL seq=N, in every verifier ---------------------------


def _deep(b: ChainBuilder, out: Path) -> Path:
    lines = b.lines()
    lines[2] = b"[" * 50_000 + b"]" * 50_000
    return b.write(out, lines=lines)


def _long_line(b: ChainBuilder, out: Path) -> Path:
    lines = b.lines()
    lines[4] = b'"' + b"x" * MAX_EVENT_LINE + b'"'
    return b.write(out, lines=lines)


def _zipped(
    tamper: Callable[[ChainBuilder, Path], Path],
) -> Callable[[ChainBuilder, Path], Path]:
    def run(b: ChainBuilder, out: Path) -> Path:
        return _zip_of(tamper(b, out.with_name("folder")), out)

    return run


def _bad_utf8_name(b: ChainBuilder, out: Path) -> Path:
    archive = _zip_of(b.write(out.with_name("folder")), out)
    with zipfile.ZipFile(archive, "a") as z:
        z.writestr("QQ\u00e9", b"x")  # a non-ASCII name: flagged as UTF-8
    raw = archive.read_bytes().replace("QQ\u00e9".encode(), b"\xff\xfe\xfd\xfc")
    archive.write_bytes(raw)
    return archive


def _zip_version(b: ChainBuilder, out: Path) -> Path:
    folder = b.write(out.with_name("folder"))
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        info = zipfile.ZipInfo("events.jsonl")
        info.extract_version = 99
        z.writestr(info, (folder / "events.jsonl").read_bytes())
        z.write(folder / "checkpoint", "checkpoint")
    return out


def _inflated_sizes(b: ChainBuilder, out: Path) -> Path:
    """The central directory states more bytes for events.jsonl than the zip holds."""
    folder = b.write(out.with_name("folder"))
    with zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as z:
        z.write(folder / "checkpoint", "checkpoint")
        z.write(folder / "events.jsonl", "events.jsonl")
    big = (50_000_000).to_bytes(4, "little")
    _patch_central(out, b"events.jsonl", 20, big + big)
    return out


def _inflated_checkpoint_size(b: ChainBuilder, out: Path) -> Path:
    """The central directory states more bytes for the checkpoint than the zip holds."""
    folder = b.write(out.with_name("folder"))
    with zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as z:
        z.write(folder / "events.jsonl", "events.jsonl")
        z.write(folder / "checkpoint", "checkpoint")
    size = (60_000).to_bytes(4, "little")  # under the cap, beyond the end of the file
    _patch_central(out, b"checkpoint", 20, size + size)
    return out


def _flipped_byte(b: ChainBuilder, out: Path) -> Path:
    folder = b.write(out.with_name("folder"))
    with zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as z:
        z.write(folder / "events.jsonl", "events.jsonl")
        z.write(folder / "checkpoint", "checkpoint")
    data = bytearray(out.read_bytes())
    at = data.find(b'"u-alice"')
    data[at + 3] ^= 0x01  # inside the stored events: the CRC no longer matches
    out.write_bytes(bytes(data))
    return out


def _corrupt_lzma(b: ChainBuilder, out: Path) -> Path:
    folder = b.write(out.with_name("folder"))
    with zipfile.ZipFile(out, "w") as z:
        z.write(folder / "checkpoint", "checkpoint")
        z.writestr(
            "events.jsonl", (folder / "events.jsonl").read_bytes(), zipfile.ZIP_LZMA
        )
    data = bytearray(out.read_bytes())
    start = data.find(b"events.jsonl") + len("events.jsonl") + 20
    data[start : start + 40] = bytes(40)
    out.write_bytes(bytes(data))
    return out


MALFORMED: dict[str, tuple[Callable[[ChainBuilder, Path], Path], int, str]] = {
    "nested_50000_deep": (_deep, 3, "nested too deeply"),
    "nested_50000_deep_zip": (_zipped(_deep), 3, "nested too deeply"),
    "line_over_the_cap": (_long_line, 5, f"longer than the {MAX_EVENT_LINE} bytes"),
    "line_over_the_cap_zip": (_zipped(_long_line), 5, "longer than the"),
    "invalid_utf8_name": (_bad_utf8_name, 0, "cannot open"),
    "unsupported_zip_version": (_zip_version, 0, "zip file version 9.9"),
    "inflated_central_directory": (_inflated_sizes, 0, "cannot read events.jsonl"),
    "inflated_checkpoint_size": (
        _inflated_checkpoint_size,
        0,
        "cannot read checkpoint",
    ),
    "flipped_byte_in_a_stored_entry": (_flipped_byte, 0, "cannot read events.jsonl"),
    "corrupt_lzma_entry": (_corrupt_lzma, 0, "compression method 14"),
}


@pytest.mark.parametrize("case", sorted(MALFORMED))
def test_a_malformed_export_ends_in_fail_seq_in_text_and_json(
    chain: ChainBuilder,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    case: str,
) -> None:
    tamper, seq, reason = MALFORMED[case]
    path = tamper(chain, tmp_path / "e.zip")
    error = _fail(chain, path)
    assert (error.seq, reason in error.reason) == (seq, True), error.reason
    trusted = trusted_key(chain)
    run = _offline(path, trusted)
    assert (run.returncode, run.stdout) == (1, f"FAIL seq={seq} {error.reason}\n")
    assert "Traceback" not in run.stderr
    run = _offline(path, trusted, "--json")
    assert (run.returncode, json.loads(run.stdout)) == (
        1,
        {"ok": False, "seq": seq, "reason": error.reason},
    )
    code, out, err = _qms(monkeypatch, capsys, tmp_path, "verify", "--export", str(path), "--trusted-key", trusted)  # fmt: skip
    assert (code, out, err) == (1, f"FAIL seq={seq} {error.reason}\n", "")
    code, out, err = _qms(monkeypatch, capsys, tmp_path, "verify", "--export", str(path), "--trusted-key", trusted, "--json")  # fmt: skip
    assert (code, json.loads(out), err) == (
        1,
        {"ok": False, "seq": seq, "reason": error.reason},
        "",
    )


@pytest.mark.parametrize("ending", ["line_over_the_cap", "no_final_newline"])
def test_an_earlier_bad_signature_wins_over_a_later_unreadable_file(
    chain: ChainBuilder, tmp_path: Path, ending: str
) -> None:
    """Section 8, 2: a failing signature at an earlier seq wins over what follows."""
    note = chain.checkpoint()
    lines = chain.lines()
    env = json.loads(lines[2])
    env["sig"] = json.loads(lines[3])["sig"]
    lines[2] = canonical_bytes(env)
    if ending == "line_over_the_cap":
        lines[6] = b"x" * (MAX_EVENT_LINE + 1)
    folder = chain.write(tmp_path / "e", lines=lines, checkpoint=note)
    if ending == "no_final_newline":
        events = folder / "events.jsonl"
        events.write_bytes(events.read_bytes().rstrip(b"\n"))
    error = _fail(chain, folder)
    assert (error.seq, "signature does not verify" in error.reason) == (3, True)


# --- bounded time and memory ---------------------------------------------------------


def _bomb(
    out: Path, name: str, fill: bytes, size: int, *other: tuple[str, bytes]
) -> Path:
    """A zip whose entry `name` inflates to `size` bytes of `fill` from a few hundred KiB."""
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as z:
        for entry, content in other:
            z.writestr(entry, content)
        with z.open(name, "w") as handle:
            chunk = fill * ((1 << 20) // len(fill))
            for _ in range(size // len(chunk)):
                handle.write(chunk)
    return out


def test_a_zip_of_300_million_newlines_fails_at_once_without_a_terminal(
    chain: ChainBuilder,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """No line count for a progress bar unless stderr is a terminal (it took minutes)."""
    note = chain.checkpoint()
    archive = _bomb(tmp_path / "nl.zip", "events.jsonl", b"\n", 300 << 20, ("checkpoint", note.encode()))  # fmt: skip
    assert archive.stat().st_size < 1 << 20
    run = subprocess.run(
        [
            sys.executable,
            "-c",
            "from web.cli import main; main()",
            "verify",
            "--export",
            str(archive),
            "--trusted-key",
            trusted_key(chain),
        ],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={
            **os.environ,
            "PYTHONPATH": str(REPO),
            "QMS_INSTANCE": str(tmp_path / "i"),
        },
        timeout=60,  # generous: it fails at line 1; counting the lines first took 167 s
        check=False,
    )
    assert (run.returncode, run.stdout.startswith("FAIL seq=1 not a JSON object")) == (1, True), run.stdout + run.stderr  # fmt: skip
    with ExportReader.open(archive) as reader:  # the count for a terminal is bounded
        assert reader.count_events(budget=16 << 20) is None
    with ExportReader.open(chain.write(tmp_path / "e")) as reader:
        assert reader.count_events() == len(chain.envs)


@pytest.mark.parametrize(
    ("entry", "fill", "seq", "reason"),
    [
        ("events.jsonl", b"x", 1, "longer than the"),
        ("events.jsonl", b"[", 1, "longer than the"),
        ("checkpoint", b"x", 0, "holds more than the"),
    ],
)
def test_a_small_zip_cannot_make_the_verifier_hold_much_memory(
    chain: ChainBuilder, tmp_path: Path, entry: str, fill: bytes, seq: int, reason: str
) -> None:
    other = [("events.jsonl", b"".join(x + b"\n" for x in chain.lines()))] if entry == "checkpoint" else [("checkpoint", chain.checkpoint().encode())]  # fmt: skip
    archive = _bomb(tmp_path / "bomb.zip", entry, fill, 256 << 20, *other)
    if (
        entry == "checkpoint"
    ):  # state a small size: the stream still inflates to 256 MiB
        _patch_central(archive, b"checkpoint", 24, (100).to_bytes(4, "little"))
    assert archive.stat().st_size < 1 << 20
    run = _offline(archive, trusted_key(chain))
    assert (run.returncode, run.stdout.startswith(f"FAIL seq={seq} ")) == (1, True), run.stdout + run.stderr  # fmt: skip
    assert reason in run.stdout or "cannot read" in run.stdout
    assert _peak_mib(run) < 100, run.stderr  # it was over 500 MiB
