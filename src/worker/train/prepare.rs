//! Phase 1 of a run: threads, device and precision, the data (and its record,
//! named in metrics.json), the model, the encoded splits, the loss the data's
//! task calls for, the optimizer and the learning-rate schedule.

use super::data::{encode_splits_cached, read_data, Encoded, Splits};
use super::device::{choose_device, compute_kind, enable_tf32};
use super::loss::Loss;
use super::optim::FlatAdam;
use super::trainer::RunSpec;
use crate::data::spec::Task;
use crate::experiment::config::{LrSchedule, Precision};
use crate::jobdir::data_record::DataRecord;
use crate::util::error::{Error, Result};
use crate::worker::model::saved::LoadedModel;
use tch::{Device, Kind};

/// What the run trains with, prepared before the first step: the device and
/// compute kind, the labels, the model, the three encoded splits, the
/// optimizer and the learning-rate schedule.
pub(super) struct Prepared {
    pub(super) device: Device,
    pub(super) kind: Option<Kind>,
    pub(super) labels: Vec<String>,
    /// Multi-label (sigmoid, thresholds) or single-label (softmax, argmax).
    pub(super) task: Task,
    /// Whether the data has a test split (without one, nothing is tested).
    pub(super) has_test: bool,
    /// The data the run read, for metrics.json's `data`.
    pub(super) data_record: DataRecord,
    pub(super) loss: Loss,
    pub(super) lm: LoadedModel,
    pub(super) pad_id: i64,
    pub(super) train: Encoded,
    pub(super) dev: Encoded,
    pub(super) test: Encoded,
    pub(super) opt: FlatAdam,
    /// Token count of each training text (batches are built from these).
    pub(super) lengths: Vec<usize>,
    pub(super) steps_per_epoch: u64,
    pub(super) total_steps: u64,
    pub(super) warmup: u64,
    pub(super) decay: bool,
}

/// Phase 1: threads, device and precision, the data, the model, the encoded
/// splits, the optimizer and the schedule.
pub(super) fn prepare(spec: &RunSpec) -> Result<Prepared> {
    let p = &spec.params;
    if let Some(line) = crate::worker::cpu::use_granted_threads() {
        println!("hecjob train: {line}");
    }
    let (device, kind) = device_and_precision(spec)?;
    let mut data = read_data(spec)?;
    let data_record = record_data(spec, &mut data)?;
    println!("{}", data_line(&data_record, &data));
    if let Some(ids) = &data.loaded.held_out {
        // Beside the run too (the job directory has them when there is one), so
        // the split can be reproduced from the run alone.
        let mut text = ids.join("\n");
        text.push('\n');
        crate::util::fsutil::write_atomic(
            &spec
                .save_dir
                .join(crate::jobdir::data_record::HELD_OUT_FILE),
            text.as_bytes(),
        )?;
    }
    tch::manual_seed(p.seed as i64);
    let model_dir = crate::worker::model::saved::resolve(&spec.model, spec.revision.as_deref())?;
    let mut lm = LoadedModel::new_for_training(
        &model_dir,
        &data.labels,
        p.dropout,
        p.max_length as usize,
        device,
        spec.limits.random_init,
    )?;
    lm.model.set_compute_kind(kind);
    let pad_id = lm.config.pad_token_id;
    let (train, dev, test) = encode_splits_cached(&lm, &model_dir, spec, &data)?;
    let task = spec.data.spec.task;
    let loss = Loss::new(
        task,
        spec.data.spec.pos_weight,
        &train.labels,
        &data.labels,
        device,
    );
    let opt = FlatAdam::new(&lm.vs, p.optimizer, p.weight_decay);
    let lengths: Vec<usize> = train.ids.iter().map(Vec::len).collect();
    let batches_per_epoch = lengths.len().div_ceil(p.batch_size as usize) as u64;
    let steps_per_epoch = spec
        .limits
        .max_steps_per_epoch
        .map_or(batches_per_epoch, |m| m.min(batches_per_epoch));
    let total_steps = steps_per_epoch * u64::from(p.epochs);
    Ok(Prepared {
        device,
        kind,
        labels: data.labels,
        task,
        has_test: data.has_test,
        data_record,
        loss,
        lm,
        pad_id,
        train,
        dev,
        test,
        opt,
        lengths,
        steps_per_epoch,
        total_steps,
        warmup: (p.warmup_ratio * total_steps as f64).round() as u64,
        decay: p.lr_schedule == LrSchedule::Linear,
    })
}

