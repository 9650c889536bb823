//! What `hecjob predict` computes in (`--precision auto|fp32|bf16`,
//! `--quantize int8`), decided once from the device and the CPU's flags
//! (util::cpu::native_bf16) and said in the log. bf16 is the models' autocast
//! (matmuls and attention in bf16; LayerNorms, softmax's input mask, the
//! residual stream and the logits fp32: `Classifier::set_compute_kind`); int8
//! is the encoder's linear maps in fbgemm's dynamic int8 (model::int8), with
//! fp32 activations. What was chosen is part of a run's resume key: the bytes
//! differ between them.

use crate::util::error::{Error, Result};
use crate::worker::model::saved::LoadedModel;
use tch::{Device, Kind};

/// `--precision`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Precision {
    /// bf16 where the CPU has it natively (AMX-BF16 or AVX512-BF16), else
    /// fp32; fp32 on a GPU.
    #[default]
    Auto,
    Fp32,
    /// bf16 matmuls and attention (an error on a CPU without native bf16).
    Bf16,
}

/// `--quantize`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Quantize {
    /// The encoder's linear layers in int8 (dynamic quantization, fbgemm; CPU
    /// only, BERT family).
    Int8,
}

/// What the model computes in, as decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compute {
    Fp32,
    Bf16,
    Int8,
}

impl Compute {
    /// The name in the resume key and the log.
    pub fn name(self) -> &'static str {
        match self {
            Compute::Fp32 => "fp32",
            Compute::Bf16 => "bf16",
            Compute::Int8 => "int8",
        }
    }

    /// Decide, and the log line that says why. `cpu_bf16` is the CPU's
    /// native bf16 flag (util::cpu::native_bf16).
    pub fn choose(
        precision: Precision,
        quantize: Option<Quantize>,
        device: Device,
        cpu_bf16: Option<&str>,
    ) -> Result<(Compute, String)> {
        let cpu = device == Device::Cpu;
        if quantize == Some(Quantize::Int8) {
            if !cpu {
                return Err(Error::Usage(
                    "--quantize int8 runs on the CPU only (fbgemm's int8 kernels): leave --cuda out, \
                     or leave --quantize out and pass --precision bf16 on the GPU"
                        .into(),
                ));
            }
            if precision == Precision::Bf16 {
                return Err(Error::Usage(
                    "--quantize int8 and --precision bf16 do not combine (int8 weights take fp32 \
                     activations): pass one of them"
                        .into(),
                ));
            }
            return Ok((
                Compute::Int8,
                "predicting with int8 linear layers (dynamic quantization, fp32 activations)"
                    .into(),
            ));
        }
        Ok(match (precision, cpu, cpu_bf16) {
            (Precision::Fp32, ..) => (Compute::Fp32, "predicting in fp32".into()),
            (Precision::Auto, false, _) => (Compute::Fp32, "GPU: predicting in fp32".into()),
            (Precision::Bf16, false, _) => (Compute::Bf16, "GPU: predicting in bf16".into()),
            (Precision::Auto | Precision::Bf16, true, Some(flag)) => {
                (Compute::Bf16, format!("CPU has {flag}: predicting in bf16"))
            }
            (Precision::Auto, true, None) => (
                Compute::Fp32,
                format!(
                    "CPU has neither {} nor {}: predicting in fp32",
                    crate::util::cpu::BF16_FLAGS[0],
                    crate::util::cpu::BF16_FLAGS[1]
                ),
            ),
            (Precision::Bf16, true, None) => {
                return Err(Error::Usage(format!(
                    "--precision bf16: {}; pass --precision fp32 or auto (fp32 on this CPU), \
                     or --quantize int8",
                    crate::util::cpu::no_bf16_reason()
                )))
            }
        })
    }

    /// Set the loaded model up to compute this way.
    pub fn apply(self, lm: &mut LoadedModel) -> Result<()> {
        match self {
            Compute::Fp32 => lm.model.set_compute_kind(None),
            Compute::Bf16 => lm.model.set_compute_kind(Some(Kind::BFloat16)),
            Compute::Int8 => {
                lm.model.set_compute_kind(None);
                lm.model.quantize_int8()?;
            }
        }
        Ok(())
    }
}

/// Threads from the job's grant, then the precision decided and applied;
/// the lines that say what was set up (`hecjob: …`), for the caller to print
/// on stderr once its run begins (stdout may be the text interface's JSON,
/// and an error about the output comes alone).
pub fn set_up(
    lm: &mut LoadedModel,
    precision: Precision,
    quantize: Option<Quantize>,
    device: Device,
) -> Result<(Compute, Vec<String>)> {
    let threads = crate::worker::cpu::use_granted_threads();
    let (compute, line) =
        Compute::choose(precision, quantize, device, crate::util::cpu::native_bf16())?;
    compute.apply(lm)?;
    let log = threads
        .into_iter()
        .chain([line])
        .map(|l| format!("hecjob: {l}"))
        .collect();
    Ok((compute, log))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn choose(p: Precision, q: Option<Quantize>, d: Device, f: Option<&str>) -> Result<Compute> {
        Compute::choose(p, q, d, f).map(|(c, _)| c)
    }

    #[test]
    fn auto_is_bf16_only_where_the_cpu_has_it() {
        let cpu = Device::Cpu;
        assert_eq!(
            choose(Precision::Auto, None, cpu, Some("avx512_bf16")).unwrap(),
            Compute::Bf16
        );
        assert_eq!(
            choose(Precision::Auto, None, cpu, None).unwrap(),
            Compute::Fp32
        );
        assert_eq!(
            choose(Precision::Fp32, None, cpu, Some("amx_bf16")).unwrap(),
            Compute::Fp32
        );
        assert_eq!(
            choose(Precision::Auto, None, Device::Cuda(0), None).unwrap(),
            Compute::Fp32
        );
        assert_eq!(
            choose(Precision::Bf16, None, Device::Cuda(0), None).unwrap(),
            Compute::Bf16
        );
        let (_, line) = Compute::choose(Precision::Auto, None, cpu, Some("avx512_bf16")).unwrap();
        assert_eq!(line, "CPU has avx512_bf16: predicting in bf16");
    }

    #[test]
    fn bf16_without_it_and_int8_off_the_cpu_are_refused_with_the_reason() {
        let e = choose(Precision::Bf16, None, Device::Cpu, None).unwrap_err();
        assert_eq!(
            e.to_string(),
            "--precision bf16: this CPU has neither amx_bf16 nor avx512_bf16 in /proc/cpuinfo's flags, \
             so bf16 would be emulated (slower than fp32); pass --precision fp32 or auto (fp32 on this CPU), \
             or --quantize int8"
        );
        let q = Some(Quantize::Int8);
        assert!(choose(Precision::Auto, q, Device::Cuda(0), None)
            .unwrap_err()
            .to_string()
            .starts_with("--quantize int8 runs on the CPU only"));
        assert!(choose(Precision::Bf16, q, Device::Cpu, Some("avx512_bf16")).is_err());
        assert_eq!(
            choose(Precision::Auto, q, Device::Cpu, Some("avx512_bf16")).unwrap(),
            Compute::Int8
        );
    }
}
