#include "dicom_test_files.hpp"

#include <dcmtk/dcmdata/dcdeftag.h>
#include <dcmtk/dcmdata/dcfilefo.h>
#include <dcmtk/dcmdata/dcrleerg.h>
#include <dcmtk/dcmjpls/djencode.h>

#include <cstdlib>
#include <fstream>
#include <mutex>
#include <stdexcept>

namespace modic::test {
namespace fs = std::filesystem;

TempDir::TempDir() {
    std::string pattern = (fs::temp_directory_path() / "modic-test-XXXXXX").string();
    if (mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    path_ = pattern;
}

TempDir::~TempDir() {
    std::error_code ignored;
    fs::remove_all(path_, ignored);
}

std::uint16_t SyntheticMr::stored_value(int row, int column) const {
    if (!pixels.empty()) return pixels.at(static_cast<std::size_t>(row * columns + column));
    return static_cast<std::uint16_t>(100 * row + column + 10 * instance_number);
}

namespace {

void check(const OFCondition& status, const std::string& what) {
    if (status.bad()) throw std::runtime_error(what + ": " + status.text());
}

std::string numbers_text(const double* values, std::size_t count) {
    std::string text;
    for (std::size_t i = 0; i < count; ++i) {
        if (i) text += '\\';
        char buffer[32];
        std::snprintf(buffer, sizeof buffer, "%.6g", values[i]);
        text += buffer;
    }
    return text;
}

void put(DcmDataset& dataset, const DcmTagKey& tag, const std::string& value) {
    check(dataset.putAndInsertString(tag, value.c_str()), "putting a test attribute");
}

}  // namespace

void write_mr(const SyntheticMr& mr, const fs::path& file) {
    DcmFileFormat file_format;
    DcmDataset& d = *file_format.getDataset();
    const std::string sop_uid =
        mr.sop_uid.empty() ? mr.series_uid + "." + std::to_string(mr.instance_number) : mr.sop_uid;
    put(d, DCM_SOPClassUID, mr.sop_class_uid);
    put(d, DCM_SOPInstanceUID, sop_uid);
    put(d, DCM_StudyInstanceUID, mr.study_uid);
    put(d, DCM_SeriesInstanceUID, mr.series_uid);
    put(d, DCM_FrameOfReferenceUID, mr.study_uid + ".9");
    put(d, DCM_Modality, mr.modality);
    put(d, DCM_PatientName, "TEST^PATIENT");
    put(d, DCM_PatientID, mr.patient_id);
    put(d, DCM_SeriesDescription, mr.description);
    put(d, DCM_SeriesNumber, std::to_string(mr.series_number));
    put(d, DCM_InstanceNumber, std::to_string(mr.instance_number));
    put(d, DCM_ImageType, mr.image_type);
    put(d, DCM_ScanningSequence, mr.scanning_sequence);
    put(d, DCM_ScanOptions, mr.scan_options);
    if (mr.repetition_time_ms) put(d, DCM_RepetitionTime, numbers_text(&*mr.repetition_time_ms, 1));
    if (mr.echo_time_ms) put(d, DCM_EchoTime, numbers_text(&*mr.echo_time_ms, 1));
    if (mr.inversion_time_ms) put(d, DCM_InversionTime, numbers_text(&*mr.inversion_time_ms, 1));
    if (!mr.contrast_agent.empty()) put(d, DCM_ContrastBolusAgent, mr.contrast_agent);
    put(d, DCM_MagneticFieldStrength, numbers_text(&mr.field_strength_t, 1));
    put(d, DCM_ImageOrientationPatient, numbers_text(mr.orientation.data(), 6));
    if (mr.write_position) put(d, DCM_ImagePositionPatient, numbers_text(mr.position_mm.data(), 3));
    put(d, DCM_PixelSpacing, numbers_text(mr.pixel_spacing_mm.data(), 2));
    put(d, DCM_SliceThickness, numbers_text(&mr.slice_thickness_mm, 1));
    if (mr.rescale_slope) put(d, DCM_RescaleSlope, numbers_text(&*mr.rescale_slope, 1));
    if (mr.rescale_intercept) put(d, DCM_RescaleIntercept, numbers_text(&*mr.rescale_intercept, 1));
    put(d, DCM_PhotometricInterpretation, mr.photometric);
    check(d.putAndInsertUint16(DCM_SamplesPerPixel, 1), "SamplesPerPixel");
    check(d.putAndInsertUint16(DCM_Rows, static_cast<Uint16>(mr.rows)), "Rows");
    check(d.putAndInsertUint16(DCM_Columns, static_cast<Uint16>(mr.columns)), "Columns");
    check(d.putAndInsertUint16(DCM_BitsAllocated, 16), "BitsAllocated");
    check(d.putAndInsertUint16(DCM_BitsStored, static_cast<Uint16>(mr.bits_stored)), "BitsStored");
    check(d.putAndInsertUint16(DCM_HighBit, static_cast<Uint16>(mr.bits_stored - 1)), "HighBit");
    check(d.putAndInsertUint16(DCM_PixelRepresentation, mr.is_signed ? 1 : 0),
          "PixelRepresentation");
    std::vector<Uint16> values;
    for (int row = 0; row < mr.rows; ++row) {
        for (int column = 0; column < mr.columns; ++column) {
            values.push_back(mr.stored_value(row, column));
        }
    }
    check(d.putAndInsertUint16Array(DCM_PixelData, values.data(),
                                    static_cast<unsigned long>(values.size())),
          "PixelData");
    fs::create_directories(file.parent_path());
    check(file_format.saveFile(file.c_str(), EXS_LittleEndianExplicit), "saving " + file.string());
}

void write_compressed_copy(const fs::path& source, const fs::path& target,
                           Compression compression) {
    static std::once_flag registered;
    std::call_once(registered, [] {
        DJLSEncoderRegistration::registerCodecs();
        DcmRLEEncoderRegistration::registerCodecs();
    });
    DcmFileFormat file_format;
    check(file_format.loadFile(source.c_str()), "loading " + source.string());
    const E_TransferSyntax syntax =
        compression == Compression::JpegLsLossless ? EXS_JPEGLSLossless : EXS_RLELossless;
    DcmDataset& dataset = *file_format.getDataset();
    check(dataset.chooseRepresentation(syntax, nullptr), "compressing " + source.string());
    if (!dataset.canWriteXfer(syntax)) throw std::runtime_error("no encoder for the syntax");
    fs::create_directories(target.parent_path());
    check(file_format.saveFile(target.c_str(), syntax), "saving " + target.string());
}

void write_truncated_copy(const fs::path& source, const fs::path& target,
                          std::uintmax_t bytes_to_keep) {
    fs::create_directories(target.parent_path());
    fs::copy_file(source, target, fs::copy_options::overwrite_existing);
    fs::resize_file(target, bytes_to_keep);
}

std::vector<fs::path> write_sagittal_series(const SyntheticMr& base, const std::vector<int>& order,
                                            double gap_mm, const fs::path& folder) {
    std::vector<fs::path> files;
    for (int index : order) {
        SyntheticMr slice = base;
        slice.instance_number = index + 1;
        slice.position_mm[0] = base.position_mm[0] + index * gap_mm;
        const auto file = folder / ("slice" + std::to_string(index) + ".dcm");
        write_mr(slice, file);
        files.push_back(file);
    }
    return files;
}

fs::path spider_dev_dir() { return fs::path(MODIC_SHARED_DIR) / "data" / "spider-dev"; }

}  // namespace modic::test
