//! One registry host: picks https or http (Docker's rules), trusts certs.d CAs, and
//! authenticates on demand. A 401 answer's `WWW-Authenticate` challenge says how:
//! `Basic` (credentials on every request) or `Bearer` (a token from the realm, per
//! scope, cached for the client's lifetime).

use std::collections::HashMap;
use std::sync::Mutex;

use base64::Engine as _;
use ureq::http::Response;
use ureq::Body;

use super::errors;
use super::settings::Settings;
use super::Credentials;
use crate::engine::error::{Error, Result};

pub type Reply = Response<Body>;

/// A parsed `WWW-Authenticate` header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Challenge {
    Basic,
    Bearer {
        realm: String,
        service: Option<String>,
        scope: Option<String>,
    },
}

pub fn parse_challenge(header: &str) -> Option<Challenge> {
    let (scheme, rest) = header.trim().split_once(' ').unwrap_or((header.trim(), ""));
    if scheme.eq_ignore_ascii_case("basic") {
        return Some(Challenge::Basic);
    }
    if !scheme.eq_ignore_ascii_case("bearer") {
        return None;
    }
    let mut params = HashMap::new();
    let mut s = rest.trim();
    while !s.is_empty() {
        let Some((k, v)) = s.split_once('=') else {
            break;
        };
        let k = k.trim().trim_start_matches(',').trim().to_ascii_lowercase();
        let v = v.trim_start();
        let (value, tail) = if let Some(q) = v.strip_prefix('"') {
            match q.find('"') {
                Some(end) => (&q[..end], &q[end + 1..]),
                None => (q, ""),
            }
        } else {
            match v.find(',') {
                Some(end) => (&v[..end], &v[end..]),
                None => (v, ""),
            }
        };
        params.insert(k, value.to_string());
        s = tail.trim_start_matches(|c: char| c == ',' || c.is_whitespace());
    }
    Some(Challenge::Bearer {
        realm: params.remove("realm")?,
        service: params.remove("service"),
        scope: params.remove("scope"),
    })
}

pub struct Client {
    agent: ureq::Agent,
    /// "https://host" or "http://host"
    pub base: String,
    pub host: String,
    creds: Option<Credentials>,
    /// Authorization header per scope set, once a challenge was answered.
    auth: Mutex<HashMap<String, String>>,
    timeout_secs: u64,
}

fn agent(
    settings: &Settings,
    roots: Option<Vec<ureq::tls::Certificate<'static>>>,
    verify: bool,
) -> ureq::Agent {
    let mut tls = ureq::tls::TlsConfig::builder().disable_verification(!verify);
    if let Some(roots) = roots {
        tls = tls.root_certs(ureq::tls::RootCerts::new_with_certs(&roots));
    }
    let t = Some(settings.timeout);
    ureq::Agent::new_with_config(
        ureq::Agent::config_builder()
            .http_status_as_error(false)
            .user_agent(format!("berth/{}", env!("CARGO_PKG_VERSION")))
            .tls_config(tls.build())
            .timeout_connect(t)
            .timeout_recv_response(t)
            .timeout_per_read(t)
            .timeout_per_write(t)
            .max_idle_connections_per_host(8)
            .build(),
    )
}

/// The system's CA bundle plus `extra`: Docker adds certs.d CAs to the system pool.
fn load_roots(extra: &[std::path::PathBuf]) -> Result<Vec<ureq::tls::Certificate<'static>>> {
    let mut out = Vec::new();
    let mut files: Vec<std::path::PathBuf> = vec!["/etc/ssl/certs/ca-certificates.crt".into()];
    files.extend(extra.iter().cloned());
    for (i, f) in files.iter().enumerate() {
        let pem = match std::fs::read(f) {
            Ok(p) => p,
            Err(_) if i == 0 => continue,
            Err(e) => {
                return Err(Error::io(
                    format!("reading CA certificate {}", f.display()),
                    e,
                ))
            }
        };
        for item in ureq::tls::parse_pem(&pem) {
            match item {
                Ok(ureq::tls::PemItem::Certificate(c)) => out.push(c),
                Ok(_) => {}
                Err(e) => {
                    return Err(Error::invalid(format!(
                        "invalid CA certificate {}: {e}",
                        f.display()
                    )))
                }
            }
        }
    }
    Ok(out)
}

