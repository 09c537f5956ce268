//! The secure API edge against the real binary: the token service (RFC 6749 §4.4, RFC 9068),
//! the authorizer's refusals (RFC 8725's attacks), RBAC on every route with every role, key
//! rotation with overlap, the bootstrap admin and the CLI's credentials, API calls in the
//! audit chain, secrets kept out of logs and `rampart config`.
//!
//! Foreign issuers here are real HTTP servers on loopback: [`Httpd`] serves a test issuer's
//! discovery document and JWKS (its ES256 key signs whatever claims a case needs) and plays the
//! attacker's key server for `jku`/`x5u`, counting every request it gets. The OpenID-certified
//! provider (`oidc-provider` on Node.js) is in `tests/oidc_issuer.rs`.

mod common;

use std::collections::{BTreeSet, HashMap};
use std::io::Read as _;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use futures::StreamExt as _;
use ring::rand::SystemRandom;
use ring::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair as _};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

use common::{NodeProc, free_port, start_node, test_secret, token_for};

fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// A minimal HTTP/1.1 server on 127.0.0.1 answering GETs with fixed JSON bodies per path, and
/// counting every request per path (unknown paths get 404 and are counted too).
struct Httpd {
    base: String,
    bodies: Arc<Mutex<HashMap<String, String>>>,
    hits: Arc<Mutex<HashMap<String, usize>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Httpd {
    async fn start() -> Httpd {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let bodies: Arc<Mutex<HashMap<String, String>>> = Arc::default();
        let hits: Arc<Mutex<HashMap<String, usize>>> = Arc::default();
        let (b, h) = (bodies.clone(), hits.clone());
        let task = tokio::spawn(async move {
            while let Ok((mut sock, _)) = listener.accept().await {
                let (b, h) = (b.clone(), h.clone());
                tokio::spawn(async move {
                    let mut buf = Vec::new();
                    let mut chunk = [0u8; 2048];
                    while !buf.windows(4).any(|w| w == b"\r\n\r\n") && buf.len() < 65536 {
                        match sock.read(&mut chunk).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => buf.extend_from_slice(&chunk[..n]),
                        }
                    }
                    let head = String::from_utf8_lossy(&buf);
                    let target = head.split_whitespace().nth(1).unwrap_or("/");
                    let path = target.split('?').next().unwrap_or("/").to_owned();
                    *h.lock().unwrap().entry(path.clone()).or_default() += 1;
                    let body = b.lock().unwrap().get(&path).cloned();
                    let (status, body) = match body {
                        Some(body) => ("200 OK", body),
                        None => ("404 Not Found", "{}".to_owned()),
                    };
                    let resp = format!(
                        "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                        body.len()
                    );
                    let _ = sock.write_all(resp.as_bytes()).await;
                    let _ = sock.shutdown().await;
                });
            }
        });
        Httpd {
            base,
            bodies,
            hits,
            task,
        }
    }

    fn set(&self, path: &str, body: &Value) {
        self.bodies
            .lock()
            .unwrap()
            .insert(path.to_owned(), body.to_string());
    }

    fn hits(&self, path: &str) -> usize {
        self.hits.lock().unwrap().get(path).copied().unwrap_or(0)
    }

    fn total(&self) -> usize {
        self.hits.lock().unwrap().values().sum()
    }
}

impl Drop for Httpd {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// An ES256 key that signs any header and claims (RFC 7515 compact serialization).
struct Signer {
    kp: EcdsaKeyPair,
    kid: String,
}

impl Signer {
    fn new(kid: &str) -> Signer {
        let rng = SystemRandom::new();
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng).unwrap();
        let kp = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref(), &rng)
            .unwrap();
        Signer {
            kp,
            kid: kid.to_owned(),
        }
    }

    /// The public key as a JWK (RFC 7518 §6.2.1: uncompressed point = 0x04 ‖ x ‖ y).
    fn jwk(&self) -> Value {
        let point = self.kp.public_key().as_ref();
        json!({
            "kty": "EC", "crv": "P-256", "alg": "ES256", "use": "sig", "kid": self.kid,
            "x": b64(&point[1..33]), "y": b64(&point[33..65]),
        })
    }

    fn sign(&self, header: &Value, claims: &Value) -> String {
        let input = format!(
            "{}.{}",
            b64(header.to_string().as_bytes()),
            b64(claims.to_string().as_bytes())
        );
        let sig = self
            .kp
            .sign(&SystemRandom::new(), input.as_bytes())
            .unwrap();
        format!("{input}.{}", b64(sig.as_ref()))
    }

    /// A token with this key's `kid` and `alg`.
    fn token(&self, claims: &Value) -> String {
        self.sign(
            &json!({"alg": "ES256", "typ": "JWT", "kid": self.kid}),
            claims,
        )
    }
}

/// An HMAC-SHA256 JWS over `header.claims` with `key` (the "public key as HMAC secret" attack,
/// RFC 8725 §2.1).
fn hs256(header: &Value, claims: &Value, key: &[u8]) -> String {
    let input = format!(
        "{}.{}",
        b64(header.to_string().as_bytes()),
        b64(claims.to_string().as_bytes())
    );
    let tag = ring::hmac::sign(
        &ring::hmac::Key::new(ring::hmac::HMAC_SHA256, key),
        input.as_bytes(),
    );
    format!("{input}.{}", b64(tag.as_ref()))
}

/// A test issuer: its discovery document and JWKS served by an [`Httpd`].
struct TestIssuer {
    httpd: Httpd,
    signer: Signer,
}

impl TestIssuer {
    async fn start() -> TestIssuer {
        let httpd = Httpd::start().await;
        let signer = Signer::new("issuer-key-1");
        httpd.set(
            "/.well-known/openid-configuration",
            &json!({"issuer": httpd.base, "jwks_uri": format!("{}/jwks", httpd.base)}),
        );
        httpd.set("/jwks", &json!({"keys": [signer.jwk()]}));
        TestIssuer { httpd, signer }
    }

    fn iss(&self) -> &str {
        &self.httpd.base
    }

    /// Claims valid for this issuer: `aud` rampart, 5 min, role `viewer`.
    fn claims(&self) -> Value {
        let t = now();
        json!({"iss": self.iss(), "sub": "svc-ci", "aud": "rampart", "iat": t, "exp": t + 300,
               "jti": format!("j-{}", rand_suffix()), "roles": ["viewer"]})
    }

