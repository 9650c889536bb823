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
    /// On the CPU bf16 where it has it natively (AMX-BF16 or AVX512-BF16),
    /// else fp32; on a GPU bf16 from compute capability 8.0 (Ampere, Hopper),
    /// fp16 on 7.x (Volta, Turing), else fp32.
    #[default]
    Auto,
    Fp32,
    /// bf16 matmuls and attention (an error on a CPU without native bf16).
    Bf16,
    /// fp16 matmuls and attention (GPU only).
    Fp16,
}

/// `--quantize`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Quantize {
    /// The encoder's linear layers in int8 (dynamic quantization, fbgemm; CPU
    /// only; every family).
    Int8,
}

/// What the model computes in, as decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compute {
    Fp32,
    Bf16,
    Fp16,
    Int8,
}

/// What the choice depends on besides what was asked.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Hardware {
    pub device: Device,
    /// The CPU's native bf16 flag (util::cpu::native_bf16).
    pub cpu_bf16: Option<&'static str>,
    /// The GPU's compute capability, where NVML gave it.
    pub gpu_capability: Option<(i32, i32)>,
}

impl Compute {
    /// The name in the resume key and the log.
    pub fn name(self) -> &'static str {
        match self {
            Compute::Fp32 => "fp32",
            Compute::Bf16 => "bf16",
            Compute::Fp16 => "fp16",
            Compute::Int8 => "int8",
        }
    }

    /// Bytes of one activation in the matmuls.
    pub fn bytes(self) -> u64 {
        match self {
            Compute::Bf16 | Compute::Fp16 => 2,
            Compute::Fp32 | Compute::Int8 => 4,
        }
    }

    /// Decide, and the log line that says why.
    pub fn choose(
        precision: Precision,
        quantize: Option<Quantize>,
        hw: Hardware,
    ) -> Result<(Compute, String)> {
        if quantize == Some(Quantize::Int8) {
            return int8(precision, hw);
        }
        if hw.device == Device::Cpu {
            cpu(precision, hw.cpu_bf16)
        } else {
            Ok(gpu(precision, hw.gpu_capability))
        }
    }

    /// Set the loaded model up to compute this way.
    pub fn apply(self, lm: &mut LoadedModel) -> Result<()> {
        match self {
            Compute::Fp32 => lm.model.set_compute_kind(None),
            Compute::Bf16 => lm.model.set_compute_kind(Some(Kind::BFloat16)),
            Compute::Fp16 => lm.model.set_compute_kind(Some(Kind::Half)),
            Compute::Int8 => {
                lm.model.set_compute_kind(None);
                lm.model.quantize_int8()?;
            }
        }
        Ok(())
    }
}

fn int8(precision: Precision, hw: Hardware) -> Result<(Compute, String)> {
    if hw.device != Device::Cpu {
        return Err(Error::Usage(
            "--quantize int8 runs on the CPU only (fbgemm's int8 kernels): leave --cuda out, \
             or leave --quantize out (the GPU predicts in bf16 or fp16 by itself)"
                .into(),
        ));
    }
    if matches!(precision, Precision::Bf16 | Precision::Fp16) {
        return Err(Error::Usage(
            "--quantize int8 and a 16-bit --precision do not combine (int8 weights take fp32 \
             activations): pass one of them"
                .into(),
        ));
    }
    Ok((
        Compute::Int8,
        "predicting with int8 linear layers (dynamic quantization, fp32 activations)".into(),
    ))
}

