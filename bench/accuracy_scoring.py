"""Scoring for bench/accuracy: truth and analyze results in, figures out.

Pure functions over parsed JSON, so the tests can call them directly; running the node, finding
the study folders and printing live in bench/accuracy. The scoring rules are written out in
bench/README.md; each function below says which rule it implements.
"""

from __future__ import annotations

import json
import math
import statistics
from dataclasses import dataclass, field
from typing import Optional

SCORED_LEVELS = ("L1/L2", "L2/L3", "L3/L4", "L4/L5", "L5/S1")
LABELLED_VERTEBRAE = ("L1", "L2", "L3", "L4", "L5", "S1")
# L1 superior .. L5 inferior, then S1 superior: the sacrum only has its upper endplate reported.
SCORED_ENDPLATES = tuple(
    (vertebra, side) for vertebra in LABELLED_VERTEBRAE[:-1] for side in ("superior", "inferior")
) + (("S1", "superior"),)
CENTRE_TOLERANCE_MM = 10.0
# A child's ru_maxrss within this of the floor is taken to be the floor (the parent's image can
# grow a little between measuring the floor and spawning).
MEMORY_FLOOR_MARGIN_KIB = 512
MODIC_TYPES = ("0", "1", "2", "3", "1/2", "2/3")
TYPE_CLASSES = (0, 1, 2, 3)  # rows and columns of the type confusion matrix

Parts = tuple  # the pure types a Modic type is made of: "0" -> (), "2" -> (2,), "1/2" -> (1, 2)


class ScoringError(ValueError):
    """A truth or result document that cannot be scored; the message says what is wrong."""


# --- Modic types -------------------------------------------------------------------------------

def type_parts(value) -> Parts:
    """The pure types of a Modic type, in its own order.

    Accepts the findings/truth spelling ("0", "1", "2", "3", "1/2", "2/3") and the radiologist
    grades of spider-dev (the integers 0-3).
    """
    if isinstance(value, bool):
        raise ScoringError(f"not a Modic type: {value!r}")
    if isinstance(value, int):
        value = str(value)
    if not isinstance(value, str) or value not in MODIC_TYPES:
        raise ScoringError(f"not a Modic type: {value!r}")
    if value == "0":
        return ()
    return tuple(int(part) for part in value.split("/"))


def is_right(truth: Parts, predicted: Parts) -> bool:
    """The type rule used everywhere: "0" must meet "0"; a change is right when the prediction
    shares a pure type with the truth (so a mixed prediction is right when the truth is one of its
    parts, and a mixed or two-type truth accepts any of its parts)."""
    if not truth:
        return not predicted
    return bool(set(truth) & set(predicted))


def confusion_cell(truth: Parts, predicted: Parts) -> tuple[int, int]:
    """(row, column) of the 0-3 type confusion matrix for one level.

    A mixed type goes to its part that matches the other side if one does, else to its first part.
    """
    for part in predicted:
        if part in truth:
            return part, part
    return (truth[0] if truth else 0), (predicted[0] if predicted else 0)


def level_endplates(level: str) -> tuple[tuple[str, str], tuple[str, str]]:
    """The two endplates facing a disc level: ("L4", "inferior"), ("L5", "superior")."""
    upper, lower = level.split("/")
    return (upper, "inferior"), (lower, "superior")


# --- Truth --------------------------------------------------------------------------------------

@dataclass(frozen=True)
class StudyTruth:
    kind: str  # "radiologist" (modic_by_disc_level) or "generator" (endplates from modic-phantom)
    levels: dict  # scored disc level -> Parts; only levels the truth grades
    endplates: Optional[dict] = None  # (vertebra, side) -> Parts; None when the truth has none
    centres: Optional[dict] = None  # label -> (x, y, z) mm; None when the truth has none


