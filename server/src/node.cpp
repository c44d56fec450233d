#include "modic/server/node.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/thread_pool.hpp>
#include <spdlog/spdlog.h>

#include <atomic>
#include <chrono>
#include <optional>
#include <thread>

#include "modic/server/dicom_listener.hpp"
#include "modic/server/sr_sender.hpp"
#include "modic/server/study_work.hpp"
#include "modic/storage/storage.hpp"

namespace modic::server {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;

storage::StorageOptions storage_options(const config::NodeConfig& config) {
    storage::StorageOptions options;
    options.root = config.node.storage_dir;
    options.fsync = config.storage.fsync;
    options.min_free_bytes = config.storage.min_free_mb * 1024ull * 1024ull;
    options.recover = true;
    return options;
}

ListenerSettings listener_settings(const config::NodeConfig& config) {
    ListenerSettings settings;
    settings.port = config.node.port;
    settings.association.called_ae_title = config.node.ae_title;
    for (const auto& peer : config.peers)
        settings.association.peers.push_back({peer.ae_title, peer.host.value_or("")});
    settings.association.max_associations = static_cast<std::size_t>(config.network.max_associations);
    settings.association.max_per_calling_ae =
        static_cast<std::size_t>(config.network.max_associations_per_ae);
    settings.storage_sop_classes = config.network.accepted_sop_classes;
    settings.acse_timeout_seconds = static_cast<unsigned>(config.network.acse_timeout_seconds);
    settings.dimse_timeout_seconds = static_cast<unsigned>(config.network.dimse_timeout_seconds);
    settings.max_pdu_bytes = config.network.max_pdu_bytes;
    return settings;
}

storage::RetryPolicy retry_policy(const config::NodeConfig& config) {
    return {std::chrono::seconds(config.delivery.retry_initial_seconds),
            std::chrono::seconds(config.delivery.retry_max_seconds),
            std::chrono::hours(config.delivery.give_up_after_hours)};
}

// A steady-clock deadline for a system-clock time point (the store keeps wall-clock times).
asio::steady_timer::time_point steady_deadline(storage::TimePoint when) {
    auto delay = when - storage::Clock::now();
    if (delay < std::chrono::milliseconds(5)) delay = std::chrono::milliseconds(5);
    return asio::steady_timer::clock_type::now() +
           std::chrono::duration_cast<asio::steady_timer::duration>(delay);
}

// A timer that only ever moves earlier while it is armed: each caller says "no later than".
class Alarm {
public:
    Alarm(asio::io_context& io, std::function<void()> on_fire) : timer_(io), on_fire_(std::move(on_fire)) {}

    void no_later_than(asio::steady_timer::time_point deadline) {
        if (armed_ && deadline >= timer_.expiry()) return;
        armed_ = true;
        timer_.expires_at(deadline);
        timer_.async_wait([this](const boost::system::error_code& error) {
            if (error) return;  // re-armed earlier, or cancelled
            armed_ = false;
            on_fire_();
        });
    }
    void cancel() {
        armed_ = false;
        timer_.cancel();
    }

private:
    asio::steady_timer timer_;
    std::function<void()> on_fire_;
    bool armed_ = false;
};

}  // namespace

struct Node::Impl {
    explicit Impl(config::NodeConfig node_config)
        : config(std::move(node_config)),
          store(storage_options(config)),
          workers(static_cast<std::size_t>(std::max(1, config.workers.pool_size))),
          signals(io, SIGTERM, SIGINT),
          completeness(io, [this] { on_completeness_due(); }),
          deliveries(io, [this] { on_deliveries_due(); }),
          retention(io, [this] { on_retention_due(); }),
          housekeeping(io, [this] { on_housekeeping_due(); }),
          listener(listener_settings(config), store,
                   [this](const std::string&) { on_instance_stored(); }) {}

    config::NodeConfig config;
    storage::Storage store;
    asio::io_context io;
    asio::thread_pool workers;
    asio::signal_set signals;
    Alarm completeness;
    Alarm deliveries;
    Alarm retention;
    Alarm housekeeping;
    DicomListener listener;
    std::atomic<std::size_t> job_tasks_waiting{0};
    std::atomic<bool> stopping{false};
    std::thread stopper;

    std::chrono::seconds quiet() const { return std::chrono::seconds(config.study.quiet_seconds); }

