"""The compiled cache of the checked knowledge base, so that start-up and reload stay fast.

Reading, validating and checking YAML costs about 70 µs a record; from the cache, about 8 µs.
Two layers, both keyed by content, never by file dates alone:

- **parsed files**: one entry per YAML file, the validated items of the file and the problems
  found in it alone. Key: the BLAKE2 digest of the file's bytes, the file's displayed name and
  the code version (the sources of `bot/kb/`, of the rules, of the opening hours and of the
  gazetteer, the versions of pydantic, data-inclusion-schema, PyYAML, phonenumbers and
  opening-hours-py, the cache format).
- **derived values**: what start-up derives from other inputs than the base (the ordinary words
  of `bot.place_spotting`, made from pyspellchecker's lists in 0.1–0.3 s, read back in about
  10 ms), one JSON entry each. Key: a digest of those inputs, given by their owner, and the
  code version.
- **checks**: per part of the base (the shared files, each département), the problems of its
  cross-reference checks. Key: the digests of its files and of what it reads from the shared
  files, the day (stale records become warnings with time), the gazetteer's digest (`context`)
  and the code version.

Entries live in memory (a reload reuses what did not change, objects included) and on disk in
`<knowledge>/.cache/` as JSON lines: a format that only holds data (no code runs when it is
read, unlike pickle), checked by a digest of its body and by its version before use. Anything
wrong (missing, stale, truncated, corrupted, another version, a disk error) means the entry is
ignored and rebuilt from the YAML; a cache is never trusted, and never required (a read-only
knowledge folder only loses the speed). Conversation state is never cached or pickled here.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import gc
import hashlib
import json
import logging
import os
import sys
import threading
import typing
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any, Final, NamedTuple, TypeVar

from pydantic import BaseModel, ValidationError

from bot.kb.knowledge import Problem
from bot.kb.models import EMPTY_LIST, sharing_plan
from bot.kb.segments import NO_DIGEST
from bot.kb.yamlpos import YamlDocument

log = logging.getLogger(__name__)
T = TypeVar("T")

FORMAT: Final = 2
GAZETTEER_FILE: Final = "communes.csv.gz"  # the communes, beside the base's folders
_CHUNK: Final = 200  # items per JSON line: small parses, so a reload never holds the GIL long
_CODE_FILES: Final = ("kb", "rules.py", "text.py", "hours.py", "places.py", "place_keys.py")
_PACKAGES: Final = (
    "pydantic",
    "pydantic-core",
    "data-inclusion-schema",
    "PyYAML",
    "phonenumbers",
    "opening-hours-py",
)


@functools.cache
def code_version() -> str:
    """A digest of everything that shapes a parsed or checked file (see the module docstring)."""
    digest = hashlib.blake2b(digest_size=16)
    digest.update(f"format {FORMAT} python {sys.version_info[:2]}".encode())
    for package in _PACKAGES:
        with contextlib.suppress(metadata.PackageNotFoundError):
            digest.update(f"{package} {metadata.version(package)}".encode())
    root = Path(__file__).resolve().parents[1]
    for name in _CODE_FILES:
        path = root / name
        for source in sorted(path.glob("*.py")) if path.is_dir() else [path]:
            digest.update(source.name.encode())
            digest.update(source.read_bytes())
    return digest.hexdigest()


def digest_bytes(data: bytes) -> str:
    return hashlib.blake2b(data, digest_size=16).hexdigest()


def file_digest(path: Path) -> str:
    """The digest of a file's bytes ("" when it cannot be read)."""
    try:
        return digest_bytes(path.read_bytes())
    except OSError:
        return ""


# --- pausing the cyclic garbage collector --------------------------------------------------------


class _GcPauses:
    """Nested, thread-safe pauses of the (process-wide) cyclic garbage collector."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._depth = 0
        self._was_enabled = True

    @contextlib.contextmanager
    def __call__(self) -> Iterator[None]:
        with self._lock:
            self._depth += 1
            if self._depth == 1:
                self._was_enabled = gc.isenabled()
                gc.disable()
        try:
            yield
        finally:
            with self._lock:
                self._depth -= 1
                if self._depth == 0 and self._was_enabled:
                    # What was built is long-lived: move it out of the collector's sight, or the
                    # first allocation after enable() would start a full collection of it all.
                    gc.freeze()
                    gc.enable()


paused_gc: Final = _GcPauses()
"""`with paused_gc():` no cyclic garbage collection while building many long-lived objects.

