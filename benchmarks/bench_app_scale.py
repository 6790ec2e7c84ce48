"""App-scale benchmark (issue #18): the Map page in Chromium on national estates, against today's.

For each estate size (10,000, 100,000 and 1,000,000 sites by default) a national estate
of England and Wales (``sample_estates/national.py``: fictional sites at real postcodes,
so they cluster as towns do; fixed seed) is built into a GeoPackage store with
``build_national_store`` (in a temporary folder, or in ``--keep DIR``, where a store
already built is reused: the 1,000,000-site build takes about 50 s). Two apps are run on
it in turn, each as ``streamlit run streamlit_app.py --server.headless true`` on a free
port of 127.0.0.1 with ``$ASSETMAP_STORE`` naming the store (no ``$ASSETMAP_AGENCY``,
no background tiles):

- ``new``: this tree's app: the sites layer made by the server for the map's view
  (hexagons far out, the sites as points close in, nothing capped);
- ``baseline``: the app as it was before issue #18's work (commit ``5f4caa3``, taken
  with ``git archive`` into a temporary folder): folium markers clustered in the
  browser, at most 50,000 of them (the first 50,000 in store order).

Each server is warmed first (one page load in its own browser, waited for until the map
is drawn: the cold load is reported as "cold first map"). Then, in a fresh Chromium
profile (Debian's ``/usr/bin/chromium`` driven by Playwright, no browser download;
``--headless --no-sandbox --disable-gpu``), the benchmark measures:

1. **first map**: from navigation start to the map drawn: the sites layer's hexagons
   or points (``canvas.assetmap-hex, path.assetmap-site``; the baseline: its cluster icons or site
   markers) in the st_folium iframe, Streamlit idle (no ``stStatusWidget``, the app's
   script state not ``running``) and the page's main thread quiet again (20 animation
   frames in a row, none more than 100 ms apart; the time is that of the last long
   frame);
2. **zoom**, on the whole estate: the map moved to the town (``--town``, Maidstone by
   default) at the first map's zoom (not timed), then zoomed in one level at a time with
   Leaflet's + button up to ``--zoom-to`` (15); each step is timed from the click to the
   map's ``zoomend``, a new sites layer (the new app only: hexagons or points that were not
   there before the click; the baseline re-clusters its markers in the browser, with no
   rerun), Streamlit idle and the page quiet; the mean and the longest step are
   reported, and the goal is checked against the longest;
3. **filter**, at the first map's view again (moved back, not timed): the Sector filter
   in the sidebar narrowed to Police alone, one sector taken out at a time (each is one
   rerun); each step is timed from the click to a new sites layer drawn (hexagons, points
   or cluster icons that were not there before the click), Streamlit idle and the page
   quiet; mean and longest step, the goal checked against the longest;

   Each step's line also gives when the rerun it caused started and ended (the app's
   script state going to ``running`` and back, from the click), so the time can be
   split into the browser's share before the rerun (Leaflet's zoom animation and
   st_folium's 250 ms debounce), the rerun (the server and the transfer) and the
   drawing after it, and the number of canvases in the sites pane;
4. **transfer**: the bytes received, HTTP (CDP ``Network.loadingFinished``
   ``encodedDataLength``, headers included; ``Network.dataReceived`` can report 0 when
   the network service runs on its own) and websocket frames received (CDP
   ``Network.webSocketFrameReceived`` payloads; Streamlit's websocket compression is
   off), in all and per step; the goal is checked against everything received over
   the first map and all the steps;
5. **JS heap**: used, after the steps (CDP ``Runtime.getHeapUsage``; the st_folium
   iframe is same-origin, so its heap is included), and ``performance.memory``;
6. **server memory**: the resident memory of the streamlit process (``/proc/<pid>/
   status``: ``VmRSS`` after the warm load and after the steps, and ``VmHWM``, its peak);
7. **external requests**: every request to a host other than 127.0.0.1/localhost is
   counted and aborted, so nothing leaves the machine (there must be none).

A table per estate size gives both apps, the ratio baseline/new per measure, and, at
1,000,000 sites, the issue's goals on this 2-core machine with PASS/MISS: first map
under 5 s, filter redraw under 2 s, zoom redraw under 1 s, JS heap under 500 MB,
transfer under 20 MB. The load average at the start and the end is printed (the machine
is shared). It is a report: nothing is asserted. A step that does not finish within
``--step-timeout`` seconds is shown as ``>N``.

Run from the project root::

    python benchmarks/bench_app_scale.py                      # 10,000, 100,000, 1,000,000
    python benchmarks/bench_app_scale.py --quick              # 10,000 and 100,000
    python benchmarks/bench_app_scale.py --keep /tmp/b18-stores --sizes 1000000

The full run takes about 25 minutes on a 2-core machine (the baseline's 1,000,000-site
page alone takes several). Every server and browser is stopped at the end, also on
failure. ``--shots DIR`` saves a screenshot of each app's map after each phase.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.app.browser import CHROMIUM as BROWSER  # noqa: E402 (the tests' browser)
from tests.app.browser import CHROMIUM_FLAGS, streamlit_server  # noqa: E402

BASELINE_COMMIT = "5f4caa3"
CHROMIUM = str(BROWSER)
SIZES = [10_000, 100_000, 1_000_000]
QUICK_SIZES = [10_000, 100_000]
LOCAL_HOSTS = {"127.0.0.1", "localhost", "[::1]", "::1"}
#: Towns to zoom into: (lat, lon) of the town centre.
TOWNS = {"Maidstone": (51.2730, 0.5230), "Manchester": (53.4800, -2.2430)}
#: The sector the filter is narrowed to, and the labels of the sectors taken out, in order.
KEEP_SECTOR = "Police"
#: What the map's sites layer is drawn as, per app (CSS, inside the st_folium iframe).
SITES_SELECTOR = {
    "new": "canvas.assetmap-hex, path.assetmap-site",
    "baseline": ".marker-cluster, path.assetmap-site",
}
#: Goals at 1,000,000 sites: (measure, limit, unit).
GOALS = {
    "first_s": 5.0,
    "filter_max_s": 2.0,
    "zoom_max_s": 1.0,
    "heap_mb": 500.0,
    "transfer_mb": 20.0,
}
GOAL_SIZE = 1_000_000

#: Resolves when the map is drawn (see the module docstring) after ``t0`` (ms since
#: navigation start): the sites selector matches in the map's iframe (only elements not
#: tagged before the action when ``needNew``), its map has fired ``zoomend`` when
#: ``needZoom``, Streamlit is idle, and ``quiet`` animation frames in a row have come
#: none more than ``gapMs`` apart.
WAIT_DRAWN = """
async ({sel, needNew, needZoom, needRun, t0, timeoutMs, quiet, gapMs}) => {
  const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
  const frame = () => new Promise((resolve) => requestAnimationFrame(resolve));
  const mapFrame = () => {
    for (const f of document.querySelectorAll('iframe')) {
      try {
        const d = f.contentDocument;
        if (d && d.querySelector('.leaflet-container')) return [f.contentWindow, d];
      } catch (e) { /* another origin: not the map */ }
    }
    return [null, null];
  };
  const idle = () => {
    if (document.querySelector('[data-testid="stStatusWidget"]')) return false;
    const app = document.querySelector('[data-testid="stApp"]');
    return !!app && app.getAttribute('data-test-script-state') !== 'running';
  };
  const ready = () => {
    const [w, d] = mapFrame();
    if (!d) return false;
    const found = Array.from(d.querySelectorAll(sel)).filter((e) => !needNew || !e.__b18old);
    if (!found.length) return false;
    if (needZoom && !w.__b18zoomed) return false;
    if (needRun && !window.__b18ran) return false;
    return idle();
  };
  const deadline = t0 + timeoutMs;
  let longest = 0;
  while (true) {
    while (!ready()) {
      if (performance.now() > deadline) return {timedOut: true, end: performance.now(), longest};
      await sleep(20);
    }
    let last = await frame();
    let settled = last;
    let calm = 0;
    let stillReady = true;
    while (calm < quiet) {
      const now = await frame();
      longest = Math.max(longest, now - last);
      if (now - last > gapMs) { calm = 0; settled = now; } else { calm += 1; }
      last = now;
      if (!ready()) { stillReady = false; break; }
      if (now > deadline) return {timedOut: true, end: now, longest};
    }
    if (stillReady) {
      const [w, d] = mapFrame();
      const pane = d.querySelector('.leaflet-assetmap-sites-pane');
      return {
        timedOut: false,
        end: settled,
        longest,
        zoom: w.map ? w.map.getZoom() : null,
        canvases: pane ? pane.querySelectorAll('canvas').length : null,
        markers: d.querySelectorAll('.marker-cluster, path.assetmap-site').length,
        runStart: window.__b18runStart || null,
        runEnd: window.__b18runEnd || null,
      };
    }
  }
}
"""

#: Tags what the map draws the sites with now, and arms the ``zoomend`` flag; returns
#: ``performance.now()`` (the action's start).
MARK = """
(sel) => {
  for (const f of document.querySelectorAll('iframe')) {
    let d;
    try { d = f.contentDocument; } catch (e) { continue; }
    if (!d || !d.querySelector('.leaflet-container')) continue;
    for (const e of d.querySelectorAll(sel)) { e.__b18old = true; }
    const w = f.contentWindow;
    w.__b18zoomed = false;
    window.__b18ran = false;
    window.__b18runStart = null;
    window.__b18runEnd = null;
    const app = document.querySelector('[data-testid="stApp"]');
    if (app && !window.__b18watching) {
      new MutationObserver(() => {
        if (app.getAttribute('data-test-script-state') === 'running') {
          if (!window.__b18ran) { window.__b18runStart = performance.now(); }
          window.__b18ran = true;
        } else if (window.__b18ran) {
          window.__b18runEnd = performance.now();
        }
      }).observe(app, {attributes: true, attributeFilter: ['data-test-script-state']});
      window.__b18watching = true;
    }
    if (w.map && !w.__b18listening) {
      w.map.on('zoomend', () => { w.__b18zoomed = true; });
      w.__b18listening = true;
    }
  }
  return performance.now();
}
"""

#: Moves the map to ``[lat, lon, zoom]`` (no animation).
PAN = """
([lat, lon, zoom]) => {
  for (const f of document.querySelectorAll('iframe')) {
    let w;
    try { w = f.contentWindow; if (!w.map) continue; } catch (e) { continue; }
    w.map.setView([lat, lon], zoom, {animate: false});
    return w.map.getZoom();
  }
  return null;
}
"""

#: The map's view: ``[lat, lon, zoom]`` of its centre.
VIEW = """
() => {
  for (const f of document.querySelectorAll('iframe')) {
    let w;
    try { w = f.contentWindow; if (!w.map) continue; } catch (e) { continue; }
    const c = w.map.getCenter();
    return [c.lat, c.lng, w.map.getZoom()];
  }
  return null;
}
"""

MAP_ZOOM = """
() => {
  for (const f of document.querySelectorAll('iframe')) {
    try { if (f.contentWindow.map) return f.contentWindow.map.getZoom(); } catch (e) {}
  }
  return null;
}
"""


# ------------------------------------------------------------------------------ helpers


def load_average() -> str:
    """Return the 1, 5 and 15 minute load averages, as text."""
    return " ".join(f"{value:.2f}" for value in os.getloadavg())


def proc_memory_mb(pid: int) -> dict[str, float]:
    """Return ``VmRSS`` and ``VmHWM`` (MB) of process ``pid`` (empty if it is gone)."""
    found = {}
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            name, _, value = line.partition(":")
            if name in ("VmRSS", "VmHWM"):
                found[name] = int(value.split()[0]) / 1024
    return found


def ensure_store(folder: Path, n: int) -> tuple[Path, float | None]:
    """Return the national estate store of ``n`` sites in ``folder`` (built if missing).

    Also returns the seconds the build took (None when the store was there already).
    """
    sys.path.insert(0, str(ROOT))
    from sample_estates.national import build_national_store

    path = folder / f"national_{n}.gpkg"
    if path.exists():
        return path, None
    started = time.perf_counter()
    report = build_national_store(path, n)
    print(f"  built {path} ({report['sites']:,} sites) in {time.perf_counter() - started:.0f} s")
    return path, time.perf_counter() - started


def baseline_tree(folder: Path) -> Path:
    """Write the baseline commit's files into ``folder``/baseline; return that folder."""
    target = folder / "baseline"
    if (target / "streamlit_app.py").exists():
        return target
    target.mkdir(parents=True, exist_ok=True)
    archive = subprocess.run(
        ["git", "-C", str(ROOT), "archive", BASELINE_COMMIT],
        check=True,
        capture_output=True,
    )
    subprocess.run(["tar", "-x", "-C", str(target)], input=archive.stdout, check=True)
    return target


