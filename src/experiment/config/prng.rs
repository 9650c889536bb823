//! SplitMix64 (Steele, Lea and Flood 2014; Vigna's reference `splitmix64.c`):
//! the generator behind random sweeps. Written out here rather than taken from
//! `rand`, whose value streams may change between versions: a config with the
//! same `seed` must draw the same points with every hecjob release, because
//! `tasks.tsv` and a re-render after a requeue must agree.

/// A 64-bit state advanced by a Weyl increment and finalised by a mix.
#[derive(Debug, Clone)]
pub struct SplitMix64 {
    state: u64,
}

impl SplitMix64 {
    pub fn new(seed: u64) -> SplitMix64 {
        SplitMix64 { state: seed }
    }

    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        mix(self.state)
    }

    /// Uniform in [0, 1): the top 53 bits, so every value is an exact f64.
    pub fn next_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// Uniform in [0, n) without modulo bias (rejection of the short last block).
    /// `n` must be at least 1.
    pub fn below(&mut self, n: u64) -> u64 {
        assert!(n > 0, "below(0)");
        let zone = u64::MAX - u64::MAX % n;
        loop {
            let x = self.next_u64();
            if x < zone {
                return x % n;
            }
        }
    }
}

/// SplitMix64's finaliser (also a good 64-bit hash of a counter).
pub fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// FNV-1a of a string: a stable (version-independent) seed per swept key, so
/// adding a key to a random sweep leaves the other keys' values unchanged.
pub fn fnv1a(s: &str) -> u64 {
    s.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The reference implementation's output for seed 0: if this changes,
    /// every random sweep ever rendered would draw other points.
    #[test]
    fn matches_the_reference_stream() {
        let mut r = SplitMix64::new(0);
        let got: Vec<u64> = (0..3).map(|_| r.next_u64()).collect();
        assert_eq!(
            got,
            [
                0xe220_a839_7b1d_cdaf,
                0x6e78_9e6a_a1b9_65f4,
                0x06c4_5d18_8009_454f
            ]
        );
        assert_eq!(fnv1a(""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a("a"), 0xaf63_dc4c_8601_ec8c);
    }

    #[test]
    fn below_stays_below() {
        let mut r = SplitMix64::new(7);
        for n in [1u64, 2, 3, 10, u64::MAX] {
            for _ in 0..200 {
                assert!(r.below(n) < n);
            }
        }
        let mut seen = [false; 3];
        for _ in 0..100 {
            seen[r.below(3) as usize] = true;
        }
        assert_eq!(seen, [true; 3], "every value of a small range is drawn");
    }
}
