//! GPU batches as large as the card's memory allows (`--batch-size auto` with
//! `--cuda`).
//!
//! A GPU is fastest with as many tokens per forward pass as fit, and how many
//! fit depends on the card, the model and the sequence length; a fixed batch
//! size is either too small for an H100 or too large for a small card. So the
//! free memory NVML reports once the model is loaded becomes a budget, and
//! each length-sorted batch takes rows while its estimated peak of
//! activations stays inside it.
//!
//! The estimate is of one encoder layer's peak under `no_grad` (earlier
//! layers' activations are freed as the next one runs): the residual stream,
//! its LayerNorm and the cast input in fp32, q/k/v, the context and the
//! feed-forward's two intermediate tensors in the compute precision, and the
//! attention maps (scores, probabilities; DeBERTa's two relative-position
//! maps besides) in fp32 as the softmax sees them; a quarter more for the
//! allocator's rounding. It errs high: a batch that overflows stops the run,
//! one a little smaller than possible costs a few percent.

use crate::worker::model::config::{Architecture, EncoderConfig};

/// What the card keeps back from the budget: cuBLAS and cuDNN workspaces,
/// the CUDA context's growth, and the probabilities copied back.
const RESERVE_BYTES: u64 = 1 << 30;

/// The share of the free memory (after the reserve) the activations may take.
const SHARE_NUMERATOR: u64 = 3;
const SHARE_DENOMINATOR: u64 = 4;

/// The activation budget for `free` bytes of free GPU memory.
pub fn budget(free: u64) -> u64 {
    free.saturating_sub(RESERVE_BYTES) / SHARE_DENOMINATOR * SHARE_NUMERATOR
}

/// `--batch-size`: a number of rows, or `auto`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BatchSize {
    /// 64 rows on the CPU; on a GPU as many as its free memory allows.
    Auto,
    Rows(usize),
}

impl std::str::FromStr for BatchSize {
    type Err = String;
    fn from_str(s: &str) -> Result<BatchSize, String> {
        match s {
            "auto" => Ok(BatchSize::Auto),
            _ => match s.parse::<usize>() {
                Ok(n) if n >= 1 => Ok(BatchSize::Rows(n)),
                _ => Err(format!(
                    "expected `auto` or a whole number of rows, at least 1; got `{s}`"
                )),
            },
        }
    }
}

/// How a run cuts its batches, as decided.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Batching {
    /// Rows per batch at most.
    pub max_rows: usize,
    /// On a GPU sized by memory: the activation budget in bytes.
    pub memory: Option<u64>,
}

/// Rows per batch on the CPU, and on a GPU NVML cannot read.
pub const CPU_ROWS: usize = 64;
const GPU_ROWS_WITHOUT_NVML: usize = 256;

impl Batching {
    /// `order` (row indices by ascending length) cut into batches:
    /// `max_rows` at a time, or on a GPU as many as `footprint` estimates
    /// to fit the memory budget.
    pub fn cut<'a>(
        &self,
        order: &'a [usize],
        len: impl Fn(usize) -> usize,
        footprint: Footprint,
    ) -> Vec<&'a [usize]> {
        match self.memory {
            None => order.chunks(self.max_rows).collect(),
            Some(budget) => cut(order, len, self.max_rows, |rows, longest| {
                footprint.batch_bytes(rows, longest) <= budget
            }),
        }
    }
}

