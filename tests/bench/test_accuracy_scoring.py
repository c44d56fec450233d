"""bench/accuracy_scoring.py: the scoring rules, perfect answers, and known wrong answers whose
figures are worked out by hand below."""

import json
import unittest

import accuracy_fixtures as fx
from accuracy_fixtures import accuracy_scoring as scoring


class ModicTypeRules(unittest.TestCase):
    def test_type_parts_reads_both_spellings(self):
        self.assertEqual(scoring.type_parts("0"), ())
        self.assertEqual(scoring.type_parts(0), ())
        self.assertEqual(scoring.type_parts(2), (2,))
        self.assertEqual(scoring.type_parts("3"), (3,))
        self.assertEqual(scoring.type_parts("1/2"), (1, 2))
        self.assertEqual(scoring.type_parts("2/3"), (2, 3))

    def test_type_parts_rejects_anything_else(self):
        for value in ("4", "1/3", "", None, True, 1.0, "I", 4):
            with self.subTest(value=value), self.assertRaises(scoring.ScoringError):
                scoring.type_parts(value)

    def test_mixed_prediction_is_right_when_the_truth_is_one_of_its_parts(self):
        self.assertTrue(scoring.is_right((2,), (1, 2)))
        self.assertTrue(scoring.is_right((1,), (1, 2)))
        self.assertFalse(scoring.is_right((3,), (1, 2)))
        self.assertFalse(scoring.is_right((), (1, 2)))

    def test_two_type_truth_accepts_either_type(self):
        self.assertTrue(scoring.is_right((1, 2), (1,)))
        self.assertTrue(scoring.is_right((1, 2), (2,)))
        self.assertTrue(scoring.is_right((1, 2), (2, 3)))
        self.assertFalse(scoring.is_right((1, 2), (3,)))
        self.assertFalse(scoring.is_right((1, 2), ()))

    def test_no_change_must_be_called_no_change(self):
        self.assertTrue(scoring.is_right((), ()))
        self.assertFalse(scoring.is_right((), (1,)))
        self.assertFalse(scoring.is_right((2,), ()))

    def test_confusion_cell_puts_a_mixed_type_under_its_matching_part(self):
        self.assertEqual(scoring.confusion_cell((2,), (1, 2)), (2, 2))
        self.assertEqual(scoring.confusion_cell((3,), (2, 3)), (3, 3))
        # No part matches: the first part.
        self.assertEqual(scoring.confusion_cell((3,), (1, 2)), (3, 1))
        self.assertEqual(scoring.confusion_cell((), (2, 3)), (0, 2))
        # A two-type truth goes to the row of the matching part, else its first (cranial) part.
        self.assertEqual(scoring.confusion_cell((1, 2), (2,)), (2, 2))
        self.assertEqual(scoring.confusion_cell((1, 2), (3,)), (1, 3))
        self.assertEqual(scoring.confusion_cell((1, 2), ()), (1, 0))


