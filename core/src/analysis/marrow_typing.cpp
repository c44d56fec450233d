#include "analysis/marrow_typing.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <optional>

#include "analysis/statistics.hpp"

namespace modic::core {
namespace {

// The band of marrow read beside an endplate: one column at each position along it where its
// cortex was sought (1 mm apart across its central 30 mm), 20 rows reaching half the body height
// inward, starting past the cortex.
constexpr int kColumns = kEndplatePositions;
constexpr double kColumnStepMm = kEndplatePositionStepMm;
constexpr int kRows = 20;
constexpr double kReachFraction = 0.5;
constexpr double kCortexMm = 1.5;  // from the cortex's darkest line to the first row
// The images are smoothed this much (Gaussian sigma, mm) against noise; more would spread the
// cortex's dark line over the shallow changes beside it.
constexpr double kSmoothingMm = 0.8;
// Signal, relative to the patient's normal marrow, that counts as bright or dark. Oedema darkens
// T1 less than sclerosis does, and its T2 brightness is the surer sign: beside a bright T2 a milder
// T1 darkening counts (the phantoms' oedema read 0.62-0.75 on T1 at endplates whose T2 was 1.3-1.6;
// with 0.65, type 1 was read 0 at 26 of 158 endplates of the 17 seeds' studies labelled right).
// 0.8 since the twenty-second session: fresh seed 1401 case 13's oedema read 0.75-0.85 on T1 below
// the first rows, beside T2 at 1.3-1.6, and only 0.07 of the body deep at 0.7.
constexpr double kT1Bright = 1.1, kT1Dark = 0.65, kT1DarkBesideBrightFluid = 0.8;
constexpr double kFluidBright = 1.3, kFluidDark = 0.6;
// Oedema on a STIR read beside the T2 is bright as on any fluid image, where the T2 is not darker
// than this share of the marrow: oedema is not dark on T2, but a disc is, where degenerated, and is
// bright on STIR (twenty-third session: without this floor, grids fitted into a steep L5/S1 read
// its disc as oedema, and normal endplates called changed rose 93 -> 174 on 25 seeds; with it, 95).
constexpr double kStirOedemaT2Floor = 0.9;
// A change touches the endplate over at least this share of it and reaches this deep.
constexpr double kMinExtent = 0.25, kMinDepth = 0.08;
// Sclerosis is markedly dark on T2: a change dark on both images is type 3 only where its cells'
// mean T2 signal is below this share of the normal marrow. The disc's annulus, read into the first
// rows where the endplate's surface is placed a little into the disc, is dark cell by cell too,
// but not as dark as a whole (on the phantoms of 17 seeds, studies labelled right: such false
// type 3 averaged 0.53 of the marrow on T2, true sclerosis 0.43; 15 of 134 false and 188 of 197
// true lay below 0.5).
constexpr double kSclerosisMeanFluid = 0.5;
// Each part of a mixed change covers at least this share of the endplate; fat beside sclerosis that
// passes on its own, two positions (the phantoms' 2/3 changes were read 3 at 18 endplates of the 17
// seeds' studies labelled right with 0.1, at 4 with this). Oedema and fat, two positions each too:
// the fat between bits of oedema starts a row or two deeper than the oedema (the cortex's partial
// volume darkens the first rows), and on the phantoms of 19 seeds, studies labelled right, 1/2 was
// read 0 at 23 of 146 endplates with 0.1, at 16 with this; 6 endplates of type 1 or 2 read 1/2.
constexpr double kMinMixedPartExtent = 0.1, kMinFatBesideSclerosis = 0.06, kMinOedemaFatPart = 0.06;
constexpr int kStartRows = 3;  // a lesion column must begin within this many rows of the endplate
// A reading of T1 alone (the fluid image does not show the endplate) cannot type oedema or
// sclerosis: its confidence, of a change or of "0", is scaled by this.
constexpr double kT1AloneTrust = 0.8;

// Plane position of grid cell (column, row) beside an endplate.
std::array<double, 2> cell_position(const EndplateLine& line, double height_mm, double pixel_mm,
                                    int column, int row, double back_mm = 0) {
    return line.at(column, kCortexMm - back_mm + (row + 0.5) / kRows * kReachFraction * height_mm, pixel_mm);
}

using Grid = std::array<std::array<double, kRows>, kColumns>;
// A cell beyond the body's walls: neither bright nor dark on any image.
constexpr double kOutsideBody = 1.0;
// A cell the plane does not show (beyond its field of view, where it reads 0): no signal, neither
// bright nor dark nor normal. Every comparison with it is false.
constexpr double kNotShown = std::numeric_limits<double>::quiet_NaN();
bool shown(double cell) { return !std::isnan(cell); }

// The marrow a body's endplate band is compared with: the body's own central marrow where the
// plane shows the whole body, so that a body brighter or darker than the others as a whole (coil
// sensitivity falls along the spine) is not read as a change at its endplates. S1, of which only
// the top is read, is compared with L5, the nearest complete body, for the same reason (against
// the patient's median marrow the phantoms' S1 read as fat at 20 of 1621 normal endplates), but
// never with less than the patient's normal marrow: an L5 darker as a whole made S1's top read as
// fat (thirteenth session: S1 was the commonest false type 2 on the phantoms, 15 of 34 on the 17
// seeds' studies labelled right; with this, false type 2 32 -> 25 on 19 seeds, and spider-dev's
// spider_065, L5/S1 graded 0, no longer called). Other bodies not seen whole are compared with the
// patient's normal marrow.
double reference_marrow(const MarrowPlane& marrow, const std::string& vertebra) {
    for (const auto& label : {vertebra, vertebra == "S1" ? std::string("L5") : vertebra}) {
        const auto measured = marrow.body_marrow.find(label);
        if (measured == marrow.body_marrow.end() || measured->second <= 0) continue;
        return vertebra == "S1" ? std::max(measured->second, marrow.normal_marrow) : measured->second;
    }
    return marrow.normal_marrow;
}

// Marrow signal beside the endplate relative to the reference marrow, or nullopt when the plane
// does not show that endplate.
std::optional<Grid> relative_signal(const MarrowPlane& marrow, const std::string& vertebra,
                                    EndplateSide side, double back_mm = 0) {
    const auto found = marrow.bodies.find(vertebra);
    const double reference = reference_marrow(marrow, vertebra);
    if (found == marrow.bodies.end() || reference <= 0) return std::nullopt;
    const auto& body = found->second;
    const auto& line = body.endplate(side);
    if (!line) return std::nullopt;
    Grid grid{};
    for (int c = 0; c < kColumns; ++c)
        for (int r = 0; r < kRows; ++r) {
            const auto p = cell_position(*line, body.height_mm, marrow.plane->pixel_mm, c, r, back_mm);
            if (c < line->first_in_body || c > line->last_in_body) grid[c][r] = kOutsideBody;
            else if (sample_bilinear(*marrow.plane->inside, p[0], p[1]) < 1.0) grid[c][r] = kNotShown;
            else grid[c][r] = sample_bilinear(*marrow.smoothed, p[0], p[1]) / reference;
        }
    return grid;
}

struct Lesion {
    double extent = 0, depth = 0, area_cells = 0;
    std::array<int, kColumns> depth_rows{};  // per column, rows from the endplate; 0 = none
};

// The part of a signal class that grows from the endplate inward, column by column. Its extent
// is the share of the columns within the body's walls (`columns_in_body`): a change's share of
// the endplate, which is what the presence rule asks, not of the 30 mm read.
template <typename IsClass>
Lesion lesion_from_endplate(int columns_in_body, IsClass&& is_class) {
    Lesion lesion;
    int columns = 0;
    for (int c = 0; c < kColumns; ++c) {
        int start = -1;
        for (int r = 0; r < kStartRows; ++r)
            if (is_class(c, r)) {
                start = r;
                break;
            }
        if (start < 0) continue;
        int end = start, misses = 0;
        for (int r = start; r < kRows && misses < 2; ++r) {
            if (is_class(c, r)) end = r, misses = 0;
            else ++misses;
        }
        lesion.depth_rows[c] = end + 1;
        lesion.area_cells += end + 1;
        lesion.depth = std::max(lesion.depth, (end + 1.0) / kRows * kReachFraction);
        ++columns;
    }
    lesion.extent = double(columns) / columns_in_body;
    return lesion;
}

// Mean relative signal over a lesion's cells.
double mean_over(const Lesion& lesion, const Grid& grid) {
    double sum = 0;
    int cells = 0;
    for (int c = 0; c < kColumns; ++c)
        for (int r = 0; r < lesion.depth_rows[c]; ++r) sum += grid[c][r], ++cells;
    return cells > 0 ? sum / cells : 1.0;
}

bool is_present(const Lesion& lesion) {
    return lesion.extent >= kMinExtent && lesion.depth >= kMinDepth;
}

// Whether a lesion is enough for one part of a mixed change: less of the endplate, as deep.
bool is_mixed_part(const Lesion& lesion, double min_extent = kMinMixedPartExtent) {
    return lesion.extent >= min_extent && lesion.depth >= kMinDepth;
}

// How clearly a lesion passes the presence rule, in [0, 1]; 0.5 at the threshold.
double strength(const Lesion& lesion) {
    const double margin = std::min(lesion.extent / kMinExtent, lesion.depth / kMinDepth);
    return std::clamp(margin / (1.0 + margin), 0.0, 1.0);
}

std::vector<std::array<double, 2>> outline_of(const Lesion& lesion, const EndplateLine& line,
                                              double height_mm, double pixel_mm, double back_mm) {
    std::vector<std::array<double, 2>> top, bottom;
    for (int c = 0; c < kColumns; ++c) {
        if (lesion.depth_rows[c] == 0) continue;
        top.push_back(cell_position(line, height_mm, pixel_mm, c, -1, back_mm));
        bottom.push_back(cell_position(line, height_mm, pixel_mm, c, lesion.depth_rows[c] - 1, back_mm));
    }
    std::vector<std::array<double, 2>> outline = top;
    outline.insert(outline.end(), bottom.rbegin(), bottom.rend());
    if (!outline.empty()) outline.push_back(outline.front());
    return outline;
}

// A body whose central marrow lies beyond both its neighbours' by more than this factor, either
// way, holds a change in its middle (oedema or fat reaching it from an endplate), not a coil's
// sensitivity, which changes little from one body to the next. Against the median of itself and
// its neighbours, the bodies with a neighbour on either side read 0.93-1.06 on T1 (1st-99th
// percentile) on seeds 1400-1401, 0.89-1.07 (5th-95th) on spider-dev's T1 and 0.86-1.08 on its
// T2, where 5 of 194 lie below 0.75.
constexpr double kChangedMiddleFactor = 1.33;

// Compares a body whose middle a change fills with its neighbours' marrow: against its own, a
// change through half of the body reads as normal marrow at its endplates (twenty-second session,
// seed 1400 case 20: oedema 9-10 mm deep at both of L4's endplates, the middle read 0.45-0.65 of the
// patient's marrow on T1, and both endplates read 0). Only a body with a neighbour on either side:
// at the column's ends one neighbour cannot tell which of the two is changed, and coil sensitivity
// falls fastest there.
void compare_changed_middles_with_neighbours(MarrowPlane& marrow) {
    std::vector<std::pair<double, std::string>> head_to_foot;
    for (const auto& [label, signal] : marrow.body_marrow)
        head_to_foot.emplace_back(marrow.bodies.at(label).centre[1], label);
    std::sort(head_to_foot.begin(), head_to_foot.end());
    std::vector<double> own;
    for (const auto& [row, label] : head_to_foot) own.push_back(marrow.body_marrow.at(label));
    for (std::size_t i = 1; i + 1 < own.size(); ++i) {
        const double nearer = median({own[i - 1], own[i], own[i + 1]});  // own, unless beyond both
        if (own[i] > kChangedMiddleFactor * nearer || own[i] * kChangedMiddleFactor < nearer)
            marrow.body_marrow[head_to_foot[i].second] = nearer;
    }
}

// Endplate-to-endplate thickness of disc `disc_label` ("L4/L5") on the plane, in mm.
std::optional<double> disc_thickness_mm(const MarrowPlane& marrow, const std::string& disc_label) {
    const auto ends = endplates_across_disc(marrow.bodies, disc_label);
    if (!ends) return std::nullopt;
    const auto& [a, b] = *ends;
    return std::hypot(a[0] - b[0], a[1] - b[1]) * marrow.plane->pixel_mm;
}

// The disc beside `vertebra`'s endplate on `side`, or empty where it is not a reported level.
std::string disc_beside(const std::string& vertebra, EndplateSide side) {
    for (const auto level : kDiscLevels) {
        const auto [above, below] = vertebrae_of_disc(std::string(level));
        if ((side == EndplateSide::Inferior ? above : below) == vertebra) return std::string(level);
    }
    return {};
}

// The patient's usual disc: the median endplate-to-endplate thickness of the discs the plane shows.
std::optional<double> usual_disc_thickness_mm(const MarrowPlane& marrow) {
    std::vector<double> thicknesses;
    for (const auto level : kDiscLevels)
        if (const auto thickness = disc_thickness_mm(marrow, std::string(level))) thicknesses.push_back(*thickness);
    if (thicknesses.empty()) return std::nullopt;
    return median(thicknesses);
}

// How far back toward the disc, past the endplate, the fluid image shows oedema: a change with the
// disc's T1 signal makes one dark band with the disc, and the endplate is then placed past it;
// the fluid image shows the change bright beside a disc that is not. Per position within the
// body's walls, the run of bright signal from the endplate toward the disc; taken where half the
// positions show one of kMinOedemaRunMm or more, and where the disc, measured on T1 from the
// endplate moved back by the run, keeps kMinDiscLeft of the patient's usual disc: a healthy
// disc's bright nucleus against the endplate runs across the whole disc.
constexpr double kMinOedemaRunMm = 2.0, kMaxOedemaRunMm = 15.0, kOedemaRunStepMm = 0.5, kMinDiscLeft = 0.5;
double oedema_run_mm(const MarrowPlane& t1, const MarrowPlane& fluid, const std::string& vertebra, EndplateSide side) {
    const auto disc_mm = disc_thickness_mm(t1, disc_beside(vertebra, side));
    const auto usual_disc_mm = usual_disc_thickness_mm(t1);
    if (!disc_mm || !usual_disc_mm) return 0;
    const auto found = fluid.bodies.find(vertebra);
    const double reference = reference_marrow(fluid, vertebra);
    if (found == fluid.bodies.end() || reference <= 0) return 0;
    const auto& line = found->second.endplate(side);
    if (!line) return 0;
    std::vector<double> runs;
    const int columns = line->last_in_body - line->first_in_body + 1;
    for (int c = line->first_in_body; c <= line->last_in_body; ++c) {
        double run = 0;
        for (double back = kOedemaRunStepMm; back <= kMaxOedemaRunMm; back += kOedemaRunStepMm) {
            const auto p = line->at(c, -back, fluid.plane->pixel_mm);
            if (sample_bilinear(*fluid.plane->inside, p[0], p[1]) < 1.0 ||
                sample_bilinear(*fluid.smoothed, p[0], p[1]) / reference <= kFluidBright)
                break;
            run = back;
        }
        if (run >= kMinOedemaRunMm) runs.push_back(run);
    }
    if (runs.empty() || 2 * int(runs.size()) < columns) return 0;
    const double run = median(runs);
    return *disc_mm - run >= kMinDiscLeft * *usual_disc_mm ? run : 0.0;
}

}  // namespace

MarrowPlane prepare_marrow_plane(const SagittalPlane& plane,
                                 std::map<std::string, VertebraGeometry> bodies) {
    MarrowPlane marrow;
    marrow.plane = &plane;
    marrow.smoothed = smoothed(plane.image, kSmoothingMm / plane.pixel_mm);
    marrow.bodies = std::move(bodies);

    // Normal marrow: the middle third of each complete body, where Modic changes rarely reach.
    std::vector<double> body_medians;
    for (const auto& [label, body] : marrow.bodies) {
        if (!body.superior || !body.inferior || label == "S1") continue;
        std::vector<double> values;
        for (double s = -10; s <= 10; s += 1.0)
            for (double u = 0.35; u <= 0.65; u += 0.05) {
                const auto& top = *body.superior;
                const auto point = moved(top.centre, top.along, s, top.inward, u * body.height_mm, plane.pixel_mm);
                values.push_back(sample_bilinear(*marrow.smoothed, point[0], point[1]));
            }
        body_medians.push_back(median(values));
        marrow.body_marrow[label] = body_medians.back();
    }
    marrow.normal_marrow = median(body_medians);
    compare_changed_middles_with_neighbours(marrow);
    return marrow;
}

EndplateReading read_endplate(const MarrowPlane& t1, const MarrowPlane* fluid, bool fluid_is_stir,
                              const std::string& vertebra, EndplateSide side, const MarrowPlane* stir) {
    EndplateReading reading;
    const double back_mm = fluid ? oedema_run_mm(t1, *fluid, vertebra, side) : 0.0;
    const auto t1_grid = relative_signal(t1, vertebra, side, back_mm);
    if (!t1_grid) return reading;
    const auto fluid_grid = fluid ? relative_signal(*fluid, vertebra, side, back_mm) : std::nullopt;
    const auto stir_grid = fluid_grid && stir ? relative_signal(*stir, vertebra, side, back_mm) : std::nullopt;

    auto t1_bright = [&](int c, int r) { return (*t1_grid)[c][r] > kT1Bright; };
    auto t1_dark = [&](int c, int r) { return (*t1_grid)[c][r] < kT1Dark; };
    auto fluid_bright = [&](int c, int r) { return (*fluid_grid)[c][r] > kFluidBright; };
    auto fluid_dark = [&](int c, int r) { return (*fluid_grid)[c][r] < kFluidDark; };

    // Oedema is brightest on a STIR, where the marrow's fat is suppressed: bright there, it need
    // not be bright on the T2 too.
    auto oedema_bright = [&](int c, int r) {
        const bool on_stir = stir_grid && (*stir_grid)[c][r] > kFluidBright && (*fluid_grid)[c][r] >= kStirOedemaT2Floor;
        return fluid_bright(c, r) || on_stir;
    };
    auto is_type1 = [&](int c, int r) {
        return fluid_grid && (*t1_grid)[c][r] < kT1DarkBesideBrightFluid && oedema_bright(c, r);
    };
    // Fat is bright on T2 but suppressed on STIR.
    auto is_type2 = [&](int c, int r) {
        if (!fluid_grid) return t1_bright(c, r);
        return t1_bright(c, r) && (fluid_is_stir ? !fluid_bright(c, r) : !fluid_dark(c, r));
    };
    auto is_type3 = [&](int c, int r) {
        return fluid_grid && shown((*fluid_grid)[c][r]) && t1_dark(c, r) &&
               (fluid_is_stir ? !fluid_bright(c, r) : fluid_dark(c, r));
    };
    const auto& body = t1.bodies.at(vertebra);
    const auto& line = *body.endplate(side);
    const int columns_in_body = line.last_in_body - line.first_in_body + 1;
    Lesion type1 = lesion_from_endplate(columns_in_body, is_type1),
           type2 = lesion_from_endplate(columns_in_body, is_type2),
           type3 = lesion_from_endplate(columns_in_body, is_type3);
    // A mixed change is one change whose parts alternate along the endplate: together they pass
    // the presence rule, and each part covers some of it. Oedema and fat (1/2) always so.
    // Sclerosis with fat (2/3) so only while the fat does not pass alone: fat in full and a small
    // dark part is how the cortex and a dark disc beside fat look on real images (type 2 was read
    // 2/3 at a third of its levels on spider-dev that way); fat in full makes 2/3 only with the
    // sclerosis in full too. Sclerosis in full makes 2/3 with a little fat: presence is not at
    // stake there, only the type.
    const Lesion oedema_or_fat =
        lesion_from_endplate(columns_in_body, [&](int c, int r) { return is_type1(c, r) || is_type2(c, r); });
    const Lesion fat_or_sclerosis =
        lesion_from_endplate(columns_in_body, [&](int c, int r) { return is_type2(c, r) || is_type3(c, r); });
    // On STIR the marrow itself is dark (its fat suppressed): the cell rule alone decides there.
    // (Without a fluid image no change is type 3.)
    const bool sclerotic = !fluid_grid || fluid_is_stir || mean_over(type3, *fluid_grid) < kSclerosisMeanFluid;
    const bool has1 = is_present(type1), has2 = is_present(type2), has3 = is_present(type3) && sclerotic;
    const bool mixed_1_2 = is_present(oedema_or_fat) && (has1 || !has3) &&  // full sclerosis outweighs a small oedema part
                           is_mixed_part(type1, kMinOedemaFatPart) && is_mixed_part(type2, kMinOedemaFatPart);
    const bool mixed_2_3 = (has3 && is_mixed_part(type2, kMinFatBesideSclerosis)) ||
                           (is_mixed_part(type2) && !has2 && is_present(fat_or_sclerosis) && is_mixed_part(type3));

    const Lesion* shown = nullptr;
    if (mixed_1_2) {
        reading.type = ModicType::Type1_2;
        shown = &oedema_or_fat;
    } else if (mixed_2_3) {
        reading.type = ModicType::Type2_3;
        shown = &fat_or_sclerosis;
    } else if (has1 || has3) {
        const bool one = has1 && (!has3 || type1.area_cells >= type3.area_cells);
        reading.type = one ? ModicType::Type1 : ModicType::Type3;
        shown = one ? &type1 : &type3;
    } else if (has2) {
        reading.type = ModicType::Type2;
        shown = &type2;
    }

    const double trust = fluid_grid ? 1.0 : kT1AloneTrust;
    if (!shown) {
        // Read on T1 alone, oedema and sclerosis cannot be told apart from a dark disc's edge, and
        // are not typed; a dark change there still makes "0" less sure.
        const Lesion t1_dark_untyped = fluid_grid ? Lesion{} : lesion_from_endplate(columns_in_body, t1_dark);
        const double strongest =
            std::max({strength(type1), strength(type2), strength(type3), strength(t1_dark_untyped)});
        reading.confidence = std::clamp(1.0 - strongest, 0.0, 1.0) * trust;
        return reading;
    }
    reading.confidence = strength(*shown) * trust;
    reading.extent_fraction = shown->extent;
    reading.depth_fraction = shown->depth;
    const double cell_mm2 = kColumnStepMm * kReachFraction * body.height_mm / kRows;
    reading.area_mm2 = shown->area_cells * cell_mm2;
    reading.outline = outline_of(*shown, line, body.height_mm, t1.plane->pixel_mm, back_mm);
    return reading;
}

}  // namespace modic::core
