//! Errors and warnings about report inputs.

use serde::Serialize;
use std::fmt;

/// How serious a [`Diagnostic`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Something a careful reader accepts; the report was read.
    Warning,
    /// The input (or this part of it) is not a report, or lacks what every report carries.
    Error,
}

/// One problem with an input: the file (with the part inside it, e.g. `r.eml: part 2
/// (x.zip): x.xml`), the element (an XML path such as `feedback/record[2]/row/count`, a field
/// name such as `Feedback-Type`, or empty for the file as a whole) and the reason.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Diagnostic {
    /// Warning or error.
    pub severity: Severity,
    /// The file and the part of it.
    pub file: String,
    /// The element or field; empty for the file as a whole.
    pub element: String,
    /// What is wrong.
    pub reason: String,
}

impl Diagnostic {
    /// An error.
    pub fn error(file: &str, element: &str, reason: impl Into<String>) -> Self {
        Diagnostic {
            severity: Severity::Error,
            file: file.to_owned(),
            element: element.to_owned(),
            reason: reason.into(),
        }
    }

    /// A warning.
    pub fn warning(file: &str, element: &str, reason: impl Into<String>) -> Self {
        Diagnostic {
            severity: Severity::Warning,
            ..Diagnostic::error(file, element, reason)
        }
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = match self.severity {
            Severity::Warning => "warning",
            Severity::Error => "error",
        };
        if self.element.is_empty() {
            write!(f, "{kind}: {}: {}", self.file, self.reason)
        } else {
            write!(
                f,
                "{kind}: {}: {}: {}",
                self.file, self.element, self.reason
            )
        }
    }
}

impl std::error::Error for Diagnostic {}

/// The warnings and errors gathered while reading.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Diagnostics {
    /// Every diagnostic, in the order met.
    pub items: Vec<Diagnostic>,
}

impl Diagnostics {
    /// Adds a warning.
    pub fn warn(&mut self, file: &str, element: &str, reason: impl Into<String>) {
        self.items.push(Diagnostic::warning(file, element, reason));
    }

    /// Adds an error.
    pub fn error(&mut self, file: &str, element: &str, reason: impl Into<String>) {
        self.items.push(Diagnostic::error(file, element, reason));
    }

    /// The warnings.
    pub fn warnings(&self) -> impl Iterator<Item = &Diagnostic> {
        self.items
            .iter()
            .filter(|d| d.severity == Severity::Warning)
    }

    /// The errors.
    pub fn errors(&self) -> impl Iterator<Item = &Diagnostic> {
        self.items.iter().filter(|d| d.severity == Severity::Error)
    }

    /// True when any error was met.
    pub fn has_errors(&self) -> bool {
        self.errors().next().is_some()
    }
}
