"""Reloading the knowledge base in a running bot: a good one replaces the old, a broken shared
file never does, and a broken département keeps its last good version while the others move on.
"""

from __future__ import annotations

import asyncio
import dataclasses
import itertools
import platform
import shutil
import sys
import threading
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from bot import app as app_module
from bot import memory
from bot.app import KnowledgeHolder
from bot.config import DEFAULT_KNOWLEDGE, Config
from bot.dispatcher import Dispatcher
from bot.kb import cache as cache_module
from bot.kb.cache import KnowledgeCache
from bot.kb.loader import load_knowledge
from bot.places import Gazetteer
from bot.store import Store
from tests.conftest import Conversation


def running_bot(tmp_path: Path, gazetteer: Gazetteer) -> tuple[Path, KnowledgeHolder]:
    """A copy of the shipped base, loaded as the bot does it (with its compiled cache)."""
    copy = tmp_path / "knowledge"
    shutil.copytree(DEFAULT_KNOWLEDGE, copy, ignore=shutil.ignore_patterns(".cache"))
    cache = KnowledgeCache.beside(copy)
    knowledge = load_knowledge(copy, gazetteer, cache=cache)
    return copy, KnowledgeHolder(Config(knowledge=copy), gazetteer, knowledge, cache=cache)


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, old
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


async def test_reload_swaps_a_good_base_and_keeps_the_last_good_one(
    tmp_path: Path, gazetteer: Gazetteer
) -> None:
    copy, holder = running_bot(tmp_path, gazetteer)
    first = holder.dialogue()

    faq = copy / "commun" / "faq.yaml"
    edit(faq, "Une CAE vous permet", "Une coopérative d'activités vous permet")
    report = await holder.reload()
    assert report.ok and report.summary() == "Base chargée. / Knowledge base loaded."
    assert holder.dialogue() is not first
    assert (
        "coopérative d'activités vous permet"
        in holder.current.faq["faq_cae_fonctionnement"].reponse
    )

    good = holder.dialogue()
    faq.write_text("faq:\n  - id: [broken\n", encoding="utf-8")
    report = await holder.reload()
    assert not report.applied
    assert [(p.file, p.line) for p in report.errors] == [("knowledge/commun/faq.yaml", 3)]
    assert report.summary().startswith("Base refusée : 1 erreur")
    assert holder.dialogue() is good  # the running bot keeps answering with the last good base


async def test_a_broken_departement_keeps_its_last_good_version_and_the_others_move_on(
    tmp_path: Path, gazetteer: Gazetteer, store: Store
) -> None:
    copy, holder = running_bot(tmp_path, gazetteer)
    nancy_structures = {s for s in holder.current.structures if s.startswith("local--54-")}
    assert nancy_structures

    (copy / "departements" / "54.yaml").write_text("# tout effacé par erreur\n", "utf-8")
    edit(
        copy / "departements" / "58.yaml",
        'nom: "EBE 58, entreprise à but d\'emploi de Prémery"',
        "nom: EBE 58 de Prémery",
    )
    report = await holder.reload()
    assert report.applied and not report.disabled
    assert [str(p) for p in report.kept["54"]] == [
        "knowledge/departements/54.yaml:1:1: fichier vide (ou seulement des commentaires) : "
        "le département 54 n'aurait plus aucune information"
    ]
    assert "nouveaux fichiers refusés pour 54" in report.summary()
    knowledge = holder.current
    assert "54" in knowledge.metas and not knowledge.disabled
    assert nancy_structures <= set(knowledge.structures)  # 54 still serves its last version
    assert any(s.nom == "EBE 58 de Prémery" for s in knowledge.structures.values())

    person = Conversation(Dispatcher(store, holder.dialogue))
    await person.say("je suis au RSA à Nancy et je cherche un chantier d'insertion")
    assert person.last is not None and person.last.trace.structures


