"""Many kinds of broken knowledge base, as a careless admin or an attacker would write them.

Each kind must give a clear French message at file:line:col, quickly (bombs and runaway nesting
included), and a running bot must keep its last good base: a broken shared file refuses the
reload, a broken département keeps serving its previous version, and nothing else is touched.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from bot.app import KnowledgeHolder
from bot.config import Config
from bot.kb.cache import KnowledgeCache
from bot.kb.knowledge import Problem
from bot.kb.loader import MIB, Limits, load_knowledge, load_with_problems
from bot.kb.yamlpos import _NOT_PRINTABLE, decode_yaml_bytes
from bot.places import Gazetteer
from tests.test_kb_check import DEPT, RULES, _faq, _needs, write_kb

Transform = Callable[[str], str | bytes]
DEPT_FILE = "departements/54.yaml"
RULES_FILE = "commun/regles.yaml"
ORIGINALS = {DEPT_FILE: DEPT, RULES_FILE: RULES, "commun/faq.yaml": _faq()}


@dataclass(frozen=True)
class Kind:
    name: str
    file: str  # written relative to knowledge/
    change: Transform | str | bytes  # a function of the original text, or the new content
    message: str  # a fragment of the expected message
    line: int | None = None  # where it must point, when it is known
    outcome: str = "kept"  # kept (a département) | refused (shared) | disabled | ignored | ok

    @property
    def expected_file(self) -> str:
        return f"knowledge/{self.file}"


def replace(old: str, new: str) -> Transform:
    def change(text: str) -> str:
        assert old in text, old
        return text.replace(old, new, 1)

    return change


def append(extra: str) -> Transform:
    return lambda text: text + extra


def bomb() -> str:
    lines = ['lol: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for previous, name in zip("abcdefgh", "bcdefghi", strict=True):
        lines.append(f"{name}: &{name} [{', '.join([f'*{previous}'] * 9)}]")
    return "\n".join(lines) + "\n"


def nested_conditions(depth: int) -> str:
    return "{non: " * depth + "{fait: age, op: '>=', valeur: 16}" + "}" * depth


def many_conditions(count: int) -> str:
    one = "{fait: age, op: '>=', valeur: 1}"
    return "{au_moins_un: [" + ", ".join([one] * count) + "]}"


IAE_CONDITIONS = "conditions: {fait: statuts, contient_un_de: [RSA, ASS]}"
SERVICE = "    categorie: garage_solidaire\n"

KINDS = [
    # --- YAML syntax ----------------------------------------------------------------------------
    Kind("unclosed bracket", DEPT_FILE, replace('["54135"]', '["54135"'), "« ] » fermant"),
    Kind("unclosed quote", DEPT_FILE, replace('"54395"', '"54395'), "YAML mal formé"),
    Kind("tab indentation", DEPT_FILE, replace("    frais: payant", "\tfrais: payant"),
         "tabulation", 31),
    Kind("bad indentation", DEPT_FILE, replace("  nom: Meurthe", " nom: Meurthe"),
         "YAML mal formé", 3),
    Kind("colon in a value", DEPT_FILE, replace("nom: Meurthe-et-Moselle", "nom: a: b"),
         "« : » inattendu", 3),
    Kind("duplicate key", DEPT_FILE, replace("    frais: payant\n", "    frais: payant\n"
         "    frais: gratuit\n"), "clé en double « frais » (déjà présente ligne 31)", 32),
    Kind("duplicate section", DEPT_FILE, append("services: []\n"), "clé en double « services »"),
    Kind("two documents", DEPT_FILE, append("---\nmeta: {}\n"), "un seul document YAML"),
    Kind("undefined alias", DEPT_FILE, replace("[garage_solidaire]", "*garage"),
         "alias *garage sans ancre"),
    Kind("python tag on a scalar", DEPT_FILE, replace("nom: Meurthe-et-Moselle",
         "nom: !!python/name:os.system"), "étiquette YAML inconnue", 3),
    Kind("python tag on a list", DEPT_FILE, append('x: !!python/object/apply:os.system ["id"]\n'),
         "étiquette YAML inconnue"),
    Kind("mapping as a key", DEPT_FILE, replace("    frais: payant\n", "    ? [a, b]\n    : c\n"),
         "une clé doit être un texte simple"),
    Kind("root is a list", DEPT_FILE, "- meta\n- services\n", "dictionnaire de sections", 1),
    Kind("root is a text", DEPT_FILE, "bonjour\n", "dictionnaire de sections", 1),
    Kind("empty département file", DEPT_FILE, "", "fichier vide", 1),
    Kind("comments only", DEPT_FILE, "# tout est en commentaire\n# meta:\n", "fichier vide", 1),
    Kind("blank lines only", DEPT_FILE, "\n\n   \n", "fichier vide", 1),
    Kind("empty shared file", RULES_FILE, "", "fichier vide", 1, "refused"),
    Kind("section not a list", DEPT_FILE, replace("services:\n", "services: nope\n"
         "servicez:\n"), "doit être une liste"),
    Kind("unknown section", DEPT_FILE, replace("orienteurs:", "orienteur:"),
         "section inconnue « orienteur » — vouliez-vous dire « orienteurs » ?"),
    Kind("shared section in a département", DEPT_FILE, append("besoins: []\n"),
         "n'a sa place que dans commun/"),
    Kind("meta in a shared file", RULES_FILE, append("meta: {}\n"),
         "« meta » n'a sa place que dans un fichier de departements/", None, "refused"),
    Kind("meta missing", DEPT_FILE, lambda t: "zones:" + t.split("zones:", 1)[1],
         "section « meta » manquante", 1),
    Kind("file and meta disagree", DEPT_FILE, replace('departement: "54"', 'departement: "57"'),
         "renommez-le « 57.yaml »", 2),
    # --- hostile ----------------------------------------------------------------------------------
    Kind("billion laughs", DEPT_FILE, append(bomb()), "trop d'alias"),
    Kind("self-referencing list", DEPT_FILE, append("boucle: &b [1, *b]\n"),
         "référence circulaire"),
    Kind("self-referencing rule", RULES_FILE, replace(IAE_CONDITIONS, "conditions: &c {non: *c}"),
         "référence circulaire", 4, "refused"),
    Kind("flow nesting 1,000 deep", DEPT_FILE, append("x: " + "[" * 1000 + "]" * 1000 + "\n"),
         "imbrication trop profonde"),
    Kind("block nesting 60 deep", DEPT_FILE, append("".join(f"{'  ' * i}k{i}:\n"
         for i in range(60)) + "  " * 60 + "v: 1\n"), "imbrication trop profonde"),
    Kind("rule nested too deep", RULES_FILE, replace(IAE_CONDITIONS,
         f"conditions: {nested_conditions(17)}"), "conditions trop imbriquées", 4, "refused"),
    Kind("rule too big", RULES_FILE, replace(IAE_CONDITIONS,
         f"conditions: {many_conditions(520)}"), "règle trop grande", 4, "refused"),
    Kind("inline conditions too deep", DEPT_FILE, replace("{regle: iae}",
         f"{{regle: iae, conditions: {nested_conditions(17)}}}"), "conditions trop imbriquées"),
    Kind("huge shared file", RULES_FILE, append("#" * (2 * 1024 * 1024)), "fichier trop gros",
         1, "refused"),
    Kind("huge text", DEPT_FILE, replace("Réparations à petit prix.", "x" * 10_001),
         "au plus 10000 caractère(s)"),
    # --- bytes and encodings --------------------------------------------------------------------
    Kind("binary garbage", DEPT_FILE, bytes(range(256)) * 16, "fichier binaire"),
    Kind("latin-1", DEPT_FILE, lambda t: t.encode("latin-1"), "enregistrez-le en UTF-8", 27),
    Kind("UTF-16", DEPT_FILE, lambda t: t.encode("utf-16"), "encodé en UTF-16", 1),
    Kind("NUL byte", DEPT_FILE, replace("nom: Meurthe", "nom: Meu\x00rthe"),
         "caractère de contrôle interdit U+0000", 3),
    Kind("terminal escape", DEPT_FILE, replace("nom: Meurthe", "nom: \x1b[31mMeurthe"),
         "caractère de contrôle interdit U+001B", 3),
    Kind("C1 control", DEPT_FILE, replace("nom: Meurthe", "nom: Meu\x9brthe"),
         "caractère de contrôle interdit U+009B", 3),
    Kind("non-character", DEPT_FILE, replace("nom: Meurthe", "nom: Meurthe\uffff"),
         "caractère de contrôle interdit U+FFFF", 3),
    Kind("UTF-8 with a BOM loads", DEPT_FILE, lambda t: b"\xef\xbb\xbf" + t.encode(), "", None,
         "ok"),
    # --- wrong types and formats ---------------------------------------------------------------
    Kind("text instead of a list", DEPT_FILE, replace("[demandeurs-emploi, jeunes]", "jeunes"),
         "« publics » : une liste"),
    Kind("number instead of a text", DEPT_FILE, replace('code_insee: "54395"\n    categories: '
         "[garage", "code_insee: 54395\n    categories: [garage"), "« code_insee » : un texte"),
    Kind("list instead of a mapping", DEPT_FILE, lambda t: "meta: [a, b]\nzones:"
         + t.split("zones:", 1)[1], "un dictionnaire (des lignes « clé: valeur »)", 1),
    Kind("yes as a date", DEPT_FILE, replace("date_maj: 2026-11-01\nzones", "date_maj: yes\nzones"),
         "une date AAAA-MM-JJ", 4),
    Kind("impossible date", DEPT_FILE, replace("date_maj: 2026-11-01\nzones",
         "date_maj: 2026-02-30\nzones"), "valeur illisible « 2026-02-30 »", 4),
    Kind("date before 2000", DEPT_FILE, replace("    date_maj: 2026-11-01\n    code_insee",
         "    date_maj: 1999-12-31\n    code_insee"), "au 21e siècle"),
    Kind("date in the future", DEPT_FILE, replace("    date_maj: 2026-11-01\n    code_insee",
         "    date_maj: 2099-01-01\n    code_insee"), "ne peut pas être dans le futur"),
    Kind("latitude out of range", DEPT_FILE, replace(SERVICE, SERVICE + "    latitude: 95\n"),
         "inférieur ou égal à 90"),
    Kind("negative weekly hours", DEPT_FILE, replace(SERVICE, SERVICE
         + "    volume_horaire_hebdomadaire: -1\n"), "supérieur ou égal à 0"),
    Kind("zero weeks", DEPT_FILE, replace(SERVICE, SERVICE + "    nombre_semaines: 0\n"),
         "supérieur ou égal à 1"),
    Kind("bad e-mail", DEPT_FILE, replace(SERVICE, SERVICE + "    courriel: contact.garage.fr\n"),
         "adresse e-mail invalide pour « courriel »"),
    Kind("URL without scheme", DEPT_FILE, replace(SERVICE, SERVICE
         + "    lien_mobilisation: www.garage.fr\n"), "adresse web invalide « www.garage.fr »"),
    Kind("URL with a space", DEPT_FILE, replace(SERVICE, SERVICE
         + "    lien_mobilisation: https://gar age.fr\n"), "adresse web invalide"),
    Kind("bad postal code", DEPT_FILE, replace(SERVICE, SERVICE + '    code_postal: "5400"\n'),
         "code postal à 5 chiffres"),
    Kind("bad SIRET", DEPT_FILE, replace("    categories: [garage_solidaire]\n",
         "    categories: [garage_solidaire]\n    siret: '123'\n"), "SIRET à 14 chiffres"),
    Kind("id without its source", DEPT_FILE, replace("id: local--garage-reparation",
         "id: garage-reparation"), "de la forme « source--identifiant »"),
    Kind("unknown field", DEPT_FILE, replace("    frais: payant", "    frai: payant"),
         "champ inconnu « frai » — vouliez-vous dire « frais » ?", 31),
    Kind("missing field", DEPT_FILE, replace("    nom: Réparation à prix solidaire\n", ""),
         "champ obligatoire manquant : nom"),
    Kind("unknown enumeration value", DEPT_FILE, replace("frais: payant", "frais: payante"),
         "frais inconnu(e) « payante » — vouliez-vous dire « payant » ?", 31),
    Kind("tous-publics with others", DEPT_FILE, replace("[demandeurs-emploi, jeunes]",
         "[tous-publics, jeunes]"), "`tous-publics` ne peut pas être utilisé"),
    Kind("name too short", DEPT_FILE, replace("nom: Réparation à prix solidaire", "nom: ab"),
         "au moins 3 caractère(s)"),
    # --- references -----------------------------------------------------------------------------
    Kind("unknown category", DEPT_FILE, replace(SERVICE, "    categorie: garrage_solidaire\n"),
         "vouliez-vous dire « garage_solidaire » ?"),
    Kind("unknown structure", DEPT_FILE, replace("structure_id: local--garage\n",
         "structure_id: local--garag\n"), "structure inconnue « local--garag »"),
    Kind("unknown zone", DEPT_FILE, replace("zones: [tzcld-colombey]", "zones: [tzcld-colombei]"),
         "zone inconnue « tzcld-colombei »"),
    Kind("unknown rule", DEPT_FILE, replace("{regle: iae}", "{regle: iea}"),
         "règle inconnue « iea »"),
    Kind("unknown INSEE code", DEPT_FILE, replace('codes: ["54135"]', 'codes: ["54999"]'),
         "code INSEE de commune inconnu « 54999 »", 9),
    Kind("unknown EPCI", DEPT_FILE, replace('"245400676"', '"245400677"'), "EPCI inconnu"),
    Kind("duplicate id", DEPT_FILE, replace("id: local--chantier\n", "id: local--garage\n"),
         "identifiant en double « local--garage »"),
    Kind("IAE never says no", DEPT_FILE, replace("{regle: iae}", "{regle: tzcld}"),
         "impossible pour l'IAE"),
    Kind("rule citing an unknown rule", RULES_FILE, replace(IAE_CONDITIONS,
         "conditions: {regle: tzcd}"), "règle inconnue « tzcd »", 4, "refused"),
    Kind("circular rules", RULES_FILE, lambda t: t.replace(IAE_CONDITIONS,
         "conditions: {regle: tzcld}").replace("{fait: commune, dans_zone_du_service: true}",
         "{regle: iae}"), "références circulaires", None, "refused"),
    Kind("unknown fact", RULES_FILE, replace("fait: statuts", "fait: statut"),
         "fait inconnu « statut »", 4, "refused"),
    Kind("unknown situation", RULES_FILE, replace("ASS]", "ASSS]"),
         "statut inconnu « ASSS » — vouliez-vous dire « ASS » ?", 4, "refused"),
    Kind("unknown operator", RULES_FILE, replace("contient_un_de:", "contient_une_de:"),
         "opérateur inconnu", 4, "refused"),
    Kind("inline conditions with an unknown fact", DEPT_FILE, replace("{regle: iae}",
         "{regle: iae, conditions: {fait: ages, op: '>=', valeur: 16}}"), "fait inconnu « ages »"),
    Kind("unknown neighbour", DEPT_FILE, replace("  nom: Meurthe", "  departements_voisins: "
         '["99"]\n  nom: Meurthe'), "département voisin inconnu « 99 »", 3),
    Kind("required FAQ missing", "commun/faq.yaml", lambda t: t.split("  - id: faq_rqth")[0],
         "FAQ attendu(e)s mais absent(e)s", 1, "refused"),
    Kind("required need missing", "commun/besoins.yaml", lambda t: _needs().rsplit("\n  - ", 1)[0]
         + "\n", "besoin attendu(e)s mais absent(e)s", 1, "refused"),
    Kind("FAQ without a source", "commun/faq.yaml", replace("    sources: [https://example.org]\n",
         ""), "champ obligatoire manquant : sources", 2, "refused"),
    # --- files ------------------------------------------------------------------------------------
    Kind("file of no département", "departements/meurthe.yaml", DEPT, "fichier ignoré", 1,
         "ignored"),
    Kind("meta in an import file", "departements/54-import.yaml", DEPT,
         "« meta » va dans departements/54.yaml", 1),
    Kind("records without their département file", "departements/57-import.yaml",
         "structures: []\n", "departements/57.yaml manquant", 1, "disabled"),
]  # fmt: skip

ENGLISH = re.compile(r"Input should|Traceback|object at 0x|Error|should be|not allowed|expected")


@pytest.mark.parametrize("kind", KINDS, ids=[k.name for k in KINDS])
async def test_a_broken_knowledge_base_gets_a_clear_message_and_the_bot_keeps_its_last_good_base(
    kind: Kind, tmp_path: Path, gazetteer: Gazetteer
) -> None:
    root = write_kb(tmp_path)
    cache = KnowledgeCache(None)
    holder = KnowledgeHolder(
        Config(knowledge=root), gazetteer, load_knowledge(root, gazetteer, cache=cache), cache=cache
    )
    before, dialogue = holder.current, holder.dialogue()
    _write(root / kind.file, kind.change, ORIGINALS.get(kind.file, ""))

    started = time.perf_counter()
    _, checked = load_with_problems(root, gazetteer)
    assert time.perf_counter() - started < 5, "no bomb, no endless loop"
    if kind.outcome == "ok":
        assert checked.ok, checked.errors
    else:
        found = [p for p in checked.errors if p.file == kind.expected_file]
        assert any(kind.message in p.message for p in found), [str(p) for p in checked.errors]
        if kind.line is not None:
            assert any(p.line == kind.line for p in found if kind.message in p.message), found
    for problem in [*checked.errors, *checked.warnings]:
        assert problem.line >= 1 and problem.column >= 1 and problem.message
        assert not ENGLISH.search(problem.message), problem

    report = await holder.reload()
    assert tuple(report.errors) == tuple(checked.errors)
    if kind.outcome == "refused":
        assert not report.applied and holder.dialogue() is dialogue
    elif kind.outcome == "kept":
        assert report.applied and set(report.kept) == {"54"} and not report.disabled
    elif kind.outcome == "disabled":
        assert report.applied and set(report.disabled) == {"57"}
    else:
        assert report.applied and not report.disabled and not report.kept
    assert set(holder.current.structures) == set(before.structures)
    assert set(holder.current.metas) == set(before.metas) == {"54"}
    assert holder.current.faq.keys() == before.faq.keys()


def _write(path: Path, change: Transform | str | bytes, original: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    content = change(original or path.read_text(encoding="utf-8")) if callable(change) else change
    if isinstance(content, str):
        path.write_text(content, encoding="utf-8")
    else:
        path.write_bytes(content)


def test_there_are_many_kinds() -> None:
    assert len(KINDS) >= 63


def test_the_bytes_check_refuses_exactly_the_characters_yaml_refuses() -> None:
    # the quick check on bytes must agree with YAML 1.1's printable set, character by character
    # (the whole Basic Multilingual Plane but the surrogates, and the edges of the others)
    planes = [0x10000, 0x1FFFE, 0x1FFFF, 0xEFFFF, 0x10FFFF]
    for point in [*range(0xD800), *range(0xE000, 0x10000), *planes]:
        character = chr(point)
        refused = _NOT_PRINTABLE.search(character) is not None
        decoded = decode_yaml_bytes(f"nom: a{character}b\n".encode(), "f.yaml")
        assert isinstance(decoded, Problem) is refused, f"U+{point:04X}"
        if refused:
            assert isinstance(decoded, Problem) and (decoded.line, decoded.column) == (1, 7)


async def test_too_many_files_for_one_departement(tmp_path: Path, gazetteer: Gazetteer) -> None:
    root = write_kb(tmp_path)
    for n in range(21):
        (root / "departements" / f"54-import{n:02d}.yaml").write_text("structures: []\n", "utf-8")
    kb, report = load_with_problems(root, gazetteer)
    assert [str(p) for p in report.errors] == [
        "knowledge/departements/54.yaml:1:1: trop de fichiers pour le département 54 : 22 (au "
        "plus 20)"
    ]
    assert kb is not None and set(kb.disabled) == {"54"}


async def test_a_departement_too_big_in_all_is_not_even_read(
    tmp_path: Path, gazetteer: Gazetteer
) -> None:
    root = write_kb(tmp_path)
    (root / "departements" / "54-import.yaml").write_text("#" * 3 * 1024 * 1024, "utf-8")
    kb, report = load_with_problems(root, gazetteer, limits=Limits(departement_bytes=2 * MIB))
    assert [str(p) for p in report.errors] == [
        "knowledge/departements/54.yaml:1:1: le département 54 a 3 Mo de fichiers (au plus 2 Mo, "
        "limite de sécurité) : rien n'est lu"
    ]
    assert kb is not None and set(kb.disabled) == {"54"}
