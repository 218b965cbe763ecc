//! Cross-checks of the discrete likelihood-ratio tests against the `powerlaw` package
//! (2.0.0) and mpmath.
//!
//! Every number quoted here is printed by `scripts/reference/powerlaw_discrete_compare.py`
//! (powerlaw 2.0.0, scipy 1.17.1, mpmath 1.3.0, numpy 2.4.6) under the key named next to
//! it. `<tag>.<alternative>.polished.*` is the exact maximum of the package's own discrete
//! likelihood (mpmath, about 30 digits), which our fits must reproduce; `package.*` is what
//! `Fit(data, discrete=True, xmin=...)` and `distribution_compare` report after the
//! package's Nelder-Mead at `tol = 1e-4`, which a true maximum can only beat (R no
//! larger); `package_ll.*` is the alternative's log-likelihood at the package's parameters,
//! in mpmath and as the package's float64 arithmetic gives it.
//!
//! Tolerances, relative, with the largest difference measured on these data in brackets:
//! - the power law's exponent: 1e-14 (pl: the package's half-shift value, equal; weibull,
//!   geometric: the exact MLE, 4e-16);
//! - alternative parameters, to the optimiser's precision: 1e-14 for the closed-form
//!   exponential (1.2e-16); 1e-11 for the stretched exponential's profile-score root
//!   (2.4e-13, lambda = 3.7e32 at beta = 0.045); 1e-10 for the log-normal, Newton on its
//!   analytic gradient (1.7e-11, on the nearly flat ridge of power-law counts; 6e-16
//!   elsewhere); 1e-8 for the truncated power law, Newton with a finite-difference
//!   alpha-derivative (7.3e-10 for lambda = 3.2e-4, near the nested boundary; 1e-13 to
//!   1e-10 elsewhere);
//! - R: 1e-10 (3.0e-12); normalised R: as the parameters (5.8e-10, the same truncated
//!   power law);
//! - p: 1e-9, for p from 0.53 down to 5e-269 (1.3e-11);
//! - log-likelihoods at given parameters (no optimiser involved): 1e-13 (8e-16).

use super::reference_tests::{assert_rel, lcg_uniforms};
use super::*;
use crate::summation;

// The script's 32-bit LCG is `reference_tests::lcg_uniforms`: `s <- (1664525 s +
// 1013904223) mod 2^32`, `u = s / 2^32`.

/// `pl`: `x = floor((5 - 1/2)(1 - u)^(-1/1.5) + 1/2)`, seed 4711, 6000 points: a
/// discrete power law with alpha = 2.5 above 5 (Clauset et al. 2009, eq. D.6).
fn pl_sample() -> Vec<f64> {
    lcg_uniforms(4711, 6000)
        .iter()
        .map(|u| (4.5 * (1.0 - u).powf(-1.0 / 1.5) + 0.5).floor())
        .collect()
}

/// `weibull`: `x = floor(3 (-ln(1 - u))^(1/0.6) + 1/2)`, seed 4242, 3000 draws, those
/// `>= 1` kept.
fn weibull_sample() -> Vec<f64> {
    lcg_uniforms(4242, 3000)
        .iter()
        .map(|u| (3.0 * (-(1.0 - u).ln()).powf(1.0 / 0.6) + 0.5).floor())
        .filter(|&x| x >= 1.0)
        .collect()
}

/// `geometric`: `x = 1 + floor(-ln(1 - u) / 0.25)`, seed 2024, 2000 points: a discrete
/// exponential with lambda = 0.25 above 1.
fn geometric_sample() -> Vec<f64> {
    lcg_uniforms(2024, 2000)
        .iter()
        .map(|u| 1.0 + (-(1.0 - u).ln() / 0.25).floor())
        .collect()
}

fn discrete_fit(x: &[f64], xmin: f64, estimator: DiscreteEstimator) -> PowerLawFit {
    fit(
        x,
        &FitOptions {
            support: Support::Discrete(estimator),
            xmin: XminRule::Fixed(xmin),
        },
    )
    .unwrap()
}

