"""YAML loading that remembers where everything came from, and cannot be used as a weapon.

`load_yaml` builds plain Python objects (dict, list, str, int, float, bool, date, None) straight
from the event stream of PyYAML's (C, when available) parser; a path such as
`("services", 3, "categorie")` (a pydantic error `loc`) maps back to a 1-based line and column
through the node tree, composed again only when a position is asked for. Malformed YAML,
duplicate keys and hostile files become `Problem`s in plain French:

- nesting deeper than `YamlLimits.max_depth` levels;
- aliases that would expand the document beyond `YamlLimits.max_alias_nodes` nodes, or beyond
  `YamlLimits.alias_ratio` times its own size ("billion laughs"): aliases are shared, never
  copied, and their expanded size is counted as they are read;
- an alias used inside the node it names (a self-referencing anchor, which would make the data
  infinite);
- text that is not UTF-8, binary data and control characters (`decode_yaml_bytes`).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from bot.kb.knowledge import Problem


@dataclass(frozen=True, slots=True)
class YamlLimits:
    """What one YAML file may contain (documented in knowledge/README.md)."""

    max_depth: int = 32  # nested mappings and lists
    max_alias_nodes: int = 100_000  # nodes that aliases may add, in all
    alias_ratio: int = 4  # … and at most this many times the nodes actually written


DEFAULT_LIMITS = YamlLimits()

_Loader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_STR_TAG = "tag:yaml.org,2002:str"
_MERGE_TAG = "tag:yaml.org,2002:merge"
_INT_TAG = "tag:yaml.org,2002:int"
_FLOAT_TAG = "tag:yaml.org,2002:float"
_TIMESTAMP_TAG = "tag:yaml.org,2002:timestamp"
_CONTAINER_TAGS = frozenset({None, "!", "tag:yaml.org,2002:map", "tag:yaml.org,2002:seq"})

# libyaml / PyYAML messages, in plain French.
_PROBLEMS = {
    "mapping values are not allowed in this context": "« : » inattendu (une valeur contenant "
    "« : » doit être entre guillemets, ou l'indentation est fausse)",
    "mapping values are not allowed here": "« : » inattendu (une valeur contenant « : » doit être"
    " entre guillemets, ou l'indentation est fausse)",
    "found character that cannot start any token": "caractère inattendu (une tabulation ? "
    "indentez avec des espaces ; mettez entre guillemets un texte commençant par @ ou `)",
    "did not find expected key": "indentation incohérente ou clé attendue",
    "did not find expected '-' indicator": "un élément de liste « - » est attendu ici "
    "(indentation incohérente ?)",
    "did not find expected ',' or ']'": "« ] » fermant manquant",
    "did not find expected ',' or '}'": "« } » fermant manquant",
    "found undefined alias": "alias (*nom) sans ancre (&nom) correspondante",
    "found unexpected end of stream": "fin du fichier inattendue (guillemet non fermé ?)",
    "could not find expected ':'": "« : » attendu après la clé",
    "found unknown escape character": "séquence d'échappement inconnue entre guillemets doubles",
    "found a tab character that violates indentation": "une tabulation sert à indenter : "
    "indentez avec des espaces",
    "found a tab character where an indentation space is expected": "une tabulation sert à "
    "indenter : indentez avec des espaces",
    "exceeded maximum nesting depth": "imbrication trop profonde (limite de sécurité)",
    "found unexpected ':'": "« : » inattendu (mettez la valeur entre guillemets)",
    "expected <block end>, but found '<block mapping start>'": "indentation incohérente",
    "expected <block end>, but found '<block sequence start>'": "indentation incohérente",
    "expected <block end>, but found '-'": "un « - » mal aligné (indentation incohérente)",
    "expected <block end>, but found '<scalar>'": "indentation incohérente",
    "did not find expected alphabetic or numeric character": "alias ou ancre mal écrit : après "
    "« * » ou « & », un nom est attendu (mettez le texte entre guillemets)",
    "did not find expected node content": "valeur attendue ici (guillemets ou crochets mal "
    "fermés ?)",
    "found undefined tag handle": "étiquette YAML inconnue (un texte commençant par « ! » doit "
    "être entre guillemets)",
}
_CONTEXTS = {
    "while scanning a quoted scalar": "dans un texte entre guillemets",
    "while parsing a block mapping": "dans le dictionnaire commencé",
    "while parsing a block collection": "dans la liste commencée",
    "while parsing a flow sequence": "dans la liste [ ] ouverte",
    "while parsing a flow mapping": "dans le dictionnaire { } ouvert",
    "while scanning a simple key": "en lisant une clé",
    "while scanning a plain scalar": "en lisant un texte",
    "while scanning a block scalar": "en lisant un texte sur plusieurs lignes",
    "while scanning an alias": "en lisant un alias",
    "while scanning an anchor": "en lisant une ancre",
    "while scanning a tag": "en lisant une étiquette",
    "while scanning a directive": "en lisant une directive",
    "while parsing a block node": "en lisant une valeur",
    "while parsing a flow node": "en lisant une valeur",
    "while parsing a node": "en lisant une valeur",
    "while increasing flow level": "dans les crochets ou accolades ouverts",
}


class YamlDocument:
    """A parsed YAML file: its data and a way back from data paths to positions.

    Positions come from PyYAML's node tree, composed again from the text only when a position is
    first asked for: valid files, the vast majority, never pay for it. Without `text`, the file
    at `path` is read then (a document restored from the compiled cache).
    """

    __slots__ = ("_composed", "_path", "_root", "_text", "data", "file")

    def __init__(
        self, file: str, data: Any, text: str | None = None, *, path: Path | None = None
    ) -> None:
        self.file = file
        self.data = data
        self._text = text
        self._path = path
        self._root: yaml.Node | None = None
        self._composed = False

    def forget_text(self) -> None:
        """Drop the text and data once read (positions then read the file again if needed)."""
        if self._path is not None:
            self._text = None
        self.data = None

    @property
    def root(self) -> yaml.Node | None:
        if not self._composed:
            self._composed = True
            self._root = _compose(self._text, self._path)
        return self._root

    def position(self, path: Sequence[str | int], *, key: bool = False) -> tuple[int, int]:
        """(line, column), 1-based, of the value at `path` (of its key if `key` is true).

        Path elements that do not exist are skipped, so a missing field points to the mapping
        that lacks it and pydantic's union tags are ignored.
        """
        node = self.root
        if node is None:
            return 1, 1
        mark = node.start_mark
        for element in path:
            found = _child(node, element)
            if found is None:
                continue
            key_node, node = found
            mark = key_node.start_mark if key and key_node is not None else node.start_mark
        return mark.line + 1, mark.column + 1

    def problem(
        self,
        path: Sequence[str | int],
        message: str,
        *,
        key: bool = False,
        fix: str | None = None,
        offset: int | None = None,
    ) -> Problem:
        """A problem at the value at `path` (its key if `key`). `offset`, a 0-based character
        index in the value, moves the column onto that character when the value is written on
        one line without escapes (otherwise the column stays at the value's start)."""
        line, column = self.position(path, key=key)
        if offset is not None:
            column += self._offset_in_scalar(path, offset)
        return Problem(self.file, line, column, message, fix)

    def _offset_in_scalar(self, path: Sequence[str | int], offset: int) -> int:
        node = self.root
        for element in path:
            found = _child(node, element) if node is not None else None
            if found is None:
                return 0
            node = found[1]
        if not isinstance(node, yaml.ScalarNode) or node.start_mark.line != node.end_mark.line:
            return 0
        if node.style not in (None, "'", '"') or not 0 <= offset <= len(node.value):
            return 0
        quote = 1 if node.style else 0
        width = node.end_mark.column - node.start_mark.column - 2 * quote
        return offset + quote if width == len(node.value) else 0  # no escapes: exact


def _compose(text: str | None, path: Path | None) -> yaml.Node | None:
    if text is None:
        if path is None:
            return None
        try:
            decoded = decode_yaml_bytes(path.read_bytes(), "")
        except OSError:
            return None
        if isinstance(decoded, Problem):
            return None
        text = decoded
    loader = _Loader(text)
    try:
        return loader.get_single_node()
    except yaml.YAMLError:  # several documents: positions in the first one only
        return None
    finally:
        loader.dispose()


def _child(node: yaml.Node, element: str | int) -> tuple[yaml.Node | None, yaml.Node] | None:
    if isinstance(node, yaml.SequenceNode):
        if isinstance(element, int) and 0 <= element < len(node.value):
            return None, node.value[element]
        return None
    if isinstance(node, yaml.MappingNode):
        return _mapping_child(node, str(element))
    return None


def _mapping_child(node: yaml.MappingNode, name: str) -> tuple[yaml.Node, yaml.Node] | None:
    merged: list[yaml.Node] = []
    for key_node, value_node in node.value:
        if key_node.tag == _MERGE_TAG:
            merged.extend(
                value_node.value if isinstance(value_node, yaml.SequenceNode) else [value_node]
            )
        elif isinstance(key_node, yaml.ScalarNode) and key_node.value == name:
            return key_node, value_node
    for source in merged:
        if isinstance(source, yaml.MappingNode) and (found := _mapping_child(source, name)):
            return found
    return None


# --- bytes to text ---------------------------------------------------------------------------

_BOMS = (
    (b"\xef\xbb\xbf", None),
    (b"\xff\xfe\x00\x00", "UTF-32"),
    (b"\x00\x00\xfe\xff", "UTF-32"),
    (b"\xff\xfe", "UTF-16"),
    (b"\xfe\xff", "UTF-16"),
)
# What YAML 1.1 accepts in a file: tab, newlines and printable characters.
_NOT_PRINTABLE = re.compile("[^\t\n\r\x20-\x7e\x85\xa0-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
# The same, in the UTF-8 bytes of a text that decoded (no surrogate is left then): C0 controls
# but tab and newlines, and DEL, are single bytes; C1 controls but NEL (U+0085) are C2 80–9F;
# U+FFFE and U+FFFF are EF BF BE–BF. Three scans of bytes take a third of the time of one
# scan of the text (12 MB at national scale: 52 → 18 ms).
_PRINTABLE_BYTES = bytes(b for b in range(256) if (b >= 0x20 and b != 0x7F) or b in b"\t\n\r")
_C1_CONTROL = re.compile(b"\xc2[\x80-\x84\x86-\x9f]")
_NON_CHARACTER = re.compile(b"\xef\xbf[\xbe\xbf]")


def _all_printable(raw: bytes) -> bool:
    """Whether the UTF-8 bytes `raw`, which decode, hold only what `_NOT_PRINTABLE` accepts."""
    return (
        not raw.translate(None, _PRINTABLE_BYTES)
        and _C1_CONTROL.search(raw) is None
        and _NON_CHARACTER.search(raw) is None
    )


def decode_yaml_bytes(raw: bytes, file: str) -> str | Problem:
    """The text of a YAML file, or the Problem that says why it cannot be read as one."""
    for bom, encoding in _BOMS:
        if raw.startswith(bom):
            if encoding is not None:
                return Problem(
                    file, 1, 1, f"le fichier est encodé en {encoding} : enregistrez-le en UTF-8"
                )
            raw = raw[len(bom) :]
            break
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        line, column = _position_of(raw[: error.start].decode("utf-8", "replace"))
        byte = raw[error.start]
        hint = "un fichier binaire ?" if b"\x00" in raw else "enregistrez-le en UTF-8"
        return Problem(
            file,
            line,
            column,
            f"le fichier n'est pas un texte UTF-8 (octet 0x{byte:02x} illisible) : {hint}",
        )
    bad = None if _all_printable(raw) else _NOT_PRINTABLE.search(text)
    if bad is not None:
        line, column = _position_of(text[: bad.start()])
        code = f"U+{ord(bad.group()):04X}"
        hint = " (un fichier binaire ?)" if bad.group() == "\x00" else ""
        return Problem(file, line, column, f"caractère de contrôle interdit {code}{hint}")
    return text


def _position_of(before: str) -> tuple[int, int]:
    """1-based (line, column) of the character that follows `before`."""
    return before.count("\n") + 1, len(before) - (before.rfind("\n") + 1) + 1


class _Refused(Exception):
    """A hostile or runaway construct: reading stops at once."""

    def __init__(self, mark: Any, message: str) -> None:
        super().__init__(message)
        self.mark = mark
        self.message = message


def load_yaml(
    text: str, file: str, limits: YamlLimits = DEFAULT_LIMITS, *, path: Path | None = None
) -> tuple[YamlDocument | None, list[Problem]]:
    """Parse `text`; a None document means it is malformed (the problems say where and why)."""
    loader = _Loader(text)
    builder = _Builder(loader, file, limits)
    try:
        data = builder.run()
    except _Refused as refused:
        return None, [Problem(file, *_where(refused.mark), refused.message)]
    except yaml.MarkedYAMLError as error:
        return None, [_syntax_problem(error, file)]
    except yaml.YAMLError as error:  # e.g. unreadable characters
        bad = _NOT_PRINTABLE.search(text)
        where = _position_of(text[: bad.start()]) if bad else (1, 1)
        return None, [Problem(file, *where, f"YAML illisible : {str(error).splitlines()[0]}")]
    finally:
        loader.dispose()
    document = YamlDocument(file, data, text, path=path)
    return document, builder.located_problems(document)


def _syntax_problem(error: yaml.MarkedYAMLError, file: str) -> Problem:
    mark = error.problem_mark or error.context_mark
    problem = (error.problem or "").strip()
    message = _PROBLEMS.get(problem) or (
        f"erreur de syntaxe (en anglais : {problem})" if problem else "erreur de syntaxe"
    )
    context = (error.context or "").strip()
    if context and error.context_mark is not None and error.context_mark is not mark:
        where = _CONTEXTS.get(context, "à partir de")
        message += f" ({where} ligne {error.context_mark.line + 1})"
    line, column = (mark.line + 1, mark.column + 1) if mark is not None else (1, 1)
    return Problem(file, line, column, f"YAML mal formé : {message}")


_YAML11_WORDS = frozenset(
    f(word)
    for word in ("yes", "no", "true", "false", "on", "off", "null")
    for f in (str.lower, str.capitalize, str.upper)
)
_MISSING: Any = object()  # no key read yet in the current mapping
_INVALID: Any = object()  # an unusable key (a list or a mapping)
_MERGE: Any = object()  # the "<<" merge key


class _Frame:
    """One open mapping or sequence while reading the event stream."""

    __slots__ = ("anchor", "container", "key", "key_mark", "last_key", "merges", "start_nodes")

    def __init__(
        self, container: dict[Any, Any] | list[Any], anchor: str | None, start_nodes: int
    ) -> None:
        self.container = container
        self.key: Any = _MISSING
        self.key_mark: Any = None  # the key's PyYAML mark
        self.last_key: Any = None
        self.merges: list[Any] = []
        self.anchor = anchor  # named only once complete: an alias inside it is refused
        self.start_nodes = start_nodes


class _Builder:
    """Builds plain Python data straight from the parser's events (no node tree: fast).

    Scalars are resolved like PyYAML's SafeLoader (YAML 1.1: dates, booleans, numbers, null).
    Duplicate keys and other oddities are collected with their path, and located afterwards.
    Hostile constructs (see the module docstring) raise `_Refused`.
    """

    def __init__(self, loader: yaml.SafeLoader, file: str, limits: YamlLimits) -> None:
        self.loader = loader
        self.limits = limits
        self.nodes = 0  # nodes read, aliases counted at their expanded size
        self.written = 0  # nodes actually written in the file
        self.expanded = 0  # nodes added by aliases
        self.sizes: dict[str, int] = {}  # anchor → expanded size of its node
        self.open_anchors: set[str] = set()
        self.constructors: dict[Any, Callable[..., Any]] = loader.yaml_constructors
        self.resolve: Callable[..., str] = loader.resolve
        # Plain scalars that may not be strings: those starting like a number, a date, .inf,
        # "<<" or "~", and the YAML 1.1 words for booleans and null (all other words are strings).
        first = frozenset(k for k in loader.yaml_implicit_resolvers if k)
        self.implicit_first = frozenset(k for k in first if not k.isalpha())
        self.implicit_words = _YAML11_WORDS
        self.file = file
        self.anchors: dict[str, Any] = {}
        self.stack: list[_Frame] = []
        self.root: Any = None
        self.documents = 0
        self.pending: list[tuple[tuple[int, int], str, tuple[str | int, ...] | None]] = []

    def run(self) -> Any:
        get_event: Callable[[], Any] = self.loader.get_event
        stack = self.stack
        max_depth = self.limits.max_depth
        while True:
            event = get_event()
            kind = type(event)
            if kind is yaml.ScalarEvent:
                value = event.value
                if event.tag is not None or (
                    event.implicit[0]
                    and (
                        not value or value[0] in self.implicit_first or value in self.implicit_words
                    )
                ):
                    value = self.scalar(event)
                self.nodes += 1
                self.written += 1
                self.add(value, event)
            elif kind is yaml.MappingStartEvent or kind is yaml.SequenceStartEvent:
                if len(stack) >= max_depth:
                    raise _Refused(
                        event.start_mark,
                        f"imbrication trop profonde : plus de {max_depth} niveaux de listes et "
                        "de dictionnaires (limite de sécurité)",
                    )
                container: Any = {} if kind is yaml.MappingStartEvent else []
                if event.tag not in _CONTAINER_TAGS:
                    # e.g. !!python/object/apply: never constructed, but never silently ignored
                    self.report(event.start_mark, f"étiquette YAML inconnue « {event.tag} »")
                anchor, event.anchor = event.anchor, None
                self.nodes += 1
                self.written += 1
                self.add(container, event)
                if anchor is not None:
                    self.open_anchors.add(anchor)
                stack.append(_Frame(container, anchor, self.nodes - 1))
            elif kind is yaml.MappingEndEvent:
                frame = stack.pop()
                if frame.merges:
                    self.merge(frame, event)
                self.close(frame)
            elif kind is yaml.SequenceEndEvent:
                self.close(stack.pop())
            elif kind is yaml.AliasEvent:
                self.alias(event)
            elif kind is yaml.DocumentStartEvent:
                self.documents += 1
                if self.documents == 2:
                    self.report(event.start_mark, "un seul document YAML par fichier (« --- »)")
            elif kind is yaml.StreamEndEvent:
                return self.root

    def close(self, frame: _Frame) -> None:
        if frame.anchor is not None:
            self.open_anchors.discard(frame.anchor)
            self.anchors[frame.anchor] = frame.container
            self.sizes[frame.anchor] = self.nodes - frame.start_nodes

    def add(self, value: Any, event: yaml.NodeEvent) -> None:
        anchor = event.anchor
        if anchor is not None:  # a scalar's anchor (a container's is named when it closes)
            self.anchors[anchor] = value
            self.sizes[anchor] = 1
        if not self.stack:
            if self.documents == 1:
                self.root = value
            return
        frame = self.stack[-1]
        container = frame.container
        if type(container) is list:
            container.append(value)
        elif frame.key is _MISSING:
            self.set_key(frame, value, event.start_mark)
        else:
            self.set_value(frame, value)

    def set_key(self, frame: _Frame, key: Any, mark: Any) -> None:
        if isinstance(key, (dict, list)):
            self.report(mark, "une clé doit être un texte simple", path=self.path())
            key = _INVALID
        frame.key, frame.key_mark, frame.last_key = key, mark, key

    def set_value(self, frame: _Frame, value: Any) -> None:
        key, frame.key = frame.key, _MISSING
        container = frame.container
        if key is _MERGE:
            frame.merges.append(value)
        elif key is _INVALID:
            return
        elif key in container:
            self.report(frame.key_mark, f"clé en double « {key} »", path=(*self.path(), key))
        else:
            container[key] = value

    def merge(self, frame: _Frame, event: yaml.Event) -> None:
        mapping = frame.container
        assert isinstance(mapping, dict)
        for merged in frame.merges:
            for source in merged if isinstance(merged, list) else [merged]:
                if not isinstance(source, dict):
                    self.report(event.start_mark, "« << » doit fusionner un dictionnaire")
                    continue
                for key, value in source.items():
                    mapping.setdefault(key, value)

    def alias(self, event: yaml.AliasEvent) -> None:
        name = event.anchor
        if name in self.open_anchors:
            raise _Refused(
                event.start_mark,
                f"l'alias *{name} est à l'intérieur de l'ancre &{name} qu'il désigne : les données "
                "seraient infinies (référence circulaire)",
            )
        if name not in self.anchors:
            self.report(event.start_mark, f"YAML mal formé : alias *{name} sans ancre")
            event.anchor = None
            self.add(None, event)
            return
        size = self.sizes[name]
        self.nodes += size
        self.expanded += size
        allowed = max(self.limits.max_alias_nodes, self.limits.alias_ratio * self.written)
        if self.expanded > allowed:
            count = f"{allowed:_}".replace("_", " ")
            raise _Refused(
                event.start_mark,
                f"trop d'alias : les alias (*{name}…) démultiplient le fichier au-delà de {count} "
                "éléments (bombe d'alias ?) ; écrivez les valeurs en clair",
            )
        value = self.anchors[name]
        event.anchor = None  # add() must not re-anchor the alias itself
        self.add(value, event)

    def scalar(self, event: yaml.ScalarEvent) -> Any:
        """The value of a tagged scalar or of a plain one that may not be a string."""
        tag, value = event.tag, event.value
        if tag is None or tag == "!":
            if not event.implicit[0]:
                return value  # quoted: always a string
            tag = self.resolve(yaml.ScalarNode, value, (True, False))
        if tag == _STR_TAG:
            return value
        if tag == _MERGE_TAG:
            return _MERGE
        quick = _quick_scalar(tag, value)
        if quick is not None:
            return quick
        constructor = self.constructors.get(tag)
        if constructor is None:
            self.report(event.start_mark, f"étiquette YAML inconnue « {tag} »")
            return value
        args: list[Any] = [tag, value, event.start_mark, event.end_mark, event.style]
        node = yaml.ScalarNode(*args)
        try:
            return constructor(self.loader, node)
        except (yaml.YAMLError, ValueError) as error:
            self.report(event.start_mark, f"valeur illisible « {value} » ({error})")
            return value

    def path(self) -> tuple[str | int, ...]:
        """Where the value being read sits: keys and indices of the enclosing containers."""
        path: list[str | int] = []
        for frame in self.stack[:-1]:
            container = frame.container
            path.append(len(container) - 1 if isinstance(container, list) else frame.last_key)
        return tuple(path)

    def report(self, mark: Any, message: str, *, path: tuple[str | int, ...] | None = None) -> None:
        self.pending.append((_where(mark), message, path))

    def located_problems(self, document: YamlDocument) -> list[Problem]:
        problems = []
        for mark, message, path in self.pending:
            if path is not None and message.startswith("clé en double"):
                first, _ = document.position(path, key=True)
                message += f" (déjà présente ligne {first})"
            problems.append(Problem(self.file, *mark, message))
        return problems


def _where(mark: Any) -> tuple[int, int]:
    """1-based (line, column) of a PyYAML mark (pure-Python or libyaml), (1, 1) without one."""
    return (mark.line + 1, mark.column + 1) if mark is not None else (1, 1)


def _quick_scalar(tag: str, value: str) -> int | float | dt.date | None:
    """The common numbers and dates, without PyYAML's slower constructors (None: not one)."""
    try:
        if tag == _TIMESTAMP_TAG and len(value) == 10:
            return dt.date.fromisoformat(value)
        if tag == _INT_TAG and value.isdigit() and (value[0] != "0" or value == "0"):
            return int(value)  # YAML 1.1 reads 0-prefixed numbers as octal: left to PyYAML
        if tag == _FLOAT_TAG and "." in value and ":" not in value and value[-1].isdigit():
            return float(value.replace("_", ""))
    except ValueError:
        return None
    return None
