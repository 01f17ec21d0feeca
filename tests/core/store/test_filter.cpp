// The `--filter` language: compiled SQL keeps values out of the SQL text, bad input is refused
// naming the token and its column, and on a known set of runs every field selects exactly the
// runs it should.

#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "core/store/filter.h"
#include "core/store/store.h"
#include "store_test_util.h"

namespace detslim::store {
namespace {

using nlohmann::json;
using testing::TempDir;

void expectRefused(const std::string& expr, const std::string& fragment) {
  Result<SqlFilter> filter = compileFilter(expr);
  ASSERT_FALSE(filter.isOk()) << expr << " compiled to: " << filter->where;
  EXPECT_EQ(filter.status().code(), ErrorCode::kInvalidArgument);
  EXPECT_NE(filter.status().message().find(fragment), std::string::npos)
      << "'" << fragment << "' not in: " << filter.status().message();
}

TEST(StoreFilterSyntax, RefusesBadInputNamingTokenAndColumn) {
  expectRefused("mapp > 0.3", "filter: unknown field 'mapp' at column 1; fields: id, model, ");
  expectRefused("map > 0.3 and lat < 5", "unknown field 'lat' at column 15");
  expectRefused("map >", "expected a value after '>' at column 6, got the end of the filter");
  expectRefused("map 0.3", "expected an operator (== != < <= > >= ~) after 'map' at column 5");
  expectRefused("map > abc", "field 'map' needs a number, got 'abc' at column 7");
  expectRefused("map ~ 3", "'~' needs a text field; 'map' is a number at column 5");
  expectRefused("(map > 0.3", "missing ')' for the '(' at column 1");
  expectRefused("map > 0.3)", "unexpected ')' at column 10");
  expectRefused("model == \"abc", "unterminated string starting at column 10");
  expectRefused("map > 0.3 and", "expected a field name at column 14, got the end of the filter");
  expectRefused("map ! 3", "unexpected '!' at column 5");
  expectRefused("map > 0.3 map > 0.2", "unexpected 'map' at column 11");
  expectRefused("()", "expected a field name at column 2, got ')'");
  expectRefused(std::string(100, '(') + "id == 1" + std::string(100, ')'), "nested deeper than 64");
}

TEST(StoreFilterSyntax, ValuesAreBoundNeverInterpolated) {
  Result<SqlFilter> filter = compileFilter("model == \"x' OR 1=1 --\" or map >= 0.5");
  ASSERT_TRUE(filter.isOk()) << filter.status().message();
  EXPECT_EQ(filter->where.find("1=1"), std::string::npos) << filter->where;
  ASSERT_EQ(filter->params.size(), 2u);
  EXPECT_EQ(std::get<std::string>(filter->params[0]), "x' OR 1=1 --");
  EXPECT_EQ(std::get<double>(filter->params[1]), 0.5);
}

TEST(StoreFilterSyntax, EmptyMatchesEverything) {
  Result<SqlFilter> filter = compileFilter("  ");
  ASSERT_TRUE(filter.isOk());
  EXPECT_TRUE(filter->where.empty());
  EXPECT_TRUE(filter->params.empty());
}

struct Spec {
  std::string model, dataset, format, method;
  double sparsity;
  std::string precision, status;
  std::optional<double> map;  // also sets ap50 = map + 0.2, ap75 = map + 0.05
  std::optional<double> latency_median, latency_p99, throughput_b1;
  json threads, batch, size;
  std::string started;
};

RunRecord makeRun(const Spec& spec) {
  RunRecord run;
  run.model = {sha256Hex(spec.model), "/m/" + spec.model + ".onnx", spec.model};
  run.dataset = {spec.dataset, spec.format, spec.dataset.empty() ? 0 : 500, 0, ""};
  run.config = {{"threads", spec.threads},
                {"batch", spec.batch},
                {"input_size", spec.size},
                {"started", spec.started}};
  run.prune_method = spec.method;
  run.sparsity = spec.sparsity;
  run.precision = spec.precision;
  run.status = spec.status;
  if (spec.status == kStatusFailed) run.error = "boom";
  run.started_at = spec.started;
  run.finished_at = spec.started;
  if (spec.map) {
    run.has_metrics = true;
    run.stats[0] = *spec.map;
    run.stats[1] = *spec.map + 0.2;
    run.stats[2] = *spec.map + 0.05;
  }
  if (spec.latency_median) {
    LatencyRecord inference;
    inference.kind = kLatencyInference;
    inference.summary.median_ms = *spec.latency_median;
    inference.summary.p99_ms = *spec.latency_p99;
    // An end-to-end record with other numbers: the fields must read the inference one.
    LatencyRecord end_to_end = inference;
    end_to_end.kind = kLatencyEndToEnd;
    end_to_end.summary.median_ms = 1000;
    end_to_end.summary.p99_ms = 1000;
    run.latency = {end_to_end, inference};
  }
  if (spec.throughput_b1) run.throughput = {{8, 9999}, {1, *spec.throughput_b1}};
  return run;
}

class StoreFilter : public ::testing::Test {
 protected:
  void SetUp() override {
    Result<Store> opened = Store::open(dir_ / "results.sqlite");
    ASSERT_TRUE(opened.isOk()) << opened.status().message();
    store_.emplace(std::move(opened).value());
    const std::vector<Spec> specs = {
        {"yolov8n",
         "/data/coco",
         "coco",
         "none",
         0,
         "fp32",
         "ok",
         0.37,
         12.0,
         15.0,
         80.0,
         4,
         1,
         {640, 640},
         "2024-05-01T10:00:00Z"},
        {"yolov8n", "/data/coco", "coco", "l1", 0.5, "int8", "ok", 0.33, 8.0, 9.0, 120.0, 8, 1, 640,
         "2024-05-02T10:00:00Z"},
        {"yolov5s", "/data/VOC2012", "voc", "l1", 0.3, "fp32", "ok", 0.36, 10.0, 30.0, 90.0, 4, 8,
         320, "2024-06-01T00:00:00Z"},
        {"yolov5s", "", "", "slim", 0.7, "fp16", "failed", std::nullopt, std::nullopt, std::nullopt,
         std::nullopt, 16, 1, 640, "2024-06-15T08:30:00.500Z"},
        {"NanoDet-Plus m",
         "/data/coco",
         "coco",
         "none",
         0,
         "fp32",
         "ok",
         0.27,
         5.0,
         6.0,
         200.0,
         2,
         1,
         {416, 416},
         "2024-07-01T00:00:00Z"},
    };
    for (const Spec& spec : specs) {
      Result<int64_t> id = store_->insertRun(makeRun(spec));
      ASSERT_TRUE(id.isOk()) << id.status().message();
    }
  }

