// HTTP/1.1 framing and checks (RFC 9112), answers chosen like nginx's.
#include "edge/request_framer.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <optional>

#include "common/text.hpp"
#include "edge/percent_decode.hpp"

namespace common::edge {
namespace {

constexpr std::size_t kMaxChunkLine = 1024;

// RFC 9110 5.6.2.
bool is_tchar(unsigned char c) {
  return std::isalnum(c) ||
         std::string_view("!#$%&'*+-.^_`|~").find(static_cast<char>(c)) != std::string_view::npos;
}

bool is_token(std::string_view text) {
  return !text.empty() && std::all_of(text.begin(), text.end(), [](char c) {
    return is_tchar(static_cast<unsigned char>(c));
  });
}

// Digits only, at most 18 of them (no overflow); nullopt otherwise.
std::optional<unsigned long long> parse_length(std::string_view text) {
  if (text.empty() || text.size() > 18) return std::nullopt;
  unsigned long long value = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    value = value * 10 + static_cast<unsigned long long>(c - '0');
  }
  return value;
}

// "5" or "5, 5" (RFC 9112 6.3: a list of identical values is one value).
std::optional<unsigned long long> parse_length_list(std::string_view text) {
  std::optional<unsigned long long> value;
  while (true) {
    auto comma = text.find(',');
    auto one = parse_length(trim(text.substr(0, comma)));
    if (!one || (value && *value != *one)) return std::nullopt;
    value = one;
    if (comma == std::string_view::npos) return value;
    text.remove_prefix(comma + 1);
  }
}

// RFC 9110 8.3.1: type "/" subtype, then parameters (name=value).
bool is_media_type(std::string_view value) {
  auto semicolon = value.find(';');
  auto type = trim(value.substr(0, semicolon));
  auto slash = type.find('/');
  if (slash == std::string_view::npos || !is_token(type.substr(0, slash)) ||
      !is_token(type.substr(slash + 1))) {
    return false;
  }
  while (semicolon != std::string_view::npos) {
    value.remove_prefix(semicolon + 1);
    semicolon = value.find(';');
    auto parameter = trim(value.substr(0, semicolon));
    if (parameter.empty()) continue;  // "text/html;" is tolerated, as browsers send it
    auto equals = parameter.find('=');
    if (equals == std::string_view::npos || !is_token(parameter.substr(0, equals))) return false;
  }
  return true;
}

// Host: a reg-name, IPv4 or [IPv6] literal, with an optional port. Empty is
// valid (RFC 9112 3.2: a target without an authority; nginx forwards an
// HTTP/1.0 request that had no Host this way).
bool is_valid_host(std::string_view host) {
  return std::all_of(host.begin(), host.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' || c == ':' ||
           c == '[' || c == ']' || c == '_';
  });
}

// The origin-form of `target` ("/path?query"); "" when it is neither
// origin-form nor absolute-form (RFC 9112 3.2).
std::string origin_form(std::string_view target) {
  if (!target.empty() && target.front() == '/') return std::string(target);
  auto scheme_end = target.find("://");
  if (scheme_end == std::string_view::npos) return {};
  auto scheme = target.substr(0, scheme_end);
  if (!iequals(scheme, "http") && !iequals(scheme, "https")) return {};
  auto rest = target.substr(scheme_end + 3);
  auto path = rest.find_first_of("/?");
  if (path == 0) return {};  // no authority
  if (path == std::string_view::npos) return "/";
  if (rest[path] == '?') return "/" + std::string(rest.substr(path));
  return std::string(rest.substr(path));
}

}  // namespace

void RequestFramer::feed(std::string_view bytes) {
  if (state_ == State::stopped) return;
  if (pos_ > 0) {
    buffer_.erase(0, pos_);
    pos_ = 0;
  }
  buffer_.append(bytes);
}

bool RequestFramer::mid_request() const {
  return state_ != State::stopped && (state_ != State::request_line || pos_ < buffer_.size());
}

bool RequestFramer::in_body() const {
  return state_ == State::body || state_ == State::chunk_size || state_ == State::chunk_data ||
         state_ == State::chunk_end || state_ == State::trailers;
}

RequestFramer::Line RequestFramer::take_line(std::size_t max, std::string_view& line) {
  auto end = buffer_.find('\n', pos_);
  if (end == std::string::npos)
    return buffer_.size() - pos_ > max ? Line::too_long : Line::incomplete;
  line = std::string_view(buffer_).substr(pos_, end - pos_);
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);  // CRLF, or a bare LF
  if (line.size() > max) return Line::too_long;
  pos_ = end + 1;
  return Line::complete;
}

// Moves what is here of the `remaining_` body bytes into body_; true once
// none remain.
bool RequestFramer::take_body() {
  auto take = std::min<unsigned long long>(remaining_, buffer_.size() - pos_);
  body_.append(buffer_, pos_, take);
  pos_ += take;
  remaining_ -= take;
  return remaining_ == 0;
}

