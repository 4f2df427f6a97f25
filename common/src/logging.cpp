// Logging set-up and the access log line.
//
// Every line goes through a bounded queue to one log thread, which alone
// writes to stdout: a loop thread only formats its message and queues it, so
// a slow or stuck reader of stdout (a log driver that blocks) costs dropped
// lines, counted in /metrics, never a stalled request. When the queue is full
// the oldest line is dropped.
//
// The pattern is applied on the log thread, where the thread-local request id
// is not the caller's: the logger puts the id in front of the message when the
// line is queued, and the flags below read it from there.
#include "common/logging.hpp"

#include <pthread.h>
#include <spdlog/async.h>
#include <spdlog/async_logger.h>
#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/base_sink.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <mutex>
#include <thread>

#include "common/json_response.hpp"
#include "common/log_context.hpp"

namespace common {
namespace {

using spdlog::details::log_msg;
using spdlog::details::thread_pool;

thread_local std::string request_id;

// Lines queued at most: about 3 MB of memory, and a few seconds of a busy
// service's access log while the reader is slow.
constexpr std::size_t kQueuedLines = 8192;

// A queued message: kTag, the request id's length in one byte, the id, the text.
constexpr char kTag = '\x1e';
constexpr std::size_t kMaxIdBytes = 255;

struct Tagged {
  std::string_view request_id;
  std::string_view text;
};

Tagged untag(const log_msg& msg) {
  std::string_view payload(msg.payload.data(), msg.payload.size());
  if (payload.size() < 2 || payload[0] != kTag) return {{}, payload};
  auto length = static_cast<unsigned char>(payload[1]);
  if (payload.size() < 2u + length) return {{}, payload};
  return {payload.substr(2, length), payload.substr(2 + length)};
}

// Captures the caller's request id and queues the line (see the top). In
// front of spdlog's async logger, which cannot be derived from.
class TaggingLogger final : public spdlog::logger {
 public:
  TaggingLogger(std::string name, std::shared_ptr<spdlog::async_logger> queue)
      : spdlog::logger(std::move(name)), queue_(std::move(queue)) {}

 protected:
  void sink_it_(const log_msg& msg) override {
    std::string_view id = current_request_id();
    if (id.size() > kMaxIdBytes) id = id.substr(0, kMaxIdBytes);
    spdlog::memory_buf_t tagged;
    tagged.push_back(kTag);
    tagged.push_back(static_cast<char>(id.size()));
    tagged.append(id.data(), id.data() + id.size());
    tagged.append(msg.payload.data(), msg.payload.data() + msg.payload.size());
    queue_->log(msg.time, msg.source, msg.level,
                spdlog::string_view_t(tagged.data(), tagged.size()));
    // Sinks added to this logger itself (a test capturing lines) get the
    // line as it was given, on the caller's thread.
    if (!sinks_.empty()) spdlog::logger::sink_it_(msg);
  }
  void flush_() override {
    spdlog::logger::flush_();
    queue_->flush();
  }

 private:
  std::shared_ptr<spdlog::async_logger> queue_;
};

// Sink flushes done, so that drain_logging() can see its flush go through.
std::atomic<unsigned long long> flushes{0};

// Runs on the log thread only. When it has written every queued line it
// waits a moment for more before flushing (as nginx's buffered access log
// does): while it waits, a loop that queues a line wakes nobody, and under load
// lines leave in blocks of stdio's buffer. A quiet service's line is out
// within kBatchWait, a busy one's within kMaxDelay.
class StdoutSink final : public spdlog::sinks::base_sink<std::mutex> {
 public:
  static constexpr std::chrono::milliseconds kBatchWait{20};
  static constexpr std::chrono::milliseconds kMaxDelay{200};

  explicit StdoutSink(std::weak_ptr<thread_pool> pool) : pool_(std::move(pool)) {}

 protected:
  void sink_it_(const log_msg& msg) override {
    spdlog::memory_buf_t line;
    formatter_->format(msg, line);
    // A line that cannot be written is lost: there is nowhere to report it.
    (void)std::fwrite(line.data(), 1, line.size(), stdout);
    if (!queue_empty()) return;
    std::this_thread::sleep_for(kBatchWait);
    if (queue_empty() || std::chrono::steady_clock::now() - flushed_ >= kMaxDelay) flush_stdout();
  }
  void flush_() override {
    flush_stdout();
    flushes.fetch_add(1);
  }

 private:
  bool queue_empty() const {
    auto pool = pool_.lock();
    return !pool || pool->queue_size() == 0;
  }
  void flush_stdout() {
    (void)std::fflush(stdout);
    flushed_ = std::chrono::steady_clock::now();
  }

