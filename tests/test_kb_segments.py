"""A reload parses only the records whose text changed: whatever the edit, the file it reads is
the file a whole parse reads (items, problems and their positions), and unchanged records keep
their validated items."""

from __future__ import annotations

import datetime as dt
import re
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.config import DEFAULT_KNOWLEDGE, DialogueSettings
from bot.conversation.dialogue import OrientationDialogue
from bot.kb import segments
from bot.kb.cache import KnowledgeCache, ParsedFile, digest_bytes
from bot.kb.knowledge import KnowledgeBase
from bot.kb.layout import Source
from bot.kb.loader import load_with_problems
from bot.kb.parsing import DEFAULT_LIMITS_KB, parse_file
from bot.messages import Incoming
from bot.places import Gazetteer
from tests.test_kb_check import TODAY

SHIPPED = (DEFAULT_KNOWLEDGE / "departements" / "54.yaml").read_text(encoding="utf-8")

# The layout an import writes (PyYAML's dump: list items at indentation 0).
FLUSH_LEFT = """\
meta:
  departement: '54'
  nom: Meurthe-et-Moselle
  date_maj: '2026-11-01'
structures:
- source: local
  id: local--54-a
  nom: Chantier A
  date_maj: '2026-11-01'
  commune: Nancy
  code_insee: '54395'
  categories:
  - aci
- source: local
  id: local--54-b
  nom: "Entreprise B, sur deux
    lignes"
  date_maj: '2026-11-01'
  commune: Toul
  code_insee: '54528'
  categories: [ei]
- source: local
  id: local--54-c
  nom: Garage C
  date_maj: '2026-11-01'
  commune: Lunéville
  code_insee: '54329'
  categories:
  - garage_solidaire
"""


def parse(tmp_path: Path, text: str, previous: ParsedFile | None = None) -> ParsedFile:
    path = tmp_path / "departements" / "54.yaml"
    path.parent.mkdir(exist_ok=True)
    path.write_text(text, encoding="utf-8", newline="")
    source = Source(path, "knowledge/departements/54.yaml", "departement", "54")
    raw = text.encode()
    return parse_file(source, raw, digest_bytes(raw), DEFAULT_LIMITS_KB, previous)


def read(parsed: ParsedFile) -> tuple[object, ...]:
    """What the rest of the loader sees of a parsed file."""
    return (
        parsed.entries,
        parsed.errors,
        parsed.warnings,
        parsed.invalid_ids,
        parsed.keys,
        parsed.broken,
        parsed.segments,
    )


def reload(tmp_path: Path, before: str, after: str) -> tuple[ParsedFile, ParsedFile, ParsedFile]:
    """(the old version, the new one parsed reusing the old, the new one parsed whole)."""
    old = parse(tmp_path, before)
    again = parse(tmp_path, after, previous=old)
    whole = parse(tmp_path, after)
    assert read(again) == read(whole)
    return old, again, whole


def reused(old: ParsedFile, new: ParsedFile) -> int:
    """How many of the new file's items are the old file's very objects (not parsed again)."""
    kept = {id(entry.item) for entry in old.entries}
    return sum(id(entry.item) in kept for entry in new.entries)


def records(parsed: ParsedFile) -> int:
    return sum(entry.position is not None for entry in parsed.entries)


def first_record(text: str, key: str = "structures") -> re.Match[str]:
    match = re.search(rf"^{key}:\n(?:#.*\n|\s*\n)*( *)- ", text, re.M)
    assert match is not None
    return match


