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

#[test]
fn broker_help_does_not_show_secret_environment_values() {
    let output = accord()
        .args(["broker", "--help"])
        .env("ACCORD_DATABASE_URL", "postgres://u:hunter2@h/db")
        .env("ACCORD_BROKER_TOKEN", "tok-hunter2")
        .env(
            "ACCORD_BROKER_PUBLIC_BASE_URL",
            "https://u:hunter2@broker.example",
        )
        .output()
        .expect("run accord broker --help");
    assert!(output.status.success());
    let help = String::from_utf8_lossy(&output.stdout);
    assert!(help.contains("--database-url"), "{help}");
    assert!(!help.contains("hunter2"), "{help}");
    for command in ["publish", "can-i-deploy", "verify", "monitor", "record"] {
        let output = accord()
            .args([command, "--help"])
            .env("PACT_BROKER_BASE_URL", "https://u:hunter2@broker.example")
            .env("PACT_BROKER_PASSWORD", "hunter2")
            .env("ACCORD_PROVIDER_HEADER", "Authorization: Bearer hunter2")
            .env("ACCORD_RECORD_TARGET", "https://u:hunter2@api.example")
            .output()
            .expect("run accord --help");
        let help = String::from_utf8_lossy(&output.stdout);
        assert!(
            !help.contains("hunter2"),
            "accord {command} --help:\n{help}"
        );
    }
}

