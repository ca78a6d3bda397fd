//! How a command fails: a sentence, its causes, and what to do about it.

use std::error::Error;

/// A failed command, already phrased for people.
#[derive(Debug)]
pub struct Failure {
    message: String,
    hint: Option<String>,
    /// Set when the details were printed already (e.g. topology diagnostics).
    pub(crate) already_reported: bool,
}

impl Failure {
    pub fn new(message: impl Into<String>) -> Self {
        Failure { message: message.into(), hint: None, already_reported: false }
    }

    #[must_use]
    pub fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    /// An error and every cause under it, one clause each.
    pub fn from_error(error: &dyn Error) -> Self {
        let mut message = error.to_string();
        let mut source = error.source();
        while let Some(cause) = source {
            message.push_str(": ");
            message.push_str(&cause.to_string());
            source = cause.source();
        }
        Failure::new(message)
    }

    pub(crate) fn print(&self, colour: bool) {
        let label = if colour { "\x1b[1;31merror\x1b[0m" } else { "error" };
        eprintln!("{label}: {}", self.message);
        if let Some(hint) = &self.hint {
            eprintln!("  = hint: {hint}");
        }
    }
}

impl<E: Error> From<E> for Failure {
    fn from(error: E) -> Self {
        Failure::from_error(&error)
    }
}
