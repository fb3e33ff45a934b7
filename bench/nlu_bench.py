"""Offline NLU benchmark: held-out accuracy (ES, EN), train and classify time, and the bytes the NLU adds to the
Lambda package. `python -m bench.nlu_bench` prints the figures as JSON; `run()` returns them.

`compare()` and `tune()` are how `shared.services.nlu`'s constants were chosen, on the training phrases only
(leave-one-out for in-scope messages, leave-one-intent-out standing in for out-of-scope ones):
`python -m bench.nlu_bench compare` (model constants, ~2 min) and `python -m bench.nlu_bench tune` (calibration,
threshold, margin, a few seconds).
The held-out sets are only ever scored, never tuned on.
"""

from __future__ import annotations

import io
import itertools
import json
import math
import statistics
import sys
import time
import zipfile
from collections.abc import Callable, Mapping, Sequence
from functools import partial
from pathlib import Path
from typing import Any

from shared.services import nlu
from shared.services.nlu import IntentClassifier, IntentScore, decide

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "tests" / "nlu"
RUNTIME_FILES = (ROOT / "shared" / "services" / "nlu.py", ROOT / "shared" / "services" / "text_norm.py")

Examples = dict[str, list[str]]
Heldout = list[tuple[str, str | None]]


def load_training(language: str) -> Examples:
    data: Examples = json.loads((DATA / f"train_{language}.json").read_text(encoding="utf-8"))
    return data


def load_heldout(language: str) -> Heldout:
    rows = json.loads((DATA / f"heldout_{language}.json").read_text(encoding="utf-8"))
    return [(row["text"], row["intent"]) for row in rows]


def evaluate(classifier: IntentClassifier, heldout: Heldout, *, threshold: float = nlu.DEFAULT_THRESHOLD,
             margin: float = nlu.DEFAULT_MARGIN) -> dict[str, Any]:
    """In-scope accuracy counts only a `match` on the right label (a clarify is not a success); out-of-scope
    rejection counts only a `fallback` (asking "credit or card?" about the weather is not a rejection)."""
    in_scope = [(t, i) for t, i in heldout if i is not None]
    out_of_scope = [t for t, i in heldout if i is None]
    right = clarified = top1 = 0
    misses: list[dict[str, Any]] = []
    for text, intent in in_scope:
        scores = classifier.classify(text)
        decision = decide(scores, threshold=threshold, margin=margin)
        top1 += scores[0].label == intent
        right += decision.kind == "match" and decision.label == intent
        clarified += decision.kind == "clarify" and intent in {c.label for c in decision.candidates}
        if not (decision.kind == "match" and decision.label == intent):
            misses.append({"text": text, "intent": intent, "kind": decision.kind,
                           "got": [(s.label, round(s.score, 3)) for s in scores[:2]]})
    rejected = 0
    for text in out_of_scope:
        scores = classifier.classify(text)
        decision = decide(scores, threshold=threshold, margin=margin)
        rejected += decision.kind == "fallback"
        if decision.kind != "fallback":
            misses.append({"text": text, "intent": None, "kind": decision.kind,
                           "got": [(s.label, round(s.score, 3)) for s in scores[:2]]})
    return {
        "in_scope": len(in_scope),
        "out_of_scope": len(out_of_scope),
        "in_scope_accuracy": _ratio(right, len(in_scope)),
        "in_scope_top1": _ratio(top1, len(in_scope)),
        "in_scope_clarify_with_right_label": _ratio(clarified, len(in_scope)),
        "out_of_scope_rejection": _ratio(rejected, len(out_of_scope)),
        "overall": _ratio(right + rejected, len(heldout)),
        "misses": misses,
    }


def _ratio(part: int, whole: int) -> float:
    return round(part / whole, 4) if whole else 0.0


def _median_us(action: Callable[[], object], repeat: int) -> float:
    timings = []
    for _ in range(repeat):
        start = time.perf_counter()
        action()
        timings.append(time.perf_counter() - start)
    return round(statistics.median(timings) * 1e6, 1)


def _scaled_training(examples: Examples, size: int) -> Examples:
    """`size` phrases built from the training set (suffixing copies), to time training at a realistic bot size."""
    flat = [(label, phrase) for label, phrases in examples.items() for phrase in phrases]
    out: Examples = {label: [] for label in examples}
    for n in range(size):
        label, phrase = flat[n % len(flat)]
        out[label].append(phrase if n < len(flat) else f"{phrase} {n}")
    return out


