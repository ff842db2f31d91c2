//! Go `text/template` subset as used by the docker CLI's `--format` flag, plus a
//! `text/tabwriter` clone configured the way the docker CLI configures it.
//!
//! Data is a `serde_json::Value`; objects behave like Go's `map[string]interface{}`
//! (a missing key yields `<no value>`), and docker's extra functions (`json`,
//! `join`, `split`, `title`, `lower`, `upper`, `pad`, `truncate`) are built in.

use std::borrow::Cow;
use std::cmp::Ordering;
use std::fmt::Write as _;

use serde_json::{Number, Value};

/// Nesting limit for parentheses and control blocks: keeps parser and executor
/// recursion (and so the stack) bounded whatever the user types.
const MAX_DEPTH: usize = 100;
/// docker's `json` function calls `enc.SetEscapeHTML(false)`, so `<>&` stay as-is.
const JSON_ESCAPE_HTML: bool = false;

static NULL: Value = Value::Null;

/// Error from parsing or executing a template; messages follow Go's wording.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TemplateError {
    /// Syntax error: `template: :1: function "foo" not defined`.
    #[error("template: :{line}: {msg}")]
    Parse { line: usize, msg: String },
    /// Runtime error: `template: :1:2: executing "" at <.Foo.Bar>: ...`.
    #[error("template: :{line}:{col}: executing \"\" at <{context}>: {msg}")]
    Exec {
        line: usize,
        col: usize,
        context: String,
        msg: String,
    },
}

/// A parsed template.
#[derive(Debug, Clone)]
pub struct Template {
    src: String,
    root: Vec<Node>,
}

impl Template {
    /// Parses `src`; every syntax problem is returned as [`TemplateError::Parse`].
    pub fn parse(src: &str) -> Result<Template, TemplateError> {
        let toks = Lexer {
            src,
            toks: Vec::new(),
            parens: 0,
        }
        .run()?;
        let mut p = Parser {
            src,
            toks,
            i: 0,
            eof: Token {
                tok: Tok::Eof,
                pos: src.len(),
                end: src.len(),
            },
            vars: vec!["$".to_string()],
            depth: 0,
            range_depth: 0,
        };
        let (root, term) = p.list()?;
        match term {
            Term::Eof => Ok(Template {
                src: src.to_string(),
                root,
            }),
            Term::End(pos) => p.err(pos, "unexpected {{end}}"),
            Term::Else(pos) => p.err(pos, "unexpected {{else}}"),
        }
    }

    /// Executes the template with `data` as both `.` and `$`.
    pub fn execute(&self, data: &Value) -> Result<String, TemplateError> {
        self.run(data, false)
    }

    /// Executes a `table` format's header row the way docker does: `data` maps
    /// each field to its column title, and `json`, `split`, `join`, `title`,
    /// `lower`, `upper` and `truncate` return their first argument unchanged
    /// (docker's `HeaderFunctions`), so `{{join .Names ","}}` yields `NAMES`.
    pub fn execute_header(&self, data: &Value) -> Result<String, TemplateError> {
        self.run(data, true)
    }

    fn run(&self, data: &Value, header: bool) -> Result<String, TemplateError> {
        let root = Val::V(Cow::Borrowed(data));
        let mut ex = Exec {
            src: &self.src,
            vars: vec![("$", root.clone())],
            out: String::new(),
            header,
        };
        ex.walk(&self.root, &root)?;
        Ok(ex.out)
    }
}

/// Parses and executes in one step.
pub fn render(src: &str, data: &Value) -> Result<String, TemplateError> {
    Template::parse(src)?.execute(data)
}

/// Splits the docker "table" directive: returns `Some(rest)` when the format
/// starts with `table` (docker: `table {{.ID}}\t{{.Name}}`), trimming one
/// following space.
pub fn strip_table_prefix(format: &str) -> Option<&str> {
    format
        .strip_prefix("table")
        .map(|r| r.strip_prefix(' ').unwrap_or(r))
}

/// Exactly what docker's formatter does to a `--format` value before parsing
/// (`formatter.Context.preFormat`): strip `table`, trim spaces at both ends and
/// turn the two-character sequences `\t` and `\n` into a tab and a newline.
/// Returns `(is_table, format)`.
pub fn docker_preformat(format: &str) -> (bool, String) {
    let (table, rest) = match format.strip_prefix("table") {
        Some(r) => (true, r),
        None => (false, format),
    };
    let rest = rest.trim_matches(' ');
    (table, rest.replace("\\t", "\t").replace("\\n", "\n"))
}

// ---------------------------------------------------------------------------
// Lexer

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Text(String),
    LDelim,
    RDelim,
    Space,
    Ident(String),
    Field(String),
    Dot,
    Var(String),
    Str(String),
    Char(i64),
    Num(String),
    Pipe,
    LParen,
    RParen,
    Declare,
    Assign,
    Comma,
    Eof,
}

#[derive(Debug, Clone)]
struct Token {
    tok: Tok,
    pos: usize,
    end: usize,
}

fn is_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\r' | '\n')
}

fn is_alnum(c: char) -> bool {
    c == '_' || c.is_alphanumeric()
}

fn line_at(src: &str, pos: usize) -> usize {
    let pos = pos.min(src.len());
    1 + src.as_bytes()[..pos]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
}

fn parse_err<T>(src: &str, pos: usize, msg: impl Into<String>) -> Result<T, TemplateError> {
    Err(TemplateError::Parse {
        line: line_at(src, pos),
        msg: msg.into(),
    })
}

/// Go's `%#U` rendering of a rune, used in lexer errors.
fn char_desc(c: char) -> String {
    if c.is_control() {
        format!("U+{:04X}", c as u32)
    } else {
        format!("U+{:04X} '{c}'", c as u32)
    }
}

/// Recognises `}}` or ` -}}` at `i`; returns the end offset and whether the
/// following text must be left-trimmed.
fn right_delim_at(src: &str, i: usize) -> Option<(usize, bool)> {
    let rest = src.get(i..)?;
    if rest.starts_with("}}") {
        return Some((i + 2, false));
    }
    let mut cs = rest.chars();
    if cs.next().is_some_and(is_space) && cs.as_str().starts_with("-}}") {
        return Some((i + 4, true));
    }
    None
}

/// Go's `atTerminator`: what may directly follow a field, variable or identifier.
fn at_terminator(src: &str, p: usize) -> bool {
    let rest = src.get(p..).unwrap_or("");
    match rest.chars().next() {
        None => true,
        Some(c) => {
            is_space(c) || matches!(c, '.' | ',' | '|' | ':' | ')' | '(') || rest.starts_with("}}")
        }
    }
}

struct Lexer<'s> {
    src: &'s str,
    toks: Vec<Token>,
    parens: usize,
}

impl Lexer<'_> {
    fn push(&mut self, tok: Tok, pos: usize, end: usize) {
        self.toks.push(Token { tok, pos, end });
    }

    fn run(mut self) -> Result<Vec<Token>, TemplateError> {
        let src = self.src;
        let bytes = src.as_bytes();
        let mut pos = 0;
        let mut trim_next = false;
        loop {
            let open = src[pos..].find("{{").map(|i| pos + i);
            let mut text = &src[pos..open.unwrap_or(src.len())];
            if trim_next {
                text = text.trim_start_matches(is_space);
            }
            let Some(open) = open else {
                if !text.is_empty() {
                    self.push(Tok::Text(text.to_string()), pos, src.len());
                }
                break;
            };
            let mut inner = open + 2;
            if bytes.get(inner) == Some(&b'-')
                && bytes.get(inner + 1).is_some_and(|b| is_space(*b as char))
            {
                text = text.trim_end_matches(is_space);
                inner += 2;
            }
            if !text.is_empty() {
                self.push(Tok::Text(text.to_string()), pos, open);
            }
            if src[inner..].starts_with("/*") {
                let Some(close) = src[inner + 2..].find("*/") else {
                    return parse_err(src, open, "unclosed comment");
                };
                let after = inner + 2 + close + 2;
                let Some((end, trim)) = right_delim_at(src, after) else {
                    return parse_err(src, after, "comment ends before closing delimiter");
                };
                pos = end;
                trim_next = trim;
                continue;
            }
            self.push(Tok::LDelim, open, inner);
            let (end, trim) = self.action(inner)?;
            pos = end;
            trim_next = trim;
        }
        self.push(Tok::Eof, src.len(), src.len());
        Ok(self.toks)
    }

    fn close_action(
        &mut self,
        i: usize,
        end: usize,
        trim: bool,
    ) -> Result<(usize, bool), TemplateError> {
        if self.parens > 0 {
            return parse_err(self.src, i, "unclosed left paren");
        }
        self.push(Tok::RDelim, i, end);
        Ok((end, trim))
    }

    /// Lexes the inside of one action starting at `start`; returns the offset after `}}`.
    fn action(&mut self, start: usize) -> Result<(usize, bool), TemplateError> {
        let src = self.src;
        let mut i = start;
        loop {
            let rest = &src[i..];
            if rest.starts_with("}}") {
                return self.close_action(i, i + 2, false);
            }
            let Some(c) = rest.chars().next() else {
                return parse_err(src, start, "unclosed action");
            };
            if is_space(c) {
                let end = i + rest.find(|c: char| !is_space(c)).unwrap_or(rest.len());
                if src[end..].starts_with("-}}") {
                    return self.close_action(i, end + 3, true);
                }
                self.push(Tok::Space, i, end);
                i = end;
                continue;
            }
            let next = rest[c.len_utf8()..].chars().next();
            let single = match c {
                '|' => Some(Tok::Pipe),
                '(' => Some(Tok::LParen),
                ')' => Some(Tok::RParen),
                ',' => Some(Tok::Comma),
                '=' => Some(Tok::Assign),
                _ => None,
            };
            if let Some(tok) = single {
                if tok == Tok::LParen {
                    self.parens += 1;
                } else if tok == Tok::RParen {
                    if self.parens == 0 {
                        return parse_err(src, i, "unexpected right paren");
                    }
                    self.parens -= 1;
                }
                self.push(tok, i, i + 1);
                i += 1;
                continue;
            }
            i = match c {
                ':' if next == Some('=') => {
                    self.push(Tok::Declare, i, i + 2);
                    i + 2
                }
                ':' => return parse_err(src, i, "expected :="),
                '"' | '`' | '\'' => self.quoted(i, c)?,
                '$' => self.word(i, 1, true)?,
                '.' if next.is_some_and(|n| n.is_ascii_digit()) => self.number(i)?,
                '.' => self.word(i, 1, false)?,
                '0'..='9' | '+' | '-' => self.number(i)?,
                c if is_alnum(c) => self.word(i, 0, false)?,
                _ => {
                    let msg = format!("unrecognized character in action: {}", char_desc(c));
                    return parse_err(src, i, msg);
                }
            };
        }
    }

    /// Field (`.Name`), variable (`$name`) or identifier.
    fn word(&mut self, i: usize, skip: usize, var: bool) -> Result<usize, TemplateError> {
        let src = self.src;
        let body = i + skip;
        let rest = &src[body..];
        let end = body + rest.find(|c: char| !is_alnum(c)).unwrap_or(rest.len());
        if !at_terminator(src, end) {
            let c = src[end..].chars().next().unwrap_or(' ');
            return parse_err(src, end, format!("bad character {}", char_desc(c)));
        }
        let name = &src[body..end];
        let tok = if var {
            Tok::Var(src[i..end].to_string())
        } else if skip == 1 {
            if name.is_empty() {
                Tok::Dot
            } else {
                Tok::Field(name.to_string())
            }
        } else {
            Tok::Ident(name.to_string())
        };
        self.push(tok, i, end);
        Ok(end)
    }

    fn quoted(&mut self, i: usize, q: char) -> Result<usize, TemplateError> {
        let src = self.src;
        let mut chars = src[i + 1..].char_indices();
        let mut end = None;
        while let Some((off, c)) = chars.next() {
            if c == q {
                end = Some(i + 1 + off);
                break;
            }
            if q == '`' {
                continue;
            }
            if c == '\\' {
                match chars.next() {
                    Some((_, n)) if n != '\n' => continue,
                    _ => break,
                }
            }
            if c == '\n' {
                break;
            }
        }
        let Some(end) = end else {
            let msg = match q {
                '"' => "unterminated quoted string",
                '`' => "unterminated raw quoted string",
                _ => "unterminated character constant",
            };
            return parse_err(src, i, msg);
        };
        let body = &src[i + 1..end];
        let tok = match q {
            '`' => Tok::Str(body.replace('\r', "")),
            '"' => match unescape(body, '"') {
                Some(units) => Tok::Str(units_to_string(&units)),
                None => {
                    return parse_err(
                        src,
                        i,
                        format!("invalid syntax in string {:?}", &src[i..=end]),
                    )
                }
            },
            _ => match unescape(body, '\'').as_deref() {
                Some([(v, _)]) => Tok::Char(i64::from(*v)),
                _ => {
                    return parse_err(
                        src,
                        i,
                        format!("malformed character constant: {}", &src[i..=end]),
                    )
                }
            },
        };
        self.push(tok, i, end + 1);
        Ok(end + 1)
    }

    /// Go's `scanNumber`: accepts the literal's shape; the value is checked by the parser.
    fn number(&mut self, i: usize) -> Result<usize, TemplateError> {
        let b = self.src.as_bytes();
        let accept = |j: &mut usize, set: &[u8]| {
            let ok = b.get(*j).is_some_and(|c| set.contains(c));
            if ok {
                *j += 1;
            }
            ok
        };
        let run = |j: &mut usize, set: &[u8]| {
            while b.get(*j).is_some_and(|c| set.contains(c)) {
                *j += 1;
            }
        };
        let mut j = i;
        accept(&mut j, b"+-");
        let mut digits: &[u8] = b"0123456789_";
        if accept(&mut j, b"0") {
            if accept(&mut j, b"xX") {
                digits = b"0123456789abcdefABCDEF_";
            } else if accept(&mut j, b"oO") {
                digits = b"01234567_";
            } else if accept(&mut j, b"bB") {
                digits = b"01_";
            }
        }
        run(&mut j, digits);
        if accept(&mut j, b".") {
            run(&mut j, digits);
        }
        if digits.len() == 11 && accept(&mut j, b"eE") {
            accept(&mut j, b"+-");
            run(&mut j, b"0123456789_");
        }
        if digits.len() == 23 && accept(&mut j, b"pP") {
            accept(&mut j, b"+-");
            run(&mut j, b"0123456789_");
        }
        accept(&mut j, b"i");
        if let Some(c) = self.src[j..].chars().next().filter(|c| is_alnum(*c)) {
            let text = &self.src[i..j + c.len_utf8()];
            return parse_err(self.src, i, format!("bad number syntax: {text:?}"));
        }
        self.push(Tok::Num(self.src[i..j].to_string()), i, j);
        Ok(j)
    }
}

