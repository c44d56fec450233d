#include "modic/server/dicom_listener.hpp"

#include <dcmtk/config/osconfig.h>
#include <dcmtk/dcmdata/dcuid.h>
#include <dcmtk/dcmnet/diutil.h>
#include <dcmtk/dcmnet/scpthrd.h>
#include <fmt/core.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <future>
#include <list>
#include <stdexcept>
#include <system_error>

#include "received_file.hpp"

namespace modic::server {

std::vector<std::string> default_storage_sop_classes() {
    return {UID_MRImageStorage, UID_EnhancedMRImageStorage, UID_SecondaryCaptureImageStorage};
}

std::vector<std::string> default_transfer_syntaxes() {
    // When one presentation context proposes several, the first of this list that is proposed is
    // accepted: lossless compressed first (a sender that has the data compressed keeps it as it
    // is, fewer bytes), then uncompressed, lossy last (never asking a sender to degrade images).
    return {UID_JPEGLSLosslessTransferSyntax,
            UID_JPEGProcess14SV1TransferSyntax,
            UID_JPEGProcess14TransferSyntax,
            UID_RLELosslessTransferSyntax,
            UID_LittleEndianExplicitTransferSyntax,
            UID_LittleEndianImplicitTransferSyntax,
            UID_DeflatedExplicitVRLittleEndianTransferSyntax,
            UID_BigEndianExplicitTransferSyntax,
            UID_JPEGProcess1TransferSyntax,
            UID_JPEGProcess2_4TransferSyntax,
            UID_JPEGLSLossyTransferSyntax};
}

namespace {

// What every association thread of one listener shares.
struct ListenerContext {
    ListenerSettings settings;
    storage::Storage* store = nullptr;
    DicomListener::StoredCallback on_stored;
    std::unique_ptr<AssociationPolicy> policy;
    std::atomic<bool> stopping{false};
};

DcmRefuseReasonType dcmtk_reason(Refusal refusal) {
    switch (refusal) {
        case Refusal::CalledAeNotRecognised: return DCMSCP_CALLED_AE_TITLE_NOT_RECOGNIZED;
        case Refusal::CallingAeNotRecognised: return DCMSCP_CALLING_AE_TITLE_NOT_RECOGNIZED;
        case Refusal::TooManyAssociations: return DCMSCP_TOO_MANY_ASSOCIATIONS;
    }
    return DCMSCP_INTERNAL_ERROR;
}

// One association: policy at request time, C-ECHO by DcmSCP, C-STORE here.
class NodeScp : public DcmThreadSCP {
public:
    explicit NodeScp(ListenerContext& context) : context_(context) {}

protected:
    void notifyAssociationRequest(const T_ASC_Parameters& params,
                                  DcmSCPActionType& desired_action) override {
        calling_ae_ = trim_ae_title(params.DULparams.callingAPTitle);
        called_ae_ = trim_ae_title(params.DULparams.calledAPTitle);
        peer_address_ = params.DULparams.callingPresentationAddress;
        refusal_ = context_.policy->admit(called_ae_, calling_ae_, peer_address_);
        if (refusal_) {
            spdlog::warn("association from {} at {} to {} refused: {}", calling_ae_, peer_address_,
                         called_ae_, to_string(*refusal_));
            desired_action = DCMSCP_ACTION_REFUSE_ASSOCIATION;
            return;
        }
        admitted_ = true;
        spdlog::debug("association from {} at {} to {} admitted", calling_ae_, peer_address_,
                      called_ae_);
    }

    void refuseAssociation(const DcmRefuseReasonType reason) override {
        DcmThreadSCP::refuseAssociation(refusal_ ? dcmtk_reason(*refusal_) : reason);
    }

    // The policy has decided already, with the caller's real address (DcmSCP passes the called
    // address to checkCallingHostAccepted).
    OFBool checkCalledAETitleAccepted(const OFString&) override { return OFTrue; }
    OFBool checkCallingAETitleAccepted(const OFString&) override { return OFTrue; }
    OFBool checkCallingHostAccepted(const OFString&) override { return OFTrue; }

    void notifyAssociationAcknowledge() override { acknowledged_ = true; }

