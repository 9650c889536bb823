//! Tokenized examples → padded batches.
//!
//! Texts are tokenized once up front. Batches are padded to their longest text
//! (as the tutorial does). With length buckets, shuffled indices are cut into
//! chunks of 50 batches, each chunk sorted by length and split into batches, and
//! the batches shuffled again: still random, but with little padding.

use crate::data::spec::Task;
use std::time::{Duration, Instant};
use tch::{Device, Kind, Tensor};

/// A deterministic shuffle source (splitmix64): the order depends only on the
/// seed and epoch, so a resumed run sees the same batches as an uninterrupted one.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64, stream: u64) -> Rng {
        Rng(seed ^ stream.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ 0xD1B5_4A32_D192_ED03)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    pub fn shuffle<T>(&mut self, v: &mut [T]) {
        for i in (1..v.len()).rev() {
            let j = (self.next_u64() % (i as u64 + 1)) as usize;
            v.swap(i, j);
        }
    }
}

/// Indices of each batch for one epoch.
pub fn epoch_batches(
    lengths: &[usize],
    batch_size: usize,
    buckets: bool,
    rng: &mut Rng,
) -> Vec<Vec<usize>> {
    let mut order: Vec<usize> = (0..lengths.len()).collect();
    rng.shuffle(&mut order);
    if !buckets {
        return order.chunks(batch_size).map(<[usize]>::to_vec).collect();
    }
    let chunk = batch_size * 50;
    let mut batches: Vec<Vec<usize>> = Vec::new();
    for c in order.chunks(chunk) {
        let mut c = c.to_vec();
        // Stable sort: equal lengths keep their shuffled order.
        c.sort_by_key(|&i| lengths[i]);
        batches.extend(c.chunks(batch_size).map(<[usize]>::to_vec));
    }
    rng.shuffle(&mut batches);
    batches
}

/// A batch on the device: ids and mask [batch, longest], targets [batch, labels].
pub struct Batch {
    pub ids: Tensor,
    pub mask: Tensor,
    pub targets: Tensor,
}

/// Host → device staging. A batch (ids, mask and multi-hot targets) travels as
/// ONE int64 transfer from page-locked memory, so the copy is asynchronous and
/// the host does not wait for the GPU. Page-locked buffers are allocated once and
/// used in turn. Before the ring wraps around, the host waits for the device
/// once (every `RING` batches), so no buffer is overwritten while an earlier
/// copy from it may still be pending.
pub struct Stager {
    device: Device,
    /// Buffers in the ring (RING when training).
    slots: usize,
    ring: Vec<Tensor>,
    next: usize,
    host: Vec<i64>,
    /// Time spent in those waits: near zero when the host is the bottleneck
    /// (kernel launches), large when the GPU is.
    waited: Duration,
}

const RING: usize = 32;

impl Stager {
    pub fn new(device: Device) -> Stager {
        Stager::with_slots(device, RING)
    }

    /// For prediction, where each batch's probabilities are copied back
    /// (a wait for the device) before the next batch is staged: two buffers
    /// are all the ring needs, and a memory-sized GPU batch can be tens of
    /// megabytes of page-locked memory each.
    pub fn for_inference(device: Device) -> Stager {
        Stager::with_slots(device, 2)
    }

    fn with_slots(device: Device, slots: usize) -> Stager {
        Stager {
            device,
            slots,
            ring: Vec::new(),
            next: 0,
            host: Vec::new(),
            waited: Duration::ZERO,
        }
    }

    /// Time the host waited for the device since the last call.
    pub fn take_waited(&mut self) -> Duration {
        std::mem::take(&mut self.waited)
    }

    pub fn batch(
        &mut self,
        ids: &[Vec<i64>],
        labels: &[Vec<usize>],
        idx: &[usize],
        pad_id: i64,
        n_labels: usize,
    ) -> Batch {
        let longest = idx.iter().map(|&i| ids[i].len()).max().unwrap_or(1).max(1);
        let b = idx.len();
        let (n_ids, n_targets) = (b * longest, b * n_labels);
        let h = &mut self.host;
        h.clear();
        h.resize(2 * n_ids + n_targets, 0);
        for (row, &i) in idx.iter().enumerate() {
            let t = &ids[i];
            let at = row * longest;
            h[at..at + t.len()].copy_from_slice(t);
            h[at + t.len()..at + longest].fill(pad_id);
            h[n_ids + at..n_ids + at + t.len()].fill(1);
            for &l in &labels[i] {
                h[2 * n_ids + row * n_labels + l] = 1;
            }
        }
        let staged = Tensor::from_slice(h.as_slice());
        let on_device = match self.device {
            Device::Cpu => staged,
            device => {
                let need = h.len() as i64;
                let slot = self.next % self.slots;
                if slot == 0 && self.next > 0 {
                    let t = Instant::now();
                    sync(device);
                    self.waited += t.elapsed();
                }
                self.next += 1;
                if self.ring.len() <= slot || self.ring[slot].numel() < h.len() {
                    let cap = (need * 2).max(1 << 16);
                    let buf = Tensor::empty([cap], (Kind::Int64, Device::Cpu)).pin_memory(device);
                    if self.ring.len() <= slot {
                        self.ring.push(buf);
                    } else {
                        self.ring[slot] = buf;
                    }
                }
                let mut dst = self.ring[slot].narrow(0, 0, need);
                dst.copy_(&staged);
                dst.to_device_(device, Kind::Int64, true, false)
            }
        };
        let shape = [b as i64, longest as i64];
        Batch {
            ids: on_device.narrow(0, 0, n_ids as i64).view(shape),
            mask: on_device.narrow(0, n_ids as i64, n_ids as i64).view(shape),
            targets: on_device
                .narrow(0, 2 * n_ids as i64, n_targets as i64)
                .view([b as i64, n_labels as i64])
                .to_kind(Kind::Float),
        }
    }
}

