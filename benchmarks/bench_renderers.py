"""Renderer benchmark: WebGL (the deck.gl inside Streamlit) drawing every site, in Chromium.

Issue #18 asks for the Map page's rendering to be chosen by measuring it in Chromium. The
Map page is built on Leaflet's canvas renderer with server-side aggregation (benchmarked
by ``bench_app_scale.py``); this script measures the alternative, for the record: WebGL
through the deck.gl that Streamlit ships inside itself (``st.pydeck_chart``), sent every
point of the estate, with no base map.

For each estate size (100,000 and 1,000,000 random points over England and Wales, fixed
seed, lon/lat rounded to 5 decimals, about 1 m, with an integer site id) a tiny Streamlit
app (a temporary script, ``streamlit run --server.headless true`` on a free port of
127.0.0.1) draws one of:

- ``scatter``: ``pdk.Layer("ScatterplotLayer", data=frame, get_position="[lon, lat]")``
  in ``pdk.Deck(map_provider=None)``: every point, no base map;
- ``hexagon``: ``pdk.Layer("HexagonLayer", ...)``, 5 km hexagons aggregated by deck.gl in
  the browser (the browser is still sent every point), no base map;
- the smaller estate only, the scatter with ``map_style=None`` (as Streamlit's
  documentation writes it), with and without ``map_provider=None``. Streamlit's
  front end fills in a Carto style (``basemaps.cartocdn.com/gl/positron-gl-style``)
  whenever ``map_style`` is given and empty, whatever the provider: only pydeck's
  default ``map_style`` with ``map_provider=None`` loads nothing from outside.

Debian's Chromium (``/usr/bin/chromium``, driven by Playwright; no browser download) opens
each in a fresh profile with ``--headless --no-sandbox --disable-gpu`` (so WebGL can only
be SwiftShader's software rendering, or nothing) and measures:

- the draw time ("drawn s"): from navigation start to the chart's ``<canvas>`` being
  present ("canvas s") and the page's main thread quiet again (30 animation frames in a
  row, none more than 100 ms apart); "frozen s" is the longest gap between two frames
  meanwhile, when the page answers no input;
- the bytes received: HTTP (CDP ``Network.loadingFinished`` ``encodedDataLength``: the
  page, Streamlit's scripts, deck.gl's 3 MB bundle) and the websocket (CDP
  ``Network.webSocketFrameReceived`` payloads; Streamlit's websocket compression is off by
  default, so these are the bytes on the wire). pydeck writes every record as indented
  JSON, about 100 bytes a point;
- the JS heap used afterwards (CDP ``Runtime.getHeapUsage``; typed arrays and WebGL
  buffers are not in it) and the memory of all of that Chromium's processes (PSS from
  ``/proc``, "PSS MB", Linux only);
- every request to a host other than 127.0.0.1/localhost. They are recorded and aborted,
  so nothing leaves the machine;
- whether anything was drawn: a screenshot of the chart (``--shots`` folder) and the share
  of its pixels that differ from its most common colour ("drawn %"). Console errors are
  listed.

The time for Python to build the chart is included in the draw time; the app also logs
it ("server s").

Selecting a point: ``st.pydeck_chart(deck, on_select="rerun", selection_mode=
"single-object")`` (every layer given an ``id`` and ``pickable=True``) returns
``{"selection": {"indices": {layer_id: [row, ...]}, "objects": {layer_id: [record, ...]}}}``,
so a click on a scatter point can return which site it was (its row in the data and the
record as sent to the browser, e.g. its ``id``), at the price of a rerun of the script. A
hexagon stands for many sites, so picking one cannot name a site (not measured here).

Run from the project root::

    python benchmarks/bench_renderers.py                      # 100,000 and 1,000,000 points
    python benchmarks/bench_renderers.py --sizes 100000 --shots /tmp/b18

It takes about four minutes on a 2-core machine. The servers are stopped at the end,
also on failure.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import json
import sys
import tempfile
import urllib.parse
import urllib.request
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.app.browser import CHROMIUM as BROWSER  # noqa: E402 (the tests' browser)
from tests.app.browser import CHROMIUM_FLAGS, streamlit_server  # noqa: E402

CHROMIUM = str(BROWSER)
#: England and Wales, roughly (lon/lat).
BOUNDS = (-5.7, 50.0, 1.8, 55.8)
SEED = 18
DRAW_TIMEOUT_S = 240
LOCAL_HOSTS = {"127.0.0.1", "localhost", "[::1]"}
#: (map_provider, map_style) -> the name a case is shown under; others are the layer's name.
CASE_NAMES = {
    ("none", "none"): "scatter,style=None,provider=None",
    ("carto", "none"): "scatter,style=None",
}

APP = """
import json, os, sys, time
import numpy as np
import pandas as pd
import pydeck as pdk
import streamlit as st

