//! What the server's benches share: their command line, and the load
//! generator each runs as a second process (its own file limit, its own
//! cores' worth of scheduling) that says `ready…` on stdout once connected.

#![allow(dead_code)] // each bench uses part of it

use std::io::{BufRead, BufReader, Lines};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};

/// The value after `name` on the command line.
pub fn arg(name: &str) -> Option<String> {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
}

/// This bench binary again with `args` (which start with `--loadgen`).
pub struct Loadgen {
    pub child: Child,
    pub stdin: ChildStdin,
    pub lines: Lines<BufReader<ChildStdout>>,
}

impl Loadgen {
    pub fn spawn(args: &[&str]) -> anyhow::Result<Self> {
        let mut child = Command::new(std::env::current_exe()?)
            .args(args)
            .stdout(Stdio::piped())
            .stdin(Stdio::piped())
            .spawn()?;
        let stdout = child
            .stdout
            .take()
            .ok_or_else(|| anyhow::anyhow!("stdout"))?;
        let stdin = child.stdin.take().ok_or_else(|| anyhow::anyhow!("stdin"))?;
        Ok(Self {
            child,
            stdin,
            lines: BufReader::new(stdout).lines(),
        })
    }

    /// Waits (off the runtime) for the generator's first line, which must
    /// start with `ready`; returns the generator and that line.
    pub async fn ready(mut self) -> anyhow::Result<(Self, String)> {
        let (first, this) = tokio::task::spawn_blocking(move || (self.lines.next(), self)).await?;
        let first = first.ok_or_else(|| anyhow::anyhow!("load generator died"))??;
        anyhow::ensure!(first.starts_with("ready"), "load generator: {first}");
        Ok((this, first))
    }
}
