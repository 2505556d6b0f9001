//! Everything the user sees that is not a command's own output: logging set-up, colour
//! choice, error messages, the confirmation prompt, live progress lines.

use std::io::{BufRead, IsTerminal, Write};
use std::time::{Duration, Instant};

/// Logs go to stderr through tracing: `-v` info, `-vv` debug, `-vvv` trace; `RUST_LOG`
/// overrides. Default: warnings only.
pub fn init_logging(verbose: u8) {
    // The SDK's own warnings (one per credential provider that found nothing, ...) are
    // not the user's business at the default level: ecsctl says what is missing itself.
    let default = match verbose {
        0 => "warn,aws_config=error,aws_smithy_runtime=error,aws_sdk_sts=error",
        1 => "info",
        2 => "debug",
        _ => "trace",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(color_stderr())
        .try_init();
}

fn no_color() -> bool {
    std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty())
}

/// Colour on stdout: only on a terminal and never with `NO_COLOR`.
pub fn color_stdout() -> bool {
    !no_color() && std::io::stdout().is_terminal()
}

pub fn color_stderr() -> bool {
    !no_color() && std::io::stderr().is_terminal()
}

pub fn paint(color: bool, code: &str, s: &str) -> String {
    if color {
        format!("\x1b[{code}m{s}\x1b[0m")
    } else {
        s.to_string()
    }
}

/// `error: …` and each cause on its own line.
pub fn print_error(e: &anyhow::Error) {
    let color = color_stderr();
    let mut out = format!("{} {e}", paint(color, "1;31", "error:"));
    for cause in e.chain().skip(1) {
        out.push_str(&format!("\n  caused by: {cause}"));
    }
    eprintln!("{out}");
}

/// Ask for `yes` on the terminal. Anything else (or no terminal) declines.
pub fn confirm(question: &str) -> anyhow::Result<bool> {
    if !std::io::stdin().is_terminal() {
        anyhow::bail!(
            "{question} needs confirmation but standard input is not a terminal; \
             pass --auto-approve to proceed without asking"
        );
    }
    print!("\n{question}\n  Only 'yes' will be accepted to approve.\n\n  Enter a value: ");
    std::io::stdout().flush()?;
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line)?;
    Ok(line.trim() == "yes")
}

/// `2m14s`, `4.2s`.
pub fn human_duration(d: Duration) -> String {
    let secs = d.as_secs();
    if secs >= 60 {
        format!("{}m{:02}s", secs / 60, secs % 60)
    } else {
        format!("{:.1}s", d.as_secs_f64())
    }
}

/// Prints one line per event of a running apply/destroy. On a terminal: coloured, with a
/// progress bar kept below the lines; otherwise plain lines stamped with the time since the
/// start, so logs read well in CI.
pub struct Lines {
    color: bool,
    start: Instant,
    bar: Option<indicatif::ProgressBar>,
}

impl Lines {
    /// `total` is the number of operations the run will perform (a replace is two).
    pub fn new(total: u64) -> Self {
        let bar = std::io::stdout().is_terminal().then(|| {
            let bar = indicatif::ProgressBar::new(total);
            let style = indicatif::ProgressStyle::with_template(
                "{spinner} [{elapsed_precise}] [{bar:30}] {pos}/{len} {msg}",
            )
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
            .progress_chars("=> ");
            bar.set_style(style);
            bar.enable_steady_tick(Duration::from_millis(200));
            bar
        });
        Lines {
            color: color_stdout(),
            start: Instant::now(),
            bar,
        }
    }

    /// One operation ended.
    pub fn advance(&self) {
        if let Some(bar) = &self.bar {
            bar.inc(1);
        }
    }

    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }

    pub fn line(&self, symbol: &str, address: &str, message: &str) {
        let stamp = format!("[{:>6}]", human_duration(self.start.elapsed()));
        let code = match symbol {
            "+" => "32",
            "~" => "33",
            "-" => "31",
            "-/+" | "+/-" => "35",
            "!" => "1;31",
            _ => "0",
        };
        let text = format!(
            "{} {} {}: {}",
            paint(self.color, "2", &stamp),
            paint(self.color, code, &format!("{symbol:>3}")),
            paint(self.color, "1", address),
            message
        );
        match &self.bar {
            Some(bar) => bar.println(text),
            None => println!("{text}"),
        }
    }
}
