"""Optional background tiles under a print map, from one configured XYZ tile server.

Fetches the Web Mercator tiles that cover a map's extent (a few, with a short
time-out), mosaics them and resamples them onto the British National Grid. Tiles
are never required: any failure leaves the map without them and says so in a note.

Hand-written, not contextily (weighed for issue 14). The app must work on a closed
network with nothing downloaded at run time, so tiles come only from the one server
the estate's ``ASSETMAP_TILE_URL`` names (often an in-house one), with our time-out
and tile cap, and a failure is a note, never a stalled page. contextily is built to
fetch from the public xyzservices providers; it would bring rasterio (a second GDAL
beside pyogrio's), its own on-disk tile cache, retries with waits, and geopy, to
replace the 80 lines below.
"""

from __future__ import annotations

import io
import math
import urllib.request
from urllib.parse import urlsplit

import numpy as np
from matplotlib.axes import Axes

from ...schema import CRS_BNG
from ...settings import TileSetting
from .page import Extent, Layout

__all__ = ["draw_tiles", "fetch_tile", "tile_setting"]

_TILE_TIMEOUT_S = 5.0
_MAX_TILES = 64
_TILE_PX = 256
#: Half the width of the Web Mercator world, metres.
_WORLD = 20037508.342789244

#: (first column, last column, first row, last row) of the tiles at one zoom.
_TileRange = tuple[int, int, int, int]


def tile_setting(tiles: TileSetting | str) -> TileSetting:
    """Return a :class:`assetmap.settings.TileSetting` from a setting or a URL template.

    Raises
    ------
    InvalidArgumentError
        If the URL is not a tile URL template.
    """
    if isinstance(tiles, TileSetting):
        return tiles
    return TileSetting(str(tiles), f"Tiles: {urlsplit(str(tiles)).netloc}")


def fetch_tile(url: str) -> bytes:
    """Return the bytes of one tile, or raise (``OSError``...) within the time-out."""
    with urllib.request.urlopen(url, timeout=_TILE_TIMEOUT_S) as response:
        return response.read()


def _tile_range(mx: np.ndarray, my: np.ndarray, zoom: int) -> _TileRange:
    """Return the tiles at ``zoom`` that cover the Web Mercator points ``mx``, ``my``."""
    n = 2**zoom
    tx0 = int((mx.min() + _WORLD) / (2 * _WORLD) * n)
    tx1 = int((mx.max() + _WORLD) / (2 * _WORLD) * n)
    ty0 = int((_WORLD - my.max()) / (2 * _WORLD) * n)
    ty1 = int((_WORLD - my.min()) / (2 * _WORLD) * n)
    return max(tx0, 0), min(tx1, n - 1), max(ty0, 0), min(ty1, n - 1)


def _zoom_and_range(mx: np.ndarray, my: np.ndarray, out_w: int) -> tuple[int, _TileRange]:
    """Return the zoom whose pixels match the page's, lowered until :data:`_MAX_TILES` do."""
    res = (mx.max() - mx.min()) / out_w
    zoom = int(np.clip(round(math.log2(2 * _WORLD / (_TILE_PX * res))), 0, 19))
    tiles = _tile_range(mx, my, zoom)
    while zoom > 0 and (tiles[1] - tiles[0] + 1) * (tiles[3] - tiles[2] + 1) > _MAX_TILES:
        zoom -= 1
        tiles = _tile_range(mx, my, zoom)
    return zoom, tiles


def _mosaic(setting: TileSetting, zoom: int, tiles: _TileRange) -> np.ndarray:
    """Fetch the tiles and return them pasted into one RGB image (rows, columns, 3)."""
    from PIL import Image

    tx0, tx1, ty0, ty1 = tiles
    mosaic = Image.new("RGB", ((tx1 - tx0 + 1) * _TILE_PX, (ty1 - ty0 + 1) * _TILE_PX), "white")
    for tx in range(tx0, tx1 + 1):
        for ty in range(ty0, ty1 + 1):
            url = (
                setting.url.replace("{s}", "a")
                .replace("{z}", str(zoom))
                .replace("{x}", str(tx))
                .replace("{y}", str(ty))
            )
            tile = Image.open(io.BytesIO(fetch_tile(url))).convert("RGB")
            if tile.size != (_TILE_PX, _TILE_PX):
                tile = tile.resize((_TILE_PX, _TILE_PX))
            mosaic.paste(tile, ((tx - tx0) * _TILE_PX, (ty - ty0) * _TILE_PX))
    return np.asarray(mosaic)


def draw_tiles(
    layout: Layout, extent: Extent, tiles: TileSetting | str, notes: list[str]
) -> str | None:
    """Draw background tiles under the map; return their attribution, or None (with a note).

    Tiles are Web Mercator XYZ tiles fetched once per map with a short time-out,
    mosaicked with Pillow and resampled onto the British National Grid (nearest
    pixel) with pyproj. Any failure leaves the map without tiles and says so.

    Parameters
    ----------
    layout
        The page; the tiles go in its map frame.
    extent
        The map's limits.
    tiles
        The tile setting, or a URL template.
    notes
        Receives a note when the tiles cannot be used.

    Returns
    -------
    str or None
        The attribution the tile provider requires, or ``None`` if nothing was drawn.
    """
    from pyproj import Transformer

    setting = tile_setting(tiles)
    x0, x1, y0, y1 = extent
    to_merc = Transformer.from_crs(CRS_BNG, "EPSG:3857", always_xy=True)
    mx, my = to_merc.transform(*np.meshgrid(np.linspace(x0, x1, 24), np.linspace(y0, y1, 24)))
    pos = layout.ax.get_position()
    out_w = max(200, int(pos.width * layout.width_in * 150))
    out_h = max(200, int(pos.height * layout.height_in * 150))
    zoom, (tx0, tx1, ty0, ty1) = _zoom_and_range(mx, my, out_w)
    host = setting.url.split("/")[2] if "//" in setting.url else setting.url
    try:
        pixels = _mosaic(setting, zoom, (tx0, tx1, ty0, ty1))
    except Exception as exc:  # any network or image failure: the map is drawn without tiles
        notes.append(
            f"background tiles from {host} could not be used ({type(exc).__name__}: {exc}); "
            "the map is drawn without them"
        )
        return None
    n = 2**zoom
    grid_x, grid_y = np.meshgrid(np.linspace(x0, x1, out_w), np.linspace(y1, y0, out_h))
    merc_x, merc_y = to_merc.transform(grid_x, grid_y)
    col = ((merc_x + _WORLD) / (2 * _WORLD) * n - tx0) * _TILE_PX
    row = ((_WORLD - merc_y) / (2 * _WORLD) * n - ty0) * _TILE_PX
    col = np.clip(col.astype(np.int64), 0, pixels.shape[1] - 1)
    row = np.clip(row.astype(np.int64), 0, pixels.shape[0] - 1)
    _show(layout.ax, pixels[row, col], extent)
    return setting.attribution


def _show(ax: Axes, image: np.ndarray, extent: Extent) -> None:
    """Put the resampled tiles under every layer of the map frame."""
    ax.imshow(
        image,
        extent=extent,
        origin="upper",
        interpolation="nearest",
        zorder=0.5,
        aspect="auto",
        gid="background-tiles",
    )