EDITS = {
    "a comment at the top (every line moves)": lambda t: "# nouvelle version\n" + t,
    "a comment at the end": lambda t: t + "# fin\n",
    "one name changed": lambda t: t.replace("nom: ", "nom: Nouveau ", 2),
    "every line moved and one record changed": lambda t: (
        "#\n#\n" + t.replace("date_maj:", "date_maj:  ", 3)
    ),
    "a record removed": lambda t: re.sub(
        r"(?ms)^( *)- source: local\n.*?(?=^\1- )", "", t, count=1
    ),
    "a record added": lambda t: _add_record(t),
    "an error in one record": lambda t: t.replace("commune: ", "commune: [", 1).replace(
        "[", "[Nancy]\n  xx: ", 1
    ),
    "an unknown field in one record": lambda t: t.replace("nom: ", "nomm: ", 1),
    "a YAML syntax error": lambda t: t.replace("nom: ", 'nom: "sans fin ', 1),
    "a quoted text that runs over an item start": lambda t: t.replace(
        "nom: ", 'nom: "ouvert\n- source: faux\n  fermé"\n  nomx: ', 1
    ),
    "an anchor and an alias": lambda t: t.replace("categories:", "categories: &c", 1),
    "a duplicate key in a record": lambda t: t.replace("nom: ", "nom: A\n    nom: ", 1),
    "Windows line ends": lambda t: t.replace("\n", "\r\n"),
    "a line break YAML counts, in a quoted text": lambda t: t.replace(
        'nom: "', 'nom: "un\u2028deux ', 1
    ).replace("nom: ", "nomm: ", 2),
    "a section made empty": lambda t: re.sub(
        r"(?ms)^structures:\n.*?(?=^[^\s#-]|\Z)", "structures:\n", t
    ),
    "two records swapped": lambda t: _swap_first_two(t),
}


def _add_record(text: str) -> str:
    first = first_record(text)
    indent = first.group(1)
    fields = ["id: local--54-nouveau", "nom: Nouveau", "commune: Nancy", "categories: [aci]"]
    added = "source: local\n" + "".join(f"{indent}  {f}\n" for f in fields) + f"{indent}- "
    return text.replace(first.group(0), first.group(0) + added, 1)


def _swap_first_two(text: str) -> str:
    found = segments.cut(text)
    assert found is not None
    section = next(s for s in found.sections if s.items and len(s.items) >= 3)
    assert section.items is not None
    (a, b), (_, c) = section.items[0], section.items[1]
    first, second = text[a:b], text[b:c]
    return text[:a] + second + first + text[c:]


@pytest.mark.parametrize("base", [SHIPPED, FLUSH_LEFT], ids=["shipped 54", "flush left"])
@pytest.mark.parametrize("edit", list(EDITS))
def test_a_file_read_again_where_it_changed_is_the_file_a_whole_parse_reads(
    tmp_path: Path, base: str, edit: str
) -> None:
    after = EDITS[edit](base)
    assert after != base
    reload(tmp_path, base, after)


def test_unchanged_records_keep_their_validated_items(tmp_path: Path) -> None:
    old, again, _ = reload(tmp_path, SHIPPED, "# nouvelle version\n" + SHIPPED + "# fin\n")
    assert records(old) > 50
    # every record (but the last of the file, if the comment at the end is in its text)
    assert reused(old, again) >= records(old) - 1

    at = SHIPPED.index("\nstructures:")
    changed = SHIPPED[:at] + SHIPPED[at:].replace("nom: ", "nom: Nouveau ", 1)  # one structure
    old, again, _ = reload(tmp_path, SHIPPED, changed)
    assert reused(old, again) == records(old) - 1


def test_a_record_with_a_problem_is_parsed_again_each_time(tmp_path: Path) -> None:
    broken = FLUSH_LEFT.replace("nom: Garage C", "nomm: Garage C")
    old, again, whole = reload(tmp_path, broken, broken + "# fin\n")
    assert whole.errors and again.errors == whole.errors
    assert reused(old, again) == 2  # A and B; C has an error, it is never reused


def test_files_a_cut_cannot_follow_are_parsed_whole(tmp_path: Path) -> None:
    with_alias = FLUSH_LEFT.replace("categories:\n  - aci", "categories: &c\n  - aci", 1)
    for text in (with_alias, "---\n" + FLUSH_LEFT, FLUSH_LEFT.replace("meta:", '"meta":')):
        assert segments.cut(text) is None
        old, again, _ = reload(tmp_path, text, text + "# fin\n")
        assert reused(old, again) == 0


def test_a_quoted_text_that_only_looks_like_an_item_start_is_not_trusted(tmp_path: Path) -> None:
    tricky = FLUSH_LEFT.replace("    lignes", "- source: pas un élément\n    lignes")
    old = parse(tmp_path, tricky)
    assert not old.errors and records(old) == 3
    assert old.segments == b""  # the cut found one item more than the parse: never used
    _, again, _ = reload(tmp_path, tricky, tricky + "# fin\n")
    assert reused(old, again) == 0