/// Decodes Go escapes; each unit is (value, is_raw_byte) because `\x` and octal
/// escapes denote bytes while `\u` denotes a code point.
fn unescape(body: &str, quote: char) -> Option<Vec<(u32, bool)>> {
    fn hex(it: &mut std::str::Chars<'_>, n: usize) -> Option<u32> {
        let mut v = 0u32;
        for _ in 0..n {
            v = v.checked_mul(16)? + it.next()?.to_digit(16)?;
        }
        Some(v)
    }
    let mut out = Vec::new();
    let mut it = body.chars();
    while let Some(c) = it.next() {
        if c != '\\' {
            out.push((c as u32, false));
            continue;
        }
        let e = it.next()?;
        let unit = match e {
            'a' => (7, false),
            'b' => (8, false),
            'f' => (12, false),
            'n' => (10, false),
            'r' => (13, false),
            't' => (9, false),
            'v' => (11, false),
            '\\' => (92, false),
            '"' | '\'' if e == quote => (e as u32, false),
            'x' => (hex(&mut it, 2)?, true),
            'u' => (char::from_u32(hex(&mut it, 4)?)? as u32, false),
            'U' => (char::from_u32(hex(&mut it, 8)?)? as u32, false),
            '0'..='7' => {
                let mut v = e.to_digit(8)?;
                for _ in 0..2 {
                    v = v * 8 + it.next()?.to_digit(8)?;
                }
                if v > 255 {
                    return None;
                }
                (v, true)
            }
            _ => return None,
        };
        out.push(unit);
    }
    Some(out)
}

fn units_to_string(units: &[(u32, bool)]) -> String {
    let mut bytes = Vec::with_capacity(units.len());
    for &(v, raw) in units {
        if raw {
            bytes.push(v as u8);
        } else if let Some(c) = char::from_u32(v) {
            let mut buf = [0; 4];
            bytes.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
        }
    }
    String::from_utf8_lossy(&bytes).into_owned()
}

/// Number literal to a JSON number, following Go's `idealConstant`: a literal
/// with `.`/`e` is a float64, anything else must be an int.
fn parse_number(text: &str) -> Result<Value, String> {
    let illegal = || format!("illegal number syntax: {text:?}");
    if text.ends_with('i') {
        return Err(format!("complex number {text:?} is not supported"));
    }
    let clean: String = text.chars().filter(|c| *c != '_').collect();
    let (neg, body) = match clean.as_bytes().first() {
        Some(b'-') => (true, &clean[1..]),
        Some(b'+') => (false, &clean[1..]),
        _ => (false, clean.as_str()),
    };
    let lower = body.to_ascii_lowercase();
    let radix_body = if let Some(h) = lower.strip_prefix("0x") {
        Some((16, h))
    } else if let Some(o) = lower.strip_prefix("0o") {
        Some((8, o))
    } else if let Some(b) = lower.strip_prefix("0b") {
        Some((2, b))
    } else if lower.len() > 1 && lower.starts_with('0') && lower.bytes().all(|b| b.is_ascii_digit())
    {
        Some((8, &lower[1..]))
    } else if !lower.is_empty() && lower.bytes().all(|b| b.is_ascii_digit()) {
        Some((10, lower.as_str()))
    } else {
        None
    };
    if let Some((radix, digits)) = radix_body {
        if radix == 16 && digits.contains(['.', 'p']) {
            return Err(format!("hex float {text:?} is not supported"));
        }
        let u = u64::from_str_radix(digits, radix).map_err(|_| illegal())?;
        let v = if neg { -i128::from(u) } else { i128::from(u) };
        return i64::try_from(v)
            .map(Value::from)
            .map_err(|_| format!("{text} overflows int"));
    }
    if !lower.contains(['.', 'e']) {
        return Err(illegal());
    }
    let f: f64 = clean.parse().map_err(|_| illegal())?;
    Number::from_f64(f).map(Value::Number).ok_or_else(illegal)
}

// ---------------------------------------------------------------------------
// Parse tree and parser

type Span = (usize, usize);

#[derive(Debug, Clone)]
enum Node {
    Text(String),
    Action(Pipe),
    If(Branch),
    With(Branch),
    Range(Branch),
    Break,
    Continue,
}

#[derive(Debug, Clone)]
struct Branch {
    pipe: Pipe,
    list: Vec<Node>,
    else_list: Option<Vec<Node>>,
}

#[derive(Debug, Clone)]
struct Pipe {
    span: Span,
    decl: Vec<String>,
    assign: bool,
    cmds: Vec<Cmd>,
}

#[derive(Debug, Clone)]
struct Cmd {
    span: Span,
    args: Vec<Operand>,
}

#[derive(Debug, Clone)]
struct Operand {
    span: Span,
    kind: Op,
}

#[derive(Debug, Clone)]
enum Op {
    Dot,
    Nil,
    Bool(bool),
    Num(Value),
    Str(String),
    /// `.A.B`
    Field(Vec<String>),
    /// `$x.A.B`
    Var(String, Vec<String>),
    Func(String),
    /// `(pipeline).A.B`
    Sub(Box<Pipe>, Vec<String>),
}

enum Term {
    Eof,
    End(usize),
    Else(usize),
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    If,
    With,
    Range,
}

const KEYWORDS: &[&str] = &[
    "block", "break", "continue", "define", "else", "end", "if", "range", "template", "with",
];

struct Parser<'s> {
    src: &'s str,
    toks: Vec<Token>,
    i: usize,
    eof: Token,
    vars: Vec<String>,
    depth: usize,
    range_depth: usize,
}

impl Parser<'_> {
    fn peek(&self) -> &Token {
        self.toks.get(self.i).unwrap_or(&self.eof)
    }

    fn next(&mut self) -> Token {
        let t = self.peek().clone();
        if self.i < self.toks.len() {
            self.i += 1;
        }
        t
    }

    fn skip_space(&mut self) {
        while self.peek().tok == Tok::Space {
            self.i += 1;
        }
    }

    fn err<T>(&self, pos: usize, msg: impl Into<String>) -> Result<T, TemplateError> {
        parse_err(self.src, pos, msg)
    }

    fn unexpected<T>(&self, t: &Token, context: &str) -> Result<T, TemplateError> {
        let desc = match &t.tok {
            Tok::Eof => "EOF".to_string(),
            Tok::Ident(k) if KEYWORDS.contains(&k.as_str()) => format!("<{k}>"),
            _ => {
                let s = self.src.get(t.pos..t.end).unwrap_or("");
                if s.chars().count() > 10 {
                    format!("{:?}...", s.chars().take(10).collect::<String>())
                } else {
                    format!("{s:?}")
                }
            }
        };
        self.err(t.pos, format!("unexpected {desc} in {context}"))
    }

    fn enter(&mut self, pos: usize) -> Result<(), TemplateError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return self.err(pos, format!("nesting deeper than {MAX_DEPTH} levels"));
        }
        Ok(())
    }

    fn expect_close(&mut self, context: &str) -> Result<(), TemplateError> {
        self.skip_space();
        let t = self.next();
        if t.tok != Tok::RDelim {
            return self.unexpected(&t, context);
        }
        Ok(())
    }

    /// Parses nodes up to EOF, `{{end}}` or `{{else` (which is left for the caller).
    fn list(&mut self) -> Result<(Vec<Node>, Term), TemplateError> {
        let mut nodes = Vec::new();
        loop {
            let t = self.next();
            match t.tok {
                Tok::Text(s) => nodes.push(Node::Text(s)),
                Tok::LDelim => {
                    self.skip_space();
                    let kw = match &self.peek().tok {
                        Tok::Ident(k) if KEYWORDS.contains(&k.as_str()) => k.clone(),
                        _ => {
                            nodes.push(Node::Action(self.pipeline("command", Tok::RDelim)?));
                            continue;
                        }
                    };
                    let kt = self.next();
                    match kw.as_str() {
                        "end" => {
                            self.expect_close("end")?;
                            return Ok((nodes, Term::End(kt.pos)));
                        }
                        "else" => return Ok((nodes, Term::Else(kt.pos))),
                        "if" => nodes.push(Node::If(self.control(Kind::If, kt.pos)?)),
                        "with" => nodes.push(Node::With(self.control(Kind::With, kt.pos)?)),
                        "range" => nodes.push(Node::Range(self.control(Kind::Range, kt.pos)?)),
                        "break" | "continue" => {
                            if self.range_depth == 0 {
                                return self
                                    .err(kt.pos, format!("{{{{{kw}}}}} outside {{{{range}}}}"));
                            }
                            self.expect_close(&kw)?;
                            nodes.push(if kw == "break" {
                                Node::Break
                            } else {
                                Node::Continue
                            });
                        }
                        _ => {
                            return self
                                .err(kt.pos, format!("{{{{{kw}}}}} actions are not supported"))
                        }
                    }
                }
                Tok::Eof => return Ok((nodes, Term::Eof)),
                _ => return self.unexpected(&t, "input"),
            }
        }
    }

    /// `if`/`with`/`range` after its keyword, through the matching `{{end}}`.
    fn control(&mut self, kind: Kind, pos: usize) -> Result<Branch, TemplateError> {
        self.enter(pos)?;
        let name = match kind {
            Kind::If => "if",
            Kind::With => "with",
            Kind::Range => "range",
        };
        let mark = self.vars.len();
        let pipe = self.pipeline(name, Tok::RDelim)?;
        let body_mark = self.vars.len();
        if kind == Kind::Range {
            self.range_depth += 1;
        }
        let (list, term) = self.list()?;
        if kind == Kind::Range {
            self.range_depth -= 1;
        }
        // Variables declared in the body are not visible in the else branch.
        self.vars.truncate(body_mark);
        let else_list = match term {
            Term::Eof => return self.err(self.src.len(), "unexpected EOF"),
            Term::End(_) => None,
            Term::Else(_) => {
                self.skip_space();
                let chained = match &self.peek().tok {
                    Tok::Ident(k) => {
                        (kind == Kind::If && k == "if") || (kind == Kind::With && k == "with")
                    }
                    _ => false,
                };
                if chained {
                    // `{{else if x}}` is `{{else}}{{if x}}...{{end}}` sharing the outer end.
                    let t = self.next();
                    let inner = self.control(kind, t.pos)?;
                    Some(vec![if kind == Kind::If {
                        Node::If(inner)
                    } else {
                        Node::With(inner)
                    }])
                } else {
                    self.expect_close("else")?;
                    match self.list()? {
                        (els, Term::End(_)) => Some(els),
                        (_, Term::Else(p)) => return self.err(p, "expected end; found {{else}}"),
                        (_, Term::Eof) => return self.err(self.src.len(), "unexpected EOF"),
                    }
                }
            }
        };
        self.vars.truncate(mark);
        self.depth -= 1;
        Ok(Branch {
            pipe,
            list,
            else_list,
        })
    }

    fn pipeline(&mut self, context: &str, end: Tok) -> Result<Pipe, TemplateError> {
        self.skip_space();
        let start = self.peek().pos;
        self.enter(start)?;
        let mut decl = Vec::new();
        let mut assign = false;
        if let Tok::Var(v) = &self.peek().tok {
            let v = v.clone();
            let save = self.i;
            self.i += 1;
            let chained = matches!(self.peek().tok, Tok::Field(_));
            self.skip_space();
            match self.peek().tok.clone() {
                Tok::Declare | Tok::Assign if !chained => {
                    assign = self.next().tok == Tok::Assign;
                    decl.push(v);
                }
                Tok::Comma if !chained => {
                    if context != "range" {
                        return self.err(
                            self.peek().pos,
                            format!("too many declarations in {context}"),
                        );
                    }
                    self.next();
                    self.skip_space();
                    let t = self.next();
                    let Tok::Var(v2) = t.tok else {
                        return self.err(t.pos, "range can only initialize variables");
                    };
                    self.skip_space();
                    let t = self.next();
                    match t.tok {
                        Tok::Declare => {}
                        Tok::Assign => assign = true,
                        _ => return self.unexpected(&t, context),
                    }
                    decl.push(v);
                    decl.push(v2);
                }
                _ => self.i = save,
            }
        }
        if assign {
            if let Some(d) = decl.iter().find(|d| !self.vars.contains(d)) {
                return self.err(start, format!("undefined variable {d:?}"));
            }
        }
        let mut cmds = Vec::new();
        loop {
            let (cmd, piped) = self.command(context, cmds.is_empty())?;
            cmds.push(cmd);
            self.skip_space();
            // Go tolerates a trailing `|` before the closing delimiter.
            if !piped || self.peek().tok == end {
                break;
            }
        }
        self.skip_space();
        let t = self.next();
        if t.tok != end {
            return self.unexpected(&t, context);
        }
        for (k, c) in cmds.iter().enumerate().skip(1) {
            if let Some(first) = c.args.first() {
                if matches!(
                    first.kind,
                    Op::Bool(_) | Op::Dot | Op::Nil | Op::Num(_) | Op::Str(_)
                ) {
                    return self.err(
                        first.span.0,
                        format!("non executable command in pipeline stage {}", k + 1),
                    );
                }
            }
        }
        if !assign {
            self.vars.extend(decl.iter().cloned());
        }
        let end_pos = cmds.last().map_or(start, |c| c.span.1);
        self.depth -= 1;
        Ok(Pipe {
            span: (start, end_pos),
            decl,
            assign,
            cmds,
        })
    }

    /// One command; the bool says whether a `|` followed (and was consumed).
    fn command(&mut self, context: &str, first: bool) -> Result<(Cmd, bool), TemplateError> {
        let mut args = Vec::new();
        let piped = loop {
            self.skip_space();
            if let Some(op) = self.operand()? {
                args.push(op);
            }
            let t = self.peek().clone();
            match t.tok {
                Tok::Space => continue,
                Tok::RDelim | Tok::RParen => break false,
                Tok::Pipe => {
                    self.i += 1;
                    break true;
                }
                _ => return self.unexpected(&t, "operand"),
            }
        };
        let (Some(a), Some(b)) = (args.first(), args.last()) else {
            let msg = if first {
                format!("missing value for {context}")
            } else {
                "missing command after |".to_string()
            };
            return self.err(self.peek().pos, msg);
        };
        let span = (a.span.0, b.span.1);
        Ok((Cmd { span, args }, piped))
    }

    /// A term followed by any `.Field` chain.
    fn operand(&mut self) -> Result<Option<Operand>, TemplateError> {
        let Some(Operand { span, kind }) = self.term()? else {
            return Ok(None);
        };
        if !matches!(self.peek().tok, Tok::Field(_)) {
            return Ok(Some(Operand { span, kind }));
        }
        let mut fields = Vec::new();
        let mut end = span.1;
        while let Tok::Field(f) = &self.peek().tok {
            fields.push(f.clone());
            end = self.peek().end;
            self.i += 1;
        }
        let kind = match kind {
            Op::Field(mut f) => {
                f.extend(fields);
                Op::Field(f)
            }
            Op::Var(v, mut f) => {
                f.extend(fields);
                Op::Var(v, f)
            }
            Op::Sub(p, mut f) => {
                f.extend(fields);
                Op::Sub(p, f)
            }
            Op::Func(name) => {
                let op = Operand {
                    span,
                    kind: Op::Func(name),
                };
                let cmd = Cmd {
                    span,
                    args: vec![op],
                };
                let pipe = Pipe {
                    span,
                    decl: Vec::new(),
                    assign: false,
                    cmds: vec![cmd],
                };
                Op::Sub(Box::new(pipe), fields)
            }
            _ => {
                let text = self.src.get(span.0..span.1).unwrap_or("");
                return self.err(span.0, format!("unexpected . after term {text:?}"));
            }
        };
        Ok(Some(Operand {
            span: (span.0, end),
            kind,
        }))
    }

    fn term(&mut self) -> Result<Option<Operand>, TemplateError> {
        let t = self.peek().clone();
        let kind = match &t.tok {
            Tok::Ident(name) => match name.as_str() {
                "true" => Op::Bool(true),
                "false" => Op::Bool(false),
                "nil" => Op::Nil,
                k if KEYWORDS.contains(&k) => return Ok(None),
                f if arity(f).is_none() => {
                    return self.err(t.pos, format!("function {f:?} not defined"))
                }
                f => Op::Func(f.to_string()),
            },
            Tok::Dot => Op::Dot,
            Tok::Field(f) => Op::Field(vec![f.clone()]),
            Tok::Var(v) => {
                if !self.vars.contains(v) {
                    return self.err(t.pos, format!("undefined variable {v:?}"));
                }
                Op::Var(v.clone(), Vec::new())
            }
            Tok::Str(s) => Op::Str(s.clone()),
            Tok::Char(c) => Op::Num(Value::from(*c)),
            Tok::Num(text) => match parse_number(text) {
                Ok(v) => Op::Num(v),
                Err(m) => return self.err(t.pos, m),
            },
            Tok::LParen => {
                self.i += 1;
                let pipe = self.pipeline("parenthesized pipeline", Tok::RParen)?;
                let end = self
                    .i
                    .checked_sub(1)
                    .and_then(|k| self.toks.get(k))
                    .map_or(t.end, |x| x.end);
                return Ok(Some(Operand {
                    span: (t.pos, end),
                    kind: Op::Sub(Box::new(pipe), Vec::new()),
                }));
            }
            _ => return Ok(None),
        };
        self.i += 1;
        Ok(Some(Operand {
            span: (t.pos, t.end),
            kind,
        }))
    }
}