impl BatchSize {
    /// Decide for `device`; `window` caps a memory-sized batch. The line
    /// says what a GPU's batches were sized from.
    pub fn decide(
        self,
        gpu: Option<Result<crate::worker::monitor::GpuFacts, String>>,
        window: usize,
    ) -> (Batching, Option<String>) {
        let rows = |max_rows| Batching {
            max_rows,
            memory: None,
        };
        match (self, gpu) {
            (BatchSize::Rows(n), _) => (rows(n), None),
            (BatchSize::Auto, None) => (rows(CPU_ROWS), None),
            (BatchSize::Auto, Some(Err(why))) => (
                rows(GPU_ROWS_WITHOUT_NVML),
                Some(format!(
                    "{why}: batches of {GPU_ROWS_WITHOUT_NVML} rows (--batch-size N to choose)"
                )),
            ),
            (BatchSize::Auto, Some(Ok(facts))) => {
                let memory = budget(facts.free_bytes);
                let gib = |b: u64| b as f64 / (1u64 << 30) as f64;
                let line = format!(
                    "{}: {:.1} GiB free; batches of up to {window} rows within {:.1} GiB of activations",
                    facts.name.as_deref().unwrap_or("GPU"),
                    gib(facts.free_bytes),
                    gib(memory)
                );
                (
                    Batching {
                        max_rows: window,
                        memory: Some(memory),
                    },
                    Some(line),
                )
            }
        }
    }
}

/// The sizes one layer's activations scale with.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Footprint {
    hidden: u64,
    intermediate: u64,
    heads: u64,
    /// Attention maps of `heads × len × len` alive at once.
    maps: u64,
    /// Bytes of one activation in the matmuls (2 in bf16/fp16).
    element: u64,
}

impl Footprint {
    pub fn of(config: &EncoderConfig, element_bytes: u64) -> Footprint {
        let positive = |v: i64| v.max(1) as u64;
        let intermediate = positive(config.intermediate_size);
        Footprint {
            hidden: positive(config.hidden_size),
            // GeGLU's input projection is twice as wide: 3 intermediate
            // tensors where the others have 2.
            intermediate: match config.model_type {
                Architecture::ModernBert => intermediate * 3 / 2,
                _ => intermediate,
            },
            heads: positive(config.num_attention_heads),
            maps: match config.model_type {
                Architecture::DebertaV2 => 4,
                _ => 2,
            },
            element: element_bytes,
        }
    }

    /// Estimated peak bytes of a batch of `rows` sequences padded to `len`.
    pub fn batch_bytes(&self, rows: u64, len: u64) -> u64 {
        let per_token =
            4 * 3 * self.hidden + self.element * (5 * self.hidden + 2 * self.intermediate);
        let attention = (4 * self.maps * self.heads).saturating_mul(len);
        let exact = rows
            .saturating_mul(len)
            .saturating_mul(per_token.saturating_add(attention));
        exact.saturating_add(exact / 4)
    }
}