def test_a_list_written_in_brackets_is_read_and_never_reused(tmp_path: Path) -> None:
    flow = FLUSH_LEFT.split("structures:")[0] + (
        "structures: [\n  {source: local, id: local--54-a, nom: Atelier, date_maj: '2026-11-01',"
        " commune: Nancy, code_insee: '54395', categories: [aci]}\n]\n"
    )
    old, again, whole = reload(tmp_path, flow, flow + "# fin\n")
    assert not whole.errors and records(whole) == 1
    assert reused(old, again) == 0


def test_spaces_or_a_comment_after_a_key_still_let_its_list_be_cut(tmp_path: Path) -> None:
    for after_key in ("   ", "  # les structures", "\t"):
        text = FLUSH_LEFT.replace("structures:\n", f"structures:{after_key}\n")
        old, again, _ = reload(tmp_path, text, text + "# fin\n")
        assert reused(old, again) == 2  # all but the last record


def test_line_breaks_a_cut_does_not_count_leave_the_file_parsed_whole(tmp_path: Path) -> None:
    for line_break in ("\x85", "\u2028", "\u2029", "\r"):
        # one in a record kept as it was, a problem in a later record: located where it is
        before = FLUSH_LEFT.replace('"Entreprise B', f'"Entreprise{line_break}B')
        assert segments.cut(before) is None
        after = before.replace("nom: Garage C", "nomm: Garage C")
        _, _, whole = reload(tmp_path, before, after)
        # YAML counts these breaks as lines, as str.splitlines does
        line = next(i for i, text in enumerate(after.splitlines(), 1) if "nomm:" in text)
        assert line in [p.line for p in whole.errors]
    assert segments.cut(FLUSH_LEFT.replace("\n", "\r\n")) is not None


RULE = """\
  - id: {id}
    libelle: "{libelle}"
    si_vrai: eligible
    si_faux: a_verifier
    si_inconnu: demander
    decide_par: "un prescripteur"
    conditions:
      fait: statuts
      contient: |+
        RSA

"""


def test_a_text_kept_with_its_trailing_lines_does_not_take_in_the_reused_records(
    tmp_path: Path,
) -> None:
    before = (
        "eligibility_rules:\n"
        + RULE.format(id="r1", libelle="a")
        + RULE.format(id="r2", libelle="b")
    )
    after = before.replace('libelle: "a"', 'libelle: "a, modifié"')
    source = Source(tmp_path / "regles.yaml", "knowledge/commun/regles.yaml", "commun", "commun")
    source.path.write_text(before, encoding="utf-8")
    old = parse_file(source, before.encode(), "1", DEFAULT_LIMITS_KB)
    assert not old.errors and old.segments
    source.path.write_text(after, encoding="utf-8")
    again = parse_file(source, after.encode(), "2", DEFAULT_LIMITS_KB, old)
    whole = parse_file(source, after.encode(), "2", DEFAULT_LIMITS_KB)
    assert read(again) == read(whole)
    assert again.entries[0].item.conditions["contient"] == "RSA\n\n"
    assert again.entries[1].item is old.entries[1].item  # reused


def test_a_shared_structure_that_moves_checks_the_services_that_use_it_again(
    tmp_path: Path, gazetteer: Gazetteer
) -> None:
    root = _copy_shipped(tmp_path)
    departement = root / "departements" / "58.yaml"
    text = departement.read_text(encoding="utf-8")
    assert "modes_accueil: [a-distance]" in text
    departement.write_text(
        text.replace("modes_accueil: [a-distance]", "modes_accueil: [en-presentiel]", 1),
        encoding="utf-8",
    )
    cache = KnowledgeCache(None)
    load_with_problems(root, gazetteer, today=TODAY, cache=cache)
    shared = root / "commun" / "structures.yaml"
    place = '    code_insee: "54395"\n    latitude: 48.6931\n    longitude: 6.1827\n'
    assert place in shared.read_text(encoding="utf-8")
    for path, old, new in [(shared, place, ""), (departement, "nom: ", "nom: Le ")]:
        path.write_text(path.read_text(encoding="utf-8").replace(old, new, 1), encoding="utf-8")
        _, report = load_with_problems(root, gazetteer, today=TODAY, cache=cache)
        assert report == load_with_problems(root, gazetteer, today=TODAY)[1]
        assert any("sans code_insee" in p.message for p in report.warnings)