// ---------------------------------------------------------------------------
// Execution

/// A value during execution. `Missing` is Go's invalid `reflect.Value` (what a
/// missing map key yields); it prints as `<no value>`, unlike JSON null (`<nil>`).
#[derive(Debug, Clone)]
enum Val<'d> {
    Missing,
    V(Cow<'d, Value>),
}

impl<'d> Val<'d> {
    fn own(v: Value) -> Self {
        Val::V(Cow::Owned(v))
    }

    fn value(&self) -> &Value {
        match self {
            Val::Missing => &NULL,
            Val::V(c) => c,
        }
    }

    fn into_value(self) -> Value {
        match self {
            Val::Missing => Value::Null,
            Val::V(c) => c.into_owned(),
        }
    }
}

/// Projects into a child value, borrowing from the data when possible.
fn child<'d>(v: &Val<'d>, f: &dyn Fn(&Value) -> Option<&Value>) -> Val<'d> {
    match v {
        Val::Missing => Val::Missing,
        Val::V(Cow::Borrowed(r)) => f(r).map_or(Val::Missing, |c| Val::V(Cow::Borrowed(c))),
        Val::V(Cow::Owned(o)) => f(o).map_or(Val::Missing, |c| Val::own(c.clone())),
    }
}

/// Go's `isTrue`: false, 0, "", nil and empty collections are false.
fn truth(v: &Val<'_>) -> bool {
    match v.value() {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_f64().is_some_and(|f| f != 0.0),
        Value::String(s) => !s.is_empty(),
        Value::Array(a) => !a.is_empty(),
        Value::Object(m) => !m.is_empty(),
    }
}

/// The Go type a JSON value would have after `json.Unmarshal` (ints kept as int).
fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "<nil>",
        Value::Bool(_) => "bool",
        Value::Number(n) if n.is_f64() => "float64",
        Value::Number(_) => "int",
        Value::String(_) => "string",
        Value::Array(_) => "[]interface {}",
        Value::Object(_) => "map[string]interface {}",
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Flow {
    Normal,
    Break,
    Continue,
}

struct Exec<'t, 'd> {
    src: &'t str,
    vars: Vec<(&'t str, Val<'d>)>,
    out: String,
    /// Header mode: docker's formatting functions become identities.
    header: bool,
}

impl<'t, 'd> Exec<'t, 'd> {
    fn err(&self, span: Span, msg: impl Into<String>) -> TemplateError {
        let start = span.0.min(self.src.len());
        let line_start = self.src[..start].rfind('\n').map_or(0, |p| p + 1);
        let mut context = self.src.get(span.0..span.1).unwrap_or("").to_string();
        if context.chars().count() > 20 {
            context = context.chars().take(20).collect::<String>() + "...";
        }
        TemplateError::Exec {
            line: line_at(self.src, start),
            col: start - line_start,
            context,
            msg: msg.into(),
        }
    }

    fn walk(&mut self, nodes: &'t [Node], dot: &Val<'d>) -> Result<Flow, TemplateError> {
        for node in nodes {
            let flow = match node {
                Node::Text(s) => {
                    self.out.push_str(s);
                    Flow::Normal
                }
                Node::Action(pipe) => {
                    let v = self.pipeline(dot, pipe)?;
                    if pipe.decl.is_empty() {
                        match &v {
                            Val::Missing => self.out.push_str("<no value>"),
                            Val::V(c) => fmt_v(&mut self.out, c),
                        }
                    }
                    Flow::Normal
                }
                Node::If(b) | Node::With(b) => {
                    let mark = self.vars.len();
                    let v = self.pipeline(dot, &b.pipe)?;
                    let flow = if truth(&v) {
                        let inner = if matches!(node, Node::With(_)) {
                            &v
                        } else {
                            dot
                        };
                        self.walk(&b.list, inner)?
                    } else if let Some(e) = &b.else_list {
                        self.walk(e, dot)?
                    } else {
                        Flow::Normal
                    };
                    self.vars.truncate(mark);
                    flow
                }
                Node::Range(b) => self.range(b, dot)?,
                Node::Break => Flow::Break,
                Node::Continue => Flow::Continue,
            };
            if flow != Flow::Normal {
                return Ok(flow);
            }
        }
        Ok(Flow::Normal)
    }

    fn range(&mut self, b: &'t Branch, dot: &Val<'d>) -> Result<Flow, TemplateError> {
        let mark = self.vars.len();
        let v = self.pipeline(dot, &b.pipe)?;
        let inner = self.vars.len();
        let nd = b.pipe.decl.len();
        // Objects iterate in sorted key order, like Go's maps.
        let mut keys: Vec<&String> = match v.value() {
            Value::Object(m) => m.keys().collect(),
            _ => Vec::new(),
        };
        keys.sort();
        let len = match v.value() {
            Value::Null => 0,
            Value::Array(a) => a.len(),
            Value::Object(_) => keys.len(),
            Value::Number(n) if n.as_i64().is_some() => {
                if nd > 1 {
                    let msg = format!("can't use {n} to iterate over more than one variable");
                    return Err(self.err(b.pipe.span, msg));
                }
                n.as_i64()
                    .and_then(|c| usize::try_from(c).ok())
                    .unwrap_or(0)
            }
            other => {
                let mut s = String::new();
                fmt_v(&mut s, other);
                return Err(self.err(b.pipe.span, format!("range can't iterate over {s}")));
            }
        };
        for i in 0..len {
            let (key, elem) = match (v.value(), keys.get(i)) {
                (Value::Object(_), Some(k)) => (
                    Val::own(Value::String(k.to_string())),
                    child(&v, &|x| x.get(k.as_str())),
                ),
                (Value::Array(_), _) => (Val::own(i.into()), child(&v, &|x| x.get(i))),
                _ => (Val::own(i.into()), Val::own(i.into())),
            };
            // The pipeline pushed the declared variables; overwrite them per item.
            if nd >= 1 {
                if let Some(slot) = inner.checked_sub(1).and_then(|k| self.vars.get_mut(k)) {
                    slot.1 = elem.clone();
                }
            }
            if nd >= 2 {
                if let Some(slot) = inner.checked_sub(2).and_then(|k| self.vars.get_mut(k)) {
                    slot.1 = key;
                }
            }
            let flow = self.walk(&b.list, &elem)?;
            self.vars.truncate(inner);
            if flow == Flow::Break {
                break;
            }
        }
        let mut flow = Flow::Normal;
        if len == 0 {
            if let Some(e) = &b.else_list {
                flow = self.walk(e, dot)?;
            }
        }
        self.vars.truncate(mark);
        Ok(flow)
    }

