//! VEX parsing, matching and export on the real documents in `shared/data/vex/` (see
//! `shared/data/SOURCES.md`, section "vex/"): every document, its exact statements.

/// Named `vex` so that `cargo test -p rampart-risk vex` selects these tests.
mod vex {
    use chrono::{DateTime, Utc};
    use rampart_risk::vex::export::{self, ExportAsset, ExportItem};
    use rampart_risk::vex::product::{Target, covers, identifier_matches, vulnerability_matches};
    use rampart_risk::vex::{
        AnalysisState, Identifier, Justification, Product, Response, Statement, VexDocument,
        VexError, VexFormat, parse,
    };
    use serde_json::Value;
    use sha2::{Digest as _, Sha256};

    use AnalysisState::*;
    use Justification::*;

    const DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/data/vex/");

    /// Every document of the data set.
    const ALL: [&str; 15] = [
        "cdx-vex-cisa-case-3.json",
        "cdx-vex-cisa-case-8.json",
        "cdx-vex-standalone-bom.json",
        "cdx-vex-standalone.json",
        "cdx-vex-use-case-12.json",
        "csaf-vex-2022-evd-uc-01-a-001.json",
        "csaf-vex-2022-evd-uc-01-na-001.json",
        "csaf-vex-2022-evd-uc-03-ms-001.json",
        "csaf-vex-go-vex-testdata.json",
        "csaf-vex-sec-vex-2022-0001.json",
        "openvex-aquasecurity-trivy.openvex.json",
        "openvex-go-vex-v0.0.1-legacy.json",
        "openvex-rancher-sachet-golang-x-net.openvex.json",
        "openvex-vexctl-legacy-affected-log4j.vex.json",
        "openvex-vexctl-sample-2vulns.openvex.json",
    ];

    fn bytes(name: &str) -> Vec<u8> {
        let path = format!("{DIR}{name}");
        std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
    }

