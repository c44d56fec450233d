#include <gtest/gtest.h>

#include "report/narrative.hpp"

namespace modic::core {
namespace {

Findings analysed_with_levels(std::initializer_list<std::pair<const char*, ModicType>> levels) {
    Findings findings;
    findings.status = AnalysisStatus::Analyzed;
    for (const auto& [name, type] : levels) findings.levels.push_back({name, type, 0.9});
    return findings;
}

EndplateFinding changed(const char* vertebra, EndplateSide side, ModicType type, double depth, double extent) {
    EndplateFinding endplate;
    endplate.vertebra = vertebra;
    endplate.side = side;
    endplate.modic_type = type;
    endplate.depth_fraction = depth;
    endplate.extent_fraction = extent;
    return endplate;
}

constexpr const char* kCaveat = "Levels counted up from the sacrum; a transitional vertebra can shift them.";

TEST(Narrative, NamesBothEndplatesOfAChangedLevelAndGroupsUnchangedLevels) {
    auto findings = analysed_with_levels({{"L1/L2", ModicType::None},
                                          {"L2/L3", ModicType::None},
                                          {"L3/L4", ModicType::None},
                                          {"L4/L5", ModicType::Type1},
                                          {"L5/S1", ModicType::None}});
    // Listed caudal endplate first on purpose: the text goes from the upper vertebra down.
    findings.endplates.push_back(changed("L5", EndplateSide::Superior, ModicType::Type1, 0.25, 0.4));
    findings.endplates.push_back(changed("L4", EndplateSide::Inferior, ModicType::Type1, 0.3, 0.6));
    findings.endplates.push_back(changed("L3", EndplateSide::Inferior, ModicType::None, 0.0, 0.0));

    EXPECT_EQ(report::narrative_summary(findings),
              std::string("L1/L2 to L3/L4: no Modic change. L4/L5: Modic type 1 change of the inferior endplate of "
                          "L4 (depth 30%, extent 60%) and type 1 change of the superior endplate of L5 (depth 25%, "
                          "extent 40%). L5/S1: no Modic change. ") +
                  kCaveat);
}

TEST(Narrative, SpellsMixedTypesAndOrdersLevelsCranialToCaudal) {
    auto findings = analysed_with_levels({{"L5/S1", ModicType::Type2_3}, {"L1/L2", ModicType::None}});
    findings.endplates.push_back(changed("S1", EndplateSide::Superior, ModicType::Type2_3, 0.123, 0.456));

    EXPECT_EQ(report::narrative_summary(findings),
              std::string("L1/L2: no Modic change. L5/S1: Modic type 2/3 change of the superior endplate of S1 "
                          "(depth 12%, extent 46%). ") +
                  kCaveat);
}

TEST(Narrative, DoesNotGroupUnchangedLevelsAcrossAGap) {
    const auto findings = analysed_with_levels({{"L1/L2", ModicType::None}, {"L3/L4", ModicType::None}});
    EXPECT_EQ(report::narrative_summary(findings),
              std::string("L1/L2: no Modic change. L3/L4: no Modic change. ") + kCaveat);
}

TEST(Narrative, ReportsALevelTypeWithoutEndplateDetail) {
    const auto findings = analysed_with_levels({{"L2/L3", ModicType::Type2}});
    EXPECT_EQ(report::narrative_summary(findings), std::string("L2/L3: Modic type 2 change. ") + kCaveat);
}

TEST(Narrative, ReportsAChangedEndplateEvenWhenItsLevelIsNotListed) {
    auto findings = analysed_with_levels({{"L1/L2", ModicType::None}});
    findings.endplates.push_back(changed("L3", EndplateSide::Superior, ModicType::Type3, 0.1, 0.2));
    EXPECT_EQ(report::narrative_summary(findings),
              std::string("L1/L2: no Modic change. L2/L3: Modic type 3 change of the superior endplate of L3 "
                          "(depth 10%, extent 20%). ") +
                  kCaveat);
}

TEST(Narrative, PlacesT12EndplatesAtTheDiscsTheyFace) {
    auto findings = analysed_with_levels({{"T12/L1", ModicType::None}, {"L1/L2", ModicType::None}});
    findings.endplates.push_back(changed("T12", EndplateSide::Superior, ModicType::Type2, 0.2, 0.5));
    EXPECT_EQ(report::narrative_summary(findings),
              std::string("T11/T12: Modic type 2 change of the superior endplate of T12 (depth 20%, extent 50%). "
                          "T12/L1 to L1/L2: no Modic change. ") +
                  kCaveat);
}

TEST(Narrative, NotAnalysableStudyGivesTheReason) {
    Findings findings;
    findings.status = AnalysisStatus::NotAnalyzable;
    findings.reason = "no sagittal T1 series";
    EXPECT_EQ(report::narrative_summary(findings), "Not analysed: no sagittal T1 series.");
    findings.reason = "pixel data unreadable.";
    EXPECT_EQ(report::narrative_summary(findings), "Not analysed: pixel data unreadable.");
    findings.reason.clear();
    EXPECT_EQ(report::narrative_summary(findings), "Not analysed: no reason given.");
}

TEST(Narrative, AnalysedStudyWithoutLevelsSaysSo) {
    Findings findings;
    findings.status = AnalysisStatus::Analyzed;
    EXPECT_EQ(report::narrative_summary(findings), std::string("No disc level could be assessed. ") + kCaveat);
}

}  // namespace
}  // namespace modic::core