/// One alternative's reference values (see the module notes for the keys).
struct DiscreteRef {
    alt: Alternative,
    /// `polished.params`, in the package's order.
    params: &'static [f64],
    /// `polished.loglikelihood`.
    log_likelihood: f64,
    /// `polished.R`, `polished.normalized_R`, `polished.p`.
    r: f64,
    normalized_r: f64,
    p: f64,
    /// `package.alpha`, `package.params`, `package.R`.
    package_alpha: f64,
    package_params: &'static [f64],
    package_r: f64,
    /// `package_ll.mpmath`, `package_ll.float64`.
    package_ll: f64,
    package_ll_float64: f64,
}

/// The fitted parameters in the package's order (`Lambda`; `mu, sigma`; `Lambda, beta`;
/// `alpha, Lambda`).
fn params(f: &AlternativeFit) -> Vec<f64> {
    match f {
        AlternativeFit::DiscreteExponential(d) => vec![d.lambda],
        AlternativeFit::DiscreteLognormal(d) => vec![d.mu, d.sigma],
        AlternativeFit::DiscreteStretchedExponential(d) => vec![d.lambda, d.beta],
        AlternativeFit::DiscreteTruncatedPowerLaw(d) => vec![d.alpha, d.lambda],
        other => panic!("a continuous alternative for a discrete fit: {other:?}"),
    }
}

/// The discrete alternative with given (package-order) parameters.
fn with_params(alt: Alternative, p: &[f64], xmin: f64) -> AlternativeFit {
    match alt {
        Alternative::Exponential => {
            AlternativeFit::DiscreteExponential(DiscreteExponential::new(p[0], xmin))
        }
        Alternative::Lognormal => {
            AlternativeFit::DiscreteLognormal(DiscreteLognormal::new(p[0], p[1], xmin))
        }
        Alternative::StretchedExponential => AlternativeFit::DiscreteStretchedExponential(
            DiscreteStretchedExponential::new(p[0], p[1], xmin),
        ),
        Alternative::TruncatedPowerLaw => AlternativeFit::DiscreteTruncatedPowerLaw(
            DiscreteTruncatedPowerLaw::new(p[0], p[1], xmin),
        ),
    }
}

/// Relative tolerances of the fitted parameters and of the normalised R (which moves
/// with the parameters at first order), per optimiser; see the module notes.
fn tolerances(alt: Alternative) -> (f64, f64) {
    match alt {
        Alternative::Exponential => (1e-14, 1e-13),
        Alternative::StretchedExponential => (1e-11, 1e-11),
        Alternative::Lognormal => (1e-10, 1e-10),
        Alternative::TruncatedPowerLaw => (1e-8, 1e-8),
    }
}

fn check(data: &[f64], f: &PowerLawFit, refs: &[DiscreteRef]) {
    let tail: Vec<f64> = data.iter().copied().filter(|&x| x >= f.xmin).collect();
    for a in refs {
        let what = format!("{:?}", a.alt);
        let t = likelihood_ratio_test(data, f, a.alt).unwrap();
        assert!(t.fit.converged(), "{what}: {:?}", t.fit);
        let (tol_params, tol_norm) = tolerances(a.alt);
        let got = params(&t.fit);
        for (i, (&g, &w)) in got.iter().zip(a.params).enumerate() {
            assert_rel(g, w, tol_params, &format!("{what} parameter {i}"));
        }
        let ll = summation::sum(tail.iter().map(|&x| t.fit.ln_pdf(x)));
        assert_rel(
            ll,
            a.log_likelihood,
            1e-13,
            &format!("{what} log-likelihood"),
        );
        assert_rel(t.r, a.r, 1e-10, &format!("{what} R"));
        assert_rel(
            t.normalized_r,
            a.normalized_r,
            tol_norm,
            &format!("{what} normalized R"),
        );
        assert_rel(t.p_value, a.p, 1e-9, &format!("{what} p"));
        // The formulas alone: the log-likelihood at the package's own parameters.
        let at_package = with_params(a.alt, a.package_params, f.xmin);
        let ll_package = summation::sum(tail.iter().map(|&x| at_package.ln_pdf(x)));
        assert_rel(
            ll_package,
            a.package_ll,
            1e-13,
            &format!("{what} at the package's parameters"),
        );
        // The true maximum is at least as good as where the package stopped (and with the
        // package's own exponent, R is no larger).
        assert!(
            ll >= ll_package,
            "{what}: {ll} below the package's {ll_package}"
        );
        if f.alpha == a.package_alpha {
            assert!(
                t.r <= a.package_r + 1e-12 * a.package_r.abs(),
                "{what}: R {} vs package {}",
                t.r,
                a.package_r
            );
        }
        let ll = ll_package;
        // Where the package's float64 differs from mpmath, ours is the closer.
        assert!(
            (ll - a.package_ll).abs() <= (a.package_ll_float64 - a.package_ll).abs() + 1e-10,
            "{what}: {ll} vs float64 {} (mpmath {})",
            a.package_ll_float64,
            a.package_ll
        );
    }
}

