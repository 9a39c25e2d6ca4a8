//! The check language of OpenStack policy files (oslo.policy's): `role:admin`,
//! `project_id:%(project_id)s`, `is_admin:True`, `rule:other`, `@` (always), `!` (never), combined
//! with `and`, `or`, `not` and parentheses. An empty check string always passes.

use std::fmt;

/// Who is asking, as the checks see it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Credentials {
    /// The token's project.
    pub project_id: Option<String>,
    /// The token's user.
    pub user_id: Option<String>,
    /// Role names (compared case-insensitively, as oslo.policy does).
    pub roles: Vec<String>,
    /// The `context_is_admin` verdict (always true under noauth without a project).
    pub is_admin: bool,
}

/// What a check is about: the owning project of the object acted on.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Target<'a> {
    /// The object's project, when it has one.
    pub project_id: Option<&'a str>,
}

/// A parsed check string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Check {
    /// `@` or an empty string.
    Always,
    /// `!`.
    Never,
    /// `rule:NAME`: another rule of the policy.
    Rule(String),
    /// `role:NAME`.
    Role(String),
    /// `KEY:VALUE` on the credentials; VALUE is a literal or `%(key)s` from the target.
    Generic {
        /// The credential compared.
        key: String,
        /// What it is compared with.
        value: Operand,
    },
    /// `not X`.
    Not(Box<Check>),
    /// `X and Y and ...`.
    And(Vec<Check>),
    /// `X or Y or ...`.
    Or(Vec<Check>),
}

/// The right-hand side of a generic check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Operand {
    /// `%(key)s`: a value of the target.
    Target(String),
    /// A literal (`True`, `False`, a quoted or bare string).
    Literal(String),
}

/// A check string that could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError(pub String);

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl Check {
    /// Parse a check string.
    pub fn parse(text: &str) -> Result<Check, ParseError> {
        let tokens = tokenize(text);
        if tokens.is_empty() {
            return Ok(Check::Always);
        }
        let mut parser = Parser { tokens, pos: 0 };
        let check = parser.or_expr()?;
        match parser.tokens.get(parser.pos) {
            None => Ok(check),
            Some(t) => Err(ParseError(format!("unexpected {t:?} in {text:?}"))),
        }
    }

    /// The rules this check refers to.
    pub fn referenced_rules(&self) -> Vec<&str> {
        let mut out = Vec::new();
        self.collect_rules(&mut out);
        out
    }

    fn collect_rules<'a>(&'a self, out: &mut Vec<&'a str>) {
        match self {
            Check::Rule(name) => out.push(name),
            Check::Not(inner) => inner.collect_rules(out),
            Check::And(all) | Check::Or(all) => all.iter().for_each(|c| c.collect_rules(out)),
            _ => {}
        }
    }

    /// Evaluate; `rule:` checks are resolved with `lookup` (an unknown rule fails).
    pub fn evaluate<'r>(
        &self,
        creds: &Credentials,
        target: Target<'_>,
        lookup: &dyn Fn(&str) -> Option<&'r Check>,
    ) -> bool {
        match self {
            Check::Always => true,
            Check::Never => false,
            Check::Rule(name) => lookup(name).is_some_and(|c| c.evaluate(creds, target, lookup)),
            Check::Role(role) => creds.roles.iter().any(|r| r.eq_ignore_ascii_case(role)),
            Check::Generic { key, value } => {
                let expected = match value {
                    Operand::Literal(v) => Some(v.as_str()),
                    Operand::Target(k) if k == "project_id" => target.project_id,
                    Operand::Target(_) => None,
                };
                let Some(expected) = expected else {
                    return false;
                };
                match key.as_str() {
                    "is_admin" => {
                        let wanted = expected.eq_ignore_ascii_case("true");
                        (expected.eq_ignore_ascii_case("true")
                            || expected.eq_ignore_ascii_case("false"))
                            && creds.is_admin == wanted
                    }
                    "project_id" | "tenant" | "tenant_id" => {
                        creds.project_id.as_deref() == Some(expected)
                    }
                    "user_id" => creds.user_id.as_deref() == Some(expected),
                    _ => false,
                }
            }
            Check::Not(inner) => !inner.evaluate(creds, target, lookup),
            Check::And(all) => all.iter().all(|c| c.evaluate(creds, target, lookup)),
            Check::Or(all) => all.iter().any(|c| c.evaluate(creds, target, lookup)),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    Open,
    Close,
    And,
    Or,
    Not,
    Atom(String),
}

fn tokenize(text: &str) -> Vec<Token> {
    let mut tokens = Vec::new();
    for word in text.split_whitespace() {
        let mut word = word;
        let mut closes = 0;
        while let Some(rest) = word.strip_prefix('(') {
            tokens.push(Token::Open);
            word = rest;
        }
        while let Some(rest) = word.strip_suffix(')') {
            closes += 1;
            word = rest;
        }
        if !word.is_empty() {
            tokens.push(match word {
                "and" => Token::And,
                "or" => Token::Or,
                "not" => Token::Not,
                other => Token::Atom(other.to_string()),
            });
        }
        tokens.extend(std::iter::repeat_n(Token::Close, closes));
    }
    tokens
}

struct Parser {
    tokens: Vec<Token>,
    pos: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.pos)
    }

    fn or_expr(&mut self) -> Result<Check, ParseError> {
        let mut all = vec![self.and_expr()?];
        while self.peek() == Some(&Token::Or) {
            self.pos += 1;
            all.push(self.and_expr()?);
        }
        Ok(if all.len() == 1 {
            all.remove(0)
        } else {
            Check::Or(all)
        })
    }

    fn and_expr(&mut self) -> Result<Check, ParseError> {
        let mut all = vec![self.not_expr()?];
        while self.peek() == Some(&Token::And) {
            self.pos += 1;
            all.push(self.not_expr()?);
        }
        Ok(if all.len() == 1 {
            all.remove(0)
        } else {
            Check::And(all)
        })
    }

    fn not_expr(&mut self) -> Result<Check, ParseError> {
        if self.peek() == Some(&Token::Not) {
            self.pos += 1;
            return Ok(Check::Not(Box::new(self.not_expr()?)));
        }
        self.atom()
    }

    fn atom(&mut self) -> Result<Check, ParseError> {
        let token = self.tokens.get(self.pos).cloned();
        self.pos += 1;
        match token {
            Some(Token::Open) => {
                let inner = self.or_expr()?;
                match self.tokens.get(self.pos) {
                    Some(Token::Close) => {
                        self.pos += 1;
                        Ok(inner)
                    }
                    _ => Err(ParseError("unbalanced parentheses".into())),
                }
            }
            Some(Token::Atom(atom)) => parse_atom(&atom),
            Some(other) => Err(ParseError(format!("unexpected {other:?}"))),
            None => Err(ParseError("check string ends too early".into())),
        }
    }
}