    fn pipeline(&mut self, dot: &Val<'d>, pipe: &'t Pipe) -> Result<Val<'d>, TemplateError> {
        let mut val = None;
        for cmd in &pipe.cmds {
            val = Some(self.command(dot, cmd, val)?);
        }
        let val = val.unwrap_or(Val::Missing);
        for name in &pipe.decl {
            if pipe.assign {
                match self.vars.iter().rposition(|(n, _)| n == name) {
                    Some(k) => self.vars[k].1 = val.clone(),
                    None => return Err(self.err(pipe.span, format!("undefined variable: {name}"))),
                }
            } else {
                self.vars.push((name.as_str(), val.clone()));
            }
        }
        Ok(val)
    }

    fn not_fn(&self, op: &Operand, has_args: bool) -> Result<(), TemplateError> {
        if has_args {
            let text = self.src.get(op.span.0..op.span.1).unwrap_or("");
            return Err(self.err(
                op.span,
                format!("can't give argument to non-function {text}"),
            ));
        }
        Ok(())
    }

    fn command(
        &mut self,
        dot: &Val<'d>,
        cmd: &'t Cmd,
        fin: Option<Val<'d>>,
    ) -> Result<Val<'d>, TemplateError> {
        let Some(first) = cmd.args.first() else {
            return Err(self.err(cmd.span, "empty command"));
        };
        let has_args = cmd.args.len() > 1 || fin.is_some();
        match &first.kind {
            Op::Func(name) => self.call(dot, name, first.span, cmd.span, &cmd.args[1..], fin),
            Op::Field(fields) => self.chain(dot.clone(), fields, first.span, has_args),
            Op::Var(name, fields) => {
                let v = self.var(name, first.span)?;
                if fields.is_empty() {
                    self.not_fn(first, has_args)?;
                }
                self.chain(v, fields, first.span, has_args)
            }
            Op::Sub(pipe, fields) => {
                if fields.is_empty() {
                    self.not_fn(first, has_args)?;
                }
                let v = self.pipeline(dot, pipe)?;
                self.chain(v, fields, first.span, has_args)
            }
            Op::Nil => {
                self.not_fn(first, has_args)?;
                Err(self.err(first.span, "nil is not a command"))
            }
            _ => {
                self.not_fn(first, has_args)?;
                self.arg(dot, first)
            }
        }
    }

    /// Walks `.A.B` from `recv`; only the last field may see (forbidden) arguments.
    fn chain(
        &self,
        mut recv: Val<'d>,
        fields: &[String],
        span: Span,
        has_args: bool,
    ) -> Result<Val<'d>, TemplateError> {
        for (i, name) in fields.iter().enumerate() {
            recv = match recv.value() {
                _ if matches!(recv, Val::Missing) => return Ok(Val::Missing),
                Value::Object(_) => {
                    if has_args && i + 1 == fields.len() {
                        return Err(
                            self.err(span, format!("{name} is not a method but has arguments"))
                        );
                    }
                    child(&recv, &|x| x.get(name.as_str()))
                }
                Value::Null => {
                    return Err(self.err(
                        span,
                        format!("nil pointer evaluating interface {{}}.{name}"),
                    ))
                }
                other => {
                    let msg = format!("can't evaluate field {name} in type {}", type_name(other));
                    return Err(self.err(span, msg));
                }
            };
        }
        Ok(recv)
    }

    fn var(&self, name: &str, span: Span) -> Result<Val<'d>, TemplateError> {
        match self.vars.iter().rev().find(|(n, _)| *n == name) {
            Some((_, v)) => Ok(v.clone()),
            None => Err(self.err(span, format!("undefined variable: {name}"))),
        }
    }

    fn arg(&mut self, dot: &Val<'d>, op: &'t Operand) -> Result<Val<'d>, TemplateError> {
        Ok(match &op.kind {
            Op::Dot => dot.clone(),
            Op::Nil => Val::own(Value::Null),
            Op::Bool(b) => Val::own(Value::Bool(*b)),
            Op::Num(n) => Val::own(n.clone()),
            Op::Str(s) => Val::own(Value::String(s.clone())),
            Op::Field(f) => self.chain(dot.clone(), f, op.span, false)?,
            Op::Var(name, f) => {
                let v = self.var(name, op.span)?;
                self.chain(v, f, op.span, false)?
            }
            Op::Sub(pipe, f) => {
                let v = self.pipeline(dot, pipe)?;
                self.chain(v, f, op.span, false)?
            }
            Op::Func(name) => self.call(dot, name, op.span, op.span, &[], None)?,
        })
    }

    fn call(
        &mut self,
        dot: &Val<'d>,
        name: &str,
        id_span: Span,
        cmd_span: Span,
        args: &'t [Operand],
        fin: Option<Val<'d>>,
    ) -> Result<Val<'d>, TemplateError> {
        let n = args.len() + usize::from(fin.is_some());
        let Some((min, max)) = arity(name) else {
            return Err(self.err(id_span, format!("{name:?} is not a defined function")));
        };
        if n < min || max.is_some_and(|m| n > m) {
            let want = max.map_or(format!("at least {min}"), |m| m.to_string());
            return Err(self.err(
                id_span,
                format!("wrong number of args for {name}: want {want} got {n}"),
            ));
        }
        if name == "and" || name == "or" {
            // Short-circuit: return the first argument deciding the result.
            let stop_on = name == "or";
            let mut last = Val::Missing;
            for a in args {
                let v = self.arg(dot, a)?;
                if truth(&v) == stop_on {
                    return Ok(v);
                }
                last = v;
            }
            return Ok(fin.unwrap_or(last));
        }
        let mut vals = Vec::with_capacity(n);
        for a in args {
            vals.push(self.arg(dot, a)?);
        }
        vals.extend(fin);
        let identity = [
            "json", "split", "join", "title", "lower", "upper", "truncate",
        ];
        if self.header && identity.contains(&name) {
            return Ok(vals.into_iter().next().unwrap_or(Val::Missing));
        }
        builtin(name, vals).map_err(|e| match e {
            FnErr::Call(m) => self.err(cmd_span, format!("error calling {name}: {m}")),
            FnErr::Type(i, m) => self.err(args.get(i).map_or(cmd_span, |a| a.span), m),
        })
    }
}

// ---------------------------------------------------------------------------
// Functions

/// Function names with (min, max) argument counts; also the parse-time whitelist.
fn arity(name: &str) -> Option<(usize, Option<usize>)> {
    Some(match name {
        "and" | "or" | "index" | "slice" | "printf" | "eq" | "call" => (1, None),
        "print" | "println" | "html" | "js" | "urlquery" => (0, None),
        "not" | "len" | "json" | "title" | "lower" | "upper" => (1, Some(1)),
        "ne" | "lt" | "le" | "gt" | "ge" | "split" | "join" | "truncate" => (2, Some(2)),
        "pad" => (3, Some(3)),
        _ => return None,
    })
}

enum FnErr {
    /// Reported as `error calling NAME: ...`, like an error returned by a Go func.
    Call(String),
    /// Type mismatch of argument N (0-based; the piped value comes last),
    /// reported verbatim at that argument like Go.
    Type(usize, String),
}

fn want_str<'a>(args: &'a [Val<'_>], i: usize) -> Result<&'a str, FnErr> {
    match args.get(i) {
        Some(Val::V(c)) => match c.as_ref() {
            Value::String(s) => Ok(s),
            other => Err(FnErr::Type(
                i,
                format!(
                    "wrong type for value; expected string; got {}",
                    type_name(other)
                ),
            )),
        },
        _ => Err(FnErr::Type(i, "invalid value; expected string".into())),
    }
}

/// Integer argument; integral floats are accepted because JSON does not keep
/// Go's int/float64 distinction.
fn as_int(v: &Value) -> Option<i64> {
    let n = match v {
        Value::Number(n) => n,
        _ => return None,
    };
    n.as_i64().or_else(|| {
        n.as_f64()
            .filter(|f| f.fract() == 0.0 && f.abs() < 9.0e18)
            .map(|f| f as i64)
    })
}

fn want_int(args: &[Val<'_>], i: usize) -> Result<i64, FnErr> {
    match args.get(i) {
        Some(Val::V(c)) => as_int(c).ok_or_else(|| {
            let t = type_name(c);
            FnErr::Type(i, format!("wrong type for value; expected int; got {t}"))
        }),
        _ => Err(FnErr::Type(i, "invalid value; expected int".into())),
    }
}

fn index_arg(idx: &Value, len: usize) -> Result<usize, FnErr> {
    let i = match idx {
        Value::Null => return Err(FnErr::Call("cannot index slice/array with nil".into())),
        other => as_int(other).ok_or_else(|| {
            FnErr::Call(format!(
                "cannot index slice/array with type {}",
                type_name(other)
            ))
        })?,
    };
    usize::try_from(i)
        .ok()
        .filter(|&u| u < len)
        .ok_or_else(|| FnErr::Call(format!("index out of range: {i}")))
}

fn builtin<'d>(name: &str, args: Vec<Val<'d>>) -> Result<Val<'d>, FnErr> {
    let str_val = |s: String| Ok(Val::own(Value::String(s)));
    let bool_val = |b: bool| Ok(Val::own(Value::Bool(b)));
    let first = args.first().cloned().unwrap_or(Val::Missing);
    let second = args.get(1).map_or(&NULL, |v| v.value());
    match name {
        "not" => bool_val(!truth(&first)),
        "len" => match first.value() {
            Value::String(s) => Ok(Val::own(s.len().into())),
            Value::Array(a) => Ok(Val::own(a.len().into())),
            Value::Object(m) => Ok(Val::own(m.len().into())),
            Value::Null => Err(FnErr::Call("len of nil pointer".into())),
            other => Err(FnErr::Call(format!("len of type {}", type_name(other)))),
        },
        "index" => {
            if first.value().is_null() {
                return Err(FnErr::Call("index of untyped nil".into()));
            }
            let mut item = first;
            for idx in args.iter().skip(1) {
                item = match item.value() {
                    Value::Array(a) => {
                        let i = index_arg(idx.value(), a.len())?;
                        child(&item, &|x| x.get(i))
                    }
                    Value::Object(_) => match idx.value() {
                        Value::String(k) => child(&item, &|x| x.get(k.as_str())),
                        other => {
                            let t = type_name(other);
                            return Err(FnErr::Call(format!(
                                "value has type {t}; should be string"
                            )));
                        }
                    },
                    Value::String(s) => {
                        let i = index_arg(idx.value(), s.len())?;
                        Val::own(s.as_bytes().get(i).copied().unwrap_or(0).into())
                    }
                    Value::Null => return Err(FnErr::Call("index of untyped nil".into())),
                    other => {
                        let t = type_name(other);
                        return Err(FnErr::Call(format!("can't index item of type {t}")));
                    }
                };
            }
            Ok(item)
        }
        "slice" => builtin_slice(&args),
        "print" | "println" | "printf" | "html" | "js" | "urlquery" => {
            let vals: Vec<Value> = args.into_iter().map(Val::into_value).collect();
            let text = match (name, vals.as_slice()) {
                ("println", _) => sprintln(&vals),
                ("printf", [Value::String(f), rest @ ..]) => sprintf(f, rest),
                ("printf", [other, ..]) => {
                    let t = type_name(other);
                    return Err(FnErr::Type(
                        0,
                        format!("wrong type for value; expected string; got {t}"),
                    ));
                }
                (_, [Value::String(s)]) if name != "print" => s.clone(),
                _ => sprint(&vals),
            };
            str_val(match name {
                "html" => html_escape(&text),
                "js" => js_escape(&text),
                "urlquery" => url_query_escape(&text),
                _ => text,
            })
        }
        "eq" => {
            if args.len() < 2 {
                return Err(FnErr::Call("missing argument for comparison".into()));
            }
            for other in &args[1..] {
                if basic_eq(first.value(), other.value()).map_err(FnErr::Call)? {
                    return bool_val(true);
                }
            }
            bool_val(false)
        }
        "ne" => bool_val(!basic_eq(first.value(), second).map_err(FnErr::Call)?),
        "lt" | "le" | "gt" | "ge" => {
            let (a, b) = (first.value(), second);
            let lt = basic_lt(a, b).map_err(FnErr::Call)?;
            let le = lt || basic_eq(a, b).map_err(FnErr::Call)?;
            bool_val(match name {
                "lt" => lt,
                "le" => le,
                "gt" => !le,
                _ => !lt,
            })
        }
        "call" => Err(FnErr::Call(format!(
            "non-function of type {}",
            type_name(first.value())
        ))),
        "json" => {
            let mut s = String::new();
            json_encode(&mut s, first.value());
            str_val(s)
        }
        "split" => {
            let (s, sep) = (want_str(&args, 0)?, want_str(&args, 1)?);
            let parts: Vec<Value> = if sep.is_empty() {
                s.chars().map(|c| Value::String(c.to_string())).collect()
            } else {
                s.split(sep).map(|p| Value::String(p.to_string())).collect()
            };
            Ok(Val::own(Value::Array(parts)))
        }
        "join" => {
            let sep = want_str(&args, 1)?;
            match first.value() {
                Value::Null => str_val(String::new()),
                Value::Array(a) => {
                    let parts: Vec<String> = a
                        .iter()
                        .map(|e| match e {
                            Value::String(s) => s.clone(),
                            other => {
                                let mut s = String::new();
                                fmt_v(&mut s, other);
                                s
                            }
                        })
                        .collect();
                    str_val(parts.join(sep))
                }
                other => Err(FnErr::Type(
                    0,
                    format!(
                        "wrong type for value; expected []string; got {}",
                        type_name(other)
                    ),
                )),
            }
        }
        "title" => str_val(go_title(want_str(&args, 0)?)),
        "lower" => str_val(want_str(&args, 0)?.to_lowercase()),
        "upper" => str_val(want_str(&args, 0)?.to_uppercase()),
        "pad" => {
            let s = want_str(&args, 0)?;
            let (l, r) = (want_int(&args, 1)?, want_int(&args, 2)?);
            if s.is_empty() {
                return str_val(String::new());
            }
            let (Ok(l), Ok(r)) = (usize::try_from(l), usize::try_from(r)) else {
                return Err(FnErr::Call("strings: negative Repeat count".into()));
            };
            if l.saturating_add(r) > 1 << 20 {
                return Err(FnErr::Call("padding too large".into()));
            }
            str_val(format!("{}{s}{}", " ".repeat(l), " ".repeat(r)))
        }
        "truncate" => {
            let s = want_str(&args, 0)?;
            let n = usize::try_from(want_int(&args, 1)?)
                .map_err(|_| FnErr::Call("slice bounds out of range".into()))?;
            str_val(s.chars().take(n).collect())
        }
        _ => Err(FnErr::Call(format!("function {name:?} not defined"))),
    }
}