/// Wait until the GPU has finished all queued work (nothing to wait for on the CPU).
pub fn sync(device: Device) {
    if let Device::Cuda(i) = device {
        tch::Cuda::synchronize(i as i64);
    }
}

/// Per-label probabilities (sigmoid) for every example, in the input order:
/// [`predict_probs_for`] of multi-label data.
pub fn predict_probs(
    model: &crate::worker::model::classifier::Classifier,
    ids: &[Vec<i64>],
    pad_id: i64,
    batch_size: usize,
    device: Device,
) -> Vec<Vec<f32>> {
    predict_probs_for(Task::MultiLabel, model, ids, pad_id, batch_size, device)
}

/// Probabilities for every example, in the input order, as `task` reads the
/// logits: per label (sigmoid) for multi-label data, over the classes
/// (softmax, summing to 1) for single-label data. Batches are formed by
/// length (fastest) and the results put back in place.
pub fn predict_probs_for(
    task: Task,
    model: &crate::worker::model::classifier::Classifier,
    ids: &[Vec<i64>],
    pad_id: i64,
    batch_size: usize,
    device: Device,
) -> Vec<Vec<f32>> {
    let order = by_length(ids);
    let batches: Vec<&[usize]> = order.chunks(batch_size).collect();
    predict_probs_in(task, model, ids, pad_id, &batches, device)
}

/// The examples' indices from the shortest to the longest (ties in input
/// order): the order [`predict_probs_in`]'s batches are cut from.
pub fn by_length(ids: &[Vec<i64>]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..ids.len()).collect();
    order.sort_by_key(|&i| ids[i].len());
    order
}

/// [`predict_probs_for`] with the batches given: each a list of indices
/// into `ids`, every index in exactly one batch.
pub fn predict_probs_in(
    task: Task,
    model: &crate::worker::model::classifier::Classifier,
    ids: &[Vec<i64>],
    pad_id: i64,
    batches: &[&[usize]],
    device: Device,
) -> Vec<Vec<f32>> {
    let n_labels = model.num_labels() as usize;
    let mut out = vec![Vec::new(); ids.len()];
    let no_labels: Vec<Vec<usize>> = vec![Vec::new(); ids.len()];
    let mut stager = Stager::for_inference(device);
    tch::no_grad(|| {
        for &chunk in batches {
            let batch = stager.batch(ids, &no_labels, chunk, pad_id, n_labels);
            let logits = model.forward_t(&batch.ids, &batch.mask, false);
            let probs = match task {
                Task::MultiLabel => logits.sigmoid(),
                Task::SingleLabel => logits.softmax(-1, Kind::Float),
            }
            .to_device(Device::Cpu)
            .contiguous();
            let flat: Vec<f32> =
                Vec::<f32>::try_from(&probs.view([-1])).expect("f32 probabilities");
            for (row, &i) in chunk.iter().enumerate() {
                out[i] = flat[row * n_labels..(row + 1) * n_labels].to_vec();
            }
        }
    });
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batches_cover_every_example_once_and_are_deterministic() {
        let lengths: Vec<usize> = (0..1000).map(|i| (i * 7919) % 61 + 3).collect();
        for buckets in [false, true] {
            let a = epoch_batches(&lengths, 16, buckets, &mut Rng::new(1, 2));
            let b = epoch_batches(&lengths, 16, buckets, &mut Rng::new(1, 2));
            assert_eq!(a, b);
            let mut all: Vec<usize> = a.concat();
            all.sort();
            assert_eq!(all, (0..1000).collect::<Vec<_>>());
            let c = epoch_batches(&lengths, 16, buckets, &mut Rng::new(1, 3));
            assert_ne!(a, c, "another epoch shuffles differently");
        }
    }

    #[test]
    fn buckets_cut_padding() {
        let lengths: Vec<usize> = (0..3200).map(|i| (i * 7919) % 61 + 3).collect();
        let pad = |bs: &Vec<Vec<usize>>| -> usize {
            bs.iter()
                .map(|b| {
                    let m = b.iter().map(|&i| lengths[i]).max().unwrap();
                    b.iter().map(|&i| m - lengths[i]).sum::<usize>()
                })
                .sum()
        };
        let plain = pad(&epoch_batches(&lengths, 16, false, &mut Rng::new(0, 0)));
        let bucketed = pad(&epoch_batches(&lengths, 16, true, &mut Rng::new(0, 0)));
        assert!(bucketed * 5 < plain, "{bucketed} vs {plain}");
    }

    #[test]
    fn batch_is_padded_to_longest() {
        let ids = vec![vec![1, 2, 3], vec![4]];
        let labels = vec![vec![0, 2], vec![1]];
        let b = Stager::new(Device::Cpu).batch(&ids, &labels, &[1, 0], 9, 3);
        assert_eq!(b.ids.size(), vec![2, 3]);
        assert_eq!(
            Vec::<i64>::try_from(&b.ids.view([-1])).unwrap(),
            vec![4, 9, 9, 1, 2, 3]
        );
        assert_eq!(
            Vec::<i64>::try_from(&b.mask.view([-1])).unwrap(),
            vec![1, 0, 0, 1, 1, 1]
        );
        assert_eq!(
            Vec::<f32>::try_from(&b.targets.view([-1])).unwrap(),
            vec![0., 1., 0., 1., 0., 1.]
        );
    }
}
