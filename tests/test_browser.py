"""The demo report renders in a real browser: headless Chromium.

`python -m siyu demo` writes the report; Chromium opens it with the network cut
off (every host name resolves to nothing), takes a 1280x4000 screenshot and dumps the
DOM.  The page must log nothing to the console (it has no scripts, so any console
line is an error), show every section, and draw every embedded plot.  A second load
of a copy with a small probe script checks what only a browser knows: each section
is laid out with a real height, each image decoded, no resource came from outside
the page.

Skipped when no Chromium binary is found (set SIYU_CHROMIUM to its path to choose
one); CI installs Debian's ``chromium`` package.
"""
from __future__ import annotations

import html
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from siyu.report import SECTION_IDS

ROOT = Path(__file__).resolve().parents[1]
DEMO_SECTIONS = [s for s in SECTION_IDS if s not in ("data", "unit-economics", "channels")]


def find_chromium() -> str | None:
    env = os.environ.get("SIYU_CHROMIUM")
    if env:
        return env if os.path.isfile(env) else None
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable",
                 "chrome"):
        path = shutil.which(name)
        if path:
            return path
    return None


CHROMIUM = find_chromium()
pytestmark = pytest.mark.skipif(
    CHROMIUM is None, reason="no Chromium binary found (apt-get install chromium, or set "
                             "SIYU_CHROMIUM); CI runs this test")

PROBE = """
<script>
window.addEventListener("load", function () {
  var out = {sections: {}, images: [], external: []};
  %s.forEach(function (id) {
    var el = document.getElementById(id);
    var r = el ? el.getBoundingClientRect() : null;
    out.sections[id] = el ? {height: r.height, width: r.width,
                             display: getComputedStyle(el).display} : null;
  });
  Array.prototype.forEach.call(document.images, function (img) {
    out.images.push({complete: img.complete, natural: img.naturalWidth,
                     shown: img.getBoundingClientRect().width});
  });
  performance.getEntriesByType("resource").forEach(function (e) {
    if (e.name.indexOf("data:") !== 0) out.external.push(e.name);
  });
  document.body.setAttribute("data-probe", JSON.stringify(out));
});
</script>
"""


def chromium(url: str, tmp: Path, *extra: str) -> subprocess.CompletedProcess:
    # the sanitizer CI job preloads ASan into every child process: not into the browser
    env = {k: v for k, v in os.environ.items()
           if k not in ("LD_PRELOAD", "ASAN_OPTIONS", "UBSAN_OPTIONS")}
    cmd = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu",
           "--disable-background-networking", "--disable-extensions", "--no-first-run",
           "--host-resolver-rules=MAP * ~NOTFOUND", f"--user-data-dir={tmp / 'profile'}",
           "--enable-logging=stderr", "--v=0", "--window-size=1280,4000", *extra, url]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=180, env=env)


def console_errors(stderr: str) -> list[str]:
    """Lines where the page wrote to the console or threw (the report runs no scripts)."""
    return [ln for ln in stderr.splitlines()
            if ":CONSOLE" in ln or "Uncaught" in ln or "console." in ln]


@pytest.fixture(scope="module")
def demo_report(tmp_path_factory) -> Path:
    tmp = tmp_path_factory.mktemp("browser")
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    proc = subprocess.run([sys.executable, "-m", "siyu", "demo", "--out", "demo.html"],
                          capture_output=True, text=True, cwd=tmp, env=env, timeout=300)
    assert proc.returncode == 0, proc.stderr
    path = tmp / "demo.html"
    assert proc.stdout.strip().splitlines()[-1] == f"report written to {path}"
    return path


def test_demo_report_renders_in_chromium(demo_report):
    import matplotlib.image as mpimg
    import numpy as np

    tmp = demo_report.parent
    shot = tmp / "demo.png"
    proc = chromium(demo_report.as_uri(), tmp, f"--screenshot={shot}", "--dump-dom")
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert console_errors(proc.stderr) == []
    dom = proc.stdout
    for sid in DEMO_SECTIONS:
        assert f'<section id="{sid}">' in dom, sid
    assert dom.count('<img alt="') == 6
    # the screenshot: a real PNG of the styled page, not a blank or error page
    raw = shot.read_bytes()
    assert raw.startswith(b"\x89PNG\r\n\x1a\n") and len(raw) > 20_000
    img = mpimg.imread(shot)
    assert img.shape[:2] == (4000, 1280)
    rgb = img[..., :3]
    assert rgb.std() > 0.05 and len(np.unique((rgb[::8, ::8] * 255).astype(int), axis=0)) > 1
    header = rgb[2:18, 2:600].reshape(-1, 3).mean(axis=0)     # header padding: #1d3557
    assert np.allclose(header, np.array([0x1d, 0x35, 0x57]) / 255, atol=0.08), header
    body = rgb[3900:3990, 40:1240]                                  # content far down the page
    assert body.std() > 0.02


def test_sections_laid_out_and_images_decoded(demo_report):
    tmp = demo_report.parent
    text = demo_report.read_text(encoding="utf-8")
    probe = tmp / "probe.html"
    probe.write_text(text.replace("</body>", PROBE % json.dumps(DEMO_SECTIONS) + "</body>"),
                     encoding="utf-8")
    proc = chromium(probe.as_uri(), tmp, "--dump-dom")
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert console_errors(proc.stderr) == []
    m = re.search(r'data-probe="([^"]*)"', proc.stdout)
    assert m, "probe script did not run"
    res = json.loads(html.unescape(m.group(1)))
    for sid in DEMO_SECTIONS:
        box = res["sections"][sid]
        assert box is not None and box["display"] != "none", sid
        assert box["height"] > 80 and box["width"] > 600, (sid, box)
    assert len(res["images"]) == 6
    for im in res["images"]:
        assert im["complete"] and im["natural"] > 500 and im["shown"] > 500, im
    assert res["external"] == []


def test_console_scan_catches_errors(tmp_path):
    """The console check is not vacuous: a page that throws is caught."""
    bad = tmp_path / "bad.html"
    bad.write_text("<!DOCTYPE html><html><body><section id='cohorts'>x</section>"
                   "<script>undefinedFunction();</script></body></html>", encoding="utf-8")
    proc = chromium(bad.as_uri(), tmp_path, "--dump-dom")
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert any("Uncaught" in ln for ln in console_errors(proc.stderr))
