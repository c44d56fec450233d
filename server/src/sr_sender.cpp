#include "modic/server/sr_sender.hpp"

#include <dcmtk/config/osconfig.h>
#include <dcmtk/dcmdata/dcuid.h>
#include <dcmtk/dcmnet/scu.h>
#include <fmt/core.h>

namespace modic::server {
namespace {

// PS3.7 C.4.2: 0000 Success; B000, B006, B007 warnings (the instance is stored).
bool stored_by_peer(std::uint16_t status) {
    return status == 0x0000 || status == 0xB000 || status == 0xB006 || status == 0xB007;
}

SendResult failure(std::string error, std::uint16_t status = 0) {
    SendResult result;
    result.error = std::move(error);
    result.status = status;
    return result;
}

}  // namespace

SendResult send_file(const SendTarget& target, const SendSettings& settings,
                     const std::filesystem::path& file, const std::string& sop_class_uid) {
    DcmSCU scu;
    scu.setAETitle(settings.calling_ae_title.c_str());
    scu.setPeerAETitle(target.ae_title.c_str());
    scu.setPeerHostName(target.host.c_str());
    scu.setPeerPort(target.port);
    scu.setACSETimeout(settings.acse_timeout_seconds);
    scu.setDIMSETimeout(settings.dimse_timeout_seconds);
    scu.setDIMSEBlockingMode(DIMSE_NONBLOCKING);
    scu.setConnectionTimeout(static_cast<Sint32>(settings.acse_timeout_seconds));
    scu.setMaxReceivePDULength(settings.max_pdu_bytes);
    OFList<OFString> syntaxes;
    syntaxes.push_back(UID_LittleEndianExplicitTransferSyntax);
    syntaxes.push_back(UID_LittleEndianImplicitTransferSyntax);
    scu.addPresentationContext(sop_class_uid.c_str(), syntaxes);

    OFCondition condition = scu.initNetwork();
    if (condition.bad()) return failure(fmt::format("network set-up: {}", condition.text()));
    condition = scu.negotiateAssociation();
    if (condition.bad())
        return failure(fmt::format("association with {}@{}:{}: {}", target.ae_title, target.host,
                                   target.port, condition.text()));
    T_ASC_PresentationContextID context_id = scu.findPresentationContextID(sop_class_uid.c_str(), "");
    if (context_id == 0) {
        scu.abortAssociation();
        return failure(fmt::format("{} accepts no presentation context for SOP class {}",
                                   target.ae_title, sop_class_uid));
    }
    Uint16 status = 0;
    condition = scu.sendSTORERequest(context_id, file.c_str(), nullptr, status);
    if (condition.bad()) {
        scu.abortAssociation();
        return failure(fmt::format("C-STORE of {}: {}", file.string(), condition.text()));
    }
    scu.releaseAssociation();
    if (!stored_by_peer(status))
        return failure(fmt::format("{} answered C-STORE with status {:04X}", target.ae_title, status),
                       status);
    SendResult result;
    result.delivered = true;
    result.status = status;
    return result;
}

}  // namespace modic::server
