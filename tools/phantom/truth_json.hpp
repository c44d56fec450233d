// truth.json: what the phantom planted, in the names the accuracy bench and the tests read.
#pragma once

#include <cstdint>
#include <vector>

#include <nlohmann/json.hpp>

#include "anatomy.hpp"
#include "dicom_writer.hpp"
#include "lesions.hpp"
#include "study.hpp"

namespace modic::phantom {

nlohmann::ordered_json build_truth(const SpineModel& model, const LesionPlan& lesions,
                                   const std::vector<SeriesPlan>& series, const StudyVariant& variant,
                                   const PatientStudyInfo& study, std::uint64_t seed, int case_index);

}  // namespace modic::phantom