#[test]
fn power_law_counts_match_the_package() {
    // pl.n, pl.sum, pl.n_tail, pl.package.alpha: xmin = 10 and the half-shift estimate
    // 2.526 in (1.5, 3], so the package uses it, and PackageDefault reproduces it.
    // Package deviations (its Nelder-Mead at tol = 1e-4): the stretched exponential stops
    // at beta = 0.153 (noise_flag) with R = 4.14, where the maximum is at beta = 0.0452
    // (lambda = 3.7e32) with R = -0.766; its log-likelihood there is also off by 9.2e-6
    // in float64 (pl.stretched_exponential.package_ll.*), from subtracting CDF values
    // near 1. The others stop within 1e-4 of the maxima (R to 1e-8).
    let x = pl_sample();
    assert_eq!(x.len(), 6000);
    assert_eq!(x.iter().sum::<f64>(), 75332.0);
    let f = discrete_fit(&x, 10.0, DiscreteEstimator::PackageDefault);
    assert_eq!(f.n_tail, 1932);
    assert_rel(f.alpha, 2.5264220091124105, 1e-14, "alpha");
    let refs = [
        DiscreteRef {
            alt: Alternative::Exponential,
            params: &[0.061413047233007195],
            log_likelihood: -7322.8404816383245,
            r: 596.1588317708299,
            normalized_r: 4.856379194273708,
            p: 1.1955166150479544e-06,
            package_alpha: 2.5264220091124105,
            package_params: &[0.061407444854786025],
            package_r: 596.1588398077663,
            package_ll: -7322.840489675262,
            package_ll_float64: -7322.840489675264,
        },
        DiscreteRef {
            alt: Alternative::Lognormal,
            params: &[-16.785008410423565, 3.644233489095238],
            log_likelihood: -6725.890503935851,
            r: -0.7911459316437829,
            normalized_r: -0.6220401591333539,
            p: 0.5339154616728919,
            package_alpha: 2.5264220091124105,
            package_params: &[-16.78499349282439, 3.644232276354437],
            package_r: -0.7911459316271463,
            package_ll: -6725.890503935855,
            package_ll_float64: -6725.890503935863,
        },
        DiscreteRef {
            alt: Alternative::StretchedExponential,
            params: &[3.697329752664657e32, 0.045208990794007774],
            log_likelihood: -6725.915774317046,
            r: -0.7658755504479728,
            normalized_r: -0.6223358877790817,
            p: 0.5337210278285441,
            package_alpha: 2.5264220091124105,
            package_params: &[179408.3738682412, 0.15296328952818128],
            package_r: 4.144853923445224,
            package_ll: -6730.826494555009,
            package_ll_float64: -6730.826503790937,
        },
        DiscreteRef {
            alt: Alternative::TruncatedPowerLaw,
            params: &[2.5108672171677577, 0.00032458684845489865],
            log_likelihood: -6726.370305521736,
            r: -0.3113443457589239,
            normalized_r: -0.4890683841899618,
            p: 0.4300499027590226,
            package_alpha: 2.5264220091124105,
            package_params: &[2.5109018524554, 0.0003238276699726721],
            package_r: -0.31134321869705817,
            package_ll: -6726.370306648794,
            package_ll_float64: -6726.370306648794,
        },
    ];
    check(&x, &f, &refs);
}

