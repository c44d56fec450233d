#include "lesions.hpp"

#include <array>

namespace modic::phantom {
namespace {

using core::EndplateSide;
using core::ModicType;

// Disc levels where Modic changes sit, weighted towards the lower lumbar spine as in the clinic.
struct LevelChoice {
    const char* upper;
    const char* lower;
    double weight;
};
constexpr std::array<LevelChoice, 5> kModicLevels = {{
    {"L1", "L2", 1.0}, {"L2", "L3", 1.5}, {"L3", "L4", 2.0}, {"L4", "L5", 3.5}, {"L5", "S1", 3.5}}};

ModicType draw_type(Rng& rng) {
    // Every type common, so that telling them apart can be measured.
    static const std::array<ModicType, 5> types = {ModicType::Type1, ModicType::Type2, ModicType::Type3,
                                                   ModicType::Type1_2, ModicType::Type2_3};
    return types[rng.weighted({0.24, 0.28, 0.16, 0.16, 0.16})];
}

PlannedModic draw_modic(Rng& rng, const std::string& vertebra, EndplateSide side, ModicType type) {
    PlannedModic m;
    m.vertebra = vertebra;
    m.side = side;
    m.type = type;
    m.depth_fraction = rng.uniform(0.2, 0.45);
    m.extent_fraction = rng.uniform(0.4, 0.95);
    return m;
}

bool endplate_taken(const LesionPlan& plan, const std::string& vertebra, EndplateSide side) {
    for (const PlannedModic& m : plan.modic)
        if (m.vertebra == vertebra && m.side == side) return true;
    for (const PlannedSchmorl& s : plan.schmorl_nodes)
        if (s.vertebra == vertebra && s.side == side) return true;
    return false;
}

}  // namespace

LesionPlan plan_lesions(Rng& rng) {
    LesionPlan plan;
    const std::size_t wanted = rng.weighted({0.2, 0.25, 0.3, 0.15, 0.1});  // 0..4 changes
    std::vector<double> weights;
    for (const LevelChoice& c : kModicLevels) weights.push_back(c.weight);
    int attempts = 0;
    while (plan.modic.size() < wanted && attempts++ < 40) {
        const LevelChoice& level = kModicLevels[rng.weighted(weights)];
        const std::string disc = std::string(level.upper) + "/" + level.lower;
        const ModicType type = draw_type(rng);
        const bool paired = plan.modic.size() + 2 <= wanted && rng.chance(0.65);
        if (paired) {
            if (endplate_taken(plan, level.upper, EndplateSide::Inferior) ||
                endplate_taken(plan, level.lower, EndplateSide::Superior))
                continue;
            // Mostly the same type on both sides; sometimes one side has moved on.
            ModicType other = type;
            if (rng.chance(0.2)) other = draw_type(rng);
            plan.modic.push_back(draw_modic(rng, level.upper, EndplateSide::Inferior, type));
            plan.modic.push_back(draw_modic(rng, level.lower, EndplateSide::Superior, other));
        } else {
            const bool upper_side = rng.chance(0.5);
            const std::string vertebra = upper_side ? level.upper : level.lower;
            const EndplateSide side = upper_side ? EndplateSide::Inferior : EndplateSide::Superior;
            if (endplate_taken(plan, vertebra, side)) continue;
            plan.modic.push_back(draw_modic(rng, vertebra, side, type));
        }
        if (rng.chance(0.85)) plan.degenerated_discs.insert(disc);
    }
    // Degenerated discs without any Modic change: dark discs are a look-alike to cope with.
    for (const LevelChoice& c : kModicLevels)
        if (rng.chance(0.22)) plan.degenerated_discs.insert(std::string(c.upper) + "/" + c.lower);

    static const std::vector<std::string> bodies = {"T12", "L1", "L2", "L3", "L4", "L5"};
    if (rng.chance(0.3)) plan.haemangiomas.push_back({rng.pick(bodies)});
    if (rng.chance(0.3)) {
        const std::string vertebra = rng.pick(bodies);
        const EndplateSide side = rng.chance(0.5) ? EndplateSide::Superior : EndplateSide::Inferior;
        if (!endplate_taken(plan, vertebra, side)) plan.schmorl_nodes.push_back({vertebra, side});
    }
    if (rng.chance(0.25)) {
        const int count = rng.integer(1, 3);
        for (int i = 0; i < count; ++i) plan.patchy_fat_vertebrae.insert(rng.pick(bodies));
    }
    return plan;
}

}  // namespace modic::phantom
