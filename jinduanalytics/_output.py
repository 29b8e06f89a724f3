"""Output folders that are complete or absent, never over an input, never mixed with another run.

Every command that writes a folder (``jindu analyze``, ``demo``, ``generate``, ``validate
--rejected``) goes through :func:`output_folder`:

* the folder must not be, contain or lie inside an input folder;
* an existing non-empty folder is replaced only when it is an earlier output of the same kind
  (it has the marker file) or the caller passes ``force=True``: two runs are never mixed, and a
  user's own files are never overwritten by surprise;
* everything is written into a temporary sibling folder, which is renamed into place only when
  the writing finished; an interrupted run (Ctrl-C, a full disk) leaves the old folder as it was
  and removes the temporary one.
"""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import Iterable, Iterator
from pathlib import Path

from .errors import OutputError

__all__ = ["output_folder", "check_output_folder"]


def _inside(a: Path, b: Path) -> bool:
    """Whether path ``a`` is ``b`` or lies inside it (both resolved)."""
    return a == b or b in a.parents


def check_output_folder(out, *, inputs: Iterable = (), marker: str | None = None, force: bool = False) -> Path:
    """Refuse an output folder that would overwrite an input or mix with unrelated files.

    Parameters
    ----------
    out : path
        The folder to write.
    inputs : iterable of paths
        Input files or folders; ``out`` may not be one of them, contain one or lie inside one.
    marker : str, optional
        A file name an earlier output of this kind holds (``manifest.json``); a non-empty
        ``out`` holding it may be replaced.
    force : bool
        Replace a non-empty ``out`` that is not an earlier output.

    Raises
    ------
    OutputError
        Naming the folder and what is wrong; nothing is touched.
    """
    out = Path(out)
    target = out.resolve()
    for inp in inputs:
        if inp is None:
            continue
        src = Path(inp).resolve()
        if _inside(target, src) or _inside(src, target):
            raise OutputError(f"output folder {out} {'is' if target == src else 'overlaps'} the input {inp}: "
                              "the input would be overwritten; choose another --out")
    if out.exists() and not out.is_dir():
        raise OutputError(f"output {out} exists and is not a folder")
    if out.is_dir() and any(out.iterdir()):
        earlier = marker is not None and (out / marker).is_file()
        if not earlier and not force:
            raise OutputError(f"output folder {out} is not empty and holds no earlier jindu output "
                              f"({marker or 'no marker'} missing); choose an empty or new folder, or pass "
                              "--force (force=True) to replace it")
    return out


@contextlib.contextmanager
def output_folder(out, *, inputs: Iterable = (), marker: str | None = None, force: bool = False) -> Iterator[Path]:
    """Yield a temporary sibling folder to write into; on success it replaces ``out`` whole.

    See :func:`check_output_folder` for what is refused. On any exception (KeyboardInterrupt
    included) the temporary folder is removed and ``out`` is left as it was.
    """
    out = check_output_folder(out, inputs=inputs, marker=marker, force=force)
    parent = out.resolve().parent
    try:
        parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"cannot create the folder {parent} for {out}: {exc.strerror or exc}") from None
    tmp = parent / f".{out.name}.jindu-tmp-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    try:
        tmp.mkdir()
    except OSError as exc:
        raise OutputError(f"cannot write into {parent}: {exc.strerror or exc}") from None
    try:
        yield tmp
        old = parent / f".{out.name}.jindu-old-{os.getpid()}"
        shutil.rmtree(old, ignore_errors=True)
        had_old = out.exists()
        if had_old:
            os.replace(out, old)
        try:
            os.replace(tmp, out)
        except OSError:
            if had_old:
                os.replace(old, out)  # put the earlier output back
            raise
        shutil.rmtree(old, ignore_errors=True)
    except OSError as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        name = f" {exc.filename}" if getattr(exc, "filename", None) else ""
        raise OutputError(f"writing {out} failed{name and ' at' + name.replace(str(tmp), str(out))}: "
                          f"{exc.strerror or exc}; nothing was written") from None
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
