"""Analysis pages at a national scale (issue #18, item 4): each page in Chromium, against today's.

Issue #18 item 4 asks that co-location, density by locality, the candidates for a space
request and the place summary of a 1,000,000-site national estate stay within the time of
a page load, and that no page makes the user wait more than 3 s without a progress
indicator. This script measures both, page by page.

For each estate size (``--sizes``, 100,000 and 1,000,000 sites by default) the national
estate of England and Wales (``sample_estates/national.py``, fixed seed; no sample
estate) is built, or reused from ``--keep DIR``, by ``bench_app_scale.ensure_store``.
Each app (``--apps``: ``new``, this tree; ``baseline``, commit ``5f4caa3``, taken with
``git archive``) runs on it as ``streamlit run streamlit_app.py`` through
``bench_app_scale.server`` (``$ASSETMAP_STORE`` naming the store, no agency: a
signed-out local viewer, no tiles, no population table). The server is warmed by one load
of the Map page in its own browser (waited for until the map is drawn); no analysis page
has run yet. Then, page by page, in a fresh Chromium profile each time (Debian's
``/usr/bin/chromium`` driven by Playwright, as in ``bench_app_scale``), the Map page is
opened (not timed) and:

1. **Co-location**: the navigation entry "Co-location" clicked (default 400 m, the whole
   estate); timed to the cluster table (``stDataFrame``) and the first cluster's map
   (``path.leaflet-interactive`` in the st_folium iframe) drawn and Streamlit idle;
2. **Density**: "Density" clicked (default localities, the whole estate: the districts);
   timed to the choropleth (``path.leaflet-interactive``; from 2,000 localities in view
   its canvas, from 5,000 the image they are painted as), its class and place summary
   tables drawn and idle. With ``--density-level 'LSOA (2011)'`` the page's "Localities"
   are then set to that level, and the page's figure is the time from that choice to a
   new choropleth drawn and idle;
3. **Space**: "Space" clicked (timed as the page's opening), then the request form filled
   in (40,000 sq ft, the default use, near ``--postcode``, ME14 1HS in Maidstone by
   default; the other fields as the form gives them) and "Find space" clicked; timed
   from the click to the ranked candidates (``stDataFrame``, or the page's "No offer
   fits" warning) and the offers map (``path.assetmap-request``) drawn and idle;
4. **National overview**: "National overview" clicked; timed to its district map and
   ranked table drawn and idle (the baseline has no such page: "-");
5. **Place**: on the Map page, the sidebar's place picker set to "District" (timed as
   its own step: choosing the level reruns the page), then the locality ``--district``
   (Maidstone) chosen from it; timed from that choice to a new sites layer on the map
   (``bench_app_scale.SITES_SELECTOR``: hexagons or points, or the baseline's cluster
   icons, not those there before), the "Sites shown" metric and Streamlit idle.

"Drawn and idle" is as in ``bench_app_scale``: the page's elements are there, no
``stStatusWidget``, the app's script state not ``running``, a rerun started since the
action, and 20 animation frames in a row none more than 100 ms apart (the time is that
of the last long frame). A Streamlit exception (``stException``) or an error message
ends the wait and is reported.

Each page is visited twice: the **first visit** pays the page's analysis (no one has
run it on this server), the **second visitor** (another fresh browser) finds the
caches warm. The server's resident memory (``VmRSS``) is read after both visits.

**Longest wait without progress**: every 100 ms, from the action on, the page records
whether Streamlit is running (the script state) and whether a progress indicator is
visible: a ``stSpinner`` (``st.spinner`` and the caches' ``show_spinner``), a
``stProgress`` bar, a running ``st.status`` (its ``stExpanderIconSpinner``) or a
``stToast``. Streamlit's own top-right "Running..." (``stStatusWidget``) and the faded
stale page do NOT count. The longest stretch during which Streamlit was running with
no indicator visible is reported per visit (over every step of it: the page's opening
and the action), and over 3 s is flagged MISS. A second figure, the longest stretch of
the whole wait (from the action to drawn, so also the browser's drawing after the run)
with no indicator, is given in the details. The samples are taken by a timer in the
page: a main thread too busy to run it shows as one long stretch, counted without
progress when the sample before it had none.

A table per size gives, per page and app: first visit s, second visitor s, longest
wait without progress s (first and second) with PASS/MISS, and server RSS after; then
the ratio baseline/new per page, and the load average at the start and the end (the
machine is shared). It is a report: nothing is asserted. A step that does not finish
within ``--step-timeout`` seconds is shown as ``>N``.

Run from the project root::

    python benchmarks/bench_pages_scale.py --keep /tmp/c18/keep                 # both sizes
    python benchmarks/bench_pages_scale.py --keep /tmp/c18/keep --sizes 100000 --apps new
    python benchmarks/bench_pages_scale.py --keep /tmp/c18/keep --sizes 1000000 --apps new
    python benchmarks/bench_pages_scale.py --keep /tmp/c18/keep --shots /tmp/p18-shots

At 100,000 sites one app takes about 3 minutes; at 1,000,000 the new app about 10 (with
the national boundaries already built on the machine); the baseline at 1,000,000 takes
much longer (its Map page alone takes minutes: cap it with ``--step-timeout``). Every
server and browser is stopped at the end, also on failure. ``--shots DIR`` saves a
screenshot of each visit when it is done (look at them for exceptions).
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from bench_app_scale import (  # noqa: E402 (the app-scale benchmark's helpers)
    SITES_SELECTOR,
    MemoryWatch,
    Traffic,
    baseline_tree,
    browser,
    ensure_store,
    first_map,
    load_average,
    log_copy,
    server,
)

SIZES = [100_000, 1_000_000]
#: No page may keep the user waiting longer than this without a progress indicator (s).
NO_PROGRESS_LIMIT_S = 3.0
#: The pages, in the order they are measured: key -> (title in the table, navigation entry).
PAGES = {
    "colocation": ("Co-location", "Co-location"),
    "density": ("Density", "Density"),
    "space": ("Space: candidates", "Space"),
    "overview": ("National overview", "National overview"),
    "place": ("Map: place summary", None),
}
#: Pages an app does not have (the baseline commit had no National overview).
MISSING = {"baseline": {"overview"}}

#: What counts as a visible progress indicator (not Streamlit's own "Running...").
INDICATORS = (
    '[data-testid="stSpinner"], [data-testid="stProgress"], '
    '[data-testid="stExpanderIconSpinner"], [data-testid="stToast"]'
)

#: Starts (or restarts) sampling every 100 ms: Streamlit running, an indicator visible;
#: watches the script state for a rerun since now; returns ``performance.now()``.
START = """
(indicators) => {
  const app = () => document.querySelector('[data-testid="stApp"]');
  const running = () => {
    const a = app();
    return !!a && a.getAttribute('data-test-script-state') === 'running';
  };
  const shown = (e) => {
    const r = e.getBoundingClientRect();
    if (r.width <= 0 || r.height <= 0) return false;
    const s = getComputedStyle(e);
    return s.visibility !== 'hidden' && s.display !== 'none' && Number(s.opacity) > 0.05;
  };
  const indicator = () => {
    for (const e of document.querySelectorAll(indicators)) {
      if (shown(e)) return e.getAttribute('data-testid');
    }
    return null;
  };
  if (window.__p18timer) clearInterval(window.__p18timer);
  window.__p18samples = [];
  const sample = () => {
    window.__p18samples.push([performance.now(), running(), indicator()]);
  };
  window.__p18ran = false;
  window.__p18runs = 0;
  if (!window.__p18watching && app()) {
    new MutationObserver(() => {
      if (running()) { window.__p18ran = true; window.__p18runs += 1; }
    }).observe(app(), {attributes: true, attributeFilter: ['data-test-script-state']});
    window.__p18watching = true;
  }
  window.__p18timer = setInterval(sample, 100);
  sample();
  return performance.now();
}
"""

#: Stops sampling; returns the samples ``[t, running, indicator]``.
STOP = """
() => {
  if (window.__p18timer) clearInterval(window.__p18timer);
  window.__p18timer = null;
  const s = window.__p18samples || [];
  s.push([performance.now(),
          (document.querySelector('[data-testid="stApp"]') || {getAttribute: () => ''})
            .getAttribute('data-test-script-state') === 'running', null]);
  return s;
}
"""

#: Tags the map's elements matching ``sel`` now (a new sites layer is told by their absence).
MARK_OLD = """
(sel) => {
  for (const f of document.querySelectorAll('iframe')) {
    let d;
    try { d = f.contentDocument; } catch (e) { continue; }
    if (!d) continue;
    for (const e of d.querySelectorAll(sel)) { e.__p18old = true; }
  }
}
"""

#: Resolves when the page is drawn and idle after ``t0`` (see the module docstring):
#: every ``[selector, count]`` of ``need`` matched in the main area (or ``alt``'s text
#: there instead), ``mapSel`` matched (new elements only when ``needNew``) in a map
#: iframe, a rerun started since ``t0`` when ``needRun``; an exception or error message
#: with Streamlit idle ends it too.
WAIT = """
async ({need, alt, mapSel, needNew, needRun, t0, timeoutMs, quiet, gapMs}) => {
  const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
  const frame = () => new Promise((resolve) => requestAnimationFrame(resolve));
  const main = () => document.querySelector('[data-testid="stMain"]') || document.body;
  const idle = () => {
    if (document.querySelector('[data-testid="stStatusWidget"]')) return false;
    const app = document.querySelector('[data-testid="stApp"]');
    return !!app && app.getAttribute('data-test-script-state') !== 'running';
  };
  const errors = () => Array.from(document.querySelectorAll(
    '[data-testid="stException"], [data-testid="stAlertContentError"]'
  )).map((e) => e.innerText.slice(0, 300));
  const mapDrawn = () => {
    if (!mapSel) return true;
    for (const f of document.querySelectorAll('iframe')) {
      let d;
      try { d = f.contentDocument; } catch (e) { continue; }
      if (!d || !d.querySelector('.leaflet-container')) continue;
      const found = Array.from(d.querySelectorAll(mapSel)).filter((e) => !needNew || !e.__p18old);
      if (found.length) return true;
    }
    return false;
  };
  const drawn = () => {
    const m = main();
    const have = need.every(([sel, n]) => m.querySelectorAll(sel).length >= n);
    const instead = alt && m.innerText.includes(alt);
    return (have || instead) && mapDrawn();
  };
  const ready = () => {
    if (needRun && !window.__p18ran) return false;
    if (!idle()) return false;
    return drawn() || errors().length > 0;
  };
  const deadline = t0 + timeoutMs;
  while (true) {
    while (!ready()) {
      if (performance.now() > deadline) {
        return {timedOut: true, end: performance.now(), errors: errors()};
      }
      await sleep(20);
    }
    let last = await frame();
    let settled = last;
    let calm = 0;
    let stillReady = true;
    while (calm < quiet) {
      const now = await frame();
      if (now - last > gapMs) { calm = 0; settled = now; } else { calm += 1; }
      last = now;
      if (!ready()) { stillReady = false; break; }
      if (now > deadline) return {timedOut: true, end: now, errors: errors()};
    }
    if (stillReady) {
      return {timedOut: false, end: settled, errors: errors(), runs: window.__p18runs};
    }
  }
}
"""


# ------------------------------------------------------------------------------ waits


def longest_without_progress(samples: list, *, running_only: bool) -> float:
    """Return the longest stretch (s) of ``samples`` without a visible indicator.

    ``samples`` are ``[t_ms, running, indicator]`` in time order. A stretch starts at a
    sample with no indicator (and Streamlit running, when ``running_only``) and lasts to
    the next sample that is not such: a gap between samples (a busy main thread) counts
    as the state of the sample before it.
    """
    longest = 0.0
    start = None
    for t, running, indicator in samples:
        waiting = indicator is None and (running or not running_only)
        if waiting and start is None:
            start = t
        elif not waiting and start is not None:
            longest = max(longest, t - start)
            start = None
    if start is not None and samples:
        longest = max(longest, samples[-1][0] - start)
    return longest / 1000


def _wait(page, t0: float, timeout_s: float, **spec) -> dict:
    args = {
        "need": [],
        "alt": None,
        "mapSel": None,
        "needNew": False,
        "needRun": True,
        "t0": t0,
        "timeoutMs": timeout_s * 1000,
        "quiet": 20,
        "gapMs": 100,
    }
    args.update(spec)
    return page.evaluate(WAIT, args)


def timed(page, action, timeout_s: float, *, mark: str | None = None, **spec) -> dict:
    """Do ``action`` and time it to the page drawn (``spec``) and idle; with its waits."""
    page.wait_for_timeout(300)
    if mark:
        page.evaluate(MARK_OLD, mark)
    t0 = page.evaluate(START, INDICATORS)
    started = time.perf_counter()
    error = None
    try:
        action()
        done = _wait(page, t0, timeout_s, **spec)
    except Exception as exc:  # the step failed: report it, keep the timer's figure
        error = f"{type(exc).__name__}: {str(exc).splitlines()[0][:200]}"
        done = {
            "timedOut": True,
            "end": t0 + (time.perf_counter() - started) * 1000,
            "errors": [error],
        }
    samples = page.evaluate(STOP)
    upto = [s for s in samples if s[0] <= done["end"]] or samples[:1]
    seen = sorted({s[2] for s in samples if s[2]})
    return {
        "s": (done["end"] - t0) / 1000,
        "timed_out": bool(done["timedOut"]),
        "errors": list(done.get("errors") or []),
        "no_progress_run_s": longest_without_progress(samples, running_only=True),
        "no_progress_wait_s": longest_without_progress(upto, running_only=False),
        "indicators": seen,
        "failed": error,
    }


# ------------------------------------------------------------------------------ pages


def _nav(page, entry: str):
    def action() -> None:
        page.get_by_test_id("stSidebar").get_by_role("link", name=entry, exact=True).click()

    return action


def _click_button(page, name: str):
    def action() -> None:
        page.get_by_role("button", name=name, exact=True).click()

    return action


def _choose_in_sidebar(
    page, label: str, option: str, *, typed: str | None = None, where: str = "stSidebar"
):
    def action() -> None:
        box = page.get_by_test_id(where).get_by_role("combobox", name=label)
        box.click()
        if typed:
            page.keyboard.type(typed)
        page.get_by_role("option", name=option, exact=True).first.click()

    return action


#: A map's shapes: SVG paths, the canvas a layer of many shapes is painted on, or the
#: image thousands of localities are painted as.
MAP_PATHS = "path.leaflet-interactive, .leaflet-overlay-pane canvas, img.assetmap-choropleth-image"


def visit(page, key: str, app: str, args: argparse.Namespace) -> list[tuple[str, dict]]:
    """Do one page's steps on the drawn Map page; return ``(step, figures)`` in order.

    The last step is the one timed as the page's figure.
    """
    t = args.step_timeout
    frame = ["[data-testid='stDataFrame']", 1]
    if key == "colocation":
        return [("open", timed(page, _nav(page, "Co-location"), t, need=[frame], mapSel=MAP_PATHS))]
    if key == "density":
        need = [["[data-testid='stDataFrame']", 2]]
        steps = [("open", timed(page, _nav(page, "Density"), t, need=need, mapSel=MAP_PATHS))]
        if args.density_level:  # another level than the page's default, timed from the choice
            choose = _choose_in_sidebar(page, "Localities", args.density_level, where="stMain")
            spec = {"need": need, "mapSel": MAP_PATHS, "mark": MAP_PATHS, "needNew": True}
            steps.append((args.density_level, timed(page, choose, t, **spec)))
        return steps
    if key == "overview":
        spec = {"need": [frame], "mapSel": MAP_PATHS}
        return [("open", timed(page, _nav(page, "National overview"), t, **spec))]
    if key == "space":
        opened = timed(page, _nav(page, "Space"), t, need=[["button", 1]], alt="Find space")
        steps = [("open", opened)]
        try:
            box = page.get_by_role("textbox", name="Near postcode", exact=True)
            box.fill(args.postcode)
            sqft = page.get_by_role("spinbutton", name="Space needed (sq ft)")
            sqft.fill(str(args.sqft))
        except Exception as exc:  # the form is not there: the step below says so
            print(f"    space form: {type(exc).__name__}: {str(exc).splitlines()[0][:200]}")
        spec = {"need": [frame], "alt": "No offer fits", "mapSel": "path.assetmap-request"}
        steps.append(("find space", timed(page, _click_button(page, "Find space"), t, **spec)))
        return steps
    if key == "place":
        sites = SITES_SELECTOR[app]
        metric = [["[data-testid='stMetric']", 1]]
        level = timed(
            page,
            _choose_in_sidebar(page, "Place", "District"),
            t,
            need=metric,
            mapSel=sites,
        )
        chosen = timed(
            page,
            _choose_in_sidebar(page, "Locality", args.district, typed=args.district),
            t,
            mark=sites,
            need=metric,
            mapSel=sites,
            needNew=True,
        )
        return [("level District", level), (args.district, chosen)]
    raise ValueError(key)


def one_visit(playwright, key: str, app: str, url: str, args, tag: str) -> dict:
    """Open the Map page in a fresh browser, then do the page's steps; return the figures."""
    result: dict = {"console_errors": []}
    with browser(playwright) as context:
        page = context.pages[0] if context.pages else context.new_page()
        page.on(
            "console",
            lambda m: result["console_errors"].append(m.text[:200]) if m.type == "error" else None,
        )
        traffic = Traffic(context, page)
        opened = first_map(page, app, url, args.step_timeout * 2)
        result["map_s"] = opened["s"]
        result["map_timed_out"] = opened["timed_out"]
        started = traffic.total()
        try:
            result["steps"] = visit(page, key, app, args)
        except Exception as exc:  # a step could not even start
            result["steps"] = []
            result["failed"] = f"{type(exc).__name__}: {str(exc).splitlines()[0][:200]}"
        result["mb"] = (traffic.total() - started) / 1e6
        result["external"] = list(traffic.external)
        if args.shots is not None:
            page.screenshot(path=str(args.shots / f"{tag}.png"), full_page=True)
    return result


