//! Times `spectrum::symmetric_eigenvalues_lower` against faer's `self_adjoint_eigenvalues`
//! on one thread, on Gram matrices `W^T W / N` (`W` standard normal, `N = 2n`: the
//! weight-spectra case), and reports how far the two spectra are apart.
//!
//! `cargo run --release -p gradscope-stats --example symmetric_eigenvalues_timing -- 512 1024`
//! (orders; default 512 1024 2048). Each order runs `REPEATS` times alternating the new
//! solver on one thread, on two (`Par::rayon(2)`; its eigenvalues must equal the
//! one-thread ones bit for bit) and faer's on one; the minimum and median wall times are printed in seconds, and the two
//! stages of the new solver (reduction, root-free QL) are timed once on stderr. With
//! `EIGENVALUES_DUMP=DIR` the matrix (`g{n}.f64`, column-major) and both spectra
//! (`new{n}.f64`, `faer{n}.f64`, descending) are also written there as raw little-endian
//! f64, for a check against another library (e.g. LAPACK through NumPy's `eigvalsh`).

use faer::{Mat, Par, Side};
use gradscope_stats::rng;
use gradscope_stats::spectrum::root_free_ql::tridiagonal_eigenvalues;
use gradscope_stats::spectrum::symmetric_eigenvalues_lower;
use gradscope_stats::spectrum::tridiagonalisation::tridiagonalise_lower;
use rand_distr::{Distribution, StandardNormal};
use std::time::Instant;

const REPEATS: usize = 5;

fn summary(mut t: Vec<f64>) -> (f64, f64) {
    t.sort_unstable_by(f64::total_cmp);
    (t[0], t[t.len() / 2])
}

fn main() {
    faer::set_global_parallelism(Par::Seq);
    let orders: Vec<usize> = std::env::args()
        .skip(1)
        .map(|a| a.parse().expect("orders are positive integers"))
        .collect();
    let orders = if orders.is_empty() {
        vec![512, 1024, 2048]
    } else {
        orders
    };
    println!(
        "n\tnew_min_s\tnew_median_s\tnew_2threads_min_s\tnew_2threads_median_s\tfaer_min_s\tfaer_median_s\tmax_abs_diff_over_lambda_max"
    );
    for n in orders {
        let mut r = rng::seeded(n as u64);
        let rows = 2 * n;
        let w = Mat::<f64>::from_fn(rows, n, |_, _| StandardNormal.sample(&mut r));
        let mut g = w.transpose() * &w;
        g *= faer::Scale(1.0 / rows as f64);
        if let Some(dir) = std::env::var_os("EIGENVALUES_DUMP") {
            // The matrix and both spectra as raw little-endian f64 (for an outside check).
            let dir = std::path::PathBuf::from(dir);
            let bytes = |v: &[f64]| v.iter().flat_map(|x| x.to_le_bytes()).collect::<Vec<u8>>();
            let dense: Vec<f64> = (0..n)
                .flat_map(|j| (0..n).map(move |i| (i, j)))
                .map(|(i, j)| g[(i, j)])
                .collect();
            std::fs::write(dir.join(format!("g{n}.f64")), bytes(&dense)).expect("writes");
            let new = symmetric_eigenvalues_lower(g.clone(), Par::Seq).expect("converges");
            let mut old = g.self_adjoint_eigenvalues(Side::Lower).expect("converges");
            old.sort_unstable_by(|x, y| y.total_cmp(x));
            std::fs::write(dir.join(format!("new{n}.f64")), bytes(&new)).expect("writes");
            std::fs::write(dir.join(format!("faer{n}.f64")), bytes(&old)).expect("writes");
        }
        let (mut tn, mut tp, mut tf) = (Vec::new(), Vec::new(), Vec::new());
        let (mut new, mut old) = (Vec::new(), Vec::new());
        for _ in 0..REPEATS {
            let a = g.clone();
            let t0 = Instant::now();
            new = symmetric_eigenvalues_lower(a, Par::Seq).expect("converges");
            tn.push(t0.elapsed().as_secs_f64());
            let a = g.clone();
            let t0 = Instant::now();
            let two = symmetric_eigenvalues_lower(a, Par::rayon(2)).expect("converges");
            tp.push(t0.elapsed().as_secs_f64());
            assert_eq!(two, new, "the thread count changed the eigenvalues");
            let t0 = Instant::now();
            old = g.self_adjoint_eigenvalues(Side::Lower).expect("converges");
            tf.push(t0.elapsed().as_secs_f64());
        }
        old.sort_unstable_by(|x, y| y.total_cmp(x));
        // The two stages of the new solver separately.
        let mut a = g.clone();
        let t0 = Instant::now();
        let (mut d, mut e) = tridiagonalise_lower(&mut a, Par::Seq);
        let t_reduce = t0.elapsed().as_secs_f64();
        let t0 = Instant::now();
        tridiagonal_eigenvalues(&mut d, &mut e).expect("converges");
        let t_ql = t0.elapsed().as_secs_f64();
        eprintln!("n = {n}: tridiagonalisation {t_reduce:.4} s, root-free QL {t_ql:.4} s");
        let diff = new
            .iter()
            .zip(&old)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0f64, f64::max)
            / old[0];
        let (nmin, nmed) = summary(tn);
        let (pmin, pmed) = summary(tp);
        let (fmin, fmed) = summary(tf);
        println!(
            "{n}\t{nmin:.4}\t{nmed:.4}\t{pmin:.4}\t{pmed:.4}\t{fmin:.4}\t{fmed:.4}\t{diff:.2e}"
        );
    }
}
