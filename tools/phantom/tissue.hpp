// What the physical model answers for one point of space, and the numeric codes of the debug label
// maps (tests read those maps, so the codes are part of the phantom's public surface).
#pragma once

#include <cstdint>
#include <string_view>

namespace modic::phantom {

enum class Tissue : std::uint8_t {
    Air = 0,
    Fat,          // subcutaneous and mesenteric fat
    Muscle,
    Skin,
    Marrow,       // normal cancellous bone (vertebral bodies, posterior elements, sacrum)
    Cortical,     // cortical bone and endplates
    DiscNucleus,  // nucleus pulposus; hydration in Sample::aux, nucleus weight in Sample::texture
    DiscAnnulus,
    Csf,
    Cord,
    NerveRoot,
    EpiduralFat,
    Ligament,
    Vessel,  // flowing blood: a flow void on spin-echo images
    Bowel,
    BowelFluid,
    Gas,
    Urine,
    JointFluid,
    Modic1,  // marrow oedema / fibrovascular tissue
    Modic2,  // fatty marrow replacement next to an endplate
    Modic3,  // subchondral sclerosis
    Haemangioma,
    FattyMarrow,  // patchy focal fat, away from the endplates: a Modic 2 look-alike
    SchmorlNode,  // disc material herniated through an endplate
    Count
};

std::string_view to_string(Tissue tissue);

inline bool is_marrow_like(Tissue t) {
    return t == Tissue::Marrow || t == Tissue::Modic1 || t == Tissue::Modic2 ||
           t == Tissue::Modic3 || t == Tissue::Haemangioma || t == Tissue::FattyMarrow;
}

// One point's answer. `structure` names the vertebra or disc the point belongs to (see below).
struct Sample {
    Tissue tissue = Tissue::Air;
    std::uint8_t structure = 0;
    float texture = 0;  // marrow/fat texture in [-1, 1]; for discs, the nucleus weight in [0, 1]
    float aux = 0;      // for discs: hydration, 1 = healthy nucleus, 0 = desiccated
};

// Structure codes in Sample::structure and in the debug label maps.
// Vertebrae: T10 = 1, T11 = 2, T12 = 3, L1 = 4 ... L5 = 8, S1 = 9 ... S5 = 13.
// Discs: 32 + code of the vertebra above (L4/L5 = 32 + 7 = 39).
inline constexpr std::uint8_t kNoStructure = 0;
inline constexpr std::uint8_t kDiscCodeOffset = 32;

// Debug label map pixel: structure code in the high byte, tissue in the low byte.
inline std::uint16_t label_value(const Sample& s) {
    return static_cast<std::uint16_t>((s.structure << 8) | static_cast<std::uint8_t>(s.tissue));
}
inline Tissue label_tissue(std::uint16_t label) { return static_cast<Tissue>(label & 0xff); }
inline std::uint8_t label_structure(std::uint16_t label) {
    return static_cast<std::uint8_t>(label >> 8);
}

}  // namespace modic::phantom
