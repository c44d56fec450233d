#include "mr_signal.hpp"

#include <array>

#include "geometry.hpp"

namespace modic::phantom {
namespace {

// Columns: T1 TSE, T2 TSE, STIR, T2 fat-saturated, T1 after gadolinium, gradient-echo localizer.
using Row = std::array<double, 6>;
constexpr std::array<Row, static_cast<std::size_t>(Tissue::Count)> kSignal = {{
    /* Air        */ {0.00, 0.00, 0.00, 0.00, 0.00, 0.00},
    /* Fat        */ {1.00, 0.78, 0.05, 0.08, 1.00, 0.75},
    /* Muscle     */ {0.30, 0.20, 0.22, 0.22, 0.33, 0.35},
    /* Skin       */ {0.55, 0.45, 0.35, 0.35, 0.60, 0.50},
    /* Marrow     */ {0.65, 0.45, 0.13, 0.14, 0.67, 0.50},  // replaced by PatientContrast
    /* Cortical   */ {0.04, 0.04, 0.03, 0.03, 0.04, 0.06},
    /* Nucleus    */ {0.36, 0.85, 0.75, 0.75, 0.38, 0.40},  // at full hydration
    /* Annulus    */ {0.30, 0.28, 0.25, 0.25, 0.32, 0.30},
    /* Csf        */ {0.14, 1.00, 1.00, 1.00, 0.14, 0.50},
    /* Cord       */ {0.40, 0.45, 0.45, 0.45, 0.40, 0.40},
    /* NerveRoot  */ {0.36, 0.35, 0.35, 0.35, 0.37, 0.35},
    /* Epidural   */ {0.92, 0.72, 0.06, 0.09, 0.95, 0.70},
    /* Ligament   */ {0.07, 0.06, 0.06, 0.06, 0.10, 0.08},
    /* Vessel     */ {0.05, 0.05, 0.05, 0.05, 0.20, 0.90},
    /* Bowel      */ {0.38, 0.42, 0.40, 0.40, 0.50, 0.40},
    /* BowelFluid */ {0.15, 0.85, 0.85, 0.85, 0.20, 0.40},
    /* Gas        */ {0.01, 0.01, 0.01, 0.01, 0.01, 0.01},
    /* Urine      */ {0.12, 1.00, 1.00, 1.00, 0.12, 0.40},
    /* JointFluid */ {0.15, 0.80, 0.80, 0.80, 0.20, 0.40},
    /* Modic1     */ {0.30, 0.75, 0.80, 0.75, 0.65, 0.35},
    /* Modic2     */ {0.95, 0.60, 0.07, 0.09, 0.95, 0.70},
    /* Modic3     */ {0.14, 0.15, 0.10, 0.10, 0.14, 0.12},
    /* Haemang.   */ {0.92, 0.85, 0.50, 0.45, 0.95, 0.70},
    /* FattyMarr. */ {0.95, 0.62, 0.06, 0.08, 0.95, 0.70},
    /* Schmorl    */ {0.30, 0.55, 0.55, 0.50, 0.50, 0.35},
}};
// Nucleus signal when fully desiccated (degenerated disc).
constexpr Row kDesiccatedNucleus = {0.30, 0.22, 0.20, 0.20, 0.32, 0.30};

}  // namespace

PatientContrast draw_patient_contrast(Rng& rng) {
    PatientContrast p;
    p.marrow_t1 = rng.uniform(0.62, 0.80);
    p.marrow_t2 = rng.uniform(0.42, 0.52);
    p.marrow_stir = rng.uniform(0.10, 0.16);
    p.texture_amplitude = rng.uniform(0.05, 0.12);
    return p;
}

double tissue_signal(const Sample& sample, Sequence sequence, const PatientContrast& patient) {
    const auto column = static_cast<std::size_t>(sequence);
    const Row& row = kSignal[static_cast<std::size_t>(sample.tissue)];
    switch (sample.tissue) {
        case Tissue::Marrow: {
            const Row marrow = {patient.marrow_t1,  patient.marrow_t2,         patient.marrow_stir,
                                patient.marrow_stir + 0.01, patient.marrow_t1 * 1.03, 0.5};
            return marrow[column] * (1 + patient.texture_amplitude * sample.texture);
        }
        case Tissue::Modic1:
        case Tissue::Modic2:
        case Tissue::Modic3:
        case Tissue::Haemangioma:
        case Tissue::FattyMarrow:
            return row[column] * (1 + patient.texture_amplitude * sample.texture);
        case Tissue::DiscNucleus:
        case Tissue::DiscAnnulus: {
            const double nucleus = lerp(kDesiccatedNucleus[column], row[column], sample.aux);
            const Row& annulus = kSignal[static_cast<std::size_t>(Tissue::DiscAnnulus)];
            return lerp(annulus[column], nucleus, sample.texture);
        }
        case Tissue::Fat:
        case Tissue::EpiduralFat:
            return row[column] * (1 + 0.04 * sample.texture);
        default:
            return row[column];
    }
}

}  // namespace modic::phantom