st.set_page_config(layout="wide")
layer_kind = st.query_params.get("layer", "scatter")
provider = st.query_params.get("provider", "none")
style = st.query_params.get("style", "default")


@st.cache_data
def frame():
    points = np.load(os.environ["B18_POINTS"])
    return pd.DataFrame({"id": np.arange(len(points)), "lon": points[:, 0], "lat": points[:, 1]})


data = frame()
start = time.perf_counter()
if layer_kind == "hexagon":
    layer = pdk.Layer(
        "HexagonLayer", data=data, id="sites", get_position="[lon, lat]", radius=5000,
        extruded=False, coverage=0.9, pickable=False,
    )
else:
    layer = pdk.Layer(
        "ScatterplotLayer", data=data, id="sites", get_position="[lon, lat]",
        get_fill_color=[20, 90, 200, 160], get_radius=300, radius_min_pixels=1,
        pickable=False,
    )
view = pdk.ViewState(longitude=-2.0, latitude=52.8, zoom=5.3)
kwargs = {} if provider == "carto" else {"map_provider": None}
if style == "none":
    kwargs["map_style"] = None
deck = pdk.Deck(layers=[layer], initial_view_state=view, **kwargs)
st.pydeck_chart(deck, height=700)
case = "/".join([layer_kind, provider, style])
elapsed = time.perf_counter() - start
print(json.dumps({"case": case, "server_s": elapsed}), file=sys.stderr, flush=True)
"""

#: Resolves when the chart's canvas is present and the main thread has been quiet for
#: ``quiet`` animation frames in a row (none more than ``gap_ms`` apart). Times are ms
#: from navigation start (``performance.now()``).
WAIT_DRAWN = """
async ({quiet, gapMs, timeoutMs}) => {
  const sel = '[data-testid="stDeckGlJsonChart"] canvas';
  const frame = () => new Promise((resolve) => requestAnimationFrame(resolve));
  while (!document.querySelector(sel)) {
    if (performance.now() > timeoutMs) return null;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  const canvasAt = performance.now();
  let last = await frame();
  let settledAt = Math.max(last, canvasAt);
  let calm = 0;
  let longest = settledAt - canvasAt;
  while (calm < quiet) {
    const now = await frame();
    longest = Math.max(longest, now - last);
    if (now - last > gapMs) { calm = 0; settledAt = now; } else { calm += 1; }
    last = now;
    if (now > timeoutMs) return {canvasAt, settledAt, longest, timedOut: true};
  }
  const canvases = document.querySelectorAll(sel).length;
  return {canvasAt, settledAt, longest, canvases, timedOut: false};
}
"""


def points(n: int) -> np.ndarray:
    """``n`` random (lon, lat) points over England and Wales, rounded to 5 decimals."""
    rng = np.random.default_rng(SEED)
    west, south, east, north = BOUNDS
    lon = rng.uniform(west, east, n)
    lat = rng.uniform(south, north, n)
    return np.round(np.column_stack([lon, lat]), 5)


@contextlib.contextmanager
def server(script: Path, points_file: Path, log: Path):
    """Run ``streamlit run script`` on a free port of 127.0.0.1; yield its URL; stop it."""
    env = {"B18_POINTS": str(points_file)}
    with streamlit_server(env, script=script, log_path=log) as url:
        yield url


def _drawn_share(png: bytes) -> float:
    """Return the share of the image's pixels that differ from its most common colour."""
    import io

    from PIL import Image

    image = Image.open(io.BytesIO(png)).convert("RGB")
    pixels = np.asarray(image).reshape(-1, 3)
    _, counts = np.unique(pixels, axis=0, return_counts=True)
    return 1 - counts.max() / len(pixels)


def _chromium_pss_mb(profile: str) -> float | None:
    """Return the memory (PSS, MB) of the Chromium started on ``profile`` and its children.

    The GPU process (SwiftShader here) holds deck.gl's vertex buffers and the renderer its
    typed arrays, neither of which is in the JS heap. Linux only; None elsewhere.
    """
    proc = Path("/proc")
    if not proc.is_dir():
        return None
    parents, roots = {}, set()
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        parents[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
        if profile.encode() in cmdline:
            roots.add(int(entry.name))
    family = {pid for pid in roots if parents.get(pid) not in roots}
    grew = True
    while grew:
        children = {pid for pid, parent in parents.items() if parent in family} - family
        family |= children
        grew = bool(children)
    total_kb = 0
    for pid in family:
        with contextlib.suppress(OSError):
            for line in (proc / str(pid) / "smaps_rollup").read_text().splitlines():
                if line.startswith("Pss:"):
                    total_kb += int(line.split()[1])
    return total_kb / 1000


def _safe(name: str) -> str:
    return "".join(c if c.isalnum() else "_" for c in name)


def _inspect(page, cdp, shot: Path) -> dict:
    """Read the JS heap, screenshot the chart into ``shot`` and name the WebGL renderer."""
    found: dict = {"heap_mb": cdp.send("Runtime.getHeapUsage")["usedSize"] / 1e6}
    chart = page.locator('[data-testid="stDeckGlJsonChart"]')
    if chart.count():
        png = chart.first.screenshot(path=str(shot), timeout=60_000)
        found["drawn_share"] = _drawn_share(png)
    else:
        page.screenshot(path=str(shot))
        found["drawn_share"] = None
    found["screenshot"] = str(shot)
    found["webgl"] = page.evaluate(
        """() => {
          const c = document.createElement('canvas');
          const gl = c.getContext('webgl2');
          if (!gl) return 'no WebGL2 context';
          const ext = gl.getExtension('WEBGL_debug_renderer_info');
          return ext ? gl.getParameter(ext.UNMASKED_RENDERER_WEBGL) : 'WebGL2';
        }"""
    )
    return found


def measure(playwright, url: str, case: str, shots: Path) -> dict:
    """Open ``url`` in a fresh Chromium profile and measure one chart."""
    result: dict = {"case": case, "external": [], "console_errors": []}
    http_bytes = ws_bytes = 0
    with tempfile.TemporaryDirectory(prefix="b18-chromium-") as profile:
        context = playwright.chromium.launch_persistent_context(
            profile,
            executable_path=CHROMIUM,
            headless=True,
            args=CHROMIUM_FLAGS,
            viewport={"width": 1400, "height": 1000},
            timeout=60_000,
        )
        try:

            def route(route_) -> None:
                host = urllib.parse.urlsplit(route_.request.url).hostname or ""
                if route_.request.url.startswith(("data:", "blob:")) or host in LOCAL_HOSTS:
                    route_.continue_()
                else:
                    result["external"].append(route_.request.url)
                    route_.abort()

            context.route("**/*", route)
            page = context.pages[0] if context.pages else context.new_page()
            page.on(
                "console",
                lambda m: (
                    result["console_errors"].append(m.text[:200]) if m.type == "error" else None
                ),
            )
            cdp = context.new_cdp_session(page)
            cdp.send("Network.enable")

            def finished(event: dict) -> None:
                nonlocal http_bytes
                http_bytes += int(event.get("encodedDataLength", 0))

            def frame(event: dict) -> None:
                nonlocal ws_bytes
                response = event["response"]
                data = response.get("payloadData", "")
                if response.get("opcode") == 2:  # binary: base64 in CDP
                    ws_bytes += len(base64.b64decode(data))
                else:
                    ws_bytes += len(data.encode())

            cdp.on("Network.loadingFinished", finished)
            cdp.on("Network.webSocketFrameReceived", frame)
            page.goto(url, wait_until="domcontentloaded", timeout=60_000)
            timing = page.evaluate(
                WAIT_DRAWN, {"quiet": 30, "gapMs": 100, "timeoutMs": DRAW_TIMEOUT_S * 1000}
            )
            result["timing"] = timing
            result["chromium_mb"] = _chromium_pss_mb(profile)
            result.update(_inspect(page, cdp, shots / f"{_safe(case)}.png"))
        finally:
            context.close()
    result["http_mb"] = http_bytes / 1e6
    result["ws_mb"] = ws_bytes / 1e6
    return result


def _server_times(log: Path) -> dict[str, float]:
    times = {}
    for line in log.read_text(errors="replace").splitlines():
        if line.startswith('{"case"'):
            record = json.loads(line)
            times[record["case"]] = record["server_s"]
    return times


def _table(n: int, rows: list[dict], server_s: dict[str, float]) -> None:
    print(f"\n{n:,} points")
    header = (
        f"{'renderer':<34}{'canvas s':>9}{'drawn s':>9}{'frozen s':>9}{'server s':>9}{'HTTP MB':>9}"
        f"{'WS MB':>9}{'heap MB':>9}{'PSS MB':>9}{'drawn %':>9}  external requests"
    )
    print(header)
    print("-" * len(header))
    for row in rows:
        timing = row.get("timing") or {}
        canvas = f"{timing['canvasAt'] / 1000:.1f}" if timing else "none"
        drawn = f"{timing['settledAt'] / 1000:.1f}" if timing else "none"
        frozen = f"{timing['longest'] / 1000:.1f}" if timing else "-"
        if timing.get("timedOut"):
            drawn = ">" + drawn
        share = row.get("drawn_share")
        share_text = "-" if share is None else f"{100 * share:.1f}"
        external = sorted({urllib.parse.urlsplit(u).hostname for u in row["external"]})
        print(
            f"{row['case']:<34}{canvas:>9}{drawn:>9}{frozen:>9}"
            f"{server_s.get(row['key'], float('nan')):>9.1f}"
            f"{row['http_mb']:>9.1f}{row['ws_mb']:>9.1f}{row['heap_mb']:>9.0f}"
            f"{row['chromium_mb'] or float('nan'):>9.0f}"
            f"{share_text:>9}  {len(row['external'])} {', '.join(external)}"
        )
    for row in rows:
        print(f"  {row['case']}: WebGL renderer: {row['webgl']}; screenshot {row['screenshot']}")
        for address in sorted(set(row["external"])):
            print(f"    external request (aborted): {address}")
        for message in sorted(set(row["console_errors"]))[:5]:
            print(f"    console error: {message}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--shots", type=Path, default=Path(tempfile.gettempdir()) / "b18")
    args = parser.parse_args(argv)
    from playwright.sync_api import sync_playwright

    args.shots.mkdir(parents=True, exist_ok=True)
    smallest = min(args.sizes)
    with tempfile.TemporaryDirectory(prefix="bench-renderers-") as folder:
        script = Path(folder) / "deck_app.py"
        script.write_text(APP)
        with sync_playwright() as playwright:
            for n in args.sizes:
                points_file = Path(folder) / f"points_{n}.npy"
                np.save(points_file, points(n))
                cases = [("scatter", "none", "default"), ("hexagon", "none", "default")]
                if n == smallest:
                    cases += [("scatter", "none", "none"), ("scatter", "carto", "none")]
                log = Path(folder) / f"server_{n}.log"
                rows = []
                with server(script, points_file, log) as url:
                    for layer, provider, style in cases:
                        name = CASE_NAMES.get((provider, style), layer)
                        row = measure(
                            playwright,
                            f"{url}/?layer={layer}&provider={provider}&style={style}",
                            f"{name}_{n}",
                            args.shots,
                        )
                        row["case"] = name
                        row["key"] = f"{layer}/{provider}/{style}"
                        rows.append(row)
                _table(n, rows, _server_times(log))
    return 0


if __name__ == "__main__":
    sys.exit(main())
