#include "analysis/detect.hpp"

#include <itkMultiThreaderBase.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <tuple>
#include <utility>

#include "analysis/chain_matching.hpp"
#include "analysis/disc_levels.hpp"
#include "analysis/marrow_typing.hpp"
#include "analysis/midline.hpp"
#include "analysis/plane_alignment.hpp"
#include "analysis/sagittal_plane.hpp"
#include "analysis/spine_localiser.hpp"
#include "analysis/vertebra_geometry.hpp"

namespace modic::core {
namespace {

using Clock = std::chrono::steady_clock;

double milliseconds_since(Clock::time_point start) {
    return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

// The endplates reported, cranial to caudal: T12 inferior (for T12/L1), L1 superior ...
// L5 inferior, S1 superior.
std::vector<std::pair<std::string, EndplateSide>> reported_endplates() {
    std::vector<std::pair<std::string, EndplateSide>> endplates = {{"T12", EndplateSide::Inferior}};
    for (const char* label : {"L1", "L2", "L3", "L4", "L5"}) {
        endplates.emplace_back(label, EndplateSide::Superior);
        endplates.emplace_back(label, EndplateSide::Inferior);
    }
    endplates.emplace_back("S1", EndplateSide::Superior);
    return endplates;
}

bool is_reported_vertebra(const std::string& label) {
    for (const auto reported : kVertebraLabels)
        if (reported == label) return true;
    return false;
}

Evidence evidence_on(const SagittalPlane& plane, const std::vector<std::array<double, 2>>& outline) {
    Evidence evidence;
    evidence.series_role = plane.source->role;
    evidence.sop_instance_uid = plane.source->sop_instance_uids.at(plane.slice);
    // ITK's index puts a pixel's centre on whole numbers; DICOM SR coordinates put the image's
    // top-left corner at (0, 0), so a pixel's centre is half a pixel further on.
    for (const auto& point : outline) {
        const auto index = plane.to_source_pixel(point[0], point[1]);
        evidence.outline_px.push_back({index[0] + 0.5, index[1] + 0.5});
    }
    return evidence;
}

// The bodies of the column found on `plane`, none when `spine` has failed. The chain's lower end
// is judged again once the bodies are placed: by the column's shape (a band in front of the
// sacrum displaces the body above it), then by the lowest band's tilt (L5/S1 lies on the sacrum's
// slope). The tilt comes second: the shape rule may drop a lowest band below one tilted back (seed
// 900 case 24: judged alone, the tilt rule saw only the lowest band, 12 degrees back, and not the
// 22 degrees of the band above it). Either drop may leave no plausible column: `spine.failure`.
std::map<std::string, VertebraGeometry> bodies_of_column(SpineLocalisation& spine, const SagittalPlane& plane) {
    if (!spine.failure.empty()) return {};
    auto bodies = vertebrae_from_discs(spine, plane);
    if (lowest_disc_breaks_the_column(spine, bodies)) {
        drop_lowest_disc(spine, plane);
        bodies = vertebrae_from_discs(spine, plane);
    }
    while (spine.failure.empty() && lowest_disc_tilted_back(spine, plane)) {
        drop_lowest_disc(spine, plane);
        bodies = vertebrae_from_discs(spine, plane);
    }
    if (spine.failure.empty()) restore_displaced_discs(spine, bodies, plane);
    return bodies;
}

// The fluid-sensitive image reads T1's vertebrae wherever the two planes can be put on each other:
// through patient coordinates in one frame of reference, else by matching their edges. Failing
// that, it finds its own discs and takes T1's labels by their sequence.
std::map<std::string, VertebraGeometry> fluid_vertebrae(const SagittalPlane& t1_plane, const SpineLocalisation& t1_spine,
                                                        const std::map<std::string, VertebraGeometry>& t1_bodies,
                                                        const SagittalPlane& fluid_plane) {
    if (share_frame_of_reference(*t1_plane.source, *fluid_plane.source))
        return map_vertebrae(t1_bodies, t1_plane, fluid_plane);
    if (const auto placed = align_t1_to_fluid(t1_plane, t1_spine, fluid_plane))
        return map_vertebrae(t1_bodies, *placed, fluid_plane);
    auto fluid_spine = localise_spine(fluid_plane, PlaneContrast::Fluid);
    match_fluid_to_t1(t1_plane, t1_spine, fluid_plane, fluid_spine);
    auto bodies = vertebrae_from_discs(fluid_spine, fluid_plane);
    restore_displaced_discs(fluid_spine, bodies, fluid_plane);
    return bodies;
}

// The continuous (column, row, slice) index of `series` at a patient position.
itk::ContinuousIndex<double, 3> index_of(const SeriesVolume& series, const PointMm& point) {
    Volume::PointType physical;
    for (unsigned i = 0; i < 3; ++i) physical[i] = point[i];
    itk::ContinuousIndex<double, 3> index;
    series.image->TransformPhysicalPointToContinuousIndex(physical, index);
    return index;
}

// The fractional slice index of `series` at a patient position, within the series.
double slice_position(const SeriesVolume& series, const PointMm& point) {
    const double last = double(series.image->GetLargestPossibleRegion().GetSize()[2] - 1);
    return std::clamp(double(index_of(series, point)[2]), 0.0, last);
}

// The patient point `slices` slice spacings of `series` from `point`, along the series' slice normal.
PointMm slices_away(const SeriesVolume& series, const PointMm& point, int slices) {
    auto index = index_of(series, point);
    index[2] += slices;
    Volume::PointType physical;
    series.image->TransformContinuousIndexToPhysicalPoint(index, physical);
    return {physical[0], physical[1], physical[2]};
}

// The T1 and fluid-sensitive planes a body's endplates are read on, with their marrow prepared,
// and the STIR's beside a T2. Kept at a fixed address: each MarrowPlane points to its plane.
struct ReadingPlanes {
    SagittalPlane t1_plane, fluid_plane;
    MarrowPlane t1, fluid;
    std::optional<SagittalPlane> stir_plane;
    std::optional<MarrowPlane> stir;
};

// A STIR read beside the T2, on its middle slice, with T1's vertebrae mapped onto it. Kept at a
// fixed address, as ReadingPlanes: its MarrowPlane points to its plane.
struct StirBesideT2 {
    const SeriesVolume& series;
    SagittalPlane plane;
    MarrowPlane marrow;
};

// A reading and the T1 plane it was made on, which the evidence references.
struct PlacedReading {
    EndplateReading reading;
    const SagittalPlane* t1_plane = nullptr;
};

// A Modic change is read where the slice crosses the spine's midline. An oblique series' middle
// slice crosses it at one level only and runs up to a centimetre beside it at the column's ends,
// where a change is cut off-centre (shallower, or missed), and the T1 and fluid-sensitive series'
// middle slices may lie millimetres apart. So, where the two series share a frame of reference,
// each body's endplates are read on the planes through its midline, both series' signal blended
// between the slices either side; elsewhere on the middle slices.
//
// A change need not be centred on the midline either (the phantoms' lie up to 4 mm beside it), and
// a radiologist reads it on whichever slice shows it. So where the midline planes show no change,
// the planes kBesideMidlineMm either side (at least the next slice) are read too. A change there
// is taken when it is surer than the reading it replaces: the midline's of no change, or the other
// side's. On the phantoms of 25 seeds: 8 more changed endplates typed right (of 1228), 3 more
// normal ones called changed (of 6912).
class MidlineReadings {
public:
    MidlineReadings(const SeriesVolume& t1, const SeriesVolume& fluid, const MarrowPlane& t1_middle,
                    const MarrowPlane& fluid_middle, const StirBesideT2* stir,
                    const std::map<std::string, Vector3>& to_midline)
        : t1_(t1), fluid_(fluid), t1_middle_(t1_middle), fluid_middle_(fluid_middle), stir_(stir),
          stir_on_midline_(stir && share_frame_of_reference(t1, stir->series)), to_midline_(to_midline) {
        const double spacing = t1.image->GetSpacing()[2];
        slices_beside_ = std::max(1, int(std::lround(kBesideMidlineMm / spacing)));
    }

    // The endplate read at its body's midline, or beside it, or on the middle slices where the
    // midline is not known.
    PlacedReading read(const std::string& vertebra, EndplateSide side, bool fluid_is_stir) {
        const auto* at_midline = planes_for(vertebra, 0);
        if (!at_midline)
            return {read_endplate(t1_middle_, &fluid_middle_, fluid_is_stir, vertebra, side, stir_middle()),
                    t1_middle_.plane};
        PlacedReading placed{read_on(*at_midline, fluid_is_stir, vertebra, side), &at_midline->t1_plane};
        if (placed.reading.type != ModicType::None) return placed;
        for (const int slices : {-slices_beside_, slices_beside_}) {
            const auto* beside = planes_for(vertebra, slices);
            auto reading = read_on(*beside, fluid_is_stir, vertebra, side);
            if (reading.type != ModicType::None && reading.confidence > placed.reading.confidence)
                placed = {std::move(reading), &beside->t1_plane};
        }
        return placed;
    }

private:
    static constexpr double kBesideMidlineMm = 4.0;
    // Bodies whose midlines lie within this fraction of a slice of each other share planes.
    static constexpr double kSliceShare = 0.25;

    // The STIR's marrow on its own middle slice, or null without a STIR.
    const MarrowPlane* stir_middle() const { return stir_ ? &stir_->marrow : nullptr; }

    // The endplate read on `planes`; the STIR on its own middle slice where its frame of reference
    // is not T1's.
    EndplateReading read_on(const ReadingPlanes& planes, bool fluid_is_stir, const std::string& vertebra,
                            EndplateSide side) const {
        const MarrowPlane* stir = planes.stir ? &*planes.stir : stir_middle();
        return read_endplate(planes.t1, &planes.fluid, fluid_is_stir, vertebra, side, stir);
    }

    // The planes through `vertebra`'s midline, or `slices` T1 slices to one side of it (negative:
    // the other side), or null where the midline is not known.
    const ReadingPlanes* planes_for(const std::string& vertebra, int slices) {
        const auto shift = to_midline_.find(vertebra);
        const auto body = t1_middle_.bodies.find(vertebra);
        if (shift == to_midline_.end() || body == t1_middle_.bodies.end() ||
            !share_frame_of_reference(t1_, fluid_))
            return nullptr;
        PointMm midline = t1_middle_.plane->to_patient(body->second.centre[0], body->second.centre[1]);
        for (int i = 0; i < 3; ++i) midline[i] += shift->second[i];
        if (slices != 0) midline = slices_away(t1_, midline, slices);
        auto quantised = [](double position) { return std::round(position / kSliceShare) * kSliceShare; };
        const std::tuple positions{quantised(slice_position(t1_, midline)), quantised(slice_position(fluid_, midline)),
                                   stir_on_midline_ ? quantised(slice_position(stir_->series, midline)) : -1.0};
        auto& read = planes_[positions];
        if (!read) {
            read = std::make_unique<ReadingPlanes>();
            const auto& bodies = t1_middle_.bodies;
            auto prepared = [&](const SagittalPlane& plane) {
                return prepare_marrow_plane(plane, map_vertebrae(bodies, *t1_middle_.plane, plane));
            };
            read->t1_plane = extract_plane_at(t1_, std::get<0>(positions));
            read->fluid_plane = extract_plane_at(fluid_, std::get<1>(positions));
            read->t1 = prepared(read->t1_plane);
            read->fluid = prepared(read->fluid_plane);
            if (stir_on_midline_) {
                read->stir_plane = extract_plane_at(stir_->series, std::get<2>(positions));
                read->stir = prepared(*read->stir_plane);
            }
        }
        return read.get();
    }

    const SeriesVolume &t1_, &fluid_;
    const MarrowPlane &t1_middle_, &fluid_middle_;
    const StirBesideT2* stir_;
    // Whether the STIR shares T1's frame of reference, so that T1's midline places its planes too.
    const bool stir_on_midline_;
    const std::map<std::string, Vector3>& to_midline_;
    int slices_beside_ = 1;
    std::map<std::tuple<double, double, double>, std::unique_ptr<ReadingPlanes>> planes_;
};

}  // namespace

void detect_modic_changes(const SeriesVolume& t1, const SeriesVolume& fluid, const SeriesVolume* stir,
                          Findings& findings) {
    // One thread per analysis: ITK's multithreaded filters sum in varying order, and the same
    // study must give the same findings every time. The node runs analyses side by side instead.
    itk::MultiThreaderBase::SetGlobalDefaultNumberOfThreads(1);
    const auto localise_start = Clock::now();
    const auto t1_plane = extract_plane(t1, mid_sagittal_slice(t1));
    const auto fluid_plane = extract_plane(fluid, mid_sagittal_slice(fluid));
    auto t1_spine = localise_spine(t1_plane, PlaneContrast::T1);
    auto t1_bodies = bodies_of_column(t1_spine, t1_plane);
    if (!t1_spine.failure.empty()) {
        findings.status = AnalysisStatus::NotAnalyzable;
        findings.reason = "sagittal T1 series " + t1.series_instance_uid + ": " + t1_spine.failure;
        return;
    }
    auto fluid_bodies = fluid_vertebrae(t1_plane, t1_spine, t1_bodies, fluid_plane);
    std::unique_ptr<StirBesideT2> stir_beside_t2;
    if (stir) {
        stir_beside_t2 = std::make_unique<StirBesideT2>(*stir, extract_plane(*stir, mid_sagittal_slice(*stir)),
                                                        MarrowPlane{});
        stir_beside_t2->marrow = prepare_marrow_plane(
            stir_beside_t2->plane, fluid_vertebrae(t1_plane, t1_spine, t1_bodies, stir_beside_t2->plane));
    }
    const auto t1_marrow = prepare_marrow_plane(t1_plane, std::move(t1_bodies));
    const auto fluid_marrow = prepare_marrow_plane(fluid_plane, std::move(fluid_bodies));
    findings.timing_ms.localise = milliseconds_since(localise_start);

    // A body's centre lies on the spine's midline, which an oblique middle slice leaves: found
    // across the slices where they show it, else taken through the middle of the slice.
    const auto to_midline = shifts_to_midline(t1_plane, t1_marrow.bodies);
    for (const auto& [label, body] : t1_marrow.bodies) {
        if (!is_reported_vertebra(label)) continue;
        PointMm centre = t1_plane.to_patient(body.centre[0], body.centre[1]);
        const auto found = to_midline.find(label);
        const Vector3 shift =
            found != to_midline.end() ? found->second : shift_to_planned_midline(t1_plane, centre);
        for (int i = 0; i < 3; ++i) centre[i] += shift[i];
        findings.vertebrae.push_back({label, centre});
    }
    std::sort(findings.vertebrae.begin(), findings.vertebrae.end(), [](const auto& a, const auto& b) {
        return std::find(kVertebraLabels.begin(), kVertebraLabels.end(), a.label) <
               std::find(kVertebraLabels.begin(), kVertebraLabels.end(), b.label);
    });

    const auto classify_start = Clock::now();
    const bool fluid_is_stir = fluid.role == "stir";
    MidlineReadings midline(t1, fluid, t1_marrow, fluid_marrow, stir_beside_t2.get(), to_midline);
    for (const auto& [vertebra, side] : reported_endplates()) {
        const auto body = t1_marrow.bodies.find(vertebra);
        if (body == t1_marrow.bodies.end()) continue;
        if (!body->second.endplate(side)) continue;
        const auto [reading, read_on] = midline.read(vertebra, side, fluid_is_stir);
        EndplateFinding endplate{vertebra, side, reading.type, reading.confidence,
                                 reading.depth_fraction, reading.extent_fraction,
                                 reading.area_mm2 * t1.slice_thickness_mm / 1000.0, std::nullopt};
        if (reading.type != ModicType::None) endplate.evidence = evidence_on(*read_on, reading.outline);
        findings.endplates.push_back(std::move(endplate));
    }
    findings.levels = summarise_levels(findings.endplates);
    findings.timing_ms.classify = milliseconds_since(classify_start);
    findings.status = AnalysisStatus::Analyzed;
}

}  // namespace modic::core
