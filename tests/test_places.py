"""Behaviour of the runtime gazetteer (bot/places.py) on the committed knowledge/communes.csv.gz."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest

from bench.make_commune_queries import DEFAULT_OUT, generate, read_queries
from bot import place_spotting
from bot.place_keys import head_keys, name_keys
from bot.places import (
    DEFAULT_PATH,
    Commune,
    Gazetteer,
    PlaceMention,
    Resolution,
    distance_km,
    place_key,
)

NANCY, LUNEVILLE, SAINT_DENIS_93, SAINT_DENIS_974 = "54395", "54329", "93066", "97411"
DEPARTEMENTS = ("54", "58", "08", "93", "60", "31")  # the shipped ones


@pytest.fixture(scope="module")
def gaz() -> Gazetteer:
    gazetteer = Gazetteer.load()
    gazetteer.warm_up()
    return gazetteer


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


def test_communes_of_one_departement_share_its_repeated_values(gaz: Gazetteer) -> None:
    """35,000 communes hold 109 départements, 26 regions, about 1,300 EPCI and 6,000 populations
    and postal codes: one object for each value, not one per commune (about 14 MB less)."""
    nancy, laxou = gaz.get(NANCY), gaz.get("54304")
    assert nancy is not None and laxou is not None and laxou.name == "Laxou"
    assert nancy.dept is laxou.dept and nancy.region is laxou.region
    assert nancy.epci is laxou.epci


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


def test_the_second_half_of_a_name_at_home(gaz: Gazetteer) -> None:
    assert gaz.resolve("Vauzelles", "58").candidates[0].commune.name == "Varennes-Vauzelles"
    assert gaz.resolve("Cosne", "58").candidates[0].commune.name == "Cosne-Cours-sur-Loire"


def test_an_exact_name_elsewhere_that_begins_a_misspelt_name_at_home(gaz: Gazetteer) -> None:
    (spot,) = gaz.mentions("je suis à estrée saint denis, est-ce qu'il y a un garage", "60")
    assert spot.resolution.candidates[0].commune.name == "Estrées-Saint-Denis"
    (there,) = gaz.mentions("je vais à Estrée pour le travail", "60")
    assert there.resolution.candidates[0].commune.dept == "62"  # nothing longer at home


def test_a_whole_home_name_beats_a_shorter_one_inside_it(gaz: Gazetteer) -> None:
    spots = gaz.mentions("Je fais Vrigne aux Bois - Sedan tous les jours", "08")
    assert [m.resolution.candidates[0].commune.name for m in spots] == ["Vrigne aux Bois", "Sedan"]


def test_a_name_alone_at_the_end_of_a_message(gaz: Gazetteer) -> None:
    (spot,) = gaz.mentions("je voudrai un boulot ou on maide aussi. charlevile", "08")
    assert spot.resolution.candidates[0].commune.name == "Charleville-Mézières"
    assert gaz.mentions("je cherche du travail. merci", "08") == []


def test_a_few_keywords_with_the_place_last(gaz: Gazetteer) -> None:
    (spot,) = gaz.mentions("chantié insertion cazere", "31")
    assert spot.resolution.candidates[0].commune.name == "Cazères"
    assert gaz.mentions("je cherche du taf", "54") == []


def test_the_short_name_of_a_town_named_x_de_y(gaz: Gazetteer) -> None:
    assert gaz.resolve("luchon", "31").candidates[0].commune.name == "Bagnères-de-Luchon"


def test_a_number_after_a_name_is_a_departement_only_when_it_is_no_amount(
    gaz: Gazetteer,
) -> None:
    (revel,) = gaz.mentions("une demandeuse d'emploi de Revel, 44 ans", "31")
    assert revel.resolution.status == "found"
    assert revel.resolution.candidates[0].commune.dept == "31"
    (denis,) = gaz.mentions("j'habite Saint-Denis 93", "31")
    assert denis.resolution.candidates[0].commune.dept == "93"


@pytest.mark.parametrize("home", ["54", "80", None])
def test_one_letter_is_searched_without_error_and_y_is_a_commune(
    gaz: Gazetteer, home: str | None
) -> None:
    # found by the property test on the dialogue: one letter used to divide by zero
    assert gaz.resolve("a", home).status == "not_found"
    assert gaz.resolve("y", home).candidates[0].commune.insee == "80829"  # Y, in the Somme


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


# ---------------------------------------------------------------------- misspelt, shortened names


@pytest.mark.parametrize(
    ("query", "home", "name"),
    [
        ("pont a mouss", "54", "Pont-à-Mousson"),
        ("st ouen", "93", "Saint-Ouen-sur-Seine"),
        ("villers les nancy", "54", "Villers-lès-Nancy"),
        ("jarvile", "54", "Jarville-la-Malgrange"),
        ("clichy sous bois", "93", "Clichy-sous-Bois"),
        ("cosne", "58", "Cosne-Cours-sur-Loire"),
        ("charleville", "08", "Charleville-Mézières"),
        ("st gaudens", "31", "Saint-Gaudens"),
        ("champigni sur marne", "94", "Champigny-sur-Marne"),  # ends like the Marne (51)
        ("le-gan-st-martin", "57", "Le Ban-Saint-Martin"),  # ends like Saint-Martin (978)
        ("pontet", "84", "Le Pontet"),  # written without its article
        ("olsse", "40", "Losse"),  # two letters swapped: one slip
        ("fois", "09", "Foix"),  # one letter wrong in a four-letter name
        ("lceannzt", "06", "Le Cannet"),  # words glued, letters swapped
        ("tse cplombe", "69", "Sainte-Colombe"),  # a slip in the abbreviation itself
    ],
)
def test_misspelt_and_shortened_names_at_home(
    gaz: Gazetteer, query: str, home: str, name: str
) -> None:
    result = gaz.resolve(query, home_departement=home)
    assert result.status == "found", result
    assert result.candidates[0].commune.name == name


def test_a_name_ending_like_a_departement_is_searched_whole_without_home(gaz: Gazetteer) -> None:
    result = gaz.resolve("champigni sur marne")
    assert result.candidates and result.candidates[0].commune.insee == "94017"


@pytest.mark.parametrize(
    ("query", "home", "meant", "elsewhere"),
    [
        ("poisy", "78", "Poissy", "Poisy"),  # Poisy (74) exists; Poissy is one slip away at home
        ("dancy", "93", "Drancy", "Dancy"),
        ("sere", "34", "Sète", "Sère"),
    ],
)
def test_no_silent_jump_to_another_departement_when_home_has_a_close_match(
    gaz: Gazetteer, query: str, home: str, meant: str, elsewhere: str
) -> None:
    result = gaz.resolve(query, home_departement=home)
    assert result.status == "ambiguous"  # asked, never taken silently
    names = [m.commune.name for m in result.candidates]
    assert names[0] == meant and elsewhere in names


def test_a_close_home_name_is_preferred_to_a_closer_one_elsewhere(gaz: Gazetteer) -> None:
    # "villaes" is closer to Villes (01) than to Villars (84); in Vaucluse, Villars comes first.
    result = gaz.resolve("villaes", home_departement="84")
    assert codes(result)[0] == "84145"
    assert all(m.commune.dept == "84" for m in result.candidates)


def test_name_beginnings_never_end_on_a_linking_word() -> None:
    assert head_keys("jarville la malgrange") == ["jarville"]
    assert head_keys("cosne cours sur loire") == ["cosne", "cosne cours"]
    assert head_keys("pont a mousson") == ["pont"]
    assert head_keys("saint ouen sur seine") == ["saint ouen"]


def test_generated_typo_set_is_committed_as_generated(gaz: Gazetteer) -> None:
    committed = read_queries(DEFAULT_OUT)
    assert len(committed) >= 2000
    assert committed == generate(gaz, len(committed), seed=2026)


def test_typo_set_top1_with_home_departement_is_at_least_99_percent(gaz: Gazetteer) -> None:
    rows = read_queries(DEFAULT_OUT)
    right = wrong_found = 0
    for query, home, insee, _ in rows:
        result = gaz.resolve(query, home_departement=home)
        first = result.candidates[0].commune.insee if result.candidates else None
        right += first == insee
        wrong_found += result.status == "found" and first != insee
    assert right / len(rows) >= 0.99
    assert wrong_found / len(rows) <= 0.005  # a wrong silent answer is rarer still


# ---------------------------------------------------------------------- ordinary words


def _sentences_without_commune() -> list[str]:
    path = Path(__file__).parent / "data" / "phrases_sans_commune.txt"
    lines = path.read_text(encoding="utf-8").splitlines()
    return [line for line in lines if line.strip() and not line.startswith("#")]


def test_a_few_hundred_sentences_without_commune_name_none(gaz: Gazetteer) -> None:
    sentences = _sentences_without_commune()
    assert len(sentences) >= 300
    read_as_places = [
        (home, sentence, gaz.mentions(sentence, home))
        for home in (None, *DEPARTEMENTS)
        for sentence in sentences
        if gaz.mentions(sentence, home) or gaz.find_in_text(sentence, home)
    ]
    assert read_as_places == []


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("je travaille à Sens", "Sens"),  # a capital inside the sentence: the town
        ("je vis à Tours", "Tours"),
        ("je cherche du travail à paris", "Paris"),  # a word, but a very big town
        ("bus", None),  # alone, lower case, a village of the Pas-de-Calais: not meant
        ("Bus", None),  # the capital of a one-word message is no evidence
        ("Rue", "Rue"),  # ... except for a commune of the home département (80)
    ],
)
def test_ordinary_words_need_evidence_of_a_place(
    gaz: Gazetteer, text: str, name: str | None
) -> None:
    home = "80" if text == "Rue" else "54"
    found_names = [m.resolution.candidates[0].commune.name for m in gaz.mentions(text, home)]
    assert found_names == ([name] if name else [])


def test_in_text_an_exact_name_elsewhere_close_to_a_home_name_is_asked(gaz: Gazetteer) -> None:
    result = gaz.find_in_text("je cherche du travail à Poisy", "78")
    assert result is not None and result.status == "ambiguous"
    assert [m.commune.name for m in result.candidates][:2] == ["Poissy", "Poisy"]


def test_ordinary_words_come_from_the_french_and_english_frequency_lists() -> None:
    words = place_spotting.lexicon()
    assert len(words.ordinary) >= 20_000
    assert {"poste", "gare", "marche", "cuisine", "mai", "die", "us"} <= words.ordinary
    assert not {"nancy", "sedan", "noyon", "jarville"} & words.ordinary
    assert "sens" in words.very_common and "tours" in words.common


def test_capital_at_the_start_of_a_sentence_is_no_evidence(gaz: Gazetteer) -> None:
    assert gaz.mentions("Vers 8h je dois partir. Gare routière fermée.", "54") == []
    assert gaz.mentions("JE CHERCHE DU TRAVAIL A LA POSTE", "54") == []


# ---------------------------------------------------------------------- places with their role

HOME_SENTENCES = [
    ("54", "j'habite Nancy", "Nancy"),
    ("54", "J'habite à Lunéville depuis dix ans", "Lunéville"),
    ("54", "je vis a toul avec mes enfants", "Toul"),
    ("54", "je suis de Pont-à-Mousson", "Pont-à-Mousson"),
    ("54", "habitante de Vandœuvre, je cherche un garage", "Vandœuvre-lès-Nancy"),
    ("54", "je reste à Laxou chez ma soeur", "Laxou"),
    ("58", "j'habite Cosne et je cherche du travail", "Cosne-Cours-sur-Loire"),
    ("58", "je vis à Nevers", "Nevers"),
    ("58", "installée à Decize depuis l'été", "Decize"),
    ("58", "domicilié à Clamecy", "Clamecy"),
    ("58", "jhabite a imphy", "Imphy"),
    ("58", "je suis de Prémery", "Prémery"),
    ("08", "j'habite Sedan", "Sedan"),
    ("08", "Une dame installée à Revin depuis 2015 n'a plus d'emploi", "Revin"),
    ("08", "je vis à Charleville", "Charleville-Mézières"),
    ("08", "je reste a givet pour l'instant", "Givet"),
    ("08", "I live in Rethel", "Rethel"),
    ("08", "habitant de Vouziers", "Vouziers"),
    ("93", "Je vis à Clichy-sous-Bois depuis 2018", "Clichy-sous-Bois"),
    ("93", "j'habite à Montreuil", "Montreuil"),
    ("93", "jsuis de bondy", "Bondy"),
    ("93", "domiciliée à Aubervilliers", "Aubervilliers"),
    ("93", "je vis a st ouen", "Saint-Ouen-sur-Seine"),
    ("93", "I'm living in Pantin", "Pantin"),
    ("60", "j'habite Noyon", "Noyon"),
    ("60", "Hi, I'm 24 and I'm living in Beauvais", "Beauvais"),
    ("60", "je vis à Creil", "Creil"),
    ("60", "installé à Senlis depuis peu", "Senlis"),
    ("60", "je suis de Méru", "Méru"),
    ("60", "j'habite a compiegne", "Compiègne"),
    ("31", "j'habite Saint-Gaudens", "Saint-Gaudens"),
    ("31", "je vis à Muret", "Muret"),
    ("31", "I live in Toulouse", "Toulouse"),
    ("31", "je reste à Colomiers", "Colomiers"),
    ("31", "habitante de Revel", "Revel"),
    ("31", "je suis de st gaudens", "Saint-Gaudens"),
]
DESTINATION_SENTENCES = [
    ("54", "je dois aller à Nancy tous les jours", "Nancy"),
    ("54", "pour aller jusqu'à Toul il n'y a pas de bus", "Toul"),
    ("54", "comment me rendre à Lunéville sans voiture ?", "Lunéville"),
    ("54", "je dois partir vers Pont-à-Mousson le matin", "Pont-à-Mousson"),
    ("54", "j'ai un entretien à Longwy demain", "Longwy"),
    ("58", "je dois aller à Bourges tous les jours", "Bourges"),
    ("58", "pour aller a nevers sans permis c'est dur", "Nevers"),
    ("58", "il faut que je me rende à Decize", "Decize"),
    ("58", "je vais jusqu'à Clamecy en stop", "Clamecy"),
    ("58", "rejoindre Cosne sans voiture, c'est possible ?", "Cosne-Cours-sur-Loire"),
    ("08", "Pour aller à Reims le matin, il existe une aide ?", "Reims"),
    ("08", "je dois aller a charleville pour ma formation", "Charleville-Mézières"),
    ("08", "comment aller jusqu'à Sedan ?", "Sedan"),
    ("08", "I need to get to Rethel by 8", "Rethel"),
    ("08", "je vais tous les jours à Givet", "Givet"),
    ("93", "je dois aller à Paris pour bosser", "Paris"),
    ("93", "comment me rendre à Bobigny ?", "Bobigny"),
    ("93", "je vais vers Saint-Denis en bus", "Saint-Denis"),
    ("93", "I have to go to Montreuil", "Montreuil"),
    ("93", "aller jusqu'à Drancy à pied c'est long", "Drancy"),
    ("60", "pour m'y rendre il faut aller à Compiègne", "Compiègne"),
    ("60", "je dois aller a beauvais chaque matin", "Beauvais"),
    ("60", "comment aller à Creil sans voiture ?", "Creil"),
    ("60", "je pars jusqu'à Senlis", "Senlis"),
    ("60", "convocation à Noyon lundi", "Noyon"),
    ("31", "je dois aller à Toulouse tous les jours", "Toulouse"),
    ("31", "pour aller a muret y a un bus ?", "Muret"),
    ("31", "me rendre à Blagnac sans permis", "Blagnac"),
    ("31", "I need to get to Colomiers", "Colomiers"),
    ("31", "aller jusqu'à Saint-Gaudens en train", "Saint-Gaudens"),
]
WORKPLACE_SENTENCES = [
    ("54", "je travaille à Nancy", "Nancy"),
    ("54", "je bosse à Lunéville la nuit", "Lunéville"),
    ("54", "on me propose un poste à Toul", "Toul"),
    ("54", "mon contrat commence à Pont-à-Mousson lundi", "Pont-à-Mousson"),
    ("54", "embauchée à Jarville en CDD", "Jarville-la-Malgrange"),
    ("58", "je travaille à Nevers", "Nevers"),
    ("58", "ma mission commence à Decize", "Decize"),
    ("58", "je bosse sur cosne", "Cosne-Cours-sur-Loire"),
    ("58", "embauché à Imphy à l'usine", "Imphy"),
    ("58", "mon poste est à Clamecy", "Clamecy"),
    ("08", "je travaille à Charleville", "Charleville-Mézières"),
    ("08", "j'ai un job in Sedan", "Sedan"),
    ("08", "l'emploi commence à Rethel à 6h", "Rethel"),
    ("08", "je bosse a revin", "Revin"),
    ("08", "un poste à Givet mais je n'ai pas de voiture", "Givet"),
    ("93", "je bosse à Pantin", "Pantin"),
    ("93", "je travaille à Saint-Denis", "Saint-Denis"),
    ("93", "mon contrat d'intérim commence à Bobigny", "Bobigny"),
    ("93", "I work in Montreuil", "Montreuil"),
    ("93", "recrutée à Aubervilliers", "Aubervilliers"),
    ("60", "Mon contrat d'intérim commence à Compiègne la semaine prochaine", "Compiègne"),
    ("60", "je travaille à Beauvais", "Beauvais"),
    ("60", "je bosse sur creil", "Creil"),
    ("60", "on m'a proposé un poste à Senlis", "Senlis"),
    ("60", "ma mission commence à Noyon", "Noyon"),
    ("31", "je travaille à Toulouse", "Toulouse"),
    ("31", "on me propose un poste à Muret", "Muret"),
    ("31", "je bosse à Blagnac", "Blagnac"),
    ("31", "mon stage commence à Colomiers", "Colomiers"),
    ("31", "embauché à Saint-Gaudens", "Saint-Gaudens"),
]
SEARCH_SENTENCES = [
    ("54", "je cherche du travail à Nancy", "Nancy"),
    ("54", "jcherche du taf vers Lunéville", "Lunéville"),
    ("54", "un garage solidaire sur Toul ?", "Toul"),
    (
        "54",
        "bjr je cherche une auto ecole sociale sur jarvile pour passer le code",
        "Jarville-la-Malgrange",
    ),
    ("54", "villers les nancy", "Villers-lès-Nancy"),
    ("54", "chantier d'insertion près de Pont-à-Mousson", "Pont-à-Mousson"),
    ("58", "je cherche un chantier d'insertion à Nevers", "Nevers"),
    ("58", "garage solidaire nevers", "Nevers"),
    ("58", "cosne", "Cosne-Cours-sur-Loire"),
    ("58", "une auto-école solidaire autour de Decize", "Decize"),
    ("58", "du travail dans le coin de Clamecy", "Clamecy"),
    ("08", "est-ce qu'il existe une auto-école solidaire à Rethel ?", "Rethel"),
    ("08", "charleville", "Charleville-Mézières"),
    ("08", "je cherche du taf du côté de Sedan", "Sedan"),
    ("08", "plateforme mobilité sedan", "Sedan"),
    ("08", "un garage near Givet", "Givet"),
    ("93", "une solution solidaire vers Saint-Denis ?", "Saint-Denis"),
    ("93", "clichy sous bois", "Clichy-sous-Bois"),
    ("93", "st ouen", "Saint-Ouen-sur-Seine"),
    ("93", "une entreprise adaptée du côté de Pantin", "Pantin"),
    ("93", "jcherche une auto école solidaire a aubervilliers", "Aubervilliers"),
    ("60", "Maman solo, 24 ans, à Beauvais.", "Beauvais"),
    ("60", "je cherche un poste à Compiègne", "Compiègne"),
    ("60", "garage solidaire creil", "Creil"),
    ("60", "a job near Noyon", "Noyon"),
    ("60", "une CAE autour de Senlis", "Senlis"),
    ("31", "je fais de la poterie à Muret", "Muret"),
    ("31", "st gaudens", "Saint-Gaudens"),
    ("31", "je cherche une formation à Toulouse", "Toulouse"),
    ("31", "coopérative jeunesse in Colomiers", "Colomiers"),
    ("31", "un chantier d'insertion sur Revel", "Revel"),
]


def _single_mention(gaz: Gazetteer, text: str, home: str) -> PlaceMention:
    mentions = gaz.mentions(text, home)
    assert len(mentions) == 1, mentions
    return mentions[0]


@pytest.mark.parametrize(
    ("role", "home", "text", "name"),
    [("home", *row) for row in HOME_SENTENCES]
    + [("destination", *row) for row in DESTINATION_SENTENCES]
    + [("workplace", *row) for row in WORKPLACE_SENTENCES]
    + [("search", *row) for row in SEARCH_SENTENCES],
)
def test_a_place_and_its_role(gaz: Gazetteer, role: str, home: str, text: str, name: str) -> None:
    mention = _single_mention(gaz, text, home)
    assert mention.resolution.status == "found"
    assert mention.resolution.candidates[0].commune.name == name
    assert mention.role == role


def test_every_role_table_covers_the_six_departements() -> None:
    for table in (HOME_SENTENCES, DESTINATION_SENTENCES, WORKPLACE_SENTENCES, SEARCH_SENTENCES):
        assert {home for home, _, _ in table} == set(DEPARTEMENTS)
        assert len(table) >= 30


@pytest.mark.parametrize(
    ("home", "text", "expected"),
    [
        (
            "58",
            "j'habite Cosne et je dois aller à Bourges tous les jours",
            [("Cosne-Cours-sur-Loire", "home", "j habite"), ("Bourges", "destination", "aller a")],
        ),
        (
            "08",
            "Pour aller à Reims depuis Rethel le matin, il existe une aide au transport ?",
            [("Reims", "destination", "aller a"), ("Rethel", "home", "depuis")],
        ),
        (
            "60",
            "Mon contrat d'intérim commence à Compiègne la semaine prochaine, j'habite Noyon "
            "et je n'ai aucun moyen de transport pour m'y rendre.",
            [
                ("Compiègne", "workplace", "contrat d interim commence a"),
                ("Noyon", "home", "j habite"),
            ],
        ),
        ("54", "je cherche du travail à Nancy", [("Nancy", "search", "a")]),
        (
            "93",
            "Je vis à Clichy-sous-Bois depuis 2018 et j'ai perdu mon emploi il y a sept mois.",
            [("Clichy-sous-Bois", "home", "je vis a")],
        ),
        (
            "08",
            "je fais le trajet de Rethel à Reims",
            [("Rethel", "home", "de"), ("Reims", "destination", "a")],
        ),
        (
            "60",
            "I live in Noyon and need to get to Compiègne",
            [("Noyon", "home", "i live in"), ("Compiègne", "destination", "get to")],
        ),
        (
            "31",
            "on me propose un poste à Muret mais je suis sans voiture, j'habite Saint-Gaudens",
            [("Muret", "workplace", "poste a"), ("Saint-Gaudens", "home", "j habite")],
        ),
        (
            "54",
            "je voudrais bosser vers Toul, j'habite Nancy",
            [("Toul", "workplace", "bosser vers"), ("Nancy", "home", "j habite")],
        ),
        (
            "93",
            "je bosse et je vis à Bondy",  # the cue nearest the name wins
            [("Bondy", "home", "je vis a")],
        ),
    ],
)
def test_several_places_each_with_its_role(
    gaz: Gazetteer, home: str, text: str, expected: list[tuple[str, str, str]]
) -> None:
    mentions = gaz.mentions(text, home)
    got = [(m.resolution.candidates[0].commune.name, m.role, m.cue) for m in mentions]
    assert got == expected


def test_a_mention_gives_its_place_in_the_raw_text(gaz: Gazetteer) -> None:
    text = "Bonjour ! J'habite à Pont-à-Mousson et je bosse à pont a mouss… non, à Nancy"
    mentions = gaz.mentions(text, "54")
    assert [text[m.start : m.end] for m in mentions] == ["Pont-à-Mousson", "pont a mouss", "Nancy"]
    assert [m.resolution.query for m in mentions] == ["Pont-à-Mousson", "pont a mouss", "Nancy"]
    assert mentions == sorted(mentions, key=lambda m: m.start)


def test_a_date_after_depuis_is_no_place(gaz: Gazetteer) -> None:
    mentions = gaz.mentions("je vis à Noyon depuis 2018, depuis Creil c'est loin", "60")
    assert [(m.resolution.candidates[0].commune.name, m.role) for m in mentions] == [
        ("Noyon", "home"),
        ("Creil", "home"),
    ]


def test_find_in_text_keeps_the_most_certain_place(gaz: Gazetteer) -> None:
    text = "je dois aller à Metz, j'habite 54000"
    assert found(gaz.find_in_text(text, "54")) == NANCY  # the postal code is the surest
    assert [m.role for m in gaz.mentions(text, "54")] == ["destination", "home"]