async def test_a_departement_broken_at_start_up_is_disabled_alone(
    tmp_path: Path, gazetteer: Gazetteer
) -> None:
    copy = tmp_path / "knowledge"
    shutil.copytree(DEFAULT_KNOWLEDGE, copy, ignore=shutil.ignore_patterns(".cache"))
    edit(
        copy / "departements" / "54.yaml",
        "categorie: garage_solidaire",
        "categorie: garrage_solidaire",
    )
    knowledge = load_knowledge(copy, gazetteer)
    assert set(knowledge.disabled) == {"54"}
    (problem,) = knowledge.disabled["54"]
    assert problem.file == "knowledge/departements/54.yaml" and "garage_solidaire" in str(problem)
    assert "54" not in knowledge.metas
    assert not any(s.startswith("local--54-") for s in knowledge.structures)
    assert {"08", "31", "58", "60", "93"} <= set(knowledge.metas)
    assert any(s.id == "local--mobicoop--covoiturage-08" for s in knowledge.services)


async def test_turns_keep_flowing_during_a_reload(
    tmp_path: Path, gazetteer: Gazetteer, store: Store
) -> None:
    copy, holder = running_bot(tmp_path, gazetteer)
    dispatcher = Dispatcher(store, holder.dialogue)
    edit(copy / "commun" / "faq.yaml", "Une CAE vous permet", "Une CAE vous aide")
    reload = asyncio.create_task(holder.reload())
    person, answered = Conversation(dispatcher), 0
    started = time.perf_counter()
    while not reload.done():
        await person.say("bonjour")
        answered += 1
    assert (await reload).ok
    assert answered >= 1  # the event loop answered while the base was rebuilt off the loop
    assert time.perf_counter() - started < 30


def test_the_report_for_admins_names_the_first_errors() -> None:
    from bot.kb.knowledge import LoadReport, Problem

    errors = tuple(Problem("knowledge/departements/54.yaml", n, 3, "zone inconnue") for n in (4, 9))
    report = LoadReport(True, errors, (), {"54": errors})
    assert report.for_admins(max_problems=1).splitlines() == [
        "Base chargée, sauf : 1 département désactivé(s) à cause d'erreurs : 54. Les autres "
        "départements sont servis. / Knowledge base loaded, except: département(s) 54 disabled "
        "by errors. The other départements serve.",
        "knowledge/departements/54.yaml:4:3: zone inconnue",
        "… et 1 autre erreur : lancez « aiguillage check ». / … and 1 more: run `aiguillage "
        "check`.",
    ]


async def test_the_compiled_cache_of_a_reload_is_written_once_the_new_base_serves(
    tmp_path: Path, gazetteer: Gazetteer
) -> None:
    copy, holder = running_bot(tmp_path, gazetteer)
    entry = copy / ".cache" / "files--knowledge__departements__54.yaml.jsonl"
    before = entry.read_bytes()
    edit(copy / "departements" / "54.yaml", "nom: ", "nom: Nouveau ")

    report = await holder.reload()
    assert report.applied and holder.current.metas["54"].nom.startswith("Nouveau")
    assert entry.read_bytes() == before  # the new base serves; its cache is written after
    await holder.settled()
    assert entry.read_bytes() != before

    restarted = KnowledgeCache.beside(copy)  # a new process: the new version, from the cache
    again = load_knowledge(copy, gazetteer, cache=restarted)
    assert restarted.stats.files_parsed == 0 and again == holder.current


async def test_the_compiled_cache_is_written_one_file_at_a_time_between_turns(
    tmp_path: Path, gazetteer: Gazetteer
) -> None:
    copy, holder = running_bot(tmp_path, gazetteer)
    for path in sorted(copy.glob("*/*.yaml")):  # every file changed: every entry written
        path.write_text("# version suivante\n" + path.read_text(encoding="utf-8"), "utf-8")
    entries = sorted((copy / ".cache").glob("files--*"))
    assert len(entries) >= 10
    written_at: list[int] = []  # how many files were written at each turn of the event loop
    ticks = 0

    async def turns_meanwhile() -> None:
        nonlocal ticks
        while True:
            written_at.append(sum(e.read_bytes() != before[e] for e in entries))
            ticks += 1
            await asyncio.sleep(0)

    before = {entry: entry.read_bytes() for entry in entries}
    report = await holder.reload()
    assert report.applied
    meanwhile = asyncio.create_task(turns_meanwhile())
    await holder.settled()
    meanwhile.cancel()
    assert all(e.read_bytes() != before[e] for e in entries)  # all written in the end
    steps = [b - a for a, b in itertools.pairwise(written_at)]
    assert max(steps) <= 1  # the loop ran between any two files
    assert ticks >= len(entries)