    fn load(name: &str) -> VexDocument {
        parse(&bytes(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
    }

    fn json(name: &str) -> Value {
        serde_json::from_slice(&bytes(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
    }

    fn time(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s)
            .unwrap_or_else(|e| panic!("{s}: {e}"))
            .with_timezone(&Utc)
    }

    fn purl(s: &str) -> Identifier {
        Identifier::Purl(s.into())
    }

    fn name(n: &str, v: Option<&str>) -> Identifier {
        Identifier::Name {
            name: n.into(),
            version: v.map(Into::into),
        }
    }

    fn product(ids: Vec<Identifier>) -> Product {
        Product {
            ids,
            subcomponents: vec![],
        }
    }

    fn target<'a>(purl: &'a str, name: &'a str) -> Target<'a> {
        Target {
            purl: Some(purl),
            cpe: None,
            name,
            version: None,
        }
    }

    const SACHET: &str = "pkg:golang/github.com/messagebird/sachet";
    const XNET: &str = "pkg:golang/golang.org/x/net@v0.0.0-20210726213435-c6fcb2dbf985";

    #[test]
    fn the_data_directory_resolves() {
        for name in ALL {
            assert!(!bytes(name).is_empty(), "{name}");
        }
    }

    // ---------------------------------------------------------------------------------------------
    // OpenVEX

    #[test]
    fn rancher_sachet() {
        #[rustfmt::skip]
    let want: [(&str, &[&str], &str, Justification); 27] = [
        ("CVE-2021-44716", &["GO-2022-0288", "GHSA-vc3p-29h2-gpcp"], XNET, CodeNotPresent),
        ("CVE-2022-27664", &["GO-2022-0969", "GHSA-69cg-p879-7622"], XNET, CodeNotPresent),
        ("CVE-2022-28948", &["GO-2022-0603", "GHSA-hp87-p4gw-j4gq"], "pkg:golang/gopkg.in/yaml.v3@v3.0.0-20210107192922-496545a6307b", CodeNotReachable),
        ("CVE-2022-29526", &["GO-2022-0493", "GHSA-p782-xgp4-8hr8"], "pkg:golang/golang.org/x/sys@v0.0.0-20210823070655-63515b42dcdf", CodeNotReachable),
        ("CVE-2022-41717", &["GO-2022-1144", "GHSA-xrjj-mj9h-534m"], XNET, CodeNotPresent),
        ("CVE-2022-41723", &["GO-2023-1571", "GHSA-vvpx-j8f3-3w6h"], XNET, CodeNotPresent),
        ("CVE-2023-39325", &["GO-2023-2102", "GHSA-4374-p667-p6c8"], XNET, CodeNotPresent),
        ("CVE-2023-3978", &["GO-2023-1988", "GHSA-2wrh-6pvc-2jm9"], XNET, CodeNotPresent),
        ("CVE-2023-45288", &["GO-2024-2687", "GHSA-4v7x-pqxf-cx7m"], XNET, CodeNotPresent),
        ("CVE-2024-24786", &["GO-2024-2611", "GHSA-8r3f-844c-mc37"], "pkg:golang/google.golang.org/protobuf@v1.27.1", CodeNotPresent),
        ("CVE-2024-45338", &["GO-2024-3333", "GHSA-w32m-9786-jp63"], XNET, CodeNotPresent),
        ("CVE-2025-22868", &["GO-2025-3488"], "pkg:golang/golang.org/x/oauth2@v0.0.0-20210514164344-f6687ab2804c", CodeNotPresent),
        ("CVE-2025-22870", &["GO-2025-3503"], XNET, CodeNotPresent),
        ("CVE-2025-22870", &["GO-2025-3503", "GHSA-qxp5-gwg8-xv66"], XNET, CodeNotPresent),
        ("CVE-2025-22872", &["GO-2025-3595"], XNET, CodeNotPresent),
        ("CVE-2025-47911", &["GO-2026-4440"], XNET, CodeNotPresent),
        ("CVE-2025-58190", &["GO-2026-4441"], XNET, CodeNotPresent),
        ("CVE-2025-65637", &["GO-2025-4188", "GHSA-4f99-4q7p-p3gh"], "pkg:golang/github.com/sirupsen/logrus@v1.8.1", CodeNotReachable),
        ("CVE-2026-25680", &["GO-2026-5028"], XNET, CodeNotPresent),
        ("CVE-2026-25681", &["GO-2026-5029"], XNET, CodeNotPresent),
        ("CVE-2026-27136", &["GO-2026-5030"], XNET, CodeNotPresent),
        ("CVE-2026-33814", &["GO-2026-4918"], XNET, CodeNotPresent),
        ("CVE-2026-39821", &["GO-2026-5026"], XNET, CodeNotPresent),
        ("CVE-2026-39824", &["GO-2026-5024"], "pkg:golang/golang.org/x/sys@v0.0.0-20210823070655-63515b42dcdf", CodeNotPresent),
        ("CVE-2026-42502", &["GO-2026-5027"], XNET, CodeNotPresent),
        ("CVE-2026-42506", &["GO-2026-5025"], XNET, CodeNotPresent),
        ("CVE-2026-46600", &["GO-2026-5942"], XNET, CodeNotPresent),
    ];
        let d = load("openvex-rancher-sachet-golang-x-net.openvex.json");
        assert_eq!(d.format, VexFormat::Openvex);
        assert_eq!(
            d.id,
            "https://openvex.dev/docs/public/vex-b37d4e2c93f67df578c507f6027727be418131016d409f556c0de83319d13966"
        );
        assert_eq!(d.author.as_deref(), Some("Rancher Security team"));
        assert_eq!(d.timestamp, Some(time("2026-07-22T06:10:49Z")));
        assert_eq!(d.statements.len(), 27);
        for (i, (s, (vuln, aliases, sub, j))) in d.statements.iter().zip(want).enumerate() {
            assert_eq!(s.vulnerability, vuln, "{i}");
            assert_eq!(s.aliases, aliases, "{i}");
            assert_eq!(s.state, NotAffected, "{i}");
            assert_eq!(s.justification, Some(j), "{i}");
            assert!(s.responses.is_empty());
            assert_eq!(
                s.detail.as_deref(),
                Some("Govulncheck determined that the vulnerable code isn't called"),
                "{i}"
            );
            assert_eq!(
                s.products,
                vec![Product {
                    ids: vec![purl(SACHET)],
                    subcomponents: vec![vec![purl(sub)]],
                }],
                "{i}"
            );
            let ts = if i == 26 {
                "2026-07-22T03:18:53Z"
            } else {
                "2026-06-19T00:00:00Z"
            };
            assert_eq!(s.timestamp, time(ts), "{i}");
        }
        let xnet: Vec<&str> = d
            .statements
            .iter()
            .filter(|s| s.products[0].subcomponents[0][0] == purl(XNET))
            .map(|s| s.vulnerability.as_str())
            .collect();
        for cve in [
            "CVE-2022-27664",
            "CVE-2022-41723",
            "CVE-2023-39325",
            "CVE-2023-45288",
        ] {
            assert!(xnet.contains(&cve), "{cve}");
        }
    }

    /// "A statement about product P with subcomponent C covers C inside P, not C everywhere",
    /// on the Rancher document.
    #[test]
    fn rancher_subcomponent_semantics() {
        let d = load("openvex-rancher-sachet-golang-x-net.openvex.json");
        let s = d
            .statements
            .iter()
            .find(|s| vulnerability_matches(s, &["GHSA-4374-p667-p6c8"]))
            .unwrap_or_else(|| panic!("no statement for GHSA-4374-p667-p6c8"));
        assert_eq!(s.vulnerability, "CVE-2023-39325");
        let p = &s.products[0];
        let sachet = target("pkg:golang/github.com/messagebird/sachet@v0.3.0", "sachet");
        let other = target(
            "pkg:golang/github.com/prometheus/alertmanager@v0.27.0",
            "alertmanager",
        );
        let xnet = target(XNET, "golang.org/x/net");
        let newer_xnet = target("pkg:golang/golang.org/x/net@v0.17.0", "golang.org/x/net");
        let xsys = target(
            "pkg:golang/golang.org/x/sys@v0.0.0-20210823070655-63515b42dcdf",
            "golang.org/x/sys",
        );
        assert!(covers(p, &sachet, &xnet));
        assert!(!covers(p, &other, &xnet), "x/net in another asset");
        assert!(!covers(p, &sachet, &newer_xnet), "another x/net version");
        assert!(!covers(p, &sachet, &xsys), "another component of sachet");
        assert!(!covers(p, &sachet, &sachet), "sachet itself");
        // The asset purl without version still names the product.
        assert!(covers(p, &target(SACHET, "sachet"), &xnet));
    }

    #[test]
    fn trivy() {
        #[rustfmt::skip]
    let want: [(&str, &[&str], &str, Justification); 21] = [
        ("GO-2024-2575", &["CVE-2024-26147", "GHSA-r53h-jv2g-vpx6"], "pkg:golang/helm.sh/helm/v3", CodeNotReachable),
        ("GO-2023-1765", &["CVE-2023-1732", "GHSA-2q89-485c-9j2x"], "pkg:golang/github.com/cloudflare/circl", CodeNotPresent),
        ("GO-2024-2512", &["CVE-2024-24557", "GHSA-xw73-rw38-6vjc"], "pkg:golang/github.com/docker/docker", CodeNotPresent),
        ("GO-2024-2453", &["GHSA-9763-4f94-gfch"], "pkg:golang/github.com/cloudflare/circl", CodeNotPresent),
        ("GO-2023-2048", &["GHSA-6xv5-86q9-7xr8"], "pkg:golang/github.com/cyphar/filepath-securejoin", CodeNotReachable),
        ("GO-2024-2497", &["CVE-2024-23653", "GHSA-wr6v-9f75-vh2g"], "pkg:golang/github.com/moby/buildkit", CodeNotPresent),
        ("GO-2023-2102", &["CVE-2023-39325", "GHSA-4374-p667-p6c8"], "pkg:golang/golang.org/x/net", CodeNotReachable),
        ("GO-2024-2493", &["CVE-2024-23651", "GHSA-m3r6-h7wv-7xxv"], "pkg:golang/github.com/moby/buildkit", CodeNotPresent),
        ("GO-2024-2491", &["CVE-2024-21626", "GHSA-xr7r-f8xq-vfvv"], "pkg:golang/github.com/opencontainers/runc", CodeNotPresent),
        ("GO-2024-2494", &["CVE-2024-23652", "GHSA-4v98-7qmw-rqr8"], "pkg:golang/github.com/moby/buildkit", CodeNotPresent),
        ("GO-2023-2412", &["GHSA-7ww5-4wqc-m92c"], "pkg:golang/github.com/containerd/containerd", CodeNotPresent),
        ("GO-2023-1988", &["CVE-2023-3978", "GHSA-2wrh-6pvc-2jm9"], "pkg:golang/golang.org/x/net", CodeNotReachable),
        ("GO-2024-2492", &["CVE-2024-23650", "GHSA-9p26-698r-w4hx"], "pkg:golang/github.com/moby/buildkit", CodeNotPresent),
        ("GO-2022-0646", &["CVE-2020-8911", "CVE-2020-8912", "GHSA-7f33-f4f5-xwgw", "GHSA-f5pg-7wfw-84q9"], "pkg:golang/github.com/aws/aws-sdk-go", CodeNotPresent),
        ("GO-2023-2153", &["GHSA-m425-mq94-257g"], "pkg:golang/google.golang.org/grpc", CodeNotReachable),
        ("GO-2024-3105", &["CVE-2024-34155"], "pkg:golang/stdlib", CodeNotReachable),
        ("GO-2024-3106", &["CVE-2024-34156"], "pkg:golang/stdlib", CodeNotReachable),
        ("GO-2024-3107", &["CVE-2024-34158"], "pkg:golang/stdlib", CodeNotReachable),
        ("GO-2024-3321", &["CVE-2024-45337", "GHSA-v778-237x-gjrc"], "pkg:golang/golang.org/x/crypto", CodeNotReachable),
        ("GO-2024-3333", &["CVE-2024-45338"], "pkg:golang/golang.org/x/net", CodeNotReachable),
        ("GO-2025-4192", &["CVE-2025-66564", "GHSA-4qg8-fj49-pxjh"], "pkg:golang/github.com/sigstore/timestamp-authority@v1.2.2", CodeNotPresent),
    ];
        let d = load("openvex-aquasecurity-trivy.openvex.json");
        assert_eq!(
            d.id,
            "aquasecurity/trivy:613fd55abbc2857b5ca28b07a26f3cd4c8b0ddc4c8a97c57497a2d4c4880d7fc"
        );
        assert_eq!(d.author.as_deref(), Some("Aqua Security"));
        let doc_ts = time("2024-07-09T11:38:00.115697+04:00");
        assert_eq!(d.statements.len(), 21);
        for (i, (s, (vuln, aliases, sub, j))) in d.statements.iter().zip(want).enumerate() {
            assert_eq!(s.vulnerability, vuln, "{i}");
            assert_eq!(s.aliases, aliases, "{i}");
            assert_eq!((s.state, s.justification), (NotAffected, Some(j)), "{i}");
            // `@id` and `identifiers.purl` are the same purl: one identifier.
            assert_eq!(
                s.products,
                vec![Product {
                    ids: vec![purl("pkg:golang/github.com/aquasecurity/trivy")],
                    subcomponents: vec![vec![purl(sub)]],
                }],
                "{i}"
            );
            assert_eq!(s.timestamp, doc_ts, "{i}: the document's timestamp");
            let want_detail = if vuln == "GO-2024-3106" {
                "Govulncheck incorrectly marks this vulnerability as affected. The vulnerable code isn't called. See https://github.com/aquasecurity/trivy/issues/7478"
            } else {
                "Govulncheck determined that the vulnerable code isn't called"
            };
            assert_eq!(s.detail.as_deref(), Some(want_detail), "{i}");
        }
        // Unversioned subcomponent: every x/net version inside trivy, none elsewhere.
        let s = &d.statements[6];
        let trivy = target("pkg:golang/github.com/aquasecurity/trivy@v0.53.0", "trivy");
        let xnet = target("pkg:golang/golang.org/x/net@v0.26.0", "golang.org/x/net");
        assert!(covers(&s.products[0], &trivy, &xnet));
        assert!(!covers(&s.products[0], &target(SACHET, "sachet"), &xnet));
        assert!(vulnerability_matches(s, &["cve-2023-39325"]));
    }

    #[test]
    fn vexctl_sample() {
        let d = load("openvex-vexctl-sample-2vulns.openvex.json");
        assert_eq!(d.author.as_deref(), Some("The OpenVEX Project"));
        let nginx = "pkg:oci/nginx@sha256%3A13d22ec63300e16014d4a42aed735207a8b33c223cff19627dd3042e5a10a3a0";
        let s = &d.statements;
        assert_eq!(s.len(), 2);
        assert_eq!(s[0].vulnerability, "CVE-2023-27103");
        assert_eq!(s[0].aliases, vec!["SNYK-DEBIAN12-LIBDE265-3361563"]);
        assert_eq!(s[0].state, NotAffected);
        // component_not_present maps to code_not_present inexactly: the label stays in detail.
        assert_eq!(s[0].justification, Some(CodeNotPresent));
        assert_eq!(
            s[0].detail.as_deref(),
            Some("OpenVEX justification: component_not_present")
        );
        assert_eq!(s[0].timestamp, time("2023-08-15T19:55:22.076684217-06:00"));
        assert_eq!(s[0].products, vec![product(vec![purl(nginx)])]);
        assert_eq!(s[1].vulnerability, "CVE-2007-5686");
        assert_eq!(s[1].aliases, vec!["SNYK-DEBIAN12-SHADOW-1559391"]);
        assert_eq!((s[1].state, s[1].justification), (Resolved, None));
        assert_eq!(s[1].detail, None);
        assert_eq!(s[1].timestamp, time("2023-08-16T19:55:22.076684217-06:00"));
        // The image itself is the product: every component in it is covered.
        let image = target(
            "pkg:oci/nginx@sha256:13d22ec63300e16014d4a42aed735207a8b33c223cff19627dd3042e5a10a3a0?repository_url=index.docker.io/library/nginx",
            "nginx",
        );
        let libde265 = target("pkg:deb/debian/libde265@1.0.11-1?arch=amd64", "libde265");
        assert!(covers(&s[0].products[0], &image, &libde265));
        let other_image = target("pkg:oci/nginx@sha256:00", "nginx");
        assert!(!covers(&s[0].products[0], &other_image, &libde265));
    }

    #[test]
    fn openvex_v0_0_1() {
        let d = load("openvex-go-vex-v0.0.1-legacy.json");
        assert_eq!(d.id, "https://openvex.dev/docs/example/vex-9fb3463de1b57");
        assert_eq!(d.author.as_deref(), Some("Wolfi J Inkinson"));
        assert_eq!(d.statements.len(), 1);
        let s = &d.statements[0];
        assert_eq!(s.vulnerability, "CVE-2023-12345");
        assert!(s.aliases.is_empty());
        assert_eq!((s.state, s.justification), (Resolved, None));
        assert_eq!(s.timestamp, time("2023-01-08T18:02:03.647787998-06:00"));
        assert_eq!(
            s.products,
            vec![
                product(vec![purl("pkg:apk/wolfi/git@2.39.0-r1?arch=armv7")]),
                product(vec![purl("pkg:apk/wolfi/git@2.39.0-r1?arch=x86_64")]),
            ]
        );
        let git = |q: &'static str| Target {
            purl: Some(q),
            cpe: None,
            name: "git",
            version: Some("2.39.0-r1"),
        };
        let x86 = git("pkg:apk/wolfi/git@2.39.0-r1?arch=x86_64&distro=wolfi");
        let arm64 = git("pkg:apk/wolfi/git@2.39.0-r1?arch=aarch64");
        assert!(s.products.iter().any(|p| covers(p, &x86, &x86)));
        assert!(!s.products.iter().any(|p| covers(p, &arm64, &arm64)));
    }

    #[test]
    fn openvex_legacy_without_products() {
        let d = load("openvex-vexctl-legacy-affected-log4j.vex.json");
        assert_eq!(d.author.as_deref(), Some("Chainguard"));
        let s = &d.statements;
        assert_eq!(s.len(), 2);
        assert_eq!(s[0].vulnerability, "CVE-2009-4487");
        assert_eq!(
            (s[0].state, s[0].justification),
            (NotAffected, Some(CodeNotReachable))
        );
        assert_eq!(
            s[0].detail.as_deref(),
            Some("Affected library function not called")
        );
        assert_eq!(s[1].vulnerability, "CVE-2021-44228");
        assert_eq!((s[1].state, s[1].justification), (Exploitable, None));
        assert_eq!(
            s[1].detail.as_deref(),
            Some("Customers are advised to upgrade")
        );
        let ts = time("2022-08-29T17:48:53.697543267-05:00");
        for st in s {
            assert!(st.products.is_empty(), "no products: matches nothing");
            assert_eq!(st.timestamp, ts);
        }
    }

    #[test]
    fn unknown_status_is_refused_with_its_path() {
        let mut v = json("openvex-rancher-sachet-golang-x-net.openvex.json");
        v["statements"][3]["status"] = "exploitable".into();
        match parse(v.to_string().as_bytes()) {
            Err(VexError::Invalid { path, reason }) => {
                assert_eq!(path, "statements[3].status");
                assert!(
                    reason.contains("not_affected, affected, fixed, under_investigation"),
                    "{reason}"
                );
            }
            other => panic!("{other:?}"),
        }
        let mut v = json("cdx-vex-cisa-case-3.json");
        v["vulnerabilities"][2]["analysis"]["state"] = "mitigated".into();
        match parse(v.to_string().as_bytes()) {
            Err(VexError::Invalid { path, reason }) => {
                assert_eq!(path, "vulnerabilities[2].analysis.state");
                assert!(
                    reason.contains("\"mitigated\"") && reason.contains("in_triage"),
                    "{reason}"
                );
            }
            other => panic!("{other:?}"),
        }
    }

    // ---------------------------------------------------------------------------------------------
    // CSAF

    #[test]
    fn csaf_use_case_1() {
        let na = load("csaf-vex-2022-evd-uc-01-na-001.json");
        assert_eq!(na.format, VexFormat::Csaf);
        assert_eq!(na.id, "2022-EVD-UC-01-NA-001");
        assert_eq!(na.author.as_deref(), Some("Example Company ProductCERT"));
        let ts = time("2022-03-03T11:00:00.000Z");
        assert_eq!(na.timestamp, Some(ts));
        assert_eq!(
            na.statements,
            vec![Statement {
                vulnerability: "CVE-2021-44228".into(),
                aliases: vec![],
                products: vec![product(vec![name("ABC", Some("4.2"))])],
                state: NotAffected,
                justification: None,
                responses: vec![],
                detail: Some("Class with vulnerable code was removed before shipping.".into()),
                timestamp: ts,
            }]
        );
        let a = load("csaf-vex-2022-evd-uc-01-a-001.json");
        assert_eq!(a.id, "2022-EVD-UC-01-A-001");
        assert_eq!(
            a.statements,
            vec![Statement {
                vulnerability: "CVE-2021-44228".into(),
                aliases: vec![],
                products: vec![product(vec![name("DEF", Some("1.0"))])],
                state: Exploitable,
                justification: None,
                responses: vec![Response::Update],
                detail: Some(
                    "Customers should update to version 1.1 of product DEF which fixes the issue."
                        .into()
                ),
                timestamp: ts,
            }]
        );
        // Name + version from the branch path.
        let def = Target {
            purl: None,
            cpe: None,
            name: "DEF",
            version: Some("1.0"),
        };
        assert!(covers(&a.statements[0].products[0], &def, &def));
        let def_1_1 = Target {
            version: Some("1.1"),
            ..def
        };
        assert!(!covers(&a.statements[0].products[0], &def_1_1, &def_1_1));
    }

    #[rustfmt::skip]
const RIPPLE20: [(&str, AnalysisState, Option<&str>); 19] = [
    ("CVE-2020-11896", InTriage, None),
    ("CVE-2020-11897", NotAffected, Some("IPv6 is not supported and code is not present.")),
    ("CVE-2020-11898", Exploitable, Some("We are working to integrate the upstream patches in our code.")),
    ("CVE-2020-11899", NotAffected, Some("IPv6 is not supported and code is not present.")),
    ("CVE-2020-11900", InTriage, None),
    ("CVE-2020-11901", Resolved, None),
    ("CVE-2020-11902", NotAffected, Some("IPv6 is not supported and code is not present.")),
    ("CVE-2020-11903", InTriage, None),
    ("CVE-2020-11904", InTriage, None),
    ("CVE-2020-11905", NotAffected, Some("IPv6 is not supported and code is not present.")),
    ("CVE-2020-11906", NotAffected, Some("This code was re-written. The vulnerable code is not present.")),
    ("CVE-2020-11907", Exploitable, Some("We are working to integrate the upstream patches in our code.")),
    ("CVE-2020-11908", InTriage, None),
    ("CVE-2020-11909", Exploitable, Some("We are working to integrate the upstream patches in our code.")),
    ("CVE-2020-11910", Exploitable, Some("We are working to integrate the upstream patches in our code.")),
    ("CVE-2020-11911", Exploitable, Some("We are working to integrate the upstream patches in our code.")),
    ("CVE-2020-11912", Resolved, None),
    ("CVE-2020-11913", NotAffected, Some("IPv6 is not supported and code is not present.")),
    ("CVE-2020-11914", Resolved, None),
];

    #[test]
    fn csaf_use_case_3_multiple_statuses() {
        let d = load("csaf-vex-2022-evd-uc-03-ms-001.json");
        assert_eq!(d.id, "2022-EVD-UC-03-MS-001");
        assert_eq!(d.statements.len(), 19);
        for (s, (cve, state, detail)) in d.statements.iter().zip(RIPPLE20) {
            assert_eq!(s.vulnerability, cve);
            assert_eq!(s.state, state, "{cve}");
            // No flags in this document: no machine-readable justification.
            assert_eq!(s.justification, None, "{cve}");
            assert_eq!(s.detail.as_deref(), detail, "{cve}");
            let responses: &[Response] = if state == Exploitable {
                &[Response::CanNotFix]
            } else {
                &[]
            };
            assert_eq!(s.responses, responses, "{cve}");
            assert_eq!(
                s.products,
                vec![product(vec![name("GHI", Some("17.4"))])],
                "{cve}"
            );
            assert_eq!(s.timestamp, time("2022-03-03T11:00:00Z"));
        }
    }

    #[test]
    fn csaf_secvisogram_flags() {
        let d = load("csaf-vex-sec-vex-2022-0001.json");
        assert_eq!(d.id, "SEC-VEX-2022-0001");
        assert_eq!(d.author.as_deref(), Some("Secvisogram"));
        let ids: Vec<&str> = d
            .statements
            .iter()
            .map(|s| s.vulnerability.as_str())
            .collect();
        assert_eq!(ids, ["CVE-2021-44228", "CVE-2021-45046", "CVE-2021-45105"]);
        for s in &d.statements {
            assert_eq!(s.state, NotAffected);
            assert_eq!(s.justification, Some(CodeNotPresent));
            assert_eq!(
                s.detail.as_deref(),
                Some(
                    "Secvisogram is written in JavaScript. No Java is included.\nCSAF flag: component_not_present"
                )
            );
            // A product_version_range is kept as written: it names no concrete version.
            assert_eq!(
                s.products,
                vec![product(vec![name("Secvisogram", Some("<=1.14.0"))])]
            );
            assert_eq!(s.timestamp, time("2022-05-27T10:00:00Z"));
        }
    }

    #[test]
    fn csaf_go_vex_testdata() {
        let d = load("csaf-vex-go-vex-testdata.json");
        // Product CSAFPID-0001 carries a purl helper (an invalid purl, kept as written);
        // "ABC:CSAFPID-0002" is not in the tree (the relationship defines "ABC:INTERNAL-0002",
        // relating to "ABC", which is no product id): its statements have no product.
        let p1 = vec![product(vec![purl("pkg:maven/@1.3.4")])];
        let s = &d.statements;
        assert_eq!(s.len(), 4);
        assert_eq!(
            (s[0].vulnerability.as_str(), s[0].state, &s[0].products),
            ("CVE-2009-4487", NotAffected, &p1)
        );
        assert_eq!(
            s[0].detail.as_deref(),
            Some("Class with vulnerable code was removed before shipping.")
        );
        assert_eq!(
            (s[1].vulnerability.as_str(), s[1].state),
            ("CVE-2009-4487", Exploitable)
        );
        assert!(s[1].products.is_empty());
        assert_eq!(
            (s[2].vulnerability.as_str(), s[2].state, &s[2].products),
            ("CVE-2009-4488", NotAffected, &p1)
        );
        assert_eq!(s[2].responses, vec![Response::WorkaroundAvailable]);
        assert_eq!(
            s[2].detail.as_deref(),
            Some(
                "Class with vulnerable code was removed before shipping.\nConfigure a reverse proxy to limit the size of POST request bodies to 1000 bytes before forwarding them to the vulnerable application."
            )
        );
        assert_eq!((s[3].state, s[3].products.len()), (Exploitable, 0));
        assert!(s.iter().all(|s| s.justification.is_none()));
    }

    #[test]
    fn csaf_relationship_from_a_real_document() {
        // The go-vex fixture with its relationship pointed at a real product: "go-homedir 1.0.0
        // inside product CSAFPID-0001".
        let mut v = json("csaf-vex-go-vex-testdata.json");
        v["product_tree"]["relationships"][0]["relates_to_product_reference"] =
            "CSAFPID-0001".into();
        v["vulnerabilities"][0]["product_status"]["known_affected"] =
            serde_json::json!(["ABC:INTERNAL-0002"]);
        let d = parse(v.to_string().as_bytes()).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(d.statements[1].state, Exploitable);
        assert_eq!(
            d.statements[1].products,
            vec![Product {
                ids: vec![purl("pkg:maven/@1.3.4")],
                subcomponents: vec![vec![purl("pkg:golang/github.com/go-homedir@v1.0.0")]],
            }]
        );
    }

    #[test]
    fn csaf_that_is_not_the_vex_profile_is_refused() {
        let mut v = json("csaf-vex-2022-evd-uc-01-na-001.json");
        v["document"]["category"] = "csaf_security_advisory".into();
        assert_eq!(
            parse(v.to_string().as_bytes()),
            Err(VexError::NotVexProfile("csaf_security_advisory".into()))
        );
    }

    // ---------------------------------------------------------------------------------------------
    // CycloneDX

    #[test]
    fn cyclonedx_cisa_case_3_agrees_with_the_csaf_rendering() {
        let raw = bytes("cdx-vex-cisa-case-3.json");
        let d = load("cdx-vex-cisa-case-3.json");
        assert_eq!(d.format, VexFormat::Cyclonedx);
        // No serialNumber: the SHA-256 of the bytes.
        assert_eq!(d.id, format!("{:x}", Sha256::digest(&raw)));
        assert_eq!(d.timestamp, Some(time("2022-03-03T00:00:00Z")));
        assert_eq!(d.statements.len(), 19);
        for (s, (cve, state, detail)) in d.statements.iter().zip(RIPPLE20) {
            assert_eq!(s.vulnerability, cve);
            assert_eq!(s.state, state, "{cve}");
            let j = (state == NotAffected).then_some(CodeNotPresent);
            assert_eq!(s.justification, j, "{cve}");
            // The CycloneDX rendering carries the detail on the statement itself.
            if state != Exploitable {
                assert_eq!(s.detail.as_deref(), detail, "{cve}");
            }
            assert!(s.responses.is_empty());
            // affects[].ref = metadata.component's bom-ref.
            assert_eq!(s.products, vec![product(vec![name("GHI", Some("17.4"))])]);
            assert_eq!(
                s.timestamp,
                time("2022-03-03T00:00:00Z"),
                "metadata.timestamp"
            );
        }
    }

    #[test]
    fn cyclonedx_cisa_case_8_bom_links_and_versions() {
        let d = load("cdx-vex-cisa-case-8.json");
        let abc = |v: &str| name("product-ABC", Some(v));
        let jkl = |v: &str| name("product-JKL", Some(v));
        let s = &d.statements;
        let got: Vec<(&str, AnalysisState, Vec<Product>)> = s
            .iter()
            .map(|s| (s.vulnerability.as_str(), s.state, s.products.clone()))
            .collect();
        // vers: ranges are not representable and left out; exact versions narrow the product.
        assert_eq!(
            got,
            vec![
                (
                    "CVE-2021-44228",
                    Exploitable,
                    vec![product(vec![abc("2.4"), abc("2.6")])]
                ),
                (
                    "CVE-2021-44228",
                    NotAffected,
                    vec![product(vec![abc("2.5"), abc("4.2")])]
                ),
                ("CVE-2021-44228", NotAffected, vec![]),
                (
                    "CVE-2021-44228",
                    Resolved,
                    vec![product(vec![jkl("5.1"), jkl("5.2")])]
                ),
                (
                    "CVE-2021-45105",
                    Exploitable,
                    vec![
                        product(vec![abc("2.4"), abc("2.6")]),
                        product(vec![jkl("5.1")])
                    ]
                ),
                (
                    "CVE-2021-45105",
                    NotAffected,
                    vec![
                        product(vec![abc("2.5"), abc("4.2")]),
                        product(vec![jkl("5.2")])
                    ]
                ),
                ("CVE-2021-45105", NotAffected, vec![]),
                ("CVE-2021-45105", Resolved, vec![product(vec![jkl("5.2")])]),
            ]
        );
        for st in s {
            let j = (st.state == NotAffected).then_some(CodeNotPresent);
            assert_eq!(st.justification, j);
            assert_eq!(st.timestamp, DateTime::UNIX_EPOCH, "no date anywhere");
        }
        assert_eq!(s[0].responses, vec![Response::WillNotFix, Response::Update]);
        assert_eq!(s[1].responses, vec![Response::WillNotFix]);
        assert_eq!(
            s[3].detail.as_deref(),
            Some("This version of Product JKL has been fixed.")
        );
    }

    #[test]
    fn cyclonedx_standalone_with_bom_link_purl() {
        let d = load("cdx-vex-standalone.json");
        assert_eq!(d.statements.len(), 1);
        let s = &d.statements[0];
        assert_eq!(s.vulnerability, "CVE-2020-25649");
        assert_eq!(s.aliases, vec!["SNYK-JAVA-COMFASTERXMLJACKSONCORE-1048302"]);
        assert_eq!(
            (s.state, s.justification),
            (NotAffected, Some(CodeNotReachable))
        );
        assert_eq!(s.responses, vec![Response::WillNotFix, Response::Update]);
        assert_eq!(
            s.detail.as_deref(),
            Some(
                "Automated dataflow analysis and manual code review indicates that the vulnerable code is not reachable, either directly or indirectly."
            )
        );
        let jackson = "pkg:maven/com.fasterxml.jackson.core/jackson-databind@2.10.0?type=jar";
        assert_eq!(s.products, vec![product(vec![purl(jackson)])]);
        // The SBOM it refers to names that component by that purl.
        let bom = json("cdx-vex-standalone-bom.json");
        let comp_purls: Vec<&str> = bom["components"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|c| c["purl"].as_str())
            .collect();
        assert!(comp_purls.contains(&jackson), "{comp_purls:?}");
        let app = target(
            "pkg:maven/com.example/example-app@1.0.0?type=jar",
            "example-app",
        );
        assert!(covers(
            &s.products[0],
            &app,
            &target(jackson, "jackson-databind")
        ));
        assert!(!covers(
            &s.products[0],
            &app,
            &target(
                "pkg:maven/com.fasterxml.jackson.core/jackson-databind@2.10.5.1?type=jar",
                "jackson-databind"
            )
        ));
    }

    #[test]
    fn cyclonedx_standalone_bom_is_an_sbom_1_3() {
        // CycloneDX 1.3 has no vulnerabilities: refused, with the reason.
        match parse(&bytes("cdx-vex-standalone-bom.json")) {
            Err(VexError::Invalid { path, reason }) => {
                assert_eq!(path, "specVersion");
                assert!(reason.contains("1.3"), "{reason}");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn cyclonedx_use_case_12() {
        let d = load("cdx-vex-use-case-12.json");
        let acme = vec![product(vec![name("Acme Product", Some("2.2.0"))])];
        let got: Vec<_> = d
            .statements
            .iter()
            .map(|s| {
                (
                    s.vulnerability.as_str(),
                    s.state,
                    s.justification,
                    s.responses.clone(),
                    &s.products,
                )
            })
            .collect();
        let r = vec![Response::WillNotFix, Response::Update];
        assert_eq!(
            got,
            vec![
                (
                    "CVE-2020-25649",
                    NotAffected,
                    Some(CodeNotReachable),
                    r.clone(),
                    &acme
                ),
                ("CVE-2020-35491", Exploitable, None, r.clone(), &acme),
                (
                    "CVE-2020-14195",
                    NotAffected,
                    Some(ProtectedByMitigatingControl),
                    r,
                    &acme
                ),
            ]
        );
        assert_eq!(
            d.statements[1].detail.as_deref(),
            Some("Update to Acme Product v2.4.0 or higher")
        );
        assert!(
            d.statements
                .iter()
                .all(|s| s.timestamp == time("2022-01-13T00:00:00Z"))
        );
        let acme_t = Target {
            purl: None,
            cpe: None,
            name: "acme product",
            version: Some("2.2.0"),
        };
        assert!(identifier_matches(&acme[0].ids[0], &acme_t));
    }

    // ---------------------------------------------------------------------------------------------
    // Every document

    #[test]
    fn truncated_documents_are_refused() {
        for name in ALL {
            let b = bytes(name);
            for cut in [b.len() / 2, b.len() - 2] {
                match parse(&b[..cut]) {
                    Err(VexError::Json(_)) => {}
                    other => panic!("{name} cut at {cut}: {other:?}"),
                }
            }
        }
        assert!(matches!(parse(b""), Err(VexError::Json(_))));
        assert!(matches!(
            parse(b"{\"hello\": 1}"),
            Err(VexError::UnknownFormat(_))
        ));
    }

    /// Each document's statements, through the parser and then the exporter, come back with the
    /// same states, justifications and coverage (for documents whose products are purls).
    #[test]
    fn real_statements_survive_an_export_round_trip() {
        let d = load("openvex-rancher-sachet-golang-x-net.openvex.json");
        let asset = ExportAsset {
            name: "sachet".into(),
            version: None,
            purl: Some(SACHET.into()),
        };
        let items: Vec<ExportItem> = d
            .statements
            .iter()
            .map(|s| {
                let Identifier::Purl(sub) = &s.products[0].subcomponents[0][0] else {
                    panic!("not a purl")
                };
                ExportItem {
                    vulnerability: s.vulnerability.clone(),
                    aliases: s.aliases.clone(),
                    component_name: sub.clone(),
                    component_version: None,
                    component_purl: Some(sub.clone()),
                    state: s.state,
                    justification: s.justification,
                    responses: s.responses.clone(),
                    detail: s.detail.clone(),
                    first_issued: s.timestamp,
                    last_updated: s.timestamp,
                }
            })
            .collect();
        let now = time("2026-08-01T00:00:00Z");
        let ov = export::openvex(&asset, &items, "Rampart", now);
        let back = parse(ov.to_string().as_bytes()).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(back.statements.len(), 27);
        for (a, b) in d.statements.iter().zip(&back.statements) {
            assert_eq!(
                (
                    &a.vulnerability,
                    &a.aliases,
                    a.state,
                    a.justification,
                    a.timestamp
                ),
                (
                    &b.vulnerability,
                    &b.aliases,
                    b.state,
                    b.justification,
                    b.timestamp
                )
            );
            assert_eq!(a.products, b.products);
            assert_eq!(a.detail, b.detail);
        }
        let cdx = export::cyclonedx(&asset, &items, now);
        let back = parse(cdx.to_string().as_bytes()).unwrap_or_else(|e| panic!("{e}"));
        for (a, b) in d.statements.iter().zip(&back.statements) {
            assert_eq!((a.state, a.justification), (b.state, b.justification));
            assert_eq!(
                b.products,
                vec![product(a.products[0].subcomponents[0].clone())]
            );
        }
    }
}