// A header or trailer line, within what is left of the header section's allowance.
RequestFramer::Line RequestFramer::take_field_line(std::string_view& line) {
  std::size_t allowance =
      limits_.max_header_bytes - std::min(header_bytes_, limits_.max_header_bytes);
  auto got = take_line(allowance, line);
  if (got == Line::complete) header_bytes_ += line.size() + 2;
  return got;
}

RequestFramer::Event RequestFramer::refuse(int status, std::string message) {
  refusal_ = {status, std::move(message)};
  state_ = State::stopped;
  buffer_.clear();
  pos_ = 0;
  return Event::refused;
}

void RequestFramer::reset_request() {
  method_.clear();
  target_.clear();
  version_.clear();
  headers_.clear();
  header_bytes_ = 0;
  hosts_ = 0;
  has_length_ = false;
  length_ = 0;
  chunked_ = false;
  transfer_encoding_ = false;
  expect_continue_ = false;
  connection_close_ = false;
  connection_keep_alive_ = false;
  request_id_.clear();
  body_.clear();
  remaining_ = 0;
}

RequestFramer::Event RequestFramer::next() {
  std::string_view line;
  for (;;) {
    switch (state_) {
      case State::stopped:
        return Event::need_more;

      case State::request_line: {
        auto got = take_line(limits_.max_request_line, line);
        if (got == Line::too_long) return refuse(414, "Request-URI too long.");
        if (got == Line::incomplete) return Event::need_more;
        if (line.empty()) continue;  // RFC 9112 2.2: empty lines before a request are ignored
        reset_request();
        if (!parse_request_line(line)) return Event::refused;
        state_ = State::headers;
        break;
      }

      case State::headers: {
        auto got = take_field_line(line);
        if (got == Line::too_long) return refuse(431, "Request header fields too large.");
        if (got == Line::incomplete) return Event::need_more;
        if (!line.empty()) {
          if (!parse_header(line)) return Event::refused;
          break;
        }
        if (!finish_head()) return Event::refused;
        if (chunked_) {
          state_ = State::chunk_size;
        } else if (length_ > 0) {
          remaining_ = length_;
          state_ = State::body;
        } else {
          return finish_request();
        }
        // RFC 9110 10.1.1: the client waits for this before sending the body;
        // not needed when some of the body is already here.
        if (expect_continue_ && pos_ == buffer_.size()) return Event::continue_100;
        break;
      }

      case State::body: {
        if (!take_body()) return Event::need_more;
        return finish_request();
      }

      case State::chunk_size: {
        auto got = take_line(kMaxChunkLine, line);
        if (got == Line::too_long) return refuse(400, "Malformed chunked body.");
        if (got == Line::incomplete) return Event::need_more;
        auto size_text = trim(line.substr(0, line.find(';')));  // chunk extensions are ignored
        unsigned long long size = 0;
        auto [end, error] =
            std::from_chars(size_text.data(), size_text.data() + size_text.size(), size, 16);
        if (size_text.empty() || size_text.size() > 15 || error != std::errc() ||
            end != size_text.data() + size_text.size()) {
          return refuse(400, "Malformed chunked body.");
        }
        if (size == 0) {
          state_ = State::trailers;
        } else if (body_.size() + size > limits_.max_body_bytes) {
          return refuse(413, "Request body too large.");
        } else {
          remaining_ = size;
          state_ = State::chunk_data;
        }
        break;
      }

      case State::chunk_data: {
        if (!take_body()) return Event::need_more;
        state_ = State::chunk_end;
        break;
      }

      case State::chunk_end: {
        auto got = take_line(2, line);
        if (got == Line::too_long || (got == Line::complete && !line.empty())) {
          return refuse(400, "Malformed chunked body.");
        }
        if (got == Line::incomplete) return Event::need_more;
        state_ = State::chunk_size;
        break;
      }

      case State::trailers: {
        auto got = take_field_line(line);
        if (got == Line::too_long) return refuse(431, "Request header fields too large.");
        if (got == Line::incomplete) return Event::need_more;
        if (line.empty()) return finish_request();
        // Trailer fields are checked like headers, then dropped (RFC 9112 7.1.2).
        if (line.find(':') == std::string_view::npos || !is_token(line.substr(0, line.find(':')))) {
          return refuse(400, "Malformed trailer field.");
        }
        break;
      }
    }
  }
}

