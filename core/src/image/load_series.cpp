#include "image/load_series.hpp"

#include <dcmtk/dcmdata/dcdeftag.h>
#include <dcmtk/dcmdata/dcfilefo.h>
#include <dcmtk/dcmdata/dcxfer.h>
#include <fmt/core.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <memory>
#include <stdexcept>

#include "dicom/dicom_codecs.hpp"
#include "dicom/instance_header.hpp"

namespace modic::core {
namespace {

using Vec3 = std::array<double, 3>;

// Slices closer than this along the normal are the same slice acquired twice.
constexpr double kSamePositionMm = 0.01;
// Spacing between neighbours may differ from the median by this fraction before we warn.
constexpr double kSpacingTolerance = 0.1;
// ImageOrientationPatient's vectors may be off unit length and perpendicularity by this much.
constexpr double kOrientationTolerance = 0.01;
// No MR image has pixels this large; a larger PixelSpacing is a broken header.
constexpr double kMaxPixelSpacingMm = 50.0;

// An instance whose pixels cannot be used; its message goes to the findings' reason.
struct BadInstance : std::runtime_error {
    using std::runtime_error::runtime_error;
};

struct Slice {
    // The parsed file, its pixel data left on disk by DCMTK until decoded; released once decoded.
    std::unique_ptr<DcmFileFormat> file;
    InstanceHeader header;
    double position_along_normal = 0.0;
};

Vec3 cross(const Vec3& a, const Vec3& b) {
    return {a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]};
}

double dot(const Vec3& a, const Vec3& b) { return a[0] * b[0] + a[1] * b[1] + a[2] * b[2]; }

Vec3 normalised(const Vec3& v) {
    const double length = std::sqrt(dot(v, v));
    return {v[0] / length, v[1] / length, v[2] / length};
}

Vec3 row_direction(const InstanceHeader& h) {
    const auto& o = *h.orientation;
    return normalised({o[0], o[1], o[2]});
}

Vec3 column_direction(const InstanceHeader& h) {
    const auto& o = *h.orientation;
    return normalised({o[3], o[4], o[5]});
}

Vec3 normal_of(const InstanceHeader& h) {
    return normalised(cross(row_direction(h), column_direction(h)));
}

std::string where(const InstanceHeader& h) {
    return fmt::format("instance {} in {}", h.sop_instance_uid, h.file.string());
}

void require_geometry(const InstanceHeader& h) {
    const auto missing = !h.orientation                ? "ImageOrientationPatient"
                         : !h.position_mm              ? "ImagePositionPatient"
                         : !h.pixel_spacing_mm         ? "PixelSpacing"
                         : h.rows <= 0 || h.columns <= 0 ? "Rows/Columns"
                                                          : nullptr;
    if (missing) {
        throw BadInstance(fmt::format("{} has no usable {}: its image cannot be placed in space",
                                      where(h), missing));
    }
    // Two perpendicular unit vectors, to the precision headers print them in.
    const auto& o = *h.orientation;
    const Vec3 row{o[0], o[1], o[2]}, column{o[3], o[4], o[5]};
    if (!(std::abs(dot(row, row) - 1) < kOrientationTolerance && std::abs(dot(column, column) - 1) < kOrientationTolerance &&
          std::abs(dot(row, column)) < kOrientationTolerance))
        throw BadInstance(fmt::format("{} has an invalid ImageOrientationPatient (not two perpendicular unit "
                                      "vectors): its image cannot be placed in space", where(h)));
    for (const double spacing : *h.pixel_spacing_mm)
        if (!(spacing > 0 && spacing <= kMaxPixelSpacingMm))
            throw BadInstance(fmt::format("{} has an invalid PixelSpacing ({} mm; an MR image's lies between 0 "
                                          "and {} mm)", where(h), spacing, kMaxPixelSpacingMm));
}

// The header's SliceThickness when it is a positive number (a header may carry 0 or worse).
std::optional<double> usable_thickness(const InstanceHeader& h) {
    if (h.slice_thickness_mm && *h.slice_thickness_mm > 0 && std::isfinite(*h.slice_thickness_mm))
        return h.slice_thickness_mm;
    return std::nullopt;
}

Uint16 uint16_of(DcmItem& item, const DcmTagKey& tag, Uint16 fallback) {
    Uint16 value = fallback;
    item.findAndGetUint16(tag, value);
    return value;
}

double number_of(DcmItem& item, const DcmTagKey& tag, double fallback) {
    Float64 value = fallback;
    if (item.findAndGetFloat64(tag, value).bad() || !std::isfinite(value)) return fallback;
    return value;
}

// Stored values -> scanner units: bits masked, sign extended, MONOCHROME1 inverted, rescaled.
struct PixelCoding {
    int bits_allocated = 16;
    int bits_stored = 16;
    bool is_signed = false;
    bool monochrome1 = false;
    double slope = 1.0;
    double intercept = 0.0;

