// Reads cgroup limit files: memory.max and cpu.max (v2), or
// memory.limit_in_bytes and cpu.cfs_quota_us / cpu.cfs_period_us (v1).
#include "common/cgroup.hpp"

#include <sched.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <sstream>
#include <thread>
#include <vector>

namespace common {
namespace {

std::optional<std::string> first_line(const std::string& path) {
  std::ifstream file(path);
  std::string line;
  if (!file || !std::getline(file, line)) return std::nullopt;
  return line;
}

std::optional<long long> number(const std::string& text) {
  try {
    std::size_t used = 0;
    long long value = std::stoll(text, &used);
    if (used != text.size()) return std::nullopt;
    return value;
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

// The process's cgroup directory under `base`, then each parent up to `base`.
// The path in /proc/self/cgroup may start above what the mount shows (a v1
// container sees its own cgroup as the root): the longest tail of the path
// that exists under `base` is taken, `base` itself when none does.
std::vector<std::string> dirs_up(const std::string& base, std::string path) {
  std::string found;
  for (std::string tail = path; !tail.empty() && tail != "/";) {
    if (::access((base + tail).c_str(), F_OK) == 0) {
      found = tail;
      break;
    }
    auto next = tail.find('/', 1);
    tail = next == std::string::npos ? "" : tail.substr(next);
  }
  path = found;
  std::vector<std::string> dirs;
  while (!path.empty() && path != "/") {
    dirs.push_back(base + path);
    auto slash = path.rfind('/');
    path = slash == std::string::npos ? "" : path.substr(0, slash);
  }
  dirs.push_back(base);
  return dirs;
}

template <typename T>
void tighten(std::optional<T>& limit, std::optional<T> value) {
  if (value && (!limit || *value < *limit)) limit = value;
}

std::optional<std::uint64_t> v2_memory(const std::string& dir) {
  auto line = first_line(dir + "/memory.max");
  if (!line || *line == "max") return std::nullopt;
  auto value = number(*line);
  if (!value || *value < 0) return std::nullopt;
  return static_cast<std::uint64_t>(*value);
}

std::optional<double> v2_cpus(const std::string& dir) {
  auto line = first_line(dir + "/cpu.max");
  if (!line) return std::nullopt;
  std::istringstream in(*line);
  std::string quota, period;
  in >> quota >> period;
  auto q = number(quota);
  auto p = number(period.empty() ? "100000" : period);
  if (!q || !p || *q <= 0 || *p <= 0) return std::nullopt;  // "max": no quota
  return static_cast<double>(*q) / static_cast<double>(*p);
}

std::optional<std::uint64_t> v1_memory(const std::string& dir) {
  auto line = first_line(dir + "/memory.limit_in_bytes");
  if (!line) return std::nullopt;
  auto value = number(*line);
  // "No limit" is a huge number (PAGE_COUNTER_MAX pages), near 2^63.
  if (!value || *value <= 0 || *value >= (1LL << 62)) return std::nullopt;
  return static_cast<std::uint64_t>(*value);
}

std::optional<double> v1_cpus(const std::string& dir) {
  auto quota = first_line(dir + "/cpu.cfs_quota_us");
  auto period = first_line(dir + "/cpu.cfs_period_us");
  if (!quota || !period) return std::nullopt;
  auto q = number(*quota);
  auto p = number(*period);
  if (!q || !p || *q <= 0 || *p <= 0) return std::nullopt;  // -1: no quota
  return static_cast<double>(*q) / static_cast<double>(*p);
}

bool has_controller(const std::string& list, const std::string& name) {
  std::istringstream in(list);
  std::string item;
  while (std::getline(in, item, ',')) {
    if (item == name) return true;
  }
  return false;
}

}  // namespace

CgroupLimits read_cgroup_limits(const std::string& root, const std::string& self_cgroup) {
  CgroupLimits limits;
  std::ifstream file(self_cgroup);
  std::string line;
  while (std::getline(file, line)) {
    // hierarchy-id:controllers:path
    auto first = line.find(':');
    auto second = first == std::string::npos ? first : line.find(':', first + 1);
    if (second == std::string::npos) continue;
    std::string controllers = line.substr(first + 1, second - first - 1);
    std::string path = line.substr(second + 1);
    if (line.compare(0, first, "0") == 0 && controllers.empty()) {  // v2
      for (const auto& dir : dirs_up(root, path)) {
        tighten(limits.memory_bytes, v2_memory(dir));
        tighten(limits.cpus, v2_cpus(dir));
      }
      continue;
    }
    // v1: a container sees its own cgroup as the mount's root, so a path
    // that is not there falls back to the root.
    if (has_controller(controllers, "memory")) {
      for (const auto& dir : dirs_up(root + "/memory", path)) {
        tighten(limits.memory_bytes, v1_memory(dir));
      }
    }
    if (has_controller(controllers, "cpu")) {
      std::string cpu_root = root;
      cpu_root.append("/").append(controllers);
      for (const auto& dir : dirs_up(cpu_root, path)) {
        tighten(limits.cpus, v1_cpus(dir));
      }
      if (controllers != "cpu") {
        for (const auto& dir : dirs_up(root + "/cpu", path)) tighten(limits.cpus, v1_cpus(dir));
      }
    }
  }
  return limits;
}

int usable_cpus() {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (::sched_getaffinity(0, sizeof set, &set) == 0) return std::max(1, CPU_COUNT(&set));
  return static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
}

std::uint64_t physical_memory_bytes() {
  long pages = ::sysconf(_SC_PHYS_PAGES);
  long page_size = ::sysconf(_SC_PAGESIZE);
  if (pages <= 0 || page_size <= 0) return 0;
  return static_cast<std::uint64_t>(pages) * static_cast<std::uint64_t>(page_size);
}

}  // namespace common
