#include "dicom/dicom_codecs.hpp"

#include <dcmtk/dcmdata/dcrledrg.h>
#include <dcmtk/dcmjpeg/djdecode.h>
#include <dcmtk/dcmjpls/djdecode.h>

#include <mutex>

namespace modic::core {

void register_dicom_decoders() {
    static std::once_flag registered;
    // The codecs stay registered until the process ends: images are decoded from any worker.
    std::call_once(registered, [] {
        DJDecoderRegistration::registerCodecs();
        DJLSDecoderRegistration::registerCodecs();
        DcmRLEDecoderRegistration::registerCodecs();
    });
}

}  // namespace modic::core