def run(*, include_misses: bool = False) -> dict[str, Any]:
    """Every figure in one dict; times are medians of many in-process runs (a warm Lambda)."""
    result: dict[str, Any] = {"threshold": nlu.DEFAULT_THRESHOLD, "margin": nlu.DEFAULT_MARGIN}
    for language in ("es", "en"):
        training = load_training(language)
        classifier = IntentClassifier.train(training, language)
        report = evaluate(classifier, load_heldout(language))
        if not include_misses:
            report.pop("misses")
        report["training_examples"] = sum(map(len, training.values()))
        result[language] = report
    training = load_training("es")
    big = _scaled_training(training, 300)
    result["train_us_300_examples"] = _median_us(lambda: IntentClassifier.train(big, "es"), 15)
    result["train_us_es_set"] = _median_us(lambda: IntentClassifier.train(training, "es"), 15)
    classifier = IntentClassifier.train(big, "es")
    texts = [text for text, _ in load_heldout("es")]
    for text in texts:  # warm the stemmer cache as a warm Lambda would have it
        classifier.classify(text)
    per_text = [_median_us(partial(classifier.classify, text), 15) for text in texts]
    result["classify_us_median"] = round(statistics.median(per_text), 1)
    result["classify_us_mean"] = round(statistics.fmean(per_text), 1)
    result["classify_us_max"] = max(per_text)
    result["package_bytes"] = {path.name: path.stat().st_size for path in RUNTIME_FILES}
    result["package_bytes"]["total"] = sum(path.stat().st_size for path in RUNTIME_FILES)
    result["package_bytes"]["zipped"] = _zipped_size(RUNTIME_FILES)
    return result


