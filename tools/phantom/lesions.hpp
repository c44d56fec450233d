// Modic changes and their look-alikes: which endplates get which change (the plan, drawn before
// the spine is built because it degenerates discs), and the realised shapes in each vertebra's frame.
#pragma once

#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include "modic/core/findings.hpp"
#include "rng.hpp"

namespace modic::phantom {

struct PlannedModic {
    std::string vertebra;  // "L1" ... "S1"
    core::EndplateSide side = core::EndplateSide::Superior;
    core::ModicType type = core::ModicType::None;
    double depth_fraction = 0;   // of the body height, at the deepest point
    double extent_fraction = 0;  // of the endplate's anteroposterior length
};

struct PlannedHaemangioma {
    std::string vertebra;
};
struct PlannedSchmorl {
    std::string vertebra;
    core::EndplateSide side = core::EndplateSide::Superior;
};

struct LesionPlan {
    std::vector<PlannedModic> modic;
    std::set<std::string> degenerated_discs;  // "L4/L5"
    std::vector<PlannedHaemangioma> haemangiomas;
    std::vector<PlannedSchmorl> schmorl_nodes;
    std::set<std::string> patchy_fat_vertebrae;
};

// 0-4 Modic changes, often paired across a degenerated disc; every type common.
LesionPlan plan_lesions(Rng& rng);

// Realised shapes, in the local frame of their vertebra (s superior, a anterior, l lateral, mm).
struct ModicLesion {
    int vertebra = 0;  // index into SpineModel::vertebrae()
    core::EndplateSide side = core::EndplateSide::Superior;
    core::ModicType type = core::ModicType::None;
    double depth_mm = 0;
    double a_center = 0, a_half = 0;  // anteroposterior extent along the endplate
    double l_center = 0, l_half = 0;  // lateral extent
    std::uint64_t noise_seed = 0;
};
struct HaemangiomaShape {
    int vertebra = 0;
    double s = 0, a = 0, l = 0, radius = 0;
};
struct SchmorlShape {
    int vertebra = 0;
    core::EndplateSide side = core::EndplateSide::Superior;
    double a = 0, l = 0, radius = 0;
};

}  // namespace modic::phantom
