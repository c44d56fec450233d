// Crash recovery at open, and retention.
#include <gtest/gtest.h>

#include <fstream>

#include "storage_test_support.hpp"

namespace modic::storage {
namespace {

using namespace modic::storage::testing;
using std::chrono::seconds;

SrReference sr_for(const std::string& study) {
    return SrReference{study, study + ".900", study + ".900.1", "1.2.840.10008.5.1.4.1.1.88.33"};
}

// Builds, in one store, a job in each state a crash can leave behind.
struct CrashedStore {
    explicit CrashedStore(const std::filesystem::path& root) {
        Storage storage(options_for(root));
        analysing = job_for(storage, "1.1", [&](const Job& job) { storage.claim_next_job(); (void)job; });
        sending = job_for(storage, "1.2", [&](const Job& job) {
            report(storage, job, {"pacs"});
            ASSERT_EQ(storage.claim_due_deliveries(Clock::now() + seconds(1)).size(), 1u);
        });
        delivered = job_for(storage, "1.5", [&](const Job& job) {
            report(storage, job, {"pacs"});
            auto due = storage.claim_due_deliveries(Clock::now() + seconds(1));
            ASSERT_EQ(due.size(), 1u);
            storage.record_delivery_sent(due[0].id);
        });
        scheduled = job_for(storage, "1.6", [&](const Job& job) {
            report(storage, job, {"pacs"});
            const TimePoint now = Clock::now() + seconds(1);
            auto due = storage.claim_due_deliveries(now);
            ASSERT_EQ(due.size(), 1u);
            scheduled_at = storage.record_delivery_failed(due[0].id, "refused", now, RetryPolicy{}).next_attempt_at;
        });
        sr_lost = job_for(storage, "1.3", [&](const Job& job) {
            lost_sr_path = report(storage, job, {"pacs"});
            std::filesystem::remove(lost_sr_path);
        });
        queued = job_for(storage, "1.4", [](const Job&) {});  // last: claim_next_job takes the oldest
        std::ofstream(storage.temp_dir() / "half-written.part") << "partial";
        // Destroyed without any shutdown step, as after kill -9.
    }

    template <typename Then>
    std::int64_t job_for(Storage& storage, const std::string& study, Then then) {
        storage.store_instance(instance(study, study + ".1", study + ".1.1"), bytes_for(study));
        auto jobs = storage.create_jobs_for_quiet_studies(seconds(0), Clock::now() + seconds(1));
        EXPECT_EQ(jobs.size(), 1u);
        then(jobs.at(0));
        return jobs.at(0).id;
    }

    static std::filesystem::path report(Storage& storage, const Job& job, const std::vector<std::string>& to) {
        EXPECT_EQ(storage.claim_next_job()->id, job.id);
        const SrReference sr = sr_for(job.study_uid);
        const auto path = storage.write_sr_file(job.study_uid, sr.sop_instance_uid, bytes_for(sr.sop_instance_uid));
        storage.record_report(job.id, path, sr, "{}", to);
        return path;
    }

