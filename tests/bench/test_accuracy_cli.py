"""bench/accuracy as a command: scoring saved results (--from-results), its errors, and running a
stand-in node (a small Python script, since the real analyze is not needed to test the runner)."""

import json
import os
import subprocess
import sys
import tempfile
import textwrap
import unittest
from pathlib import Path

import accuracy_fixtures as fx


def run_accuracy(*arguments, timeout=120):
    return subprocess.run([sys.executable, str(fx.ACCURACY_SCRIPT), *map(str, arguments)],
                          capture_output=True, text=True, timeout=timeout)


class TemporaryFolderTest(unittest.TestCase):
    def setUp(self):
        self._temporary = tempfile.TemporaryDirectory(prefix="accuracy-test-")
        self.root = Path(self._temporary.name)

    def tearDown(self):
        self._temporary.cleanup()


class FromResults(TemporaryFolderTest):
    def test_radiologist_set_figures_in_json_and_table(self):
        studies_dir, results_dir = fx.write_set(self.root, fx.radiologist_set())
        done = run_accuracy(studies_dir, "--from-results", results_dir, "--json", "-")
        self.assertEqual(done.returncode, 0, done.stderr)
        figures = json.loads(done.stdout)
        presence = figures["levels"]["presence"]
        # The same hand-worked figures as test_accuracy_scoring.KnownWrongAnswersRadiologist.
        self.assertEqual((presence["tp"], presence["fn"], presence["fp"], presence["tn"]), (3, 4, 2, 16))
        self.assertAlmostEqual(presence["kappa"], 8 / 23)
        self.assertEqual(figures["levels"]["type_confusion"],
                         [[16, 1, 1, 0], [2, 0, 0, 0], [2, 0, 1, 1], [0, 0, 0, 1]])
        # E's run record says it crashed: its result file is ignored.
        self.assertEqual([f["study"] for f in figures["studies"]["failed"]], ["E"])
        self.assertEqual(figures["timing"]["seconds"], {"median": 3.0, "max": 10.0})
        # With --json -, the table goes to stderr.
        self.assertIn("sensitivity          0.429 (3/7)", done.stderr)
        self.assertIn("FAILED: E: crashed: killed by signal 11 (SIGSEGV)", done.stderr)
        self.assertIn("not analyzable: D: no sagittal T1 series", done.stderr)

    def test_generator_set_table_and_json_file(self):
        studies_dir, results_dir = fx.write_set(self.root, fx.generator_set())
        json_file = self.root / "figures.json"
        done = run_accuracy(studies_dir, "--from-results", results_dir, "--json", json_file)
        self.assertEqual(done.returncode, 0, done.stderr)
        figures = json.loads(json_file.read_text())
        self.assertAlmostEqual(figures["levels"]["presence"]["kappa"], 6 / 31)
        self.assertEqual(figures["endplates"]["type_right_on_changed"]["count"], 3)
        self.assertEqual(figures["vertebrae"]["overall"]["count"], 3)
        # G3 left no result: named, and scored as "0" everywhere.
        self.assertEqual(figures["studies"]["failed"][0]["study"], "G3")
        self.assertIn("no result", figures["studies"]["failed"][0]["reason"])
        table = done.stdout
        self.assertIn("exact type on changed endplates   0.300 (3/10)", table)
        self.assertIn("normal endplates called changed   0.167 (2/12)", table)
        self.assertIn("all labels   0.250 (3/12)", table)
        self.assertIn("FAILED: G3", table)

    def test_both_truth_kinds_in_one_folder(self):
        studies_dir, results_dir = fx.write_set(self.root, fx.radiologist_set() + fx.generator_set())
        done = run_accuracy(studies_dir, "--from-results", results_dir, "--json", "-")
        self.assertEqual(done.returncode, 0, done.stderr)
        figures = json.loads(done.stdout)
        self.assertEqual(figures["studies"]["truth_kinds"], {"radiologist": 5, "generator": 2})
        presence = figures["levels"]["presence"]
        # The two sets' counts add up: (3+3, 4+5, 2+0, 16+2).
        self.assertEqual((presence["tp"], presence["fn"], presence["fp"], presence["tn"]), (6, 9, 2, 18))

    def test_unusable_result_is_reported_and_counted_as_failed(self):
        truth = fx.radiologist_truth({"L1/L2": 2, "L2/L3": 0, "L3/L4": 0, "L4/L5": 0, "L5/S1": 0})
        studies_dir, results_dir = fx.write_set(self.root, [("broken", truth, None, None)])
        (results_dir / "broken.json").write_text("{not json", encoding="utf-8")
        done = run_accuracy(studies_dir, "--from-results", results_dir)
        self.assertEqual(done.returncode, 0, done.stderr)
        self.assertIn("FAILED: broken: unusable result", done.stdout)
        self.assertIn("sensitivity          0.000 (0/1)", done.stdout)

    def test_study_folders_without_truth_are_ignored_by_name(self):
        studies_dir, results_dir = fx.write_set(self.root, fx.generator_set()[:1])
        (studies_dir / "notes").mkdir()
        done = run_accuracy(studies_dir, "--from-results", results_dir)
        self.assertEqual(done.returncode, 0, done.stderr)
        self.assertIn("ignored folders: notes (no truth.json)", done.stdout)


