//! The web console in a real browser: Debian's chromium driven through chromium-driver
//! (WebDriver, `fantoccini`), against a node holding real data (the Go OSV dump, a real SBOM,
//! the CSF 2.0 catalog, an alarm's incident), signing in through a real OpenID provider
//! (`tests/oidc/provider.mjs`, authorization code + PKCE) and with a local account.
//!
//! Screenshots of every page go to `target/console-screenshots/` (an artifact to look at).
//! Needs `chromium` and `chromedriver` (Debian: `apt-get install chromium chromium-driver`),
//! Node.js for the provider; scripts/test checks for them.

mod common;

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use common::oidc::OidcProvider;
use common::{NodeProc, data, free_port, get_json, post, run_job, start_node_at, wait_for};
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{Value, json};

struct Driver {
    child: Child,
    port: u16,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_driver() -> Driver {
    let port = free_port();
    let child = Command::new("chromedriver")
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("chromedriver (Debian: apt-get install chromium chromium-driver)");
    let up = (0..100).any(|_| {
        std::thread::sleep(Duration::from_millis(100));
        std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
    });
    assert!(up, "chromedriver did not listen on {port}");
    Driver { child, port }
}

async fn browser(driver: &Driver) -> Client {
    let mut caps = serde_json::Map::new();
    caps.insert(
        "goog:chromeOptions".into(),
        json!({
            "binary": "/usr/bin/chromium",
            "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                     "--window-size=1400,1100", "--no-first-run", "--disable-extensions",
                     "--proxy-server=direct://", "--proxy-bypass-list=*"]
        }),
    );
    let connector = hyper_util::client::legacy::connect::HttpConnector::new();
    ClientBuilder::new(connector)
        .capabilities(caps)
        .connect(&format!("http://127.0.0.1:{}", driver.port))
        .await
        .expect("a chromium session through chromedriver")
}

fn shots_dir() -> std::path::PathBuf {
    let d = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target/console-screenshots");
    std::fs::create_dir_all(&d).unwrap();
    d
}

async fn shot(c: &Client, name: &str) {
    let png = c.screenshot().await.unwrap();
    std::fs::write(shots_dir().join(format!("{name}.png")), png).unwrap();
}

async fn h1(c: &Client) -> String {
    match c.find(Locator::Css("h1")).await {
        Ok(e) => e.text().await.unwrap(),
        Err(_) => panic!(
            "no h1 at {}: {}",
            c.current_url().await.unwrap(),
            c.source()
                .await
                .unwrap_or_default()
                .chars()
                .take(3000)
                .collect::<String>()
        ),
    }
}

/// Opens `path` and checks it rendered a console page (not an error page), then saves a
/// screenshot as `name`.
async fn open(c: &Client, base: &str, path: &str, name: &str) -> String {
    c.goto(&format!("{base}{path}")).await.unwrap();
    let title = h1(c).await;
    let source = c.source().await.unwrap();
    assert!(
        !source.contains("flash flash-error") || path.contains("error"),
        "{path} shows an error: {title}"
    );
    assert!(
        !source.contains(" style=\""),
        "{path}: an inline style (the CSP forbids it)"
    );
    shot(c, name).await;
    title
}