fn builtin_slice<'d>(args: &[Val<'d>]) -> Result<Val<'d>, FnErr> {
    let item = args.first().map_or(&NULL, |v| v.value());
    let mut idx = Vec::new();
    for a in args.iter().skip(1) {
        let i = as_int(a.value()).ok_or_else(|| {
            FnErr::Call(format!(
                "cannot index slice/array with type {}",
                type_name(a.value())
            ))
        })?;
        idx.push(usize::try_from(i).map_err(|_| FnErr::Call(format!("index out of range: {i}")))?);
    }
    if idx.len() > 3 {
        return Err(FnErr::Call(format!(
            "too many slice indexes: {}",
            idx.len()
        )));
    }
    let len = match item {
        Value::String(s) if idx.len() < 3 => s.len(),
        Value::String(_) => return Err(FnErr::Call("cannot 3-index slice a string".into())),
        Value::Array(a) => a.len(),
        Value::Null => return Err(FnErr::Call("slice of untyped nil".into())),
        other => {
            return Err(FnErr::Call(format!(
                "can't slice item of type {}",
                type_name(other)
            )))
        }
    };
    let i = idx.first().copied().unwrap_or(0);
    let j = idx.get(1).copied().unwrap_or(len);
    let k = idx.get(2).copied().unwrap_or(len);
    if let Some(&bad) = [i, j, k].iter().find(|&&x| x > len) {
        return Err(FnErr::Call(format!("index out of range: {bad}")));
    }
    if i > j || j > k {
        return Err(FnErr::Call(format!("invalid slice index: {i} > {j}")));
    }
    match item {
        Value::String(s) => s
            .get(i..j)
            .map(|t| Val::own(Value::String(t.to_string())))
            .ok_or_else(|| FnErr::Call("slice splits a UTF-8 character".into())),
        Value::Array(a) => Ok(Val::own(Value::Array(a[i..j].to_vec()))),
        _ => Err(FnErr::Call("can't slice".into())),
    }
}

fn num_cmp(a: &Number, b: &Number) -> Option<Ordering> {
    let int = |n: &Number| {
        n.as_i64()
            .map(i128::from)
            .or_else(|| n.as_u64().map(i128::from))
    };
    match (int(a), int(b)) {
        (Some(x), Some(y)) => Some(x.cmp(&y)),
        _ => a.as_f64()?.partial_cmp(&b.as_f64()?),
    }
}

/// Go's `eq` for two values; ints and floats compare numerically (JSON loses
/// Go's distinction), nil only equals nil.
fn basic_eq(a: &Value, b: &Value) -> Result<bool, String> {
    Ok(match (a, b) {
        (Value::Null, _) | (_, Value::Null) => a.is_null() && b.is_null(),
        (Value::Bool(x), Value::Bool(y)) => x == y,
        (Value::String(x), Value::String(y)) => x == y,
        (Value::Number(x), Value::Number(y)) => num_cmp(x, y) == Some(Ordering::Equal),
        (Value::Array(_), Value::Array(_)) | (Value::Object(_), Value::Object(_)) => {
            return Err(format!("non-comparable type {}", type_name(a)))
        }
        _ => return Err("incompatible types for comparison".into()),
    })
}

fn basic_lt(a: &Value, b: &Value) -> Result<bool, String> {
    let basic = |v: &Value| matches!(v, Value::Bool(_) | Value::Number(_) | Value::String(_));
    if !basic(a) || !basic(b) {
        return Err("invalid type for comparison".into());
    }
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => Ok(num_cmp(x, y) == Some(Ordering::Less)),
        (Value::String(x), Value::String(y)) => Ok(x < y),
        (Value::Bool(_), Value::Bool(_)) => Err("invalid type for comparison".into()),
        _ => Err("incompatible types for comparison".into()),
    }
}

/// Go's deprecated `strings.Title`, which docker uses.
fn go_title(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut prev_sep = true;
    for c in s.chars() {
        if prev_sep {
            out.extend(c.to_uppercase());
        } else {
            out.push(c);
        }
        prev_sep = if c.is_ascii() {
            !(c.is_ascii_alphanumeric() || c == '_')
        } else {
            !(c.is_alphabetic() || c.is_numeric()) && c.is_whitespace()
        };
    }
    out
}

fn html_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '"' => out.push_str("&#34;"),
            '\'' => out.push_str("&#39;"),
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '\0' => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out
}

fn js_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\'' => out.push_str("\\'"),
            '"' => out.push_str("\\\""),
            '<' | '>' | '&' | '=' => {
                let _ = write!(out, "\\u{:04X}", c as u32);
            }
            c if c < ' ' || c.is_control() => {
                let _ = write!(out, "\\u{:04X}", c as u32);
            }
            c => out.push(c),
        }
    }
    out
}

fn url_query_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char)
            }
            b' ' => out.push('+'),
            _ => {
                let _ = write!(out, "%{b:02X}");
            }
        }
    }
    out
}

/// Compact JSON like Go's encoder as docker configures it (no HTML escaping).
fn json_encode(out: &mut String, v: &Value) {
    match v {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => match n.as_f64().filter(|_| n.is_f64()) {
            // encoding/json: exponent form only outside [1e-6, 1e21), as "1e+21"/"1e-7".
            Some(f) if f != 0.0 && (f.abs() < 1e-6 || f.abs() >= 1e21) => {
                let s = format!("{f:e}");
                let (m, e) = s.split_once('e').unwrap_or((&s, "0"));
                let sign = if e.starts_with('-') { "" } else { "+" };
                let _ = write!(out, "{m}e{sign}{e}");
            }
            Some(f) => {
                let _ = write!(out, "{f}");
            }
            None => {
                let _ = write!(out, "{n}");
            }
        },
        Value::String(s) => json_string(out, s),
        Value::Array(a) => {
            out.push('[');
            for (i, e) in a.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                json_encode(out, e);
            }
            out.push(']');
        }
        Value::Object(m) => {
            out.push('{');
            for (i, (k, e)) in m.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                json_string(out, k);
                out.push(':');
                json_encode(out, e);
            }
            out.push('}');
        }
    }
}

fn json_string(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '<' | '>' | '&' if JSON_ESCAPE_HTML => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            // Go escapes these unconditionally (they break JSONP).
            c if c < ' ' || c == '\u{2028}' || c == '\u{2029}' => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

// ---------------------------------------------------------------------------
// fmt: Go's %v rendering and a printf subset

#[derive(Debug, Clone, Copy, Default)]
struct Spec {
    minus: bool,
    plus: bool,
    sharp: bool,
    space: bool,
    zero: bool,
    width: Option<usize>,
    prec: Option<usize>,
}

/// Go's `%v` for a JSON-shaped value (maps print with sorted keys).
fn fmt_v(out: &mut String, v: &Value) {
    fmt_arg(out, v, 'v', &Spec::default(), true);
}

fn sprint(args: &[Value]) -> String {
    let mut out = String::new();
    let mut prev_string = false;
    for (i, a) in args.iter().enumerate() {
        let is_string = a.is_string();
        // fmt.Sprint adds a space only between two non-string operands.
        if i > 0 && !is_string && !prev_string {
            out.push(' ');
        }
        fmt_arg(&mut out, a, 'v', &Spec::default(), false);
        prev_string = is_string;
    }
    out
}

fn sprintln(args: &[Value]) -> String {
    let mut out = String::new();
    for (i, a) in args.iter().enumerate() {
        if i > 0 {
            out.push(' ');
        }
        fmt_arg(&mut out, a, 'v', &Spec::default(), false);
    }
    out.push('\n');
    out
}

fn sprintf(format: &str, args: &[Value]) -> String {
    let mut out = String::new();
    let mut next_arg = 0;
    let mut it = format.chars().peekable();
    while let Some(c) = it.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        let mut sp = Spec::default();
        while let Some(&f) = it.peek() {
            match f {
                '-' => sp.minus = true,
                '+' => sp.plus = true,
                '#' => sp.sharp = true,
                ' ' => sp.space = true,
                '0' => sp.zero = true,
                _ => break,
            }
            it.next();
        }
        let mut star = |out: &mut String, bad: &str| -> Option<i64> {
            let v = args.get(next_arg).and_then(as_int);
            next_arg += 1;
            if v.is_none() {
                out.push_str(bad);
            }
            v
        };
        if it.peek() == Some(&'*') {
            it.next();
            if let Some(w) = star(&mut out, "%!(BADWIDTH)") {
                sp.minus |= w < 0;
                sp.width = Some(w.unsigned_abs().min(1 << 20) as usize);
            }
        } else {
            sp.width = take_digits(&mut it);
        }
        if it.peek() == Some(&'.') {
            it.next();
            if it.peek() == Some(&'*') {
                it.next();
                sp.prec = star(&mut out, "%!(BADPREC)").and_then(|p| usize::try_from(p).ok());
            } else {
                sp.prec = Some(take_digits(&mut it).unwrap_or(0));
            }
        }
        let Some(verb) = it.next() else {
            out.push_str("%!(NOVERB)");
            break;
        };
        if verb == '%' {
            out.push('%');
            continue;
        }
        match args.get(next_arg) {
            Some(a) => fmt_arg(&mut out, a, verb, &sp, false),
            None => {
                let _ = write!(out, "%!{verb}(MISSING)");
            }
        }
        next_arg += 1;
    }
    if let Some(extra) = args.get(next_arg..).filter(|e| !e.is_empty()) {
        out.push_str("%!(EXTRA ");
        for (i, a) in extra.iter().enumerate() {
            if i > 0 {
                out.push_str(", ");
            }
            if a.is_null() {
                out.push_str("<nil>");
            } else {
                let _ = write!(out, "{}=", type_name(a));
                fmt_v(&mut out, a);
            }
        }
        out.push(')');
    }
    out
}

fn take_digits(it: &mut std::iter::Peekable<std::str::Chars<'_>>) -> Option<usize> {
    let mut n: Option<usize> = None;
    while let Some(d) = it.peek().and_then(|c| c.to_digit(10)) {
        // Capped so a hostile width cannot allocate gigabytes.
        n = Some((n.unwrap_or(0) * 10 + d as usize).min(1 << 20));
        it.next();
    }
    n
}

/// Pads to the width (in chars); the `0` flag pads on the left with zeros,
/// as Go's `fmt` does for every kind of operand.
fn pad(out: &mut String, s: &str, sp: &Spec) {
    let n = s.chars().count();
    let w = sp.width.unwrap_or(0);
    if n >= w {
        out.push_str(s);
    } else if sp.minus {
        out.push_str(s);
        out.extend(std::iter::repeat_n(' ', w - n));
    } else {
        out.extend(std::iter::repeat_n(if sp.zero { '0' } else { ' ' }, w - n));
        out.push_str(s);
    }
}

fn no_zero(sp: &Spec) -> Spec {
    Spec { zero: false, ..*sp }
}

/// Go's `badVerb`: `%!d(string=x)`, the value printed with the active flags.
fn bad_verb(out: &mut String, verb: char, v: &Value, sp: &Spec) {
    if v.is_null() {
        let _ = write!(out, "%!{verb}(<nil>)");
        return;
    }
    let _ = write!(out, "%!{verb}({}=", type_name(v));
    fmt_arg(
        out,
        v,
        'v',
        &Spec {
            sharp: false,
            ..*sp
        },
        false,
    );
    out.push(')');
}

fn fmt_arg(out: &mut String, v: &Value, verb: char, sp: &Spec, nested: bool) {
    if verb == 'T' && v.is_null() {
        return pad(out, "<nil>", sp);
    }
    if verb == 'T' {
        let t: String = type_name(v)
            .chars()
            .take(sp.prec.unwrap_or(usize::MAX))
            .collect();
        return pad(out, &t, sp);
    }
    // For %v, `+` and `#` select Go's struct/Go-syntax forms, never a sign or prefix.
    let vsp;
    let sp = if verb == 'v' {
        vsp = Spec { plus: false, ..*sp };
        &vsp
    } else {
        sp
    };
    match v {
        // Go prints a nil inside a container as a bare <nil> whatever the verb.
        Value::Null if nested => out.push_str("<nil>"),
        Value::Null if verb == 'v' => pad(out, "<nil>", sp),
        Value::Bool(b) if matches!(verb, 't' | 'v') => {
            pad(out, if *b { "true" } else { "false" }, sp)
        }
        Value::Number(n) => fmt_number(out, n, verb, sp, v),
        Value::String(s) => fmt_str(out, s, verb, sp, v),
        Value::Array(a) => {
            out.push('[');
            for (i, e) in a.iter().enumerate() {
                if i > 0 {
                    out.push(' ');
                }
                fmt_arg(out, e, verb, sp, true);
            }
            out.push(']');
        }
        Value::Object(m) => {
            let mut entries: Vec<_> = m.iter().collect();
            entries.sort_by(|a, b| a.0.cmp(b.0));
            out.push_str("map[");
            for (i, (k, e)) in entries.into_iter().enumerate() {
                if i > 0 {
                    out.push(' ');
                }
                fmt_str(out, k, verb, sp, &Value::String(k.clone()));
                out.push(':');
                fmt_arg(out, e, verb, sp, true);
            }
            out.push(']');
        }
        _ => bad_verb(out, verb, v, sp),
    }
}