def run_app(playwright, app: str, app_root: Path, store: Path, folder: Path, args, n: int) -> dict:
    """Start one app, warm it (the Map page once), visit each page twice; stop it."""
    log = folder / f"pages_{app}_{n}.log"
    results: dict = {"pages": {}}
    with server(app_root, store, log) as (url, proc):
        watch = MemoryWatch(proc.pid)
        try:
            with browser(playwright) as context:
                page = context.pages[0] if context.pages else context.new_page()
                cold = first_map(page, app, url, args.step_timeout * 4)
            results["cold_s"], results["cold_timed_out"] = cold["s"], cold["timed_out"]
            results["rss_warm_mb"] = watch.now().get("VmRSS")
            print(f"    warm: Map page in {cold['s']:.1f} s", flush=True)
            for key in args.pages:
                if key in MISSING.get(app, set()):
                    continue
                figures: dict = {}
                for visit_name in ("first", "second"):
                    tag = f"{app}_{n}_{key}_{visit_name}"
                    try:
                        figures[visit_name] = one_visit(playwright, key, app, url, args, tag)
                    except Exception as exc:  # report what did finish, and why this did not
                        figures[visit_name] = {
                            "steps": [],
                            "failed": f"{type(exc).__name__}: {str(exc).splitlines()[0][:200]}",
                        }
                    summary = _visit_line(figures[visit_name])
                    print(f"    {key} {visit_name}: {summary}", flush=True)
                figures["rss_mb"] = watch.now().get("VmRSS")
                results["pages"][key] = figures
            results["rss_peak_mb"] = max(watch.now().get("VmHWM", 0.0), watch.peak_rss_mb)
        finally:
            watch.stop()
    results["log"] = str(log_copy(log, args.keep))
    return results


