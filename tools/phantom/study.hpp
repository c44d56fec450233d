// One synthetic study: draws the patient, the protocol (series, geometry, vendor style) and the
// variant mix from (seed, case), renders every image and writes the DICOM files and truth.json.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "anatomy.hpp"
#include "dicom_writer.hpp"
#include "lesions.hpp"
#include "mr_signal.hpp"
#include "sampler.hpp"

namespace modic::phantom {

struct GeneratorOptions {
    std::filesystem::path out_dir;
    std::uint64_t seed = 1;
    int cases = 1;
    int first_case = 1;
    bool debug_labels = false;              // also write label maps under <case>/debug/
    std::optional<bool> single_slice;       // force the variant on or off; drawn when absent
    std::optional<TransferSyntax> transfer_syntax;  // force; drawn when absent
    // 3-D sagittal series (190 slices of 0.9 mm, 512 rows), as isotropic protocols acquire them:
    // for measuring time and memory on such studies. Forces the multi-slice variant.
    bool three_d = false;
};

enum class SeriesRole { T1, T2, Stir, Ignore };
std::string_view to_string(SeriesRole role);

struct SeriesPlan {
    SeriesRole role = SeriesRole::Ignore;
    std::string kind;  // "sag_t1", "sag_t2", "sag_stir", "sag_t2_fs", "ax_t2", "localizer", "sag_t1_post"
    Acquisition acquisition;
    SeriesInfo info;
    std::vector<ImagePlane> planes;  // physical frame
    Vec3 frame_offset;               // written positions = physical + frame_offset
    bool eight_bit = false;
    double target_max = 2000;       // stored value of the brightest tissue (standard variant)
    double clip_percentile = 99.5;  // 8-bit variant
    std::vector<std::string> sop_uids;
};

struct StudyVariant {
    bool single_slice = false;
    bool three_d = false;
    bool aligned = true;
    bool eight_bit = false;
    bool oblique = false;
    TransferSyntax transfer_syntax = TransferSyntax::ExplicitLittle;
    std::string vendor;  // "siemens", "philips", "ge"
};

struct StudyResult {
    std::filesystem::path folder;
    int files = 0;
    double seconds = 0;
};

StudyResult generate_study(const GeneratorOptions& options, int case_index);

// The seed of one case: the same (seed, case) gives the same study whatever else is generated.
std::uint64_t case_seed(std::uint64_t seed, int case_index);

}  // namespace modic::phantom
