//! Device setup: the cores the scheduler granted, the device asked for (a GPU
//! asked for and missing is an error, not a quiet CPU run), and the precision
//! the device computes in.

use crate::experiment::config::{DeviceChoice, Precision};
use crate::util::error::{Error, Result};
use tch::{Device, Kind};

/// Use the cores Grid Engine granted, not every core of a shared node.
pub(super) fn use_granted_threads() {
    if let Some(n) = crate::util::env_vars::get(crate::util::env_vars::NSLOTS)
        .and_then(|v| v.parse::<i32>().ok())
    {
        if n > 0 {
            tch::set_num_threads(n);
        }
    }
}

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

pub(super) fn compute_kind(p: Precision, device: Device) -> Option<Kind> {
    match (p, device) {
        (Precision::Bf16, Device::Cuda(_)) => Some(Kind::BFloat16),
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