class TruthReading(unittest.TestCase):
    def test_generator_levels_come_from_the_facing_endplates(self):
        truth = scoring.truth_from_json(fx.generator_truth({
            ("L1", "inferior"): "0", ("L2", "superior"): "0",  # L1/L2: both normal
            ("L2", "inferior"): "1", ("L3", "superior"): "2",  # L2/L3: both changed, different
            ("L3", "inferior"): "0", ("L4", "superior"): "2/3",  # L3/L4: lower one changed, mixed
            ("L4", "inferior"): "2", ("L5", "superior"): "2",  # L4/L5: both the same
            ("L5", "inferior"): "0", ("S1", "superior"): "3",  # L5/S1 uses S1 superior
        }))
        self.assertEqual(truth.kind, "generator")
        self.assertEqual(truth.levels, {"L1/L2": (), "L2/L3": (1, 2), "L3/L4": (2, 3),
                                        "L4/L5": (2,), "L5/S1": (3,)})
        self.assertEqual(len(truth.endplates), 11)
        self.assertIsNone(truth.centres)

    def test_radiologist_grades_are_read_for_l1_l2_to_l5_s1_only(self):
        truth = scoring.truth_from_json({"modic_by_disc_level": {
            "L5/S1": 0, "L4/L5": 2, "L3/L4": 3, "L2/L3": 0, "L1/L2": 1, "T12/L1": 2, "T11/T12": 0}})
        self.assertEqual(truth.kind, "radiologist")
        self.assertEqual(truth.levels, {"L1/L2": (1,), "L2/L3": (), "L3/L4": (3,), "L4/L5": (2,), "L5/S1": ()})
        self.assertIsNone(truth.endplates)
        self.assertIsNone(truth.centres)

    def test_a_truth_without_grades_or_endplates_is_refused(self):
        with self.assertRaisesRegex(scoring.ScoringError, "neither modic_by_disc_level nor endplates"):
            scoring.truth_from_json({"vertebrae": []})
        with self.assertRaisesRegex(scoring.ScoringError, "truth level L4/L5"):
            scoring.truth_from_json({"modic_by_disc_level": {"L4/L5": 7}})

    def test_every_real_spider_dev_truth_is_readable(self):
        if not fx.SPIDER_DEV_DIR.is_dir():
            self.skipTest(f"{fx.SPIDER_DEV_DIR} not present")
        files = sorted(fx.SPIDER_DEV_DIR.glob("*/truth.json"))
        self.assertGreater(len(files), 0)
        for path in files:
            truth = scoring.truth_from_json(json.loads(path.read_text()))
            self.assertEqual(truth.kind, "radiologist", path)
            self.assertEqual(set(truth.levels), set(scoring.SCORED_LEVELS), path)


class ResultReading(unittest.TestCase):
    def test_not_analyzable_predicts_nothing(self):
        prediction = scoring.prediction_from_json(fx.analyze_result(
            levels={"L4/L5": "1"}, status="not_analyzable", reason="no T2"))
        self.assertFalse(prediction.analyzed)
        self.assertEqual(prediction.reason, "no T2")
        self.assertEqual(prediction.levels, {})

    def test_unknown_status_or_type_is_refused(self):
        with self.assertRaisesRegex(scoring.ScoringError, "status"):
            scoring.prediction_from_json(fx.analyze_result(status="done"))
        with self.assertRaisesRegex(scoring.ScoringError, "result level L4/L5"):
            scoring.prediction_from_json(fx.analyze_result(levels={"L4/L5": "type 1"}))


class CohenKappa(unittest.TestCase):
    def test_kappa_by_hand(self):
        # TP 20, FP 5, TN 15, FN 10, N 50: observed (20 + 15) / 50 = 0.7;
        # chance = ((20 + 5)(20 + 10) + (10 + 15)(5 + 15)) / 50^2 = (750 + 500) / 2500 = 0.5;
        # kappa = (0.7 - 0.5) / (1 - 0.5) = 0.4
        self.assertAlmostEqual(scoring.cohen_kappa(tp=20, fp=5, tn=15, fn=10), 0.4)

    def test_kappa_of_perfect_and_of_chance_agreement(self):
        self.assertAlmostEqual(scoring.cohen_kappa(tp=3, fp=0, tn=7, fn=0), 1.0)
        # Predicting "no change" everywhere: observed = chance = TN / N, so kappa 0.
        self.assertAlmostEqual(scoring.cohen_kappa(tp=0, fp=0, tn=7, fn=3), 0.0)

    def test_kappa_is_undefined_when_everything_is_one_class(self):
        self.assertIsNone(scoring.cohen_kappa(tp=0, fp=0, tn=10, fn=0))
        self.assertIsNone(scoring.cohen_kappa(tp=0, fp=0, tn=0, fn=0))


def perfect_outcomes(truths: list) -> list:
    return [scoring.StudyOutcome(name=f"s{i}", truth=scoring.truth_from_json(truth),
                                 prediction=scoring.prediction_from_json(fx.perfect_result(truth)))
            for i, truth in enumerate(truths)]