    void notifyAssociationTermination() override {
        if (!admitted_) return;
        context_.policy->release(calling_ae_);
        if (!acknowledged_)
            spdlog::warn("association from {} at {} refused: no acceptable presentation context "
                         "(SOP classes or transfer syntaxes not accepted)",
                         calling_ae_, peer_address_);
        else
            spdlog::info("association from {} at {} ended: {} stored, {} already held, "
                         "{} refused, {} echo",
                         calling_ae_, peer_address_, stored_, already_held_, refused_, echoes_);
        admitted_ = acknowledged_ = false;
        stored_ = already_held_ = refused_ = echoes_ = 0;
        refusal_.reset();
    }

    OFCondition handleIncomingCommand(T_DIMSE_Message* message,
                                      const DcmPresentationContextInfo& info) override {
        // Stopping: the request before this one was answered; this one is not started, and the
        // association is aborted so that the sender sends it again later (or elsewhere).
        if (context_.stopping) {
            spdlog::info("association from {}: aborted, the node is stopping", calling_ae_);
            return NET_EC_StopAfterAssociation;
        }
        if (message->CommandField == DIMSE_C_STORE_RQ)
            return handle_store(message->msg.CStoreRQ, info.presentationContextID);
        if (message->CommandField == DIMSE_C_ECHO_RQ) ++echoes_;
        return DcmThreadSCP::handleIncomingCommand(message, info);
    }

private:
    OFCondition handle_store(T_DIMSE_C_StoreRQ& request, T_ASC_PresentationContextID context_id) {
        const std::string sop_class = request.AffectedSOPClassUID;
        const std::string sop_instance = request.AffectedSOPInstanceUID;
        if (!sop_class_accepted(sop_class))
            return refuse_after_reading(request, context_id, dimse_status::kSopClassNotSupported,
                                        "SOP class not accepted");
        try {
            context_.store->check_free_space();
        } catch (const storage::DiskBelowWatermarkError& error) {
            return refuse_after_reading(request, context_id, dimse_status::kOutOfResources,
                                        error.what());
        }

        const std::filesystem::path temp = context_.store->new_temp_path();
        const auto began = std::chrono::steady_clock::now();
        OFCondition received = receiveSTORERequest(request, context_id, OFString(temp.c_str()));
        const auto got_data = std::chrono::steady_clock::now();
        if (received.bad()) {
            remove_quietly(temp);
            spdlog::warn("C-STORE from {}: dataset not received ({}), association ends",
                         calling_ae_, received.text());
            return received;
        }
        FileCheck check = check_received_file(temp, sop_class, sop_instance);
        const auto checked = std::chrono::steady_clock::now();
        if (check.status != dimse_status::kSuccess) {
            remove_quietly(temp);
            return answer_refused(request, context_id, check.status, check.reason);
        }
        check.instance.calling_ae = calling_ae_;
        OFCondition answered = answer_stored(request, context_id, check.instance, temp);
        using ms = std::chrono::duration<double, std::milli>;
        spdlog::trace("C-STORE of {}: received in {:.1f} ms, checked in {:.1f} ms, stored and "
                      "answered in {:.1f} ms",
                      check.instance.sop_instance_uid, ms(got_data - began).count(),
                      ms(checked - got_data).count(),
                      ms(std::chrono::steady_clock::now() - checked).count());
        return answered;
    }

    // Hands the file to the store, which makes it durable (or removes it) before returning.
    OFCondition answer_stored(T_DIMSE_C_StoreRQ& request, T_ASC_PresentationContextID context_id,
                              const storage::IncomingInstance& instance,
                              const std::filesystem::path& temp) {
        try {
            storage::StoreResult result = context_.store->store_instance_file(instance, temp);
            if (result.outcome == storage::StoreOutcome::duplicate)
                ++already_held_;
            else
                ++stored_;  // a conflict is kept apart and flagged: the data is safe too
            if (result.outcome == storage::StoreOutcome::stored && context_.on_stored)
                context_.on_stored(instance.study_uid);
            if (result.outcome == storage::StoreOutcome::conflict)
                spdlog::warn("C-STORE from {}: SOP instance {} clashes with a held instance of "
                             "other Study/Series UIDs; kept apart",
                             calling_ae_, instance.sop_instance_uid);
            return sendSTOREResponse(context_id, request, dimse_status::kSuccess);
        } catch (const storage::InvalidUidError& error) {
            remove_quietly(temp);
            return answer_refused(request, context_id, dimse_status::kCannotUnderstand, error.what());
        } catch (const std::exception& error) {
            remove_quietly(temp);
            return answer_refused(request, context_id, dimse_status::kOutOfResources, error.what());
        }
    }

