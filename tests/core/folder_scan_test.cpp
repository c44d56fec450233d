#include <gtest/gtest.h>

#include <fstream>

#include "dicom_test_files.hpp"
#include "modic/core/study.hpp"

namespace modic::core {
namespace {

namespace fs = std::filesystem;
using test::SyntheticMr;
using test::TempDir;

void write_text(const fs::path& file, const std::string& text) {
    fs::create_directories(file.parent_path());
    std::ofstream(file) << text;
}

bool any_contains(const std::vector<std::string>& lines, const std::string& part) {
    return std::any_of(lines.begin(), lines.end(),
                       [&](const auto& line) { return line.find(part) != std::string::npos; });
}

TEST(FolderScan, FindsDicomFilesOfAnyNameInNestedFoldersAndSkipsTheRest) {
    TempDir dir;
    SyntheticMr t1;
    t1.series_number = 3;
    write_mr(t1, dir / "IM0001");
    SyntheticMr t2 = t1;
    t2.series_uid += "0";
    t2.series_number = 4;
    write_mr(t2, dir / "DICOM" / "S4" / "deep" / "file.with.dots");
    test::write_compressed_copy(dir / "IM0001", dir / "compressed" / "x", test::Compression::Rle);
    fs::remove(dir / "IM0001");  // keep only the compressed copy of t1
    write_text(dir / "notes.txt", "not a DICOM file\n");
    write_text(dir / "DICOM" / "empty", "");

    const auto scan = scan_folder(dir.path());
    ASSERT_EQ(scan.instances.size(), 2u);
    EXPECT_EQ(scan.instances[0].file, dir / "DICOM" / "S4" / "deep" / "file.with.dots");
    EXPECT_EQ(scan.instances[0].series_number, 4);
    EXPECT_EQ(scan.instances[1].series_instance_uid, t1.series_uid);
    EXPECT_EQ(scan.instances[1].sop_instance_uid, t1.series_uid + ".1");
    EXPECT_EQ(scan.instances[1].patient_id, "TEST-1");
    EXPECT_EQ(scan.instances[1].sop_class_uid, "1.2.840.10008.5.1.4.1.1.4");
    ASSERT_EQ(scan.warnings.size(), 2u);
    EXPECT_TRUE(any_contains(scan.warnings, (dir / "notes.txt").string() + ": skipped"));
    EXPECT_TRUE(any_contains(scan.warnings, (dir / "DICOM" / "empty").string() + ": skipped"));
}

TEST(FolderScan, AnInstanceCopiedTwiceCountsOnce) {
    TempDir dir;
    write_mr(SyntheticMr{}, dir / "a" / "1.dcm");
    fs::create_directories(dir / "b");
    fs::copy_file(dir / "a" / "1.dcm", dir / "b" / "1.dcm");
    const auto scan = scan_folder(dir.path());
    EXPECT_EQ(scan.instances.size(), 1u);
    ASSERT_EQ(scan.warnings.size(), 1u);
    EXPECT_NE(scan.warnings[0].find("same SOPInstanceUID as"), std::string::npos);
}

TEST(FolderScan, SeparatesStudies) {
    TempDir dir;
    SyntheticMr first;
    SyntheticMr second;
    second.study_uid = "1.2.826.0.1.3680043.9.7777.2";
    second.series_uid = second.study_uid + ".1";
    write_mr(first, dir / "a1");
    write_mr(second, dir / "b1");
    second.instance_number = 2;
    write_mr(second, dir / "b2");
    const auto scan = scan_folder(dir.path());
    EXPECT_EQ(study_uids(scan), (std::vector<std::string>{first.study_uid, second.study_uid}));
    EXPECT_EQ(instances_of_study(scan, second.study_uid).size(), 2u);
    EXPECT_EQ(instances_of_study(scan, first.study_uid).size(), 1u);
    EXPECT_TRUE(instances_of_study(scan, "9.9").empty());
}

TEST(FolderScan, AFolderThatDoesNotExistIsAnError) {
    TempDir dir;
    EXPECT_THROW(scan_folder(dir / "nowhere"), std::runtime_error);
    write_text(dir / "file", "x");
    EXPECT_THROW(scan_folder(dir / "file"), std::runtime_error);
}

}  // namespace
}  // namespace modic::core
