//! Deterministic test samples shared by the normality tests.
//!
//! Built from SplitMix64 with integer arithmetic and IEEE additions and multiplications
//! only, so `scripts/reference/normality_reference.py` regenerates them bit for bit and
//! its printed reference values apply to exactly these numbers.

const GAMMA: u64 = 0x9E37_79B9_7F4A_7C15;

/// u_k = top 53 bits of SplitMix64(seed + k * gamma) / 2^53, k = 0..count.
pub(crate) fn uniforms(seed: u64, count: usize) -> Vec<f64> {
    (0..count as u64)
        .map(|k| {
            let z = crate::rng::splitmix64(seed.wrapping_add(k.wrapping_mul(GAMMA)));
            (z >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
        })
        .collect()
}

/// Irwin-Hall approximately normal values: the sum of 12 consecutive uniforms, added
/// left to right from 0, minus 6.
pub(crate) fn irwin_hall(seed: u64, n: usize) -> Vec<f64> {
    let u = uniforms(seed, 12 * n);
    u.chunks(12)
        .map(|c| c.iter().fold(0.0, |s, &v| s + v) - 6.0)
        .collect()
}

/// Cauchy-like heavy tails: ratios of consecutive Irwin-Hall values.
pub(crate) fn ratio(seed: u64, n: usize) -> Vec<f64> {
    let g = irwin_hall(seed, 2 * n);
    g.chunks(2).map(|c| c[0] / c[1]).collect()
}

/// Right-skewed: products of three consecutive uniforms.
pub(crate) fn product3(seed: u64, n: usize) -> Vec<f64> {
    let u = uniforms(seed, 3 * n);
    u.chunks(3).map(|c| (c[0] * c[1]) * c[2]).collect()
}

/// Heavily tied: floor(2 g) of Irwin-Hall values g.
pub(crate) fn rounded_irwin_hall(seed: u64, n: usize) -> Vec<f64> {
    irwin_hall(seed, n)
        .into_iter()
        .map(|v| (2.0 * v).floor())
        .collect()
}

/// The named data sets of the reference script, in its order.
pub(crate) fn dataset(name: &str) -> Vec<f64> {
    match name {
        "primes10" => vec![2.0, 3.0, 5.0, 7.0, 11.0, 13.0, 17.0, 19.0, 23.0, 29.0],
        "squares20" => (1..=20).map(|i| (i * i) as f64).collect(),
        "seq200" => (1..=200).map(|i| i as f64).collect(),
        "n3" => vec![1.0, 2.0, 4.0],
        "n3_tied" => vec![0.0, 0.0, 1.0],
        "ih4" => irwin_hall(4, 4),
        "ih5" => irwin_hall(5, 5),
        "ih6" => irwin_hall(6, 6),
        "ih8" => irwin_hall(8, 8),
        "ih11" => irwin_hall(11, 11),
        "ih12" => irwin_hall(12, 12),
        "ih200" => irwin_hall(200, 200),
        "ratio200" => ratio(201, 200),
        "product100" => product3(100, 100),
        "ties50" => rounded_irwin_hall(50, 50),
        "ih5000" => irwin_hall(5000, 5000),
        _ => panic!("unknown data set {name}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generators_are_pinned() {
        // First uniform of seed 0: splitmix64(0) = 0xE220A8397B1DCDAF (rng.rs test), top
        // 53 bits / 2^53.
        let u = uniforms(0, 1)[0];
        assert_eq!(
            u,
            (0xE220_A839_7B1D_CDAFu64 >> 11) as f64 / (1u64 << 53) as f64
        );
        // Means printed by scripts/reference/normality_reference.py (numpy 2.4.6, section
        // "Moments"): ih200 -0.052957456017887046, ties50 -0.52.
        let m = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
        assert!((m(&dataset("ih200")) + 0.052957456017887046).abs() < 1e-15);
        assert_eq!(m(&dataset("ties50")), -0.52);
    }
}
