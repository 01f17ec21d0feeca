#include "core/perf/host.h"

#include <sys/utsname.h>

#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "core/base/cpu.h"
#include "core/base/version.h"

namespace detslim {

namespace {

std::string osPrettyName() {
  std::ifstream in("/etc/os-release");
  std::string line;
  constexpr std::string_view kKey = "PRETTY_NAME=";
  while (std::getline(in, line)) {
    if (line.rfind(kKey, 0) != 0) continue;
    std::string value = line.substr(kKey.size());
    if (value.size() >= 2 && value.front() == '"' && value.back() == '"') {
      value = value.substr(1, value.size() - 2);
    }
    return value;
  }
  return "unknown";
}

// "VmHWM:    123456 kB" -> bytes
int64_t statusField(std::string_view key) {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(key, 0) != 0 || line.size() <= key.size() || line[key.size()] != ':') continue;
    std::istringstream fields(line.substr(key.size() + 1));
    int64_t kib = -1;
    fields >> kib;
    constexpr int64_t kKiB = 1024;
    return kib < 0 ? -1 : kib * kKiB;
  }
  return -1;
}

}  // namespace

HostInfo hostInfo() {
  HostInfo h;
  h.cpu_model = cpuModelName();
  h.logical_cores = availableCores();
  h.isa = CpuFeatures::host().toString();
  h.os = osPrettyName();
  utsname u{};
  if (::uname(&u) == 0) h.kernel = std::string(u.sysname) + " " + u.release + " " + u.machine;
  h.detslim_version = kVersion;
#if defined(__clang__)
  h.compiler = "Clang " __clang_version__;
#elif defined(__GNUC__)
  h.compiler = "GCC " + std::to_string(__GNUC__) + "." + std::to_string(__GNUC_MINOR__) + "." +
               std::to_string(__GNUC_PATCHLEVEL__);
#endif
  return h;
}

nlohmann::json hostToJson(const HostInfo& h, int cores_used) {
  return {{"cpu_model", h.cpu_model}, {"logical_cores", h.logical_cores},
          {"cores_used", cores_used}, {"isa", h.isa},
          {"os", h.os},               {"kernel", h.kernel},
          {"detslim_version", h.detslim_version}, {"compiler", h.compiler}};
}

int64_t currentRssBytes() { return statusField("VmRSS"); }
int64_t peakRssBytes() { return statusField("VmHWM"); }

}  // namespace detslim
