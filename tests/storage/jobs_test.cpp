// The job queue: completeness, the state machine (legal and illegal moves), deliveries with
// backoff, give-up and retry, re-analysis with a predecessor SR.
#include <gtest/gtest.h>

#include "storage_test_support.hpp"

namespace modic::storage {
namespace {

using namespace modic::storage::testing;
using std::chrono::seconds;

const std::string kStudy = "1.2.826.0.1.3680043.10.7";
const std::string kSeries = "1.2.826.0.1.3680043.10.7.1";
const SrReference kSr{kStudy, "1.2.826.0.1.3680043.10.7.900", "1.2.826.0.1.3680043.10.7.900.1",
                      "1.2.840.10008.5.1.4.1.1.88.33"};

class Jobs : public ::testing::Test {
protected:
    void receive(const std::string& sop) { storage_.store_instance(instance(kStudy, kSeries, sop), bytes_for(sop)); }
    TimePoint received_at() { return storage_.find_study(kStudy)->last_received_at; }
    Job create_one() {
        auto jobs = storage_.create_jobs_for_quiet_studies(seconds(10), received_at() + seconds(10));
        EXPECT_EQ(jobs.size(), 1u);
        return jobs.at(0);
    }
    std::filesystem::path write_sr(const SrReference& sr, const std::string& seed = "sr") {
        return storage_.write_sr_file(kStudy, sr.sop_instance_uid, bytes_for(seed));
    }
    JobState state_of(std::int64_t job_id) { return storage_.find_job(job_id)->state; }