#[test]
fn a_database_url_that_does_not_parse_is_not_echoed_with_its_password() {
    for url in [
        "postgres://u:hunter2@bad host/db",
        "mysql://u:hunter2@db/x",
        "postgres://u:hunter2@[::1/db",
    ] {
        let output = accord()
            .args(["broker", "--bind", "127.0.0.1:0", "--database-url", url])
            .env_remove("ACCORD_DATABASE_URL")
            .env_remove("DATABASE_URL")
            .output()
            .expect("run accord broker");
        let code = output.status.code();
        assert!(matches!(code, Some(2 | 64)), "{url}: exit {code:?}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(stderr.contains("error"), "{url}: {stderr}");
        assert!(
            !stderr.contains("hunter2") && !stdout.contains("hunter2"),
            "{url}: {stderr}{stdout}"
        );
    }
}

/// An error no command turned into its own exit code (here: the broker cannot write
/// its "listening on" line) exits 2, never 1, which means "no" to can-i-deploy.
#[test]
fn a_leftover_error_is_a_runtime_error_not_a_no() {
    let dir = tempfile::tempdir().unwrap();
    let Ok(full) = std::fs::OpenOptions::new().write(true).open("/dev/full") else {
        eprintln!("SKIPPED: a_leftover_error_is_a_runtime_error_not_a_no needs /dev/full");
        return;
    };
    let output = accord()
        .args(["broker", "--bind", "127.0.0.1:0", "--database-url"])
        .arg(format!("sqlite://{}", dir.path().join("b.db").display()))
        .stdout(full)
        .output()
        .expect("run accord broker");
    assert_eq!(
        output.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(String::from_utf8_lossy(&output.stderr).contains("stdout"));
}

#[test]
fn a_broker_database_in_a_missing_directory_is_named_once_with_the_fix() {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_accord"))
        .args([
            "broker",
            "--bind",
            "127.0.0.1:0",
            "--database-url",
            "sqlite:///no-such-accord-dir/accord.db",
        ])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(64), "{stderr}");
    assert!(stderr.contains("mkdir -p /no-such-accord-dir"), "{stderr}");
    assert_eq!(
        stderr.matches("does not exist").count(),
        1,
        "said twice: {stderr}"
    );
}

/// can-i-deploy's pacticipant/version pairs are checked before the broker is asked
/// (the broker URL here is never reached): each mistake is a usage error naming it.
#[test]
fn can_i_deploy_pairs_each_version_with_the_pacticipant_before_it() {
    let run = |args: &[&str]| {
        let output = accord()
            .arg("can-i-deploy")
            .args(args)
            .args(["--broker-base-url", "http://127.0.0.1:9"])
            .env_remove("ACCORD_PACTICIPANT_VERSION")
            .env_remove("ACCORD_LATEST")
            .env_remove("ACCORD_CAN_I_DEPLOY_BRANCH")
            .env_remove("ACCORD_MAIN_BRANCH")
            .output()
            .expect("run accord can-i-deploy");
        (
            output.status.code(),
            String::from_utf8_lossy(&output.stderr).to_string(),
        )
    };
    let (code, stderr) = run(&["-e", "1", "-a", "web", "-a", "orders", "-e", "2"]);
    assert_eq!(code, Some(64), "{stderr}");
    assert!(
        stderr.contains("--version comes before any --pacticipant"),
        "{stderr}"
    );

    let (code, stderr) = run(&[
        "-a", "web", "-e", "1", "--latest", "-a", "orders", "-e", "2",
    ]);
    assert_eq!(code, Some(64), "{stderr}");
    assert!(stderr.contains("web has two version flags"), "{stderr}");

    let (code, stderr) = run(&["-a", "web", "-e", "1", "-a", "orders"]);
    assert_eq!(code, Some(64), "{stderr}");
    assert!(stderr.contains("which version of orders?"), "{stderr}");

    let (code, stderr) = run(&["-a", "web", "-e", "1", "-a", "web", "-e", "2"]);
    assert_eq!(code, Some(64), "{stderr}");
    assert!(stderr.contains("web is given twice"), "{stderr}");

    let (code, stderr) = run(&["-a", "web", "-e", "1", "-a", "orders", "-e", "2", "--plan"]);
    assert_eq!(code, Some(64), "{stderr}");
    assert!(stderr.contains("--plan needs a target"), "{stderr}");

    // With one pacticipant the version flag may come first, as it always could; the
    // unreachable broker is then a runtime error (2), not a usage one.
    let (code, stderr) = run(&["-e", "1", "-a", "web", "--to-environment", "production"]);
    assert_eq!(code, Some(2), "{stderr}");
}

/// An error hint names the flag of the command that was run: `verify` and `monitor`
/// take `--broker-url`, the other client commands `--broker-base-url`.
#[test]
fn an_unreachable_broker_is_named_by_the_commands_own_flag() {
    let run = |args: &[&str]| {
        let output = accord()
            .args(args)
            .env("ACCORD_LOG", "error")
            .env_remove("PACT_BROKER_BASE_URL")
            .output()
            .expect("run accord");
        (
            output.status.code(),
            String::from_utf8_lossy(&output.stderr).to_string(),
        )
    };
    let (code, stderr) = run(&[
        "verify",
        "-n",
        "orders",
        "--provider-base-url",
        "http://127.0.0.1:9",
        "--broker-url",
        "http://127.0.0.1:9",
        "--retries",
        "0",
    ]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(
        stderr.contains("(--broker-url / PACT_BROKER_BASE_URL)"),
        "{stderr}"
    );
    assert_eq!(
        stderr.matches("cannot reach the broker").count(),
        1,
        "{stderr}"
    );

    let (code, stderr) = run(&[
        "describe-version",
        "-a",
        "orders",
        "-e",
        "1",
        "--broker-base-url",
        "http://127.0.0.1:9",
        "--retries",
        "0",
    ]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(
        stderr.contains("(--broker-base-url / PACT_BROKER_BASE_URL)"),
        "{stderr}"
    );
}

/// A PostgreSQL database that was never created is a configuration error (64) whose
/// message says how to create it.
#[test]
fn a_missing_postgres_database_says_how_to_create_it() {
    let Ok(url) = std::env::var("ACCORD_TEST_POSTGRES_URL") else {
        eprintln!(
            "SKIPPED: a_missing_postgres_database_says_how_to_create_it needs PostgreSQL; set ACCORD_TEST_POSTGRES_URL"
        );
        return;
    };
    let mut missing = url::Url::parse(&url).expect("ACCORD_TEST_POSTGRES_URL is a URL");
    missing.set_path("/accord_no_such_database");
    let output = accord()
        .args([
            "broker",
            "--bind",
            "127.0.0.1:0",
            "--database-url",
            missing.as_str(),
        ])
        .output()
        .expect("run accord broker");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(64), "{stderr}");
    assert!(
        stderr.contains("createdb -h") && stderr.contains("accord_no_such_database"),
        "{stderr}"
    );
    assert_eq!(
        stderr.matches("does not exist").count(),
        1,
        "said twice: {stderr}"
    );
}

/// Configuration and usage mistakes exit 64 before anything is asked of the broker:
/// a blank name or version (an unset variable), a database URL of no known backend.
#[test]
fn blank_values_and_unknown_databases_are_usage_errors() {
    let broker = ["--broker-base-url", "http://127.0.0.1:9"];
    let cases: Vec<Vec<&str>> = vec![
        vec![
            "can-i-deploy",
            "-a",
            "web",
            "-e",
            "",
            "--to-environment",
            "production",
        ],
        vec![
            "can-i-deploy",
            "-a",
            "web",
            "-e",
            "1",
            "--to-environment",
            " ",
        ],
        vec![
            "record-deployment",
            "-a",
            "web",
            "-e",
            " ",
            "--environment",
            "production",
        ],
        vec![
            "record-release",
            "-a",
            "",
            "-e",
            "1",
            "--environment",
            "production",
        ],
        vec!["create-environment", "--name", ""],
        vec!["describe-version", "-a", "web", "-e", ""],
        vec!["publish", "pacts", "--consumer-app-version", ""],
        vec!["publish", "pacts", "-a", "1", "--branch", ""],
    ];
    for args in cases {
        let output = accord()
            .args(&args)
            .args(broker)
            .env("ACCORD_LOG", "error")
            .output()
            .expect("run accord");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(64), "{args:?}: {stderr}");
        assert!(stderr.contains("is blank"), "{args:?}: {stderr}");
        assert!(
            !stderr.contains("cannot reach the broker"),
            "{args:?}: {stderr}"
        );
    }
    for url in ["mysql://db/accord", "sqlite"] {
        let output = accord()
            .args(["broker", "--bind", "127.0.0.1:0", "--database-url", url])
            .output()
            .expect("run accord broker");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(64), "{url}: {stderr}");
        assert!(
            stderr.contains("use sqlite://PATH or postgres://"),
            "{stderr}"
        );
    }
}

