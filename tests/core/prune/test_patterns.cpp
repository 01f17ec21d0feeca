// Zero maps and 3x3 kernel pattern histograms (core/prune/patterns.h) on weights whose answer is
// counted by hand, and on a model R-TOSS pruned: every 3x3 kernel then uses one of its patterns.

#include <bit>
#include <set>

#include <gtest/gtest.h>

#include "core/prune/patterns.h"
#include "core/prune/prune.h"
#include "core/prune/rtoss.h"
#include "prune_test_util.h"

namespace detslim::prune {
namespace {

Tensor filled(Shape shape, const std::vector<float>& values) {
  return Tensor::fromVector(DType::kFloat32, std::move(shape), values);
}

TEST(LayerWeightMap, CountsZerosRowsAndInputChannels) {
  // 3 output channels x 2 input channels x 1 x 2: row 1 entirely zero, input slot 1 zero in
  // every filter, -0.0 counts as zero.
  const Tensor w = filled({3, 2, 1, 2}, {1, 2, 0, 0,      //
                                         0, -0.0f, 0, 0,  //
                                         0, 3, 0, 0});
  Result<LayerWeightMap> map = layerWeightMap(w);
  ASSERT_TRUE(map.isOk()) << map.status().message();
  EXPECT_EQ(map->rows, 3);
  EXPECT_EQ(map->cols, 4);
  EXPECT_EQ(map->kernel_cells, 2);
  EXPECT_EQ(map->total, 12);
  EXPECT_EQ(map->zeros, 9);
  EXPECT_EQ(map->zeros, w.countZeros());
  EXPECT_DOUBLE_EQ(map->sparsity, 0.75);
  EXPECT_EQ(map->zero_rows, 1);
  EXPECT_EQ(map->zero_input_channels, 1);
  EXPECT_EQ(map->zero_kernels, 4);  // row 1's two kernels and slot 1 of rows 0 and 2
  const std::vector<uint8_t> expected{1, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0};
  EXPECT_EQ(map->nonzero, expected);
}

TEST(LayerWeightMap, ReadsHalfPrecisionAsCountZerosDoes) {
  Tensor w(DType::kFloat16, {2, 1, 3, 3});
  w.mutableData<uint16_t>()[4] = 0x3c00;  // 1.0
  w.mutableData<uint16_t>()[9] = 0x8000;  // -0.0
  Result<LayerWeightMap> map = layerWeightMap(w);
  ASSERT_TRUE(map.isOk());
  EXPECT_EQ(map->zeros, 17);
  EXPECT_EQ(map->zeros, w.countZeros());
  EXPECT_EQ(map->zero_rows, 1);
}

TEST(LayerWeightMap, RefusesWhatHasNoRows) {
  EXPECT_FALSE(layerWeightMap(Tensor(DType::kFloat32, {7})).isOk());
  EXPECT_FALSE(layerWeightMap(Tensor()).isOk());
  const Result<LayerWeightMap> r = layerWeightMap(Tensor(DType::kFloat32, {5}));
  EXPECT_NE(r.status().message().find("[5]"), std::string::npos) << r.status().message();
}

TEST(KernelPatterns, HistogramCountsMasksMostFrequentFirst) {
  // 4 kernels: two keep the top-left pair (bits 0, 1), one the centre column (1, 4, 7), one none.
  std::vector<float> v(4 * 9, 0.0f);
  for (int k : {0, 1}) v[static_cast<size_t>(k * 9 + 0)] = v[static_cast<size_t>(k * 9 + 1)] = 1;
  v[2 * 9 + 1] = v[2 * 9 + 4] = v[2 * 9 + 7] = -2;
  Result<std::vector<PatternCount>> h = kernelPatternHistogram(filled({2, 2, 3, 3}, v));
  ASSERT_TRUE(h.isOk()) << h.status().message();
  ASSERT_EQ(h->size(), 3u);
  EXPECT_EQ((*h)[0].mask, 0b000000011);
  EXPECT_EQ((*h)[0].count, 2);
  // Ties keep ascending masks: the empty kernel (0) before the column (0b010010010).
  EXPECT_EQ((*h)[1].mask, 0);
  EXPECT_EQ((*h)[1].count, 1);
  EXPECT_EQ((*h)[2].mask, 0b010010010);
  EXPECT_EQ(patternGlyph((*h)[0].mask), "##./.../...");
  EXPECT_EQ(patternGlyph((*h)[2].mask), ".#./.#./.#.");
}

TEST(KernelPatterns, RefusesNon3x3) {
  const Result<std::vector<PatternCount>> r =
      kernelPatternHistogram(Tensor(DType::kFloat32, {4, 4, 1, 1}));
  ASSERT_FALSE(r.isOk());
  EXPECT_NE(r.status().message().find("[4, 4, 1, 1]"), std::string::npos) << r.status().message();
}

TEST(KernelPatterns, RtossPrunedLayerUsesOnlyItsPatterns) {
  Model m = testing::twoConvSilu(4, 8, 6, 3, 21);
  const Tensor before = *m.graph.initializer("w1");
  Result<std::vector<PatternCount>> dense = kernelPatternHistogram(before);
  ASSERT_TRUE(dense.isOk());
  ASSERT_EQ(dense->size(), 1u);  // random weights have no zeros: all nine cells everywhere
  EXPECT_EQ((*dense)[0].mask, 0x1ff);
  EXPECT_EQ((*dense)[0].count, 32);

  PruneOptions o;
  o.method = "rtoss";
  o.opts = {{"entries", "2"}};
  o.protect_detect_head = false;
  ASSERT_TRUE(pruneModel(m, o).isOk());
  Result<std::vector<PatternCount>> h = kernelPatternHistogram(*m.graph.initializer("w1"));
  ASSERT_TRUE(h.isOk());
  const std::vector<uint16_t> allowed = rtossPatterns(2);
  const std::set<uint16_t> allowed_set(allowed.begin(), allowed.end());
  int64_t kernels = 0;
  for (const PatternCount& p : *h) {
    EXPECT_TRUE(allowed_set.count(p.mask)) << patternGlyph(p.mask);
    EXPECT_EQ(std::popcount(p.mask), 2);
    kernels += p.count;
  }
  EXPECT_EQ(kernels, 8 * 4);
  EXPECT_LE(h->size(), allowed.size());
  Result<LayerWeightMap> map = layerWeightMap(*m.graph.initializer("w1"));
  ASSERT_TRUE(map.isOk());
  EXPECT_EQ(map->zeros, 32 * 7);
}

TEST(ConvWeightLayers, FindsConvsByLayerName) {
  Model m = testing::twoConvSilu(3, 4, 2, 3, 5);
  m.graph.nodes[1].name = "act";
  const std::vector<ConvWeightLayer> layers = convWeightLayers(m.graph);
  ASSERT_EQ(layers.size(), 2u);
  EXPECT_EQ(layers[0].name, "conv1");
  EXPECT_EQ(layers[0].weight, "w1");
  EXPECT_EQ(layers[1].tensor->shape(), (Shape{2, 4, 3, 3}));
  Result<ConvWeightLayer> found = findConvWeightLayer(m.graph, "conv2");
  ASSERT_TRUE(found.isOk());
  EXPECT_EQ(found->weight, "w2");
  const Result<ConvWeightLayer> sigmoid = findConvWeightLayer(m.graph, "act");
  EXPECT_EQ(sigmoid.status().code(), ErrorCode::kInvalidArgument);
  const Result<ConvWeightLayer> missing = findConvWeightLayer(m.graph, "nope");
  EXPECT_EQ(missing.status().code(), ErrorCode::kNotFound);
  EXPECT_NE(missing.status().message().find("'nope'"), std::string::npos);
}

}  // namespace
}  // namespace detslim::prune
