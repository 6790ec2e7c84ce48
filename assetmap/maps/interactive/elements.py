"""The fixed pieces of an interactive map that are not data: controls, legends and notices.

HTML controls (:class:`HtmlControl`) and legends that come and go with their layer
(:class:`LayerLegend`), the map's background colour and first view, and the
escaped HTML of the sector and choropleth legends and of notices. Every piece of
HTML here is built with :mod:`assetmap.maps.safe_html`.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from branca.element import Element, MacroElement
from folium.elements import ElementAddToElement
from folium.map import Layer
from folium.template import Template

from ..._validate import validate_choice
from .. import safe_html
from ..style import APPROXIMATE_LABEL, NO_DATA_COLOUR, SECTOR_STYLES, class_colours

__all__ = [
    "APPROXIMATE_LABEL",
    "POSITIONS",
    "FitBounds",
    "HtmlControl",
    "KeepView",
    "LayerLegend",
    "MapBackground",
    "RenderedOnce",
    "approximate_legend_html",
    "choropleth_legend_html",
    "legend_html",
    "notice_html",
    "ons_attribution",
]

#: Where a Leaflet control may stand.
POSITIONS = ("topleft", "topright", "bottomleft", "bottomright")

# The white box every legend is drawn in, and the swatch before each of its lines.
_LEGEND_BOX = (
    "background:rgba(255,255,255,0.92);padding:6px 9px;border-radius:4px;box-shadow:0 1px 4px "
    "rgba(0,0,0,0.3);font:12px/1.5 sans-serif;color:#222"
)
_LEGEND_TITLE = '<div style="font-weight:600;margin-bottom:2px">{}</div>'
_LEGEND_ITEM = '<div class="assetmap-legend-item" style="white-space:nowrap">{}{}</div>'


def ons_attribution() -> str:
    """Return the attribution shown wherever boundaries or postcodes are drawn.

    The text is :data:`assetmap.localities.ATTRIBUTION` (imported here, not at module
    import, so that drawing a map without boundaries loads no boundary code).
    """
    from ...localities import ATTRIBUTION

    return str(ATTRIBUTION)


class _Rendered(Element):
    """Text a macro has already rendered, kept as it is: never read as a template again."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self._text = text

    def render(self, **kwargs: Any) -> str:
        return self._text


class RenderedOnce:
    """Render an element's macros once, and put their text into the page as it is.

    folium puts what an element's ``header``, ``html`` and ``script`` macros render
    into ``Element(template=...)``, which reads that text as a Jinja template again:
    a layer of a national map took a tenth of a second to compile at every move, and
    a register value such as ``{{ ... }}`` was run as a template expression when the
    page was rendered. Every assetmap element renders through this instead (mixed in
    before folium's class). It does what folium's ``Layer.render`` does (add the
    element to its parent) and ``MacroElement.render`` (each macro, then the children),
    without the second reading.
    """

    def render(self, **kwargs: Any) -> Any:
        """Render the element's macros into its page, then its children."""
        element: Any = self
        if isinstance(self, Layer) and element.show:
            element.add_child(
                ElementAddToElement(
                    element_name=element.get_name(),
                    element_parent_name=element._parent.get_name(),
                ),
                name=element.get_name() + "_add",
            )
        figure = element.get_root()
        macros = element._template.module.__dict__
        for part in ("header", "html", "script"):
            macro = macros.get(part)
            if macro is not None:
                getattr(figure, part).add_child(
                    _Rendered(macro(element, kwargs)), name=element.get_name()
                )
        for child in element._children.values():
            child.render(**kwargs)


class _Control(RenderedOnce, MacroElement):
    """A Leaflet control holding a fixed piece of escaped HTML (the template is the subclass')."""

    def __init__(self, html: str, *, position: str, css_class: str) -> None:
        super().__init__()
        validate_choice("position", position, POSITIONS)
        self.position_js = safe_html.script_json(position)
        self.class_js = safe_html.script_json(f"leaflet-control {css_class}".strip())
        self.html_js = safe_html.script_json(html)