    // ---- study completeness ----

    // From an association thread: the study's quiet period restarts; the timer is told on the
    // io_context's thread.
    void on_instance_stored() {
        auto deadline = asio::steady_timer::clock_type::now() + quiet();
        asio::post(io, [this, deadline] { completeness.no_later_than(deadline); });
    }

    void on_completeness_due() {
        try {
            auto jobs = store.create_jobs_for_quiet_studies(quiet(), storage::Clock::now());
            for (const auto& job : jobs) {
                auto study = store.find_study(job.study_uid);
                spdlog::info("study {} complete ({} instances): job {} {}{}", job.study_uid,
                             study ? study->instance_count : 0, job.id, storage::to_string(job.state),
                             job.reason.empty() ? "" : " (" + job.reason + ")");
                if (job.state == storage::JobState::queued) start_one_job();
            }
            if (auto next = store.next_quiet_deadline(quiet()))
                completeness.no_later_than(steady_deadline(*next));
        } catch (const std::exception& error) {
            spdlog::error("completeness check failed: {}; retrying in 5 s", error.what());
            completeness.no_later_than(asio::steady_timer::clock_type::now() + 5s);
        }
    }

    // ---- analyses ----

    // One worker task claims the oldest queued job (there may be none left: another task took it).
    void start_one_job() {
        if (stopping) return;
        ++job_tasks_waiting;
        asio::post(workers, [this] {
            --job_tasks_waiting;
            if (stopping) return;
            std::optional<storage::Job> job;
            try {
                job = store.claim_next_job();
            } catch (const std::exception& error) {
                spdlog::error("cannot claim a job: {}", error.what());
                return;
            }
            if (!job) return;
            run_job(store, config, *job);
            asio::post(io, [this] { deliveries.no_later_than(asio::steady_timer::clock_type::now()); });
        });
    }

    // Enough worker tasks for the queued jobs (some may be waiting for a worker already).
    void start_queued_jobs() {
        auto queued = store.list_jobs(storage::JobState::queued).size();
        for (std::size_t i = job_tasks_waiting; i < queued; ++i) start_one_job();
    }

    // What other processes change in the index (`modic-node retry` re-queues a job or re-arms its
    // deliveries) is picked up within this period.
    void on_housekeeping_due() {
        try {
            start_queued_jobs();
            if (auto next = store.next_delivery_due()) deliveries.no_later_than(steady_deadline(*next));
        } catch (const std::exception& error) {
            spdlog::error("housekeeping failed: {}", error.what());
        }
        housekeeping.no_later_than(asio::steady_timer::clock_type::now() + 5s);
    }

    // ---- deliveries ----

    const config::Destination* destination_named(const std::string& name) const {
        for (const auto& destination : config.destinations)
            if (destination.name == name) return &destination;
        return nullptr;
    }

    void on_deliveries_due() {
        if (stopping) return;
        try {
            auto due = store.claim_due_deliveries(storage::Clock::now());
            for (const auto& delivery : due)
                asio::post(workers, [this, delivery] { attempt_delivery(delivery); });
            if (due.size() == 16)
                deliveries.no_later_than(asio::steady_timer::clock_type::now());
            else if (auto next = store.next_delivery_due())
                deliveries.no_later_than(steady_deadline(*next));
        } catch (const std::exception& error) {
            spdlog::error("delivery scheduling failed: {}; retrying in 5 s", error.what());
            deliveries.no_later_than(asio::steady_timer::clock_type::now() + 5s);
        }
    }