class PerfectAnswers(unittest.TestCase):
    def assert_levels_perfect(self, figures, positives, negatives):
        levels = figures["levels"]
        presence = levels["presence"]
        self.assertEqual((presence["tp"], presence["fn"], presence["fp"], presence["tn"]),
                         (positives, 0, 0, negatives))
        self.assertEqual(presence["sensitivity"]["value"], 1.0)
        self.assertEqual(presence["specificity"]["value"], 1.0)
        self.assertEqual(presence["balanced_accuracy"], 1.0)
        self.assertAlmostEqual(presence["kappa"], 1.0)
        self.assertEqual(levels["without_prediction"]["total"], 0)
        self.assertEqual(levels["type_right"]["count"], positives + negatives)
        matrix = levels["type_confusion"]
        off_diagonal = sum(matrix[r][c] for r in range(4) for c in range(4) if r != c)
        self.assertEqual(off_diagonal, 0)

    def test_generator_truth_turned_into_findings_scores_perfectly(self):
        truths = [
            fx.generator_truth(fx.G1_TRUTH_TYPES, fx.G1_CENTRES),
            fx.generator_truth({("L2", "inferior"): "1", ("L3", "superior"): "2",
                                ("L5", "inferior"): "2/3"},
                               {label: (1, 2, 3 * i) for i, label in enumerate(scoring.LABELLED_VERTEBRAE)}),
            fx.generator_truth({}),  # a normal spine, no centres
        ]
        figures = scoring.score(perfect_outcomes(truths))
        # Changed levels: G1 4 (L2/L3, L3/L4, L4/L5, L5/S1), second 2 (L2/L3, L5/S1), normal 0.
        self.assert_levels_perfect(figures, positives=6, negatives=9)
        endplates = figures["endplates"]
        self.assertEqual(endplates["studies"], 3)
        self.assertEqual(endplates["type_right_on_changed"], {"value": 1.0, "count": 8, "of": 8})
        self.assertEqual(endplates["normal_called_changed"], {"value": 0.0, "count": 0, "of": 25})
        vertebrae = figures["vertebrae"]
        self.assertEqual(vertebrae["studies"], 2)
        self.assertEqual(vertebrae["overall"], {"value": 1.0, "count": 12, "of": 12})

    def test_radiologist_truth_turned_into_findings_scores_perfectly(self):
        truths = [fx.radiologist_truth({"L1/L2": 0, "L2/L3": 2, "L3/L4": 2, "L4/L5": 3, "L5/S1": 1}),
                  fx.radiologist_truth({"L1/L2": 0, "L2/L3": 0, "L3/L4": 0, "L4/L5": 0, "L5/S1": 0})]
        figures = scoring.score(perfect_outcomes(truths))
        self.assert_levels_perfect(figures, positives=4, negatives=6)
        self.assertIsNone(figures["endplates"])
        self.assertIsNone(figures["vertebrae"])

    def test_real_spider_dev_truth_turned_into_findings_scores_perfectly(self):
        if not fx.SPIDER_DEV_DIR.is_dir():
            self.skipTest(f"{fx.SPIDER_DEV_DIR} not present")
        truths = [json.loads(p.read_text()) for p in sorted(fx.SPIDER_DEV_DIR.glob("*/truth.json"))]
        figures = scoring.score(perfect_outcomes(truths))
        changed = sum(1 for t in truths for level in scoring.SCORED_LEVELS if t["modic_by_disc_level"][level])
        self.assertGreater(changed, 0)
        self.assert_levels_perfect(figures, positives=changed, negatives=5 * len(truths) - changed)


