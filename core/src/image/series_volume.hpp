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

}  // namespace modic::core