def levels_from_endplates(endplates: dict) -> dict:
    """Disc level truth from generator endplates: "0" when both facing endplates are "0", else the
    pure types of the changed one(s), cranial endplate first. A level none of whose endplates the
    truth lists is not graded."""
    levels = {}
    for level in SCORED_LEVELS:
        present = [endplates[key] for key in level_endplates(level) if key in endplates]
        if not present:
            continue
        parts = []
        for endplate_parts in present:
            parts.extend(part for part in endplate_parts if part not in parts)
        levels[level] = tuple(parts)
    return levels


def _centre(value, where: str) -> tuple:
    if (not isinstance(value, list) or len(value) != 3
            or not all(isinstance(c, (int, float)) and not isinstance(c, bool) for c in value)):
        raise ScoringError(f"{where}: center_mm must be three numbers, got {value!r}")
    return tuple(float(c) for c in value)


def _endplate_key(entry, where: str) -> tuple[str, str]:
    if not isinstance(entry, dict):
        raise ScoringError(f"{where}: an endplate must be an object, got {entry!r}")
    vertebra, side = entry.get("vertebra"), entry.get("side")
    if not isinstance(vertebra, str) or side not in ("superior", "inferior"):
        raise ScoringError(f"{where}: endplate needs a vertebra and a side, got {entry!r}")
    return vertebra, side


def _typed(value, where: str) -> Parts:
    try:
        return type_parts(value)
    except ScoringError as error:
        raise ScoringError(f"{where}: {error}") from None


def _list_field(doc: dict, name: str, where: str) -> list:
    value = doc.get(name)
    if value is None:
        return []
    if not isinstance(value, list):
        raise ScoringError(f"{where}: \"{name}\" must be a list")
    return value


def truth_from_json(doc) -> StudyTruth:
    """Reads either kind of truth.json. An explicit modic_by_disc_level wins over levels derived
    from endplates; endplates and vertebra centres are scored whenever present."""
    if not isinstance(doc, dict):
        raise ScoringError("truth.json must hold an object")
    endplates = None
    if "endplates" in doc:
        endplates = {}
        for entry in _list_field(doc, "endplates", "truth endplates"):
            key = _endplate_key(entry, "truth")
            endplates[key] = _typed(entry.get("modic_type"), f"truth endplate {key[0]} {key[1]}")
    centres = None
    if "vertebrae" in doc:
        centres = {}
        for entry in _list_field(doc, "vertebrae", "truth vertebrae"):
            if not isinstance(entry, dict) or not isinstance(entry.get("label"), str):
                raise ScoringError(f"truth vertebra needs a label, got {entry!r}")
            centres[entry["label"]] = _centre(entry.get("center_mm"), f"truth vertebra {entry['label']}")

    if "modic_by_disc_level" in doc:
        grades = doc["modic_by_disc_level"]
        if not isinstance(grades, dict):
            raise ScoringError("truth modic_by_disc_level must be an object")
        levels = {level: _typed(grades[level], f"truth level {level}")
                  for level in SCORED_LEVELS if level in grades}
        kind = "radiologist"
    elif endplates is not None:
        levels = levels_from_endplates(endplates)
        kind = "generator"
    else:
        raise ScoringError("truth.json has neither modic_by_disc_level nor endplates")
    return StudyTruth(kind=kind, levels=levels, endplates=endplates, centres=centres)


# --- Analyze results ----------------------------------------------------------------------------

@dataclass(frozen=True)
class StudyPrediction:
    analyzed: bool
    reason: str = ""
    levels: dict = field(default_factory=dict)  # disc level -> Parts
    endplates: dict = field(default_factory=dict)  # (vertebra, side) -> Parts
    centres: dict = field(default_factory=dict)  # label -> (x, y, z) mm


