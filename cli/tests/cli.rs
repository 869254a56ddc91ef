//! The command line surface: every subcommand is listed and documented.

use std::process::Command;

fn accord() -> Command {
    Command::new(env!("CARGO_BIN_EXE_accord"))
}

#[test]
fn help_lists_every_subcommand() {
    let output = accord().arg("--help").output().expect("run accord --help");
    assert!(output.status.success());
    let help = String::from_utf8(output.stdout).expect("utf-8 help");
    for command in [
        "mock",
        "stub",
        "record",
        "broker",
        "publish",
        "can-i-deploy",
        "create-environment",
        "record-deployment",
        "record-release",
        "describe-version",
        "token",
        "verify",
        "monitor",
    ] {
        assert!(
            help.lines()
                .any(|line| line.trim_start().starts_with(command)),
            "`accord --help` does not list `{command}`:\n{help}"
        );
    }
}

#[test]
fn an_unknown_flag_is_a_usage_error() {
    let output = accord().arg("--no-such-flag").output().expect("run accord");
    assert_eq!(output.status.code(), Some(64), "usage errors exit with 64");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("--no-such-flag"), "{stderr}");
}