Loading creates hundreds of thousands of objects that all survive: each automatic collection
would walk them all again for nothing (about 1.9 s at national scale), holding the GIL so that
turns wait. At the end of the outermost pause, everything alive is frozen (`gc.freeze()`): the
collector no longer walks it (a full collection of the national base costs 0.3–0.5 s). Reference
counting still frees everything as usual, frozen or not; only garbage *cycles* made during a
pause would stay (loading makes none that we know of: `bench/bench_startup.py` reloads many
times and reports the memory).
"""


# --- what the cache keeps -----------------------------------------------------------------------


class Entry(NamedTuple):
    """One validated item of a file: its section key, its position in the section's list (None
    for a single mapping such as `meta`), and the item."""

    key: str
    position: int | None
    item: Any


NOT_PASSED: Final[object] = object()  # an entry whose record checks found a problem, or unknown


@dataclass(slots=True)
class ParsedFile:
    """One YAML file, read and validated item by item, with the problems found in it alone."""

    name: str  # as shown in problems, e.g. "knowledge/departements/54.yaml"
    digest: str
    entries: list[Entry]
    errors: list[Problem]
    warnings: list[Problem]
    invalid_ids: set[str]  # ids of items that failed validation (already reported)
    keys: list[str]  # top-level keys, in file order
    doc: YamlDocument = field(repr=False)
    broken: bool = False  # unreadable: nothing of it could be read
    # the digest of each entry's text, in entry order, for a reload that parses only the records
    # that changed (`bot.kb.segments`; NO_DIGEST: never reused); b"": none known
    segments: bytes = field(default=b"", repr=False)
    # for each entry, in entry order: NOT_PASSED, or what its record checks depended on when
    # they last found nothing (a service's structure, else None; see `bot.kb.checks.RecordMemo`);
    # memory only, empty: nothing known
    passed: list[object] = field(default_factory=list, repr=False, compare=False)
    passed_context: tuple[object, ...] | None = field(default=None, repr=False, compare=False)
    # made from the entries when first needed, kept for reloads (never written to disk)
    gathered: dict[str, Any] | None = field(default=None, repr=False, compare=False)
    ids: dict[str, frozenset[str]] | None = field(default=None, repr=False, compare=False)

    def reusable(self) -> dict[bytes, int]:
        """The entries that a new version of the file may keep: their index in `entries`, by
        the digest of their text."""
        size = len(NO_DIGEST)
        if len(self.segments) != size * len(self.entries):
            return {}
        segments = self.segments
        digests = [segments[at : at + size] for at in range(0, len(segments), size)]
        found = dict(zip(digests, range(len(digests)), strict=True))
        found.pop(NO_DIGEST, None)
        return found

    def passed_items(self) -> dict[int, object]:
        """`id()` of each item whose record checks found nothing → what they depended on (the
        items are alive: this file holds them). Empty when nothing is known."""
        known = zip(self.entries, self.passed, strict=False)
        return {id(entry.item): depends for entry, depends in known if depends is not NOT_PASSED}

    def keep_passed(self, passed: Mapping[int, object], context: tuple[object, ...] | None) -> None:
        """Remember which entries' record checks found nothing, under `context`."""
        self.passed = [passed.get(id(entry.item), NOT_PASSED) for entry in self.entries]
        self.passed_context = context


@dataclass(slots=True)
class CacheStats:
    """What the cache saved, counted since it was made (for benchmarks and tests)."""

    files_parsed: int = 0  # read and validated from YAML
    files_from_memory: int = 0
    files_from_disk: int = 0
    checks_run: int = 0
    checks_reused: int = 0


@dataclass(frozen=True, slots=True)
class Checked:
    """The problems of the cross-reference checks of one part of the base."""

    errors: tuple[Problem, ...]
    warnings: tuple[Problem, ...]