def _zipped_size(paths: Sequence[Path]) -> int:
    """What the files add to the deflated Lambda code asset (no model or data file is needed at run time)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in paths:
            archive.write(path, path.relative_to(ROOT).as_posix())
    return buffer.getbuffer().nbytes


# --- tuning on the training phrases ---------------------------------------------------------------------------------

def leave_one_out(examples: Mapping[str, Sequence[str]], language: str) -> list[tuple[str, list[IntentScore]]]:
    """(true label, similarities) for each example, scored by a model trained on all the other examples."""
    out: list[tuple[str, list[IntentScore]]] = []
    for label, phrases in examples.items():
        for index, phrase in enumerate(phrases):
            rest = {k: [p for j, p in enumerate(v) if not (k == label and j == index)] for k, v in examples.items()}
            out.append((label, IntentClassifier.train(rest, language).similarities(phrase)))
    return out


def leave_intent_out(examples: Mapping[str, Sequence[str]], language: str) -> list[list[IntentScore]]:
    """Similarities of each intent's examples under a model that never saw that intent: stand-ins for
    out-of-scope messages."""
    out: list[list[IntentScore]] = []
    for label, phrases in examples.items():
        model = IntentClassifier.train({k: v for k, v in examples.items() if k != label}, language)
        out.extend(model.similarities(phrase) for phrase in phrases)
    return out


def _fit_logistic(points: Sequence[tuple[float, int]]) -> tuple[float, float]:
    """Platt scaling: (slope, midpoint) of P(right) = 1 / (1 + exp(-slope * (x - midpoint))), by Newton's method
    on the log-likelihood with a tiny ridge so separable data still converges."""
    w, b = 1.0, 0.0
    for _ in range(100):
        gw = gb = hww = hwb = hbb = 0.0
        for x, y in points:
            p = 1.0 / (1.0 + math.exp(-(w * x + b)))
            gw += (p - y) * x
            gb += p - y
            r = p * (1.0 - p)
            hww += r * x * x
            hwb += r * x
            hbb += r
        gw += 1e-3 * w
        hww += 1e-3
        hbb += 1e-6
        det = hww * hbb - hwb * hwb
        dw = (hbb * gw - hwb * gb) / det
        db = (hww * gb - hwb * gw) / det
        w, b = w - dw, b - db
        if abs(dw) < 1e-9 and abs(db) < 1e-9:
            break
    return w, -b / w


def _best_balanced(in_scope: Sequence[tuple[str, list[IntentScore]]], stand_ins: Sequence[list[IntentScore]]) -> float:
    """Best mean of "in scope, right and above the cut" and "stand-in below the cut" over raw-similarity cuts."""
    best = 0.0
    for cut in (0.01 * i for i in range(1, 100)):
        accepted = sum(s[0].label == label and s[0].score >= cut for label, s in in_scope) / len(in_scope)
        rejected = sum(s[0].score < cut for s in stand_ins) / len(stand_ins)
        best = max(best, (accepted + rejected) / 2)
    return best


def compare(grid: Mapping[str, Sequence[float]] | None = None,
            languages: Sequence[str] = ("es", "en")) -> list[dict[str, Any]]:
    """Leave-one-out top-1 and best balanced accuracy (before calibration) for each combination of the model
    constants in `grid`: how WORD_BLOCK_WEIGHT, NEIGHBOUR_WEIGHT and CONCENTRATION_FLOOR were chosen."""
    grid = grid or {"WORD_BLOCK_WEIGHT": (0.3, 0.5, 0.7), "NEIGHBOUR_WEIGHT": (0.0, 0.2, 0.4, 0.6),
                    "CONCENTRATION_FLOOR": (0.0, 0.5, 1.0)}
    saved = {name: getattr(nlu, name) for name in grid}
    rows = []
    try:
        for values in itertools.product(*grid.values()):
            row: dict[str, Any] = dict(zip(grid, values, strict=True))
            for name, value in row.items():
                setattr(nlu, name, value)
            for language in languages:
                examples = load_training(language)
                in_scope = leave_one_out(examples, language)
                row[f"{language}_loo_top1"] = _ratio(sum(s[0].label == lbl for lbl, s in in_scope), len(in_scope))
                row[f"{language}_balanced"] = round(_best_balanced(in_scope, leave_intent_out(examples, language)), 4)
            rows.append(row)
    finally:
        for name, value in saved.items():
            setattr(nlu, name, value)
    return rows


def tune(languages: Sequence[str] = ("es", "en")) -> dict[str, Any]:
    """Calibration curve, threshold and margin from the training phrases (see the module docstring of nlu)."""
    in_scope: list[tuple[str, list[IntentScore]]] = []
    stand_ins: list[list[IntentScore]] = []
    for language in languages:
        examples = load_training(language)
        in_scope += leave_one_out(examples, language)
        stand_ins += leave_intent_out(examples, language)
    points = [(scores[0].score, int(scores[0].label == label)) for label, scores in in_scope]
    points += [(scores[0].score, 0) for scores in stand_ins]
    slope, midpoint = _fit_logistic(points)

    def calibrated(scores: list[IntentScore]) -> list[IntentScore]:
        return [IntentScore(s.label, 1.0 / (1.0 + math.exp(-slope * (s.score - midpoint)))) for s in scores]

    cal_in = [(label, calibrated(scores)) for label, scores in in_scope]
    cal_out = [calibrated(scores) for scores in stand_ins]

    def rates(threshold: float, margin: float) -> tuple[float, float, int, int]:
        right = wrong = 0
        for label, scores in cal_in:
            decision = decide(scores, threshold=threshold, margin=margin)
            right += decision.kind == "match" and decision.label == label
            wrong += decision.kind == "match" and decision.label != label
        matched_out = sum(decide(s, threshold=threshold, margin=margin).kind == "match" for s in cal_out)
        rejected = sum(decide(s, threshold=threshold, margin=margin).kind == "fallback" for s in cal_out)
        return right / len(cal_in), rejected / len(cal_out), right, wrong + matched_out

    grid = [round(0.05 + 0.01 * i, 2) for i in range(91)]
    balanced = {}
    for t in grid:
        accepted, rejected, _, _ = rates(t, 0.0)
        balanced[t] = (accepted + rejected) / 2
    # The best of a smoothed curve (mean over +-0.05), so a lucky spike of a few examples does not set it.
    smoothed = {t: statistics.fmean(balanced[u] for u in grid if abs(u - t) <= 0.05 + 1e-9) for t in grid}
    threshold = max(grid, key=lambda t: (smoothed[t], -t))
    best = balanced[threshold]
    net = {m: rates(threshold, m)[2] - rates(threshold, m)[3] for m in [round(0.025 * i, 3) for i in range(13)]}
    margin = max(net, key=lambda m: (net[m], -m))
    accepted, rejected, _, _ = rates(threshold, margin)
    return {
        "calibration_slope": round(slope, 2),
        "calibration_midpoint": round(midpoint, 3),
        "threshold": threshold,
        "margin": margin,
        "loo_top1": _ratio(sum(s[0].label == label for label, s in in_scope), len(in_scope)),
        "loo_in_scope_matched_right": round(accepted, 4),
        "leave_intent_out_rejected": round(rejected, 4),
        "balanced": round(best, 4),
    }


if __name__ == "__main__":
    if sys.argv[1:] == ["tune"]:
        print(json.dumps(tune(), indent=2))
    elif sys.argv[1:] == ["compare"]:
        for line in compare():
            print(json.dumps(line))
    else:
        print(json.dumps(run(include_misses="--misses" in sys.argv), indent=2, ensure_ascii=False))
