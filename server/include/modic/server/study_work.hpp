// What a worker does with one job: route, analyse (core), write the SR and record it. No image
// maths here: the core does that.
#pragma once

#include <string>
#include <vector>

#include "modic/config/config.hpp"
#include "modic/core/study.hpp"
#include "modic/storage/storage.hpp"

namespace modic::server {

// The study's instances as the core reads them (headers read here for series number and
// patient ID). Only the classic MR/SC instances: Enhanced MR is not read by the core yet.
std::vector<core::SourceInstance> source_instances(const std::string& study_uid,
                                                   const std::vector<storage::InstanceFile>& files);

// Why a study is not analysed before the core sees it, or empty: "Enhanced MR not yet supported"
// when its only MR images are Enhanced MR.
std::string reason_not_analysable(const storage::StudyOverview& study);

config::RoutingInput routing_input(const storage::StudyOverview& study);

// Runs one claimed (analysing) job to its next state: ignored, not_analyzable, failed, or
// reporting/done with the SR written and recorded (delivery rows created). Never throws: an
// unexpected error marks the job failed with the error text.
void run_job(storage::Storage& store, const config::NodeConfig& config, const storage::Job& job);

}  // namespace modic::server
