// Options, ignore lists, Detect-head protection and the report: the parts every method shares.

#include <gtest/gtest.h>

#include "core/graph/builder.h"
#include "core/prune/ignore.h"
#include "core/prune/prune.h"
#include "prune_test_util.h"

namespace detslim::prune {
namespace {

using testing::randomWeights;
using testing::twoConvSilu;

PruneOptions withMethod(const std::string& method, double sparsity = 0.5) {
  PruneOptions o;
  o.method = method;
  o.sparsity = sparsity;
  return o;
}

TEST(PruneOptions, MethodNamesInOrder) {
  EXPECT_EQ(methodNames(), (std::vector<std::string>{"magnitude", "soft-channel", "group",
                                                     "bn-slim", "rtoss", "nm"}));
}

TEST(PruneOptions, RefusesBadInputNamingIt) {
  EXPECT_TRUE(validateOptions(withMethod("magnitude", 0.0)).isOk());
  EXPECT_TRUE(validateOptions(withMethod("magnitude", 0.99)).isOk());
  for (double bad : {-0.1, 0.995, 1.0, 2.0}) {
    const Status s = validateOptions(withMethod("magnitude", bad));
    EXPECT_EQ(s.code(), ErrorCode::kInvalidArgument) << bad;
    EXPECT_NE(s.message().find("sparsity"), std::string::npos) << s.message();
  }
  const Status unknown = validateOptions(withMethod("prune-everything"));
  EXPECT_NE(unknown.message().find("prune-everything"), std::string::npos);

  PruneOptions o = withMethod("magnitude");
  o.opts["scpoe"] = "global";
  const Status key = validateOptions(o);
  EXPECT_NE(key.message().find("scpoe"), std::string::npos) << key.message();
  EXPECT_NE(key.message().find("scope"), std::string::npos)
      << key.message();  // names the known ones

  o.opts = {{"scope", "everywhere"}};
  EXPECT_FALSE(validateOptions(o).isOk());

  for (const char* entries : {"1", "6", "two"}) {
    PruneOptions r = withMethod("rtoss");
    r.opts["entries"] = entries;
    const Status s = validateOptions(r);
    EXPECT_FALSE(s.isOk()) << entries;
    EXPECT_NE(s.message().find("entries"), std::string::npos);
  }
  for (const char* entries : {"2", "3", "4", "5"}) {
    PruneOptions r = withMethod("rtoss");
    r.opts["entries"] = entries;
    EXPECT_TRUE(validateOptions(r).isOk()) << entries;
  }
  PruneOptions nm = withMethod("nm");
  nm.opts = {{"n", "4"}, {"m", "4"}};
  EXPECT_FALSE(validateOptions(nm).isOk());
  nm.opts = {{"n", "1"}, {"m", "8"}};
  EXPECT_TRUE(validateOptions(nm).isOk());
  PruneOptions conn = withMethod("rtoss");
  conn.opts = {{"connectivity", "0.5"}};
  EXPECT_FALSE(validateOptions(conn).isOk());  // only with pattern=patdnn
  conn.opts["pattern"] = "patdnn";
  EXPECT_TRUE(validateOptions(conn).isOk());
}

TEST(PruneOptions, StructuralMethodsGoToStructuralH) {
  Model m = twoConvSilu(4, 8, 6, 3, 1);
  for (const char* method : {"group", "bn-slim"}) {
    Model copy = m;
    Result<PruneReport> r = pruneModel(copy, withMethod(method));
    // Dispatched to pruneStructural: it prunes this graph physically.
    ASSERT_TRUE(r.isOk()) << method << ": " << r.status().message();
    EXPECT_EQ(r->method, method);
    EXPECT_LT(r->params_after, r->params_before) << method;
  }
}

TEST(Ignore, DetectHeadIsTheLastConvBeforeAnOutput) {
  // conv1 -> SiLU -> conv2 -> y: conv2 alone reaches the output without another conv.
  Model m = twoConvSilu(3, 4, 5, 3, 2);
  EXPECT_EQ(detectHeadConvs(m.graph), std::vector<size_t>{3});
  // A second output read straight from conv1 makes conv1 a head too.
  m.graph.outputs.push_back(ValueInfo{"a", {}, {}, {}});
  EXPECT_EQ(detectHeadConvs(m.graph), (std::vector<size_t>{0, 3}));
}

TEST(Ignore, PatternsByNameRegexAndOpType) {
  const Model m = twoConvSilu(3, 4, 5, 3, 3);
  Result<IgnoreSet> exact = resolveIgnores(m.graph, {"conv1"}, false);
  ASSERT_TRUE(exact.isOk());
  EXPECT_EQ(exact->reasons.size(), 1u);
  EXPECT_TRUE(exact->contains(0));
  Result<IgnoreSet> regex = resolveIgnores(m.graph, {"^conv[0-9]$"}, false);
  ASSERT_TRUE(regex.isOk());
  EXPECT_TRUE(regex->contains(0) && regex->contains(3));
  Result<IgnoreSet> op = resolveIgnores(m.graph, {"op:Sigmoid"}, false);
  ASSERT_TRUE(op.isOk());
  EXPECT_TRUE(op->contains(1));
  EXPECT_TRUE(op->warnings.empty());
  Result<IgnoreSet> none = resolveIgnores(m.graph, {"backbone.99"}, true);
  ASSERT_TRUE(none.isOk());
  ASSERT_EQ(none->warnings.size(), 1u);
  EXPECT_NE(none->warnings[0].find("backbone.99"), std::string::npos);
  EXPECT_TRUE(none->contains(3));  // the head, protected by default
  EXPECT_NE(none->describe(m.graph).at(0).find("conv2: Detect head"), std::string::npos);
  Result<IgnoreSet> bad = resolveIgnores(m.graph, {"conv[1"}, false);
  ASSERT_FALSE(bad.isOk());
  EXPECT_NE(bad.status().message().find("conv[1"), std::string::npos);
}

TEST(PruneReport, IgnorePatternMatchingNothingIsAWarning) {
  Model m = twoConvSilu(4, 8, 6, 3, 4);
  PruneOptions o = withMethod("magnitude");
  o.ignore = {"no_such_layer"};
  Result<PruneReport> r = pruneModel(m, o);
  ASSERT_TRUE(r.isOk()) << r.status().message();
  bool warned = false;
  for (const std::string& w : r->warnings) warned |= w.find("no_such_layer") != std::string::npos;
  EXPECT_TRUE(warned);
}

TEST(PruneReport, EverythingIgnoredIsAnErrorThatSaysWhy) {
  Model m = twoConvSilu(4, 8, 6, 3, 5);
  for (const char* method : {"magnitude", "soft-channel", "rtoss", "nm"}) {
    PruneOptions o = withMethod(method);
    o.ignore = {"op:Conv"};
    Result<PruneReport> r = pruneModel(m, o);
    ASSERT_FALSE(r.isOk()) << method;
    EXPECT_EQ(r.status().code(), ErrorCode::kInvalidArgument);
    EXPECT_NE(r.status().message().find("nothing to prune"), std::string::npos)
        << r.status().message();
  }
}

TEST(PruneReport, CountsAndEffectiveMacs) {
  Model m = twoConvSilu(4, 8, 6, 3, 6);
  const Model original = m;
  PruneOptions o = withMethod("magnitude", 0.5);
  o.protect_detect_head = false;
  Result<PruneReport> r = pruneModel(m, o);
  ASSERT_TRUE(r.isOk()) << r.status().message();
  // Params: 8*4*9 + 8 + 6*8*9 + 6 = 288 + 8 + 432 + 6.
  EXPECT_EQ(r->params_before, 734);
  EXPECT_EQ(r->params_after, 734);
  EXPECT_EQ(r->nonzero_params_before, 734);
  EXPECT_EQ(r->nonzero_params_after, 734 - 144 - 216);  // half of each weight, biases kept
  EXPECT_DOUBLE_EQ(r->compression_ratio, 734.0 / (734 - 360));
  // MACs at 8x8 with same padding: 64 * (8*4*9 + 6*8*9).
  EXPECT_EQ(r->macs_before, 64 * (288 + 432));
  EXPECT_EQ(r->macs_after, r->macs_before);
  EXPECT_EQ(r->effective_macs_before, r->macs_before);
  EXPECT_EQ(r->effective_macs_after, r->macs_before / 2);
  ASSERT_EQ(r->layers.size(), 2u);
  const LayerPruneReport& l = r->layers[0];
  EXPECT_EQ(l.name, "conv1");
  EXPECT_EQ(l.weight_shape_before, (std::vector<int64_t>{8, 4, 3, 3}));
  EXPECT_EQ(l.weight_shape_after, l.weight_shape_before);
  EXPECT_EQ(l.nonzero_before, 296);
  EXPECT_EQ(l.nonzero_after, 296 - 144);
  EXPECT_DOUBLE_EQ(l.sparsity_after, 0.5);
  EXPECT_TRUE(l.pruned);
  EXPECT_FALSE(l.note.empty());

  const nlohmann::json j = reportToJson(*r);
  for (const char* key : {"method", "sparsity", "options", "params", "nonzero_params", "macs",
                          "effective_macs", "compression_ratio", "layers", "warnings", "ignored"}) {
    EXPECT_TRUE(j.contains(key)) << key;
  }
  EXPECT_EQ(j["params"]["before"], 734);
  EXPECT_EQ(j["nonzero_params"]["after"], 374);
  EXPECT_EQ(j["layers"][0]["weight_shape"]["after"], nlohmann::json::array({8, 4, 3, 3}));
  EXPECT_EQ(j["options"]["opts"]["scope"], "local");
}

TEST(PruneReport, DryRunLeavesTheModelAlone) {
  Model m = twoConvSilu(4, 8, 6, 3, 7);
  const Model original = m;
  PruneOptions o = withMethod("magnitude", 0.7);
  o.dry_run = true;
  Result<PruneReport> r = pruneModel(m, o);
  ASSERT_TRUE(r.isOk());
  EXPECT_LT(r->nonzero_params_after, r->nonzero_params_before);
  for (const NamedTensor& init : original.graph.initializers()) {
    EXPECT_TRUE(m.graph.initializer(init.name)->bitwiseEqual(init.tensor)) << init.name;
  }
}

TEST(PruneReport, PruningNeverWritesIntoSharedStorage) {
  // Graph copies share tensor storage; the copy kept by the caller must not change.
  Model m = twoConvSilu(4, 8, 6, 3, 8);
  const Model before = m;
  const Tensor w1_before = before.graph.initializer("w1")->clone();
  ASSERT_TRUE(pruneModel(m, withMethod("magnitude", 0.5)).isOk());
  EXPECT_TRUE(before.graph.initializer("w1")->bitwiseEqual(w1_before));
  EXPECT_FALSE(m.graph.initializer("w1")->bitwiseEqual(w1_before));
}

TEST(PruneReport, DetectHeadIsLeftAloneByDefault) {
  Model m = twoConvSilu(4, 8, 6, 3, 9);
  const Tensor w2 = m.graph.initializer("w2")->clone();
  Result<PruneReport> r = pruneModel(m, withMethod("magnitude", 0.5));
  ASSERT_TRUE(r.isOk());
  EXPECT_TRUE(m.graph.initializer("w2")->bitwiseEqual(w2));
  ASSERT_EQ(r->ignored.size(), 1u);
  EXPECT_NE(r->ignored[0].find("conv2"), std::string::npos);
  EXPECT_FALSE(r->layers[1].pruned);
  EXPECT_NE(r->layers[1].note.find("Detect head"), std::string::npos);
}

}  // namespace
}  // namespace detslim::prune
