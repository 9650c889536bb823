//! Adam / AdamW over ONE flat parameter buffer.
//!
//! Every trainable variable is re-pointed (`set_data`) at a view into a single
//! contiguous tensor, and gradients come back from `run_backward` already
//! separate from `.grad` (so nothing needs zeroing). One step is then a handful
//! of element-wise kernels over all parameters at once, instead of ~6 kernels
//! per parameter tensor (≈200 tensors in BERT-base): on a GPU at batch 16 the
//! launch count, not the FLOPs, is the wall. The state (moments, step) is plain
//! tensors, so checkpoints can save and restore it exactly.

use crate::config::Optimizer;
use crate::error::{Error, Result};
use std::path::Path;
use tch::{Device, Kind, Tensor};

pub struct FlatAdam {
    /// The variables: weight-decayed ones first, then biases and LayerNorm
    /// weights, each group sorted by name.
    pub params: Vec<Tensor>,
    pub names: Vec<String>,
    flat: Tensor,
    /// Elements [0, n_decay) of `flat` get weight decay (BERT's recipe: not
    /// biases or LayerNorm weights). Ordering them first makes decay one slice.
    n_decay: i64,
    exp_avg: Tensor,
    exp_avg_sq: Tensor,
    /// Reused every step: fresh 100 MB+ buffers per step would cost more than the
    /// arithmetic (allocation and page faults, on the CPU above all). Once the
    /// moments are updated the gradient is spent, so the step also uses this
    /// buffer as its scratch space.
    grad_buf: Tensor,
    pub step: i64,
    pub kind: Optimizer,
    pub weight_decay: f64,
    beta1: f64,
    beta2: f64,
    eps: f64,
}

fn decays(name: &str) -> bool {
    !(name.ends_with(".bias") || name.contains("LayerNorm"))
}

impl FlatAdam {
    /// Takes every variable of `vs`.
    pub fn new(vs: &tch::nn::VarStore, kind: Optimizer, weight_decay: f64) -> FlatAdam {
        let mut vars: Vec<(String, Tensor)> = vs.variables().into_iter().collect();
        vars.sort_by(|a, b| (!decays(&a.0), &a.0).cmp(&(!decays(&b.0), &b.0)));
        let device = vs.device();
        let total: i64 = vars.iter().map(|(_, t)| t.numel() as i64).sum();
        let n_decay: i64 = vars
            .iter()
            .filter(|(n, _)| decays(n))
            .map(|(_, t)| t.numel() as i64)
            .sum();
        let flat = Tensor::zeros([total], (Kind::Float, device));
        let mut off = 0i64;
        let mut params = Vec::with_capacity(vars.len());
        let mut names = Vec::with_capacity(vars.len());
        tch::no_grad(|| {
            for (name, mut var) in vars {
                let n = var.numel() as i64;
                let mut view = flat.narrow(0, off, n).view(var.size().as_slice());
                view.copy_(&var);
                var.set_data(&view);
                off += n;
                params.push(var);
                names.push(name);
            }
        });
        FlatAdam {
            params,
            names,
            exp_avg: flat.zeros_like(),
            exp_avg_sq: flat.zeros_like(),
            grad_buf: flat.zeros_like(),
            flat,
            n_decay,
            step: 0,
            kind,
            weight_decay,
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
        }
    }

    pub fn numel(&self) -> i64 {
        self.flat.numel() as i64
    }

    /// Gradients of `loss` w.r.t. every parameter, gathered into one flat
    /// buffer (reused: valid until the next call).
    pub fn backward(&self, loss: &Tensor) -> Tensor {
        let grads = Tensor::run_backward(&[loss], &self.params, false, false);
        let flat: Vec<Tensor> = grads.iter().map(|g| g.view([-1])).collect();
        tch::no_grad(|| Tensor::cat_out(&self.grad_buf, &flat, 0))
    }

