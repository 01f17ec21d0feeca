#include "core/base/cpu.h"

#include <cpuid.h>
#include <sched.h>

#include <cstring>
#include <fstream>
#include <string>

namespace detslim {

namespace {

bool osSavesAvx512State() {
  unsigned eax = 0, edx = 0;
  // XGETBV with ECX=0: XCR0 bits 5-7 (opmask, ZMM_Hi256, Hi16_ZMM) and 1-2 (SSE, AVX).
  __asm__ volatile("xgetbv" : "=a"(eax), "=d"(edx) : "c"(0));
  return (eax & 0xE6u) == 0xE6u;
}

bool osSavesAvxState() {
  unsigned eax = 0, edx = 0;
  __asm__ volatile("xgetbv" : "=a"(eax), "=d"(edx) : "c"(0));
  return (eax & 0x6u) == 0x6u;
}

CpuFeatures detect() {
  CpuFeatures f;
  unsigned eax, ebx, ecx, edx;
  if (!__get_cpuid(1, &eax, &ebx, &ecx, &edx)) return f;
  const bool osxsave = ecx & (1u << 27);
  f.sse42 = ecx & (1u << 20);
  const bool avx_os = osxsave && osSavesAvxState();
  f.avx = avx_os && (ecx & (1u << 28));
  f.fma = f.avx && (ecx & (1u << 12));
  f.f16c = f.avx && (ecx & (1u << 29));
  if (__get_cpuid_count(7, 0, &eax, &ebx, &ecx, &edx)) {
    f.avx2 = f.avx && (ebx & (1u << 5));
    const bool zmm_os = osxsave && osSavesAvx512State();
    f.avx512f = zmm_os && (ebx & (1u << 16));
    f.avx512dq = f.avx512f && (ebx & (1u << 17));
    f.avx512bw = f.avx512f && (ebx & (1u << 30));
    f.avx512vl = f.avx512f && (ebx & (1u << 31));
    f.avx512_vnni = f.avx512f && (ecx & (1u << 11));
    f.avx512_vbmi = f.avx512f && (ecx & (1u << 1));
    f.avx512_fp16 = f.avx512f && (edx & (1u << 23));
    f.amx = edx & (1u << 24);
    unsigned a1, b1, c1, d1;
    if (__get_cpuid_count(7, 1, &a1, &b1, &c1, &d1)) f.avx512_bf16 = f.avx512f && (a1 & (1u << 5));
  }
  return f;
}

}  // namespace

const CpuFeatures& CpuFeatures::host() {
  static const CpuFeatures kHost = detect();
  return kHost;
}

std::string CpuFeatures::toString() const {
  std::string s;
  auto add = [&](bool on, const char* name) {
    if (!on) return;
    if (!s.empty()) s += ' ';
    s += name;
  };
  add(sse42, "sse4.2");
  add(avx, "avx");
  add(avx2, "avx2");
  add(fma, "fma");
  add(f16c, "f16c");
  add(avx512f, "avx512f");
  add(avx512bw, "avx512bw");
  add(avx512vl, "avx512vl");
  add(avx512dq, "avx512dq");
  add(avx512_vnni, "avx512_vnni");
  add(avx512_vbmi, "avx512_vbmi");
  add(avx512_bf16, "avx512_bf16");
  add(avx512_fp16, "avx512_fp16");
  add(amx, "amx");
  return s.empty() ? "baseline" : s;
}

std::string cpuModelName() {
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("model name", 0) == 0) {
      const size_t colon = line.find(':');
      if (colon != std::string::npos) return line.substr(line.find_first_not_of(' ', colon + 1));
    }
  }
  unsigned regs[12] = {};
  for (unsigned i = 0; i < 3; ++i) __get_cpuid(0x80000002u + i, &regs[4 * i], &regs[4 * i + 1], &regs[4 * i + 2], &regs[4 * i + 3]);
  char brand[49] = {};
  std::memcpy(brand, regs, 48);
  return brand;
}

int availableCores() {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof set, &set) == 0) return CPU_COUNT(&set);
  return 1;
}

}  // namespace detslim
