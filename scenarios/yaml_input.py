"""Reading scenario text with bounded work: files of at most MAX_FILE_BYTES, regular files only
(a FIFO or device is refused without waiting on it), and YAML composed by a SafeLoader that
counts values with aliases expanded and refuses more than MAX_NODES values, nesting deeper
than MAX_DEPTH, recursive aliases and duplicate keys before any of it is constructed.

Errors are one line, "label: ...". Text of a `private` file (one reached through `extends:`)
is never echoed: its errors name only the file, line and column.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

import yaml

from .errors import ScenarioError

MAX_FILE_BYTES = 2_000_000
MAX_NODES = 20_000  # the national scenario has about 1,100 values; the pure-Python parser is slow
MAX_DEPTH = 50  # the deepest built-in path is 7 levels
# the bounds make these unreachable while parsing; if not, still one line and no traceback
UNEXPECTED = (RecursionError, ValueError, TypeError, OverflowError, MemoryError)


class YamlRefusal(yaml.YAMLError):
    """Text the loader will not read: where, what it got (and a form that shows none of the
    file's text), what it expected."""

    def __init__(self, mark, got: str, expected: str, got_private: str | None = None):
        super().__init__(f"got {got}, expected {expected}")
        self.mark, self.got, self.expected = mark, got, expected
        self.got_private = got if got_private is None else got_private


class ScenarioLoader(yaml.SafeLoader):
    """yaml.SafeLoader with bounds checked while composing, before anything is constructed:
    values are counted with every alias expanded (what the merge and the checks will walk),
    and so is depth."""

    def __init__(self, stream):
        super().__init__(stream)
        self.depth = self.deepest = self.nodes = 0
        self.aliased = False
        self.expanded: dict[str, tuple[int, int]] = {}  # anchor -> (values, levels) below it

    def compose_node(self, parent, index):
        event = self.peek_event()
        if isinstance(event, yaml.AliasEvent):
            return self._alias(event, parent, index)
        self._count(event, 1, 0)
        nests = isinstance(event, yaml.SequenceStartEvent | yaml.MappingStartEvent)
        self.depth += nests
        before, outer, self.deepest = self.nodes, self.deepest, self.depth
        node = super().compose_node(parent, index)
        self.depth -= nests
        if event.anchor is not None:  # levels counted from the parent, the node's own included
            self.expanded[event.anchor] = (self.nodes - before + 1, self.deepest - self.depth)
        self.deepest = max(outer, self.deepest)
        return node

    def _alias(self, event, parent, index):
        if event.anchor in self.anchors and event.anchor not in self.expanded:
            raise YamlRefusal(event.start_mark, "an alias inside its own anchor",
                              "values that end (no recursive aliases)")
        values, levels = self.expanded.get(event.anchor, (1, 0))
        self._count(event, values, levels)
        self.aliased = True
        return super().compose_node(parent, index)

    def _count(self, event, values: int, levels: int) -> None:
        """Refuse the document before its values or levels pass the bounds."""
        self.nodes += values
        if self.nodes > MAX_NODES:
            raise YamlRefusal(event.start_mark, f"more than {MAX_NODES} values (aliases "
                              "expanded)", f"at most {MAX_NODES}")
        nests = isinstance(event, yaml.SequenceStartEvent | yaml.MappingStartEvent)
        if self.depth + nests + levels > MAX_DEPTH:
            raise YamlRefusal(event.start_mark, f"nesting deeper than {MAX_DEPTH} levels",
                              f"at most {MAX_DEPTH}")
        self.deepest = max(self.deepest, self.depth + levels)

    def construct_mapping(self, node, deep=False):
        seen = set()
        for key_node, _ in node.value:
            if isinstance(key_node, yaml.ScalarNode):
                key = (key_node.tag, key_node.value)
                if key in seen:  # PyYAML would silently keep the last one
                    raise YamlRefusal(key_node.start_mark, f"the key {_clip(key_node.value)} twice",
                                      "each key once", "a key twice")
                seen.add(key)
        return super().construct_mapping(node, deep)

    def construct_object(self, node, deep=False):
        try:
            return super().construct_object(node, deep)
        except (ValueError, TypeError, OverflowError) as err:  # PyYAML gives no place for these
            got = _clip(node.value) if isinstance(node, yaml.ScalarNode) else "a value"
            reason = str(err).split(";")[0]  # Python's hint on how to lift its limit is no help
            raise YamlRefusal(node.start_mark, got, f"a valid value ({reason})",
                              "a value YAML cannot read") from None


def _clip(text: str) -> str:
    return repr(text) if len(text) <= 40 else repr(text[:37] + "...")


def _where(mark) -> str:
    return f"line {mark.line + 1}, column {mark.column + 1}" if mark else "an unknown place"


def _construct(text: str):
    loader = ScenarioLoader(text)
    try:
        data = loader.get_single_data()
    finally:
        loader.dispose()
    # an alias is one shared object: changing it in one place (an override) would change both
    return _unshared(data) if loader.aliased else data


def _unshared(value):
    """A copy in which no dict or list appears twice (bounded: depth and size are capped)."""
    if isinstance(value, dict):
        return {k: _unshared(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_unshared(v) for v in value]
    return value


def parse_yaml(text: str, label: str = "scenario", *, private: bool = False) -> dict:
    """A mapping from YAML text, read with bounded work; every problem is a ScenarioError of
    one line that names the line and column (and, unless `private`, what was found there)."""
    data = load_yaml(text, label, private=private)
    if not isinstance(data, dict):
        raise ScenarioError([
            f"{label}: got {type(data).__name__}, expected a mapping of scenario fields"
        ])
    return data


def load_yaml(text: str, label: str, *, private: bool = False):
    """Whatever the YAML text holds (see parse_yaml)."""
    _check_length(text, label)
    try:
        data = _construct(text)
    except YamlRefusal as err:
        got = err.got_private if private else err.got
        raise ScenarioError([f"{label}: {_where(err.mark)}: got {got}, expected {err.expected}"]) \
            from None
    except yaml.MarkedYAMLError as err:
        mark = err.problem_mark or err.context_mark
        detail = "" if private else f": {err.problem}"
        raise ScenarioError([f"{label}: malformed YAML at {_where(mark)}{detail}"]) from None
    except yaml.reader.ReaderError as err:
        raise ScenarioError([_reader_problem(text, label, err)]) from None
    except (yaml.YAMLError, *UNEXPECTED) as err:
        raise ScenarioError([_unexpected(label, err)]) from None
    return data


def parse_value(text: str, label: str):
    """One value from the command line (--set's), read with the same bounds as a file; text
    that is not YAML (e.g. 'a: b: c') is kept as a string."""
    _check_length(text, label)
    try:
        return _construct(text)
    except YamlRefusal as err:
        raise ScenarioError([f"{label}: got {err.got}, expected {err.expected}"]) from None
    except yaml.YAMLError:
        return text
    except UNEXPECTED as err:
        raise ScenarioError([_unexpected(label, err)]) from None


def _unexpected(label: str, err: BaseException) -> str:
    return (f"{label}: got text YAML cannot read ({type(err).__name__}), expected a YAML "
            "mapping of plain values")


def _check_length(text: str, label: str) -> None:
    if len(text) > MAX_FILE_BYTES:
        raise ScenarioError([f"{label}: got more than {MAX_FILE_BYTES} characters, expected "
                             f"at most {MAX_FILE_BYTES}"])


def _reader_problem(text: str, label: str, err: yaml.reader.ReaderError) -> str:
    pos = err.position
    line = text.count("\n", 0, pos) + 1
    column = pos - (text.rfind("\n", 0, pos) + 1) + 1
    char = err.character if isinstance(err.character, str) else chr(err.character)
    return (f"{label}: line {line}, column {column}: got the character #x{ord(char):04x}, "
            "expected printable text")


def read_text(path: Path, label: str) -> str:
    """At most MAX_FILE_BYTES of a regular file as UTF-8 text. A FIFO, device or directory is
    refused: checked by stat before opening and by fstat after (O_NONBLOCK: a FIFO cannot block
    the open), so nothing but a regular file is read."""
    _require_regular(_mode(path, label), label)
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOCTTY", 0))
    except OSError as err:
        raise ScenarioError([f"{label}: could not read the file ({err.strerror})"]) from None
    with os.fdopen(fd, "rb") as handle:
        _require_regular(os.fstat(fd).st_mode, label)
        data = handle.read(MAX_FILE_BYTES + 1)
    if len(data) > MAX_FILE_BYTES:
        raise ScenarioError([f"{label}: got more than {MAX_FILE_BYTES} bytes, expected at most "
                             f"{MAX_FILE_BYTES}"])
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as err:
        raise ScenarioError([f"{label}: got a byte that is not UTF-8 at byte {err.start}, "
                             "expected UTF-8 text"]) from None


def _mode(path: Path, label: str) -> int:
    try:
        return os.stat(path).st_mode
    except (OSError, ValueError) as err:
        reason = getattr(err, "strerror", None) or "an impossible path"
        raise ScenarioError([f"{label}: could not read the file ({reason})"]) from None


def _require_regular(mode: int, label: str) -> None:
    if stat.S_ISREG(mode):
        return
    kind = ("a directory" if stat.S_ISDIR(mode) else "a FIFO" if stat.S_ISFIFO(mode)
            else "a device" if stat.S_ISCHR(mode) or stat.S_ISBLK(mode)
            else "a socket" if stat.S_ISSOCK(mode) else "a special file")
    raise ScenarioError([f"{label}: got {kind}, expected a regular file"])
