// The source study's header as the SR copies it: Patient, Patient Study and General Study modules
// and the Specific Character Set, byte for byte (no character set conversion).
#pragma once

#include <filesystem>
#include <memory>

#include "dcmtk/config/osconfig.h"
#include "dcmtk/dcmdata/dcdatset.h"

namespace modic::core::report {

// Reads a DICOM file's header (up to the pixel data). Throws std::runtime_error naming the file.
std::unique_ptr<DcmDataset> read_header(const std::filesystem::path& file);

// Copies the Patient, Patient Study and General Study attributes present in `source` into
// `target`, replacing what `target` holds, plus Specific Character Set (removed from `target`
// when the source has none, as then the source text is the default repertoire).
void copy_patient_and_study(DcmItem& source, DcmItem& target);

}  // namespace modic::core::report