#[test]
fn publish_provider_contract_refuses_what_it_cannot_check_before_sending_it() {
    let dir = tempfile::tempdir().unwrap();
    let run = |file: &str, content: &str, extra: &[&str]| {
        let path = dir.path().join(file);
        std::fs::write(&path, content).unwrap();
        let output = accord()
            .arg("publish-provider-contract")
            .arg(&path)
            .args(["--provider", "orders", "--provider-app-version", "1"])
            .args(["--verification-success"])
            // Nothing listens here: a refusal must come before any request.
            .args(["--broker-base-url", "http://127.0.0.1:9"])
            .args(extra)
            .output()
            .unwrap();
        (
            output.status.code(),
            String::from_utf8_lossy(&output.stderr).to_string(),
        )
    };
    let (code, stderr) = run("contract.yaml", "some: contract\n", &[]);
    assert_eq!(code, Some(64), "{stderr}");
    assert!(
        stderr.contains("neither an OpenAPI nor an AsyncAPI document"),
        "{stderr}"
    );
    let events = "asyncapi: 3.0.0\ninfo: {title: t, version: '1'}\nchannels: {}\n";
    let (code, stderr) = run("events.yaml", events, &["--specification", "oas"]);
    assert_eq!(code, Some(64), "{stderr}");
    assert!(
        stderr.contains("is asyncapi but --specification says oas"),
        "{stderr}"
    );
}