    /// The `[auth.issuers]` entry trusting this issuer (ES256 only).
    fn env(&self) -> String {
        format!(r#"[{{issuer="{}", algorithms=["ES256"]}}]"#, self.iss())
    }
}

fn rand_suffix() -> String {
    let mut b = [0u8; 8];
    ring::rand::SecureRandom::fill(&SystemRandom::new(), &mut b).unwrap();
    b64(&b)
}

/// `GET url` with `Authorization: <authorization>` (none when `None`): status, headers, body.
async fn call(url: &str, authorization: Option<&str>) -> (u16, reqwest::header::HeaderMap, Value) {
    let mut rb = reqwest::Client::new().get(url);
    if let Some(a) = authorization {
        rb = rb.header("Authorization", a);
    }
    let r = rb.send().await.unwrap();
    let status = r.status().as_u16();
    let headers = r.headers().clone();
    (status, headers, r.json().await.unwrap_or(Value::Null))
}

async fn bearer_status(url: &str, token: &str) -> u16 {
    call(url, Some(&format!("Bearer {token}"))).await.0
}

/// Asserts a 401 per RFC 6750 §3 and RFC 9457 for `authorization`.
async fn assert_refused(node: &NodeProc, authorization: &str, case: &str) {
    let (status, headers, body) = call(&node.api("/assets"), Some(authorization)).await;
    assert_eq!(status, 401, "{case}: {body}");
    let www = headers
        .get("www-authenticate")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    assert!(
        www.starts_with("Bearer") && www.contains("error=\"invalid_token\""),
        "{case}: WWW-Authenticate {www:?}"
    );
    assert_eq!(body["status"], 401, "{case}: problem+json body {body}");
}

/// `POST {base}/oauth2/token` by client credentials with Basic authentication.
async fn request_token(base: &str, client_id: &str, secret: &str) -> reqwest::Response {
    reqwest::Client::new()
        .post(format!("{base}/oauth2/token"))
        .basic_auth(client_id, Some(secret))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap()
}

/// [`request_token`], asserting 200; the access token.
async fn issued_token(base: &str, client_id: &str, secret: &str) -> String {
    let r = request_token(base, client_id, secret).await;
    assert_eq!(r.status(), 200, "token for {client_id}");
    r.json::<Value>().await.unwrap()["access_token"]
        .as_str()
        .unwrap()
        .to_owned()
}

fn jwt_part(token: &str, i: usize) -> Value {
    let seg = token.split('.').nth(i).unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(seg).unwrap()).unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn token_endpoint_follows_rfc6749_and_rfc9068() {
    let node = start_node(&[]).await;
    let http = reqwest::Client::new();
    let endpoint = format!("{}/oauth2/token", node.base);

    // client_secret_basic.
    let r = http
        .post(&endpoint)
        .basic_auth("test-viewer", Some(test_secret("viewer")))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["cache-control"], "no-store");
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["token_type"], "Bearer");
    assert!(body.get("refresh_token").is_none(), "{body}");
    let expires_in = body["expires_in"].as_u64().unwrap();
    assert_eq!(expires_in, 3600, "the tests' nodes issue 1 h tokens");
    let token = body["access_token"].as_str().unwrap();
    let header = jwt_part(token, 0);
    let claims = jwt_part(token, 1);
    assert_eq!(header["typ"], "at+jwt", "RFC 9068 §2.1: {header}");
    assert_eq!(header["alg"], "ES256");
    assert!(header["kid"].is_string());
    assert_eq!(claims["iss"], node.base);
    assert_eq!(claims["sub"], "test-viewer");
    assert_eq!(claims["client_id"], "test-viewer");
    assert_eq!(claims["aud"], "rampart");
    assert_eq!(claims["roles"], json!(["viewer"]));
    assert_eq!(claims["scope"], "viewer");
    assert!(claims["jti"].is_string());
    assert_eq!(
        claims["exp"].as_u64().unwrap() - claims["iat"].as_u64().unwrap(),
        expires_in
    );
    assert_eq!(bearer_status(&node.api("/assets"), token).await, 200);

    // client_secret_post, and a scope within the client's roles.
    let r = http
        .post(&endpoint)
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", "test-analyst"),
            ("client_secret", &test_secret("analyst")),
            ("scope", "analyst"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let body: Value = r.json().await.unwrap();
    assert_eq!(
        jwt_part(body["access_token"].as_str().unwrap(), 1)["roles"],
        json!(["analyst"])
    );

    // Errors of RFC 6749 §5.2.
    let cases: Vec<(&str, reqwest::RequestBuilder, u16, &str)> = vec![
        (
            "wrong secret",
            http.post(&endpoint)
                .basic_auth("test-viewer", Some("rps_wrong"))
                .form(&[("grant_type", "client_credentials")]),
            401,
            "invalid_client",
        ),
        (
            "unknown client",
            http.post(&endpoint)
                .basic_auth("nobody", Some("x"))
                .form(&[("grant_type", "client_credentials")]),
            401,
            "invalid_client",
        ),
        (
            "password grant",
            http.post(&endpoint)
                .basic_auth("test-viewer", Some(test_secret("viewer")))
                .form(&[
                    ("grant_type", "password"),
                    ("username", "u"),
                    ("password", "p"),
                ]),
            400,
            "unsupported_grant_type",
        ),
        (
            "no grant_type",
            http.post(&endpoint)
                .basic_auth("test-viewer", Some(test_secret("viewer")))
                .form(&[("scope", "viewer")]),
            400,
            "invalid_request",
        ),
        (
            "scope beyond the client's roles",
            http.post(&endpoint)
                .basic_auth("test-viewer", Some(test_secret("viewer")))
                .form(&[("grant_type", "client_credentials"), ("scope", "admin")]),
            400,
            "invalid_scope",
        ),
        (
            "repeated parameter (RFC 6749 §3.2)",
            http.post(&endpoint)
                .basic_auth("test-viewer", Some(test_secret("viewer")))
                .header("Content-Type", "application/x-www-form-urlencoded")
                .body("grant_type=client_credentials&grant_type=client_credentials"),
            400,
            "invalid_request",
        ),
        (
            "JSON instead of a form",
            http.post(&endpoint)
                .basic_auth("test-viewer", Some(test_secret("viewer")))
                .json(&json!({"grant_type": "client_credentials"})),
            400,
            "invalid_request",
        ),
    ];
    for (case, rb, status, error) in cases {
        let r = rb.send().await.unwrap();
        assert_eq!(r.status().as_u16(), status, "{case}");
        assert_eq!(r.headers()["cache-control"], "no-store", "{case}");
        if status == 401 {
            assert!(
                r.headers().contains_key("www-authenticate"),
                "{case}: RFC 6749 §5.2 invalid_client with WWW-Authenticate"
            );
        }
        let body: Value = r.json().await.unwrap();
        assert_eq!(body["error"], error, "{case}: {body}");
        assert!(body.get("access_token").is_none());
    }

    // Metadata (RFC 8414), OIDC discovery and JWKS.
    for path in [
        "/.well-known/oauth-authorization-server",
        "/.well-known/openid-configuration",
    ] {
        let (status, _, meta) = call(&format!("{}{path}", node.base), None).await;
        assert_eq!(status, 200, "{path}");
        assert_eq!(meta["issuer"], node.base, "{path}");
        assert_eq!(meta["token_endpoint"], endpoint, "{path}");
        assert_eq!(meta["grant_types_supported"], json!(["client_credentials"]));
        let jwks_uri = meta["jwks_uri"].as_str().unwrap();
        let (status, _, jwks) = call(jwks_uri, None).await;
        assert_eq!(status, 200);
        let keys = jwks["keys"].as_array().unwrap();
        assert!(keys.iter().any(|k| k["kid"] == header["kid"]), "{jwks}");
        assert!(
            keys.iter().all(|k| k.get("d").is_none()),
            "no private part in the JWKS: {jwks}"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn authorizer_refuses_forged_expired_and_malformed_tokens() {
    let issuer = TestIssuer::start().await;
    let attacker = Httpd::start().await;
    let evil = Signer::new("attacker-key");
    attacker.set("/jwks", &json!({"keys": [evil.jwk()]}));
    let node = start_node(&[("RAMPART_AUTH__ISSUERS", &issuer.env())]).await;
    let assets = node.api("/assets");

    // The issuer's valid token, and the right audience inside an array (RFC 7519 §4.1.3).
    let good = issuer.signer.token(&issuer.claims());
    assert_eq!(bearer_status(&assets, &good).await, 200);
    let mut c = issuer.claims();
    c["aud"] = json!(["other-api", "rampart"]);
    assert_eq!(bearer_status(&assets, &issuer.signer.token(&c)).await, 200);
    // Expired, but within the 60 s leeway.
    let mut c = issuer.claims();
    c["iat"] = json!(now() - 600);
    c["exp"] = json!(now() - 20);
    assert_eq!(bearer_status(&assets, &issuer.signer.token(&c)).await, 200);

    let mut refused: Vec<(String, String)> = Vec::new();
    let mut case = |name: &str, token: String| refused.push((name.to_owned(), token));

    let mut c = issuer.claims();
    c["iat"] = json!(now() - 900);
    c["exp"] = json!(now() - 120);
    case("expired beyond the leeway", issuer.signer.token(&c));
    let mut c = issuer.claims();
    c["nbf"] = json!(now() + 600);
    case("nbf in the future", issuer.signer.token(&c));
    let mut c = issuer.claims();
    c["exp"] = json!(now() + 3 * 86_400);
    case("lifetime above the maximum", issuer.signer.token(&c));
    let mut c = issuer.claims();
    c["iss"] = json!("http://127.0.0.1:9/unconfigured");
    case("wrong iss", issuer.signer.token(&c));
    let mut c = issuer.claims();
    c["iss"] = json!(format!("{}/", issuer.iss()));
    case(
        "iss with a trailing slash (exact match)",
        issuer.signer.token(&c),
    );
    let mut c = issuer.claims();
    c["aud"] = json!("other-api");
    case("wrong aud", issuer.signer.token(&c));
    let mut c = issuer.claims();
    c.as_object_mut().unwrap().remove("aud");
    case("missing aud", issuer.signer.token(&c));
    let mut c = issuer.claims();
    c.as_object_mut().unwrap().remove("exp");
    case("missing exp", issuer.signer.token(&c));
    let mut c = issuer.claims();
    c["exp"] = json!((now() + 300).to_string());
    case("string exp", issuer.signer.token(&c));
    let mut c = issuer.claims();
    c["aud"] = json!(42);
    case("numeric aud", issuer.signer.token(&c));

    // Tampered payload: roles raised to admin under the original signature.
    let mut parts: Vec<String> = good.split('.').map(str::to_owned).collect();
    let mut c = jwt_part(&good, 1);
    c["roles"] = json!(["admin"]);
    parts[1] = b64(c.to_string().as_bytes());
    case("tampered payload", parts.join("."));

    // A foreign key under the issuer's kid.
    let copycat = Signer::new(&issuer.signer.kid);
    case(
        "foreign key with a copied kid",
        copycat.token(&issuer.claims()),
    );

    // alg none in any case (RFC 8725 §2.1).
    for alg in ["none", "None", "NONE", "nOnE"] {
        let h = json!({"alg": alg, "typ": "JWT", "kid": issuer.signer.kid});
        let c = issuer.claims();
        let t = format!(
            "{}.{}.",
            b64(h.to_string().as_bytes()),
            b64(c.to_string().as_bytes())
        );
        case(&format!("alg {alg}"), t.clone());
        case(&format!("alg {alg} with a signature"), format!("{t}AAAA"));
    }

    // HS256 keyed with the issuer's public key (as its JWK text and as the raw point).
    let h = json!({"alg": "HS256", "typ": "JWT", "kid": issuer.signer.kid});
    let jwk_text = issuer.signer.jwk().to_string();
    case(
        "HS256 with the public JWK as secret",
        hs256(&h, &issuer.claims(), jwk_text.as_bytes()),
    );
    case(
        "HS256 with the public point as secret",
        hs256(&h, &issuer.claims(), issuer.signer.kp.public_key().as_ref()),
    );

    // Key-set URLs in the header, pointing at the attacker (RFC 8725 §3.10).
    let evil_url = format!("{}/jwks", attacker.base);
    for (name, extra) in [
        ("jku", json!({"jku": evil_url})),
        ("x5u", json!({"x5u": evil_url})),
        ("jwk", json!({"jwk": evil.jwk()})),
    ] {
        let mut h = json!({"alg": "ES256", "typ": "JWT", "kid": evil.kid});
        for (k, v) in extra.as_object().unwrap() {
            h[k] = v.clone();
        }
        case(&format!("{name} header"), evil.sign(&h, &issuer.claims()));
        let mut h2 = h.clone();
        h2["kid"] = json!(issuer.signer.kid);
        case(
            &format!("{name} header with the issuer's kid"),
            evil.sign(&h2, &issuer.claims()),
        );
    }

    // Hostile kids.
    for kid in [
        "../../../../etc/passwd".to_owned(),
        "' OR '1'='1'; DROP TABLE auth_signing_key; --".to_owned(),
        "k".repeat(10 * 1024),
    ] {
        let h = json!({"alg": "ES256", "typ": "JWT", "kid": kid});
        case(
            &format!("kid of {} bytes", kid.len()),
            issuer.signer.sign(&h, &issuer.claims()),
        );
    }
    let h = json!({"alg": "ES256", "typ": "JWT"});
    case("no kid", issuer.signer.sign(&h, &issuer.claims()));

    for (name, token) in &refused {
        assert_refused(&node, &format!("Bearer {token}"), name).await;
    }
    assert_eq!(
        attacker.total(),
        0,
        "no request reaches the attacker's key server"
    );

    // Malformed Authorization headers and tokens: 401, never 500.
    let header_json = b64(br#"{"alg":"ES256","kid":"issuer-key-1"}"#);
    for (name, authorization) in [
        ("scheme only", "Bearer".to_owned()),
        ("empty token", "Bearer ".to_owned()),
        ("Basic", "Basic dXNlcjpwYXNz".to_owned()),
        ("two segments", "Bearer abc.def".to_owned()),
        ("four segments", "Bearer a.b.c.d".to_owned()),
        ("bad base64", "Bearer !!!.###.$$$".to_owned()),
        (
            "header not JSON",
            format!("Bearer {}.e30.e30", b64(b"not json")),
        ),
        (
            "payload not JSON",
            format!("Bearer {header_json}.{}.e30", b64(b"[1,2")),
        ),
        (
            "payload an array",
            format!("Bearer {header_json}.{}.e30", b64(b"[1,2]")),
        ),
        ("9 KB token", format!("Bearer {}", "a".repeat(9 * 1024))),
        ("spaces inside", "Bearer a b c".to_owned()),
    ] {
        assert_refused(&node, &authorization, name).await;
    }
    // No token at all: 401 with a bare challenge (RFC 6750 §3.1: no error code).
    let (status, headers, _) = call(&assets, None).await;
    assert_eq!(status, 401);
    let www = headers["www-authenticate"].to_str().unwrap();
    assert!(
        www.starts_with("Bearer") && !www.contains("error="),
        "{www}"
    );

    // A flood of random kids: at most one JWKS fetch per interval (30 s by default). 64 at a
    // time: the shield shuts connections past `shield.max_connections_per_ip` (128) at accept,
    // and this case is about the authorizer, not the connection limit (tests/shield.rs).
    let before = issuer.httpd.hits("/jwks");
    let tokens: Vec<String> = (0..200)
        .map(|_| {
            let h = json!({"alg": "ES256", "typ": "JWT", "kid": rand_suffix()});
            issuer.signer.sign(&h, &issuer.claims())
        })
        .collect();
    let statuses: Vec<u16> = futures::stream::iter(tokens)
        .map(|t| {
            let url = assets.clone();
            async move { bearer_status(&url, &t).await }
        })
        .buffer_unordered(64)
        .collect()
        .await;
    assert_eq!(statuses.len(), 200);
    assert!(statuses.iter().all(|s| *s == 401), "{statuses:?}");
    let fetched = issuer.httpd.hits("/jwks") - before;
    assert!(fetched <= 1, "{fetched} JWKS fetches for 200 random kids");

    // The node still serves valid tokens after all of it.
    let fresh = issuer.signer.token(&issuer.claims());
    assert_eq!(bearer_status(&assets, &fresh).await, 200);
}

#[tokio::test(flavor = "multi_thread")]
async fn own_issuer_refuses_forgeries_and_rotation_keeps_old_tokens_valid() {
    let node = start_node(&[]).await;
    let assets = node.api("/assets");
    let old = token_for(&node.base, "viewer").await;
    let old_kid = jwt_part(&old, 0)["kid"].as_str().unwrap().to_owned();
    let (_, _, jwks) = call(&format!("{}/.well-known/jwks.json", node.base), None).await;

    // Forgeries under Rampart's own issuer.
    let mut claims = jwt_part(&old, 1);
    claims["roles"] = json!(["admin"]);
    let copycat = Signer::new(&old_kid);
    let h = json!({"alg": "ES256", "typ": "at+jwt", "kid": old_kid});
    assert_refused(
        &node,
        &format!("Bearer {}", copycat.sign(&h, &claims)),
        "own kid, foreign key",
    )
    .await;
    let h = json!({"alg": "HS256", "typ": "at+jwt", "kid": old_kid});
    let forged = hs256(&h, &claims, jwks.to_string().as_bytes());
    assert_refused(
        &node,
        &format!("Bearer {forged}"),
        "HS256 with the JWKS as secret",
    )
    .await;
    let h = json!({"alg": "none", "typ": "at+jwt", "kid": old_kid});
    let forged = format!(
        "{}.{}.",
        b64(h.to_string().as_bytes()),
        b64(claims.to_string().as_bytes())
    );
    assert_refused(&node, &format!("Bearer {forged}"), "own issuer, alg none").await;

    // Only admin may rotate.
    let viewer_rotate = reqwest::Client::new()
        .post(node.api("/auth/keys/rotate"))
        .bearer_auth(&old)
        .send()
        .await
        .unwrap();
    assert_eq!(viewer_rotate.status(), 403);

    let admin = token_for(&node.base, "admin").await;
    let r = reqwest::Client::new()
        .post(node.api("/auth/keys/rotate"))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let rotated: Value = r.json().await.unwrap();
    let new_kid = rotated["kid"].as_str().expect("rotate answers the new kid");
    assert_ne!(new_kid, old_kid);

    let (_, _, jwks) = call(&format!("{}/.well-known/jwks.json", node.base), None).await;
    let kids: BTreeSet<&str> = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|k| k["kid"].as_str())
        .collect();
    assert!(
        kids.contains(old_kid.as_str()) && kids.contains(new_kid),
        "{jwks}"
    );

    let new = token_for(&node.base, "viewer").await;
    assert_eq!(jwt_part(&new, 0)["kid"], new_kid, "the new key signs");
    assert_eq!(bearer_status(&assets, &new).await, 200);
    assert_eq!(
        bearer_status(&assets, &old).await,
        200,
        "the previous key keeps verifying its unexpired tokens"
    );
}

/// `(method pattern, roles allowed)`: the expected policy. A route the node serves that is not
/// here, or is here with other roles, fails [`every_route_with_every_role`].
const POLICY: &[(&str, &str)] = &[
    ("GET /livez", "*"),
    ("GET /readyz", "*"),
    ("GET /startupz", "*"),
    ("GET /metrics", "auditor admin"),
    ("POST /oauth2/token", "*"),
    ("GET /.well-known/oauth-authorization-server", "*"),
    ("GET /.well-known/openid-configuration", "*"),
    ("GET /.well-known/jwks.json", "*"),
    ("GET /api/v1/openapi.json", "*"),
    ("POST /api/v1/assets/import", "analyst admin"),
    (
        "GET /api/v1/assets",
        "viewer analyst responder auditor admin node risk_owner",
    ),
    (
        "GET /api/v1/assets/{id}",
        "viewer analyst responder auditor admin node risk_owner",
    ),
    ("DELETE /api/v1/assets/{id}", "analyst admin"),
    (
        "GET /api/v1/assets/{id}/risk",
        "viewer analyst responder auditor admin node risk_owner",
    ),
    ("POST /api/v1/threat-intel/{kind}", "analyst admin"),
    (
        "GET /api/v1/risks",
        "viewer analyst responder auditor admin node risk_owner",
    ),
    ("POST /api/v1/alarms", "responder admin node"),
    (
        "GET /api/v1/incidents",
        "viewer analyst responder auditor admin risk_owner",
    ),
    (
        "GET /api/v1/incidents/{id}",
        "viewer analyst responder auditor admin risk_owner",
    ),
    ("POST /api/v1/incidents/{id}/transition", "responder admin"),
    ("POST /api/v1/incidents/{id}/assign", "responder admin"),
    ("POST /api/v1/incidents/{id}/comments", "responder admin"),
    ("POST /api/v1/frameworks/import", "analyst admin"),
    (
        "GET /api/v1/assets/{id}/controls",
        "viewer analyst responder auditor admin risk_owner",
    ),
    (
        "GET /api/v1/frameworks/{framework}/coverage",
        "viewer analyst responder auditor admin risk_owner",
    ),
    (
        "PUT /api/v1/frameworks/{framework}/controls/{id}/status",
        "analyst admin",
    ),
    (
        "GET /api/v1/frameworks",
        "viewer analyst responder auditor admin risk_owner",
    ),
    (
        "GET /api/v1/frameworks/{framework}/controls",
        "viewer analyst responder auditor admin risk_owner",
    ),
    (
        "GET /api/v1/frameworks/{framework}/controls/{id}",
        "viewer analyst responder auditor admin risk_owner",
    ),
    ("GET /api/v1/audit", "auditor admin"),
    ("GET /api/v1/audit/verify", "auditor admin"),
    (
        "GET /api/v1/reports/{framework}",
        "viewer analyst responder auditor admin risk_owner",
    ),
    (
        "GET /api/v1/jobs/{id}",
        "viewer analyst responder auditor admin node risk_owner",
    ),
    ("GET /api/v1/dead-letters", "auditor admin"),
    ("POST /api/v1/demo/faults/poison", "admin"),
    (
        "POST /api/v1/dead-letters/{service}/{event_id}/replay",
        "admin",
    ),
    ("GET /api/v1/runtime/tree", "auditor admin"),
    ("GET /api/v1/runtime/dead-letters", "auditor admin"),
    ("GET /api/v1/nodes", "auditor admin"),
    ("GET /api/v1/queues", "auditor admin"),
    ("POST /api/v1/demo/echo", "admin"),
    ("GET /api/v1/demo/echo-cached", "admin"),
    ("POST /api/v1/demo/faults/panic", "admin"),
    ("POST /api/v1/demo/faults/stall", "admin"),
    ("POST /api/v1/auth/keys/rotate", "admin"),
    (
        "GET /api/v1/findings/{key}",
        "viewer analyst responder auditor admin node risk_owner",
    ),
    (
        "POST /api/v1/findings/{key}/analysis",
        "analyst admin risk_owner",
    ),
    (
        "POST /api/v1/findings/{key}/treatment",
        "analyst admin risk_owner",
    ),
    ("POST /api/v1/findings/{key}/acceptance", "admin risk_owner"),
    ("POST /api/v1/vex", "analyst admin risk_owner"),
    (
        "GET /api/v1/assets/{id}/vex",
        "viewer analyst responder auditor admin node risk_owner",
    ),
    (
        "GET /api/v1/assets/{id}/sarif",
        "viewer analyst responder auditor admin node risk_owner",
    ),
    (
        "GET /api/v1/risks/sarif",
        "viewer analyst responder auditor admin node risk_owner",
    ),
    (
        "GET /api/v1/threat-intel/sources",
        "viewer analyst responder auditor admin node risk_owner",
    ),
    (
        "POST /api/v1/threat-intel/sources/{name}/pull",
        "analyst admin",
    ),
    (
        "GET /api/v1/discovery/sources",
        "viewer analyst responder auditor admin node risk_owner",
    ),
    ("POST /api/v1/discovery/sources/{name}/run", "analyst admin"),
    (
        "GET /api/v1/assets/{id}/versions",
        "viewer analyst responder auditor admin node risk_owner",
    ),
    (
        "GET /api/v1/assets/{id}/diff",
        "viewer analyst responder auditor admin node risk_owner",
    ),
    // The web console: each page and action with the permission of the API route it calls.
    ("GET /", "*"),
    ("GET /console/assets/console.css", "*"),
    ("GET /console/login", "*"),
    ("POST /console/login", "*"),
    ("POST /console/logout", "*"),
    ("GET /console/login/oidc", "*"),
    ("GET /console/callback", "*"),
    (
        "GET /console/",
        "viewer analyst responder auditor admin node risk_owner",
    ),
    (
        "GET /console/risks",
        "viewer analyst responder auditor admin node risk_owner",
    ),
    (
        "GET /console/risks.sarif",
        "viewer analyst responder auditor admin node risk_owner",
    ),
    (
        "GET /console/findings/{key}",
        "viewer analyst responder auditor admin node risk_owner",
    ),
    (
        "POST /console/findings/{key}/analysis",
        "analyst admin risk_owner",
    ),
    (
        "POST /console/findings/{key}/treatment",
        "analyst admin risk_owner",
    ),
    (
        "POST /console/findings/{key}/acceptance",
        "admin risk_owner",
    ),
    (
        "GET /console/assets",
        "viewer analyst responder auditor admin node risk_owner",
    ),
    (
        "GET /console/assets/{id}",
        "viewer analyst responder auditor admin node risk_owner",
    ),
    (
        "GET /console/assets/{id}/vex",
        "viewer analyst responder auditor admin node risk_owner",
    ),
    (
        "GET /console/assets/{id}/sarif",
        "viewer analyst responder auditor admin node risk_owner",
    ),
    ("GET /console/operations", "auditor admin"),
    (
        "POST /console/operations/dead-letters/{service}/{event_id}/replay",
        "admin",
    ),
    (
        "GET /console/incidents",
        "viewer analyst responder auditor admin risk_owner",
    ),
    (
        "GET /console/incidents/{id}",
        "viewer analyst responder auditor admin risk_owner",
    ),
    ("POST /console/incidents/{id}/transition", "responder admin"),
    ("POST /console/incidents/{id}/assign", "responder admin"),
    ("POST /console/incidents/{id}/comment", "responder admin"),
    (
        "GET /console/frameworks",
        "viewer analyst responder auditor admin risk_owner",
    ),
    (
        "GET /console/frameworks/{framework}",
        "viewer analyst responder auditor admin risk_owner",
    ),
    (
        "GET /console/frameworks/{framework}/controls/{id}",
        "viewer analyst responder auditor admin risk_owner",
    ),
    (
        "POST /console/frameworks/{framework}/controls/{id}/status",
        "analyst admin",
    ),
    ("GET /console/audit", "auditor admin"),
    ("GET /console/audit/verify", "auditor admin"),
    (
        "GET /console/reports/{framework}",
        "viewer analyst responder auditor admin risk_owner",
    ),
];

#[tokio::test(flavor = "multi_thread")]
async fn every_route_with_every_role() {
    let served: BTreeSet<String> = rampart::http::route_table()
        .rules()
        .iter()
        .map(|r| format!("{} {}", r.method, r.pattern))
        .collect();
    let expected: BTreeSet<String> = POLICY.iter().map(|(r, _)| (*r).to_owned()).collect();
    assert_eq!(
        served, expected,
        "the route table and the expected policy differ: a route was added, removed or renamed"
    );

    let node = start_node(&[]).await;
    let roles = rampart::auth::rbac::ROLES;
    let mut tokens = HashMap::new();
    for role in roles {
        tokens.insert(role, token_for(&node.base, role).await);
    }
    let http = reqwest::Client::new();
    let mut mismatches = Vec::new();
    for (route, allowed) in POLICY {
        let (method, pattern) = route.split_once(' ').unwrap();
        // Path parameters: an id that exists nowhere (the handlers answer 4xx, never act).
        let path = pattern
            .replace("{id}", "00000000-0000-7000-8000-000000000000")
            .replace("{event_id}", "00000000-0000-7000-8000-000000000000")
            .replace("{framework}", "no-such-framework")
            .replace("{kind}", "no-such-kind")
            .replace("{key}", "00000000000000000000000000000000")
            .replace("{name}", "no-such-source")
            .replace("{service}", "no-such-service");
        let url = format!("{}{path}", node.base);
        let allowed: Vec<&str> = allowed.split(' ').collect();
        for role in roles.iter().copied().chain(["(no token)"]) {
            let mut rb = http.request(method.parse().unwrap(), &url);
            if let Some(t) = tokens.get(role) {
                rb = rb.bearer_auth(t);
            }
            if method != "GET" && method != "DELETE" {
                // A body no handler accepts, so an allowed call stops at validation.
                rb = rb.header("Content-Type", "application/json").body("{");
            }
            if *route == "POST /api/v1/auth/keys/rotate" && role == "admin" {
                continue; // rotating is tested on its own; here only who may
            }
            let r = rb.send().await.unwrap();
            let status = r.status().as_u16();
            let www = r
                .headers()
                .get("www-authenticate")
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_owned();
            let open = allowed == ["*"];
            // A console page without a session sends the browser to the login page.
            let to_login = pattern.starts_with("/console/") && r.url().path() == "/console/login";
            let ok = if open || allowed.contains(&role) {
                status != 401 && status != 403 && status < 500
            } else if role == "(no token)" {
                status == 401 || (method == "GET" && to_login)
            } else {
                status == 403 && www.contains("error=\"insufficient_scope\"")
            };
            if !ok {
                mismatches.push(format!("{route} as {role}: {status} {www}"));
            }
        }
    }
    assert!(mismatches.is_empty(), "{}", mismatches.join("\n"));
}

/// The entries of `event_type` api.called answering `request_id`.
async fn call_records(node: &NodeProc, auditor: &str, query: &str) -> Vec<Value> {
    let (status, _, entries) = call(
        &node.api(&format!("/audit?limit=1000&{query}")),
        Some(&format!("Bearer {auditor}")),
    )
    .await;
    assert_eq!(status, 200, "{entries}");
    entries
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["event_type"] == "api.called")
        .map(|e| e["event"]["body"].clone())
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn every_api_call_is_in_the_audit_chain() {
    let node = start_node(&[]).await;
    let viewer = token_for(&node.base, "viewer").await;
    let auditor = token_for(&node.base, "auditor").await;
    let since = chrono::Utc::now() - chrono::Duration::seconds(2);
    let http = reqwest::Client::new();
    let ua = "rampart-audit-test/1.0";
    let asset_id = "987654321";

    // (request id, request, expected status, principal, error code, operation)
    type Step<'a> = (
        &'a str,
        reqwest::RequestBuilder,
        u16,
        Option<&'a str>,
        Option<&'a str>,
        String,
    );
    let script: Vec<Step> = vec![
        (
            "audit-1-list",
            http.get(node.api("/assets?per_page=5&client_secret=hunter2"))
                .bearer_auth(&viewer),
            200,
            Some("test-viewer"),
            None,
            "GET /api/v1/assets".to_owned(),
        ),
        (
            "audit-2-no-token",
            http.get(node.api("/risks")),
            401,
            None,
            Some("invalid_token"),
            "GET /api/v1/risks".to_owned(),
        ),
        (
            "audit-3-forbidden",
            http.delete(node.api(&format!("/assets/{asset_id}")))
                .bearer_auth(&viewer),
            403,
            Some("test-viewer"),
            Some("insufficient_scope"),
            "DELETE /api/v1/assets/{id}".to_owned(),
        ),
        (
            "audit-4-bad-token",
            http.get(node.api("/incidents")).bearer_auth("not.a.token"),
            401,
            None,
            Some("invalid_token"),
            "GET /api/v1/incidents".to_owned(),
        ),
        (
            "audit-5-not-found",
            http.get(node.api(&format!("/assets/{asset_id}")))
                .bearer_auth(&viewer),
            404,
            Some("test-viewer"),
            None,
            "GET /api/v1/assets/{id}".to_owned(),
        ),
    ];
    let n = script.len();
    for (rid, rb, status, _, _, _) in &script {
        let r = rb
            .try_clone()
            .unwrap()
            .header("X-Request-Id", *rid)
            .header("User-Agent", ua)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), *status, "{rid}");
        assert_eq!(r.headers()["x-request-id"], *rid);
    }

    // Records arrive asynchronously (batched writer, outbox, audit consumer).
    let mut records = Vec::new();
    let found = common::wait_for(Duration::from_secs(30), async || {
        records = call_records(&node, &auditor, "")
            .await
            .into_iter()
            .filter(|r| {
                r["request_id"]
                    .as_str()
                    .is_some_and(|s| s.starts_with("audit-"))
            })
            .collect();
        records.len() >= n
    })
    .await;
    assert!(found, "{} of {n} call records: {records:#?}", records.len());
    assert_eq!(records.len(), n, "one record per call: {records:#?}");
    for (rid, _, status, principal, error, operation) in &script {
        let r = records
            .iter()
            .find(|r| r["request_id"] == *rid)
            .unwrap_or_else(|| panic!("no record of {rid}"));
        assert_eq!(r["status"], *status, "{rid}: {r}");
        assert_eq!(r["operation"], *operation, "{rid}: {r}");
        assert_eq!(r["principal"]["sub"].as_str(), *principal, "{rid}: {r}");
        assert_eq!(r["error_code"].as_str(), *error, "{rid}: {r}");
        assert_eq!(r["source_ip"], "127.0.0.1", "{rid}: {r}");
        assert_eq!(r["user_agent"], ua, "{rid}: {r}");
        assert_eq!(r["node"], "test-node");
        assert!(r["time"].is_string() && r["duration_ms"].is_number(), "{r}");
        if principal.is_some() {
            assert_eq!(r["principal"]["issuer"], node.base);
            assert_eq!(r["principal"]["roles"], json!(["viewer"]));
            assert_eq!(r["principal"]["client_id"], "test-viewer");
        }
    }
    let list = records
        .iter()
        .find(|r| r["request_id"] == "audit-1-list")
        .unwrap();
    assert_eq!(list["parameters"]["per_page"], "5");
    assert_eq!(list["parameters"]["client_secret"], "[redacted]");
    let del = records
        .iter()
        .find(|r| r["request_id"] == "audit-3-forbidden")
        .unwrap();
    assert_eq!(del["parameters"]["id"], asset_id);

    // Filters: principal, operation, time.
    let by_viewer = call_records(&node, &auditor, "principal=test-viewer").await;
    assert_eq!(by_viewer.len(), 3, "{by_viewer:#?}");
    assert!(
        by_viewer
            .iter()
            .all(|r| r["principal"]["sub"] == "test-viewer")
    );
    let op = "DELETE%20%2Fapi%2Fv1%2Fassets%2F%7Bid%7D";
    let deletes = call_records(&node, &auditor, &format!("operation={op}")).await;
    assert_eq!(deletes.len(), 1, "{deletes:#?}");
    assert_eq!(deletes[0]["request_id"], "audit-3-forbidden");
    let future = (chrono::Utc::now() + chrono::Duration::hours(1))
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    assert!(
        call_records(&node, &auditor, &format!("since={future}"))
            .await
            .is_empty()
    );
    let recent = call_records(
        &node,
        &auditor,
        &format!(
            "since={}",
            since.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
        ),
    )
    .await;
    assert!(
        recent
            .iter()
            .filter(|r| r["request_id"].as_str().unwrap_or("").starts_with("audit-"))
            .count()
            == n
    );
    let (status, _, problem) = call(
        &node.api("/audit?since=yesterday"),
        Some(&format!("Bearer {auditor}")),
    )
    .await;
    assert_eq!(status, 400, "{problem}");

    // The chain, call records included, verifies.
    let (status, _, v) = call(
        &node.api("/audit/verify"),
        Some(&format!("Bearer {auditor}")),
    )
    .await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["ok"], true, "{v}");
}