    std::int64_t analysing = 0, sending = 0, sr_lost = 0, queued = 0, delivered = 0, scheduled = 0;
    std::filesystem::path lost_sr_path;
    TimePoint scheduled_at;
};

TEST(Recovery, EveryStateContinuesAfterACrash) {
    TempFolder folder;
    const CrashedStore crashed(folder.path());
    const TimePoint before_reopen = Clock::now();
    Storage storage(options_for(folder.path()));

    EXPECT_EQ(storage.find_job(crashed.analysing)->state, JobState::queued);
    EXPECT_EQ(storage.find_job(crashed.queued)->state, JobState::queued);
    EXPECT_EQ(storage.find_job(crashed.delivered)->state, JobState::delivered);

    const Job sending = *storage.find_job(crashed.sending);
    EXPECT_EQ(sending.state, JobState::reporting);
    EXPECT_EQ(sending.sr_sop_instance_uid, sr_for("1.2").sop_instance_uid);  // the same SR goes out
    const auto sending_deliveries = storage.job_deliveries(crashed.sending);
    ASSERT_EQ(sending_deliveries.size(), 1u);
    EXPECT_EQ(sending_deliveries[0].state, DeliveryState::pending);
    EXPECT_LE(sending_deliveries[0].next_attempt_at, Clock::now());

    const Job lost = *storage.find_job(crashed.sr_lost);
    EXPECT_EQ(lost.state, JobState::queued);  // analysed again: its SR is gone
    EXPECT_FALSE(lost.sr_path);
    EXPECT_TRUE(storage.job_deliveries(crashed.sr_lost).empty());

    const auto scheduled = storage.job_deliveries(crashed.scheduled);
    ASSERT_EQ(scheduled.size(), 1u);
    EXPECT_EQ(scheduled[0].state, DeliveryState::pending);
    EXPECT_EQ(scheduled[0].next_attempt_at, crashed.scheduled_at);  // keeps its schedule
    EXPECT_GT(scheduled[0].next_attempt_at, before_reopen);

    EXPECT_TRUE(files_under(storage.temp_dir()).empty());

    // Nothing is stuck: the queued jobs can be claimed, the due delivery is handed out.
    int claimed = 0;
    while (storage.claim_next_job()) ++claimed;
    EXPECT_EQ(claimed, 3);
    const auto due = storage.claim_due_deliveries(Clock::now() + seconds(1));
    ASSERT_EQ(due.size(), 1u);
    EXPECT_EQ(due[0].job_id, crashed.sending);
}

// A study whose analysis brings the node down is found "analysing" at each start. After the
// third interruption it fails, and the job queued behind it is the next one claimed.
TEST(Recovery, AnAnalysisInterruptedThreeTimesFailsInsteadOfRunningAgain) {
    TempFolder folder;
    std::int64_t poisoned = 0, behind = 0;
    {
        Storage storage(options_for(folder.path()));
        for (const std::string study : {"1.1", "1.2"}) {
            storage.store_instance(instance(study, study + ".1", study + ".1.1"), bytes_for(study));
            const auto jobs = storage.create_jobs_for_quiet_studies(seconds(0), Clock::now() + seconds(1));
            ASSERT_EQ(jobs.size(), 1u);
            (study == "1.1" ? poisoned : behind) = jobs[0].id;
        }
    }
    for (int start = 1; start <= Storage::kMaxInterruptedAnalyses; ++start) {
        Storage storage(options_for(folder.path()));  // recovery at open
        EXPECT_EQ(storage.find_job(poisoned)->state, JobState::queued) << "start " << start;
        const auto claimed = storage.claim_next_job();
        ASSERT_TRUE(claimed);
        ASSERT_EQ(claimed->id, poisoned);
        EXPECT_EQ(claimed->attempts, start);
        // Destroyed while analysing, as when the analysis kills the process.
    }
    Storage storage(options_for(folder.path()));
    const Job failed = *storage.find_job(poisoned);
    EXPECT_EQ(failed.state, JobState::failed);
    EXPECT_NE(failed.last_error.find("interrupted 3 times"), std::string::npos) << failed.last_error;
    EXPECT_EQ(storage.claim_next_job()->id, behind);

    // The administrator's retry gives it fresh attempts.
    EXPECT_EQ(storage.retry_job(poisoned, Clock::now()).new_state, JobState::queued);
    EXPECT_EQ(storage.find_job(poisoned)->attempts, 0);
}

// The serving node holds <root>/node.lock; where the folder cannot be locked at all (a network
// mount without locks; here the lock file is a folder) the node still opens its storage.
TEST(Recovery, AStorageFolderThatCannotBeLockedStillOpens) {
    TempFolder folder;
    std::filesystem::create_directories(folder.path() / "node.lock");
    EXPECT_NO_THROW(Storage storage(options_for(folder.path())));
}

TEST(Recovery, AdminOpenChangesNothing) {
    TempFolder folder;
    const CrashedStore crashed(folder.path());
    auto options = options_for(folder.path());
    options.recover = false;
    Storage admin(options);
    EXPECT_EQ(admin.find_job(crashed.analysing)->state, JobState::analysing);
    EXPECT_EQ(admin.job_deliveries(crashed.sending)[0].state, DeliveryState::sending);
    EXPECT_EQ(files_under(admin.temp_dir()).size(), 1u);
}

TEST(Recovery, InstanceWhoseBytesNeverReachedTheDiskIsDropped) {
    TempFolder folder;
    std::filesystem::path kept;
    std::filesystem::path torn;
    {
        Storage storage(options_for(folder.path()));
        kept = storage.store_instance(instance("1.7", "1.7.1", "1.7.1.1"), bytes_for("k")).path;
        torn = storage.store_instance(instance("1.7", "1.7.1", "1.7.1.2"), bytes_for("t")).path;
    }
    std::filesystem::resize_file(torn, 0);
    Storage storage(options_for(folder.path()));
    const auto files = storage.study_instances("1.7");
    ASSERT_EQ(files.size(), 1u);
    EXPECT_EQ(files[0].path, kept);
    EXPECT_FALSE(std::filesystem::exists(torn));
    // The PACS re-sends it: stored again.
    EXPECT_EQ(storage.store_instance(instance("1.7", "1.7.1", "1.7.1.2"), bytes_for("t")).outcome,
              StoreOutcome::stored);
}

TEST(Recovery, FileRenamedButNeverIndexedIsRemoved) {
    TempFolder folder;
    std::filesystem::path kept, orphan_beside, orphan_alone;
    {
        Storage storage(options_for(folder.path()));
        kept = storage.store_instance(instance("1.6", "1.6.1", "1.6.1.1"), bytes_for("k")).path;
    }
    // As a crash after the rename and before the index commit leaves them: in a known series and
    // in a series folder of its own.
    orphan_beside = kept.parent_path() / "1.6.1.2.dcm";
    orphan_alone = kept.parent_path().parent_path() / "1.6.2" / "1.6.2.1.dcm";
    std::filesystem::create_directories(orphan_alone.parent_path());
    std::ofstream(orphan_beside) << "never acknowledged";
    std::ofstream(orphan_alone) << "never acknowledged";

    Storage storage(options_for(folder.path()));
    EXPECT_TRUE(std::filesystem::exists(kept));
    EXPECT_FALSE(std::filesystem::exists(orphan_beside));
    EXPECT_FALSE(std::filesystem::exists(orphan_alone));
    ASSERT_EQ(storage.study_instances("1.6").size(), 1u);
}

class Retention : public ::testing::Test {
protected:
    std::int64_t finished_study(const std::string& study) {
        storage_.store_instance(instance(study, study + ".1", study + ".1.1"), bytes_for(study));
        storage_.store_instance(instance(study, study + ".1", study + ".1.2"), bytes_for(study + "b"));
        const auto jobs = storage_.create_jobs_for_quiet_studies(seconds(0), Clock::now() + seconds(1));
        EXPECT_EQ(storage_.claim_next_job()->id, jobs.at(0).id);
        const SrReference sr = sr_for(study);
        const auto path = storage_.write_sr_file(study, sr.sop_instance_uid, bytes_for("sr"));
        storage_.record_report(jobs.at(0).id, path, sr, "{}", {});
        return jobs.at(0).id;
    }
    TempFolder folder_;
    Storage storage_{options_for(folder_.path())};
};

TEST_F(Retention, ImagesDeletedAfterDeliveryOnlyForFinishedStudies) {
    finished_study("1.8");
    storage_.store_instance(instance("1.9", "1.9.1", "1.9.1.1"), bytes_for("waiting"));
    RetentionPolicy policy;
    policy.delete_images_after_delivery = true;
    const RetentionResult result = storage_.apply_retention(policy, Clock::now());
    EXPECT_EQ(result.images_deleted, 2);
    EXPECT_EQ(result.image_bytes_freed, 2u * 4096u);
    EXPECT_EQ(result.srs_deleted, 0);
    EXPECT_TRUE(storage_.study_instances("1.8").empty());
    EXPECT_FALSE(std::filesystem::exists(folder_.path() / "images" / "1.8"));
    EXPECT_EQ(storage_.study_instances("1.9").size(), 1u);
    EXPECT_TRUE(storage_.find_study("1.8"));  // the study row stays
}

TEST_F(Retention, ImagesAndSrsDeletedAfterTheirDays) {
    const auto job = finished_study("1.8");
    RetentionPolicy policy;
    policy.image_retention_days = 2;
    policy.sr_retention_days = 10;
    EXPECT_EQ(storage_.apply_retention(policy, Clock::now() + std::chrono::hours(24)).images_deleted, 0);
    const auto after_three_days = storage_.apply_retention(policy, Clock::now() + std::chrono::hours(72));
    EXPECT_EQ(after_three_days.images_deleted, 2);
    EXPECT_EQ(after_three_days.srs_deleted, 0);
    const auto sr_path = *storage_.find_job(job)->sr_path;
    EXPECT_TRUE(std::filesystem::exists(sr_path));
    EXPECT_EQ(storage_.apply_retention(policy, Clock::now() + std::chrono::hours(24 * 11)).srs_deleted, 1);
    EXPECT_FALSE(std::filesystem::exists(sr_path));
    EXPECT_EQ(storage_.apply_retention(policy, Clock::now() + std::chrono::hours(24 * 12)).srs_deleted, 0);
}

TEST_F(Retention, KeepForeverByDefault) {
    finished_study("1.8");
    const RetentionResult result = storage_.apply_retention(RetentionPolicy{}, Clock::now() + std::chrono::hours(24 * 3650));
    EXPECT_EQ(result.images_deleted, 0);
    EXPECT_EQ(result.srs_deleted, 0);
}

}  // namespace
}  // namespace modic::storage
