#include "analysis/spine_localiser.hpp"

#include <fmt/format.h>
#include <itkEuler2DTransform.h>
#include <itkResampleImageFilter.h>

#include <algorithm>
#include <cmath>
#include <numbers>
#include <numeric>
#include <optional>

#include "analysis/statistics.hpp"

namespace modic::core {
namespace {

// Geometry of the band detector, in millimetres. A disc with its endplates is a band 4-15 mm
// thick between two vertebral bodies 20-35 mm tall.
constexpr double kBandHalfLength = 16.0;  // along the disc
// Beyond the ends of a disc lie the canal and the prevertebral tissues, not another band: long
// straight edges (skin, fat planes, bowel walls) continue there and are penalised.
constexpr double kEndBoxOffset = 30.0, kEndBoxHalfLength = 6.0;
constexpr double kDiscHalfHeight = 3.0;
constexpr double kBodyBoxStart = 5.5;  // from the disc centre
constexpr double kBodyBoxEnd = 15.0;
constexpr double kMaxTiltDegrees = 60.0;
constexpr double kTiltStepDegrees = 6.0;
// Chain rules between neighbouring discs.
constexpr double kMinDiscSpacing = 20.0, kMaxDiscSpacing = 58.0;
constexpr double kMaxStepOffNormalDegrees = 35.0;
constexpr double kMaxTiltChangeDegrees = 50.0;
constexpr double kMinCandidateScore = 0.06;
// A band is a candidate where no stronger response of a similar tilt (closer than this) lies
// within 7 mm: a steep lumbosacral disc lies close to the stronger, differently tilted edges of
// the sacrum and the canal, which must not hide it.
constexpr double kPeakTiltDegrees = 20.0;
constexpr std::size_t kMaxCandidates = 80;
constexpr double kTissueReach = 45.0, kMinTissueSignal = 0.12;
// Chain repair: a gap this many times the usual spacing hides a missed disc; a missed disc beyond
// either end of the chain is accepted at this much contrast.
constexpr double kGapFactor = 1.6;
constexpr double kMinExtensionScore = 0.12;
// A thick dark band (a thin disc between two dark changes) beyond either end is accepted at this
// contrast (first chosen between 0.45, which mended 4 studies of 13 seeds and broke none, and
// 0.55; 0.5 left fresh seed 2000 case 1's L5/S1, at 0.49, unfound).
constexpr double kMinThickBandScore = 0.45;
// Sacral discs below S1 are rudiments, much shorter than lumbar discs.
constexpr double kSacralLengthFactor = 0.75;
// Lumbar discs are 30-50 mm deep; a chain of bands mostly shorter than this is the posterior
// elements or the canal, not the column.
constexpr double kMinColumnDiscLength = 15.0;
// A column is at least this many discs: L3/L4, L4/L5 and L5/S1.
constexpr std::size_t kMinColumnDiscs = 3;
constexpr double kSacralTurnDegrees = 10.0;
constexpr double kShortBandFactor = 0.6;
constexpr double kSacralContrastFactor = 0.5;
constexpr double kFaintBandFactor = 0.4;
constexpr double kWeakBandFactor = 0.75;  // of the column's median contrast
constexpr double kJunctionThicknessFactor = 0.5;  // of the column's median disc thickness
// A band at least kFullLengthFactor of the median length of the chain's bands is as long as the
// column's discs.
constexpr double kFullLengthFactor = 0.85;
// A lowest band further than kFarBandSpacing of the usual spacing from the band above is not L5/S1
// when it is paler than kPaleBandFactor of the column's median contrast, or shorter than a full
// disc: L5 is a lumbar body, as high as those above it, so L5/S1 lies about one spacing below
// L4/L5; a short band further on is the front of a sacral junction or the pelvis.
constexpr double kPaleBandFactor = 0.6, kFarBandSpacing = 1.25;
// A steep lumbosacral disc is a wedge, often fitted at its front: shorter than
// kShortLumbosacralFactor of the column's discs, its anterior end no lower than
// kMaxMisfitTiltDegrees. Below L5/S1 the sacrum turns backward: a lowest band more than
// kMaxForwardStepMm in front of such a band lies beyond L5/S1.
constexpr double kMaxForwardStepMm = 10.0, kShortLumbosacralFactor = 0.65, kMaxMisfitTiltDegrees = 5.0;
// A full-length band tilted forward by kLumbosacralTiltDegrees or more at the chain's lower end is
// read as L5/S1 (the lordosis turns it); the sacrum below it curves on forward, so a lowest band
// turned more than kMaxBackwardTurnDegrees backward from it is not a disc of the column.
constexpr double kLumbosacralTiltDegrees = 12.0, kMaxBackwardTurnDegrees = 20.0;
// L5/S1 lies on the sacrum's slope, its anterior end lower: on the phantoms of 21 seeds no L5/S1
// band's anterior end lay more than 12 degrees higher. A lowest band tilted back more than
// kMaxLumbosacralBackTiltDegrees lies beyond L5/S1, in front of a sacrum that curves backward.
// Its tilt is trusted only when it is as long as the column's discs (kFullLengthFactor): a
// wedge-shaped L5/S1 fitted at its front is read shorter and tilted the wrong way.
constexpr double kMaxLumbosacralBackTiltDegrees = 15.0;
// Below a steeper L5/S1 (kSteepLumbosacralTiltDegrees, full-length), a band shorter than the
// column's discs turned backward more than kMaxTurnBelowSteepDegrees is sacral too, and so is
// everything below it (twenty-seventh session, chosen on seeds 1701 case 10, 1801 case 20 and 1900
// case 5, which ran one or two levels past L5/S1: on the chains of 49 seeds, no band at the lower
// end of a right chain below a full-length band tilted 25 degrees or more was short and turned back
// more than 15).
constexpr double kSteepLumbosacralTiltDegrees = 25.0, kMaxTurnBelowSteepDegrees = 15.0;
// The column curves smoothly: the next disc lies about where the line through the two discs above
// it leads. A band more than kMaxFrontOffsetMm in front of that point and turned more than
// kMaxFrontTurnDegrees backward from the disc above lies in front of the column (vessels, the
// front of a disc's bulge), not on it. So does a band shorter than the column's discs more than
// kMaxShortFrontOffsetMm in front of the line through two full-length discs and turned more than
// kMinShortFrontTurnDegrees backward: the lordosis turns discs forward where the column curves
// forward (twenty-seventh session: on 47 seeds, 5 studies mended, 1 broken; without the turn and
// the full-length conditions 11 mended, 2 broken, and three of spider-dev's real columns were cut
// where the line ran through a short band, or a band fitted long, or the band was hardly turned).
constexpr double kMaxFrontOffsetMm = 15.0, kMaxFrontTurnDegrees = 15.0;
constexpr double kMaxShortFrontOffsetMm = 12.0, kMinShortFrontTurnDegrees = 5.0;
// The lordosis turns L5/S1 forward from L4/L5. A lowest band turned forward by
// kMinLumbosacralTurnDegrees or more from a band above that is flat or tilted back by at most
// kMaxFlatBackTiltDegrees (an L4/L5, not a lumbosacral disc), and at least kTurnedLumbosacralFactor
// of the column's median contrast, is L5/S1 however short, unless it lies beyond kFarBandSpacing:
// the sacrum's junctions are turned from an L5/S1 that already tilts forward, or tilted back with
// it where it was fitted the wrong way.
constexpr double kMinLumbosacralTurnDegrees = 20.0, kMaxFlatBackTiltDegrees = 20.0, kTurnedLumbosacralFactor = 0.6;
// Once a band is cut from the chain's lower end, the chain is extended again among the bands whose
// centres lie farther than this from it: the band cut is not taken again.
constexpr double kCutBandReachMm = 8.0;
// An endplate lies at most this many times the patient's usual disc half-thickness from the centre.
constexpr double kMaxEdgeFactor = 1.3;
// A chain is scored by its discs' contrast, capped so that one very contrasted structure cannot
// outweigh a regular column, less a penalty for irregular spacing between neighbours.
constexpr double kScoreCap = 0.5;
// Only the contrast above this counts toward a chain, so faint bands (sacral rudiments, noise)
// do not lengthen it; a faint disc inside the column is put back by fill_gaps.
constexpr double kGainOffset = 0.15;
// A second chain this far from the best, in front of it, at least this strong and with bands at
// least this long (shares of the best's), is the column (0.85 of the length until the
// twenty-seventh session: fresh seed 2301 case 28's column, bands of 28 mm against the posterior
// elements' 36, was passed over; bowel loops in front give shorter bands still, spider_251 0.55).
constexpr double kChainExclusionMm = 15.0, kAnteriorChainShare = 0.6, kAnteriorLengthShare = 0.75;
constexpr double kSpacingPenalty = 0.02;  // per mm of change in spacing
// Disc tilts from the patient's axial plane (positive: anterior end lower, as the lordosis tilts
// the lumbosacral disc). No disc tilts backward more than kMinDiscTilt or forward more than
// kMaxDiscTilt (the steepest lumbosacral discs: 62 on spider-dev, 54 on the phantoms): bands
// beyond are the column's front and back walls, the canal, or lie in front of the sacrum (the
// lowest band of the phantoms' chains that ran a level too far: 65-80 backward). Real L5/S1 bands
// fitted 30-50 degrees the wrong way were seen on the phantoms: the backward limit spares them.
constexpr double kMinDiscTilt = -60.0, kMaxDiscTilt = 75.0;
// Discs from L1/L2 to L4/L5 tilt less than this either way (at most 40 on the phantoms, 34 on
// spider-dev's real columns); a chain with a steeper one follows something else. Only bands of a
// lumbar disc's length (kMinColumnDiscLength) are judged: a band of a few millimetres fitted on
// a real disc may point anywhere.
constexpr double kMaxLumbarTilt = 50.0;
// The dark gap between two bodies (centre_discs_beside_dark_lesions): read every kGapStepMm up to
// kGapReachMm either side of a band's centre; its darkest signal within kGapCoreMm of the centre;
// each body's marrow from kGapMarrowFromMm on. A gap more than kLesionGapExtraMm wider than the
// patient's usual one and darker than kLesionGapDarkness of the usual darkest holds a dark lesion
// beside the disc; the disc is the brightest kDiscWindowMm of it.
constexpr double kGapStepMm = 0.5, kGapReachMm = 25.0, kGapCoreMm = 4.0, kGapMarrowFromMm = 8.0;
constexpr double kLesionGapExtraMm = 1.5, kLesionGapDarkness = 0.6, kDiscWindowMm = 8.0;

constexpr double deg(double degrees) { return degrees * std::numbers::pi / 180.0; }

// Summed-area table for box means in O(1).
class IntegralImage {
public:
    IntegralImage(const float* pixels, long width, long height) : width_(width), height_(height) {
        sums_.assign((width + 1) * (height + 1), 0.0);
        for (long y = 0; y < height; ++y) {
            double row = 0;
            for (long x = 0; x < width; ++x) {
                row += pixels[y * width + x];
                at(x + 1, y + 1) = at(x + 1, y) + row;
            }
        }
    }
    // Sum over the box [x0, x1) x [y0, y1), clipped to the image.
    double sum(long x0, long y0, long x1, long y1) const {
        x0 = std::clamp(x0, 0L, width_), x1 = std::clamp(x1, 0L, width_);
        y0 = std::clamp(y0, 0L, height_), y1 = std::clamp(y1, 0L, height_);
        if (x1 <= x0 || y1 <= y0) return 0;
        return at(x1, y1) - at(x0, y1) - at(x1, y0) + at(x0, y0);
    }

private:
    double& at(long x, long y) { return sums_[y * (width_ + 1) + x]; }
    double at(long x, long y) const { return sums_[y * (width_ + 1) + x]; }
    long width_, height_;
    std::vector<double> sums_;
};

PlaneImage::Pointer rotated(const PlaneImage::Pointer& image, double angle) {
    auto transform = itk::Euler2DTransform<double>::New();
    const auto size = image->GetLargestPossibleRegion().GetSize();
    itk::Point<double, 2> centre;
    centre[0] = (size[0] - 1) / 2.0;
    centre[1] = (size[1] - 1) / 2.0;
    transform->SetCenter(centre);
    transform->SetAngle(angle);
    auto resample = itk::ResampleImageFilter<PlaneImage, PlaneImage>::New();
    resample->SetInput(image);
    resample->SetTransform(transform);
    resample->SetReferenceImage(image);
    resample->UseReferenceImageOn();
    resample->SetDefaultPixelValue(0);
    resample->Update();
    return resample->GetOutput();
}

// The plane's typical soft-tissue/marrow signal: the 75th percentile of covered pixels.
double signal_scale(const SagittalPlane& plane) {
    const auto count = plane.image->GetLargestPossibleRegion().GetNumberOfPixels();
    const float* pixels = plane.image->GetBufferPointer();
    const float* inside = plane.inside->GetBufferPointer();
    std::vector<float> values;
    values.reserve(count);
    for (std::size_t i = 0; i < count; ++i)
        if (inside[i] > 0.5f && pixels[i] > 0) values.push_back(pixels[i]);
    if (values.empty()) return 1.0;
    auto quantile = values.begin() + values.size() * 3 / 4;
    std::nth_element(values.begin(), quantile, values.end());
    return std::max(1e-6, double(*quantile));
}

struct BandResponse {
    PlaneImage::Pointer score;  // best band contrast over all tilts
    PlaneImage::Pointer angle;  // the tilt that gave it
};

// Band contrast at every pixel and tilt: the disc box against the two body boxes beside it.
BandResponse band_response(const PlaneImage::Pointer& image, const PlaneImage::Pointer& inside,
                           PlaneContrast contrast, double pixel_mm) {
    const auto size = image->GetLargestPossibleRegion().GetSize();
    const long width = long(size[0]), height = long(size[1]);
    BandResponse best{PlaneImage::New(), PlaneImage::New()};
    for (auto& out : {best.score, best.angle}) {
        out->SetRegions(size);
        out->Allocate();
        out->FillBuffer(0);
    }
    const long half_length = std::lround(kBandHalfLength / pixel_mm);
    const long disc_half = std::lround(kDiscHalfHeight / pixel_mm);
    const long body_start = std::lround(kBodyBoxStart / pixel_mm);
    const long body_end = std::lround(kBodyBoxEnd / pixel_mm);

    // One response image serves every tilt: allocating one per tilt cost more than filling it.
    auto response = PlaneImage::New();
    response->SetRegions(size);
    response->Allocate();
    for (double tilt = -kMaxTiltDegrees; tilt <= kMaxTiltDegrees + 1e-9; tilt += kTiltStepDegrees) {
        const auto image_r = rotated(image, deg(tilt));
        const auto inside_r = rotated(inside, deg(tilt));
        const IntegralImage signal(image_r->GetBufferPointer(), width, height);
        const IntegralImage covered(inside_r->GetBufferPointer(), width, height);
        response->FillBuffer(0);
        float* out = response->GetBufferPointer();
        const long end_offset = std::lround(kEndBoxOffset / pixel_mm);
        const long end_half = std::lround(kEndBoxHalfLength / pixel_mm);
        const long margin = end_offset + end_half;
        // Band contrast of the box [x0, x1) centred on row y.
        auto band = [&](long x0, long x1, long y) {
            const double length = double(x1 - x0);
            const double disc = signal.sum(x0, y - disc_half, x1, y + disc_half + 1) /
                                (length * (2 * disc_half + 1));
            const double above = signal.sum(x0, y - body_end, x1, y - body_start) /
                                 (length * (body_end - body_start));
            const double below = signal.sum(x0, y + body_start, x1, y + body_end) /
                                 (length * (body_end - body_start));
            // Contrast relative to the bodies' own signal, so that dark marrow beside bright fat
            // scores as well as bright marrow does.
            const double bodies = std::max(std::min(above, below), 0.05);
            double value = (std::min(above, below) - disc) / bodies;  // disc darker than both
            if (contrast == PlaneContrast::Fluid)
                value = std::max(value, std::min(1.0, (disc - std::max(above, below)) / bodies));
            // Bodies on both sides look alike; a band at the edge of an organ does not.
            return value - std::abs(above - below) / bodies;
        };
        for (long y = body_end; y < height - body_end; ++y)
            for (long x = margin; x < width - margin; ++x) {
                const long x0 = x - half_length, x1 = x + half_length + 1;
                const double cover = covered.sum(x0, y - body_end, x1, y + body_end);
                if (cover < 0.98 * (x1 - x0) * 2 * body_end) continue;
                const double centre = band(x0, x1, y);
                if (centre <= 0) continue;
                const double ends = std::max(band(x - end_offset - end_half, x - end_offset + end_half + 1, y),
                                             band(x + end_offset - end_half, x + end_offset + end_half + 1, y));
                out[y * width + x] = float(centre - std::max(0.0, ends));
            }
        const auto back = rotated(response, -deg(tilt));
        const float* candidate = back->GetBufferPointer();
        float* score = best.score->GetBufferPointer();
        float* angle = best.angle->GetBufferPointer();
        for (long i = 0; i < width * height; ++i)
            if (candidate[i] > score[i]) score[i] = candidate[i], angle[i] = float(deg(tilt));
    }
    return best;
}

// Mean signal of the square of side 2*half centred at (x, y), over the pixels the slice covers;
// a square wholly outside the slice reads as tissue (nothing says it is air).
double mean_around(const SagittalPlane& plane, const PlaneImage& image, double x, double y, double half) {
    const auto size = image.GetLargestPossibleRegion().GetSize();
    double sum = 0;
    int count = 0;
    for (long py = std::lround(y - half); py <= std::lround(y + half); ++py)
        for (long px = std::lround(x - half); px <= std::lround(x + half); ++px) {
            if (px < 0 || py < 0 || px >= long(size[0]) || py >= long(size[1])) continue;
            if (plane.inside->GetPixel({{px, py}}) < 0.5f) continue;
            sum += image.GetPixel({{px, py}});
            ++count;
        }
    return count ? sum / count : 1.0;
}

// A lumbar disc lies deep in the trunk: behind it are the canal, the posterior elements and the
// back muscles, not air. This rejects the fat septa under the skin of the back, which look like
// discs up close. (In front, the field of view may end close to the spine.)
bool has_tissue_beyond_ends(const SagittalPlane& plane, const PlaneImage& normalised, const Disc& disc) {
    const auto beyond = moved(disc.centre(), disc.along(), kTissueReach, plane.pixel_mm);
    return mean_around(plane, normalised, beyond[0], beyond[1], 6.0 / plane.pixel_mm) >= kMinTissueSignal;
}

std::vector<Disc> disc_candidates(const BandResponse& response, const SagittalPlane& plane,
                                  const PlaneImage& normalised) {
    const double pixel_mm = plane.pixel_mm;
    const auto size = response.score->GetLargestPossibleRegion().GetSize();
    const long width = long(size[0]), height = long(size[1]);
    const float* score = response.score->GetBufferPointer();
    const float* angle = response.angle->GetBufferPointer();
    const long radius = std::lround(7.0 / pixel_mm);
    std::vector<Disc> candidates;
    for (long y = radius; y < height - radius; ++y)
        for (long x = radius; x < width - radius; ++x) {
            const float value = score[y * width + x];
            if (value < kMinCandidateScore) continue;
            const float tilt = angle[y * width + x];
            bool is_peak = true;
            for (long dy = -radius; dy <= radius && is_peak; ++dy)
                for (long dx = -radius; dx <= radius; ++dx)
                    if (score[(y + dy) * width + x + dx] > value &&
                        std::abs(angle[(y + dy) * width + x + dx] - tilt) < deg(kPeakTiltDegrees)) {
                        is_peak = false;
                        break;
                    }
            if (!is_peak) continue;
            Disc disc;
            disc.x = double(x), disc.y = double(y), disc.angle = tilt;
            disc.score = value;
            if (has_tissue_beyond_ends(plane, normalised, disc)) candidates.push_back(disc);
        }
    std::sort(candidates.begin(), candidates.end(),
              [](const Disc& a, const Disc& b) { return a.score > b.score; });
    if (candidates.size() > kMaxCandidates) candidates.resize(kMaxCandidates);
    return candidates;
}

// Whether `lower` may be the next disc below `upper`: spaced like discs, tilted alike, and the
// step between them running along both discs' normals. With `wedge_allowed`, a lower disc turned
// forward (its anterior end lower: the lordosis turns L5/S1 below a wedge-shaped L5) may be
// reached by a step between the two normals, far off each: the step is then measured against
// their bisector. Only forward turns: the chains that ran into the sacrum or in front of it
// when backward turns were allowed too (3 of the 13 seeds' phantoms, core/README.md).
bool may_follow(const Disc& upper, const Disc& lower, double pixel_mm, bool wedge_allowed = false) {
    const double dx = (lower.x - upper.x) * pixel_mm, dy = (lower.y - upper.y) * pixel_mm;
    const double distance = std::hypot(dx, dy);
    if (distance < kMinDiscSpacing || distance > kMaxDiscSpacing) return false;
    if (std::abs(upper.angle - lower.angle) > deg(kMaxTiltChangeDegrees)) return false;
    const double cos_limit = std::cos(deg(kMaxStepOffNormalDegrees));
    auto step_along = [&](std::array<double, 2> n) {
        return (dx * n[0] + dy * n[1]) / (distance * std::hypot(n[0], n[1])) >= cos_limit;
    };
    const auto n_upper = upper.normal(), n_lower = lower.normal();
    // In the canonical plane (x toward the back, y toward the feet) a disc's angle falls as its
    // anterior end drops.
    const bool turned_forward = lower.angle < upper.angle;
    if (wedge_allowed && turned_forward)
        return step_along({n_upper[0] + n_lower[0], n_upper[1] + n_lower[1]});
    return step_along(n_upper) && step_along(n_lower);
}

double spacing(const Disc& a, const Disc& b, double pixel_mm) {
    return std::hypot(b.x - a.x, b.y - a.y) * pixel_mm;
}

// What a band adds to a chain: its capped contrast above the floor, in proportion to its length
// up to a lumbar disc's. Short bands of bowel loops and vessels in front of the column, stepping
// forward along their steep normals, had outscored the column's last discs (phantoms: seed 106
// case 10, seed 400 case 2).
double chain_gain(const Disc& disc) {
    const double gain = std::min(disc.score, kScoreCap) - kGainOffset;
    return gain <= 0 ? gain : gain * std::min(1.0, disc.length / kMinColumnDiscLength);
}

// The chain of discs with the best score in which each disc may follow the one above. Dynamic
// programming over pairs (previous, current) so that the spacing of neighbours can be compared.
std::vector<Disc> best_chain(std::vector<Disc> candidates, double pixel_mm) {
    std::sort(candidates.begin(), candidates.end(),
              [](const Disc& a, const Disc& b) { return a.y < b.y; });
    const long count = long(candidates.size());
    if (count == 0) return {};
    auto gain = [&](long i) { return chain_gain(candidates[i]); };
    // total[i * count + j]: best chain ending with discs i then j (i == j: chain of one disc).
    constexpr double kUnreachable = -1e9;
    std::vector<double> total(count * count, kUnreachable);
    std::vector<long> previous(count * count, -1);
    for (long j = 0; j < count; ++j) total[j * count + j] = gain(j);
    for (long j = 0; j < count; ++j)
        for (long k = j + 1; k < count; ++k) {
            if (!may_follow(candidates[j], candidates[k], pixel_mm)) continue;
            const double step = spacing(candidates[j], candidates[k], pixel_mm);
            double best = total[j * count + j] + gain(k);
            long from = -1;
            for (long i = 0; i < j; ++i) {
                if (total[i * count + j] == kUnreachable) continue;
                const double change = std::abs(step - spacing(candidates[i], candidates[j], pixel_mm));
                const double value = total[i * count + j] + gain(k) - kSpacingPenalty * change;
                if (value > best) best = value, from = i;
            }
            total[j * count + k] = best;
            previous[j * count + k] = from;
        }
    const long best_state = long(std::max_element(total.begin(), total.end()) - total.begin());
    long j = best_state / count, k = best_state % count;
    std::vector<Disc> chain = {candidates[k]};
    while (j != k) {
        chain.push_back(candidates[j]);
        const long i = previous[j * count + k];
        k = j;
        j = i < 0 ? k : i;
    }
    std::reverse(chain.begin(), chain.end());
    return chain;
}


// Where a fitted band is read across, mm from its centre: the disc within `half`, the marrow
// from `body_from` to `body_to` on either side.
struct BandGeometry {
    double half, body_from, body_to;
};
// A disc: its middle 4 mm, the marrow 6-13 mm away.
constexpr BandGeometry kDiscBand{2.0, 6.0, 13.0};
// A thin, degenerated disc between two dark changes (sclerosis or oedema on both sides) is one
// dark band 15-30 mm thick, in which the disc band's marrow lies: its middle 12 mm, the marrow
// 12-22 mm away.
constexpr BandGeometry kThickBand{6.0, 12.0, 22.0};

// A disc's centre and directions, taken once for the many samples read along its band (their
// sines and cosines were a sixth of a study's time).
struct BandAxes {
    explicit BandAxes(const Disc& disc) : centre(disc.centre()), along(disc.along()), normal(disc.normal()) {}
    std::array<double, 2> centre, along, normal;
};

// The pixel `s` mm along the band and `t` mm along its normal from its centre; nothing outside
// the image.
std::optional<PlaneImage::IndexType> pixel_on_band(const PlaneImage& image, const BandAxes& band, double s, double t,
                                                   double pixel_mm) {
    const auto size = image.GetLargestPossibleRegion().GetSize();
    const auto point = moved(band.centre, band.along, s, band.normal, t, pixel_mm);
    const long px = std::lround(point[0]), py = std::lround(point[1]);
    if (px < 0 || py < 0 || px >= long(size[0]) || py >= long(size[1])) return std::nullopt;
    return PlaneImage::IndexType{{px, py}};
}

// Mean signal of a stretch of band: the disc's and the marrow's above and below.
struct BandSignal {
    double disc = 0, above = 0, below = 0;
};

// The band signal over [s_from, s_to] (mm) along the disc, sampled every s_step mm.
BandSignal band_signal(const PlaneImage& image, const Disc& disc, double s_from, double s_to,
                       double pixel_mm, double s_step = 1.0, const BandGeometry& geometry = kDiscBand) {
    const BandAxes band(disc);
    auto mean_across = [&](double from, double to) {
        double sum = 0;
        int count = 0;
        for (double t = from; t <= to; t += 1.0)
            for (double s = s_from; s <= s_to + 1e-9; s += s_step)
                if (const auto pixel = pixel_on_band(image, band, s, t, pixel_mm)) {
                    sum += image.GetPixel(*pixel);
                    ++count;
                }
        return count ? sum / count : 0.0;
    };
    return {mean_across(-geometry.half, geometry.half), mean_across(-geometry.body_to, -geometry.body_from),
            mean_across(geometry.body_from, geometry.body_to)};
}

// How much the band differs from the marrow on both sides, in units of that marrow.
double band_contrast(const BandSignal& band, PlaneContrast contrast) {
    const double bodies = std::max(std::min(band.above, band.below), 0.05);
    double value = (std::min(band.above, band.below) - band.disc) / bodies;
    if (contrast == PlaneContrast::Fluid)
        value = std::max(value, (band.disc - std::max(band.above, band.below)) / bodies);
    return value;
}

// Band contrast at offset s (mm) along the disc, read with short boxes across it.
double band_contrast_at(const PlaneImage& image, const Disc& disc, double s, PlaneContrast contrast,
                        double pixel_mm, const BandGeometry& geometry = kDiscBand) {
    return band_contrast(band_signal(image, disc, s - 2.0, s + 2.0, pixel_mm, 1.0, geometry), contrast);
}

// How well a trial band fits: its contrast over its central 16 mm, read every 2 mm.
constexpr double kCentralHalfMm = 8.0, kCentralStepMm = 2.0;
double central_contrast(const PlaneImage& image, const Disc& trial, PlaneContrast contrast, double pixel_mm,
                        const BandGeometry& geometry = kDiscBand) {
    return band_contrast(
        band_signal(image, trial, -kCentralHalfMm, kCentralHalfMm, pixel_mm, kCentralStepMm, geometry), contrast);
}

// The band detector tries tilts 6 degrees apart with short boxes, so a wedge-shaped lumbosacral
// disc may be found tilted 20 degrees or more off, and its band then looks short. The tilt is
// refined on the disc's central 16 mm. (Moving the band across as well drew it into a dark change
// beside the disc; asking the bodies on both sides to look alike, as the detector does, made the
// labelling of the phantoms worse.)
void refine_tilt(const PlaneImage& image, Disc& disc, PlaneContrast contrast, double pixel_mm) {
    constexpr double kTiltReach = 24.0, kTiltStep = 2.0;
    const double start = disc.angle;
    double best_value = central_contrast(image, disc, contrast, pixel_mm), best_angle = start;
    for (double tilt = -kTiltReach; tilt <= kTiltReach + 1e-9; tilt += kTiltStep) {
        disc.angle = start + deg(tilt);
        const double value = central_contrast(image, disc, contrast, pixel_mm);
        if (value > best_value) best_value = value, best_angle = disc.angle;
    }
    disc.angle = best_angle;
}

// Moves the disc's centre to the middle of its band and measures the band's length: the band
// detector, with its short boxes, may sit anywhere along a disc.
void centre_on_band(const PlaneImage& image, Disc& disc, PlaneContrast contrast, double pixel_mm,
                    const BandGeometry& geometry = kDiscBand) {
    constexpr double kReach = 35.0;
    std::vector<double> profile;
    for (double s = -kReach; s <= kReach; s += 1.0)
        profile.push_back(band_contrast_at(image, disc, s, contrast, pixel_mm, geometry));
    const long middle = long(kReach);
    const long peak = long(std::max_element(profile.begin() + middle - 10, profile.begin() + middle + 11) -
                           profile.begin());
    const double threshold = 0.35 * profile[peak];
    long first = peak, last = peak;
    while (first > 0 && profile[first - 1] > threshold) --first;
    while (last + 1 < long(profile.size()) && profile[last + 1] > threshold) ++last;
    disc.move(disc.along(), (first + last) / 2.0 - middle, pixel_mm);
    disc.length = double(last - first + 1);
}

// Fits a band found by the detector to the disc: its tilt, its position across and along. Across
// a thick disc the contrast hardly changes with the tilt (the disc's signal stays, the marrow
// boxes trade one body's signal for the other's), and the refinement may then turn the band
// across the disc: a band turned by kMinFitTurnDegrees or more that comes out shorter than
// kMinFitLengthShare of its length at the detector's tilt has left the disc, and the detector's
// tilt is kept (seed 101 case 26 of the phantoms: L3/L4 turned 26 degrees to a 5 mm band, the
// column broke there and a chain of bowel loops in front of it was taken).
constexpr double kMinFitTurnDegrees = 10.0, kMinFitLengthShare = 0.5;
void fit_to_band(const PlaneImage& image, Disc& disc, PlaneContrast contrast, double pixel_mm) {
    Disc at_detected_tilt = disc;
    for (int pass = 0; pass < 2; ++pass) {
        refine_tilt(image, disc, contrast, pixel_mm);
        centre_on_band(image, disc, contrast, pixel_mm);
    }
    // The band at the detector's tilt is measured only where the fit turned it enough to matter.
    if (std::abs(disc.angle - at_detected_tilt.angle) < deg(kMinFitTurnDegrees)) return;
    centre_on_band(image, at_detected_tilt, contrast, pixel_mm);
    if (disc.length < kMinFitLengthShare * at_detected_tilt.length) disc = at_detected_tilt;
}

// The strongest response within `radius` pixels of (x, y) that may follow or precede `anchor`.
std::optional<Disc> best_response_near(const BandResponse& response, double x, double y,
                                       double radius) {
    const auto size = response.score->GetLargestPossibleRegion().GetSize();
    std::optional<Disc> best;
    for (long py = std::lround(y - radius); py <= std::lround(y + radius); ++py)
        for (long px = std::lround(x - radius); px <= std::lround(x + radius); ++px) {
            if (px < 0 || py < 0 || px >= long(size[0]) || py >= long(size[1])) continue;
            if (std::hypot(px - x, py - y) > radius) continue;
            const float value = response.score->GetPixel({{px, py}});
            if (!best || value > best->score) {
                best = Disc{};
                best->x = double(px), best->y = double(py), best->score = value;
                best->angle = response.angle->GetPixel({{px, py}});
            }
        }
    return best;
}

// Whether the slice covers the corners of the part of `disc`'s band read over [-half, half] mm
// along it, marrow included.
bool slice_covers_band(const SagittalPlane& plane, const Disc& disc, double half, const BandGeometry& geometry) {
    const BandAxes band(disc);
    for (double s : {-half, half})
        for (double t : {-geometry.body_to, geometry.body_to}) {
            const auto pixel = pixel_on_band(*plane.inside, band, s, t, plane.pixel_mm);
            if (!pixel || plane.inside->GetPixel(*pixel) < 0.5f) return false;
        }
    return true;
}

// The thick dark band (kThickBand) best contrasted within `radius` pixels of (x, y), at tilts
// within kMaxTiltChangeDegrees of `anchor`'s, read on its central 16 mm where the slice covers
// it; centred along itself and its length measured as a disc's band is.
std::optional<Disc> thick_band_near(const PlaneImage& image, const SagittalPlane& plane, const Disc& anchor,
                                    double x, double y, double radius, PlaneContrast contrast) {
    constexpr double kTiltStep = 4.0;
    const double pixel_mm = plane.pixel_mm;
    std::optional<Disc> best;
    Disc trial;
    for (double tilt = -kMaxTiltChangeDegrees; tilt <= kMaxTiltChangeDegrees + 1e-9; tilt += kTiltStep)
        for (long py = std::lround(y - radius); py <= std::lround(y + radius); ++py)
            for (long px = std::lround(x - radius); px <= std::lround(x + radius); ++px) {
                if (std::hypot(px - x, py - y) > radius) continue;
                trial.x = double(px), trial.y = double(py), trial.angle = anchor.angle + deg(tilt);
                if (!slice_covers_band(plane, trial, kCentralHalfMm, kThickBand)) continue;
                trial.score = central_contrast(image, trial, contrast, pixel_mm, kThickBand);
                if (!best || trial.score > best->score) best = trial;
            }
    if (best) centre_on_band(image, *best, contrast, pixel_mm, kThickBand);
    return best;
}

double median_length(const std::vector<Disc>& chain) {
    std::vector<double> lengths;
    for (const auto& disc : chain) lengths.push_back(disc.length);
    return median(lengths);
}

// How far a disc tilts from the patient's axial plane, in degrees (sign as for kMinDiscTilt).
double axial_tilt_degrees(const Disc& disc, const SagittalPlane& plane) {
    const auto a = disc.along();
    const PointMm from = plane.to_patient(disc.x, disc.y);
    const PointMm to = plane.to_patient(disc.x + a[0], disc.y + a[1]);
    // LPS: along() runs anterior -> posterior (+y); an anterior end lower means +z toward the back.
    // A band is a line: its tilt is folded into [-90, 90].
    const double tilt = std::atan2(to[2] - from[2], to[1] - from[1]) * 180.0 / std::numbers::pi;
    return tilt > 90 ? tilt - 180 : tilt < -90 ? tilt + 180 : tilt;
}

bool tilts_like_a_disc(const Disc& disc, const SagittalPlane& plane) {
    const double tilt = axial_tilt_degrees(disc, plane);
    return tilt >= kMinDiscTilt && tilt <= kMaxDiscTilt;
}

std::vector<Disc> tilted_like_discs(const std::vector<Disc>& bands, const SagittalPlane& plane) {
    std::vector<Disc> kept;
    for (const auto& band : bands)
        if (tilts_like_a_disc(band, plane)) kept.push_back(band);
    return kept;
}

// Inserts the discs missed in gaps of about twice the usual spacing; returns whether it did.
bool fill_gaps(std::vector<Disc>& chain, const BandResponse& response, const PlaneImage& normalised,
               PlaneContrast contrast, const SagittalPlane& plane) {
    const double pixel_mm = plane.pixel_mm;
    const double usual = median_spacing(chain, pixel_mm);
    const std::size_t before = chain.size();
    for (std::size_t i = 1; i < chain.size(); ++i) {
        if (spacing(chain[i - 1], chain[i], pixel_mm) < kGapFactor * usual) continue;
        const double x = (chain[i - 1].x + chain[i].x) / 2, y = (chain[i - 1].y + chain[i].y) / 2;
        auto missed = best_response_near(response, x, y, 0.25 * usual / pixel_mm);
        if (!missed || missed->score <= 0) continue;
        fit_to_band(normalised, *missed, contrast, pixel_mm);
        if (!tilts_like_a_disc(*missed, plane)) continue;
        chain.insert(chain.begin() + long(i), *missed);
        ++i;
    }
    return chain.size() > before;
}

// Whether a thick band found where a disc should be is contrasted, long and tilted enough to be
// that disc.
bool thick_band_of_a_disc(const Disc& thick, const SagittalPlane& plane) {
    return thick.score >= kMinThickBandScore && thick.length >= kMinColumnDiscLength && tilts_like_a_disc(thick, plane);
}

// The extension's search reach, in usual spacings, around the point one spacing on; failing all
// else, a band of a lumbar disc's length is sought as far as kWideReach off.
constexpr double kNearReach = 0.3, kWideReach = 0.8;

// The strongest of `candidates` within `reach` pixels of (x, y), at least `min_length` mm long,
// contrasted enough to extend a chain, that `follows`.
template <typename Follows>
const Disc* strongest_following(const std::vector<Disc>& candidates, double x, double y, double reach,
                                double min_length, const Follows& follows) {
    const Disc* next = nullptr;
    for (const auto& candidate : candidates) {
        if (std::hypot(candidate.x - x, candidate.y - y) > reach || candidate.length < min_length) continue;
        if (candidate.score < kMinExtensionScore || (next && next->score >= candidate.score)) continue;
        if (follows(candidate)) next = &candidate;
    }
    return next;
}

// Whether `lower`, following the chain's discs `upper2` then `upper`, lies in front of the column
// rather than on it: well forward of where the line through the two leads, and turned backward; or,
// shorter than the column's discs (`usual_length` their median), forward of where the line through
// two full-length discs leads, and turned backward by more than the detector's uncertainty.
// The line is drawn only through bands of a lumbar disc's length: a short band's place along
// itself is uncertain (seed 105 case 4: a 5 mm L3/L4 band 16 mm behind its disc put the real
// L4/L5 below it 27 mm "in front").
bool in_front_of_column(const Disc& upper2, const Disc& upper, const Disc& lower, double usual_length,
                        const SagittalPlane& plane) {
    if (upper2.length < kMinColumnDiscLength || upper.length < kMinColumnDiscLength) return false;
    const double ax = upper.x - upper2.x, ay = upper.y - upper2.y;
    const double step = std::hypot(ax, ay);
    if (step <= 0) return false;
    // Where the line leads, and the direction across it toward the back (+x in the plane).
    const double lead_x = upper.x + ax, lead_y = upper.y + ay;
    double back_x = -ay / step, back_y = ax / step;
    if (back_x < 0) back_x = -back_x, back_y = -back_y;
    const double offset_mm = ((lower.x - lead_x) * back_x + (lower.y - lead_y) * back_y) * plane.pixel_mm;
    const double turn = axial_tilt_degrees(lower, plane) - axial_tilt_degrees(upper, plane);
    const bool full_length_line = std::min(upper2.length, upper.length) >= kFullLengthFactor * usual_length;
    const bool short_band = lower.length < kFullLengthFactor * usual_length;
    return (offset_mm < -kMaxFrontOffsetMm && turn < -kMaxFrontTurnDegrees) ||
           (full_length_line && short_band && offset_mm < -kMaxShortFrontOffsetMm && turn < -kMinShortFrontTurnDegrees);
}

// Whether `lower` may be the next disc down after the chain's discs `upper2` then `upper`: it may
// follow `upper` (turned forward between the two normals only when as long as a lumbar disc) and
// does not lie in front of the column.
bool follows_down(const Disc& upper2, const Disc& upper, const Disc& lower, double usual_length,
                  const SagittalPlane& plane) {
    return may_follow(upper, lower, plane.pixel_mm, lower.length >= kMinColumnDiscLength) &&
           !in_front_of_column(upper2, upper, lower, usual_length, plane);
}

// Follows the column beyond the chain's ends while a disc shows where the next one should be.
// The next disc is the strongest candidate there that may follow the end one (the strongest
// band response there may be a facet joint or the canal's wall at another tilt); failing one,
// a thick band, then the strongest response there, fitted, if it may follow; failing all, the
// strongest candidate of a lumbar disc's length farther off (an end disc fitted at the edge of
// a change beside it leaves the next disc more than a third of a spacing from where it is
// sought).
void extend_chain(std::vector<Disc>& chain, const std::vector<Disc>& candidates, const BandResponse& response,
                  const PlaneImage& normalised, PlaneContrast contrast, const SagittalPlane& plane) {
    const double pixel_mm = plane.pixel_mm;
    const double usual_mm = median_spacing(chain, pixel_mm), usual = usual_mm / pixel_mm;
    const double usual_length = median_length(chain);
    for (bool downward : {true, false}) {
        while (chain.size() >= 2) {
            const Disc& end = downward ? chain.back() : chain.front();
            // The next disc lies along the end disc's normal, one usual spacing on (the last step
            // may be stretched by a disc whose band merges with a change beside it).
            const auto [x, y] = moved(end.centre(), end.normal(), (downward ? 1.0 : -1.0) * usual_mm, pixel_mm);
            // A band shorter than a lumbar disc has too uncertain a tilt to be let turn forward
            // off the end disc's normal (a 6 mm band so taken ran a chain into the sacrum).
            auto follows = [&](const Disc& disc) {
                if (!downward) return may_follow(disc, end, pixel_mm, disc.length >= kMinColumnDiscLength);
                return follows_down(chain[chain.size() - 2], end, disc, usual_length, plane);
            };
            const Disc* next = strongest_following(candidates, x, y, kNearReach * usual, 0.0, follows);
            // A thin disc between two dark changes is no disc band at all (its marrow boxes lie in
            // the changes): a thick dark band there, clearly darker than the marrow beyond it and
            // as long as a lumbar disc. Sought before a weak response, which there is the edge of
            // one of the changes. Only from an end disc of a lumbar disc's length: from a short
            // band (the front or back of a steep L5/S1), where the next disc is sought is as
            // uncertain as the band's tilt, and a thick band there lies in the sacrum (seed 401
            // case 2, seed 901 case 24).
            std::optional<Disc> thick;
            if (!next && end.length >= kMinColumnDiscLength) {
                thick = thick_band_near(normalised, plane, end, x, y, kNearReach * usual, contrast);
                if (thick && thick_band_of_a_disc(*thick, plane) && follows(*thick)) next = &*thick;
            }
            // A thin, dark lower disc may respond too weakly to be among the candidates: the
            // strongest response there, fitted, is taken if it may follow.
            std::optional<Disc> weaker;
            if (!next) {
                weaker = best_response_near(response, x, y, kNearReach * usual);
                if (weaker && weaker->score >= kMinExtensionScore) {
                    fit_to_band(normalised, *weaker, contrast, pixel_mm);
                    if (follows(*weaker) && tilts_like_a_disc(*weaker, plane)) next = &*weaker;
                }
            }
            if (!next)
                next = strongest_following(candidates, x, y, kWideReach * usual, kMinColumnDiscLength, follows);
            if (!next) break;
            // `next` points into `candidates`, `weaker` or `thick`, never into the chain being grown.
            if (downward) chain.push_back(*next);
            else chain.insert(chain.begin(), *next);
        }
    }
}

// A disc between two dark changes (sclerosis or oedema on both sides) has little band contrast of
// its own, and a short band beside it, in front of it or a fragment of it, chains in its place
// (fresh seed 2301 case 27: a 10 mm band 13 mm in front of an L3/L4 between two sclerotic
// changes, and the chain below it went astray). So where the chain holds a band shorter than a
// lumbar disc below two that are not, the thick band one spacing below the disc above, sought as
// the extension seeks it, takes its place when it is as long as a lumbar disc and follows as the
// extension's next disc must. The bands below stay while the first of them may follow it.
void take_thick_band_for_short_one(std::vector<Disc>& chain, const PlaneImage& normalised, PlaneContrast contrast,
                                   const SagittalPlane& plane) {
    const double pixel_mm = plane.pixel_mm;
    const double usual_mm = median_spacing(chain, pixel_mm), usual_length = median_length(chain);
    for (std::size_t k = 2; k < chain.size(); ++k) {
        const Disc& upper = chain[k - 1];
        if (chain[k].length >= kMinColumnDiscLength || upper.length < kMinColumnDiscLength ||
            chain[k - 2].length < kMinColumnDiscLength)
            continue;
        const auto [x, y] = moved(upper.centre(), upper.normal(), usual_mm, pixel_mm);
        auto thick = thick_band_near(normalised, plane, upper, x, y, kNearReach * usual_mm / pixel_mm, contrast);
        if (!thick || !thick_band_of_a_disc(*thick, plane) ||
            !follows_down(chain[k - 2], upper, *thick, usual_length, plane))
            continue;
        chain[k] = *thick;
        if (k + 1 < chain.size() && !may_follow(chain[k], chain[k + 1], pixel_mm, true))
            chain.erase(chain.begin() + long(k) + 1, chain.end());
    }
}

// A Modic change beside a disc can carry the disc's own signal (oedema is dark on T1 and bright
// on T2 like a disc): the measured edge then runs into the marrow. A patient's discs are of
// similar thickness, so an edge far beyond the usual one is set back to it.
void limit_disc_edges(std::vector<Disc>& chain) {
    std::vector<double> edges;
    for (const auto& disc : chain) edges.insert(edges.end(), {disc.upper_edge, disc.lower_edge});
    if (edges.empty()) return;
    const double limit = kMaxEdgeFactor * median(edges);
    for (auto& disc : chain) {
        disc.upper_edge = std::min(disc.upper_edge, limit);
        disc.lower_edge = std::min(disc.lower_edge, limit);
    }
}

// Whether a band of a lumbar disc's length tilts further than any disc from L1/L2 to L4/L5.
bool too_steep_for_a_lumbar_disc(const Disc& disc, const SagittalPlane& plane) {
    return disc.length >= kMinColumnDiscLength && std::abs(axial_tilt_degrees(disc, plane)) > kMaxLumbarTilt;
}

// Whether `lower` is turned forward from `upper` as L5/S1 is from L4/L5 (kMinLumbosacralTurnDegrees
// or more) and `upper` lies flat or tilted back (by at most kMaxFlatBackTiltDegrees), as L4/L5 does.
bool turned_from_a_flat_disc(const Disc& lower, const Disc& upper, const SagittalPlane& plane) {
    const double upper_tilt = axial_tilt_degrees(upper, plane);
    return upper_tilt <= 0.0 && upper_tilt >= -kMaxFlatBackTiltDegrees &&
           axial_tilt_degrees(lower, plane) - upper_tilt >= kMinLumbosacralTurnDegrees;
}

// Why the labelled chain cannot be the lumbar column, or empty when it can.
std::string implausible_column(const std::vector<Disc>& discs, const SagittalPlane& plane) {
    for (const auto& disc : discs) {
        if (disc.label == "L5/S1" || disc.label.find('L') != 0) continue;  // L1/L2 .. L4/L5
        if (too_steep_for_a_lumbar_disc(disc, plane))
            return fmt::format("no plausible lumbar column on the mid-sagittal image (the band taken for {} "
                               "tilts {:.0f} degrees from the axial plane; lumbar discs tilt less than {:.0f})",
                               disc.label, std::abs(axial_tilt_degrees(disc, plane)), kMaxLumbarTilt);
    }
    return {};
}

double chain_strength(const std::vector<Disc>& chain) {
    double total = 0;
    for (const auto& disc : chain) total += chain_gain(disc);
    return total;
}

double mean_x(const std::vector<Disc>& chain) {
    double sum = 0;
    for (const auto& disc : chain) sum += disc.x;
    return chain.empty() ? 0 : sum / double(chain.size());
}

// The vertebral bodies are the most anterior periodic structure of the back: the spinous
// processes and facets behind the canal also form a chain of bands, mostly shorter than the discs
// but not always (fresh seeds 1100-1101: 33 mm against the discs' 29 and 32). When a second chain
// nearly as strong, of bands nearly as long, runs in front of the best one, it is the column.
// (Bowel loops in front of the spine chain too, in bands much shorter: spider_251, 16 mm against
// 29.)
std::vector<Disc> column_chain(const std::vector<Disc>& candidates, const SagittalPlane& plane) {
    const double pixel_mm = plane.pixel_mm;
    auto best = best_chain(candidates, pixel_mm);
    std::vector<Disc> others;
    for (const auto& candidate : candidates) {
        bool near_best = false;
        for (const auto& disc : best)
            near_best |= std::hypot(candidate.x - disc.x, candidate.y - disc.y) * pixel_mm < kChainExclusionMm;
        if (!near_best) others.push_back(candidate);
    }
    auto second = best_chain(others, pixel_mm);
    const bool in_front = mean_x(second) < mean_x(best) - kChainExclusionMm / pixel_mm;
    // Steep bands side by side also chain, each along the other's normal, across the image (seed
    // 1200 case 23: four bands tilted 64-72 degrees in front of the column): such a chain is no
    // column. Its lowest band may be a steep L5/S1.
    const bool tilted_like_a_column =
        std::none_of(second.begin(), second.end() - (second.empty() ? 0 : 1),
                     [&](const Disc& disc) { return too_steep_for_a_lumbar_disc(disc, plane); });
    if (second.size() >= 4 && in_front && tilted_like_a_column &&
        median_length(second) >= kAnteriorLengthShare * median_length(best) &&
        chain_strength(second) >= kAnteriorChainShare * chain_strength(best))
        return second;
    return best;
}

// Mean signal across the disc's central part at `offset` mm along its normal.
double profile_at(const PlaneImage& image, const Disc& disc, double offset, double pixel_mm) {
    const BandAxes band(disc);
    double sum = 0;
    int count = 0;
    for (double s = -8.0; s <= 8.0; s += 1.0)
        if (const auto pixel = pixel_on_band(image, band, s, offset, pixel_mm)) {
            sum += image.GetPixel(*pixel);
            ++count;
        }
    return count ? sum / count : 0.0;
}

// Where the disc's signal gives way to marrow above and below: the endplates.
void measure_disc_edges(const PlaneImage& image, Disc& disc, double pixel_mm) {
    const double centre = profile_at(image, disc, 0, pixel_mm);
    for (int direction : {-1, 1}) {
        const double body = profile_at(image, disc, direction * 12.0, pixel_mm);
        const double halfway = (centre + body) / 2;
        double edge = 3.0;
        for (double offset = 1.0; offset <= 9.0; offset += 0.5) {
            const double value = profile_at(image, disc, direction * offset, pixel_mm);
            edge = offset;
            if ((body > centre && value >= halfway) || (body <= centre && value <= halfway)) break;
        }
        (direction < 0 ? disc.upper_edge : disc.lower_edge) = edge;
    }
}

// The dark gap between the two bodies beside a disc on T1: from where the marrow above gives way
// to where the marrow below begins (halfway between the gap's darkest signal near the band's
// centre and each body's marrow), in mm along the disc's normal; its profile, kept for re-centring.
struct DarkGap {
    double from = 0, to = 0;  // offsets from the band's centre, mm
    double darkest = 0;
    std::vector<double> profile;  // profile_at every kGapStepMm from -kGapReachMm

