// Every element type, in raw_data and in its typed field, loads to the same bytes, and saving
// writes raw_data (string_data for strings) that reloads unchanged.

#include <gtest/gtest.h>

#include <cstring>
#include <functional>
#include <limits>

#include "core/onnx/onnx_io.h"
#include "onnx_proto_util.h"

namespace detslim {
namespace {

using testing::TempDir;

struct DTypeCase {
  const char* label;
  Tensor expected;
  // Writes the values into the TensorProto's typed field (int32_data, float_data, ...).
  std::function<void(onnx::TensorProto*)> fill_typed;
};

template <class T>
Tensor tensorOf(DType dtype, Shape shape, std::vector<T> values) {
  return Tensor::fromVector(dtype, std::move(shape), values);
}

template <class T, class Field>
std::function<void(onnx::TensorProto*)> typed(std::vector<T> values,
                                              Field* (onnx::TensorProto::*field)()) {
  return [values, field](onnx::TensorProto* t) {
    for (const T& v : values) (t->*field)()->Add(v);
  };
}

std::vector<DTypeCase> allCases() {
  using TP = onnx::TensorProto;
  std::vector<DTypeCase> cases;
  auto add = [&](const char* label, Tensor t, std::function<void(TP*)> f) {
    cases.push_back({label, std::move(t), std::move(f)});
  };
  const std::vector<float> f32 = {1.5f, -2.25f, 0.0f, 3.0e38f};
  add("float32", tensorOf(DType::kFloat32, {2, 2}, f32), typed(f32, &TP::mutable_float_data));
  const std::vector<double> f64 = {1.0 / 3.0, -1e300, 0.0};
  add("float64", tensorOf(DType::kFloat64, {3}, f64), typed(f64, &TP::mutable_double_data));
  const std::vector<uint16_t> f16 = {0x3C00, 0xC000, 0x7BFF, 0x0001};
  add("float16", tensorOf(DType::kFloat16, {4}, f16),
      typed(std::vector<int32_t>(f16.begin(), f16.end()), &TP::mutable_int32_data));
  const std::vector<uint16_t> bf16 = {0x3F80, 0xC040, 0x7F7F};
  add("bfloat16", tensorOf(DType::kBFloat16, {3, 1}, bf16),
      typed(std::vector<int32_t>(bf16.begin(), bf16.end()), &TP::mutable_int32_data));
  const std::vector<int8_t> i8 = {-128, -1, 0, 127};
  add("int8", tensorOf(DType::kInt8, {4}, i8),
      typed(std::vector<int32_t>(i8.begin(), i8.end()), &TP::mutable_int32_data));
  const std::vector<uint8_t> u8 = {0, 1, 200, 255};
  add("uint8", tensorOf(DType::kUInt8, {2, 2}, u8),
      typed(std::vector<int32_t>(u8.begin(), u8.end()), &TP::mutable_int32_data));
  const std::vector<int16_t> i16 = {-32768, -1, 7, 32767};
  add("int16", tensorOf(DType::kInt16, {4}, i16),
      typed(std::vector<int32_t>(i16.begin(), i16.end()), &TP::mutable_int32_data));
  const std::vector<uint16_t> u16 = {0, 65535, 1234};
  add("uint16", tensorOf(DType::kUInt16, {3}, u16),
      typed(std::vector<int32_t>(u16.begin(), u16.end()), &TP::mutable_int32_data));
  const std::vector<int32_t> i32 = {std::numeric_limits<int32_t>::min(), -1, 0,
                                    std::numeric_limits<int32_t>::max()};
  add("int32", tensorOf(DType::kInt32, {4}, i32), typed(i32, &TP::mutable_int32_data));
  const std::vector<int64_t> i64 = {std::numeric_limits<int64_t>::min(), -1, 0,
                                    std::numeric_limits<int64_t>::max()};
  add("int64", tensorOf(DType::kInt64, {2, 2}, i64), typed(i64, &TP::mutable_int64_data));
  const std::vector<uint32_t> u32 = {0, 1, 4000000000u, std::numeric_limits<uint32_t>::max()};
  add("uint32", tensorOf(DType::kUInt32, {4}, u32),
      typed(std::vector<uint64_t>(u32.begin(), u32.end()), &TP::mutable_uint64_data));
  const std::vector<uint64_t> u64 = {0, 1, std::numeric_limits<uint64_t>::max()};
  add("uint64", tensorOf(DType::kUInt64, {3}, u64), typed(u64, &TP::mutable_uint64_data));
  const std::vector<uint8_t> b = {1, 0, 1, 1};
  add("bool", tensorOf(DType::kBool, {4}, b),
      typed(std::vector<int32_t>(b.begin(), b.end()), &TP::mutable_int32_data));
  const std::vector<float> c64 = {1.0f, 2.0f, 3.0f, -4.0f};  // two complex values
  add("complex64", tensorOf(DType::kComplex64, {2}, c64), typed(c64, &TP::mutable_float_data));
  const std::vector<double> c128 = {1.0, -2.0, 3.5, 4.0};
  add("complex128", tensorOf(DType::kComplex128, {2}, c128), typed(c128, &TP::mutable_double_data));
  return cases;
}

// A model holding each case twice: "raw_<dtype>" in raw_data and "typed_<dtype>" in its typed
// field, plus a string tensor (string_data is the only form strings have).
onnx::ModelProto dtypeModel(const std::vector<DTypeCase>& cases) {
  onnx::ModelProto m = testing::baseModelProto();
  for (const DTypeCase& c : cases) {
    const int32_t code = static_cast<int32_t>(c.expected.dtype());
    auto* raw = testing::addInitializer(m, std::string("raw_") + c.label, code, c.expected.shape());
    raw->set_raw_data(c.expected.raw(), c.expected.bytes());
    c.fill_typed(
        testing::addInitializer(m, std::string("typed_") + c.label, code, c.expected.shape()));
  }
  auto* s = testing::addInitializer(m, "strings", onnx::TensorProto::STRING, {3});
  for (const char* v : {"a", "", "h\xc3\xa9llo"}) s->add_string_data(v);
  return m;
}

TEST(OnnxDTypes, RawAndTypedFieldsLoadToTheSameBytes) {
  const std::vector<DTypeCase> cases = allCases();
  TempDir dir;
  const auto path = dir / "dtypes.onnx";
  testing::writeProto(path, dtypeModel(cases));

  Result<Model> model = loadModel(path);
  ASSERT_TRUE(model.isOk()) << model.status().message();
  for (const DTypeCase& c : cases) {
    for (const std::string prefix : {"raw_", "typed_"}) {
      const Tensor* t = model->graph.initializer(prefix + c.label);
      ASSERT_NE(t, nullptr) << prefix << c.label;
      EXPECT_EQ(t->dtype(), c.expected.dtype()) << prefix << c.label;
      EXPECT_EQ(t->shape(), c.expected.shape()) << prefix << c.label;
      EXPECT_TRUE(t->bitwiseEqual(c.expected)) << prefix << c.label;
    }
  }
  const Tensor* s = model->graph.initializer("strings");
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(s->dtype(), DType::kString);
  EXPECT_EQ(s->strings(), (std::vector<std::string>{"a", "", "h\xc3\xa9llo"}));
}

TEST(OnnxDTypes, SavedWeightsAreRawDataAndReloadUnchanged) {
  const std::vector<DTypeCase> cases = allCases();
  TempDir dir;
  testing::writeProto(dir / "in.onnx", dtypeModel(cases));
  Result<Model> a = loadModel(dir / "in.onnx");
  ASSERT_TRUE(a.isOk()) << a.status().message();
  ASSERT_TRUE(saveModel(*a, dir / "out.onnx").isOk());

  onnx::ModelProto saved;
  ASSERT_TRUE(saved.ParseFromString(testing::readBytes(dir / "out.onnx")));
  for (const auto& t : saved.graph().initializer()) {
    const int typed_values = t.float_data_size() + t.int32_data_size() + t.int64_data_size() +
                             t.double_data_size() + t.uint64_data_size();
    EXPECT_EQ(typed_values, 0) << t.name() << " was written in a typed field";
    if (t.data_type() == onnx::TensorProto::STRING) {
      EXPECT_EQ(t.string_data_size(), 3);
    } else {
      EXPECT_FALSE(t.raw_data().empty()) << t.name();
    }
  }
  Result<Model> b = loadModel(dir / "out.onnx");
  ASSERT_TRUE(b.isOk()) << b.status().message();
  EXPECT_EQ(diffModels(*a, *b), "");
}

TEST(OnnxDTypes, Float8InIr9LoadsFromRawAndTypedFields) {
  // float8 came with IR 9; onnx 1.12's checker does not know it, so DetSlim checks a lowered copy.
  onnx::ModelProto m = testing::baseModelProto();
  m.set_ir_version(9);
  const std::vector<uint8_t> bits = {0x38, 0xC0, 0x7E, 0x00};
  for (DType d :
       {DType::kFloat8E4M3FN, DType::kFloat8E4M3FNUZ, DType::kFloat8E5M2, DType::kFloat8E5M2FNUZ}) {
    const std::string name(dtypeName(d));
    auto* raw = testing::addInitializer(m, "raw_" + name, static_cast<int32_t>(d), {4});
    raw->set_raw_data(bits.data(), bits.size());
    auto* typed = testing::addInitializer(m, "typed_" + name, static_cast<int32_t>(d), {4});
    for (uint8_t v : bits) typed->add_int32_data(v);
  }
  TempDir dir;
  testing::writeProto(dir / "f8.onnx", m);
  LoadReport report;
  Result<Model> model = loadModel(dir / "f8.onnx", {}, &report);
  ASSERT_TRUE(model.isOk()) << model.status().message();
  EXPECT_NE(report.checker_note.find("IR 9 checked as IR 8"), std::string::npos)
      << report.checker_note;
  for (const auto& nt : model->graph.initializers()) {
    ASSERT_EQ(nt.tensor.bytes(), bits.size()) << nt.name;
    EXPECT_EQ(std::memcmp(nt.tensor.raw(), bits.data(), bits.size()), 0) << nt.name;
  }
  // The file on disk was not touched by the checker's in-memory conversion.
  onnx::ModelProto reread;
  ASSERT_TRUE(reread.ParseFromString(testing::readBytes(dir / "f8.onnx")));
  EXPECT_EQ(reread.ir_version(), 9);
}

TEST(OnnxDTypes, WrongFieldForTheTypeIsRefused) {
  onnx::ModelProto m = testing::baseModelProto();
  auto* t = testing::addInitializer(m, "w", onnx::TensorProto::FLOAT, {2});
  t->add_int64_data(1);
  t->add_int64_data(2);
  TempDir dir;
  testing::writeProto(dir / "m.onnx", m);
  Result<Model> model = loadModel(dir / "m.onnx", {.run_checker = false});
  ASSERT_FALSE(model.isOk());
  EXPECT_NE(model.status().message().find("initializer 'w'"), std::string::npos);
  EXPECT_NE(model.status().message().find("int64_data"), std::string::npos);
}

TEST(OnnxDTypes, TypedFieldCountMustMatchDims) {
  onnx::ModelProto m = testing::baseModelProto();
  auto* t = testing::addInitializer(m, "w", onnx::TensorProto::INT8, {3});
  t->add_int32_data(1);
  TempDir dir;
  testing::writeProto(dir / "m.onnx", m);
  Result<Model> model = loadModel(dir / "m.onnx");
  ASSERT_FALSE(model.isOk());
  EXPECT_EQ(model.status().code(), ErrorCode::kInvalidArgument);
  EXPECT_NE(model.status().message().find("int32_data holds 1 values, the dims need 3"),
            std::string::npos)
      << model.status().message();
}

TEST(OnnxDTypes, StringsInRawDataAreRefused) {
  onnx::ModelProto m = testing::baseModelProto();
  testing::addInitializer(m, "s", onnx::TensorProto::STRING, {1})->set_raw_data("abc");
  TempDir dir;
  testing::writeProto(dir / "m.onnx", m);
  Result<Model> model = loadModel(dir / "m.onnx", {.run_checker = false});
  ASSERT_FALSE(model.isOk());
  EXPECT_NE(model.status().message().find("string_data"), std::string::npos);
}

}  // namespace
}  // namespace detslim
