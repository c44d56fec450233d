// The detection stages on small synthetic sagittal images whose anatomy the test draws itself:
// disc-chain localisation and labelling, matching the fluid image's labels to T1, marrow typing
// of planted lesions, and the disc-level summary.
#include <gtest/gtest.h>

#include <array>
#include <cmath>
#include <functional>
#include <map>
#include <numbers>
#include <optional>
#include <string>
#include <utility>

#include "analysis/chain_matching.hpp"
#include "analysis/detect.hpp"
#include "analysis/disc_levels.hpp"
#include "analysis/marrow_typing.hpp"
#include "analysis/midline.hpp"
#include "analysis/plane_alignment.hpp"
#include "analysis/sagittal_plane.hpp"
#include "analysis/spine_localiser.hpp"
#include "analysis/vertebra_geometry.hpp"

namespace modic::core {
namespace {

// Signal of each tissue on one sequence.
struct Contrast {
    float background, muscle, marrow, disc, csf, fat, cortex;
};
constexpr Contrast kT1{0.0f, 300, 650, 350, 150, 1000, 40};
constexpr Contrast kT2{0.0f, 200, 450, 800, 1000, 750, 40};
// A STIR: the fat of marrow and subcutis suppressed, fluid bright.
constexpr Contrast kStir{0.0f, 150, 120, 700, 1000, 80, 40};
// T2 beside a desiccated disc, dark on T2, whose cortex the image does not resolve.
constexpr Contrast kT2DesiccatedDisc{0.0f, 200, 450, 250, 1000, 750, 250};

// A mid-sagittal lumbar spine drawn on a 1 mm grid: anterior left, head up. Bodies T12..L5 are
// 26 mm tall, discs 9 mm, the sacrum a long block below the L5/S1 disc. The marrow tests draw the
// bodies' cortical endplates too (the typing reads from the cortex); the localiser tests do not:
// with them, the tilt fit finds L4/L5 and L5/S1 8-10 degrees off (core/README.md, known limits).
struct DrawnSpine {
    static constexpr int kWidth = 220, kHeight = 330;
    static constexpr double kBodyLeft = 70, kBodyRight = 108;  // anterior, posterior wall
    static constexpr double kColumnX = (kBodyLeft + kBodyRight) / 2;  // the bodies' middle
    static constexpr double kTop = 20, kBody = 26, kDisc = 9;
    static constexpr double kDiscStep = kBody + kDisc;  // from one disc's centre to the next
    double shift_y = 0;  // moves the whole spine toward the feet
    double cortex = 0;  // thickness of each endplate's cortex, mm
    int rows = kHeight;  // rows of the image: fewer for a field of view that ends higher

