"""The self-contained HTML report (evotune/report/_html.py, _html_parts.py):
its sections, its escaping, its errors, ``evotune report --html``, and the page
opened in a real headless Chromium from a copied folder with no network."""

from __future__ import annotations

import base64
import html
import math
import os
import shutil
import subprocess
import sys
import warnings
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path

import pytest

from evotune import Categorical, Float, Integer, MedianPruner, Space, evolve, report_step
from evotune.cli import main
from evotune.loop import AllFailedError
from evotune.report import ReportError, load_run, write_html

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
ALWAYS = ["summary", "leaderboard", "progress", "parameters", "importance", "parallel"]
ALWAYS += ["timeline", "settings"]
FIGURES = ["progress", "parameters", "importance", "parallel", "timeline"]

SPACE = Space(
    {
        "x": Float(-2.0, 2.0),
        "lr": Float(1e-4, 1.0, log=True),
        "kernel": Categorical(["rbf", "poly"]),
        "degree": Integer(2, 5, when={"kernel": "poly"}),
    }
)

NAME = '<script>alert("name")</script>'
AMP = "a&b'\""
CHOICE = "<img src=x onerror=alert(1)>"
BREAKOUT = "</td></tr></table><h1>x"
ERROR = "<b>boom</b> & <script>alert(2)</script>"


def objective(p):
    if p["x"] > 1.2:
        raise ValueError("x too large")
    return -((p["x"] - 0.3) ** 2) - (math.log10(p["lr"]) + 2) ** 2 + 0.1 * p.get("degree", 0)


def trains(p):
    value = 0.0
    for step in range(8):
        value = p["x"] * (1 - math.exp(-(step + 1) / 3))
        report_step(step, value)
    return value


def hostile(p):
    if p[NAME] > 0.8:
        raise ValueError(ERROR)
    return p[NAME] + (p[AMP] == CHOICE)


def _quiet_evolve(fn, space, path, **kw):
    settings = {"population_size": 8, "generations": 3, "random_state": 0, **kw}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the failures' warnings: expected here
        evolve(fn, space, checkpoint=path, **settings)
    return path


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("html_runs")
    return {
        "single": _quiet_evolve(objective, SPACE, root / "single"),
        "multi": _quiet_evolve(
            objective,
            SPACE,
            root / "multi",
            strategy="ga",
            objectives={"score": "maximize", "fit_time": "minimize"},
        ),
        "steps": _quiet_evolve(
            trains, {"x": Float(0.0, 1.0)}, root / "steps", prune=MedianPruner(n_min_evaluations=3)
        ),
        "hostile": _quiet_evolve(
            hostile, Space({NAME: Float(0, 1), AMP: Categorical([CHOICE, BREAKOUT])}), root / "h"
        ),
    }


@pytest.fixture(scope="module")
def pages(runs, tmp_path_factory):
    """Each run's report.html, written once for the module."""
    return {
        name: write_html(path, tmp_path_factory.mktemp(f"page_{name}"))
        for name, path in runs.items()
    }


