"""A seeded fuzzer for the offline verifier: corrupted exports and crafted zips.

Every mutant of a good export goes through `python -m ledger.verify` (its `main`, in
process). It must exit 1 with one `FAIL seq=N <reason>` line, or exit 0 only when
every file a reader unpacks is byte for byte what was signed (an export may leave
its blobs out). Never another exit code,
never an unexpected exception (which `main` reports as "cannot verify: ..."), and the
whole run stays within a generous time and memory bound.
"""

from __future__ import annotations

import json
import random
import resource
import shutil
import stat
import time
import warnings
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest

from ledger.integrity.export_reader import MAX_EVENT_LINE
from ledger.integrity.signing import SigningKey
from ledger.integrity.verify import main as verify_main
from tests.support.chainbuilder import ChainBuilder

SEED = 20261202
CASES = 1000
SECONDS = 60  # generous: the run takes a few seconds
PEAK_GROWTH_MIB = 200
_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"

Files = dict[str, bytes]


def _good() -> tuple[ChainBuilder, Files]:
    b = ChainBuilder()
    alice = SigningKey.generate()
    b.register(alice, holder="u-alice", purpose="esign")
    for _ in range(3):
        b.add()
    b.attach(b"QP-07 revision A\n" * 10)
    b.esign("document/QP-07", "u-alice", alice, "ab" * 32)
    b.add("finding/2026-0001", data={"classification": "minor", "note": "\u6587"})
    files = {
        "events.jsonl": b"".join(line + b"\n" for line in b.lines()),
        "checkpoint": b.checkpoint().encode(),
    }
    files.update({f"blobs/{d}": c for d, c in b.blobs.items()})
    return b, files


# --- mutations of the files' content -------------------------------------------------


def _odd_padding(text: str) -> str:
    body = text.rstrip("=")
    last = _ALPHABET.index(body[-1])
    return body[:-1] + _ALPHABET[last | 1] + text[len(body) :]


def _mutate_line(rng: random.Random, line: bytes) -> bytes:
    kind = rng.randrange(8)
    if kind == 0 and line:
        at = rng.randrange(len(line))
        return line[:at] + bytes([line[at] ^ (1 << rng.randrange(8))]) + line[at + 1 :]
    if kind == 1:
        env = json.loads(line)
        env["sig"] = _odd_padding(env["sig"])
        return json.dumps(env, sort_keys=True, separators=(",", ":")).encode()
    if kind == 2:
        depth = rng.choice([900, 1000, 5000, 50_000])
        return b"[" * depth + b"]" * depth
    if kind == 3:
        return b'"' + b"x" * (MAX_EVENT_LINE + rng.randrange(-2, 3)) + b'"'
    if kind == 4:
        return line + b" "
    if kind == 5:
        return b"\xff\xfe" + line
    if kind == 6:
        return line.replace(b'"seq":', b'"seq":1', 1)
    return b""


def _mutate_files(rng: random.Random, files: Files) -> Files:
    out = dict(files)
    lines = out["events.jsonl"].split(b"\n")[:-1]
    kind = rng.randrange(9)
    if kind <= 2:
        i = rng.randrange(len(lines))
        lines[i] = _mutate_line(rng, lines[i])
    elif kind == 3:
        i = rng.randrange(len(lines) - 1)
        lines[i], lines[i + 1] = lines[i + 1], lines[i]
    elif kind == 4:
        del lines[rng.randrange(len(lines))]
    elif kind == 5:
        note = out["checkpoint"].decode()
        head, _, sig = note.rstrip("\n").rpartition(" ")
        out["checkpoint"] = rng.choice(
            [
                f"{head} {_odd_padding(sig)}\n",
                note + "garbage\n",
                note.replace("\n\n", "\n"),
                note[: rng.randrange(len(note))],
            ]
        ).encode()
    elif kind == 6:
        name = next(n for n in out if n.startswith("blobs/"))
        content = bytearray(out[name])
        content[rng.randrange(len(content))] ^= 0x20
        out[name] = bytes(content)
    elif kind == 7:
        name = next(n for n in out if n.startswith("blobs/"))
        out[name.upper() if rng.random() < 0.5 else name[:-1]] = out.pop(name)
    else:
        del out[
            rng.choice(["checkpoint", next(n for n in out if n.startswith("blobs/"))])
        ]
    out["events.jsonl"] = b"".join(line + b"\n" for line in lines)
    if rng.random() < 0.1:
        out["events.jsonl"] = out["events.jsonl"].rstrip(b"\n")
    return out


