"""Writing an evaluation: PNG plots (matplotlib), a contact sheet of the worst mistakes,
``report.json`` and one self-contained ``report.html`` (images embedded, no network)."""

from __future__ import annotations

import base64
import html
import io
import json
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from facerec.evaluation.evaluate import ModelEvaluation
from facerec.types import Detection

CROP = 112


def write_report(out: Path, results: Sequence[ModelEvaluation], split: dict[str, object],
                 crop: Callable[[Path, Detection], np.ndarray]) -> Path:
    """Write every file of the report into ``out``; returns the path of report.html.

    Args:
        results: one evaluation per model, drawn together in each plot.
        split: how the folder was split (counts, seed), for the record.
        crop: (photo, detection) -> (H, W, 3) uint8 RGB face crop, for the contact sheet.
    """
    out.mkdir(parents=True, exist_ok=True)
    images = {"roc.png": plot_roc(results), "det.png": plot_det(results),
              "cmc.png": plot_cmc(results), "similarities.png": plot_similarities(results)}
    for result in results:
        if result.mistakes:
            images[f"mistakes-{result.model}.png"] = contact_sheet(result, crop)
    for name, png in images.items():
        (out / name).write_bytes(png)
    report = {"split": split, "models": [r.to_dict() for r in results]}
    (out / "report.json").write_text(json.dumps(report, indent=2, default=_plain))
    page = out / "report.html"
    page.write_text(render_html(results, split, images))
    return page


def _plain(value: object) -> object:
    if isinstance(value, np.generic):
        return value.item()
    return str(value)


def _figure():
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    return plt, *plt.subplots(figsize=(6, 4.5), dpi=100)


def _png(plt, fig) -> bytes:
    buffer = io.BytesIO()
    fig.tight_layout()
    fig.savefig(buffer, format="png")
    plt.close(fig)
    return buffer.getvalue()


def plot_roc(results: Sequence[ModelEvaluation]) -> bytes:
    """TAR against FAR (log scale) on the test pairs."""
    plt, fig, ax = _figure()
    for r in results:
        if r.roc is not None:
            ax.plot(np.maximum(r.roc.far, 1e-6), r.roc.tar, label=r.model)
    ax.set_xscale("log")
    ax.set_xlim(1e-5, 1)
    ax.set_xlabel("false accept rate")
    ax.set_ylabel("true accept rate")
    ax.set_title("ROC (test people)")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    return _png(plt, fig)


def plot_det(results: Sequence[ModelEvaluation]) -> bytes:
    """False rejects against false accepts, both on log scales (lower is better).

    A rate of zero has no place on a log scale, and a small folder measures many: each is
    drawn at half of one pair, the measurement's resolution, below the dotted lines that
    mark one pair, so a model without a mistake is still a visible curve."""
    plt, fig, ax = _figure()
    lowest = [1e-2, 1e-2]
    for r in results:
        if r.roc is None or not (len(r.genuine) and len(r.impostor)):
            continue
        one_impostor, one_genuine = 1 / len(r.impostor), 1 / len(r.genuine)
        line, = ax.plot(np.maximum(r.roc.far, one_impostor / 2),
                        np.maximum(1 - r.roc.tar, one_genuine / 2), label=r.model)
        ax.axvline(one_impostor, linestyle=":", color=line.get_color(), alpha=0.6)
        ax.axhline(one_genuine, linestyle=":", color=line.get_color(), alpha=0.6)
        lowest = [min(lowest[0], one_impostor / 4), min(lowest[1], one_genuine / 4)]
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlim(lowest[0], 1)
    ax.set_ylim(lowest[1], 1)
    ax.set_xlabel("false accept rate (dotted: one pair; none drawn below it)")
    ax.set_ylabel("false reject rate")
    ax.set_title("DET (test people)")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    return _png(plt, fig)


