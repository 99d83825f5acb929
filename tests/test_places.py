"""Behaviour of the runtime gazetteer (bot/places.py) on the committed knowledge/communes.csv.gz."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest

from bot.place_keys import name_keys
from bot.places import (
    DEFAULT_PATH,
    Commune,
    Gazetteer,
    Resolution,
    distance_km,
    place_key,
)

NANCY, LUNEVILLE, SAINT_DENIS_93, SAINT_DENIS_974 = "54395", "54329", "93066", "97411"


@pytest.fixture(scope="module")
def gaz() -> Gazetteer:
    return Gazetteer.load()


def codes(resolution: Resolution | None) -> list[str]:
    assert resolution is not None
    return [m.commune.insee for m in resolution.candidates]


def found(resolution: Resolution | None) -> str:
    """The INSEE code of a "found" resolution (fails otherwise)."""
    assert resolution is not None, "nothing found"
    assert resolution.status == "found", resolution
    return resolution.candidates[0].commune.insee


# ---------------------------------------------------------------------- loading and lookups


def test_load_reads_current_communes_and_arrondissements(gaz: Gazetteer) -> None:
    assert len(gaz) == 34_969 + 45
    nancy = gaz.get(NANCY)
    assert nancy == Commune(
        insee="54395",
        name="Nancy",
        postal_codes=("54000", "54100"),
        dept="54",
        region="44",
        epci="245400676",
        population=103_671,
        lat=48.6931,
        lon=6.1827,
    )


def test_get_accepts_former_commune_codes(gaz: Gazetteer) -> None:
    pierrefitte = gaz.get("93059")
    assert pierrefitte is not None and pierrefitte.insee == SAINT_DENIS_93
    assert "93059" in gaz
    assert "99999" not in gaz
    assert gaz.get("2a004") is not None  # Ajaccio, Corsican code in lower case


def test_communes_of_epci(gaz: Gazetteer) -> None:
    metropole = gaz.communes_of_epci("245400676")  # Métropole du Grand Nancy
    assert NANCY in {c.insee for c in metropole}
    assert len(metropole) == 20
    assert gaz.communes_of_epci("000000000") == ()


def test_bulk_name_keys_equal_place_key_on_every_name() -> None:
    with gzip.open(DEFAULT_PATH, "rt", encoding="utf-8") as handle:
        names = [line.split(",")[1] for line in handle.read().splitlines()[1:]]
    assert name_keys(names) == [place_key(name) for name in names]


def test_place_key_normalisation() -> None:
    assert place_key("St-Dié-des-Vosges") == "saint die des vosges"
    assert place_key("Ste Marie aux Mines") == "sainte marie aux mines"
    assert place_key("Paris 15ème") == place_key("paris 15e") == "paris 15e"
    assert place_key("Lyon 1er") == "lyon 1e"


# ---------------------------------------------------------------------- resolve: names


@pytest.mark.parametrize(
    ("query", "insee"),
    [
        ("Nancy", NANCY),
        ("NANCY", NANCY),
        ("luneville", LUNEVILLE),
        ("Toulouse", "31555"),
        ("Beauvais", "60057"),
        ("Nevers", "58194"),
        ("st die des vosges", "88413"),
        ("Charleville Mezieres", "08105"),
        ("L'Haÿ-les-Roses", "94038"),
        ("tolouse", "31555"),  # a typo, clearly closest
    ],
)
def test_resolve_names(gaz: Gazetteer, query: str, insee: str) -> None:
    assert found(gaz.resolve(query)) == insee


def test_resolve_reports_what_matched(gaz: Gazetteer) -> None:
    result = gaz.resolve("  luneville ")
    assert result.query == "luneville"
    assert result.candidates[0].matched == "Lunéville"
    assert result.candidates[0].score == 100


def test_unknown_name_is_not_found(gaz: Gazetteer) -> None:
    result = gaz.resolve("xyzzy qwerty")
    assert result.status == "not_found"
    assert result.candidates == ()
    assert gaz.resolve("   ").status == "not_found"


# ---------------------------------------------------------------------- homonyms, home département


def test_homonym_resolved_by_home_departement(gaz: Gazetteer) -> None:
    assert found(gaz.resolve("Saint-Denis", home_departement="93")) == SAINT_DENIS_93
    assert found(gaz.resolve("saint denis", home_departement="974")) == SAINT_DENIS_974


def test_homonym_outside_home_is_ambiguous_metropolitan_first(gaz: Gazetteer) -> None:
    result = gaz.resolve("Saint-Denis", home_departement="54")
    assert result.status == "ambiguous"
    assert codes(result)[0] == SAINT_DENIS_93
    assert set(codes(result)) == {SAINT_DENIS_93, SAINT_DENIS_974, "11339", "30247"}


def test_homonym_without_home_is_ambiguous_by_population(gaz: Gazetteer) -> None:
    result = gaz.resolve("Saint-Denis")
    assert result.status == "ambiguous"
    populations = [m.commune.population or 0 for m in result.candidates]
    assert populations == sorted(populations, reverse=True)
    assert 2 <= len(result.candidates) <= 5


def test_homonym_that_dwarfs_the_others_is_taken(gaz: Gazetteer) -> None:
    assert found(gaz.resolve("La Rochelle")) == "17300"


@pytest.mark.parametrize(
    ("query", "insee"),
    [("Saint-Denis 93", SAINT_DENIS_93), ("Saint-Denis (Réunion)", SAINT_DENIS_974)],
)
def test_departement_written_after_the_name(gaz: Gazetteer, query: str, insee: str) -> None:
    assert found(gaz.resolve(query)) == insee


def test_prefix_of_a_hyphenated_name_in_home_departement(gaz: Gazetteer) -> None:
    # Charleville (51) exists, but in the Ardennes people mean Charleville-Mézières.
    assert found(gaz.resolve("Charleville", home_departement="08")) == "08105"
    assert found(gaz.resolve("Charleville")) == "51129"


def test_neighbouring_communes_sharing_a_name_are_both_offered(gaz: Gazetteer) -> None:
    result = gaz.resolve("Château-Chinon", home_departement="58")
    assert result.status == "ambiguous"
    assert set(codes(result)) == {"58062", "58063"}


# ---------------------------------------------------------------------- communes déléguées


@pytest.mark.parametrize(
    ("query", "home", "insee"),
    [
        ("Briey", None, "54099"),
        ("Pierrefitte-sur-Seine", None, SAINT_DENIS_93),
        ("Pierrefitte", "93", SAINT_DENIS_93),
        ("Cherbourg-Octeville", None, "50129"),
    ],
)
def test_former_communes_resolve_to_their_current_commune(
    gaz: Gazetteer, query: str, home: str | None, insee: str
) -> None:
    result = gaz.resolve(query, home_departement=home)
    assert found(result) == insee
    assert result.candidates[0].matched != result.candidates[0].commune.name


def test_pierrefitte_without_home_lists_the_villages(gaz: Gazetteer) -> None:
    result = gaz.resolve("Pierrefitte")
    assert result.status == "ambiguous"
    assert SAINT_DENIS_93 not in codes(result)


# ---------------------------------------------------------------------- Paris, Lyon, Marseille


@pytest.mark.parametrize(
    ("query", "insee"),
    [
        ("Paris 15", "75115"),
        ("paris 15e", "75115"),
        ("Paris 15ème", "75115"),
        ("Marseille 13e", "13213"),
        ("Lyon 1er", "69381"),
        ("Paris", "75056"),
    ],
)
def test_arrondissements(gaz: Gazetteer, query: str, insee: str) -> None:
    assert found(gaz.resolve(query)) == insee


# ---------------------------------------------------------------------- codes


def test_postal_code(gaz: Gazetteer) -> None:
    result = gaz.resolve("54000")
    assert found(result) == NANCY
    assert result.candidates[0].matched == "54000"


def test_postal_code_of_an_arrondissement(gaz: Gazetteer) -> None:
    assert found(gaz.resolve("75015")) == "75115"
    assert found(gaz.resolve("75116")) == "75116"


def test_shared_postal_code_is_ambiguous_biggest_first(gaz: Gazetteer) -> None:
    result = gaz.resolve("54300")
    assert result.status == "ambiguous"
    assert codes(result)[0] == LUNEVILLE


def test_postal_code_with_name(gaz: Gazetteer) -> None:
    assert found(gaz.resolve("54300 Chanteheux")) == "54116"


def test_insee_code(gaz: Gazetteer) -> None:
    assert found(gaz.resolve("54395")) == NANCY
    assert found(gaz.resolve("93059")) == SAINT_DENIS_93


# ---------------------------------------------------------------------- fuzzy matching


def test_typo_in_home_departement_is_found(gaz: Gazetteer) -> None:
    assert found(gaz.resolve("nanci", home_departement="54")) == NANCY
    assert found(gaz.resolve("lunneville", home_departement="54")) == LUNEVILLE


def test_weak_typo_without_home_asks(gaz: Gazetteer) -> None:
    result = gaz.resolve("nanci")
    assert result.status == "ambiguous"
    assert codes(result)[0] == NANCY  # the biggest of the close candidates comes first


# ---------------------------------------------------------------------- find_in_text


@pytest.mark.parametrize(
    ("text", "home", "insee"),
    [
        ("je suis au RSA à Nancy et je cherche un chantier d'insertion", None, NANCY),
        ("jcherche un garage solidair a luneville", None, LUNEVILLE),
        ("jcherche du taf vers Lunéville", None, LUNEVILLE),
        ("j'habite 54000", None, NANCY),
        ("a nanci", "54", NANCY),
        ("à saint denis", "93", SAINT_DENIS_93),
        ("j'habite Pierrefitte", "93", SAINT_DENIS_93),
        ("je vis à Charleville", "08", "08105"),
        ("Toulouse", None, "31555"),
        ("Beauvais", None, "60057"),
        ("Nevers", None, "58194"),
        ("j'habite a cote de nancy", None, NANCY),
        ("je vis à Saint-Denis 93", None, SAINT_DENIS_93),
        ("j'habite au Mans", None, "72181"),
        ("je vis à Orange", None, "84087"),
        ("j'habite à Rue", None, "80688"),
        ("je cherche du boulot sur Paris 15", None, "75115"),
    ],
)
def test_find_in_text(gaz: Gazetteer, text: str, home: str | None, insee: str) -> None:
    assert found(gaz.find_in_text(text, home_departement=home)) == insee


def test_find_in_text_query_is_the_span_of_the_message(gaz: Gazetteer) -> None:
    result = gaz.find_in_text("je suis au RSA à Nancy et je cherche")
    assert result is not None and result.query == "Nancy"


def test_find_in_text_fuzzy_near_a_big_town_without_home(gaz: Gazetteer) -> None:
    assert codes(gaz.find_in_text("a nanci"))[0] == NANCY


def test_find_in_text_neighbours_are_ambiguous(gaz: Gazetteer) -> None:
    result = gaz.find_in_text("Château-Chinon", home_departement="58")
    assert result is not None and result.status == "ambiguous"
    assert set(codes(result)) == {"58062", "58063"}


@pytest.mark.parametrize(
    "text",
    [
        "je cherche du travail",
        "bonjour",
        "j'ai 17 ans",
        "c'est quoi une CAE ?",
        "je suis en formation",
        "je cherche un job en ville",
        "j'ai une carte orange",
        "je suis a la recherche d'un emploi",
        "je suis sur place",
        "j'ai travaillé en usine pendant dix ans",
        "j'habite en ville",
        "je vis en caravane",
        "c'est pour mon fils Romain",
        "y a pas de bus",
        "on s'est vus à la rue",
        "",
    ],
)
def test_find_in_text_does_not_invent_places(gaz: Gazetteer, text: str) -> None:
    assert gaz.find_in_text(text) is None


# ---------------------------------------------------------------------- geography


def test_nearest_to_nancy_town_hall(gaz: Gazetteer) -> None:
    nearest = gaz.nearest(48.6931, 6.1827)
    assert nearest is not None and nearest.insee == NANCY


def test_nearest_gives_an_arrondissement_in_paris(gaz: Gazetteer) -> None:
    nearest = gaz.nearest(48.8415, 2.2999)
    assert nearest is not None and nearest.insee == "75115"


def test_nearest_overseas_and_far_away(gaz: Gazetteer) -> None:
    nearest = gaz.nearest(-20.88, 55.45)
    assert nearest is not None and nearest.insee == SAINT_DENIS_974
    assert gaz.nearest(0.0, -30.0) is None  # middle of the Atlantic


def test_distance_nancy_luneville(gaz: Gazetteer) -> None:
    nancy, luneville = gaz.get(NANCY), gaz.get(LUNEVILLE)
    assert nancy and luneville and nancy.lat and nancy.lon and luneville.lat and luneville.lon
    assert 25 <= distance_km(nancy.lat, nancy.lon, luneville.lat, luneville.lon) <= 30
    assert distance_km(48.0, 2.0, 48.0, 2.0) == 0


def test_load_from_explicit_path(tmp_path: Path) -> None:
    header = "insee,name,postal_codes,dept,region,epci,population,lat,lon,type,parent,coord_src"
    rows = [
        header,
        "54395,Nancy,54000 54100,54,44,245400676,103671,48.6931,6.1827,COM,,mairie",
        '54999,"Ville, Test",54999,54,44,,12,,,COM,,',
    ]
    path = tmp_path / "communes.csv.gz"
    path.write_bytes(gzip.compress("\n".join(rows).encode("utf-8")))
    small = Gazetteer.load(path)
    assert len(small) == 2
    assert found(small.resolve("ville test")) == "54999"
    test = small.get("54999")
    assert test is not None and test.lat is None and test.epci is None


def test_iteration_covers_communes_and_arrondissements(gaz: Gazetteer) -> None:
    insees = [c.insee for c in gaz]
    assert len(insees) == len(gaz)
    assert insees == sorted(insees)
    assert {"75115", "75056", NANCY} <= set(insees)


def test_unknown_number_next_to_a_name_falls_back_to_the_name(gaz: Gazetteer) -> None:
    assert found(gaz.resolve("Nancy 99999")) == NANCY
    assert gaz.resolve("99999").status == "not_found"


def test_big_home_town_named_like_a_word_is_recognised(gaz: Gazetteer) -> None:
    # "muret" is also a word (a low wall): recognised anywhere only as a big town at home.
    assert found(gaz.find_in_text("garage solidaire muret", home_departement="31")) == "31395"
    assert gaz.find_in_text("garage solidaire muret", home_departement="54") is None


@pytest.mark.parametrize(
    "text",
    ["ma caisse est en panne", "je suis nul en lecture", "je cherche du travail en ce moment"],
)
def test_typos_are_not_forgiven_after_en(gaz: Gazetteer, text: str) -> None:
    # "en panne" is not Pannes (54), "en lecture" is not Lectoure (32)
    assert gaz.find_in_text(text, "54") is None
