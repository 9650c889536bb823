//! Holding out a dev split from train when the data has none: iterative
//! stratification (Sechidis, Tsoumakas and Vlahavas 2011, "On the
//! stratification of multi-label data", Algorithm 1) for two folds, so each
//! label's share in the held-out part is as close to `fraction` as the rows
//! allow, rare labels placed first. For single-label data it is ordinary
//! per-class stratification.
//!
//! Deterministic for a seed: ties are broken by a SplitMix64 stream, and the
//! rows of a label are visited in a seeded shuffle.

/// SplitMix64 (Vigna's `splitmix64.c`), written out so a seed splits the same
/// rows with every release.
struct SplitMix64(u64);

impl SplitMix64 {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in [0, n), n ≥ 1 (the tiny modulo bias does not matter for ties).
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// Which rows go to the held-out part (`true`), given each row's label ids.
/// `fraction` of the rows (rounded) are held out; with rows, at least one.
pub fn hold_out(labels: &[Vec<usize>], n_labels: usize, fraction: f64, seed: u64) -> Vec<bool> {
    let n = labels.len();
    let mut rng = SplitMix64(seed);
    // desired[f]: rows fold f still wants (0 = held out, 1 = kept).
    let held = ((n as f64 * fraction).round() as usize).clamp(usize::from(n > 0), n);
    let mut desired = [held as f64, (n - held) as f64];
    let share = [
        held as f64 / n.max(1) as f64,
        1.0 - held as f64 / n.max(1) as f64,
    ];
    let mut by_label: Vec<Vec<usize>> = vec![Vec::new(); n_labels];
    for (row, ls) in labels.iter().enumerate() {
        for &l in ls {
            by_label[l].push(row);
        }
    }
    let mut label_desired: Vec<[f64; 2]> = by_label
        .iter()
        .map(|rows| [rows.len() as f64 * share[0], rows.len() as f64 * share[1]])
        .collect();
    let mut fold: Vec<Option<usize>> = vec![None; n];
    // Rows still unplaced per label, kept as counts (the rows are the lists).
    let mut remaining: Vec<usize> = by_label.iter().map(Vec::len).collect();
    // The label with the fewest unplaced rows first (ties: lowest id).
    while let Some(l) = (0..n_labels)
        .filter(|&l| remaining[l] > 0)
        .min_by_key(|&l| (remaining[l], l))
    {
        let mut rows: Vec<usize> = by_label[l]
            .iter()
            .copied()
            .filter(|&r| fold[r].is_none())
            .collect();
        shuffle(&mut rows, &mut rng);
        for r in rows {
            let f = pick_fold(&label_desired[l], &desired, &mut rng);
            fold[r] = Some(f);
            desired[f] -= 1.0;
            for &m in &labels[r] {
                label_desired[m][f] -= 1.0;
                remaining[m] -= 1;
            }
        }
    }
    // Rows without labels: to the fold that wants the most rows.
    for f in fold.iter_mut().filter(|f| f.is_none()) {
        let pick = pick_fold(&[0.0, 0.0], &desired, &mut rng);
        desired[pick] -= 1.0;
        *f = Some(pick);
    }
    let mut fold: Vec<usize> = fold.into_iter().map(|f| f.unwrap_or(1)).collect();
    exact_count(&mut fold, labels, &label_desired, held, &mut rng);
    fold.into_iter().map(|f| f == 0).collect()
}

/// Make the held-out part exactly `held` rows. The algorithm keeps each
/// label's share, not the row total (a row carries several labels), so it may
/// end a few rows off; those rows move from the fold with too many, the ones
/// whose every label the other fold still wants first, then rows without
/// labels, ties in a seeded order.
fn exact_count(
    fold: &mut [usize],
    labels: &[Vec<usize>],
    label_desired: &[[f64; 2]],
    held: usize,
    rng: &mut SplitMix64,
) {
    let now = fold.iter().filter(|&&f| f == 0).count();
    let (from, to, surplus) = match now.cmp(&held) {
        std::cmp::Ordering::Equal => return,
        std::cmp::Ordering::Greater => (0, 1, now - held),
        std::cmp::Ordering::Less => (1, 0, held - now),
    };
    let mut candidates: Vec<usize> = (0..fold.len()).filter(|&r| fold[r] == from).collect();
    shuffle(&mut candidates, rng);
    // How much the other fold still wants this row: its least wanted label
    // (0 for a row without labels, which moves no label's share).
    let want = |r: usize| {
        labels[r]
            .iter()
            .map(|&l| label_desired[l][to])
            .reduce(f64::min)
            .unwrap_or(0.0)
    };
    // A stable sort keeps the shuffled order among equal scores.
    candidates.sort_by(|&a, &b| want(b).total_cmp(&want(a)));
    for &r in candidates.iter().take(surplus) {
        fold[r] = to;
    }
}

/// The fold wanting label `l` most; ties to the fold wanting most rows; then random.
fn pick_fold(label: &[f64; 2], rows: &[f64; 2], rng: &mut SplitMix64) -> usize {
    use std::cmp::Ordering::*;
    match label[0]
        .total_cmp(&label[1])
        .then(rows[0].total_cmp(&rows[1]))
    {
        Greater => 0,
        Less => 1,
        Equal => rng.below(2),
    }
}

/// Fisher–Yates with the seeded stream.
fn shuffle<T>(v: &mut [T], rng: &mut SplitMix64) {
    for i in (1..v.len()).rev() {
        v.swap(i, rng.below(i + 1));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn data() -> Vec<Vec<usize>> {
        // 1,000 rows: label 0 on every 2nd, label 1 on every 10th, label 2 on
        // every 50th (rare), some rows with none.
        (0..1000)
            .map(|i| {
                let mut v = Vec::new();
                if i % 2 == 0 {
                    v.push(0);
                }
                if i % 10 == 3 {
                    v.push(1);
                }
                if i % 50 == 7 {
                    v.push(2);
                }
                v
            })
            .collect()
    }

    #[test]
    fn holds_out_the_fraction_per_label() {
        let d = data();
        let held = hold_out(&d, 3, 0.1, 42);
        assert_eq!(held.iter().filter(|&&h| h).count(), 100);
        // Exactly the fraction also where rows carry several labels each.
        let multi: Vec<Vec<usize>> = (0..997)
            .map(|i| (0..5).filter(|l| (i * 7 + l * 3) % (l + 2) == 0).collect())
            .collect();
        for fraction in [0.1, 0.17, 0.5] {
            let h = hold_out(&multi, 5, fraction, 3);
            assert_eq!(
                h.iter().filter(|&&x| x).count(),
                (997.0 * fraction).round() as usize,
                "{fraction}"
            );
        }
        for (l, total) in [(0usize, 500usize), (1, 100), (2, 20)] {
            let in_dev = d
                .iter()
                .zip(&held)
                .filter(|(ls, &h)| h && ls.contains(&l))
                .count();
            let want = total / 10;
            assert!(
                in_dev.abs_diff(want) <= 1,
                "label {l}: {in_dev} held out, want {want}"
            );
        }
    }

    #[test]
    fn same_seed_same_split_other_seed_other_split() {
        let d = data();
        assert_eq!(hold_out(&d, 3, 0.1, 7), hold_out(&d, 3, 0.1, 7));
        assert_ne!(hold_out(&d, 3, 0.1, 7), hold_out(&d, 3, 0.1, 8));
    }

    #[test]
    fn tiny_inputs() {
        assert!(hold_out(&[], 2, 0.1, 1).is_empty());
        assert_eq!(hold_out(&[vec![0]], 1, 0.1, 1), [true]);
        assert_eq!(
            hold_out(&[vec![0], vec![1], vec![0]], 2, 0.0, 1)
                .iter()
                .filter(|&&h| h)
                .count(),
            1
        );
    }
}
