//! Lexer and recursive-descent parser.
//!
//! Grammar (lowest precedence first):
//!
//! ```text
//! sum     = product { ("+" | "-") product }
//! product = unary { ("*" | "/") unary }
//! unary   = ("-" | "+") unary | power
//! power   = atom [ ("^" | "**") unary ]          right-associative
//! atom    = number | constant | variable
//!         | function ( "(" sum ")" | "[" sum "]" )
//!         | function2 ( "(" sum "," sum ")" | "[" sum "," sum "]" )
//!         | "(" sum ")" | "[" sum "]"
//! ```
//!
//! Because `power` binds tighter than `unary`, `-x^2` is `-(x^2)`, and because
//! an exponent is a `unary`, `2^-x` and `x^-1` parse. The tree is built in an
//! arena in post-order (children before parents), so compiling and dropping
//! it need no recursion; only nesting depth recurses, and it is capped.

use super::error::{ParseError, ParseErrorKind};
use super::{BinOp, Function, Function2, Node};

/// The deepest nesting of brackets, unary signs and powers accepted.
pub(crate) const MAX_DEPTH: usize = 256;

#[derive(Debug, Clone, PartialEq)]
enum Tok<'a> {
    Num(f64),
    Ident(&'a str),
    Plus,
    Minus,
    Star,
    Slash,
    Pow,
    Open(char),
    Close(char),
    Comma,
    End,
}

impl Tok<'_> {
    fn describe(&self) -> String {
        match self {
            Tok::Num(v) => format!("number {v}"),
            Tok::Ident(s) => format!("'{s}'"),
            Tok::Plus => "'+'".into(),
            Tok::Minus => "'-'".into(),
            Tok::Star => "'*'".into(),
            Tok::Slash => "'/'".into(),
            Tok::Pow => "'^'".into(),
            Tok::Open(c) | Tok::Close(c) => format!("'{c}'"),
            Tok::Comma => "','".into(),
            Tok::End => "end of input".into(),
        }
    }
}

struct Lexer<'a> {
    src: &'a str,
    pos: usize,
}

impl<'a> Lexer<'a> {
    fn err(&self, kind: ParseErrorKind, at: usize) -> ParseError {
        ParseError::new(kind, self.src, at)
    }

    /// The next token and its byte offset.
    fn next(&mut self) -> Result<(Tok<'a>, usize), ParseError> {
        let bytes = self.src.as_bytes();
        while self.pos < bytes.len() && bytes[self.pos].is_ascii_whitespace() {
            self.pos += 1;
        }
        let start = self.pos;
        let Some(&b) = bytes.get(start) else {
            return Ok((Tok::End, start));
        };
        let one = |t| (t, start);
        self.pos += 1;
        let tok = match b {
            b'+' => one(Tok::Plus),
            b'-' => one(Tok::Minus),
            b'*' if bytes.get(start + 1) == Some(&b'*') => {
                self.pos += 1;
                one(Tok::Pow)
            }
            b'*' => one(Tok::Star),
            b'/' => one(Tok::Slash),
            b'^' => one(Tok::Pow),
            b'(' => one(Tok::Open('(')),
            b'[' => one(Tok::Open('[')),
            b')' => one(Tok::Close(')')),
            b']' => one(Tok::Close(']')),
            b',' => one(Tok::Comma),
            b'0'..=b'9' | b'.' => {
                self.pos = start;
                return self.number();
            }
            b'A'..=b'Z' | b'a'..=b'z' | b'_' => {
                while self.pos < bytes.len()
                    && (bytes[self.pos].is_ascii_alphanumeric() || bytes[self.pos] == b'_')
                {
                    self.pos += 1;
                }
                one(Tok::Ident(&self.src[start..self.pos]))
            }
            _ => {
                let c = self.src[start..].chars().next().unwrap_or('?');
                return Err(self.err(ParseErrorKind::UnexpectedChar(c), start));
            }
        };
        Ok(tok)
    }

