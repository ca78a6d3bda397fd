//! Progress of a run: live spinners with elapsed time per resource on a terminal, one plain
//! line per event otherwise (CI logs), and the closing summary.

use std::collections::HashMap;
use std::io::IsTerminal;
use std::sync::Mutex;
use std::time::Duration;

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use ringform_core::Address;
use ringform_engine::{Event, OpKind, Outcome, Reporter};

use crate::failure::{one_line, unwind};

fn verbs(op: OpKind) -> (&'static str, &'static str) {
    match op {
        OpKind::Create => ("creating", "created"),
        OpKind::Update => ("updating", "updated"),
        OpKind::Delete => ("destroying", "destroyed"),
    }
}

pub(crate) fn seconds(d: Duration) -> String {
    let s = d.as_secs_f64();
    if s < 60.0 { format!("{s:.1}s") } else { format!("{}m{:02}s", d.as_secs() / 60, d.as_secs() % 60) }
}

pub(crate) enum Progress {
    Lines,
    Live { bars: MultiProgress, running: Mutex<HashMap<(Address, OpKind), ProgressBar>> },
}

impl Progress {
    /// Live on a terminal, lines otherwise.
    pub fn for_stderr() -> Progress {
        if std::io::stderr().is_terminal() {
            Progress::Live {
                bars: MultiProgress::with_draw_target(ProgressDrawTarget::stderr()),
                running: Mutex::default(),
            }
        } else {
            Progress::Lines
        }
    }

    fn line(&self, text: String) {
        match self {
            Progress::Lines => eprintln!("{text}"),
            Progress::Live { bars, .. } => bars.suspend(|| eprintln!("{text}")),
        }
    }
}

impl Reporter for Progress {
    fn report(&self, event: Event) {
        match (&event, self) {
            (Event::Started { address, op }, Progress::Live { bars, running }) => {
                let bar = bars.add(ProgressBar::new_spinner());
                bar.set_style(
                    ProgressStyle::with_template("{spinner} {msg} [{elapsed}]")
                        .unwrap_or_else(|_| ProgressStyle::default_spinner()),
                );
                bar.set_message(format!("{address}: {}…", verbs(*op).0));
                bar.enable_steady_tick(Duration::from_millis(120));
                let mut running = running.lock().unwrap_or_else(|p| p.into_inner());
                running.insert((address.clone(), *op), bar);
                return;
            }
            (Event::Started { address, op }, Progress::Lines) => {
                self.line(format!("{address}: {}…", verbs(*op).0));
                return;
            }
            _ => {}
        }
        if let (
            Event::Succeeded { address, op, .. } | Event::Failed { address, op, .. },
            Progress::Live { running, .. },
        ) = (&event, self)
        {
            let mut running = running.lock().unwrap_or_else(|p| p.into_inner());
            if let Some(bar) = running.remove(&(address.clone(), *op)) {
                bar.finish_and_clear();
            }
        }
        let text = match event {
            Event::Started { .. } => return,
            Event::Succeeded { address, op, elapsed } => {
                format!("{address}: {} after {}", verbs(op).1, seconds(elapsed))
            }
            Event::Failed { address, op, error } => {
                format!("{address}: {} failed: {}", op.as_str(), one_line(error.error()))
            }
            Event::Retrying { address, op, attempt, delay, error } => format!(
                "{address}: {} attempt {attempt} failed ({}); retrying in {}",
                op.as_str(),
                one_line(&error),
                seconds(delay)
            ),
            Event::Skipped { address, op, because } => {
                format!("{address}: {} skipped because {because} failed", op.as_str())
            }
            Event::Stopping { in_flight } => format!(
                "Stopping: no new operations will start; waiting for {in_flight} in flight to finish (Ctrl-C again to abort)"
            ),
        };
        self.line(text);
    }
}

/// The closing summary: counts, failures and what they held up, and the critical path.
pub(crate) fn summary(outcome: &Outcome, verb: &str) -> String {
    let count = |op: OpKind| outcome.succeeded.iter().filter(|(_, o, _)| *o == op).count();
    let mut text = if outcome.is_complete() {
        format!("\n{verb} complete after {}! ", seconds(outcome.elapsed))
    } else {
        format!("\n{verb} incomplete after {}. ", seconds(outcome.elapsed))
    };
    text.push_str(&format!(
        "Resources: {} added, {} changed, {} destroyed.\n",
        count(OpKind::Create),
        count(OpKind::Update),
        count(OpKind::Delete)
    ));
    for (address, op, error) in &outcome.failed {
        let (message, causes, hint) = unwind(error.error());
        text.push_str(&format!("  failed:  {address} ({}): {message}\n", op.as_str()));
        for cause in causes {
            text.push_str(&format!("    Caused by: {cause}\n"));
        }
        if let Some(hint) = hint {
            text.push_str(&format!("    hint: {hint}\n"));
        }
    }
    for (address, op, because) in &outcome.skipped {
        text.push_str(&format!("  skipped: {address} ({}), because {because} failed\n", op.as_str()));
    }
    if !outcome.not_started.is_empty() {
        text.push_str(&format!("  not started (stopped): {} operations\n", outcome.not_started.len()));
    }
    if !outcome.critical_path.is_empty() {
        let path: Vec<String> =
            outcome.critical_path.iter().map(|(a, op, d)| format!("{a} {} {}", op.as_str(), seconds(*d))).collect();
        text.push_str(&format!("Critical path: {}\n", path.join(" → ")));
    }
    text
}

#[cfg(test)]
mod tests {
    use ringform_core::provider::ProviderError;
    use ringform_engine::OpError;

    use super::*;

    #[test]
    fn a_failed_operation_is_summed_up_with_each_cause_once_and_its_hint() {
        let refused = std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "Connection refused (os error 111)");
        let error =
            ProviderError::retryable("creating aws_vpc.a (eu-west-1) failed: the request could not be sent to AWS")
                .with_source(refused)
                .with_hint("check the network");
        let (a, b): (Address, Address) = ("aws_vpc.a".parse().unwrap(), "aws_subnet.a".parse().unwrap());
        let outcome = Outcome {
            failed: vec![(a.clone(), OpKind::Create, OpError::new(error))],
            skipped: vec![(b, OpKind::Create, a)],
            elapsed: Duration::from_millis(1500),
            ..Outcome::default()
        };
        assert_eq!(
            summary(&outcome, "Apply"),
            "\nApply incomplete after 1.5s. Resources: 0 added, 0 changed, 0 destroyed.\n  \
             failed:  aws_vpc.a (create): creating aws_vpc.a (eu-west-1) failed: the request could not be sent to AWS\n    \
             Caused by: Connection refused (os error 111)\n    \
             hint: check the network\n  \
             skipped: aws_subnet.a (create), because aws_vpc.a failed\n"
        );
    }
}
