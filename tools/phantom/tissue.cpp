#include "tissue.hpp"

#include <array>

namespace modic::phantom {

std::string_view to_string(Tissue tissue) {
    static constexpr std::array<std::string_view, static_cast<std::size_t>(Tissue::Count)> names = {
        "air",        "fat",        "muscle",     "skin",       "marrow",      "cortical",
        "disc_nucleus", "disc_annulus", "csf",     "cord",       "nerve_root",  "epidural_fat",
        "ligament",   "vessel",     "bowel",      "bowel_fluid", "gas",        "urine",
        "joint_fluid", "modic1",    "modic2",     "modic3",     "haemangioma", "fatty_marrow",
        "schmorl_node"};
    const auto index = static_cast<std::size_t>(tissue);
    return index < names.size() ? names[index] : "unknown";
}

}  // namespace modic::phantom
