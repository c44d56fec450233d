#include "analysis/vertebra_geometry.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numbers>
#include <optional>
#include <vector>

#include "analysis/statistics.hpp"

namespace modic::core {
namespace {

// Lumbar bodies are about 27 mm tall; used only when no complete body was found on the plane.
constexpr double kTypicalBodyHeightMm = 27.0;

// A disc's two cortices are sought across it, from this far beyond the band's edges, in steps of
// kCortexSearchStepMm, each sample the mean of three 1 mm apart along the disc.
constexpr double kCortexBeyondEdgeMm = 2.0;
constexpr double kCortexSearchStepMm = 0.5;
// The two cortices are dark lines at least this far apart, and the disc between them is brighter
// than both.
constexpr double kMinCortexSeparationMm = 2.5;
// How dark, as a share of the disc's brightest signal between them, a pair's two lines must be.
struct CortexRule {
    double crisper = 0, fainter = 0;  // the darker line at most `crisper`, the other at most `fainter`
    bool crisper_side_only = false;  // an endplate takes its line only where it is the crisper one
};
// Both cortices clear: each at most 0.8 of the disc.
constexpr CortexRule kClearCortices{0.8, 0.8, false};
// Where too few positions show clear cortices, one crisp cortex beside a faint one. A change with
// the disc's signal on T1 (oedema, sclerosis) joins the disc in one dark band; the cortex between
// them stays a crisp dark line, but the disc is then barely brighter than the cortex on its other
// side, so no clear pair is found, and the endplate fell back to the band's edge, past the change,
// which was then not read (on the phantoms of 21 seeds, 38 of the 92 changed endplates read 0
// lacked a cortex, against some 8% of all endplates). Only the crisp line is taken: on spider-dev,
// taking the faint one too, or a crisp line at 0.8, moved endplates into the disc and the cortex
// and called type 3 where the radiologist graded none.
constexpr CortexRule kCrispCortex{0.6, 0.9, true};
// A cortex is a thin dark line. Sclerosis, and the dark parts of a mixed change, lie on it darker
// than the disc on T1: with the disc's edge they make one dark run, whose darkest point lies in
// the change, millimetres inside the body. The endplate was put there and the change, outside the
// marrow read, was missed (twenty-third session: on the phantoms of 33 seeds, studies labelled
// right, 16 endplates of type 3 and 19 of type 2/3 read 0, most of them so). A line whose dark
// run is wider than kMaxCortexWidthMm is put at the run's disc-side end, kHalfCortexMm short of
// it: on the cortex. The run is what lies below halfway from the line to the disc's brightest
// signal and below kChangeDarkness of the disc's median signal (the second keeps a dark,
// degenerated disc out of it: with the first alone, normal endplates moved into such discs were
// called changed, 91 -> 132 on 25 seeds).
constexpr double kMaxCortexWidthMm = 3.0, kChangeDarkness = 0.85, kHalfCortexMm = 0.75;
// At least this share of the positions must show a cortex, else the band's edges are kept.
// A quarter is enough since the positions without a cortex follow the line fitted through those
// with one: the band's halfway edge runs past changes that have the disc's signal.
constexpr double kMinCortexShare = 0.25;
// Each position's cortex is the median of its found neighbours within this many positions.
constexpr int kSurfaceSmoothing = 2;
// A body's front and back walls: where, along a line through its middle, the signal first falls
// below this share of its central marrow (the central 16 mm), searched up to kMaxWallSearchMm
// from the disc's centre. A body is at least kMinBodyDepthMm deep; an endplate is moved at most
// kMaxBodyShiftMm to its body's middle.
constexpr double kWallFactor = 0.6, kMaxWallSearchMm = 40.0, kMinBodyDepthMm = 20.0, kMaxBodyShiftMm = 10.0;
// An endplate is read only this far inside its body's walls.
constexpr double kWallMarginMm = 1.0;
// A body's reported centre is moved at most kMaxCentreShiftMm to the middle between its walls at
// mid-height, and only where the body measures at most kMaxDepthFactor of the patient's usual
// depth there.
constexpr double kMaxCentreShiftMm = 20.0, kMaxDepthFactor = 1.25;
// S1 is deeper than the lumbar bodies (on the phantoms 40 mm against 34-38), so its dark walls are
// plausible up to kMaxSacralDepthFactor of the usual depth. At 1.25 they were set aside and the
// bright walls below taken instead, which a fatty patch or a type 2 change inside S1 pulls in:
// thirtieth session, on the phantoms of 63 seeds 11 S1 centres more than 10 mm off came within
// it, 1 went out (fresh seeds 3500-3601: 1 and 0).
constexpr double kMaxSacralDepthFactor = 1.4;
// S1's neighbours are often brighter than its marrow on T1 (the pelvis's fat in front of the
// sacrum, its fused posterior elements behind), and no dark wall bounds it: where none does at a
// plausible depth, S1's walls are also where the signal rises above this share of its central
// marrow. Only S1's: in a lumbar body a bright patch (fatty marrow, a haemangioma) would be taken
// for a wall.
constexpr double kBrightWallFactor = 1.15;
// The column's line turns forward by at most kMaxForwardTurnDegrees at its ends; a body put back on
// it is put kEndTurnDegrees backward of it, as S1 lies from L5 (the phantoms' turn: 9-23). S1 lies
// within kMaxLumbosacralOffMm of that place (on the phantoms' true L4 and L5, at most 10.5 mm).
constexpr double kMaxForwardTurnDegrees = 15.0, kEndTurnDegrees = 15.0, kMaxLumbosacralOffMm = 10.0;
// An end body's endplate sought again (seek_end_endplate_again) is searched in a band this much
// thicker, either side, than its neighbouring disc.
constexpr double kSeekMarginMm = 3.0;
// The line through three bodies' centres, wall to wall, turns forward by at most this at the
// lumbar column's lower end (at most 13 on the phantoms labelled right, 17 on spider-dev's
// steepest L5/S1; 29-65 where the chain ran on to a band in front of the sacrum).
constexpr double kMaxColumnBreakDegrees = 20.0;

// A disc lies between its neighbours: its distances to the disc above and to the one below differ
// by little more than the bodies' heights do. A disc beside a change with the disc's signal on T1
// (oedema, sclerosis) is one dark band with the change, and its centre is drawn into it: the body
// beside it then measures short and the body across it tall, each by the displacement. A change
// reaches at most half a body's height, and the displacement half of that band: one over
// kMaxRestoredDisplacementMm is something else (a missed disc) and is left alone. (On the phantoms
// of 17 seeds the largest was 12.5 mm; on spider-dev 8.9.)
constexpr double kMaxDiscDisplacementMm = 7.0, kMaxRestoredDisplacementMm = 15.0;

double position_mm(int position) {
    return (position - (kEndplatePositions - 1) / 2.0) * kEndplatePositionStepMm;
}

// Offsets of a disc's upper and lower cortex from its centre along its normal, in mm, at one
// position along it; NaN where the plane shows no pair of dark lines with disc between them.
struct CortexPair {
    double upper = std::nan(""), lower = std::nan("");
    bool upper_crisper = false;  // the upper line is the darker of the two
};

// The disc's signal between a pair of lines on the profile (indices `up` < `down`).
struct DiscSignal {
    double brightest = 0, median = 0;
};

DiscSignal disc_signal(const std::vector<double>& profile, std::size_t up, std::size_t down) {
    return {*std::max_element(profile.begin() + long(up), profile.begin() + long(down)),
            median({profile.begin() + long(up), profile.begin() + long(down) + 1})};
}

// The index (fractional) of the cortex at the profile's dark line `line`, the disc (`disc`) lying
// toward `other` (the pair's other line): the line itself, or the disc-side end of the change
// lying on it.
double cortex_index(const std::vector<double>& profile, std::size_t line, std::size_t other, const DiscSignal& disc) {
    const double darkness = std::min((profile[line] + disc.brightest) / 2, kChangeDarkness * disc.median);
    if (profile[line] >= darkness) return double(line);
    const long toward_disc = other > line ? 1 : -1, end = long(profile.size());
    long disc_side = long(line), body_side = long(line);
    while (disc_side + toward_disc != long(other) && profile[std::size_t(disc_side + toward_disc)] < darkness)
        disc_side += toward_disc;
    while (body_side - toward_disc >= 0 && body_side - toward_disc < end &&
           profile[std::size_t(body_side - toward_disc)] < darkness)
        body_side -= toward_disc;
    const double width_mm = double(std::abs(disc_side - body_side) + 1) * kCortexSearchStepMm;
    if (width_mm <= kMaxCortexWidthMm) return double(line);
    return double(disc_side) + double(toward_disc) * (0.5 - kHalfCortexMm / kCortexSearchStepMm);
}

CortexPair cortices_at(const PlaneImage& image, const Disc& disc, int position, double pixel_mm,
                       const CortexRule& rule) {
    const auto a = disc.along(), n = disc.normal();
    const double from = -disc.upper_edge - kCortexBeyondEdgeMm, to = disc.lower_edge + kCortexBeyondEdgeMm;
    std::vector<double> profile;
    for (double t = from; t <= to; t += kCortexSearchStepMm) {
        double sum = 0;
        for (double across : {-1.0, 0.0, 1.0}) {
            const auto point = moved(disc.centre(), a, position_mm(position) + across, n, t, pixel_mm);
            sum += sample_bilinear(image, point[0], point[1]);
        }
        profile.push_back(sum / 3);
    }
    std::vector<std::size_t> minima;
    for (std::size_t i = 1; i + 1 < profile.size(); ++i)
        if (profile[i] > 0 && profile[i] <= profile[i - 1] && profile[i] <= profile[i + 1]) minima.push_back(i);

    // The pair whose darker line is darkest against the disc between them.
    const auto min_gap = std::size_t(std::ceil(kMinCortexSeparationMm / kCortexSearchStepMm));
    std::size_t best_up = 0, best_down = 0;
    double best_dip = 0;
    for (std::size_t i = 0; i < minima.size(); ++i)
        for (std::size_t j = i + 1; j < minima.size(); ++j) {
            const std::size_t up = minima[i], down = minima[j];
            if (down - up < min_gap) continue;
            const double disc_brightest = *std::max_element(profile.begin() + long(up), profile.begin() + long(down));
            const double fainter_line = std::max(profile[up], profile[down]);
            const double crisper_line = std::min(profile[up], profile[down]);
            if (fainter_line > rule.fainter * disc_brightest || crisper_line > rule.crisper * disc_brightest) continue;
            const double dip = disc_brightest - fainter_line;
            if (dip > best_dip) best_dip = dip, best_up = up, best_down = down;
        }
    if (best_dip <= 0) return {};
    const auto between = disc_signal(profile, best_up, best_down);
    return {from + cortex_index(profile, best_up, best_down, between) * kCortexSearchStepMm,
            from + cortex_index(profile, best_down, best_up, between) * kCortexSearchStepMm,
            profile[best_up] < profile[best_down]};
}

// Whether enough positions showed a cortex for the endplate to be put on it (kMinCortexShare).
bool shows_cortex(const std::array<double, kEndplatePositions>& cortex) {
    const auto found = std::count_if(cortex.begin(), cortex.end(), [](double offset) { return !std::isnan(offset); });
    return double(found) >= kMinCortexShare * kEndplatePositions;
}

// Offsets of the straight line that best fits (least squares) the positions that showed a cortex.
std::array<double, kEndplatePositions> fitted_offsets(const std::array<double, kEndplatePositions>& cortex) {
    double n = 0, sum_p = 0, sum_o = 0, sum_pp = 0, sum_po = 0;
    for (int p = 0; p < kEndplatePositions; ++p)
        if (!std::isnan(cortex[p])) n += 1, sum_p += p, sum_o += cortex[p], sum_pp += p * p, sum_po += p * cortex[p];
    const double spread = n * sum_pp - sum_p * sum_p;
    const double slope = spread > 0 ? (n * sum_po - sum_p * sum_o) / spread : 0;
    const double intercept = n > 0 ? (sum_o - slope * sum_p) / n : 0;
    std::array<double, kEndplatePositions> fitted{};
    for (int p = 0; p < kEndplatePositions; ++p) fitted[p] = intercept + slope * p;
    return fitted;
}

// An endplate through the median of its cortex offsets (from the disc centre, along `inward`),
// each position keeping its own offset (the median of its neighbours', so that noise does not
// make steps; where no neighbour showed the cortex, the straight line fitted through those that
// did, so that an endplate tilted against the band is followed to its ends); or at the band's
// edge when too few positions showed the cortex.
EndplateLine endplate_line(const Disc& disc, const std::array<double, kEndplatePositions>& cortex,
                           double band_edge_mm, double inward_sign, double pixel_mm) {
    const auto a = disc.along(), n = disc.normal();
    EndplateLine line;
    line.along = a;
    line.inward = {inward_sign * n[0], inward_sign * n[1]};
    std::vector<double> found;
    for (double offset : cortex)
        if (!std::isnan(offset)) found.push_back(offset);
    double middle = band_edge_mm;
    line.on_cortex = shows_cortex(cortex);
    if (line.on_cortex) {
        middle = median(found);
        const auto fitted = fitted_offsets(cortex);
        for (int p = 0; p < kEndplatePositions; ++p) {
            std::vector<double> near;
            for (int q = std::max(0, p - kSurfaceSmoothing); q <= std::min(kEndplatePositions - 1, p + kSurfaceSmoothing); ++q)
                if (!std::isnan(cortex[q])) near.push_back(cortex[q]);
            line.surface_mm[p] = (near.empty() ? fitted[p] : median(near)) - middle;
        }
    }
    line.centre = moved(disc.centre(), line.inward, middle, pixel_mm);
    return line;
}

// At each position, the distance from the disc's centre to the cortex of the body above it
// (`above`) or below it, under `rule`; NaN where none is found.
std::array<double, kEndplatePositions> cortex_offsets(const Disc& disc, bool above, const SagittalPlane& plane,
                                                      const CortexRule& rule) {
    std::array<double, kEndplatePositions> cortex{};
    for (int p = 0; p < kEndplatePositions; ++p) {
        const auto pair = cortices_at(*plane.image, disc, p, plane.pixel_mm, rule);
        const bool taken = !rule.crisper_side_only || pair.upper_crisper == above;
        cortex[p] = !taken ? std::nan("") : above ? -pair.upper : pair.lower;
    }
    return cortex;
}

// One endplate of the disc: the inferior endplate of the body above it (`above`) or the superior
// endplate of the one below.
EndplateLine endplate_of_disc(const Disc& disc, bool above, const SagittalPlane& plane) {
    auto cortex = cortex_offsets(disc, above, plane, kClearCortices);
    if (!shows_cortex(cortex)) cortex = cortex_offsets(disc, above, plane, kCrispCortex);
    return above ? endplate_line(disc, cortex, disc.upper_edge, -1.0, plane.pixel_mm)
                 : endplate_line(disc, cortex, disc.lower_edge, 1.0, plane.pixel_mm);
}

// A body's front and back walls along a line, in mm from a point of it (front negative).
struct BodyWalls {
    double front = 0, back = 0;
    double middle() const { return (front + back) / 2; }
    double depth() const { return back - front; }
};

// The walls of the body that the line through `origin` (plane pixels) along the unit direction
// `a` (front to back), moved `offset_mm` across it toward the feet, crosses; measured along the
// line from `origin`. With `bright_factor`, a signal above that share of the central marrow is a
// wall too. Nullopt where a wall is not found or the body is implausibly thin.
std::optional<BodyWalls> body_walls_along(const PlaneImage& image, const std::array<double, 2>& origin,
                                          const std::array<double, 2>& a, double offset_mm, double pixel_mm,
                                          double bright_factor = 0.0) {
    const std::array<double, 2> n{-a[1], a[0]};  // as Disc::normal() for a disc along `a`
    auto signal = [&](double s) {  // mean of 3 x 3 samples 2 mm across and 0.5 mm along
        double sum = 0;
        for (double across : {-2.0, 0.0, 2.0})
            for (double step : {-0.5, 0.0, 0.5}) {
                const auto point = moved(origin, a, s + step, n, offset_mm + across, pixel_mm);
                sum += sample_bilinear(image, point[0], point[1]);
            }
        return sum / 9;
    };
    std::vector<double> central;
    for (double s = -8; s <= 8; s += 1) central.push_back(signal(s));
    const double wall = kWallFactor * median(central);
    if (wall <= 0) return std::nullopt;
    const double bright = bright_factor > 0 ? bright_factor * median(central) : std::numeric_limits<double>::infinity();
    auto wall_toward = [&](double direction) -> std::optional<double> {
        for (double s = 0; s <= kMaxWallSearchMm; s += 0.5) {
            const double value = signal(direction * s);
            if (value < wall || value > bright) return direction * s;
        }
        return std::nullopt;
    };
    const auto front = wall_toward(-1), back = wall_toward(1);
    if (!front || !back || *back - *front < kMinBodyDepthMm) return std::nullopt;
    return BodyWalls{*front, *back};
}

// Narrows the positions an endplate is read at to those within the body's walls, given in mm
// along the endplate from its centre: beyond them lie the canal (T1 dark, T2 bright: read as
// oedema) or the tissue in front of the body.
void keep_within_walls(EndplateLine& line, double front_mm, double back_mm) {
    while (line.first_in_body < line.last_in_body && position_mm(line.first_in_body) < front_mm + kWallMarginMm)
        ++line.first_in_body;
    while (line.last_in_body > line.first_in_body && position_mm(line.last_in_body) > back_mm - kWallMarginMm)
        --line.last_in_body;
}

// The endplate of the body above the disc (`above`) or below it, read across that body: the disc
// is first moved along itself to the body's middle, front to back, since a band's own centre
// drifts backward where the dark canal continues it (on phantom seeds 101-106, 127 of 797 bodies
// were reported more than 4 mm from their middle front to back, mostly behind it, and the grid's
// back columns read the canal: T1 dark, T2 bright, type 1). The body's middle is measured halfway
// to the next disc, where Modic changes do not reach. Where it lies too far to move to, the
// endplate keeps the band's centre. Either way only its positions within the body's walls are
// read: a body shallower than the 30 mm of positions (a small body, or one cut off its midline)
// would otherwise count the canal and the tissue in front of it as part of its endplate.
EndplateLine read_across_body(const Disc& disc, bool above, double spacing_mm, const SagittalPlane& plane) {
    auto walls = spacing_mm > 0 ? body_walls_along(*plane.image, {disc.x, disc.y}, disc.along(),
                                                   (above ? -0.5 : 0.5) * spacing_mm, plane.pixel_mm)
                                : std::nullopt;
    if (!walls) return endplate_of_disc(disc, above, plane);
    const double shift_mm = std::abs(walls->middle()) <= kMaxBodyShiftMm ? walls->middle() : 0.0;
    Disc centred = disc;
    centred.move(disc.along(), shift_mm, plane.pixel_mm);
    auto line = endplate_of_disc(centred, above, plane);
    keep_within_walls(line, walls->front - shift_mm, walls->back - shift_mm);
    return line;
}

// Each body's centre moved along its endplates to the middle between its front and back walls at
// mid-height, where they are clearest: the endplates' centres follow their discs' bands, which
// drift backward where the canal continues them (most at a steep L5/S1, whose band may lie 15 mm
// behind S1's middle). A body measured much deeper than the patient's usual body (S1 a little
// deeper still) has a wall missed (the prevertebral fat or the canal read as marrow) and keeps its
// centre, unless it is S1 and its walls are found where its marrow turns brighter
// (kBrightWallFactor). Only the bodies named in `which` are moved (all when empty); every body's
// depth counts toward the usual one.
void centre_between_walls(std::map<std::string, VertebraGeometry>& bodies, const SagittalPlane& plane,
                          const std::vector<std::string>& which = {}) {
    std::map<std::string, BodyWalls> measured;
    std::vector<double> depths;
    for (const auto& [label, body] : bodies)
        if (const auto walls = body_walls_along(*plane.image, body.centre, body.across, 0.0, plane.pixel_mm)) {
            measured[label] = *walls;
            depths.push_back(walls->depth());
        }
    if (depths.empty()) return;
    const double usual_depth = median(depths);
    auto plausible = [&](const std::optional<BodyWalls>& walls, double depth_factor) {
        return walls && walls->depth() <= depth_factor * usual_depth && std::abs(walls->middle()) <= kMaxCentreShiftMm;
    };
    for (auto& [label, body] : bodies) {
        if (!which.empty() && std::find(which.begin(), which.end(), label) == which.end()) continue;
        std::optional<BodyWalls> walls;
        if (const auto found = measured.find(label); found != measured.end()) walls = found->second;
        const bool sacral = label == "S1";
        if (!plausible(walls, sacral ? kMaxSacralDepthFactor : kMaxDepthFactor)) {
            if (!sacral) continue;
            walls = body_walls_along(*plane.image, body.centre, body.across, 0.0, plane.pixel_mm, kBrightWallFactor);
            if (!plausible(walls, kMaxDepthFactor)) continue;
        }
        body.centre = moved(body.centre, body.across, walls->middle(), plane.pixel_mm);
    }
}

double distance(const std::array<double, 2>& a, const std::array<double, 2>& b) {
    return std::hypot(a[0] - b[0], a[1] - b[1]);
}

// How far the line from `a` through `b` turns forward at `b` on its way to `c`, in degrees,
// going down the column (a, b, c from head to feet; plane x runs toward the back, y toward the
// feet, so a turn toward -x is forward).
double forward_turn_degrees(const std::array<double, 2>& a, const std::array<double, 2>& b,
                            const std::array<double, 2>& c) {
    const std::array<double, 2> in{b[0] - a[0], b[1] - a[1]}, out{c[0] - b[0], c[1] - b[1]};
    return std::atan2(in[0] * out[1] - in[1] * out[0], in[0] * out[0] + in[1] * out[1]) * 180.0 / std::numbers::pi;
}

// The column's line does not turn forward at its ends (from L5 to S1 it turns backward). A body
// seen by one endplate only at an end of the column whose centre, estimated from that endplate,
// turns the line through its two neighbours forward by more than kMaxForwardTurnDegrees was put
// there by an endplate fitted the wrong way (a steep L5/S1's band fitted at its front, short and
// tilted backward: S1 30-60 mm in front of its place on 17 phantoms). So was S1 seen by a short
// L5/S1 band (`short_lumbosacral`, given only for the lower end, whose body is S1: a band fitted
// at the front or the back of a wedge-shaped disc, at any tilt) where it lies more than
// kMaxLumbosacralOffMm from where the lumbosacral turn puts it: on the phantoms of 13 seeds with
// L4 and L5 right, S1 lay more than 10 mm off in 30 of 345, in 15 after this rule. A full-length
// L5/S1 band is trusted: a real sacrum may turn further than the phantoms'. Such a body is put one
// neighbour's spacing on, turned backward as the lumbosacral junction turns, with its
// front-to-back line across the column's. Returns the label of the body moved, or an empty
// string.
// `end_disc` is the chain's last disc (`downward`) or its first, `inner_disc` the one beside it.
std::string keep_end_body_on_the_column(std::map<std::string, VertebraGeometry>& bodies, const Disc& end_disc,
                                        const Disc& inner_disc, bool downward, bool short_lumbosacral,
                                        double pixel_mm) {
    const int outward = downward ? 1 : 0, inward = 1 - outward;  // index in vertebrae_of_disc
    const auto end = vertebrae_of_disc(end_disc.label)[outward];
    const auto neighbour = vertebrae_of_disc(end_disc.label)[inward];
    const auto next = vertebrae_of_disc(inner_disc.label)[inward];
    if (!bodies.count(end) || !bodies.count(neighbour) || !bodies.count(next)) return {};
    auto& body = bodies.at(end);
    const auto& near = bodies.at(neighbour).centre;
    const auto& far = bodies.at(next).centre;
    const std::array<double, 2> line{near[0] - far[0], near[1] - far[1]};
    const double length = std::hypot(line[0], line[1]);
    if (length <= 0) return {};  // neighbours at one point: no line to keep to
    // Going up the column, a turn that would be forward going down is backward.
    const double forward_degrees = (downward ? 1.0 : -1.0) * forward_turn_degrees(far, near, body.centre);
    // Rotating `line` toward +x (backward) is clockwise going down the image, anticlockwise going up.
    const double back = (downward ? -1.0 : 1.0) * kEndTurnDegrees * std::numbers::pi / 180.0;
    const std::array<double, 2> on_the_line{near[0] + line[0] * std::cos(back) - line[1] * std::sin(back),
                                            near[1] + line[0] * std::sin(back) + line[1] * std::cos(back)};
    const bool off_the_lumbosacral_turn =
        short_lumbosacral && distance(body.centre, on_the_line) * pixel_mm > kMaxLumbosacralOffMm;
    if (forward_degrees <= kMaxForwardTurnDegrees && !off_the_lumbosacral_turn) return {};
    body.centre = on_the_line;
    body.across = {(downward ? 1.0 : -1.0) * line[1] / length, (downward ? -1.0 : 1.0) * line[0] / length};
    return end;
}

// The centre of a body of which only `seen` is known: half its height inward from that endplate.
std::array<double, 2> centre_inward_of(const EndplateLine& seen, double height_mm, double pixel_mm) {
    return moved(seen.centre, seen.inward, height_mm / 2, pixel_mm);
}

// The endplate of an end body put on the column's line was the one fitted the wrong way: left
// there, it lies in front of the sacrum, and its marrow reads the pelvis's fat as a type 2 change
// (on the phantoms of 21 seeds, 11 false S1 changes outlined 25-48 mm from their body's centre).
// It is sought again where the body now lies: a band as thick as the neighbouring disc plus
// kSeekMarginMm either side (the misfitted band's edges are not the disc's, and the body's place
// is known to a few mm) is put beyond the body's end, across the column's line, and the endplate
// is found on its cortex there as any other. Where it is, the body is placed by it.
void seek_end_endplate_again(VertebraGeometry& body, Disc disc, const Disc& inner_disc, bool downward,
                             double spacing_mm, const SagittalPlane& plane) {
    disc.angle = std::atan2(body.across[1], body.across[0]);
    const double half_thickness = (inner_disc.lower_edge + inner_disc.upper_edge) / 2;  // edges: mm from the centre
    const double to_band_mm = (downward ? -1.0 : 1.0) * (body.height_mm / 2 + half_thickness);
    const auto at_band = moved(body.centre, disc.normal(), to_band_mm, plane.pixel_mm);
    disc.x = at_band[0], disc.y = at_band[1];
    disc.upper_edge = disc.lower_edge = half_thickness + kSeekMarginMm;
    auto& endplate = downward ? body.superior : body.inferior;
    endplate = read_across_body(disc, !downward, spacing_mm, plane);
    if (endplate->on_cortex) body.centre = centre_inward_of(*endplate, body.height_mm, plane.pixel_mm);
}

// Where disc `index` of the chain lies: midway between the endplates of its two bodies.
std::optional<std::array<double, 2>> disc_middle(const std::vector<Disc>& discs, std::size_t index,
                                                 const std::map<std::string, VertebraGeometry>& bodies) {
    const auto ends = endplates_across_disc(bodies, discs[index].label);
    if (!ends) return std::nullopt;
    const auto& [a, b] = *ends;
    return std::array<double, 2>{(a[0] + b[0]) / 2, (a[1] + b[1]) / 2};
}

// How far disc `index` lies from midway between its neighbours, along the chain, in mm: positive
// toward the feet. Nullopt at the chain's ends.
std::optional<double> disc_displacement_mm(const std::vector<Disc>& discs, std::size_t index,
                                           const std::map<std::string, VertebraGeometry>& bodies,
                                           double pixel_mm) {
    if (index == 0 || index + 1 >= discs.size()) return std::nullopt;
    const auto up = disc_middle(discs, index - 1, bodies), here = disc_middle(discs, index, bodies),
               down = disc_middle(discs, index + 1, bodies);
    if (!up || !here || !down) return std::nullopt;
    return (distance(*up, *here) - distance(*here, *down)) / 2 * pixel_mm;
}

// Puts back a disc drawn into a change beside it: the most displaced disc of the chain, when it
// lies more than kMaxDiscDisplacementMm from midway between its neighbours, is moved there along
// its normal and its endplates sought again. Once per disc, the most displaced first, since a
// displaced disc makes its neighbours look displaced by half as much. Returns whether any moved.
bool restore_displaced_endplates(std::vector<Disc>& discs, std::map<std::string, VertebraGeometry>& bodies,
                                 double spacing_mm, const SagittalPlane& plane) {
    std::vector<bool> restored(discs.size(), false);
    for (;;) {
        std::size_t worst = discs.size();
        double worst_mm = 0;
        for (std::size_t i = 0; i < discs.size(); ++i) {
            const auto displacement = disc_displacement_mm(discs, i, bodies, plane.pixel_mm);
            if (displacement && !restored[i] && std::abs(*displacement) > std::abs(worst_mm))
                worst = i, worst_mm = *displacement;
        }
        if (worst == discs.size() || std::abs(worst_mm) <= kMaxDiscDisplacementMm ||
            std::abs(worst_mm) > kMaxRestoredDisplacementMm)
            return std::find(restored.begin(), restored.end(), true) != restored.end();
        restored[worst] = true;
        auto& disc = discs[worst];
        disc.move(disc.normal(), -worst_mm, plane.pixel_mm);
        const auto [above, below] = vertebrae_of_disc(disc.label);
        bodies[above].inferior = read_across_body(disc, true, spacing_mm, plane);
        bodies[below].superior = read_across_body(disc, false, spacing_mm, plane);
    }
}

}  // namespace

std::array<double, 2> EndplateLine::at(int position, double inward_mm, double pixel_mm) const {
    return moved(centre, along, position_mm(position), inward, surface_mm[position] + inward_mm, pixel_mm);
}

namespace {

// Each body's height, centre and front-to-back line, from its endplates (which it leaves alone).
void place_bodies(std::map<std::string, VertebraGeometry>& bodies, const SpineLocalisation& spine,
                  const SagittalPlane& plane) {
    std::vector<double> heights;
    for (auto& [label, body] : bodies)
        if (body.superior && body.inferior) {
            body.height_mm = distance(body.superior->centre, body.inferior->centre) * plane.pixel_mm;
            heights.push_back(body.height_mm);
        }
    double typical = kTypicalBodyHeightMm;
    if (!heights.empty()) typical = median(heights);

    for (auto& [label, body] : bodies) {
        body.across = (body.superior ? *body.superior : *body.inferior).along;
        if (body.superior && body.inferior) {
            for (int i = 0; i < 2; ++i)
                body.centre[i] = (body.superior->centre[i] + body.inferior->centre[i]) / 2;
            continue;
        }
        // One endplate seen: the centre lies half a typical body height inward from it.
        body.height_mm = typical;
        body.centre = centre_inward_of(body.superior ? *body.superior : *body.inferior, typical, plane.pixel_mm);
    }
    // The column's line is drawn through centres already between their walls; a body put on it is
    // then centred between its own walls, measured across the line.
    centre_between_walls(bodies, plane);
    if (const auto& discs = spine.discs; discs.size() >= 2) {
        const auto& lowest = discs.back();
        const double spacing = median_spacing(discs, plane.pixel_mm);
        std::vector<std::string> put_on_the_line;
        for (const bool downward : {true, false}) {
            const auto& end_disc = downward ? lowest : discs.front();
            const auto& inner_disc = downward ? discs[discs.size() - 2] : discs[1];
            const auto moved = keep_end_body_on_the_column(bodies, end_disc, inner_disc, downward,
                                                           downward && fitted_short(lowest, discs), plane.pixel_mm);
            if (moved.empty()) continue;
            seek_end_endplate_again(bodies.at(moved), end_disc, inner_disc, downward, spacing, plane);
            put_on_the_line.push_back(moved);
        }
        if (!put_on_the_line.empty()) centre_between_walls(bodies, plane, put_on_the_line);
    }
}

}  // namespace

std::map<std::string, VertebraGeometry> vertebrae_from_discs(const SpineLocalisation& spine,
                                                             const SagittalPlane& plane) {
    std::map<std::string, VertebraGeometry> bodies;
    const double spacing = median_spacing(spine.discs, plane.pixel_mm);
    for (const auto& disc : spine.discs) {
        const auto [above, below] = vertebrae_of_disc(disc.label);
        bodies[above].label = above;
        bodies[above].inferior = read_across_body(disc, true, spacing, plane);
        bodies[below].label = below;
        bodies[below].superior = read_across_body(disc, false, spacing, plane);
    }
    place_bodies(bodies, spine, plane);
    return bodies;
}

void restore_displaced_discs(const SpineLocalisation& spine, std::map<std::string, VertebraGeometry>& bodies,
                             const SagittalPlane& plane) {
    auto discs = spine.discs;  // the chain keeps its bands as found
    if (restore_displaced_endplates(discs, bodies, median_spacing(spine.discs, plane.pixel_mm), plane))
        place_bodies(bodies, spine, plane);
}

bool lowest_disc_breaks_the_column(const SpineLocalisation& spine,
                                   const std::map<std::string, VertebraGeometry>& bodies) {
    const auto& discs = spine.discs;
    if (discs.size() < 4) return false;
    // The bodies above the three lowest discs: L3, L4 and L5 when the lowest is L5/S1.
    std::array<std::string, 3> labels;
    for (std::size_t i = 0; i < 3; ++i) labels[i] = vertebrae_of_disc(discs[discs.size() - 3 + i].label)[0];
    for (const auto& label : labels)
        if (!bodies.count(label)) return false;
    return forward_turn_degrees(bodies.at(labels[0]).centre, bodies.at(labels[1]).centre,
                                bodies.at(labels[2]).centre) > kMaxColumnBreakDegrees;
}

namespace {

// A unit direction of one plane in another's.
std::array<double, 2> map_direction(const std::array<double, 2>& direction, const SagittalPlane& from,
                                    const SagittalPlane& to) {
    const auto [dx, dy] = map_vector(direction, from, to);
    const double length = std::hypot(dx, dy);
    return length > 0 ? std::array<double, 2>{dx / length, dy / length} : direction;
}

EndplateLine map_endplate(const EndplateLine& line, const SagittalPlane& from, const SagittalPlane& to) {
    EndplateLine mapped = line;  // the cortex offsets are in millimetres: they carry over
    mapped.centre = map_point(line.centre, from, to);
    mapped.along = map_direction(line.along, from, to);
    mapped.inward = map_direction(line.inward, from, to);
    return mapped;
}

}  // namespace

// The depth, as a share of the body's height, to which a plane must show the marrow beside an
// endplate for that endplate to be read on it.
constexpr double kCoveredHeightFraction = 0.25;

std::optional<std::array<std::array<double, 2>, 2>> endplates_across_disc(
    const std::map<std::string, VertebraGeometry>& bodies, const std::string& disc_label) {
    const auto [above, below] = vertebrae_of_disc(disc_label);
    const auto upper = bodies.find(above), lower = bodies.find(below);
    if (upper == bodies.end() || lower == bodies.end() || !upper->second.inferior || !lower->second.superior)
        return std::nullopt;
    return std::array{upper->second.inferior->centre, lower->second.superior->centre};
}

std::map<std::string, VertebraGeometry> map_vertebrae(const std::map<std::string, VertebraGeometry>& bodies,
                                                      const SagittalPlane& from, const SagittalPlane& to) {
    auto covered = [&](const EndplateLine& line, double height_mm) {
        for (int position : {0, kEndplatePositions / 2, kEndplatePositions - 1})
            for (double depth : {0.0, height_mm * kCoveredHeightFraction}) {
                const auto point = line.at(position, depth, to.pixel_mm);
                if (sample_bilinear(*to.inside, point[0], point[1]) < 1.0) return false;
            }
        return true;
    };
    std::map<std::string, VertebraGeometry> mapped_bodies;
    for (const auto& [label, found] : bodies) {
        VertebraGeometry body{label, std::nullopt, std::nullopt, found.height_mm, map_point(found.centre, from, to)};
        for (auto [mapped, seen] : {std::pair{&body.superior, &found.superior},
                                    std::pair{&body.inferior, &found.inferior}}) {
            if (!*seen) continue;
            auto line = map_endplate(**seen, from, to);
            if (covered(line, body.height_mm)) *mapped = std::move(line);
        }
        if (body.superior || body.inferior) mapped_bodies[label] = std::move(body);
    }
    return mapped_bodies;
}

}  // namespace modic::core
