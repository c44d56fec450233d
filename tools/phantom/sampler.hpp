// Turns the physical model into MR images: one image plane at a time, integrating the tissue signal
// over the slice thickness (partial volume), then the scanner's imperfections: a smooth coil
// sensitivity, a little blur, Rician noise.
#pragma once

#include <cstdint>
#include <vector>

#include "anatomy.hpp"
#include "geometry.hpp"
#include "mr_signal.hpp"
#include "rng.hpp"

namespace modic::phantom {

// One image: pixel (column c, row r) is centred at origin + row_dir * c * column_spacing
// + col_dir * r * row_spacing (DICOM: PixelSpacing = row_spacing \ column_spacing).
struct ImagePlane {
    Vec3 origin;   // ImagePositionPatient, in the physical (model) frame
    Vec3 row_dir;  // direction along a row (first IOP triplet)
    Vec3 col_dir;  // direction down a column (second IOP triplet)
    int rows = 0, cols = 0;
    double row_spacing = 1, column_spacing = 1;
    double thickness = 3;

    Vec3 normal() const { return cross(row_dir, col_dir); }
    Vec3 pixel_center(double c, double r) const {
        return origin + row_dir * (c * column_spacing) + col_dir * (r * row_spacing);
    }
};

// Scanner imperfections for one series.
struct Acquisition {
    Sequence sequence = Sequence::T1;
    double noise_sigma = 0.03;   // relative to the brightest tissue at the coil
    double coil_depth_mm = 200;  // sensitivity e-folding depth from the posterior skin
    double coil_floor = 0.2;     // sensitivity far from the coil
    double coil_ripple = 0.1;    // smooth variation along the body axis
    double coil_phase = 0;
    bool fast = false;  // two samples per pixel instead of four (series the core ignores)
};

struct RenderedImage {
    std::vector<float> signal;           // rows * cols, relative units
    std::vector<std::uint16_t> labels;   // at the pixel centre; empty unless asked for
};

RenderedImage render_image(const SpineModel& model, const PatientContrast& patient,
                           const ImagePlane& plane, const Acquisition& acquisition, Rng& noise_rng,
                           bool with_labels);

}  // namespace modic::phantom