/// Clicks `button` (or a link) and waits until its page is gone: WebDriver's click returns once
/// the click is dispatched, before a form's POST and its redirect are done.
async fn submit(button: fantoccini::elements::Element) {
    button.click().await.unwrap();
    for _ in 0..300 {
        // Stale (another document) once the navigation happened.
        if button.tag_name().await.is_err() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the page did not change within 15 s of the click");
}

/// The Overview's count of open incidents in state `recovered` (0 when it shows none).
async fn overview_recovered(c: &Client, base: &str) -> u64 {
    c.goto(&format!("{base}/console/")).await.unwrap();
    match c
        .find(Locator::XPath(
            "//section[@id='card-incidents']//a[@href='/console/incidents?state=recovered']/ancestor::tr/td[contains(@class,'num')]",
        ))
        .await
    {
        Ok(td) => td.text().await.unwrap().trim().parse().unwrap(),
        Err(_) => 0,
    }
}

async fn present(c: &Client, css: &str) -> bool {
    c.find(Locator::Css(css)).await.is_ok()
}

/// Signs in through the provider's login and consent pages as `login`.
async fn oidc_sign_in(c: &Client, base: &str, login: &str) {
    c.goto(&format!("{base}/console/login")).await.unwrap();
    c.find(Locator::Css("#oidc-login"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    // oidc-provider's development login page, then its consent page.
    let field = c
        .wait()
        .for_element(Locator::Css("input[name=login]"))
        .await
        .unwrap();
    field.send_keys(login).await.unwrap();
    c.find(Locator::Css("input[name=password]"))
        .await
        .unwrap()
        .send_keys("any")
        .await
        .unwrap();
    submit(c.find(Locator::Css("button[type=submit]")).await.unwrap()).await;
    for _ in 0..3 {
        tokio::time::sleep(Duration::from_millis(300)).await;
        let url = c.current_url().await.unwrap();
        if url.as_str().starts_with(base) {
            break;
        }
        // Consent.
        if let Ok(b) = c.find(Locator::Css("button[type=submit]")).await {
            let _ = b.click().await;
        }
    }
    let mut url = String::new();
    assert!(
        wait_for(Duration::from_secs(10), async || {
            url = c.current_url().await.unwrap().to_string();
            url.starts_with(&format!("{base}/console/")) && !url.contains("/login")
        })
        .await,
        "not back in the console after signing in: {url}\n{}",
        c.source()
            .await
            .unwrap_or_default()
            .chars()
            .take(2000)
            .collect::<String>()
    );
}

fn csrf_of(source: &str) -> String {
    let at = source
        .find("csrf_token=")
        .expect("a form with a CSRF token")
        + "csrf_token=".len();
    source[at..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
        .collect()
}

async fn seed(node: &NodeProc) -> (i64, String) {
    let job = run_job(
        node,
        "/threat-intel/osv",
        "application/zip",
        std::fs::read(data("osv/Go/all.zip")).unwrap(),
    )
    .await;
    assert_eq!(job["state"], "succeeded", "{job}");
    let job = run_job(
        node,
        "/assets/import?format=cyclonedx",
        "application/json",
        std::fs::read(data("sbom/proton-bridge-1.8.0.cdx.json")).unwrap(),
    )
    .await;
    assert_eq!(job["state"], "succeeded", "{job}");
    let (s, _, out) = post(
        &node.api("/frameworks/import?format=oscal-catalog"),
        Some("application/json"),
        std::fs::read(data("frameworks/NIST_CSF_v2.0/catalog.json")).unwrap(),
    )
    .await;
    assert_eq!(s, 201, "{out}");
    let r = common::client()
        .post(node.api("/alarms"))
        .json(
            &json!({"source": "wazuh", "id": "7", "title": "Brute force on ssh",
                      "asset_key": "ip:10.0.0.5", "level": "high"}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 202);
    let mut incidents = Value::Null;
    assert!(
        wait_for(Duration::from_secs(20), async || {
            incidents = get_json(&node.api("/incidents?per_page=100")).await.1;
            incidents["items"].to_string().contains("alarm:wazuh:7")
        })
        .await,
        "{incidents}"
    );
    let incident = incidents["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["cause_key"] == "alarm:wazuh:7")
        .unwrap()["id"]
        .as_i64()
        .unwrap();
    let mut register = Value::Null;
    assert!(
        wait_for(Duration::from_secs(30), async || {
            register = get_json(&node.api("/risks?per_page=5")).await.1;
            register["total"].as_u64().unwrap_or(0) > 0
        })
        .await,
        "no finding: {register}"
    );
    let finding = register["items"][0]["finding_key"]
        .as_str()
        .unwrap()
        .to_owned();
    (incident, finding)
}

#[tokio::test(flavor = "multi_thread")]
async fn the_console_in_a_real_browser() {
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let provider = OidcProvider::start_with(
        &[],
        &[
            (
                "BROWSER_CLIENTS",
                &json!([{"client_id": "rampart-console",
                         "redirect_uris": [format!("{base}/console/callback")]}])
                .to_string(),
            ),
            (
                "USERS",
                &json!({"alice": ["admin"], "vic": ["viewer"]}).to_string(),
            ),
        ],
    )
    .await;
    let dir = std::env::temp_dir().join(format!("rampart-console-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let users = dir.join("users.toml");
    let hash = rampart::console::session::hash_password("ada's long passphrase").unwrap();
    std::fs::write(
        &users,
        format!(
            "[[users]]\nusername = \"ada\"\npassword_hash = \"{hash}\"\nroles = [\"analyst\"]\n"
        ),
    )
    .unwrap();
    let issuers = format!(
        r#"[{{issuer="{}", algorithms=["RS256"], roles_claim="roles"}}]"#,
        provider.issuer
    );
    let oidc = format!(
        r#"{{issuer="{}", client_id="rampart-console"}}"#,
        provider.issuer
    );
    let node = start_node_at(
        port,
        "test-node",
        &[],
        &[
            ("RAMPART_AUTH__ISSUERS", issuers.as_str()),
            ("RAMPART_CONSOLE__OIDC", oidc.as_str()),
            ("RAMPART_CONSOLE__USERS_FILE", users.to_str().unwrap()),
            ("RAMPART_DEMO__FAULT_INJECTION", "true"),
        ],
    )
    .await;
    let (incident, finding) = seed(&node).await;
    let driver = start_driver();
    let c = browser(&driver).await;

    // Not signed in: the console sends the browser to its login page.
    c.goto(&format!("{base}/")).await.unwrap();
    assert!(
        c.current_url()
            .await
            .unwrap()
            .path()
            .ends_with("/console/login")
    );
    shot(&c, "00-login").await;

    // Sign in through the identity provider (code + PKCE) as an administrator.
    oidc_sign_in(&c, &base, "alice").await;
    assert_eq!(h1(&c).await, "Overview");
    assert!(
        present(&c, "#card-findings svg").await,
        "the findings chart"
    );
    let session = c.get_named_cookie("rampart_session").await.unwrap();
    assert!(session.http_only().unwrap_or(false), "HttpOnly");
    assert_eq!(
        format!("{:?}", session.same_site()),
        "Some(Lax)",
        "SameSite=Lax"
    );

    // Every page opens.
    for (path, name) in [
        ("/console/", "01-overview"),
        ("/console/risks", "02-register"),
        (
            &format!("/console/findings/{finding}") as &str,
            "03-finding",
        ),
        ("/console/assets", "04-assets"),
        ("/console/incidents", "06-incidents"),
        (&format!("/console/incidents/{incident}"), "07-incident"),
        ("/console/frameworks", "08-frameworks"),
        ("/console/frameworks/nist-csf-2.0", "09-framework"),
        ("/console/audit", "11-audit"),
        ("/console/operations", "12-operations"),
    ] {
        open(&c, &base, path, name).await;
    }
    // An asset's page (from the list) and a control's page (from the framework).
    c.goto(&format!("{base}/console/assets")).await.unwrap();
    submit(c.find(Locator::Css("#asset-table tbody a")).await.unwrap()).await;
    assert!(present(&c, "#asset-components").await);
    shot(&c, "05-asset").await;
    // A control (a CSF subcategory, not a group): its status and evidence are edited.
    let (_, list) = get_json(&node.api("/frameworks/nist-csf-2.0/controls?per_page=300")).await;
    let control = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["assessable"] == true && c["withdrawn"] == false)
        .map(|c| c["id"].as_str().unwrap().to_owned())
        .expect("an assessable subcategory");
    let control_path = format!("/console/frameworks/nist-csf-2.0/controls/{control}");
    open(&c, &base, &control_path, "10-control").await;
    let form = c
        .find(Locator::Css("#control-status-form"))
        .await
        .expect("an administrator edits controls");
    form.find(Locator::Css("option[value=implemented]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    form.find(Locator::Css("textarea"))
        .await
        .unwrap()
        .send_keys("https://wiki.example.com/evidence/123")
        .await
        .unwrap();
    submit(
        form.find(Locator::Css("button[type=submit]"))
            .await
            .unwrap(),
    )
    .await;
    let status = c
        .find(Locator::Css("#control-status"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(status.contains("Implemented"), "{status}");
    assert!(
        c.source()
            .await
            .unwrap()
            .contains("https://wiki.example.com/evidence/123")
    );

    // Decide a finding; the register shows the decision.
    c.goto(&format!("{base}/console/findings/{finding}"))
        .await
        .unwrap();
    let form = c.find(Locator::Css("#analysis-form")).await.unwrap();
    form.find(Locator::Css("select[name=state] option[value=exploitable]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    form.find(Locator::Css("input[name=detail]"))
        .await
        .unwrap()
        .send_keys("reachable from the internet")
        .await
        .unwrap();
    submit(
        form.find(Locator::Css("button[type=submit]"))
            .await
            .unwrap(),
    )
    .await;
    let analysis = c.find(Locator::Css("#finding-analysis")).await.unwrap();
    assert!(analysis.text().await.unwrap().contains("Exploitable"));
    c.goto(&format!("{base}/console/risks?analysis=exploitable"))
        .await
        .unwrap();
    let row = c
        .find(Locator::Css(&format!(
            "tr[data-key='{finding}'] td.analysis"
        )))
        .await
        .expect("the decided finding in the filtered register");
    assert_eq!(row.text().await.unwrap(), "Exploitable");
    shot(&c, "13-register-after-decision").await;

    // Move the incident through its lifecycle.
    for to in ["triaged", "contained", "eradicated", "recovered", "closed"] {
        // Before the last move, the Overview counts (and caches for 5 s) the recovered incident.
        let recovered_before = if to == "closed" {
            Some(overview_recovered(&c, &base).await)
        } else {
            None
        };
        c.goto(&format!("{base}/console/incidents/{incident}"))
            .await
            .unwrap();
        let form = c.find(Locator::Css("#transition-form")).await.unwrap();
        form.find(Locator::Css(&format!("option[value={to}]")))
            .await
            .unwrap_or_else(|_| panic!("{to} offered"))
            .click()
            .await
            .unwrap();
        submit(
            form.find(Locator::Css("button[type=submit]"))
                .await
                .unwrap(),
        )
        .await;
        // The click returns before the form's POST and redirect are done: wait for them.
        let mut state = Value::Null;
        let moved = wait_for(Duration::from_secs(15), async || {
            let (_, d) = get_json(&node.api(&format!("/incidents/{incident}"))).await;
            state = d["incident"]["state"].clone();
            state == to
        })
        .await;
        let source = c.source().await.unwrap();
        assert!(!source.contains("flash-error"), "moving to {to}");
        assert!(moved, "moving to {to}: still {state}");
        // The form dropped the cached counts: the Overview shows the move at once, within the
        // counts' 5 s reuse.
        if let Some(before) = recovered_before {
            assert!(before >= 1, "the recovered incident was counted");
            assert_eq!(overview_recovered(&c, &base).await, before - 1);
        }
    }
    let (_, detail) = get_json(&node.api(&format!("/incidents/{incident}"))).await;
    assert_eq!(detail["incident"]["state"], "closed", "{detail}");
    shot(&c, "14-incident-closed").await;

    // A panic inside an actor: the Operations page shows the restart.
    let r = common::client()
        .post(node.api("/assets/import?format=cyclonedx"))
        .header("Content-Type", "application/json")
        .header("X-Rampart-Fault", "panic")
        .body(std::fs::read(data("sbom/proton-bridge-1.8.0.cdx.json")).unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 202);
    let mut restarts = String::new();
    assert!(
        wait_for(Duration::from_secs(20), async || {
            c.goto(&format!("{base}/console/operations")).await.unwrap();
            restarts = match c
                .find(Locator::Css(
                    "tr[data-actor='asset-management'] td.restarts",
                ))
                .await
            {
                Ok(td) => td.text().await.unwrap_or_default(),
                Err(_) => String::new(),
            };
            restarts.parse::<u64>().unwrap_or(0) >= 1
        })
        .await,
        "the restart is shown ({restarts:?})"
    );
    let failure = c
        .find(Locator::Css(
            "tr[data-actor='asset-management'] td.last-failure",
        ))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(failure.contains("panic"), "{failure}");
    // The node with its roles (from its heartbeat) and the bus's queues.
    let node_row = c
        .find(Locator::Css("#nodes tr[data-node]"))
        .await
        .expect("this node in the node list")
        .text()
        .await
        .unwrap();
    assert!(
        node_row.contains("this node") && node_row.contains("Up"),
        "{node_row}"
    );
    for role in ["asset", "risk", "control", "incident", "audit"] {
        assert!(node_row.contains(role), "{role} in {node_row}");
    }
    let risk_queue = c
        .find(Locator::Css("#queues tr[data-queue='risk']"))
        .await
        .expect("the risk service's queue")
        .text()
        .await
        .unwrap();
    assert!(risk_queue.contains("Events"), "{risk_queue}");
    shot(&c, "15-operations-after-panic").await;

    // Logout ends the login: the old cookie is refused.
    let old_cookie = c
        .get_named_cookie("rampart_session")
        .await
        .unwrap()
        .value()
        .to_owned();
    submit(c.find(Locator::Css("nav.top form button")).await.unwrap()).await;
    assert!(
        c.current_url()
            .await
            .unwrap()
            .path()
            .ends_with("/console/login")
    );
    let raw = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let r = raw
        .get(format!("{base}/console/risks"))
        .header("Cookie", format!("rampart_session={old_cookie}"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 303, "the old cookie is refused");
    assert!(
        r.headers()["location"]
            .to_str()
            .unwrap()
            .starts_with("/console/login")
    );

    // A viewer: no edit controls, and a forged POST gets 403.
    c.delete_all_cookies().await.unwrap();
    oidc_sign_in(&c, &base, "vic").await;
    c.goto(&format!("{base}/console/findings/{finding}"))
        .await
        .unwrap();
    assert!(
        !present(&c, "#analysis-form").await,
        "no decision form for a viewer"
    );
    assert!(!present(&c, "#treatment-form").await);
    shot(&c, "16-viewer-finding").await;
    c.goto(&format!("{base}/console/incidents/{incident}"))
        .await
        .unwrap();
    assert!(!present(&c, "#transition-form").await);
    let nav: Vec<String> = {
        let mut v = Vec::new();
        for a in c.find_all(Locator::Css("nav.top a")).await.unwrap() {
            v.push(a.text().await.unwrap());
        }
        v
    };
    assert!(!nav.iter().any(|t| t == "Audit"), "{nav:?}");
    let viewer_cookie = c
        .get_named_cookie("rampart_session")
        .await
        .unwrap()
        .value()
        .to_owned();
    let csrf = csrf_of(&c.source().await.unwrap());
    let forged = raw
        .post(format!(
            "{base}/console/findings/{finding}/analysis?csrf_token={csrf}"
        ))
        .header("Cookie", format!("rampart_session={viewer_cookie}"))
        .form(&[
            ("state", "not_affected"),
            ("justification", "code_not_present"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status().as_u16(), 403, "a viewer's forged decision");
    // Without the CSRF token, even the analyst's own session could not post.
    let no_csrf = raw
        .post(format!("{base}/console/findings/{finding}/analysis"))
        .header("Cookie", format!("rampart_session={viewer_cookie}"))
        .form(&[("state", "not_affected")])
        .send()
        .await
        .unwrap();
    assert_eq!(no_csrf.status().as_u16(), 403);
    let (_, f) = get_json(&node.api(&format!("/findings/{finding}"))).await;
    assert_eq!(
        f["finding"]["analysis"]["state"], "exploitable",
        "unchanged"
    );

    // A local account (argon2id hash) signs in with the form.
    c.delete_all_cookies().await.unwrap();
    c.goto(&format!("{base}/console/login")).await.unwrap();
    c.find(Locator::Css("#username"))
        .await
        .unwrap()
        .send_keys("ada")
        .await
        .unwrap();
    c.find(Locator::Css("#password"))
        .await
        .unwrap()
        .send_keys("wrong")
        .await
        .unwrap();
    submit(c.find(Locator::Css("#sign-in")).await.unwrap()).await;
    assert!(
        present(&c, "#login-error").await,
        "a wrong password is refused"
    );
    c.find(Locator::Css("#username"))
        .await
        .unwrap()
        .send_keys("ada")
        .await
        .unwrap();
    c.find(Locator::Css("#password"))
        .await
        .unwrap()
        .send_keys("ada's long passphrase")
        .await
        .unwrap();
    submit(c.find(Locator::Css("#sign-in")).await.unwrap()).await;
    assert_eq!(h1(&c).await, "Overview");
    assert!(present(&c, "nav.top a[href='/console/risks']").await);
    assert!(
        !present(&c, "nav.top a[href='/console/operations']").await,
        "an analyst has no Operations page"
    );

    // The framework report as people read it.
    open(
        &c,
        &base,
        "/console/reports/nist-csf-2.0?format=html",
        "17-report",
    )
    .await;
    c.close().await.unwrap();
    drop(provider);
    let _ = std::fs::remove_dir_all(&dir);
}