fn fmt_str(out: &mut String, s: &str, verb: char, sp: &Spec, v: &Value) {
    let s: Cow<'_, str> = match sp.prec {
        Some(p) if matches!(verb, 's' | 'v' | 'q') => s.chars().take(p).collect::<String>().into(),
        _ => s.into(),
    };
    match verb {
        'v' if sp.sharp => pad(out, &go_quote(&s, false), sp),
        's' | 'v' => pad(out, &s, sp),
        'q' if sp.sharp && !s.chars().any(|c| c == '`' || (c.is_control() && c != '\t')) => {
            pad(out, &format!("`{s}`"), sp)
        }
        'q' => pad(out, &go_quote(&s, sp.plus), sp),
        'x' | 'X' => {
            // Go's fmtSbx: precision limits bytes, ' ' separates them, '#' adds 0x.
            let bytes = &s.as_bytes()[..s.len().min(sp.prec.unwrap_or(usize::MAX))];
            let mut h = String::new();
            let prefix = if verb == 'x' { "0x" } else { "0X" };
            for (i, b) in bytes.iter().enumerate() {
                if sp.sharp && (i == 0 || sp.space) {
                    h.push_str(prefix);
                }
                let _ = if verb == 'x' {
                    write!(h, "{b:02x}")
                } else {
                    write!(h, "{b:02X}")
                };
                if sp.space && i + 1 < bytes.len() {
                    h.push(' ');
                }
            }
            pad(out, &h, sp)
        }
        _ => bad_verb(out, verb, v, sp),
    }
}

/// Go's `strconv.Quote` (printable Unicode kept, the rest escaped), or
/// `QuoteToASCII` for `%+q`.
fn go_quote(s: &str, ascii: bool) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        push_escaped(&mut out, c, '"', ascii);
    }
    out.push('"');
    out
}

fn push_escaped(out: &mut String, c: char, quote: char, ascii: bool) {
    match c {
        '\u{7}' => out.push_str("\\a"),
        '\u{8}' => out.push_str("\\b"),
        '\u{c}' => out.push_str("\\f"),
        '\n' => out.push_str("\\n"),
        '\r' => out.push_str("\\r"),
        '\t' => out.push_str("\\t"),
        '\u{b}' => out.push_str("\\v"),
        '\\' => out.push_str("\\\\"),
        c if c == quote => {
            out.push('\\');
            out.push(c);
        }
        c if (c as u32) < 0x20 || c == '\u{7f}' => {
            let _ = write!(out, "\\x{:02x}", c as u32);
        }
        c if c.is_control() || (ascii && !c.is_ascii()) => {
            if (c as u32) < 0x10000 {
                let _ = write!(out, "\\u{:04x}", c as u32);
            } else {
                let _ = write!(out, "\\U{:08x}", c as u32);
            }
        }
        c => out.push(c),
    }
}

fn fmt_number(out: &mut String, n: &Number, verb: char, sp: &Spec, v: &Value) {
    let int = n
        .as_i64()
        .map(i128::from)
        .or_else(|| n.as_u64().map(i128::from));
    let f = n.as_f64().unwrap_or(0.0);
    match verb {
        'v' => {
            let sp = Spec {
                sharp: false,
                ..*sp
            };
            match int {
                Some(i) => fmt_int(out, i, 'd', &sp),
                None => fmt_float(out, f, 'g', &sp),
            }
        }
        'd' | 'b' | 'o' | 'O' | 'x' | 'X' | 'c' | 'q' | 'U' => {
            // Integral floats are accepted: JSON numbers lose Go's int/float split.
            let lenient = (f.fract() == 0.0 && f.abs() < 9.0e18).then_some(f as i128);
            match int.or(lenient) {
                Some(i) => fmt_int(out, i, verb, sp),
                None => bad_verb(out, verb, v, sp),
            }
        }
        'e' | 'E' | 'f' | 'F' | 'g' | 'G' => fmt_float(out, int.map_or(f, |i| i as f64), verb, sp),
        _ => bad_verb(out, verb, v, sp),
    }
}

fn fmt_int(out: &mut String, i: i128, verb: char, sp: &Spec) {
    let a = i.unsigned_abs();
    let as_char = || {
        u32::try_from(i)
            .ok()
            .and_then(char::from_u32)
            .unwrap_or('\u{FFFD}')
    };
    match verb {
        'c' => pad(out, &as_char().to_string(), sp),
        'q' => {
            let mut s = String::from("'");
            push_escaped(&mut s, as_char(), '\'', sp.plus);
            s.push('\'');
            pad(out, &s, sp)
        }
        'U' => {
            // Negative values print as their uint64 bit pattern, as in Go.
            let u = if i < 0 {
                u128::from(i as i64 as u64)
            } else {
                a
            };
            let digits = format!("{u:X}");
            let min = sp.prec.unwrap_or(4).clamp(4, 1 << 10);
            let mut s = format!("U+{}{digits}", "0".repeat(min.saturating_sub(digits.len())));
            match u32::try_from(i).ok().and_then(char::from_u32) {
                Some(c) if sp.sharp && !c.is_control() => {
                    let _ = write!(s, " '{c}'");
                }
                _ => {}
            }
            pad(out, &s, &no_zero(sp))
        }
        _ => {
            let mut digits = match verb {
                'b' => format!("{a:b}"),
                'o' | 'O' => format!("{a:o}"),
                'x' => format!("{a:x}"),
                'X' => format!("{a:X}"),
                _ => a.to_string(),
            };
            let signed = i < 0 || sp.plus || sp.space;
            // Go's fmtInteger: a precision, or else the `0` flag with a width, sets
            // the minimum digit count (leaving room for the sign, not the prefix).
            let min = match (sp.prec, sp.width) {
                (Some(0), _) if a == 0 => return pad(out, "", &no_zero(sp)),
                (Some(p), _) => p,
                (None, Some(w)) if sp.zero && !sp.minus => w.saturating_sub(usize::from(signed)),
                _ => 0,
            };
            if digits.len() < min {
                digits = "0".repeat(min - digits.len()) + &digits;
            }
            let prefix = match (verb, sp.sharp) {
                ('O', _) => "0o",
                ('b', true) => "0b",
                ('o', true) if !digits.starts_with('0') => "0",
                ('x', true) => "0x",
                ('X', true) => "0X",
                _ => "",
            };
            let sign = if i < 0 {
                "-"
            } else if sp.plus {
                "+"
            } else if sp.space {
                " "
            } else {
                ""
            };
            pad(out, &format!("{sign}{prefix}{digits}"), &no_zero(sp))
        }
    }
}

fn fmt_float(out: &mut String, f: f64, verb: char, sp: &Spec) {
    let a = f.abs();
    let upper = verb.is_ascii_uppercase();
    let mut body = if f.is_nan() {
        "NaN".to_string()
    } else if f.is_infinite() {
        "Inf".to_string()
    } else {
        match verb {
            'f' | 'F' => format!("{:.*}", sp.prec.unwrap_or(6).min(1 << 10), a),
            'e' | 'E' => exp_form(
                &format!("{:.*e}", sp.prec.unwrap_or(6).min(1 << 10), a),
                upper,
            ),
            _ => g_form(a, sp.prec, upper),
        }
    };
    if sp.sharp && f.is_finite() {
        body = sharp_float(&body, verb, sp.prec);
    }
    let sign = if f.is_sign_negative() && !f.is_nan() {
        "-"
    } else if sp.plus || f.is_infinite() {
        "+"
    } else if sp.space {
        " "
    } else {
        ""
    };
    let len = sign.len() + body.len();
    match sp.width {
        // Zero padding goes between the sign and the digits.
        Some(w) if sp.zero && !sp.minus && f.is_finite() && len < w => {
            out.push_str(sign);
            out.extend(std::iter::repeat_n('0', w - len));
            out.push_str(&body);
        }
        _ => pad(out, &format!("{sign}{body}"), &no_zero(sp)),
    }
}

/// Go's `#` flag for floats: always a decimal point, and `%g` keeps trailing
/// zeros up to the precision (6 by default).
fn sharp_float(body: &str, verb: char, prec: Option<usize>) -> String {
    let (num, tail) = match body.find(['e', 'E']) {
        Some(k) => body.split_at(k),
        None => (body, ""),
    };
    let mut left = match verb {
        'g' | 'G' => prec.map_or(6, |p| p.min(1 << 10) as i64),
        _ => 0,
    };
    let mut seen_nonzero = false;
    for c in num.chars().filter(char::is_ascii_digit) {
        seen_nonzero |= c != '0';
        if seen_nonzero {
            left -= 1;
        }
    }
    let mut s = num.to_string();
    if !num.contains('.') {
        if num == "0" {
            left -= 1;
        }
        s.push('.');
    }
    s.extend(std::iter::repeat_n('0', usize::try_from(left).unwrap_or(0)));
    s.push_str(tail);
    s
}

/// Rust's `1.5e6` to Go's `1.5e+06`.
fn exp_form(rust: &str, upper: bool) -> String {
    let (m, e) = rust.split_once('e').unwrap_or((rust, "0"));
    let e: i32 = e.parse().unwrap_or(0);
    let sign = if e < 0 { '-' } else { '+' };
    format!(
        "{m}{}{sign}{:02}",
        if upper { 'E' } else { 'e' },
        e.unsigned_abs()
    )
}

/// Go's `%g` (strconv 'g'): shortest digits when `prec` is None, and the
/// exponent form when exp < -4 or exp >= precision (6 for shortest).
fn g_form(a: f64, prec: Option<usize>, upper: bool) -> String {
    if a == 0.0 {
        return "0".to_string();
    }
    let p = prec.map(|p| p.clamp(1, 400));
    let sci = match p {
        None => format!("{a:e}"),
        Some(p) => format!("{:.*e}", p - 1, a),
    };
    let (m, e) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i64 = e.parse().unwrap_or(0);
    let mut digits: Vec<u8> = m.bytes().filter(u8::is_ascii_digit).collect();
    while digits.len() > 1 && digits.last() == Some(&b'0') {
        digits.pop();
    }
    let nd = digits.len() as i64;
    let dp = exp + 1;
    let p = p.map_or(nd, |p| p as i64);
    let mut eprec = p;
    if eprec > nd && nd >= dp {
        eprec = nd;
    }
    if prec.is_none() {
        eprec = 6;
    }
    let digit = |k: i64| {
        usize::try_from(k)
            .ok()
            .and_then(|k| digits.get(k))
            .map_or('0', |&d| d as char)
    };
    let mut s = String::new();
    if exp < -4 || exp >= eprec {
        s.push(digit(0));
        let shown = p.min(nd);
        if shown > 1 {
            s.push('.');
            (1..shown).for_each(|k| s.push(digit(k)));
        }
        let _ = write!(
            s,
            "{}{}{:02}",
            if upper { 'E' } else { 'e' },
            if exp < 0 { '-' } else { '+' },
            exp.unsigned_abs()
        );
    } else {
        let decimals = (if p > dp { nd } else { p } - dp).max(0);
        if dp <= 0 {
            s.push('0');
        } else {
            (0..dp).for_each(|k| s.push(digit(k)));
        }
        if decimals > 0 {
            s.push('.');
            (0..decimals).for_each(|k| s.push(digit(dp + k)));
        }
    }
    s
}

// ---------------------------------------------------------------------------
// Tabwriter

/// Go's `text/tabwriter` as the docker CLI configures it
/// (`NewWriter(out, 10, 1, 3, ' ', 0)`): cells are tab-terminated, a column
/// block is a run of consecutive lines with a cell in that column, and a
/// column is as wide as its widest cell plus padding (at least `minwidth`).
/// Unlike Go, padding that would end a line is dropped.
#[derive(Debug, Clone)]
pub struct TabWriter {
    minwidth: usize,
    padding: usize,
    lines: Vec<Vec<Cell>>,
    line: Vec<Cell>,
    cell: String,
    out: String,
}

#[derive(Debug, Clone)]
struct Cell {
    text: String,
    width: usize,
}

impl Default for TabWriter {
    fn default() -> Self {
        Self::new()
    }
}

impl TabWriter {
    /// docker's settings: minwidth 10, padding 3.
    pub fn new() -> Self {
        Self::with(10, 3)
    }

    pub fn with(minwidth: usize, padding: usize) -> Self {
        TabWriter {
            minwidth,
            padding,
            lines: Vec::new(),
            line: Vec::new(),
            cell: String::new(),
            out: String::new(),
        }
    }

    /// Writes `line` followed by a newline.
    pub fn write_line(&mut self, line: &str) {
        self.write(line);
        self.write("\n");
    }

    /// Writes raw text: `\t`/`\v` end a cell, `\n` ends a line, `\f` also flushes.
    pub fn write(&mut self, text: &str) {
        for c in text.chars() {
            match c {
                '\t' | '\u{b}' => self.end_cell(),
                '\n' | '\u{c}' => {
                    self.end_cell();
                    let line = std::mem::take(&mut self.line);
                    // A one-cell line ends every column block, so flushing keeps
                    // memory bounded without changing the output (Go does the same).
                    let single = line.len() == 1;
                    self.lines.push(line);
                    if single || c == '\u{c}' {
                        self.flush(false);
                    }
                }
                c => self.cell.push(c),
            }
        }
    }

