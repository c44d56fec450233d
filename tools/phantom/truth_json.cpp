#include "truth_json.hpp"

#include <cmath>

namespace modic::phantom {
namespace {

using nlohmann::ordered_json;

double round2(double v) { return std::round(v * 100.0) / 100.0; }
double round4(double v) { return std::round(v * 1e4) / 1e4; }
ordered_json point(Vec3 p) { return ordered_json::array({round2(p.x), round2(p.y), round2(p.z)}); }

const SeriesPlan* find_role(const std::vector<SeriesPlan>& series, SeriesRole role) {
    for (const SeriesPlan& s : series)
        if (s.role == role) return &s;
    return nullptr;
}

// Whether a body centre lies in the imaged field: inside the image area and close to a slice.
bool in_field_of_view(const SeriesPlan& s, Vec3 p, double body_width) {
    for (const ImagePlane& plane : s.planes) {
        const Vec3 rel = p - plane.origin;
        const double c = dot(rel, plane.row_dir) / plane.column_spacing;
        const double r = dot(rel, plane.col_dir) / plane.row_spacing;
        const double d = std::abs(dot(rel, plane.normal()));
        if (c >= 0 && c <= plane.cols - 1 && r >= 0 && r <= plane.rows - 1 &&
            d <= plane.thickness / 2 + body_width / 4)
            return true;
    }
    return false;
}

const PlannedModic* find_modic(const LesionPlan& plan, const std::string& vertebra, core::EndplateSide side) {
    for (const PlannedModic& m : plan.modic)
        if (m.vertebra == vertebra && m.side == side) return &m;
    return nullptr;
}

ordered_json endplates(const LesionPlan& plan) {
    ordered_json list = ordered_json::array();
    for (const char* vertebra : {"L1", "L2", "L3", "L4", "L5", "S1"}) {
        for (core::EndplateSide side : {core::EndplateSide::Superior, core::EndplateSide::Inferior}) {
            if (std::string(vertebra) == "S1" && side == core::EndplateSide::Inferior) continue;
            const PlannedModic* m = find_modic(plan, vertebra, side);
            ordered_json e;
            e["vertebra"] = vertebra;
            e["side"] = std::string(core::to_string(side));
            e["modic_type"] = std::string(core::to_string(m ? m->type : core::ModicType::None));
            e["depth_fraction"] = m ? round4(m->depth_fraction) : 0.0;
            e["extent_fraction"] = m ? round4(m->extent_fraction) : 0.0;
            list.push_back(e);
        }
    }
    return list;
}

ordered_json series_details(const std::vector<SeriesPlan>& series) {
    ordered_json list = ordered_json::array();
    for (const SeriesPlan& s : series) {
        const ImagePlane& first = s.planes.front();
        list.push_back({{"series_instance_uid", s.info.series_uid},
                        {"role", std::string(to_string(s.role))},
                        {"kind", s.kind},
                        {"series_number", s.info.series_number},
                        {"description", s.info.description},
                        {"frame_of_reference_uid", s.info.frame_uid},
                        {"images", s.planes.size()},
                        {"rows", first.rows},
                        {"columns", first.cols},
                        {"pixel_spacing_mm", round4(first.row_spacing)},
                        {"slice_thickness_mm", first.thickness},
                        {"eight_bit", s.eight_bit}});
    }
    return list;
}

}  // namespace

ordered_json build_truth(const SpineModel& model, const LesionPlan& lesions, const std::vector<SeriesPlan>& series,
                         const StudyVariant& variant, const PatientStudyInfo& study, std::uint64_t seed,
                         int case_index) {
    const SeriesPlan* t1 = find_role(series, SeriesRole::T1);
    const SeriesPlan* t2 = find_role(series, SeriesRole::T2);
    const SeriesPlan* stir = find_role(series, SeriesRole::Stir);
    ordered_json truth;
    truth["generator"] = "modic-phantom";
    truth["seed"] = seed;
    truth["case"] = case_index;
    truth["study_instance_uid"] = study.study_uid;
    truth["coordinates"] = "LPS mm in the frame of reference of the T1 series";

    ordered_json vertebrae = ordered_json::array();
    for (const VertebraModel& v : model.vertebrae()) {
        if (v.code < 3 || v.code > 9) continue;  // T12 .. S1
        ordered_json entry;
        entry["label"] = v.label;
        entry["center_mm"] = point(v.center + t1->frame_offset);
        if (!variant.aligned) entry["center_mm_t2"] = point(v.center + t2->frame_offset);
        entry["in_t1_field_of_view"] = in_field_of_view(*t1, v.center, v.width);
        entry["in_t2_field_of_view"] = in_field_of_view(*t2, v.center, v.width);
        entry["height_mm"] = round2(v.height);
        entry["depth_mm"] = round2(v.depth);
        vertebrae.push_back(entry);
    }
    truth["vertebrae"] = vertebrae;
    truth["endplates"] = endplates(lesions);

    ordered_json discs = ordered_json::array();
    for (const DiscModel& d : model.discs()) {
        if (d.upper < 2 || d.upper > 7) continue;  // T12/L1 .. L5/S1
        discs.push_back({{"level", d.level}, {"degenerated", d.degenerated}, {"height_mm", round2(d.height)},
                         {"hydration", round2(d.hydration)}});
    }
    truth["discs"] = discs;

    ordered_json lookalikes = ordered_json::array();
    for (const PlannedHaemangioma& h : lesions.haemangiomas)
        lookalikes.push_back({{"kind", "haemangioma"}, {"vertebra", h.vertebra}});
    for (const PlannedSchmorl& s : lesions.schmorl_nodes)
        lookalikes.push_back({{"kind", "schmorl_node"}, {"vertebra", s.vertebra},
                              {"side", std::string(core::to_string(s.side))}});
    for (const std::string& v : lesions.patchy_fat_vertebrae)
        lookalikes.push_back({{"kind", "patchy_fatty_marrow"}, {"vertebra", v}});
    for (const DiscModel& d : model.discs()) {
        if (!d.degenerated || d.upper < 2 || d.upper > 7) continue;
        bool has_modic = false;
        for (const PlannedModic& m : lesions.modic) {
            const bool below = m.vertebra == model.vertebrae()[static_cast<std::size_t>(d.upper)].label &&
                               m.side == core::EndplateSide::Inferior;
            const bool above = m.vertebra == model.vertebrae()[static_cast<std::size_t>(d.lower)].label &&
                               m.side == core::EndplateSide::Superior;
            has_modic = has_modic || below || above;
        }
        if (!has_modic) lookalikes.push_back({{"kind", "dark_degenerated_disc"}, {"level", d.level}});
    }
    truth["lookalikes"] = lookalikes;

    ordered_json roles;
    roles["t1"] = t1->info.series_uid;
    roles["t2"] = t2->info.series_uid;
    roles["stir"] = stir ? ordered_json(stir->info.series_uid) : ordered_json(nullptr);
    roles["stir_kind"] = stir ? ordered_json(stir->kind) : ordered_json(nullptr);
    ordered_json ignore = ordered_json::array();
    for (const SeriesPlan& s : series)
        if (s.role == SeriesRole::Ignore) ignore.push_back(s.info.series_uid);
    roles["ignore"] = ignore;
    truth["series"] = roles;
    truth["series_details"] = series_details(series);

    ordered_json v;
    v["single_slice"] = variant.single_slice;
    v["three_d"] = variant.three_d;
    v["aligned"] = variant.aligned;
    v["eight_bit"] = variant.eight_bit;
    v["oblique"] = variant.oblique;
    v["transfer_syntax"] = std::string(transfer_syntax_uid(variant.transfer_syntax));
    v["transfer_syntax_name"] = std::string(transfer_syntax_name(variant.transfer_syntax));
    v["vendor"] = variant.vendor;
    v["t2_frame_minus_t1_frame_mm"] = point(t2->frame_offset - t1->frame_offset);
    truth["variant"] = v;
    return truth;
}

}  // namespace modic::phantom
