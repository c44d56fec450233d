#include "report/codes.hpp"

#include <array>
#include <utility>

namespace modic::core::report::codes {
namespace {

DSRCodedEntryValue private_code(const char* value, const char* meaning) {
    return DSRCodedEntryValue(value, std::string(kSchemeDesignator).c_str(), meaning);
}
DSRCodedEntryValue snomed(const char* value, const char* meaning) {
    return DSRCodedEntryValue(value, "SCT", meaning);
}

struct TypeCode {
    ModicType type;
    const char* value;
    const char* meaning;
};
constexpr std::array<TypeCode, 5> kTypeCodes = {{
    {ModicType::Type1, "MC1", "Modic type 1 change"},
    {ModicType::Type2, "MC2", "Modic type 2 change"},
    {ModicType::Type3, "MC3", "Modic type 3 change"},
    {ModicType::Type1_2, "MC1-2", "Modic type 1/2 change"},
    {ModicType::Type2_3, "MC2-3", "Modic type 2/3 change"},
}};

struct SiteCode {
    std::string_view label;
    const char* value;
    const char* meaning;
};
constexpr std::array<SiteCode, 6> kVertebraCodes = {{
    {"L1", "66794005", "First lumbar vertebra"},
    {"L2", "14293000", "Second lumbar vertebra"},
    {"L3", "36470004", "Third lumbar vertebra"},
    {"L4", "11994002", "Fourth lumbar vertebra"},
    {"L5", "49668003", "Fifth lumbar vertebra"},
    {"S1", "54735007", "Sacrum"},
}};
constexpr std::array<SiteCode, 5> kDiscCodes = {{
    {"L1/L2", "243920003", "L1-L2 intervertebral disc"},
    {"L2/L3", "243921004", "L2-L3 intervertebral disc"},
    {"L3/L4", "243922006", "L3-L4 intervertebral disc"},
    {"L4/L5", "243923001", "L4-L5 intervertebral disc"},
    {"L5/S1", "243927000", "L5-S1 intervertebral disc"},
}};

template <std::size_t N>
std::optional<DSRCodedEntryValue> snomed_site(const std::array<SiteCode, N>& table, std::string_view label) {
    for (const auto& site : table)
        if (site.label == label) return snomed(site.value, site.meaning);
    return std::nullopt;
}

}  // namespace

DSRCodedEntryValue modic_change() { return private_code("MC", "Modic change"); }

std::optional<DSRCodedEntryValue> modic_type(ModicType type) {
    for (const auto& code : kTypeCodes)
        if (code.type == type) return private_code(code.value, code.meaning);
    return std::nullopt;
}

std::optional<ModicType> modic_type_of(const DSRCodedEntryValue& code) {
    if (code.getCodingSchemeDesignator() != std::string(kSchemeDesignator).c_str()) return std::nullopt;
    for (const auto& entry : kTypeCodes)
        if (code.getCodeValue() == entry.value) return entry.type;
    return std::nullopt;
}

DSRCodedEntryValue depth_fraction() {
    return private_code("MCDEPTH", "Modic change depth, share of vertebral body height");
}
DSRCodedEntryValue extent_fraction() {
    return private_code("MCEXTENT", "Modic change extent, share of endplate length");
}
DSRCodedEntryValue analysis_status() { return private_code("MCANALYSIS", "Modic change analysis"); }
DSRCodedEntryValue not_analysed() { return private_code("MCNOTANALYSED", "Study not analysed"); }
DSRCodedEntryValue reason_not_analysed() { return private_code("MCREASON", "Reason not analysed"); }

std::optional<DSRCodedEntryValue> vertebra_site(std::string_view vertebra) {
    if (vertebra == "T12") return private_code("T12", "Twelfth thoracic vertebra");
    return snomed_site(kVertebraCodes, vertebra);
}

std::optional<DSRCodedEntryValue> disc_level_site(std::string_view disc_level) {
    if (disc_level == "T11/T12") return private_code("T11-T12", "T11-T12 intervertebral disc");
    if (disc_level == "T12/L1") return private_code("T12-L1", "T12-L1 intervertebral disc");
    return snomed_site(kDiscCodes, disc_level);
}

DSRCodedEntryValue endplate_modifier(EndplateSide side) {
    return side == EndplateSide::Superior ? snomed("264217000", "Superior") : snomed("261089000", "Inferior");
}

// CID 100 as pixelmed's validator knows it has no lumbar spine MR; its MRI code is the one both
// validators accept. The lumbar spine is stated by every finding site.
DSRCodedEntryValue procedure_mr() { return DSRCodedEntryValue("25056-3", "LN", "MRI unspecified body region"); }
DSRCodedEntryValue volume() { return snomed("118565006", "Volume"); }
DSRCodedEntryValue certainty() { return DSRCodedEntryValue("111012", "DCM", "Certainty of Finding"); }
DSRCodedEntryValue absent() { return snomed("2667000", "Absent"); }
DSRCodedEntryValue image_region() { return DSRCodedEntryValue("111030", "DCM", "Image Region"); }
DSRCodedEntryValue narrative_summary() { return DSRCodedEntryValue("111412", "DCM", "Narrative Summary"); }
DSRCodedEntryValue percent_unit() { return DSRCodedEntryValue("%", "UCUM", "percent"); }
DSRCodedEntryValue millilitre_unit() { return DSRCodedEntryValue("ml", "UCUM", "milliliter"); }
DSRCodedEntryValue processing_equipment() {
    return DSRCodedEntryValue("109102", "DCM", "Processing Equipment");
}

}  // namespace modic::core::report::codes