#[test]
fn weibull_counts_match_the_exact_maxima() {
    // weibull.n, weibull.sum, weibull.n_tail, weibull.exact_alpha: xmin = 5 < 10, so the
    // package maximises numerically (weibull.package.alpha = 2.1606034889235666, 9e-6
    // off); the references use the exact discrete MLE, as DiscreteEstimator::Exact.
    // Every alternative has an interior maximum here.
    let x = weibull_sample();
    assert_eq!(x.len(), 2135);
    assert_eq!(x.iter().sum::<f64>(), 13773.0);
    let f = discrete_fit(&x, 5.0, DiscreteEstimator::Exact);
    assert_eq!(f.n_tail, 844);
    assert_rel(f.alpha, 2.1606221158029273, 1e-14, "alpha");
    let refs = [
        DiscreteRef {
            alt: Alternative::Exponential,
            params: &[0.1134710441939971],
            log_likelihood: -2681.1718564852013,
            r: -41.66401801112895,
            normalized_r: -2.5871609089642598,
            p: 0.009677039023745379,
            package_alpha: 2.1606034889235666,
            package_params: &[0.11347301894343652],
            package_r: -41.664017991573985,
            package_ll: -2681.1718566128734,
            package_ll_float64: -2681.171856612873,
        },
        DiscreteRef {
            alt: Alternative::Lognormal,
            params: &[1.8250540945954017, 0.9233955164478552],
            log_likelihood: -2662.9645953727218,
            r: -59.871279123608446,
            normalized_r: -6.729573963430195,
            p: 1.7016057388399766e-11,
            package_alpha: 2.1606034889235666,
            package_params: &[1.825074239304156, 0.9233910746964317],
            package_r: -59.87127919492977,
            package_ll: -2662.964595409518,
            package_ll_float64: -2662.964595409518,
        },
        DiscreteRef {
            alt: Alternative::StretchedExponential,
            params: &[0.2464506501312132, 0.6573618549299036],
            log_likelihood: -2661.472942081039,
            r: -61.362932415291226,
            normalized_r: -6.85941128855525,
            p: 6.9144900760612776e-12,
            package_alpha: 2.1606034889235666,
            package_params: &[0.2464359312274922, 0.6573832498520986],
            package_r: -61.36293236716804,
            package_ll: -2661.4729422372675,
            package_ll_float64: -2661.4729422372793,
        },
        DiscreteRef {
            alt: Alternative::TruncatedPowerLaw,
            params: &[0.9524085603284393, 0.05910951997455118],
            log_likelihood: -2661.8045541946885,
            r: -61.03132030164177,
            normalized_r: -6.768123633916339,
            p: 2.2366352946486927e-28,
            package_alpha: 2.1606034889235666,
            package_params: &[0.9524071221527557, 0.05910826075809144],
            package_r: -61.03132032316948,
            package_ll: -2661.8045542812774,
            package_ll_float64: -2661.8045542812774,
        },
    ];
    check(&x, &f, &refs);
}

