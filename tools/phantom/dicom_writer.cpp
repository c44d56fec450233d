#include "dicom_writer.hpp"

#include <cmath>
#include <stdexcept>

#include <dcmtk/dcmdata/dcdeftag.h>
#include <dcmtk/dcmdata/dcfilefo.h>
#include <dcmtk/dcmdata/dcrleerg.h>
#include <dcmtk/dcmdata/dcrlerp.h>
#include <dcmtk/dcmdata/dcuid.h>
#include <dcmtk/dcmjpeg/djencode.h>
#include <dcmtk/dcmjpeg/djrplol.h>
#include <dcmtk/dcmjpls/djencode.h>
#include <dcmtk/dcmjpls/djrparam.h>
#include <dcmtk/oflog/oflog.h>
#include <fmt/format.h>

namespace modic::phantom {
namespace {

E_TransferSyntax dcmtk_syntax(TransferSyntax ts) {
    switch (ts) {
        case TransferSyntax::ExplicitLittle: return EXS_LittleEndianExplicit;
        case TransferSyntax::ImplicitLittle: return EXS_LittleEndianImplicit;
        case TransferSyntax::JpegLossless: return EXS_JPEGProcess14SV1;
        case TransferSyntax::JpegLs: return EXS_JPEGLSLossless;
        case TransferSyntax::Rle: return EXS_RLELossless;
        case TransferSyntax::Deflate: return EXS_DeflatedLittleEndianExplicit;
    }
    return EXS_LittleEndianExplicit;
}

class AttributeWriter {
public:
    AttributeWriter(DcmDataset& dataset, std::string context) : dataset_(dataset), context_(std::move(context)) {}
    void text(const DcmTagKey& tag, const std::string& value) {
        check(dataset_.putAndInsertString(tag, value.c_str()), tag);
    }
    void number(const DcmTagKey& tag, double value, int decimals = 4) { text(tag, decimal_string(value, decimals)); }
    void integer(const DcmTagKey& tag, long value) { text(tag, std::to_string(value)); }
    void u16(const DcmTagKey& tag, Uint16 value) { check(dataset_.putAndInsertUint16(tag, value), tag); }

private:
    void check(const OFCondition& status, const DcmTagKey& tag) {
        if (status.bad())
            throw std::runtime_error(fmt::format("{}: cannot set {}: {}", context_,
                                                 tag.toString().c_str(), status.text()));
    }
    DcmDataset& dataset_;
    std::string context_;
};

std::string joined(const double* values, std::size_t count, int decimals) {
    std::string out;
    for (std::size_t i = 0; i < count; ++i) {
        if (i) out += '\\';
        out += decimal_string(values[i], decimals);
    }
    return out;
}

void put_patient_study(AttributeWriter& w, const PatientStudyInfo& s) {
    w.text(DCM_PatientName, s.patient_name);
    w.text(DCM_PatientID, s.patient_id);
    w.text(DCM_PatientBirthDate, s.birth_date);
    w.text(DCM_PatientSex, s.sex);
    w.text(DCM_PatientAge, s.age);
    w.text(DCM_StudyInstanceUID, s.study_uid);
    w.text(DCM_StudyDate, s.study_date);
    w.text(DCM_StudyTime, s.study_time);
    w.text(DCM_AccessionNumber, s.accession);
    w.text(DCM_StudyID, s.study_id);
    w.text(DCM_StudyDescription, s.study_description);
    w.text(DCM_ReferringPhysicianName, "");
    w.text(DCM_Manufacturer, s.manufacturer);
    w.text(DCM_ManufacturerModelName, s.model);
    w.text(DCM_InstitutionName, s.institution);
    w.text(DCM_StationName, s.station);
    w.number(DCM_MagneticFieldStrength, s.field_strength, 1);
    w.number(DCM_ImagingFrequency, s.imaging_frequency, 6);
    w.text(DCM_ImagedNucleus, "1H");
}

void put_series(AttributeWriter& w, const SeriesInfo& s, const PatientStudyInfo& study) {
    w.text(DCM_SeriesInstanceUID, s.series_uid);
    w.text(DCM_FrameOfReferenceUID, s.frame_uid);
    w.text(DCM_PositionReferenceIndicator, "");
    w.text(DCM_SeriesDescription, s.description);
    w.text(DCM_BodyPartExamined, s.body_part);
    // Without a body part the validator cannot tell whether it is paired: say laterality unknown.
    if (s.body_part.empty()) w.text(DCM_Laterality, "");
    w.text(DCM_SeriesDate, study.study_date);
    w.text(DCM_SeriesTime, s.series_time);
    w.text(DCM_AcquisitionDate, study.study_date);
    w.text(DCM_AcquisitionTime, s.series_time);
    w.integer(DCM_SeriesNumber, s.series_number);
    w.integer(DCM_AcquisitionNumber, 1);
    w.text(DCM_Modality, "MR");
    w.text(DCM_PatientPosition, "HFS");
    w.text(DCM_ImageType, s.image_type);
    w.text(DCM_ScanningSequence, s.scanning_sequence);
    w.text(DCM_SequenceVariant, s.sequence_variant);
    w.text(DCM_ScanOptions, s.scan_options);
    w.text(DCM_MRAcquisitionType, s.acquisition_type);
    w.text(DCM_SequenceName, s.sequence_name);
    w.number(DCM_RepetitionTime, s.repetition_time, 2);
    w.number(DCM_EchoTime, s.echo_time, 2);
    if (s.inversion_time) w.number(DCM_InversionTime, *s.inversion_time, 1);
    w.integer(DCM_EchoTrainLength, s.echo_train_length);
    w.number(DCM_FlipAngle, s.flip_angle, 0);
    w.number(DCM_NumberOfAverages, s.averages, 0);
    w.integer(DCM_EchoNumbers, 1);
    w.number(DCM_SliceThickness, s.slice_thickness, 3);
    if (s.spacing_between_slices) w.number(DCM_SpacingBetweenSlices, *s.spacing_between_slices, 3);
    if (s.contrast_agent) {
        w.text(DCM_ContrastBolusAgent, *s.contrast_agent);
        w.text(DCM_ContrastBolusRoute, "IV");
    }
    w.number(DCM_WindowCenter, s.window_center, 0);
    w.number(DCM_WindowWidth, s.window_width, 0);
    if (s.rescale) {
        w.number(DCM_RescaleSlope, (*s.rescale)[0], 5);
        w.number(DCM_RescaleIntercept, (*s.rescale)[1], 3);
        w.text(DCM_RescaleType, "US");
    }
}

void put_image(AttributeWriter& w, DcmDataset& dataset, const ImageInfo& im, const std::string& context,
               const std::string& content_date) {
    w.text(DCM_SOPClassUID, UID_MRImageStorage);
    w.text(DCM_SOPInstanceUID, im.sop_uid);
    w.text(DCM_ContentDate, content_date);
    w.text(DCM_ContentTime, im.content_time);
    w.integer(DCM_InstanceNumber, im.instance_number);
    w.text(DCM_ImagePositionPatient, joined(im.position.data(), 3, 4));
    w.text(DCM_ImageOrientationPatient, joined(im.orientation.data(), 6, 6));
    w.number(DCM_SliceLocation, im.slice_location, 4);
    w.u16(DCM_SamplesPerPixel, 1);
    w.text(DCM_PhotometricInterpretation, "MONOCHROME2");
    w.u16(DCM_Rows, static_cast<Uint16>(im.rows));
    w.u16(DCM_Columns, static_cast<Uint16>(im.cols));
    w.text(DCM_PixelSpacing, joined(im.pixel_spacing.data(), 2, 6));
    w.u16(DCM_BitsAllocated, 16);
    w.u16(DCM_BitsStored, 12);
    w.u16(DCM_HighBit, 11);
    w.u16(DCM_PixelRepresentation, 0);
    const auto count = static_cast<unsigned long>(im.rows) * static_cast<unsigned long>(im.cols);
    if (!im.pixels || im.pixels->size() != count)
        throw std::runtime_error(context + ": pixel buffer does not match Rows x Columns");
    const OFCondition status = dataset.putAndInsertUint16Array(DCM_PixelData, im.pixels->data(), count);
    if (status.bad()) throw std::runtime_error(context + ": cannot set pixel data: " + status.text());
}

}  // namespace

std::string_view transfer_syntax_uid(TransferSyntax ts) {
    switch (ts) {
        case TransferSyntax::ExplicitLittle: return UID_LittleEndianExplicitTransferSyntax;
        case TransferSyntax::ImplicitLittle: return UID_LittleEndianImplicitTransferSyntax;
        case TransferSyntax::JpegLossless: return UID_JPEGProcess14SV1TransferSyntax;
        case TransferSyntax::JpegLs: return UID_JPEGLSLosslessTransferSyntax;
        case TransferSyntax::Rle: return UID_RLELosslessTransferSyntax;
        case TransferSyntax::Deflate: return UID_DeflatedExplicitVRLittleEndianTransferSyntax;
    }
    return "";
}

std::string_view transfer_syntax_name(TransferSyntax ts) {
    switch (ts) {
        case TransferSyntax::ExplicitLittle: return "explicit_little_endian";
        case TransferSyntax::ImplicitLittle: return "implicit_little_endian";
        case TransferSyntax::JpegLossless: return "jpeg_lossless_sv1";
        case TransferSyntax::JpegLs: return "jpeg_ls_lossless";
        case TransferSyntax::Rle: return "rle_lossless";
        case TransferSyntax::Deflate: return "deflated_explicit_little_endian";
    }
    return "";
}

std::string decimal_string(double value, int decimals) {
    if (std::abs(value) < 0.5 * std::pow(10.0, -decimals)) value = 0;  // no "-0"
    std::string text = fmt::format("{:.{}f}", value, decimals);
    if (text.find('.') != std::string::npos) {
        while (text.back() == '0') text.pop_back();
        if (text.back() == '.') text.pop_back();
    }
    if (text == "-0") text = "0";
    if (text.size() > 16) text = text.substr(0, 16);
    return text;
}

void register_codecs() {
    static bool registered = false;
    if (registered) return;
    // The JPEG encoder notes at info level that it ignores the rescale; keep stderr for problems.
    OFLog::configure(OFLogger::WARN_LOG_LEVEL);
    DJEncoderRegistration::registerCodecs();
    DJLSEncoderRegistration::registerCodecs();
    DcmRLEEncoderRegistration::registerCodecs();
    registered = true;
}

void write_mr_image(const std::filesystem::path& path, const PatientStudyInfo& study,
                    const SeriesInfo& series, const ImageInfo& image, TransferSyntax syntax) {
    const std::string context = fmt::format("{} (SOP Instance {})", path.string(), image.sop_uid);
    DcmFileFormat file;
    DcmDataset& dataset = *file.getDataset();
    AttributeWriter w(dataset, context);
    w.text(DCM_SpecificCharacterSet, "ISO_IR 100");
    put_patient_study(w, study);
    put_series(w, series, study);
    put_image(w, dataset, image, context, study.study_date);

    const E_TransferSyntax xfer = dcmtk_syntax(syntax);
    OFCondition status = EC_Normal;
    if (syntax == TransferSyntax::JpegLossless) {
        const DJ_RPLossless parameters(1, 0);  // first-order prediction, no point transform
        status = dataset.chooseRepresentation(xfer, &parameters);
    } else if (syntax == TransferSyntax::JpegLs) {
        const DJLSRepresentationParameter parameters(0, OFTrue);
        status = dataset.chooseRepresentation(xfer, &parameters);
    } else if (syntax == TransferSyntax::Rle) {
        const DcmRLERepresentationParameter parameters;
        status = dataset.chooseRepresentation(xfer, &parameters);
    }
    if (status.bad() || !dataset.canWriteXfer(xfer))
        throw std::runtime_error(fmt::format("{}: cannot encode as {}: {}", context,
                                             transfer_syntax_name(syntax), status.text()));
    status = file.saveFile(path.string().c_str(), xfer, EET_ExplicitLength, EGL_recalcGL);
    if (status.bad()) throw std::runtime_error(fmt::format("{}: cannot write: {}", context, status.text()));
}

}  // namespace modic::phantom
