//! What is wrong with a scenario file, each problem with its line, column and source line.

use std::fmt;

/// Everything wrong with a scenario, each with its place in the file.
#[derive(Debug, Clone, PartialEq)]
pub struct ScenarioError {
    /// The file, as given.
    pub file: String,
    /// The problems found, in file order.
    pub problems: Vec<Problem>,
}

/// One problem at one place.
#[derive(Debug, Clone, PartialEq)]
pub struct Problem {
    /// 1-based line (0 when the file could not be read).
    pub line: usize,
    /// 1-based column.
    pub col: usize,
    /// What is wrong and what was expected.
    pub message: String,
    /// The text of that line, for a caret display.
    pub source_line: String,
}

impl ScenarioError {
    pub(super) fn at(
        file: &str,
        text: &str,
        span: std::ops::Range<usize>,
        message: String,
    ) -> ScenarioError {
        ScenarioError {
            file: file.to_string(),
            problems: vec![problem_at(text, span, message)],
        }
    }
}

pub(super) fn problem_at(text: &str, span: std::ops::Range<usize>, message: String) -> Problem {
    let start = span.start.min(text.len());
    let before = &text[..start];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |p| p + 1);
    let col = text[line_start..start].chars().count() + 1;
    // The line is quoted in logs (a CI log is read by many): a password in a URL is not.
    let source_line =
        super::credentials::redact_userinfo(text[line_start..].lines().next().unwrap_or_default());
    Problem {
        line,
        col,
        message,
        source_line,
    }
}

impl fmt::Display for ScenarioError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, p) in self.problems.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            if p.line == 0 {
                write!(f, "{}: {}", self.file, p.message)?;
                continue;
            }
            writeln!(f, "{}:{}:{}: {}", self.file, p.line, p.col, p.message)?;
            let gutter = p.line.to_string().len();
            writeln!(f, "{:gutter$} |", "")?;
            writeln!(f, "{} | {}", p.line, p.source_line)?;
            write!(f, "{:gutter$} | {:>col$}", "", "^", col = p.col)?;
        }
        Ok(())
    }
}

impl std::error::Error for ScenarioError {}
