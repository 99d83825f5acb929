"""The compiled cache of the knowledge base: used when it matches, rebuilt when it does not,
never trusted when it is damaged, never required."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from dataclasses import astuple
from pathlib import Path

import pytest

from bot import place_spotting
from bot.kb.cache import KnowledgeCache
from bot.kb.knowledge import KnowledgeBase, LoadReport
from bot.kb.loader import load_with_problems
from bot.places import Gazetteer
from tests.test_kb_check import DEPT, TODAY, write_kb

FILES = 6  # commun: categories, besoins, faq, regles; departements: 54, 57
DEPT57 = DEPT.replace('"54"', '"57"').replace("Meurthe-et-Moselle", "Moselle")


def base(tmp_path: Path) -> Path:
    """Two départements: 54 valid, 57 with an error and a stale record (a warning)."""
    stale = DEPT57.replace(
        "date_maj: 2026-11-01\n    categorie: aci", "date_maj: 2024-01-01\n    categorie: aci"
    )
    return write_kb(tmp_path, departements__57_yaml=stale.replace("payant", "payante"))


def start(
    root: Path, gazetteer: Gazetteer, cache: KnowledgeCache, today: dt.date = TODAY
) -> tuple[KnowledgeBase | None, LoadReport]:
    return load_with_problems(root, gazetteer, today=today, cache=cache)


def on_disk(root: Path) -> KnowledgeCache:
    """A cache as a new process finds it: nothing in memory, the files of `.cache/`."""
    return KnowledgeCache.beside(root, gazetteer_file=root / "communes.csv.gz")


def test_a_new_process_reads_the_compiled_cache_and_gets_the_same_base(
    tmp_path: Path, gazetteer: Gazetteer
) -> None:
    root = base(tmp_path)
    (root / "communes.csv.gz").write_bytes(b"stands for the gazetteer's file")
    first = on_disk(root)
    kb, report = start(root, gazetteer, first)
    assert (first.stats.files_parsed, first.stats.checks_run) == (FILES, 3)
    assert kb is not None and set(kb.disabled) == {"57"} and report.warnings

    second = on_disk(root)
    again, report_again = start(root, gazetteer, second)
    assert second.stats.files_parsed == 0 and second.stats.files_from_disk == FILES
    assert second.stats.checks_run == 0 and second.stats.checks_reused == 3
    assert again == kb
    assert report_again == report
    for line in (root / ".cache" / "files--knowledge__departements__54.yaml.jsonl").open():
        json.loads(line)  # data only: JSON lines, no code


def test_a_changed_file_is_read_again_alone(tmp_path: Path, gazetteer: Gazetteer) -> None:
    root = base(tmp_path)
    cache = KnowledgeCache.beside(root)
    start(root, gazetteer, cache)
    path = root / "departements" / "54.yaml"
    path.write_text(DEPT.replace("Garage solidaire de Nancy", "Garage de la Meurthe"), "utf-8")
    kb, _ = start(root, gazetteer, cache)
    assert kb is not None and kb.structures["local--garage"].nom == "Garage de la Meurthe"
    assert cache.stats.files_parsed == FILES + 1

    fresh = on_disk(root)
    kb_again, _ = start(root, gazetteer, fresh)
    assert kb_again == kb and fresh.stats.files_parsed == 0


def test_records_read_back_share_their_repeated_texts_as_parsed_ones_do(
    tmp_path: Path, gazetteer: Gazetteer
) -> None:
    """A service's name and description are often those of its network: one text object for
    all of them, whether the base was parsed or read back from the cache (20,200 services
    read back took 3.8 MB more when they did not)."""
    root = write_kb(tmp_path, departements__57_yaml=DEPT57.replace("local--", "moselle--"))
    parsed, _ = start(root, gazetteer, KnowledgeCache.beside(root))
    cache = on_disk(root)
    read_back, _ = start(root, gazetteer, cache)
    assert cache.stats.files_parsed == 0 and cache.stats.files_from_disk == FILES
    for kb in (parsed, read_back):
        assert kb is not None
        twins = [s for s in kb.services if s.nom == "Chantier espaces verts"]
        assert {s.id for s in twins} == {
            "local--chantier-espaces-verts",
            "moselle--chantier-espaces-verts",
        }
        assert twins[0].nom is twins[1].nom
        assert twins[0].description is twins[1].description
    assert read_back == parsed


def _corrupt_body(data: bytes) -> bytes:
    return data[:-40] + bytes(b ^ 0x20 for b in data[-40:-20]) + data[-20:]


def _other_version(data: bytes) -> bytes:
    head, _, body = data.partition(b"\n")
    header = json.loads(head)
    header["code"] = "0" * 32
    return json.dumps(header).encode() + b"\n" + body


def _wrong_shape_with_a_good_digest(data: bytes) -> bytes:
    """A well-formed entry whose records do not fit: the digest is right, the data is not."""
    from bot.kb.cache import digest_bytes

    head, _, body = data.partition(b"\n")
    lines = body.decode().splitlines()
    lines[2] = json.dumps(["structures", [[0, ["only", "three", "values"]]]])
    new_body = ("\n".join(lines) + "\n").encode()
    header = json.loads(head)
    header["body"] = digest_bytes(new_body)
    return json.dumps(header).encode() + b"\n" + new_body


CORRUPTIONS: dict[str, Callable[[bytes], bytes]] = {
    "truncated": lambda data: data[: len(data) // 2],
    "bytes flipped": _corrupt_body,
    "garbage": lambda data: bytes(range(256)) * 4,
    "empty": lambda data: b"",
    "another code version": _other_version,
    "well-formed but wrong records": _wrong_shape_with_a_good_digest,
}


@pytest.mark.parametrize("damage", CORRUPTIONS.values(), ids=CORRUPTIONS.keys())
def test_a_damaged_cache_is_ignored_and_rebuilt(
    tmp_path: Path, gazetteer: Gazetteer, damage: Callable[[bytes], bytes]
) -> None:
    root = base(tmp_path)
    kb, report = start(root, gazetteer, on_disk(root))
    entry = root / ".cache" / "files--knowledge__departements__54.yaml.jsonl"
    entry.write_bytes(damage(entry.read_bytes()))

    cache = on_disk(root)
    again, report_again = start(root, gazetteer, cache)
    assert (again, report_again) == (kb, report)
    assert cache.stats.files_parsed == 1 and cache.stats.files_from_disk == FILES - 1
    healed = on_disk(root)
    start(root, gazetteer, healed)
    assert healed.stats.files_parsed == 0  # rewritten whole


def test_a_copy_of_another_files_entry_is_not_taken_for_it(
    tmp_path: Path, gazetteer: Gazetteer
) -> None:
    root = base(tmp_path)
    kb, _ = start(root, gazetteer, on_disk(root))
    entries = root / ".cache"
    (entries / "files--knowledge__departements__54.yaml.jsonl").write_bytes(
        (entries / "files--knowledge__departements__57.yaml.jsonl").read_bytes()
    )
    cache = on_disk(root)
    again, _ = start(root, gazetteer, cache)
    assert again == kb and cache.stats.files_parsed == 1


def test_no_cache_folder_possible_only_costs_speed(tmp_path: Path, gazetteer: Gazetteer) -> None:
    root = base(tmp_path)
    (root / ".cache").write_text("a file where the folder would go", "utf-8")
    kb, report = start(root, gazetteer, on_disk(root))
    assert kb is not None and set(kb.disabled) == {"57"} and report.errors
    assert (root / ".cache").read_text("utf-8") == "a file where the folder would go"


def test_checks_are_run_again_when_the_day_or_the_gazetteer_changes(
    tmp_path: Path, gazetteer: Gazetteer
) -> None:
    root = write_kb(tmp_path)
    cache = KnowledgeCache(root / ".cache", context="gazetteer v1")
    _, report = start(root, gazetteer, cache)
    assert report.ok and not report.warnings
    _, later = start(root, gazetteer, cache, TODAY + dt.timedelta(days=400))
    assert {p.message.split(",")[0] for p in later.warnings} == {
        "date_maj du 2026-11-01",
        "date_maj du 2026-10-01",
    }
    assert cache.stats.checks_run == 4 and cache.stats.files_parsed == 5

    other = KnowledgeCache(root / ".cache", context="gazetteer v2")
    start(root, gazetteer, other)
    assert other.stats.checks_run == 2 and other.stats.files_parsed == 0


# --- derived values: the ordinary words of place spotting ------------------------------------


def test_the_ordinary_words_are_read_back_from_the_cache_as_they_were_made(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    made = place_spotting.lexicon()
    monkeypatch.setattr(place_spotting, "_built", [])  # a new process: nothing made yet
    builds: list[int] = []
    monkeypatch.setattr(place_spotting, "_make_lexicon", lambda: builds.append(1) or made)
    place_spotting.warm_up(KnowledgeCache(tmp_path / ".cache"))
    assert builds == [1] and (tmp_path / ".cache" / "derived--lexicon.json").is_file()

    monkeypatch.setattr(place_spotting, "_built", [])
    place_spotting.warm_up(KnowledgeCache(tmp_path / ".cache"))
    assert builds == [1]  # read back, not made again
    assert place_spotting.lexicon() == made and place_spotting.lexicon() is not made
    assert all(type(words) is frozenset for words in astuple(place_spotting.lexicon()))


DAMAGES = {name: damage for name, damage in CORRUPTIONS.items() if "records" not in name}


@pytest.mark.parametrize("damage", DAMAGES.values(), ids=DAMAGES.keys())
def test_a_damaged_or_stale_derived_value_is_made_again(
    tmp_path: Path, damage: Callable[[bytes], bytes]
) -> None:
    def make() -> list[str]:
        builds.append(1)
        return ["a", "b"]

    builds: list[int] = []
    cache = KnowledgeCache(tmp_path / ".cache")
    assert cache.derived("words", "key 1", make, list, list) == ["a", "b"]
    entry = tmp_path / ".cache" / "derived--words.json"
    entry.write_bytes(damage(entry.read_bytes()))
    assert cache.derived("words", "key 1", make, list, list) == ["a", "b"]
    assert builds == [1, 1]
    assert cache.derived("words", "key 1", make, list, list) == ["a", "b"]
    assert builds == [1, 1]  # healed
    assert cache.derived("words", "key 2", make, list, list) == ["a", "b"]
    assert builds == [1, 1, 1]  # its inputs changed


WRONG_SHAPES = {
    "a part missing": {"ordinary": ["x"], "common": []},
    "a part not a list": {"ordinary": 1, "common": [], "very_common": []},
    "a word not a text": {"ordinary": [1], "common": [], "very_common": []},
}


@pytest.mark.parametrize("stored", WRONG_SHAPES.values(), ids=WRONG_SHAPES.keys())
def test_a_lexicon_of_the_wrong_shape_is_made_again(tmp_path: Path, stored: object) -> None:
    cache = KnowledgeCache(tmp_path / ".cache")
    cache.derived("lexicon", "k", lambda: stored, lambda value: value, lambda data: data)
    builds: list[int] = []

    def make() -> place_spotting.Lexicon:
        builds.append(1)
        return place_spotting.Lexicon(frozenset({"x"}), frozenset(), frozenset())

    found = cache.derived(
        "lexicon", "k", make, place_spotting._encode_lexicon, place_spotting._decode_lexicon
    )
    assert builds == [1] and found.ordinary == frozenset({"x"})


def test_the_lexicons_key_changes_with_pyspellcheckers_word_lists(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = place_spotting.lexicon_key()
    patched = tmp_path / "fr.json.gz"
    patched.write_bytes(place_spotting._word_list("fr").read_bytes() + b"\0")
    real = place_spotting._word_list
    monkeypatch.setattr(
        place_spotting,
        "_word_list",
        lambda language: patched if language == "fr" else real(language),
    )
    assert place_spotting.lexicon_key() != before


def test_derived_values_outlive_the_cleaning_of_the_bases_entries(
    tmp_path: Path, gazetteer: Gazetteer
) -> None:
    root = base(tmp_path)
    cache = on_disk(root)
    cache.derived("words", "k", lambda: ["a"], list, list)
    being_written = root / ".cache" / "derived--words.json.1.2.tmp"  # as `store` names it
    being_written.write_bytes(b"")
    gone = root / ".cache" / "files--gone.yaml.jsonl"
    gone.write_bytes(b"")
    start(root, gazetteer, cache)  # drops the entries of files that no longer exist
    assert not gone.exists()
    assert (root / ".cache" / "derived--words.json").is_file() and being_written.is_file()


def test_without_a_cache_folder_the_ordinary_words_are_made(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    made = place_spotting.lexicon()
    monkeypatch.setattr(place_spotting, "_built", [])
    builds: list[int] = []
    monkeypatch.setattr(place_spotting, "_make_lexicon", lambda: builds.append(1) or made)
    place_spotting.warm_up(KnowledgeCache(None))
    assert builds == [1] and place_spotting._built == [made]  # made by warm_up, not later
    assert place_spotting.lexicon() is made and builds == [1]