fn parse_atom(atom: &str) -> Result<Check, ParseError> {
    match atom {
        "@" => return Ok(Check::Always),
        "!" => return Ok(Check::Never),
        _ => {}
    }
    let Some((kind, value)) = atom.split_once(':') else {
        return Err(ParseError(format!("{atom:?} is not KIND:VALUE")));
    };
    if value.is_empty() {
        return Err(ParseError(format!("{atom:?} has no value")));
    }
    Ok(match kind {
        "rule" => Check::Rule(value.to_string()),
        "role" => Check::Role(value.to_string()),
        "http" | "https" => {
            return Err(ParseError(format!(
                "{atom:?}: remote (http) checks are not supported"
            )));
        }
        key => {
            let value =
                if let Some(inner) = value.strip_prefix("%(").and_then(|v| v.strip_suffix(")s")) {
                    Operand::Target(inner.to_string())
                } else {
                    let unquoted = value
                        .strip_prefix('\'')
                        .and_then(|v| v.strip_suffix('\''))
                        .or_else(|| value.strip_prefix('"').and_then(|v| v.strip_suffix('"')))
                        .unwrap_or(value);
                    Operand::Literal(unquoted.to_string())
                };
            Check::Generic {
                key: key.to_string(),
                value,
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn creds(project: &str, roles: &[&str]) -> Credentials {
        Credentials {
            project_id: Some(project.into()),
            user_id: Some("u1".into()),
            roles: roles.iter().map(|r| r.to_string()).collect(),
            is_admin: false,
        }
    }

    fn eval(check: &str, c: &Credentials, project: Option<&str>) -> bool {
        Check::parse(check).unwrap().evaluate(
            c,
            Target {
                project_id: project,
            },
            &|_| None,
        )
    }

    #[test]
    fn roles_and_owner() {
        let member = creds("p1", &["Member"]);
        let rule = "role:member and project_id:%(project_id)s";
        assert!(eval(rule, &member, Some("p1")));
        assert!(!eval(rule, &member, Some("p2")));
        assert!(!eval(rule, &member, None));
        assert!(!eval(rule, &creds("p1", &["reader"]), Some("p1")));
    }

    #[test]
    fn precedence_and_parentheses() {
        let c = creds("p1", &["a"]);
        // and binds tighter than or
        assert!(eval("role:a or role:b and role:c", &c, None));
        assert!(!eval("(role:a or role:b) and role:c", &c, None));
        assert!(eval("not role:b", &c, None));
        assert!(!eval("not (role:a)", &c, None));
        assert!(eval("((role:a))", &c, None));
        assert!(eval("", &c, None));
        assert!(eval("@", &c, None));
        assert!(!eval("!", &c, None));
    }

    #[test]
    fn is_admin_literal() {
        let mut c = creds("p1", &[]);
        assert!(!eval("is_admin:True", &c, None));
        c.is_admin = true;
        assert!(eval("is_admin:True", &c, None));
        assert!(!eval("is_admin:False", &c, None));
    }

    #[test]
    fn rules_resolve_and_unknown_rules_fail() {
        let inner = Check::parse("role:x").unwrap();
        let outer = Check::parse("rule:inner or rule:missing").unwrap();
        let lookup = |name: &str| (name == "inner").then_some(&inner);
        assert!(outer.evaluate(&creds("p", &["x"]), Target::default(), &lookup));
        assert!(!outer.evaluate(&creds("p", &["y"]), Target::default(), &lookup));
        assert_eq!(outer.referenced_rules(), vec!["inner", "missing"]);
    }

    #[test]
    fn malformed_strings_are_errors() {
        for bad in [
            "role:a and",
            "(role:a",
            "role:a)",
            "member",
            "role:",
            "http://x",
            "or role:a",
        ] {
            assert!(Check::parse(bad).is_err(), "{bad:?} should not parse");
        }
    }
}
