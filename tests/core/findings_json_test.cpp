#include <gtest/gtest.h>

#include "modic/core/findings_json.hpp"

namespace modic::core {
namespace {

Findings example_findings() {
    Findings findings;
    findings.study_instance_uid = "1.2.3";
    findings.status = AnalysisStatus::Analyzed;
    findings.series = {"1.2.3.1", "1.2.3.2", ""};
    findings.vertebrae = {{"L4", {1.0, -20.5, 30.25}}, {"L5", {2.0, -18.0, 0.0}}};
    EndplateFinding changed{"L4", EndplateSide::Inferior, ModicType::Type1_2, 0.93, 0.3, 0.6, 1.2,
                            Evidence{"t1", "1.2.3.1.7", {{10, 20}, {30.5, 20}, {30.5, 25}}}};
    EndplateFinding normal{"L5", EndplateSide::Superior, ModicType::None, 0.8, 0, 0, 0, {}};
    findings.endplates = {changed, normal};
    findings.levels = {{"L4/L5", ModicType::Type1_2, 0.93}};
    findings.summary = "L4/L5: Modic type 1/2 change.";
    findings.timing_ms = {1, 2, 3, 6};
    return findings;
}

TEST(FindingsJson, WritesTheFixedFieldNames) {
    const auto json = findings_to_json(example_findings());
    EXPECT_EQ(json["status"], "analyzed");
    EXPECT_TRUE(json["series"]["stir"].is_null());
    EXPECT_EQ(json["endplates"][0]["modic_type"], "1/2");
    EXPECT_EQ(json["endplates"][0]["side"], "inferior");
    EXPECT_EQ(json["endplates"][0]["evidence"]["outline_px"][1][0], 30.5);
    EXPECT_FALSE(json["endplates"][1].contains("evidence"));
    EXPECT_EQ(json["levels"][0]["disc_level"], "L4/L5");
    EXPECT_EQ(json["timing_ms"]["total"], 6);
}

TEST(FindingsJson, ReadsBackWhatItWrote) {
    const auto original = example_findings();
    const auto copy = findings_from_json(findings_to_json(original));
    EXPECT_EQ(findings_to_json(copy), findings_to_json(original));
}

TEST(FindingsJson, RejectsAnUnknownModicType) {
    auto json = findings_to_json(example_findings());
    json["levels"][0]["modic_type"] = "4";
    EXPECT_THROW(findings_from_json(json), std::runtime_error);
}

TEST(ModicType, SpellingsRoundTrip) {
    for (auto type : {ModicType::None, ModicType::Type1, ModicType::Type2, ModicType::Type3,
                      ModicType::Type1_2, ModicType::Type2_3})
        EXPECT_EQ(modic_type_from_string(to_string(type)), type);
    EXPECT_FALSE(modic_type_from_string("1/3").has_value());
}

}  // namespace
}  // namespace modic::core
