"""Output folders: checked before any work, and results rescued when writing them fails.

Shared by the command lines (``alliance-sim``, ``alliance-stress``, ``alliance-sim-app
replay``): a folder that cannot take the results is named before anything runs, and results
computed but not written (a full disk, a folder made read-only meanwhile) are written into a
temporary folder instead, whose name the error gives."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path


class FolderError(Exception):
    """An output folder that cannot take the results (the message names it and why)."""


def check_writable(folder: Path | str, option: str = "the output folder") -> Path:
    """``folder`` as a path, if results can be written into it; else FolderError.

    A folder that does not exist yet is checked at its nearest existing parent, and not
    created: nothing is left behind by a command that stops."""
    if str(folder).strip() == "":
        raise FolderError(
            f"{option} = '': must name a folder (an empty value would write into the current folder)"
        )
    path = Path(folder)
    existing = path.absolute()
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        raise FolderError(f"cannot write results into {path}: {existing} is a file, not a folder")
    probe = existing / f".write-test.{os.getpid()}"
    try:
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as error:
        raise FolderError(
            f"cannot write results into {path}: {error.strerror or error} ({existing})"
        ) from None
    return path


def write_or_rescue[T](write: Callable[[Path], T], out_dir: Path, prefix: str) -> T:
    """``write(out_dir)``; if that fails, ``write`` into a new temporary folder and raise
    FolderError naming the failure and where the results are kept."""
    try:
        return write(out_dir)
    except OSError as error:
        where = error.filename or out_dir
        try:
            rescue = Path(tempfile.mkdtemp(prefix=prefix))
            write(rescue)
            kept = f"the computed results are kept in {rescue}"
        except OSError:
            kept = "no other folder could take the computed results either"
        raise FolderError(f"cannot write {where}: {error.strerror or error}; {kept}") from None


def write_whole(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` whole or not at all: into a hidden file beside it, then renamed
    over it, so that a process killed while writing leaves the earlier file (or none), never a
    part of the new one."""
    part = path.with_name(f".{path.name}.{os.getpid()}.part")
    try:
        part.write_text(text)
        os.replace(part, path)
    finally:
        part.unlink(missing_ok=True)
