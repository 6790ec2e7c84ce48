"""Serve the map's third-party JavaScript and CSS from installed packages, never the internet.

folium points a map at public CDNs for Leaflet, jQuery, Bootstrap, Font Awesome
and its plugins; on a machine with no internet such a map is blank. Here every
third-party file comes from a PyPI package installed beside assetmap (the
XStatic packages ``XStatic-Leaflet`` and ``XStatic-Leaflet-MarkerCluster``) and
is handed to the browser as a ``data:`` URL built at run time from the installed
file (images that the CSS refers to are inlined the same way). The same URLs
serve both faces:

* :func:`~assetmap.maps.interactive.webmap.map_html` renders a standalone HTML
  page (``<script src="data:...">``), which opens from a file with no network at all;
* streamlit-folium's ``st_folium`` collects each element's ``default_js`` /
  ``default_css`` and its frontend loads them with ``<script src=...>`` /
  ``<link href=...>``, so data URLs load there too.

:func:`make_offline` swaps folium's CDN links for the local copies on every
element of a map, drops the ones assetmap never uses (jQuery, Bootstrap,
awesome-markers, Font Awesome) and refuses any other remote script or style
sheet; :func:`remote_links` finds anything remote left in rendered HTML.
"""

from __future__ import annotations

import base64
import functools
import importlib
import re
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TypeVar

import folium
from branca.element import Element
from folium.elements import JSCSSMixin

from ..._validate import one_of
from ...errors import DataNotFoundError, InvalidArgumentError

__all__ = ["asset_url", "make_offline", "remote_links", "walk"]

# Asset name (folium's names where folium has one) -> (XStatic module, PyPI package, file).
_ASSETS: dict[str, tuple[str, str, str]] = {
    "leaflet": ("xstatic.pkg.leaflet", "XStatic-Leaflet", "leaflet.js"),
    "leaflet_css": ("xstatic.pkg.leaflet", "XStatic-Leaflet", "leaflet.css"),
    "markerclusterjs": (
        "xstatic.pkg.leaflet_markercluster",
        "XStatic-Leaflet-MarkerCluster",
        "leaflet.markercluster.js",
    ),
    "markerclustercss": (
        "xstatic.pkg.leaflet_markercluster",
        "XStatic-Leaflet-MarkerCluster",
        "MarkerCluster.css",
    ),
    "markerclusterdefaultcss": (
        "xstatic.pkg.leaflet_markercluster",
        "XStatic-Leaflet-MarkerCluster",
        "MarkerCluster.Default.css",
    ),
}

# folium.Map's default links that assetmap never uses (awesome-markers and their fonts).
_UNUSED_FOLIUM_ASSETS = frozenset(
    {
        "jquery",
        "bootstrap",
        "awesome_markers",
        "bootstrap_css",
        "glyphicons_css",
        "awesome_markers_font_css",
        "awesome_markers_css",
        "awesome_rotate_css",
    }
)

_MIME = {".js": "text/javascript", ".css": "text/css", ".png": "image/png", ".svg": "image/svg+xml"}
_SOURCE_MAP_RE = re.compile(
    r"^\s*(//[#@]\s*sourceMappingURL=.*|/\*[#@]\s*sourceMappingURL=.*\*/)$", re.MULTILINE
)
_CSS_IMAGE_RE = re.compile(r"""url\(\s*(['"]?)(images/[A-Za-z0-9_.-]+)\1\s*\)""")
_QUOTED_URL_RE = re.compile(r"""["'(]\s*((?:https?:|ftp:)?//[^"'()\s<>]+)""", re.IGNORECASE)
_CSS_IMPORT_RE = re.compile(r"""@import\s+["']?((?:https?:)?//[^"';\s]+)""", re.IGNORECASE)

E = TypeVar("E", bound=Element)


def _data_url(mime: str, payload: bytes) -> str:
    return f"data:{mime};base64,{base64.b64encode(payload).decode('ascii')}"


def _asset_dir(module: str, package: str) -> Path:
    try:
        mod = importlib.import_module(module)
    except ImportError as exc:
        raise DataNotFoundError(
            f"The interactive map needs the PyPI package {package} (its JavaScript is served "
            f"from the installed package, never from the internet): pip install {package}"
        ) from exc
    return Path(mod.BASE_DIR)