bool RequestFramer::parse_request_line(std::string_view line) {
  auto first = line.find(' ');
  auto last = line.rfind(' ');
  if (first == std::string_view::npos || first == last) {
    refuse(400, "Malformed request line.");
    return false;
  }
  auto method = line.substr(0, first);
  auto target = line.substr(first + 1, last - first - 1);
  auto version = line.substr(last + 1);
  if (!is_token(method)) {
    refuse(400, "Malformed request line.");
    return false;
  }
  bool target_ok = !target.empty() && std::none_of(target.begin(), target.end(), [](char c) {
    auto byte = static_cast<unsigned char>(c);
    return byte <= 0x20 || byte == 0x7f;
  });
  if (!target_ok || version.size() != 8 || version.substr(0, 5) != "HTTP/" ||
      !std::isdigit(static_cast<unsigned char>(version[5])) || version[6] != '.' ||
      !std::isdigit(static_cast<unsigned char>(version[7]))) {
    refuse(400, "Malformed request line.");
    return false;
  }
  if (version[5] != '1') {
    refuse(505, "HTTP version not supported.");
    return false;
  }
  if (!is_http_method(method)) {
    refuse(501, "Method not implemented.");
    return false;
  }
  target_ = origin_form(target);
  auto path = std::string_view(target_).substr(0, target_.find('?'));
  if (target_.empty() || !percent_decode(path)) {
    refuse(400, "Malformed request target.");
    return false;
  }
  method_ = std::string(method);
  version_ = version[7] == '0' ? "HTTP/1.0" : "HTTP/1.1";
  return true;
}

bool RequestFramer::parse_header(std::string_view line) {
  if (line.front() == ' ' || line.front() == '\t') {
    refuse(400, "Obsolete header line folding.");  // RFC 9112 5.2
    return false;
  }
  auto colon = line.find(':');
  if (colon == std::string_view::npos || !is_token(line.substr(0, colon))) {
    // No colon, or whitespace before it (RFC 9112 5.1).
    refuse(400, "Malformed header field.");
    return false;
  }
  auto value = trim(line.substr(colon + 1));
  bool clean = std::none_of(value.begin(), value.end(), [](char c) {
    auto byte = static_cast<unsigned char>(c);
    return (byte < 0x20 && byte != '\t') || byte == 0x7f;
  });
  if (!clean) {
    refuse(400, "Malformed header field.");
    return false;
  }
  if (headers_.size() + 1 > limits_.max_header_fields) {
    refuse(431, "Too many header fields.");
    return false;
  }
  auto name = line.substr(0, colon);  // compared without allocating
  if (iequals(name, "content-length")) {
    auto length = parse_length_list(value);
    if (!length || (has_length_ && *length != length_)) {
      refuse(400, "Malformed or conflicting Content-Length.");
      return false;
    }
    has_length_ = true;
    length_ = *length;
    return true;
  }
  if (iequals(name, "transfer-encoding")) {
    if (transfer_encoding_ || !iequals(value, "chunked")) {
      refuse(501, "Transfer-Encoding not implemented.");
      return false;
    }
    transfer_encoding_ = chunked_ = true;
    return true;
  }
  if (iequals(name, "expect")) {
    if (!iequals(value, "100-continue")) {
      refuse(417, "Expectation failed.");
      return false;
    }
    expect_continue_ = true;
    return true;
  }
  if (iequals(name, "host")) {
    if (++hosts_ > 1 || !is_valid_host(value)) {
      refuse(400, "Malformed or repeated Host.");
      return false;
    }
  } else if (iequals(name, "connection")) {
    auto tokens = to_lower(value);
    connection_close_ = connection_close_ || tokens.find("close") != std::string::npos;
    connection_keep_alive_ =
        connection_keep_alive_ || tokens.find("keep-alive") != std::string::npos;
  } else if (iequals(name, "content-type")) {
    if (!is_media_type(value)) {
      refuse(400, "Malformed Content-Type.");
      return false;
    }
  } else if (iequals(name, "x-request-id")) {
    request_id_ = std::string(value);
  }
  headers_.emplace_back(line.substr(0, colon), value);
  return true;
}

bool RequestFramer::finish_head() {
  bool http11 = version_ == "HTTP/1.1";
  if (http11 && hosts_ == 0) {
    refuse(400, "Missing Host header.");  // RFC 9112 3.2
    return false;
  }
  if (transfer_encoding_ && (has_length_ || !http11)) {
    refuse(400, "Content-Length with Transfer-Encoding.");  // RFC 9112 6.1, 6.3
    return false;
  }
  if (has_length_ && length_ > limits_.max_body_bytes) {
    refuse(413, "Request body too large.");
    return false;
  }
  if (!http11) expect_continue_ = false;  // RFC 9110 10.1.1: ignored for HTTP/1.0
  return true;
}

RequestFramer::Event RequestFramer::finish_request() {
  ready_ = FramedRequest{};
  ready_.method = std::move(method_);
  ready_.target = std::move(target_);
  ready_.client_request_id = std::move(request_id_);
  ready_.http10 = version_ != "HTTP/1.1";
  ready_.close = connection_close_ || (ready_.http10 && !connection_keep_alive_);
  ready_.headers = std::move(headers_);
  ready_.body = std::move(body_);
  ready_.chunked = chunked_;
  if (ready_.close) {
    state_ = State::stopped;  // RFC 9112 9.6: nothing after it is read
    buffer_.clear();
    pos_ = 0;
  } else {
    state_ = State::request_line;
  }
  reset_request();
  return Event::request;
}

const std::string* FramedRequest::header(std::string_view name) const {
  for (const auto& [field, value] : headers) {
    if (iequals(field, name)) return &value;
  }
  return nullptr;
}

}  // namespace common::edge
