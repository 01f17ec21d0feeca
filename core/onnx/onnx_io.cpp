#include "core/onnx/onnx_io.h"
