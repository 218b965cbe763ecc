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
