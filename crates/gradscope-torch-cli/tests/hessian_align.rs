//! `hessian-align`: a snapshot of its `--help` (its behaviour is tested in cli.rs and walk.rs).

#[test]
fn help_snapshot() {
    let o = assert_cmd::Command::cargo_bin("hessian-align")
        .unwrap()
        .env_remove("LD_LIBRARY_PATH")
        .env("COLUMNS", "100")
        .arg("--help")
        .output()
        .unwrap();
    assert!(o.status.success());
    insta::assert_snapshot!("hessian-align --help", String::from_utf8(o.stdout).unwrap());
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
    // Bad settings: one error line, exit 1 (usage errors: exit 2).
    let o = bin("hessian-align")
        .arg("--checkpoint")
        .arg(&ckpt)
        .args(["-b", "32", "-k", "0", "--slq-probes", "0", "-o"])
        .arg(dir.path().join("x.csv"))
        .arg("--density")
        .arg(dir.path().join("x-density.csv"))
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
    assert!(!dir.path().join("x-density.csv").exists() && !dir.path().join("x.csv").exists());
    bin("hessian-align")
        .arg("--checkpoint")
        .arg(&ckpt)
        .args(["-b", "32", "--grid", "3:1:10", "-o"])
        .arg(dir.path().join("x.csv"))
        .arg("--density")
        .arg(dir.path().join("x-density.csv"))
        .assert()
        .code(1);
}