    /// One Adam(W) step with learning rate `lr` (torch.optim semantics: bias
    /// correction, eps outside the sqrt; Adam adds L2 to the gradient, AdamW
    /// decays the weights directly). Nine in-place passes, no allocation.
    /// `grad` (the buffer `backward` returned) is overwritten.
    pub fn step(&mut self, grad: &Tensor, lr: f64) {
        tch::no_grad(|| {
            self.step += 1;
            let t = self.step as i32;
            let mut grad = grad.shallow_clone();
            if self.weight_decay > 0.0 {
                match self.kind {
                    // AdamW as BERT trains it: decoupled decay, not on biases
                    // and LayerNorm weights.
                    Optimizer::Adamw if self.n_decay > 0 => {
                        let mut decayed = self.flat.narrow(0, 0, self.n_decay);
                        let _ = decayed.g_mul_scalar_(1.0 - lr * self.weight_decay);
                    }
                    Optimizer::Adamw => {}
                    // torch.optim.Adam: L2 added to every gradient (grad is our own buffer).
                    Optimizer::Adam => {
                        let _ = grad.g_add_(&(&self.flat * self.weight_decay));
                    }
                }
            }
            let bc1 = 1.0 - self.beta1.powi(t);
            let bc2 = 1.0 - self.beta2.powi(t);
            // m ← β1·m + (1−β1)·g ; v ← β2·v + (1−β2)·g²
            let _ = self.exp_avg.lerp_(&grad, 1.0 - self.beta1);
            // From here on `grad` is scratch: g², then the update.
            let mut scratch = grad;
            let _ = scratch.g_mul_(&scratch.shallow_clone());
            let _ = self.exp_avg_sq.lerp_(&scratch, 1.0 - self.beta2);
            // p ← p − lr/bc1 · m / (√v/√bc2 + ε)
            //   = p − (lr·√bc2/bc1) · m / (√v + ε·√bc2)
            let _ = self.exp_avg_sq.sqrt_out(&scratch);
            let _ = scratch.g_add_scalar_(self.eps * bc2.sqrt());
            let _ = self.exp_avg.div_out(&scratch, &scratch);
            let _ = scratch.g_mul_scalar_(-lr * bc2.sqrt() / bc1);
            let _ = self.flat.g_add_(&scratch);
        });
    }

    /// Save the moments and step (the parameters are saved with the model).
    pub fn save(&self, path: &Path) -> Result<()> {
        let step = Tensor::from_slice(&[self.step]);
        let tensors = [
            ("exp_avg", self.exp_avg.to_device(Device::Cpu)),
            ("exp_avg_sq", self.exp_avg_sq.to_device(Device::Cpu)),
            ("step", step),
        ];
        crate::model::saved::write_safetensors_atomic(path, &tensors)
            .map_err(|e| Error::Training(format!("saving optimizer state: {e}")))?;
        Ok(())
    }

    pub fn load(&mut self, path: &Path) -> Result<()> {
        let tensors = Tensor::read_safetensors(path).map_err(|e| {
            Error::Training(format!("{}: reading optimizer state: {e}", path.display()))
        })?;
        let device = self.flat.device();
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
                "step" => self.step = t.int64_value(&[0]),
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

    /// The flat step matches torch.optim.AdamW's update rule written out per element.
    #[test]
    fn matches_reference_adamw() {
        let vs = tch::nn::VarStore::new(Device::Cpu);
        let w = vs.root().var("w", &[3], tch::nn::Init::Const(1.0));
        let b = (vs.root() / "x").var("bias", &[2], tch::nn::Init::Const(-1.0));
        let mut opt = FlatAdam::new(&vs, Optimizer::Adamw, 0.1);
        let g = Tensor::from_slice(&[0.5f32, -0.25, 1.0, 2.0, 0.0]);
        let (lr, b1, b2, eps, wd) = (0.01f64, 0.9f64, 0.999f64, 1e-8f64, 0.1f64);
        // Decayed weights first: w occupies 0..3, the bias (no decay) 3..5.
        let mut p = [1.0f64, 1.0, 1.0, -1.0, -1.0];
        let gv = [0.5f64, -0.25, 1.0, 2.0, 0.0];
        let decays = [true, true, true, false, false];
        let (mut m, mut v) = (vec![0.0; 5], vec![0.0; 5]);
        for t in 1..=3 {
            opt.step(&g.copy(), lr); // step overwrites its gradient buffer
            for i in 0..5 {
                if decays[i] {
                    p[i] -= lr * wd * p[i];
                }
                m[i] = b1 * m[i] + (1.0 - b1) * gv[i];
                v[i] = b2 * v[i] + (1.0 - b2) * gv[i] * gv[i];
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
                "{i}: {} vs {}",
                got[i],
                p[i]
            );
        }
    }
}
