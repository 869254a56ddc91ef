//! Helpers for Accord's end-to-end tests: finding the `accord` binary and the
//! official Pact tools, starting processes that announce the port they bound,
//! and selecting the PostgreSQL backend.
//!
//! The tests themselves live in `e2e/`. They start real servers on port 0 and talk
//! real HTTP; nothing of Accord's own is mocked.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

/// The `accord` binary built by this `cargo test` run.
///
/// Cargo builds the CLI's binary before it runs any test (the CLI crate has
/// integration tests of its own), and puts it one level above the test executable.
pub fn accord_bin() -> PathBuf {
    let exe = std::env::current_exe().expect("current test executable");
    let dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("test executable lives in target/<profile>/deps");
    let bin = dir.join(format!("accord{}", std::env::consts::EXE_SUFFIX));
    assert!(
        bin.exists(),
        "the accord binary is not at {}: run the tests with `scripts/test` (or `cargo test --workspace`), which builds it",
        bin.display()
    );
    bin
}

fn tool_from_env(var: &str, fallback: &str) -> PathBuf {
    let path = std::env::var_os(var).map(PathBuf::from).unwrap_or_else(|| {
        let home = std::env::var_os("HOME")
            .map(PathBuf::from)
            .unwrap_or_default();
        home.join(".cache/accord/tools/venv/bin").join(fallback)
    });
    assert!(
        path.exists(),
        "the official Pact tools are not installed ({} missing): run `scripts/test`, which installs them \
         (or set {var})",
        path.display()
    );
    path
}

/// The official `pact` binary (from `pip install pact-python-cli`).
pub fn official_pact_bin() -> PathBuf {
    tool_from_env("ACCORD_PACT_BIN", "pact")
}

/// A Python interpreter with `pact-python` installed.
pub fn official_python() -> PathBuf {
    tool_from_env("ACCORD_PYTHON", "python")
}

/// A command for an official tool, with usage tracking turned off.
pub fn official_command(program: impl AsRef<std::ffi::OsStr>) -> Command {
    let mut command = Command::new(program);
    command.env("PACT_DO_NOT_TRACK", "true");
    command
}

/// The PostgreSQL URL selected for this run, or `None` after saying loudly why
/// the PostgreSQL variant of a test is skipped.
pub fn postgres_url(test: &str) -> Option<String> {
    match std::env::var("ACCORD_TEST_POSTGRES_URL") {
        Ok(url) if !url.is_empty() => Some(url),
        _ => {
            eprintln!(
                "SKIPPED: {test} on PostgreSQL: set ACCORD_TEST_POSTGRES_URL \
                 (e.g. postgres://postgres@127.0.0.1:5432/test) to run it"
            );
            None
        }
    }
}

/// A child process that is killed when dropped.
#[derive(Debug)]
pub struct Running {
    child: Child,
    /// The URL the process announced on its first `... listening on URL` line.
    pub url: String,
}

impl Running {
    /// Starts `command` and waits (up to `timeout`) for the line in which it
    /// announces the address it listens on: `... listening on http://HOST:PORT`.
    pub fn start(mut command: Command, timeout: Duration) -> Running {
        command.stdout(Stdio::piped()).stderr(Stdio::inherit());
        let mut child = command
            .spawn()
            .unwrap_or_else(|err| panic!("cannot start {command:?}: {err}"));
        let stdout = child.stdout.take().expect("piped stdout");
        let (sender, receiver) = mpsc::channel();
        std::thread::spawn(move || {
            let mut announced = false;
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if !announced && let Some(url) = line.split("listening on ").nth(1) {
                    announced = true;
                    let _ = sender.send(url.trim().to_string());
                }
                // Keep draining so the child never blocks on a full pipe.
            }
        });
        match receiver.recv_timeout(timeout) {
            Ok(url) => Running { child, url },
            Err(_) => {
                let _ = child.kill();
                let status = child.wait().ok();
                panic!(
                    "{command:?} did not announce a listening address within {timeout:?} (exit: {status:?})"
                );
            }
        }
    }

    /// The process id.
    pub fn id(&self) -> u32 {
        self.child.id()
    }

    /// Stops the process (SIGKILL) and waits for it.
    pub fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Runs a command to completion and returns its output, panicking with both
/// streams when it cannot be started.
pub fn run(command: &mut Command) -> std::process::Output {
    command
        .output()
        .unwrap_or_else(|err| panic!("cannot run {command:?}: {err}"))
}

/// Starts the example provider in-process on a free port and returns its URL.
pub async fn spawn_example_provider(state: example_provider::AppState) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind a free port");
    let url = format!("http://{}", listener.local_addr().expect("bound address"));
    tokio::spawn(example_provider::serve(listener, state));
    url
}