class HtmlControl(_Control):
    """A Leaflet control showing a fixed piece of (already escaped) HTML.

    Parameters
    ----------
    html
        HTML built with :mod:`assetmap.maps.safe_html`; it is put into the control's
        ``innerHTML``, so it must never contain raw register values.
    position
        ``"topleft"``, ``"topright"``, ``"bottomleft"`` or ``"bottomright"``.
    css_class
        Class name(s) of the control's ``div``.
    """

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        var {{ this.get_name() }} = L.control({position: {{ this.position_js }}});
        {{ this.get_name() }}.onAdd = function () {
            var div = L.DomUtil.create("div", {{ this.class_js }});
            div.innerHTML = {{ this.html_js }};
            L.DomEvent.disableClickPropagation(div);
            L.DomEvent.disableScrollPropagation(div);
            return div;
        };
        {{ this.get_name() }}.addTo({{ this._parent.get_name() }});
        {% endmacro %}
        """
    )

    def __init__(self, html: str, *, position: str = "bottomleft", css_class: str = "") -> None:
        super().__init__(html, position=position, css_class=css_class)
        self._name = "HtmlControl"
        self.html = html


class LayerLegend(_Control):
    """A legend control that is on the map exactly while its parent layer is.

    Add it to a layer (a ``FeatureGroup``, say): when the layer is added to a map the
    legend appears, and when the layer is removed (as streamlit-folium does when it
    swaps the layers of a rerun) the legend goes with it.

    Parameters
    ----------
    html
        Escaped HTML (from :mod:`assetmap.maps.safe_html` builders).
    position
        A Leaflet control position.
    css_class
        Class name(s) of the control's ``div``.
    """

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        (function (layer) {
            var control = L.control({position: {{ this.position_js }}});
            control.onAdd = function () {
                var div = L.DomUtil.create("div", {{ this.class_js }});
                div.innerHTML = {{ this.html_js }};
                L.DomEvent.disableClickPropagation(div);
                L.DomEvent.disableScrollPropagation(div);
                return div;
            };
            layer.on("add", function () { control.addTo(layer._map); });
            layer.on("remove", function () { control.remove(); });
            if (layer._map) { control.addTo(layer._map); }
        })({{ this._parent.get_name() }});
        {% endmacro %}
        """
    )

    def __init__(self, html: str, *, position: str = "bottomright", css_class: str = "") -> None:
        super().__init__(html, position=position, css_class=css_class)
        self._name = "LayerLegend"


class MapBackground(RenderedOnce, MacroElement):
    """Set the colour shown where no boundary or tile is drawn.

    Parameters
    ----------
    colour
        A ``#rrggbb`` colour.
    """

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        {{ this._parent.get_name() }}.getContainer().style.background = {{ this.colour_js }};
        {% endmacro %}
        """
    )

    def __init__(self, colour: str) -> None:
        super().__init__()
        self._name = "MapBackground"
        self.colour_js = safe_html.script_json(safe_html.css_colour(colour))


class FitBounds(RenderedOnce, MacroElement):
    """Fit the map to bounds at once, without animation.

    folium's ``fit_bounds`` animates, and a view set by the user or a script
    during that animation is lost.

    Parameters
    ----------
    bounds
        ``[[south, west], [north, east]]`` in degrees.
    """

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        {{ this._parent.get_name() }}.fitBounds(
            {{ this.bounds_js }}, {padding: [12, 12], animate: false}
        );
        {% endmacro %}
        """
    )

    def __init__(self, bounds: list[list[float]]) -> None:
        super().__init__()
        self._name = "FitBounds"
        self.bounds_js = safe_html.script_json(bounds)