# --- writing mutants as folders and zips ---------------------------------------------


def _write_folder(folder: Path, files: Files) -> None:
    for name, content in files.items():
        target = folder / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(content)


def _write_zip(path: Path, files: Files, method: int) -> None:
    with zipfile.ZipFile(path, "w", method) as z:
        for name, content in files.items():
            z.writestr(name, content)


def _folder_mutant(rng: random.Random, files: Files, folder: Path) -> None:
    kind = rng.randrange(5)
    _write_folder(folder, files if kind < 3 else _mutate_files(rng, files))
    if kind == 0:
        (folder / rng.choice(["notes.txt", ".DS_Store", "Events.jsonl"])).write_text(
            "x"
        )
    elif kind == 1:
        target = folder / rng.choice(["events.jsonl", "checkpoint"])
        real = folder.parent / f"real-{target.name}"
        shutil.move(target, real)
        target.symlink_to(real)
    elif kind == 2:
        (folder / "blobs" / "sub").mkdir()


def _raw_patch(rng: random.Random, data: bytes) -> bytes:
    raw = bytearray(data)
    kind = rng.randrange(4)
    if kind == 0:  # flip bytes anywhere
        for _ in range(rng.randrange(1, 4)):
            raw[rng.randrange(len(raw))] ^= 1 << rng.randrange(8)
    elif kind == 1:  # truncate
        del raw[rng.randrange(len(raw)) :]
    elif kind == 2:  # a central directory record states other sizes, method or version
        at = [i for i in range(len(raw)) if raw[i : i + 4] == b"PK\x01\x02"]
        if at:
            start = rng.choice(at)
            field = rng.choice([6, 10, 20, 24, 38])  # version, method, sizes, attrs
            raw[start + field : start + field + 4] = rng.randbytes(4)
    else:  # a local header states other values
        at = [i for i in range(len(raw)) if raw[i : i + 4] == b"PK\x03\x04"]
        if at:
            start = rng.choice(at)
            field = rng.choice([4, 6, 8, 18, 22, 26])
            raw[start + field : start + field + 2] = rng.randbytes(2)
    return bytes(raw)


def _zip_mutant(rng: random.Random, files: Files, path: Path) -> None:
    kind = rng.randrange(7)
    method = rng.choice([zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED])
    if kind == 0:
        _write_zip(path, _mutate_files(rng, files), method)
        return
    entries: list[tuple[str | zipfile.ZipInfo, bytes, int]] = [
        (name, content, method) for name, content in files.items()
    ]
    if kind == 2:  # the same file twice under another spelling
        name = rng.choice(sorted(files))
        alias = rng.choice(
            [
                f"./{name}",
                name.upper(),
                name.replace("/", "\\"),
                f"../{name}",
                f"/{name}",
            ]
        )
        entries.append(
            (alias, _mutate_files(rng, files).get(name, b"tampered\n"), method)
        )
    elif kind == 3:
        extra = rng.choice(["README", "blobs/x", "a/checkpoint", "blobs/", "docs/"])
        entries.append((extra, b"" if extra.endswith("/") else b"x", method))
    elif kind == 4:
        info = zipfile.ZipInfo(rng.choice(sorted(files)))
        info.external_attr = (stat.S_IFLNK | 0o777) << 16
        entries = [e for e in entries if e[0] != info.filename]
        entries.append((info, b"events.jsonl", method))
    elif kind == 5:
        other = rng.choice([zipfile.ZIP_LZMA, zipfile.ZIP_BZIP2])
        entries = [(n, c, other if n == "checkpoint" else m) for n, c, m in entries]
    elif kind == 6:  # the same name twice
        entries.append(
            ("events.jsonl", _mutate_files(rng, files)["events.jsonl"], method)
        )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # duplicate names are the point
        with zipfile.ZipFile(path, "w") as z:
            for entry, content, how in entries:
                z.writestr(entry, content, how)
    if kind == 1:
        path.write_bytes(_raw_patch(rng, path.read_bytes()))