    float value_of(std::uint32_t raw) const {
        const std::uint32_t mask = bits_stored >= 32 ? 0xffffffffu : (1u << bits_stored) - 1u;
        std::int64_t stored = raw & mask;
        if (is_signed && (stored & (std::int64_t{1} << (bits_stored - 1)))) {
            stored -= std::int64_t{1} << bits_stored;
        }
        if (monochrome1) {
            // Mirror within the stored range, so that bright still means much signal.
            const std::int64_t low = is_signed ? -(std::int64_t{1} << (bits_stored - 1)) : 0;
            const std::int64_t high = low + (std::int64_t{1} << bits_stored) - 1;
            stored = high + low - stored;
        }
        return static_cast<float>(static_cast<double>(stored) * slope + intercept);
    }
};

// Decodes the slice's rows x columns pixels, row by row, into `out`.
void decode_pixels(DcmDataset& dataset, const InstanceHeader& h, float* out) {
    const auto fail = [&](const std::string& why) {
        return BadInstance(
            fmt::format("pixel data of {} cannot be decoded: {}", where(h), why));
    };
    // Compressed pixel data is decoded here; uncompressed data is left as it is.
    const OFCondition decoded = dataset.chooseRepresentation(EXS_LittleEndianExplicit, nullptr);
    if (decoded.bad() || !dataset.canWriteXfer(EXS_LittleEndianExplicit)) {
        throw fail(fmt::format("transfer syntax {} could not be decompressed ({})",
                               DcmXfer(dataset.getOriginalXfer()).getXferName(),
                               decoded.bad() ? decoded.text() : "no decoder"));
    }
    OFString photometric;
    dataset.findAndGetOFString(DCM_PhotometricInterpretation, photometric);
    if (uint16_of(dataset, DCM_SamplesPerPixel, 1) != 1) {
        throw fail(fmt::format("{} is not a greyscale image", photometric.c_str()));
    }
    if (h.number_of_frames != 1) {
        throw fail(fmt::format("{} frames in one instance are not supported", h.number_of_frames));
    }
    PixelCoding coding;
    coding.bits_allocated = uint16_of(dataset, DCM_BitsAllocated, 16);
    coding.bits_stored = uint16_of(dataset, DCM_BitsStored, coding.bits_allocated);
    coding.is_signed = uint16_of(dataset, DCM_PixelRepresentation, 0) == 1;
    coding.monochrome1 = photometric == "MONOCHROME1";
    coding.slope = number_of(dataset, DCM_RescaleSlope, 1.0);
    coding.intercept = number_of(dataset, DCM_RescaleIntercept, 0.0);
    if (coding.bits_allocated != 8 && coding.bits_allocated != 16) {
        throw fail(fmt::format("BitsAllocated {} is not supported", coding.bits_allocated));
    }
    if (coding.bits_stored < 1 || coding.bits_stored > coding.bits_allocated) {
        throw fail(fmt::format("BitsStored {} does not fit BitsAllocated {}", coding.bits_stored,
                               coding.bits_allocated));
    }
    DcmElement* element = nullptr;
    if (dataset.findAndGetElement(DCM_PixelData, element).bad() || element == nullptr) {
        throw fail("the instance has no pixel data");
    }
    const std::size_t count = static_cast<std::size_t>(h.rows) * h.columns;
    const std::size_t needed = count * (coding.bits_allocated / 8);
    if (element->getLength() < needed) {
        throw fail(fmt::format("{} bytes of pixel data, {} expected for {} x {} pixels",
                               element->getLength(), needed, h.columns, h.rows));
    }
    if (coding.bits_allocated == 8) {
        Uint8* data = nullptr;
        if (element->getUint8Array(data).bad() || data == nullptr) throw fail("unreadable bytes");
        for (std::size_t i = 0; i < count; ++i) out[i] = coding.value_of(data[i]);
    } else {
        Uint16* data = nullptr;
        if (element->getUint16Array(data).bad() || data == nullptr) throw fail("unreadable words");
        for (std::size_t i = 0; i < count; ++i) out[i] = coding.value_of(data[i]);
    }
}

// The instance's file, parsed; DCMTK leaves large values (the pixel data) on disk until used.
void load_instance(const SourceInstance& instance, DcmFileFormat& file_format) {
    const OFCondition loaded = file_format.loadFile(instance.file.c_str());
    if (loaded.bad()) {
        // DCMTK's words for a file cut short are obscure; say what they mean.
        const std::string why = loaded == EC_StreamNotifyClient
                                    ? fmt::format("the file ends early, it is truncated ({})",
                                                  loaded.text())
                                    : loaded.text();
        throw BadInstance(fmt::format("pixel data of instance {} in {} cannot be decoded: {}",
                                      instance.sop_instance_uid, instance.file.string(), why));
    }
}

// A slice's header and place, its pixels not yet read.
Slice read_slice_header(const SourceInstance& instance) {
    Slice slice;
    slice.file = std::make_unique<DcmFileFormat>();
    load_instance(instance, *slice.file);
    slice.header = header_from_dataset(*slice.file->getDataset(), instance.file);
    if (slice.header.sop_instance_uid.empty()) slice.header.sop_instance_uid = instance.sop_instance_uid;
    require_geometry(slice.header);
    slice.position_along_normal = dot(*slice.header.position_mm, normal_of(slice.header));
    return slice;
}

// The slice's pixels, read straight into their place in the volume; the parsed file is then let go.
void read_slice_pixels(Slice& slice, float* out) {
    decode_pixels(*slice.file->getDataset(), slice.header, out);
    slice.file.reset();
}

// The analysis reads the middle slice and looks for the spine's midline at most 30 mm either
// side of it (midline.cpp); a 3-D series of 0.9 mm slices holds 200 slices and more, 800 MB of
// pixels once read as floats. Only the slices within kReadHalfExtentMm of the middle one are kept,
// as many on either side as the series has on its shorter side, so that the middle stays the middle.
void keep_slices_near_the_middle(std::vector<Slice>& slices) {
    constexpr double kReadHalfExtentMm = 45.0;
    const std::size_t middle = slices.size() / 2;
    const double centre = slices[middle].position_along_normal;
    std::size_t below = 0, above = 0;
    while (below < middle && centre - slices[middle - below - 1].position_along_normal <= kReadHalfExtentMm) ++below;
    while (middle + above + 1 < slices.size() &&
           slices[middle + above + 1].position_along_normal - centre <= kReadHalfExtentMm)
        ++above;
    below = std::min(below, above + 1);
    above = std::min(above, below);
    slices.erase(slices.begin() + static_cast<long>(middle + above + 1), slices.end());
    slices.erase(slices.begin(), slices.begin() + static_cast<long>(middle - below));
}

// The distances between neighbouring slices along their normal.
std::vector<double> gaps_between(const std::vector<Slice>& slices) {
    std::vector<double> gaps;
    for (std::size_t k = 1; k < slices.size(); ++k)
        gaps.push_back(slices[k].position_along_normal - slices[k - 1].position_along_normal);
    return gaps;
}

// The middle value (the upper one of an even count).
double upper_median(std::vector<double> values) {
    std::nth_element(values.begin(), values.begin() + values.size() / 2, values.end());
    return values[values.size() / 2];
}

// Slices thinner than kMinReadSpacingMm apart (a 3-D series' 0.9 mm) are read every second or
// third one, counted from the middle slice, which stays the middle: 2-D series' 3-5 mm are what
// the analysis is made for, and decoding a hundred thin slices per series is most of a
// compressed 3-D study's time.
void thin_out_thin_slices(std::vector<Slice>& slices) {
    constexpr double kMinReadSpacingMm = 1.8;
    if (slices.size() < 3) return;
    const double gap = upper_median(gaps_between(slices));
    const auto step = static_cast<std::size_t>(std::max(1.0, std::floor(kMinReadSpacingMm / gap + 1e-6)));
    if (step == 1) return;
    const std::size_t middle = slices.size() / 2;
    std::vector<Slice> kept;
    for (std::size_t k = middle % step; k < slices.size(); k += step) kept.push_back(std::move(slices[k]));
    slices = std::move(kept);
}

// Slices that can share one volume: same orientation, matrix and pixel spacing.
using GroupKey = std::array<long, 10>;
GroupKey group_key(const InstanceHeader& h) {
    GroupKey key{};
    for (int i = 0; i < 6; ++i) key[i] = std::lround((*h.orientation)[i] * 1000);
    key[6] = h.rows;
    key[7] = h.columns;
    key[8] = std::lround((*h.pixel_spacing_mm)[0] * 1000);
    key[9] = std::lround((*h.pixel_spacing_mm)[1] * 1000);
    return key;
}

std::vector<Slice> largest_consistent_group(std::vector<Slice> slices,
                                            std::vector<std::string>& warnings) {
    const auto total = slices.size();
    std::map<GroupKey, std::vector<Slice>> groups;
    for (auto& slice : slices) groups[group_key(slice.header)].push_back(std::move(slice));
    auto largest = groups.begin();
    for (auto it = groups.begin(); it != groups.end(); ++it) {
        if (it->second.size() > largest->second.size()) largest = it;
    }
    if (groups.size() > 1) {
        warnings.push_back(fmt::format(
            "series {}: {} of {} images set aside, their orientation, matrix or pixel spacing "
            "differs from the other {}",
            largest->second.front().header.series_instance_uid, total - largest->second.size(),
            total, largest->second.size()));
    }
    return std::move(largest->second);
}

void sort_and_drop_duplicates(std::vector<Slice>& slices, std::vector<std::string>& warnings) {
    std::stable_sort(slices.begin(), slices.end(), [](const Slice& a, const Slice& b) {
        if (std::abs(a.position_along_normal - b.position_along_normal) >= kSamePositionMm) {
            return a.position_along_normal < b.position_along_normal;
        }
        return a.header.instance_number < b.header.instance_number;
    });
    std::vector<Slice> kept;
    for (auto& slice : slices) {
        if (!kept.empty() && std::abs(slice.position_along_normal -
                                      kept.back().position_along_normal) < kSamePositionMm) {
            warnings.push_back(fmt::format("{} is at the same position as instance {}; set aside",
                                           where(slice.header),
                                           kept.back().header.sop_instance_uid));
            continue;
        }
        kept.push_back(std::move(slice));
    }
    slices = std::move(kept);
}

double slice_spacing(const std::vector<Slice>& slices, std::vector<std::string>& warnings) {
    const auto& first = slices.front().header;
    if (slices.size() == 1) {
        // One slice has no neighbour: its thickness is its through-plane extent.
        if (const auto thickness = usable_thickness(first)) return *thickness;
        warnings.push_back(fmt::format("{} has no usable SliceThickness; 1 mm assumed", where(first)));
        return 1.0;
    }
    const std::vector<double> gaps = gaps_between(slices);
    const double median = upper_median(gaps);
    const auto [smallest, largest] = std::minmax_element(gaps.begin(), gaps.end());
    if (*largest - *smallest > kSpacingTolerance * median) {
        warnings.push_back(fmt::format(
            "series {}: uneven spacing between slices ({:.2f} to {:.2f} mm); {:.2f} mm used",
            first.series_instance_uid, *smallest, *largest, median));
    }
    return median;
}

SeriesVolume build_volume(std::vector<Slice>& slices, double spacing_between_slices,
                          const std::string& role) {
    const auto& first = slices.front().header;
    const auto rows = static_cast<Volume::SizeValueType>(first.rows);
    const auto columns = static_cast<Volume::SizeValueType>(first.columns);

    auto image = Volume::New();
    Volume::RegionType region;
    Volume::SizeType size = {{columns, rows, slices.size()}};
    region.SetSize(size);
    image->SetRegions(region);
    Volume::SpacingType spacing;
    spacing[0] = (*first.pixel_spacing_mm)[1];  // between columns
    spacing[1] = (*first.pixel_spacing_mm)[0];  // between rows
    spacing[2] = spacing_between_slices;
    image->SetSpacing(spacing);
    Volume::PointType origin;
    for (int i = 0; i < 3; ++i) origin[i] = (*first.position_mm)[i];
    image->SetOrigin(origin);
    Volume::DirectionType direction;
    const Vec3 axes[3] = {row_direction(first), column_direction(first), normal_of(first)};
    for (int axis = 0; axis < 3; ++axis) {
        for (int i = 0; i < 3; ++i) direction[i][axis] = axes[axis][i];
    }
    image->SetDirection(direction);
    image->Allocate();

    SeriesVolume volume;
    volume.series_instance_uid = first.series_instance_uid;
    volume.frame_of_reference_uid = first.frame_of_reference_uid;
    volume.role = role;
    // A change's volume is its area times this; without a usable SliceThickness, the slices'
    // spacing (for one slice, what slice_spacing assumed).
    volume.slice_thickness_mm = usable_thickness(first).value_or(spacing_between_slices);
    float* buffer = image->GetBufferPointer();
    const std::size_t slice_size = static_cast<std::size_t>(rows) * columns;
    for (std::size_t k = 0; k < slices.size(); ++k) {
        read_slice_pixels(slices[k], buffer + k * slice_size);
        volume.sop_instance_uids.push_back(slices[k].header.sop_instance_uid);
    }
    volume.image = image;
    return volume;
}

}  // namespace

LoadedSeries load_series(const std::vector<SourceInstance>& instances, const std::string& role) {
    register_dicom_decoders();
    LoadedSeries result;
    if (instances.empty()) {
        result.error = fmt::format("the {} series has no images", role);
        return result;
    }
    try {
        std::vector<Slice> slices;
        for (const auto& instance : instances) slices.push_back(read_slice_header(instance));
        slices = largest_consistent_group(std::move(slices), result.warnings);
        sort_and_drop_duplicates(slices, result.warnings);
        keep_slices_near_the_middle(slices);
        thin_out_thin_slices(slices);
        const double spacing = slice_spacing(slices, result.warnings);
        result.volume = build_volume(slices, spacing, role);
    } catch (const BadInstance& bad) {
        result.error = bad.what();
    } catch (const std::exception& unexpected) {
        // ITK or the allocator: still a reason an operator can act on, with the series named.
        result.error = fmt::format("series {} cannot be loaded: {}",
                                   instances.front().series_instance_uid, unexpected.what());
    }
    return result;
}

}  // namespace modic::core
