#include "dicom/series_selection.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <numbers>

namespace modic::core {
namespace {

constexpr std::array<double, 6> kSagittalIop = {0, 1, 0, 0, 0, -1};
constexpr std::array<double, 6> kAxialIop = {1, 0, 0, 0, 1, 0};
constexpr std::array<double, 6> kCoronalIop = {1, 0, 0, 0, 0, -1};

SeriesHeader series(int number, std::optional<double> tr, std::optional<double> te,
                    std::string description = {}, std::array<double, 6> orientation = kSagittalIop) {
    SeriesHeader s;
    s.series_instance_uid = "1.2.3." + std::to_string(number);
    s.series_number = number;
    s.modality = "MR";
    s.sop_class_uid = std::string(kMrImageStorage);
    s.description = std::move(description);
    s.patient_ids = {"P1"};
    s.image_type = {"ORIGINAL", "PRIMARY", "M"};
    s.scanning_sequence = {"SE"};
    s.repetition_time_ms = tr;
    s.echo_time_ms = te;
    s.field_strength_t = 1.5;
    s.orientation = orientation;
    s.orientation_count = 1;
    s.instance_count = s.slice_count = 15;
    s.pixel_spacing_mm = std::array<double, 2>{0.6, 0.6};
    s.left_right_range_mm = std::array<double, 2>{-30, 30};
    return s;
}

SeriesHeader stir(int number) {
    auto s = series(number, 4000, 60, "SAG STIR");
    s.scanning_sequence = {"IR"};
    s.inversion_time_ms = 160;
    return s;
}

// Orientation of a sagittal slice whose plane is turned by `degrees` about the feet-head axis.
std::array<double, 6> sagittal_turned_by(double degrees) {
    const double a = degrees * std::numbers::pi / 180.0;
    return {std::sin(a), std::cos(a), 0, 0, 0, -1};
}

TEST(SeriesSelection, WeightingFromRepetitionAndEchoTimes) {
    EXPECT_EQ(weighting_of(series(1, 716.234, 13.837)), Weighting::T1);
    EXPECT_EQ(weighting_of(series(2, 3563.07, 120)), Weighting::T2);
    // A 3D turbo spin echo T2 (SPACE) reaches T2 weighting with a TR of only 1000 ms.
    EXPECT_EQ(weighting_of(series(3, 1000, 124)), Weighting::T2);
    EXPECT_EQ(weighting_of(series(4, 3000, 20)), Weighting::ProtonDensity);
}

TEST(SeriesSelection, StirNeedsInversionRecoveryWithAFatNullingInversionTime) {
    EXPECT_EQ(weighting_of(stir(1)), Weighting::Stir);
    auto at_3t = stir(2);
    at_3t.field_strength_t = 3.0;
    at_3t.inversion_time_ms = 230;
    EXPECT_EQ(weighting_of(at_3t), Weighting::Stir);
    auto flair = stir(3);
    flair.inversion_time_ms = 2500;
    flair.echo_time_ms = 120;
    flair.repetition_time_ms = 9000;
    EXPECT_EQ(weighting_of(flair), Weighting::Other);
    auto t1_flair = stir(4);
    t1_flair.inversion_time_ms = 860;
    t1_flair.echo_time_ms = 9;
    t1_flair.repetition_time_ms = 2200;
    EXPECT_EQ(weighting_of(t1_flair), Weighting::T1);
    // A STIR-range TI without IR in ScanningSequence counts only if the description agrees.
    auto not_ir = stir(5);
    not_ir.scanning_sequence = {"SE"};
    not_ir.echo_time_ms = 90;
    EXPECT_EQ(weighting_of(not_ir), Weighting::Stir);
    not_ir.description = "SAG T2";
    EXPECT_EQ(weighting_of(not_ir), Weighting::T2);
}

TEST(SeriesSelection, FatSaturatedT2ActsAsStir) {
    auto by_option = series(1, 3000, 90, "SAG T2");
    by_option.scan_options = {"FS"};
    EXPECT_EQ(weighting_of(by_option), Weighting::T2FatSat);
    EXPECT_EQ(weighting_of(series(2, 3000, 90, "sag t2 spair")), Weighting::T2FatSat);
    EXPECT_EQ(weighting_of(series(3, 3000, 90, "T2_TSE_FS")), Weighting::T2FatSat);

    const auto selection = select_series({series(9, 600, 10, "SAG T1"), by_option});
    ASSERT_TRUE(selection.analysable()) << selection.reason;
    EXPECT_EQ(selection.t1->series_number, 9);
    EXPECT_EQ(selection.fluid->series_number, 1);
    EXPECT_EQ(selection.fluid_role, "stir");
}

TEST(SeriesSelection, NumbersOutweighAMisleadingDescription) {
    // "STIR" by name only: a spin echo without inversion, TR 5570 / TE 90, is a T2.
    EXPECT_EQ(weighting_of(series(1, 5570, 90, "SAG T2 TSE STIR")), Weighting::T2);
    const auto named_t2 = series(2, 500, 10, "SAG T2");
    EXPECT_EQ(weighting_of(named_t2), Weighting::T1);
    const auto selection = select_series({named_t2, series(3, 4000, 100, "SAG T1 ?")});
    ASSERT_TRUE(selection.analysable()) << selection.reason;
    EXPECT_EQ(selection.t1->series_number, 2);
    EXPECT_EQ(selection.fluid->series_number, 3);
    EXPECT_NE(selection.notes[0].find("described as T2, but TR/TE say T1"), std::string::npos)
        << selection.notes[0];
}

TEST(SeriesSelection, DescriptionDecidesOnlyWhenTheNumbersAreSilent) {
    EXPECT_EQ(weighting_of(series(1, std::nullopt, std::nullopt, "t1_tse_sag_320")), Weighting::T1);
    EXPECT_EQ(weighting_of(series(2, std::nullopt, 100, "T2_space_sag")), Weighting::T2);
    EXPECT_EQ(weighting_of(series(3, std::nullopt, std::nullopt, "SAG TIRM")), Weighting::Stir);
    // TE 45 is neither short nor long: the description breaks the tie.
    EXPECT_EQ(weighting_of(series(4, 2000, 45, "SAG T2")), Weighting::T2);
    EXPECT_EQ(weighting_of(series(5, std::nullopt, std::nullopt, "SAG")), Weighting::Unknown);
}

TEST(SeriesSelection, PlaneFromTheSliceNormal) {
    EXPECT_EQ(plane_of(series(1, 600, 10)), Plane::Sagittal);
    EXPECT_EQ(plane_of(series(2, 600, 10, "", kAxialIop)), Plane::Axial);
    EXPECT_EQ(plane_of(series(3, 600, 10, "", kCoronalIop)), Plane::Coronal);
    EXPECT_EQ(plane_of(series(4, 600, 10, "", sagittal_turned_by(15))), Plane::Sagittal);
    EXPECT_EQ(plane_of(series(5, 600, 10, "", sagittal_turned_by(35))), Plane::Oblique);
    auto no_orientation = series(6, 600, 10);
    no_orientation.orientation.reset();
    EXPECT_EQ(plane_of(no_orientation), Plane::Unknown);
}

TEST(SeriesSelection, PicksTheSagittalT1AndT2OfATypicalStudy) {
    auto localiser = series(1, 8, 4, "3-plane loc");
    localiser.orientation_count = 3;
    localiser.orientation_spread_deg = 90;
    localiser.instance_count = 9;
    localiser.slice_count = 3;
    const auto selection =
        select_series({localiser, series(2, 650, 9.6, "t1_tse_sag"), series(3, 3500, 114, "t2_tse_sag"),
                       stir(4), series(5, 4000, 100, "t2_tse_tra", kAxialIop)});
    ASSERT_TRUE(selection.analysable()) << selection.reason;
    EXPECT_EQ(selection.t1->series_number, 2);
    EXPECT_EQ(selection.fluid->series_number, 3);  // T2 preferred over STIR
    EXPECT_EQ(selection.fluid_role, "t2");
    ASSERT_TRUE(selection.stir_beside_t2);  // read for oedema beside the T2
    EXPECT_EQ(selection.stir_beside_t2->series_number, 4);
    ASSERT_EQ(selection.notes.size(), 5u);
    EXPECT_NE(selection.notes[0].find("localizer"), std::string::npos) << selection.notes[0];
    EXPECT_NE(selection.notes[1].find("used as T1"), std::string::npos) << selection.notes[1];
    EXPECT_NE(selection.notes[3].find("used as STIR, for oedema"), std::string::npos) << selection.notes[3];
    EXPECT_NE(selection.notes[4].find("axial T2, not used"), std::string::npos)
        << selection.notes[4];
}

TEST(SeriesSelection, UsesStirWhenThereIsNoT2) {
    const auto selection = select_series({series(1, 600, 10), stir(2)});
    ASSERT_TRUE(selection.analysable()) << selection.reason;
    EXPECT_EQ(selection.fluid->series_number, 2);
    EXPECT_EQ(selection.fluid_role, "stir");
    EXPECT_FALSE(selection.stir_beside_t2);
}

TEST(SeriesSelection, PrefersMidlineCoverageThenMoreSlicesThenFinerPixels) {
    auto off_midline = series(1, 600, 10);
    off_midline.slice_count = 30;
    off_midline.left_right_range_mm = std::array<double, 2>{25, 80};
    auto few = series(2, 600, 10);
    few.slice_count = 11;
    auto many_coarse = series(3, 600, 10);
    many_coarse.slice_count = 17;
    many_coarse.pixel_spacing_mm = std::array<double, 2>{1.0, 1.0};
    auto many_fine = series(4, 600, 10);
    many_fine.slice_count = 17;
    many_fine.pixel_spacing_mm = std::array<double, 2>{0.5, 0.5};
    const auto t2 = series(5, 3000, 100);

    EXPECT_EQ(select_series({off_midline, few, t2}).t1->series_number, 2);
    EXPECT_EQ(select_series({few, many_coarse, t2}).t1->series_number, 3);
    EXPECT_EQ(select_series({many_coarse, many_fine, few, t2}).t1->series_number, 4);
}

TEST(SeriesSelection, AxialSeriesAreNotUsed) {
    const auto selection =
        select_series({series(3, 600, 10, "SAG T1"), series(4, 4000, 100, "AX T2", kAxialIop)});
    EXPECT_FALSE(selection.analysable());
    EXPECT_EQ(selection.reason.rfind("no sagittal T2-weighted or STIR series; study has 2 series: ",
                                     0),
              0u)
        << selection.reason;
    EXPECT_NE(selection.reason.find("series 4 \"AX T2\" (15 images): axial T2"), std::string::npos)
        << selection.reason;
}

TEST(SeriesSelection, LocalisersAreNotUsed) {
    auto by_image_type = series(1, 600, 10, "SAG T1");
    by_image_type.image_type = {"ORIGINAL", "PRIMARY", "LOCALIZER"};
    auto by_orientations = series(2, 600, 10, "survey");
    by_orientations.orientation_count = 3;
    by_orientations.orientation_spread_deg = 90;
    by_orientations.slice_count = 3;
    // Axial blocks angled to each disc: several orientations, but not a localiser.
    auto angled_blocks = series(4, 4000, 100, "t2_tse_tra", kAxialIop);
    angled_blocks.orientation_count = 3;
    angled_blocks.orientation_spread_deg = 30;
    angled_blocks.slice_count = 5;
    const auto selection =
        select_series({by_image_type, by_orientations, series(3, 3000, 100), angled_blocks});
    EXPECT_FALSE(selection.analysable());
    EXPECT_EQ(selection.reason.rfind("no sagittal T1-weighted series", 0), 0u) << selection.reason;
    EXPECT_NE(selection.notes[0].find("localizer"), std::string::npos);
    EXPECT_NE(selection.notes[1].find("localizer"), std::string::npos);
    EXPECT_NE(selection.notes[3].find("axial T2, not used"), std::string::npos)
        << selection.notes[3];
}

TEST(SeriesSelection, PostContrastSeriesAreNotUsed) {
    auto enhanced_t1 = series(5, 600, 10, "SAG T1");
    enhanced_t1.contrast_agent = "GADOVIST";
    enhanced_t1.slice_count = 40;
    const auto t2 = series(3, 3000, 100);
    const auto chosen = select_series({series(2, 600, 10, "SAG T1"), t2, enhanced_t1});
    ASSERT_TRUE(chosen.analysable());
    EXPECT_EQ(chosen.t1->series_number, 2);

    const auto only_enhanced = select_series({t2, enhanced_t1});
    EXPECT_FALSE(only_enhanced.analysable());
    EXPECT_NE(only_enhanced.reason.find("sagittal T1 after contrast"), std::string::npos)
        << only_enhanced.reason;
}

TEST(SeriesSelection, SeriesOfDifferentPatientsMakeTheStudyNotAnalysable) {
    auto other_patient = series(3, 3000, 100);
    other_patient.patient_ids = {"P2-SECRET"};
    const auto selection = select_series({series(2, 600, 10), other_patient});
    EXPECT_FALSE(selection.analysable());
    EXPECT_NE(selection.reason.find("2 different PatientIDs"), std::string::npos)
        << selection.reason;
    EXPECT_EQ(selection.reason.find("P2-SECRET"), std::string::npos) << "IDs stay out of logs";
    EXPECT_FALSE(selection.t1.has_value());
}

TEST(SeriesSelection, AT1AloneIsNotAnalysableAndTheReasonSaysWhatWasFound) {
    const auto selection = select_series({series(7, 600, 10, "SAG T1 TSE")});
    EXPECT_FALSE(selection.analysable());
    EXPECT_EQ(selection.reason,
              "no sagittal T2-weighted or STIR series; study has 1 series: "
              "series 7 \"SAG T1 TSE\" (15 images): sagittal T1");
    EXPECT_TRUE(selection.t1.has_value());
}

TEST(SeriesSelection, NonMrAndEnhancedMrAreNotUsed) {
    auto ct = series(1, std::nullopt, std::nullopt, "CT LWS");
    ct.modality = "CT";
    ct.sop_class_uid = "1.2.840.10008.5.1.4.1.1.2";
    auto enhanced = series(2, 600, 10, "SAG T1");
    enhanced.sop_class_uid = std::string(kEnhancedMrImageStorage);
    const auto selection = select_series({ct, enhanced});
    EXPECT_FALSE(selection.analysable());
    EXPECT_NE(selection.reason.find("series 1 \"CT LWS\" (15 images): CT"), std::string::npos)
        << selection.reason;
    EXPECT_NE(selection.reason.find("Enhanced MR not yet supported"), std::string::npos)
        << selection.reason;
}

InstanceHeader instance(const std::string& series_uid, int series_number, double x,
                        std::array<double, 6> orientation = kSagittalIop) {
    InstanceHeader h;
    h.series_instance_uid = series_uid;
    h.series_number = series_number;
    h.modality = "MR";
    h.patient_id = "P1";
    h.orientation = orientation;
    h.position_mm = std::array<double, 3>{x, -100, 100};
    h.pixel_spacing_mm = std::array<double, 2>{0.5, 0.5};
    h.rows = 100;
    h.columns = 80;
    return h;
}

TEST(SeriesSelection, SummarisesInstancesPerSeries) {
    const auto summaries = summarise_series({
        instance("1.9.2", 2, -4), instance("1.9.1", 1, 0, kAxialIop), instance("1.9.2", 2, 0),
        instance("1.9.2", 2, 4), instance("1.9.1", 1, 0, kCoronalIop),
        instance("1.9.1", 1, 0, kSagittalIop)});
    ASSERT_EQ(summaries.size(), 2u);
    EXPECT_EQ(summaries[0].series_number, 1);  // ordered by SeriesNumber
    EXPECT_EQ(summaries[0].orientation_count, 3);
    EXPECT_NEAR(summaries[0].orientation_spread_deg, 90, 1e-9);
    EXPECT_EQ(summaries[0].slice_count, 1);
    const auto& sagittal = summaries[1];
    EXPECT_EQ(sagittal.instance_count, 3);
    EXPECT_EQ(sagittal.slice_count, 3);
    EXPECT_EQ(sagittal.orientation_count, 1);
    EXPECT_EQ(sagittal.orientation_spread_deg, 0);
    ASSERT_TRUE(sagittal.left_right_range_mm.has_value());
    EXPECT_DOUBLE_EQ((*sagittal.left_right_range_mm)[0], -4);
    EXPECT_DOUBLE_EQ((*sagittal.left_right_range_mm)[1], 4);
    EXPECT_EQ(sagittal.patient_ids, std::vector<std::string>{"P1"});
}

TEST(SeriesSelection, AngledAxialBlocksAreNotTakenForALocaliser) {
    const double c = std::cos(30 * std::numbers::pi / 180), s = std::sin(30 * std::numbers::pi / 180);
    std::vector<InstanceHeader> blocks;
    for (int i = 0; i < 4; ++i) blocks.push_back(instance("1.9.5", 5, 0, kAxialIop));
    for (int i = 0; i < 4; ++i) blocks.push_back(instance("1.9.5", 5, 0, {1, 0, 0, 0, c, s}));
    const auto summaries = summarise_series(blocks);
    ASSERT_EQ(summaries.size(), 1u);
    EXPECT_EQ(summaries[0].orientation_count, 2);
    EXPECT_NEAR(summaries[0].orientation_spread_deg, 30, 1e-6);
    const auto selection = select_series(summaries);
    EXPECT_EQ(selection.notes[0].find("localizer"), std::string::npos) << selection.notes[0];
}

}  // namespace
}  // namespace modic::core
