//! Dynamic int8 linear layers for CPU inference (`hecjob predict --quantize
//! int8`): each weight quantized once (per tensor, symmetric range as fbgemm
//! picks it) and packed for fbgemm; activations are quantized on the fly in
//! every call and the output is fp32, so LayerNorms, softmax and the residual
//! stream stay fp32 — what `torch.ao.quantization.quantize_dynamic` does to a
//! `Linear`. The kernels are ATen's `fbgemm_*` functions, reached through
//! csrc/int8_linear.cpp because tch does not bind them.

use crate::util::error::{Error, Result};
use std::ffi::{c_char, CStr};
use tch::{Device, Kind, Tensor};
use torch_sys::C_tensor;

extern "C" {
    fn hecjob_int8_quantize(
        weight: *const C_tensor,
        q: *mut *mut C_tensor,
        col_offsets: *mut *mut C_tensor,
        packed: *mut *mut C_tensor,
        scale: *mut f64,
        zero_point: *mut i64,
    ) -> *mut c_char;
    fn hecjob_int8_linear(
        input: *const C_tensor,
        q: *const C_tensor,
        packed: *const C_tensor,
        col_offsets: *const C_tensor,
        scale: f64,
        zero_point: i64,
        bias: *const C_tensor,
        out: *mut *mut C_tensor,
    ) -> *mut c_char;
    fn hecjob_int8_free_error(message: *mut c_char);
}

/// The C++ side's message, freed.
///
/// SAFETY: `err` is null or a message from csrc/int8_linear.cpp.
unsafe fn check(err: *mut c_char, what: &str) -> Result<()> {
    if err.is_null() {
        return Ok(());
    }
    // SAFETY: a non-null `err` is a NUL-terminated string the C++ side
    // allocated for us, freed once here.
    let message = unsafe {
        let m = CStr::from_ptr(err).to_string_lossy().into_owned();
        hecjob_int8_free_error(err);
        m
    };
    Err(Error::Training(format!("int8 {what}: {message}")))
}

/// A linear layer with an int8 weight: `x·wᵀ + b` in fbgemm's int8 GEMM.
pub struct Int8Linear {
    q: Tensor,
    packed: Tensor,
    col_offsets: Tensor,
    scale: f64,
    zero_point: i64,
    bias: Tensor,
}

impl Int8Linear {
    /// Quantize `weight` [out, in] (fp32, on the CPU); a missing bias is zeros.
    pub fn new(weight: &Tensor, bias: Option<&Tensor>) -> Result<Int8Linear> {
        if weight.device() != Device::Cpu {
            return Err(Error::Usage(
                "--quantize int8 runs on the CPU only (fbgemm kernels)".into(),
            ));
        }
        let w = weight.detach().to_kind(Kind::Float).contiguous();
        let bias = match bias {
            Some(b) => b.detach().to_kind(Kind::Float).contiguous(),
            None => Tensor::zeros([w.size()[0]], (Kind::Float, Device::Cpu)),
        };
        let (mut q, mut col_offsets, mut packed) = (
            std::ptr::null_mut(),
            std::ptr::null_mut(),
            std::ptr::null_mut(),
        );
        let (mut scale, mut zero_point) = (0.0, 0);
        // SAFETY: `w` is a live tensor for the call; on success the three
        // out-pointers are new at::Tensor objects whose ownership passes to
        // the tch Tensors built from them (freed on Drop).
        unsafe {
            check(
                hecjob_int8_quantize(
                    w.as_ptr(),
                    &mut q,
                    &mut col_offsets,
                    &mut packed,
                    &mut scale,
                    &mut zero_point,
                ),
                "weight quantization",
            )?;
            Ok(Int8Linear {
                q: Tensor::from_ptr(q),
                col_offsets: Tensor::from_ptr(col_offsets),
                packed: Tensor::from_ptr(packed),
                scale,
                zero_point,
                bias,
            })
        }
    }

    /// `x·wᵀ + b` for fp32 `x` [.., in]: fp32 [.., out].
    pub fn forward(&self, x: &Tensor) -> Tensor {
        let x = x.to_kind(Kind::Float);
        let mut out = std::ptr::null_mut();
        // SAFETY: every handle is a live tensor for the call; `out` becomes a
        // new at::Tensor owned by the returned Tensor.
        unsafe {
            check(
                hecjob_int8_linear(
                    x.as_ptr(),
                    self.q.as_ptr(),
                    self.packed.as_ptr(),
                    self.col_offsets.as_ptr(),
                    self.scale,
                    self.zero_point,
                    self.bias.as_ptr(),
                    &mut out,
                ),
                "linear",
            )
            // The shapes were checked when the model was built: a failure here
            // is a broken invariant, as a failed tch op is (tch panics too).
            .unwrap_or_else(|e| panic!("{e}"));
            Tensor::from_ptr(out)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_int8_linear_keeps_shapes_and_stays_within_two_percent_of_fp32() {
        tch::manual_seed(0);
        let opts = (Kind::Float, Device::Cpu);
        let w = Tensor::randn([48, 64], opts) * 0.05;
        let b = Tensor::randn([48], opts) * 0.1;
        let x = Tensor::randn([3, 5, 64], opts);
        let q = Int8Linear::new(&w, Some(&b)).unwrap();
        let y = q.forward(&x);
        assert_eq!(y.size(), [3, 5, 48]);
        assert_eq!(y.kind(), Kind::Float);
        let r = x.linear(&w, Some(&b));
        let err = (&y - &r).abs().max().double_value(&[]);
        let scale = r.abs().max().double_value(&[]);
        assert!(err <= 0.02 * scale, "max error {err} of {scale}");
        // No bias: zeros.
        let q = Int8Linear::new(&w, None).unwrap();
        let err = (q.forward(&x) - x.linear::<Tensor>(&w, None))
            .abs()
            .max()
            .double_value(&[]);
        assert!(err <= 0.02 * scale, "max error {err} without bias");
    }
}
