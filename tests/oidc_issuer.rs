//! A real foreign OpenID Connect provider in front of Rampart: panva's OpenID-certified
//! `oidc-provider` (tests/oidc/provider.mjs, started here on loopback) issues RS256 JWT access
//! tokens by the client-credentials grant; Rampart finds its keys through discovery and JWKS,
//! follows its key rotation with exactly one fetch, keeps validating with cached keys while
//! it is down, and refuses a second, unconfigured provider.

mod common;

use std::time::Duration;

use common::oidc::OidcProvider;
use common::start_node;

async fn status(url: &str, token: &str) -> u16 {
    reqwest::Client::new()
        .get(url)
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

fn jwt_kid(token: &str) -> String {
    use base64::Engine as _;
    let seg = token.split('.').next().unwrap();
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(seg)
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
    v["kid"].as_str().unwrap().to_owned()
}

#[tokio::test(flavor = "multi_thread")]
async fn tokens_of_a_configured_oidc_provider_are_accepted_through_discovery() {
    let mut provider = OidcProvider::start(&[
        ("ci-viewer", "ci-viewer-secret-0123456789", &["viewer"]),
        (
            "ci-responder",
            "ci-responder-secret-0123456789",
            &["responder"],
        ),
    ])
    .await;
    let stranger =
        OidcProvider::start(&[("ci-admin", "ci-admin-secret-0123456789", &["admin"])]).await;
    let issuers = format!(
        r#"[{{issuer="{}", algorithms=["RS256"], roles_claim="roles"}}]"#,
        provider.issuer
    );
    // A 1 s minimum between unknown-kid fetches so the rotation below is seen without waiting
    // the default 30 s.
    let node = start_node(&[
        ("RAMPART_AUTH__ISSUERS", issuers.as_str()),
        ("RAMPART_AUTH__JWKS_MIN_REFETCH_INTERVAL_S", "1"),
    ])
    .await;
    let assets = node.api("/assets");

    let viewer = provider
        .token("ci-viewer", "ci-viewer-secret-0123456789")
        .await;
    assert_eq!(status(&assets, &viewer).await, 200, "{}", provider.logs());
    let stats = provider.stats().await;
    assert_eq!(stats["discovery_requests"], 1, "{stats}");
    assert_eq!(stats["jwks_requests"], 1, "{stats}");
    // Roles from the provider's `roles` claim: a viewer may not raise alarms, a responder may.
    let alarm =
        serde_json::json!({"source": "ci", "asset": "x", "severity": "low", "summary": "t"});
    let r = reqwest::Client::new()
        .post(node.api("/alarms"))
        .bearer_auth(&viewer)
        .json(&alarm)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    let responder = provider
        .token("ci-responder", "ci-responder-secret-0123456789")
        .await;
    let r = reqwest::Client::new()
        .post(node.api("/alarms"))
        .bearer_auth(&responder)
        .json(&alarm)
        .send()
        .await
        .unwrap();
    assert!(
        r.status() != 401 && r.status() != 403,
        "responder may raise alarms: {}",
        r.status()
    );

    // The second provider is not configured: its tokens are refused and it is never asked.
    let foreign = stranger
        .token("ci-admin", "ci-admin-secret-0123456789")
        .await;
    assert_eq!(status(&assets, &foreign).await, 401);
    let s = stranger.stats().await;
    assert_eq!(s["jwks_requests"], 0, "{s}");
    assert_eq!(s["discovery_requests"], 0, "{s}");

    // Rotation: the provider signs with a new key; concurrent requests with its token cause
    // exactly one JWKS fetch.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let new_kid = provider.rotate().await;
    let rotated = provider
        .token("ci-viewer", "ci-viewer-secret-0123456789")
        .await;
    assert_eq!(jwt_kid(&rotated), new_kid);
    let before = provider.stats().await["jwks_requests"].as_u64().unwrap();
    let mut tasks = Vec::new();
    for _ in 0..20 {
        let (url, t) = (assets.clone(), rotated.clone());
        tasks.push(tokio::spawn(async move { status(&url, &t).await }));
    }
    for t in tasks {
        assert_eq!(t.await.unwrap(), 200);
    }
    let after = provider.stats().await["jwks_requests"].as_u64().unwrap();
    assert_eq!(
        after - before,
        1,
        "exactly one JWKS fetch after the rotation"
    );

    // With the provider stopped, tokens it signed (never seen by the node before) still
    // validate against the cached keys.
    let unseen_old = provider
        .token("ci-viewer", "ci-viewer-secret-0123456789")
        .await;
    let unseen_responder = provider
        .token("ci-responder", "ci-responder-secret-0123456789")
        .await;
    provider.stop();
    assert_eq!(status(&assets, &unseen_old).await, 200);
    assert_eq!(
        status(&node.api("/incidents"), &unseen_responder).await,
        200
    );
    // The fetches are counted per issuer and outcome.
    let m = common::get(format!("{}/metrics", node.base))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(m.contains("rampart_auth_jwks_fetches_total"), "{m}");
}
