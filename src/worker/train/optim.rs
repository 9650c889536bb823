//! Adam / AdamW through libtorch's fused kernel, with the moments in ONE flat
//! buffer each.
//!
//! A step is one call into `_fused_adam_` / `_fused_adamw_`
//! (csrc/fused_adam.cpp; tch has no binding): on CUDA a few multi-tensor
//! kernels that read each parameter, gradient and moment once; on the CPU one
//! vectorised loop. The parameters stay the VarStore's tensors, the moments are
//! views into two flat buffers, and the gradients are the tensors autograd
//! returned, passed as a list: no gradient buffer to gather into (0.44 GB less
//! for BERT-base) and nothing to zero. The state (moments, step) is plain
//! tensors, so checkpoints save and restore it exactly.

use crate::experiment::config::Optimizer;
use crate::util::error::{Error, Result};
use std::ffi::{c_char, c_int, CStr};
use std::path::Path;
use tch::{Device, Kind, Tensor};
use torch_sys::C_tensor;

extern "C" {
    fn hecjob_fused_adam(
        params: *const *const C_tensor,
        grads: *const *const C_tensor,
        exp_avgs: *const *const C_tensor,
        exp_avg_sqs: *const *const C_tensor,
        step: *const C_tensor,
        n: usize,
        lr: f64,
        beta1: f64,
        beta2: f64,
        weight_decay: f64,
        eps: f64,
        decoupled_weight_decay: c_int,
    ) -> *mut c_char;
    fn hecjob_free_error(message: *mut c_char);
}

pub struct FlatAdam {
    /// The variables: weight-decayed ones first, then biases and LayerNorm
    /// weights, each group sorted by name.
    params: Vec<Tensor>,
    names: Vec<String>,
    /// `params[..n_decay_params]` get weight decay (BERT's recipe: not biases
    /// or LayerNorm weights).
    n_decay_params: usize,
    exp_avg: Tensor,
    exp_avg_sq: Tensor,
    /// Views of the moments shaped like `params`, element for element.
    exp_avg_views: Vec<Tensor>,
    exp_avg_sq_views: Vec<Tensor>,
    /// The step count as the fused kernel reads it: float32 on the device.
    step_tensor: Tensor,
    step: i64,
    kind: Optimizer,
    weight_decay: f64,
    beta1: f64,
    beta2: f64,
    eps: f64,
}

fn decays(name: &str) -> bool {
    !(name.ends_with(".bias") || name.contains("LayerNorm"))
}

/// Views of `flat` with the shapes of `like`, laid end to end.
fn views_like(flat: &Tensor, like: &[Tensor]) -> Vec<Tensor> {
    let mut off = 0i64;
    like.iter()
        .map(|t| {
            let n = t.numel() as i64;
            let v = flat.narrow(0, off, n).view(t.size().as_slice());
            off += n;
            v
        })
        .collect()
}

fn handles(tensors: &[Tensor]) -> Vec<*const C_tensor> {
    tensors.iter().map(Tensor::as_ptr).collect()
}

impl FlatAdam {
    /// Takes every variable of `vs`.
    pub fn new(vs: &tch::nn::VarStore, kind: Optimizer, weight_decay: f64) -> FlatAdam {
        let mut vars: Vec<(String, Tensor)> = vs.variables().into_iter().collect();
        vars.sort_by(|a, b| (!decays(&a.0), &a.0).cmp(&(!decays(&b.0), &b.0)));
        let device = vs.device();
        let total: i64 = vars.iter().map(|(_, t)| t.numel() as i64).sum();
        let n_decay_params = vars.iter().filter(|(n, _)| decays(n)).count();
        let (names, params): (Vec<String>, Vec<Tensor>) = vars.into_iter().unzip();
        let exp_avg = Tensor::zeros([total], (Kind::Float, device));
        let exp_avg_sq = exp_avg.zeros_like();
        FlatAdam {
            exp_avg_views: views_like(&exp_avg, &params),
            exp_avg_sq_views: views_like(&exp_avg_sq, &params),
            params,
            names,
            exp_avg,
            exp_avg_sq,
            step_tensor: Tensor::zeros([], (Kind::Float, device)),
            n_decay_params,
            step: 0,
            kind,
            weight_decay,
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
        }
    }

    fn numel(&self) -> i64 {
        self.exp_avg.numel() as i64
    }

    /// Gradients of `loss` w.r.t. every parameter, in `params` order.
    pub fn backward(&self, loss: &Tensor) -> Result<Vec<Tensor>> {
        let grads = Tensor::run_backward(&[loss], &self.params, false, false);
        if let Some(i) = grads.iter().position(|g| !g.defined()) {
            return Err(Error::Training(format!(
                "parameter {} gets no gradient from the loss (is it used by the model?)",
                self.names[i]
            )));
        }
        Ok(grads)
    }

