#include "support/http_client.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <stdexcept>

namespace support {
namespace {

ResponseHook& response_hook() {
  static ResponseHook hook;
  return hook;
}

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && ::strncasecmp(a.data(), b.data(), a.size()) == 0;
}

std::string trim(std::string text) {
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.pop_back();
  std::size_t start = text.find_first_not_of(" \t");
  return start == std::string::npos ? std::string() : text.substr(start);
}

}  // namespace

std::string HttpResponse::header(std::string_view name) const {
  for (const auto& [key, value] : headers) {
    if (iequals(key, name)) return value;
  }
  return {};
}

bool HttpResponse::has_header(std::string_view name) const {
  for (const auto& entry : headers) {
    if (iequals(entry.first, name)) return true;
  }
  return false;
}

nlohmann::json HttpResponse::json() const {
  return nlohmann::json::parse(body);
}

HttpConnection::HttpConnection(const std::string& host, int port, std::chrono::milliseconds timeout)
    : timeout_(timeout) {
  fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd_ < 0) throw std::runtime_error("socket failed");
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<uint16_t>(port));
  ::inet_pton(AF_INET, host == "localhost" ? "127.0.0.1" : host.c_str(), &address.sin_addr);
  if (::connect(fd_, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
    ::close(fd_);
    throw std::runtime_error("connect to " + host + ":" + std::to_string(port) + " failed");
  }
  int one = 1;
  ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

HttpConnection::~HttpConnection() {
  if (fd_ >= 0) ::close(fd_);
}

void HttpConnection::send_raw(std::string_view bytes) {
  while (!bytes.empty()) {
    ssize_t sent = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (sent < 0) {
      if (errno == EINTR) continue;
      throw std::runtime_error("send failed: connection closed");
    }
    bytes.remove_prefix(static_cast<std::size_t>(sent));
  }
}

bool HttpConnection::fill() {
  pollfd descriptor{fd_, POLLIN, 0};
  int ready = ::poll(&descriptor, 1, static_cast<int>(timeout_.count()));
  if (ready == 0) throw std::runtime_error("timed out waiting for the response");
  char chunk[65536];
  ssize_t received = ::recv(fd_, chunk, sizeof chunk, 0);
  if (received < 0) {
    if (errno == ECONNRESET) return false;
    throw std::runtime_error("recv failed");
  }
  if (received == 0) return false;
  buffer_.append(chunk, static_cast<std::size_t>(received));
  return true;
}

std::string HttpConnection::read_line() {
  std::size_t end;
  while ((end = buffer_.find("\r\n")) == std::string::npos) {
    if (!fill()) throw std::runtime_error("connection closed before the end of a line");
  }
  std::string line = buffer_.substr(0, end);
  buffer_.erase(0, end + 2);
  return line;
}

std::string HttpConnection::read_exact(std::size_t n) {
  while (buffer_.size() < n) {
    if (!fill()) throw std::runtime_error("connection closed inside the body");
  }
  std::string data = buffer_.substr(0, n);
  buffer_.erase(0, n);
  return data;
}

HttpResponse HttpConnection::read_response() {
  HttpResponse response;
  std::string status_line = read_line();
  auto first = status_line.find(' ');
  if (status_line.rfind("HTTP/", 0) != 0 || first == std::string::npos) {
    throw std::runtime_error("malformed status line: " + status_line);
  }
  response.status = std::stoi(status_line.substr(first + 1, 3));
  if (status_line.size() > first + 5) response.reason = status_line.substr(first + 5);
  for (std::string line = read_line(); !line.empty(); line = read_line()) {
    auto colon = line.find(':');
    if (colon == std::string::npos) throw std::runtime_error("malformed header: " + line);
    response.headers.emplace_back(line.substr(0, colon), trim(line.substr(colon + 1)));
  }
  if (iequals(response.header("Transfer-Encoding"), "chunked")) {
    for (;;) {
      std::size_t size = std::stoul(read_line(), nullptr, 16);
      if (size == 0) {
        while (!read_line().empty()) {
        }
        break;
      }
      response.body += read_exact(size);
      read_line();
    }
  } else if (response.has_header("Content-Length")) {
    response.body = read_exact(std::stoul(response.header("Content-Length")));
  } else if (response.status >= 200 && response.status != 204 && response.status != 304) {
    while (fill()) {
    }
    response.body = std::move(buffer_);
    buffer_.clear();
  }
  return response;
}

HttpResponse HttpConnection::request(const std::string& method, const std::string& path,
                                     const std::string& body, const Headers& headers) {
  std::string text = method + " " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\n";
  for (const auto& [name, value] : headers) text += name + ": " + value + "\r\n";
  if (!body.empty() || method == "POST" || method == "PUT" || method == "PATCH") {
    text += "Content-Length: " + std::to_string(body.size()) + "\r\n";
  }
  text += "\r\n";
  text += body;
  send_raw(text);
  auto response = read_response();
  if (response_hook()) response_hook()(method, path, response);
  return response;
}

bool HttpConnection::is_closed_by_peer(std::chrono::milliseconds wait) {
  auto deadline = std::chrono::steady_clock::now() + wait;
  while (std::chrono::steady_clock::now() < deadline) {
    pollfd descriptor{fd_, POLLIN, 0};
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (::poll(&descriptor, 1, static_cast<int>(std::max<long>(left.count(), 1))) <= 0) continue;
    char chunk[65536];
    ssize_t received = ::recv(fd_, chunk, sizeof chunk, 0);
    if (received <= 0) return true;  // EOF or reset
  }
  return false;
}

void set_response_hook(ResponseHook hook) {
  response_hook() = std::move(hook);
}

HttpResponse http_request(int port, const std::string& method, const std::string& path,
                          const std::string& body, const Headers& headers) {
  HttpConnection connection("127.0.0.1", port);
  return connection.request(method, path, body, headers);
}

}  // namespace support