    /// Formats everything buffered and returns the output.
    pub fn finish(mut self) -> String {
        if !self.cell.is_empty() {
            self.end_cell();
        }
        let partial = std::mem::take(&mut self.line);
        self.lines.push(partial);
        self.flush(true);
        self.out
    }

    fn end_cell(&mut self) {
        let text = std::mem::take(&mut self.cell);
        let width = text.chars().count();
        self.line.push(Cell { text, width });
    }

    /// Go's recursive `format`, done iteratively: each column's open block is
    /// closed when a line without a cell in that column arrives.
    fn flush(&mut self, last_is_partial: bool) {
        let lines = std::mem::take(&mut self.lines);
        let n = lines.len();
        let mut widths: Vec<Vec<usize>> = lines
            .iter()
            .map(|l| vec![0; l.len().saturating_sub(1)])
            .collect();
        let mut open: Vec<(usize, usize)> = Vec::new(); // per column: (first line, width)
        for i in 0..=n {
            let cols = lines.get(i).map_or(0, |l| l.len().saturating_sub(1));
            while open.len() > cols {
                let col = open.len() - 1;
                if let Some((start, w)) = open.pop() {
                    for row in widths.iter_mut().take(i).skip(start) {
                        if let Some(x) = row.get_mut(col) {
                            *x = w;
                        }
                    }
                }
            }
            for (j, cell) in lines.get(i).into_iter().flatten().take(cols).enumerate() {
                let w = cell.width + self.padding;
                match open.get_mut(j) {
                    Some(o) => o.1 = o.1.max(w),
                    None => open.push((i, w.max(self.minwidth))),
                }
            }
        }
        for (i, line) in lines.iter().enumerate() {
            let mut s = String::new();
            let mut content_end = 0;
            for (j, cell) in line.iter().enumerate() {
                s.push_str(&cell.text);
                if !cell.text.is_empty() {
                    content_end = s.len();
                }
                if let Some(w) = widths.get(i).and_then(|r| r.get(j)) {
                    s.extend(std::iter::repeat_n(' ', w.saturating_sub(cell.width)));
                }
            }
            s.truncate(content_end);
            self.out.push_str(&s);
            if !(last_is_partial && i + 1 == n) {
                self.out.push('\n');
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn r(src: &str, data: &Value) -> String {
        match render(src, data) {
            Ok(s) => s,
            Err(e) => panic!("{src:?}: {e}"),
        }
    }

    fn err(src: &str, data: &Value) -> String {
        match render(src, data) {
            Ok(s) => panic!("{src:?} should fail, got {s:?}"),
            Err(e) => e.to_string(),
        }
    }

    fn container() -> Value {
        json!({
            "Id": "abc123",
            "Name": "web",
            "State": "running",
            "Size": 1234,
            "Ratio": 1.5,
            "Config": {"Env": ["A=1", "B=2"], "Image": "nginx<1>&", "Cmd": null},
            "Labels": {"a.b": "dotted", "z": "last"},
            "RepoTags": ["busybox:latest", "busybox:1.36"],
            "List": [1, 2, 3],
            "Empty": [],
            "Nested": [{"N": "x", "Items": ["p", "q"]}, {"N": "y", "Items": []}],
        })
    }

    #[test]
    fn fields_and_printing() {
        let d = container();
        assert_eq!(r("{{.Id}}", &d), "abc123");
        assert_eq!(r("id={{ .Id }}!", &d), "id=abc123!");
        assert_eq!(r("{{.Config.Env}}", &d), "[A=1 B=2]");
        assert_eq!(r("{{.Labels}}", &d), "map[a.b:dotted z:last]");
        assert_eq!(r("{{.Size}} {{.Ratio}}", &d), "1234 1.5");
        assert_eq!(r("{{.Missing}}", &d), "<no value>");
        assert_eq!(r("{{.Missing.Deeper}}", &d), "<no value>");
        assert_eq!(r("{{.Config.Cmd}}", &d), "<nil>");
        assert_eq!(r("{{$}}", &json!([1, "a", null, true])), "[1 a <nil> true]");
        assert_eq!(r("{{.}}", &json!(1e21)), "1e+21");
        assert_eq!(r("{{.}}", &json!(1234567.0)), "1.234567e+06");
        assert_eq!(r("{{.}}", &json!(100000.0)), "100000");
        assert_eq!(r("{{.}}", &json!(0.00001)), "1e-05");
        assert_eq!(r("{{.}}", &json!(2.0)), "2");
        assert_eq!(r("{{.}}", &json!(u64::MAX)), "18446744073709551615");
        assert_eq!(
            r("{{.}}", &json!({"b": {"c": [1]}, "a": null})),
            "map[a:<nil> b:map[c:[1]]]"
        );
        assert_eq!(
            r(
                "{{\"lit\"}} {{`raw\\n`}} {{42}} {{-1.50}} {{true}} {{'a'}} {{0x1F}}",
                &d
            ),
            "lit raw\\n 42 -1.5 true 97 31"
        );
        assert_eq!(r("{{\"tab\\there\\u00e9\\x41\"}}", &d), "tab\there\u{e9}A");
    }

    #[test]
    fn field_errors() {
        let d = container();
        let e = err("{{.Id.Bar}}", &d);
        assert_eq!(
            e,
            "template: :1:2: executing \"\" at <.Id.Bar>: can't evaluate field Bar in type string"
        );
        let e = err("x\n  {{.Config.Cmd.X}}", &d);
        assert_eq!(e, "template: :2:4: executing \"\" at <.Config.Cmd.X>: nil pointer evaluating interface {}.X");
        assert!(err("{{.Id 1}}", &d).contains("Id is not a method but has arguments"));
        assert!(err("{{.Config 1}}", &d).contains("Config is not a method but has arguments"));
        assert!(err("{{1 | .Config}}", &d).contains("Config is not a method but has arguments"));
        assert!(err("{{\"x\" 1}}", &d).contains("can't give argument to non-function \"x\""));
        assert!(err("{{nil}}", &d).contains("nil is not a command"));
    }

    #[test]
    fn docker_functions() {
        let d = container();
        assert_eq!(
            r("{{json .Config}}", &d),
            r#"{"Cmd":null,"Env":["A=1","B=2"],"Image":"nginx<1>&"}"#
        );
        assert_eq!(
            r(
                "{{json .Missing}} {{json .Ratio}} {{json 1e21}} {{json 1e-7}} {{json 2.0}}",
                &d
            ),
            "null 1.5 1e+21 1e-7 2"
        );
        assert_eq!(
            r(r#"{{json "a\"b\\c\n\u2028"}}"#, &d),
            r#""a\"b\\c\n\u2028""#
        );
        assert_eq!(
            r("{{join .Env \",\"}}", &json!({"Env": ["A=1", "B=2"]})),
            "A=1,B=2"
        );
        assert_eq!(r("{{join .List \"-\"}}", &d), "1-2-3");
        assert_eq!(r("{{split \"a:b:c\" \":\"}}", &d), "[a b c]");
        assert_eq!(r("{{index (split .Config.Image \"<\") 0}}", &d), "nginx");
        assert_eq!(r("{{len (split \"abc\" \"\")}}", &d), "3");
        assert_eq!(
            r(
                "{{upper .Name}} {{lower \"MiXed\"}} {{title \"hello big-world_x\"}}",
                &d
            ),
            "WEB mixed Hello Big-World_x"
        );
        assert_eq!(r("[{{pad .Name 2 1}}][{{pad \"\" 2 2}}]", &d), "[  web ][]");
        assert_eq!(
            r(
                "{{truncate .Id 3}}|{{truncate .Id 99}}|{{truncate \"héllo\" 2}}",
                &d
            ),
            "abc|abc123|hé"
        );
        // Type errors point at the offending argument, like Go.
        assert_eq!(
            err("{{upper .Size}}", &d),
            "template: :1:8: executing \"\" at <.Size>: wrong type for value; expected string; got int"
        );
        assert!(err("{{upper .Missing}}", &d).contains("invalid value; expected string"));
        assert!(err("{{pad .Name -1 0}}", &d).contains("error calling pad"));
    }

    #[test]
    fn json_keeps_value_order() {
        let d: Value = serde_json::from_str(r#"{"b":1,"a":{"y":true,"x":[1.5,"s"]}}"#).unwrap();
        let mut expected = String::new();
        json_encode(&mut expected, &d);
        assert_eq!(r("{{json .}}", &d), expected);
        assert_eq!(serde_json::from_str::<Value>(&expected).unwrap(), d);
    }

    #[test]
    fn control_flow() {
        let d = container();
        assert_eq!(
            r("{{range .RepoTags}}{{.}} {{end}}", &d),
            "busybox:latest busybox:1.36 "
        );
        assert_eq!(
            r("{{if eq .State \"running\"}}up{{else}}down{{end}}", &d),
            "up"
        );
        assert_eq!(
            r("{{if eq .State \"exited\"}}up{{else}}down{{end}}", &d),
            "down"
        );
        assert_eq!(
            r(
                "{{if .Empty}}a{{else if .Missing}}b{{else if .List}}c{{else}}d{{end}}",
                &d
            ),
            "c"
        );
        assert_eq!(
            r(
                "{{with .Config}}{{.Image}}{{end}}|{{with .Missing}}x{{else}}none{{end}}",
                &d
            ),
            "nginx<1>&|none"
        );
        assert_eq!(
            r("{{with .Missing}}x{{else with .Name}}{{.}}{{end}}", &d),
            "web"
        );
        assert_eq!(r("{{range .Empty}}x{{else}}empty{{end}}", &d), "empty");
        assert_eq!(
            r("{{range $i, $e := .List}}{{$i}}={{$e}},{{end}}", &d),
            "0=1,1=2,2=3,"
        );
        assert_eq!(
            r("{{range $k, $v := .Labels}}{{$k}}:{{$v}};{{end}}", &d),
            "a.b:dotted;z:last;"
        );
        assert_eq!(r("{{range $e := .List}}{{$e}}{{end}}", &d), "123");
        assert_eq!(r("{{range .List}}{{if eq . 2}}{{continue}}{{end}}{{if eq . 3}}{{break}}{{end}}{{.}}{{end}}", &d), "1");
        assert_eq!(r("{{range 3}}{{.}}{{end}}", &d), "012");
        assert_eq!(r("{{range .Missing}}x{{end}}ok", &d), "ok");
        assert!(err("{{range .Name}}{{end}}", &d).contains("range can't iterate over web"));
        // Nested range reaching the root through $.
        let out = r(
            "{{range .Nested}}{{$n := .N}}{{range .Items}}{{$n}}{{.}}@{{$.Name}} {{end}}{{end}}",
            &d,
        );
        assert_eq!(out, "xp@web xq@web ");
        assert_eq!(r("{{$x := 1}}{{if true}}{{$x = 2}}{{end}}{{$x}}", &d), "2");
        assert_eq!(
            r("{{$x := .Name}}{{$x}}{{$x := \"shadow\"}}{{$x}}", &d),
            "webshadow"
        );
    }

    #[test]
    fn trim_and_comments() {
        let d = container();
        assert_eq!(r("a  {{- .Name -}}  \n b", &d), "awebb");
        assert_eq!(r("{{range .List -}}\n  {{.}}\n{{- end}}", &d), "123");
        assert_eq!(r("x {{/* note */}} y", &d), "x  y");
        assert_eq!(r("x {{- /* note */ -}} y", &d), "xy");
        assert_eq!(r("{{-3}}", &d), "-3");
    }

    #[test]
    fn builtins() {
        let d = container();
        assert_eq!(r("{{index .Labels \"a.b\"}}", &d), "dotted");
        assert_eq!(
            r("{{index .List 1}} {{index .Nested 0 \"Items\" 1}}", &d),
            "2 q"
        );
        assert_eq!(r("{{index .Labels \"nope\"}}", &d), "<no value>");
        assert!(
            err("{{index .List 5}}", &d).ends_with("error calling index: index out of range: 5")
        );
        assert_eq!(
            r("{{len .List}} {{len .Name}} {{len .Labels}}", &d),
            "3 3 2"
        );
        assert!(err("{{len .Size}}", &d).contains("error calling len: len of type int"));
        assert_eq!(r("{{slice .List 1}} {{slice .Name 1 2}}", &d), "[2 3] e");
        assert_eq!(
            r(
                "{{not .Empty}} {{and 1 0 2}} {{or 0 \"\" 3}} {{and 1 2}} {{or 0 .Missing}}",
                &d
            ),
            "true 0 3 2 <no value>"
        );
        // and/or short-circuit: the failing call is never evaluated.
        assert_eq!(
            r(
                "{{or .Name (index .List 9)}} {{and .Empty (index .List 9)}}",
                &d
            ),
            "web []"
        );
        assert_eq!(
            r(
                "{{eq 1 1.0}} {{eq .Size 1 1234}} {{ne .Name \"x\"}} {{eq .Missing nil}}",
                &d
            ),
            "true true true true"
        );
        assert_eq!(
            r("{{lt 1 2}} {{le 2 2}} {{gt \"b\" \"a\"}} {{ge 1.5 2}}", &d),
            "true true true false"
        );
        assert!(err("{{eq .Name 1}}", &d).contains("incompatible types for comparison"));
        assert!(err("{{lt .List 1}}", &d).contains("invalid type for comparison"));
        assert_eq!(
            r("{{print 1 2 \"a\" \"b\" 3}}|{{println 1 \"a\"}}|", &d),
            "1 2ab3|1 a\n|"
        );
        assert_eq!(
            r(
                "{{print .Missing}} {{html \"<a href='x'>&\"}} {{urlquery \"a b&c\"}}",
                &d
            ),
            "<nil> &lt;a href=&#39;x&#39;&gt;&amp; a+b%26c"
        );
        assert_eq!(r("{{js \"it's <b>\"}}", &d), "it\\'s \\u003Cb\\u003E");
        assert!(err("{{len}}", &d).contains("wrong number of args for len: want 1 got 0"));
    }

    #[test]
    fn printf_verbs() {
        let d = container();
        assert_eq!(r("{{printf \"%-10s|\" .Name}}", &d), "web       |");
        assert_eq!(r("{{printf \"%10s|\" .Name}}", &d), "       web|");
        assert_eq!(r("{{.Size | printf \"%d\"}}", &d), "1234");
        assert_eq!(
            r(
                "{{printf \"%05d|%x|%X|%o|%b|%+d|%#x\" 42 255 255 8 5 3 255}}",
                &d
            ),
            "00042|ff|FF|10|101|+3|0xff"
        );
        assert_eq!(
            r(
                "{{printf \"%.2f|%f|%e|%g|%8.3f|\" .Ratio 2 123456.789 0.000012 3.14159}}",
                &d
            ),
            "1.50|2.000000|1.234568e+05|1.2e-05|   3.142|"
        );
        assert_eq!(
            r("{{printf \"%v %q %t %%\" .List .Name true}}", &d),
            "[1 2 3] \"web\" true %"
        );
        assert_eq!(
            r(
                "{{printf \"%s\" .Config.Env}} {{printf \"%q\" .Config.Env}}",
                &d
            ),
            "[A=1 B=2] [\"A=1\" \"B=2\"]"
        );
        assert_eq!(
            r("{{printf \"%d %s\" \"x\" 5}}", &d),
            "%!d(string=x) %!s(int=5)"
        );
        assert_eq!(r("{{printf \"%d %d\" 1}}", &d), "1 %!d(MISSING)");
        assert_eq!(r("{{printf \"%d\" 1 \"x\"}}", &d), "1%!(EXTRA string=x)");
        assert_eq!(
            r("{{printf \"%s %v %T\" .Missing nil .Labels}}", &d),
            "%!s(<nil>) <nil> map[string]interface {}"
        );
        assert_eq!(
            r("{{printf \"%.3s|%*d|%c|%U\" \"abcdef\" 4 7 65 65}}", &d),
            "abc|   7|A|U+0041"
        );
        assert_eq!(r("{{printf \"%5.1f%%\" 99.44}}", &d), " 99.4%");
        assert_eq!(
            r("{{printf \"%d\" 2.0}} {{printf \"%d\" 2.5}}", &d),
            "2 %!d(float64=2.5)"
        );
    }

    /// Expectations produced by Go's own `fmt` (text/template `printf`).
    #[test]
    fn printf_matches_go_oracle() {
        let d = json!({"S": "héllo", "N": null, "L": [1, "a", null]});
        let cases = [
            (
                r#"{{printf "%#08x|%+q|%x|% x|%#X|%.1x" 255 "é" "hi" "hi" "hi" "hi"}}"#,
                r#"0x000000ff|"\u00e9"|6869|68 69|0X6869|68"#,
            ),
            (
                r#"{{printf "%#g|%#.1g|%#.0f|%g|%.3g" 1.0 999999.9 3.0 1e-7 1234.5678}}"#,
                "1.00000|1.e+06|3.|1e-07|1.23e+03",
            ),
            (
                r#"{{printf "%05s|%-5t|%+d|%+v|%x" "ab" true 5 5 -255}}"#,
                "000ab|true |+5|5|-ff",
            ),
            (
                r#"{{printf "%.2d|%08.3f|%+08d|%-8d|%U|%#U" 7 -3.14159 42 42 -1 9731}}"#,
                "07|-003.142|+0000042|42      |U+FFFFFFFFFFFFFFFF|U+2603 '☃'",
            ),
            (
                r#"{{printf "%.3d|%5.T|%T" "héllo" .N .L}}"#,
                "%!d(string=hél)|<nil>|[]interface {}",
            ),
        ];
        for (src, want) in cases {
            assert_eq!(r(src, &d), want, "{src}");
        }
    }

    #[test]
    fn pipelines_and_parens() {
        let d = container();
        assert_eq!(r("{{.Name | upper | printf \"<%s>\"}}", &d), "<WEB>");
        assert_eq!(r("{{.Name |}}", &d), "web"); // Go tolerates a trailing pipe.
        assert_eq!(r("{{(index .Nested 1).N}}", &d), "y");
        assert_eq!(r("{{$c := .Config}}{{$c.Env}}", &d), "[A=1 B=2]");
        assert_eq!(
            r(
                "{{printf \"%s-%s\" (upper .Name) (lower (upper \"X\"))}}",
                &d
            ),
            "WEB-x"
        );
        assert_eq!(
            r(
                "{{if and (eq .State \"running\") (gt .Size 1000)}}big{{end}}",
                &d
            ),
            "big"
        );
    }

    #[test]
    fn error_messages_match_go() {
        let d = container();
        assert_eq!(
            err("{{foo}}", &d),
            "template: :1: function \"foo\" not defined"
        );
        assert_eq!(err("{{.Id", &d), "template: :1: unclosed action");
        assert_eq!(err("{{end}}", &d), "template: :1: unexpected {{end}}");
        assert_eq!(err("{{if .X}}", &d), "template: :1: unexpected EOF");
        assert_eq!(
            err("a\n{{$x}}", &d),
            "template: :2: undefined variable \"$x\""
        );
        assert_eq!(
            err("{{break}}", &d),
            "template: :1: {{break}} outside {{range}}"
        );
        assert_eq!(
            err("{{.A | 1}}", &d),
            "template: :1: non executable command in pipeline stage 2"
        );
        let e = Template::parse("{{.Id}}")
            .unwrap()
            .execute(&json!("str"))
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            "template: :1:2: executing \"\" at <.Id>: can't evaluate field Id in type string"
        );
    }

    #[test]
    fn malformed_templates_return_errors() {
        let bad = [
            "{{",
            "{{.Id",
            "{{.Id}",
            "}}{{",
            "{{end}}",
            "{{else}}",
            "{{if}}",
            "{{if .A}}",
            "{{if .A}}{{else}}{{else}}{{end}}",
            "{{range .A}}{{else if .B}}{{end}}",
            "{{with}}{{end}}",
            "{{foo}}",
            "{{.A | foo}}",
            "{{|}}",
            "{{| .A}}",
            "{{()}}",
            "{{(.A}}",
            "{{.A)}}",
            "{{\"unterminated}}",
            "{{`raw}}",
            "{{'ab'}}",
            "{{''}}",
            "{{\"\\q\"}}",
            "{{1x}}",
            "{{0x}}",
            "{{1e}}",
            "{{99999999999999999999}}",
            "{{1i}}",
            "{{.A.}}",
            "{{.A-b}}",
            "{{@}}",
            "{{$x}}",
            "{{$x = 1}}",
            "{{$x := }}",
            "{{$a, $b := .L}}",
            "{{range $a, 1 := .L}}{{end}}",
            "{{/* unclosed",
            "{{/* x */ .A}}",
            "{{:}}",
            "{{define \"x\"}}{{end}}",
            "{{template \"x\"}}",
            "{{continue}}",
            "{{range .L}}{{end}}{{break}}",
            "{{true.X}}",
            "{{\"s\".X}}",
            "{{.A := 1}}",
            "{{if .A}}{{end}}{{end}}",
            "{{range .A}}{{else}}{{break}}{{end}}",
            "{{.A | \"x\"}}",
            "{{- -}}",
            "{{ }}",
            "{{\u{0}}}",
            "{{nil.X}}",
            "{{$.A.}}",
            "{{.A,}}",
        ];
        for src in bad {
            assert!(Template::parse(src).is_err(), "{src:?} should not parse");
        }
        let runtime_bad = [
            "{{len 3}}",
            "{{index 1 1}}",
            "{{slice .L 3 1}}",
            "{{printf 1}}",
            "{{call .A}}",
            "{{.S.X}}",
            "{{range .S}}{{end}}",
            "{{lt nil 1}}",
            "{{1 2 |}}",
            "{{index .Missing}}",
        ];
        let d = json!({"L": [1, 2, 3], "S": "s", "A": 1});
        for src in runtime_bad {
            assert!(render(src, &d).is_err(), "{src:?} should fail at execution");
        }
    }

    #[test]
    fn nesting_is_bounded() {
        let ok = format!("{}1{}", "(".repeat(50), ")".repeat(50));
        assert_eq!(r(&format!("{{{{{ok}}}}}"), &json!(null)), "1");
        let deep = format!("{{{{{}1{}}}}}", "(".repeat(5000), ")".repeat(5000));
        assert!(render(&deep, &json!(null)).is_err());
        let ifs = "{{if 1}}".repeat(5000) + &"{{end}}".repeat(5000);
        assert!(render(&ifs, &json!(null)).is_err());
    }

    #[test]
    fn table_prefix() {
        assert_eq!(
            strip_table_prefix("table {{.ID}}\t{{.Name}}"),
            Some("{{.ID}}\t{{.Name}}")
        );
        assert_eq!(strip_table_prefix("table"), Some(""));
        assert_eq!(strip_table_prefix("{{.ID}}"), None);
        assert_eq!(
            docker_preformat("table  {{.ID}}\\t{{.Name}} "),
            (true, "{{.ID}}\t{{.Name}}".to_string())
        );
        assert_eq!(
            docker_preformat("{{.ID}}\\n"),
            (false, "{{.ID}}\n".to_string())
        );
    }

    fn tab(lines: &[&str]) -> String {
        let mut w = TabWriter::new();
        for l in lines {
            w.write_line(l);
        }
        w.finish()
    }

    #[test]
    fn tabwriter_docker_example() {
        let out = tab(&[
            "REPOSITORY\tTAG\tIMAGE ID\tCREATED\tSIZE",
            "busybox\tlatest\t1a80408de790\t2 weeks ago\t4.26MB",
        ]);
        let want = "REPOSITORY   TAG       IMAGE ID       CREATED       SIZE\nbusybox      latest    1a80408de790   2 weeks ago   4.26MB\n";
        assert_eq!(out, want);
    }

    #[test]
    fn tabwriter_blocks_and_edges() {
        // Empty cells still occupy the column; trailing padding is dropped.
        assert_eq!(
            tab(&["A\t\tC", "aa\tb\t"]),
            "A                   C\naa        b\n"
        );
        // A line with fewer cells ends the block of the deeper column only.
        let out = tab(&["a\tb\tc", "aaaaaaaaaaaaa\tbbbbbbbbbbbbbbbb", "x\ty\tz"]);
        assert_eq!(out, "a               b         c\naaaaaaaaaaaaa   bbbbbbbbbbbbbbbb\nx               y         z\n");
        // Unicode counts chars, not bytes.
        assert_eq!(
            tab(&["héllo\tx", "日本\ty"]),
            "héllo     x\n日本        y\n"
        );
        // A cell longer than minwidth.
        assert_eq!(
            tab(&["averyveryverylongname\tv", "s\tw"]),
            "averyveryverylongname   v\ns                       w\n"
        );
        // A line without tabs breaks column blocks.
        assert_eq!(
            tab(&["a\tb", "----", "longer-cell\tc"]),
            "a         b\n----\nlonger-cell   c\n"
        );
        // Text after the last tab is not padded; custom minwidth/padding.
        let mut w = TabWriter::with(0, 1);
        w.write("a\tb\nccc\td\npartial\tend");
        assert_eq!(w.finish(), "a       b\nccc     d\npartial end");
        assert_eq!(TabWriter::new().finish(), "");
    }

    #[test]
    fn header_mode_uses_identity_functions() {
        let t = Template::parse(
            "{{join .Names \",\"}}\t{{json .Labels}}\t{{truncate (upper .ID) 2}}\t{{pad .X 1 1}}",
        )
        .unwrap();
        let h = json!({"Names": "NAMES", "Labels": "LABELS", "ID": "CONTAINER ID", "X": "X"});
        assert_eq!(
            t.execute_header(&h).unwrap(),
            "NAMES\tLABELS\tCONTAINER ID\t X "
        );
        assert!(t.execute(&h).is_err());
    }

    #[test]
    fn table_rows_from_template() {
        let rows = [
            json!({"ID": "1a2b", "Name": "web"}),
            json!({"ID": "3c4d5e6f7a8b", "Name": "db"}),
        ];
        let fmt = strip_table_prefix("table {{.ID}}\t{{.Name}}").unwrap();
        let t = Template::parse(fmt).unwrap();
        let mut w = TabWriter::new();
        w.write_line("CONTAINER ID\tNAMES");
        for row in &rows {
            w.write_line(&t.execute(row).unwrap());
        }
        assert_eq!(
            w.finish(),
            "CONTAINER ID   NAMES\n1a2b           web\n3c4d5e6f7a8b   db\n"
        );
    }
}