/// Cut `order` (row indices sorted by ascending length) into consecutive
/// batches: each as long as `fits(rows, longest)` allows and at most
/// `max_rows`, and never empty (a single row that does not fit is tried
/// alone: the card's error then names the problem, not an endless loop).
pub fn cut(
    order: &[usize],
    len: impl Fn(usize) -> usize,
    max_rows: usize,
    fits: impl Fn(u64, u64) -> bool,
) -> Vec<&[usize]> {
    let mut batches = Vec::new();
    let mut start = 0;
    while start < order.len() {
        let mut end = start + 1;
        while end < order.len()
            && end - start < max_rows
            && fits((end + 1 - start) as u64, len(order[end]) as u64)
        {
            end += 1;
        }
        batches.push(&order[start..end]);
        start = end;
    }
    batches
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bert_base() -> Footprint {
        Footprint {
            hidden: 768,
            intermediate: 3072,
            heads: 12,
            maps: 2,
            element: 2,
        }
    }

    use crate::worker::monitor::GpuFacts;

    #[test]
    fn batch_size_is_auto_or_rows_and_auto_follows_the_device() {
        assert_eq!("auto".parse::<BatchSize>(), Ok(BatchSize::Auto));
        assert_eq!("32".parse::<BatchSize>(), Ok(BatchSize::Rows(32)));
        assert_eq!(
            "0".parse::<BatchSize>(),
            Err("expected `auto` or a whole number of rows, at least 1; got `0`".into())
        );
        let fixed = |max_rows| Batching {
            max_rows,
            memory: None,
        };
        assert_eq!(BatchSize::Auto.decide(None, 4096), (fixed(CPU_ROWS), None));
        let h100 = GpuFacts {
            name: Some("NVIDIA H100 80GB HBM3".into()),
            free_bytes: 41 << 30,
            capability: Some((9, 0)),
        };
        let (b, line) = BatchSize::Auto.decide(Some(Ok(h100.clone())), 4096);
        assert_eq!(
            b,
            Batching {
                max_rows: 4096,
                memory: Some(30 << 30)
            }
        );
        assert_eq!(
            line.unwrap(),
            "NVIDIA H100 80GB HBM3: 41.0 GiB free; batches of up to 4096 rows within 30.0 GiB of activations"
        );
        assert_eq!(
            BatchSize::Rows(8).decide(Some(Ok(h100)), 4096),
            (fixed(8), None)
        );
        let (b, line) =
            BatchSize::Auto.decide(Some(Err("NVML unavailable: no driver".into())), 4096);
        assert_eq!(b, fixed(256));
        assert_eq!(
            line.unwrap(),
            "NVML unavailable: no driver: batches of 256 rows (--batch-size N to choose)"
        );
    }

    #[test]
    fn the_budget_keeps_a_reserve_and_a_quarter_back() {
        assert_eq!(budget(0), 0);
        assert_eq!(budget(RESERVE_BYTES), 0);
        assert_eq!(budget(RESERVE_BYTES + 4_000), 3_000);
    }

    /// BERT-base in bf16 on an H100 with 75 GiB free: some thousands of
    /// 128-token rows per batch, a few hundred of 512 tokens; fp32 fewer.
    #[test]
    fn a_bert_base_batch_on_a_large_card_is_large_and_shrinks_with_length() {
        let b = budget(75 << 30);
        let rows_at = |f: Footprint, len: u64| b / f.batch_bytes(1, len);
        let bf16 = bert_base();
        assert!(
            (1000..20_000).contains(&rows_at(bf16, 128)),
            "{}",
            rows_at(bf16, 128)
        );
        assert!(rows_at(bf16, 512) < rows_at(bf16, 128) / 3);
        let fp32 = Footprint { element: 4, ..bf16 };
        assert!(rows_at(fp32, 128) < rows_at(bf16, 128));
        let deberta = Footprint { maps: 4, ..bf16 };
        assert!(rows_at(deberta, 512) < rows_at(bf16, 512));
        assert_eq!(bf16.batch_bytes(0, 128), 0);
        assert_eq!(bf16.batch_bytes(u64::MAX, u64::MAX), u64::MAX);
    }

    #[test]
    fn batches_cover_the_order_once_in_order_within_the_limits() {
        let lengths: Vec<usize> = (0..500).map(|i| 3 + i / 5).collect();
        let order: Vec<usize> = (0..500).collect();
        let budget_tokens = 2000u64;
        let batches = cut(
            &order,
            |i| lengths[i],
            64,
            |rows, len| rows * len <= budget_tokens,
        );
        assert_eq!(batches.concat(), order);
        for b in &batches {
            let longest = b.iter().map(|&i| lengths[i]).max().unwrap() as u64;
            assert!(b.len() <= 64);
            assert!(b.len() == 1 || b.len() as u64 * longest <= budget_tokens);
        }
        // Short rows fill a batch up to max_rows; long ones make smaller batches.
        assert_eq!(batches[0].len(), 64);
        assert!(batches[batches.len() - 2].len() <= 20);
    }

    #[test]
    fn a_row_that_fits_nowhere_goes_alone() {
        let order = [0, 1, 2];
        let batches = cut(&order, |_| 1000, 8, |_, _| false);
        assert_eq!(batches, vec![&[0][..], &[1][..], &[2][..]]);
        assert!(cut(&[], |_| 1, 8, |_, _| true).is_empty());
    }
}
