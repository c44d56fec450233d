#include <dcmtk/config/osconfig.h>
#include <dcmtk/dcmdata/dcdeftag.h>
#include <dcmtk/dcmdata/dcfilefo.h>
#include <gtest/gtest.h>

#include <algorithm>

#include "dicom_test_files.hpp"
#include "modic/core/analyze.hpp"

namespace modic::core {
namespace {

namespace fs = std::filesystem;
using test::SyntheticMr;
using test::TempDir;

// A T1 and a T2 sagittal series of three slices each, in `dir`.
void write_synthetic_study(const fs::path& dir, const std::string& t2_patient = "TEST-1") {
    SyntheticMr t1;
    t1.series_number = 2;
    test::write_sagittal_series(t1, {0, 1, 2}, 4, dir / "t1");
    SyntheticMr t2 = t1;
    t2.series_uid = t1.study_uid + ".3";
    t2.series_number = 3;
    t2.description = "SAG T2 TSE";
    t2.repetition_time_ms = 3500;
    t2.echo_time_ms = 100;
    t2.patient_id = t2_patient;
    test::write_sagittal_series(t2, {0, 1, 2}, 4, dir / "t2");
}

// A sagittal STIR of three slices in `dir`, beside the synthetic study's T1 and T2.
std::vector<fs::path> write_synthetic_stir(const fs::path& dir) {
    SyntheticMr stir;
    stir.series_uid = stir.study_uid + ".4";
    stir.series_number = 4;
    stir.description = "SAG STIR";
    stir.repetition_time_ms = 4000;
    stir.echo_time_ms = 30;
    stir.inversion_time_ms = 150;
    stir.scanning_sequence = "IR";
    return test::write_sagittal_series(stir, {0, 1, 2}, 4, dir / "stir");
}

void copy_spider(const std::string& patient, const fs::path& dir) {
    for (const auto* name : {"t1.dcm", "t2.dcm"}) {
        fs::copy_file(test::spider_dev_dir() / patient / name, dir / name);
    }
}

TEST(AnalyseStudy, ChoosesAndLoadsTheSeriesOfARealStudy) {
    TempDir dir;
    copy_spider("spider_001", dir.path());
    const auto scan = scan_folder(dir.path());
    ASSERT_EQ(scan.instances.size(), 2u);
    AnalysisLog log;
    const auto findings = analyse_study(scan.instances, log);
    const auto& t1 = scan.instances[0].file.filename() == "t1.dcm" ? scan.instances[0]
                                                                    : scan.instances[1];
    const auto& t2 = &t1 == &scan.instances[0] ? scan.instances[1] : scan.instances[0];
    EXPECT_EQ(findings.study_instance_uid, t1.study_instance_uid);
    EXPECT_EQ(findings.series.t1, t1.series_instance_uid);
    EXPECT_EQ(findings.series.t2, t2.series_instance_uid);
    EXPECT_EQ(findings.series.stir, "");
    // Both series were loaded: the study went past selection and loading to detection.
    EXPECT_GT(findings.timing_ms.load, 0.0);
    EXPECT_GE(findings.timing_ms.total, findings.timing_ms.load);
    EXPECT_EQ(findings.reason.find("pixel data"), std::string::npos) << findings.reason;
    EXPECT_EQ(log.notes.size(), 2u);
    EXPECT_TRUE(log.warnings.empty());
    EXPECT_FALSE(findings.summary.empty());
}

TEST(AnalyseStudy, ASyntheticStudyOfSeveralSlicesReachesDetection) {
    TempDir dir;
    write_synthetic_study(dir.path());
    const auto findings = analyse_study(scan_folder(dir.path()).instances);
    EXPECT_EQ(findings.series.t1, "1.2.826.0.1.3680043.9.7777.1.1");
    EXPECT_EQ(findings.series.t2, "1.2.826.0.1.3680043.9.7777.1.3");
    EXPECT_GT(findings.timing_ms.load, 0.0);
}

// A STIR beside the T2 is loaded and read for oedema: the findings name it with the T2.
TEST(AnalyseStudy, AStirBesideTheT2IsLoadedToo) {
    TempDir dir;
    write_synthetic_study(dir.path());
    write_synthetic_stir(dir.path());
    AnalysisLog log;
    const auto findings = analyse_study(scan_folder(dir.path()).instances, log);
    EXPECT_EQ(findings.series.t2, "1.2.826.0.1.3680043.9.7777.1.3");
    EXPECT_EQ(findings.series.stir, "1.2.826.0.1.3680043.9.7777.1.4");
    ASSERT_EQ(log.notes.size(), 3u);
    EXPECT_NE(log.notes[2].find("used as STIR, for oedema"), std::string::npos) << log.notes[2];
}

// The STIR only adds to the T2: one whose pixels cannot be decoded is left out with a warning
// naming it, and the study is read on T1 and T2.
TEST(AnalyseStudy, AStirThatCannotBeLoadedIsLeftOutWithAWarning) {
    TempDir dir;
    write_synthetic_study(dir.path());
    const auto stir_files = write_synthetic_stir(dir.path());
    fs::resize_file(stir_files.at(1), fs::file_size(stir_files.at(1)) - 20);
    AnalysisLog log;
    const auto findings = analyse_study(scan_folder(dir.path()).instances, log);
    EXPECT_EQ(findings.series.t2, "1.2.826.0.1.3680043.9.7777.1.3");
    EXPECT_EQ(findings.series.stir, "");
    EXPECT_GT(findings.timing_ms.load, 0.0);
    const bool warned = std::any_of(log.warnings.begin(), log.warnings.end(), [](const std::string& warning) {
        return warning.find("STIR series 1.2.826.0.1.3680043.9.7777.1.4 not read beside the T2") != std::string::npos;
    });
    EXPECT_TRUE(warned);
}

TEST(AnalyseStudy, UndecodablePixelsMakeItNotAnalysableWithInstanceAndFile) {
    TempDir dir;
    copy_spider("spider_001", dir.path());
    const auto t2 = dir / "t2.dcm";
    fs::resize_file(t2, fs::file_size(t2) - 100000);
    const auto scan = scan_folder(dir.path());
    ASSERT_EQ(scan.instances.size(), 2u) << "the header is intact, so the scan finds it";
    const auto findings = analyse_study(scan.instances);
    EXPECT_EQ(findings.status, AnalysisStatus::NotAnalyzable);
    const auto& t2_instance =
        scan.instances[0].file == t2 ? scan.instances[0] : scan.instances[1];
    EXPECT_NE(findings.reason.find("pixel data of instance " + t2_instance.sop_instance_uid +
                                   " in " + t2.string() + " cannot be decoded"),
              std::string::npos)
        << findings.reason;
    EXPECT_TRUE(findings.levels.empty());
    EXPECT_EQ(findings.summary.rfind("Not analysed", 0), 0u) << findings.summary;
}

// Without a Frame of Reference UID, two series' patient coordinates cannot be compared (in
// spider_052 they lie 45 mm apart): the fluid image is then aligned by content, as between two
// frames, and the study reads as it does with its UIDs.
TEST(AnalyseStudy, SeriesWithoutAFrameOfReferenceAreAlignedByContent) {
    TempDir with_uids, without_uids;
    copy_spider("spider_052", with_uids.path());
    copy_spider("spider_052", without_uids.path());
    for (const auto* name : {"t1.dcm", "t2.dcm"}) {
        DcmFileFormat file;
        const auto path = without_uids / name;
        ASSERT_TRUE(file.loadFile(path.c_str()).good());
        file.loadAllDataIntoMemory();  // the file itself is overwritten
        file.getDataset()->findAndDeleteElement(DCM_FrameOfReferenceUID);
        ASSERT_TRUE(file.saveFile(path.c_str()).good());
    }
    const auto expected = analyse_study(scan_folder(with_uids.path()).instances);
    const auto found = analyse_study(scan_folder(without_uids.path()).instances);
    ASSERT_EQ(found.status, AnalysisStatus::Analyzed) << found.reason;
    ASSERT_EQ(found.endplates.size(), expected.endplates.size());
    for (std::size_t i = 0; i < found.endplates.size(); ++i) {
        EXPECT_EQ(found.endplates[i].vertebra, expected.endplates[i].vertebra);
        EXPECT_EQ(found.endplates[i].modic_type, expected.endplates[i].modic_type)
            << found.endplates[i].vertebra << " " << to_string(found.endplates[i].side);
    }
}

TEST(AnalyseStudy, SeriesOfTwoPatientsAreNotAnalysed) {
    TempDir dir;
    write_synthetic_study(dir.path(), "SOMEONE-ELSE");
    const auto findings = analyse_study(scan_folder(dir.path()).instances);
    EXPECT_EQ(findings.status, AnalysisStatus::NotAnalyzable);
    EXPECT_NE(findings.reason.find("2 different PatientIDs"), std::string::npos)
        << findings.reason;
    EXPECT_EQ(findings.series.t1, "");
}

TEST(AnalyseStudy, AT1AloneIsNotAnalysed) {
    TempDir dir;
    write_synthetic_study(dir.path());
    fs::remove_all(dir / "t2");
    const auto findings = analyse_study(scan_folder(dir.path()).instances);
    EXPECT_EQ(findings.status, AnalysisStatus::NotAnalyzable);
    EXPECT_EQ(findings.reason.rfind("no sagittal T2-weighted or STIR series; study has 1 series", 0),
              0u)
        << findings.reason;
}

TEST(AnalyseStudy, NoInstancesIsNotAnalysableRatherThanAnError) {
    const auto findings = analyse_study({});
    EXPECT_EQ(findings.status, AnalysisStatus::NotAnalyzable);
    EXPECT_FALSE(findings.reason.empty());
}

TEST(AnalyseStudy, AFileGoneSinceTheScanIsAWarningNotACrash) {
    TempDir dir;
    write_synthetic_study(dir.path());
    const auto scan = scan_folder(dir.path());
    fs::remove(scan.instances.back().file);
    AnalysisLog log;
    const auto findings = analyse_study(scan.instances, log);
    ASSERT_EQ(log.warnings.size(), 1u);
    EXPECT_NE(log.warnings[0].find(scan.instances.back().file.string()), std::string::npos);
    // Its series still has two slices: selection and loading go on without it.
    EXPECT_EQ(findings.series.t2, "1.2.826.0.1.3680043.9.7777.1.3");
}

}  // namespace
}  // namespace modic::core