def prediction_from_json(doc) -> StudyPrediction:
    """Reads an analyze result. A not_analyzable result predicts nothing (every level "0")."""
    if not isinstance(doc, dict):
        raise ScoringError("result must hold an object")
    status = doc.get("status")
    if status == "not_analyzable":
        return StudyPrediction(analyzed=False, reason=str(doc.get("reason") or ""))
    if status != "analyzed":
        raise ScoringError(f"result status must be \"analyzed\" or \"not_analyzable\", got {status!r}")

    levels = {}
    for entry in _list_field(doc, "levels", "result"):
        if not isinstance(entry, dict) or not isinstance(entry.get("disc_level"), str):
            raise ScoringError(f"result level needs a disc_level, got {entry!r}")
        # The first entry of a level counts; a duplicate is the node's bug, not a second chance.
        levels.setdefault(entry["disc_level"],
                          _typed(entry.get("modic_type"), f"result level {entry['disc_level']}"))
    endplates = {}
    for entry in _list_field(doc, "endplates", "result"):
        key = _endplate_key(entry, "result")
        endplates.setdefault(key, _typed(entry.get("modic_type"), f"result endplate {key[0]} {key[1]}"))
    centres = {}
    for entry in _list_field(doc, "vertebrae", "result"):
        if not isinstance(entry, dict) or not isinstance(entry.get("label"), str):
            raise ScoringError(f"result vertebra needs a label, got {entry!r}")
        centres.setdefault(entry["label"], _centre(entry.get("center_mm"), f"result vertebra {entry['label']}"))
    return StudyPrediction(analyzed=True, levels=levels, endplates=endplates, centres=centres)


def load_json(path) -> object:
    """A JSON file's content; ScoringError naming the file when it cannot be read."""
    try:
        with open(path, encoding="utf-8") as handle:
            return json.load(handle)
    except (OSError, ValueError) as error:
        raise ScoringError(f"{path}: {error}") from None


# --- One study's outcome ------------------------------------------------------------------------

@dataclass
class StudyOutcome:
    name: str
    truth: StudyTruth
    prediction: Optional[StudyPrediction] = None  # None: the run failed, nothing is scored as found
    failure: str = ""  # why there is no prediction (crash, exit status, unreadable result)
    seconds: Optional[float] = None  # wall time of the analyze child
    peak_rss_kib: Optional[int] = None  # the child's own ru_maxrss
    rss_floor_kib: Optional[int] = None  # ru_maxrss of a do-nothing child spawned the same way

    @property
    def memory_at_floor(self) -> bool:
        """True when the child's ru_maxrss is the spawning process's image (Linux counts the image
        a child was spawned from): the child's own peak is then at most that, not that."""
        if self.peak_rss_kib is None or self.rss_floor_kib is None:
            return False
        return self.peak_rss_kib <= self.rss_floor_kib + MEMORY_FLOOR_MARGIN_KIB

    @property
    def status(self) -> str:
        if self.prediction is None:
            return "failed"
        return "analyzed" if self.prediction.analyzed else "not_analyzable"


def predicted_level(outcome: StudyOutcome, level: str) -> Optional[Parts]:
    """The predicted type of a level, None when the result has none (scored as "0")."""
    prediction = outcome.prediction
    if prediction is None or not prediction.analyzed:
        return None
    return prediction.levels.get(level)


def study_levels_right(outcome: StudyOutcome) -> tuple[int, int]:
    """(levels whose type is right, levels scored) for the per-study table."""
    right = sum(is_right(truth, predicted_level(outcome, level) or ())
                for level, truth in outcome.truth.levels.items())
    return right, len(outcome.truth.levels)


# --- Figures ------------------------------------------------------------------------------------

def rate(count: int, total: int) -> dict:
    return {"value": count / total if total else None, "count": count, "of": total}


def cohen_kappa(tp: int, fp: int, tn: int, fn: int) -> Optional[float]:
    """Cohen's kappa of two binary raters (truth, prediction); None when chance agreement is 1
    (both raters gave one class to everything), where kappa is undefined."""
    n = tp + fp + tn + fn
    if n == 0:
        return None
    observed = (tp + tn) / n
    chance = ((tp + fp) * (tp + fn) + (fn + tn) * (fp + tn)) / (n * n)
    if math.isclose(chance, 1.0):
        return None
    return (observed - chance) / (1.0 - chance)