  std::weak_ptr<thread_pool> pool_;
  std::chrono::steady_clock::time_point flushed_;
};

// %v : the message as given.
class TextFlag : public spdlog::custom_flag_formatter {
 public:
  void format(const log_msg& msg, const std::tm&, spdlog::memory_buf_t& dest) override {
    auto text = untag(msg).text;
    dest.append(text.data(), text.data() + text.size());
  }
  std::unique_ptr<custom_flag_formatter> clone() const override {
    return std::make_unique<TextFlag>();
  }
};

// %* : the message, escaped for a JSON string.
class JsonMessageFlag : public spdlog::custom_flag_formatter {
 public:
  void format(const log_msg& msg, const std::tm&, spdlog::memory_buf_t& dest) override {
    auto text = json_escape(untag(msg).text);
    dest.append(text.data(), text.data() + text.size());
  }
  std::unique_ptr<custom_flag_formatter> clone() const override {
    return std::make_unique<JsonMessageFlag>();
  }
};

// %& : the request id the line was logged under, "-" outside a request.
class RequestIdFlag : public spdlog::custom_flag_formatter {
 public:
  void format(const log_msg& msg, const std::tm&, spdlog::memory_buf_t& dest) override {
    std::string_view id = untag(msg).request_id;
    if (id.empty()) id = "-";
    dest.append(id.data(), id.data() + id.size());
  }
  std::unique_ptr<custom_flag_formatter> clone() const override {
    return std::make_unique<RequestIdFlag>();
  }
};

std::unique_ptr<spdlog::formatter> make_formatter(const std::string& pattern) {
  auto formatter = std::make_unique<spdlog::pattern_formatter>(spdlog::pattern_time_type::utc);
  formatter->add_flag<TextFlag>('v');
  formatter->add_flag<JsonMessageFlag>('*');
  formatter->add_flag<RequestIdFlag>('&');
  formatter->set_pattern(pattern);
  return formatter;
}

// The log thread takes no signals: SIGTERM is for the thread in sigwait().
void block_signals() {
  sigset_t all;
  sigfillset(&all);
  pthread_sigmask(SIG_BLOCK, &all, nullptr);
}

std::weak_ptr<thread_pool> log_pool;

struct Queued {
  std::shared_ptr<spdlog::logger> logger;
  std::shared_ptr<StdoutSink> sink;  // holds the formatter
};

Queued make_logger(const std::string& name, const std::shared_ptr<thread_pool>& pool) {
  auto sink = std::make_shared<StdoutSink>(pool);
  auto queue = std::make_shared<spdlog::async_logger>(
      name, sink, pool, spdlog::async_overflow_policy::overrun_oldest);
  queue->set_level(spdlog::level::trace);  // the front logger decides
  auto logger = std::make_shared<TaggingLogger>(name, std::move(queue));
  spdlog::register_logger(logger);
  return {logger, sink};
}

Queued main_log;
// Access lines: in JSON mode their fields are top-level keys, so they go
// through a logger of their own whose pattern takes pre-built fields.
Queued access_log;

}  // namespace

std::string_view current_request_id() {
  return request_id;
}

void set_current_request_id(std::string_view id) {
  request_id.assign(id);
}

RequestIdScope::RequestIdScope(std::string_view id) {
  request_id.assign(id);
}
RequestIdScope::~RequestIdScope() {
  request_id.clear();
}

std::string json_escape(std::string_view text) {
  std::string out;
  out.reserve(text.size() + 8);
  append_json_escaped(out, text);
  return out;
}

void setup_logging(const Config& config) {
  if (!main_log.logger) {
    // Owned by spdlog's registry, which stops it after the loggers at exit.
    auto pool = std::make_shared<thread_pool>(kQueuedLines, 1, block_signals);
    spdlog::details::registry::instance().set_tp(pool);
    log_pool = pool;
    main_log = make_logger("users", pool);
    access_log = make_logger("users.access", pool);
  }
  spdlog::set_default_logger(main_log.logger);
  const char* prefix = R"({"time":"%Y-%m-%dT%H:%M:%S.%eZ","level":"%l","request_id":"%&",)";
  if (config.log_format == "json") {
    main_log.sink->set_formatter(make_formatter(std::string(prefix) + R"("message":"%*"})"));
    access_log.sink->set_formatter(make_formatter(std::string(prefix) + "%v}"));
  } else {
    main_log.sink->set_formatter(make_formatter("%Y-%m-%dT%H:%M:%S.%eZ %-5l [%&] %v"));
    access_log.sink->set_formatter(make_formatter("%Y-%m-%dT%H:%M:%S.%eZ %-5l [%&] %v"));
  }
  for (const auto& each : {main_log.logger, access_log.logger}) {
    each->set_level(spdlog::level::from_str(config.log_level));
  }
}

bool drain_logging(std::chrono::milliseconds limit) {
  if (!main_log.logger) return true;
  // A flush queued behind every line: once the sinks have done it, every
  // line before it is written.
  auto before = flushes.load();
  main_log.logger->flush();
  access_log.logger->flush();
  auto until = std::chrono::steady_clock::now() + limit;
  while (flushes.load() < before + 2) {
    if (std::chrono::steady_clock::now() >= until) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return true;
}

unsigned long long log_lines_dropped() {
  auto pool = log_pool.lock();
  return pool ? pool->overrun_counter() : 0;
}

AccessLog::AccessLog(bool json) : json_(json) {}

void AccessLog::on_request(const RequestRecord& record) {
  spdlog::logger& logger = access_log.logger ? *access_log.logger : *spdlog::default_logger();
  if (!logger.should_log(spdlog::level::info)) return;
  double ms = static_cast<double>(record.duration.count()) / 1000.0;
  if (json_) {
    logger.info(
        R"("type":"access","method":"{}","route":"{}","status":{},"duration_ms":{:.3f},"bytes":{})",
        json_escape(record.method), json_escape(record.route), record.status, ms, record.bytes);
  } else {
    logger.info("{} {} {} {:.3f}ms {}B", record.method, record.route, record.status, ms,
                record.bytes);
  }
}

}  // namespace common