class KnownWrongAnswersRadiologist(unittest.TestCase):
    """fx.radiologist_set(): five studies, 25 levels; the comments there say what each gets wrong."""

    @classmethod
    def setUpClass(cls):
        cls.figures = scoring.score(fx.outcomes_of_set(fx.radiologist_set()))

    def test_presence_counts_and_rates(self):
        presence = self.figures["levels"]["presence"]
        # TP: A L2/L3, A L3/L4, B L4/L5 = 3.   FN: A L5/S1, B L3/L4, D L1/L2, E L4/L5 = 4.
        # FP: A L4/L5, B L1/L2 = 2.            TN: A 1 + B 2 + C 5 + D 4 + E 4 = 16.   N = 25.
        self.assertEqual((presence["tp"], presence["fn"], presence["fp"], presence["tn"]), (3, 4, 2, 16))
        self.assertEqual(presence["sensitivity"], {"value": 3 / 7, "count": 3, "of": 7})
        self.assertEqual(presence["specificity"], {"value": 16 / 18, "count": 16, "of": 18})
        # (3/7 + 8/9) / 2 = (27/63 + 56/63) / 2 = 83/126
        self.assertAlmostEqual(presence["balanced_accuracy"], 83 / 126)
        # observed = 19/25 = 0.76; chance = (5*7 + 20*18) / 625 = 395/625 = 0.632;
        # kappa = (0.76 - 0.632) / (1 - 0.632) = 0.128 / 0.368 = 8/23
        self.assertAlmostEqual(presence["kappa"], 8 / 23)

    def test_type_confusion(self):
        # rows truth 0-3, columns predicted 0-3:
        # truth 0: 16 right, A L4/L5 called 1, B L1/L2 called 2.
        # truth 1: A L5/S1 missing, E crashed -> both in column 0.
        # truth 2: B L3/L4 and D L1/L2 called 0; A L3/L4 "1/2" -> column 2; A L2/L3 called 3.
        # truth 3: B L4/L5 "2/3" -> column 3.
        self.assertEqual(self.figures["levels"]["type_confusion"],
                         [[16, 1, 1, 0], [2, 0, 0, 0], [2, 0, 1, 1], [0, 0, 0, 1]])
        self.assertEqual(self.figures["levels"]["type_right"], {"value": 18 / 25, "count": 18, "of": 25})
        self.assertEqual(self.figures["levels"]["type_right_on_changed"], {"value": 2 / 7, "count": 2, "of": 7})

    def test_levels_without_prediction_are_counted_by_cause(self):
        # A and C lack L5/S1; D (not analyzable) and E (crashed) have 5 levels each.
        self.assertEqual(self.figures["levels"]["without_prediction"],
                         {"missing_from_levels": 2, "not_analyzable": 5, "failed": 5, "total": 12})
        self.assertEqual(self.figures["levels"]["scored"], 25)

    def test_studies_are_named_by_outcome(self):
        studies = self.figures["studies"]
        self.assertEqual(studies["analyzed"], 3)
        self.assertEqual(studies["not_analyzable"], [{"study": "D", "reason": "no sagittal T1 series"}])
        self.assertEqual(studies["failed"], [{"study": "E", "reason": "crashed: killed by signal 11 (SIGSEGV)"}])
        rights = {row["study"]: (row["levels_right"], row["levels_scored"]) for row in self.figures["per_study"]}
        self.assertEqual(rights, {"A": (2, 5), "B": (3, 5), "C": (5, 5), "D": (4, 5), "E": (4, 5)})

    def test_timing_median_and_max(self):
        timing = self.figures["timing"]
        # seconds 2, 4, 3, 1, 10 -> median 3, max 10; MiB 200, 100, 300, 50, 400 -> median 200, max 400
        self.assertEqual(timing["studies"], 5)
        self.assertEqual(timing["seconds"], {"median": 3.0, "max": 10.0})
        self.assertEqual(timing["peak_memory_mib"], {"median": 200.0, "max": 400.0})

    def test_memory_at_the_spawning_floor_is_flagged(self):
        outcome = scoring.StudyOutcome(name="x", truth=scoring.truth_from_json(fx.generator_truth({})),
                                       seconds=1.0, peak_rss_kib=17000, rss_floor_kib=17000)
        self.assertTrue(outcome.memory_at_floor)
        outcome.peak_rss_kib = 17000 + scoring.MEMORY_FLOOR_MARGIN_KIB + 1
        self.assertFalse(outcome.memory_at_floor)
        figures = scoring.score([outcome])
        self.assertEqual(figures["timing"]["studies_at_memory_floor"], 0)
        self.assertFalse(figures["per_study"][0]["peak_memory_at_floor"])

    def test_report_shows_rates_with_counts(self):
        report = scoring.format_report(self.figures)
        self.assertIn("sensitivity          0.429 (3/7)", report)
        self.assertIn("specificity          0.889 (16/18)", report)
        self.assertIn("Cohen's kappa        0.348", report)
        self.assertIn("FAILED: E: crashed: killed by signal 11 (SIGSEGV)", report)
        self.assertIn("12 without a prediction", report)
        self.assertIn("Endplates: no truth with endplates", report)


