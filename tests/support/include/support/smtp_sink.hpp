// A real SMTP server for tests: Debian's python3-aiosmtpd with its Maildir
// handler, on a free port of 127.0.0.1, its Maildir in a temp dir. stop()
// and start() take it down and up again on the same port and Maildir (a
// mail relay outage). The server dies with the test process.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <string>
#include <vector>

namespace support {

class SmtpSink {
 public:
  SmtpSink();
  ~SmtpSink();
  SmtpSink(const SmtpSink&) = delete;
  SmtpSink& operator=(const SmtpSink&) = delete;

  int port() const { return port_; }
  // The Maildir the server writes (new/ and cur/), for a reader outside this process.
  std::string maildir() const { return dir_ + "/Maildir"; }
  std::string url() const { return "smtp://127.0.0.1:" + std::to_string(port_); }
  void start();  // returns once the port accepts connections
  void stop();   // SIGTERM by PID, then waits for the exit

  // Every message received so far, as stored (headers and body).
  std::vector<std::string> messages() const;
  // Waits up to `limit` until at least `count` messages arrived; all of them.
  std::vector<std::string> wait_for(std::size_t count, std::chrono::milliseconds limit) const;

 private:
  std::string dir_;
  int port_ = 0;
  pid_t pid_ = -1;
};

// The value of the first header `name` in a stored message ("" if none).
std::string mail_header(const std::string& message, const std::string& name);

}  // namespace support