class Errors(TemporaryFolderTest):
    def assert_refused(self, done, message):
        self.assertNotEqual(done.returncode, 0)
        self.assertIn(message, done.stderr)
        self.assertEqual(done.stdout, "")

    def test_missing_studies_dir(self):
        self.assert_refused(run_accuracy(self.root / "nowhere", "--from-results", self.root),
                            "does not exist or is not a folder")

    def test_empty_studies_dir(self):
        (self.root / "studies").mkdir()
        self.assert_refused(run_accuracy(self.root / "studies", "--from-results", self.root),
                            "has no study folder")

    def test_missing_node_binary(self):
        studies_dir, _ = fx.write_set(self.root, fx.generator_set())
        self.assert_refused(run_accuracy(studies_dir, "--node", self.root / "no-such-node"),
                            "not found: build it")

    def test_study_folders_need_dicom_files_when_running(self):
        fx.write_study(self.root / "studies", "no_images", fx.generator_truth({}), with_dicom=False)
        self.assert_refused(run_accuracy(self.root / "studies", "--node", sys.executable),
                            "has no study folder (a subfolder holding DICOM files and a truth.json)")

    def test_broken_truth_is_named(self):
        studies_dir, results_dir = fx.write_set(self.root, fx.generator_set()[:1])
        (studies_dir / "G1" / "truth.json").write_text('{"endplates": [{"vertebra": "L1"}]}')
        self.assert_refused(run_accuracy(studies_dir, "--from-results", results_dir),
                            str(studies_dir / "G1" / "truth.json"))

    def test_results_and_from_results_exclude_each_other(self):
        self.assert_refused(run_accuracy(self.root, "--results", self.root, "--from-results", self.root),
                            "exclude each other")


# A stand-in for `modic-node analyze STUDY --json OUT`: answers perfectly from the study's
# truth.json, unless a file in the study folder asks it to misbehave.
FAKE_NODE = textwrap.dedent("""\
    #!{python}
    import json, os, signal, sys, time
    sys.path.insert(0, {fixtures_dir!r})
    import accuracy_fixtures as fx
    assert sys.argv[1] == "analyze" and sys.argv[3] == "--json", sys.argv
    study, out = sys.argv[2], sys.argv[4]
    marker = lambda name: os.path.exists(os.path.join(study, name))
    if marker("sleep"):
        time.sleep(60)
    if marker("hog"):
        ballast = b"x" * (150 * 1024 * 1024)
    if marker("crash"):
        os.kill(os.getpid(), signal.SIGSEGV)
    with open(os.path.join(study, "truth.json")) as handle:
        truth = json.load(handle)
    with open(out, "w") as handle:
        json.dump(fx.perfect_result(truth), handle)
    if marker("exit3"):
        print("analyze: cannot write the SR", file=sys.stderr)
        sys.exit(3)
""")