    /// One Adam(W) step with learning rate `lr`, torch.optim semantics (bias
    /// correction, eps outside the sqrt; Adam adds L2 to the gradient, AdamW
    /// decays the weights directly, and only the weight matrices). `grads` may
    /// be overwritten. An error leaves the state unusable (AdamW's first group
    /// may be updated already): it ends the run, whose last checkpoint stays.
    pub fn step(&mut self, grads: &[Tensor], lr: f64) -> Result<()> {
        assert_eq!(grads.len(), self.params.len(), "one gradient per parameter");
        let next = self.step + 1;
        tch::no_grad(|| -> Result<()> {
            let _ = self.step_tensor.fill_(next as f64);
            let split = self.n_decay_params;
            match self.kind {
                // AdamW as BERT trains it: decoupled decay, not on biases and LayerNorm weights.
                Optimizer::Adamw => {
                    self.fused(0..split, grads, lr, self.weight_decay, true)?;
                    self.fused(split..self.params.len(), grads, lr, 0.0, true)
                }
                // torch.optim.Adam: L2 added to every gradient.
                Optimizer::Adam => {
                    self.fused(0..self.params.len(), grads, lr, self.weight_decay, false)
                }
            }
        })?;
        self.step = next;
        Ok(())
    }

    fn fused(
        &self,
        range: std::ops::Range<usize>,
        grads: &[Tensor],
        lr: f64,
        weight_decay: f64,
        decoupled: bool,
    ) -> Result<()> {
        if range.is_empty() {
            return Ok(());
        }
        let p = handles(&self.params[range.clone()]);
        let g = handles(&grads[range.clone()]);
        let m = handles(&self.exp_avg_views[range.clone()]);
        let v = handles(&self.exp_avg_sq_views[range]);
        // SAFETY: every handle points at a live tch Tensor borrowed for the
        // call; the C++ side copies them (reference counts) and catches every
        // exception, returning it as a malloc'd message we free here.
        unsafe {
            let err = hecjob_fused_adam(
                p.as_ptr(),
                g.as_ptr(),
                m.as_ptr(),
                v.as_ptr(),
                self.step_tensor.as_ptr(),
                p.len(),
                lr,
                self.beta1,
                self.beta2,
                weight_decay,
                self.eps,
                c_int::from(decoupled),
            );
            if err.is_null() {
                return Ok(());
            }
            let message = CStr::from_ptr(err).to_string_lossy().into_owned();
            hecjob_free_error(err);
            Err(Error::Training(format!("fused Adam step: {message}")))
        }
    }

    /// Save the moments and step (the parameters are saved with the model).
    pub fn save(&self, path: &Path) -> Result<()> {
        let step = Tensor::from_slice(&[self.step]);
        let tensors = [
            ("exp_avg", self.exp_avg.to_device(Device::Cpu)),
            ("exp_avg_sq", self.exp_avg_sq.to_device(Device::Cpu)),
            ("step", step),
        ];
        crate::worker::model::saved::write_safetensors_atomic(path, &tensors).map_err(
            |e| match e {
                // A refused write (full disk, quota, ulimit -f) is local I/O: exit 4.
                e @ Error::Io { .. } => e,
                e => Error::Training(format!("saving optimizer state: {e}")),
            },
        )?;
        Ok(())
    }

    pub fn load(&mut self, path: &Path) -> Result<()> {
        let tensors = Tensor::read_safetensors(path).map_err(|e| {
            Error::Training(format!("{}: reading optimizer state: {e}", path.display()))
        })?;
        let device = self.exp_avg.device();
        // All three or nothing: a file without them (empty, or another
        // optimizer's) would silently resume with fresh moments.
        let names: Vec<&str> = tensors.iter().map(|(n, _)| n.as_str()).collect();
        let missing: Vec<&str> = ["exp_avg", "exp_avg_sq", "step"]
            .into_iter()
            .filter(|n| !names.contains(n))
            .collect();
        if !missing.is_empty() {
            return Err(Error::Training(format!(
                "{}: optimizer state without {}; delete the checkpoint folder to start over",
                path.display(),
                missing.join(", ")
            )));
        }
        for (name, t) in tensors {
            match name.as_str() {
                "exp_avg" | "exp_avg_sq" if t.numel() as i64 != self.numel() => {
                    return Err(Error::Training(format!(
                        "{}: optimizer state is for {} parameters, the model has {}",
                        path.display(),
                        t.numel(),
                        self.numel()
                    )))
                }
                "exp_avg" => tch::no_grad(|| self.exp_avg.copy_(&t.to_device(device))),
                "exp_avg_sq" => tch::no_grad(|| self.exp_avg_sq.copy_(&t.to_device(device))),
                "step" => {
                    self.step = t.int64_value(&[0]);
                    let _ = tch::no_grad(|| self.step_tensor.fill_(self.step as f64));
                }
                _ => {}
            }
        }
        Ok(())
    }
}

