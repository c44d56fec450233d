"""Synthetic truth and result documents for the bench/accuracy tests.

Builds both kinds of truth.json (the generator's endplates + centres, the radiologist's grades per
disc level) and analyze results in the node's fixed JSON format, including "perfect" results made
from a truth, and lays them out on disk as bench/accuracy expects.
"""

import json
import os
import sys
from pathlib import Path

REPOSITORY_ROOT = Path(__file__).resolve().parents[2]
BENCH_DIR = REPOSITORY_ROOT / "bench"
ACCURACY_SCRIPT = BENCH_DIR / "accuracy"
SHARED_DIR = Path(os.environ.get("MODIC_SHARED_DIR", REPOSITORY_ROOT.parent / "shared"))
SPIDER_DEV_DIR = SHARED_DIR / "data" / "spider-dev"

sys.path.insert(0, str(BENCH_DIR))
import accuracy_scoring  # noqa: E402,F401  (re-exported for the tests)

ENDPLATE_ORDER = [("L1", "superior"), ("L1", "inferior"), ("L2", "superior"), ("L2", "inferior"),
                  ("L3", "superior"), ("L3", "inferior"), ("L4", "superior"), ("L4", "inferior"),
                  ("L5", "superior"), ("L5", "inferior"), ("S1", "superior")]
LEVELS = ["L1/L2", "L2/L3", "L3/L4", "L4/L5", "L5/S1"]


def generator_truth(endplate_types: dict, centres: dict = None) -> dict:
    """A modic-phantom truth.json. endplate_types: {("L2", "inferior"): "1", ...}; endplates not
    named are "0", as the generator lists every endplate L1 superior .. S1 superior."""
    endplates = [{"vertebra": vertebra, "side": side,
                  "modic_type": endplate_types.get((vertebra, side), "0"),
                  "depth_fraction": 0.3, "extent_fraction": 0.6}
                 for vertebra, side in ENDPLATE_ORDER]
    doc = {"endplates": endplates, "series": {"t1": "1.2.3.1", "t2": "1.2.3.2"}}
    if centres is not None:
        doc["vertebrae"] = [{"label": label, "center_mm": list(point)} for label, point in centres.items()]
    return doc


def radiologist_truth(grades: dict) -> dict:
    """A spider-dev truth.json: integer grades per disc level."""
    return {"case": "synthetic", "modic_by_disc_level": dict(grades)}


def analyze_result(levels: dict = None, endplates: dict = None, centres: dict = None,
                   status: str = "analyzed", reason: str = "") -> dict:
    """An analyze result in the node's format. levels: {"L4/L5": "1"}; endplates:
    {("L4", "inferior"): "1"}; centres: {"L1": (x, y, z)}."""
    return {
        "study_instance_uid": "1.2.826.0.1.3680043.2.1143.1",
        "status": status,
        "reason": reason,
        "series": {"t1": "1.2.3.1", "t2": "1.2.3.2", "stir": None},
        "vertebrae": [{"label": label, "center_mm": list(point)} for label, point in (centres or {}).items()],
        "endplates": [{"vertebra": vertebra, "side": side, "modic_type": modic_type, "confidence": 0.9,
                       "depth_fraction": 0.3, "extent_fraction": 0.6, "volume_ml": 1.0}
                      for (vertebra, side), modic_type in (endplates or {}).items()],
        "levels": [{"disc_level": level, "modic_type": modic_type, "confidence": 0.9}
                   for level, modic_type in (levels or {}).items()],
        "summary": "synthetic",
        "timing_ms": {"load": 1, "localise": 1, "classify": 1, "total": 3},
    }


def perfect_result(truth: dict) -> dict:
    """The findings a perfect node would report for a truth.json of either kind."""
    if "modic_by_disc_level" in truth:
        return analyze_result(levels={level: str(grade) for level, grade in truth["modic_by_disc_level"].items()})
    endplates = {(e["vertebra"], e["side"]): e["modic_type"] for e in truth["endplates"]}
    levels = {}
    for level in LEVELS:
        upper, lower = level.split("/")
        facing = [endplates[(upper, "inferior")], endplates[(lower, "superior")]]
        changed = [modic_type for modic_type in facing if modic_type != "0"]
        # When both endplates changed, the cranial one's type is one of the accepted answers.
        levels[level] = changed[0] if changed else "0"
    centres = {v["label"]: v["center_mm"] for v in truth.get("vertebrae", [])}
    return analyze_result(levels=levels, endplates=endplates, centres=centres)


def fake_dicom_bytes() -> bytes:
    """Just enough of a DICOM Part 10 file for the study finder: preamble and magic."""
    return bytes(128) + b"DICM" + bytes(64)


def write_study(studies_dir: Path, name: str, truth: dict, with_dicom: bool = True) -> Path:
    folder = studies_dir / name
    folder.mkdir(parents=True)
    (folder / "truth.json").write_text(json.dumps(truth), encoding="utf-8")
    if with_dicom:
        (folder / "series1").mkdir()
        (folder / "series1" / "IM0001").write_bytes(fake_dicom_bytes())
    return folder


def write_result(results_dir: Path, name: str, result: dict) -> None:
    results_dir.mkdir(parents=True, exist_ok=True)
    (results_dir / f"{name}.json").write_text(json.dumps(result), encoding="utf-8")


