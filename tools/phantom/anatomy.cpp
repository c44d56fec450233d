#include "anatomy.hpp"

#include <algorithm>
#include <array>
#include <cmath>

namespace modic::phantom {
namespace {

// Reference adult sizes (mm) and sagittal angles (deg), T10 to S5. Angles: the direction of
// travel down the spine leans posterior by this much (negative = anterior): mild thoracic
// kyphosis, lumbar lordosis, then the steep sacrum.
struct LevelReference {
    const char* label;
    double height, depth, width, disc_below, angle;
};
constexpr std::array<LevelReference, 13> kLevels = {{
    {"T10", 22.0, 28.0, 34.0, 5.5, -10.0},
    {"T11", 23.0, 30.0, 36.0, 6.0, -13.0},
    {"T12", 24.0, 31.0, 38.0, 7.0, -15.0},
    {"L1", 26.0, 34.0, 42.0, 8.5, -14.0},
    {"L2", 27.0, 36.0, 45.0, 9.5, -9.0},
    {"L3", 27.5, 37.0, 48.0, 10.5, -2.0},
    {"L4", 27.5, 38.0, 50.0, 11.0, 6.0},
    {"L5", 27.0, 38.0, 52.0, 10.0, 16.0},
    {"S1", 27.0, 40.0, 50.0, 2.0, 38.0},
    {"S2", 21.0, 33.0, 38.0, 1.5, 45.0},
    {"S3", 16.0, 27.0, 30.0, 1.5, 52.0},
    {"S4", 12.0, 21.0, 24.0, 1.2, 59.0},
    {"S5", 9.0, 16.0, 18.0, 0.0, 66.0},
}};
constexpr std::array<double, 13> kSpinousLength = {36, 36, 34, 31, 31, 30, 29, 24,
                                                   13, 10, 8,  0,  0};
constexpr std::array<double, 13> kLateralMass = {0, 0, 0, 0, 0, 0, 0, 0, 56, 46, 36, 26, 16};

// Travel direction down the spine and the anterior axis for a sagittal angle.
Vec3 down_direction(double angle_deg) {
    const double r = degrees_to_radians(angle_deg);
    return {0, std::sin(r), -std::cos(r)};
}
Vec3 anterior_direction(double angle_deg) {
    const double r = degrees_to_radians(angle_deg);
    return {0, -std::cos(r), -std::sin(r)};
}

// Depth below an endplate where concavity has its full effect; r2 = normalised radius squared.
double endplate_offset(double concavity, double r2) { return concavity * (1.0 - std::min(r2, 1.0)); }

}  // namespace

SpineModel SpineModel::build(Rng& rng, const LesionPlan& plan) {
    SpineModel model;
    model.marrow_noise_ = ValueNoise(rng.bits());
    model.fine_noise_ = ValueNoise(rng.bits());
    model.soft_noise_ = ValueNoise(rng.bits());
    model.root_noise_ = ValueNoise(rng.bits());
    model.lesion_noise_ = ValueNoise(rng.bits());
    Rng spine_rng = rng.fork(1);
    Rng soft_rng = rng.fork(2);
    Rng lesion_rng = rng.fork(3);
    model.build_vertebrae(spine_rng, plan);
    model.build_soft_tissue(soft_rng);
    model.realise_lesions(lesion_rng, plan);
    return model;
}

int SpineModel::vertebra_index(const std::string& label) const {
    for (std::size_t i = 0; i < vertebrae_.size(); ++i)
        if (vertebrae_[i].label == label) return static_cast<int>(i);
    return -1;
}

void SpineModel::build_vertebrae(Rng& rng, const LesionPlan& plan) {
    x_mid_ = rng.uniform(-4, 4);
    const double scale = rng.uniform(0.9, 1.1);
    const double lordosis = rng.uniform(0.6, 1.35);
    const double tilt = rng.uniform(-7, 7);
    const double conus_level = rng.uniform(-0.3, 0.7);  // conus tip within L1 (fraction downwards)

    std::vector<double> angles;
    for (std::size_t i = 0; i < kLevels.size(); ++i) {
        const LevelReference& ref = kLevels[i];
        VertebraModel v;
        v.label = ref.label;
        v.code = static_cast<std::uint8_t>(i + 1);
        v.sacral = v.label[0] == 'S';
        v.height = ref.height * scale * rng.uniform(0.95, 1.05);
        v.depth = ref.depth * scale * rng.uniform(0.95, 1.06);
        v.width = ref.width * scale * rng.uniform(0.95, 1.05);
        v.waist = v.sacral ? 0.5 : rng.uniform(1.0, 2.5);
        v.posterior_concavity = v.sacral ? 0.0 : rng.uniform(0.5, 2.0);
        v.concavity_superior = v.sacral && i > 8 ? 0.0 : rng.uniform(1.0, 2.6);
        v.concavity_inferior = v.sacral ? 0.0 : rng.uniform(1.2, 2.8);
        v.cortex_superior = (v.sacral && i > 8) ? 0.35 : rng.uniform(0.8, 1.2);
        v.cortex_inferior = v.sacral ? 0.35 : rng.uniform(0.8, 1.2);
        v.cortex_wall = rng.uniform(0.6, 1.0);
        v.has_thecal_sac = i <= 9;  // the dural sac ends at S2
        v.has_cord = i <= 3;        // down to the conus in L1
        v.sac_ap = v.sacral ? (i == 8 ? rng.uniform(8, 11) : 6.0) : rng.uniform(12.5, 16.5);
        v.sac_half_width = v.sacral ? 8.0 : rng.uniform(9.5, 12.0);
        v.epidural_posterior = v.sacral ? rng.uniform(3, 6) : rng.uniform(1.5, 3.5);
        v.lamina_thickness = v.sacral ? rng.uniform(4.5, 6.5) : rng.uniform(6, 8);
        v.spinous_length = kSpinousLength[i] * scale * rng.uniform(0.9, 1.1);
        v.spinous_half_width = rng.uniform(3.2, 4.6);
        v.patchy_fat = plan.patchy_fat_vertebrae.count(v.label) > 0;
        vertebrae_.push_back(v);
        // Below S1 the sacrum curls forward by fixed steps, whatever the lumbar lordosis.
        if (i > 8) angles.push_back(angles[8] + 0.8 * (ref.angle - kLevels[8].angle) + rng.uniform(-2, 2));
        else angles.push_back(tilt + lordosis * ref.angle + rng.uniform(-2, 2));
    }
    // Conus tip: local s in L1, measured from its centre downwards.
    vertebrae_[3].conus_tip_s = vertebrae_[3].height * (0.5 - conus_level);

    for (std::size_t i = 0; i + 1 < vertebrae_.size(); ++i) {
        DiscModel d;
        d.upper = static_cast<int>(i);
        d.lower = static_cast<int>(i + 1);
        d.level = vertebrae_[i].label + "/" + vertebrae_[i + 1].label;
        d.fused = vertebrae_[i].sacral;
        d.remnant = d.fused && i == 8 && rng.chance(0.6);
        d.degenerated = plan.degenerated_discs.count(d.level) > 0 ||
                        (!d.fused && i < 3 && rng.chance(0.08));
        d.height = kLevels[i].disc_below * scale * rng.uniform(0.9, 1.1);
        if (d.degenerated) d.height *= rng.uniform(0.45, 0.75);
        d.hydration = d.degenerated ? rng.uniform(0.0, 0.25) : rng.uniform(0.75, 1.0);
        d.bulge_anterior = rng.uniform(0.5, 1.5);
        d.bulge_posterior = d.degenerated ? rng.uniform(1.5, 4.0) : rng.uniform(0.3, 1.5);
        d.cleft = !d.degenerated && rng.chance(0.5);
        vertebrae_[i].disc_below = d.height;
        vertebrae_[i + 1].disc_above = d.height;
        if (d.degenerated && !d.fused && rng.chance(0.7)) {
            vertebrae_[i].osteophyte_inferior = rng.uniform(1.5, 5.0);
            vertebrae_[i + 1].osteophyte_superior = rng.uniform(1.5, 5.0);
        }
        discs_.push_back(d);
    }

    // Chain the rigid bodies down the curve, then place L3 near the magnet's isocentre.
    Vec3 c{x_mid_, 0, 0};
    for (std::size_t i = 0; i < vertebrae_.size(); ++i) {
        VertebraModel& v = vertebrae_[i];
        if (i > 0) {
            const VertebraModel& above = vertebrae_[i - 1];
            const double mid_angle = 0.5 * (angles[i - 1] + angles[i]);
            c = c + down_direction(angles[i - 1]) * (above.height / 2) +
                down_direction(mid_angle) * above.disc_below + down_direction(angles[i]) * (v.height / 2);
        }
        v.center = c;
        v.up = down_direction(angles[i]) * -1.0;
        v.anterior = anterior_direction(angles[i]);
    }
    const Vec3 l3 = vertebrae_[5].center;
    const Vec3 shift = Vec3{0, rng.uniform(-15, 20), rng.uniform(-25, 25)} - Vec3{0, l3.y, l3.z};
    for (VertebraModel& v : vertebrae_) v.center = v.center + shift;
}

void SpineModel::build_soft_tissue(Rng& rng) {
    const double fat_post = rng.uniform(6, 45);
    const double muscle_margin = rng.uniform(6, 18);
    const double belly = rng.uniform(90, 210);  // often beyond the field of view, as in the clinic
    fat_ant_ = rng.uniform(8, 40);
    muscle_ant_ = rng.uniform(7, 13);
    body_half_width_ = rng.uniform(130, 180);
    aorta_dx_ = rng.uniform(4, 20);
    aorta_r_ = rng.uniform(8, 12);
    ivc_dx_ = rng.uniform(16, 26);
    ivc_r_ = rng.uniform(9, 13);
    z_bifurcation_ = vertebrae_[6].center.z + rng.uniform(-8, 8);
    z_ivc_end_ = vertebrae_[7].center.z;

    // Tabulate along z, from well above the top vertebra to well below the sacrum.
    const double z_top = vertebrae_.front().center.z + 160;
    const double z_bottom = vertebrae_.back().center.z - 160;
    profile_.z_top = z_top;
    profile_.z_step = 1.0;
    const auto n = static_cast<std::size_t>((z_top - z_bottom) / profile_.z_step) + 1;

    // Points along the spine: body centre, posterior-most bone.
    struct Knot {
        double z, y_spine, half_depth, half_width, y_back;
    };
    std::vector<Knot> knots;
    for (const VertebraModel& v : vertebrae_) {
        const double back = v.depth / 2 + 1 + v.sac_ap + v.epidural_posterior + v.lamina_thickness +
                            std::max(v.spinous_length, 4.0);
        const Vec3 tip = v.center + v.anterior * (-back);
        knots.push_back({v.center.z, v.center.y, v.depth / 2, v.width / 2, tip.y});
    }
    auto interpolate = [&](double z, auto member) {
        std::size_t i = 0;
        while (i + 2 < knots.size() && z < knots[i + 1].z) ++i;
        const Knot& a = knots[i];
        const Knot& b = knots[i + 1];
        const double t = (z - a.z) / (b.z - a.z);
        return lerp(a.*member, b.*member, std::clamp(t, -0.8, 1.8));
    };
    std::vector<double> back_raw(n);
    profile_.y_spine.resize(n);
    profile_.half_depth.resize(n);
    profile_.half_width.resize(n);
    for (std::size_t i = 0; i < n; ++i) {
        const double z = z_top - static_cast<double>(i) * profile_.z_step;
        profile_.y_spine[i] = interpolate(z, &Knot::y_spine);
        profile_.half_depth[i] = std::max(8.0, interpolate(z, &Knot::half_depth));
        profile_.half_width[i] = std::max(8.0, interpolate(z, &Knot::half_width));
        back_raw[i] = interpolate(z, &Knot::y_back);
    }
    // The back's skin is smoother than the row of spinous tips: running maximum then mean.
    profile_.y_skin_post.resize(n);
    profile_.y_skin_ant.resize(n);
    profile_.fat_post.resize(n);
    profile_.psoas_radius.resize(n);
    const int window = 25;
    const double z_t12 = vertebrae_[2].center.z, z_l5 = vertebrae_[7].center.z;
    for (std::size_t i = 0; i < n; ++i) {
        double sum = 0;
        int count = 0;
        for (int k = -window; k <= window; ++k) {
            const auto j = static_cast<std::ptrdiff_t>(i) + k;
            if (j < 0 || j >= static_cast<std::ptrdiff_t>(n)) continue;
            sum += back_raw[static_cast<std::size_t>(j)];
            ++count;
        }
        const double z = z_top - static_cast<double>(i) * profile_.z_step;
        profile_.fat_post[i] = fat_post * (1.0 + 0.25 * std::sin(z / 70.0));
        profile_.y_skin_post[i] = sum / count + muscle_margin + profile_.fat_post[i];
        profile_.y_skin_ant[i] = profile_.y_spine[i] - profile_.half_depth[i] - belly -
                                 12.0 * std::sin((z - z_l5) / 90.0);
        const double t = (z_t12 - z) / (z_t12 - z_l5);
        profile_.psoas_radius[i] = t <= 0 ? 0.0 : 22.0 * std::min(t, 1.3);
    }

    tabulate_bone_extent();

    bladder_ = rng.chance(0.6);
    const VertebraModel& s3 = vertebrae_[10];
    bladder_center_ = {x_mid_, s3.center.y - rng.uniform(60, 90), s3.center.z - rng.uniform(0, 25)};
    bladder_radius_ = {rng.uniform(35, 50), rng.uniform(22, 35), rng.uniform(22, 35)};
}

void SpineModel::realise_lesions(Rng& rng, const LesionPlan& plan) {
    for (const PlannedModic& planned : plan.modic) {
        const int index = vertebra_index(planned.vertebra);
        if (index < 0) continue;
        const VertebraModel& v = vertebrae_[static_cast<std::size_t>(index)];
        ModicLesion lesion;
        lesion.vertebra = index;
        lesion.side = planned.side;
        lesion.type = planned.type;
        lesion.depth_mm = planned.depth_fraction * v.height;
        lesion.a_half = planned.extent_fraction * v.depth / 2;
        // Keep the lesion on the endplate: its centre can slide only as far as the extent allows.
        const double slack = v.depth / 2 - lesion.a_half;
        lesion.a_center = slack > 0 ? rng.uniform(-slack, slack) * 0.8 : 0.0;
        lesion.l_half = rng.uniform(0.35, 0.75) * v.width / 2;
        lesion.l_center = rng.uniform(-4, 4);
        lesion.noise_seed = rng.bits();
        modic_.push_back(lesion);
    }
    for (const PlannedHaemangioma& planned : plan.haemangiomas) {
        const int index = vertebra_index(planned.vertebra);
        if (index < 0) continue;
        const VertebraModel& v = vertebrae_[static_cast<std::size_t>(index)];
        HaemangiomaShape h;
        h.vertebra = index;
        h.radius = rng.uniform(0.13, 0.26) * v.height;
        h.s = rng.uniform(-0.12, 0.12) * v.height;
        h.a = rng.uniform(-0.15, 0.15) * v.depth;
        h.l = rng.uniform(-3, 3);
        haemangiomas_.push_back(h);
    }
    for (const PlannedSchmorl& planned : plan.schmorl_nodes) {
        const int index = vertebra_index(planned.vertebra);
        if (index < 0) continue;
        const VertebraModel& v = vertebrae_[static_cast<std::size_t>(index)];
        SchmorlShape node;
        node.vertebra = index;
        node.side = planned.side;
        node.radius = rng.uniform(3.0, 6.0);
        node.a = rng.uniform(-0.3, 0.15) * v.depth;
        node.l = rng.uniform(-3, 3);
        schmorl_.push_back(node);
    }
}

Sample SpineModel::bone(const VertebraModel& v, Vec3 p, double margin) const {
    Sample out;
    out.structure = v.code;
    if (margin < v.cortex_wall) {
        out.tissue = Tissue::Cortical;
        return out;
    }
    out.tissue = Tissue::Marrow;
    out.texture = static_cast<float>(0.7 * marrow_noise_.at(p, 3.5) + 0.3 * fine_noise_.at(p, 1.1));
    return out;
}

Sample SpineModel::classify(Vec3 p) const {
    // Most of an image is far from any bone: answer those points from the soft-tissue profile.
    {
        const std::size_t i = profile_index(p.z);
        if (p.y < profile_.y_bone_front[i] || p.y > profile_.y_bone_back[i] || std::abs(p.x - x_mid_) > 64)
            return soft_tissue_sample(p);
    }
    return classify_exhaustive(p);
}

Sample SpineModel::classify_exhaustive(Vec3 p) const {
    constexpr std::size_t kMax = kLevels.size();
    std::array<double, kMax> s{}, a{};
    const double l = p.x - x_mid_;
    const std::size_t n = vertebrae_.size();
    for (std::size_t i = 0; i < n; ++i) {
        const Vec3 rel = p - vertebrae_[i].center;
        s[i] = dot(rel, vertebrae_[i].up);
        a[i] = dot(rel, vertebrae_[i].anterior);
    }
    Sample out;
    for (std::size_t i = 0; i < n; ++i) {
        const VertebraModel& v = vertebrae_[i];
        if (std::abs(s[i]) > v.height / 2 + 0.5 || std::abs(a[i]) > v.depth / 2 + 6 ||
            std::abs(l) > v.width / 2 + 1)
            continue;
        if (body_sample(static_cast<int>(i), p, s[i], a[i], l, out)) return out;
    }
    for (const DiscModel& d : discs_) {
        const auto u = static_cast<std::size_t>(d.upper);
        if (s[u] > -vertebrae_[u].height / 2 + vertebrae_[u].concavity_inferior + 0.5) continue;
        if (disc_sample(d, p, &s[u], &a[u], l, out)) return out;
    }
    for (std::size_t i = 0; i < n; ++i) {
        const VertebraModel& v = vertebrae_[i];
        const double top = v.height / 2 + (i == 0 ? 40.0 : v.disc_above / 2);
        const double bottom = -(v.height / 2 + (i + 1 == n ? 30.0 : v.disc_below / 2));
        if (s[i] > top || s[i] < bottom) continue;
        if (a[i] > -v.depth / 2 + 1.5) {
            // Anterior longitudinal ligament along the front of bodies and discs.
            if (a[i] > v.depth / 2 && a[i] < v.depth / 2 + 1.6 && std::abs(l) < v.width * 0.3 &&
                !v.sacral) {
                out = Sample{Tissue::Ligament, 0, 0, 0};
                return out;
            }
            continue;
        }
        if (posterior_sample(static_cast<int>(i), p, s[i], a[i], l, out)) return out;
    }
    return soft_tissue_sample(p);
}

bool SpineModel::body_sample(int index, Vec3 p, double s, double a, double l, Sample& out) const {
    const VertebraModel& v = vertebrae_[static_cast<std::size_t>(index)];
    const double hd = v.depth / 2, hw = v.width / 2;
    const double t = std::clamp(2 * s / v.height, -1.0, 1.0);
    const double ln = l / hw;
    const double a_front = hd - v.waist * (1 - t * t);
    const double a_back = -hd + v.posterior_concavity * (1 - std::min(1.0, ln * ln));
    const double an = a >= 0 ? a / a_front : a / -a_back;
    const double a_part = a >= 0 ? an * an : an * an * an * an;
    const double q = a_part + ln * ln;
    if (q >= 1) return osteophyte_sample(v, p, s, a, l, out);
    const double r2 = square(a / hd) + ln * ln;
    const double s_top = v.height / 2 - endplate_offset(v.concavity_superior, r2);
    const double s_bottom = -v.height / 2 + endplate_offset(v.concavity_inferior, r2);
    if (s > s_top || s < s_bottom) return false;

    const double radius_a = a >= 0 ? a_front : -a_back;
    const double weight_a = a_part + 1e-9, weight_l = ln * ln + 1e-9;
    const double radius = (weight_a * radius_a + weight_l * hw) / (weight_a + weight_l);
    const double radial_margin = (1 - std::sqrt(q)) * radius;
    const double depth_superior = s_top - s, depth_inferior = s - s_bottom;

    out = Sample{};
    out.structure = v.code;
    // Schmorl nodes break through the endplate, so they come before the cortex.
    for (const SchmorlShape& node : schmorl_) {
        if (node.vertebra != index) continue;
        const double r2n = square(node.a / hd) + square(node.l / hw);
        const bool superior = node.side == core::EndplateSide::Superior;
        const double surface = superior ? v.height / 2 - endplate_offset(v.concavity_superior, r2n)
                                        : -v.height / 2 + endplate_offset(v.concavity_inferior, r2n);
        const double dist =
            std::sqrt(square(s - surface) + square(a - node.a) + square(l - node.l));
        if (dist < node.radius) {
            out.tissue = Tissue::SchmorlNode;
            return true;
        }
        if (dist < node.radius + 1.0) {
            out.tissue = Tissue::Cortical;
            return true;
        }
    }
    if (depth_superior < v.cortex_superior || depth_inferior < v.cortex_inferior ||
        radial_margin < v.cortex_wall) {
        out.tissue = Tissue::Cortical;
        return true;
    }
    out.texture = static_cast<float>(0.7 * marrow_noise_.at(p, 3.5) + 0.3 * fine_noise_.at(p, 1.1));
    Tissue lesion = Tissue::Marrow;
    if (lesion_tissue(index, p, s, a, l, depth_superior, depth_inferior, lesion)) {
        out.tissue = lesion;
        return true;
    }
    out.tissue = Tissue::Marrow;
    if (v.patchy_fat && std::abs(t) < 0.6 && marrow_noise_.at(p + Vec3{40, 0, 0}, 4.5) > 0.42)
        out.tissue = Tissue::FattyMarrow;
    return true;
}

// A lip of bone growing forward at the rim of an endplate, thinning away from it.
bool SpineModel::osteophyte_sample(const VertebraModel& v, Vec3 p, double s, double a, double l,
                                   Sample& out) const {
    if (a <= 0) return false;
    const double hw = v.width / 2, ln = l / hw;
    if (std::abs(ln) > 0.6) return false;
    const double rim = v.depth / 2 * std::sqrt(1 - ln * ln);  // body front at this l, endplate level
    for (const auto& [length, from_endplate] :
         {std::pair{v.osteophyte_superior, v.height / 2 - s}, std::pair{v.osteophyte_inferior, s + v.height / 2}}) {
        if (length <= 0 || from_endplate < 0 || from_endplate > 1.2 * length) continue;
        const double reach = rim + length * (1 - from_endplate / (1.2 * length));
        if (a > rim - 0.5 && a < reach) {
            out = bone(v, p, std::min(reach - a, from_endplate + 1.0));
            return true;
        }
    }
    return false;
}

bool SpineModel::lesion_tissue(int index, Vec3 p, double s, double a, double l,
                               double depth_superior, double depth_inferior, Tissue& tissue) const {
    for (const ModicLesion& lesion : modic_) {
        if (lesion.vertebra != index) continue;
        const double u = (a - lesion.a_center) / lesion.a_half;
        const double w = (l - lesion.l_center) / lesion.l_half;
        if (std::abs(u) >= 1 || std::abs(w) >= 1) continue;
        const double u2 = u * u, w2 = w * w;
        const double profile = std::sqrt((1 - u2 * u2 * u2) * (1 - w2 * w2));
        // A wavy deep border; the truth's depth is the deepest point.
        const ValueNoise border(lesion.noise_seed);
        const double wave = 0.85 + 0.15 * border.at(Vec3{a, l, 0}, 5.0);
        const double depth = lesion.depth_mm * profile * wave;
        const bool superior = lesion.side == core::EndplateSide::Superior;
        const double below_endplate = superior ? depth_superior : depth_inferior;
        if (below_endplate >= depth) continue;
        // Mixed types: irregular patches that alternate along the endplate every 7 mm or so,
        // so that even a small change shows both parts.
        const double period = 14.0;
        const double mix = 0.6 * std::cos(2 * kPi * (a - lesion.a_center) / period) + 0.35 * lesion_noise_.at(p, 3.0);
        const bool first_part = mix > 0.0;
        switch (lesion.type) {
            case core::ModicType::Type1: tissue = Tissue::Modic1; break;
            case core::ModicType::Type2: tissue = Tissue::Modic2; break;
            case core::ModicType::Type3: tissue = Tissue::Modic3; break;
            case core::ModicType::Type1_2: tissue = first_part ? Tissue::Modic1 : Tissue::Modic2; break;
            case core::ModicType::Type2_3: tissue = first_part ? Tissue::Modic2 : Tissue::Modic3; break;
            case core::ModicType::None: continue;
        }
        return true;
    }
    for (const HaemangiomaShape& h : haemangiomas_) {
        if (h.vertebra != index) continue;
        if (square(s - h.s) + square(a - h.a) + square(l - h.l) < h.radius * h.radius) {
            tissue = Tissue::Haemangioma;
            return true;
        }
    }
    return false;
}

bool SpineModel::disc_sample(const DiscModel& d, Vec3 p, const double* s, const double* a, double l,
                             Sample& out) const {
    const VertebraModel& up = vertebrae_[static_cast<std::size_t>(d.upper)];
    const VertebraModel& lo = vertebrae_[static_cast<std::size_t>(d.lower)];
    const double s_u = s[0], s_l = s[1], a_u = a[0], a_l = a[1];
    if (s_u < -up.height / 2 - 3 * d.height - 6) return false;
    const double r2_u = square(a_u / (up.depth / 2)) + square(l / (up.width / 2));
    const double r2_l = square(a_l / (lo.depth / 2)) + square(l / (lo.width / 2));
    const double bottom_u = -up.height / 2 + endplate_offset(up.concavity_inferior, r2_u);
    const double top_l = lo.height / 2 - endplate_offset(lo.concavity_superior, r2_l);
    const double d1 = bottom_u - s_u, d2 = s_l - top_l;
    if (d1 < 0 || d2 < 0) return false;
    const double a_m = 0.5 * (a_u + a_l);
    const double hd = 0.25 * (up.depth + lo.depth), hw = 0.25 * (up.width + lo.width) + 1;
    const double limit = a_m >= 0 ? hd + d.bulge_anterior : hd + d.bulge_posterior;
    const double q = square(a_m / limit) + square(l / hw);
    if (q > 1) return false;
    const double tau = (d1 - d2) / (d1 + d2 + 1e-9);

    out = Sample{};
    if (d.fused) {
        // Fused sacral segments: bone across the junction, sometimes a rudimentary disc.
        if (d.remnant && std::abs(tau) < 0.4 && q < 0.6) {
            out.tissue = Tissue::DiscAnnulus;
            out.structure = static_cast<std::uint8_t>(kDiscCodeOffset + up.code);
            return true;
        }
        out = bone(lo, p, (1 - std::sqrt(q)) * hd + 1.0);
        if (out.tissue == Tissue::Marrow && std::abs(tau) < 0.15) out.tissue = Tissue::Cortical;
        return true;
    }
    out.structure = static_cast<std::uint8_t>(kDiscCodeOffset + up.code);
    const double a_nucleus = -0.1 * hd;
    const double rho2 = square((a_m - a_nucleus) / (0.62 * hd)) + square(l / (0.6 * hw)) +
                        square(tau / 0.8);
    double weight = clamp01((1 - std::sqrt(rho2)) / 0.35);
    if (d.cleft && std::abs(tau) < 0.08) weight *= 0.45;
    out.tissue = rho2 < 1 ? Tissue::DiscNucleus : Tissue::DiscAnnulus;
    out.texture = static_cast<float>(weight);
    out.aux = static_cast<float>(d.hydration);
    return true;
}

bool SpineModel::posterior_sample(int index, Vec3 p, double s, double a, double l,
                                  Sample& out) const {
    const VertebraModel& v = vertebrae_[static_cast<std::size_t>(index)];
    const double al = std::abs(l);
    const double a_wall = -v.depth / 2;
    const double a_sac_front = a_wall - 1.5;
    const double a_sac_back = a_sac_front - v.sac_ap;
    const double a_canal_back = a_sac_back - v.epidural_posterior;
    const double canal_half_width = v.sac_half_width + 3;
    const double lam_back = a_canal_back - v.lamina_thickness;

    // Canal: posterior longitudinal ligament, dural sac with cord or roots, epidural fat.
    if (a <= a_wall && a >= a_canal_back && al < canal_half_width) {
        if (a > a_wall - 1.0 && al < v.sac_half_width) {
            out = Sample{Tissue::Ligament, 0, 0, 0};
            return true;
        }
        const double a_sac_center = 0.5 * (a_sac_front + a_sac_back);
        const bool in_sac = v.has_thecal_sac && (v.code != 10 || s > 0) &&
                            square((a - a_sac_center) / (v.sac_ap / 2)) +
                                    square(l / v.sac_half_width) < 1;
        out = Sample{};
        if (!in_sac) {
            out.tissue = Tissue::EpiduralFat;
            out.texture = static_cast<float>(soft_noise_.at(p, 4.0));
            return true;
        }
        if (v.has_cord) {
            const double taper = index == 3 ? clamp01((s - v.conus_tip_s) / 14.0) : 1.0;
            const double ra = 4.2 * std::sqrt(taper) + 1e-6, rl = 5.0 * std::sqrt(taper) + 1e-6;
            if (square((a - a_sac_center) / ra) + square(l / rl) < 1) {
                out.tissue = Tissue::Cord;
                return true;
            }
        }
        // Cauda equina: roots settle posteriorly in a supine patient, strands along the canal.
        if (!v.has_cord || (index == 3 && s < v.conus_tip_s + 10)) {
            const double depth_in_sac = (a_sac_front - a) / v.sac_ap;  // 0 front, 1 back
            const double threshold = 0.55 - 0.35 * depth_in_sac;
            if (root_noise_.at(Vec3{l, a - a_sac_front, 0}, 1.3) > threshold) {
                out.tissue = Tissue::NerveRoot;
                return true;
            }
        }
        out.tissue = Tissue::Csf;
        return true;
    }

    const bool lumbar_or_thoracic = !v.sacral;
    // Lamina (sacrum: dorsal plate) and the ligamentum flavum between laminae.
    if (a < a_canal_back && a >= lam_back && al < canal_half_width + 7) {
        const double lam_top = v.height / 2 - (v.sacral ? -v.disc_above / 2 : 3.0);
        const double lam_bottom = -v.height / 2 - (v.sacral ? v.disc_below / 2 + 0.01 : 3.0);
        if (s <= lam_top && s >= lam_bottom) {
            const double margin = std::min({a - lam_back, a_canal_back - a, canal_half_width + 7 - al,
                                            v.sacral ? 9.0 : s - lam_bottom, v.sacral ? 9.0 : lam_top - s});
            out = bone(v, p, margin);
            return true;
        }
        if (a > lam_back + 0.25 * v.lamina_thickness && al < canal_half_width + 4) {
            out = Sample{Tissue::Ligament, 0, 0, 0};
            return true;
        }
    }
    // Spinous process (sacrum: median crest), sloping caudally, club-shaped tip.
    if (v.spinous_length > 0 && al < v.spinous_half_width) {
        const double pd = lam_back + 1 - a;
        if (pd >= 0 && pd <= v.spinous_length) {
            // Lumbar processes are broad, nearly horizontal blades; thoracic ones slope steeply.
            const double slope = v.code <= 3 ? 0.6 : 0.15;
            const double s_center = -0.15 * v.height - slope * pd;
            const double half_height = (v.sacral ? 4.0 : 0.27 * v.height) + 2.0 * square(pd / v.spinous_length);
            const double ds = half_height - std::abs(s - s_center);
            if (ds > 0) {
                out = bone(v, p, std::min({ds, v.spinous_half_width - al, v.spinous_length - pd}));
                return true;
            }
        }
    }
    if (lumbar_or_thoracic) {
        // Pedicles join the upper body to the arch.
        const double l_pedicle = canal_half_width + 3.5;
        if (a <= a_wall + 1 && a >= a_canal_back) {
            const double e = square((s - (v.height / 2 - 9)) / 6.5) + square((al - l_pedicle) / 4.5);
            if (e < 1) {
                out = bone(v, p, (1 - std::sqrt(e)) * 4.5);
                return true;
            }
        }
        // Articular pillars with a facet joint at every disc level.
        if (al > canal_half_width + 1 && al < canal_half_width + 13 && a < a_canal_back + 3 &&
            a > a_canal_back - 11 && s < v.height / 2 - 1) {
            const double s_joint = -v.height / 2 - 0.2 * v.disc_below + 0.35 * (a - (a_canal_back - 4));
            if (std::abs(s - s_joint) < 0.7) {
                out = Sample{Tissue::JointFluid, 0, 0, 0};
                return true;
            }
            const double margin = std::min({al - canal_half_width - 1, canal_half_width + 13 - al,
                                            a_canal_back + 3 - a, a - (a_canal_back - 11),
                                            std::abs(s - s_joint) - 0.7});
            out = bone(v, p, margin);
            return true;
        }
        // Transverse processes (lumbar).
        if (v.code >= 4 && al > canal_half_width + 8 && al < canal_half_width + 38 &&
            a < a_wall - 6 && a > a_wall - 14 && std::abs(s - (v.height / 2 - 9)) < 4) {
            const double margin = std::min({4 - std::abs(s - (v.height / 2 - 9)), a_wall - 6 - a,
                                            a - (a_wall - 14), canal_half_width + 38 - al});
            out = bone(v, p, margin);
            return true;
        }
        return false;
    }
    // Sacrum: lateral masses fill the space between body and dorsal plate, pierced by foramina.
    const double lateral_mass = kLateralMass[static_cast<std::size_t>(index)];
    if (al >= canal_half_width - 0.5 && al < lateral_mass && a <= a_wall + 1 && a >= lam_back) {
        const double s_foramen = -v.height / 2;
        const double e = square((s - s_foramen) / 4.5) + square((al - (canal_half_width + 9)) / 4.5);
        if (e < 1) {
            out = Sample{e < 0.3 ? Tissue::NerveRoot : Tissue::EpiduralFat, 0, 0, 0};
            return true;
        }
        const double margin = std::min({lateral_mass - al, a - lam_back, (std::sqrt(e) - 1) * 4.5 + 1.2});
        out = bone(v, p, margin);
        return true;
    }
    return false;
}

// Where bone, discs, canal and ligaments can be at each height: every vertebra's segment (body,
// half discs, canal and arch, with margins) swept in its own rigid frame. classify() answers points
// outside this band from the soft-tissue profile alone.
void SpineModel::tabulate_bone_extent() {
    const std::size_t n = profile_.y_spine.size();
    std::vector<double> front(n, 1e9), back(n, -1e9);
    for (std::size_t k = 0; k < vertebrae_.size(); ++k) {
        const VertebraModel& v = vertebrae_[k];
        const double reach_back = v.depth / 2 + 1.5 + v.sac_ap + v.epidural_posterior + v.lamina_thickness +
                                  std::max(v.spinous_length, 4.0) + 12.0;
        const double top = v.height / 2 + (k == 0 ? 45.0 : v.disc_above / 2 + 4);
        const double bottom = -(v.height / 2 + (k + 1 == vertebrae_.size() ? 35.0 : v.disc_below / 2 + 4));
        for (double s = bottom; s <= top; s += 0.5) {
            for (double a = -reach_back; a <= v.depth / 2 + 6; a += 0.5) {
                const Vec3 q = v.center + v.up * s + v.anterior * a;
                const std::size_t i = profile_index(q.z);
                front[i] = std::min(front[i], q.y);
                back[i] = std::max(back[i], q.y);
            }
        }
    }
    profile_.y_bone_front.assign(n, 1e9);
    profile_.y_bone_back.assign(n, -1e9);
    for (std::size_t i = 0; i < n; ++i) {
        for (std::size_t j = (i >= 3 ? i - 3 : 0); j < std::min(n, i + 4); ++j) {
            profile_.y_bone_front[i] = std::min(profile_.y_bone_front[i], front[j] - 3);
            profile_.y_bone_back[i] = std::max(profile_.y_bone_back[i], back[j] + 3);
        }
    }
}

std::size_t SpineModel::profile_index(double z) const {
    const double f = (profile_.z_top - z) / profile_.z_step;
    if (f <= 0) return 0;
    const auto i = static_cast<std::size_t>(f);
    return std::min(i, profile_.y_spine.size() - 1);
}

double SpineModel::posterior_skin_y(double z) const { return profile_.y_skin_post[profile_index(z)]; }
double SpineModel::anterior_skin_y(double z) const { return profile_.y_skin_ant[profile_index(z)]; }

Sample SpineModel::soft_tissue_sample(Vec3 p) const {
    const std::size_t i = profile_index(p.z);
    const double l = p.x - x_mid_;
    const double y_post = profile_.y_skin_post[i], y_ant = profile_.y_skin_ant[i];
    const double y_center = 0.5 * (y_post + y_ant), half_ap = 0.5 * (y_post - y_ant);
    const double rho = std::sqrt(square((p.y - y_center) / half_ap) + square(l / body_half_width_));
    Sample out;
    if (rho >= 1) return out;  // air
    const bool back = p.y > y_center;
    const double to_skin = (1 - rho) * (back ? half_ap : std::min(half_ap, body_half_width_));
    if (to_skin < 1.5) {
        out.tissue = Tissue::Skin;
        return out;
    }
    const double fat = back ? profile_.fat_post[i] : fat_ant_;
    if (to_skin < fat) {
        out.tissue = Tissue::Fat;
        out.texture = static_cast<float>(soft_noise_.at(p, 6.0));
        return out;
    }
    const double y_spine = profile_.y_spine[i], hd = profile_.half_depth[i];
    const double y_body_front = y_spine - hd;
    if (p.y > y_body_front + 4) {
        // Behind the front of the bodies: psoas beside them, paraspinal muscle behind, with
        // streaks of fat running along the body axis.
        out.tissue = Tissue::Muscle;
        const double streak = soft_noise_.at(p, 5.0, 3.0, 22.0);
        if (streak > 0.62) out.tissue = Tissue::Fat;
        out.texture = static_cast<float>(streak);
        return out;
    }
    if (!back && to_skin < fat + muscle_ant_ && std::abs(l) < 70) {
        out.tissue = Tissue::Muscle;
        return out;
    }
    // Great vessels in front of the spine.
    const double y_vessel = y_body_front - 1.5;
    if (p.z > z_bifurcation_) {
        if (square(l - aorta_dx_) + square(p.y - (y_vessel - aorta_r_)) < aorta_r_ * aorta_r_)
            return Sample{Tissue::Vessel, 0, 0, 0};
    } else if (p.z > z_bifurcation_ - 90) {
        const double spread = aorta_dx_ * 0.5 + 0.45 * (z_bifurcation_ - p.z);
        const double r = aorta_r_ * 0.7;
        const double yv = y_vessel - r;
        if (square(std::abs(l - aorta_dx_ * 0.5) - spread) + square(p.y - yv) < r * r)
            return Sample{Tissue::Vessel, 0, 0, 0};
    }
    if (p.z > z_ivc_end_ &&
        square(l + ivc_dx_) + square(p.y - (y_vessel - ivc_r_)) < ivc_r_ * ivc_r_)
        return Sample{Tissue::Vessel, 0, 0, 0};
    const double psoas = profile_.psoas_radius[i];
    if (psoas > 0) {
        const double px = profile_.half_width[i] + psoas * 0.75;
        if (square(std::abs(l) - px) + square(p.y - (y_spine - 0.2 * hd)) < psoas * psoas) {
            out.tissue = Tissue::Muscle;
            return out;
        }
    }
    if (bladder_) {
        const Vec3 d = p - bladder_center_;
        if (square(d.x / bladder_radius_.x) + square(d.y / bladder_radius_.y) +
                square(d.z / bladder_radius_.z) < 1)
            return Sample{Tissue::Urine, 0, 0, 0};
    }
    // Bowel and mesentery: a mixture of fat, wall, fluid and a little gas.
    const double coarse = soft_noise_.at(p + Vec3{100, 0, 0}, 10.0);
    out.texture = static_cast<float>(coarse);
    if (coarse > 0.42) {
        out.tissue = Tissue::Fat;
        return out;
    }
    const double fine = soft_noise_.at(p + Vec3{0, 200, 0}, 8.0);
    if (fine > 0.6) out.tissue = Tissue::BowelFluid;
    else if (fine < -0.72) out.tissue = Tissue::Gas;
    else out.tissue = Tissue::Bowel;
    return out;
}

}  // namespace modic::phantom