  std::vector<int64_t> ids(const std::string& filter) {
    Result<std::vector<RunRecord>> runs = store_->listRuns(filter);
    EXPECT_TRUE(runs.isOk()) << filter << ": " << runs.status().message();
    std::vector<int64_t> out;
    if (runs.isOk()) {
      for (const RunRecord& run : *runs) out.push_back(run.id);
    }
    return out;
  }

  TempDir dir_;
  std::optional<Store> store_;
};

using Ids = std::vector<int64_t>;

TEST_F(StoreFilter, EachFieldSelectsTheRightRuns) {
  EXPECT_EQ(ids(""), Ids({1, 2, 3, 4, 5}));
  EXPECT_EQ(ids("id > 3"), Ids({4, 5}));
  EXPECT_EQ(ids("model == yolov8n"), Ids({1, 2}));
  EXPECT_EQ(ids("model == \"NanoDet-Plus m\""), Ids({5}));
  EXPECT_EQ(ids("model ~ YOLO"), Ids({1, 2, 3, 4}));
  EXPECT_EQ(ids("dataset ~ voc"), Ids({3}));
  EXPECT_EQ(ids("format == coco"), Ids({1, 2, 5}));
  EXPECT_EQ(ids("method == l1"), Ids({2, 3}));
  EXPECT_EQ(ids("sparsity >= 0.3 and sparsity < 0.6"), Ids({2, 3}));
  EXPECT_EQ(ids("precision != fp32"), Ids({2, 4}));
  EXPECT_EQ(ids("status == failed"), Ids({4}));
  EXPECT_EQ(ids("map > 0.35"), Ids({1, 3}));
  EXPECT_EQ(ids("map50 > 0.55"), Ids({1, 3}));
  EXPECT_EQ(ids("ap75 < 0.4"), Ids({2, 5}));
  EXPECT_EQ(ids("latency < 10"), Ids({2, 5}));
  EXPECT_EQ(ids("latency <= 10"), Ids({2, 3, 5}));
  EXPECT_EQ(ids("p99 > 20"), Ids({3}));
  EXPECT_EQ(ids("throughput >= 120"), Ids({2, 5}));
  EXPECT_EQ(ids("threads == 4"), Ids({1, 3}));
  EXPECT_EQ(ids("batch == 8"), Ids({3}));
  EXPECT_EQ(ids("size == 640"), Ids({1, 2, 4}));
  EXPECT_EQ(ids("size < 640"), Ids({3, 5}));
  EXPECT_EQ(ids("started >= 2024-06-01"), Ids({3, 4, 5}));
  EXPECT_EQ(ids("started < '2024-05-02'"), Ids({1}));
}

TEST_F(StoreFilter, HashFieldFindsTheRun) {
  Result<RunRecord> run = store_->getRun(3);
  ASSERT_TRUE(run.isOk());
  EXPECT_EQ(ids("hash == " + run->config_hash), Ids({3}));
}

TEST_F(StoreFilter, AndBindsTighterThanOrAndParenthesesOverride) {
  EXPECT_EQ(ids("method == none or method == l1 and precision == int8"), Ids({1, 2, 5}));
  EXPECT_EQ(ids("(method == none or method == l1) and precision == int8"), Ids({2}));
  EXPECT_EQ(ids("MAP > 0.35 AND Precision == fp32"), Ids({1, 3}));
}

TEST_F(StoreFilter, RunsWithoutTheFieldNeverMatch) {
  // Run 4 failed: no metrics, latency or throughput, and no dataset.
  EXPECT_EQ(ids("map != 0.33"), Ids({1, 3, 5}));
  EXPECT_EQ(ids("latency > 0"), Ids({1, 2, 3, 5}));
  EXPECT_EQ(ids("dataset ~ data"), Ids({1, 2, 3, 5}));
}

TEST_F(StoreFilter, QuotesInValuesCannotEscapeIntoSql) {
  EXPECT_EQ(ids("model == \"x' OR 1=1 --\""), Ids({}));
  EXPECT_EQ(ids("model == 'yolov8n\\' --'"), Ids({}));
  Result<int64_t> count = store_->countRuns();
  ASSERT_TRUE(count.isOk());
  EXPECT_EQ(*count, 5);
}

TEST_F(StoreFilter, BadFilterIsInvalidArgument) {
  Result<std::vector<RunRecord>> runs = store_->listRuns("mapp > 1");
  ASSERT_FALSE(runs.isOk());
  EXPECT_EQ(runs.status().code(), ErrorCode::kInvalidArgument);
  EXPECT_NE(runs.status().message().find("unknown field 'mapp' at column 1"), std::string::npos);
}

}  // namespace
}  // namespace detslim::store