def log_copy(log: Path, keep: Path | None) -> Path:
    """Copy a server log out of the temporary folder (into ``keep``, else the temp dir)."""
    target = (keep or Path(tempfile.gettempdir())) / f"bench_app_scale_{log.name}"
    with contextlib.suppress(OSError):
        shutil.copy(log, target)
    return target


class MemoryWatch:
    """Samples the resident memory of a process every half second, in a thread."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.peak_rss_mb = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(0.5):
            rss = proc_memory_mb(self.pid).get("VmRSS", 0.0)
            self.peak_rss_mb = max(self.peak_rss_mb, rss)

    def now(self) -> dict[str, float]:
        """Return ``VmRSS`` and ``VmHWM`` now (MB)."""
        return proc_memory_mb(self.pid)

    def stop(self) -> None:
        """Stop sampling."""
        self._stop.set()
        self._thread.join(timeout=5)


@contextlib.contextmanager
def server(app_root: Path, store: Path, log: Path) -> Iterator[tuple[str, subprocess.Popen]]:
    """Run the app in ``app_root`` on ``store`` on a free port; yield its URL and process.

    No agency, no background tiles and no population table (empty values are unset).
    """
    env = {
        "ASSETMAP_STORE": str(store),
        "ASSETMAP_AGENCY": "",
        "ASSETMAP_TILE_URL": "",
        "ASSETMAP_TILE_ATTRIBUTION": "",
        "ASSETMAP_POPULATION": "",
        "PYTHONPATH": str(app_root),
    }
    started: list[subprocess.Popen] = []
    with streamlit_server(env, app_root=app_root, log_path=log, processes=started) as url:
        yield url, started[0]


@contextlib.contextmanager
def browser(playwright) -> Iterator:
    """Yield a Chromium context on a fresh profile (closed at the end)."""
    with tempfile.TemporaryDirectory(prefix="b18-scale-chromium-") as profile:
        context = playwright.chromium.launch_persistent_context(
            profile,
            executable_path=CHROMIUM,
            headless=True,
            args=CHROMIUM_FLAGS,
            viewport={"width": 1400, "height": 1000},
            timeout=60_000,
        )
        try:
            context.set_default_timeout(60_000)
            yield context
        finally:
            context.close()


class Traffic:
    """Counts what one page receives (CDP) and every request beyond 127.0.0.1 (aborted)."""

    def __init__(self, context, page) -> None:
        self.http = 0
        self.ws = 0
        self.ws_sent = 0
        self.external: list[str] = []
        context.route("**/*", self._route)
        self.cdp = context.new_cdp_session(page)
        self.cdp.send("Network.enable")
        self.cdp.on("Network.loadingFinished", self._finished)
        self.cdp.on("Network.webSocketFrameReceived", self._frame)
        self.cdp.on("Network.webSocketFrameSent", self._sent)
        self.cdp.on("Network.requestWillBeSent", self._request)
        self.cdp.on("Network.webSocketCreated", self._request)

    @staticmethod
    def _local(url: str) -> bool:
        if url.startswith(("data:", "blob:", "about:")):
            return True
        return (urllib.parse.urlsplit(url).hostname or "") in LOCAL_HOSTS

    def _route(self, route) -> None:
        if self._local(route.request.url):
            route.continue_()
        else:
            self.external.append(route.request.url)
            route.abort()

    def _request(self, event: dict) -> None:
        url = event.get("request", {}).get("url") or event.get("url") or ""
        if url and not self._local(url) and url not in self.external:
            self.external.append(url)

    def _finished(self, event: dict) -> None:
        self.http += int(event.get("encodedDataLength", 0))

    @staticmethod
    def _payload(event: dict) -> int:
        response = event["response"]
        data = response.get("payloadData", "")
        if response.get("opcode") == 2:  # binary: base64 in CDP
            return len(base64.b64decode(data))
        return len(data.encode())

    def _frame(self, event: dict) -> None:
        self.ws += self._payload(event)

    def _sent(self, event: dict) -> None:
        self.ws_sent += self._payload(event)

    def total(self) -> int:
        """Bytes received so far (HTTP and websocket)."""
        return self.http + self.ws


# ------------------------------------------------------------------------------ steps


def _wait(
    page, app: str, t0: float, timeout_s: float, *, new: bool, zoom: bool, run: bool = False
) -> dict:
    return page.evaluate(
        WAIT_DRAWN,
        {
            "sel": SITES_SELECTOR[app],
            "needNew": new,
            "needZoom": zoom,
            "needRun": run,
            "t0": t0,
            "timeoutMs": timeout_s * 1000,
            "quiet": 20,
            "gapMs": 100,
        },
    )


def _step(page, traffic: Traffic, app: str, action, timeout_s: float, *, zoom: bool) -> dict:
    """Do ``action`` and time it to a redrawn, idle, quiet map; with its bytes received."""
    page.wait_for_timeout(300)  # late frames of the step before count there
    before = traffic.total()
    t0 = page.evaluate(MARK, SITES_SELECTOR[app])
    action()
    new = app == "new" or not zoom  # the baseline re-clusters in the browser on zoom
    done = _wait(page, app, t0, timeout_s, new=new, zoom=zoom)
    page.wait_for_timeout(300)
    run_start, run_end = done.get("runStart"), done.get("runEnd")
    return {
        "s": (done["end"] - t0) / 1000,
        "run_start_s": None if run_start is None else (run_start - t0) / 1000,
        "run_end_s": None if run_end is None else (run_end - t0) / 1000,
        "timed_out": done["timedOut"],
        "bytes": traffic.total() - before,
        "zoom": done.get("zoom"),
        "canvases": done.get("canvases"),
        "markers": done.get("markers"),
    }


def _move(page, app: str, view: list[float] | None, timeout_s: float) -> float | None:
    """Move the map to ``view`` (``[lat, lon, zoom]``); return the seconds to redrawn and idle.

    The new app makes its sites layer again for the new view (a rerun); the baseline
    only moves in the browser.
    """
    if view is None:
        return None
    page.wait_for_timeout(300)
    t0 = page.evaluate(MARK, SITES_SELECTOR[app])
    page.evaluate(PAN, view)
    done = _wait(page, app, t0, timeout_s, new=False, zoom=False, run=app == "new")
    page.wait_for_timeout(300)
    _wait(page, app, 0.0, timeout_s * 10, new=False, zoom=False)
    return (done["end"] - t0) / 1000


def _sector_filter(page):
    return (
        page.get_by_test_id("stSidebar").get_by_test_id("stMultiSelect").filter(has_text="Sector")
    )


def _sector_labels(page) -> list[str]:
    """Return the labels of the sectors chosen in the Sector filter (its chips)."""
    chips = _sector_filter(page).locator("[data-tag], [data-baseweb='tag']")
    return [(chip.get_attribute("aria-label") or chip.inner_text()).strip() for chip in chips.all()]


def _remove_sector(page, label: str):
    def action() -> None:
        _sector_filter(page).get_by_role("button", name=f"Remove {label}", exact=True).click()

    return action


def _zoom_in(page):
    def action() -> None:
        page.frame_locator("iframe[title*='st_folium']").locator(".leaflet-control-zoom-in").click()

    return action


def _shot(page, shots: Path | None, name: str) -> None:
    if shots is not None:
        page.screenshot(path=str(shots / f"{name}.png"))


def first_map(page, app: str, url: str, timeout_s: float) -> dict:
    """Open ``url`` and time the first drawn map from navigation start."""
    page.goto(url, wait_until="commit", timeout=60_000)
    done = _wait(page, app, 0.0, timeout_s, new=False, zoom=False)
    return {"s": done["end"] / 1000, "timed_out": done["timedOut"], "zoom": done.get("zoom")}


def measure(
    playwright,
    app: str,
    url: str,
    *,
    town: str,
    zoom_to: int,
    timeout_s: float,
    shots: Path | None,
    tag: str,
) -> dict:
    """Measure one warm app in a fresh browser: first map, filter, zoom, bytes, heap."""
    result: dict = {"app": app, "town": town, "console_errors": []}
    with browser(playwright) as context:
        page = context.pages[0] if context.pages else context.new_page()
        page.on(
            "console",
            lambda m: result["console_errors"].append(m.text[:200]) if m.type == "error" else None,
        )
        traffic = Traffic(context, page)
        first = first_map(page, app, url, timeout_s)
        page.wait_for_timeout(300)
        first["bytes"] = traffic.total()
        result["first"] = first
        _shot(page, shots, f"{tag}-1-first")

        # The zoom, on the whole estate: to the town (not timed), then + a level at a time.
        home = page.evaluate(VIEW)
        result["pan_s"] = _move(page, app, home and [*TOWNS[town], home[2]], timeout_s)
        result["zoom"] = []
        zoom = page.evaluate(MAP_ZOOM) or 0
        while zoom < zoom_to and len(result["zoom"]) < 20:
            step = _step(page, traffic, app, _zoom_in(page), timeout_s, zoom=True)
            result["zoom"].append(step)
            new_zoom = step["zoom"] if step["zoom"] is not None else page.evaluate(MAP_ZOOM)
            if new_zoom is None or new_zoom <= zoom:
                break
            zoom = new_zoom
        _shot(page, shots, f"{tag}-2-zoom")

        # The filter, at the first view again (not timed): every sector but Police taken
        # out, one at a time.
        result["home_s"] = _move(page, app, home, timeout_s)
        result["filter"] = []
        for label in [text for text in _sector_labels(page) if text != KEEP_SECTOR]:
            step = _step(page, traffic, app, _remove_sector(page, label), timeout_s, zoom=False)
            step["label"] = label
            result["filter"].append(step)
        _shot(page, shots, f"{tag}-3-filter")

        heap = traffic.cdp.send("Runtime.getHeapUsage")
        result["heap_mb"] = heap["usedSize"] / 1e6
        result["perf_memory_mb"] = page.evaluate(
            "() => performance.memory ? performance.memory.usedJSHeapSize / 1e6 : null"
        )
        page.wait_for_timeout(300)
        result["http_mb"] = traffic.http / 1e6
        result["ws_mb"] = traffic.ws / 1e6
        result["ws_sent_mb"] = traffic.ws_sent / 1e6
        result["transfer_mb"] = traffic.total() / 1e6
        result["external"] = list(traffic.external)
    return result


def run_app(
    playwright,
    app: str,
    app_root: Path,
    store: Path,
    folder: Path,
    args: argparse.Namespace,
    n: int,
) -> dict:
    """Start one app on ``store``, warm it, measure it; stop it. Returns its figures."""
    log = folder / f"{app}_{n}.log"
    with server(app_root, store, log) as (url, proc):
        watch = MemoryWatch(proc.pid)
        try:
            with browser(playwright) as context:
                page = context.pages[0] if context.pages else context.new_page()
                context.route(
                    "**/*",
                    lambda route: (
                        route.continue_() if Traffic._local(route.request.url) else route.abort()
                    ),
                )
                cold = first_map(page, app, url, args.step_timeout * 4)
            after_load = watch.now()
            result = measure(
                playwright,
                app,
                url,
                town=args.town,
                zoom_to=args.zoom_to,
                timeout_s=args.step_timeout,
                shots=args.shots,
                tag=f"{app}_{n}",
            )
            after = watch.now()
        finally:
            watch.stop()
    result["cold_s"] = cold["s"]
    result["cold_timed_out"] = cold["timed_out"]
    result["rss_load_mb"] = after_load.get("VmRSS")
    result["rss_end_mb"] = after.get("VmRSS")
    result["rss_peak_mb"] = max(after.get("VmHWM", 0.0), watch.peak_rss_mb)
    result["log"] = str(log_copy(log, args.keep))
    return result


# ------------------------------------------------------------------------------ report


def _steps_summary(steps: list[dict]) -> tuple[float | None, float | None, bool]:
    if not steps:
        return None, None, False
    times = [s["s"] for s in steps]
    return sum(times) / len(times), max(times), any(s["timed_out"] for s in steps)


def figures(result: dict) -> dict[str, tuple[float | None, bool]]:
    """Return each measure's value (and whether it timed out) for the table."""
    f_mean, f_max, f_out = _steps_summary(result["filter"])
    z_mean, z_max, z_out = _steps_summary(result["zoom"])
    return {
        "cold_s": (result["cold_s"], result["cold_timed_out"]),
        "first_s": (result["first"]["s"], result["first"]["timed_out"]),
        "filter_mean_s": (f_mean, f_out),
        "filter_max_s": (f_max, f_out),
        "zoom_mean_s": (z_mean, z_out),
        "zoom_max_s": (z_max, z_out),
        "first_mb": (result["first"]["bytes"] / 1e6, False),
        "filter_mb": (sum(s["bytes"] for s in result["filter"]) / 1e6, False),
        "zoom_mb": (sum(s["bytes"] for s in result["zoom"]) / 1e6, False),
        "transfer_mb": (result["transfer_mb"], False),
        "heap_mb": (result["heap_mb"], False),
        "perf_memory_mb": (result["perf_memory_mb"], False),
        "rss_load_mb": (result["rss_load_mb"], False),
        "rss_end_mb": (result["rss_end_mb"], False),
        "rss_peak_mb": (result["rss_peak_mb"], False),
        "external": (float(len(result["external"])), False),
    }