#[test]
fn geometric_counts_prefer_the_exponential() {
    // geometric.*: counts from a discrete exponential (lambda = 0.25) above xmin = 1.
    // The power law loses decisively to the (true) geometric law: R = -613.9, normalised
    // -22.2, p = 2.5e-109 (the package: R = -613.92743627, p = 2.56e-109 with its
    // Nelder-Mead alpha and lambda). The truncated power law's maximum lies at
    // alpha = -0.0065, outside the package's default range (0, 3) (it stops at
    // alpha = 7e-6 with noise_flag); ours is unbounded, as for continuous data.
    let x = geometric_sample();
    assert_eq!(x.len(), 2000);
    assert_eq!(x.iter().sum::<f64>(), 8958.0);
    let f = discrete_fit(&x, 1.0, DiscreteEstimator::Exact);
    assert_eq!(f.n_tail, 2000);
    assert_rel(f.alpha, 1.6093715503514798, 1e-14, "alpha");
    let refs = [
        DiscreteRef {
            alt: Alternative::Exponential,
            params: &[0.25265491105535803],
            log_likelihood: -4756.772485573508,
            r: -613.9274360187824,
            normalized_r: -22.213420092718778,
            p: 2.5478621181029877e-109,
            package_alpha: 1.609381583997462,
            package_params: &[0.252654749944184],
            package_r: -613.9274362756267,
            package_ll: -4756.772485573912,
            package_ll_float64: -4756.772485573912,
        },
        DiscreteRef {
            alt: Alternative::Lognormal,
            params: &[1.1073432499304614, 0.8882049082344325],
            log_likelihood: -4770.177320967428,
            r: -600.5226006248611,
            normalized_r: -21.452811319021958,
            p: 4.298707976263632e-102,
            package_alpha: 1.609381583997462,
            package_params: &[1.1073587455791718, 0.888177595853933],
            package_r: -600.522599772989,
            package_ll: -4770.1773220765535,
            package_ll_float64: -4770.1773220765535,
        },
        DiscreteRef {
            alt: Alternative::StretchedExponential,
            params: &[0.2536961040408243, 0.9947396880639173],
            log_likelihood: -4756.752255290278,
            r: -613.9476663020115,
            normalized_r: -22.367343237860364,
            p: 8.186948894285356e-111,
            package_alpha: 1.609381583997462,
            package_params: &[0.253705503658211, 0.9947027911646725],
            package_r: -613.947665500517,
            package_ll: -4756.752256349019,
            package_ll_float64: -4756.75225634902,
        },
        DiscreteRef {
            alt: Alternative::TruncatedPowerLaw,
            params: &[-0.006502378479311691, 0.2538842203924165],
            log_likelihood: -4756.766843495971,
            r: -613.9330780963185,
            normalized_r: -22.132355922005857,
            p: 5.3612182906217356e-269,
            package_alpha: 1.609381583997462,
            package_params: &[7.255004878955757e-06, 0.2525988151137394],
            package_r: -613.9273769972721,
            package_ll: -4756.772544852269,
            package_ll_float64: -4756.772544852269,
        },
    ];
    check(&x, &f, &refs);
    let t = likelihood_ratio_test(&x, &f, Alternative::Exponential).unwrap();
    assert!(t.r < -600.0 && t.normalized_r < -20.0 && t.p_value < 1e-100);
}

#[test]
fn seeded_geometric_counts_reject_the_power_law() {
    // Counts from the crate's own generator: x = 3 + floor(E / 0.1), E ~ Exp(1), so a
    // discrete exponential with lambda = 0.1 above 3; at xmin = 3 and with the xmin scan
    // (which picks xmin = 12 and a shorter tail: R = -25.6, p = 0.0018).
    use rand::Rng as _;
    let mut g = crate::rng::seeded(23);
    let x: Vec<f64> = (0..1500)
        .map(|_| 3.0 + (-(1.0 - g.random::<f64>()).ln() / 0.1).floor())
        .collect();
    for rule in [XminRule::Fixed(3.0), XminRule::default()] {
        let f = fit(
            &x,
            &FitOptions {
                support: Support::Discrete(DiscreteEstimator::Exact),
                xmin: rule,
            },
        )
        .unwrap();
        let t = likelihood_ratio_test(&x, &f, Alternative::Exponential).unwrap();
        assert!(
            t.r < -10.0 && t.p_value < 0.01,
            "{rule:?}: xmin {} R {} p {}",
            f.xmin,
            t.r,
            t.p_value
        );
        match t.fit {
            AlternativeFit::DiscreteExponential(d) => {
                assert!((d.lambda - 0.1).abs() < 0.02, "lambda {}", d.lambda)
            }
            other => panic!("{other:?}"),
        }
    }
}
