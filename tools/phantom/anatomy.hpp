// The physical model of one patient's lower thoracic and lumbar spine, built in DICOM patient
// coordinates (LPS, mm): rigid vertebral bodies chained along a lordotic curve, discs between their
// endplates, canal, posterior elements, paraspinal and abdominal soft tissue, planted lesions.
// classify() answers "which tissue is here" for any point; the sampler integrates it over voxels.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "geometry.hpp"
#include "lesions.hpp"
#include "noise.hpp"
#include "rng.hpp"
#include "tissue.hpp"

namespace modic::phantom {

struct VertebraModel {
    std::string label;  // "T10" ... "S5"
    std::uint8_t code = 0;  // see tissue.hpp
    bool sacral = false;
    Vec3 center;    // centre of the body
    Vec3 up;        // superior axis of the body (unit, in the sagittal plane)
    Vec3 anterior;  // anterior axis (unit, in the sagittal plane)
    double height = 0, depth = 0, width = 0;  // body size: superior-inferior, AP, lateral
    double waist = 0;                         // anterior concavity of the body wall
    double posterior_concavity = 0;
    double concavity_superior = 0, concavity_inferior = 0;  // endplate dip at the centre
    double cortex_superior = 0, cortex_inferior = 0, cortex_wall = 0;
    double disc_above = 0, disc_below = 0;  // centreline heights of the neighbouring discs
    // Canal and posterior elements.
    bool has_thecal_sac = true;
    bool has_cord = false;
    double conus_tip_s = -1e9;  // the cord ends here (local s) when has_cord
    double sac_ap = 14, sac_half_width = 11, epidural_posterior = 3;
    double lamina_thickness = 7, spinous_length = 30, spinous_half_width = 4;
    bool patchy_fat = false;
    // Anterior osteophytes (lips at the endplate rims) next to degenerated discs, length in mm.
    double osteophyte_superior = 0, osteophyte_inferior = 0;
};

struct DiscModel {
    std::string level;  // "L4/L5"
    int upper = 0, lower = 0;  // vertebra indices
    double height = 0;
    bool degenerated = false;
    double hydration = 1;  // nucleus water: 1 healthy, ~0.1 desiccated
    double bulge_anterior = 1, bulge_posterior = 1;
    bool fused = false;    // sacral segments
    bool remnant = false;  // a visible rudimentary disc between fused segments
    bool cleft = false;    // intranuclear cleft
};

// Patient-wide soft-tissue profile, tabulated along z so classify() stays cheap.
struct SoftTissueProfile {
    double z_top = 0, z_step = 1;
    std::vector<double> y_spine;      // body centre line
    std::vector<double> half_depth;   // half AP depth of the bodies
    std::vector<double> y_skin_post;  // posterior skin
    std::vector<double> y_skin_ant;   // anterior skin
    std::vector<double> fat_post;     // subcutaneous fat thickness, back
    std::vector<double> psoas_radius;
    std::vector<double> half_width;   // half lateral width of the bodies
    std::vector<double> y_bone_front, y_bone_back;  // where bone can be, with margins (culling)
};

class SpineModel {
public:
    static SpineModel build(Rng& rng, const LesionPlan& plan);

    Sample classify(Vec3 p) const;
    // The same answer without the shortcut for points far from bone (for tests).
    Sample classify_exhaustive(Vec3 p) const;

    const std::vector<VertebraModel>& vertebrae() const { return vertebrae_; }
    const std::vector<DiscModel>& discs() const { return discs_; }
    const std::vector<ModicLesion>& modic_lesions() const { return modic_; }
    const std::vector<HaemangiomaShape>& haemangiomas() const { return haemangiomas_; }
    const std::vector<SchmorlShape>& schmorl_nodes() const { return schmorl_; }
    int vertebra_index(const std::string& label) const;  // -1 when absent
    double midline_x() const { return x_mid_; }
    // Posterior skin at the height of `z`: where the receive coil lies.
    double posterior_skin_y(double z) const;
    double anterior_skin_y(double z) const;

private:
    void build_vertebrae(Rng& rng, const LesionPlan& plan);
    void build_soft_tissue(Rng& rng);
    void realise_lesions(Rng& rng, const LesionPlan& plan);

    bool body_sample(int index, Vec3 p, double s, double a, double l, Sample& out) const;
    bool disc_sample(const DiscModel& disc, Vec3 p, const double* s, const double* a, double l,
                     Sample& out) const;
    bool posterior_sample(int index, Vec3 p, double s, double a, double l, Sample& out) const;
    Sample soft_tissue_sample(Vec3 p) const;
    bool osteophyte_sample(const VertebraModel& v, Vec3 p, double s, double a, double l, Sample& out) const;
    bool lesion_tissue(int index, Vec3 p, double s, double a, double l, double depth_superior,
                       double depth_inferior, Tissue& tissue) const;
    std::size_t profile_index(double z) const;
    void tabulate_bone_extent();
    Sample bone(const VertebraModel& v, Vec3 p, double margin) const;

    std::vector<VertebraModel> vertebrae_;
    std::vector<DiscModel> discs_;
    std::vector<ModicLesion> modic_;
    std::vector<HaemangiomaShape> haemangiomas_;
    std::vector<SchmorlShape> schmorl_;
    SoftTissueProfile profile_;
    double x_mid_ = 0;
    double body_half_width_ = 160;
    double fat_ant_ = 20;
    double muscle_ant_ = 10;
    double aorta_dx_ = 12, aorta_r_ = 10, ivc_dx_ = 20, ivc_r_ = 11;
    double z_bifurcation_ = 0, z_ivc_end_ = 0;
    bool bladder_ = false;
    Vec3 bladder_center_;
    Vec3 bladder_radius_;
    ValueNoise marrow_noise_, fine_noise_, soft_noise_, root_noise_, lesion_noise_;
};

}  // namespace modic::phantom