def _level_figures(outcomes: list) -> dict:
    tp = fp = tn = fn = 0
    confusion = [[0] * len(TYPE_CLASSES) for _ in TYPE_CLASSES]
    changed_right = changed_total = 0
    all_right = 0
    missing = {"missing_from_levels": 0, "not_analyzable": 0, "failed": 0}
    scored = 0
    for outcome in outcomes:
        for level, truth in outcome.truth.levels.items():
            scored += 1
            predicted = predicted_level(outcome, level)
            if predicted is None:
                reason = {"failed": "failed", "not_analyzable": "not_analyzable"}.get(
                    outcome.status, "missing_from_levels")
                missing[reason] += 1
                predicted = ()
            truth_changed, predicted_changed = bool(truth), bool(predicted)
            tp += truth_changed and predicted_changed
            fn += truth_changed and not predicted_changed
            fp += predicted_changed and not truth_changed
            tn += not truth_changed and not predicted_changed
            row, column = confusion_cell(truth, predicted)
            confusion[row][column] += 1
            right = is_right(truth, predicted)
            all_right += right
            if truth_changed:
                changed_total += 1
                changed_right += right
    sensitivity, specificity = rate(tp, tp + fn), rate(tn, tn + fp)
    balanced = None
    if sensitivity["value"] is not None and specificity["value"] is not None:
        balanced = (sensitivity["value"] + specificity["value"]) / 2
    return {
        "scored": scored,
        "without_prediction": dict(missing, total=sum(missing.values())),
        "presence": {"tp": tp, "fp": fp, "tn": tn, "fn": fn,
                     "sensitivity": sensitivity, "specificity": specificity,
                     "balanced_accuracy": balanced, "kappa": cohen_kappa(tp, fp, tn, fn)},
        "type_confusion": confusion,  # [truth type][predicted type], types 0-3
        "type_right": rate(all_right, scored),
        "type_right_on_changed": rate(changed_right, changed_total),
    }


def _endplate_figures(outcomes: list) -> Optional[dict]:
    with_truth = [o for o in outcomes if o.truth.endplates is not None]
    if not with_truth:
        return None
    changed_right = changed_total = changed_missing = 0
    normal_called = normal_total = normal_missing = 0
    for outcome in with_truth:
        found = outcome.prediction.endplates if outcome.prediction and outcome.prediction.analyzed else {}
        for key in SCORED_ENDPLATES:
            if key not in outcome.truth.endplates:
                continue
            truth, predicted = outcome.truth.endplates[key], found.get(key)
            if truth:
                changed_total += 1
                changed_missing += predicted is None
                # A missing endplate is wrong: is_right never matches a change with ().
                changed_right += is_right(truth, predicted or ())
            else:
                normal_total += 1
                normal_missing += predicted is None
                normal_called += bool(predicted)
    return {"studies": len(with_truth),
            "type_right_on_changed": rate(changed_right, changed_total),
            "changed_missing": changed_missing,
            "normal_called_changed": rate(normal_called, normal_total),
            "normal_missing": normal_missing}


def _vertebra_figures(outcomes: list) -> Optional[dict]:
    with_truth = [o for o in outcomes if o.truth.centres is not None]
    if not with_truth:
        return None
    found_by_label = {label: 0 for label in LABELLED_VERTEBRAE}
    total_by_label = {label: 0 for label in LABELLED_VERTEBRAE}
    for outcome in with_truth:
        reported = outcome.prediction.centres if outcome.prediction and outcome.prediction.analyzed else {}
        for label in LABELLED_VERTEBRAE:
            if label not in outcome.truth.centres:
                continue
            total_by_label[label] += 1
            centre = reported.get(label)
            if centre is not None and math.dist(centre, outcome.truth.centres[label]) <= CENTRE_TOLERANCE_MM:
                found_by_label[label] += 1
    return {"studies": len(with_truth),
            "tolerance_mm": CENTRE_TOLERANCE_MM,
            "overall": rate(sum(found_by_label.values()), sum(total_by_label.values())),
            "by_label": {label: rate(found_by_label[label], total_by_label[label])
                         for label in LABELLED_VERTEBRAE}}