INDENTED = re.sub(r"(?m)^(?=[- ])", "  ", FLUSH_LEFT)  # the shipped files' layout
SNIPPETS = [
    "  - source: local\n",
    "    nom: Y\n",
    "- source: local\n",
    "  id: local--54-x\n",
    "  nom: X\n",
    '  nom: "deux\n',
    'lignes"\n',
    "# un commentaire\n",
    "\n",
    "services:\n",
    "  - aci\n",
    "  categories: [ei]\n",
    "structures:\n",
    "  commune: Nancy\n",
    "  code_insee: '54395'\n",
    "- \n",
    "  : x\n",
    "\t- tab\n",
    "  description: |+\n",
    "    texte\n",
    "  description: >-\n",
    "  description: |2\n",
    "  categories: [ei,\n",
    "  ]\n",
    "  nom: 'a\n",
    "- b'\n",
    "  nom: plain\n   continued\n",
    "structures: []\n",
    "structures:   \n",
    "structures: # c\n",
    "  nom: Y\r\n",
    "...\n",
]


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    st.sampled_from([FLUSH_LEFT, INDENTED]),
    st.lists(
        st.tuples(
            st.integers(0, 40),
            st.sampled_from(["insert", "delete", "replace"]),
            st.sampled_from(SNIPPETS),
        ),
        min_size=1,
        max_size=4,
    ),
)
def test_any_edit_of_lines_reads_like_a_whole_parse(
    tmp_path: Path, base: str, edits: list[tuple[int, str, str]]
) -> None:
    lines = base.splitlines(keepends=True)
    for at, how, snippet in edits:
        at = min(at, len(lines))
        if how == "insert" or at == len(lines):
            lines.insert(at, snippet)
        elif how == "delete":
            del lines[at]
        else:
            lines[at] = snippet
    reload(tmp_path, base, "".join(lines))


# --- the whole base --------------------------------------------------------------------------


def _copy_shipped(tmp_path: Path) -> Path:
    root = tmp_path / "knowledge"
    shutil.copytree(DEFAULT_KNOWLEDGE, root, ignore=shutil.ignore_patterns(".cache", "*.gz"))
    return root


def _rewrite_every_file(root: Path, change: Callable[[Path, str], str]) -> None:
    for path in sorted([*root.glob("commun/*.yaml"), *root.glob("departements/*.yaml")]):
        path.write_text(change(path, path.read_text(encoding="utf-8")), encoding="utf-8")


def test_a_reload_of_every_file_rewritten_gives_the_base_a_fresh_start_gives(
    tmp_path: Path, gazetteer: Gazetteer
) -> None:
    root = _copy_shipped(tmp_path)
    cache = KnowledgeCache(None)
    first, _ = load_with_problems(root, gazetteer, today=TODAY, cache=cache)
    assert first is not None

    def new_release(path: Path, text: str) -> str:  # every line moves, some records change
        text = "# version suivante\n" + text.replace("nom: ", "nom: Le ", 2)
        if path.name == "54.yaml":  # and a new problem, in one record
            text = text.replace("commune: Nancy", "commune: Toul", 1)
        return text

    _rewrite_every_file(root, new_release)
    kb, report = load_with_problems(root, gazetteer, today=TODAY, cache=cache)
    assert kb is not None and cache.stats.files_parsed == 2 * 14  # every file read again
    fresh, fresh_report = load_with_problems(root, gazetteer, today=TODAY)
    assert kb is not None and kb == fresh
    assert report == fresh_report
    assert any("Toul" in p.message for p in report.errors)  # a new problem, located
    assert kb.structures == fresh.structures != first.structures
    kept = [key for key, item in kb.structures.items() if item is first.structures.get(key)]
    assert len(kept) > len(kb.structures) / 2  # unchanged records: the same objects, not parsed