class KnownWrongAnswersGenerator(unittest.TestCase):
    """fx.generator_set(): G1 analysed with mistakes, G3 with the same truth left no result."""

    @classmethod
    def setUpClass(cls):
        cls.figures = scoring.score(fx.outcomes_of_set(fx.generator_set()))

    def test_levels(self):
        levels = self.figures["levels"]
        presence = levels["presence"]
        # Truth levels (both studies): L1/L2 "0", L2/L3 1, L3/L4 2, L4/L5 1/2 (L4 inf), L5/S1 3.
        # G1: L1/L2 TN, L2/L3 TP, L3/L4 TP, L4/L5 "2" TP, L5/S1 "0" FN.  G3: 1 TN, 4 FN.
        self.assertEqual((presence["tp"], presence["fn"], presence["fp"], presence["tn"]), (3, 5, 0, 2))
        self.assertEqual(presence["sensitivity"]["value"], 3 / 8)
        self.assertEqual(presence["specificity"]["value"], 1.0)
        self.assertAlmostEqual(presence["balanced_accuracy"], 11 / 16)  # (3/8 + 1) / 2
        # observed = 5/10; chance = (3*8 + 7*2) / 100 = 0.38; kappa = 0.12 / 0.62 = 6/31
        self.assertAlmostEqual(presence["kappa"], 6 / 31)
        # G3's L4/L5 (truth 1/2, predicted 0) goes to row 1, its first part.
        self.assertEqual(levels["type_confusion"], [[2, 0, 0, 0], [2, 1, 0, 0], [1, 0, 2, 0], [2, 0, 0, 0]])
        self.assertEqual(levels["without_prediction"],
                         {"missing_from_levels": 0, "not_analyzable": 0, "failed": 5, "total": 5})

    def test_endplates(self):
        endplates = self.figures["endplates"]
        # Changed in truth: L2 inf 1, L3 inf 2, L4 sup 2, L4 inf 1/2, S1 sup 3 (5 per study).
        # G1: "1" right, "1/2" on 2 right, "3" on 2 wrong, "1" on 1/2 right, S1 missing wrong -> 3/5.
        # G3: all 5 missing -> wrong.  Total 3/10, 1 + 5 missing.
        self.assertEqual(endplates["type_right_on_changed"], {"value": 0.3, "count": 3, "of": 10})
        self.assertEqual(endplates["changed_missing"], 6)
        # Normal in truth: L1 sup, L1 inf, L2 sup, L3 sup, L5 sup, L5 inf (6 per study).
        # G1: L1 inf "2" and L5 sup "1/2" called changed, L3 sup missing -> 2/6. G3: 0/6, 6 missing.
        self.assertEqual(endplates["normal_called_changed"], {"value": 2 / 12, "count": 2, "of": 12})
        self.assertEqual(endplates["normal_missing"], 7)

    def test_vertebra_labelling(self):
        vertebrae = self.figures["vertebrae"]
        # G1: L1 5 mm off (found), L2 10.5 mm off (not), L3 exactly 10 mm off (found), L4 missing,
        # L5 reported at L4's place (30 mm off, not), S1 exact (found): 3/6. G3: 0/6. T12 not scored.
        self.assertEqual(vertebrae["overall"], {"value": 0.25, "count": 3, "of": 12})
        found = {label: figure["count"] for label, figure in vertebrae["by_label"].items()}
        self.assertEqual(found, {"L1": 1, "L2": 0, "L3": 1, "L4": 0, "L5": 0, "S1": 1})
        self.assertTrue(all(figure["of"] == 2 for figure in vertebrae["by_label"].values()))


if __name__ == "__main__":
    unittest.main()