def write_run_record(results_dir: Path, name: str, seconds: float, peak_rss_kib: int, failure: str = "") -> None:
    results_dir.mkdir(parents=True, exist_ok=True)
    record = {"seconds": seconds, "peak_rss_kib": peak_rss_kib, "rss_floor_kib": 1024, "failure": failure}
    (results_dir / f"{name}.run.json").write_text(json.dumps(record), encoding="utf-8")


# --- Two small benchmark sets with known wrong answers ----------------------------------------
# Each entry: (study name, truth.json, result JSON or None, run record or None). The expected
# figures are worked out by hand in the tests that use them.

def radiologist_set() -> list:
    grades = lambda l12, l23, l34, l45, l51: dict(zip(LEVELS, (l12, l23, l34, l45, l51)))  # noqa: E731
    truth_b = radiologist_truth(grades(0, 0, 2, 3, 0))
    truth_b["modic_by_disc_level"]["T12/L1"] = 2  # above L1/L2: not scored
    truth_e = radiologist_truth(grades(0, 0, 0, 1, 0))
    return [
        # A: L2/L3 changed but typed 3; L3/L4 mixed 1/2 on a 2 (right); L4/L5 false change;
        #    L5/S1 missing from levels. T12/L1 is not scored.
        ("A", radiologist_truth(grades(0, 2, 2, 0, 1)),
         analyze_result(levels={"T12/L1": "2", "L1/L2": "0", "L2/L3": "3", "L3/L4": "1/2", "L4/L5": "1"}),
         {"seconds": 2.0, "peak_rss_kib": 200 * 1024}),
        # B: L1/L2 false change; L3/L4 missed; L4/L5 mixed 2/3 on a 3 (right).
        ("B", truth_b,
         analyze_result(levels={"L1/L2": "2", "L2/L3": "0", "L3/L4": "0", "L4/L5": "2/3", "L5/S1": "0"}),
         {"seconds": 4.0, "peak_rss_kib": 100 * 1024}),
        # C: all normal, L5/S1 missing from levels (counts as "0": right).
        ("C", radiologist_truth(grades(0, 0, 0, 0, 0)),
         analyze_result(levels={"L1/L2": "0", "L2/L3": "0", "L3/L4": "0", "L4/L5": "0"}),
         {"seconds": 3.0, "peak_rss_kib": 300 * 1024}),
        # D: not analyzable, so its L1/L2 change is missed.
        ("D", radiologist_truth(grades(2, 0, 0, 0, 0)),
         analyze_result(status="not_analyzable", reason="no sagittal T1 series"),
         {"seconds": 1.0, "peak_rss_kib": 50 * 1024}),
        # E: crashed; the perfect result it left behind must be ignored.
        ("E", truth_e, perfect_result(truth_e),
         {"seconds": 10.0, "peak_rss_kib": 400 * 1024, "failure": "crashed: killed by signal 11 (SIGSEGV)"}),
    ]


G1_TRUTH_TYPES = {("L2", "inferior"): "1", ("L3", "inferior"): "2", ("L4", "superior"): "2",
                  ("L4", "inferior"): "1/2", ("S1", "superior"): "3"}
G1_CENTRES = {"T12": (0, 0, 130), "L1": (0, 0, 100), "L2": (0, 0, 70), "L3": (0, 0, 40),
              "L4": (0, 0, 10), "L5": (0, 0, -20), "S1": (0, 0, -50)}


def generator_set() -> list:
    truth = generator_truth(G1_TRUTH_TYPES, G1_CENTRES)
    g1_result = analyze_result(
        levels={"L1/L2": "0", "L2/L3": "1", "L3/L4": "2", "L4/L5": "2", "L5/S1": "0"},
        endplates={("L1", "superior"): "0", ("L1", "inferior"): "2", ("L2", "superior"): "0",
                   ("L2", "inferior"): "1", ("L3", "inferior"): "1/2", ("L4", "superior"): "3",
                   ("L4", "inferior"): "1", ("L5", "superior"): "1/2", ("L5", "inferior"): "0"},
        centres={"T12": (0, 0, 130), "L1": (0, 3, 104), "L2": (0, 0, 80.5), "L3": (6, 8, 40),
                 "L5": (0, 0, 10), "S1": (0, 0, -50)})
    return [
        ("G1", truth, g1_result, {"seconds": 5.0, "peak_rss_kib": 1024}),
        ("G3", truth, None, None),  # no result at all: the run left nothing
    ]


def write_set(root: Path, entries: list) -> tuple:
    """Writes a set as STUDIES_DIR + results folder; returns (studies_dir, results_dir)."""
    studies_dir, results_dir = root / "studies", root / "results"
    studies_dir.mkdir(parents=True)
    results_dir.mkdir(parents=True)
    for name, truth, result, record in entries:
        write_study(studies_dir, name, truth)
        if result is not None:
            write_result(results_dir, name, result)
        if record is not None:
            write_run_record(results_dir, name, record["seconds"], record["peak_rss_kib"],
                             record.get("failure", ""))
    return studies_dir, results_dir


def outcomes_of_set(entries: list) -> list:
    """The same set as StudyOutcome objects, built through the scoring module's own readers."""
    scoring = accuracy_scoring
    outcomes = []
    for name, truth, result, record in entries:
        outcome = scoring.StudyOutcome(name=name, truth=scoring.truth_from_json(truth))
        record = record or {}
        outcome.seconds, outcome.peak_rss_kib = record.get("seconds"), record.get("peak_rss_kib")
        outcome.failure = record.get("failure", "") if result is not None else "no result"
        if result is not None and not outcome.failure:
            outcome.prediction = scoring.prediction_from_json(result)
        outcomes.append(outcome)
    return outcomes
