// The checks on a received file (the SCP's "cannot understand" and "does not match" answers).
#include "received_file.hpp"

#include <dcmtk/config/osconfig.h>
#include <dcmtk/dcmdata/dcdeftag.h>
#include <dcmtk/dcmdata/dcfilefo.h>
#include <dcmtk/dcmdata/dcuid.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

namespace modic::server {
namespace {

namespace fs = std::filesystem;

class ReceivedFile : public ::testing::Test {
protected:
    void SetUp() override {
        folder_ = fs::temp_directory_path() /
                  ("modic-received-" + std::to_string(::testing::UnitTest::GetInstance()->random_seed()) +
                   "-" + ::testing::UnitTest::GetInstance()->current_test_info()->name());
        fs::create_directories(folder_);
    }
    void TearDown() override { fs::remove_all(folder_); }

    // A small synthetic MR instance; `changes` override attributes.
    fs::path write_instance(const std::string& name,
                            const std::vector<std::pair<DcmTagKey, std::string>>& changes = {}) {
        DcmFileFormat format;
        DcmDataset* dataset = format.getDataset();
        dataset->putAndInsertString(DCM_SOPClassUID, UID_MRImageStorage);
        dataset->putAndInsertString(DCM_SOPInstanceUID, "1.2.826.0.1.3680043.2.1125.1.3");
        dataset->putAndInsertString(DCM_StudyInstanceUID, "1.2.826.0.1.3680043.2.1125.1.1");
        dataset->putAndInsertString(DCM_SeriesInstanceUID, "1.2.826.0.1.3680043.2.1125.1.2");
        dataset->putAndInsertString(DCM_Modality, "MR");
        dataset->putAndInsertString(DCM_BodyPartExamined, "LSPINE");
        dataset->putAndInsertString(DCM_PatientID, "SYNTHETIC");
        dataset->putAndInsertUint16(DCM_Rows, 64);
        dataset->putAndInsertUint16(DCM_Columns, 64);
        std::vector<Uint16> pixels(64 * 64, 100);
        dataset->putAndInsertUint16Array(DCM_PixelData, pixels.data(), pixels.size());
        for (const auto& [tag, value] : changes) dataset->putAndInsertString(tag, value.c_str());
        fs::path file = folder_ / name;
        EXPECT_TRUE(format.saveFile(file.c_str(), EXS_LittleEndianExplicit).good());
        return file;
    }

    fs::path folder_;
};

constexpr const char* kInstance = "1.2.826.0.1.3680043.2.1125.1.3";

TEST(Uid, OnlyDigitsAndDotsInWellFormedComponents) {
    EXPECT_TRUE(is_valid_uid("1.2.840.10008.5.1.4.1.1.4"));
    EXPECT_FALSE(is_valid_uid(""));
    EXPECT_FALSE(is_valid_uid("1.2/../3"));
    EXPECT_FALSE(is_valid_uid(".1.2"));
    EXPECT_FALSE(is_valid_uid("1..2"));
    EXPECT_FALSE(is_valid_uid("1.2."));
    EXPECT_FALSE(is_valid_uid(std::string(65, '1')));
}

TEST_F(ReceivedFile, AGoodInstanceGivesItsIndexAttributes) {
    FileCheck check = check_received_file(write_instance("good.dcm"), UID_MRImageStorage, kInstance);
    EXPECT_EQ(check.status, dimse_status::kSuccess) << check.reason;
    EXPECT_EQ(check.instance.study_uid, "1.2.826.0.1.3680043.2.1125.1.1");
    EXPECT_EQ(check.instance.series_uid, "1.2.826.0.1.3680043.2.1125.1.2");
    EXPECT_EQ(check.instance.modality, "MR");
    EXPECT_EQ(check.instance.body_part, "LSPINE");
    EXPECT_EQ(check.instance.transfer_syntax_uid, UID_LittleEndianExplicitTransferSyntax);
}

TEST_F(ReceivedFile, TruncatedDataSetCannotBeUnderstood) {
    fs::path file = write_instance("cut.dcm");
    fs::resize_file(file, fs::file_size(file) - 3000);
    FileCheck check = check_received_file(file, UID_MRImageStorage, kInstance);
    EXPECT_EQ(check.status, dimse_status::kCannotUnderstand);
}

TEST_F(ReceivedFile, NonDicomBytesCannotBeUnderstood) {
    fs::path file = folder_ / "noise.bin";
    std::ofstream(file) << std::string(3000, '\x07');
    EXPECT_EQ(check_received_file(file, UID_MRImageStorage, kInstance).status,
              dimse_status::kCannotUnderstand);
}

TEST_F(ReceivedFile, UidsWithPathCharactersOrMissingAreRefused) {
    auto path_uid = write_instance("path.dcm", {{DCM_SeriesInstanceUID, "1.2/../../x"}});
    FileCheck check = check_received_file(path_uid, UID_MRImageStorage, kInstance);
    EXPECT_EQ(check.status, dimse_status::kCannotUnderstand);
    EXPECT_NE(check.reason.find("SeriesInstanceUID"), std::string::npos);
    EXPECT_EQ(check.reason.find("/"), std::string::npos) << "the bad value is not echoed";

    auto missing = write_instance("missing.dcm", {{DCM_StudyInstanceUID, ""}});
    EXPECT_EQ(check_received_file(missing, UID_MRImageStorage, kInstance).status,
              dimse_status::kCannotUnderstand);
}

TEST_F(ReceivedFile, DataSetMustMatchTheRequest) {
    auto file = write_instance("good.dcm");
    EXPECT_EQ(check_received_file(file, UID_SecondaryCaptureImageStorage, kInstance).status,
              dimse_status::kDataSetDoesNotMatchSopClass);
    EXPECT_EQ(check_received_file(file, UID_MRImageStorage, "1.2.3.4").status,
              dimse_status::kCannotUnderstand);
}

}  // namespace
}  // namespace modic::server
