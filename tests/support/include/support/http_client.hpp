// A small blocking HTTP/1.1 client over a raw socket, so tests can check
// keep-alive, exact headers and what a hostile client sends.
#pragma once

#include <chrono>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace support {

using Headers = std::vector<std::pair<std::string, std::string>>;

struct HttpResponse {
  int status = 0;
  std::string reason;
  Headers headers;
  std::string body;

  // Case-insensitive; "" when absent.
  std::string header(std::string_view name) const;
  bool has_header(std::string_view name) const;
  nlohmann::json json() const;  // throws when the body is not JSON
};

class HttpConnection {
 public:
  HttpConnection(const std::string& host, int port,
                 std::chrono::milliseconds timeout = std::chrono::seconds(10));
  ~HttpConnection();
  HttpConnection(const HttpConnection&) = delete;
  HttpConnection& operator=(const HttpConnection&) = delete;

  void send_raw(std::string_view bytes);
  HttpResponse read_response();
  HttpResponse request(const std::string& method, const std::string& path,
                       const std::string& body = "", const Headers& headers = {});
  // True when the server closed the connection within `wait`.
  bool is_closed_by_peer(std::chrono::milliseconds wait);
  int fd() const { return fd_; }

 private:
  bool fill();  // reads more into buffer_; false on EOF
  std::string read_line();
  std::string read_exact(std::size_t n);

  int fd_ = -1;
  std::chrono::milliseconds timeout_;
  std::string buffer_;
};

// Called with every response HttpConnection::request receives (not with
// read_response() after send_raw: a hand-made request has no known route).
// The integration tier installs the OpenAPI check here; none by default.
using ResponseHook = std::function<void(const std::string& method, const std::string& path,
                                        const HttpResponse& response)>;
void set_response_hook(ResponseHook hook);

HttpResponse http_request(int port, const std::string& method, const std::string& path,
                          const std::string& body = "", const Headers& headers = {});

}  // namespace support
