//! How a command fails: a sentence, its causes, and what to do about it, printed once at the
//! end the way uv and cargo print errors:
//!
//! ```text
//! error: cannot read the aws_vpc objects in aws/eu-west-1
//!   Caused by: the request could not be sent to AWS
//!   Caused by: Connection refused (os error 111)
//! hint: check the network and the AWS endpoint, then run ringform again
//! ```

use std::error::Error;

use ringform_core::provider::ProviderError;

/// A failed command, already phrased for people.
#[derive(Debug)]
pub struct Failure {
    message: String,
    /// The error's causes, outermost first.
    causes: Vec<String>,
    hint: Option<String>,
    /// Set when the details were printed already (e.g. topology diagnostics).
    pub(crate) already_reported: bool,
}

impl Failure {
    pub fn new(message: impl Into<String>) -> Self {
        Failure { message: message.into(), causes: Vec::new(), hint: None, already_reported: false }
    }

    #[must_use]
    pub fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    /// `error` with its causes, and the hint the first provider error among them gives.
    pub fn from_error(error: &(dyn Error + 'static)) -> Self {
        let (message, causes, hint) = unwind(error);
        Failure { message, causes, hint, already_reported: false }
    }

    /// Puts `error` (and its causes) under this failure's message, for a failure that says what
    /// was being done: `Failure::new("cannot read X").caused_by(&io_error)`.
    #[must_use]
    pub fn caused_by(mut self, error: &(dyn Error + 'static)) -> Self {
        let (message, causes, hint) = unwind(error);
        self.causes.push(message);
        self.causes.extend(causes);
        self.hint = self.hint.or(hint);
        self
    }

    /// The whole report, one line per cause.
    pub(crate) fn render(&self, colour: bool) -> String {
        let paint = |text: &str, style: &str| if colour { format!("\x1b[{style}m{text}\x1b[0m") } else { text.into() };
        let mut text = format!("{}: {}\n", paint("error", "1;31"), self.message);
        for cause in &self.causes {
            text.push_str(&format!("  {} {cause}\n", paint("Caused by:", "1")));
        }
        if let Some(hint) = &self.hint {
            text.push_str(&format!("{}: {hint}\n", paint("hint", "1;36")));
        }
        text
    }

    pub(crate) fn print(&self, colour: bool) {
        eprint!("{}", self.render(colour));
    }
}

impl<E: Error + 'static> From<E> for Failure {
    fn from(error: E) -> Self {
        Failure::from_error(&error)
    }
}

/// An error's message, the messages of its causes, and the first hint a [`ProviderError`] in
/// the chain carries. A cause that the message above it already ends with is left out: some
/// libraries repeat their source in their own message, and each cause is shown once.
pub(crate) fn unwind(error: &(dyn Error + 'static)) -> (String, Vec<String>, Option<String>) {
    let mut hint = None;
    let mut lines: Vec<String> = Vec::new();
    let mut level = Some(error);
    while let Some(current) = level {
        if hint.is_none() {
            hint = current.downcast_ref::<ProviderError>().and_then(|e| e.hint.clone());
        }
        let text = current.to_string();
        if !lines.last().is_some_and(|above| above.ends_with(&text)) {
            lines.push(text);
        }
        level = current.source();
    }
    let message = lines.remove(0);
    (message, lines, hint)
}

/// An error and its causes on one line, `what: why: why`, for progress lines (the run's
/// summary shows the hint).
pub(crate) fn one_line(error: &(dyn Error + 'static)) -> String {
    let (message, causes, _) = unwind(error);
    std::iter::once(message).chain(causes).collect::<Vec<_>>().join(": ")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An error with a message and an optional cause, like an HTTP or SDK error.
    #[derive(Debug)]
    struct Layer(&'static str, Option<Box<Layer>>);

    impl std::fmt::Display for Layer {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str(self.0)
        }
    }

    impl Error for Layer {
        fn source(&self) -> Option<&(dyn Error + 'static)> {
            self.1.as_deref().map(|e| e as &(dyn Error + 'static))
        }
    }

    fn connection_refused() -> Layer {
        Layer("dispatch failure", Some(Box::new(Layer("Connection refused (os error 111)", None))))
    }

    fn provider_error() -> ProviderError {
        ProviderError::retryable("creating aws_vpc.eu-west (eu-west-1) failed: the request could not be sent to AWS")
            .with_source(connection_refused())
            .with_hint("check AWS_ENDPOINT_URL and the network")
    }

    #[test]
    fn a_provider_error_renders_every_cause_once_then_its_hint() {
        let rendered = Failure::from(provider_error()).render(false);
        assert_eq!(
            rendered,
            "error: creating aws_vpc.eu-west (eu-west-1) failed: the request could not be sent to AWS\n  \
             Caused by: dispatch failure\n  \
             Caused by: Connection refused (os error 111)\n\
             hint: check AWS_ENDPOINT_URL and the network\n"
        );
        for part in ["dispatch failure", "Connection refused", "AWS_ENDPOINT_URL"] {
            assert_eq!(rendered.matches(part).count(), 1, "{part} once in:\n{rendered}");
        }
    }

    #[test]
    fn a_provider_error_under_another_error_still_gives_its_hint() {
        #[derive(Debug, thiserror::Error)]
        #[error("cannot read the aws_vpc objects in aws/eu-west-1")]
        struct Reading(#[source] ProviderError);

        let failure = Failure::from(Reading(provider_error()));
        let rendered = failure.render(false);
        let lines: Vec<&str> = rendered.lines().collect();
        assert_eq!(lines[0], "error: cannot read the aws_vpc objects in aws/eu-west-1");
        assert_eq!(
            lines[1],
            "  Caused by: creating aws_vpc.eu-west (eu-west-1) failed: the request could not be sent to AWS"
        );
        assert_eq!(lines[3], "  Caused by: Connection refused (os error 111)");
        assert_eq!(lines[4], "hint: check AWS_ENDPOINT_URL and the network");
        assert_eq!(lines.len(), 5);
    }

    #[test]
    fn a_cause_its_parent_already_quotes_is_shown_once() {
        let quoting = Layer("tcp connect error: Connection refused", Some(Box::new(Layer("Connection refused", None))));
        let (message, causes, hint) = unwind(&quoting);
        assert_eq!(message, "tcp connect error: Connection refused");
        assert!(causes.is_empty(), "{causes:?}");
        assert_eq!(hint, None);
    }

    #[test]
    fn a_failure_can_say_what_was_being_done_above_the_error() {
        let io = std::io::Error::new(std::io::ErrorKind::NotFound, "No such file or directory (os error 2)");
        let failure = Failure::new("cannot read topology file x.toml").caused_by(&io).hint("pass a topology file");
        assert_eq!(
            failure.render(false),
            "error: cannot read topology file x.toml\n  Caused by: No such file or directory (os error 2)\nhint: pass a topology file\n"
        );
    }

    #[test]
    fn one_line_joins_the_causes() {
        assert_eq!(
            one_line(&provider_error()),
            "creating aws_vpc.eu-west (eu-west-1) failed: the request could not be sent to AWS: dispatch failure: \
             Connection refused (os error 111)"
        );
    }

    #[test]
    fn colour_marks_the_labels_only() {
        let rendered = Failure::from(provider_error()).render(true);
        assert!(rendered.starts_with("\x1b[1;31merror\x1b[0m: creating"), "{rendered:?}");
        assert!(rendered.contains("\x1b[1mCaused by:\x1b[0m dispatch failure"), "{rendered:?}");
        assert!(rendered.contains("\x1b[1;36mhint\x1b[0m: check"), "{rendered:?}");
    }
}
