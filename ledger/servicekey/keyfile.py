"""The service key file on disk: loading, durable writing, the staged key of a
rotation, the rotation lock and the destruction of a replaced key.

File system only: which key the ledger holds in force is the caller's question
(`ledger.servicekey`). Beside the key file `<name>` live, during a rotation only:

- `<name>.new`: the staged new key, written durably before the ledger registers it;
- `<name>.old`: the replaced key, kept only until it is overwritten and removed;
- `.<name>.lock`: the lock file (mode 0600, left in place) of the rotation lock;
  hidden, so that the key files a person sees are the keys.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import stat
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from ledger.errors import KeyMaterialError
from ledger.integrity.signing import SigningKey, load_private_key_file


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def check_private(path: Path) -> None:
    """Refuse a key file that its group or others may read or write.

    Raises:
        KeyMaterialError: the file is missing, or its mode has group or other bits.
    """
    try:
        mode = stat.S_IMODE(path.stat().st_mode)
    except FileNotFoundError as exc:
        raise KeyMaterialError(f"no signing key file at {path}") from exc
    except OSError as exc:
        raise KeyMaterialError(
            f"cannot read signing key file {path}: {exc.strerror}"
        ) from exc
    if mode & 0o077:
        raise KeyMaterialError(
            f"signing key file {path} is open to others (mode {mode:04o}): "
            f"run `chmod 600 {path}`"
        )


def load_key(path: Path) -> SigningKey:
    """Load the private key file at `path`, refusing one that others may read.

    Raises:
        KeyMaterialError: the file is missing, unreadable, open to group or others,
            or holds no Ed25519 key.
    """
    check_private(path)
    return load_private_key_file(path)


def write_key_durably(path: Path, key: SigningKey) -> None:
    """Write `key` to `path` (a new file, mode 0600) so that it survives a crash.

    The key goes to a temporary file beside `path`, is fsynced, renamed into place
    and the folder fsynced: after a crash `path` holds the whole key or is absent.

    Raises:
        KeyMaterialError: `path` exists already or the file cannot be written.
    """
    folder = path.parent
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    if path.exists():
        raise KeyMaterialError(f"cannot create key file {path}: it exists already")
    temp = path.with_name(path.name + ".tmp")
    temp.unlink(missing_ok=True)  # a crash's leftover: never a key anyone uses
    try:
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(key.private_pem())
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temp, 0o600)
        # link() fails when `path` appeared meanwhile: a key file is never replaced.
        os.link(temp, path)
        temp.unlink()
        _fsync_dir(folder)
    except OSError as exc:
        temp.unlink(missing_ok=True)
        raise KeyMaterialError(
            f"cannot create key file {path}: {exc.strerror}"
        ) from exc


def destroy(path: Path) -> None:
    """Overwrite the file at `path` with zeros, fsync it, remove it, fsync the folder.

    A missing file is not an error.

    Raises:
        KeyMaterialError: the file cannot be overwritten or removed.
    """
    try:
        with path.open("r+b") as handle:
            size = os.fstat(handle.fileno()).st_size
            handle.write(bytes(size))
            handle.flush()
            os.fsync(handle.fileno())
        path.unlink()
        _fsync_dir(path.parent)
    except FileNotFoundError:
        return
    except OSError as exc:
        raise KeyMaterialError(f"cannot destroy {path}: {exc.strerror}") from exc


@dataclass(frozen=True, slots=True)
class KeyFile:
    """The service key file at `path` and the files a rotation keeps beside it."""

    path: Path

    @property
    def staged(self) -> Path:
        """The new key of a rotation, before it replaces the key file."""
        return self.path.with_name(self.path.name + ".new")

    @property
    def replaced(self) -> Path:
        """The old key of a rotation, until it is destroyed."""
        return self.path.with_name(self.path.name + ".old")

    @property
    def lock_file(self) -> Path:
        """The file the rotation lock is taken on."""
        return self.path.with_name(f".{self.path.name}.lock")

    def exists(self) -> bool:
        """Return whether the key file exists."""
        return self.path.exists()

    def load(self) -> SigningKey:
        """Load the key file.

        Raises:
            KeyMaterialError: see `load_key`.
        """
        return load_key(self.path)

    def load_staged(self) -> SigningKey | None:
        """Load the staged key, or return None when there is none.

        Raises:
            KeyMaterialError: the staged file exists but cannot be loaded.
        """
        if not self.staged.exists():
            return None
        return load_key(self.staged)

    def half_done(self) -> bool:
        """Return whether a rotation left a staged or a replaced key behind."""
        return self.staged.exists() or self.replaced.exists()

    @contextlib.contextmanager
    def locked(self) -> Iterator[None]:
        """Hold the rotation lock (an exclusive `flock`) while the block runs.

        A second holder, in this process or another, waits until the first is done.

        Raises:
            KeyMaterialError: the lock file cannot be opened or locked.
        """
        folder = self.path.parent
        try:
            folder.mkdir(mode=0o700, parents=True, exist_ok=True)
            fd = os.open(self.lock_file, os.O_RDWR | os.O_CREAT, 0o600)
        except OSError as exc:
            raise KeyMaterialError(
                f"cannot open the key lock {self.lock_file}: {exc.strerror}"
            ) from exc
        try:
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX)
                    break
                except InterruptedError:  # pragma: no cover - a signal while waiting
                    continue
                except OSError as exc:
                    if exc.errno == errno.EINTR:  # pragma: no cover
                        continue
                    raise KeyMaterialError(
                        f"cannot lock {self.lock_file}: {exc.strerror}"
                    ) from exc
            yield
        finally:
            os.close(fd)  # releases the lock

    def stage(self, key: SigningKey) -> None:
        """Write `key` durably as the staged key.

        Raises:
            KeyMaterialError: a staged key exists already or cannot be written.
        """
        write_key_durably(self.staged, key)

    def discard_staged(self) -> None:
        """Destroy the staged key (only ever one the ledger never registered).

        Raises:
            KeyMaterialError: it cannot be removed.
        """
        destroy(self.staged)

    def install_staged(self, *, hook: Callable[[str], None] | None = None) -> None:
        """Make the staged key the key file; destroy the key it replaces afterwards.

        Each step survives a crash: the old key is first linked to `<name>.old`, the
        staged key renamed over the key file (atomic), the folder fsynced, and only
        then is `<name>.old` overwritten and removed. Calling it again after a crash
        at any step finishes the work. `hook` is called with "linked" and "installed"
        after those steps.

        Raises:
            KeyMaterialError: a file cannot be linked, renamed or destroyed.
        """
        folder = self.path.parent
        try:
            if self.staged.exists():
                if self.path.exists() and not self.replaced.exists():
                    os.link(self.path, self.replaced)
                    _fsync_dir(folder)
                if hook is not None:
                    hook("linked")
                os.replace(self.staged, self.path)
                _fsync_dir(folder)
                if hook is not None:
                    hook("installed")
        except OSError as exc:
            raise KeyMaterialError(
                f"cannot install the new key {self.staged} as {self.path}: "
                f"{exc.strerror}"
            ) from exc
        self.destroy_replaced()

    def destroy_replaced(self) -> None:
        """Overwrite and remove `<name>.old`, the key a rotation replaced.

        While `<name>.old` is still a second name of the key file itself (the new key
        is not in place), only that name is removed: the key file is never zeroed.

        Raises:
            KeyMaterialError: it cannot be destroyed.
        """
        try:
            if self.path.exists() and os.path.samefile(self.path, self.replaced):
                self.replaced.unlink()
                _fsync_dir(self.path.parent)
                return
        except FileNotFoundError:
            return
        except OSError as exc:
            raise KeyMaterialError(
                f"cannot remove {self.replaced}: {exc.strerror}"
            ) from exc
        destroy(self.replaced)