# ------------------------------------------------------------------------------ report


def _cell(value: float | None, timed_out: bool = False) -> str:
    if value is None:
        return "-"
    text = f"{value:,.1f}" if value < 1000 else f"{value:,.0f}"
    return (">" + text) if timed_out else text


def visit_figures(figures: dict | None) -> tuple[float | None, bool, float | None]:
    """Return the visit's time (its last step), whether it timed out, its longest no-progress."""
    if not figures or not figures.get("steps"):
        return None, False, None
    _, last = figures["steps"][-1]
    worst = max(step["no_progress_run_s"] for _, step in figures["steps"])
    return last["s"], last["timed_out"] or bool(last.get("failed")), worst


def _visit_line(figures: dict) -> str:
    if figures.get("failed") and not figures.get("steps"):
        return f"failed: {figures['failed']}"
    parts = []
    for name, step in figures["steps"]:
        text = (
            f"{name} {_cell(step['s'], step['timed_out'])} s "
            f"(no progress: {step['no_progress_run_s']:.1f} s running, "
            f"{step['no_progress_wait_s']:.1f} s of the wait; "
            f"indicators {', '.join(step['indicators']) or 'none'})"
        )
        if step.get("failed"):
            text += f" FAILED {step['failed']}"
        for message in step["errors"][:2]:
            text += f" ERROR ON PAGE: {' '.join(message.split())[:200]}"
        parts.append(text)
    return "; ".join(parts)