class _Tags(HTMLParser):
    """Every start tag with its attributes, and the text, of a page."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data):
        self.text.append(data)


def _parse(page: Path) -> _Tags:
    parser = _Tags()
    parser.feed(page.read_text(encoding="utf-8"))
    return parser


def _section_ids(tags: _Tags) -> list[str]:
    return [
        a["id"].removeprefix("section-") for t, a in tags.tags if t == "section" and a.get("id")
    ]


def _check_self_contained(tags: _Tags) -> None:
    """No script, nothing loaded from anywhere: every src a PNG data: URI, every
    link a fragment of the page itself."""
    names = {t for t, _ in tags.tags}
    assert not names & {"script", "link", "iframe", "object", "embed", "base", "form"}
    for tag, attrs in tags.tags:
        assert not [a for a in attrs if a.startswith("on")], (tag, attrs)
        if "src" in attrs:
            assert tag == "img" and attrs["src"].startswith("data:image/png;base64,")
            assert base64.b64decode(attrs["src"].split(",", 1)[1]).startswith(PNG_SIGNATURE)
        if "href" in attrs:
            assert attrs["href"].startswith("#section-"), attrs
        if tag == "img":
            assert attrs.get("id", "").startswith("fig-") and attrs.get("alt"), attrs


# ------------------------------------------------------------------ the page
def test_single_objective_page(pages, runs):
    tags = _parse(pages["single"])
    _check_self_contained(tags)
    assert _section_ids(tags) == ALWAYS
    imgs = [a["id"] for t, a in tags.tags if t == "img"]
    assert imgs == [f"fig-{name}" for name in FIGURES]
    text = "".join(tags.text)
    assert "evotune report: single" in text
    assert "run created 20" in text and "report written 20" in text
    assert "importance among evaluated candidates" in text
    # every section has a heading; the leaderboard has its top 10 rows, failed rows tinted
    assert text.count("Leaderboard (top 10)") == 1
    rows = [a for t, a in tags.tags if t == "tr"]
    run = load_run(runs["single"])
    assert run.n_failed > 0
    settings = len(run.meta["settings"]) - _unset(run) + len(run.space) + _folded(run)
    assert len(rows) == 1 + 10 + 7 + settings
    page = pages["single"].read_text(encoding="utf-8")
    assert page.count("<h2>") == len(ALWAYS)
    assert "<th>population_size</th><td>8</td>" in page
    assert "<th>lr</th><td>float in [0.0001, 1.0], log</td>" in page
    assert (
        "<th>degree</th><td>int in [2, 5]; only when {&quot;kernel&quot;: [&quot;poly&quot;]}"
        in page
    )


def _unset(run):
    return sum(1 for v in run.meta["settings"].values() if v in (None, {}, []))


def _folded(run):
    return len(run.meta["fingerprint"]) + len(run.meta["versions"])


def test_multi_objective_page_has_the_pareto_front(pages):
    tags = _parse(pages["multi"])
    _check_self_contained(tags)
    assert _section_ids(tags) == [*ALWAYS[:-1], "pareto", "settings"]
    assert "fit_time" in "".join(tags.text)


def test_intermediate_values_only_for_a_run_that_reported_steps(pages):
    steps = _parse(pages["steps"])
    _check_self_contained(steps)
    assert _section_ids(steps) == [*ALWAYS[:-1], "intermediate", "settings"]
    assert "pruned" in "".join(steps.text)  # the pruned rows are in the leaderboard
    for name in ("single", "multi", "hostile"):
        ids = _section_ids(_parse(pages[name]))
        assert "intermediate" not in ids and "fig-intermediate" not in pages[name].read_text()


def test_hostile_names_values_and_errors_are_escaped(pages):
    page = pages["hostile"].read_text(encoding="utf-8")
    for raw in (NAME, CHOICE, BREAKOUT, ERROR, AMP):
        assert raw not in page
    for raw in (NAME, CHOICE, BREAKOUT, AMP):
        assert html.escape(raw, quote=True) in page
    assert html.escape("ValueError: " + ERROR, quote=True) in page  # the failure summary
    tags = _parse(pages["hostile"])
    _check_self_contained(tags)
    # the markup is the writer's alone: no tag the values would have made
    assert not any(t == "h1" for t, a in tags.tags if a.get("id") != "run-name")
    assert sum(1 for t, _ in tags.tags if t == "img") == len(FIGURES)
    assert sum(1 for t, _ in tags.tags if t == "table") == 6
    # and a person reads them as they are in the journal
    text = "".join(tags.text)
    assert NAME in text and CHOICE in text and BREAKOUT in text and AMP in text


# parameters.png writes a name in its titles as it is (matplotlib lacks a glyph
# for ESC); the page's own text escapes it
@pytest.mark.filterwarnings("ignore:Glyph 27")
def test_control_characters_are_shown_escaped(tmp_path):
    space = Space({"k\x1b[1m\u202e": Categorical(["\x1b[2Jclear", "plain"])})
    path = _quiet_evolve(lambda p: float(p["k\x1b[1m\u202e"] == "plain"), space, tmp_path / "r")
    page = write_html(path, tmp_path).read_text(encoding="utf-8")
    assert "\x1b" not in page and "\u202e" not in page
    assert "k\\x1b[1m\\u202e" in page and "\\x1b[2Jclear" in page


def test_a_run_without_a_successful_evaluation(runs, tmp_path):
    """All failed, or not started: every section is there, with a message."""
    failed = tmp_path / "failed"

    def boom(p):
        raise RuntimeError("always fails")

    with pytest.raises(AllFailedError):
        _quiet_evolve(boom, SPACE, failed, population_size=4, generations=2)
    fresh = tmp_path / "fresh"
    fresh.mkdir()
    shutil.copy(runs["single"] / "meta.json", fresh / "meta.json")
    (fresh / "journal.jsonl").write_text("")
    for path, note in ((failed, "no successful evaluation"), (fresh, "no evaluation in the")):
        tags = _parse(write_html(path, tmp_path / path.name))
        _check_self_contained(tags)
        assert _section_ids(tags) == ALWAYS
        assert note in "".join(tags.text)


@pytest.mark.slow
def test_write_html_leaves_pyplot_alone_and_unpickles_nothing(runs, tmp_path):
    script = (
        "import pickle, sys\n"
        "def refuse(*a, **k):\n    raise AssertionError('the report unpickled something')\n"
        "pickle.loads = pickle.load = pickle.Unpickler = refuse\n"
        "from evotune.report import write_html\n"
        "write_html(sys.argv[1], sys.argv[2])\n"
        "assert 'matplotlib.pyplot' not in sys.modules\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", script, str(runs["hostile"]), str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "report.html").is_file()


# ------------------------------------------------------------------ errors
def test_a_directory_that_is_not_a_run_is_a_clear_error(tmp_path):
    with pytest.raises(ReportError, match="does not exist"):
        write_html(tmp_path / "missing", tmp_path / "out")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ReportError, match=r"meta.json is missing: .* is not a run directory"):
        write_html(tmp_path / "empty", tmp_path / "out")
    with pytest.raises(ReportError, match="is a file"):
        write_html(_a_file(tmp_path), tmp_path / "out")
    assert not (tmp_path / "out").exists()


def _a_file(tmp_path):
    path = tmp_path / "file.txt"
    path.write_text("not a run")
    return path


@pytest.mark.parametrize("top", [0, -1, 2.5, "3", True])
def test_top_is_checked_before_anything_is_written(runs, tmp_path, top):
    with pytest.raises(ValueError, match="'top' must be a positive integer or None"):
        write_html(runs["single"], tmp_path / "out", top=top)
    assert not (tmp_path / "out").exists()


def test_top_none_shows_every_evaluation(runs, tmp_path):
    page = write_html(runs["single"], tmp_path, top=None)
    tags = _parse(page)
    n = len(load_run(runs["single"]).evaluations)
    body = [a for t, a in tags.tags if t == "tr"]
    assert "Leaderboard (all)" in "".join(tags.text)
    assert len(body) > n


# ------------------------------------------------------------------ the CLI
@pytest.mark.slow
def test_cli_report_html_beside_the_pngs(runs, tmp_path, capsys):
    out = tmp_path / "run"
    shutil.copytree(runs["single"], out)
    assert main(["report", str(out), "--html", "--top", "3"]) == 0
    printed = capsys.readouterr().out
    assert f"wrote {out / 'report' / 'report.html'}" in printed
    names = sorted(p.name for p in (out / "report").iterdir())
    assert names == ["parameters.png", "progress.png", "report.html", "timeline.png"]
    assert "Leaderboard (top 3)" in (out / "report" / "report.html").read_text()
    shutil.rmtree(out / "report")
    assert main(["report", str(out), "--html", "--no-plots", "--json"]) == 0
    assert [p.name for p in (out / "report").iterdir()] == ["report.html"]
    # without --html no page is written
    shutil.rmtree(out / "report")
    assert main(["report", str(out)]) == 0
    assert not (out / "report" / "report.html").exists()


def test_cli_report_html_on_a_directory_that_is_not_a_run(tmp_path, capsys):
    assert main(["report", str(tmp_path), "--html"]) == 2
    err = capsys.readouterr().err
    assert "meta.json is missing" in err and "not a run directory" in err
    assert list(tmp_path.iterdir()) == []


# ------------------------------------------------------- in a real Chromium
CHROMIUM = os.environ.get("EVOTUNE_CHROMIUM", "/usr/bin/chromium")


def _need_browser():
    """Playwright driving Debian's Chromium; missing in CI is a failure."""
    reason = None
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        reason = "the HTML report's browser test needs playwright: pip install -e '.[dev]'"
    if reason is None and not os.access(CHROMIUM, os.X_OK):
        reason = f"no Chromium at {CHROMIUM} (apt-get install chromium, or set EVOTUNE_CHROMIUM)"
    if reason is not None:
        if os.environ.get("CI"):
            pytest.fail(f"CI is set and {reason}")
        pytest.skip(reason)


