//! Request parameters as Docker clients send them: query flags ("1", "true"), the
//! `filters` JSON, and JSON bodies checked against the model they must fit.

use axum::body::Bytes;
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;

use super::error::{ApiError, ApiResult};

/// Query parameters, with repeated keys kept (`names=a&names=b`).
#[derive(Debug, Default, Clone)]
pub struct Query(pub Vec<(String, String)>);

impl Query {
    pub fn parse(raw: Option<&str>) -> Query {
        let Some(raw) = raw else {
            return Query::default();
        };
        Query(
            url_pairs(raw)
                .into_iter()
                .filter(|(k, _)| !k.is_empty())
                .collect(),
        )
    }

    pub fn get(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .rev()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    pub fn all(&self, key: &str) -> Vec<String> {
        self.0
            .iter()
            .filter(|(k, _)| k == key)
            .map(|(_, v)| v.clone())
            .collect()
    }

    /// Docker's boolean query values: absent, "", "0", "false" and "no" are false.
    pub fn flag(&self, key: &str) -> bool {
        self.get(key).is_some_and(|v| {
            !matches!(
                v.to_ascii_lowercase().as_str(),
                "" | "0" | "false" | "no" | "off"
            )
        })
    }

    /// Like [`Query::flag`], with a default when the key is absent.
    pub fn flag_or(&self, key: &str, default: bool) -> bool {
        if self.get(key).is_some() {
            self.flag(key)
        } else {
            default
        }
    }

    pub fn int(&self, key: &str) -> ApiResult<Option<i64>> {
        match self.get(key) {
            None | Some("") => Ok(None),
            Some(v) => v.parse::<i64>().map(Some).map_err(|_| {
                ApiError::bad_request(format!("invalid value for {key}: {v:?} is not an integer"))
            }),
        }
    }

    /// The `filters` parameter as (key, value) pairs.
    pub fn filters(&self) -> ApiResult<Vec<(String, String)>> {
        match self.get("filters") {
            None | Some("") => Ok(Vec::new()),
            Some(raw) => parse_filters(raw),
        }
    }
}

fn hex_val(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// Percent-decoding for `application/x-www-form-urlencoded` (`+` is a space).
fn url_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < b.len() => match (hex_val(b[i + 1]), hex_val(b[i + 2])) {
                (Some(h), Some(l)) => {
                    out.push(h * 16 + l);
                    i += 2;
                }
                _ => out.push(b'%'),
            },
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn url_pairs(raw: &str) -> Vec<(String, String)> {
    raw.split('&')
        .filter(|p| !p.is_empty())
        .map(|p| match p.split_once('=') {
            Some((k, v)) => (url_decode(k), url_decode(v)),
            None => (url_decode(p), String::new()),
        })
        .collect()
}

/// Docker's filters JSON: `{"key": ["v1", "v2"]}`, or the older `{"key": {"v": true}}`.
pub fn parse_filters(raw: &str) -> ApiResult<Vec<(String, String)>> {
    let v: Value = serde_json::from_str(raw)
        .map_err(|e| ApiError::bad_request(format!("invalid filter: {e}")))?;
    let Value::Object(map) = v else {
        return Err(ApiError::bad_request(
            "invalid filter: expected a JSON object of filter names to values",
        ));
    };
    let mut out = Vec::new();
    for (k, vals) in map {
        match vals {
            Value::Array(a) => {
                for x in a {
                    match x {
                        Value::String(s) => out.push((k.clone(), s)),
                        other => {
                            return Err(ApiError::bad_request(format!(
                                "invalid filter '{k}': {other} is not a string"
                            )))
                        }
                    }
                }
            }
            Value::Object(m) => {
                for (x, on) in m {
                    if on == Value::Bool(true) {
                        out.push((k.clone(), x));
                    }
                }
            }
            other => {
                return Err(ApiError::bad_request(format!(
                    "invalid filter '{k}': {other} is not a list of values"
                )))
            }
        }
    }
    Ok(out)
}

/// Rejects filter keys other than `allowed`, as dockerd does ("invalid filter 'x'").
pub fn check_filter_keys(filters: &[(String, String)], allowed: &[&str]) -> ApiResult<()> {
    for (k, _) in filters {
        if !allowed.contains(&k.as_str()) {
            return Err(ApiError::bad_request(format!("invalid filter '{k}'")));
        }
    }
    Ok(())
}

/// Keys of `input` that did not survive parsing into the model (`parsed`): fields the
/// model does not have. Nulls are skipped (they mean "unset" either way).
fn unknown_fields(input: &Value, parsed: &Value, at: &str, out: &mut Vec<String>) {
    let (Value::Object(i), Value::Object(p)) = (input, parsed) else {
        return;
    };
    for (k, v) in i {
        if v.is_null() {
            continue;
        }
        let path = if at.is_empty() {
            k.clone()
        } else {
            format!("{at}.{k}")
        };
        match p.get(k) {
            None => out.push(path),
            Some(pv) => unknown_fields(v, pv, &path, out),
        }
    }
}

/// A JSON body as model `T`: malformed JSON, wrong types and fields `T` does not know
/// are a 400 naming the problem, never ignored silently.
pub fn json_body<T: DeserializeOwned + Serialize>(body: &Bytes, what: &str) -> ApiResult<T> {
    json_body_legacy(body, what, &[])
}

/// [`json_body`], ignoring top-level `legacy` fields: ones real clients still send
/// although the API dropped them (the docker CLI's exec `Detach`).
pub fn json_body_legacy<T: DeserializeOwned + Serialize>(
    body: &Bytes,
    what: &str,
    legacy: &[&str],
) -> ApiResult<T> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return serde_json::from_value(Value::Object(Default::default()))
            .map_err(|e| ApiError::bad_request(format!("{what}: empty request body: {e}")));
    }
    let mut input: Value = serde_json::from_slice(body)
        .map_err(|e| ApiError::bad_request(format!("{what}: malformed JSON: {e}")))?;
    if let Value::Object(o) = &mut input {
        for k in legacy {
            o.remove(*k);
        }
    }
    let parsed: T = serde_json::from_value(input.clone())
        .map_err(|e| ApiError::bad_request(format!("{what}: invalid request body: {e}")))?;
    let back = serde_json::to_value(&parsed)
        .map_err(|e| ApiError::internal(format!("{what}: encoding the request: {e}")))?;
    let mut unknown = Vec::new();
    unknown_fields(&input, &back, "", &mut unknown);
    if !unknown.is_empty() {
        return Err(ApiError::bad_request(format!(
            "{what}: unknown field{} {}",
            if unknown.len() == 1 { "" } else { "s" },
            unknown
                .iter()
                .map(|u| format!("{u:?}"))
                .collect::<Vec<_>>()
                .join(", ")
        )));
    }
    Ok(parsed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_flags_and_repeats() {
        let q = Query::parse(Some("all=1&names=a%3Ab&names=c&x=false&sp=a+b"));
        assert!(q.flag("all"));
        assert!(!q.flag("x"));
        assert!(!q.flag("missing"));
        assert_eq!(q.all("names"), vec!["a:b", "c"]);
        assert_eq!(q.get("sp"), Some("a b"));
    }

    #[test]
    fn filters_both_shapes() {
        let f = parse_filters(r#"{"status":["exited","created"],"label":{"a=b":true}}"#).unwrap();
        assert!(f.contains(&("status".into(), "exited".into())));
        assert!(f.contains(&("label".into(), "a=b".into())));
        assert!(parse_filters("[1]").is_err());
        assert!(parse_filters("{").is_err());
    }

    #[test]
    fn unknown_fields_are_named() {
        let body = Bytes::from_static(br#"{"Name":"v","Bogus":1}"#);
        let e =
            json_body::<bollard::models::VolumeCreateRequest>(&body, "volume create").unwrap_err();
        assert_eq!(e.status, axum::http::StatusCode::BAD_REQUEST);
        assert!(e.message.contains("\"Bogus\""), "{}", e.message);
        let ok = Bytes::from_static(br#"{"Name":"v","Labels":{"a":"b"},"Driver":null}"#);
        let v: bollard::models::VolumeCreateRequest = json_body(&ok, "volume create").unwrap();
        assert_eq!(v.name.as_deref(), Some("v"));
    }
}