class RunningANode(TemporaryFolderTest):
    def setUp(self):
        super().setUp()
        self.node = self.root / "fake-node"
        self.node.write_text(FAKE_NODE.format(python=sys.executable, fixtures_dir=str(Path(fx.__file__).parent)))
        self.node.chmod(0o755)
        self.studies_dir = self.root / "studies"
        truth = fx.generator_truth(fx.G1_TRUTH_TYPES, fx.G1_CENTRES)
        for name, marker in [("good1", None), ("good2", None), ("hog", "hog"), ("crash", "crash"),
                             ("exit3", "exit3"), ("sleep", "sleep")]:
            folder = fx.write_study(self.studies_dir, name, truth)
            if marker:
                (folder / marker).touch()

    def test_runs_every_study_as_a_child_and_records_time_memory_and_failures(self):
        results_dir = self.root / "results"
        done = run_accuracy(self.studies_dir, "--node", self.node, "--results", results_dir,
                            "--jobs", "2", "--timeout", "3", "--json", "-")
        self.assertEqual(done.returncode, 0, done.stderr)
        figures = json.loads(done.stdout)

        failed = {f["study"]: f["reason"] for f in figures["studies"]["failed"]}
        self.assertEqual(set(failed), {"crash", "exit3", "sleep"})
        self.assertIn("killed by signal 11 (SIGSEGV)", failed["crash"])
        self.assertIn("exited with status 3: analyze: cannot write the SR", failed["exit3"])
        self.assertIn("timed out after 3 s", failed["sleep"])
        self.assertEqual(figures["studies"]["analyzed"], 3)

        # The three that ran answered perfectly; the three failures count as "0" everywhere.
        # Each study has 4 changed levels and 1 normal one.
        presence = figures["levels"]["presence"]
        self.assertEqual((presence["tp"], presence["fn"], presence["fp"], presence["tn"]), (12, 12, 0, 6))
        self.assertEqual(figures["levels"]["without_prediction"]["failed"], 15)
        self.assertEqual(figures["endplates"]["type_right_on_changed"]["count"], 15)
        self.assertEqual(figures["vertebrae"]["overall"]["count"], 18)

        rows = {row["study"]: row for row in figures["per_study"]}
        # Memory is each child's own: the hog holds 150 MiB more than the others.
        self.assertGreater(rows["hog"]["peak_memory_mib"], rows["good1"]["peak_memory_mib"] + 100)
        self.assertLess(rows["good1"]["peak_memory_mib"], 100)
        self.assertFalse(rows["hog"]["peak_memory_at_floor"])
        self.assertEqual(figures["timing"]["studies_at_memory_floor"],
                         sum(row["peak_memory_at_floor"] for row in rows.values()))
        # Wall time is per child: the sleeper was killed after its 3 s, the others were quick.
        self.assertGreaterEqual(rows["sleep"]["seconds"], 3.0)
        self.assertLess(rows["sleep"]["seconds"], 20.0)
        self.assertLess(rows["good1"]["seconds"], 3.0)
        self.assertEqual(figures["timing"]["studies"], 6)
        self.assertEqual(figures["timing"]["seconds"]["max"], rows["sleep"]["seconds"])

        # The kept results can be scored again without running anything, to the same figures.
        self.assertTrue((results_dir / "good1.json").is_file())
        self.assertTrue((results_dir / "exit3.log").is_file())
        rescored = run_accuracy(self.studies_dir, "--from-results", results_dir, "--json", "-")
        self.assertEqual(rescored.returncode, 0, rescored.stderr)
        again = json.loads(rescored.stdout)
        for key in ("levels", "endplates", "vertebrae", "timing", "studies"):
            self.assertEqual(again[key], figures[key], key)

    def test_results_go_to_a_temporary_folder_by_default(self):
        for name in ("hog", "crash", "exit3", "sleep"):
            for path in sorted((self.studies_dir / name).rglob("*"), reverse=True):
                path.rmdir() if path.is_dir() else path.unlink()
            (self.studies_dir / name).rmdir()
        done = run_accuracy(self.studies_dir, "--node", self.node)
        self.assertEqual(done.returncode, 0, done.stderr)
        self.assertIn("results not kept", done.stdout)
        self.assertIn("sensitivity          1.000 (8/8)", done.stdout)
        self.assertIn("[2/2] good2", done.stderr)


if __name__ == "__main__":
    unittest.main()
