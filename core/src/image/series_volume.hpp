// One MR series loaded into physical space: what the analysis stages work on.
#pragma once

#include <itkImage.h>

#include <string>
#include <vector>

namespace modic::core {

// Pixel values after RescaleSlope/Intercept, in the scanner's arbitrary units.
using Volume = itk::Image<float, 3>;

struct SeriesVolume {
    std::string series_instance_uid;
    std::string frame_of_reference_uid;
    std::string role;  // "t1", "t2" or "stir"
    // Index (i, j, k) = (column, row, slice). Origin, spacing and direction are DICOM patient
    // coordinates (LPS): direction columns are the row direction, the column direction and the
    // slice normal. A single slice has one k and spacing[2] = SliceThickness.
    Volume::Pointer image;
    std::vector<std::string> sop_instance_uids;  // per slice k, to reference evidence in the SR
    double slice_thickness_mm = 0.0;
};

// Whether two series' patient coordinates may be compared: the same Frame of Reference UID. A
// series without one (a non-conformant header) shares a frame with none: its coordinates may be
// those of another session, 10-50 mm off.
inline bool share_frame_of_reference(const SeriesVolume& a, const SeriesVolume& b) {
    return !a.frame_of_reference_uid.empty() && a.frame_of_reference_uid == b.frame_of_reference_uid;
}

}  // namespace modic::core
