// One call into libtorch's fused Adam / AdamW (`torch.optim.Adam(fused=True)`):
// tch 0.24 does not generate bindings for `_fused_adam_`, so this file is the
// whole binding. Tensors arrive as tch's handles (`at::Tensor*`).
//
// Why fused: the step reads each parameter, gradient and moment ONCE, in a
// handful of multi-tensor kernels on CUDA (a vectorised loop on the CPU),
// instead of one pass per arithmetic operation; and it takes the gradients
// as the list autograd returned, so no flat gradient buffer is needed.

#include <ATen/ops/_fused_adam.h>
#include <ATen/ops/_fused_adamw.h>

#include <cstdlib>
#include <cstring>
#include <exception>
#include <sstream>
#include <stdexcept>
#include <vector>

namespace {
std::vector<at::Tensor> gather(const at::Tensor* const* handles, size_t n) {
  std::vector<at::Tensor> out;
  out.reserve(n);
  for (size_t i = 0; i < n; ++i) out.push_back(*handles[i]);
  return out;
}
// Returned when the message itself cannot be copied: NULL would read as success.
char kOutOfMemory[] = "fused Adam failed, and copying its message ran out of memory";

char* copy_message(const char* what) {
  char* copy = strdup(what);
  return copy != nullptr ? copy : kOutOfMemory;
}
}  // namespace

// Returns NULL on success, else a malloc'd message (free with
// hecjob_free_error). `step` is the float32 step count on the parameters'
// device, already incremented for this step (as torch.optim does); it is
// shared by every tensor of the group.
extern "C" char* hecjob_fused_adam(const at::Tensor* const* params,
                                   const at::Tensor* const* grads,
                                   const at::Tensor* const* exp_avgs,
                                   const at::Tensor* const* exp_avg_sqs,
                                   const at::Tensor* step, size_t n, double lr,
                                   double beta1, double beta2,
                                   double weight_decay, double eps,
                                   int decoupled_weight_decay) {
  try {
    auto p = gather(params, n);
    auto g = gather(grads, n);
    auto m = gather(exp_avgs, n);
    auto v = gather(exp_avg_sqs, n);
    // The CPU kernel trusts its inputs: a mismatched gradient would read out of
    // bounds instead of failing, so check what it assumes.
    for (size_t i = 0; i < n; ++i) {
      if (!g[i].defined() || g[i].sizes() != p[i].sizes() ||
          g[i].scalar_type() != p[i].scalar_type() ||
          g[i].device() != p[i].device()) {
        std::ostringstream msg;
        msg << "gradient " << i << " does not match its parameter (parameter "
            << p[i].sizes() << " " << p[i].scalar_type() << " on "
            << p[i].device() << ", gradient ";
        if (g[i].defined()) {
          msg << g[i].sizes() << " " << g[i].scalar_type() << " on "
              << g[i].device();
        } else {
          msg << "undefined";
        }
        msg << ")";
        throw std::invalid_argument(msg.str());
      }
      // Both kernels index the lists element for element; autograd's
      // gradients are contiguous in practice, and this is free when they are.
      g[i] = g[i].contiguous();
    }
    std::vector<at::Tensor> steps(n, *step);
    std::vector<at::Tensor> no_amsgrad;
    if (decoupled_weight_decay) {
      at::_fused_adamw_(p, g, m, v, no_amsgrad, steps, lr, beta1, beta2,
                        weight_decay, eps, /*amsgrad=*/false,
                        /*maximize=*/false);
    } else {
      at::_fused_adam_(p, g, m, v, no_amsgrad, steps, lr, beta1, beta2,
                       weight_decay, eps, /*amsgrad=*/false,
                       /*maximize=*/false);
    }
    return nullptr;
  } catch (const std::exception& e) {
    return copy_message(e.what());
  } catch (...) {
    return copy_message("unknown C++ exception in _fused_adam_");
  }
}

extern "C" void hecjob_free_error(char* message) {
  if (message != kOutOfMemory) free(message);
}
