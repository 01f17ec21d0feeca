// MemoryPlanner: values alive at the same time never share bytes; dead ones are reused; views and
// in-place kernels share their input's bytes only when that is safe.

#include <gtest/gtest.h>

#include "core/engine/memory_plan.h"

namespace detslim {
namespace {

bool overlapBytes(size_t a, size_t a_bytes, size_t b, size_t b_bytes) {
  return a < b + b_bytes && b < a + a_bytes;
}

TEST(MemoryPlanner, ChainReusesDeadBuffers) {
  // v0 -> v1 -> v2 -> v3, each read only by the next step: two buffers suffice.
  MemoryPlanner p(4);
  for (int i = 0; i < 4; ++i) {
    p.define(i, i, 1000);
    if (i + 1 < 4) p.use(i, i + 1);
  }
  const auto r = p.solve(true);
  EXPECT_EQ(r.arena_bytes_without_reuse, 4u * 1024u);  // 1000 rounded up to 64-byte lines
  EXPECT_EQ(r.arena_bytes, 2u * 1024u);
  for (int i = 0; i + 1 < 4; ++i) {
    EXPECT_FALSE(overlapBytes(r.offsets[i], 1024, r.offsets[i + 1], 1024)) << i;
  }
}

TEST(MemoryPlanner, LiveValuesNeverOverlap) {
  // A skip connection: v0 is read at step 3, so it must not share with v1 or v2.
  MemoryPlanner p(4);
  p.define(0, 0, 4096);
  p.define(1, 1, 2048);
  p.use(0, 1);
  p.define(2, 2, 2048);
  p.use(1, 2);
  p.define(3, 3, 4096);
  p.use(2, 3);
  p.use(0, 3);
  const auto r = p.solve(true);
  EXPECT_FALSE(overlapBytes(r.offsets[0], 4096, r.offsets[1], 2048));
  EXPECT_FALSE(overlapBytes(r.offsets[0], 4096, r.offsets[2], 2048));
  EXPECT_FALSE(overlapBytes(r.offsets[0], 4096, r.offsets[3], 4096));
  EXPECT_FALSE(overlapBytes(r.offsets[2], 2048, r.offsets[3], 4096));
  EXPECT_LT(r.arena_bytes, r.arena_bytes_without_reuse);
}

TEST(MemoryPlanner, WithoutReuseEveryValueHasItsOwnBytes) {
  MemoryPlanner p(3);
  for (int i = 0; i < 3; ++i) p.define(i, i, 64);
  const auto r = p.solve(false);
  EXPECT_EQ(r.arena_bytes, 192u);
  EXPECT_EQ(r.offsets[0], 0u);
  EXPECT_EQ(r.offsets[1], 64u);
  EXPECT_EQ(r.offsets[2], 128u);
}

TEST(MemoryPlanner, ViewSharesAndExtendsLifetime) {
  // v1 is a view of v0 read at step 5: v0's bytes must stay reserved until then.
  MemoryPlanner p(3);
  p.define(0, 0, 256);
  p.define(1, 1, 256);
  p.use(0, 1);
  p.use(1, 5);
  p.define(2, 2, 256);
  p.aliasView(1, 0);
  EXPECT_EQ(p.root(1), 0);
  const auto r = p.solve(true);
  EXPECT_FALSE(overlapBytes(r.offsets[0], 256, r.offsets[2], 256));
}

TEST(MemoryPlanner, InPlaceOnlyWhenTheInputDies) {
  MemoryPlanner p(4);
  p.define(0, 0, 128);
  p.define(1, 1, 128);
  p.use(0, 1);
  p.use(0, 2);  // v0 is still read after step 1
  p.define(2, 2, 128);
  p.use(1, 2);
  EXPECT_FALSE(p.tryAliasInPlace(1, 0, 1));
  EXPECT_TRUE(p.tryAliasInPlace(2, 1, 2));
  EXPECT_EQ(p.root(2), 1);
  p.markExternal(3);
  p.define(3, 3, 128);
  EXPECT_FALSE(p.tryAliasInPlace(0, 3, 3)) << "external (graph input) bytes are never overwritten";
}

}  // namespace
}  // namespace detslim
