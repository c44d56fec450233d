#include "modic/core/findings_json.hpp"

#include <stdexcept>
#include <string>

namespace modic::core {
namespace {

using nlohmann::json;

json null_if_empty(const std::string& text) { return text.empty() ? json(nullptr) : json(text); }

std::string string_or_empty(const json& value) {
    return value.is_string() ? value.get<std::string>() : std::string();
}

const json& field(const json& object, const char* name) {
    if (!object.is_object() || !object.contains(name))
        throw std::runtime_error(std::string("findings JSON: missing field \"") + name + "\"");
    return object.at(name);
}

ModicType modic_type_field(const json& object) {
    const auto text = field(object, "modic_type").get<std::string>();
    if (auto type = modic_type_from_string(text)) return *type;
    throw std::runtime_error("findings JSON: unknown modic_type \"" + text + "\"");
}

json evidence_to_json(const Evidence& evidence) {
    json outline = json::array();
    for (const auto& point : evidence.outline_px) outline.push_back({point[0], point[1]});
    return {{"series", evidence.series_role},
            {"sop_instance_uid", evidence.sop_instance_uid},
            {"outline_px", outline}};
}

Evidence evidence_from_json(const json& object) {
    Evidence evidence;
    evidence.series_role = field(object, "series").get<std::string>();
    evidence.sop_instance_uid = field(object, "sop_instance_uid").get<std::string>();
    for (const auto& point : field(object, "outline_px"))
        evidence.outline_px.push_back({point.at(0).get<double>(), point.at(1).get<double>()});
    return evidence;
}

}  // namespace

json findings_to_json(const Findings& findings) {
    json vertebrae = json::array();
    for (const auto& vertebra : findings.vertebrae)
        vertebrae.push_back({{"label", vertebra.label}, {"center_mm", vertebra.center_mm}});

    json endplates = json::array();
    for (const auto& endplate : findings.endplates) {
        json entry = {{"vertebra", endplate.vertebra},
                      {"side", to_string(endplate.side)},
                      {"modic_type", to_string(endplate.modic_type)},
                      {"confidence", endplate.confidence},
                      {"depth_fraction", endplate.depth_fraction},
                      {"extent_fraction", endplate.extent_fraction},
                      {"volume_ml", endplate.volume_ml}};
        if (endplate.evidence) entry["evidence"] = evidence_to_json(*endplate.evidence);
        endplates.push_back(std::move(entry));
    }

    json levels = json::array();
    for (const auto& level : findings.levels)
        levels.push_back({{"disc_level", level.disc_level},
                          {"modic_type", to_string(level.modic_type)},
                          {"confidence", level.confidence}});

    return {{"study_instance_uid", findings.study_instance_uid},
            {"status", to_string(findings.status)},
            {"reason", findings.reason},
            {"series",
             {{"t1", null_if_empty(findings.series.t1)},
              {"t2", null_if_empty(findings.series.t2)},
              {"stir", null_if_empty(findings.series.stir)}}},
            {"vertebrae", vertebrae},
            {"endplates", endplates},
            {"levels", levels},
            {"summary", findings.summary},
            {"timing_ms",
             {{"load", findings.timing_ms.load},
              {"localise", findings.timing_ms.localise},
              {"classify", findings.timing_ms.classify},
              {"total", findings.timing_ms.total}}}};
}

Findings findings_from_json(const json& json_findings) {
    Findings findings;
    findings.study_instance_uid = field(json_findings, "study_instance_uid").get<std::string>();
    const auto status = field(json_findings, "status").get<std::string>();
    if (status == "analyzed")
        findings.status = AnalysisStatus::Analyzed;
    else if (status == "not_analyzable")
        findings.status = AnalysisStatus::NotAnalyzable;
    else
        throw std::runtime_error("findings JSON: unknown status \"" + status + "\"");
    findings.reason = string_or_empty(json_findings.value("reason", json()));

    const auto& series = field(json_findings, "series");
    findings.series = {string_or_empty(series.value("t1", json())),
                       string_or_empty(series.value("t2", json())),
                       string_or_empty(series.value("stir", json()))};

    for (const auto& vertebra : field(json_findings, "vertebrae"))
        findings.vertebrae.push_back({field(vertebra, "label").get<std::string>(),
                                      field(vertebra, "center_mm").get<PointMm>()});

    for (const auto& entry : field(json_findings, "endplates")) {
        EndplateFinding endplate;
        endplate.vertebra = field(entry, "vertebra").get<std::string>();
        const auto side = field(entry, "side").get<std::string>();
        if (auto parsed = endplate_side_from_string(side))
            endplate.side = *parsed;
        else
            throw std::runtime_error("findings JSON: unknown endplate side \"" + side + "\"");
        endplate.modic_type = modic_type_field(entry);
        endplate.confidence = entry.value("confidence", 0.0);
        endplate.depth_fraction = entry.value("depth_fraction", 0.0);
        endplate.extent_fraction = entry.value("extent_fraction", 0.0);
        endplate.volume_ml = entry.value("volume_ml", 0.0);
        if (entry.contains("evidence")) endplate.evidence = evidence_from_json(entry["evidence"]);
        findings.endplates.push_back(std::move(endplate));
    }

    for (const auto& entry : field(json_findings, "levels"))
        findings.levels.push_back({field(entry, "disc_level").get<std::string>(),
                                   modic_type_field(entry), entry.value("confidence", 0.0)});

    findings.summary = json_findings.value("summary", std::string());
    if (json_findings.contains("timing_ms")) {
        const auto& timing = json_findings["timing_ms"];
        findings.timing_ms = {timing.value("load", 0.0), timing.value("localise", 0.0),
                              timing.value("classify", 0.0), timing.value("total", 0.0)};
    }
    return findings;
}

}  // namespace modic::core
