"""`dvc plots` pages that open offline. DVC's own page loads Vega, Vega-Lite and Vega-Embed from
a CDN, so without network it stays blank; this page template carries the three libraries inline
(taken from the installed vl-convert-python package) and DVC fills in the charts."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

from geoloc.errors import GeolocError

# DVC replaces {refresh_tag} and {plot_divs}. The page has no {scripts} placeholder, so DVC's
# CDN <script src> tags are never inserted. The bundle runs in its own function scope: its
# top-level names cannot clash with the `var spec` of DVC's chart scripts; it sets
# window.vegaEmbed, which those scripts call.
PAGE = """<!DOCTYPE html>
<html>
<head>
<meta charset="utf-8">
{refresh_tag}
<title>geoloc: dvc plots</title>
<script type="text/javascript">
(function () {
__VEGA_BUNDLE__
})();
</script>
<style>
body { font-family: sans-serif; }
body > div { display: inline-block; margin: 12px; vertical-align: top; }
</style>
</head>
<body>
{plot_divs}
</body>
</html>
"""
DVC_PLACEHOLDERS = ("{plot_divs}", "{scripts}", "{refresh_tag}")


def vega_bundle() -> str:
    """Vega, Vega-Lite and Vega-Embed as one script. Vega-Lite is the newest 5.x the package
    has: DVC's templates (and .dvc/plots/) are Vega-Lite 5 specs."""
    try:
        import vl_convert
    except ImportError as err:
        raise GeolocError(
            "the offline plots page needs the vl-convert-python package: "
            "pip install vl-convert-python (or reinstall geoloc)"
        ) from err
    fives = [v for v in vl_convert.get_vegalite_versions() if v.split(".")[0] == "5"]
    if not fives:
        raise GeolocError("the installed vl-convert-python bundles no Vega-Lite 5: reinstall it")
    newest = max(fives, key=lambda v: tuple(int(part) for part in v.split(".")))
    return vl_convert.javascript_bundle(vl_version=newest)


def offline_page_template(bundle: str) -> str:
    """DVC's HTML page template (`dvc plots show --html-template`) with `bundle` inline."""
    if "</script" in bundle.lower() or any(p in bundle for p in DVC_PLACEHOLDERS):
        raise GeolocError("the Vega bundle holds '</script' or a DVC placeholder: cannot inline it")
    return PAGE.replace("__VEGA_BUNDLE__", bundle)


def write_plots_page(root: Path, out_dir: Path, revisions: tuple[str, ...] = ()) -> Path:
    """Run `dvc plots show` in `root` (with `revisions`: `dvc plots diff` of them) with the
    offline template, and move the page into `out_dir`; return its index.html. DVC writes
    into a temporary sibling folder, so `out_dir` never holds a half-written page."""
    template = offline_page_template(vega_bundle())
    out_dir = out_dir.resolve()
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=out_dir.parent, prefix=f".{out_dir.name}.tmp-") as tmp:
        template_file, page_dir = Path(tmp) / "page.html", Path(tmp) / "page"
        template_file.write_text(template, encoding="utf-8")
        verb = ["diff", *revisions] if revisions else ["show"]
        command = [sys.executable, "-m", "dvc", "plots", *verb]
        command += ["--html-template", str(template_file), "-o", str(page_dir)]
        # DVC's warnings and errors go to the terminal; its stdout only names the page.
        done = subprocess.run(command, cwd=root, stdout=subprocess.DEVNULL, check=False)
        if done.returncode != 0:
            raise GeolocError(
                f"`dvc plots {' '.join(verb)}` in {root} failed (exit {done.returncode}); "
                "DVC's message is above"
            )
        if not (page_dir / "index.html").is_file():
            raise GeolocError(f"DVC found no plots to draw in {root}: run `dvc repro` first")
        _move_files(page_dir, out_dir)
    return out_dir / "index.html"


def _move_files(src: Path, dest: Path) -> None:
    """Rename every file under `src` to the same place under `dest`, index.html last, so the
    page appears only once the images it links (DVC's static/) are there."""
    files = sorted((p for p in src.rglob("*") if p.is_file()), key=lambda p: p.name == "index.html")
    for path in files:
        target = dest / path.relative_to(src)
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(path, target)