impl Client {
    /// Connects to `host` (as written in references, host[:port]) and pings `/v2/`.
    pub fn connect(settings: &Settings, host: &str, creds: Option<Credentials>) -> Result<Client> {
        let cas = settings.ca_files(host);
        let make = |base: String, agent: ureq::Agent| Client {
            agent,
            base,
            host: host.to_string(),
            creds: creds.clone(),
            auth: Mutex::new(HashMap::new()),
            timeout_secs: settings.timeout.as_secs(),
        };
        if !cas.is_empty() {
            let c = make(
                format!("https://{host}"),
                agent(settings, Some(load_roots(&cas)?), true),
            );
            c.ping()?;
            return Ok(c);
        }
        if settings.is_insecure(host) {
            // Docker's order for insecure registries: TLS without verification, then HTTP.
            let tls = make(format!("https://{host}"), agent(settings, None, false));
            match tls.ping() {
                Ok(()) => return Ok(tls),
                Err(_) => {
                    let plain = make(format!("http://{host}"), agent(settings, None, true));
                    plain.ping()?;
                    return Ok(plain);
                }
            }
        }
        let roots = load_roots(&[])?;
        let roots = if roots.is_empty() { None } else { Some(roots) };
        let c = make(format!("https://{host}"), agent(settings, roots, true));
        c.ping()?;
        Ok(c)
    }

    fn ping(&self) -> Result<()> {
        let url = format!("{}/v2/", self.base);
        let resp = self
            .agent
            .get(&url)
            .call()
            .map_err(|e| self.transport("GET", &url, e))?;
        match resp.status().as_u16() {
            200..=299 | 401 | 403 => Ok(()),
            s => Err(errors::status(s, &[], &format!("GET \"{url}\""))),
        }
    }

    pub fn transport(&self, method: &str, url: &str, e: ureq::Error) -> Error {
        errors::transport(method, url, &self.host, self.timeout_secs, e)
    }

    pub fn agent(&self) -> &ureq::Agent {
        &self.agent
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Absolute URL for an upload `Location` (registries may answer with a path).
    pub fn absolute(&self, location: &str) -> String {
        if location.starts_with("http://") || location.starts_with("https://") {
            location.to_string()
        } else {
            format!("{}{location}", self.base)
        }
    }

    /// Runs `send` (which builds and sends one request with the given Authorization
    /// header) and, on a 401, answers the challenge and sends again once.
    pub fn execute(
        &self,
        method: &str,
        url: &str,
        scopes: &[String],
        send: &mut dyn FnMut(Option<&str>) -> std::result::Result<Reply, ureq::Error>,
    ) -> Result<Reply> {
        let key = scopes.join(" ");
        let cached = self.cached(&key);
        let resp = send(cached.as_deref()).map_err(|e| self.transport(method, url, e))?;
        if resp.status().as_u16() != 401 {
            return Ok(resp);
        }
        let challenge = resp
            .headers()
            .get("www-authenticate")
            .and_then(|v| v.to_str().ok())
            .and_then(parse_challenge);
        let Some(challenge) = challenge else {
            return Ok(resp);
        };
        let header = self.answer(&challenge, scopes, method, url)?;
        if let Ok(mut m) = self.auth.lock() {
            m.insert(key, header.clone());
        }
        send(Some(&header)).map_err(|e| self.transport(method, url, e))
    }

    fn cached(&self, key: &str) -> Option<String> {
        self.auth.lock().ok().and_then(|m| m.get(key).cloned())
    }

    fn basic_header(&self) -> Option<String> {
        self.creds.as_ref().map(|c| {
            let raw = format!("{}:{}", c.username, c.password);
            format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD.encode(raw)
            )
        })
    }