/// The device and the kind it computes in (bf16 autocast on a GPU, or on a
/// CPU with native bf16), TF32 and cuDNN autotuning set up, and the run's
/// first line printed.
fn device_and_precision(spec: &RunSpec) -> Result<(Device, Option<Kind>)> {
    let p = &spec.params;
    let device = choose_device(p.device)?;
    let cpu_bf16 = crate::util::cpu::native_bf16();
    if p.precision == Precision::Bf16 && device == Device::Cpu && cpu_bf16.is_none() {
        // It would be emulated: slower than fp32, for nothing.
        return Err(Error::Usage(format!(
            "precision bf16 on the CPU needs native bf16, and {}: use fp32 or auto on this CPU, or --cuda / device: cuda",
            crate::util::cpu::no_bf16_reason()
        )));
    }
    let kind = compute_kind(p.precision, device, cpu_bf16);
    let tf32 = enable_tf32(p.precision, device);
    if let Device::Cuda(_) = device {
        tch::Cuda::cudnn_set_benchmark(true);
    }
    println!(
        "hecjob train: model {} on {:?}{}, batch {}, lr {:e}, {} epoch{}",
        spec.model,
        device,
        match (kind, device, cpu_bf16) {
            (Some(_), Device::Cpu, Some(flag)) => {
                format!(" (bf16 autocast on the CPU's {flag}, fp32 master weights)")
            }
            (Some(_), ..) => " (bf16 autocast, fp32 master weights)".into(),
            _ if tf32 => " (fp32, TF32 matmuls)".into(),
            _ => " (fp32)".to_string(),
        },
        p.batch_size,
        p.learning_rate,
        p.epochs,
        if p.epochs == 1 { "" } else { "s" }
    );
    Ok((device, kind))
}

/// The record of the data the run read (the files hashed once: by the check
/// against the job's record when there is one, else here),
/// with each split's label counts over the examples the run uses (train cut to
/// `train_limit`; dev and test empty under `skip_eval`).
fn record_data(spec: &RunSpec, data: &mut Splits) -> Result<DataRecord> {
    // read_data moved the splits out of `loaded`; lend them back for the count.
    let ds = &mut data.loaded.dataset;
    std::mem::swap(&mut ds.train, &mut data.train);
    std::mem::swap(&mut ds.dev, &mut data.dev);
    std::mem::swap(&mut ds.test, &mut data.test);
    let record = crate::data::record::record(
        &data.loaded,
        &spec.data.spec,
        &spec.data.sources,
        data.record.as_ref(),
    );
    let ds = &mut data.loaded.dataset;
    std::mem::swap(&mut ds.train, &mut data.train);
    std::mem::swap(&mut ds.dev, &mut data.dev);
    std::mem::swap(&mut ds.test, &mut data.test);
    record
}

/// The run's line about its data: `data: <format>, <task>, <n> labels,
/// <train>/<dev>/<test> examples`, and whether dev was held out of train or
/// there is no test split.
fn data_line(r: &DataRecord, data: &Splits) -> String {
    let mut line = format!(
        "data: {}, {}, {} labels, {}/{}/{} examples",
        r.format,
        r.task,
        r.labels.len(),
        data.train.len(),
        data.dev.len(),
        data.test.len(),
    );
    if r.held_out.is_some() {
        line.push_str(", dev held out of train");
    }
    if !data.has_test {
        line.push_str(", no test");
    }
    line
}