    void attempt_delivery(const storage::Delivery& delivery) {
        SendResult result;
        std::string sr_uid;
        auto job = store.find_job(delivery.job_id);
        const config::Destination* destination = destination_named(delivery.destination);
        if (!job || !job->sr_path) {
            result.error = "job has no SR";
        } else if (!destination) {
            result.error = "destination no longer configured";
        } else {
            sr_uid = job->sr_sop_instance_uid;
            SendTarget target{destination->name, destination->ae_title, destination->host,
                              destination->port};
            SendSettings settings{config.node.ae_title,
                                  static_cast<unsigned>(config.network.acse_timeout_seconds),
                                  static_cast<unsigned>(config.network.dimse_timeout_seconds),
                                  config.network.max_pdu_bytes};
            result = send_file(target, settings, *job->sr_path, job->sr_sop_class_uid);
        }
        try {
            if (result.delivered) {
                store.record_delivery_sent(delivery.id);
                spdlog::info("delivery {} of job {} (SR {}) to {}: sent (attempt {})", delivery.id,
                             delivery.job_id, sr_uid, delivery.destination, delivery.attempts);
            } else {
                auto updated = store.record_delivery_failed(delivery.id, result.error,
                                                            storage::Clock::now(), retry_policy(config));
                spdlog::warn("delivery {} of job {} (SR {}) to {}: attempt {} failed: {}; {}",
                             delivery.id, delivery.job_id, sr_uid, delivery.destination,
                             delivery.attempts, result.error,
                             updated.state == storage::DeliveryState::gave_up
                                 ? std::string("gave up")
                                 : "next attempt in " +
                                       std::to_string(std::chrono::duration_cast<std::chrono::seconds>(
                                                          updated.next_attempt_at - storage::Clock::now())
                                                          .count()) +
                                       " s");
            }
        } catch (const std::exception& error) {
            spdlog::error("delivery {} of job {}: cannot record the attempt: {}", delivery.id,
                          delivery.job_id, error.what());
        }
        asio::post(io, [this] {
            if (auto next = store.next_delivery_due()) deliveries.no_later_than(steady_deadline(*next));
        });
    }

    // ---- retention ----

    void on_retention_due() {
        try {
            auto result = store.apply_retention({config.retention.delete_images_after_delivery,
                                                 config.retention.image_retention_days,
                                                 config.retention.sr_retention_days},
                                                storage::Clock::now());
            if (result.images_deleted || result.srs_deleted)
                spdlog::info("retention: {} image(s) ({} bytes) and {} SR(s) deleted",
                             result.images_deleted, result.image_bytes_freed, result.srs_deleted);
        } catch (const std::exception& error) {
            spdlog::error("retention failed: {}", error.what());
        }
        // Deleting after delivery is checked often; day-based retention needs no hurry.
        retention.no_later_than(asio::steady_timer::clock_type::now() +
                                (config.retention.delete_images_after_delivery ? 60s : 1h));
    }

    // ---- start and stop ----

    void log_start() const {
        spdlog::info("modic-node serving: AE {} port {} storage {} (fsync {}), quiet period {} s, "
                     "{} worker(s)",
                     config.node.ae_title, config.node.port, config.node.storage_dir.string(),
                     config.storage.fsync ? "on" : "off", config.study.quiet_seconds,
                     config.workers.pool_size);
        if (config.destinations.empty())
            spdlog::info("no destination configured: SRs are kept locally under {}",
                         (config.node.storage_dir / "sr").string());
        for (const auto& destination : config.destinations)
            spdlog::info("destination {}: {}@{}:{}", destination.name, destination.ae_title,
                         destination.host, destination.port);
    }

    void shut_down() {
        spdlog::info("stopping: no new associations; finishing the C-STOREs under way");
        stopping = true;
        listener.request_stop();
        // Joining the listener blocks (associations end on their own), so not on the io thread.
        if (stopper.joinable()) return;  // a second signal: already stopping
        stopper = std::thread([this] {
            listener.join();
            workers.join();  // analyses and sends under way end; queued work stays in the store
            asio::post(io, [this] {
                completeness.cancel();
                deliveries.cancel();
                retention.cancel();
                housekeeping.cancel();
                io.stop();
            });
        });
    }

    int run() {
        log_start();
        try {
            listener.start();
        } catch (const std::exception& error) {
            spdlog::error("{}", error.what());
            return 1;
        }
        signals.async_wait([this](const boost::system::error_code& error, int signal_number) {
            if (error) return;
            spdlog::info("signal {} received", signal_number);
            shut_down();
        });
        asio::post(io, [this] {
            start_queued_jobs();  // left queued (or put back by recovery) by an earlier run
            on_completeness_due();
            on_deliveries_due();
            on_retention_due();
            housekeeping.no_later_than(asio::steady_timer::clock_type::now() + 5s);
        });
        io.run();
        if (stopper.joinable()) stopper.join();
        store.sync();
        spdlog::info("modic-node stopped");
        return 0;
    }
};

Node::Node(config::NodeConfig config) : impl_(std::make_unique<Impl>(std::move(config))) {}
Node::~Node() = default;
int Node::run() { return impl_->run(); }

}  // namespace modic::server
