// libFuzzer target for the ONNX loader: arbitrary bytes through loadModelFromBytes (no folder, so
// external data is refused). Beyond "no crash, no hang, no leak" it checks one property: a model
// that loads serializes and reloads to the same IR, and the reloaded file passes the checker.
//
// Built three ways: by scripts/fuzz.sh with clang and libFuzzer; in the normal build together
// with replay_main.cpp to replay tests/fuzz/corpus as a ctest test.

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "core/onnx/onnx_io.h"

namespace {

using namespace detslim;

[[noreturn]] void fail(const std::string& what) {
  std::fprintf(stderr, "fuzz_onnx_loader: %s\n", what.c_str());
  std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);

  // The default load: parse, convert, checker, shape inference.
  LoadReport report;
  Result<Model> model = loadModelFromBytes(bytes, "fuzz.onnx", {}, {}, &report);
  if (model.isOk()) {
    Result<std::string> saved = serializeModel(*model);
    if (!saved.isOk()) fail("a loaded model does not serialize: " + saved.status().message());
    Result<Model> again =
        loadModelFromBytes(*saved, "fuzz-saved.onnx", {}, {.infer_shapes = false});
    if (!again.isOk()) fail("a saved model does not reload: " + again.status().message());
    if (std::string diff = diffModels(*model, *again); !diff.empty()) {
      fail("round trip changed the model: " + diff);
    }
  } else if (model.status().message().rfind("fuzz.onnx: ", 0) != 0) {
    fail("error message does not start with the name: " + model.status().message());
  }

  // The converter alone on unchecked input, then everything that takes an IR.
  Result<Model> raw =
      loadModelFromBytes(bytes, "fuzz.onnx", {}, {.run_checker = false, .infer_shapes = false});
  if (raw.isOk()) {
    (void)serializeModel(*raw);
    (void)checkModel(*raw);
    (void)inferShapes(*raw);
  }
  return 0;
}