def _spread(values: list) -> Optional[dict]:
    if not values:
        return None
    return {"median": statistics.median(values), "max": max(values)}


def _timing_figures(outcomes: list) -> Optional[dict]:
    timed = [o for o in outcomes if o.seconds is not None]
    if not timed:
        return None
    memory = [o.peak_rss_kib / 1024 for o in timed if o.peak_rss_kib is not None]
    floors = [o.rss_floor_kib / 1024 for o in timed if o.rss_floor_kib is not None]
    return {"studies": len(timed),
            "seconds": _spread([o.seconds for o in timed]),
            "peak_memory_mib": _spread(memory),
            "peak_memory_floor_mib": max(floors) if floors else None,
            "studies_at_memory_floor": sum(o.memory_at_floor for o in timed)}


def score(outcomes: list) -> dict:
    """Every figure of the benchmark, as plain data (what --json writes)."""
    kinds = {}
    for outcome in outcomes:
        kinds[outcome.truth.kind] = kinds.get(outcome.truth.kind, 0) + 1
    return {
        "studies": {
            "total": len(outcomes),
            "truth_kinds": kinds,
            "analyzed": sum(o.status == "analyzed" for o in outcomes),
            "not_analyzable": [{"study": o.name, "reason": o.prediction.reason}
                               for o in outcomes if o.status == "not_analyzable"],
            "failed": [{"study": o.name, "reason": o.failure} for o in outcomes if o.status == "failed"],
        },
        "levels": _level_figures(outcomes),
        "endplates": _endplate_figures(outcomes),
        "vertebrae": _vertebra_figures(outcomes),
        "timing": _timing_figures(outcomes),
        "per_study": [per_study_row(o) for o in outcomes],
    }


def per_study_row(outcome: StudyOutcome) -> dict:
    right, total = study_levels_right(outcome)
    return {"study": outcome.name, "truth": outcome.truth.kind, "status": outcome.status,
            "levels_right": right, "levels_scored": total,
            "seconds": outcome.seconds,
            "peak_memory_mib": None if outcome.peak_rss_kib is None else outcome.peak_rss_kib / 1024,
            "peak_memory_at_floor": outcome.memory_at_floor,
            "note": outcome.failure or (outcome.prediction.reason if outcome.prediction else "")}


# --- The human-readable report ------------------------------------------------------------------

def format_number(value: Optional[float]) -> str:
    return "n/a" if value is None else f"{value:.3f}"


def format_rate(figure: dict) -> str:
    return f"{format_number(figure['value'])} ({figure['count']}/{figure['of']})"


def _format_studies(studies: dict) -> list:
    kinds = ", ".join(f"{kind} truth {count}" for kind, count in sorted(studies["truth_kinds"].items()))
    lines = [f"Studies: {studies['total']} ({kinds}); analyzed {studies['analyzed']}, "
             f"not analyzable {len(studies['not_analyzable'])}, failed {len(studies['failed'])}"]
    for entry in studies["not_analyzable"]:
        lines.append(f"  not analyzable: {entry['study']}: {entry['reason'] or '(no reason given)'}")
    for entry in studies["failed"]:
        lines.append(f"  FAILED: {entry['study']}: {entry['reason']}")
    return lines


def _format_levels(levels: dict) -> list:
    missing = levels["without_prediction"]
    presence = levels["presence"]
    lines = [
        f"Disc levels L1/L2 to L5/S1: {levels['scored']} scored; {missing['total']} without a "
        f"prediction, counted as \"0\" ({missing['missing_from_levels']} missing from `levels`, "
        f"{missing['not_analyzable']} in not-analyzable studies, {missing['failed']} in failed studies)",
        "  Presence of a Modic change:",
        f"    sensitivity          {format_rate(presence['sensitivity'])}",
        f"    specificity          {format_rate(presence['specificity'])}",
        f"    balanced accuracy    {format_number(presence['balanced_accuracy'])}",
        f"    Cohen's kappa        {format_number(presence['kappa'])}"
        f"   (TP {presence['tp']}, FN {presence['fn']}, FP {presence['fp']}, TN {presence['tn']})",
        "  Type confusion (rows: truth, columns: predicted):",
        "               " + "".join(f"{'pred ' + str(t):>9}" for t in TYPE_CLASSES),
    ]
    for row_type, row in zip(TYPE_CLASSES, levels["type_confusion"]):
        lines.append(f"    truth {row_type}    " + "".join(f"{count:>9}" for count in row))
    lines.append(f"    type right, all levels      {format_rate(levels['type_right'])}")
    lines.append(f"    type right, changed levels  {format_rate(levels['type_right_on_changed'])}")
    return lines