LABELS = {
    "cold_s": "cold first map (warming), s",
    "first_s": "first map (warm server), s",
    "filter_mean_s": "filter redraw, mean s",
    "filter_max_s": "filter redraw, longest s",
    "zoom_mean_s": "zoom redraw, mean s",
    "zoom_max_s": "zoom redraw, longest s",
    "first_mb": "received: first map, MB",
    "filter_mb": "received: filter steps, MB",
    "zoom_mb": "received: zoom steps, MB",
    "transfer_mb": "received in all, MB",
    "heap_mb": "JS heap used (CDP), MB",
    "perf_memory_mb": "performance.memory used, MB",
    "rss_load_mb": "server RSS after load, MB",
    "rss_end_mb": "server RSS after steps, MB",
    "rss_peak_mb": "server RSS peak, MB",
    "external": "requests beyond 127.0.0.1",
}


def _cell(value: float | None, timed_out: bool) -> str:
    if value is None:
        return "-"
    text = f"{value:,.2f}" if value < 100 else f"{value:,.0f}"
    return (">" + text) if timed_out else text


def _step_text(step: dict) -> str:
    text = f"{_cell(step['s'], step['timed_out'])} s, {step['bytes'] / 1e6:.2f} MB"
    if step.get("run_start_s") is not None:
        text += f"; rerun from +{step['run_start_s']:.2f} s"
        if step.get("run_end_s") is not None:
            text += f" to +{step['run_end_s']:.2f} s"
    if step.get("canvases") is not None:
        text += f"; {step['canvases']} canvases in the sites pane"
    return text


