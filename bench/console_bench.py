"""The agent console in a real headless Chromium (Debian's chromium + chromedriver, Selenium) on a local stack.

What it measures, median of ROUNDS fresh page loads:
- the site's bytes: each file raw and gzipped (CloudFront compresses), what a first visit downloads;
- page load: navigation start → the sign-in form rendered (config.json fetched, modules evaluated);
- sign-in → the inbox with its data (ID token, GET /v1/me, the WebSocket opened, /v1/agents/me, my conversations
  and my queue): what an agent waits for each morning;
- the page's JavaScript heap after the inbox rendered.
Baseline in the same run: the web chat demo page (one static page and the widget's script from the same gateway)
loaded the same way, to separate the console's cost from the local gateway's and the browser's.

`python -m bench.console_bench` prints the section; `--write` replaces it in BENCHMARKS.md (`make bench` also
writes it).
"""

from __future__ import annotations

import gzip
import statistics
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
ROUNDS = 7
TITLE = "## 8c. Agent console (bytes, load and sign-in times in headless Chromium)"


def assets() -> list[tuple[str, int, int]]:
    from infra import console_site

    return [(p.name, len(p.read_bytes()), len(gzip.compress(p.read_bytes(), 9))) for p in console_site.files()]


def _ms(driver: Any, script: str, timeout: float = 30.0) -> float:
    """Milliseconds until the JavaScript expression is truthy, measured in the page (performance.now)."""
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        if driver.execute_script(f"return Boolean({script})"):
            return float(driver.execute_script("return performance.now()"))
        time.sleep(0.005)
    raise TimeoutError(script)


def run() -> dict[str, Any]:
    from infra.local.stack import LocalStack
    from tests.integration.console_browser import chrome

    stack = LocalStack(schedules=False).start()
    stack.seed_web_and_email()  # the web chat demo page (the baseline) needs its channel
    driver = chrome()
    load, sign_in, heap, baseline, requests = [], [], [], [], []
    try:
        for _ in range(ROUNDS):
            driver.get(f"{stack.url}/demo/webchat")
            baseline.append(_ms(driver, "window.OmniChat && window.OmniChat._root"))
            driver.get("about:blank")
            driver.get(f"{stack.url}/console/")
            driver.execute_script("sessionStorage.clear(); localStorage.setItem('console.lang', 'es')")
            driver.refresh()
            load.append(_ms(driver, "document.querySelector('[data-testid=email]')"))
            started = float(driver.execute_script(
                "document.querySelector('[data-testid=email]').value = 'ana@demo.local';"
                "const t = performance.now(); document.querySelector('[data-testid=sign-in-submit]').click();"
                "return t"))
            done = _ms(driver, "document.querySelector('#main').dataset.mine !== undefined && "
                               "document.querySelector('#live.on')")
            sign_in.append(done - started)
            heap.append(float(driver.execute_script(
                "return performance.memory ? performance.memory.usedJSHeapSize : 0")))
            requests.append(int(driver.execute_script("return performance.getEntriesByType('resource').length")))
    finally:
        driver.quit()
        stack.stop()
    return {"assets": assets(), "load_ms": statistics.median(load), "sign_in_ms": statistics.median(sign_in),
            "heap_mb": statistics.median(heap) / 2**20, "baseline_ms": statistics.median(baseline),
            "requests": statistics.median(requests), "rounds": ROUNDS}


def markdown(r: dict[str, Any]) -> list[str]:
    raw = sum(a[1] for a in r["assets"])
    zipped = sum(a[2] for a in r["assets"])
    lines = [TITLE, "",
             f"`python -m bench.console_bench` (also `make bench`): a local stack and Debian's headless Chromium "
             f"driven by Selenium, median of {r['rounds']} fresh loads. Baseline, same run: the web chat demo page "
             "(a static page and the widget's script from the same local gateway).", "",
             "| file | bytes | gzipped |", "|---|---|---|"]
    lines += [f"| {name} | {size:,} | {gz:,} |" for name, size, gz in r["assets"]]
    lines += [f"| **total** | **{raw:,}** | **{zipped:,}** |", "",
              "| what | median |", "|---|---|",
              f"| console: navigation → sign-in form rendered (config.json, 6 modules) | {r['load_ms']:.0f} ms |",
              f"| console: sign-in → inbox with data (token, /v1/me, WebSocket open, my presence, conversations, "
              f"queue) | {r['sign_in_ms']:.0f} ms |",
              f"| console: JavaScript heap after the inbox rendered | {r['heap_mb']:.1f} MB |",
              f"| console: resources fetched by the page (modules, config, API calls) | {r['requests']:.0f} |",
              f"| baseline: web chat demo page → widget ready | {r['baseline_ms']:.0f} ms |", "",
              "Locally every API call runs the real handlers in one Python process behind a single-threaded HTTP "
              "lock, so the sign-in figure is dominated by the local gateway, not the page; in AWS the same calls "
              "go to separate Lambda functions through CloudFront.", ""]
    return lines


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    outcome = run()
    section = markdown(outcome)
    print("\n".join(section))
    if "--write" in sys.argv:
        from bench.run import splice

        splice(section)