    /// An Authorization header for `challenge`.
    fn answer(
        &self,
        challenge: &Challenge,
        scopes: &[String],
        method: &str,
        url: &str,
    ) -> Result<String> {
        match challenge {
            Challenge::Basic => self.basic_header().ok_or_else(|| {
                Error::Other(format!(
                    "{} \"{url}\": no basic auth credentials (run: berth login {})",
                    errors::go_method(method),
                    self.host
                ))
            }),
            Challenge::Bearer {
                realm,
                service,
                scope,
            } => {
                let mut req = self.agent.get(realm);
                if let Some(s) = service {
                    req = req.query("service", s);
                }
                let mut any_scope = false;
                for s in scopes {
                    req = req.query("scope", s);
                    any_scope = true;
                }
                if !any_scope {
                    if let Some(s) = scope {
                        req = req.query("scope", s);
                    }
                }
                if let Some(b) = self.basic_header() {
                    req = req.header("Authorization", &b);
                }
                let mut resp = req.call().map_err(|e| self.transport("GET", realm, e))?;
                let status = resp.status().as_u16();
                let body = resp
                    .body_mut()
                    .with_config()
                    .limit(1 << 20)
                    .read_to_vec()
                    .map_err(|e| self.transport("GET", realm, e))?;
                if status == 401 || status == 403 {
                    return Err(Error::Other(format!(
                        "Get \"{realm}\": unauthorized: incorrect username or password"
                    )));
                }
                if !(200..300).contains(&status) {
                    return Err(errors::status(status, &body, &format!("Get \"{realm}\"")));
                }
                let v: serde_json::Value = serde_json::from_slice(&body).map_err(|e| {
                    Error::Other(format!("the token server {realm} sent invalid JSON: {e}"))
                })?;
                let token = v
                    .get("token")
                    .or_else(|| v.get("access_token"))
                    .and_then(|t| t.as_str())
                    .ok_or_else(|| {
                        Error::Other(format!("the token server {realm} sent no token"))
                    })?;
                Ok(format!("Bearer {token}"))
            }
        }
    }

    /// Checks `creds` against the registry (`login`): the ping's challenge answered
    /// with them must give a 2xx on `/v2/`.
    pub fn verify_login(&self) -> Result<()> {
        let url = self.url("/v2/");
        let resp = self.execute("GET", &url, &[], &mut |auth| {
            let mut r = self.agent.get(&url);
            if let Some(a) = auth {
                r = r.header("Authorization", a);
            }
            r.call()
        })?;
        let status = resp.status();
        if status.is_success() {
            Ok(())
        } else {
            Err(Error::Other(format!(
                "login attempt to {url} failed with status: {} {}",
                status.as_u16(),
                status.canonical_reason().unwrap_or("")
            )))
        }
    }
}

/// Reads a small response body (manifests, errors), capped so a hostile registry cannot
/// exhaust memory.
pub fn read_small(resp: &mut Reply, limit: u64) -> std::result::Result<Vec<u8>, ureq::Error> {
    resp.body_mut().with_config().limit(limit).read_to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn challenges() {
        assert_eq!(
            parse_challenge("Basic realm=\"Registry Realm\""),
            Some(Challenge::Basic)
        );
        assert_eq!(
            parse_challenge(
                "Bearer realm=\"https://auth.docker.io/token\",service=\"registry.docker.io\",scope=\"repository:library/busybox:pull\""
            ),
            Some(Challenge::Bearer {
                realm: "https://auth.docker.io/token".into(),
                service: Some("registry.docker.io".into()),
                scope: Some("repository:library/busybox:pull".into()),
            })
        );
        assert_eq!(
            parse_challenge("Bearer realm=https://t.example/token, service=reg"),
            Some(Challenge::Bearer {
                realm: "https://t.example/token".into(),
                service: Some("reg".into()),
                scope: None,
            })
        );
        assert_eq!(parse_challenge("Negotiate"), None);
    }
}
