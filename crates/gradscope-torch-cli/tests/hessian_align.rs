//! `hessian-align`: snapshots of its `--help` and of its stderr summary on a fixed input
//! (its alignment is tested in cli.rs and walk.rs), the density and the per-block curvature.

mod common;

#[test]
fn help_snapshot() {
    insta::assert_snapshot!("hessian-align --help", common::help_text("hessian-align"));
}

/// The stderr summary on a fixed input: the tiny run's initial checkpoint, the top 2
/// eigenvalues by Lanczos on 64 examples, 4 minibatches of 8 (seconds masked; one thread, as
/// every test binary runs, so the float32 products are summed in one order; decimals at 4
/// significant digits, as the kernels differ between CPUs: [`common::round_floats`]).
#[test]
fn summary_snapshot() {
    let dir = tempfile::tempdir().unwrap();
    let ck = common::tiny_run(dir.path());
    let out = dir.path().join("align.csv");
    let summary = common::summary_of(
        "hessian-align",
        &[
            "--checkpoint",
            ck.to_str().unwrap(),
            "-k",
            "2",
            "-n",
            "4",
            "-b",
            "8",
            "--hessian-samples",
            "64",
            "-o",
            out.to_str().unwrap(),
        ],
        dir.path(),
    );
    insta::assert_snapshot!("hessian-align summary", common::round_floats(&summary, 4));
}

/// `--density`: the table integrates to 1, every probe's quadrature weights sum to 1, the
/// largest node of 30-step probes is the top eigenvalue Lanczos finds (the accuracy of the
/// density itself against a dense Hessian's eigenvalues is tested in
/// gradscope-torch's hessian_spectrum), the run is seeded, and bad settings are errors.
#[test]
fn density_by_stochastic_lanczos_quadrature() {
    let dir = tempfile::tempdir().unwrap();
    let run = dir.path().join("run");
    let bin = |name: &str| {
        let mut c = assert_cmd::Command::cargo_bin(name).unwrap();
        c.env_remove("LD_LIBRARY_PATH").args(["--threads", "1"]);
        c
    };
    bin("train")
        .args([
            "--model",
            "mlp",
            "--dataset",
            "synthetic",
            "-b",
            "128",
            "--lr",
            "0.1",
        ])
        .args(["--epochs", "1", "--checkpoint-epochs", "1", "-o"])
        .arg(&run)
        .assert()
        .success();
    let ckpt = run.join("ckpt/epoch-001.safetensors");
    let density = |tag: &str| {
        let (d, nodes, eig) = (
            dir.path().join(format!("density-{tag}.csv")),
            dir.path().join(format!("nodes-{tag}.csv")),
            dir.path().join(format!("eig-{tag}.csv")),
        );
        bin("hessian-align")
            .arg("--checkpoint")
            .arg(&ckpt)
            .args([
                "--hessian-samples",
                "256",
                "-b",
                "32",
                "-n",
                "1",
                "-k",
                "1",
                "--tol",
                "1e-8",
            ])
            .args([
                "--slq-probes",
                "3",
                "--slq-steps",
                "30",
                "--grid",
                "-1:4:501",
                "-o",
            ])
            .arg(dir.path().join("align.csv"))
            .arg("--eigen-output")
            .arg(&eig)
            .arg("--density")
            .arg(&d)
            .arg("--slq-nodes")
            .arg(&nodes)
            .assert()
            .success();
        (
            std::fs::read_to_string(d).unwrap(),
            std::fs::read_to_string(nodes).unwrap(),
            std::fs::read_to_string(eig).unwrap(),
        )
    };
    let (d, nodes, eig) = density("a");
    let col = |text: &str, name: &str| -> Vec<f64> {
        let mut lines = text.lines();
        let h: Vec<&str> = lines.next().unwrap().split(',').collect();
        let i = h.iter().position(|c| *c == name).unwrap();
        lines
            .map(|l| l.split(',').nth(i).unwrap().parse().unwrap())
            .collect()
    };
    let (x, y) = (col(&d, "eigenvalue"), col(&d, "density"));
    assert_eq!(x.len(), 501);
    let mass: f64 = y.iter().sum::<f64>() * (x[1] - x[0]);
    assert!((mass - 1.0).abs() < 0.02, "density integrates to {mass}");
    let (probe, node, weight) = (
        col(&nodes, "probe"),
        col(&nodes, "eigenvalue"),
        col(&nodes, "weight"),
    );
    for p in 0..3 {
        let sum: f64 = probe
            .iter()
            .zip(&weight)
            .filter(|(q, _)| **q == p as f64)
            .map(|(_, w)| w)
            .sum();
        assert!((sum - 1.0).abs() < 1e-10, "probe {p}: weights sum to {sum}");
    }
    let top = node.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let lambda = col(&eig, "eigenvalue")[0];
    assert!(
        (top - lambda).abs() <= 1e-6 * lambda,
        "largest node {top} vs top eigenvalue {lambda}"
    );
    // Seeded: the same tables again.
    assert_eq!(density("b").0, d);
    // Bad settings: one error line, exit 2 (a usage error), and no output.
    let out = dir.path().join("x.csv");
    let density_out = dir.path().join("x-density.csv");
    let refused = |args: &[&str], starts: &str, needles: &[&str]| {
        let o = bin("hessian-align")
            .arg("--checkpoint")
            .arg(&ckpt)
            .args(["-b", "32"])
            .args(args)
            .arg("-o")
            .arg(&out)
            .output()
            .unwrap();
        let err = common::assert_error_line(&o, 2, needles, &[&density_out, &out]);
        assert!(err.starts_with(starts), "{err}");
    };
    let density_arg = density_out.to_str().unwrap();
    refused(
        &["-k", "0", "--slq-probes", "0", "--density", density_arg],
        "error: --slq-probes 0",
        &[],
    );
    // With -k 0 no top eigenvalue is sought: its solver's settings are refused, not
    // ignored (they were accepted and changed nothing).
    for [flag, value] in [
        ["--method", "power"],
        ["--tol", "1e-6"],
        ["--max-iter", "50"],
    ] {
        refused(
            &["-k", "0", "--trace-probes", "2", flag, value],
            &format!("error: {flag} sets the solver"),
            &["-k 0 asks for none"],
        );
    }
    refused(
        &["--grid", "3:1:10", "--density", density_arg],
        "error: --grid 3:1:10",
        &[],
    );
}

