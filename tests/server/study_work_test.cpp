// What the workers decide before the core sees a study: Enhanced MR, routing input.
#include "modic/server/study_work.hpp"

#include <gtest/gtest.h>

namespace modic::server {
namespace {

constexpr const char* kMr = "1.2.840.10008.5.1.4.1.1.4";
constexpr const char* kEnhancedMr = "1.2.840.10008.5.1.4.1.1.4.1";

storage::SeriesInfo series(const std::string& uid, std::vector<std::string> classes,
                           const std::string& description = "") {
    storage::SeriesInfo info;
    info.series_uid = uid;
    info.modality = "MR";
    info.body_part = "LSPINE";
    info.series_description = description;
    info.sop_class_uids = std::move(classes);
    return info;
}

TEST(StudyWork, EnhancedMrOnlyIsNotAnalysableYet) {
    storage::StudyOverview study;
    study.series = {series("1.1", {kEnhancedMr}), series("1.2", {kEnhancedMr})};
    EXPECT_EQ(reason_not_analysable(study), "Enhanced MR not yet supported");
}

TEST(StudyWork, ClassicMrBesideEnhancedMrIsAnalysed) {
    storage::StudyOverview study;
    study.series = {series("1.1", {kEnhancedMr}), series("1.2", {kMr})};
    EXPECT_EQ(reason_not_analysable(study), "");
}

TEST(StudyWork, RoutingInputListsEverySeriesAndCaller) {
    storage::StudyOverview study;
    study.study.study_description = "LWS";
    study.series = {series("1.1", {kMr}, "t1_tse_sag"), series("1.2", {kMr}, "t2_tse_sag")};
    study.calling_aes = {"PACS", "MODALITY"};
    config::RoutingInput input = routing_input(study);
    EXPECT_EQ(input.study_description, "LWS");
    EXPECT_EQ(input.series_descriptions, (std::vector<std::string>{"t1_tse_sag", "t2_tse_sag"}));
    EXPECT_EQ(input.modalities, (std::vector<std::string>{"MR", "MR"}));
    EXPECT_EQ(input.body_parts, (std::vector<std::string>{"LSPINE", "LSPINE"}));
    EXPECT_EQ(input.calling_aes, (std::vector<std::string>{"PACS", "MODALITY"}));
}

TEST(StudyWork, SourceInstancesSkipWhatTheCoreCannotRead) {
    std::vector<storage::InstanceFile> files(2);
    files[0].sop_class_uid = kMr;
    files[0].series_uid = "1.1";
    files[0].sop_instance_uid = "1.1.1";
    files[0].path = "/nonexistent/a.dcm";
    files[1].sop_class_uid = kEnhancedMr;
    auto instances = source_instances("1", files);
    ASSERT_EQ(instances.size(), 1u);
    EXPECT_EQ(instances[0].study_instance_uid, "1");
    EXPECT_EQ(instances[0].series_instance_uid, "1.1");
    EXPECT_EQ(instances[0].file, "/nonexistent/a.dcm");
}

}  // namespace
}  // namespace modic::server
