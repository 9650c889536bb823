//! Device setup: the device asked for (a GPU
//! asked for and missing is an error, not a quiet CPU run), and the precision
//! the device computes in.

use crate::experiment::config::{DeviceChoice, Precision};
use crate::util::error::{Error, Result};
use tch::{Device, Kind};

pub fn choose_device(choice: DeviceChoice) -> Result<Device> {
    match choice {
        DeviceChoice::Cpu => Ok(Device::Cpu),
        DeviceChoice::Auto => Ok(Device::cuda_if_available()),
        DeviceChoice::Cuda => {
            if tch::Cuda::is_available() {
                Ok(Device::Cuda(0))
            } else {
                Err(Error::Training(
                    "--cuda (device: cuda) was asked for but libtorch sees no usable GPU: on the HEC, submit to the GPU \
                     cluster (switch-gpu, a GPU queue, -l ngpus=1); check nvidia-smi and that LD_LIBRARY_PATH reaches \
                     the CUDA libtorch. Use device: cpu to train on the CPU deliberately."
                        .into(),
                ))
            }
        }
    }
}

/// bf16 autocast: on a GPU when asked for, and on a CPU with native bf16
/// (`cpu_bf16`: its /proc/cpuinfo flag, util::cpu::native_bf16) when asked
/// for or by `auto`; fp32 otherwise. `auto` takes it on such a CPU because
/// it kept MiniLM's dev macro-F1 within 0.01 of fp32 (−0.0046 over a full
/// epoch) at about 1.3× its speed (BENCHMARKS.md, "bf16 training on the
/// CPU"); the saved model records
/// it, so `evaluate` scores as the run did (evaluation::compute_as_trained).
/// On a GPU `auto` is TF32 ([`enable_tf32`]): faster than bf16 autocast there.
pub(super) fn compute_kind(p: Precision, device: Device, cpu_bf16: Option<&str>) -> Option<Kind> {
    match (p, device, cpu_bf16) {
        (Precision::Bf16, Device::Cuda(_), _)
        | (Precision::Bf16 | Precision::Auto, Device::Cpu, Some(_)) => Some(Kind::BFloat16),
        _ => None,
    }
}

/// TF32 for cuBLAS matmuls. libtorch reads this override once, at its first
/// matmul, so it must be set before any CUDA work (tch has no setter for
/// torch.backends.cuda.matmul.allow_tf32).
pub(super) fn enable_tf32(p: Precision, device: Device) -> bool {
    let on = matches!(
        (p, device),
        (Precision::Tf32 | Precision::Auto, Device::Cuda(_))
    );
    if on {
        std::env::set_var(crate::util::env_vars::TORCH_ALLOW_TF32_CUBLAS_OVERRIDE, "1");
    }
    on
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bf16_runs_on_the_cpu_only_with_native_support_and_auto_takes_it_there() {
        let native = Some("avx512_bf16");
        assert_eq!(
            compute_kind(Precision::Bf16, Device::Cpu, native),
            Some(Kind::BFloat16)
        );
        assert_eq!(compute_kind(Precision::Bf16, Device::Cpu, None), None);
        assert_eq!(
            compute_kind(Precision::Auto, Device::Cpu, native),
            Some(Kind::BFloat16)
        );
        assert_eq!(compute_kind(Precision::Auto, Device::Cpu, None), None);
        assert_eq!(compute_kind(Precision::Fp32, Device::Cpu, native), None);
        assert_eq!(
            compute_kind(Precision::Bf16, Device::Cuda(0), None),
            Some(Kind::BFloat16)
        );
        assert_eq!(compute_kind(Precision::Auto, Device::Cuda(0), native), None);
    }
}