/// The fields of one CSV line (quoted fields may hold commas).
fn csv_fields(line: &str) -> Vec<String> {
    let (mut out, mut cur, mut quoted) = (Vec::new(), String::new(), false);
    for c in line.chars() {
        match c {
            '"' => quoted = !quoted,
            ',' if !quoted => out.push(std::mem::take(&mut cur)),
            c => cur.push(c),
        }
    }
    out.push(cur);
    out
}

/// `--blocks`: one row per diagonal block of H and one for the whole network (`fcn`:
/// BatchNorm, so double backward). The blocks of `layer` partition the parameters, so
/// their traces add up to the whole trace; with probes each is Hutchinson's estimate with
/// its standard error, and the sum is within 4 combined standard errors of the whole
/// network's estimate (the exact identity, and the blocks' eigenvalues against a dense
/// eigensolver, are tested in gradscope-torch's hessian_blocks). A block's top eigenvalue
/// is at most the whole one (Cauchy's interlacing theorem). Bad settings: one error line,
/// exit 1, no output file.
#[test]
fn curvature_per_block() {
    let dir = tempfile::tempdir().unwrap();
    let run = dir.path().join("run");
    let bin = |name: &str| {
        let mut c = assert_cmd::Command::cargo_bin(name).unwrap();
        c.env_remove("LD_LIBRARY_PATH").args(["--threads", "1"]);
        c
    };
    bin("train")
        .args(["--model", "fcn", "--dataset", "synthetic", "-b", "128"])
        .args([
            "--lr",
            "0.1",
            "--epochs",
            "1",
            "--checkpoint-epochs",
            "1",
            "-o",
        ])
        .arg(&run)
        .assert()
        .success();
    let ckpt = run.join("ckpt/epoch-001.safetensors");
    let blocks = dir.path().join("blocks.csv");
    let eig = dir.path().join("eig.csv");
    let density = dir.path().join("density.csv");
    let png = dir.path().join("density.png");
    let o = bin("hessian-align")
        .arg("--checkpoint")
        .arg(&ckpt)
        .args(["--hessian-samples", "256", "-b", "32", "-n", "1", "-k", "2"])
        .args(["--tol", "1e-6", "--max-iter", "300", "--trace-probes", "40"])
        .args([
            "--blocks",
            "layer",
            "--slq-probes",
            "2",
            "--slq-steps",
            "20",
        ])
        .arg("--density")
        .arg(&density)
        .arg("--density-plot")
        .arg(&png)
        .arg("--blocks-output")
        .arg(&blocks)
        .arg("--eigen-output")
        .arg(&eig)
        .arg("-o")
        .arg(dir.path().join("align.csv"))
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let text = std::fs::read_to_string(&blocks).unwrap();
    let mut lines = text.lines();
    assert_eq!(
        lines.next().unwrap(),
        "step,block,tensors,parameters,top_eigenvalue,trace,trace_se,hvps"
    );
    // (block, tensors, parameters, top eigenvalue, trace, se)
    let rows: Vec<(String, String, f64, f64, f64, f64)> = lines
        .map(|l| {
            let f = csv_fields(l);
            let x = |i: usize| f[i].parse::<f64>().unwrap();
            (f[1].clone(), f[2].clone(), x(3), x(4), x(5), x(6))
        })
        .collect();
    let names: Vec<&str> = rows.iter().map(|r| r.0.as_str()).collect();
    assert_eq!(names, ["all", "fc1", "bn1", "fc2", "bn2", "fc3"]);
    assert_eq!(rows[1].1, "fc1.weight,fc1.bias");
    let whole = &rows[0];
    assert_eq!(rows[1..].iter().map(|r| r.2).sum::<f64>(), whole.2);
    let sum: f64 = rows[1..].iter().map(|r| r.4).sum();
    let se = rows.iter().map(|r| r.5 * r.5).sum::<f64>().sqrt();
    assert!(
        (sum - whole.4).abs() < 4.0 * se,
        "block traces {sum} vs whole {} (se {se})",
        whole.4
    );
    for r in &rows[1..] {
        assert!(r.3 <= whole.3 * (1.0 + 1e-6), "{r:?} vs {whole:?}");
    }
    // the eigenvalue and density tables carry the block
    let eig = std::fs::read_to_string(&eig).unwrap();
    assert_eq!(eig.lines().filter(|l| l.contains(",fc2,")).count(), 2);
    let dens = std::fs::read_to_string(&density).unwrap();
    assert_eq!(dens.lines().filter(|l| l.contains(",fc3,")).count(), 1001);
    assert_eq!(&std::fs::read(&png).unwrap()[1..4], b"PNG");
    // bad settings
    let dens_flags = |x: &str| -> Vec<String> {
        vec!["--density".into(), dir.path().join(x).display().to_string()]
    };
    // exit 1 where only the model shows the block wrong, 2 where the command line alone is
    for (code, flags, message) in [
        (
            1,
            vec!["--blocks", "fc9", "-k", "1"],
            "error: --blocks fc9: matches no parameter tensor (the model's layers: fc1, bn1, fc2, bn2, fc3)",
        ),
        (
            2,
            vec!["--blocks", "layer", "--slq-probes", "0"],
            "error: --slq-probes 0: the density needs at least 1 probe",
        ),
        (
            2,
            vec!["--blocks", "fc1", "--slq-steps", "0"],
            "error: --slq-steps 0: the density needs at least 1 Lanczos step per probe",
        ),
        (
            2,
            vec!["--blocks", "fc1,", "-k", "1"],
            "error: --blocks fc1,: expected `layer`, `tensor` or comma-separated parameter-name prefixes, with no empty one",
        ),
    ] {
        let o = bin("hessian-align")
            .arg("--checkpoint")
            .arg(&ckpt)
            .args(["--hessian-samples", "64", "-b", "32", "-n", "1"])
            .args(&flags)
            .args(dens_flags("x-density.csv"))
            .arg("--blocks-output")
            .arg(dir.path().join("x-blocks.csv"))
            .arg("-o")
            .arg(dir.path().join("x.csv"))
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(code), "{flags:?}");
        assert_eq!(String::from_utf8_lossy(&o.stderr).trim_end(), message);
        for f in ["x.csv", "x-blocks.csv", "x-density.csv"] {
            assert!(!dir.path().join(f).exists(), "{flags:?}: {f}");
        }
    }
    let o = bin("hessian-align")
        .arg("--checkpoint")
        .arg(&ckpt)
        .args(["-b", "32", "-n", "1", "-k", "0", "--blocks", "layer", "-o"])
        .arg(dir.path().join("x.csv"))
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(
        String::from_utf8_lossy(&o.stderr).trim_end(),
        "error: --blocks: nothing to measure per block: ask for -k, --trace-probes or --density"
    );
}