    double width() const { return to - from; }
    double at(double offset) const { return profile[std::size_t(std::lround((offset + kGapReachMm) / kGapStepMm))]; }
};

DarkGap dark_gap(const PlaneImage& image, const Disc& disc, double pixel_mm) {
    DarkGap gap;
    for (double t = -kGapReachMm; t <= kGapReachMm + 1e-9; t += kGapStepMm)
        gap.profile.push_back(profile_at(image, disc, t, pixel_mm));
    gap.darkest = gap.at(0);
    for (double t = -kGapCoreMm; t <= kGapCoreMm; t += kGapStepMm) gap.darkest = std::min(gap.darkest, gap.at(t));
    for (int direction : {-1, 1}) {
        std::vector<double> marrow;
        for (double t = kGapMarrowFromMm; t <= kGapReachMm; t += kGapStepMm) marrow.push_back(gap.at(direction * t));
        const double halfway = (gap.darkest + quantile(marrow, 0.75)) / 2;
        double edge = kGapReachMm;
        for (double t = 0; t <= kGapReachMm; t += kGapStepMm)
            if (gap.at(direction * t) >= halfway) {
                edge = t;
                break;
            }
        (direction < 0 ? gap.from : gap.to) = direction * edge;
    }
    return gap;
}

// The middle of the brightest stretch of a disc's thickness within the gap, from the band's centre.
double brightest_disc_stretch(const DarkGap& gap) {
    double brightest = -1, middle = 0;
    for (double centre = gap.from + kDiscWindowMm / 2; centre <= gap.to - kDiscWindowMm / 2; centre += kGapStepMm) {
        std::vector<double> stretch;
        for (double t = centre - kDiscWindowMm / 2; t <= centre + kDiscWindowMm / 2; t += kGapStepMm) stretch.push_back(gap.at(t));
        const double mean = std::accumulate(stretch.begin(), stretch.end(), 0.0) / double(stretch.size());
        if (mean > brightest) brightest = mean, middle = centre;
    }
    return middle;
}

// Sclerosis beside a disc (Modic type 3) is darker on T1 than the disc itself, so the band is
// centred on the sclerosis, the disc's far cortex lies beyond the reach of the endplate search and
// the endplate is put past the lesion (on the phantoms, 25 of 77 discs beside sclerosis lay more
// than 3 mm off). Such a disc's gap between the bodies is wider and much darker than the
// patient's usual gap; its centre is moved to the brightest stretch of a disc's thickness within
// the gap: the disc. A dark disc (vacuum, calcification) is not wider than the others and stays.
void centre_discs_beside_dark_lesions(const PlaneImage& image, std::vector<Disc>& chain, double pixel_mm) {
    if (chain.size() < 3) return;
    std::vector<DarkGap> gaps;
    std::vector<double> widths, darkest;
    for (const auto& disc : chain) {
        gaps.push_back(dark_gap(image, disc, pixel_mm));
        widths.push_back(gaps.back().width());
        darkest.push_back(gaps.back().darkest);
    }
    const double usual_width = median(widths), usual_darkest = median(darkest);
    for (std::size_t i = 0; i < chain.size(); ++i) {
        const auto& gap = gaps[i];
        if (gap.width() <= usual_width + kLesionGapExtraMm || gap.darkest >= kLesionGapDarkness * usual_darkest) continue;
        chain[i].move(chain[i].normal(), brightest_disc_stretch(gap), pixel_mm);
    }
}

// Labels from the bottom up: the lowest disc of the chain is L5/S1.
void label_discs(std::vector<Disc>& discs) {
    static const char* const kLabels[] = {"L5/S1",   "L4/L5",   "L3/L4",  "L2/L3",
                                          "L1/L2",   "T12/L1",  "T11/T12", "T10/T11",
                                          "T9/T10",  "T8/T9"};
    std::size_t from_bottom = 0;
    for (auto disc = discs.rbegin(); disc != discs.rend(); ++disc, ++from_bottom)
        disc->label = from_bottom < std::size(kLabels) ? kLabels[from_bottom] : "";
    std::erase_if(discs, [](const Disc& disc) { return disc.label.empty(); });
}

// The chain labelled from the bottom up and judged as the lumbar column: `spine` then holds its
// discs or, when the chain cannot be the column, why and no disc.
void take_as_column(SpineLocalisation& spine, std::vector<Disc> chain, const SagittalPlane& plane) {
    label_discs(chain);
    // Fewer discs than three would be read as L4/L5 and L5/S1 wherever they lie.
    spine.failure = chain.size() < kMinColumnDiscs
                        ? fmt::format("no vertebral column found on the mid-sagittal image ({} discs left once "
                                      "the chain was judged; at least {} are needed)",
                                      chain.size(), kMinColumnDiscs)
                        : implausible_column(chain, plane);
    spine.discs = spine.failure.empty() ? std::move(chain) : std::vector<Disc>{};
}

// The chain's ends: followed on while a disc shows where the next one should be, their discs'
// edges measured, then cut back while the band there is no disc of the column.
struct ChainEnds {
    const BandResponse& response;
    const PlaneImage& normalised;
    PlaneContrast contrast;
    const SagittalPlane& plane;