    OFCondition answer_refused(T_DIMSE_C_StoreRQ& request, T_ASC_PresentationContextID context_id,
                               std::uint16_t status, const std::string& reason) {
        ++refused_;
        // The request's UIDs come from the sender unchecked: logged only when they are UIDs.
        const std::string sop_instance = request.AffectedSOPInstanceUID;
        spdlog::warn("C-STORE from {} of SOP instance {} refused with {:04X}: {}", calling_ae_,
                     is_valid_uid(sop_instance) ? sop_instance : "(invalid UID)", status, reason);
        return sendSTOREResponse(context_id, request, status);
    }

    // The dataset still has to be read off the wire before the answer; it is dropped unwritten.
    OFCondition refuse_after_reading(T_DIMSE_C_StoreRQ& request,
                                     T_ASC_PresentationContextID context_id, std::uint16_t status,
                                     const std::string& reason) {
        DcmDataset* dataset = nullptr;
        OFCondition received = receiveSTORERequest(request, context_id, dataset);
        delete dataset;
        if (received.bad()) return received;
        return answer_refused(request, context_id, status, reason);
    }

    bool sop_class_accepted(const std::string& sop_class) const {
        for (const auto& accepted : context_.settings.storage_sop_classes)
            if (accepted == sop_class) return true;
        return false;
    }

    static void remove_quietly(const std::filesystem::path& file) {
        std::error_code ignored;
        std::filesystem::remove(file, ignored);
    }

    ListenerContext& context_;
    std::string calling_ae_, called_ae_, peer_address_;
    std::optional<Refusal> refusal_;
    bool admitted_ = false;
    bool acknowledged_ = false;
    std::size_t stored_ = 0, already_held_ = 0, refused_ = 0, echoes_ = 0;
};

void configure_associations(DcmSCPConfig& config, const ListenerSettings& settings) {
    config.setAETitle(settings.association.called_ae_title.c_str());
    config.setRespondWithCalledAETitle(OFFalse);
    config.setDIMSETimeout(settings.dimse_timeout_seconds);
    config.setDIMSEBlockingMode(DIMSE_NONBLOCKING);
    config.setMaxReceivePDULength(settings.max_pdu_bytes);
    config.setHostLookupEnabled(OFFalse);

    OFList<OFString> syntaxes;
    for (const auto& syntax : settings.transfer_syntaxes) syntaxes.push_back(syntax.c_str());
    OFList<OFString> uncompressed;
    uncompressed.push_back(UID_LittleEndianExplicitTransferSyntax);
    uncompressed.push_back(UID_LittleEndianImplicitTransferSyntax);
    uncompressed.push_back(UID_BigEndianExplicitTransferSyntax);
    auto add = [&](const std::string& sop_class, const OFList<OFString>& list) {
        OFCondition added = config.addPresentationContext(sop_class.c_str(), list, ASC_SC_ROLE_DEFAULT);
        if (added.bad())
            throw std::runtime_error(fmt::format("cannot offer SOP class {}: {}", sop_class,
                                                 added.text()));
    };
    add(UID_VerificationSOPClass, uncompressed);
    for (const auto& sop_class : settings.storage_sop_classes) add(sop_class, syntaxes);
}

void drop_association(T_ASC_Association*& association) {
    if (!association) return;
    ASC_dropAssociation(association);
    ASC_destroyAssociation(&association);
}

}  // namespace

// The accept loop and the associations under way. DCMTK's DcmSCPPool is not used: in DCMTK 3.6.7
// its worker threads delete themselves and are never joined, so every association left its
// thread's stack mapped (8 MiB of address space and about 40 KiB of memory each, for good).
struct DicomListener::Pool {
    ListenerContext context;
    DcmSharedSCPConfig association_config;
    T_ASC_Network* network = nullptr;
    std::list<std::future<void>> associations;  // each on a thread of its own