fn cpu(precision: Precision, cpu_bf16: Option<&str>) -> Result<(Compute, String)> {
    Ok(match (precision, cpu_bf16) {
        (Precision::Fp32, _) => (Compute::Fp32, "predicting in fp32".into()),
        (Precision::Auto | Precision::Bf16, Some(flag)) => {
            (Compute::Bf16, format!("CPU has {flag}: predicting in bf16"))
        }
        (Precision::Auto, None) => (
            Compute::Fp32,
            format!(
                "CPU has neither {} nor {}: predicting in fp32",
                crate::util::cpu::BF16_FLAGS[0],
                crate::util::cpu::BF16_FLAGS[1]
            ),
        ),
        (Precision::Bf16, None) => {
            return Err(Error::Usage(format!(
                "--precision bf16: {}; pass --precision fp32 or auto (fp32 on this CPU), \
                 or --quantize int8",
                crate::util::cpu::no_bf16_reason()
            )))
        }
        (Precision::Fp16, _) => {
            return Err(Error::Usage(
                "--precision fp16 is for a GPU (--cuda): CPUs have no fast fp16 matmuls; \
                 pass --precision auto (bf16 where the CPU has it, else fp32) or --quantize int8"
                    .into(),
            ))
        }
    })
}

/// On a GPU every precision runs; `auto` takes the fastest one the card has
/// tensor cores for. bf16 before fp16 where both are there: its fp32 range
/// cannot overflow in a long sequence's activations.
fn gpu(precision: Precision, capability: Option<(i32, i32)>) -> (Compute, String) {
    let cc = capability.map_or("an unknown compute capability".into(), |(major, minor)| {
        format!("compute capability {major}.{minor}")
    });
    let compute = match (precision, capability) {
        (Precision::Fp32, _) => Compute::Fp32,
        (Precision::Bf16, _) => Compute::Bf16,
        (Precision::Fp16, _) => Compute::Fp16,
        (Precision::Auto, Some((major, _))) if major >= 8 => Compute::Bf16,
        (Precision::Auto, Some((7, _))) => Compute::Fp16,
        (Precision::Auto, _) => Compute::Fp32,
    };
    let why = match (precision, capability) {
        (Precision::Auto, None) => " (NVML did not say; --precision bf16 or fp16 to choose)",
        _ => "",
    };
    (
        compute,
        format!("GPU of {cc}: predicting in {}{why}", compute.name()),
    )
}

/// What [`set_up`] decided.
pub struct SetUp {
    pub compute: Compute,
    /// The lines that say what was set up (`hecjob: …`), for the caller to
    /// print on stderr once its run begins (stdout may be the text
    /// interface's JSON, and an error about the output comes alone).
    pub log: Vec<String>,
    /// On a GPU, what NVML said of it once the model was on it, or why it
    /// said nothing (gpu_batches::BatchSize::decide sizes batches from it).
    pub gpu: Option<std::result::Result<crate::worker::monitor::GpuFacts, String>>,
}

