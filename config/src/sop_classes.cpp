// The SOP class names the configuration accepts in network.accepted_sop_classes.
#include "modic/config/config.hpp"

namespace modic::config {

const std::vector<NamedSopClass>& known_sop_classes() {
    static const std::vector<NamedSopClass> classes = {
        {"MRImageStorage", "1.2.840.10008.5.1.4.1.1.4"},
        {"EnhancedMRImageStorage", "1.2.840.10008.5.1.4.1.1.4.1"},
        {"EnhancedMRColorImageStorage", "1.2.840.10008.5.1.4.1.1.4.3"},
        {"SecondaryCaptureImageStorage", "1.2.840.10008.5.1.4.1.1.7"},
        {"MultiframeGrayscaleByteSecondaryCaptureImageStorage", "1.2.840.10008.5.1.4.1.1.7.2"},
        {"MultiframeGrayscaleWordSecondaryCaptureImageStorage", "1.2.840.10008.5.1.4.1.1.7.3"},
        {"CTImageStorage", "1.2.840.10008.5.1.4.1.1.2"},
        {"EnhancedCTImageStorage", "1.2.840.10008.5.1.4.1.1.2.1"},
        {"BasicTextSRStorage", "1.2.840.10008.5.1.4.1.1.88.11"},
        {"EnhancedSRStorage", "1.2.840.10008.5.1.4.1.1.88.22"},
        {"ComprehensiveSRStorage", "1.2.840.10008.5.1.4.1.1.88.33"},
    };
    return classes;
}

std::vector<std::string> default_accepted_sop_classes() {
    return {"1.2.840.10008.5.1.4.1.1.4", "1.2.840.10008.5.1.4.1.1.4.1", "1.2.840.10008.5.1.4.1.1.7"};
}

}  // namespace modic::config
