// Internal: the service's one HTTP/1.1 parser (RFC 9112), sans I/O. It
// splits a connection's byte stream into requests, checks each against the
// RFC and the configured limits (a header line without a colon, a missing or
// repeated Host, Content-Length with Transfer-Encoding, conflicting lengths,
// obsolete line folding are all refused), answers Expect, accepts
// absolute-form targets, and hands over each request once: method,
// origin-form target, header fields, the body de-chunked.
//
// Kept rather than replaced by Boost.Beast's request_parser: every strict
// behaviour above is pinned by tests against this class, its refusals carry
// nginx's status codes, and it adds no dependency.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace common::edge {

struct FramerLimits {
  std::size_t max_request_line = 8192;   // 414 beyond (nginx: large_client_header_buffers 8k)
  std::size_t max_header_bytes = 32768;  // 431 beyond (nginx: 4 x 8k)
  std::size_t max_header_fields = 100;   // 431 beyond
  std::size_t max_body_bytes = 1048576;  // 413 beyond
};

// A complete, checked request.
struct FramedRequest {
  std::string method;
  std::string target;  // origin-form
  bool http10 = false;
  bool close = false;  // no further request on this connection (asked, or HTTP/1.0)
  // Every field but the framing ones (Content-Length, Transfer-Encoding,
  // Expect), names as sent, values trimmed.
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;               // de-chunked
  std::string client_request_id;  // its X-Request-ID as sent
  bool chunked = false;           // the body came chunked

  // The first field of that name (case-insensitive), or nullptr.
  const std::string* header(std::string_view name) const;
};

// Why a request is refused; the connection is closed after the answer.
struct Refusal {
  int status = 400;
  std::string message;
};

class RequestFramer {
 public:
  enum class Event {
    need_more,     // feed more bytes
    continue_100,  // headers accepted and a body is awaited: send "100 Continue"
    request,       // take_request() holds a complete request
    refused,       // refusal() says why; the framer accepts nothing more
  };

  explicit RequestFramer(const FramerLimits& limits) : limits_(limits) {}

  void feed(std::string_view bytes);
  // The next event; call again until need_more.
  Event next();
  FramedRequest take_request() { return std::move(ready_); }
  const Refusal& refusal() const { return refusal_; }
  // The X-Request-ID line of the request being read, as sent ("" if none yet).
  const std::string& client_request_id() const { return request_id_; }
  // Bytes of an unfinished request are buffered.
  bool mid_request() const;
  // The head is complete and the body is being read.
  bool in_body() const;
  // Nothing more will be read: after a refusal or a request that closes.
  bool stopped() const { return state_ == State::stopped; }

 private:
  enum class State {
    request_line,
    headers,
    body,
    chunk_size,
    chunk_data,
    chunk_end,
    trailers,
    stopped
  };
  enum class Line { complete, incomplete, too_long };

  Line take_line(std::size_t max, std::string_view& line);
  Line take_field_line(std::string_view& line);
  bool take_body();
  Event refuse(int status, std::string message);
  bool parse_request_line(std::string_view line);
  bool parse_header(std::string_view line);
  bool finish_head();
  Event finish_request();
  void reset_request();

  FramerLimits limits_;
  State state_ = State::request_line;
  std::string buffer_;
  std::size_t pos_ = 0;  // first unconsumed byte of buffer_

  // The request being read.
  std::string method_;
  std::string target_;
  std::string version_;
  std::vector<std::pair<std::string, std::string>> headers_;
  std::size_t header_bytes_ = 0;
  int hosts_ = 0;
  bool has_length_ = false;
  unsigned long long length_ = 0;
  bool chunked_ = false;
  bool transfer_encoding_ = false;
  bool expect_continue_ = false;
  bool connection_close_ = false;
  bool connection_keep_alive_ = false;
  std::string request_id_;
  std::string body_;
  unsigned long long remaining_ = 0;

  FramedRequest ready_;
  Refusal refusal_;
};

}  // namespace common::edge
