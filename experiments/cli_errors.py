"""How the `fleetsim` executable words what went wrong: click's complaints about a command
line in the `path: got VALUE, expected WHAT` form, and a bug in one line with its traceback
written to a log file."""

from __future__ import annotations

import os
import sys
import tempfile
import traceback
from datetime import UTC, datetime
from pathlib import Path

import typer


def usage_line(err: Exception, command, argv: list[str] | None) -> str:
    """click's complaint about the command line in the "path: got, expected" form."""
    kind, param = type(err).__name__, getattr(err, "param", None)
    if kind == "NoSuchOption":
        close = sorted(err.possibilities)
        hint = f" (did you mean {', '.join(close)}?)" if close else ""
        return f"{err.option_name}: got an unknown option, expected one listed by --help{hint}"
    if kind == "BadOptionUsage" and "requires" in err.format_message():
        return f"{err.option_name}: got nothing, expected a value after it"
    if kind == "MissingParameter" and param is not None:
        name = param.opts[0] if param.param_type_name == "option" else param.name.upper()
        return f"{name}: got nothing, expected a value"
    if param is not None:
        return f"{param.opts[0]}: got a bad value, expected {err.format_message()}"
    words = [a for a in (sys.argv[1:] if argv is None else argv) if not a.startswith("-")]
    names = sorted(getattr(command, "commands", {}))
    if words and words[0] not in names:
        return f"command: got {words[0]!r}, expected one of: {', '.join(names)}"
    where = err.ctx.command_path if getattr(err, "ctx", None) else "fleetsim"
    return f"{where}: got {err.format_message()!r}, expected what `{where} --help` shows"


def error_log_dir() -> Path:
    """Where tracebacks of bugs go: $FLEETSIM_ERROR_DIR, else ~/.cache/fleetsim/errors."""
    if os.environ.get("FLEETSIM_ERROR_DIR"):
        return Path(os.environ["FLEETSIM_ERROR_DIR"])
    cache = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(cache) / "fleetsim" / "errors"


def report_bug(err: BaseException, argv: list[str] | None) -> int:
    """One line on stderr naming the bug, where it happened and the log holding its traceback."""
    frame = traceback.extract_tb(err.__traceback__)[-1] if err.__traceback__ else None
    where = f"{Path(frame.filename).name}:{frame.lineno} ({frame.name})" if frame else "?"
    text = (f"fleetsim {' '.join(sys.argv[1:] if argv is None else argv)}\n"
            f"{datetime.now(UTC).isoformat()}\n\n{''.join(traceback.format_exception(err))}")
    log = None
    for folder in (error_log_dir(), Path(tempfile.gettempdir())):
        try:
            folder.mkdir(parents=True, exist_ok=True)
            with tempfile.NamedTemporaryFile("w", dir=folder, prefix="fleetsim-error-",
                                             suffix=".log", delete=False) as fh:
                fh.write(text)
            log = fh.name
            break
        except OSError:
            continue
    details = f"details written to {log}" if log else "the details could not be written"
    typer.echo(f"fleetsim: internal error (a bug, not your input): {type(err).__name__} at "
               f"{where}; {details}", err=True)
    return 1