/// A node process with stderr captured to a file, for the tests that read its logs.
struct LoggedNode {
    child: std::process::Child,
    base: String,
    data_dir: std::path::PathBuf,
    log: std::path::PathBuf,
}

impl LoggedNode {
    async fn start(data_dir: &std::path::Path, envs: &[(&str, &str)]) -> LoggedNode {
        let port = free_port();
        std::fs::create_dir_all(data_dir).unwrap();
        let log = data_dir.join(format!("node-{port}.log"));
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_rampart"));
        cmd.arg("serve")
            .arg("--listen")
            .arg(format!("127.0.0.1:{port}"))
            .env("RAMPART_LOG", "debug")
            .env(
                "RAMPART_DATABASE__URL",
                format!("sqlite://{}/rampart.sqlite", data_dir.display()),
            )
            .env("RAMPART_NODE__DATA_DIR", data_dir)
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .stdout(std::fs::File::create(data_dir.join(format!("node-{port}.out"))).unwrap())
            .stderr(std::fs::File::create(&log).unwrap());
        for (k, v) in envs {
            cmd.env(k, v);
        }
        let node = LoggedNode {
            child: cmd.spawn().unwrap(),
            base: format!("http://127.0.0.1:{port}"),
            data_dir: data_dir.to_owned(),
            log,
        };
        let ready = common::wait_for(Duration::from_secs(30), async || {
            reqwest::get(format!("{}/readyz", node.base))
                .await
                .is_ok_and(|r| r.status().is_success())
        })
        .await;
        assert!(ready, "node not ready:\n{}", node.logs());
        node
    }

