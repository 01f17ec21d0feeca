#pragma once
// Builds ModelProtos directly with the onnx protobuf classes, for files the IR cannot express
// (typed data fields, external data, broken files). Only the tests include onnx headers.

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include <onnx/onnx_pb.h>

#include "onnx_test_util.h"

namespace detslim::testing {

inline void setTensorType(onnx::ValueInfoProto* v, const std::string& name, int32_t elem_type,
                          const std::vector<int64_t>& dims) {
  v->set_name(name);
  auto* t = v->mutable_type()->mutable_tensor_type();
  t->set_elem_type(elem_type);
  auto* shape = t->mutable_shape();
  for (int64_t d : dims) shape->add_dim()->set_dim_value(d);
}

// x: float[1, 4] -> Relu 'relu' -> y, IR 8, ai.onnx opset 17: passes the checker.
inline onnx::ModelProto baseModelProto() {
  onnx::ModelProto m;
  m.set_ir_version(8);
  m.set_producer_name("detslim-tests");
  auto* op = m.add_opset_import();
  op->set_domain("");
  op->set_version(17);
  auto* g = m.mutable_graph();
  g->set_name("g");
  auto* n = g->add_node();
  n->set_name("relu");
  n->set_op_type("Relu");
  n->add_input("x");
  n->add_output("y");
  setTensorType(g->add_input(), "x", onnx::TensorProto::FLOAT, {1, 4});
  setTensorType(g->add_output(), "y", onnx::TensorProto::FLOAT, {1, 4});
  return m;
}

inline onnx::TensorProto* addInitializer(onnx::ModelProto& m, const std::string& name,
                                         int32_t data_type, const std::vector<int64_t>& dims) {
  auto* t = m.mutable_graph()->add_initializer();
  t->set_name(name);
  t->set_data_type(data_type);
  for (int64_t d : dims) t->add_dims(d);
  return t;
}

inline void setExternal(onnx::TensorProto* t, const std::string& location, int64_t offset = -1,
                        int64_t length = -1) {
  t->set_data_location(onnx::TensorProto::EXTERNAL);
  auto* loc = t->add_external_data();
  loc->set_key("location");
  loc->set_value(location);
  if (offset >= 0) {
    auto* kv = t->add_external_data();
    kv->set_key("offset");
    kv->set_value(std::to_string(offset));
  }
  if (length >= 0) {
    auto* kv = t->add_external_data();
    kv->set_key("length");
    kv->set_value(std::to_string(length));
  }
}

inline void writeProto(const std::filesystem::path& path, const google::protobuf::MessageLite& m) {
  writeBytes(path, m.SerializeAsString());
}

}  // namespace detslim::testing
