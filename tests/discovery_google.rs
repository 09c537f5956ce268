//! Google Workspace discovery's client against a local server that plays Google: the token
//! endpoint (checking the JWT-bearer assertion's signature and claims) and the Directory API
//! replaying the real recorded mobile-device pages (../shared/data/cloud), with `pageToken`
//! paging and an injected quota error. All on loopback. Needs the `openssl` CLI (a throwaway
//! RSA key is made per run).

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use base64::Engine as _;
use rampart::discovery::google::{self, DirectoryError, ServiceAccount};
use rampart_supervisors::resilience::{PolicyConfig, ResiliencePolicy, RetryConfig};
use serde_json::{Value, json};

#[derive(Default)]
struct Google {
    public_key: Vec<u8>,
    pages: Vec<Value>,
    seen: Vec<String>,
    quota_errors: u32,
    assertion_claims: Option<Value>,
}

type Shared = Arc<Mutex<Google>>;

async fn token(form: web::Form<Vec<(String, String)>>, g: web::Data<Shared>) -> HttpResponse {
    let get = |k: &str| form.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
    if get("grant_type").as_deref() != Some("urn:ietf:params:oauth:grant-type:jwt-bearer") {
        return HttpResponse::BadRequest().json(json!({"error": "unsupported_grant_type"}));
    }
    let Some(assertion) = get("assertion") else {
        return HttpResponse::BadRequest().json(json!({"error": "invalid_request"}));
    };
    let parts: Vec<&str> = assertion.split('.').collect();
    let enc = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let mut g = g.lock().unwrap();
    let key = ring::signature::UnparsedPublicKey::new(
        &ring::signature::RSA_PKCS1_2048_8192_SHA256,
        g.public_key.clone(),
    );
    let signed = format!("{}.{}", parts[0], parts[1]);
    if parts.len() != 3
        || key
            .verify(signed.as_bytes(), &enc.decode(parts[2]).unwrap_or_default())
            .is_err()
    {
        return HttpResponse::BadRequest().json(json!({"error": "invalid_grant"}));
    }
    g.assertion_claims = serde_json::from_slice(&enc.decode(parts[1]).unwrap()).ok();
    HttpResponse::Ok()
        .json(json!({"access_token": "ya29.test", "token_type": "Bearer", "expires_in": 3599}))
}

async fn mobile(req: HttpRequest, g: web::Data<Shared>) -> HttpResponse {
    let mut g = g.lock().unwrap();
    g.seen.push(req.query_string().to_owned());
    if req
        .headers()
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        != Some("Bearer ya29.test")
    {
        return HttpResponse::Unauthorized().finish();
    }
    let q: std::collections::HashMap<String, String> =
        web::Query::<std::collections::HashMap<String, String>>::from_query(req.query_string())
            .map(web::Query::into_inner)
            .unwrap_or_default();
    let n: usize = match q.get("pageToken").map(String::as_str) {
        None => 0,
        Some(t) => t.trim_start_matches('p').parse().unwrap_or(99),
    };
    if n == 1 && g.quota_errors > 0 {
        g.quota_errors -= 1;
        return HttpResponse::Forbidden().json(json!({"error": {"code": 403,
            "errors": [{"reason": "userRateLimitExceeded", "domain": "usageLimits"}]}}));
    }
    let Some(page) = g.pages.get(n).cloned() else {
        return HttpResponse::BadRequest().finish();
    };
    // The recording's tokens are anonymised to one value: number them so paging can end.
    let mut page = page;
    if n + 1 < g.pages.len() {
        page["nextPageToken"] = json!(format!("p{}", n + 1));
    } else {
        page.as_object_mut().unwrap().remove("nextPageToken");
    }
    HttpResponse::Ok().json(page)
}

