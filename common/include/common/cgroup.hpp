// The memory and CPUs the process's cgroup allows (v2, or v1's memory and
// cpu controllers), for defaults that must fit a container's limits rather
// than the host's.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace common {

struct CgroupLimits {
  std::optional<std::uint64_t> memory_bytes;  // nullopt: no limit
  std::optional<double> cpus;                 // the CPU quota; nullopt: none
};

// The tightest limits on the way from the process's cgroup (as listed in
// `self_cgroup`, normally /proc/self/cgroup) up to the hierarchy's root
// under `root` (normally /sys/fs/cgroup). Files that are not there count as
// no limit.
CgroupLimits read_cgroup_limits(const std::string& root = "/sys/fs/cgroup",
                                const std::string& self_cgroup = "/proc/self/cgroup");

// The CPUs this process may run on (its affinity mask), at least 1.
int usable_cpus();

// The machine's memory in bytes (0 when unknown).
std::uint64_t physical_memory_bytes();

}  // namespace common