# Edits an admin or an import makes, anywhere in the base: (a pattern, its replacement). Each
# example applies a few, at a chosen occurrence, then reloads with the cache kept, and compares
# with a fresh start (no cache): the same base, the same problems at the same places.
MUTATIONS = [
    (r"nom: ", "nom: Nouveau "),
    (r"categories: \[aci\]", "categories: [ei]"),
    (r"structure_id: ", "structure_id: x"),
    (r"commune: Nancy", "commune: Toul"),
    (r"date_maj: 2026-11-26", "date_maj: 2024-01-01"),
    (r"regle: iae_aci_ei_eiti", "regle: iae_inconnue"),
    (r"  - id: iae_aci_ei_eiti", "  - id: iae_aci_ei_eiti_v2"),
    (r"  - id: tzcld-colombey", "  - id: tzcld-colombey-2"),
    (r"\n  - source: local\n", "\n  - source: local\n    commentaire: ajout\n"),
    (r"\n\n  - source: local\n", "\n\n# une fiche retirée\n  - sourc: local\n"),
    (r"^", "# ligne ajoutée\n"),
    (r"telephone: \"?0", 'telephone: "+99 '),
]


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    st.lists(
        st.tuples(st.integers(0, len(MUTATIONS) - 1), st.integers(0, 13), st.integers(0, 30)),
        min_size=1,
        max_size=3,
    ),
    st.sampled_from([TODAY, TODAY.replace(year=TODAY.year + 1)]),
)
def test_a_reload_after_any_edits_reads_what_a_fresh_start_reads(
    tmp_path_factory: pytest.TempPathFactory,
    gazetteer: Gazetteer,
    edits: list[tuple[int, int, int]],
    today: dt.date,
) -> None:
    root = _copy_shipped(tmp_path_factory.mktemp("kb"))
    cache = KnowledgeCache(None)
    first = load_with_problems(root, gazetteer, today=TODAY, cache=cache)[0]
    assert first is not None
    dialogue = OrientationDialogue(first, gazetteer, DialogueSettings(), "54", today=TODAY)
    files = sorted([*root.glob("commun/*.yaml"), *root.glob("departements/*.yaml")])
    for mutation, file, occurrence in edits:
        pattern, replacement = MUTATIONS[mutation]
        texts = {path: path.read_text(encoding="utf-8") for path in files}
        where = [(path, list(re.finditer(pattern, text, re.M))) for path, text in texts.items()]
        where = [(path, found) for path, found in where if found]
        if where:
            path, found = where[file % len(where)]
            at, text = found[occurrence % len(found)], texts[path]
            path.write_text(text[: at.start()] + replacement + text[at.end() :], encoding="utf-8")
        kb, report = load_with_problems(root, gazetteer, today=today, cache=cache)
        fresh, fresh_report = load_with_problems(root, gazetteer, today=today)
        assert report == fresh_report
        assert kb == fresh
        if kb is not None:  # and the dialogue rebuilt on it finds what a new one finds
            settings = DialogueSettings()
            dialogue = OrientationDialogue(kb, gazetteer, settings, "54", earlier=dialogue)
            assert _indexes(dialogue) == _indexes(
                OrientationDialogue(kb, gazetteer, settings, "54")
            )


def _indexes(dialogue: OrientationDialogue) -> list[list[tuple[object, ...]]]:
    """Every place of the dialogue's indexes, with what a search reads of it."""
    orientation = dialogue.services.orientation
    return [
        sorted(
            (repr(place), place.lat, place.lon, sorted(place.zone_keys), place.dept)
            for place in index.places()
        )
        for index in (orientation.services, orientation.referents)
    ]


def _started(
    tmp_path: Path, gazetteer: Gazetteer
) -> tuple[Path, KnowledgeCache, OrientationDialogue]:
    """A copy of the shipped base, loaded with a cache kept for its reloads, and its dialogue."""
    root = _copy_shipped(tmp_path)
    cache = KnowledgeCache(None)
    kb = load_with_problems(root, gazetteer, today=TODAY, cache=cache)[0]
    assert kb is not None
    return root, cache, _dialogue(kb, gazetteer)


def _reloaded(
    root: Path, gazetteer: Gazetteer, cache: KnowledgeCache, earlier: OrientationDialogue
) -> tuple[OrientationDialogue, OrientationDialogue]:
    """The base loaded again: (the dialogue rebuilt as a reload does, keeping what it can of
    `earlier`; the dialogue a new bot builds on it)."""
    kb = load_with_problems(root, gazetteer, today=TODAY, cache=cache)[0]
    assert kb is not None
    return _dialogue(kb, gazetteer, earlier), _dialogue(kb, gazetteer)