    /// Everything the node logged so far (stderr and stdout).
    fn logs(&self) -> String {
        let mut all = String::new();
        for entry in std::fs::read_dir(&self.data_dir).unwrap().flatten() {
            let p = entry.path();
            if p.extension().is_some_and(|e| e == "log" || e == "out") {
                let _ = std::fs::File::open(&p).and_then(|mut f| f.read_to_string(&mut all));
            }
        }
        all
    }

    fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for LoggedNode {
    fn drop(&mut self) {
        self.stop();
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn first_start_creates_an_admin_the_cli_can_use() {
    let dir = std::env::temp_dir().join(format!("rampart-bootstrap-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let mut node = LoggedNode::start(&dir, &[]).await;
    let file = dir.join("admin-credentials.json");
    let meta = std::fs::metadata(&file).expect("the bootstrap credentials file exists");
    {
        use std::os::unix::fs::PermissionsExt as _;
        assert_eq!(meta.permissions().mode() & 0o777, 0o600, "owner-only");
    }
    let creds: Value = serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
    assert_eq!(creds["client_id"], "admin");
    let secret = creds["client_secret"].as_str().unwrap().to_owned();
    assert!(secret.len() >= 43, "256-bit secret: {}", secret.len());
    assert_eq!(
        creds["token_endpoint"],
        format!("{}/oauth2/token", node.base)
    );
    let logs = node.logs();
    assert!(
        logs.contains(&file.display().to_string()),
        "the node says where the credentials are"
    );
    assert!(!logs.contains(&secret), "the secret is never logged");

    // The admin's token can do admin things.
    let token = issued_token(&node.base, "admin", &secret).await;
    let r = reqwest::Client::new()
        .get(format!("{}/api/v1/audit/verify", node.base))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);

    // The CLI: from the credentials file, from --client-id + --client-secret-file, and a clear
    // failure without credentials.
    let rampart = || {
        let mut c = Command::new(env!("CARGO_BIN_EXE_rampart"));
        c.env_remove("RAMPART_CLIENT_ID")
            .env_remove("RAMPART_CLIENT_SECRET")
            .env_remove("RAMPART_CLIENT_SECRET_FILE")
            .env_remove("RAMPART_CREDENTIALS_FILE")
            .stdin(Stdio::null());
        c
    };
    let out = rampart()
        .args(["risks", "--server", &node.base, "--credentials-file"])
        .arg(&file)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let secret_file = dir.join("admin.secret");
    std::fs::write(&secret_file, format!("{secret}\n")).unwrap();
    let out = rampart()
        .args([
            "risks",
            "--server",
            &node.base,
            "--client-id",
            "admin",
            "--client-secret-file",
        ])
        .arg(&secret_file)
        .args(["--credentials-file", "/nonexistent"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = rampart()
        .args([
            "risks",
            "--server",
            &node.base,
            "--credentials-file",
            "/nonexistent",
        ])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("401") || err.to_lowercase().contains("credential"),
        "{err}"
    );

    // A restart keeps the admin and neither rewrites the file nor announces it again.
    node.stop();
    let before = std::fs::read(&file).unwrap();
    std::fs::remove_file(&node.log).unwrap();
    let node = LoggedNode::start(&dir, &[]).await;
    assert_eq!(std::fs::read(&file).unwrap(), before);
    let logs = std::fs::read_to_string(&node.log).unwrap();
    assert!(
        !logs.contains("admin-credentials.json"),
        "announced once: {logs}"
    );
    issued_token(&node.base, "admin", &secret).await;
    drop(node);
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread")]
async fn auth_off_is_explicit_and_loud() {
    let dir = std::env::temp_dir().join(format!("rampart-authoff-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let node = LoggedNode::start(&dir, &[("RAMPART_AUTH__ENABLED", "false")]).await;
    let r = reqwest::get(format!("{}/api/v1/assets", node.base))
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let logs = node.logs();
    assert!(
        logs.contains("AUTHENTICATION IS OFF") && logs.contains("ERROR"),
        "{logs}"
    );
    assert!(!dir.join("admin-credentials.json").exists());
    drop(node);
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread")]
async fn secrets_stay_out_of_logs_errors_and_config() {
    let pid = std::process::id();
    let dir = std::env::temp_dir().join(format!("rampart-secrets-{pid}"));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();

    // Known secrets: the database password (PostgreSQL, trust auth here, so any password
    // connects), the broker password (a real RabbitMQ user made for this test), a client secret.
    let db_password = format!("dbpw-S3cret-{pid}");
    let amqp_password = format!("mqpw-S3cret-{pid}");
    let client_secret = format!("rps_known_client_secret_{pid}");
    let mq_user = format!("rampart-secrets-{pid}");
    let ctl = |args: &[&str]| {
        let out = Command::new("rabbitmqctl")
            .args(args)
            .output()
            .expect("rabbitmqctl");
        assert!(
            out.status.success(),
            "rabbitmqctl {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    ctl(&["add_user", &mq_user, &amqp_password]);
    ctl(&["set_permissions", "-p", "/", &mq_user, ".*", ".*", ".*"]);

    let pg = std::env::var("RAMPART_TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned());
    let db_url = pg.replacen(
        "postgres://postgres@",
        &format!("postgres://postgres:{db_password}@"),
        1,
    );
    assert!(
        db_url.contains(&db_password),
        "RAMPART_TEST_DATABASE_URL has the form postgres://postgres@HOST/DB"
    );
    let password_file = dir.join("amqp-password");
    std::fs::write(&password_file, format!("{amqp_password}\n")).unwrap();
    let clients = dir.join("clients.toml");
    std::fs::write(
        &clients,
        format!(
            "[[clients]]\nclient_id = \"ops\"\nsecret_sha256 = \"{}\"\nroles = [\"admin\"]\n",
            rampart::auth::clients::hash_secret(&client_secret)
        ),
    )
    .unwrap();
    let amqp_url = format!("amqp://{mq_user}@127.0.0.1:5672/%2f");
    let schema = format!("secrets_{pid}");
    let envs = [
        ("RAMPART_AUTH__CLIENTS_FILE", clients.to_str().unwrap()),
        ("RAMPART_BUS__AMQP_URL", amqp_url.as_str()),
        (
            "RAMPART_BUS__AMQP_PASSWORD_FILE",
            password_file.to_str().unwrap(),
        ),
        ("RAMPART_DATABASE__SCHEMA", schema.as_str()),
    ];
    let mut node = {
        // LoggedNode sets a SQLite URL; the PostgreSQL one (with its password) wins here.
        let mut envs = envs.to_vec();
        envs.push(("RAMPART_DATABASE__URL", db_url.as_str()));
        LoggedNode::start(&dir, &envs).await
    };

    // Use the secrets: tokens, calls with bad credentials that produce error bodies.
    let http = reqwest::Client::new();
    let token = issued_token(&node.base, "ops", &client_secret).await;
    let mut bodies = String::new();
    for (user, pw) in [
        ("ops", format!("{client_secret}x")),
        (client_secret.as_str(), "x".to_owned()),
    ] {
        let r = request_token(&node.base, user, &pw).await;
        assert_eq!(r.status(), 401);
        bodies.push_str(&r.text().await.unwrap());
    }
    for path in [
        "/api/v1/assets",
        "/api/v1/runtime/tree",
        "/readyz",
        "/metrics",
    ] {
        let r = http
            .get(format!("{}{path}", node.base))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        bodies.push_str(&r.text().await.unwrap());
    }
    let r = http
        .get(format!(
            "{}/api/v1/assets?client_secret={client_secret}",
            node.base
        ))
        .bearer_auth(format!("{token}x"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    bodies.push_str(&r.text().await.unwrap());

    // `rampart config` with the same settings.
    let mut cfg = Command::new(env!("CARGO_BIN_EXE_rampart"));
    cfg.arg("config").current_dir(env!("CARGO_MANIFEST_DIR"));
    for (k, v) in &envs {
        cfg.env(k, v);
    }
    cfg.env("RAMPART_DATABASE__URL", &db_url);
    let out = cfg.output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let shown = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        shown.contains("[database]") && shown.contains("***"),
        "{shown}"
    );

    node.stop();
    let logs = node.logs();
    assert!(
        logs.len() > 1000,
        "debug logs were written: {} bytes",
        logs.len()
    );
    ctl(&["delete_user", &mq_user]);
    for (what, secret) in [
        ("database password", db_password.as_str()),
        ("broker password", amqp_password.as_str()),
        ("client secret", client_secret.as_str()),
        ("access token", token.as_str()),
    ] {
        assert!(!logs.contains(secret), "{what} in the node's logs");
        assert!(!shown.contains(secret), "{what} in `rampart config`");
        assert!(!bodies.contains(secret), "{what} in a response body");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn the_openapi_document_declares_the_schemes_and_every_routes_permission() {
    let doc = serde_json::to_value(rampart::http::openapi_document()).unwrap();
    let schemes = &doc["components"]["securitySchemes"];
    assert_eq!(schemes["bearer"]["scheme"], "bearer", "{schemes}");
    assert_eq!(schemes["bearer"]["bearerFormat"], "JWT");
    assert_eq!(
        schemes["oauth2"]["flows"]["clientCredentials"]["tokenUrl"],
        "/oauth2/token"
    );
    let mut missing = Vec::new();
    for rule in rampart::http::route_table().rules() {
        if !rule.pattern.starts_with("/api/") {
            continue; // probes, metrics, token service: documented by their RFCs
        }
        let op = &doc["paths"][&rule.pattern][rule.method.as_str().to_ascii_lowercase()];
        if op.is_null() {
            missing.push(format!("{} {}: no operation", rule.method, rule.pattern));
            continue;
        }
        if op["x-rampart-permission"] != rule.permission.as_str() {
            missing.push(format!(
                "{} {}: x-rampart-permission {}",
                rule.method, rule.pattern, op["x-rampart-permission"]
            ));
        }
        let security = op["security"].as_array().cloned().unwrap_or_default();
        let public = rule.permission == rampart::auth::Permission::Public;
        let ok = if public {
            security == [json!({})]
        } else {
            security.iter().any(|s| s.get("bearer").is_some())
        };
        if !ok {
            missing.push(format!(
                "{} {}: security {security:?}",
                rule.method, rule.pattern
            ));
        }
    }
    assert!(missing.is_empty(), "{}", missing.join("\n"));
}

#[tokio::test(flavor = "multi_thread")]
async fn call_records_survive_a_kill_before_they_reach_the_database() {
    let dir = std::env::temp_dir().join(format!("rampart-journal-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let mut node = LoggedNode::start(&dir, &[]).await;
    let creds: Value =
        serde_json::from_slice(&std::fs::read(dir.join("admin-credentials.json")).unwrap())
            .unwrap();
    let secret = creds["client_secret"].as_str().unwrap().to_owned();
    let token = issued_token(&node.base, "admin", &secret).await;

    // This process takes SQLite's write lock and keeps it: the node's record writer cannot
    // commit, while reads (WAL) go on.
    let url = format!("sqlite://{}/rampart.sqlite", dir.display());
    let db = rampart_platform::Db::connect::<rampart::schema::Migrator>(
        &url,
        &rampart_platform::DbOptions::default(),
    )
    .await
    .unwrap();
    let held = db.begin_write().await.unwrap();
    let ids: Vec<String> = (0..5).map(|i| format!("journal-{i}")).collect();
    for id in &ids {
        let r = reqwest::Client::new()
            .get(format!("{}/api/v1/assets", node.base))
            .bearer_auth(&token)
            .header("X-Request-Id", id)
            .send()
            .await
            .unwrap();
        assert_eq!(
            r.status(),
            200,
            "answered without waiting on the record's write"
        );
    }
    let journal = std::fs::read_to_string(dir.join("api-calls.journal")).unwrap();
    for id in &ids {
        assert!(journal.contains(id.as_str()), "{id} journaled");
    }
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(dir.join("api-calls.journal"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "owner-only journal");
    }

    // kill -9 with the records still uncommitted, then release the lock and start again.
    node.stop();
    drop(held);
    drop(db);
    let node = LoggedNode::start(&dir, &[]).await;
    assert!(
        node.logs().contains("were written to the audit trail"),
        "the recovery is logged"
    );
    let auditor = issued_token(&node.base, "admin", &secret).await;
    let mut seen: Vec<String> = Vec::new();
    let all_there = common::wait_for(Duration::from_secs(30), async || {
        let (status, _, entries) = call(
            &format!("{}/api/v1/audit?limit=1000", node.base),
            Some(&format!("Bearer {auditor}")),
        )
        .await;
        assert_eq!(status, 200, "{entries}");
        seen = entries
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["event_type"] == "api.called")
            .filter_map(|e| e["event"]["body"]["request_id"].as_str().map(str::to_owned))
            .filter(|id| id.starts_with("journal-"))
            .collect();
        seen.len() >= ids.len()
    })
    .await;
    assert!(all_there, "recovered records in the audit log: {seen:?}");
    seen.sort();
    assert_eq!(seen, ids, "each record once");
    let (status, _, v) = call(
        &format!("{}/api/v1/audit/verify", node.base),
        Some(&format!("Bearer {auditor}")),
    )
    .await;
    assert_eq!((status, v["ok"].clone()), (200, json!(true)), "{v}");
    drop(node);
    let _ = std::fs::remove_dir_all(&dir);
}