@pytest.fixture(scope="module")
def browser():
    _need_browser()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield chromium
        chromium.close()


@dataclass
class Visit:
    """What a page did in the browser."""

    errors: list[str] = field(default_factory=list)  # console errors and page errors
    requests: list[str] = field(default_factory=list)  # every URL it asked for
    blocked: list[str] = field(default_factory=list)  # those not file: or data: (aborted)
    dialogs: list[str] = field(default_factory=list)  # alert() and friends: a script ran
    images: list[dict] = field(default_factory=list)
    visible: dict[str, bool] = field(default_factory=dict)
    headings: list[str] = field(default_factory=list)
    title: str = ""
    screenshot: bytes = b""


def _visit(browser, page_file: Path, tmp_path: Path) -> Visit:
    """Open a COPY of ``page_file``, alone in a fresh folder, with every
    request that is not file: or data: aborted and recorded."""
    folder = tmp_path / f"copy_of_{page_file.parent.name}"
    folder.mkdir()
    copy = folder / "report.html"
    shutil.copyfile(page_file, copy)
    visit = Visit()
    context = browser.new_context(viewport={"width": 1280, "height": 900})

    def route(r):
        url = r.request.url
        if url.startswith(("file:", "data:")):
            r.continue_()
        else:
            visit.blocked.append(url)
            r.abort()

    context.route("**/*", route)
    page = context.new_page()
    page.on("console", lambda m: visit.errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: visit.errors.append(str(e)))
    page.on("request", lambda r: visit.requests.append(r.url))
    page.on("dialog", lambda d: (visit.dialogs.append(d.message), d.dismiss()))
    page.goto(copy.as_uri(), wait_until="load", timeout=60_000)
    # decode() rejects for an image that is broken or not loaded
    visit.images = page.evaluate(_IMAGES_JS)
    visit.visible = {i["id"]: page.locator(f"#{i['id']}").is_visible() for i in visit.images}
    visit.headings = page.locator("h2").all_inner_texts()
    visit.title = page.title()
    visit.screenshot = page.screenshot(full_page=True, timeout=60_000)
    context.close()
    return visit