    // Returns the bands cut from the lower end.
    std::vector<Disc> extend_and_trim(std::vector<Disc>& chain, const std::vector<Disc>& candidates) const {
        extend_chain(chain, candidates, response, normalised, contrast, plane);
        if (contrast == PlaneContrast::T1) centre_discs_beside_dark_lesions(normalised, chain, plane.pixel_mm);
        for (auto& disc : chain) measure_disc_edges(normalised, disc, plane.pixel_mm);
        limit_disc_edges(chain);
        return trim_chain_ends(chain, plane);
    }

    // A gap left once the ends are trimmed. The chain was first filled while it still ran into
    // the sacrum, whose wide spacings raised the usual one (fresh seed 2501 case 16: L4/L5 was
    // skipped, a step of 54 mm against a median of 38, 33 once the sacral band was cut). The disc
    // put in is measured as the others were; it is not moved off a dark change beside it.
    void fill_gaps_left(std::vector<Disc>& chain) const {
        if (!fill_gaps(chain, response, normalised, contrast, plane)) return;
        for (auto& disc : chain) measure_disc_edges(normalised, disc, plane.pixel_mm);
        limit_disc_edges(chain);
    }
};

// The bands whose centres lie farther than kCutBandReachMm from every band of `cut`.
std::vector<Disc> bands_away_from(const std::vector<Disc>& bands, const std::vector<Disc>& cut, double pixel_mm) {
    std::vector<Disc> away;
    for (const auto& band : bands) {
        const bool near_cut = std::any_of(cut.begin(), cut.end(), [&](const Disc& c) {
            return spacing(band, c, pixel_mm) < kCutBandReachMm;
        });
        if (!near_cut) away.push_back(band);
    }
    return away;
}

}  // namespace

double median_spacing(const std::vector<Disc>& chain, double pixel_mm) {
    std::vector<double> spacings;
    for (std::size_t i = 1; i < chain.size(); ++i)
        spacings.push_back(spacing(chain[i - 1], chain[i], pixel_mm));
    return median(spacings);
}

void drop_lowest_disc(SpineLocalisation& spine, const SagittalPlane& plane) {
    if (spine.discs.empty()) return;
    auto chain = std::move(spine.discs);
    chain.pop_back();
    take_as_column(spine, std::move(chain), plane);
}

// Seed 600 case 13: a band in front of L4, stronger than the real L4/L5, ended the chain there
// and hid L5/S1. Seed 601 case 11: the chain went on from such a band along a row of bands in
// front of the column, three of them. Seed 2200 case 13: a 12 mm band 14 mm in front of the line
// and turned 8 degrees backward, in front of an L4/L5 between two dark changes. Fresh seed 2601
// case 11: two bands at T12, tilted 30 and 46 degrees beside a haemangioma and patchy fat, put
// the whole column "in front" of their line, and it was cut down to them.
void cut_chain_in_front_of_column(std::vector<Disc>& chain, const SagittalPlane& plane) {
    const double usual_length = median_length(chain);
    for (std::size_t k = 2; k < chain.size(); ++k)
        if (in_front_of_column(chain[k - 2], chain[k - 1], chain[k], usual_length, plane)) {
            if (chain.size() - k > k) {
                chain.erase(chain.begin(), chain.begin() + long(k));
                k = 1;
                continue;
            }
            chain.erase(chain.begin() + long(k), chain.end());
            return;
        }
}

// A band much shorter and weaker than the column's discs at an end of the chain is not a disc of
// the column (a vessel, a bowel wall): the chain is cut back. Below S1 the sacrum's rudimentary
// discs and fused junctions are steeper than L5/S1 and either shorter or much fainter than real
// discs, or weak and much thinner (a fused junction as steep as L5/S1). A steep L5/S1 itself
// often measures short (its band is read along one tilt), so length alone never cuts a band as
// contrasted as the column's discs at about the usual spacing; well beyond it, it does. A steep
// L5/S1 fitted short at its front, flat or tilted the wrong way, may have a band below it that
// lies forward of it, in the pelvis in front of the sacrum or at a fused junction, where the
// column does not go: that band is dropped and L5/S1 kept. A lowest band turned forward from a
// flat band above, at about the usual spacing, is L5/S1 below L4/L5, and stays. Nothing below a
// fused junction stays.
std::vector<Disc> trim_chain_ends(std::vector<Disc>& chain, const SagittalPlane& plane) {
    std::vector<Disc> cut_below;
    if (chain.size() < 4) return cut_below;
    std::vector<double> scores, thicknesses;
    for (const auto& disc : chain) {
        scores.push_back(disc.score);
        thicknesses.push_back(disc.upper_edge + disc.lower_edge);
    }
    const double usual = median_length(chain), usual_score = median(scores);
    const double usual_thickness = median(thicknesses);
    auto weak = [&](const Disc& disc) { return disc.score < kWeakBandFactor * usual_score; };
    auto faint = [&](const Disc& disc) { return disc.score < kFaintBandFactor * usual_score; };
    // A stray: weak and much shorter than the column's discs (a vessel, a bowel wall, the front of
    // a sacral junction).
    auto stray = [&](const Disc& disc) { return weak(disc) && disc.length < kShortBandFactor * usual; };
    // A fused sacral junction is a thin line, half as thick as the column's discs or less.
    auto fused_junction = [&](const Disc& disc) {
        return weak(disc) && disc.upper_edge + disc.lower_edge < kJunctionThicknessFactor * usual_thickness;
    };
    auto cut_lowest = [&] {
        cut_below.insert(cut_below.begin(), chain.back());
        chain.pop_back();
    };
    // Below a steep, full-length L5/S1 the sacrum curves on forward: a short band turned backward
    // from it is a sacral junction fitted at its front or back.
    auto sacral_below_steep_lumbosacral = [&](const Disc& upper, const Disc& lower) {
        const double upper_tilt = axial_tilt_degrees(upper, plane);
        return upper.length >= kFullLengthFactor * usual && upper_tilt >= kSteepLumbosacralTiltDegrees &&
               lower.length < kFullLengthFactor * usual &&
               upper_tilt - axial_tilt_degrees(lower, plane) > kMaxTurnBelowSteepDegrees;
    };
    while (chain.size() >= 4) {
        const Disc& last = chain.back();
        const Disc& above = chain[chain.size() - 2];
        // So is everything below such a band.
        if (sacral_below_steep_lumbosacral(above, last) ||
            (chain.size() >= 5 && sacral_below_steep_lumbosacral(chain[chain.size() - 3], above))) {
            cut_lowest();
            continue;
        }
        // Nothing below a fused sacral junction is lumbar, however it is turned (seed 2000 case 21:
        // a band in the pelvis, a spacing below S1/S2). Nor is anything below a band too steep for
        // L4/L5: that band is L5/S1 or sacral (fresh seed 2401 case 24: two short, steep bands
        // below L5/S1 in the sacrum, 54 and 66 degrees, and the chain was judged no column).
        if (fused_junction(above) || too_steep_for_a_lumbar_disc(above, plane)) {
            cut_lowest();
            continue;
        }
        // A band well beyond the usual spacing is not the next disc below, however it is turned.
        // The usual spacing of the chain as it stands: sacral bands cut below it had raised it
        // (fresh seed 2700 case 16: a short band in the sacrum raised it 8%, and the band above it,
        // in front of the sacrum 1.31 spacings below L5/S1, was not far).
        const double usual_spacing = median_spacing(chain, plane.pixel_mm);
        const bool far = spacing(above, last, plane.pixel_mm) > kFarBandSpacing * usual_spacing;
        if (!far && turned_from_a_flat_disc(last, above, plane) && last.score >= kTurnedLumbosacralFactor * usual_score)
            break;  // L5/S1 below L4/L5, kept however short
        // Turns are judged from the nearest full-length band above: a short band between them (a
        // sacral junction fitted at its front) must not hide a steep L5/S1 (seed 500 case 22), nor
        // a sacral band turned forward from L5/S1 (seed 1301 case 27). A forward turn from the
        // band just above counts too.
        std::size_t nearest_full = chain.size() - 2;
        while (nearest_full > 0 && fitted_short(chain[nearest_full], chain)) --nearest_full;
        const Disc& full_above = chain[nearest_full];
        const bool steeper = above.angle - last.angle > deg(kSacralTurnDegrees) ||
                             full_above.angle - last.angle > deg(kSacralTurnDegrees);
        const bool sacral = faint(last) || (steeper && ((weak(last) && last.length < kSacralLengthFactor * usual) ||
                                                  last.score < kSacralContrastFactor * usual_score));
        const bool junction = fused_junction(last);
        // A pale or short band well beyond the usual spacing: a sacral junction or the pelvis, not
        // L5/S1 (seed 901 case 12, seed 1800 case 26: the front of S1/S2, 1.3 spacings below L5/S1;
        // seed 1800 case 14: a band in front of the sacrum, turned forward from L5/S1).
        const bool far_and_pale_or_short = far && (last.score < kPaleBandFactor * usual_score ||
                                                   last.length < kFullLengthFactor * usual);
        const bool misfitted_lumbosacral = fitted_short(above, chain) &&
                                           axial_tilt_degrees(above, plane) < kMaxMisfitTiltDegrees;
        if (misfitted_lumbosacral && (above.x - last.x) * plane.pixel_mm > kMaxForwardStepMm) {
            // Beyond L5/S1, which is kept however short and weak, unless it is faint: then it is
            // the front of a fused junction, and is judged in turn (seed 501 case 7). So is a weak,
            // short band below a full-length band already tilted as L5/S1 is: that band is L5/S1,
            // and the weak one the front of a sacral junction (seed 1000 case 27, seed 1800 case 29).
            const bool above_faint = faint(above);
            const Disc& above2 = chain[chain.size() - 3];
            const bool stray_below_lumbosacral = stray(above) && above2.length >= kFullLengthFactor * usual &&
                                                 axial_tilt_degrees(above2, plane) >= kMaxMisfitTiltDegrees;
            cut_lowest();
            if (above_faint || stray_below_lumbosacral) continue;
            break;
        }
        const double above_tilt = axial_tilt_degrees(full_above, plane);
        const bool lumbosacral_above = !fitted_short(full_above, chain) && above_tilt >= kLumbosacralTiltDegrees;
        if (lumbosacral_above && above_tilt - axial_tilt_degrees(last, plane) > kMaxBackwardTurnDegrees) {
            cut_lowest();  // beyond L5/S1; the band above is judged in turn
            continue;
        }
        if (!sacral && !stray(last) && !junction && !far_and_pale_or_short) break;
        cut_lowest();
    }
    while (chain.size() >= 4 && stray(chain.front()))
        chain.erase(chain.begin());
    return cut_below;
}

bool lowest_disc_tilted_back(const SpineLocalisation& spine, const SagittalPlane& plane) {
    if (spine.discs.size() < 4) return false;
    const Disc& lowest = spine.discs.back();
    return lowest.length >= kFullLengthFactor * median_length(spine.discs) &&
           axial_tilt_degrees(lowest, plane) < -kMaxLumbosacralBackTiltDegrees;
}

bool fitted_short(const Disc& disc, const std::vector<Disc>& chain) {
    return disc.length < kShortLumbosacralFactor * median_length(chain);
}

std::array<double, 2> Disc::along() const { return {std::cos(angle), std::sin(angle)}; }
std::array<double, 2> Disc::normal() const { return {-std::sin(angle), std::cos(angle)}; }

void Disc::move(const std::array<double, 2>& direction, double mm, double pixel_mm) {
    const auto to = moved(centre(), direction, mm, pixel_mm);
    x = to[0], y = to[1];
}

std::array<std::string, 2> vertebrae_of_disc(const std::string& disc_label) {
    const auto slash = disc_label.find('/');
    return {disc_label.substr(0, slash), disc_label.substr(slash + 1)};
}

SpineLocalisation localise_spine(const SagittalPlane& plane, PlaneContrast contrast) {
    SpineLocalisation result;
    const double scale = signal_scale(plane);
    auto normalised = PlaneImage::New();
    normalised->Graft(smoothed(plane.image, 1.0));
    {
        float* pixels = normalised->GetBufferPointer();
        const auto count = normalised->GetLargestPossibleRegion().GetNumberOfPixels();
        for (std::size_t i = 0; i < count; ++i) pixels[i] = float(pixels[i] / scale);
    }
    const auto response = band_response(normalised, plane.inside, contrast, plane.pixel_mm);
    const auto detected = disc_candidates(response, plane, *normalised);
    // Each band is fitted to its disc before the chain is built: the chain's rules compare tilts
    // and spacings, which the detector's 6-degree steps get wrong at the lumbosacral junction.
    result.candidates = detected;
    for (auto& candidate : result.candidates) fit_to_band(*normalised, candidate, contrast, plane.pixel_mm);
    const auto discs_alike = tilted_like_discs(result.candidates, plane);
    auto chain = column_chain(discs_alike, plane);
    auto is_column = [](const std::vector<Disc>& discs) {
        return discs.size() >= kMinColumnDiscs && median_length(discs) >= kMinColumnDiscLength;
    };
    if (!is_column(chain)) {
        // On a few clinical images the fitted tilts no longer chain where the detector's do. The
        // bands are measured along themselves at the detector's tilts: a chain counts a band by
        // its length.
        auto at_detected_tilts = tilted_like_discs(detected, plane);
        for (auto& disc : at_detected_tilts) centre_on_band(*normalised, disc, contrast, plane.pixel_mm);
        chain = column_chain(at_detected_tilts, plane);
        for (auto& disc : chain) fit_to_band(*normalised, disc, contrast, plane.pixel_mm);
    }
    if (!is_column(chain)) {
        result.failure = chain.size() < kMinColumnDiscs ? "no vertebral column found on the mid-sagittal image"
                                                        : "no vertebral column found on the mid-sagittal image (the "
                                                          "bands found are too short to be lumbar discs)";
        return result;
    }
    fill_gaps(chain, response, *normalised, contrast, plane);
    take_thick_band_for_short_one(chain, *normalised, contrast, plane);
    cut_chain_in_front_of_column(chain, plane);
    const ChainEnds ends{response, *normalised, contrast, plane};
    const auto cut_below = ends.extend_and_trim(chain, discs_alike);
    // A band cut from the lower end may have stood in the place of a real disc: a disc can
    // respond as two bands along its length, and the extension may take the short one at its
    // front, which trimming then cuts as a stray (seed 101 case 19: L5/S1, and the chain ended at
    // L4/L5). The chain is extended once more from its new lower end, among the bands away from
    // those cut, and kept when it grows. So is a chain whose lowest band, kept, is shorter than a
    // lumbar disc, from the band above it, whether or not bands were cut below: the next disc was
    // sought along the short band's normal, whose tilt is uncertain (fresh seed 2300 case 24: a 9
    // mm fragment of L4/L5 between two sclerotic changes, tilted 54 degrees, and L5/S1 was sought
    // 22 mm behind itself; fresh seed 2400 case 26: a 14 mm band at the front of L2/L3 above a
    // sclerotic L3, tilted 42 degrees, and the chain went no further).
    auto retried = chain;
    auto set_aside = cut_below;
    if (retried.size() >= 4 && retried.back().length < kMinColumnDiscLength) {
        set_aside.push_back(retried.back());
        retried.pop_back();
    }
    if (!set_aside.empty()) {
        ends.extend_and_trim(retried, bands_away_from(discs_alike, set_aside, plane.pixel_mm));
        if (retried.size() > chain.size()) chain = std::move(retried);
    }
    ends.fill_gaps_left(chain);
    take_as_column(result, std::move(chain), plane);
    return result;
}

}  // namespace modic::core