async def test_a_slow_disk_does_not_stall_the_turns_while_the_cache_is_written(
    tmp_path: Path, gazetteer: Gazetteer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Saving the files just before a reload keeps the disk busy: one entry took 55 ms to
    reach it at national scale. The event loop must go on answering meanwhile."""
    copy, holder = running_bot(tmp_path, gazetteer)
    for path in sorted(copy.glob("*/*.yaml")):
        path.write_text("# version suivante\n" + path.read_text(encoding="utf-8"), "utf-8")
    store, stored = holder._cache.store, []

    def slow_disk(path: Path, data: bytes) -> None:
        time.sleep(0.1)
        store(path, data)
        stored.append(threading.current_thread())

    monkeypatch.setattr(holder._cache, "store", slow_disk)
    assert (await holder.reload()).applied
    ticks: list[float] = []

    async def turns_meanwhile() -> None:
        while True:
            ticks.append(time.perf_counter())
            await asyncio.sleep(0.005)

    meanwhile = asyncio.create_task(turns_meanwhile())
    await holder.settled()
    meanwhile.cancel()
    assert len(stored) >= 10 and threading.current_thread() not in stored
    # its own thread: the builds' memory stays in the default executor's (one arena, not two)
    assert all(thread.name.startswith("knowledge-cache") for thread in stored)
    assert max(b - a for a, b in itertools.pairwise(ticks)) < 0.08  # not one 0.1 s wait
    restarted = KnowledgeCache.beside(copy)  # and every entry is on disk
    assert load_knowledge(copy, gazetteer, cache=restarted) == holder.current
    assert restarted.stats.files_parsed == 0


def test_what_a_reload_frees_in_slices_is_the_old_records_and_places(
    tmp_path: Path, gazetteer: Gazetteer
) -> None:
    _, holder = running_bot(tmp_path, gazetteer)
    knowledge, dialogue = holder.current, holder.dialogue()
    parts = {id(part) for part in app_module._records_and_places((knowledge, dialogue))}
    records: list[object] = []  # every record of every collection of the base, whatever its kind
    for spec in dataclasses.fields(knowledge):
        value = getattr(knowledge, spec.name)
        if isinstance(value, Mapping):
            records += value.values()
        elif isinstance(value, tuple | list | set | frozenset):
            records += value
    places = list(dialogue.places())
    assert len(records) > len(knowledge.services) and places
    assert all(id(record) in parts for record in records)
    assert all(id(place) in parts for place in places)


async def test_the_old_base_is_freed_a_slice_at_a_time_between_turns(
    tmp_path: Path, gazetteer: Gazetteer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Freed in one go, a national base whose every record changed stalled the loop 22–24 ms.
    Here every service changes, and the holder lets go of the old ones one by one, the loop
    turning in between (seen in their reference counts: the test holds them alive)."""
    copy, holder = running_bot(tmp_path, gazetteer)
    for path in sorted(copy.glob("departements/*.yaml")):  # every structure and service changed
        path.write_text(path.read_text(encoding="utf-8").replace("nom: ", "nom: Autre "), "utf-8")
    monkeypatch.setattr(app_module, "RELEASE_SLICE", 1)
    old = list(holder.current.services)
    assert (await holder.reload()).applied
    assert not set(map(id, old)) & set(map(id, holder.current.services))
    held = [sys.getrefcount(service) for service in old]  # the swap is done; the slices are not
    let_go: list[int] = []

    async def turns_meanwhile() -> None:
        while True:
            let_go.append(sum(sys.getrefcount(s) < n for s, n in zip(old, held, strict=True)))
            await asyncio.sleep(0)

    meanwhile = asyncio.create_task(turns_meanwhile())
    await holder.settled()
    meanwhile.cancel()
    assert let_go[0] == 0 and let_go[-1] == len(old)
    assert len(set(let_go)) >= len(old) // 2  # not all at once: a few at each turn of the loop


async def test_after_a_reload_the_freed_memory_goes_back_to_the_system_off_the_loop(
    tmp_path: Path, gazetteer: Gazetteer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Once the cache is written, the old base's pages are handed back (glibc keeps them
    otherwise: 5–6 MB at national scale), from the writer's thread, not the loop."""
    copy, holder = running_bot(tmp_path, gazetteer)
    edit(copy / "departements" / "54.yaml", "nom: ", "nom: Nouveau ")
    trimmed: list[int] = []

    def release() -> bool:
        trimmed.append(threading.get_ident())
        return True

    monkeypatch.setattr(app_module, "release_freed_memory", release)
    assert (await holder.reload()).applied
    assert not trimmed  # not before the cache is written
    await holder.settled()
    assert len(trimmed) == 1 and trimmed[0] != threading.get_ident()


def test_freed_memory_can_be_given_back_on_linux_with_glibc() -> None:
    on_glibc = sys.platform == "linux" and platform.libc_ver()[0] == "glibc"
    assert memory.release_freed_memory() is on_glibc


async def test_a_reload_cancelled_while_it_builds_holds_on_until_its_build_ends(
    tmp_path: Path, gazetteer: Gazetteer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The watcher is cancelled when the bot stops; a thread cannot be. The cancelled reload
    keeps its lock until its build ends (never two builds at once), and what it parsed is
    encoded on the event loop and written, as for any reload."""
    copy, holder = running_bot(tmp_path, gazetteer)
    for path in sorted(copy.glob("*/*.yaml")):
        path.write_text("# version suivante\n" + path.read_text(encoding="utf-8"), "utf-8")
    release, builds = threading.Event(), []
    build = holder._build

    def slow_build(directory: Path) -> Any:
        release.wait(10)
        began = time.perf_counter()
        try:
            return build(directory)
        finally:
            builds.append((began, time.perf_counter()))

    encoders: list[int] = []
    encode = cache_module._encode_parsed

    def spied(parsed: Any) -> bytes:
        encoders.append(threading.get_ident())
        return encode(parsed)

    monkeypatch.setattr(holder, "_build", slow_build)
    monkeypatch.setattr(cache_module, "_encode_parsed", spied)
    first = asyncio.create_task(holder.reload())
    await asyncio.sleep(0.05)  # its build waits in its thread
    first.cancel()
    second = asyncio.create_task(holder.reload())
    await asyncio.sleep(0.05)
    assert not first.done()  # it holds on while its thread runs
    release.set()
    with pytest.raises(asyncio.CancelledError):
        await first
    assert (await second).applied
    await holder.settled()
    assert len(builds) == 2 and builds[0][1] <= builds[1][0]  # one after the other
    assert encoders and set(encoders) == {threading.get_ident()}  # on the event loop
    assert holder.current == load_knowledge(copy, gazetteer)


async def test_a_reload_cancelled_twice_while_it_builds_still_holds_on_until_its_build_ends(
    tmp_path: Path, gazetteer: Gazetteer, monkeypatch: pytest.MonkeyPatch
) -> None:
    copy, holder = running_bot(tmp_path, gazetteer)
    edit(copy / "departements" / "54.yaml", "nom: ", "nom: Nouveau ")
    build, builds = holder._build, []

    def slow_build(directory: Path) -> Any:
        began = time.perf_counter()
        time.sleep(0.3)
        try:
            return build(directory)
        finally:
            builds.append((began, time.perf_counter()))

    monkeypatch.setattr(holder, "_build", slow_build)
    first = asyncio.create_task(holder.reload())
    await asyncio.sleep(0.05)
    first.cancel()
    await asyncio.sleep(0.05)
    first.cancel()  # the watcher stopping, then the bot's stop
    second = asyncio.create_task(holder.reload())
    with pytest.raises(asyncio.CancelledError):
        await first
    assert (await second).applied
    assert len(builds) == 2 and builds[0][1] <= builds[1][0]  # one after the other


async def test_a_reload_cancelled_while_it_waits_for_the_last_one_leaves_that_one_alone(
    tmp_path: Path, gazetteer: Gazetteer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Cancelling a caller of `settled()` must not cancel the writing it waits for: the cache
    entries would be lost, and every later reload would raise."""
    copy, holder = running_bot(tmp_path, gazetteer)
    for path in sorted(copy.glob("*/*.yaml")):  # every entry to write, on a slow disk
        path.write_text("# version suivante\n" + path.read_text(encoding="utf-8"), "utf-8")
    store = holder._cache.store

    def slow_disk(path: Path, data: bytes) -> None:
        time.sleep(0.03)
        store(path, data)

    monkeypatch.setattr(holder._cache, "store", slow_disk)
    assert (await holder.reload()).applied
    waiting = asyncio.create_task(holder.reload())  # waits for the first one's writing
    await asyncio.sleep(0.05)
    waiting.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiting
    await holder.settled()  # neither cancelled nor raising
    assert (await holder.reload()).applied
    await holder.settled()
    restarted = KnowledgeCache.beside(copy)  # every entry on disk
    assert load_knowledge(copy, gazetteer, cache=restarted) == holder.current
    assert restarted.stats.files_parsed == 0


async def test_two_reloads_close_together_leave_the_cache_of_the_last_one(
    tmp_path: Path, gazetteer: Gazetteer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A second reload asked while the first builds (a SIGHUP, /reload), the file put back
    meanwhile: the first one's entry must not land on disk after the second one's."""
    copy, holder = running_bot(tmp_path, gazetteer)
    built, build = threading.Event(), holder._build

    def slow_build(directory: Path) -> Any:
        out = build(directory)
        built.set()
        time.sleep(0.3)  # the end of a big build: the second reload waits meanwhile
        return out

    monkeypatch.setattr(holder, "_build", slow_build)
    path = copy / "departements" / "54.yaml"
    original = path.read_bytes()
    path.write_bytes(original.replace(b"nom: ", b"nom: Nouveau ", 1))
    first = asyncio.create_task(holder.reload())
    while not built.is_set():
        await asyncio.sleep(0.01)
    path.write_bytes(original)  # put back (an admin's undo)
    second = asyncio.create_task(holder.reload())
    await first
    await second
    await holder.settled()

    restarted = KnowledgeCache.beside(copy)  # a new process: everything from the cache
    assert load_knowledge(copy, gazetteer, cache=restarted) == holder.current
    assert restarted.stats.files_parsed == 0


async def test_an_entry_that_cannot_be_written_does_not_keep_the_others_from_disk(
    tmp_path: Path, gazetteer: Gazetteer, monkeypatch: pytest.MonkeyPatch
) -> None:
    copy, holder = running_bot(tmp_path, gazetteer)
    for path in sorted(copy.glob("*/*.yaml")):
        path.write_text("# version suivante\n" + path.read_text(encoding="utf-8"), "utf-8")
    encode = cache_module._encode_parsed

    def broken_for_one(parsed: Any) -> bytes:
        if parsed.name.endswith("faq.yaml"):
            raise ValueError("a bug in the encoding of one entry")
        return encode(parsed)

    monkeypatch.setattr(cache_module, "_encode_parsed", broken_for_one)
    assert (await holder.reload()).applied
    await holder.settled()
    monkeypatch.undo()
    restarted = KnowledgeCache.beside(copy)  # a new process
    assert load_knowledge(copy, gazetteer, cache=restarted) == holder.current
    assert restarted.stats.files_parsed == 1  # only the one whose entry failed
