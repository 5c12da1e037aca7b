//! Running `apt-get` on the host, non-interactively, for the few tools cogpack installs itself
//! (`docker.io` for the private engine, `debootstrap` for base images).

use std::process::Stdio;

/// A failed `apt-get` run. Callers map it into their own module's error.
#[derive(Debug, thiserror::Error)]
#[error("`{command}` failed ({status})\n{output_tail}")]
pub struct AptFailure {
    /// The command line, e.g. `apt-get install -y debootstrap`.
    pub command: String,
    /// The exit status, or `could not start`.
    pub status: String,
    /// The last lines of stdout followed by stderr (or why it could not start).
    pub output_tail: String,
}

/// How to run `apt-get`.
#[derive(Debug, Clone, Copy)]
pub struct AptOptions<'a> {
    /// `PATH` for apt-get and the maintainer scripts it runs; the inherited one when `None`.
    pub path: Option<&'a str>,
    /// How many of the last output lines to keep in [`AptFailure::output_tail`].
    pub tail_lines: usize,
}

/// Runs `apt-get <args>` with `DEBIAN_FRONTEND=noninteractive` and no stdin, collecting its
/// output.
pub async fn apt_get(args: &[&str], opts: AptOptions<'_>) -> Result<(), AptFailure> {
    let command = format!("apt-get {}", args.join(" "));
    let mut cmd = tokio::process::Command::new("apt-get");
    cmd.args(args)
        .env("DEBIAN_FRONTEND", "noninteractive")
        .stdin(Stdio::null());
    if let Some(path) = opts.path {
        cmd.env("PATH", path);
    }
    let out = match cmd.output().await {
        Ok(out) => out,
        Err(e) => {
            return Err(AptFailure {
                command,
                status: "could not start".into(),
                output_tail: e.to_string(),
            })
        }
    };
    if out.status.success() {
        return Ok(());
    }
    let mut text = String::from_utf8_lossy(&out.stdout).into_owned();
    text.push_str(&String::from_utf8_lossy(&out.stderr));
    Err(AptFailure {
        command,
        status: out.status.to_string(),
        output_tail: last_lines(&text, opts.tail_lines),
    })
}

/// The last `n` lines of `text`, joined with `\n`.
pub fn last_lines(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn last_lines_keeps_the_end() {
        assert_eq!(last_lines("a\nb\nc\n", 2), "b\nc");
        assert_eq!(last_lines("a\nb", 5), "a\nb");
        assert_eq!(last_lines("", 3), "");
    }
}