def plot_cmc(results: Sequence[ModelEvaluation]) -> bytes:
    """Share of known probes with the right person within the first k candidates."""
    plt, fig, ax = _figure()
    for r in results:
        if r.identification is not None and len(r.identification.cmc):
            ranks = np.arange(1, len(r.identification.cmc) + 1)
            ax.plot(ranks, r.identification.cmc, marker="o", label=r.model)
    ax.set_xlabel("rank")
    ax.set_ylabel("identification rate")
    ax.set_title("CMC (open-set test)")
    ax.grid(True, alpha=0.3)
    ax.legend()
    return _png(plt, fig)


def plot_similarities(results: Sequence[ModelEvaluation]) -> bytes:
    """Histograms of genuine and impostor similarities, with the threshold the mistakes
    are shown at (the recommended one, else the one chosen on validation)."""
    plt, fig, ax = _figure()
    for index, r in enumerate(results):
        style = "-" if index == 0 else "--"
        bins = np.linspace(-0.5, 1.0, 76)
        for values, name in ((r.genuine, "same person"), (r.impostor, "different")):
            if len(values):
                ax.hist(values, bins=bins, density=True, histtype="step", linestyle=style,
                        label=f"{r.model}: {name}")
        ax.axvline(r.mistakes_threshold, linestyle=style, color="black", alpha=0.6)
    ax.set_xlabel("cosine similarity (vertical lines: the thresholds mistakes are shown at)")
    ax.set_ylabel("density")
    ax.set_title("Similarities of test pairs")
    ax.legend(fontsize="small")
    return _png(plt, fig)


def contact_sheet(result: ModelEvaluation, crop: Callable[[Path, Detection], np.ndarray]
                  ) -> bytes:
    """One row per mistake: the two face crops and a caption."""
    rows = result.mistakes
    width, height = 2 * CROP + 330, CROP + 8
    sheet = Image.new("RGB", (width, height * len(rows)), "white")
    draw = ImageDraw.Draw(sheet)
    for row, mistake in enumerate(rows):
        top = row * height + 4
        for column, (photo, detection) in enumerate(zip(mistake.photos, mistake.detections)):
            face = Image.fromarray(crop(photo, detection)).resize((CROP, CROP))
            sheet.paste(face, (column * CROP, top))
        text = (f"{mistake.kind}  {mistake.similarity:.3f}\n{mistake.people[0]}\n"
                f"{mistake.people[1]}")
        draw.multiline_text((2 * CROP + 10, top + 8), text, fill="black")
    buffer = io.BytesIO()
    sheet.save(buffer, format="PNG")
    return buffer.getvalue()


def _percent(value: object) -> str:
    return "-" if value is None else f"{100 * float(value):.2f}%"  # type: ignore[arg-type]


