//! Errors of parsing and compiling expressions.

use std::fmt;

use thiserror::Error;

/// What was wrong at the position of a [`ParseError`].
#[derive(Debug, Clone, PartialEq, Error)]
#[non_exhaustive]
pub enum ParseErrorKind {
    /// A character that starts no token: `unexpected character '$'`.
    #[error("unexpected character {0:?}")]
    UnexpectedChar(char),
    /// A token other than the ones that may come here.
    #[error("expected {expected}, found {found}")]
    Unexpected {
        /// What may come here, e.g. `"an operator or end of input"`.
        expected: &'static str,
        /// What came, e.g. `"')'"` or `"end of input"`.
        found: String,
    },
    /// A closing bracket that does not match the opening one, or a missing
    /// one: `expected ')' to close '(' at column 1, found end of input`.
    #[error("expected {close:?} to close {open:?} at column {open_column}, found {found}")]
    Unclosed {
        /// The opening bracket.
        open: char,
        /// The bracket that closes it.
        close: char,
        /// Where the opening bracket is (1-based, in characters).
        open_column: usize,
        /// What came instead.
        found: String,
    },
    /// A name followed by `(` or `[` that is not a function.
    #[error("unknown function '{name}' (known: {known})",
        known = super::Function::names().into_iter().chain(super::Function2::names()).collect::<Vec<_>>().join(", "))]
    UnknownFunction {
        /// The name as written.
        name: String,
    },
    /// A function name used without an argument: `sin x`.
    #[error("function '{name}' needs an argument in parentheses: {name}(...)")]
    MissingArgument {
        /// The function's name as written.
        name: String,
    },
    /// A function of two arguments given one: `atan2(y)`.
    #[error(
        "function '{name}' takes {expected} arguments separated by a comma, as in {name}(a, b); found {found}"
    )]
    Arity {
        /// The function's name as written.
        name: String,
        /// How many arguments it takes.
        expected: usize,
        /// What came where the comma should be.
        found: String,
    },
    /// A malformed number: `1e`, `1.2.3`.
    #[error("malformed number {text:?}: {expected}")]
    BadNumber {
        /// The text of the number.
        text: String,
        /// What it should look like.
        expected: &'static str,
    },
    /// A number that overflows `f64`: `1e999`.
    #[error("number {0:?} is too large for a 64-bit float")]
    NumberOverflow(String),
    /// Brackets or powers nested deeper than the parser allows.
    #[error("expression nested more than {0} levels deep")]
    TooDeep(usize),
}

/// A syntax error, with the position it was found at.
///
/// `Display` renders the message, the line of the expression and a caret
/// under the position:
///
/// ```
/// let err = hesse::expr::Expr::parse("(1-x^2").unwrap_err();
/// assert_eq!(err.column(), 7);
/// assert_eq!(
///     err.to_string(),
///     "parse error at column 7: expected ')' to close '(' at column 1, found end of input\n  (1-x^2\n        ^"
/// );
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct ParseError {
    kind: ParseErrorKind,
    source: String,
    byte: usize,
}

impl ParseError {
    pub(crate) fn new(kind: ParseErrorKind, source: &str, byte: usize) -> Self {
        ParseError {
            kind,
            source: source.to_string(),
            byte,
        }
    }

    /// What was wrong.
    pub fn kind(&self) -> &ParseErrorKind {
        &self.kind
    }

    /// The byte offset of the error in the expression (the expression's
    /// length for "end of input").
    pub fn byte(&self) -> usize {
        self.byte
    }

    /// The 1-based line of the error.
    pub fn line(&self) -> usize {
        1 + self.source[..self.byte].matches('\n').count()
    }

    /// The 1-based column of the error within its line, counted in
    /// characters (not bytes).
    pub fn column(&self) -> usize {
        let start = self.source[..self.byte].rfind('\n').map_or(0, |i| i + 1);
        1 + self.source[start..self.byte].chars().count()
    }

    /// The expression that failed to parse.
    pub fn expression(&self) -> &str {
        &self.source
    }
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let multiline = self.source.contains('\n');
        if multiline {
            write!(f, "parse error at line {}, ", self.line())?;
        } else {
            write!(f, "parse error at ")?;
        }
        write!(f, "column {}: {}", self.column(), self.kind)?;
        let start = self.source[..self.byte].rfind('\n').map_or(0, |i| i + 1);
        let end = self.source[self.byte..]
            .find('\n')
            .map_or(self.source.len(), |i| self.byte + i);
        // Tabs and other control characters would shift the caret.
        let line: String = self.source[start..end]
            .chars()
            .map(|c| if c.is_control() { ' ' } else { c })
            .collect();
        write!(f, "\n  {line}\n  {}^", " ".repeat(self.column() - 1))
    }
}

impl std::error::Error for ParseError {}

/// Why an expression could not be compiled for the variables given.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum CompileError {
    /// Variables of the expression that are neither parameters nor data.
    #[error("no value given for {}: {}", plural("variable", .0.len()), .0.join(", "))]
    Unbound(Vec<String>),
    /// A name given twice among the parameters and data.
    #[error("variable '{0}' is given more than once")]
    Duplicate(String),
}

fn plural(word: &str, n: usize) -> String {
    if n == 1 {
        word.to_string()
    } else {
        format!("{word}s")
    }
}
