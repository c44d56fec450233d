// Loading one chosen series into a SeriesVolume in physical (DICOM patient) space.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "image/series_volume.hpp"
#include "modic/core/study.hpp"

namespace modic::core {

struct LoadedSeries {
    std::optional<SeriesVolume> volume;  // empty when the series cannot be loaded
    std::string error;  // why, naming the instance and file at fault
    std::vector<std::string> warnings;  // slices set aside, uneven spacing, ...
};

// Reads `instances` (one series, any transfer syntax), sorts the slices along their normal by
// ImagePositionPatient and builds the volume from the slices the analysis reads: those within
// 45 mm of the middle one, every second or third where they lie closer than 1.8 mm (a 3-D
// series). Spacing between slices from the positions (a single slice: SliceThickness),
// RescaleSlope/Intercept applied, MONOCHROME1 inverted. Slices of another orientation or matrix
// than most are set aside with a warning. Never throws for bad data: an unreadable or
// undecodable instance fills `error`.
LoadedSeries load_series(const std::vector<SourceInstance>& instances, const std::string& role);

}  // namespace modic::core