def render_html(results: Sequence[ModelEvaluation], split: dict[str, object],
                images: dict[str, bytes]) -> str:
    """The whole report as one HTML page, images inlined as data URIs."""
    def img(name: str) -> str:
        data = base64.b64encode(images[name]).decode()
        return f'<img alt="{html.escape(name)}" src="data:image/png;base64,{data}">'

    sections = []
    for r in results:
        v = r.figures.get("verification", {})
        i = r.figures.get("identification", {})
        if not v:
            sections.append(f"<h2>{html.escape(r.model)}</h2><p>"
                            f"{html.escape(str(r.figures.get('error')))}</p>")
            continue
        tar_rows = "".join(f"<tr><td>TAR at FAR {far}</td><td>{_percent(tar)}</td></tr>"
                           for far, tar in v["tar_at_far"].items())
        dir_rows = "".join(
            f"<tr><td>DIR at FPIR {fpir}</td><td>"
            f"{'-' if d is None else _percent(d['dir'])}</td></tr>"
            for fpir, d in i["dir_at_fpir"].items())
        o = r.figures["open_set"]
        trust = "" if o["trusted"] else (
            f"<p><b>Too few strangers to trust these figures</b>: a rate of "
            f"{o['fpir']:.0%} is measured with {10 / o['fpir']:,.0f} strangers or more; "
            f"this folder has {o['strangers']}.</p>")
        sections.append(f"""
<h2>{html.escape(r.model)}</h2>
<table>
<tr><td>test pairs</td><td>{v['test_pairs']['genuine']} same person,
 {v['test_pairs']['impostor']} different</td></tr>
{tar_rows}
<tr><td>equal error rate</td><td>{_percent(v['eer'])}</td></tr>
<tr><td>accuracy at the model's threshold {r.default_threshold:.3f}</td>
<td>{_percent(v['accuracy_at_default'])}</td></tr>
<tr><td>accuracy at {v['chosen_threshold']:.3f}, the threshold most accurate on the
 validation people</td>
<td>{_percent(v['accuracy_at_chosen'])}</td></tr>
<tr><td>rank-1 ({i['known_probes']} known probes, {i['strangers']} strangers)</td>
<td>{_percent(i['rank1'])}</td></tr>
{dir_rows}
</table>
<h3>Strangers, as identify decides ({o['people']} people enrolled, threshold
{o['threshold']:.3f}, {html.escape(str(o['threshold_source']))})</h3>
<table>
<tr><td>strangers given a name ({o['strangers']} photos)</td>
<td>{_percent(o['strangers_named'])}</td></tr>
<tr><td>enrolled people named right ({o['probes']} photos)</td>
<td>{_percent(o['named_right'])}</td></tr>
<tr><td>given another enrolled person's name</td><td>{_percent(o['wrong_names'])}</td></tr>
<tr><td>unsure</td><td>{_percent(o['unsure'])}</td></tr>
</table>
{trust}
{_pair_threshold(r)}
{_mistakes(r, images, img)}
""")
    plots = "".join(img(name) for name in ("roc.png", "det.png", "cmc.png",
                                            "similarities.png"))
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>facerec evaluation</title>
<style>body{{font-family:sans-serif;max-width:1000px;margin:2em auto;padding:0 1em}}
table{{border-collapse:collapse}}td{{border-bottom:1px solid #ddd;padding:4px 12px}}
img{{max-width:100%}}</style></head><body>
<h1>facerec evaluation of {html.escape(str(split["folder"]))}</h1>
<p>{html.escape(describe_split(split))}</p>
<p>Thresholds are chosen on the validation people and every figure is measured on the
test people, whom the choice never saw.</p>
{plots}
{''.join(sections)}
</body></html>
"""


def describe_split(split: dict[str, object]) -> str:
    """How the folder was split, in a sentence."""
    skipped = split["skipped"]
    return (f"{split['photos']} photos of {split['validation_people']} validation people "
            f"and {split['test_people']} test people (split seed {split['seed']}); "
            + (f"{skipped} photos skipped (no usable face)." if skipped else
               "no photo skipped."))


def _pair_threshold(r: ModelEvaluation) -> str:
    """The recommended pair threshold and how to use it, or why there is none."""
    v = r.figures["verification"]
    rec = v["recommended"]
    if not rec["reliable"]:
        return (f"<p><b>No pair threshold is recommended</b> for a false-accept rate of "
                f"{r.target_far:g}: measuring that rate needs {10 / r.target_far:,.0f} "
                f"impostor pairs among the validation people, this folder gives "
                f"{v['validation_pairs']['impostor']:,}.</p>")
    return (f"<p>A pair threshold for a false-accept rate of {r.target_far:g}, chosen on the "
            f"validation people: <b>{rec['threshold']:.4f}</b> (on the test people: FAR "
            f"{_percent(rec['far_on_test'])}, TAR {_percent(rec['tar_on_test'])}). Apply it "
            f"only to fix a threshold by hand (identify otherwise sets its own for the "
            f"people enrolled): <code>facerec calibrate --db YOUR_DB --set "
            f"{rec['threshold']:.4f}</code></p>")


def _mistakes(r: ModelEvaluation, images: dict[str, bytes], img: Callable[[str], str]) -> str:
    """The contact sheet of the most confident mistakes, and the threshold they are at."""
    which = ("the recommended pair threshold" if r.recommended_threshold is not None
             else "the threshold most accurate on the validation people")
    name = f"mistakes-{r.model}.png"
    if name not in images:
        return f"<p>No mistakes at {r.mistakes_threshold:.3f}, {which}.</p>"
    return (f"<h3>The most confident mistakes at {r.mistakes_threshold:.3f}, {which}</h3>"
            f"{img(name)}")