/// Linear warmup to `base` over `warmup` steps, then linear decay to 0 at
/// `total` (transformers' get_linear_schedule_with_warmup); constant when
/// `decay` is false and warmup is 0.
pub fn learning_rate(base: f64, step: u64, warmup: u64, total: u64, decay: bool) -> f64 {
    if step < warmup {
        // transformers: the first step runs at lr 0, full lr is reached at `warmup`.
        return base * step as f64 / warmup as f64;
    }
    if !decay {
        return base;
    }
    let remaining = total.saturating_sub(step) as f64;
    let span = total.saturating_sub(warmup).max(1) as f64;
    base * (remaining / span).max(0.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schedule_shape() {
        assert_eq!(learning_rate(1.0, 0, 10, 100, true), 0.0);
        assert!((learning_rate(1.0, 5, 10, 100, true) - 0.5).abs() < 1e-12);
        assert!((learning_rate(1.0, 10, 10, 100, true) - 1.0).abs() < 1e-12);
        assert!((learning_rate(1.0, 55, 10, 100, true) - 0.5).abs() < 1e-12);
        assert_eq!(learning_rate(1.0, 100, 10, 100, true), 0.0);
        assert_eq!(learning_rate(0.5, 70, 0, 100, false), 0.5);
    }

    /// Runs three steps of `kind` on two variables (a decayed weight and a
    /// bias) and compares with torch.optim's update rule written out per element.
    fn check_against_reference(kind: Optimizer) {
        let vs = tch::nn::VarStore::new(Device::Cpu);
        let w = vs.root().var("w", &[3], tch::nn::Init::Const(1.0));
        let b = (vs.root() / "x").var("bias", &[2], tch::nn::Init::Const(-1.0));
        let (lr, b1, b2, eps, wd) = (0.01f64, 0.9f64, 0.999f64, 1e-8f64, 0.1f64);
        let mut opt = FlatAdam::new(&vs, kind, wd);
        // Decayed weights first: w occupies 0..3, the bias (no AdamW decay) 3..5.
        let mut p = [1.0f64, 1.0, 1.0, -1.0, -1.0];
        let gv = [0.5f64, -0.25, 1.0, 2.0, 0.0];
        let decays = [true, true, true, false, false];
        let (mut m, mut v) = (vec![0.0; 5], vec![0.0; 5]);
        for t in 1..=3 {
            let grads = [
                Tensor::from_slice(&[0.5f32, -0.25, 1.0]),
                Tensor::from_slice(&[2.0f32, 0.0]),
            ];
            opt.step(&grads, lr).unwrap();
            for i in 0..5 {
                let mut g = gv[i];
                match kind {
                    Optimizer::Adamw if decays[i] => p[i] -= lr * wd * p[i],
                    Optimizer::Adamw => {}
                    Optimizer::Adam => g += wd * p[i],
                }
                m[i] = b1 * m[i] + (1.0 - b1) * g;
                v[i] = b2 * v[i] + (1.0 - b2) * g * g;
                let mh = m[i] / (1.0 - b1.powi(t));
                let vh = (v[i] / (1.0 - b2.powi(t))).sqrt();
                p[i] -= lr * mh / (vh + eps);
            }
        }
        let got: Vec<f32> =
            Vec::<f32>::try_from(&Tensor::cat(&[w.view([-1]), b.view([-1])], 0)).unwrap();
        for i in 0..5 {
            assert!(
                (f64::from(got[i]) - p[i]).abs() < 1e-6,
                "{kind:?} {i}: {} vs {}",
                got[i],
                p[i]
            );
        }
        assert_eq!(opt.step, 3);
    }

    #[test]
    fn fused_adamw_matches_reference() {
        check_against_reference(Optimizer::Adamw);
    }

    #[test]
    fn fused_adam_with_l2_matches_reference() {
        check_against_reference(Optimizer::Adam);
    }

    /// A C++ exception (here: a gradient of the wrong size) comes back as an
    /// error, not an abort.
    #[test]
    fn a_bad_gradient_is_an_error() {
        let vs = tch::nn::VarStore::new(Device::Cpu);
        let _w = vs.root().var("w", &[3], tch::nn::Init::Const(1.0));
        let mut opt = FlatAdam::new(&vs, Optimizer::Adamw, 0.0);
        let err = opt.step(&[Tensor::from_slice(&[1.0f32])], 0.1).unwrap_err();
        assert!(err.to_string().contains("fused Adam step"), "{err}");
    }
}