class KeepView(RenderedOnce, MacroElement):
    """Bring a map that Streamlit draws afresh back to where its user left it.

    streamlit-folium keeps one map in its frame and moves it in place, but
    Streamlit sometimes makes the frame anew: when the user comes back from
    another page, and when a rerun of the map alone starts before the browser has
    had the page's full run (Streamlit then drops that run's drawing of the map
    and clears it; see the README's "The map keeps its view"). A new frame starts
    at the view the page gives (``center`` and ``zoom``: the place), which threw
    away a user's zoom.

    This element keeps the map's view after each move in the memory of the app's
    page (the window that holds the map's frame), with the view the page gave at
    the time. When the map is made again, once streamlit-folium has moved it to
    the page's view, it goes back to the kept view, but only if the page still
    gives the same view: a map moved to another place starts there. The memory
    goes with the page: a reload, a sign-in or sign-out (each loads the page
    anew) and another tab start at the place. Nothing is stored in the browser or
    leaves it.

    Parameters
    ----------
    name
        The map's name (the page's key for the map).
    """

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        (function (map, key) {
            var home = window;
            try {
                if (window.parent && window.parent !== window && window.parent.document) {
                    home = window.parent;
                }
            } catch (e) { home = window; }
            var views = home.__assetmapViews = home.__assetmapViews || {};
            var given = function () {
                var data = window.__GLOBAL_DATA__ || {};
                if (data.last_center == null || data.last_zoom == null) { return null; }
                return JSON.stringify([data.last_center, data.last_zoom]);
            };
            var kept = null;
            try { kept = JSON.parse(views[key] || "null"); } catch (e) { kept = null; }
            map.on("moveend", function () {
                var centre = map.getCenter();
                // kept as text: the page outlives this frame and the objects made in it
                views[key] = JSON.stringify({
                    given: given(), lat: centre.lat, lng: centre.lng, zoom: map.getZoom()
                });
            });
            // streamlit-folium sets the page's view just after this script: go back after it
            window.setTimeout(function () {
                if (!kept || kept.given === null || kept.given !== given()) { return; }
                if (!isFinite(kept.lat) || !isFinite(kept.lng) || !isFinite(kept.zoom)) { return; }
                map.setView([kept.lat, kept.lng], kept.zoom, {animate: false});
            }, 0);
        })({{ this._parent.get_name() }}, {{ this.name_js }});
        {% endmacro %}
        """
    )

    def __init__(self, name: str) -> None:
        super().__init__()
        self._name = "KeepView"
        self.name_js = safe_html.script_json(f"assetmap-view:{name}")


def legend_html(sectors: Iterable[str] | None = None) -> str:
    """Return the legend of sector colours as escaped HTML.

    Parameters
    ----------
    sectors
        Sector codes to list; all of :data:`SECTOR_STYLES` by default.
    """
    keys = (
        list(SECTOR_STYLES) if sectors is None else [s for s in SECTOR_STYLES if s in set(sectors)]
    )
    items = []
    for key in keys:
        style = SECTOR_STYLES[key]
        colour = safe_html.css_colour(style.colour)
        dot = (
            '<span style="display:inline-block;width:11px;height:11px;border-radius:50%;'
            f"background:{colour};border:1px solid #fff;box-shadow:0 0 0 1px #777;"
            'margin-right:6px;vertical-align:middle"></span>'
        )
        items.append(_LEGEND_ITEM.format(dot, safe_html.escape(style.label)))
    return (
        f'<div class="assetmap-legend" style="{_LEGEND_BOX}">'
        + _LEGEND_TITLE.format("Sector")
        + "".join(items)
        + "</div>"
    )


def approximate_legend_html() -> str:
    """Return the legend entry of sites placed only approximately, as escaped HTML.

    Such a site (at the centre of its postcode district or sector) is drawn as a
    hollow circle with a dashed edge; the entry shows one.

    Examples
    --------
    >>> "placed approximately" in approximate_legend_html()
    True
    """
    ring = (
        '<span style="display:inline-block;width:10px;height:10px;border-radius:50%;'
        "border:2px dashed #555;background:transparent;margin-right:6px;"
        'vertical-align:middle"></span>'
    )
    return (
        f'<div class="assetmap-legend assetmap-approximate-legend" style="{_LEGEND_BOX}">'
        + _LEGEND_ITEM.format(ring, safe_html.escape(APPROXIMATE_LABEL))
        + "</div>"
    )


def _swatch(colour: str) -> str:
    return (
        '<span style="display:inline-block;width:14px;height:11px;background:'
        f"{safe_html.css_colour(colour)};border:1px solid #777;margin-right:6px;"
        'vertical-align:middle"></span>'
    )


def choropleth_legend_html(
    legend: Iterable[str], *, title: str, note: str | None = None, no_data: bool = True
) -> str:
    """Return a choropleth legend (class colours and labels) as escaped HTML.

    Parameters
    ----------
    legend
        One label per class, lowest first (a :class:`~assetmap.density.Classification`'s
        ``legend``).
    title
        The legend's heading (what is measured, and the scheme).
    note
        A line under the classes, such as the classification's message.
    no_data
        End with the colour of localities with no data.
    """
    labels = list(legend)
    items = [
        _LEGEND_ITEM.format(_swatch(colour), safe_html.escape(label))
        for colour, label in zip(class_colours(max(len(labels), 1)), labels, strict=False)
    ]
    if no_data:
        items.append(_LEGEND_ITEM.format(_swatch(NO_DATA_COLOUR), "no data"))
    foot = f'<div style="color:#555;max-width:220px">{safe_html.escape(note)}</div>' if note else ""
    return (
        f'<div class="assetmap-legend assetmap-choropleth-legend" style="{_LEGEND_BOX}">'
        + _LEGEND_TITLE.format(safe_html.escape(title))
        + "".join(items)
        + foot
        + "</div>"
    )


def notice_html(message: str) -> str:
    """Return a plain-text notice (the cap on the sites drawn, say) as escaped HTML.

    Parameters
    ----------
    message
        Plain text; it is escaped here.
    """
    return (
        '<div class="assetmap-notice" style="background:#fff8e1;border:1px solid #e0b000;'
        'padding:5px 8px;border-radius:4px;font:12px/1.4 sans-serif;max-width:320px;color:#222">'
        f"{safe_html.escape(message)}</div>"
    )