    /// `digits [. digits] [(e|E) [+|-] digits]` or `. digits ...`.
    fn number(&mut self) -> Result<(Tok<'a>, usize), ParseError> {
        let bytes = self.src.as_bytes();
        let start = self.pos;
        let digits = |p: &mut usize| {
            let s = *p;
            while *p < bytes.len() && bytes[*p].is_ascii_digit() {
                *p += 1;
            }
            *p - s
        };
        let mut p = start;
        let mut mantissa = digits(&mut p);
        if p < bytes.len() && bytes[p] == b'.' {
            p += 1;
            mantissa += digits(&mut p);
        }
        let bad = |p: usize, expected| {
            ParseError::new(
                ParseErrorKind::BadNumber {
                    text: self.src[start..p].to_string(),
                    expected,
                },
                self.src,
                start,
            )
        };
        if mantissa == 0 {
            return Err(bad(p, "expected digits before or after '.'"));
        }
        if p < bytes.len() && (bytes[p] == b'e' || bytes[p] == b'E') {
            // An exponent only if digits follow (with an optional sign);
            // otherwise `2e` is an error rather than `2` times the constant e.
            let mut q = p + 1;
            if q < bytes.len() && (bytes[q] == b'+' || bytes[q] == b'-') {
                q += 1;
            }
            if digits(&mut q) == 0 {
                return Err(bad(q, "expected digits in the exponent, as in 1e-3"));
            }
            p = q;
        }
        if p < bytes.len()
            && (bytes[p] == b'.' || bytes[p].is_ascii_alphabetic() || bytes[p] == b'_')
        {
            let mut q = p;
            while q < bytes.len()
                && (bytes[q].is_ascii_alphanumeric() || matches!(bytes[q], b'.' | b'_'))
            {
                q += 1;
            }
            return Err(bad(
                q,
                "a number is digits, an optional fraction and an optional exponent (2.5E+4); write '*' to multiply",
            ));
        }
        self.pos = p;
        let text = &self.src[start..p];
        let v: f64 = text.parse().map_err(|_| bad(p, "not a number"))?;
        if v.is_infinite() {
            return Err(ParseError::new(
                ParseErrorKind::NumberOverflow(text.to_string()),
                self.src,
                start,
            ));
        }
        Ok((Tok::Num(v), start))
    }
}

pub(crate) struct Parsed {
    pub nodes: Vec<Node>,
    pub vars: Vec<String>,
}

struct Parser<'a> {
    lex: Lexer<'a>,
    tok: Tok<'a>,
    at: usize,
    depth: usize,
    nodes: Vec<Node>,
    vars: Vec<String>,
}

pub(crate) fn parse(src: &str) -> Result<Parsed, ParseError> {
    let mut lex = Lexer { src, pos: 0 };
    let (tok, at) = lex.next()?;
    let mut p = Parser {
        lex,
        tok,
        at,
        depth: 0,
        nodes: Vec::new(),
        vars: Vec::new(),
    };
    p.sum()?;
    if p.tok != Tok::End {
        let expected = match p.tok {
            Tok::Close(_) => "an operator or end of input (unmatched closing bracket)",
            Tok::Num(_) | Tok::Ident(_) | Tok::Open(_) => {
                "an operator or end of input (write '*' to multiply)"
            }
            _ => "an operator or end of input",
        };
        return Err(p.unexpected(expected));
    }
    Ok(Parsed {
        nodes: p.nodes,
        vars: p.vars,
    })
}

impl<'a> Parser<'a> {
    fn bump(&mut self) -> Result<(), ParseError> {
        (self.tok, self.at) = self.lex.next()?;
        Ok(())
    }

    fn push(&mut self, node: Node) -> u32 {
        self.nodes.push(node);
        (self.nodes.len() - 1) as u32
    }

    fn unexpected(&self, expected: &'static str) -> ParseError {
        ParseError::new(
            ParseErrorKind::Unexpected {
                expected,
                found: self.tok.describe(),
            },
            self.lex.src,
            self.at,
        )
    }

