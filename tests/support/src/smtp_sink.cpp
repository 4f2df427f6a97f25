#include "support/smtp_sink.hpp"

#include <arpa/inet.h>
#include <dirent.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "support/free_port.hpp"

namespace support {
namespace {

bool accepts(int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return false;
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<uint16_t>(port));
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0;
  ::close(fd);
  return ok;
}

void read_dir(const std::string& dir, std::vector<std::string>& out) {
  DIR* handle = ::opendir(dir.c_str());
  if (!handle) return;
  while (dirent* entry = ::readdir(handle)) {
    std::string name = entry->d_name;
    if (name == "." || name == "..") continue;
    std::ifstream file(dir + "/" + name, std::ios::binary);
    std::ostringstream content;
    content << file.rdbuf();
    out.push_back(content.str());
  }
  ::closedir(handle);
}

}  // namespace

SmtpSink::SmtpSink() : port_(free_port()) {
  char pattern[] = "/tmp/users-smtp-XXXXXX";
  if (!::mkdtemp(pattern)) throw std::runtime_error("mkdtemp failed");
  dir_ = pattern;
  start();
}

SmtpSink::~SmtpSink() {
  stop();
  std::system(("rm -rf '" + dir_ + "'").c_str());
}

void SmtpSink::start() {
  if (pid_ > 0) return;
  pid_t parent = ::getpid();
  pid_ = ::fork();
  if (pid_ < 0) throw std::runtime_error("fork failed");
  if (pid_ == 0) {
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(126);
    std::string listen = "127.0.0.1:" + std::to_string(port_);
    std::string maildir = dir_ + "/Maildir";
    // Debian's python3 by path: a python3 earlier in PATH (pyenv, a venv)
    // may lack the aiosmtpd module.
    ::execl("/usr/bin/python3", "python3", "-m", "aiosmtpd", "-n", "-l", listen.c_str(), "-c",
            "aiosmtpd.handlers.Mailbox", maildir.c_str(), static_cast<char*>(nullptr));
    ::_exit(127);
  }
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(15);
  while (!accepts(port_)) {
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      throw std::runtime_error("aiosmtpd exited at start-up (is python3-aiosmtpd installed?)");
    }
    if (std::chrono::steady_clock::now() > deadline) {
      stop();
      throw std::runtime_error("aiosmtpd did not listen within 15 s");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

void SmtpSink::stop() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGTERM);
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  int status = 0;
  while (::waitpid(pid_, &status, WNOHANG) != pid_) {
    if (std::chrono::steady_clock::now() > deadline) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, &status, 0);
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  pid_ = -1;
}

std::vector<std::string> SmtpSink::messages() const {
  std::vector<std::string> out;
  read_dir(dir_ + "/Maildir/new", out);
  read_dir(dir_ + "/Maildir/cur", out);
  return out;
}

std::vector<std::string> SmtpSink::wait_for(std::size_t count,
                                            std::chrono::milliseconds limit) const {
  auto deadline = std::chrono::steady_clock::now() + limit;
  auto got = messages();
  while (got.size() < count && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    got = messages();
  }
  return got;
}

std::string mail_header(const std::string& message, const std::string& name) {
  std::istringstream lines(message);
  std::string line;
  std::string prefix = name + ": ";
  while (std::getline(lines, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty()) break;  // end of the header section
    if (line.compare(0, prefix.size(), prefix) == 0) return line.substr(prefix.size());
  }
  return {};
}

}  // namespace support