_IMAGES_JS = """async () => {
  const imgs = Array.from(document.images);
  const decoded = await Promise.allSettled(imgs.map((img) => img.decode()));
  return imgs.map((img, i) => {
    const box = img.getBoundingClientRect();
    return {id: img.id, alt: img.alt, complete: img.complete, naturalWidth: img.naturalWidth,
            naturalHeight: img.naturalHeight, width: box.width, height: box.height,
            decoded: decoded[i].status === "fulfilled"};
  });
}"""


def _check_screenshot(png: bytes) -> tuple[int, int, int, float]:
    """The size, the number of colours and the share of non-white pixels."""
    import io

    import numpy as np
    from PIL import Image

    image = Image.open(io.BytesIO(png)).convert("RGB")
    pixels = np.asarray(image).reshape(-1, 3)
    packed = (pixels[:, 0].astype(np.uint32) << 16) | (pixels[:, 1].astype(np.uint32) << 8)
    colours = len(np.unique(packed | pixels[:, 2]))
    inked = float(np.mean(np.any(pixels < 245, axis=1)))
    return image.width, image.height, colours, inked


@pytest.mark.slow
@pytest.mark.parametrize("name", ["single", "multi", "steps", "hostile"])
def test_the_page_in_headless_chromium_from_a_copied_folder(browser, pages, tmp_path, name):
    visit = _visit(browser, pages[name], tmp_path)
    assert visit.errors == []
    assert visit.blocked == []
    assert visit.dialogs == []  # no script ran, the hostile names' included
    assert all(url.startswith(("file:", "data:")) for url in visit.requests), visit.requests
    expected = FIGURES + {"multi": ["pareto"], "steps": ["intermediate"]}.get(name, [])
    assert [i["id"] for i in visit.images] == [f"fig-{f}" for f in expected]
    for image in visit.images:
        assert image["decoded"] and image["complete"]
        assert image["naturalWidth"] > 300 and image["naturalHeight"] > 150
        assert image["width"] > 300 and image["height"] > 100, image
        assert image["alt"] and visit.visible[image["id"]], image
    assert len(visit.headings) == len(expected) + 3  # summary, leaderboard, settings
    assert visit.title.startswith("evotune report: ")
    width, height, colours, inked = _check_screenshot(visit.screenshot)
    assert 1200 <= width <= 1400
    assert 600 * len(expected) <= height <= 2000 * len(expected)
    assert colours > 500 and 0.05 < inked < 0.9, (colours, inked)


@pytest.mark.slow
def test_the_browser_check_sees_a_page_that_reaches_out(browser, tmp_path):
    """The harness itself: an external image and a failing script are caught."""
    bad = tmp_path / "bad" / "report.html"
    bad.parent.mkdir()
    bad.write_text(
        '<!DOCTYPE html><html><body><img id="fig-x" alt="x" src="http://127.0.0.1:9/x.png">'
        "<script>undefined_function()</script></body></html>"
    )
    visit = _visit(browser, bad, tmp_path)
    assert visit.blocked == ["http://127.0.0.1:9/x.png"]
    assert any("undefined_function" in e for e in visit.errors), visit.errors
    assert visit.images[0]["decoded"] is False and visit.images[0]["naturalWidth"] == 0