def _inline_images(css: str, folder: Path) -> str:
    """Return style sheet text with each ``url(images/...)`` it names inlined as a data URL."""

    def inline(match: re.Match[str]) -> str:
        image = folder / match.group(2)
        if not image.is_file():
            return "none"
        mime = _MIME.get(image.suffix.lower(), "application/octet-stream")
        return f'url("{_data_url(mime, image.read_bytes())}")'

    return _CSS_IMAGE_RE.sub(inline, css)


@functools.cache
def asset_url(name: str) -> str:
    """Return a ``data:`` URL of a bundled third-party asset, read from its installed package.

    Parameters
    ----------
    name
        One of ``"leaflet"``, ``"leaflet_css"``, ``"markerclusterjs"``,
        ``"markerclustercss"``, ``"markerclusterdefaultcss"``.

    Returns
    -------
    str

    Raises
    ------
    InvalidArgumentError
        For an unknown name.
    DataNotFoundError
        If the XStatic package that holds the file is not installed.
    """
    if name not in _ASSETS:
        raise InvalidArgumentError(one_of("name", name, _ASSETS, what="a bundled asset"))
    module, package, filename = _ASSETS[name]
    folder = _asset_dir(module, package)
    path = folder / filename
    if not path.is_file():
        raise DataNotFoundError(f"{package} is installed but has no {filename} in {folder}")
    suffix = path.suffix.lower()
    text = _SOURCE_MAP_RE.sub("", path.read_text(encoding="utf-8"))
    if suffix == ".css":
        text = _inline_images(text, folder)
    return _data_url(_MIME[suffix], text.encode("utf-8"))


def _is_remote(url: str) -> bool:
    return url.strip().lower().startswith(("http:", "https:", "//", "ftp:"))


def walk(element: Element) -> Iterator[Element]:
    """Yield ``element`` and every element below it, parents before their children.

    Parameters
    ----------
    element
        A ``folium.Map`` or any element of one.

    Yields
    ------
    branca.element.Element
    """
    yield element
    for child in list(element._children.values()):
        yield from walk(child)


def _offline_links(element: Element, links: list[tuple[str, str]]) -> list[tuple[str, str]]:
    result: list[tuple[str, str]] = []
    for name, url in links:
        if name in _ASSETS:
            result.append((name, asset_url(name)))
        elif isinstance(element, folium.Map) and name in _UNUSED_FOLIUM_ASSETS:
            continue
        elif _is_remote(url):
            raise InvalidArgumentError(
                f"{type(element).__name__} needs {name} from {url}, which has no local copy; "
                f"bundled assets: {', '.join(_ASSETS)}"
            )
        else:
            result.append((name, url))
    return result


def make_offline(element: E) -> E:
    """Point every element of a map at local copies of its JavaScript and CSS.

    Each ``JSCSSMixin`` element (the map itself, plugins) gets instance-level
    ``default_js`` / ``default_css`` lists whose URLs are :func:`asset_url` data
    URLs; folium's class-level lists are left untouched.

    Parameters
    ----------
    element
        A ``folium.Map`` or any element of one. Changed in place.

    Returns
    -------
    branca.element.Element
        ``element``.

    Raises
    ------
    InvalidArgumentError
        If an element needs a remote file assetmap has no local copy of.
    """
    for item in walk(element):
        if isinstance(item, JSCSSMixin):
            item.default_js = _offline_links(item, list(item.default_js))
            item.default_css = _offline_links(item, list(item.default_css))
    return element


def remote_links(html: str, allow: Iterable[str] = ()) -> list[str]:
    """Return every remote URL in rendered map HTML that a browser might fetch.

    Looks at quoted or parenthesised absolute and protocol-relative URLs
    (``src="..."``, ``href='...'``, ``url(...)``, strings in scripts) and CSS
    ``@import``. Text inside ``data:`` URLs is base64 and is not seen.

    Parameters
    ----------
    html
        Rendered HTML.
    allow
        URLs that may appear (a configured tile URL template).

    Returns
    -------
    list of str
        The URLs found, in order, without duplicates; empty when the page is offline-safe.
    """
    allowed = {a.strip() for a in allow if a}
    found = [m.group(1) for m in _QUOTED_URL_RE.finditer(html)]
    found += [m.group(1) for m in _CSS_IMPORT_RE.finditer(html)]
    return [url for url in dict.fromkeys(found) if url not in allowed]