class KnowledgeCache:
    """Parsed files and check results, in memory and (when `root` is given) on disk.

    `context` identifies everything else the checks depend on (the gazetteer's digest); without
    it, check results are kept in memory only.
    """

    def __init__(self, root: Path | None, *, context: str = "") -> None:
        self.root = root
        self.context = context
        self._files: dict[str, ParsedFile] = {}
        self._checks: dict[str, tuple[str, Checked]] = {}
        self._good: dict[str, list[ParsedFile]] = {}  # unit → files of its last error-free load
        self._stats: dict[str, tuple[tuple[int, ...], str]] = {}  # name → (os.stat key, digest)
        self._lock = threading.Lock()
        self._pending: list[tuple[Path, Callable[[], bytes]]] | None = None
        self.stats = CacheStats()

    @classmethod
    def of_base(cls, directory: Path) -> KnowledgeCache:
        """The cache that a bot serving the base in `directory` reads and writes (its checks
        made with the gazetteer there): `aiguillage check`, an import and the bot share it."""
        return cls.beside(directory, gazetteer_file=directory / GAZETTEER_FILE)

    @classmethod
    def beside(cls, directory: Path, *, gazetteer_file: Path | None = None) -> KnowledgeCache:
        """The cache of the knowledge base in `directory`, in `directory/.cache/`."""
        context = file_digest(gazetteer_file) if gazetteer_file is not None else ""
        return cls(directory / ".cache", context=context)

    # --- parsed files ---------------------------------------------------------------------------

    def digest_of(self, name: str, stat: os.stat_result) -> str | None:
        """The digest of a file unchanged since this process last read it (same size, inode,
        modification and change times), without reading it again; None otherwise."""
        known = self._stats.get(name)
        return known[1] if known is not None and known[0] == _stat_key(stat) else None

    def read_as(self, name: str, stat: os.stat_result, digest: str) -> None:
        self._stats[name] = (_stat_key(stat), digest)

    def parsed(
        self, name: str, digest: str, path: Path, types_by_key: Mapping[str, type[Any]]
    ) -> ParsedFile | None:
        """The parsed file of these bytes, from memory or disk; None when not cached."""
        with self._lock:
            known = self._files.get(name)
        if known is not None and known.digest == digest:
            self.stats.files_from_memory += 1
            return known
        if self.root is None:
            return None
        try:
            found = _read_parsed(self._path("files", name), name, digest, path, types_by_key)
        except (OSError, ValueError, TypeError, KeyError, IndexError, ValidationError) as error:
            log.debug("cache entry for %s ignored: %s", name, type(error).__name__)
            return None
        if found is not None:
            self.stats.files_from_disk += 1
            with self._lock:
                self._files[name] = found
        return found

    def previous(self, name: str) -> ParsedFile | None:
        """The version of the file last read by this process, whatever its bytes."""
        with self._lock:
            return self._files.get(name)

    def keep_parsed(self, parsed: ParsedFile) -> None:
        self.stats.files_parsed += 1
        with self._lock:
            self._files[parsed.name] = parsed
        if self.root is not None:
            self._write(self._path("files", parsed.name), lambda: _encode_parsed(parsed))

    # --- checks ---------------------------------------------------------------------------------

    def checks_key(self, unit: str, parts: list[str], today: dt.date) -> str:
        """The key of the checks of `unit` whose inputs have the digests `parts`."""
        text = "\n".join([code_version(), self.context, unit, today.isoformat(), *parts])
        return digest_bytes(text.encode())

    def checked(self, unit: str, key: str) -> Checked | None:
        with self._lock:
            known = self._checks.get(unit)
        if known is not None and known[0] == key:
            self.stats.checks_reused += 1
            return known[1]
        if self.root is None or not self.context:
            return None
        try:
            found = _read_checked(self._path("checks", unit), key)
        except (OSError, ValueError, TypeError, KeyError, IndexError) as error:
            log.debug("cached checks of %s ignored: %s", unit, type(error).__name__)
            return None
        if found is not None:
            self.stats.checks_reused += 1
            with self._lock:
                self._checks[unit] = (key, found)
        return found

    def keep_checked(self, unit: str, key: str, checked: Checked) -> None:
        self.stats.checks_run += 1
        with self._lock:
            self._checks[unit] = (key, checked)
        if self.root is not None and self.context:
            self._write(self._path("checks", unit), lambda: _encode_checked(key, checked))

    # --- derived values ---------------------------------------------------------------------

    def derived(
        self,
        name: str,
        key: str,
        build: Callable[[], T],
        encode: Callable[[T], Any],
        decode: Callable[[Any], T],
    ) -> T:
        """The value `build()` makes from inputs whose digest is `key`: read back from disk when
        an entry of that key is there (`decode` of what `encode` gave, as JSON), else built and
        written. `decode` may raise ValueError, TypeError, KeyError or IndexError: the entry is
        then built again."""
        if self.root is None:
            return build()
        path = self._path("derived", name)
        try:
            body = _read_body(path, {"key": key}) if path.is_file() else None
            if body is not None:
                return decode(json.loads(body))
        except (OSError, ValueError, TypeError, KeyError, IndexError) as error:
            log.debug("derived %s ignored: %s", name, type(error).__name__)
        value = build()
        self.store(path, _encode_derived(key, encode(value)))
        return value

    # --- the last good version of each part (memory only) -------------------------------------

    def remember_good(self, unit: str, files: list[ParsedFile]) -> None:
        with self._lock:
            self._good[unit] = list(files)

    def last_good(self, unit: str) -> list[ParsedFile] | None:
        with self._lock:
            return self._good.get(unit)

    # --- housekeeping ---------------------------------------------------------------------------

    def forget_others(self, names: set[str], units: set[str]) -> None:
        """Drop what belongs to files and parts that no longer exist (memory and disk)."""
        with self._lock:
            for name in set(self._files) - names:
                del self._files[name]
            for name in set(self._stats) - names:
                del self._stats[name]
            for unit in set(self._checks) - units:
                del self._checks[unit]
            for unit in set(self._good) - units:
                del self._good[unit]

            for parsed in self._files.values():
                parsed.doc.forget_text()
        if self.root is None or not self.root.is_dir():
            return
        wanted = {self._path("files", n).name for n in names}
        wanted |= {self._path("checks", u).name for u in units}
        for path in self.root.iterdir():
            if path.name.startswith("derived--"):
                continue  # not the base's files (nor their temporary files): kept
            if path.name not in wanted and path.suffix in (".jsonl", ".json", ".tmp"):
                with contextlib.suppress(OSError):
                    path.unlink()

    def _path(self, kind: str, name: str) -> Path:
        assert self.root is not None
        safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in name.replace("/", "__"))
        suffix = ".jsonl" if kind == "files" else ".json"
        return self.root / f"{kind}--{safe}{suffix}"

    def defer_writes(self) -> None:
        """Keep the entries to write in memory until `deferred_writes` (a reload writes its
        cache once the new base serves: encoding every file's entry costs about 0.3 s at
        national scale)."""
        with self._lock:
            if self._pending is None:
                self._pending = []

    def deferred_writes(self) -> list[DeferredEntry]:
        """The deferred entries, one per file, in the order they came (a path kept twice: the
        last); later writes are immediate again."""
        with self._lock:
            pending, self._pending = self._pending or [], None
        latest = {path: encode for path, encode in pending}
        return [DeferredEntry(path, encode) for path, encode in latest.items()]

    def _write(self, path: Path, encode: Callable[[], bytes]) -> None:
        with self._lock:
            if self._pending is not None:
                self._pending.append((path, encode))
                return
        self.store(path, encode())

    def store(self, path: Path, data: bytes) -> None:
        """Write one encoded entry atomically (a reader sees the old entry or the new one,
        never half of one). A disk error only loses the speed: it is logged, never raised."""
        tmp = path.with_name(f"{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp.write_bytes(data)
            os.replace(tmp, path)
        except OSError as error:
            log.debug("cache not written (%s): %s", path.name, type(error).__name__)
            with contextlib.suppress(OSError):
                tmp.unlink()


@dataclass(frozen=True, slots=True)
class DeferredEntry:
    """One file's cache entry kept for later: `encode` it (CPU), then `KnowledgeCache.store`
    the bytes (the disk), each where it costs the turns least."""

    path: Path
    encode: Callable[[], bytes]


def _stat_key(stat: os.stat_result) -> tuple[int, ...]:
    return (stat.st_size, stat.st_ino, stat.st_mtime_ns, stat.st_ctime_ns)


# --- encoding -----------------------------------------------------------------------------------
#
# A parsed-file entry is JSON lines: a header {"format", "code", "name", "digest", "body"} where
# "body" is the digest of everything after the header's line; then the file's problems and keys;
# then chunks of at most _CHUNK items: [section key, [[index, value], …]]. A named-tuple record
# (Structure, Service) is the list of its field values; a pydantic item is its JSON dump.


def _problems(problems: list[Problem] | tuple[Problem, ...]) -> list[list[Any]]:
    return [[p.file, p.line, p.column, p.message, p.fix] for p in problems]


def _restore_problems(rows: list[list[Any]]) -> list[Problem]:
    return [
        Problem(str(f), int(line), int(col), str(msg), None if fix is None else str(fix))
        for f, line, col, msg, fix in rows
    ]


def _json_value(value: Any) -> Any:
    """What JSON cannot hold as it is: dates and nested models (`json.dumps`'s `default`)."""
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    raise TypeError(f"{type(value).__name__} in a cached record")


def _encode_chunk(items: list[Any]) -> Any:
    """Named-tuple records as columns (one list per field: fast to rebuild); models as dumps."""
    if isinstance(items[0], BaseModel):
        return [item.model_dump(mode="json") for item in items]
    return [list(column) for column in zip(*items, strict=True)]


def _encode_parsed(parsed: ParsedFile) -> bytes:
    lines = [
        json.dumps(
            {
                "errors": _problems(parsed.errors),
                "warnings": _problems(parsed.warnings),
                "invalid_ids": sorted(parsed.invalid_ids),
                "keys": parsed.keys,
                "broken": parsed.broken,
                "segments": parsed.segments.hex(),
            },
            ensure_ascii=False,
        )
    ]
    chunk: list[Entry] = []
    for entry in [*parsed.entries, None]:
        if chunk and (entry is None or entry.key != chunk[0].key or len(chunk) >= _CHUNK):
            positions = [e.position for e in chunk]
            payload = _encode_chunk([e.item for e in chunk])
            line = [chunk[0].key, positions, payload]
            lines.append(json.dumps(line, ensure_ascii=False, default=_json_value))
            chunk = []
        if entry is not None:
            chunk.append(entry)
    body = ("\n".join(lines) + "\n").encode()
    return _with_header(body, name=parsed.name, digest=parsed.digest)


def _read_body(path: Path, expected: Mapping[str, str]) -> bytes | None:
    raw = path.read_bytes()
    head, newline, body = raw.partition(b"\n")
    if not newline:
        return None
    header = json.loads(head)
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        return None
    if header.get("code") != code_version():
        return None
    if any(header.get(k) != v for k, v in expected.items()):
        return None
    if header.get("body") != digest_bytes(body):
        return None  # truncated or corrupted
    return body


def _read_parsed(
    cache_file: Path, name: str, digest: str, source: Path, types_by_key: Mapping[str, type[Any]]
) -> ParsedFile | None:
    if not cache_file.is_file():
        return None
    body = _read_body(cache_file, {"name": name, "digest": digest})
    if body is None:
        return None
    lines = body.decode().splitlines()
    meta = json.loads(lines[0])
    entries: list[Entry] = []
    for line in lines[1:]:
        key, positions, payload = json.loads(line)
        items = _decoder(types_by_key[key])(payload)
        if len(items) != len(positions):
            raise ValueError("chunk of the wrong shape")
        entries += [
            Entry(key, None if at is None else int(at), item)
            for at, item in zip(positions, items, strict=True)
        ]
    return ParsedFile(
        name=name,
        digest=digest,
        entries=entries,
        errors=_restore_problems(meta["errors"]),
        warnings=_restore_problems(meta["warnings"]),
        invalid_ids={str(i) for i in meta["invalid_ids"]},
        keys=[str(k) for k in meta["keys"]],
        doc=YamlDocument(name, None, path=source),
        broken=bool(meta["broken"]),
        segments=bytes.fromhex(meta["segments"]),
    )


def _encode_checked(key: str, checked: Checked) -> bytes:
    body = json.dumps(
        {"errors": _problems(checked.errors), "warnings": _problems(checked.warnings)},
        ensure_ascii=False,
    ).encode()
    return _with_header(body, key=key)


def _encode_derived(key: str, value: Any) -> bytes:
    body = json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode()
    return _with_header(body, key=key)


def _with_header(body: bytes, **expected: str) -> bytes:
    """An entry: its header line (the format, the code version, the `expected` fields that
    `_read_body` compares, the body's digest), then `body`."""
    header = {"format": FORMAT, "code": code_version(), **expected, "body": digest_bytes(body)}
    return json.dumps(header).encode() + b"\n" + body


def _read_checked(cache_file: Path, key: str) -> Checked | None:
    if not cache_file.is_file():
        return None
    body = _read_body(cache_file, {"key": key})
    if body is None:
        return None
    data = json.loads(body)
    errors, warnings = _restore_problems(data["errors"]), _restore_problems(data["warnings"])
    return Checked(tuple(errors), tuple(warnings))


# --- decoding records -----------------------------------------------------------------------------


_decoders: dict[type[Any], Callable[[Any], list[Any]]] = {}


def _decoder(item_type: type[Any]) -> Callable[[Any], list[Any]]:
    """A function from a chunk's JSON payload back to its items (made once per type)."""
    found = _decoders.get(item_type)
    if found is None:
        found = _decoders[item_type] = _make_decoder(item_type)
    return found


def _make_decoder(item_type: type[Any]) -> Callable[[Any], list[Any]]:
    if issubclass(item_type, BaseModel):
        validate = item_type.model_validate
        return lambda payload: [validate(value) for value in payload]
    if issubclass(item_type, tuple) and hasattr(item_type, "_fields"):
        return _records_decoder(item_type)
    raise TypeError(f"no cache decoder for {item_type!r}")


def _records_decoder(record_type: type[Any]) -> Callable[[Any], list[Any]]:
    """Rebuild named-tuple records from columns, sharing what records share (see
    `bot.kb.models.compact`), one column at a time."""
    plan = sharing_plan(record_type)
    hints = typing.get_type_hints(record_type)
    fields: tuple[str, ...] = record_type._fields
    converters: list[Callable[[list[Any]], list[Any]] | None] = [None] * len(fields)
    for index in plan.lists:
        converters[index] = _shared_lists
    for index in plan.texts:
        converters[index] = _shared_texts
    for index in plan.dates:
        converters[index] = _shared_dates
    for index in plan.models:
        converters[index] = _shared_models(_model_of(hints[fields[index]]))
    make = tuple.__new__
    width = len(fields)

    def decode(columns: Any) -> list[Any]:
        if not isinstance(columns, list) or len(columns) != width:
            raise ValueError("records of the wrong shape")
        converted = [
            column if convert is None else convert(column)
            for convert, column in zip(converters, columns, strict=True)
        ]
        return [make(record_type, row) for row in zip(*converted, strict=True)]

    return decode


def _shared_lists(column: list[Any]) -> list[Any]:
    intern = sys.intern
    return [[intern(v) for v in value] if value else EMPTY_LIST for value in column]


def _shared_texts(column: list[Any]) -> list[Any]:
    intern = sys.intern
    return [None if value is None else intern(value) for value in column]


def _shared_dates(column: list[Any]) -> list[Any]:
    return [None if value is None else _date(value) for value in column]


@functools.lru_cache(maxsize=4096)
def _date(text: str) -> dt.date:
    return dt.date.fromisoformat(text)


def _model_of(hint: Any) -> type[BaseModel]:
    options = [a for a in typing.get_args(hint) if a is not type(None)] or [hint]
    model = options[0]
    assert isinstance(model, type) and issubclass(model, BaseModel), hint
    return model


def _shared_models(model: type[BaseModel]) -> Callable[[list[Any]], list[Any]]:
    """Nested models (a service's `eligibilite`) are few and repeated: validated once each."""
    seen: dict[str, Any] = {}

    def convert(value: Any) -> Any:
        simple = isinstance(value, dict) and all(
            v is None or type(v) is str for v in value.values()
        )
        key = repr(sorted(value.items())) if simple else json.dumps(value, sort_keys=True)
        found = seen.get(key)
        if found is None:
            found = seen[key] = model.model_validate(value)
        return found

    return lambda column: [None if value is None else convert(value) for value in column]
