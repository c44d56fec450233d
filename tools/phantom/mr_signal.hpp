// Tissue -> relative MR signal for each pulse sequence (1 = the brightest tissue of that sequence).
#pragma once

#include "rng.hpp"
#include "tissue.hpp"

namespace modic::phantom {

enum class Sequence { T1, T2, Stir, T2FatSat, T1PostContrast, LocalizerGre };

// The per-patient part of contrast: marrow fat varies with age, discs with degeneration.
struct PatientContrast {
    double marrow_t1 = 0.65;
    double marrow_t2 = 0.45;
    double marrow_stir = 0.13;
    double texture_amplitude = 0.09;
};
PatientContrast draw_patient_contrast(Rng& rng);

double tissue_signal(const Sample& sample, Sequence sequence, const PatientContrast& patient);

}  // namespace modic::phantom