    void serve();
    void accept(T_ASC_Association* association);
    void reject_busy(T_ASC_Association*& association, const std::string& why);
    void run_association(T_ASC_Association* association);
    void forget_finished_associations();
};

void DicomListener::Pool::serve() {
    constexpr int kAcceptTimeoutSeconds = 1;  // a stop request is seen within a second
    while (!context.stopping) {
        forget_finished_associations();
        T_ASC_Association* association = nullptr;
        OFCondition received = ASC_receiveAssociation(
            network, &association, context.settings.max_pdu_bytes, nullptr, nullptr, OFFalse,
            DUL_NOBLOCK, kAcceptTimeoutSeconds);
        if (received == DUL_NOASSOCIATIONREQUEST) {
            ASC_destroyAssociation(&association);
        } else if (received.bad()) {
            spdlog::warn("association request not received: {}", received.text());
            drop_association(association);
        } else if (trim_ae_title(association->params->DULparams.calledAPTitle).empty()) {
            // DCMTK reports a connection closed before any request (a monitoring probe's
            // connect and close) as a request without AE titles; a real request names both.
            spdlog::debug("connection from {} closed before any association request",
                          association->params->DULparams.callingPresentationAddress);
            drop_association(association);
        } else {
            accept(association);
        }
    }
    associations.clear();  // waits for each: a C-STORE under way is answered first
    ASC_dropNetwork(&network);
}

void DicomListener::Pool::accept(T_ASC_Association* association) {
    // The policy counts admitted associations and refuses over-limit callers with the reason.
    // The threads of associations it refused live on for a moment after the refusal, so the
    // listener's own limit leaves room for them; it is the backstop against a flood of requests.
    constexpr std::size_t kThreadsForRefusals = 8;
    if (associations.size() >= context.settings.association.max_associations + kThreadsForRefusals) {
        reject_busy(association, fmt::format("{} association(s) under way, the maximum", associations.size()));
        return;
    }
    try {
        associations.push_back(
            std::async(std::launch::async, [this, association] { run_association(association); }));
    } catch (const std::system_error& error) {  // no thread to be had: the system's limits
        reject_busy(association, fmt::format("no thread for it ({})", error.what()));
    }
}

void DicomListener::Pool::reject_busy(T_ASC_Association*& association, const std::string& why) {
    spdlog::warn("association from {} refused: {}", association->params->DULparams.callingPresentationAddress, why);
    T_ASC_RejectParameters reject{ASC_RESULT_REJECTEDTRANSIENT, ASC_SOURCE_SERVICEPROVIDER_PRESENTATION_RELATED,
                                  ASC_REASON_SP_PRES_LOCALLIMITEXCEEDED};
    ASC_rejectAssociation(association, &reject);
    drop_association(association);
}

void DicomListener::Pool::run_association(T_ASC_Association* association) {
    try {
        NodeScp scp(context);
        scp.setSharedConfig(association_config);
        scp.run(association);  // the SCP owns the association and drops it when done
    } catch (const std::exception& error) {
        spdlog::error("association ended by an internal error: {}", error.what());
    }
}

void DicomListener::Pool::forget_finished_associations() {
    associations.remove_if([](const std::future<void>& association) {
        return association.wait_for(std::chrono::seconds(0)) == std::future_status::ready;
    });
}

DicomListener::DicomListener(ListenerSettings settings, storage::Storage& store,
                             StoredCallback on_stored)
    : pool_(std::make_unique<Pool>()) {
    pool_->context.on_stored = std::move(on_stored);
    pool_->context.settings = std::move(settings);
    pool_->context.store = &store;
    pool_->context.policy = std::make_unique<AssociationPolicy>(pool_->context.settings.association);
}

DicomListener::~DicomListener() {
    request_stop();
    join();
    if (pool_->network) ASC_dropNetwork(&pool_->network);  // started, never served
}

void DicomListener::start() {
    const ListenerSettings& settings = pool_->context.settings;
    DcmSCPConfig config;
    configure_associations(config, settings);
    pool_->association_config = DcmSharedSCPConfig(config);
    // The association request is read on the accepting thread (DCMTK reads it with the accept),
    // so a connection that sends nothing holds every caller behind it until this timeout: a
    // port probe left open, a half-open connection. A real caller sends its request at once.
    constexpr unsigned kMaxRequestWaitSeconds = 5;
    const unsigned request_wait = std::min(settings.acse_timeout_seconds, kMaxRequestWaitSeconds);
    OFCondition opened = ASC_initializeNetwork(NET_ACCEPTOR, settings.port, static_cast<int>(request_wait),
                                               &pool_->network);
    if (opened.bad())
        throw std::runtime_error(fmt::format("cannot listen on port {}: {}", settings.port,
                                             opened.text()));
    thread_ = std::thread([this] { pool_->serve(); });
    spdlog::info("listening for DICOM on port {} as {} ({} association(s) at most)", settings.port,
                 settings.association.called_ae_title, settings.association.max_associations);
}

void DicomListener::request_stop() { pool_->context.stopping = true; }

void DicomListener::join() {
    if (thread_.joinable()) thread_.join();
}

}  // namespace modic::server
