#include "study.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <fstream>
#include <stdexcept>

#include <fmt/format.h>

#include "truth_json.hpp"

namespace modic::phantom {
namespace {

// ---------------------------------------------------------------- identifiers, dates, vendors

// "2.25." + a 128-bit number from the case's own stream: unique enough, and the same per seed.
std::string make_uid(Rng& rng) {
    unsigned __int128 value = (static_cast<unsigned __int128>(rng.bits()) << 64) | rng.bits();
    if (value == 0) value = 1;
    std::string digits;
    while (value > 0) {
        digits.insert(digits.begin(), static_cast<char>('0' + static_cast<int>(value % 10)));
        value /= 10;
    }
    return "2.25." + digits;
}

std::string time_text(int seconds_of_day) {
    seconds_of_day %= 86400;
    return fmt::format("{:02d}{:02d}{:02d}", seconds_of_day / 3600, (seconds_of_day / 60) % 60,
                       seconds_of_day % 60);
}

struct VendorStyle {
    std::string key, manufacturer;
    std::vector<std::string> models_15, models_30;
    std::vector<std::string> t1, t2, stir, t2fs, axial, localizer, post;
    std::string stir_scanning_sequence, tse_variant, sequence_name;
    int series_step = 1;
    bool rescale = false;
    double target_lo = 600, target_hi = 1800;
};

const std::vector<VendorStyle>& vendor_styles() {
    static const std::vector<VendorStyle> styles = {
        {"siemens", "SIEMENS", {"Avanto", "Aera", "Espree"}, {"Skyra", "Verio", "Prisma"},
         {"t1_tse_sag", "t1_tse_sag_320", "T1_TSE_SAG"}, {"t2_tse_sag", "t2_tse_sag_384"},
         {"t2_tirm_sag", "STIR_SAG", "t2_stir_sag"}, {"t2_tse_fs_sag"}, {"t2_tse_tra", "t2_tse_tra_384"},
         {"localizer", "Localizer_3plane"}, {"t1_tse_sag_post", "t1_tse_sag_KM"},
         "SE\\IR", "SK\\SP\\OSP", "*tse2d1_5", 1, false, 600, 1800},
        {"philips", "Philips Healthcare", {"Achieva", "Ingenia"}, {"Ingenia", "Achieva dStream"},
         {"SAG T1 TSE", "T1W_TSE SAG", "CS T1 TSE SAG"}, {"SAG T2 TSE", "T2W_TSE SAG", "CS T2 TSE SAG"},
         {"SAG STIR", "STIR_SAG", "STIR SAG"}, {"T2W_SPAIR SAG", "SAG T2 SPAIR"}, {"T2W_TSE TRA", "AX T2 TSE"},
         {"Survey", "SURVEY MST"}, {"T1W_TSE SAG GD", "SAG T1 TSE +C"},
         "IR", "SK", "TSE", 100, true, 1500, 3500},
        {"ge", "GE MEDICAL SYSTEMS", {"SIGNA HDxt", "Optima MR450w"}, {"DISCOVERY MR750", "SIGNA Pioneer"},
         {"SAG T1 FSE", "Sag T1 FSE"}, {"SAG T2 FSE", "Sag T2 FRFSE"}, {"SAG STIR", "Sag STIR"},
         {"SAG T2 FSE FS", "Sag T2 FS"}, {"AX T2 FSE", "Ax T2 FRFSE"}, {"3-PLANE LOC", "3Plane Loc SSFSE"},
         {"SAG T1 FSE +C", "Sag T1 +C"}, "IR", "SK\\OSP", "fse", 1, false, 1000, 3000},
    };
    return styles;
}

PatientStudyInfo draw_study_info(Rng& rng, const VendorStyle& vendor, std::uint64_t seed, int case_index) {
    PatientStudyInfo s;
    s.patient_name = fmt::format("PHANTOM^CASE{:04d}", case_index);
    s.patient_id = fmt::format("PH{}-{:04d}", seed % 1000000, case_index);
    const int year = rng.integer(2016, 2024), month = rng.integer(1, 12), day = rng.integer(1, 28);
    s.study_date = fmt::format("{:04d}{:02d}{:02d}", year, month, day);
    const int age = rng.integer(25, 84);
    s.birth_date = fmt::format("{:04d}{:02d}{:02d}", year - age - 1, rng.integer(month, 12), rng.integer(1, 28));
    s.age = fmt::format("{:03d}Y", age);
    s.sex = rng.chance(0.5) ? "F" : "M";
    s.study_time = time_text(rng.integer(7 * 3600, 18 * 3600));
    s.accession = fmt::format("A{:08d}", rng.integer(0, 99999999));
    s.study_id = std::to_string(rng.integer(1, 9999));
    s.study_description = rng.pick(std::vector<std::string>{"MRI LUMBAR SPINE", "LWS", "MR L-SPINE W/O", "Lumbar Spine"});
    s.manufacturer = vendor.manufacturer;
    const bool three_tesla = rng.chance(0.4);
    s.field_strength = three_tesla ? 3.0 : 1.5;
    s.model = rng.pick(three_tesla ? vendor.models_30 : vendor.models_15);
    s.imaging_frequency = three_tesla ? 127.7 + rng.uniform(0, 0.1) : 63.8 + rng.uniform(0, 0.1);
    s.institution = "PHANTOM HOSPITAL";
    s.station = fmt::format("MR{:02d}", rng.integer(1, 12));
    s.study_uid = make_uid(rng);
    return s;
}

StudyVariant draw_variant(Rng& rng, const GeneratorOptions& options, const std::string& vendor) {
    StudyVariant v;
    v.vendor = vendor;
    v.single_slice = options.single_slice.value_or(rng.chance(0.25));
    if (options.three_d) v.single_slice = false;
    v.three_d = options.three_d;
    // Single mid-sagittal slices come, like the real development set, mostly windowed to 8 bits.
    v.eight_bit = rng.chance(v.single_slice ? 0.8 : 0.15);
    v.aligned = !rng.chance(v.single_slice ? 0.6 : 0.25);
    v.oblique = rng.chance(0.4);
    static const std::vector<TransferSyntax> syntaxes = {
        TransferSyntax::ExplicitLittle, TransferSyntax::ImplicitLittle, TransferSyntax::JpegLossless,
        TransferSyntax::JpegLs, TransferSyntax::Rle, TransferSyntax::Deflate};
    const TransferSyntax drawn = syntaxes[rng.weighted({0.45, 0.1, 0.12, 0.12, 0.1, 0.11})];
    v.transfer_syntax = options.transfer_syntax.value_or(drawn);
    return v;
}

// ---------------------------------------------------------------- geometry

struct SagittalGrid {
    int rows = 256, cols = 256, slices = 1;
    double pixel = 1, thickness = 3, spacing = 3.3;
};

SagittalGrid draw_sagittal_grid(Rng& rng, bool single_slice) {
    SagittalGrid g;
    static const std::vector<int> matrices = {256, 320, 384, 448, 512};
    g.rows = rng.pick(matrices);
    const double fov_z = rng.uniform(270, 340);
    g.pixel = std::round(fov_z / g.rows * 1e5) / 1e5;
    const double ratio = rng.chance(0.4) ? 1.0 : rng.uniform(0.78, 1.0);
    g.cols = std::clamp(static_cast<int>(std::lround(g.rows * ratio / 16.0)) * 16, 256, 512);
    g.slices = single_slice ? 1 : rng.integer(11, 19);
    g.thickness = rng.pick(std::vector<double>{3.0, 3.0, 3.5, 4.0, 4.5});
    g.spacing = std::round(g.thickness * rng.uniform(1.0, 1.3) * 10) / 10;
    return g;
}

// The drawn grid as a 3-D acquisition: the same field of view in 512 rows, 0.9 mm slices
// through 171 mm. No random draw, so the rest of the study is drawn as without it.
SagittalGrid as_three_d(SagittalGrid g) {
    constexpr int kRows = 512, kSlices = 190;
    g.cols = std::clamp(static_cast<int>(std::lround(g.cols * double(kRows) / g.rows / 16.0)) * 16, 256, kRows);
    g.pixel = std::round(g.pixel * g.rows / kRows * 1e5) / 1e5;
    g.rows = kRows;
    g.slices = kSlices;
    g.thickness = g.spacing = 0.9;
    return g;
}

struct SagittalOrientation {
    Vec3 row, col;
    bool reverse_order = false;
};

SagittalOrientation draw_orientation(Rng& rng, bool oblique) {
    // Columns run posterior (as in the development set) or, less often, anterior; rows run down.
    const double sign = rng.chance(0.8) ? 1.0 : -1.0;
    const double yaw = oblique ? degrees_to_radians(rng.uniform(-6, 6)) : 0.0;
    const double roll = oblique ? degrees_to_radians(rng.uniform(-5, 5)) : 0.0;
    SagittalOrientation o;
    o.row = normalized(Vec3{std::sin(yaw), sign * std::cos(yaw), 0});
    Vec3 col{std::sin(roll), 0, -std::cos(roll)};
    col = normalized(col - o.row * dot(col, o.row));
    o.col = col;
    o.reverse_order = rng.chance(0.5);
    return o;
}

ImagePlane centred_plane(Vec3 center, Vec3 row, Vec3 col, int rows, int cols, double pixel, double thickness) {
    ImagePlane p;
    p.row_dir = row;
    p.col_dir = col;
    p.rows = rows;
    p.cols = cols;
    p.row_spacing = pixel;
    p.column_spacing = pixel;
    p.thickness = thickness;
    p.origin = center - row * ((cols - 1) / 2.0 * pixel) - col * ((rows - 1) / 2.0 * pixel);
    return p;
}

std::vector<ImagePlane> sagittal_stack(const SagittalGrid& g, const SagittalOrientation& o, Vec3 center) {
    std::vector<ImagePlane> planes;
    const Vec3 normal = cross(o.row, o.col);
    for (int i = 0; i < g.slices; ++i) {
        const int k = o.reverse_order ? g.slices - 1 - i : i;
        const double offset = (k - (g.slices - 1) / 2.0) * g.spacing;
        planes.push_back(centred_plane(center + normal * offset, o.row, o.col, g.rows, g.cols, g.pixel, g.thickness));
    }
    return planes;
}

// Field of view centre: the back's skin lands 30-47 % of the width behind the centre.
Vec3 draw_sagittal_center(Rng& rng, const SpineModel& model, const SagittalGrid& g) {
    const double z = model.vertebrae()[5].center.z + rng.uniform(-25, 25);
    const double width = g.cols * g.pixel;
    const double y = model.posterior_skin_y(z) - rng.uniform(0.30, 0.47) * width;
    return {model.midline_x() + rng.uniform(-2.5, 2.5), y, z};
}

// ---------------------------------------------------------------- protocol

Acquisition draw_acquisition(Rng& rng, Sequence sequence, const Acquisition& coil) {
    Acquisition a = coil;
    a.sequence = sequence;
    const bool fat_suppressed = sequence == Sequence::Stir || sequence == Sequence::T2FatSat;
    const double snr = fat_suppressed ? rng.uniform(9, 25) : rng.uniform(14, 45);
    a.noise_sigma = 1.0 / snr;
    return a;
}

SeriesInfo base_series(Rng& rng, const VendorStyle& vendor, const std::vector<std::string>& names,
                       const std::string& body_part) {
    SeriesInfo s;
    s.description = rng.pick(names);
    s.body_part = body_part;
    s.scanning_sequence = "SE";
    s.sequence_variant = vendor.tse_variant;
    s.scan_options = "";
    s.sequence_name = vendor.sequence_name;
    s.flip_angle = vendor.key == "siemens" ? 150 : 90;
    s.averages = rng.integer(1, 3);
    return s;
}

void set_timing(Rng& rng, SeriesInfo& s, Sequence sequence, double field) {
    switch (sequence) {
        case Sequence::T1:
        case Sequence::T1PostContrast:
            s.repetition_time = field > 2 ? rng.uniform(550, 800) : rng.uniform(400, 750);
            s.echo_time = rng.uniform(8, 14);
            s.echo_train_length = rng.integer(3, 7);
            break;
        case Sequence::T2:
            s.repetition_time = rng.uniform(2500, 5000);
            s.echo_time = rng.uniform(80, 120);
            s.echo_train_length = rng.integer(15, 25);
            break;
        case Sequence::Stir:
            s.repetition_time = rng.uniform(3000, 5500);
            s.echo_time = rng.uniform(30, 70);
            s.inversion_time = (field > 2 ? 210.0 : 150.0) + rng.uniform(-10, 10);
            s.echo_train_length = rng.integer(10, 20);
            break;
        case Sequence::T2FatSat:
            s.repetition_time = rng.uniform(3000, 4500);
            s.echo_time = rng.uniform(70, 90);
            s.echo_train_length = rng.integer(12, 20);
            s.scan_options = "FS";
            break;
        case Sequence::LocalizerGre:
            s.repetition_time = rng.uniform(7, 15);
            s.echo_time = rng.uniform(2.5, 5);
            s.echo_train_length = 1;
            s.flip_angle = rng.uniform(20, 40);
            s.scanning_sequence = "GR";
            s.sequence_variant = "SP";
            break;
    }
}

struct ProtocolContext {
    Rng& rng;
    const SpineModel& model;
    const VendorStyle& vendor;
    const PatientStudyInfo& study;
    const StudyVariant& variant;
    const Acquisition& coil;
    std::string body_part;
};

SeriesPlan sagittal_series(ProtocolContext& ctx, SeriesRole role, const std::string& kind, Sequence sequence,
                           const std::vector<std::string>& names, const SagittalGrid& grid,
                           const SagittalOrientation& orientation, Vec3 center) {
    SeriesPlan plan;
    plan.role = role;
    plan.kind = kind;
    plan.acquisition = draw_acquisition(ctx.rng, sequence, ctx.coil);
    plan.info = base_series(ctx.rng, ctx.vendor, names, ctx.body_part);
    set_timing(ctx.rng, plan.info, sequence, ctx.study.field_strength);
    if (sequence == Sequence::Stir) plan.info.scanning_sequence = ctx.vendor.stir_scanning_sequence;
    plan.info.slice_thickness = grid.thickness;
    plan.info.spacing_between_slices = grid.spacing;
    plan.planes = sagittal_stack(grid, orientation, center);
    return plan;
}

std::vector<ImagePlane> axial_blocks(Rng& rng, const SpineModel& model) {
    std::vector<ImagePlane> planes;
    const int matrix = rng.pick(std::vector<int>{320, 384, 448});
    const double pixel = std::round(rng.uniform(180, 220) / matrix * 1e5) / 1e5;
    const int per_block = rng.integer(3, 5);
    const int first = rng.integer(5, 6);  // L3/L4 or L4/L5 onwards
    for (int upper = first; upper <= 7; ++upper) {
        const VertebraModel& u = model.vertebrae()[static_cast<std::size_t>(upper)];
        const VertebraModel& l = model.vertebrae()[static_cast<std::size_t>(upper + 1)];
        const Vec3 center = (u.center - u.up * (u.height / 2) + l.center + l.up * (l.height / 2)) * 0.5;
        const Vec3 anterior = normalized(u.anterior + l.anterior);
        const Vec3 up = normalized(u.up + l.up);
        const Vec3 row{1, 0, 0};
        const Vec3 col = anterior * -1.0;
        for (int k = 0; k < per_block; ++k) {
            const double offset = (k - (per_block - 1) / 2.0) * 4.4;
            planes.push_back(centred_plane(center + up * offset + col * 25.0, row, col, matrix, matrix, pixel, 4.0));
        }
    }
    return planes;
}

std::vector<ImagePlane> localizer_planes(Rng& rng, const SpineModel& model) {
    const double pixel = std::round(rng.uniform(400, 450) / 256 * 1e5) / 1e5;
    const VertebraModel& l3 = model.vertebrae()[5];
    const Vec3 c{model.midline_x(), l3.center.y + 30, l3.center.z};
    return {centred_plane(c, {0, 1, 0}, {0, 0, -1}, 256, 256, pixel, 8),
            centred_plane(Vec3{c.x, l3.center.y, c.z}, {1, 0, 0}, {0, 0, -1}, 256, 256, pixel, 8),
            centred_plane(c, {1, 0, 0}, {0, 1, 0}, 256, 256, pixel, 8)};
}

std::vector<SeriesPlan> plan_series(ProtocolContext& ctx) {
    Rng& rng = ctx.rng;
    std::vector<SeriesPlan> series;
    const SagittalOrientation orientation = draw_orientation(rng, ctx.variant.oblique);
    SagittalGrid t1_grid = draw_sagittal_grid(rng, ctx.variant.single_slice);
    SagittalGrid t2_grid = t1_grid;
    if (rng.chance(0.5)) t2_grid = draw_sagittal_grid(rng, ctx.variant.single_slice);
    if (ctx.variant.three_d) {
        t1_grid = as_three_d(t1_grid);
        t2_grid = as_three_d(t2_grid);
    }
    const Vec3 t1_center = draw_sagittal_center(rng, ctx.model, t1_grid);
    Vec3 t2_center = t1_center;
    if (!ctx.variant.aligned) {
        // Different parts of the spine: up to 50 mm apart.
        const double dz = (rng.chance(0.5) ? 1 : -1) * rng.uniform(10, 45);
        t2_center = t1_center + Vec3{rng.uniform(-1.5, 1.5), rng.uniform(-12, 12), dz};
    }
    const auto& v = ctx.vendor;
    series.push_back(sagittal_series(ctx, SeriesRole::T1, "sag_t1", Sequence::T1, v.t1, t1_grid, orientation, t1_center));
    series.push_back(sagittal_series(ctx, SeriesRole::T2, "sag_t2", Sequence::T2, v.t2, t2_grid, orientation, t2_center));
    const double fluid = rng.uniform();
    if (fluid < 0.35 || fluid > 0.85) {
        const bool stir = fluid < 0.35;
        SagittalGrid grid = rng.chance(0.5) ? t2_grid : draw_sagittal_grid(rng, ctx.variant.single_slice);
        if (ctx.variant.three_d) grid = as_three_d(grid);
        Vec3 center = t2_center;
        if (!ctx.variant.aligned) center = center + Vec3{0, rng.uniform(-5, 5), rng.uniform(-10, 10)};
        series.push_back(sagittal_series(ctx, SeriesRole::Stir, stir ? "sag_stir" : "sag_t2_fs",
                                         stir ? Sequence::Stir : Sequence::T2FatSat, stir ? v.stir : v.t2fs,
                                         grid, orientation, center));
    }
    const double ignore_scale = ctx.variant.single_slice ? 0.4 : 1.0;
    if (rng.chance(0.5 * ignore_scale)) {
        SeriesPlan axial;
        axial.role = SeriesRole::Ignore;
        axial.kind = "ax_t2";
        axial.acquisition = draw_acquisition(rng, Sequence::T2, ctx.coil);
        axial.info = base_series(rng, v, v.axial, ctx.body_part);
        set_timing(rng, axial.info, Sequence::T2, ctx.study.field_strength);
        axial.planes = axial_blocks(rng, ctx.model);
        axial.info.slice_thickness = 4.0;
        axial.info.spacing_between_slices = 4.4;
        series.push_back(axial);
    }
    if (rng.chance(0.5 * ignore_scale)) {
        SeriesPlan loc;
        loc.role = SeriesRole::Ignore;
        loc.kind = "localizer";
        loc.acquisition = draw_acquisition(rng, Sequence::LocalizerGre, ctx.coil);
        loc.info = base_series(rng, v, v.localizer, ctx.body_part);
        set_timing(rng, loc.info, Sequence::LocalizerGre, ctx.study.field_strength);
        loc.info.slice_thickness = 8.0;
        loc.planes = localizer_planes(rng, ctx.model);
        series.insert(series.begin(), loc);  // a localizer is acquired first
    }
    if (rng.chance(0.15 * ignore_scale)) {
        SeriesPlan post = sagittal_series(ctx, SeriesRole::Ignore, "sag_t1_post", Sequence::T1PostContrast,
                                          v.post, t1_grid, orientation, t1_center);
        post.info.contrast_agent = rng.pick(std::vector<std::string>{"Gadovist", "Dotarem", "MultiHance", "GADOLINIUM"});
        series.push_back(post);
    }
    return series;
}

// Frames of reference, series numbers, times, output scaling: the header side of each series.
void finish_series(Rng& rng, const ProtocolContext& ctx, std::vector<SeriesPlan>& series) {
    const std::string shared_frame = make_uid(rng);
    Vec3 t1_offset;
    std::string t1_frame = shared_frame;
    int clock = 0;
    for (std::size_t i = 0; i < series.size(); ++i) {
        SeriesPlan& s = series[i];
        s.info.series_uid = make_uid(rng);
        s.info.series_number = static_cast<int>(i + 1) * ctx.vendor.series_step + (ctx.vendor.series_step > 1 ? 1 : 0);
        clock += rng.integer(150, 420);
        s.info.series_time = time_text(std::stoi(ctx.study.study_time.substr(0, 2)) * 3600 +
                                       std::stoi(ctx.study.study_time.substr(2, 2)) * 60 + clock);
        s.info.frame_uid = shared_frame;
        s.eight_bit = ctx.variant.eight_bit;
        s.target_max = rng.uniform(ctx.vendor.target_lo, ctx.vendor.target_hi);
        s.clip_percentile = rng.uniform(96.0, 99.8);  // spider-dev clips 0-6 % of its pixels
        if (ctx.vendor.rescale && !s.eight_bit)
            s.info.rescale = std::array<double, 2>{std::round(rng.uniform(0.6, 3.0) * 1e4) / 1e4, 0.0};
        if (s.eight_bit) s.info.image_type = "ORIGINAL\\PRIMARY\\M\\NORM";
    }
    if (ctx.variant.aligned) return;
    // As in the development set: each sagittal series centred on the patient-coordinate origin, in
    // its own frame of reference; the other series share the T1's frame.
    for (SeriesPlan& s : series) {
        if (s.role != SeriesRole::T1) continue;
        const ImagePlane& mid = s.planes[s.planes.size() / 2];
        t1_offset = (mid.pixel_center((mid.cols - 1) / 2.0, (mid.rows - 1) / 2.0)) * -1.0;
        t1_frame = make_uid(rng);
    }
    for (SeriesPlan& s : series) {
        if (s.role == SeriesRole::T2 || s.role == SeriesRole::Stir) {
            const ImagePlane& mid = s.planes[s.planes.size() / 2];
            s.frame_offset = (mid.pixel_center((mid.cols - 1) / 2.0, (mid.rows - 1) / 2.0)) * -1.0;
            s.info.frame_uid = make_uid(rng);
        } else {
            s.frame_offset = t1_offset;
            s.info.frame_uid = t1_frame;
        }
    }
}

// ---------------------------------------------------------------- rendering and writing

double percentile(std::vector<float> values, double pct) {
    if (values.empty()) return 1.0;
    const auto k = static_cast<std::size_t>(std::clamp(pct / 100.0, 0.0, 1.0) * (values.size() - 1));
    std::nth_element(values.begin(), values.begin() + static_cast<std::ptrdiff_t>(k), values.end());
    return std::max(1e-6, static_cast<double>(values[k]));
}

void write_label_map(const std::filesystem::path& path, const ImagePlane& plane, const std::vector<std::uint16_t>& labels) {
    std::ofstream out(path, std::ios::binary);
    if (!out) throw std::runtime_error("cannot write label map " + path.string());
    out << "P5\n# modic-phantom labels: structure<<8 | tissue\n" << plane.cols << " " << plane.rows << "\n65535\n";
    for (std::uint16_t v : labels) {
        const char bytes[2] = {static_cast<char>(v >> 8), static_cast<char>(v & 0xff)};
        out.write(bytes, 2);
    }
}

std::array<double, 3> to_array(Vec3 v) { return {v.x, v.y, v.z}; }

int write_series(const GeneratorOptions& options, const std::filesystem::path& folder, const SpineModel& model,
                 const PatientContrast& contrast, const PatientStudyInfo& study, SeriesPlan& series,
                 TransferSyntax syntax, Rng& rng) {
    std::vector<RenderedImage> images;
    std::vector<float> samples;
    for (const ImagePlane& plane : series.planes) {
        Rng noise = rng.fork(images.size());
        images.push_back(render_image(model, contrast, plane, series.acquisition, noise, options.debug_labels));
        const auto& signal = images.back().signal;
        for (std::size_t i = 0; i < signal.size(); i += 5) samples.push_back(signal[i]);
    }
    // Stored values: the standard variant scales the bright tissue to the vendor's range; the
    // 8-bit variant windows to 0..255 (clipping the brightest pixels) and stores x16 in 12 bits.
    const double reference = percentile(samples, series.eight_bit ? series.clip_percentile : 99.5);
    const double scale = series.eight_bit ? 255.0 / reference : series.target_max / reference;
    std::vector<float> stored_samples;
    for (float s : samples) stored_samples.push_back(static_cast<float>(std::min(s * scale, series.eight_bit ? 255.0 : 4095.0)));
    if (series.eight_bit) {
        series.info.window_width = std::round(rng.uniform(2200, 6300));
        series.info.window_center = std::round(series.info.window_width * rng.uniform(0.18, 0.3));
    } else {
        const double low = percentile(stored_samples, 5), high = percentile(stored_samples, 99.5);
        series.info.window_center = std::round(0.5 * (low + high));
        series.info.window_width = std::max(1.0, std::round((high - low) * 1.1));
    }
    const std::string content_time = series.info.series_time;
    std::filesystem::path debug = folder / "debug";
    if (options.debug_labels) std::filesystem::create_directories(debug);

    for (std::size_t i = 0; i < series.planes.size(); ++i) {
        const ImagePlane& plane = series.planes[i];
        std::vector<std::uint16_t> pixels(images[i].signal.size());
        for (std::size_t k = 0; k < pixels.size(); ++k) {
            double v = images[i].signal[k] * scale;
            if (series.eight_bit) v = std::min(255.0, std::round(v)) * 16.0;
            pixels[k] = static_cast<std::uint16_t>(std::clamp(std::round(v), 0.0, 4095.0));
        }
        ImageInfo image;
        image.sop_uid = make_uid(rng);
        series.sop_uids.push_back(image.sop_uid);
        image.content_time = content_time;
        image.instance_number = static_cast<int>(i + 1);
        const Vec3 written = plane.origin + series.frame_offset;
        image.position = to_array(written);
        image.orientation = {plane.row_dir.x, plane.row_dir.y, plane.row_dir.z,
                             plane.col_dir.x, plane.col_dir.y, plane.col_dir.z};
        image.slice_location = dot(written, plane.normal());
        image.rows = plane.rows;
        image.cols = plane.cols;
        image.pixel_spacing = {plane.row_spacing, plane.column_spacing};
        image.pixels = &pixels;
        const auto name = fmt::format("S{:04d}_I{:04d}.dcm", series.info.series_number, i + 1);
        write_mr_image(folder / name, study, series.info, image, syntax);
        if (options.debug_labels) write_label_map(debug / (image.sop_uid + ".pgm"), plane, images[i].labels);
    }
    return static_cast<int>(series.planes.size());
}

}  // namespace

std::string_view to_string(SeriesRole role) {
    switch (role) {
        case SeriesRole::T1: return "t1";
        case SeriesRole::T2: return "t2";
        case SeriesRole::Stir: return "stir";
        case SeriesRole::Ignore: return "ignore";
    }
    return "ignore";
}

std::uint64_t case_seed(std::uint64_t seed, int case_index) {
    return mix64(mix64(seed) ^ (0x5851f42d4c957f2dULL * static_cast<std::uint64_t>(case_index)));
}

StudyResult generate_study(const GeneratorOptions& options, int case_index) {
    const auto started = std::chrono::steady_clock::now();
    Rng master(case_seed(options.seed, case_index));
    Rng plan_rng = master.fork(11), anatomy_rng = master.fork(12), protocol_rng = master.fork(13),
        header_rng = master.fork(14), noise_rng = master.fork(15);

    const LesionPlan lesions = plan_lesions(plan_rng);
    const SpineModel model = SpineModel::build(anatomy_rng, lesions);
    const PatientContrast contrast = draw_patient_contrast(anatomy_rng);

    const VendorStyle& vendor = vendor_styles()[protocol_rng.weighted({0.45, 0.4, 0.15})];
    const StudyVariant variant = draw_variant(protocol_rng, options, vendor.key);
    const PatientStudyInfo study = draw_study_info(header_rng, vendor, options.seed, case_index);
    Acquisition coil;
    coil.coil_depth_mm = protocol_rng.uniform(350, 1200);
    coil.coil_floor = protocol_rng.uniform(0.25, 0.45);
    coil.coil_ripple = protocol_rng.uniform(0.0, 0.12);
    coil.coil_phase = protocol_rng.uniform(0, 6.283);
    const double body_part_draw = protocol_rng.uniform();
    ProtocolContext ctx{protocol_rng, model, vendor, study, variant, coil,
                        body_part_draw < 0.75 ? "LSPINE" : (body_part_draw < 0.9 ? "" : "SPINE")};
    std::vector<SeriesPlan> series = plan_series(ctx);
    finish_series(header_rng, ctx, series);
    for (SeriesPlan& s : series) s.acquisition.fast = s.role == SeriesRole::Ignore;

    StudyResult result;
    result.folder = options.out_dir / fmt::format("case_{:04d}", case_index);
    std::filesystem::create_directories(result.folder);
    register_codecs();
    for (SeriesPlan& s : series)
        result.files += write_series(options, result.folder, model, contrast, study, s,
                                     variant.transfer_syntax, noise_rng);

    const auto truth = build_truth(model, lesions, series, variant, study, options.seed, case_index);
    std::ofstream out(result.folder / "truth.json");
    if (!out) throw std::runtime_error("cannot write " + (result.folder / "truth.json").string());
    out << truth.dump(1) << "\n";
    result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    return result;
}

}  // namespace modic::phantom