def table(n: int, results: dict[str, dict]) -> None:
    """Print one estate size's figures: both apps, the ratio, and the goals."""
    new = figures(results["new"]) if "new" in results else {}
    base = figures(results["baseline"]) if "baseline" in results else {}
    goals = n >= GOAL_SIZE
    print(f"\n{n:,} sites")
    header = f"{'measure':<32}{'new':>10}{'baseline':>10}{'base/new':>10}"
    if goals:
        header += f"{'goal':>8}  result"
    print(header)
    print("-" * len(header))
    for key, label in LABELS.items():
        value, out = new.get(key, (None, False))
        old, old_out = base.get(key, (None, False))
        ratio = "-"
        if value and old is not None and key != "external":
            ratio = f"{old / value:.1f}x"
        line = f"{label:<32}{_cell(value, out):>10}{_cell(old, old_out):>10}{ratio:>10}"
        if goals and key in GOALS:
            met = value is not None and value < GOALS[key] and not out
            verdict = "-" if value is None else ("PASS" if met else "MISS")
            line += f"{'< ' + format(GOALS[key], 'g'):>8}  {verdict}"
        print(line)
    for app, result in results.items():
        print(f"  {app}: first map at zoom {result['first'].get('zoom')}")
        moved = _cell(result["pan_s"], False)
        print(f"    moved to {result['town']} (not timed as a step): {moved} s")
        for s in result["zoom"]:
            print(f"    zoom to {s['zoom']}: {_step_text(s)}")
        home = _cell(result["home_s"], False)
        print(f"    moved back to the first view (not timed as a step): {home} s")
        for s in result["filter"]:
            print(f"    filter, {s['label']} taken out: {_step_text(s)}")
        print(
            f"    HTTP {result['http_mb']:.2f} MB, websocket {result['ws_mb']:.2f} MB received "
            f"({result['ws_sent_mb']:.3f} MB sent); server log {result['log']}"
        )
        for address in sorted(set(result["external"]))[:10]:
            print(f"    external request (aborted): {address}")
        for message in sorted(set(result["console_errors"]))[:5]:
            print(f"    console error: {message}")


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; print a table per estate size."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=None)
    parser.add_argument("--quick", action="store_true", help="10,000 and 100,000 sites only")
    parser.add_argument("--keep", type=Path, help="folder to keep (and reuse) the stores in")
    parser.add_argument("--apps", nargs="+", choices=["new", "baseline"], default=None)
    parser.add_argument("--town", choices=sorted(TOWNS), default="Maidstone")
    parser.add_argument("--zoom-to", type=int, default=15, help="the last zoom level (15)")
    parser.add_argument("--step-timeout", type=float, default=120.0, help="seconds (120)")
    parser.add_argument("--shots", type=Path, help="folder for screenshots")
    args = parser.parse_args(argv)
    sizes = args.sizes or (QUICK_SIZES if args.quick else SIZES)
    apps = args.apps or ["new", "baseline"]
    from playwright.sync_api import sync_playwright

    if args.shots is not None:
        args.shots.mkdir(parents=True, exist_ok=True)
    print(f"load average at start: {load_average()} ({os.cpu_count()} cores)")
    folder = Path(tempfile.mkdtemp(prefix="bench-app-scale-"))
    try:
        stores = args.keep or folder
        stores.mkdir(parents=True, exist_ok=True)
        roots = {"new": ROOT}
        if "baseline" in apps:
            roots["baseline"] = baseline_tree(folder)
        with sync_playwright() as playwright:
            for n in sizes:
                store, _ = ensure_store(stores, n)
                results = {}
                for app in apps:
                    print(f"  {n:,} sites: {app} ...", flush=True)
                    try:
                        results[app] = run_app(playwright, app, roots[app], store, folder, args, n)
                    except Exception as exc:  # report what did finish, and why this did not
                        print(f"  {n:,} sites: {app} failed: {type(exc).__name__}: {exc}")
                table(n, results)
        print(f"\nload average at end: {load_average()}")
    finally:
        for log in folder.glob("*.log"):
            log_copy(log, args.keep)
        shutil.rmtree(folder, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