# --- what a reader would get -----------------------------------------------------------


def _unpacked(path: Path, out: Path) -> Files:
    if path.is_dir():
        return {
            p.relative_to(path).as_posix(): p.read_bytes()
            for p in path.rglob("*")
            if p.is_file()
        }
    with zipfile.ZipFile(path) as z:
        z.extractall(out)
    return {
        p.relative_to(out).as_posix(): p.read_bytes()
        for p in out.rglob("*")
        if p.is_file()
    }


def _verify(
    path: Path, trusted: str, capsys: pytest.CaptureFixture[str]
) -> tuple[int, str]:
    capsys.readouterr()
    code = verify_main(["--export", str(path), "--trusted-key", trusted, "--json"])
    return code, capsys.readouterr().out


def test_corrupted_exports_fail_cleanly_or_verify_only_what_was_signed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    chain, files = _good()
    trusted = str(chain.envs[0]["key"])
    rng = random.Random(SEED)
    peak_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.monotonic()
    outcomes: dict[str, int] = {"ok": 0, "fail": 0}
    for case in range(CASES):
        work = tmp_path / str(case)
        work.mkdir()
        mutant: Callable[[random.Random, Files, Path], None]
        path = work / ("e" if case % 3 == 0 else "e.zip")
        mutant = _folder_mutant if case % 3 == 0 else _zip_mutant
        mutant(rng, files, path)
        code, out = _verify(path, trusted, capsys)
        result = json.loads(out)
        where = f"case {case}: {out.strip()}"
        assert code in (0, 1), where
        if code == 1:
            assert result["ok"] is False, where
            assert type(result["seq"]) is int, where
            assert result["seq"] >= 0, where
            assert "cannot verify:" not in result["reason"], where
            outcomes["fail"] += 1
        else:
            assert result["ok"] is True, where
            unpacked = _unpacked(path, work / "unpacked")
            assert {"events.jsonl", "checkpoint"} <= set(unpacked), where
            assert {n: files.get(n) for n in unpacked} == unpacked, where
            outcomes["ok"] += 1
        shutil.rmtree(work)
    elapsed = time.monotonic() - started
    growth = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - peak_before) / 1024
    assert elapsed < SECONDS, f"{CASES} cases took {elapsed:.1f} s"
    assert growth < PEAK_GROWTH_MIB, f"peak memory grew by {growth:.0f} MiB"
    assert outcomes["fail"] > CASES // 2, outcomes  # the mutations do corrupt


def test_the_text_output_of_a_failure_is_one_fail_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    chain, files = _good()
    rng = random.Random(SEED + 1)
    for case in range(40):
        path = tmp_path / f"{case}.zip"
        _zip_mutant(rng, files, path)
        capsys.readouterr()
        code = verify_main(
            ["--export", str(path), "--trusted-key", str(chain.envs[0]["key"])]
        )
        out = capsys.readouterr().out
        if code == 1:
            assert out.startswith("FAIL seq="), out
            assert out.count("\n") == 1, out
            assert "cannot verify:" not in out, out
        else:
            assert (code, out.startswith("OK n=")) == (0, True), out
