#include "sampler.hpp"

#include <array>
#include <cmath>

namespace modic::phantom {
namespace {

// Four samples per pixel: through the slice thickness (partial volume) and, at the same time,
// jittered inside the pixel, which anti-aliases thin structures such as the endplates.
struct SubSample {
    double through, dc, dr;
};
constexpr std::array<SubSample, 4> kSubSamples = {{
    {-0.375, -0.25, -0.25}, {-0.125, 0.25, 0.25}, {0.125, 0.25, -0.25}, {0.375, -0.25, 0.25}}};
constexpr std::array<SubSample, 2> kFastSubSamples = {{{-0.25, -0.25, -0.25}, {0.25, 0.25, 0.25}}};

double coil_sensitivity(const SpineModel& model, const Acquisition& acq, Vec3 p) {
    const double depth = std::max(0.0, model.posterior_skin_y(p.z) - p.y);
    const double falloff = acq.coil_floor + (1 - acq.coil_floor) * std::exp(-depth / acq.coil_depth_mm);
    return falloff * (1 + acq.coil_ripple * std::sin(p.z / 45.0 + acq.coil_phase));
}

// A light point-spread function, separable [k, 1-2k, k].
void blur(std::vector<float>& image, int rows, int cols, float k) {
    std::vector<float> tmp(image.size());
    for (int r = 0; r < rows; ++r)
        for (int c = 0; c < cols; ++c) {
            const auto i = static_cast<std::size_t>(r * cols + c);
            const float left = image[c > 0 ? i - 1 : i], right = image[c + 1 < cols ? i + 1 : i];
            tmp[i] = k * left + (1 - 2 * k) * image[i] + k * right;
        }
    for (int r = 0; r < rows; ++r)
        for (int c = 0; c < cols; ++c) {
            const auto i = static_cast<std::size_t>(r * cols + c);
            const auto w = static_cast<std::size_t>(cols);
            const float up = tmp[r > 0 ? i - w : i], down = tmp[r + 1 < rows ? i + w : i];
            image[i] = k * up + (1 - 2 * k) * tmp[i] + k * down;
        }
}

}  // namespace

RenderedImage render_image(const SpineModel& model, const PatientContrast& patient,
                           const ImagePlane& plane, const Acquisition& acquisition, Rng& noise_rng,
                           bool with_labels) {
    RenderedImage out;
    const auto count = static_cast<std::size_t>(plane.rows) * static_cast<std::size_t>(plane.cols);
    out.signal.resize(count);
    if (with_labels) out.labels.resize(count);
    const Vec3 normal = plane.normal();
    for (int r = 0; r < plane.rows; ++r) {
        for (int c = 0; c < plane.cols; ++c) {
            double sum = 0;
            const SubSample* subs = acquisition.fast ? kFastSubSamples.data() : kSubSamples.data();
            const std::size_t n_subs = acquisition.fast ? kFastSubSamples.size() : kSubSamples.size();
            for (std::size_t k = 0; k < n_subs; ++k) {
                const SubSample& sub = subs[k];
                const Vec3 p = plane.pixel_center(c + sub.dc, r + sub.dr) +
                               normal * (sub.through * plane.thickness);
                sum += tissue_signal(model.classify(p), acquisition.sequence, patient);
            }
            const Vec3 center = plane.pixel_center(c, r);
            const auto i = static_cast<std::size_t>(r) * static_cast<std::size_t>(plane.cols) +
                           static_cast<std::size_t>(c);
            out.signal[i] = static_cast<float>(sum / static_cast<double>(n_subs) *
                                               coil_sensitivity(model, acquisition, center));
            if (with_labels) out.labels[i] = label_value(model.classify(center));
        }
    }
    blur(out.signal, plane.rows, plane.cols, 0.12f);
    // Rician noise: the magnitude of a complex signal with Gaussian noise in both channels.
    const double sigma = acquisition.noise_sigma;
    for (float& v : out.signal) {
        const auto [noise_re, noise_im] = noise_rng.normal_pair();
        const double re = v + sigma * noise_re;
        const double im = sigma * noise_im;
        v = static_cast<float>(std::sqrt(re * re + im * im));
    }
    return out;
}

}  // namespace modic::phantom