def _dialogue(
    kb: KnowledgeBase, gazetteer: Gazetteer, earlier: OrientationDialogue | None = None
) -> OrientationDialogue:
    return OrientationDialogue(
        kb, gazetteer, DialogueSettings(), "54", today=TODAY, earlier=earlier
    )


def test_a_dialogue_rebuilt_after_a_reload_keeps_places_and_finds_what_a_new_one_finds(
    tmp_path: Path, gazetteer: Gazetteer
) -> None:
    root, cache, before = _started(tmp_path, gazetteer)

    def moved(path: Path, text: str) -> str:  # places move, zones change, records come and go
        if path.parent.name != "departements":
            return "# version suivante\n" + text
        text = text.replace("latitude: 48.6851", "latitude: 48.7", 1)
        text = text.replace("  - id: tzcld-colombey\n", "  - id: tzcld-colombey\n    #\n", 1)
        return re.sub(r"(?m)^(\s*)statut: actif$", r"\1statut: suspendu", text, count=2)

    _rewrite_every_file(root, moved)
    again, fresh = _reloaded(root, gazetteer, cache, before)
    assert _indexes(again) == _indexes(fresh) != _indexes(before)
    kept = {id(p) for p in before.services.orientation.services.places()}
    assert sum(id(p) in kept for p in again.services.orientation.services.places()) > 50

    for text in ["je cherche du travail à Nancy", "un garage solidaire vers Lunéville"]:
        for person in ("a", "b"):
            incoming = Incoming("test", person, f"{person}{text}", text=text)
            assert again.step(None, incoming) == fresh.step(None, incoming)


def test_a_dialogue_rebuilt_after_a_reload_keeps_its_reader_only_while_the_words_are_the_same(
    tmp_path: Path, gazetteer: Gazetteer
) -> None:
    root, cache, before = _started(tmp_path, gazetteer)
    question = Incoming("test", "a", "q1", text="kézako le machin-truc d'insertion")

    _rewrite_every_file(root, lambda path, text: "# version suivante\n" + text)
    again, _ = _reloaded(root, gazetteer, cache, before)
    assert again.services.reader._named is before.services.reader._named  # indexes kept
    assert again.services.reader._kb is again.services.kb  # but it reads the new base

    faq = root / "commun" / "faq.yaml"
    edit_text = faq.read_text(encoding="utf-8")
    faq.write_text(
        edit_text.replace("      - c quoi un chantier d'insertion\n",
                          "      - c quoi un chantier d'insertion\n"
                          "      - kézako le machin-truc d'insertion\n", 1),
        encoding="utf-8",
    )  # fmt: skip
    third, fresh = _reloaded(root, gazetteer, cache, again)
    assert third.services.reader._named is not again.services.reader._named  # built again
    assert third.step(None, question) == fresh.step(None, question)
    assert third.step(None, question) != again.step(None, question)  # the new phrasing counts


def test_a_dialogue_rebuilt_after_the_needs_were_reordered_reads_like_a_new_one(
    tmp_path: Path, gazetteer: Gazetteer
) -> None:
    """The order of the needs counts ("garage solidaire" heads the first need that has it):
    records equal one by one, but in another order, make the reader be built again."""
    root, cache, before = _started(tmp_path, gazetteer)
    needs = root / "commun" / "besoins.yaml"
    head, _, body = needs.read_text(encoding="utf-8").partition("besoins:\n")
    preamble, *records = re.split(r"(?m)^(?=  - id: )", body)
    records = [r if r.endswith("\n\n") else r + "\n" for r in records]
    needs.write_text(head + "besoins:\n" + preamble + "".join(reversed(records)), "utf-8")

    again, fresh = _reloaded(root, gazetteer, cache, before)
    now, then = again.services.kb.needs, before.services.kb.needs
    assert now == then and list(now) != list(then)  # the same needs, in another order
    assert again.services.reader._named is not before.services.reader._named  # built again
    for text in ["garage solidaire", "je veux passer le permis", "une voiture pas chère"]:
        incoming = Incoming("test", "a", f"a{text}", text=text)
        assert again.step(None, incoming) == fresh.step(None, incoming)
