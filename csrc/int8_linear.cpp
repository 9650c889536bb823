// Dynamic int8 linear layers on the CPU (hecjob predict --quantize int8):
// fbgemm's int8-weight / fp32-activation GEMM, the kernel behind
// torch.ao.quantization.quantize_dynamic's per-tensor Linear. tch 0.24 does
// not generate bindings for the `fbgemm_*` ATen functions, so this file is
// the whole binding. Tensors arrive and leave as tch's handles (`at::Tensor*`;
// a returned one is owned by the caller, freed by tch's Drop).
//
// The three functions are marked deprecated in ATen (they warn once per
// process); the warning is swallowed here, since hecjob says in its own log
// what it computes in.

#include <ATen/ops/fbgemm_linear_int8_weight_fp32_activation.h>
#include <ATen/ops/fbgemm_linear_quantize_weight.h>
#include <ATen/ops/fbgemm_pack_quantized_matrix.h>
#include <c10/util/Exception.h>

#include <cstdlib>
#include <cstring>
#include <exception>

namespace {
class Quiet : public c10::WarningHandler {
 public:
  void process(const c10::Warning&) override {}
};

char kOutOfMemory[] = "int8 linear failed, and copying its message ran out of memory";

char* message(const char* what) {
  char* copy = strdup(what);
  return copy != nullptr ? copy : kOutOfMemory;
}
}  // namespace

// Quantize an fp32 weight [out, in]: the int8 weight, its column offsets and
// its packed form (new tensors the caller owns), the scale and zero point.
// Returns NULL on success, else a malloc'd message (hecjob_int8_free_error).
extern "C" char* hecjob_int8_quantize(const at::Tensor* weight, at::Tensor** q,
                                      at::Tensor** col_offsets,
                                      at::Tensor** packed, double* scale,
                                      int64_t* zero_point) {
  try {
    Quiet quiet;
    c10::WarningUtils::WarningHandlerGuard guard(&quiet);
    auto w = weight->contiguous();
    auto [qw, offsets, s, zp] = at::fbgemm_linear_quantize_weight(w);
    auto p = at::fbgemm_pack_quantized_matrix(qw);
    *q = new at::Tensor(qw);
    *col_offsets = new at::Tensor(offsets);
    *packed = new at::Tensor(p);
    *scale = s;
    *zero_point = zp;
    return nullptr;
  } catch (const std::exception& e) {
    return message(e.what());
  } catch (...) {
    return message("unknown C++ exception in fbgemm_linear_quantize_weight");
  }
}

// `input·wᵀ + bias` with the int8 weight (activations quantized per call);
// `*out` is a new fp32 tensor the caller owns.
extern "C" char* hecjob_int8_linear(const at::Tensor* input, const at::Tensor* q,
                                    const at::Tensor* packed,
                                    const at::Tensor* col_offsets, double scale,
                                    int64_t zero_point, const at::Tensor* bias,
                                    at::Tensor** out) {
  try {
    Quiet quiet;
    c10::WarningUtils::WarningHandlerGuard guard(&quiet);
    auto y = at::fbgemm_linear_int8_weight_fp32_activation(
        input->contiguous(), *q, *packed, *col_offsets, scale, zero_point,
        *bias);
    *out = new at::Tensor(y);
    return nullptr;
  } catch (const std::exception& e) {
    return message(e.what());
  } catch (...) {
    return message("unknown C++ exception in fbgemm_linear_int8_weight_fp32_activation");
  }
}

extern "C" void hecjob_int8_free_error(char* m) {
  if (m != kOutOfMemory) free(m);
}