    TempFolder folder_;
    Storage storage_{options_for(folder_.path())};
    RetryPolicy policy_{seconds(30), seconds(3600), seconds(24 * 3600)};
};

TEST_F(Jobs, StudyBecomesCompleteAfterTheQuietPeriodOnce) {
    receive("1.2.3.1");
    receive("1.2.3.2");
    const TimePoint last = received_at();
    EXPECT_TRUE(storage_.create_jobs_for_quiet_studies(seconds(10), last + seconds(9)).empty());
    ASSERT_TRUE(storage_.next_quiet_deadline(seconds(10)));
    EXPECT_EQ(*storage_.next_quiet_deadline(seconds(10)), last + seconds(10));
    const auto jobs = storage_.create_jobs_for_quiet_studies(seconds(10), last + seconds(10));
    ASSERT_EQ(jobs.size(), 1u);
    EXPECT_EQ(jobs[0].state, JobState::queued);
    EXPECT_EQ(jobs[0].study_uid, kStudy);
    EXPECT_EQ(jobs[0].study_generation, 2);
    EXPECT_FALSE(jobs[0].predecessor);
    EXPECT_TRUE(storage_.create_jobs_for_quiet_studies(seconds(10), last + seconds(100)).empty());
    EXPECT_FALSE(storage_.next_quiet_deadline(seconds(10)));
}

TEST_F(Jobs, FullWayToDeliveredWithBackoff) {
    receive("1.2.3.1");
    const Job created = create_one();
    const auto claimed = storage_.claim_next_job();
    ASSERT_TRUE(claimed);
    EXPECT_EQ(claimed->id, created.id);
    EXPECT_EQ(claimed->state, JobState::analysing);
    EXPECT_EQ(claimed->attempts, 1);
    EXPECT_FALSE(storage_.claim_next_job());

    const auto sr_path = write_sr(kSr);
    const Job reporting = storage_.record_report(created.id, sr_path, kSr, R"({"levels":[]})", {"pacs", "archive"});
    EXPECT_EQ(reporting.state, JobState::reporting);
    EXPECT_EQ(reporting.sr_path, sr_path);
    EXPECT_EQ(reporting.sr_sop_instance_uid, kSr.sop_instance_uid);
    EXPECT_EQ(reporting.findings_json, R"({"levels":[]})");

    // Whole milliseconds: the index keeps times in milliseconds.
    const TimePoint t0 = std::chrono::floor<std::chrono::milliseconds>(Clock::now()) + seconds(1);
    auto due = storage_.claim_due_deliveries(t0);
    ASSERT_EQ(due.size(), 2u);
    EXPECT_EQ(due[0].state, DeliveryState::sending);
    EXPECT_EQ(due[0].attempts, 1);
    EXPECT_TRUE(storage_.claim_due_deliveries(t0).empty());  // claimed ones are not handed out twice

    storage_.record_delivery_sent(due[0].id);
    EXPECT_EQ(state_of(created.id), JobState::reporting);
    const Delivery failed = storage_.record_delivery_failed(due[1].id, "association rejected", t0, policy_);
    EXPECT_EQ(failed.state, DeliveryState::pending);
    EXPECT_EQ(failed.next_attempt_at, t0 + seconds(30));
    EXPECT_EQ(storage_.next_delivery_due(), t0 + seconds(30));
    EXPECT_TRUE(storage_.claim_due_deliveries(t0 + seconds(29)).empty());

    due = storage_.claim_due_deliveries(t0 + seconds(30));
    ASSERT_EQ(due.size(), 1u);
    EXPECT_EQ(due[0].attempts, 2);
    const Delivery again = storage_.record_delivery_failed(due[0].id, "timeout", t0 + seconds(30), policy_);
    EXPECT_EQ(again.next_attempt_at, t0 + seconds(30 + 60));  // doubled
    due = storage_.claim_due_deliveries(t0 + seconds(90));
    ASSERT_EQ(due.size(), 1u);
    storage_.record_delivery_sent(due[0].id);
    EXPECT_EQ(state_of(created.id), JobState::delivered);
    for (const auto& delivery : storage_.job_deliveries(created.id)) EXPECT_EQ(delivery.state, DeliveryState::sent);
}

TEST_F(Jobs, BackoffIsCappedAtTheMaximum) {
    receive("1.2.3.1");
    const Job job = create_one();
    storage_.claim_next_job();
    storage_.record_report(job.id, write_sr(kSr), kSr, "{}", {"pacs"});
    TimePoint now = Clock::now() + seconds(1);
    seconds last_delay{0};
    for (int attempt = 1; attempt <= 10; ++attempt) {
        auto due = storage_.claim_due_deliveries(now);
        ASSERT_EQ(due.size(), 1u) << attempt;
        const Delivery d = storage_.record_delivery_failed(due[0].id, "down", now, policy_);
        last_delay = std::chrono::duration_cast<seconds>(d.next_attempt_at - now);
        now = d.next_attempt_at;
    }
    EXPECT_EQ(last_delay, seconds(3600));
}

TEST_F(Jobs, GivingUpFailsTheJobAndRetryResendsTheSameSr) {
    receive("1.2.3.1");
    const Job job = create_one();
    storage_.claim_next_job();
    const auto sr_path = write_sr(kSr);
    storage_.record_report(job.id, sr_path, kSr, "{}", {"pacs"});
    const TimePoint late = Clock::now() + seconds(25 * 3600);
    auto due = storage_.claim_due_deliveries(late);
    ASSERT_EQ(due.size(), 1u);
    const Delivery d = storage_.record_delivery_failed(due[0].id, "connection refused", late, policy_);
    EXPECT_EQ(d.state, DeliveryState::gave_up);
    const Job failed = *storage_.find_job(job.id);
    EXPECT_EQ(failed.state, JobState::failed);
    EXPECT_NE(failed.last_error.find("pacs"), std::string::npos);

    const RetryResult retry = storage_.retry_job(job.id, late);
    EXPECT_EQ(retry.new_state, JobState::reporting);
    EXPECT_EQ(retry.deliveries_rearmed, 1);
    due = storage_.claim_due_deliveries(late);
    ASSERT_EQ(due.size(), 1u);
    EXPECT_EQ(due[0].attempts, 1);
    const Job resending = *storage_.find_job(job.id);
    EXPECT_EQ(resending.sr_sop_instance_uid, kSr.sop_instance_uid);  // the same SR, not a new one
    EXPECT_EQ(resending.sr_path, sr_path);
    storage_.record_delivery_sent(due[0].id);
    EXPECT_EQ(state_of(job.id), JobState::delivered);
}

TEST_F(Jobs, FailedAnalysisIsRetriedFromQueued) {
    receive("1.2.3.1");
    const Job job = create_one();
    storage_.claim_next_job();
    storage_.set_job_outcome(job.id, JobState::failed, "no sagittal T1 series");
    EXPECT_EQ(storage_.find_job(job.id)->last_error, "no sagittal T1 series");
    EXPECT_EQ(storage_.retry_job(job.id, Clock::now()).new_state, JobState::queued);
    EXPECT_EQ(storage_.claim_next_job()->attempts, 1);  // fresh attempts after a retry
}

TEST_F(Jobs, NoDestinationMeansDone) {
    receive("1.2.3.1");
    const Job job = create_one();
    storage_.claim_next_job();
    EXPECT_EQ(storage_.record_report(job.id, write_sr(kSr), kSr, "{}", {}).state, JobState::done);
    EXPECT_TRUE(storage_.job_deliveries(job.id).empty());
}

TEST_F(Jobs, RoutingOutcomesFromQueued) {
    receive("1.2.3.1");
    const Job job = create_one();
    storage_.set_job_outcome(job.id, JobState::ignored, "no routing rule matched");
    const Job ignored = *storage_.find_job(job.id);
    EXPECT_EQ(ignored.state, JobState::ignored);
    EXPECT_EQ(ignored.reason, "no routing rule matched");
    EXPECT_FALSE(storage_.claim_next_job());
}

TEST_F(Jobs, NotAnalysableJobMaySendAnSrSayingSo) {
    receive("1.2.3.1");
    const Job job = create_one();
    storage_.set_job_outcome(job.id, JobState::not_analyzable, "Enhanced MR not yet supported");
    EXPECT_EQ(storage_.record_report(job.id, write_sr(kSr), kSr, "{}", {"pacs"}).state, JobState::reporting);
    EXPECT_EQ(storage_.find_job(job.id)->reason, "Enhanced MR not yet supported");
}

TEST_F(Jobs, IllegalTransitionsAreRejectedAndChangeNothing) {
    receive("1.2.3.1");
    const Job job = create_one();
    // queued: no SR can be recorded, no retry.
    EXPECT_THROW(storage_.record_report(job.id, "/x", kSr, "{}", {}), IllegalTransitionError);
    EXPECT_THROW(storage_.retry_job(job.id, Clock::now()), IllegalTransitionError);
    EXPECT_THROW(storage_.set_job_outcome(job.id, JobState::delivered, ""), IllegalTransitionError);
    EXPECT_EQ(state_of(job.id), JobState::queued);
    storage_.claim_next_job();
    storage_.record_report(job.id, write_sr(kSr), kSr, "{}", {});
    // done: final.
    EXPECT_THROW(storage_.set_job_outcome(job.id, JobState::failed, "late"), IllegalTransitionError);
    EXPECT_THROW(storage_.retry_job(job.id, Clock::now()), IllegalTransitionError);
    EXPECT_THROW(storage_.record_report(job.id, "/x", kSr, "{}", {}), IllegalTransitionError);
    EXPECT_EQ(state_of(job.id), JobState::done);
    EXPECT_TRUE(storage_.find_job(job.id)->last_error.empty());
    // Unknown ids.
    EXPECT_THROW(storage_.retry_job(9999, Clock::now()), IllegalTransitionError);
    EXPECT_THROW(storage_.record_delivery_sent(9999), IllegalTransitionError);
}

TEST_F(Jobs, DeliveryMustBeClaimedBeforeItsOutcome) {
    receive("1.2.3.1");
    const Job job = create_one();
    storage_.claim_next_job();
    storage_.record_report(job.id, write_sr(kSr), kSr, "{}", {"pacs"});
    const auto deliveries = storage_.job_deliveries(job.id);
    ASSERT_EQ(deliveries.size(), 1u);
    EXPECT_THROW(storage_.record_delivery_sent(deliveries[0].id), IllegalTransitionError);  // still pending
    EXPECT_EQ(storage_.job_deliveries(job.id)[0].state, DeliveryState::pending);
}

TEST_F(Jobs, SrFileIsNeverOverwritten) {
    const auto path = write_sr(kSr, "first");
    EXPECT_THROW(write_sr(kSr, "second"), StorageError);
    EXPECT_EQ(read_bytes(path), bytes_for("first"));
    EXPECT_TRUE(files_under(storage_.temp_dir()).empty());
}

TEST_F(Jobs, InstanceAfterAnalysisStartsANewAnalysisNamingThePreviousSr) {
    receive("1.2.3.1");
    const Job first = create_one();
    storage_.claim_next_job();
    storage_.record_report(first.id, write_sr(kSr), kSr, "{}", {});

    receive("1.2.3.2");  // a late instance
    const Job second = create_one();
    EXPECT_NE(second.id, first.id);
    EXPECT_EQ(second.study_generation, 2);
    ASSERT_TRUE(second.predecessor);
    EXPECT_EQ(second.predecessor->sop_instance_uid, kSr.sop_instance_uid);
    EXPECT_EQ(second.predecessor->series_uid, kSr.series_uid);
    EXPECT_EQ(second.predecessor->sop_class_uid, kSr.sop_class_uid);
    EXPECT_EQ(second.predecessor->study_uid, kStudy);
    EXPECT_EQ(second.sr_series_uid, kSr.series_uid);  // the new SR goes into the same series
}

TEST_F(Jobs, StudyChangingDuringAnalysisWaitsForIt) {
    receive("1.2.3.1");
    const Job first = create_one();
    storage_.claim_next_job();
    receive("1.2.3.2");
    const TimePoint later = received_at() + seconds(60);
    EXPECT_TRUE(storage_.create_jobs_for_quiet_studies(seconds(10), later).empty());
    storage_.set_job_outcome(first.id, JobState::failed, "interrupted");
    const auto jobs = storage_.create_jobs_for_quiet_studies(seconds(10), later);
    ASSERT_EQ(jobs.size(), 1u);
    EXPECT_EQ(jobs[0].study_generation, 2);
    EXPECT_FALSE(jobs[0].predecessor);  // the first never wrote an SR
}

TEST_F(Jobs, ListAndStatusCountStates) {
    receive("1.2.3.1");
    storage_.store_instance(instance("1.2.9", "1.2.9.1", "1.2.9.1.1"), bytes_for("z"));
    const auto jobs = storage_.create_jobs_for_quiet_studies(seconds(0), Clock::now() + seconds(1));
    ASSERT_EQ(jobs.size(), 2u);
    storage_.set_job_outcome(jobs[1].id, JobState::ignored, "routing");
    EXPECT_EQ(storage_.list_jobs().size(), 2u);
    const auto queued = storage_.list_jobs(JobState::queued);
    ASSERT_EQ(queued.size(), 1u);
    EXPECT_EQ(queued[0].id, jobs[0].id);
    const StatusSummary status = storage_.status();
    EXPECT_EQ(status.jobs_by_state.at(JobState::queued), 1);
    EXPECT_EQ(status.jobs_by_state.at(JobState::ignored), 1);
    EXPECT_EQ(status.jobs_by_state.at(JobState::delivered), 0);
    EXPECT_EQ(status.studies, 2);
    EXPECT_EQ(status.instances, 2);
    EXPECT_EQ(status.stored_bytes, 2u * 4096u);
    EXPECT_GT(status.disk_total_bytes, 0u);
    ASSERT_TRUE(status.last_received_at);
}

TEST_F(Jobs, StudyOverviewForRouting) {
    receive("1.2.3.1");
    auto enhanced = instance(kStudy, "1.2.826.0.1.3680043.10.7.2", "1.2.3.9");
    enhanced.sop_class_uid = "1.2.840.10008.5.1.4.1.1.4.1";
    enhanced.calling_ae = "MODALITY";
    storage_.store_instance(enhanced, bytes_for("e"));
    const auto overview = storage_.study_overview(kStudy);
    ASSERT_TRUE(overview);
    ASSERT_EQ(overview->series.size(), 2u);
    EXPECT_EQ(overview->series[0].modality, "MR");
    EXPECT_EQ(overview->series[0].body_part, "LSPINE");
    EXPECT_EQ(overview->series[1].sop_class_uids, std::vector<std::string>{"1.2.840.10008.5.1.4.1.1.4.1"});
    EXPECT_EQ(overview->calling_aes, (std::vector<std::string>{"MODALITY", "ORTHANC"}));
    EXPECT_EQ(overview->study.study_description, "MRI lumbar spine");
    EXPECT_FALSE(storage_.study_overview("9.9"));
}

TEST(JobStateNames, RoundTrip) {
    for (JobState state : all_job_states()) EXPECT_EQ(parse_job_state(to_string(state)), state);
    EXPECT_EQ(parse_job_state("not_analysable"), JobState::not_analyzable);
    EXPECT_FALSE(parse_job_state("finished"));
}

}  // namespace
}  // namespace modic::storage