def _size_table(results: dict[str, dict], pages: list[str]) -> None:
    header = (
        f"{'page':<20}{'app':<10}{'first s':>9}{'second s':>10}"
        f"{'no-progress 1st/2nd s':>24}{'<3 s':>6}{'RSS after MB':>14}"
    )
    print(header)
    print("-" * len(header))
    for key in pages:
        for app, result in results.items():
            figures = result["pages"].get(key)
            if figures is None:
                print(f"{PAGES[key][0]:<20}{app:<10}{'-':>9}{'-':>10}{'(no such page)':>24}")
                continue
            first, first_out, np1 = visit_figures(figures.get("first"))
            second, second_out, np2 = visit_figures(figures.get("second"))
            worst = [v for v in (np1, np2) if v is not None]
            verdict = "-" if not worst else ("MISS" if max(worst) > NO_PROGRESS_LIMIT_S else "PASS")
            waits = f"{_cell(np1)} / {_cell(np2)}"
            print(
                f"{PAGES[key][0]:<20}{app:<10}{_cell(first, first_out):>9}"
                f"{_cell(second, second_out):>10}{waits:>24}{verdict:>6}"
                f"{_cell(figures.get('rss_mb')):>14}"
            )


def _ratios(results: dict[str, dict], pages: list[str]) -> None:
    if not {"new", "baseline"} <= set(results):
        return
    print("ratio baseline/new (first visit; second visitor):")
    for key in pages:
        cells = []
        for visit_name in ("first", "second"):
            old = results["baseline"]["pages"].get(key, {}).get(visit_name)
            new = results["new"]["pages"].get(key, {}).get(visit_name)
            (o, o_out, _), (v, _, _) = visit_figures(old), visit_figures(new)
            cells.append(f"{'>' if o_out else ''}{o / v:.1f}x" if o and v else "-")
        print(f"  {PAGES[key][0]:<20}{cells[0]:>8}; {cells[1]}")


