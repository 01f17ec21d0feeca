#pragma once
// What a stored measurement was taken on: CPU, cores, ISA, OS, DetSlim build; and the process's
// resident memory (VmRSS / VmHWM) for honest peak-memory figures.

#include <cstdint>
#include <string>

#include <nlohmann/json_fwd.hpp>

namespace detslim {

struct HostInfo {
  std::string cpu_model;    // "Intel(R) Xeon(R) Platinum 8488C"
  int logical_cores = 0;    // available to this process
  std::string isa;          // "avx2 fma avx512f ..." (what the kernels can use)
  std::string os;           // "Debian GNU/Linux 12 (bookworm)"
  std::string kernel;       // "Linux 6.1.0-18-cloud-amd64 x86_64"
  std::string detslim_version;
  std::string compiler;     // "GCC 12.2.0"
};

HostInfo hostInfo();
// {"cpu_model", "logical_cores", "cores_used", "isa", "os", "kernel", "detslim_version",
//  "compiler"}
nlohmann::json hostToJson(const HostInfo& host, int cores_used);

// This process's resident set now (VmRSS) and its high-water mark (VmHWM), in bytes, from
// /proc/self/status; -1 when unavailable.
int64_t currentRssBytes();
int64_t peakRssBytes();

}  // namespace detslim
