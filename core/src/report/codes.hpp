// The coded concepts of modic-node's SR: the private "99MODIC" scheme (no public terminology has
// codes for Modic changes), and the SNOMED CT, LOINC, DCM and UCUM codes the SR uses.
// docs/sr.md documents every code here; keep the two in step.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "dcmtk/config/osconfig.h"
#include "dcmtk/dcmsr/dsrcodvl.h"

#include "modic/core/findings.hpp"

namespace modic::core::report::codes {

// The private coding scheme, declared in the SR's Coding Scheme Identification Sequence.
inline constexpr std::string_view kSchemeDesignator = "99MODIC";
inline constexpr std::string_view kSchemeUid = "2.25.197766884210965669037984720050285394098";
inline constexpr std::string_view kSchemeName = "modic-node Modic change codes";
inline constexpr std::string_view kSchemeVersion = "1";
inline constexpr std::string_view kSchemeOrganization = "modic-node project";

DSRCodedEntryValue modic_change();  // (MC, 99MODIC, "Modic change"): the concept, any type
// The finding for a changed endplate; std::nullopt for ModicType::None.
std::optional<DSRCodedEntryValue> modic_type(ModicType type);
// Inverse of modic_type for the code value; std::nullopt for codes of other meaning.
std::optional<ModicType> modic_type_of(const DSRCodedEntryValue& code);

DSRCodedEntryValue depth_fraction();   // share of the vertebral body height, in %
DSRCodedEntryValue extent_fraction();  // share of the endplate's length, in %
DSRCodedEntryValue analysis_status();  // concept of the not-analysable statement
DSRCodedEntryValue not_analysed();     // its value
DSRCodedEntryValue reason_not_analysed();

// SNOMED CT vertebra (L1..L5, S1 as the sacrum); T12 falls back to a 99MODIC code because no
// SNOMED CT code for it was verified. std::nullopt for labels the core does not produce.
std::optional<DSRCodedEntryValue> vertebra_site(std::string_view vertebra);
// SNOMED CT intervertebral disc level (L1/L2..L5/S1); T11/T12 and T12/L1 fall back to 99MODIC.
std::optional<DSRCodedEntryValue> disc_level_site(std::string_view disc_level);
DSRCodedEntryValue endplate_modifier(EndplateSide side);  // SNOMED CT Superior / Inferior

DSRCodedEntryValue procedure_mr();  // Procedure Reported
DSRCodedEntryValue volume();           // SNOMED CT Volume
DSRCodedEntryValue certainty();        // DCM Certainty of Finding, in %
DSRCodedEntryValue absent();           // SNOMED CT Absent
DSRCodedEntryValue image_region();     // DCM Image Region
DSRCodedEntryValue narrative_summary();  // DCM Narrative Summary
DSRCodedEntryValue percent_unit();     // UCUM %
DSRCodedEntryValue millilitre_unit();  // UCUM ml
DSRCodedEntryValue processing_equipment();  // DCM, purpose of the Contributing Equipment item

}  // namespace modic::core::report::codes