/// Threads from the job's grant, then the precision decided and applied.
pub fn set_up(
    lm: &mut LoadedModel,
    precision: Precision,
    quantize: Option<Quantize>,
    device: Device,
) -> Result<SetUp> {
    let threads = crate::worker::cpu::use_granted_threads();
    let gpu = (device != Device::Cpu).then(crate::worker::monitor::GpuFacts::read);
    let hw = Hardware {
        device,
        cpu_bf16: crate::util::cpu::native_bf16(),
        gpu_capability: gpu
            .as_ref()
            .and_then(|g| g.as_ref().ok())
            .and_then(|g| g.capability),
    };
    let (compute, line) = Compute::choose(precision, quantize, hw)?;
    compute.apply(lm)?;
    let log = threads
        .into_iter()
        .chain([line])
        .map(|l| format!("hecjob: {l}"))
        .collect();
    Ok(SetUp { compute, log, gpu })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn on_cpu(flag: Option<&'static str>) -> Hardware {
        Hardware {
            device: Device::Cpu,
            cpu_bf16: flag,
            gpu_capability: None,
        }
    }

    fn on_gpu(capability: Option<(i32, i32)>) -> Hardware {
        Hardware {
            device: Device::Cuda(0),
            cpu_bf16: None,
            gpu_capability: capability,
        }
    }

    fn choose(p: Precision, q: Option<Quantize>, hw: Hardware) -> Result<Compute> {
        Compute::choose(p, q, hw).map(|(c, _)| c)
    }

    #[test]
    fn auto_is_bf16_only_where_the_cpu_has_it() {
        let native = on_cpu(Some("avx512_bf16"));
        assert_eq!(
            choose(Precision::Auto, None, native).unwrap(),
            Compute::Bf16
        );
        assert_eq!(
            choose(Precision::Auto, None, on_cpu(None)).unwrap(),
            Compute::Fp32
        );
        assert_eq!(
            choose(Precision::Fp32, None, on_cpu(Some("amx_bf16"))).unwrap(),
            Compute::Fp32
        );
        let (_, line) = Compute::choose(Precision::Auto, None, native).unwrap();
        assert_eq!(line, "CPU has avx512_bf16: predicting in bf16");
    }

    /// Ampere and Hopper have bf16 tensor cores, Volta and Turing fp16 ones,
    /// Pascal neither; what was asked for runs on any.
    #[test]
    fn auto_on_a_gpu_follows_its_compute_capability() {
        let cases = [
            (Some((9, 0)), Compute::Bf16),
            (Some((8, 0)), Compute::Bf16),
            (Some((7, 5)), Compute::Fp16),
            (Some((7, 0)), Compute::Fp16),
            (Some((6, 1)), Compute::Fp32),
            (None, Compute::Fp32),
        ];
        for (cc, want) in cases {
            assert_eq!(
                choose(Precision::Auto, None, on_gpu(cc)).unwrap(),
                want,
                "{cc:?}"
            );
        }
        let (_, line) = Compute::choose(Precision::Auto, None, on_gpu(Some((9, 0)))).unwrap();
        assert_eq!(line, "GPU of compute capability 9.0: predicting in bf16");
        let (_, line) = Compute::choose(Precision::Auto, None, on_gpu(None)).unwrap();
        assert_eq!(
            line,
            "GPU of an unknown compute capability: predicting in fp32 (NVML did not say; \
             --precision bf16 or fp16 to choose)"
        );
        for (asked, want) in [
            (Precision::Fp16, Compute::Fp16),
            (Precision::Bf16, Compute::Bf16),
            (Precision::Fp32, Compute::Fp32),
        ] {
            assert_eq!(choose(asked, None, on_gpu(Some((6, 1)))).unwrap(), want);
        }
    }

    #[test]
    fn bf16_without_it_fp16_on_the_cpu_and_int8_off_it_are_refused_with_the_reason() {
        let e = choose(Precision::Bf16, None, on_cpu(None)).unwrap_err();
        assert_eq!(
            e.to_string(),
            "--precision bf16: this CPU has neither amx_bf16 nor avx512_bf16 in /proc/cpuinfo's flags, \
             so bf16 would be emulated (slower than fp32); pass --precision fp32 or auto (fp32 on this CPU), \
             or --quantize int8"
        );
        let e = choose(Precision::Fp16, None, on_cpu(Some("amx_bf16"))).unwrap_err();
        assert_eq!(
            e.to_string(),
            "--precision fp16 is for a GPU (--cuda): CPUs have no fast fp16 matmuls; pass \
             --precision auto (bf16 where the CPU has it, else fp32) or --quantize int8"
        );
        let q = Some(Quantize::Int8);
        assert_eq!(
            choose(Precision::Auto, q, on_gpu(Some((9, 0))))
                .unwrap_err()
                .to_string(),
            "--quantize int8 runs on the CPU only (fbgemm's int8 kernels): leave --cuda out, or \
             leave --quantize out (the GPU predicts in bf16 or fp16 by itself)"
        );
        for p in [Precision::Bf16, Precision::Fp16] {
            assert!(choose(p, q, on_cpu(Some("avx512_bf16"))).is_err());
        }
        assert_eq!(
            choose(Precision::Auto, q, on_cpu(Some("avx512_bf16"))).unwrap(),
            Compute::Int8
        );
    }
}