fn openssl(args: &[&str]) -> Vec<u8> {
    let out = std::process::Command::new("openssl")
        .args(args)
        .output()
        .expect("the openssl CLI (Debian: apt-get install openssl)");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

#[tokio::test(flavor = "multi_thread")]
async fn the_directory_is_read_page_by_page_with_a_delegated_token_and_quota_errors_retried() {
    let dir = std::env::temp_dir().join(format!("rampart-gws-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let pem_path = dir.join("key.pem");
    let pem = openssl(&[
        "genpkey",
        "-algorithm",
        "RSA",
        "-pkeyopt",
        "rsa_keygen_bits:2048",
    ]);
    std::fs::write(&pem_path, &pem).unwrap();
    let public = openssl(&[
        "rsa",
        "-in",
        pem_path.to_str().unwrap(),
        "-RSAPublicKey_out",
        "-outform",
        "DER",
    ]);
    let pages: Vec<Value> = serde_json::from_slice(
        &std::fs::read(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../shared/data/cloud/gws-directory-mobiledevices-list-pages.json"
        ))
        .unwrap(),
    )
    .unwrap();
    let shared: Shared = Arc::new(Mutex::new(Google {
        public_key: public,
        pages: pages.clone(),
        quota_errors: 2,
        ..Google::default()
    }));
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://127.0.0.1:{}", listener.local_addr().unwrap().port());
    let data = web::Data::new(shared.clone());
    let server = HttpServer::new(move || {
        App::new()
            .app_data(data.clone())
            .route("/token", web::post().to(token))
            .route(
                "/admin/directory/v1/customer/my_customer/devices/mobile",
                web::get().to(mobile),
            )
    })
    .workers(1)
    .listen(listener)
    .unwrap()
    .run();
    tokio::spawn(server);

    let key_file = json!({
        "type": "service_account",
        "client_email": "rampart@project.iam.gserviceaccount.com",
        "private_key": String::from_utf8(pem).unwrap(),
        "token_uri": format!("{base}/token"),
    });
    let sa = ServiceAccount::from_json(key_file.to_string().as_bytes()).unwrap();
    assert!(
        !format!("{sa:?}").contains("PRIVATE"),
        "the key never shows"
    );
    let http = reqwest::Client::new();
    let now = chrono::Utc::now().timestamp();
    let assertion = sa.assertion("admin@example.com", now).unwrap();
    let bearer = google::token(&http, &sa.token_uri, &assertion)
        .await
        .unwrap();
    assert_eq!(bearer, "ya29.test");
    let claims = shared.lock().unwrap().assertion_claims.clone().unwrap();
    assert_eq!(claims["iss"], "rampart@project.iam.gserviceaccount.com");
    assert_eq!(claims["sub"], "admin@example.com");
    assert_eq!(claims["aud"], format!("{base}/token"));
    assert_eq!(
        claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(),
        3600
    );
    assert!(
        claims["scope"]
            .as_str()
            .unwrap()
            .contains("admin.directory.device.mobile.readonly")
    );
    // A forged assertion is refused by the token endpoint.
    let forged = format!("{}x", &assertion[..assertion.len() - 1]);
    assert!(matches!(
        google::token(&http, &sa.token_uri, &forged).await,
        Err(DirectoryError::Status { status: 400, .. })
    ));

    // Every page, with the quota error on page 2 retried (twice) by the policy.
    let policy: ResiliencePolicy<DirectoryError> = ResiliencePolicy::builder(
        "gws-test",
        PolicyConfig {
            retry: RetryConfig {
                max_attempts: 4,
                initial_interval_ms: 50,
                ..RetryConfig::default()
            },
            ..PolicyConfig::default()
        },
    )
    .retry_when(DirectoryError::is_transient)
    .build()
    .unwrap();
    let url = format!("{base}/admin/directory/v1/customer/my_customer/devices/mobile");
    let (items, n) = google::list_all(&http, &policy, &url, &bearer, "mobiledevices")
        .await
        .unwrap();
    assert_eq!(n, 3);
    let recorded: usize = pages
        .iter()
        .map(|p| p["mobiledevices"].as_array().unwrap().len())
        .sum();
    assert_eq!(items.len(), recorded, "every device of every page");
    let seen = shared.lock().unwrap().seen.clone();
    assert_eq!(
        seen,
        vec![
            "maxResults=100".to_owned(),
            "maxResults=100&pageToken=p1".to_owned(),
            "maxResults=100&pageToken=p1".to_owned(),
            "maxResults=100&pageToken=p1".to_owned(),
            "maxResults=100&pageToken=p2".to_owned(),
        ]
    );
    // The devices map to assets like an exported file does.
    let inv = rampart_asset::google_workspace::to_inventory(
        &items,
        &[],
        &[],
        &rampart_asset::CriticalityRules::default(),
    );
    assert!(!inv.assets.is_empty());
    assert!(inv.assets.iter().all(|a| a.key.starts_with("gws:mobile:")));
    // A quota error that does not go away is the caller's error, not a panic.
    shared.lock().unwrap().quota_errors = 100;
    let err = google::list_all(&http, &policy, &url, &bearer, "mobiledevices")
        .await
        .unwrap_err();
    assert!(
        matches!(err.into_inner(), Some(DirectoryError::Status { status: 403, reason: Some(r) }) if r == "userRateLimitExceeded")
    );
    let _ = std::fs::remove_dir_all(&dir);
}

async fn chromeos() -> HttpResponse {
    // A customer without ChromeOS devices: the list answer has no item key at all.
    HttpResponse::Ok().json(json!({"kind": "admin#directory#chromeosdevices"}))
}

async fn users(req: HttpRequest) -> HttpResponse {
    assert!(
        req.query_string().contains("customer=my_customer"),
        "{}",
        req.query_string()
    );
    let user: Value = serde_json::from_slice(
        &std::fs::read(common::data(
            "cloud/gws-directory-user-insert-response.json",
        ))
        .unwrap(),
    )
    .unwrap();
    HttpResponse::Ok().json(json!({"kind": "admin#directory#users", "users": [user]}))
}

#[tokio::test(flavor = "multi_thread")]
async fn a_node_discovers_the_directory_on_schedule_and_retires_a_device_after_its_absences() {
    let dir = std::env::temp_dir().join(format!("rampart-gws-node-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let pem_path = dir.join("key.pem");
    let pem = openssl(&[
        "genpkey",
        "-algorithm",
        "RSA",
        "-pkeyopt",
        "rsa_keygen_bits:2048",
    ]);
    std::fs::write(&pem_path, &pem).unwrap();
    let public = openssl(&[
        "rsa",
        "-in",
        pem_path.to_str().unwrap(),
        "-RSAPublicKey_out",
        "-outform",
        "DER",
    ]);
    let mut pages: Vec<Value> = serde_json::from_slice(
        &std::fs::read(common::data(
            "cloud/gws-directory-mobiledevices-list-pages.json",
        ))
        .unwrap(),
    )
    .unwrap();
    // The recording's device ids are anonymised to one value: number them (page, index) so
    // that each device is an asset of its own, as in a real Directory.
    for (p, page) in pages.iter_mut().enumerate() {
        for (i, d) in page["mobiledevices"]
            .as_array_mut()
            .unwrap()
            .iter_mut()
            .enumerate()
        {
            let id = format!("{}-{p}-{i}", d["resourceId"].as_str().unwrap());
            d["resourceId"] = json!(id);
        }
    }
    let shared: Shared = Arc::new(Mutex::new(Google {
        public_key: public,
        pages: pages.clone(),
        quota_errors: 1,
        ..Google::default()
    }));
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://127.0.0.1:{}", listener.local_addr().unwrap().port());
    let data = web::Data::new(shared.clone());
    let server = HttpServer::new(move || {
        App::new()
            .app_data(data.clone())
            .route("/token", web::post().to(token))
            .route(
                "/admin/directory/v1/customer/my_customer/devices/mobile",
                web::get().to(mobile),
            )
            .route(
                "/admin/directory/v1/customer/my_customer/devices/chromeos",
                web::get().to(chromeos),
            )
            .route("/admin/directory/v1/users", web::get().to(users))
    })
    .workers(1)
    .listen(listener)
    .unwrap()
    .run();
    tokio::spawn(server);
    let key_path = dir.join("service-account.json");
    std::fs::write(
        &key_path,
        json!({
            "type": "service_account",
            "client_email": "rampart@project.iam.gserviceaccount.com",
            "private_key": String::from_utf8(pem).unwrap(),
            "token_uri": format!("{base}/token"),
        })
        .to_string(),
    )
    .unwrap();
    let sources = json!([{
        "name": "workspace",
        "service_account_file": key_path,
        "subject": "admin@example.com",
        "api_base": base,
        "interval_s": 3600,
        "retire_after": 1,
        "policy": {"retry": {"max_attempts": 3, "initial_interval_ms": 50}}
    }]);
    let sources = common::env_value(&sources);
    let node = common::start_node(&[
        ("RAMPART_DISCOVERY__GOOGLE", sources.as_str()),
        ("RAMPART_DISCOVERY__CHECK_MS", "200"),
    ])
    .await;

    // The scheduled run reads every page (the quota error on page 2 retried) and stores the
    // devices as an import would.
    let all: Vec<Value> = pages
        .iter()
        .flat_map(|p| p["mobiledevices"].as_array().unwrap().clone())
        .collect();
    let expected = rampart_asset::google_workspace::to_inventory(
        &all,
        &[],
        &[],
        &rampart_asset::CriticalityRules::default(),
    );
    let mut status = Value::Null;
    assert!(
        common::wait_for(Duration::from_secs(30), async || {
            status = common::get_json(&node.api("/discovery/sources")).await.1[0].clone();
            status["last_success"].is_string()
        })
        .await,
        "no successful scheduled run: {status}"
    );
    assert_eq!(status["kind"], "google_workspace");
    let job = common::wait_job(
        &node,
        status["last_job"].as_str().unwrap(),
        Duration::from_secs(10),
    )
    .await;
    assert_eq!(job["result"]["pages"]["mobiledevices"], 3, "{job}");
    assert_eq!(job["result"]["users"], 1, "{job}");
    assert_eq!(job["result"]["discovered"], expected.assets.len(), "{job}");
    let retries = shared
        .lock()
        .unwrap()
        .seen
        .iter()
        .filter(|q| q.ends_with("pageToken=p1"))
        .count();
    assert_eq!(retries, 2, "page 2 asked again after the quota error");
    let (_, listed) = common::get_json(&node.api("/assets?per_page=100")).await;
    let keys: Vec<&str> = listed["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|a| a["key"].as_str())
        .collect();
    for a in &expected.assets {
        assert!(keys.contains(&a.key.as_str()), "{} in {keys:?}", a.key);
    }

    // The last page's devices leave the Directory: with retire_after = 1 the next run retires
    // exactly them (keys still listed elsewhere stay).
    let last = shared.lock().unwrap().pages.pop().unwrap();
    let remaining: Vec<Value> = shared
        .lock()
        .unwrap()
        .pages
        .iter()
        .flat_map(|p| p["mobiledevices"].as_array().unwrap().clone())
        .collect();
    let still = rampart_asset::google_workspace::to_inventory(
        &remaining,
        &[],
        &[],
        &rampart_asset::CriticalityRules::default(),
    );
    let mut gone: Vec<String> = expected
        .assets
        .iter()
        .map(|a| a.key.clone())
        .filter(|k| still.asset(k).is_none())
        .collect();
    gone.sort();
    assert!(
        !gone.is_empty(),
        "the last page {last} had devices of its own"
    );
    let r = common::client()
        .post(node.api("/discovery/sources/workspace/run"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 202);
    let id = r.json::<Value>().await.unwrap()["job_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let job = common::wait_job(&node, &id, Duration::from_secs(30)).await;
    assert_eq!(job["state"], "succeeded", "{job}");
    let mut retired: Vec<String> = job["result"]["retired"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k.as_str().unwrap().to_owned())
        .collect();
    retired.sort();
    assert_eq!(retired, gone, "{job}");
    assert_eq!(job["result"]["unchanged"], still.assets.len(), "{job}");
    // An unknown source is a 404 problem.
    let r = common::client()
        .post(node.api("/discovery/sources/nope/run"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 404);
    let _ = std::fs::remove_dir_all(&dir);
}
