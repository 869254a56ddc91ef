//! Progress of an import on stderr: a bar per kind of record on a terminal, one line
//! per step otherwise (and nothing at all with `--output json`).

use std::collections::BTreeMap;
use std::io::IsTerminal;

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::plan::Kind;

pub struct Bars {
    /// Bars are drawn (stderr is a terminal).
    drawn: bool,
    /// Anything is said at all.
    talk: bool,
    multi: MultiProgress,
    bars: std::sync::Mutex<BTreeMap<Kind, ProgressBar>>,
}

impl Bars {
    pub fn new(talk: bool) -> Self {
        let drawn = talk && std::io::stderr().is_terminal();
        let target = if drawn {
            ProgressDrawTarget::stderr()
        } else {
            ProgressDrawTarget::hidden()
        };
        Self {
            drawn,
            talk,
            multi: MultiProgress::with_draw_target(target),
            bars: std::sync::Mutex::new(BTreeMap::new()),
        }
    }

    /// A line about what is happening.
    pub fn say(&self, line: &str) {
        if !self.talk {
            return;
        }
        if self.drawn {
            let _ = self.multi.println(line);
        } else {
            eprintln!("{line}");
        }
    }

    /// A step of reading a broker.
    pub fn step(&self, what: &str) {
        self.say(&format!("  reading {what}"));
    }

    /// Starts the bar of a kind with how many records are to be copied.
    pub fn start(&self, kind: Kind, total: usize) {
        if !self.talk {
            return;
        }
        if !self.drawn {
            if total > 0 {
                eprintln!("Copying {total} {}", kind.key());
            }
            return;
        }
        let bar = self.multi.add(ProgressBar::new(total as u64));
        bar.set_style(
            ProgressStyle::with_template("{prefix:>14} [{bar:40}] {pos}/{len}")
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> "),
        );
        bar.set_prefix(kind.key());
        if let Ok(mut bars) = self.bars.lock() {
            bars.insert(kind, bar);
        }
    }

    /// Counts records of a kind as sent.
    pub fn advance(&self, kind: Kind, count: usize) {
        if let Ok(bars) = self.bars.lock()
            && let Some(bar) = bars.get(&kind)
        {
            bar.inc(count as u64);
        }
    }

    /// Ends every bar (left on screen, complete or not).
    pub fn finish(&self) {
        if let Ok(bars) = self.bars.lock() {
            for bar in bars.values() {
                bar.abandon();
            }
        }
    }
}