def _details(app: str, result: dict) -> None:
    cold = _cell(result.get("cold_s"), result.get("cold_timed_out", False))
    warm, peak = _cell(result.get("rss_warm_mb")), _cell(result.get("rss_peak_mb"))
    print(
        f"  {app}: warming Map page {cold} s; server RSS warm {warm} MB, peak {peak} MB; "
        f"log {result.get('log')}"
    )
    for key, figures in result["pages"].items():
        for visit_name in ("first", "second"):
            v = figures.get(visit_name) or {}
            opened = _cell(v.get("map_s"), v.get("map_timed_out", False))
            print(
                f"    {key} {visit_name} (Map page opened in {opened} s, "
                f"{v.get('mb', 0.0):.1f} MB received after): {_visit_line(v)}"
            )
            for message in sorted(set(v.get("console_errors", [])))[:3]:
                print(f"      console error: {message}")
            for address in sorted(set(v.get("external", [])))[:3]:
                print(f"      external request (aborted): {address}")


def table(n: int, results: dict[str, dict], pages: list[str]) -> None:
    """Print one estate size's table, the ratios and every visit's details."""
    print(f"\n{n:,} sites")
    _size_table(results, pages)
    _ratios(results, pages)
    for app, result in results.items():
        _details(app, result)


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; print a table per estate size."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=SIZES)
    parser.add_argument("--keep", type=Path, help="folder to keep (and reuse) the stores in")
    parser.add_argument("--apps", nargs="+", choices=["new", "baseline"], default=None)
    parser.add_argument("--pages", nargs="+", choices=list(PAGES), default=list(PAGES))
    parser.add_argument("--postcode", default="ME14 1HS", help="the request's postcode")
    parser.add_argument("--sqft", type=int, default=40_000, help="the space asked for (sq ft)")
    parser.add_argument(
        "--density-level",
        help="also choose these localities on the Density page, e.g. 'LSOA (2011)' "
        "(the page's figure is then that choice; default: the page's own level only)",
    )
    parser.add_argument("--district", default="Maidstone", help="the place chosen (a district)")
    parser.add_argument("--step-timeout", type=float, default=180.0, help="seconds (180)")
    parser.add_argument("--shots", type=Path, help="folder for screenshots")
    args = parser.parse_args(argv)
    apps = args.apps or ["new", "baseline"]
    from playwright.sync_api import sync_playwright

    if args.shots is not None:
        args.shots.mkdir(parents=True, exist_ok=True)
    print(f"load average at start: {load_average()} ({os.cpu_count()} cores)")
    print(f"started {time.strftime('%Y-%m-%d %H:%M:%S')}; {' '.join(sys.argv)}")
    folder = Path(tempfile.mkdtemp(prefix="bench-pages-scale-"))
    try:
        stores = args.keep or folder
        stores.mkdir(parents=True, exist_ok=True)
        roots = {"new": ROOT}
        if "baseline" in apps:
            roots["baseline"] = baseline_tree(folder)
        with sync_playwright() as playwright:
            for n in args.sizes:
                store, _ = ensure_store(stores, n)
                results = {}
                for app in apps:
                    print(f"  {n:,} sites: {app} ...", flush=True)
                    started = time.perf_counter()
                    try:
                        results[app] = run_app(playwright, app, roots[app], store, folder, args, n)
                    except Exception as exc:  # report what did finish, and why this did not
                        print(f"  {n:,} sites: {app} failed: {type(exc).__name__}: {exc}")
                    print(f"  {n:,} sites: {app} took {time.perf_counter() - started:.0f} s")
                table(n, results, args.pages)
        print(f"\nload average at end: {load_average()}")
        print(f"ended {time.strftime('%Y-%m-%d %H:%M:%S')}")
    finally:
        for log in folder.glob("*.log"):
            log_copy(log, args.keep)
        shutil.rmtree(folder, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