    // Whether column x lies between the bodies' anterior and posterior walls.
    static bool in_column(double x) { return x >= kBodyLeft && x <= kBodyRight; }
    // Row of the top of body i (0 = T12, 5 = L5, 6 = S1).
    double body_top(int i) const { return kTop + shift_y + i * kDiscStep; }
    double disc_centre(int i) const { return body_top(i) + kBody + kDisc / 2; }  // below body i
};

using Painter = std::function<float(double x, double y, float normal)>;

// A plane points at the series it was extracted from (`SagittalPlane::source`): the tests keep
// each drawn series in a variable for as long as its plane is used.

SeriesVolume draw(const DrawnSpine& spine, const Contrast& contrast, const std::string& role,
                  const Painter& lesions = {}) {
    SeriesVolume series;
    series.role = role;
    series.series_instance_uid = "1.2.3." + role;
    series.frame_of_reference_uid = "1.2.3.9";
    series.sop_instance_uids = {"1.2.3." + role + ".1"};
    series.slice_thickness_mm = 4.0;
    series.image = Volume::New();
    Volume::SizeType size{{DrawnSpine::kWidth, Volume::SizeValueType(spine.rows), 1}};
    series.image->SetRegions(size);
    series.image->Allocate();
    Volume::SpacingType spacing;
    spacing.Fill(1.0);
    spacing[2] = 4.0;
    series.image->SetSpacing(spacing);
    // Rows run posterior (+Y), columns run down (-Z): the orientation of the spider-dev images.
    Volume::DirectionType direction;
    direction.Fill(0);
    direction[1][0] = 1;
    direction[2][1] = -1;
    direction[0][2] = 1;
    series.image->SetDirection(direction);
    Volume::PointType origin;
    origin[0] = 0, origin[1] = -110, origin[2] = 165;
    series.image->SetOrigin(origin);

    for (int y = 0; y < spine.rows; ++y)
        for (int x = 0; x < DrawnSpine::kWidth; ++x) {
            float value = x < 15 || x > 205 ? contrast.fat : contrast.muscle;
            if (x >= DrawnSpine::kBodyRight + 2 && x <= DrawnSpine::kBodyRight + 16) value = contrast.csf;
            if (DrawnSpine::in_column(x)) {
                for (int i = 0; i < 6; ++i) {
                    const double top = spine.body_top(i), bottom = top + DrawnSpine::kBody;
                    if (y >= top && y < bottom) value = contrast.marrow;
                    if ((y >= top && y < top + spine.cortex) || (y >= bottom - spine.cortex && y < bottom))
                        value = contrast.cortex;
                    if (y >= spine.body_top(i) + DrawnSpine::kBody && y < spine.body_top(i + 1))
                        value = contrast.disc;
                }
                if (y >= spine.body_top(6) && y < spine.body_top(6) + 90)
                    value = y < spine.body_top(6) + spine.cortex ? contrast.cortex : contrast.marrow;
            }
            if (lesions) value = lesions(x, y, value);
            series.image->SetPixel({{x, y, 0}}, value);
        }
    return series;
}

const Disc* disc_labelled(const SpineLocalisation& spine, const std::string& label) {
    for (const auto& disc : spine.discs)
        if (disc.label == label) return &disc;
    return nullptr;
}

// Paints `value` over rows [top, bottom) and columns [left, right]: by default the bodies'
// middle, with their walls left as drawn.
Painter band_over_rows(double top, double bottom, float value, double left = 76, double right = 102) {
    return [=](double x, double y, float normal) {
        return y >= top && y < bottom && x >= left && x <= right ? value : normal;
    };
}

// Paints `value` over the 9 mm of L4 above its inferior cortex, across the body's middle
// (columns 76-102): a change beside the L4/L5 disc.
Painter band_above_l4_cortex(const DrawnSpine& spine, float value) {
    const double cortex = spine.body_top(4) + DrawnSpine::kBody - spine.cortex;
    return band_over_rows(cortex - 9, cortex, value);
}

// Steps across the plane are given in millimetres: on a plane of 0.5 mm pixels, 3 mm along a
// direction is 6 pixels; a second step adds along its own direction.
TEST(SagittalPlane, AStepInMillimetresMovesAPointByPixelsOfThePlane) {
    const std::array<double, 2> start{10, 20}, back{0.6, 0.8}, down{-0.8, 0.6};
    const auto one = moved(start, back, 3.0, 0.5);
    EXPECT_NEAR(one[0], 10 + 6 * 0.6, 1e-12);
    EXPECT_NEAR(one[1], 20 + 6 * 0.8, 1e-12);
    const auto two = moved(start, back, 3.0, down, -2.0, 0.5);
    EXPECT_NEAR(two[0], one[0] + 4 * 0.8, 1e-12);
    EXPECT_NEAR(two[1], one[1] - 4 * 0.6, 1e-12);

    Disc disc;
    disc.x = 10, disc.y = 20, disc.angle = std::atan2(0.8, 0.6);  // along() is `back`
    disc.move(disc.normal(), 5.0, 0.5);
    EXPECT_NEAR(disc.x, 10 - 10 * 0.8, 1e-12);  // normal() = (-sin, cos): toward the feet
    EXPECT_NEAR(disc.y, 20 + 10 * 0.6, 1e-12);
}

// A body's midline lies between slices: the plane there blends the two slices either side by
// distance, lies between them in patient space, and names the nearer one for evidence.
TEST(SagittalPlane, APlaneBetweenSlicesBlendsTheTwoEitherSide) {
    SeriesVolume series;
    series.image = Volume::New();
    series.image->SetRegions(Volume::SizeType{{20, 20, 3}});
    series.image->Allocate();
    Volume::SpacingType spacing;
    spacing.Fill(1.0);
    spacing[2] = 4.0;
    series.image->SetSpacing(spacing);
    Volume::DirectionType direction;  // sagittal: rows posterior, columns down, slices to the left
    direction.Fill(0);
    direction[1][0] = 1;
    direction[2][1] = -1;
    direction[0][2] = 1;
    series.image->SetDirection(direction);
    for (unsigned k = 0; k < 3; ++k)
        for (unsigned j = 0; j < 20; ++j)
            for (unsigned i = 0; i < 20; ++i) series.image->SetPixel({{i, j, k}}, float(10 * (k + 1)));

    const auto on_slice = extract_plane(series, 1);
    EXPECT_FLOAT_EQ(on_slice.image->GetPixel({{10, 10}}), 20.f);
    const auto between = extract_plane_at(series, 1.25);
    EXPECT_NEAR(between.image->GetPixel({{10, 10}}), 22.5, 1e-4);
    EXPECT_EQ(between.slice, 1u);
    EXPECT_NEAR(between.origin[0] - on_slice.origin[0], 1.0, 1e-9);  // a quarter of the 4 mm spacing
    EXPECT_EQ(extract_plane_at(series, 1.75).slice, 2u);
    EXPECT_THROW(extract_plane_at(series, 2.5), std::runtime_error);
}

// The disc labelled `label` is among those `found`, its centre within `tolerance` mm of row `y`.
void expect_disc_at_row(const SpineLocalisation& found, const std::string& label, double y, double tolerance) {
    const Disc* disc = disc_labelled(found, label);
    ASSERT_NE(disc, nullptr) << label << " not found";
    EXPECT_NEAR(disc->y, y, tolerance) << label;
}

// The discs found on the T1 plane of `spine` drawn with `lesions`.
SpineLocalisation localise_drawn_t1(const DrawnSpine& spine, const Painter& lesions = {}) {
    const auto series = draw(spine, kT1, "t1", lesions);
    return localise_spine(extract_plane(series, 0), PlaneContrast::T1);
}

TEST(SpineLocaliser, FindsAndLabelsEveryDiscCountingUpFromTheSacrum) {
    const DrawnSpine spine;
    const auto found = localise_drawn_t1(spine);
    ASSERT_TRUE(found.failure.empty()) << found.failure;
    ASSERT_EQ(found.discs.size(), 6u);
    const char* labels[] = {"T12/L1", "L1/L2", "L2/L3", "L3/L4", "L4/L5", "L5/S1"};
    for (int i = 0; i < 6; ++i) {
        const Disc* disc = disc_labelled(found, labels[i]);
        ASSERT_NE(disc, nullptr) << labels[i];
        EXPECT_NEAR(disc->y, spine.disc_centre(i), 2.0) << labels[i];
        EXPECT_NEAR(disc->x, DrawnSpine::kColumnX, 6.0) << labels[i];
        EXPECT_NEAR(disc->angle, 0.0, 0.11) << labels[i];
    }
}

// Sclerosis beside a disc (here 9 mm of L4 above L4/L5) is darker than the disc on T1 and draws
// the band toward it: the disc is put back between the two bodies' marrow, the other discs stay.
TEST(SpineLocaliser, CentresADiscBesideSclerosisOnTheDisc) {
    DrawnSpine spine;
    spine.cortex = 1;
    const auto found = localise_drawn_t1(spine, band_above_l4_cortex(spine, 200));
    ASSERT_TRUE(found.failure.empty()) << found.failure;
    const char* labels[] = {"T12/L1", "L1/L2", "L2/L3", "L3/L4", "L4/L5", "L5/S1"};
    for (int i = 0; i < 6; ++i) {
        const Disc* disc = disc_labelled(found, labels[i]);
        ASSERT_NE(disc, nullptr) << labels[i];
        EXPECT_NEAR(disc->y, spine.disc_centre(i), 2.0) << labels[i];
    }
}

// Repaints L5 below its top 4 mm, the L5/S1 disc and the sacrum, with the disc tilted `tilt`
// radians about its drawn centre (negative: anterior end lower, as the lordosis tilts it);
// `also_disc` paints disc signal where else it says (a band below).
Painter tilted_lumbosacral_disc(const DrawnSpine& spine, double tilt,
                                std::function<bool(double x, double y)> also_disc = {}) {
    return [spine, tilt, also_disc](double x, double y, float normal) {
        if (!DrawnSpine::in_column(x) || y < spine.body_top(5) + 4 || y >= spine.body_top(6) + 90) return normal;
        const double centre_x = DrawnSpine::kColumnX;
        const double across = (y - spine.disc_centre(5)) * std::cos(tilt) - (x - centre_x) * std::sin(tilt);
        const bool disc = std::abs(across) < DrawnSpine::kDisc / 2 || (also_disc && also_disc(x, y));
        return disc ? float(kT1.disc) : float(kT1.marrow);
    };
}

// The lumbosacral disc of a lordotic spine is steep: drawn here tilted 27 degrees (anterior end
// lower), between the detector's 6-degree steps, with a wedge-shaped L5 above it. (Drawn at 40
// degrees it is still missed: a known limit, core/README.md.)
TEST(SpineLocaliser, FitsTheTiltOfASteepLumbosacralDisc) {
    const DrawnSpine spine;
    constexpr double kTilt = -27.0 * std::numbers::pi / 180.0;
    const double centre_y = spine.disc_centre(5);
    const auto found = localise_drawn_t1(spine, tilted_lumbosacral_disc(spine, kTilt));
    ASSERT_TRUE(found.failure.empty()) << found.failure;
    const Disc* lumbosacral = disc_labelled(found, "L5/S1");
    ASSERT_NE(lumbosacral, nullptr);
    EXPECT_NEAR(lumbosacral->angle, kTilt, 1.5 * std::numbers::pi / 180.0);  // detector: 3 off
    EXPECT_NEAR(lumbosacral->y, centre_y, 3.0);
    EXPECT_GT(lumbosacral->length, 25.0);  // the band is read along the whole disc
    expect_disc_at_row(found, "L4/L5", spine.disc_centre(4), 2.0);
}

// Draws L5/S1 tilted `l5s1_degrees` (negative: anterior end lower) and, one spacing below it in
// the sacrum, a disc-like band tilted `band_degrees` about the column's middle: L5/S1 is found
// where it is drawn, and no disc of the column is the band.
void expect_band_below_l5s1_not_taken(double l5s1_degrees, double band_degrees) {
    const DrawnSpine spine;
    const double tilt = l5s1_degrees * std::numbers::pi / 180.0;
    const double band_tilt = band_degrees * std::numbers::pi / 180.0;
    const double centre_y = spine.disc_centre(5);
    const double band_y = centre_y + 35;
    const double centre_x = DrawnSpine::kColumnX;
    auto in_band = [&](double x, double y) {
        const double across = (y - band_y) * std::cos(band_tilt) - (x - centre_x) * std::sin(band_tilt);
        return std::abs(across) < DrawnSpine::kDisc / 2;
    };
    const auto found = localise_drawn_t1(spine, tilted_lumbosacral_disc(spine, tilt, in_band));
    ASSERT_TRUE(found.failure.empty()) << found.failure;
    expect_disc_at_row(found, "L5/S1", centre_y, 3.0);
    for (const auto& disc : found.discs) EXPECT_GT(std::abs(disc.y - band_y), 10.0) << disc.label << " is the band";
}

// Below a full-length L5/S1 tilted forward the sacrum curves on forward. Drawn: L5/S1 tilted 27
// degrees forward and, one spacing below it in the sacrum, a disc-like band tilted like the
// column's upper discs (27 degrees backward from L5/S1): it is not L5/S1.
TEST(SpineLocaliser, ABandTurnedBackwardBelowASteepL5S1IsNotL5S1) {
    expect_band_below_l5s1_not_taken(-27.0, 0.0);
}

// The same below a flatter L5/S1: drawn tilted 14 degrees forward, with a band one spacing below
// it tilted 10 degrees backward (a turn of 24 degrees), as two phantoms' sacral junctions lay.
TEST(SpineLocaliser, ABandTurnedBackwardBelowAModeratelyTiltedL5S1IsNotL5S1) {
    expect_band_below_l5s1_not_taken(-14.0, 10.0);
}

TEST(SpineLocaliser, ReportsWhenThereIsNoColumn) {
    DrawnSpine spine;
    auto series = draw(spine, kT1, "t1", [](double, double, float) { return 300.0f; });
    const auto found = localise_spine(extract_plane(series, 0), PlaneContrast::T1);
    EXPECT_FALSE(found.failure.empty());
    EXPECT_TRUE(found.discs.empty());
}

// Below S1 the sacrum's fused segments leave thin dark lines (4 mm here, against 9 mm discs),
// spaced like discs; the lowest disc of the column is still L5/S1.
TEST(SpineLocaliser, AThinFusedSacralJunctionIsNotL5S1) {
    const DrawnSpine spine;
    const double junction_y = spine.disc_centre(5) + DrawnSpine::kBody + DrawnSpine::kDisc;
    auto junction = [&](double x, double y, float normal) {
        return DrawnSpine::in_column(x) && std::abs(y - junction_y) < 2.0 ? 300.0f : normal;
    };
    const auto found = localise_drawn_t1(spine, junction);
    ASSERT_TRUE(found.failure.empty()) << found.failure;
    expect_disc_at_row(found, "L5/S1", spine.disc_centre(5), 2.0);
}

// The posterior elements also form a chain of bands along the back, but short ones: a column
// of bands no longer than a spinous process is not taken for the vertebral bodies.
TEST(SpineLocaliser, AChainOfShortBandsIsNotTheColumn) {
    DrawnSpine spine;
    auto narrow = [&](double x, double, float normal) {
        return DrawnSpine::in_column(x) && (x < 84 || x > 95) ? float(kT1.muscle) : normal;
    };
    const auto series = draw(spine, kT1, "t1", narrow);
    const auto found = localise_spine(extract_plane(series, 0), PlaneContrast::T1);
    EXPECT_NE(found.failure.find("too short to be lumbar discs"), std::string::npos) << found.failure;
    EXPECT_TRUE(found.discs.empty());
}

// The drawn image's content turned by `degrees` about (x, y), image axes unchanged: the whole
// column tilts away from the patient's axial plane (positive: anterior end of each disc lower).
SeriesVolume turned(const SeriesVolume& series, double degrees, double x, double y, float outside) {
    SeriesVolume out = series;
    out.image = Volume::New();
    out.image->CopyInformation(series.image);
    out.image->SetRegions(series.image->GetLargestPossibleRegion());
    out.image->Allocate();
    const auto size = series.image->GetLargestPossibleRegion().GetSize();
    const double r = -degrees * std::numbers::pi / 180.0;
    for (long py = 0; py < long(size[1]); ++py)
        for (long px = 0; px < long(size[0]); ++px) {
            const double dx = px - x, dy = py - y;
            const long sx = std::lround(x + dx * std::cos(r) + dy * std::sin(r));
            const long sy = std::lround(y - dx * std::sin(r) + dy * std::cos(r));
            const bool inside = sx >= 0 && sy >= 0 && sx < long(size[0]) && sy < long(size[1]);
            out.image->SetPixel({{px, py, 0}}, inside ? series.image->GetPixel({{sx, sy, 0}}) : outside);
        }
    return out;
}

// A chain in front of the best one is taken for the column only when its bands are as long as
// the best one's: the posterior elements, which the rule is for, give short bands behind the
// discs; bowel loops in front of the spine give shorter bands too (28 mm here, against the
// column's 38; on spider_251 16 against 29), and must not win.
TEST(SpineLocaliser, AChainOfShortBandsInFrontOfTheSpineIsNotTheColumn) {
    const DrawnSpine spine;
    auto loops = [&](double x, double y, float normal) {
        if (x < 124 || x >= 168) return normal;
        for (int i = 0; i < 6; ++i)
            if (y >= spine.body_top(i) && y < spine.body_top(i) + DrawnSpine::kBody) return float(kT1.marrow);
        return y >= spine.body_top(0) && y < spine.body_top(6) ? float(kT1.disc) : normal;
    };
    const auto found = localise_drawn_t1(spine, loops);
    ASSERT_TRUE(found.failure.empty()) << found.failure;
    for (const auto& disc : found.discs)
        EXPECT_TRUE(DrawnSpine::in_column(disc.x)) << disc.label << " at x = " << disc.x;
}

// The posterior elements behind the canal drawn as a second column of blocks and gaps, `depth` mm
// deep and more contrasted than the discs (pale here): the best chain follows them. The discs found
// on the image.
std::vector<Disc> discs_beside_posterior_elements(double depth) {
    const DrawnSpine spine;
    auto posterior_elements = [&](double x, double y, float normal) {
        if (DrawnSpine::in_column(x) && normal == kT1.disc) return 410.0f;
        if (x < 124 || x >= 124 + depth) return normal;
        for (int i = 0; i < 6; ++i)
            if (y >= spine.body_top(i) && y < spine.body_top(i) + DrawnSpine::kBody) return float(kT1.fat);
        return y >= spine.body_top(0) && y < spine.body_top(6) ? float(kT1.cortex) : normal;
    };
    const auto series = draw(spine, kT1, "t1", posterior_elements);
    const auto found = localise_spine(extract_plane(series, 0), PlaneContrast::T1);
    EXPECT_TRUE(found.failure.empty()) << found.failure;
    return found.discs;
}

// 44 mm deep, the posterior chain's bands measure 48 mm, the column's 43. The chain in front,
// nearly as long and strong enough, is the column (fresh seed 1101 case 13: the posterior chain's
// bands 33 mm, the column's 32; seed 1100 case 1, 33 and 29). 52 mm deep, the column's bands
// measure 0.8 of the posterior chain's (fresh seed 2301 case 28: 28 mm against 36, and every label
// lay 50 mm behind the column); bowel loops in front of the spine give bands shorter still (16 mm
// against 29 on spider_251).
TEST(SpineLocaliser, AColumnInFrontOfLongerPosteriorElementsIsTheColumn) {
    for (double depth : {44.0, 52.0}) {
        const auto discs = discs_beside_posterior_elements(depth);
        ASSERT_GE(discs.size(), 4u) << depth << " mm deep";
        for (const auto& disc : discs)
            EXPECT_TRUE(DrawnSpine::in_column(disc.x)) << depth << " mm deep: " << disc.label << " at x = " << disc.x;
    }
}

// Steep bands side by side chain too, each along the other's normal: five dark stripes tilted
// 65 degrees from the axial plane in bright fat in front of the spine, each 12 mm further back and
// 17 mm lower than the one before. Four of them chain, as strong as the column and nearly as long,
// but the chain runs obliquely across the patient: it is no column (seed 1200 case 23: four bands
// tilted 64-72 degrees, not analysable).
TEST(SpineLocaliser, SteepBandsSideBySideInFrontOfTheSpineAreNotTheColumn) {
    const DrawnSpine spine;
    const double tilt = 65.0 * std::numbers::pi / 180.0;
    const double along_x = std::cos(tilt), along_y = -std::sin(tilt);  // anterior end lower
    const double row = spine.body_top(1);
    auto stripes = [&](double x, double y, float normal) {
        if (x > 68 || y < row - 25 || y > row + 95) return normal;
        for (int i = 0; i < 5; ++i) {
            const double dx = x - (10 + 12 * i), dy = y - (row + 17 * i);
            const double along = dx * along_x + dy * along_y, across = -dx * along_y + dy * along_x;
            if (std::abs(along) < 20 && std::abs(across) < 2.5) return float(kT1.cortex);
        }
        return float(kT1.fat);
    };
    const auto series = draw(spine, kT1, "t1", stripes);
    const auto found = localise_spine(extract_plane(series, 0), PlaneContrast::T1);
    ASSERT_TRUE(found.failure.empty()) << found.failure;
    for (const auto& disc : found.discs)
        EXPECT_TRUE(DrawnSpine::in_column(disc.x)) << disc.label << " at x = " << disc.x;
}

// A patient lies along the magnet: lumbar discs tilt well under 50 degrees from the axial plane.
// A chain of bands tilted further follows something else (bowel loops, the posterior elements
// seen obliquely) and the image is not analysed, rather than read at the wrong place.
TEST(SpineLocaliser, AColumnTiltedFarFromTheAxialPlaneIsNotAnalysed) {
    const DrawnSpine spine;
    const auto upright = draw(spine, kT1, "t1");
    const double x = DrawnSpine::kColumnX, y = spine.body_top(3);
    const auto leaning_series = turned(upright, 20, x, y, kT1.muscle);
    const auto leaning = localise_spine(extract_plane(leaning_series, 0), PlaneContrast::T1);
    EXPECT_TRUE(leaning.failure.empty()) << leaning.failure;
    const auto lying_series = turned(upright, 56, x, y, kT1.muscle);
    const auto lying = localise_spine(extract_plane(lying_series, 0), PlaneContrast::T1);
    EXPECT_NE(lying.failure.find("no plausible lumbar column"), std::string::npos) << lying.failure;
    EXPECT_TRUE(lying.discs.empty());
}

// L5/S1 tilts forward with the sacrum. On the phantoms a chain running one level too far ended
// in a band in front of the sacrum tilted backward 65-80 degrees from the axial plane. Drawn
// here: a column leaning 16 degrees backward, and such a band (61 degrees backward) where the
// next disc would be.
TEST(SpineLocaliser, ABandTiltedBackwardBelowTheColumnIsNotL5S1) {
    const DrawnSpine spine;
    const double x = DrawnSpine::kColumnX, y = spine.body_top(3);
    constexpr double kLean = -16.0;
    auto series = turned(draw(spine, kT1, "t1"), kLean, x, y, kT1.muscle);
    // Where turned() puts the drawn L5/S1 centre, and a band one disc spacing further down.
    const double r = kLean * std::numbers::pi / 180.0, drop = spine.disc_centre(5) - y;
    const double l5s1_x = x + drop * std::sin(r), l5s1_y = y + drop * std::cos(r);
    const double step = 33.0 * std::numbers::pi / 180.0, tilt = 61.0 * std::numbers::pi / 180.0;
    const double band_x = l5s1_x - 34 * std::sin(step), band_y = l5s1_y + 34 * std::cos(step);
    const auto size = series.image->GetLargestPossibleRegion().GetSize();
    for (long py = 0; py < long(size[1]); ++py)
        for (long px = 0; px < long(size[0]); ++px) {
            const double across = (py - band_y) * std::cos(tilt) - (px - band_x) * std::sin(tilt);
            const double along = (px - band_x) * std::cos(tilt) + (py - band_y) * std::sin(tilt);
            if (std::abs(across) < 4 && std::abs(along) < 17) series.image->SetPixel({{px, py, 0}}, kT1.disc);
            else if (std::abs(across) < 14 && std::abs(along) < 17) series.image->SetPixel({{px, py, 0}}, kT1.marrow);
        }
    const auto plane = extract_plane(series, 0);
    const auto found = localise_spine(plane, PlaneContrast::T1);
    ASSERT_TRUE(found.failure.empty()) << found.failure;
    const Disc* lumbosacral = disc_labelled(found, "L5/S1");
    ASSERT_NE(lumbosacral, nullptr);
    EXPECT_NEAR(lumbosacral->x, l5s1_x, 3.0);
    EXPECT_NEAR(lumbosacral->y, l5s1_y, 3.0);
    for (const auto& disc : found.discs)
        EXPECT_GT(std::hypot(disc.x - band_x, disc.y - band_y), 15.0) << disc.label << " is the band";
}

// Below a column leaning backward, L5/S1 turns forward with the sacrum: drawn 40 degrees more
// forward than L4/L5, the step from L4/L5 runs 40 degrees off L5/S1's normal, between the two
// normals. The chain still reaches it: L5/S1 is not the disc above.
TEST(SpineLocaliser, ReachesAnL5S1TurnedFarForwardFromTheDiscAbove) {
    const DrawnSpine spine;
    constexpr double kTilt = -40.0 * std::numbers::pi / 180.0;
    const double centre_x = DrawnSpine::kColumnX;
    const double centre_y = spine.disc_centre(5);
    constexpr double kLean = -14.0;
    const double pivot_y = spine.body_top(3);
    const auto series =
        turned(draw(spine, kT1, "t1", tilted_lumbosacral_disc(spine, kTilt)), kLean, centre_x, pivot_y, kT1.muscle);
    // Where turned() puts the drawn L5/S1 centre.
    const double r = kLean * std::numbers::pi / 180.0, drop = centre_y - pivot_y;
    const double l5s1_x = centre_x + drop * std::sin(r), l5s1_y = pivot_y + drop * std::cos(r);
    const auto plane = extract_plane(series, 0);
    const auto found = localise_spine(plane, PlaneContrast::T1);
    ASSERT_TRUE(found.failure.empty()) << found.failure;
    const Disc* lumbosacral = disc_labelled(found, "L5/S1");
    ASSERT_NE(lumbosacral, nullptr);
    EXPECT_NEAR(lumbosacral->x, l5s1_x, 4.0);
    EXPECT_NEAR(lumbosacral->y, l5s1_y, 4.0);
}

// A thin, degenerated L5/S1 between two sclerotic endplates is one dark band 30 mm thick, where
// the disc band's marrow boxes lie in the sclerosis: the chain is still followed down to it,
// and its centre lies on the disc.
TEST(SpineLocaliser, FindsAThinDiscBetweenTwoDarkChanges) {
    const DrawnSpine spine;
    const double disc_y = spine.disc_centre(5);
    auto sclerosis = [&](double x, double y, float normal) {
        if (!DrawnSpine::in_column(x) || std::abs(y - disc_y) >= 15) return normal;
        return std::abs(y - disc_y) < 2 ? float(kT1.disc) : 150.0f;
    };
    const auto found = localise_drawn_t1(spine, sclerosis);
    ASSERT_TRUE(found.failure.empty()) << found.failure;
    expect_disc_at_row(found, "L5/S1", disc_y, 3.0);
    expect_disc_at_row(found, "L4/L5", spine.disc_centre(4), 2.0);
}

// An L4/L5 between two sclerotic changes is one thick dark band, with little band contrast of its
// own; a short dark band in front of it (a vessel between two fat planes, 13 mm forward) then
// chains in its place, flat like the column's discs (fresh seed 2301 case 27). The thick band
// where the disc below L3/L4 should be is taken instead, and L5/S1 still follows it.
TEST(SpineLocaliser, TakesTheThickBandOfADiscBetweenTwoDarkChangesForAShortBandInFrontOfIt) {
    const DrawnSpine spine;
    const double disc_y = spine.disc_centre(4), front_x = DrawnSpine::kBodyLeft - 13;
    auto sclerosis_and_vessel = [&](double x, double y, float normal) {
        const double across = std::abs(y - disc_y);
        if (DrawnSpine::in_column(x) && across < 15) return across < 2 ? float(kT1.disc) : 150.0f;
        if (std::abs(x - front_x) < 6 && across < 8) return across < 2 ? float(kT1.csf) : float(kT1.fat);
        return normal;
    };
    const auto found = localise_drawn_t1(spine, sclerosis_and_vessel);
    ASSERT_TRUE(found.failure.empty()) << found.failure;
    const Disc* l4l5 = disc_labelled(found, "L4/L5");
    ASSERT_NE(l4l5, nullptr);
    EXPECT_NEAR(l4l5->x, DrawnSpine::kColumnX, 6.0);
    EXPECT_NEAR(l4l5->y, disc_y, 3.0);
    const Disc* lumbosacral = disc_labelled(found, "L5/S1");
    ASSERT_NE(lumbosacral, nullptr);
    EXPECT_NEAR(lumbosacral->y, spine.disc_centre(5), 2.0);
}

// A steep, wedge-shaped L5/S1 is often fitted at its front only, short and flat. Drawn: an L5/S1
// disc whose back two thirds are bone, and a band of the pelvis (a dark plane between two bright
// ones) one disc spacing down, 19 mm in front of the short band. The column does not step
// forward below L5/S1: that band is not L5/S1.
TEST(SpineLocaliser, ABandInFrontOfTheSacrumBelowAShortL5S1IsNotL5S1) {
    const DrawnSpine spine;
    const double disc_top = spine.body_top(5) + DrawnSpine::kBody, disc_bottom = spine.body_top(6);
    const double front_end = DrawnSpine::kBodyLeft + 12;
    const double band_x = DrawnSpine::kBodyLeft - 14;
    const double band_y = spine.disc_centre(5) + 36;
    auto painted = [&](double x, double y, float normal) {
        if (y >= disc_top && y < disc_bottom && x > front_end && DrawnSpine::in_column(x)) return kT1.marrow;
        if (std::abs(x - band_x) < 14 && std::abs(y - band_y) < 14)
            return std::abs(y - band_y) < 3 ? kT1.disc : kT1.marrow;
        return normal;
    };
    const auto found = localise_drawn_t1(spine, painted);
    ASSERT_TRUE(found.failure.empty()) << found.failure;
    expect_disc_at_row(found, "L5/S1", spine.disc_centre(5), 4.0);
    for (const auto& disc : found.discs)
        EXPECT_GT(std::hypot(disc.x - band_x, disc.y - band_y), 10.0) << disc.label << " is the band";
}

// A band at (x, y) in plane pixels, `length` mm long, tilted `degrees` (positive: anterior end
// higher), as the chain rules see a fitted candidate.
Disc disc_at(double x, double y, double length, double degrees) {
    Disc disc;
    disc.x = x, disc.y = y, disc.length = length;
    disc.angle = degrees * std::numbers::pi / 180.0;
    return disc;
}

// A band as trim_chain_ends sees it once measured: `score` its contrast, its edges 4 mm either side.
Disc measured_band(double x, double y, double length, double degrees, double score) {
    Disc disc = disc_at(x, y, length, degrees);
    disc.score = score;
    disc.upper_edge = disc.lower_edge = 4.0;
    return disc;
}

// The first `count` discs of the drawn column as measured bands: 31 mm long, flat, at contrast
// 0.44, the chain that the trimming tests extend with the bands they judge.
std::vector<Disc> column_bands(const DrawnSpine& spine, int count) {
    std::vector<Disc> chain;
    for (int i = 0; i < count; ++i)
        chain.push_back(measured_band(DrawnSpine::kColumnX, spine.disc_centre(i), 31, 0, 0.44));
    return chain;
}

// A chain may run into a band in front of the column, stronger than the real disc below (seed
// 600 case 13: in front of L4, tilted 30 degrees backward; the chain could not go on from it and
// L5/S1 was lost; seed 601 case 11: it went on along more bands in front). The chain is cut at
// such a band, so that the column is followed on from its last disc; a band on the column's
// line, or in front of it but tilted like the disc above, is left to the rules for the chain's
// end, and so is a band below a short one, whose place along itself is uncertain.
TEST(SpineLocaliser, CutsTheChainAtABandInFrontOfTheColumnTurnedBackward) {
    const DrawnSpine spine;
    const auto series = draw(spine, kT1, "t1");
    const auto plane = extract_plane(series, 0);
    // Four discs on the column (the fourth `fourth_length` long), then the band tested, then one
    // more band below it.
    auto chain_with = [&](double x_offset, double degrees, double fourth_length = 38) {
        std::vector<Disc> chain;
        for (int i = 0; i < 4; ++i)
            chain.push_back(disc_at(DrawnSpine::kColumnX, spine.disc_centre(i), i == 3 ? fourth_length : 38, 0));
        chain.push_back(disc_at(DrawnSpine::kColumnX + x_offset, spine.disc_centre(4) - 5, 22, degrees));
        chain.push_back(disc_at(DrawnSpine::kColumnX + x_offset, spine.disc_centre(5), 22, degrees));
        cut_chain_in_front_of_column(chain, plane);
        return chain.size();
    };
    EXPECT_EQ(chain_with(-22, 30), 4u) << "in front, turned backward: cut there";
    EXPECT_EQ(chain_with(-22, 0), 6u) << "in front, tilted like the disc above: kept";
    EXPECT_EQ(chain_with(0, 30), 6u) << "on the column, turned backward: kept";
    EXPECT_EQ(chain_with(-10, 30), 6u) << "10 mm forward, within a lordotic step: kept";
    EXPECT_EQ(chain_with(-22, 30, 8), 6u) << "below a short band: kept";
}

// A band shorter than the column's discs, in front of where the line through two full-length
// discs leads and turned backward from the one above, is no disc of the column either, though
// nearer the line than the bands above cut (fresh seed 2200 case 13: a 12 mm band 14 mm forward
// and turned 8 degrees backward, in front of an L4/L5 between two dark changes; seed 2000 case 23,
// seed 400 case 5, seed 1600 case 21). A real disc's front fitted short lies as far forward only
// where the column turns forward too, or below a short band, whose place along itself is uncertain.
TEST(SpineLocaliser, CutsTheChainAtAShortBandInFrontOfTheColumn) {
    const DrawnSpine spine;
    const auto series = draw(spine, kT1, "t1");
    const auto plane = extract_plane(series, 0);
    // Four discs on the column (the fourth `fourth_length` long), then the band tested, then one
    // more band below it, as long and as far forward.
    auto chain_with = [&](double length, double x_offset, double degrees, double fourth_length = 38) {
        std::vector<Disc> chain;
        for (int i = 0; i < 4; ++i)
            chain.push_back(disc_at(DrawnSpine::kColumnX, spine.disc_centre(i), i == 3 ? fourth_length : 38, 0));
        chain.push_back(disc_at(DrawnSpine::kColumnX + x_offset, spine.disc_centre(4), length, degrees));
        chain.push_back(disc_at(DrawnSpine::kColumnX + x_offset, spine.disc_centre(5), length, degrees));
        cut_chain_in_front_of_column(chain, plane);
        return chain.size();
    };
    EXPECT_EQ(chain_with(16, -14, 8), 4u) << "short, 14 mm forward, turned backward: cut there";
    EXPECT_EQ(chain_with(38, -14, 8), 6u) << "as long as the column's discs: kept";
    EXPECT_EQ(chain_with(16, -14, 0), 6u) << "tilted like the disc above: kept";
    EXPECT_EQ(chain_with(16, -14, -8), 6u) << "turned forward, as the lordosis turns discs: kept";
    EXPECT_EQ(chain_with(16, -10, 8), 6u) << "10 mm forward: kept";
    EXPECT_EQ(chain_with(16, -14, 8, 20), 6u) << "below a band shorter than the column's discs: kept";
}

// The line may be drawn through two bands off the column at the chain's top (fresh seed 2601 case
// 11: bands at T12 tilted 30 and 46 degrees, beside a haemangioma and patchy fat); the column's
// discs then lie "in front" of it. Where more bands lie from the one judged down than above it,
// the bands above are the ones off the column: they are cut, and the rest judged again.
TEST(SpineLocaliser, CutsBandsOffTheColumnAboveItRatherThanTheColumn) {
    const DrawnSpine spine;
    const auto series = draw(spine, kT1, "t1");
    const auto plane = extract_plane(series, 0);
    std::vector<Disc> chain;
    chain.push_back(disc_at(DrawnSpine::kColumnX + 60, spine.disc_centre(0) - 70, 30, -30));
    chain.push_back(disc_at(DrawnSpine::kColumnX + 40, spine.disc_centre(0) - 35, 30, -30));
    for (int i = 0; i < 5; ++i) chain.push_back(disc_at(DrawnSpine::kColumnX, spine.disc_centre(i), 38, 0));
    cut_chain_in_front_of_column(chain, plane);
    ASSERT_EQ(chain.size(), 5u);
    for (int i = 0; i < 5; ++i) EXPECT_DOUBLE_EQ(chain[std::size_t(i)].y, spine.disc_centre(i));
}

// L5/S1 lies on the sacrum's slope, its anterior end lower. Where the sacrum curves backward below
// L5/S1, a chain may run on to bands in front of it (seed 801 case 9, seed 900 case 24: their
// anterior ends 16-42 degrees higher); such a lowest band is not L5/S1. A short one is: a
// wedge-shaped L5/S1 fitted at its front reads shorter and tilted the wrong way.
TEST(SpineLocaliser, ALowestBandTiltedBackwardIsNotL5S1) {
    const DrawnSpine spine;
    const auto series = draw(spine, kT1, "t1");
    const auto plane = extract_plane(series, 0);
    auto ending_with = [&](double length, double degrees) {  // five discs on the column, then the band
        SpineLocalisation localisation;
        for (int i = 0; i < 5; ++i)
            localisation.discs.push_back(disc_at(DrawnSpine::kColumnX, spine.disc_centre(i), 38, 0));
        localisation.discs.push_back(disc_at(DrawnSpine::kColumnX, spine.disc_centre(5), length, degrees));
        return lowest_disc_tilted_back(localisation, plane);
    };
    EXPECT_TRUE(ending_with(36, 25)) << "anterior end 25 degrees higher";
    EXPECT_FALSE(ending_with(36, 10)) << "10 degrees: as far as the phantoms' L5/S1 go";
    EXPECT_FALSE(ending_with(36, -20)) << "anterior end lower: on the sacrum's slope";
    EXPECT_FALSE(ending_with(28, 25)) << "shorter than the column's discs: its tilt is not trusted";
}

// Below a steep L5/S1 the sacrum's junctions turn further forward. Fitted at its front, a
// junction reads short and may keep the tilt of the one below it from looking steeper (seed 1301
// case 27: L5/S1 tilted 24 degrees, then a 13 mm band at 58 and a 23 mm band at 62, both weak).
// Each band is judged against the nearest full-length band above it too, L5/S1 here.
TEST(SpineLocaliser, AWeakSacralBandBelowAShortOneIsJudgedAgainstL5S1) {
    const DrawnSpine spine;
    const auto series = draw(spine, kT1, "t1");
    const auto plane = extract_plane(series, 0);
    auto band = [&](double y, double length, double degrees, double score) {
        return measured_band(DrawnSpine::kColumnX, y, length, degrees, score);
    };
    // Five discs of the column, then L5/S1 tilted 24 degrees (anterior end lower), then the
    // sacrum's two bands: the last as steep, weak and short as the band below it is tested with.
    auto trimmed_after = [&](double last_length, double last_degrees) {
        auto chain = column_bands(spine, 5);
        chain.push_back(band(spine.disc_centre(5), 30, -24, 0.42));
        chain.push_back(band(spine.disc_centre(5) + DrawnSpine::kDiscStep, 13, -58, 0.18));
        chain.push_back(band(spine.disc_centre(5) + 2 * DrawnSpine::kDiscStep, last_length, last_degrees, 0.275));
        trim_chain_ends(chain, plane);
        return chain;
    };
    const auto chain = trimmed_after(23, -62);
    EXPECT_EQ(chain.size(), 6u) << "the sacral bands are cut back to L5/S1";
    EXPECT_NEAR(chain.back().y, spine.disc_centre(5), 0.5);
    EXPECT_EQ(trimmed_after(30, -62).size(), 8u) << "as long as the column's discs: kept";
    EXPECT_EQ(trimmed_after(23, -26).size(), 8u) << "tilted like L5/S1: kept";
}

// The lordosis turns L5/S1 forward from a flat L4/L5. Such an L5/S1 fitted short and weak at its
// front was cut as a stray, and the chain ended at L4/L5 (seed 700 case 11, seed 1100 case 1:
// turned 26 and 48 degrees from an L4/L5 tilted back 14 and 6). A band so turned, at least 0.6
// of the column's median contrast, is kept as L5/S1; below an L4/L5 already tilted forward, or
// fainter, it is cut as before.
TEST(SpineLocaliser, AShortBandTurnedForwardFromAFlatL4L5IsL5S1) {
    const DrawnSpine spine;
    const auto series = draw(spine, kT1, "t1");
    const auto plane = extract_plane(series, 0);
    // Five discs of the column, the last (L4/L5) tilted `above_degrees` (positive: anterior end
    // higher), then a 12 mm band turned 30 degrees forward from it with `score`.
    auto trimmed_size = [&](double above_degrees, double score) {
        auto chain = column_bands(spine, 5);
        chain.back().angle = above_degrees * std::numbers::pi / 180.0;
        chain.push_back(measured_band(DrawnSpine::kColumnX - 4, spine.disc_centre(5), 12, above_degrees - 30, score));
        trim_chain_ends(chain, plane);
        return chain.size();
    };
    EXPECT_EQ(trimmed_size(0, 0.30), 6u) << "turned forward from a flat L4/L5: L5/S1";
    EXPECT_EQ(trimmed_size(6, 0.30), 6u) << "from an L4/L5 tilted back 6 degrees: L5/S1";
    EXPECT_EQ(trimmed_size(-14, 0.30), 5u) << "below a band tilted forward 14 degrees: cut";
    EXPECT_EQ(trimmed_size(0, 0.22), 5u) << "fainter than 0.6 of the column: cut";
}

// L5 is as high as the bodies above it, so L5/S1 lies about one spacing below L4/L5. A chain may
// run on from L5/S1 to the front of S1/S2 (seed 901 case 12, seed 1800 case 26: 1.3 spacings
// further, 0.55-0.8 of the discs' length, as contrasted as they are), or to a band in front of
// the sacrum turned forward from an L5/S1 tilted back (seed 1800 case 14), and every label was a
// level high. A lowest band more than 1.25 spacings below the band above and shorter than a full
// disc is cut, however it is turned; as long as a disc, or at the usual spacing, it is kept.
TEST(SpineLocaliser, AShortBandFarBelowL5S1IsNotL5S1) {
    const DrawnSpine spine;
    const auto series = draw(spine, kT1, "t1");
    const auto plane = extract_plane(series, 0);
    // Six discs of the column, the last (L5/S1) tilted back 6 degrees, then a band `spacings`
    // steps below it, turned forward from it by `turn` degrees.
    auto trimmed_size = [&](double spacings, double length, double turn = 0) {
        auto chain = column_bands(spine, 6);
        chain.back().angle = 6 * std::numbers::pi / 180.0;
        const double below = spine.disc_centre(5) + spacings * DrawnSpine::kDiscStep;
        chain.push_back(measured_band(DrawnSpine::kColumnX, below, length, 6 - turn, 0.44));
        trim_chain_ends(chain, plane);
        return chain.size();
    };
    EXPECT_EQ(trimmed_size(1.35, 20), 6u) << "far and short: cut, L5/S1 is the band above";
    EXPECT_EQ(trimmed_size(1.35, 20, 25), 6u) << "far and short, turned forward 25 degrees: cut";
    EXPECT_EQ(trimmed_size(1.35, 30), 7u) << "far, as long as a disc: kept";
    EXPECT_EQ(trimmed_size(1.0, 20), 7u) << "short, at the usual spacing: kept";
    EXPECT_EQ(trimmed_size(1.0, 20, 25), 7u) << "short, at the usual spacing, turned forward: kept";
}

// A steep L5/S1 fitted short at its front is kept however weak, and a band below it in front is
// dropped. Below a full-length band already tilted as L5/S1 is (its anterior end 10 degrees
// lower), a weak, short band is the front of a sacral junction instead (seed 1000 case 27, seed
// 1800 case 29: the chain ran a level past): it is judged in turn, and cut as a stray. Below a
// flat band it stays the misfitted L5/S1.
TEST(SpineLocaliser, AWeakShortBandBelowATiltedL5S1IsNotAMisfittedL5S1) {
    const DrawnSpine spine;
    const auto series = draw(spine, kT1, "t1");
    const auto plane = extract_plane(series, 0);
    // Five discs of the column, then a full-length band tilted `tilt` (anterior end lower), a weak
    // 12 mm band one step below it tilted 8 degrees the other way, and a band 23 mm in front of
    // that one step further.
    auto trimmed_size = [&](double tilt) {
        auto chain = column_bands(spine, 5);
        chain.push_back(measured_band(DrawnSpine::kColumnX, spine.disc_centre(5), 31, -tilt, 0.44));
        chain.push_back(measured_band(DrawnSpine::kColumnX, spine.disc_centre(5) + DrawnSpine::kDiscStep, 12, 8, 0.2));
        chain.push_back(measured_band(DrawnSpine::kColumnX - 23, spine.disc_centre(5) + 2 * DrawnSpine::kDiscStep, 20,
                                      0, 0.44));
        trim_chain_ends(chain, plane);
        return chain.size();
    };
    EXPECT_EQ(trimmed_size(10), 6u) << "below an L5/S1 tilted 10 degrees: both bands cut";
    EXPECT_EQ(trimmed_size(0), 7u) << "below a flat band: the weak band kept as a misfitted L5/S1";
}

// Below a steep, full-length L5/S1 (its anterior end 25 degrees lower or more) the sacrum curves on
// forward. A band shorter than the column's discs turned backward from it by more than 15 degrees
// is a sacral junction fitted at its front or back, and goes with everything below it (seed 1801
// case 20, seed 1701 case 10, seed 1900 case 5: the chain ran one or two levels past L5/S1).
// Below a less steep L5/S1, only a turn of more than 20 degrees says as much; a full-length band
// turned as much stays.
TEST(SpineLocaliser, AShortBandTurnedBackBelowASteepL5S1IsSacral) {
    const DrawnSpine spine;
    const auto series = draw(spine, kT1, "t1");
    const auto plane = extract_plane(series, 0);
    // Five discs of the column, then a full-length band tilted `tilt` (anterior end lower), then
    // the band tested one step below it, `turn` degrees less tilted, then `below` more bands.
    auto trimmed_size = [&](double tilt, double turn, double length, int below = 0) {
        auto chain = column_bands(spine, 5);
        chain.push_back(measured_band(DrawnSpine::kColumnX, spine.disc_centre(5), 31, -tilt, 0.44));
        const double step = DrawnSpine::kDiscStep;
        chain.push_back(measured_band(DrawnSpine::kColumnX, spine.disc_centre(5) + step, length, -(tilt - turn), 0.44));
        for (int i = 1; i <= below; ++i)
            chain.push_back(measured_band(DrawnSpine::kColumnX, spine.disc_centre(5) + (i + 1) * step, 20,
                                          -(tilt - turn), 0.44));
        trim_chain_ends(chain, plane);
        return chain.size();
    };
    EXPECT_EQ(trimmed_size(30, 18, 18), 6u) << "short, turned 18 degrees back from a steep L5/S1: cut";
    EXPECT_EQ(trimmed_size(30, 18, 18, 1), 6u) << "and the band below it too";
    EXPECT_EQ(trimmed_size(15, 18, 18), 7u) << "below an L5/S1 tilted 15 degrees: kept";
    EXPECT_EQ(trimmed_size(30, 18, 31), 7u) << "as long as the column's discs: kept";
    EXPECT_EQ(trimmed_size(30, 10, 18), 7u) << "turned 10 degrees back: kept";
}

// A fused sacral junction is a thin, weak line; below it lie the sacrum and the pelvis, never a
// lumbar disc. A chain may run on through such a junction to a band as contrasted as the column's
// discs (seed 2000 case 21: S1/S2 fused, then a band in the pelvis a spacing below it, and every
// label was two levels high). Both are cut; below a weak band as thick as a disc, or a thin one
// as contrasted as the discs, the band is kept.
TEST(SpineLocaliser, NothingBelowAFusedSacralJunctionIsLumbar) {
    const DrawnSpine spine;
    const auto series = draw(spine, kT1, "t1");
    const auto plane = extract_plane(series, 0);
    // Six discs of the column (edges 4 mm either side), L5/S1 the last, then the band tested one
    // step below it, then a band as contrasted as the discs one step further.
    auto trimmed_size = [&](double score, double half_thickness) {
        auto chain = column_bands(spine, 6);
        auto tested = measured_band(DrawnSpine::kColumnX, spine.disc_centre(5) + DrawnSpine::kDiscStep, 31, 0, score);
        tested.upper_edge = tested.lower_edge = half_thickness;
        chain.push_back(tested);
        chain.push_back(measured_band(DrawnSpine::kColumnX, spine.disc_centre(5) + 2 * DrawnSpine::kDiscStep, 31, 0, 0.44));
        trim_chain_ends(chain, plane);
        return chain.size();
    };
    EXPECT_EQ(trimmed_size(0.15, 1.5), 6u) << "below a weak, thin junction: both cut";
    EXPECT_EQ(trimmed_size(0.15, 4.0), 8u) << "below a weak band as thick as the discs: kept";
    EXPECT_EQ(trimmed_size(0.44, 1.5), 8u) << "below a thin band as contrasted as the discs: kept";
}

// No lumbar disc above L5/S1 tilts more than 50 degrees: below a band that steep the chain is in
// the sacrum (seed 2401 case 24: two short bands below L5/S1, tilted 54 and 66
// degrees, and the chain was judged no column). The band below it is cut; below a band tilted 45
// degrees, it is left to the other rules.
TEST(SpineLocaliser, NothingBelowABandTooSteepForL4L5IsLumbar) {
    const DrawnSpine spine;
    const auto series = draw(spine, kT1, "t1");
    const auto plane = extract_plane(series, 0);
    // Six discs of the column, L5/S1 the last, then two bands as long and contrasted as the discs,
    // tilted `degrees`, one and two steps below it.
    auto trimmed_size = [&](double degrees) {
        auto chain = column_bands(spine, 6);
        for (int step = 1; step <= 2; ++step)
            chain.push_back(measured_band(DrawnSpine::kColumnX, spine.disc_centre(5) + step * DrawnSpine::kDiscStep,
                                          31, degrees, 0.44));
        trim_chain_ends(chain, plane);
        return chain.size();
    };
    EXPECT_EQ(trimmed_size(55), 7u) << "below a band tilted 55 degrees: cut";
    EXPECT_EQ(trimmed_size(45), 8u) << "below a band tilted 45 degrees: kept";
}

// Moves the bands of the discs above and below L3 backward along themselves, as a band's centre
// drifts where the canal continues it.
void drift_discs_beside_l3(SpineLocalisation& localisation, double drift_mm, const SagittalPlane& plane) {
    for (auto& disc : localisation.discs)
        if (disc.label == "L2/L3" || disc.label == "L3/L4") {
            disc.move(disc.along(), drift_mm, plane.pixel_mm);
        }
}

TEST(VertebraGeometry, BodiesSitBetweenTheirDiscs) {
    const DrawnSpine spine;
    const auto series = draw(spine, kT1, "t1");
    const auto plane = extract_plane(series, 0);
    const auto bodies = vertebrae_from_discs(localise_spine(plane, PlaneContrast::T1), plane);
    ASSERT_TRUE(bodies.count("L3"));
    const auto& l3 = bodies.at("L3");
    ASSERT_TRUE(l3.superior && l3.inferior);
    EXPECT_NEAR(l3.centre[1], spine.body_top(3) + DrawnSpine::kBody / 2, 2.0);
    EXPECT_NEAR(l3.height_mm, DrawnSpine::kBody, 3.0);
    ASSERT_TRUE(bodies.count("S1"));
    EXPECT_TRUE(bodies.at("S1").superior.has_value());
    EXPECT_FALSE(bodies.at("S1").inferior.has_value());
}

// A stack of sagittal slices 3 mm apart, left to right, of the drawn spine; the dural sac (CSF,
// dark on T1) is 20 mm wide around a midline that runs obliquely through the stack, `midline_mm`
// left of the middle slice at each row; beside it lie the pedicles (bone). `lesions_on` gives each
// slice's lesions, if any; each slice has its own SOP Instance UID, ending in its index.
SeriesVolume draw_stack(const DrawnSpine& spine, int slices, const std::function<double(double)>& midline_mm,
                        const Contrast& contrast = kT1, const std::string& role = "t1",
                        const std::function<Painter(int slice)>& lesions_on = {}) {
    SeriesVolume series = draw(spine, contrast, role);
    const auto plain = series.image;
    series.image = Volume::New();
    auto size = plain->GetLargestPossibleRegion().GetSize();
    size[2] = slices;
    series.image->CopyInformation(plain);
    series.image->SetRegions(size);
    auto spacing = plain->GetSpacing();
    spacing[2] = 3.0;
    series.image->SetSpacing(spacing);
    auto origin = plain->GetOrigin();
    origin[0] = -3.0 * (slices - 1) / 2;  // slice axis: patient x (toward the left)
    series.image->SetOrigin(origin);
    series.image->Allocate();
    series.sop_instance_uids.clear();
    for (int k = 0; k < slices; ++k) {
        series.sop_instance_uids.push_back("1.2.3." + role + "." + std::to_string(k));
        const Painter lesions = lesions_on ? lesions_on(k) : Painter{};
        const auto slice = lesions ? draw(spine, contrast, role, lesions).image : plain;
        for (long y = 0; y < long(size[1]); ++y)
            for (long x = 0; x < long(size[0]); ++x) {
                float value = slice->GetPixel({{x, y, 0}});
                const bool canal = x >= DrawnSpine::kBodyRight + 2 && x <= DrawnSpine::kBodyRight + 16;
                if (canal && std::abs(origin[0] + 3.0 * k - midline_mm(double(y))) > 10) value = contrast.fat;
                series.image->SetPixel({{x, y, k}}, value);
            }
    }
    return series;
}

// An oblique series: its middle slice crosses the spine's midline at one level only. Each body's
// centre is moved to the midline, found from the canal across the slices.
TEST(Midline, MovesEachBodyToTheMidlineOfAnObliqueSeries) {
    const DrawnSpine spine;
    auto midline = [](double row) { return -5.0 + 0.05 * (row - 20); };  // 3 degrees off, 5 mm right at the top
    const auto series = draw_stack(spine, 15, midline);
    const auto plane = extract_plane(series, mid_sagittal_slice(series));
    const auto bodies = vertebrae_from_discs(localise_spine(plane, PlaneContrast::T1), plane);
    const auto shifts = shifts_to_midline(plane, bodies);
    for (const char* label : {"L1", "L2", "L3", "L4", "L5", "S1"}) {
        ASSERT_TRUE(bodies.count(label) && shifts.count(label)) << label;
        const auto& centre = bodies.at(label).centre;
        const PointMm on_plane = plane.to_patient(centre[0], centre[1]);
        const double row = 165 - on_plane[2];  // draw(): rows run down from z = 165, 1 mm apart
        EXPECT_NEAR(on_plane[0] + shifts.at(label)[0], midline(row), 1.0) << label;
        EXPECT_NEAR(shifts.at(label)[1], 0.0, 1e-6) << label;  // only across the slices
        EXPECT_NEAR(shifts.at(label)[2], 0.0, 1e-6) << label;
    }
}

// One slice shows nothing of the midline: no shift is found in it (the reported centres are put
// level with the slice's middle instead, shift_to_planned_midline).
TEST(Midline, LeavesASingleSliceAlone) {
    const DrawnSpine spine;
    const auto series = draw(spine, kT1, "t1");
    const auto plane = extract_plane(series, 0);
    const auto bodies = vertebrae_from_discs(localise_spine(plane, PlaneContrast::T1), plane);
    EXPECT_TRUE(shifts_to_midline(plane, bodies).empty());
}

// One slice planned through the spine's middle and rolled 4 degrees (its columns run down and to
// the left): a body 100 mm below the slice's middle lies 7 mm left of the midline on it, and is
// put back level with the slice's middle, along the slice's normal. A slice that is not rolled
// needs no shift.
TEST(Midline, PutsABodyOnAnObliqueSingleSliceBackLevelWithTheSlicesMiddle) {
    const DrawnSpine spine;
    auto rolled = [&](double degrees) {
        auto series = draw(spine, kT1, "t1");
        const double roll = degrees * std::numbers::pi / 180.0;
        auto direction = series.image->GetDirection();
        direction[0][1] = std::sin(roll), direction[2][1] = -std::cos(roll);  // down the columns
        direction[0][2] = std::cos(roll), direction[2][2] = std::sin(roll);  // the slice normal
        series.image->SetDirection(direction);
        return series;
    };
    const auto oblique = rolled(4.0);
    const auto plane = extract_plane(oblique, 0);
    Volume::PointType middle;
    oblique.image->TransformContinuousIndexToPhysicalPoint(
        itk::ContinuousIndex<double, 3>(std::array<double, 3>{(DrawnSpine::kWidth - 1) / 2.0,
                                                             (DrawnSpine::kHeight - 1) / 2.0, 0.0}.data()),
        middle);
    const auto on_plane = plane.from_patient({middle[0], middle[1], middle[2]});
    const PointMm below = plane.to_patient(on_plane[0], on_plane[1] + 100.0 / plane.pixel_mm);
    ASSERT_NEAR(below[0] - middle[0], 100.0 * std::sin(4.0 * std::numbers::pi / 180.0), 0.5);

    const Vector3 shift = shift_to_planned_midline(plane, below);
    EXPECT_NEAR(below[0] + shift[0], middle[0], 0.1);
    const double length = std::hypot(shift[0], shift[1], shift[2]);
    EXPECT_NEAR(length, 7.0, 0.1);
    EXPECT_NEAR(shift[0] * std::cos(4.0 * std::numbers::pi / 180.0) + shift[2] * std::sin(4.0 * std::numbers::pi / 180.0),
                -length, 1e-6)
        << "along the slice normal";

    const auto straight = rolled(0.0);
    const auto straight_plane = extract_plane(straight, 0);
    const Vector3 none = shift_to_planned_midline(straight_plane, straight_plane.to_patient(100, 250));
    EXPECT_NEAR(std::hypot(none[0], none[1], none[2]), 0.0, 1e-9);
}

// Fat beside drawn body 4's inferior endplate, 9 mm deep, over columns [from, to] of the image.
struct FatSpan {
    double from = 76, to = 102;
};

// The changed endplates found on a T1 and T2 stack (15 slices, 3 mm apart, the midline through
// the middle one, slice 7) with fat painted on the given slices only.
std::vector<EndplateFinding> changes_with_fat(const std::map<int, FatSpan>& fat_by_slice) {
    DrawnSpine spine;
    spine.cortex = 1;
    const double cortex = spine.body_top(4) + DrawnSpine::kBody - spine.cortex;
    auto fat_on = [&](float signal) {
        return [=](int slice) -> Painter {
            const auto fat = fat_by_slice.find(slice);
            if (fat == fat_by_slice.end()) return {};
            const FatSpan span = fat->second;
            return [=](double x, double y, float normal) {
                return y >= cortex - 9 && y < cortex && x >= span.from && x <= span.to ? signal : normal;
            };
        };
    };
    auto straight = [](double) { return 0.0; };
    const auto t1 = draw_stack(spine, 15, straight, kT1, "t1", fat_on(950));
    const auto t2 = draw_stack(spine, 15, straight, kT2, "t2", fat_on(600));
    Findings findings;
    detect_modic_changes(t1, t2, nullptr, findings);
    EXPECT_EQ(findings.status, AnalysisStatus::Analyzed);
    std::vector<EndplateFinding> changed;
    for (const auto& endplate : findings.endplates)
        if (endplate.modic_type != ModicType::None) changed.push_back(endplate);
    return changed;
}

// A change need not be centred on the midline. Fat across the endplate on the slice next to the
// midline (3 mm off), of which the midline shows a strip too narrow to call (5 mm of the 31 read),
// is read on that slice, and the finding references it.
TEST(DetectModicChanges, AChangeBesideTheMidlineIsReadOnTheSliceThatShowsIt) {
    const FatSpan narrow{76, 80};
    EXPECT_TRUE(changes_with_fat({{7, narrow}}).empty());

    const auto beside = changes_with_fat({{7, narrow}, {8, FatSpan{}}});
    ASSERT_EQ(beside.size(), 1u);
    EXPECT_EQ(beside[0].side, EndplateSide::Inferior);
    EXPECT_EQ(beside[0].modic_type, ModicType::Type2);
    ASSERT_TRUE(beside[0].evidence);
    EXPECT_EQ(beside[0].evidence->sop_instance_uid, "1.2.3.t1.8");

    const auto on_midline = changes_with_fat({{7, FatSpan{}}, {8, narrow}});
    ASSERT_EQ(on_midline.size(), 1u);
    EXPECT_EQ(on_midline[0].modic_type, ModicType::Type2);
    ASSERT_TRUE(on_midline[0].evidence);
    EXPECT_EQ(on_midline[0].evidence->sop_instance_uid, "1.2.3.t1.7");
}

// Beside a midline that shows nothing of it, or two slices (6 mm) off, a change is not taken: one
// slice away from the midline is not evidence enough against a clean midline.
TEST(DetectModicChanges, AChangeAwayFromACleanMidlineIsNotTaken) {
    EXPECT_TRUE(changes_with_fat({{8, FatSpan{}}}).empty());
    EXPECT_TRUE(changes_with_fat({{7, FatSpan{76, 80}}, {9, FatSpan{}}}).empty());
}

// The halfway point between disc and marrow lies some 2 mm into the body; the endplate is its
// cortex, the dark line between them.
TEST(VertebraGeometry, EndplatesLieOnTheirCortex) {
    DrawnSpine spine;
    spine.cortex = 1;
    for (const auto* contrast : {&kT1, &kT2}) {
        const auto series = draw(spine, *contrast, "t1");
        const auto plane = extract_plane(series, 0);
        const auto found = localise_spine(plane, contrast == &kT1 ? PlaneContrast::T1 : PlaneContrast::Fluid);
        const auto bodies = vertebrae_from_discs(found, plane);
        ASSERT_TRUE(bodies.count("L3"));
        const auto& l3 = bodies.at("L3");
        ASSERT_TRUE(l3.superior && l3.inferior);
        const double top_cortex = spine.body_top(3), bottom_cortex = spine.body_top(3) + DrawnSpine::kBody - 1;
        for (int position : {5, 15, 25}) {  // front, middle, back of the endplate
            EXPECT_NEAR(l3.superior->at(position, 0, plane.pixel_mm)[1], top_cortex, 1.0) << position;
            EXPECT_NEAR(l3.inferior->at(position, 0, plane.pixel_mm)[1], bottom_cortex, 1.0) << position;
        }
    }
}

// Oedema under L3's top endplate has the disc's signal on T1: disc and oedema make one dark band,
// and the cortex of L2 above it, here faint, is barely darker than the disc. No clear pair of
// cortices is found; L3's crisp cortex is taken, so its endplate lies on its cortex, not at the
// band's edge 8 mm into the body (where the oedema would not be read).
TEST(VertebraGeometry, AChangeWithTheDiscsSignalLeavesTheEndplateOnItsCrispCortex) {
    DrawnSpine spine;
    spine.cortex = 1;
    constexpr double kOedemaDepth = 8;
    const double l2_bottom = spine.body_top(2) + DrawnSpine::kBody, l3_top = spine.body_top(3);
    auto faint_cortex_and_oedema = [&](double x, double y, float normal) {
        if (y >= l2_bottom - spine.cortex && y < l2_bottom) return 0.85f * kT1.disc;  // faint
        const bool beside_middle = x >= DrawnSpine::kBodyLeft + 6 && x <= DrawnSpine::kBodyRight - 6;
        if (beside_middle && y >= l3_top + spine.cortex && y < l3_top + kOedemaDepth) return kT1.disc;
        return normal;
    };
    const auto series = draw(spine, kT1, "t1", faint_cortex_and_oedema);
    const auto plane = extract_plane(series, 0);
    const auto bodies = vertebrae_from_discs(localise_spine(plane, PlaneContrast::T1), plane);
    ASSERT_TRUE(bodies.count("L3") && bodies.at("L3").superior);
    const auto& top = *bodies.at("L3").superior;
    EXPECT_TRUE(top.on_cortex);
    for (int position : {5, 15, 25})  // front, middle, back of the endplate
        EXPECT_NEAR(top.at(position, 0, plane.pixel_mm)[1], l3_top, 1.0) << position;
}

// Sclerosis on L4's inferior cortex, 9 mm deep and darker than the disc on T1 (0.4 of it, as on the
// phantoms), the cortex not resolved beside it. Where the disc's band is measured with the
// sclerosis (as the phantoms' were), the cortex is sought across all of it, and the darkest line
// on L4's side lies anywhere in it. The endplate is put at the disc-side end of that dark run, on
// the cortex, so that the sclerosis is read as marrow.
TEST(VertebraGeometry, SclerosisDarkerThanTheDiscLeavesTheEndplateOnTheCortex) {
    DrawnSpine spine;
    spine.cortex = 1;
    const double l4_bottom = spine.body_top(4) + DrawnSpine::kBody;
    auto sclerosis = [&](double x, double y, float normal) {
        return y >= l4_bottom - 9 && y < l4_bottom && x >= 76 && x <= 102 ? 0.4f * kT1.disc : normal;
    };
    const auto series = draw(spine, kT1, "t1", sclerosis);
    const auto plane = extract_plane(series, 0);
    auto found = localise_spine(plane, PlaneContrast::T1);
    auto l4_l5 = std::find_if(found.discs.begin(), found.discs.end(), [](const Disc& d) { return d.label == "L4/L5"; });
    ASSERT_NE(l4_l5, found.discs.end());
    l4_l5->upper_edge = (l4_l5->y - (l4_bottom - 9)) * plane.pixel_mm;
    const auto bodies = vertebrae_from_discs(found, plane);
    ASSERT_TRUE(bodies.count("L4") && bodies.at("L4").inferior);
    const auto& bottom = *bodies.at("L4").inferior;
    EXPECT_TRUE(bottom.on_cortex);
    for (int position : {10, 15, 20})  // across the sclerosis
        EXPECT_NEAR(bottom.at(position, 0, plane.pixel_mm)[1], l4_bottom - spine.cortex, 1.0) << position;
}

// A body slipped forward (anterolisthesis, here L3 by 12 mm) lines up with neither neighbour, and
// the disc bands between them lie across both: each endplate is read across its own body, every
// column of its grid between that body's front and back walls.
TEST(VertebraGeometry, EachEndplateIsReadAcrossItsOwnBody) {
    DrawnSpine spine;
    spine.cortex = 1;
    constexpr double kSlip = 12;
    const double top = spine.body_top(3), bottom = top + DrawnSpine::kBody;
    auto slipped = [&](double x, double y, float normal) {
        if (y < top || y >= bottom) return normal;
        const bool cortex_row = y < top + spine.cortex || y >= bottom - spine.cortex;
        if (x >= DrawnSpine::kBodyLeft - kSlip && x < DrawnSpine::kBodyLeft) return cortex_row ? kT1.cortex : kT1.marrow;
        if (x > DrawnSpine::kBodyRight - kSlip && x <= DrawnSpine::kBodyRight) return kT1.muscle;
        return normal;
    };
    const auto series = draw(spine, kT1, "t1", slipped);
    const auto plane = extract_plane(series, 0);
    const auto bodies = vertebrae_from_discs(localise_spine(plane, PlaneContrast::T1), plane);
    auto expect_within_walls = [&](const std::string& label, bool superior, double slip) {
        ASSERT_TRUE(bodies.count(label)) << label;
        const auto& line = superior ? bodies.at(label).superior : bodies.at(label).inferior;
        ASSERT_TRUE(line) << label;
        for (int position : {0, kEndplatePositions - 1}) {
            const double x = line->at(position, DrawnSpine::kBody / 4, plane.pixel_mm)[0];
            EXPECT_GE(x, DrawnSpine::kBodyLeft - slip - 0.5) << label << " position " << position;
            EXPECT_LE(x, DrawnSpine::kBodyRight - slip + 0.5) << label << " position " << position;
        }
    };
    expect_within_walls("L2", false, 0);
    expect_within_walls("L3", true, kSlip);
    expect_within_walls("L3", false, kSlip);
    expect_within_walls("L4", true, 0);
}

// The bands of the discs above and below L3 lie 15 mm behind the body's middle, as a steep
// L5/S1's band does where the canal continues it: more than an endplate is moved to read across
// its body, so L3's endplates stay there; the centre it is reported at lies between its walls.
TEST(VertebraGeometry, ABodysCentreLiesBetweenItsWalls) {
    constexpr double kDrift = 15;
    const DrawnSpine spine;
    const auto series = draw(spine, kT1, "t1");
    const auto plane = extract_plane(series, 0);
    auto localisation = localise_spine(plane, PlaneContrast::T1);
    drift_discs_beside_l3(localisation, kDrift, plane);
    const auto bodies = vertebrae_from_discs(localisation, plane);
    ASSERT_TRUE(bodies.count("L3"));
    const auto& l3 = bodies.at("L3");
    EXPECT_NEAR(l3.centre[0], DrawnSpine::kColumnX, 2.0);
    EXPECT_NEAR(l3.centre[1], spine.body_top(3) + DrawnSpine::kBody / 2, 2.0);
}

// The drawn spine's bodies after its L5/S1 band is misfitted as a steep, wedge-shaped
// lumbosacral disc's band can be: turned by `turn_degrees` (positive: the front end raised),
// moved `backward_mm` along the column's front-to-back axis and, when given, read `length_mm`
// long; the spine drawn with `lesions`. Empty when the lowest band found is not L5/S1.
std::map<std::string, VertebraGeometry> bodies_with_misfitted_lumbosacral(const DrawnSpine& spine, double turn_degrees,
                                                                          double backward_mm,
                                                                          std::optional<double> length_mm,
                                                                          const Painter& lesions = {}) {
    const auto series = draw(spine, kT1, "t1", lesions);
    const auto plane = extract_plane(series, 0);
    auto localisation = localise_spine(plane, PlaneContrast::T1);
    if (localisation.discs.empty() || localisation.discs.back().label != "L5/S1") return {};
    auto& lumbosacral = localisation.discs.back();
    lumbosacral.angle += turn_degrees * std::numbers::pi / 180.0;
    lumbosacral.x += backward_mm / plane.pixel_mm;
    if (length_mm) lumbosacral.length = *length_mm;
    return vertebrae_from_discs(localisation, plane);
}

// The sacrum's neighbours are often brighter than its marrow on T1: the pelvis's fat in front,
// the fused posterior elements behind. No dark wall bounds S1 there, and where L5/S1's band drifts
// back along the canal, S1 stayed where the band put it (on the phantoms, 30 S1 centres 10-13 mm
// off front to back). Drawn: fat on both sides of the sacrum, L5/S1's band 12 mm behind the
// disc's middle. S1 is centred between the walls where its marrow ends, darker or brighter.
TEST(VertebraGeometry, S1IsCentredBetweenWallsBrighterThanItsMarrow) {
    constexpr double kDrift = 12;
    const DrawnSpine spine;
    const double sacrum_top = spine.body_top(6) + 2;
    auto fat_beside_sacrum = [&](double x, double y, float normal) {
        const bool beside = (x >= 40 && x < DrawnSpine::kBodyLeft) || (x > DrawnSpine::kBodyRight && x <= 150);
        return y >= sacrum_top && beside ? kT1.fat : normal;
    };
    const auto bodies = bodies_with_misfitted_lumbosacral(spine, 0.0, kDrift, std::nullopt, fat_beside_sacrum);
    ASSERT_TRUE(bodies.count("S1"));
    EXPECT_NEAR(bodies.at("S1").centre[0], DrawnSpine::kColumnX, 3.0);
    ASSERT_TRUE(bodies.count("L5"));
    EXPECT_NEAR(bodies.at("L5").centre[0], DrawnSpine::kColumnX, 3.0);
}

// S1 is deeper than the lumbar bodies. Drawn: a sacrum 50 mm deep (the bodies above 38), fatty
// marrow in its front 10 mm, and L5/S1's band 12 mm behind the disc's middle. Its dark walls,
// 1.3 times the usual depth, were set aside as implausible and the fat's edge taken for its front
// wall, 5 mm behind the real one; S1 is centred between its dark walls.
TEST(VertebraGeometry, ADeepS1IsCentredBetweenItsDarkWalls) {
    constexpr double kDrift = 12, kWidening = 6;
    const DrawnSpine spine;
    const double sacrum_top = spine.body_top(6);
    const double front = DrawnSpine::kBodyLeft - kWidening, back = DrawnSpine::kBodyRight + kWidening;
    auto deep_sacrum = [&](double x, double y, float normal) {
        if (y < sacrum_top + 2 || y >= sacrum_top + 90 || x < front || x > back) return normal;
        return x < front + 10 ? kT1.fat : kT1.marrow;
    };
    const auto bodies = bodies_with_misfitted_lumbosacral(spine, 0.0, kDrift, std::nullopt, deep_sacrum);
    ASSERT_TRUE(bodies.count("S1"));
    EXPECT_NEAR(bodies.at("S1").centre[0], DrawnSpine::kColumnX, 2.0);
}

void expect_s1_below_l5(const DrawnSpine& spine, const std::map<std::string, VertebraGeometry>& bodies) {
    ASSERT_TRUE(bodies.count("S1"));
    const auto& s1 = bodies.at("S1");
    EXPECT_NEAR(s1.centre[0], DrawnSpine::kColumnX, 3.0);
    EXPECT_NEAR(s1.centre[1], spine.body_top(6) + DrawnSpine::kBody / 2, 4.0);
    // Its endplate is sought again there, on the sacrum's top: the misfitted one lay in front of
    // the sacrum, where its marrow read the pelvis.
    ASSERT_TRUE(s1.superior.has_value());
    EXPECT_NEAR(s1.superior->centre[0], DrawnSpine::kColumnX, 4.0);
    EXPECT_NEAR(s1.superior->centre[1], spine.body_top(6), 2.0);
    EXPECT_TRUE(s1.superior->on_cortex);
}

// A steep L5/S1 fitted at its front and tilted the wrong way: S1, seen by that endplate only,
// would lie far in front of the sacrum. It is put back on the column's line below L5 and between
// the sacrum's walls.
TEST(VertebraGeometry, S1SeenByAMisfittedEndplateStaysOnTheColumn) {
    DrawnSpine spine;
    spine.cortex = 1;
    expect_s1_below_l5(spine, bodies_with_misfitted_lumbosacral(spine, 40.0, -12.0, std::nullopt));
}

// A short band tilted the other way and fitted behind the disc: S1 would lie behind and above
// its place (the line turns backward there, so the forward-turn rule does not see it), more than
// the lumbosacral turn allows; it too is put back below L5.
TEST(VertebraGeometry, S1SeenByAShortBandTiltedBackwardStaysOnTheColumn) {
    DrawnSpine spine;
    spine.cortex = 1;
    expect_s1_below_l5(spine, bodies_with_misfitted_lumbosacral(spine, -40.0, 12.0, 10.0));
}

// A chain of five discs whose three bodies above the lowest disc lie on a line that turns
// forward by `turn_degrees` at the middle one (L4), 30 px apart: what the column rule judges.
std::pair<SpineLocalisation, std::map<std::string, VertebraGeometry>> column_turning_forward(double turn_degrees) {
    SpineLocalisation spine;
    for (const char* label : {"L1/L2", "L2/L3", "L3/L4", "L4/L5", "L5/S1"}) spine.discs.push_back(Disc{.label = label});
    std::map<std::string, VertebraGeometry> bodies;
    const double turn = turn_degrees * std::numbers::pi / 180.0;
    bodies["L3"].centre = {100, 100};
    bodies["L4"].centre = {100, 130};
    // Going down the image (+y), forward is -x.
    bodies["L5"].centre = {100 - 30 * std::sin(turn), 130 + 30 * std::cos(turn)};
    return {spine, bodies};
}

// Below a steep L5/S1 the chain may run on to a band in front of the sacrum: the body taken for
// L5 then lies in front of the column's line, which turns forward there (29-65 degrees on the
// phantoms where it did; at most 13 where the labels were right, 17 on a real steep L5/S1).
TEST(VertebraGeometry, ALowestBandInFrontOfTheSacrumBreaksTheColumn) {
    const auto [broken_spine, broken_bodies] = column_turning_forward(35.0);
    EXPECT_TRUE(lowest_disc_breaks_the_column(broken_spine, broken_bodies));
    const auto [steep_spine, steep_bodies] = column_turning_forward(15.0);
    EXPECT_FALSE(lowest_disc_breaks_the_column(steep_spine, steep_bodies));
    const auto [lordotic_spine, lordotic_bodies] = column_turning_forward(-25.0);  // turning backward
    EXPECT_FALSE(lowest_disc_breaks_the_column(lordotic_spine, lordotic_bodies));
}

TEST(SpineLocaliser, DroppingTheLowestDiscLabelsTheOneAboveL5S1) {
    const DrawnSpine spine;
    const auto series = draw(spine, kT1, "t1");
    const auto plane = extract_plane(series, 0);
    auto localisation = localise_spine(plane, PlaneContrast::T1);
    ASSERT_GE(localisation.discs.size(), 4u);
    const Disc* l4_l5_found = disc_labelled(localisation, "L4/L5");
    ASSERT_NE(l4_l5_found, nullptr);
    const Disc l4_l5 = *l4_l5_found;
    const auto count = localisation.discs.size();
    drop_lowest_disc(localisation, plane);
    EXPECT_TRUE(localisation.failure.empty()) << localisation.failure;
    ASSERT_EQ(localisation.discs.size(), count - 1);
    EXPECT_EQ(localisation.discs.back().label, "L5/S1");
    EXPECT_DOUBLE_EQ(localisation.discs.back().y, l4_l5.y);
    EXPECT_EQ(localisation.discs[localisation.discs.size() - 2].label, "L4/L5");
}

// A chain cut down to fewer than three discs is no column to label: two discs would be read as
// L4/L5 and L5/S1 wherever they lie (fresh seed 2601 case 11: two bands at T12 were left, and their
// endplates were reported as L4 to S1).
TEST(SpineLocaliser, AChainOfTwoDiscsIsNotTheColumn) {
    const DrawnSpine spine;
    const auto series = draw(spine, kT1, "t1");
    const auto plane = extract_plane(series, 0);
    auto localisation = localise_spine(plane, PlaneContrast::T1);
    ASSERT_TRUE(localisation.failure.empty()) << localisation.failure;
    localisation.discs.erase(localisation.discs.begin(), localisation.discs.end() - 3);
    drop_lowest_disc(localisation, plane);
    EXPECT_NE(localisation.failure.find("no vertebral column"), std::string::npos) << localisation.failure;
    EXPECT_TRUE(localisation.discs.empty());
}

// Relabelled, the chain is judged again: the band that was T12/L1, tilted 60 degrees (a band in
// the abdomen, say), becomes L1/L2, which no lumbar disc tilts like.
TEST(SpineLocaliser, AChainImplausibleOnceRelabelledIsNotTheColumn) {
    const DrawnSpine spine;
    const auto series = draw(spine, kT1, "t1");
    const auto plane = extract_plane(series, 0);
    auto localisation = localise_spine(plane, PlaneContrast::T1);
    ASSERT_TRUE(localisation.failure.empty()) << localisation.failure;
    ASSERT_EQ(localisation.discs.front().label, "T12/L1");
    localisation.discs.front().angle = 60.0 * std::numbers::pi / 180.0;
    drop_lowest_disc(localisation, plane);
    EXPECT_NE(localisation.failure.find("no plausible lumbar column"), std::string::npos) << localisation.failure;
    EXPECT_TRUE(localisation.discs.empty());
}

// A fluid image of the same frame of reference that ends three quarters down L4 is given T1's
// endplates only where it shows them and the marrow beside them: it would read the zeros outside
// it as dark marrow.
TEST(VertebraGeometry, AFluidImageIsGivenOnlyTheEndplatesItShows) {
    DrawnSpine t1_spine;
    t1_spine.cortex = 1;
    DrawnSpine fluid_spine = t1_spine;
    fluid_spine.rows = int(t1_spine.body_top(4) + 0.75 * DrawnSpine::kBody);
    const auto t1_series = draw(t1_spine, kT1, "t1");
    const auto t1_plane = extract_plane(t1_series, 0);
    const auto fluid_series = draw(fluid_spine, kT2, "t2");
    const auto fluid_plane = extract_plane(fluid_series, 0);
    const auto t1_bodies = vertebrae_from_discs(localise_spine(t1_plane, PlaneContrast::T1), t1_plane);
    ASSERT_TRUE(t1_bodies.count("L4") && t1_bodies.at("L4").inferior);

    const auto fluid_bodies = map_vertebrae(t1_bodies, t1_plane, fluid_plane);
    ASSERT_TRUE(fluid_bodies.count("L4"));
    EXPECT_TRUE(fluid_bodies.at("L4").superior.has_value());
    EXPECT_FALSE(fluid_bodies.at("L4").inferior.has_value());
    EXPECT_FALSE(fluid_bodies.count("L5") > 0);
    ASSERT_TRUE(fluid_bodies.count("L3"));
    EXPECT_TRUE(fluid_bodies.at("L3").superior && fluid_bodies.at("L3").inferior);
}

TEST(ChainMatching, GivesTheFluidImageTheT1LabelsWhenItShowsAnotherPartOfTheSpine) {
    const DrawnSpine t1_spine;
    DrawnSpine fluid_spine;
    fluid_spine.shift_y = 40;  // a different field of view, as in spider-dev
    const auto t1_series = draw(t1_spine, kT1, "t1");
    const auto t1_plane = extract_plane(t1_series, 0);
    auto fluid_series = draw(fluid_spine, kT2, "t2");
    fluid_series.frame_of_reference_uid = "1.2.3.10";
    const auto fluid_plane = extract_plane(fluid_series, 0);
    const auto t1 = localise_spine(t1_plane, PlaneContrast::T1);
    auto fluid = localise_spine(fluid_plane, PlaneContrast::Fluid);
    // Spoil the fluid image's own labels: matching must not depend on them.
    // (Assigned as a std::string: GCC 12 warns falsely, -Wrestrict, on assigning the literal.)
    for (auto& disc : fluid.discs) disc.label = std::string(1, '?');
    match_fluid_to_t1(t1_plane, t1, fluid_plane, fluid);
    ASSERT_FALSE(fluid.discs.empty());
    for (const auto& disc : fluid.discs) {
        const Disc* same = disc_labelled(t1, disc.label);
        ASSERT_NE(same, nullptr) << disc.label;
        EXPECT_NEAR(disc.y - fluid_spine.shift_y, same->y, 3.0) << disc.label;
    }
}

// A fluid series in another frame of reference, its spine 23 mm lower in the image and the image
// 12 mm further back in patient space: the T1 plane is moved onto the fluid image's anatomy.
TEST(PlaneAlignment, PlacesTheT1PlaneOnTheFluidImagesAnatomy) {
    const DrawnSpine t1_spine;
    DrawnSpine fluid_spine;
    fluid_spine.shift_y = 23;
    const auto t1_series = draw(t1_spine, kT1, "t1");
    auto fluid_series = draw(fluid_spine, kT2, "t2");
    fluid_series.frame_of_reference_uid = "1.2.3.10";
    auto origin = fluid_series.image->GetOrigin();
    origin[1] += 12;
    fluid_series.image->SetOrigin(origin);
    const auto t1_plane = extract_plane(t1_series, 0);
    const auto fluid_plane = extract_plane(fluid_series, 0);
    const auto t1 = localise_spine(t1_plane, PlaneContrast::T1);
    ASSERT_EQ(t1.discs.size(), 6u);

    const auto placed = align_t1_to_fluid(t1_plane, t1, fluid_plane);
    ASSERT_TRUE(placed.has_value());
    for (const auto& disc : t1.discs) {
        const auto seen = map_point({disc.x, disc.y}, *placed, fluid_plane);
        EXPECT_NEAR(seen[0], disc.x, 1.0) << disc.label;
        EXPECT_NEAR(seen[1], disc.y + fluid_spine.shift_y, 1.0) << disc.label;
    }
}

// Noise shares no edges with the T1 image: no translation is better than the others.
TEST(PlaneAlignment, FindsNoPlacementOnAnImageWithoutTheSpine) {
    const DrawnSpine spine;
    const auto t1_series = draw(spine, kT1, "t1");
    const auto t1_plane = extract_plane(t1_series, 0);
    unsigned state = 12345;
    auto noise = [&](double, double, float) {
        state = state * 1103515245u + 12345u;
        return float(200 + (state >> 16) % 400);
    };
    auto fluid_series = draw(spine, kT2, "t2", noise);
    fluid_series.frame_of_reference_uid = "1.2.3.10";
    const auto fluid_plane = extract_plane(fluid_series, 0);
    const auto t1 = localise_spine(t1_plane, PlaneContrast::T1);
    ASSERT_FALSE(t1.discs.empty());
    EXPECT_FALSE(align_t1_to_fluid(t1_plane, t1, fluid_plane).has_value());
}

// The marrow of a drawn T1 plane, its vertebrae found on it.
MarrowPlane t1_marrow_of(const SagittalPlane& t1_plane) {
    return prepare_marrow_plane(t1_plane, vertebrae_from_discs(localise_spine(t1_plane, PlaneContrast::T1), t1_plane));
}

// Reads one endplate on the two drawn planes, the bodies built the way detect.cpp builds them: on
// T1, and mapped onto the fluid plane (one frame of reference), and onto a STIR plane beside the
// T2 where one is given.
EndplateReading read_endplate_of(const SagittalPlane& t1_plane, const SagittalPlane& t2_plane,
                                 const std::string& vertebra, EndplateSide side,
                                 const SagittalPlane* stir_plane = nullptr) {
    auto t1_bodies = vertebrae_from_discs(localise_spine(t1_plane, PlaneContrast::T1), t1_plane);
    const auto t2 = prepare_marrow_plane(t2_plane, map_vertebrae(t1_bodies, t1_plane, t2_plane));
    std::optional<MarrowPlane> stir;
    if (stir_plane) stir = prepare_marrow_plane(*stir_plane, map_vertebrae(t1_bodies, t1_plane, *stir_plane));
    const auto t1 = prepare_marrow_plane(t1_plane, std::move(t1_bodies));
    return read_endplate(t1, &t2, false, vertebra, side, stir ? &*stir : nullptr);
}

// A lesion's signal on T1 and on T2 at column x of the drawn image; 0 leaves the marrow as drawn.
struct PlantedSignal {
    std::function<float(double x)> t1, t2;
};

// Reads one endplate of the drawn spine with a lesion painted beside it on T1 and T2.
EndplateReading read_planted(const PlantedSignal& lesion, double depth_mm = 9, const Contrast& fluid = kT2) {
    DrawnSpine spine;
    spine.cortex = 1;
    // Inferior endplate of L4: the band of marrow just above its cortex and the L4/L5 disc.
    const double cortex = spine.body_top(4) + DrawnSpine::kBody - spine.cortex;
    auto painter = [&](const std::function<float(double)>& value_at) {
        return [&, value_at](double x, double y, float normal) {
            const bool in_lesion = y >= cortex - depth_mm && y < cortex && x >= 76 && x <= 102;
            return in_lesion && value_at(x) > 0 ? value_at(x) : normal;
        };
    };
    const auto t1_series = draw(spine, kT1, "t1", painter(lesion.t1));
    const auto t2_series = draw(spine, fluid, "t2", painter(lesion.t2));
    const auto t1_plane = extract_plane(t1_series, 0);
    const auto t2_plane = extract_plane(t2_series, 0);
    return read_endplate_of(t1_plane, t2_plane, "L4", EndplateSide::Inferior);
}

// Two changes side by side along the endplate: the first over columns [from, split), the second
// over [split, to); each given as its {T1, T2} signal.
PlantedSignal side_by_side(double from, double split, double to, std::array<float, 2> first,
                           std::array<float, 2> second) {
    auto part = [=](int image) {
        return [=](double x) { return x >= from && x < split ? first[image] : x >= split && x < to ? second[image] : 0.0f; };
    };
    return {part(0), part(1)};
}

EndplateReading read_planted(float t1_lesion, float t2_lesion, double depth_mm = 9) {
    return read_planted({[=](double) { return t1_lesion; }, [=](double) { return t2_lesion; }}, depth_mm);
}

TEST(MarrowTyping, NormalMarrowIsTypeZero) {
    const auto reading = read_planted(0, 0);
    EXPECT_EQ(reading.type, ModicType::None);
    EXPECT_GT(reading.confidence, 0.5);
}

// Oedema has the disc's own signal on T1 and T2 here: the T1 band takes it in and the T2 image
// does not find that disc at all. The T1 endplate is found on its cortex, and the T2 reading taken
// there through patient coordinates.
TEST(MarrowTyping, OedemaBesideTheDiscIsType1) {
    const auto reading = read_planted(300, 800);  // T1 dark, T2 bright
    EXPECT_EQ(reading.type, ModicType::Type1);
    EXPECT_GT(reading.extent_fraction, 0.6);
    EXPECT_NEAR(reading.depth_fraction, 9.0 / DrawnSpine::kBody, 0.12);
    EXPECT_FALSE(reading.outline.empty());
}

// Oedema only mildly dark on T1 (0.68 of the marrow) but bright on T2: its T2 is the surer sign.
TEST(MarrowTyping, OedemaMildlyDarkOnT1IsType1) {
    EXPECT_EQ(read_planted(440, 800).type, ModicType::Type1);
}

// Where the fluid image does not show an endplate, a change dark on T1 cannot be typed: the
// endplate reads "0", but not with the confidence of normal marrow.
TEST(MarrowTyping, AChangeDarkOnT1AloneReadsZeroWithLowConfidence) {
    DrawnSpine spine;
    spine.cortex = 1;
    auto read_t1_alone = [](const SeriesVolume& series) {
        const auto plane = extract_plane(series, 0);
        return read_endplate(t1_marrow_of(plane), nullptr, false, "L4", EndplateSide::Inferior);
    };
    const auto normal = read_t1_alone(draw(spine, kT1, "t1"));
    EXPECT_EQ(normal.type, ModicType::None);
    EXPECT_NEAR(normal.confidence, 0.8, 1e-9);
    const auto changed = read_t1_alone(draw(spine, kT1, "t1", band_above_l4_cortex(spine, 300)));
    EXPECT_EQ(changed.type, ModicType::None);
    EXPECT_LT(changed.confidence, 0.5);
}

// Reads L4's inferior endplate with a band painted above its cortex on T1, T2 and a STIR beside
// the T2; with `with_stir` false, on T1 and T2 alone.
EndplateReading read_band_with_stir(float t1_band, float t2_band, float stir_band, bool with_stir = true) {
    DrawnSpine spine;
    spine.cortex = 1;
    const auto t1_series = draw(spine, kT1, "t1", band_above_l4_cortex(spine, t1_band));
    const auto t2_series = draw(spine, kT2, "t2", band_above_l4_cortex(spine, t2_band));
    const auto stir_series = draw(spine, kStir, "stir", band_above_l4_cortex(spine, stir_band));
    const auto t1_plane = extract_plane(t1_series, 0), t2_plane = extract_plane(t2_series, 0),
               stir_plane = extract_plane(stir_series, 0);
    return read_endplate_of(t1_plane, t2_plane, "L4", EndplateSide::Inferior, with_stir ? &stir_plane : nullptr);
}

// Oedema with the disc's own T1 signal over the 9 mm of L4 above the L4/L5 disc, with no cortex
// between them: on T1 disc and change are one dark band, and L4's inferior endplate is placed past
// the change. The T2 shows the change bright beside a desiccated disc: the endplate is read from
// where that bright run begins, and the oedema is typed.
TEST(MarrowTyping, OedemaDrawnIntoADesiccatedDiscIsReadFromWhereTheFluidImageShowsIt) {
    DrawnSpine spine;
    spine.cortex = 1;
    const double bottom = spine.body_top(4) + DrawnSpine::kBody;
    // Across the whole body: no cortex is left beside the change for the endplate to be found on.
    auto oedema = [&](float value) {
        return band_over_rows(bottom - 9, bottom, value, DrawnSpine::kBodyLeft, DrawnSpine::kBodyRight);
    };
    const auto t1_series = draw(spine, kT1, "t1", oedema(kT1.disc));
    const auto t2_series = draw(spine, kT2DesiccatedDisc, "t2", oedema(800));
    const auto t1_plane = extract_plane(t1_series, 0), t2_plane = extract_plane(t2_series, 0);
    const auto reading = read_endplate_of(t1_plane, t2_plane, "L4", EndplateSide::Inferior);
    EXPECT_EQ(reading.type, ModicType::Type1);
    EXPECT_GT(reading.extent_fraction, 0.6);
}

// A healthy disc, bright on T2, with no cortex drawn between it and the marrow: its brightness
// runs from the endplate across the whole disc, and is not taken for oedema beside it.
TEST(MarrowTyping, AHealthyDiscAgainstTheMarrowIsNotOedema) {
    DrawnSpine spine;
    spine.cortex = 0;
    const auto t1_series = draw(spine, kT1, "t1");
    const auto t2_series = draw(spine, kT2, "t2");
    const auto t1_plane = extract_plane(t1_series, 0), t2_plane = extract_plane(t2_series, 0);
    for (const auto side : {EndplateSide::Superior, EndplateSide::Inferior})
        EXPECT_EQ(read_endplate_of(t1_plane, t2_plane, "L4", side).type, ModicType::None);
}

// A fluid image whose field of view ends 10 mm into L4 (as a T2's often ends within S1) shows L4's
// superior endplate and the marrow a quarter of the body below it: the endplate is read there, and
// oedema beside it, dark on T1 alone, is typed. The rows beyond the image are not read as dark.
TEST(MarrowTyping, OedemaWhereTheFluidImageEndsWithinTheBodyIsType1) {
    DrawnSpine t1_spine;
    t1_spine.cortex = 1;
    DrawnSpine fluid_spine = t1_spine;
    fluid_spine.rows = int(t1_spine.body_top(4) + 0.4 * DrawnSpine::kBody);
    const double cortex = t1_spine.body_top(4) + t1_spine.cortex;
    const auto t1_series = draw(t1_spine, kT1, "t1", band_over_rows(cortex, cortex + 8, 300));
    const auto t2_series = draw(fluid_spine, kT2, "t2", band_over_rows(cortex, cortex + 8, 800));
    const auto t1_plane = extract_plane(t1_series, 0), t2_plane = extract_plane(t2_series, 0);
    const auto reading = read_endplate_of(t1_plane, t2_plane, "L4", EndplateSide::Superior);
    EXPECT_EQ(reading.type, ModicType::Type1);
    EXPECT_GT(reading.extent_fraction, 0.6);
}

// Oedema barely brighter than the marrow on the T2 (1.1 of it) but bright on the STIR taken beside
// it: read on T1 and T2 alone it is not typed; with the STIR it is type 1.
TEST(MarrowTyping, OedemaBrightOnTheStirBesideTheT2IsType1) {
    EXPECT_EQ(read_band_with_stir(300, 500, 600, false).type, ModicType::None);
    const auto with_stir = read_band_with_stir(300, 500, 600);
    EXPECT_EQ(with_stir.type, ModicType::Type1);
    EXPECT_GT(with_stir.extent_fraction, 0.6);
}

// Dark on T1, bright on the STIR, but darker than the marrow on the T2 (0.67 of it): a disc, where
// the grid reaches into one, not oedema.
TEST(MarrowTyping, BrightOnTheStirButDarkOnTheT2IsNotOedema) {
    EXPECT_EQ(read_band_with_stir(300, 300, 600).type, ModicType::None);
}

// Oedema darkening T1 to only 0.75 of the marrow, bright on T2.
TEST(MarrowTyping, OedemaOnlyJustDarkOnT1IsType1) {
    EXPECT_EQ(read_planted(490, 800).type, ModicType::Type1);
}

// Oedema beside fat, each 7 mm along the endplate: neither part alone covers a quarter of the
// endplate's central 30 mm, together they do.
TEST(MarrowTyping, OedemaBesideFatIsType1_2) {
    const auto reading = read_planted(side_by_side(80, 87, 94, {300, 800}, {950, 600}));
    EXPECT_EQ(reading.type, ModicType::Type1_2);
    EXPECT_NEAR(reading.extent_fraction, 14.0 / 31, 0.1);
}

// Oedema, 7 mm along the endplate, beside a little fat, 2 mm: the phantoms' fat between bits of
// oedema starts a row or two deeper than the oedema and shows at a few positions only. Still 1/2.
TEST(MarrowTyping, OedemaBesideALittleFatIsType1_2) {
    const auto reading = read_planted(side_by_side(80, 87, 89, {300, 800}, {950, 600}));
    EXPECT_EQ(reading.type, ModicType::Type1_2);
}

TEST(MarrowTyping, FatIsType2) {
    EXPECT_EQ(read_planted(950, 600).type, ModicType::Type2);  // T1 bright, T2 iso to bright
}

// Sclerosis darker than the disc on T1 and T2 draws the band's centre into it; the localiser puts
// the disc back on the disc, so that its two cortices are found and the marrow read past the
// right one (before, the endplate was put at the band's edge, past the lesion).
TEST(MarrowTyping, SclerosisIsType3) {
    EXPECT_EQ(read_planted(200, 180).type, ModicType::Type3);  // T1 and T2 dark
}

// Dark on T1 and, cell by cell, on T2, but only just on T2 (0.56 of the marrow), as the disc's
// annulus reads where the endplate's surface is placed a little into the disc: not sclerosis,
// which is markedly dark on T2.
TEST(MarrowTyping, ABandOnlyJustDarkOnT2IsNotSclerosis) {
    EXPECT_EQ(read_planted(380, 250).type, ModicType::None);
}

// Beside a desiccated disc, dark on T2, sclerosis makes one dark T2 band with the disc, and the T2
// image does not resolve the cortex between them (drawn here without one): the T2 reading is taken
// at T1's endplate, found on its cortex.
TEST(MarrowTyping, SclerosisBesideADesiccatedDiscIsType3) {
    const auto reading =
        read_planted({[](double) { return 380.0f; }, [](double) { return 150.0f; }}, 6, kT2DesiccatedDisc);
    EXPECT_EQ(reading.type, ModicType::Type3);
    EXPECT_GT(reading.extent_fraction, 0.6);
}

// Sclerosis over most of the endplate with fat at its back end, 7 mm: too little fat to pass
// alone, enough to make the change 2/3.
TEST(MarrowTyping, SclerosisWithSomeFatIsType2_3) {
    auto signal = [](double x, float sclerosis, float fat) { return x < 96 ? sclerosis : fat; };
    const auto reading = read_planted({[&](double x) { return signal(x, 380, 950); },
                                       [&](double x) { return signal(x, 150, 600); }},
                                      6, kT2DesiccatedDisc);
    EXPECT_EQ(reading.type, ModicType::Type2_3);
}

// Sclerosis in full with a little fat at its back end, 3 mm along the endplate: 2/3 (sclerosis
// passing on its own needs less of the other part than a change made of two small parts does).
TEST(MarrowTyping, SclerosisWithALittleFatIsType2_3) {
    auto signal = [](double x, float sclerosis, float fat) { return x < 99 ? sclerosis : fat; };
    const auto reading = read_planted({[&](double x) { return signal(x, 200, 950); },
                                       [&](double x) { return signal(x, 180, 600); }});
    EXPECT_EQ(reading.type, ModicType::Type2_3);
}

// Sclerosis beside fat, 6 mm each along the endplate (the phantoms' mixed changes alternate so):
// neither part alone covers a quarter of the endplate's central 30 mm, together they do.
TEST(MarrowTyping, SmallSclerosisBesideSmallFatIsType2_3) {
    const auto reading = read_planted(side_by_side(80, 86, 92, {200, 180}, {950, 600}));
    EXPECT_EQ(reading.type, ModicType::Type2_3);
    EXPECT_NEAR(reading.extent_fraction, 12.0 / 31, 0.1);
}

// The bands of the discs beside L3 lie 15 mm behind its middle, too far for its endplates to be
// moved there: their grids reach 15 mm into the canal behind the body (CSF: T1 dark, T2 bright,
// as oedema). Only the positions within the body's walls are read.
TEST(MarrowTyping, TheCanalBehindABodyIsNotOedema) {
    constexpr double kDrift = 15;
    DrawnSpine spine;
    spine.cortex = 1;
    const auto t1_series = draw(spine, kT1, "t1");
    const auto t2_series = draw(spine, kT2, "t2");
    const auto t1_plane = extract_plane(t1_series, 0);
    const auto t2_plane = extract_plane(t2_series, 0);
    auto localisation = localise_spine(t1_plane, PlaneContrast::T1);
    drift_discs_beside_l3(localisation, kDrift, t1_plane);
    auto t1_bodies = vertebrae_from_discs(localisation, t1_plane);
    auto t2_bodies = map_vertebrae(t1_bodies, t1_plane, t2_plane);
    const auto t1 = prepare_marrow_plane(t1_plane, std::move(t1_bodies));
    const auto t2 = prepare_marrow_plane(t2_plane, std::move(t2_bodies));
    for (auto side : {EndplateSide::Superior, EndplateSide::Inferior})
        EXPECT_EQ(read_endplate(t1, &t2, false, "L3", side).type, ModicType::None);
}

// A slice off the midline cuts the bodies shallower than the 30 mm read (here 22 mm: their back
// drawn as muscle, dark on both images). Oedema over the front 6 mm of L4's inferior endplate
// covers more than a quarter of what the slice shows of that endplate: type 1, its extent counted
// within the body's walls. Counted against the 31 positions read, it fell short of that quarter.
TEST(MarrowTyping, AChangesExtentIsItsShareOfTheEndplateWithinTheBodysWalls) {
    constexpr double kBack = 92;  // the bodies' back wall on this slice; the front stays at 70
    DrawnSpine spine;
    spine.cortex = 1;
    const double cortex = spine.body_top(4) + DrawnSpine::kBody - spine.cortex;
    auto painter = [&](const Contrast& contrast, float oedema) {
        return [&, oedema](double x, double y, float normal) {
            if (DrawnSpine::in_column(x) && x > kBack) return float(contrast.muscle);
            return y >= cortex - 9 && y < cortex && x >= 71 && x <= 76 ? oedema : normal;
        };
    };
    const auto t1_series = draw(spine, kT1, "t1", painter(kT1, 300));
    const auto t2_series = draw(spine, kT2, "t2", painter(kT2, 800));
    const auto reading = read_endplate_of(extract_plane(t1_series, 0), extract_plane(t2_series, 0), "L4",
                                          EndplateSide::Inferior);
    EXPECT_EQ(reading.type, ModicType::Type1);
    // 6 of the 22 mm within the walls, widened a little by the smoothing; not 6 of the 31 positions.
    EXPECT_GT(reading.extent_fraction, 0.25);
    EXPECT_LT(reading.extent_fraction, 0.45);
}

TEST(MarrowTyping, ASmallSpotAwayFromTheEndplateIsNotAModicChange) {
    const DrawnSpine spine;
    const double centre_y = spine.body_top(3) + DrawnSpine::kBody / 2;  // middle of L3
    auto spot = [&](double x, double y, float normal) {
        return std::hypot(x - 89, y - centre_y) < 5 ? 1000.0f : normal;  // haemangioma-like
    };
    const auto t1_series = draw(spine, kT1, "t1", spot);
    const auto t1_plane = extract_plane(t1_series, 0);
    const auto t2_series = draw(spine, kT2, "t2", spot);
    const auto t2_plane = extract_plane(t2_series, 0);
    for (auto side : {EndplateSide::Superior, EndplateSide::Inferior})
        EXPECT_EQ(read_endplate_of(t1_plane, t2_plane, "L3", side).type, ModicType::None);
}

// Coil sensitivity rising toward the feet makes the sacrum brighter than the median lumbar body;
// S1, read at its top only, is compared with L5 beside it, not with that median.
TEST(MarrowTyping, S1BrightenedByCoilSensitivityIsNotFat) {
    const DrawnSpine spine;
    auto sensitivity = [](double, double y, float normal) { return float(normal * (1 + 0.002 * (y - 120))); };
    const auto t1_series = draw(spine, kT1, "t1", sensitivity);
    const auto t1_plane = extract_plane(t1_series, 0);
    const auto t2_series = draw(spine, kT2, "t2", sensitivity);
    const auto t2_plane = extract_plane(t2_series, 0);
    const auto t1 = t1_marrow_of(t1_plane);
    ASSERT_TRUE(t1.bodies.count("S1"));
    EXPECT_GT(t1.body_marrow.at("L5"), 1.1 * t1.normal_marrow);  // the drawn bias is as meant
    EXPECT_EQ(read_endplate_of(t1_plane, t2_plane, "S1", EndplateSide::Superior).type, ModicType::None);
}

// L5 darker than the other bodies as a whole (0.8 of their marrow on T1 and T2): S1's top, of
// normal marrow, is not fat. S1 is compared with L5 but never with less than the patient's normal
// marrow.
TEST(MarrowTyping, S1BelowADarkL5IsNotFat) {
    const DrawnSpine spine;
    const double l5_top = spine.body_top(5);
    auto dark_l5 = [&](double x, double y, float normal) {
        return DrawnSpine::in_column(x) && y >= l5_top && y < l5_top + DrawnSpine::kBody ? 0.8f * normal : normal;
    };
    const auto t1_plane = extract_plane(draw(spine, kT1, "t1", dark_l5), 0);
    const auto t2_plane = extract_plane(draw(spine, kT2, "t2", dark_l5), 0);
    const auto t1 = t1_marrow_of(t1_plane);
    ASSERT_TRUE(t1.bodies.count("S1"));
    ASSERT_TRUE(t1.body_marrow.count("L5"));
    EXPECT_LT(t1.body_marrow.at("L5"), 0.9 * t1.normal_marrow);  // the drawn L5 is as meant
    EXPECT_EQ(read_endplate_of(t1_plane, t2_plane, "S1", EndplateSide::Superior).type, ModicType::None);
}

// Oedema 18 mm up from L3's inferior endplate, across the whole body (T1 0.68 of the marrow, T2
// 1.8): it fills the body's middle, and against that middle the endplate would read normal. The
// body is compared with its neighbours' marrow instead.
TEST(MarrowTyping, OedemaFillingABodysMiddleIsType1) {
    DrawnSpine spine;
    spine.cortex = 1;
    const double l3_bottom = spine.body_top(3) + DrawnSpine::kBody - spine.cortex;
    auto oedema = [&](float value) {
        return [&, value](double x, double y, float normal) {
            return DrawnSpine::in_column(x) && y >= l3_bottom - 18 && y < l3_bottom ? value : normal;
        };
    };
    const auto t1_series = draw(spine, kT1, "t1", oedema(440));
    const auto t2_series = draw(spine, kT2, "t2", oedema(800));
    const auto t1_plane = extract_plane(t1_series, 0);
    const auto t2_plane = extract_plane(t2_series, 0);
    const auto t1 = t1_marrow_of(t1_plane);
    ASSERT_TRUE(t1.body_marrow.count("L3"));
    EXPECT_NEAR(t1.body_marrow.at("L3"), kT1.marrow, 0.05 * kT1.marrow);
    const auto reading = read_endplate_of(t1_plane, t2_plane, "L3", EndplateSide::Inferior);
    EXPECT_EQ(reading.type, ModicType::Type1);
    EXPECT_GT(reading.depth_fraction, 0.4);
}

// L3 darker as a whole (0.85 of the other bodies on T1 and T2, as a coil's sensitivity may leave
// a body): it is still compared with its own marrow, and its endplates read normal.
TEST(MarrowTyping, ABodySomewhatDarkerThanItsNeighboursIsReadAgainstItsOwnMarrow) {
    const DrawnSpine spine;
    const double l3_top = spine.body_top(3);
    auto dark_l3 = [&](double x, double y, float normal) {
        return DrawnSpine::in_column(x) && y >= l3_top && y < l3_top + DrawnSpine::kBody ? 0.85f * normal : normal;
    };
    const auto t1_series = draw(spine, kT1, "t1", dark_l3);
    const auto t2_series = draw(spine, kT2, "t2", dark_l3);
    const auto t1_plane = extract_plane(t1_series, 0);
    const auto t2_plane = extract_plane(t2_series, 0);
    const auto t1 = t1_marrow_of(t1_plane);
    ASSERT_TRUE(t1.body_marrow.count("L3"));
    EXPECT_NEAR(t1.body_marrow.at("L3"), 0.85 * kT1.marrow, 0.05 * kT1.marrow);
    for (auto side : {EndplateSide::Superior, EndplateSide::Inferior})
        EXPECT_EQ(read_endplate_of(t1_plane, t2_plane, "L3", side).type, ModicType::None);
}

EndplateFinding endplate(const char* vertebra, EndplateSide side, ModicType type, double volume,
                         double extent = 0.5) {
    return {vertebra, side, type, 0.8, 0.2, extent, volume, std::nullopt};
}

TEST(DiscLevels, SummariseEachLevelFromItsTwoEndplates) {
    const auto levels = summarise_levels({
        endplate("L3", EndplateSide::Inferior, ModicType::None, 0),
        endplate("L4", EndplateSide::Superior, ModicType::None, 0),
        endplate("L4", EndplateSide::Inferior, ModicType::Type1, 0.4),
        endplate("L5", EndplateSide::Superior, ModicType::Type2, 1.1),
        endplate("L5", EndplateSide::Inferior, ModicType::Type3, 0.2),
        endplate("S1", EndplateSide::Superior, ModicType::None, 0),
    });
    ASSERT_EQ(levels.size(), 3u);
    EXPECT_EQ(levels[0].disc_level, "L3/L4");
    EXPECT_EQ(levels[0].modic_type, ModicType::None);
    EXPECT_EQ(levels[1].disc_level, "L4/L5");
    EXPECT_EQ(levels[1].modic_type, ModicType::Type2);  // both changed: the larger volume decides
    EXPECT_EQ(levels[2].disc_level, "L5/S1");
    EXPECT_EQ(levels[2].modic_type, ModicType::Type3);  // one changed: its type
}

TEST(DiscLevels, EqualVolumesAreDecidedByExtentAndHalfReadLevelsAreLeftOut) {
    const auto levels = summarise_levels({
        endplate("L1", EndplateSide::Inferior, ModicType::Type1, 0.5, 0.3),
        endplate("L2", EndplateSide::Superior, ModicType::Type3, 0.5, 0.7),
        endplate("L2", EndplateSide::Inferior, ModicType::Type2, 0.5),  // L3 superior not read
    });
    ASSERT_EQ(levels.size(), 1u);
    EXPECT_EQ(levels[0].disc_level, "L1/L2");
    EXPECT_EQ(levels[0].modic_type, ModicType::Type3);
}

}  // namespace
}  // namespace modic::core
