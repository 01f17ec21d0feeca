// The scale table artefact: JSON round trip, load errors naming file and field, plan checks.

#include "core/quant/scale_table.h"

#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "temp_files.h"

namespace detslim::quant {
namespace {

using detslim::testing::TempDir;
using detslim::testing::writeBytes;

ScaleTable sampleTable() {
  ScaleTable t;
  t.model_name = "yolov5n";
  t.model_sha256 = "88d9096e76c0bf6ecf364041f5a218d65a3509146de36a82c22d8392d72c0500";
  t.calibrator = "percentile";
  t.percentile = 99.9;
  t.activations = "u8";
  t.images = 2;
  t.image_files = {"a.jpg", "b dir/ü.png"};
  ScaleEntry a;
  a.tensor = "/model.0/act/Mul_output_0";
  a.scale = 0.0123456789f;  // not a short decimal: must still reload bit for bit
  a.zero_point = 23;
  a.dtype = DType::kUInt8;
  a.lo = -0.278;
  a.hi = 2.86;
  a.observed_min = -0.2784;
  a.observed_max = 7.5;
  ScaleEntry b = a;
  b.tensor = "x";
  b.scale = 3.0f / 127.0f;
  b.zero_point = 0;
  b.dtype = DType::kInt8;
  t.entries = {a, b};
  return t;
}

QuantizationPlan planOf(std::vector<std::vector<std::string>> groups) {
  QuantizationPlan p;
  p.tensor_groups = std::move(groups);
  return p;
}

TEST(ScaleTable, SaveLoadRoundTrip) {
  TempDir dir("detslim-scales");
  const ScaleTable t = sampleTable();
  const std::string path = (dir / "scales.json").string();
  ASSERT_TRUE(saveScaleTable(t, path).isOk());
  Result<ScaleTable> back = loadScaleTable(path);
  ASSERT_TRUE(back.isOk()) << back.status().message();
  EXPECT_EQ(back->version, 1);
  EXPECT_EQ(back->model_name, t.model_name);
  EXPECT_EQ(back->model_sha256, t.model_sha256);
  EXPECT_EQ(back->calibrator, "percentile");
  EXPECT_EQ(back->percentile, 99.9);
  EXPECT_EQ(back->activations, "u8");
  EXPECT_EQ(back->images, 2);
  EXPECT_EQ(back->image_files, t.image_files);
  ASSERT_EQ(back->entries.size(), 2u);
  for (size_t i = 0; i < 2; ++i) {
    const ScaleEntry& x = t.entries[i];
    const ScaleEntry& y = back->entries[i];
    EXPECT_EQ(y.tensor, x.tensor);
    EXPECT_EQ(y.scale, x.scale);  // bitwise
    EXPECT_EQ(y.zero_point, x.zero_point);
    EXPECT_EQ(y.dtype, x.dtype);
    EXPECT_EQ(y.lo, x.lo);
    EXPECT_EQ(y.hi, x.hi);
    EXPECT_EQ(y.observed_min, x.observed_min);
    EXPECT_EQ(y.observed_max, x.observed_max);
  }
  ASSERT_NE(back->find("x"), nullptr);
  EXPECT_EQ(back->find("x")->dtype, DType::kInt8);
  EXPECT_EQ(back->find("nope"), nullptr);
}

TEST(ScaleTable, LoadErrorsNameTheFileAndField) {
  TempDir dir("detslim-scales");
  const std::string path = (dir / "bad.json").string();
  auto messageFor = [&](const std::string& text) {
    writeBytes(path, text);
    Result<ScaleTable> r = loadScaleTable(path);
    EXPECT_FALSE(r.isOk()) << text;
    EXPECT_NE(r.status().message().find(path), std::string::npos) << r.status().message();
    return r.status().message();
  };
  EXPECT_NE(messageFor("{\"format\": ").find("not valid JSON"), std::string::npos);

  nlohmann::json good = nlohmann::json::parse(scaleTableToJson(sampleTable()));
  nlohmann::json j = good;
  j["calibration"].erase("activations");
  std::string m = messageFor(j.dump());
  EXPECT_NE(m.find("calibration.activations"), std::string::npos) << m;
  EXPECT_NE(m.find("missing"), std::string::npos) << m;

  j = good;
  j["version"] = 2;
  m = messageFor(j.dump());
  EXPECT_NE(m.find("version 2"), std::string::npos) << m;

  j = good;
  j["tensors"][1]["scale"] = "0.1";
  m = messageFor(j.dump());
  EXPECT_NE(m.find("tensors[1].scale"), std::string::npos) << m;

  j = good;
  j["tensors"][0]["scale"] = 0.0;
  m = messageFor(j.dump());
  EXPECT_NE(m.find("tensors[0].scale"), std::string::npos) << m;

  j = good;
  j["tensors"][0]["zero_point"] = 300;
  m = messageFor(j.dump());
  EXPECT_NE(m.find("tensors[0].zero_point"), std::string::npos) << m;

  j = good;
  j["tensors"][1]["dtype"] = "int16";
  m = messageFor(j.dump());
  EXPECT_NE(m.find("tensors[1].dtype"), std::string::npos) << m;

  j = good;
  j["tensors"][1]["name"] = j["tensors"][0]["name"];
  m = messageFor(j.dump());
  EXPECT_NE(m.find("listed twice"), std::string::npos) << m;

  j = good;
  j["calibration"]["calibrator"] = "kl";
  m = messageFor(j.dump());
  EXPECT_NE(m.find("calibration.calibrator"), std::string::npos) << m;

  Result<ScaleTable> absent = loadScaleTable((dir / "absent.json").string());
  ASSERT_FALSE(absent.isOk());
  EXPECT_NE(absent.status().message().find("absent.json"), std::string::npos);
}

TEST(ScaleTable, CheckNamesMissingAndExtraTensors) {
  const ScaleTable t = sampleTable();  // holds "/model.0/act/Mul_output_0" and "x"
  EXPECT_TRUE(checkScaleTable(t, planOf({{"x"}})).isOk());  // extras alone are fine
  EXPECT_TRUE(checkScaleTable(t, planOf({{"x"}, {"/model.0/act/Mul_output_0"}})).isOk());
  Status s = checkScaleTable(t, planOf({{"x"}, {"y", "z"}}));
  ASSERT_FALSE(s.isOk());
  EXPECT_NE(s.message().find("lacks 2 of the 3"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("'y'"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("'z'"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("'/model.0/act/Mul_output_0'"), std::string::npos) << s.message();
  // Members of one group must share their parameters.
  Status g = checkScaleTable(t, planOf({{"x", "/model.0/act/Mul_output_0"}}));
  ASSERT_FALSE(g.isOk());
  EXPECT_NE(g.message().find("different parameters"), std::string::npos) << g.message();
}

}  // namespace
}  // namespace detslim::quant