def _format_endplates(endplates: Optional[dict]) -> list:
    if endplates is None:
        return ["Endplates: no truth with endplates"]
    return [
        f"Endplates L1 superior to S1 superior ({endplates['studies']} studies with endplate truth):",
        f"    exact type on changed endplates   {format_rate(endplates['type_right_on_changed'])}"
        f"   ({endplates['changed_missing']} missing from the results, counted wrong)",
        f"    normal endplates called changed   {format_rate(endplates['normal_called_changed'])}"
        f"   ({endplates['normal_missing']} missing from the results, counted \"0\")",
    ]


def _format_vertebrae(vertebrae: Optional[dict]) -> list:
    if vertebrae is None:
        return ["Vertebra labelling: no truth with vertebra centres"]
    by_label = "  ".join(f"{label} {format_rate(figure)}" for label, figure in vertebrae["by_label"].items())
    return [
        f"Vertebra labelling ({vertebrae['studies']} studies with centres; found = the reported "
        f"centre of that label within {vertebrae['tolerance_mm']:g} mm of the truth):",
        f"    all labels   {format_rate(vertebrae['overall'])}",
        f"    {by_label}",
    ]


def _format_timing(timing: Optional[dict]) -> list:
    if timing is None:
        return ["Time and memory: not measured (no run records)"]
    lines = [f"Time and memory per study ({timing['studies']} studies timed):"]
    seconds = timing["seconds"]
    lines.append(f"    wall seconds       median {format_number(seconds['median'])}   max {format_number(seconds['max'])}")
    memory = timing["peak_memory_mib"]
    if memory:
        lines.append(f"    peak memory (MiB)  median {format_number(memory['median'])}   max {format_number(memory['max'])}")
    if timing["peak_memory_floor_mib"] is not None:
        lines.append(f"    ({timing['studies_at_memory_floor']} of {timing['studies']} studies at the floor of "
                     f"{format_number(timing['peak_memory_floor_mib'])} MiB: Linux counts the spawning Python's "
                     f"image in a child's peak, so theirs is at most that; shown as <= in the table)")
    return lines


def _format_per_study(rows: list) -> list:
    width = max([len("study")] + [len(row["study"]) for row in rows])
    lines = [f"  {'study':<{width}}  {'truth':<11}  {'status':<14}  {'levels right':>12}  "
             f"{'seconds':>9}  {'peak MiB':>10}  note"]
    for row in rows:
        levels = f"{row['levels_right']}/{row['levels_scored']}"
        seconds = "-" if row["seconds"] is None else f"{row['seconds']:.3f}"
        memory = "-" if row["peak_memory_mib"] is None else f"{row['peak_memory_mib']:.3f}"
        if row["peak_memory_at_floor"]:
            memory = "<=" + memory
        lines.append(f"  {row['study']:<{width}}  {row['truth']:<11}  {row['status']:<14}  {levels:>12}  "
                     f"{seconds:>9}  {memory:>10}  {row['note']}".rstrip())
    return lines


def format_report(figures: dict) -> str:
    sections = [
        ["Per study:"] + _format_per_study(figures["per_study"]),
        _format_studies(figures["studies"]),
        _format_levels(figures["levels"]),
        _format_endplates(figures["endplates"]),
        _format_vertebrae(figures["vertebrae"]),
        _format_timing(figures["timing"]),
    ]
    return "\n\n".join("\n".join(section) for section in sections) + "\n"