    fn enter(&mut self) -> Result<(), ParseError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(ParseError::new(
                ParseErrorKind::TooDeep(MAX_DEPTH),
                self.lex.src,
                self.at,
            ));
        }
        Ok(())
    }

    fn sum(&mut self) -> Result<u32, ParseError> {
        let mut lhs = self.product()?;
        loop {
            let op = match self.tok {
                Tok::Plus => BinOp::Add,
                Tok::Minus => BinOp::Sub,
                _ => return Ok(lhs),
            };
            self.bump()?;
            let rhs = self.product()?;
            lhs = self.push(Node::Bin(op, lhs, rhs));
        }
    }

    fn product(&mut self) -> Result<u32, ParseError> {
        let mut lhs = self.unary()?;
        loop {
            let op = match self.tok {
                Tok::Star => BinOp::Mul,
                Tok::Slash => BinOp::Div,
                _ => return Ok(lhs),
            };
            self.bump()?;
            let rhs = self.unary()?;
            lhs = self.push(Node::Bin(op, lhs, rhs));
        }
    }

    fn unary(&mut self) -> Result<u32, ParseError> {
        match self.tok {
            Tok::Minus | Tok::Plus => {
                let neg = self.tok == Tok::Minus;
                self.enter()?;
                self.bump()?;
                let arg = self.unary()?;
                self.depth -= 1;
                Ok(if neg { self.push(Node::Neg(arg)) } else { arg })
            }
            _ => self.power(),
        }
    }

    fn power(&mut self) -> Result<u32, ParseError> {
        let base = self.atom()?;
        if self.tok != Tok::Pow {
            return Ok(base);
        }
        self.enter()?;
        self.bump()?;
        let exponent = self.unary()?;
        self.depth -= 1;
        Ok(self.push(Node::Bin(BinOp::Pow, base, exponent)))
    }

    /// `( sum )` or `[ sum ]`, the opening bracket being the current token.
    fn bracketed(&mut self, open: char) -> Result<u32, ParseError> {
        self.arguments(open, None).map(|(a, _)| a)
    }

    /// `( sum , sum )` or `[ sum , sum ]`: the two arguments of `name`.
    fn two_arguments(&mut self, open: char, name: &str) -> Result<(u32, u32), ParseError> {
        let (a, b) = self.arguments(open, Some(name))?;
        Ok((a, b.expect("two arguments parsed")))
    }

    /// One bracketed `sum`, or with `two = Some(function name)` two separated
    /// by a comma.
    fn arguments(
        &mut self,
        open: char,
        two: Option<&str>,
    ) -> Result<(u32, Option<u32>), ParseError> {
        let src = self.lex.src;
        let open_column = 1 + src[..self.at]
            .rsplit('\n')
            .next()
            .map_or(0, |l| l.chars().count());
        self.enter()?;
        self.bump()?;
        let inner = self.sum()?;
        let second = match two {
            Some(name) => {
                if self.tok != Tok::Comma {
                    self.depth -= 1;
                    return Err(ParseError::new(
                        ParseErrorKind::Arity {
                            name: name.to_string(),
                            expected: 2,
                            found: self.tok.describe(),
                        },
                        src,
                        self.at,
                    ));
                }
                self.bump()?;
                Some(self.sum()?)
            }
            None => None,
        };
        self.depth -= 1;
        let close = if open == '(' { ')' } else { ']' };
        if self.tok == Tok::Comma {
            return Err(self.unexpected(match (two, close) {
                (Some(_), _) => "the closing bracket: this function takes 2 arguments",
                (None, ')') => {
                    "an operator or ')' (only atan2, min, max and hypot take two arguments)"
                }
                (None, _) => {
                    "an operator or ']' (only atan2, min, max and hypot take two arguments)"
                }
            }));
        }
        if self.tok != Tok::Close(close) {
            if matches!(self.tok, Tok::Close(_) | Tok::End) {
                return Err(ParseError::new(
                    ParseErrorKind::Unclosed {
                        open,
                        close,
                        open_column,
                        found: self.tok.describe(),
                    },
                    src,
                    self.at,
                ));
            }
            return Err(self.unexpected(match close {
                ')' => "an operator or ')'",
                _ => "an operator or ']'",
            }));
        }
        self.bump()?;
        Ok((inner, second))
    }

    fn atom(&mut self) -> Result<u32, ParseError> {
        match self.tok.clone() {
            Tok::Num(v) => {
                self.bump()?;
                Ok(self.push(Node::Num(v)))
            }
            Tok::Open(c) => self.bracketed(c),
            Tok::Ident(name) => {
                let at = self.at;
                self.bump()?;
                if let Tok::Open(c) = self.tok
                    && let Some(func) = Function2::from_name(name)
                {
                    let (a, b) = self.two_arguments(c, name)?;
                    return Ok(self.push(Node::Call2(func, a, b)));
                }
                if let Tok::Open(c) = self.tok {
                    let Some(func) = Function::from_name(name) else {
                        return Err(ParseError::new(
                            ParseErrorKind::UnknownFunction { name: name.into() },
                            self.lex.src,
                            at,
                        ));
                    };
                    let arg = self.bracketed(c)?;
                    return Ok(self.push(Node::Call(func, arg)));
                }
                if Function::is_function_name(name) {
                    return Err(ParseError::new(
                        ParseErrorKind::MissingArgument { name: name.into() },
                        self.lex.src,
                        at,
                    ));
                }
                let node = match name {
                    "pi" => Node::Num(std::f64::consts::PI),
                    "e" => Node::Num(std::f64::consts::E),
                    _ => {
                        let i = match self.vars.iter().position(|v| v == name) {
                            Some(i) => i,
                            None => {
                                self.vars.push(name.to_string());
                                self.vars.len() - 1
                            }
                        };
                        Node::Var(i as u32)
                    }
                };
                Ok(self.push(node))
            }
            _ => Err(self.unexpected("a number, a variable, a function or '('")),
        }
    }
}
