// write_structured_report: findings -> Comprehensive SR holding a TID 1500 Imaging Measurement
// Report. docs/sr.md shows the tree this writes; keep the two in step.
#include "modic/core/structured_report.hpp"

#include <algorithm>
#include <fmt/format.h>
#include <random>
#include <set>
#include <stdexcept>

#include "dcmtk/config/osconfig.h"
#include "dcmtk/dcmdata/dcdeftag.h"
#include "dcmtk/dcmdata/dcfilefo.h"
#include "dcmtk/dcmdata/dcspchrs.h"
#include "dcmtk/dcmdata/dcvrda.h"
#include "dcmtk/dcmdata/dcvrdt.h"
#include "dcmtk/dcmdata/dcvrtm.h"
#include "dcmtk/dcmsr/codes/dcm.h"
#include "dcmtk/dcmsr/cmr/tid1500.h"
#include "dcmtk/dcmsr/dsrdoc.h"
#include "modic/core/version.hpp"
#include "report/codes.hpp"
#include "report/levels.hpp"
#include "report/narrative.hpp"
#include "report/source_header.hpp"

namespace modic::core {
namespace {

using report::LevelReport;
namespace codes = report::codes;
using Group = TID1500_MeasurementReport::TID1501_Measurements;
using Measurement = CID7469_GenericIntensityAndSizeMeasurements;
using Units = CID7181_AbstractMultiDimensionalImageModelComponentUnits;

// The node's device identity as an observer; fixed so every SR names the same device.
constexpr const char* kDeviceObserverUid = "2.25.282437081960873716466838549412092376951";
constexpr int kSrSeriesNumberBase = 9901;

void check(const OFCondition& status, const std::string& what) {
    if (status.bad()) throw std::runtime_error("SR: " + what + ": " + status.text());
}

// A UID under the 2.25 root (ITU-T X.667: a random UUID as a decimal integer).
std::string new_uid() {
    static thread_local std::mt19937_64 random{std::random_device{}()};
    unsigned __int128 value = (static_cast<unsigned __int128>(random()) << 64) | random();
    value &= ~(static_cast<unsigned __int128>(0xF000) << 64);  // UUID version 4 ...
    value |= static_cast<unsigned __int128>(0x4000) << 64;
    value &= ~(static_cast<unsigned __int128>(0xC0) << 56);  // ... and RFC 4122 variant bits
    value |= static_cast<unsigned __int128>(0x80) << 56;
    std::string digits;
    do {
        digits.insert(digits.begin(), static_cast<char>('0' + static_cast<int>(value % 10)));
        value /= 10;
    } while (value != 0);
    return "2.25." + digits;
}

std::string decimal(double value) { return fmt::format("{:.6g}", value); }

struct Now {
    std::string date, time, date_time;
};
Now now_local() {
    OFString date, time, date_time;
    DcmDate::getCurrentDate(date);
    DcmTime::getCurrentTime(time, OFTrue /*seconds*/, OFFalse /*fraction*/);
    DcmDateTime::getCurrentDateTime(date_time, OFTrue, OFFalse, OFFalse /*timezone*/);
    return {date.c_str(), time.c_str(), date_time.c_str()};
}

// ---- which source instances the SR stands on -------------------------------------------------

std::vector<const SourceInstance*> instances_of_series(const std::vector<SourceInstance>& study,
                                                        const std::set<std::string>& series) {
    std::vector<const SourceInstance*> found;
    for (const auto& instance : study)
        if (series.count(instance.series_instance_uid)) found.push_back(&instance);
    return found;
}

bool is_structured_report(const SourceInstance& instance) {
    return instance.sop_class_uid.rfind("1.2.840.10008.5.1.4.1.1.88.", 0) == 0;
}

// The evidence: every instance of the series used; when none was chosen (a study that could not
// be analysed), every image instance that was examined.
std::vector<const SourceInstance*> evidence_instances(const Findings& findings,
                                                      const std::vector<SourceInstance>& study) {
    std::set<std::string> used;
    for (const auto* uid : {&findings.series.t1, &findings.series.t2, &findings.series.stir})
        if (!uid->empty()) used.insert(*uid);
    auto evidence = instances_of_series(study, used);
    if (evidence.empty())
        for (const auto& instance : study)
            if (!is_structured_report(instance)) evidence.push_back(&instance);
    return evidence;
}

const SourceInstance& instance_with_uid(const std::vector<SourceInstance>& study, const std::string& uid) {
    for (const auto& instance : study)
        if (instance.sop_instance_uid == uid) return instance;
    throw std::runtime_error("SR: the evidence image " + uid + " is not an instance of the study");
}

const SourceInstance& header_source(const Findings& findings, const std::vector<SourceInstance>& study) {
    if (study.empty()) throw std::runtime_error("SR: study " + findings.study_instance_uid + " has no instances");
    for (const auto& instance : study)
        if (instance.study_instance_uid == findings.study_instance_uid && !is_structured_report(instance))
            return instance;
    return study.front();
}

// Smallest number from 9901 up that no source series uses, so the SR series stands apart.
int sr_series_number(const std::vector<SourceInstance>& study, const std::string& reused_series) {
    std::set<int> taken;
    for (const auto& instance : study)
        if (instance.series_instance_uid != reused_series) taken.insert(instance.series_number);
    int number = kSrSeriesNumberBase;
    while (taken.count(number)) ++number;
    return number;
}

// ---- the content tree ------------------------------------------------------------------------

// What TID 1501 allows in a Measurement Group but DCMTK 3.6.7's TID1501 class cannot add: the
// algorithm (TID 4019) and the image region. They are added to the document tree afterwards, one
// entry per group in the order the groups were made.
struct GroupExtras {
    const Evidence* evidence = nullptr;  // for changed endplates
};

void add_algorithm_identification(DSRDocumentTree& tree) {
    check(tree.addChildContentItem(DSRTypes::RT_hasConceptMod, DSRTypes::VT_Text, CODE_DCM_AlgorithmName),
          "algorithm name");
    check(tree.getCurrentContentItem().setStringValue(std::string(kProductName).c_str()), "algorithm name");
    check(tree.addContentItem(DSRTypes::RT_hasConceptMod, DSRTypes::VT_Text, CODE_DCM_AlgorithmVersion),
          "algorithm version");
    check(tree.getCurrentContentItem().setStringValue(std::string(kVersion).c_str()), "algorithm version");
}

DSRSpatialCoordinatesValue closed_polyline(const std::vector<PixelPoint>& outline) {
    DSRSpatialCoordinatesValue polyline(DSRTypes::GT_Polyline);
    for (const auto& point : outline)
        polyline.getGraphicDataList().addItem(static_cast<Float32>(point[0]), static_cast<Float32>(point[1]));
    // A closed POLYLINE repeats its first point last (PS3.3 C.18.6.1.2).
    if (outline.size() > 1 && outline.front() != outline.back())
        polyline.getGraphicDataList().addItem(static_cast<Float32>(outline.front()[0]),
                                              static_cast<Float32>(outline.front()[1]));
    return polyline;
}

void add_image_region(DSRDocumentTree& tree, const Evidence& evidence, const std::vector<SourceInstance>& study) {
    const auto& instance = instance_with_uid(study, evidence.sop_instance_uid);
    check(tree.addChildContentItem(DSRTypes::RT_contains, DSRTypes::VT_SCoord, codes::image_region()),
          "image region of " + evidence.sop_instance_uid);
    check(tree.getCurrentContentItem().setSpatialCoordinates(closed_polyline(evidence.outline_px)),
          "outline on " + evidence.sop_instance_uid);
    if (tree.addContentItem(DSRTypes::RT_selectedFrom, DSRTypes::VT_Image, DSRTypes::AM_belowCurrent) == 0)
        throw std::runtime_error("SR: cannot add the image reference of the outline on " + instance.sop_instance_uid);
    check(tree.getCurrentContentItem().setImageReference(
              DSRImageReferenceValue(instance.sop_class_uid.c_str(), instance.sop_instance_uid.c_str())),
          "image reference " + instance.sop_instance_uid);
}

void add_group_extras(DSRDocumentTree& tree, const std::vector<GroupExtras>& extras,
                      const std::vector<SourceInstance>& study) {
    if (extras.empty()) return;
    std::vector<size_t> groups;  // node IDs of the Measurement Group containers, document order
    if (tree.gotoRoot() == 0) throw std::runtime_error("SR: empty content tree");
    do {
        if (tree.getCurrentContentItem().getConceptName() == CODE_DCM_MeasurementGroup)
            groups.push_back(tree.getNodeID());
    } while (tree.iterate());
    if (groups.size() != extras.size())
        throw std::runtime_error(fmt::format("SR: {} measurement groups in the tree, {} made", groups.size(),
                                             extras.size()));
    for (std::size_t i = 0; i < groups.size(); ++i) {
        tree.gotoNode(groups[i]);
        add_algorithm_identification(tree);
        if (!extras[i].evidence) continue;
        tree.gotoNode(groups[i]);
        add_image_region(tree, *extras[i].evidence, study);
    }
}

void add_measurement(Group& group, const DSRCodedEntryValue& name, double value, const DSRCodedEntryValue& unit) {
    check(group.addMeasurement(Measurement(name), Group::MeasurementValue(decimal(value).c_str(), Units(unit))),
          "measurement " + std::string(name.getCodeMeaning().c_str()));
}

void add_endplate_group(TID1500_MeasurementReport& report, const EndplateFinding& endplate) {
    const auto site = codes::vertebra_site(endplate.vertebra);
    const auto finding = codes::modic_type(endplate.modic_type);
    if (!site) throw std::runtime_error("SR: no code for vertebra '" + endplate.vertebra + "'");
    check(report.addIndividualMeasurements(), "measurement group");
    auto& group = report.getIndividualMeasurements();
    const std::string name = endplate.vertebra + " " + std::string(to_string(endplate.side)) + " endplate";
    check(group.setTrackingIdentifier(name.c_str()), "tracking identifier " + name);
    check(group.setTrackingUniqueIdentifier(new_uid().c_str()), "tracking UID " + name);
    check(group.setFinding(*finding), "finding " + name);
    check(group.addFindingSite(*site, CID244e_Laterality(), codes::endplate_modifier(endplate.side)),
          "finding site " + name);
    add_measurement(group, codes::depth_fraction(), endplate.depth_fraction * 100.0, codes::percent_unit());
    add_measurement(group, codes::extent_fraction(), endplate.extent_fraction * 100.0, codes::percent_unit());
    add_measurement(group, codes::volume(), endplate.volume_ml, codes::millilitre_unit());
    add_measurement(group, codes::certainty(), endplate.confidence * 100.0, codes::percent_unit());
}

// The measurement group of a disc level as a whole: site, finding and the level's certainty.
CMR_TID1501_in_TID1500& add_level_group(TID1500_MeasurementReport& report, const LevelReport& level,
                                         const DSRCodedEntryValue& finding) {
    const auto site = codes::disc_level_site(level.disc_level);
    if (!site) throw std::runtime_error("SR: no code for disc level '" + level.disc_level + "'");
    check(report.addIndividualMeasurements(), "measurement group");
    auto& group = report.getIndividualMeasurements();
    const std::string name = level.disc_level + " disc level";
    check(group.setTrackingIdentifier(name.c_str()), "tracking identifier " + name);
    check(group.setTrackingUniqueIdentifier(new_uid().c_str()), "tracking UID " + name);
    check(group.setFinding(finding), "finding " + name);
    check(group.addFindingSite(*site), "finding site " + name);
    add_measurement(group, codes::certainty(), level.level_confidence * 100.0, codes::percent_unit());
    return group;
}

void add_unchanged_level_group(TID1500_MeasurementReport& report, const LevelReport& level) {
    auto& group = add_level_group(report, level, codes::modic_change());
    check(group.addQualitativeEvaluation(codes::modic_change(), codes::absent()),
          "evaluation " + level.disc_level + " disc level");
}

// A level whose summary has a type but whose endplates carry none (no endplate detail).
void add_changed_level_group(TID1500_MeasurementReport& report, const LevelReport& level) {
    add_level_group(report, level, *codes::modic_type(level.level_type));
}

std::vector<GroupExtras> add_findings(TID1500_MeasurementReport& report, const Findings& findings) {
    std::vector<GroupExtras> extras;
    for (const auto& level : report::level_reports(findings)) {
        if (level.unchanged()) {
            add_unchanged_level_group(report, level);
            extras.push_back({});
            continue;
        }
        if (level.changed_endplates.empty()) {
            add_changed_level_group(report, level);
            extras.push_back({});
        }
        for (const auto* endplate : level.changed_endplates) {
            add_endplate_group(report, *endplate);
            extras.push_back({endplate->evidence ? &*endplate->evidence : nullptr});
        }
    }
    return extras;
}

void add_not_analysed(TID1500_MeasurementReport& report, const Findings& findings) {
    check(report.addQualitativeEvaluation(codes::analysis_status(), codes::not_analysed()), "analysis status");
    const std::string reason = findings.reason.empty() ? "no reason given" : findings.reason;
    check(report.addQualitativeEvaluation(codes::reason_not_analysed(), reason.c_str()), "reason not analysed");
}

std::vector<GroupExtras> build_report(TID1500_MeasurementReport& report, const Findings& findings) {
    check(report.setLanguage(CID5000_Languages::English), "language");
    check(report.getObservationContext().addDeviceObserver(
              kDeviceObserverUid, std::string(kProductName).c_str(), std::string(kProductName).c_str(),
              std::string(kProductName).c_str()),
          "device observer");
    check(report.addProcedureReported(codes::procedure_mr()), "procedure reported");
    std::vector<GroupExtras> extras;
    if (findings.status == AnalysisStatus::Analyzed)
        extras = add_findings(report, findings);
    else
        add_not_analysed(report, findings);
    check(report.addQualitativeEvaluation(codes::narrative_summary(), report::narrative_summary(findings).c_str()),
          "narrative summary");
    return extras;
}

// DCMTK's TID 1500 always makes the Imaging Measurements container; a study without measurement
// groups (not analysed) would carry it empty, which says nothing.
void remove_empty_imaging_measurements(DSRDocumentTree& tree) {
    if (tree.gotoRoot() == 0) return;
    do {
        if (tree.getCurrentContentItem().getConceptName() == CODE_DCM_ImagingMeasurements && !tree.hasChildNodes()) {
            tree.removeCurrentContentItem();
            return;
        }
    } while (tree.iterate());
}

// ---- the document around the tree -------------------------------------------------------------

void declare_private_scheme(DSRDocument& document) {
    check(document.getCodingSchemeIdentification().addItem(
              std::string(codes::kSchemeDesignator).c_str(), std::string(codes::kSchemeUid).c_str(),
              std::string(codes::kSchemeName).c_str(), std::string(codes::kSchemeOrganization).c_str()),
          "coding scheme identification");
    check(document.getCodingSchemeIdentification().setCodingSchemeVersion(
              std::string(codes::kSchemeVersion).c_str()),
          "coding scheme version");
}

void list_evidence(DSRDocument& document, const Findings& findings, const std::vector<SourceInstance>& study) {
    auto evidence = evidence_instances(findings, study);
    // An outline's image is evidence even if its series were not among those named (the list
    // holds each instance once).
    for (const auto& endplate : findings.endplates)
        if (endplate.evidence && report::has_change(endplate))
            evidence.push_back(&instance_with_uid(study, endplate.evidence->sop_instance_uid));
    for (const auto* instance : evidence)
        check(document.getCurrentRequestedProcedureEvidence().addItem(
                  instance->study_instance_uid.c_str(), instance->series_instance_uid.c_str(),
                  instance->sop_class_uid.c_str(), instance->sop_instance_uid.c_str()),
              "evidence " + instance->sop_instance_uid);
}

// Our own text (the institution name from the configuration is UTF-8) in the source's character
// set, so the SR's one Specific Character Set covers every value.
std::string in_character_set(const std::string& utf8, DcmItem& dataset) {
    const bool ascii = std::all_of(utf8.begin(), utf8.end(), [](char c) { return (c & 0x80) == 0; });
    OFString charset;
    dataset.findAndGetOFStringArray(DCM_SpecificCharacterSet, charset);
    if (ascii || charset == "ISO_IR 192") return utf8;
    DcmSpecificCharacterSet converter;
    OFString converted;
    const bool single_valued = !charset.empty() && charset.find('\\') == OFString_npos;
    if (single_valued && converter.selectCharacterSet("ISO_IR 192", charset).good() &&
        converter.convertString(utf8.c_str(), converted).good())
        return converted.c_str();
    std::string replaced;  // last resort: keep the ASCII letters readable
    for (std::size_t i = 0; i < utf8.size(); ++i) {
        const auto byte = static_cast<unsigned char>(utf8[i]);
        if (byte < 0x80) replaced += utf8[i];
        else if ((byte & 0xC0) != 0x80) replaced += '?';
    }
    return replaced;
}

void put_string(DcmItem& item, const DcmTagKey& tag, const std::string& value) {
    check(item.putAndInsertString(tag, value.c_str()), "writing " + std::string(DcmTag(tag).getTagName()));
}

void add_contributing_equipment(DcmItem& dataset, const SrOptions& options, const Now& now) {
    DcmItem* item = nullptr;
    check(dataset.findOrCreateSequenceItem(DCM_ContributingEquipmentSequence, item, -2), "contributing equipment");
    DcmItem* purpose = nullptr;
    check(item->findOrCreateSequenceItem(DCM_PurposeOfReferenceCodeSequence, purpose, -2), "purpose of reference");
    const auto code = codes::processing_equipment();
    put_string(*purpose, DCM_CodeValue, code.getCodeValue().c_str());
    put_string(*purpose, DCM_CodingSchemeDesignator, code.getCodingSchemeDesignator().c_str());
    put_string(*purpose, DCM_CodeMeaning, code.getCodeMeaning().c_str());
    put_string(*item, DCM_Manufacturer, std::string(kProductName));
    put_string(*item, DCM_ManufacturerModelName, std::string(kProductName));
    put_string(*item, DCM_SoftwareVersions, std::string(kVersion));
    if (!options.institution_name.empty())
        put_string(*item, DCM_InstitutionName, in_character_set(options.institution_name, dataset));
    if (!options.station_ae_title.empty()) put_string(*item, DCM_StationName, options.station_ae_title);
    put_string(*item, DCM_ContributionDateTime, now.date_time);
    put_string(*item, DCM_ContributionDescription, "Modic change detection and SR creation");
}

struct SrIdentity {
    std::string series_uid, instance_uid;
    int series_number = 0, instance_number = 1;
};

SrIdentity sr_identity(const std::vector<SourceInstance>& study, const SrOptions& options) {
    SrIdentity identity;
    identity.series_uid = options.series_instance_uid.empty() ? new_uid() : options.series_instance_uid;
    identity.instance_uid = new_uid();
    identity.series_number = sr_series_number(study, options.series_instance_uid);
    if (!options.series_instance_uid.empty())
        identity.instance_number += static_cast<int>(std::count_if(study.begin(), study.end(), [&](const auto& i) {
            return i.series_instance_uid == options.series_instance_uid;
        }));
    return identity;
}

// What DSRDocument does not write for us, or writes before the source header can be known.
void complete_dataset(DcmDataset& dataset, DcmItem& source, const SrIdentity& identity,
                      const SrOptions& options, const Now& now) {
    report::copy_patient_and_study(source, dataset);
    put_string(dataset, DCM_SeriesInstanceUID, identity.series_uid);
    put_string(dataset, DCM_SOPInstanceUID, identity.instance_uid);
    put_string(dataset, DCM_SeriesNumber, std::to_string(identity.series_number));
    put_string(dataset, DCM_InstanceNumber, std::to_string(identity.instance_number));
    if (!options.institution_name.empty())
        put_string(dataset, DCM_InstitutionName, in_character_set(options.institution_name, dataset));
    add_contributing_equipment(dataset, options, now);
}

void save_atomically(DcmDataset& dataset, const std::filesystem::path& output) {
    DcmFileFormat file(&dataset);
    const auto partial = std::filesystem::path(output.string() + ".partial");
    const OFCondition status = file.saveFile(partial.c_str(), EXS_LittleEndianExplicit);
    if (status.bad()) {
        std::filesystem::remove(partial);
        throw std::runtime_error("SR: cannot write " + partial.string() + ": " + status.text());
    }
    std::filesystem::rename(partial, output);
}

}  // namespace

WrittenSr write_structured_report(const Findings& findings, const std::vector<SourceInstance>& study,
                                  const SrOptions& options, const std::filesystem::path& output) {
    const auto& source_instance = header_source(findings, study);
    const auto source = report::read_header(source_instance.file);
    const auto now = now_local();

    TID1500_MeasurementReport report(CMR_CID7021::ImagingMeasurementReport);
    const auto extras = build_report(report, findings);
    DSRDocument document;
    check(document.setTreeFromRootTemplate(report, OFTrue /*expand included templates*/), "content tree");
    // TID 1500 makes DCMTK choose Enhanced SR; SCOORDs need Comprehensive SR anyway.
    check(document.changeDocumentType(DSRTypes::DT_ComprehensiveSR), "document type");
    add_group_extras(document.getTree(), extras, study);
    remove_empty_imaging_measurements(document.getTree());
    check(document.createNewSeriesInStudy(source_instance.study_instance_uid.c_str()), "series");
    check(document.setSeriesDescription("Modic changes (AI)"), "series description");
    check(document.setManufacturer(std::string(kProductName).c_str()), "manufacturer");
    check(document.setManufacturerModelName(std::string(kProductName).c_str()), "model name");
    check(document.setSoftwareVersions(std::string(kVersion).c_str()), "software versions");
    check(document.setContentDate(now.date.c_str()), "content date");
    check(document.setContentTime(now.time.c_str()), "content time");
    check(document.setSeriesDate(now.date.c_str()), "series date");
    check(document.setSeriesTime(now.time.c_str()), "series time");
    declare_private_scheme(document);
    list_evidence(document, findings, study);
    if (options.predecessor)
        check(document.getPredecessorDocuments().addItem(
                  options.predecessor->study_instance_uid.c_str(), options.predecessor->series_instance_uid.c_str(),
                  options.predecessor->sop_class_uid.c_str(), options.predecessor->sop_instance_uid.c_str()),
              "predecessor " + options.predecessor->sop_instance_uid);
    check(document.completeDocument(), "completion flag");

    DcmDataset dataset;
    check(document.write(dataset), "writing the document for study " + findings.study_instance_uid);
    const auto identity = sr_identity(study, options);
    complete_dataset(dataset, *source, identity, options, now);
    save_atomically(dataset, output);
    return {identity.series_uid, identity.instance_uid};
}

}  // namespace modic::core
