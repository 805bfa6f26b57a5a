"""The command line's paths: the types of the files and folders it reads and writes.

click checks a path type itself and words a bad one its own way, under a
usage block and with no fix ("Invalid value for '--out': Directory 'afile'
is a file."). These types leave the checking to :func:`check_input_files`,
which the command runs first, so that every bad path, whichever option or
argument names it, is one line naming the option, the path and the fix:
``--sites mine.csv: no such file``.
"""

from __future__ import annotations

from pathlib import Path

import click

from estates import errors

__all__ = ["InputFile", "InputFolder", "OutputFile", "OutputFolder", "check_input_files"]


class InputFile(click.Path):
    """A file the command reads: checked by :func:`check_input_files`, not by click.

    click's own check words a missing file differently from the loaders and
    prints a usage block; every missing input is instead reported the same
    way, in one line, naming the option: ``--sites mine.csv: no such file``.
    """

    def __init__(self) -> None:
        super().__init__(path_type=Path, exists=False, dir_okay=True)


class InputFolder(click.Path):
    """A folder the command reads (``diff OLD_DIR NEW_DIR``), checked as :class:`InputFile` is."""

    def __init__(self) -> None:
        super().__init__(path_type=Path, exists=False, file_okay=True)


class OutputFolder(click.Path):
    """A folder the command writes (``build --out``), checked as :class:`InputFile` is.

    click's own check of an existing file given as a folder prints a usage
    block and no fix; :func:`check_input_files` words it as every other
    error, in one line naming the option, the path and the fix.
    """

    def __init__(self) -> None:
        super().__init__(path_type=Path, exists=False, file_okay=True)


class OutputFile(click.Path):
    """A file the command writes (``diff --out``): it need not exist, and may not be a folder."""

    def __init__(self) -> None:
        super().__init__(path_type=Path, exists=False, dir_okay=True)


def check_input_files(ctx: click.Context) -> None:
    """Raise one :class:`~estates.errors.DataValidationError` for the first path that cannot do.

    Every parameter of type :class:`InputFile` (options and arguments alike,
    repeated ones included) and every ``--eric FILE[:YYYY/YY]`` must name an
    existing file, and every :class:`InputFolder` an existing folder. The
    message is ``<option> <path>: no such file`` (``no such folder``; ``is a
    folder, not a file``), whatever the option or the command. An
    :class:`OutputFolder` may not be a file, nor an :class:`OutputFile` a
    folder: they are said the same way, with the fix.
    """
    from estates.io.eric_spec import parse_eric_spec

    for param in ctx.command.params:
        value = ctx.params.get(param.name or "")
        if value is None or value == ():
            continue
        values = value if isinstance(value, tuple) else (value,)
        label = _param_label(param)
        if isinstance(param.type, InputFolder | OutputFolder | OutputFile):
            for path in map(Path, values):
                _check_path(param.type, label, path)
            continue
        if isinstance(param.type, InputFile):
            paths = [Path(v) for v in values]
        elif param.name == "eric":
            paths = [parse_eric_spec(v)[0] for v in values]
        else:
            continue
        for path in paths:
            if path.is_dir():
                msg = f"{label} {path}: is a folder, not a file; give the file inside it"
                raise errors.DataValidationError(msg)
            if not path.exists():
                raise errors.DataValidationError(f"{label} {path}: no such file")


def _check_path(kind: click.Path, label: str, path: Path) -> None:
    """Raise for an input folder that is missing or a file, an output of the wrong kind."""
    if isinstance(kind, OutputFile):
        if path.is_dir():
            example = path / "changes.csv"
            msg = f"{label} {path}: is a folder, not a file; name a file, e.g. {example}"
            raise errors.DataValidationError(msg)
        return
    if path.exists() and not path.is_dir():
        if isinstance(kind, OutputFolder):
            msg = (
                f"{label} {path}: is a file, not a folder; move it away or choose another "
                "output folder"
            )
        else:
            msg = (
                f"{label} {path}: is a file, not a folder; give the --out folder of an "
                "estates build (the folder that holds sites.parquet)"
            )
        raise errors.DataValidationError(msg)
    if not path.exists() and isinstance(kind, InputFolder):
        raise errors.DataValidationError(f"{label} {path}: no such folder")


def _param_label(param: click.Parameter) -> str:
    """``--sites`` for an option, ``SOURCE`` for an argument."""
    if isinstance(param, click.Option):
        return max(param.opts, key=len)
    return param.human_readable_name
