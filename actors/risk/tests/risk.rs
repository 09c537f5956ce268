//! Risk analysis domain logic on real public data (see /work/shared/data/SOURCES.md).

use std::cmp::Ordering;
use std::collections::{BTreeMap, HashSet};

use rampart_risk::feeds::VulnerabilityFeed;
use rampart_risk::feeds::kev::parse_kev;
use rampart_risk::feeds::nvd::parse_nvd;
use rampart_risk::feeds::osv::{ZipLimits, osv_feed, parse_osv, parse_osv_zip};
use rampart_risk::matching::{Confidence, VulnIndex, range_contains};
use rampart_risk::purl::package_from_purl;
use rampart_risk::scoring::{Level, RiskInput, score_risk, score_vulnerability};
use rampart_risk::store::FeedInput;
use rampart_risk::version::{
    Ecosystem, compare, compare_debian, compare_maven, compare_pypi, compare_rubygems,
    compare_semver,
};
use rampart_risk::{CvssVector, Event, FeedError, Range, RangeKind, Vulnerability};

macro_rules! data {
    ($p:literal) => {
        concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/data/", $p)
    };
}

fn read(path: &str) -> Vec<u8> {
    std::fs::read(path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn ghsa_records() -> Vec<Vulnerability> {
    let dir = data!("osv/ghsa");
    let mut out = Vec::new();
    let mut paths: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    paths.sort();
    for p in paths {
        out.extend(parse_osv(&std::fs::read(&p).unwrap()).unwrap());
    }
    out
}

fn go_feed() -> VulnerabilityFeed {
    parse_osv_zip(&read(data!("osv/Go/all.zip")), &ZipLimits::default()).unwrap()
}

fn ids(findings: &[rampart_risk::matching::Finding<'_>]) -> Vec<String> {
    findings
        .iter()
        .map(|f| f.vulnerability.id.clone())
        .collect()
}

// ------------------------------------------------------------------------------------------
// Feeds

#[test]
fn kev_catalog_parses() {
    let kev = parse_kev(&read(data!("kev/known_exploited_vulnerabilities.json"))).unwrap();
    assert_eq!(kev.entries.len(), 1404);
    assert_eq!(kev.count, 1404);
    assert_eq!(kev.catalog_version, "2025.08.25");
    assert!(kev.contains("CVE-2022-22965"));
    assert!(kev.contains("CVE-2021-44228"));
    assert!(!kev.contains("CVE-2021-44229"));
    let log4shell = kev.get("CVE-2021-44228").unwrap();
    assert_eq!(log4shell.vendor_project, "Apache");
    let fp = kev.fingerprint();
    assert_eq!(fp.version, "2025.08.25");
    assert_eq!(fp.count, 1404);
    // Same bytes -> same fingerprint (no in-process hashing).
    let again = parse_kev(&read(data!("kev/known_exploited_vulnerabilities.json"))).unwrap();
    assert_eq!(again.fingerprint(), fp);
}

#[test]
fn osv_go_all_zip_parses() {
    let feed = go_feed();
    assert_eq!(feed.records.len(), 4291);
    assert!(feed.records.iter().all(|r| r.id.starts_with("GO-")));
    let fp = feed.fingerprint();
    assert_eq!(fp.count, 4291);
    let newest = feed.records.iter().map(|r| r.modified).max().unwrap();
    assert_eq!(fp.version, newest.to_rfc3339());
    // Incremental: with every record known at its current `modified`, nothing changed.
    let mut previous: std::collections::HashMap<_, _> = feed
        .records
        .iter()
        .map(|r| (r.id.clone(), r.modified))
        .collect();
    assert_eq!(feed.changed_since(&previous).count(), 0);
    let first = feed.records[0].id.clone();
    previous.remove(&first);
    let changed: Vec<_> = feed
        .changed_since(&previous)
        .map(|r| r.id.clone())
        .collect();
    assert_eq!(changed, vec![first]);
}

#[test]
fn osv_ghsa_records_parse() {
    let records = ghsa_records();
    assert_eq!(records.len(), 5);
    let spring = records
        .iter()
        .find(|r| r.id == "GHSA-36p3-wjmg-h94x")
        .unwrap();
    assert_eq!(spring.aliases, vec!["CVE-2022-22965".to_owned()]);
    assert_eq!(spring.cvss[0].version, "3.1");
    assert_eq!(spring.cvss[0].base_score, Some(9.8));
    assert!(!spring.affected.is_empty());
    // An array of records parses too.
    let mut array = b"[".to_vec();
    array.extend(read(data!("osv/ghsa/GHSA-35jh-r3h4-6jhm.json")));
    array.push(b',');
    array.extend(read(data!("osv/ghsa/GHSA-xvch-5gv4-984h.json")));
    array.push(b']');
    assert_eq!(parse_osv(&array).unwrap().len(), 2);
    assert_eq!(osv_feed(records).fingerprint().count, 5);
}

#[test]
fn nvd_merged_response_parses() {
    let feed = parse_nvd(&read(data!("nvd/nvd-cve-api-2.0-merged.json"))).unwrap();
    assert_eq!(feed.records.len(), 88);
    let httpd = feed
        .records
        .iter()
        .find(|r| r.id == "CVE-2021-41773")
        .unwrap();
    assert!(httpd.cwes.contains(&"CWE-22".to_owned()));
    assert!(httpd.cvss.iter().any(|c| c.version == "3.1"));
    assert!(httpd.cpe_matches.iter().any(|m| m.vulnerable));
    assert_eq!(
        feed.records
            .iter()
            .filter(|r| r.cvss.iter().any(|c| c.version == "4.0"))
            .count(),
        1
    );
    // Bare `cve` object (fkie) parses as one record.
    let bare = parse_nvd(&read(data!("nvd/fkie/CVE-2021-23017.json"))).unwrap();
    assert_eq!(bare.records.len(), 1);
    assert_eq!(bare.records[0].id, "CVE-2021-23017");
}

// ------------------------------------------------------------------------------------------
// Matching (OSV)

#[test]
fn maven_npm_findings_on_ghsa_records() {
    let records = ghsa_records();
    let index = VulnIndex::new(&records);
    let f = index
        .match_purl("pkg:maven/org.springframework/spring-beans@4.3.19.RELEASE")
        .unwrap();
    assert_eq!(ids(&f), vec!["GHSA-36p3-wjmg-h94x"]);
    assert_eq!(f[0].confidence, Confidence::High);
    assert!(f[0].vulnerability.cve_ids().any(|c| c == "CVE-2022-22965"));
    assert!(
        index
            .match_purl("pkg:maven/org.springframework/spring-beans@5.3.18")
            .unwrap()
            .is_empty()
    );

    let log4j_api = index
        .match_purl("pkg:maven/org.apache.logging.log4j/log4j-api@2.10.0")
        .unwrap();
    assert!(!ids(&log4j_api).contains(&"GHSA-jfh8-c2jp-5v3q".to_owned()));
    let log4j_core = index
        .match_purl("pkg:maven/org.apache.logging.log4j/log4j-core@2.10.0")
        .unwrap();
    assert!(ids(&log4j_core).contains(&"GHSA-jfh8-c2jp-5v3q".to_owned()));

    let text = |v: &str| {
        ids(&index
            .match_purl(&format!("pkg:maven/org.apache.commons/commons-text@{v}"))
            .unwrap())
    };
    assert!(!text("1.2").contains(&"GHSA-599f-7c49-w659".to_owned()));
    assert!(text("1.9").contains(&"GHSA-599f-7c49-w659".to_owned()));
    assert!(!text("1.10.0").contains(&"GHSA-599f-7c49-w659".to_owned()));

    let lodash = |v: &str| ids(&index.match_purl(&format!("pkg:npm/lodash@{v}")).unwrap());
    assert!(lodash("4.17.20").contains(&"GHSA-35jh-r3h4-6jhm".to_owned()));
    assert!(!lodash("4.17.21").contains(&"GHSA-35jh-r3h4-6jhm".to_owned()));

    let minimist = |v: &str| ids(&index.match_purl(&format!("pkg:npm/minimist@{v}")).unwrap());
    assert!(minimist("0.2.3").contains(&"GHSA-xvch-5gv4-984h".to_owned()));
    assert!(minimist("1.2.5").contains(&"GHSA-xvch-5gv4-984h".to_owned()));
    assert!(!minimist("1.2.6").contains(&"GHSA-xvch-5gv4-984h".to_owned()));
    assert!(!minimist("0.2.4").contains(&"GHSA-xvch-5gv4-984h".to_owned()));
}

#[test]
fn purl_to_osv_names() {
    let p = package_from_purl("pkg:maven/org.springframework/spring-beans@4.3.19.RELEASE").unwrap();
    assert_eq!(
        (p.ecosystem, p.name.as_str()),
        (Ecosystem::Maven, "org.springframework:spring-beans")
    );
    let p = package_from_purl("pkg:golang/golang.org/x/net@v0.0.0-20210405180319-a5a99cb37ef4")
        .unwrap();
    assert_eq!(
        (p.ecosystem, p.name.as_str()),
        (Ecosystem::Go, "golang.org/x/net")
    );
    let p = package_from_purl("pkg:npm/%40angular/core@9.1.0").unwrap();
    assert_eq!(p.name, "@angular/core");
    let p = package_from_purl("pkg:composer/laravel/framework@v7.12.0").unwrap();
    assert_eq!(
        (p.ecosystem, p.name.as_str()),
        (Ecosystem::Packagist, "laravel/framework")
    );
    let p = package_from_purl("pkg:pypi/Django_Rest.Framework@3.0").unwrap();
    assert_eq!(p.name, "django-rest-framework");
    let p = package_from_purl("pkg:deb/debian/openssl@1.1.1d-0+deb10u2?distro=debian-10").unwrap();
    assert_eq!(
        (p.ecosystem, p.name.as_str()),
        (Ecosystem::Debian, "openssl")
    );
    assert_eq!(
        package_from_purl("pkg:cargo/tokio@1.19.2")
            .unwrap()
            .ecosystem,
        Ecosystem::CratesIo
    );
    assert_eq!(
        package_from_purl("pkg:gem/rack@2.0.0").unwrap().ecosystem,
        Ecosystem::RubyGems
    );
    assert!(package_from_purl("not a purl").is_err());
    assert!(package_from_purl("pkg:npm/lodash").is_err());
}

/// golang purls (module path, version) of the proton-bridge SBOM, nested components included.
fn proton_bridge_modules() -> Vec<(String, String)> {
    let sbom: serde_json::Value =
        serde_json::from_slice(&read(data!("sbom/proton-bridge-1.8.0.cdx.json"))).unwrap();
    fn walk(v: &serde_json::Value, out: &mut Vec<String>) {
        for c in v["components"].as_array().into_iter().flatten() {
            if let Some(p) = c["purl"].as_str() {
                out.push(p.to_owned());
            }
            walk(c, out);
        }
    }
    let mut purls = Vec::new();
    walk(&sbom, &mut purls);
    purls
        .iter()
        .filter_map(|p| p.strip_prefix("pkg:golang/"))
        .filter_map(|p| p.split_once('@'))
        .map(|(m, v)| (m.to_owned(), v.split('?').next().unwrap_or(v).to_owned()))
        .collect()
}

#[test]
fn go_pseudo_versions_order_by_semver() {
    // golang.org/x/net in proton-bridge is a pseudo-version of 2021-04-05.
    let modules = proton_bridge_modules();
    let net = &modules
        .iter()
        .find(|(m, _)| m == "golang.org/x/net")
        .unwrap()
        .1;
    assert!(net.starts_with("v0.0.0-20210405"));
    let feed = go_feed();
    let fixed_of = |id: &str| -> String {
        let r = feed.records.iter().find(|r| r.id == id).unwrap();
        let a = r
            .affected
            .iter()
            .find(|a| a.package == "golang.org/x/net")
            .unwrap();
        assert_eq!(a.ranges[0].kind, RangeKind::Semver);
        a.ranges[0]
            .events
            .iter()
            .find_map(|e| match e {
                Event::Fixed(v) => Some(v.clone()),
                _ => None,
            })
            .unwrap()
    };
    // GO-2021-0238 fixed at a 2021-05-20 pseudo-version: proton-bridge's is before it.
    let later = fixed_of("GO-2021-0238");
    assert_eq!(compare_semver(net, &later), Ordering::Less);
    // GO-2020-0014 fixed at a 2019-01-25 pseudo-version: proton-bridge's is after it.
    let earlier = fixed_of("GO-2020-0014");
    assert_eq!(compare_semver(net, &earlier), Ordering::Greater);
    // A 2019 pseudo-version is before a 2020 one; a pseudo-version v0.3.5-0.2020… (based on
    // v0.3.4) is before v0.3.5 and after v0.3.4.
    assert_eq!(
        compare(
            &Ecosystem::Go,
            "v0.0.0-20191204190536-9bdfabe68543",
            "0.0.0-20200622213623-75b288015ac9"
        ),
        Ordering::Less
    );
    assert_eq!(
        compare_semver("v0.3.5-0.20201125200606-c27b9fd57aec", "0.3.5"),
        Ordering::Less
    );
    assert_eq!(
        compare_semver("v0.3.5-0.20201125200606-c27b9fd57aec", "0.3.4"),
        Ordering::Greater
    );

    let index = VulnIndex::new(&feed.records);
    let found = ids(&index
        .match_purl(&format!("pkg:golang/golang.org/x/net@{net}"))
        .unwrap());
    assert!(found.contains(&"GO-2021-0238".to_owned()));
    assert!(!found.contains(&"GO-2020-0014".to_owned()));
}

/// Independent evaluation of a Go SEMVER range: events walked in semver order with the OSV
/// rules, using the semver crate directly.
fn independent_affected(version: &str, events: &[Event]) -> bool {
    let parse = |v: &str| semver::Version::parse(v.trim_start_matches('v')).unwrap();
    let v = parse(version);
    let mut evs: Vec<&Event> = events.iter().collect();
    // `introduced: "0"` sorts before everything, including pre-releases of 0.0.0 such as the
    // pseudo-version 0.0.0-20190125091013-d26f9f9a57f3.
    let zero = |e: &Event| matches!(e, Event::Introduced(v) if v == "0");
    evs.sort_by(|a, b| match (zero(a), zero(b)) {
        (true, true) => Ordering::Equal,
        (true, false) => Ordering::Less,
        (false, true) => Ordering::Greater,
        _ => parse(a.version()).cmp_precedence(&parse(b.version())),
    });
    let mut affected = false;
    for e in evs {
        match e {
            Event::Introduced(i) => {
                if i == "0" || v.cmp_precedence(&parse(i)) != Ordering::Less {
                    affected = true;
                }
            }
            Event::Fixed(f) => {
                if v.cmp_precedence(&parse(f)) != Ordering::Less {
                    affected = false;
                }
            }
            Event::LastAffected(l) => {
                if v.cmp_precedence(&parse(l)) == Ordering::Greater {
                    affected = false;
                }
            }
            Event::Limit(_) => {}
        }
    }
    affected
}

#[test]
fn proton_bridge_has_real_findings() {
    let feed = go_feed();
    let modules = proton_bridge_modules();
    assert!(modules.len() > 150);
    // Independent computation: brute force over all records.
    let mut expected: HashSet<(String, String)> = HashSet::new();
    for (module, version) in &modules {
        for r in &feed.records {
            for a in r.affected.iter().filter(|a| &a.package == module) {
                if a.ranges
                    .iter()
                    .filter(|rg| rg.kind == RangeKind::Semver)
                    .any(|rg| independent_affected(version, &rg.events))
                {
                    expected.insert((module.clone(), r.id.clone()));
                }
            }
        }
    }
    assert!(!expected.is_empty());
    assert!(expected.contains(&("golang.org/x/sys".to_owned(), "GO-2022-0493".to_owned())));
    assert!(expected.contains(&("golang.org/x/text".to_owned(), "GO-2021-0113".to_owned())));
    assert!(!expected.contains(&("golang.org/x/text".to_owned(), "GO-2020-0015".to_owned())));
    // The index finds exactly the same.
    let index = VulnIndex::new(&feed.records);
    let mut actual = HashSet::new();
    for (module, version) in &modules {
        for f in index
            .match_purl(&format!("pkg:golang/{module}@{version}"))
            .unwrap()
        {
            actual.insert((module.clone(), f.vulnerability.id.clone()));
        }
    }
    assert_eq!(actual, expected);
}

#[test]
fn osv_range_semantics() {
    let range = |events: Vec<Event>| Range {
        kind: RangeKind::Ecosystem,
        events,
    };
    let r = range(vec![
        Event::Introduced("1.0.0".into()),
        Event::LastAffected("1.2.0".into()),
        Event::Introduced("0".into()),
        Event::Fixed("0.5.0".into()),
    ]);
    let eco = Ecosystem::Npm;
    assert_eq!(range_contains(&r, &eco, "0.4.9"), Some(true));
    assert_eq!(range_contains(&r, &eco, "0.5.0"), Some(false));
    assert_eq!(range_contains(&r, &eco, "1.0.0"), Some(true));
    assert_eq!(range_contains(&r, &eco, "1.2.0"), Some(true));
    assert_eq!(range_contains(&r, &eco, "1.2.1"), Some(false));
    let limited = range(vec![
        Event::Introduced("0".into()),
        Event::Limit("2.0.0".into()),
    ]);
    assert_eq!(range_contains(&limited, &eco, "1.9.9"), Some(true));
    assert_eq!(range_contains(&limited, &eco, "2.0.0"), Some(false));
    let git = Range {
        kind: RangeKind::Git,
        events: vec![Event::Introduced("0".into())],
    };
    assert_eq!(range_contains(&git, &eco, "1.0.0"), None);
}

// ------------------------------------------------------------------------------------------
// Matching (NVD CPE)

#[test]
fn nvd_cpe_matching() {
    let feed = parse_nvd(&read(data!("nvd/nvd-cve-api-2.0-merged.json"))).unwrap();
    let index = VulnIndex::new(&feed.records);
    let httpd = |v: &str| {
        ids(&index
            .match_cpe(&format!("cpe:2.3:a:apache:http_server:{v}:*:*:*:*:*:*:*"))
            .unwrap())
    };
    assert!(httpd("2.4.49").contains(&"CVE-2021-41773".to_owned()));
    assert!(!httpd("2.4.51").contains(&"CVE-2021-41773".to_owned()));

    let nginx = |v: &str| {
        ids(&index
            .match_cpe(&format!("cpe:2.3:a:f5:nginx:{v}:*:*:*:*:*:*:*"))
            .unwrap())
    };
    assert!(nginx("0.6.18").contains(&"CVE-2021-23017".to_owned()));
    assert!(nginx("1.20.0").contains(&"CVE-2021-23017".to_owned()));
    assert!(!nginx("1.20.1").contains(&"CVE-2021-23017".to_owned()));
    assert!(!nginx("0.6.17").contains(&"CVE-2021-23017".to_owned()));
    // The CPE 2.2 URI binding nmap writes is unbound to the same name.
    assert!(
        ids(&index.match_cpe("cpe:/a:apache:http_server:2.4.49").unwrap())
            .contains(&"CVE-2021-41773".to_owned())
    );
    // nmap's fullscan.xml (../shared/data/scans): Linux 2.6.13 is within CVE-2017-7542's
    // `versionEndIncluding 4.12.3`; OpenSSH 5.9p1 is outside both of CVE-2024-6387's ranges
    // (< 4.4 and 8.6 .. < 9.8); a kernel of unknown version is not flagged on a version range.
    let of = |cpe: &str| ids(&index.match_cpe(cpe).unwrap());
    assert!(of("cpe:/o:linux:linux_kernel:2.6.13").contains(&"CVE-2017-7542".to_owned()));
    assert!(!of("cpe:/o:linux:linux_kernel:4.13").contains(&"CVE-2017-7542".to_owned()));
    assert!(!of("cpe:/a:openbsd:openssh:5.9p1").contains(&"CVE-2024-6387".to_owned()));
    assert!(of("cpe:/a:openbsd:openssh:9.7").contains(&"CVE-2024-6387".to_owned()));
    assert!(!of("cpe:/o:linux:linux_kernel").contains(&"CVE-2017-7542".to_owned()));
    assert!(index.match_cpe("cpe:/x:vendor:product").is_err());
    assert!(index.match_cpe("cpe:/a:b:c:1:2:3:4:5").is_err());
}

// ------------------------------------------------------------------------------------------
// Versions

#[test]
fn maven_ordering() {
    let chain = ["1.0-alpha", "1.0-beta", "1.0-rc", "1.0", "1.0-sp"];
    for w in chain.windows(2) {
        assert_eq!(
            compare_maven(w[0], w[1]),
            Ordering::Less,
            "{} < {}",
            w[0],
            w[1]
        );
    }
    assert_eq!(compare_maven("4.3.19.RELEASE", "4.3.19"), Ordering::Equal);
    assert_eq!(compare_maven("1.0-cr1", "1.0-rc1"), Ordering::Equal);
    assert_eq!(compare_maven("1.0-alpha1", "1.0-a1"), Ordering::Equal);
    assert_eq!(compare_maven("1.0-milestone", "1.0-rc"), Ordering::Less);
    assert_eq!(compare_maven("1.0-SNAPSHOT", "1.0"), Ordering::Less);
    assert_eq!(compare_maven("1.0-rc", "1.0-SNAPSHOT"), Ordering::Less);
    assert_eq!(compare_maven("1.0.0", "1"), Ordering::Equal);
    assert_eq!(compare_maven("1.0-GA", "1.0-final"), Ordering::Equal);
    assert_eq!(
        compare_maven("4.3.19.RELEASE", "5.2.20.RELEASE"),
        Ordering::Less
    );
    assert_eq!(compare_maven("2.10.0", "2.9.1"), Ordering::Greater);
    assert_eq!(compare_maven("1.2", "1.10.0"), Ordering::Less);
}

#[test]
fn debian_ordering() {
    assert_eq!(
        compare_debian("1.1.1d-0+deb10u2", "1.1.1n-0+deb10u3"),
        Ordering::Less
    );
    assert_eq!(
        compare_debian("1.1.1d-0+deb10u3", "1.1.1d-0+deb10u2"),
        Ordering::Greater
    );
    assert_eq!(compare_debian("1.0~rc1", "1.0"), Ordering::Less);
    assert_eq!(compare_debian("1.0~rc1", "1.0~rc1~1"), Ordering::Greater);
    assert_eq!(compare_debian("1:0.9", "2.0"), Ordering::Greater);
    assert_eq!(compare_debian("0:1.0", "1.0"), Ordering::Equal);
    assert_eq!(compare_debian("1.0-1", "1.0"), Ordering::Greater);
    assert_eq!(compare_debian("1.0a", "1.0+"), Ordering::Less);
    assert_eq!(compare_debian("2.30-9", "2.30-10"), Ordering::Less);
    assert_eq!(
        compare(&Ecosystem::from_osv("Debian:10"), "1.0~b1", "1.0"),
        Ordering::Less
    );
}

#[test]
fn pypi_ordering() {
    let chain = [
        "1.0.dev1",
        "1.0a1",
        "1.0a2",
        "1.0b1",
        "1.0rc1",
        "1.0",
        "1.0.post1",
        "1.1",
        "1!0.5",
    ];
    for w in chain.windows(2) {
        assert_eq!(
            compare_pypi(w[0], w[1]),
            Ordering::Less,
            "{} < {}",
            w[0],
            w[1]
        );
    }
    assert_eq!(compare_pypi("1.0", "1.0.0"), Ordering::Equal);
    assert_eq!(compare_pypi("1.0-alpha.1", "1.0a1"), Ordering::Equal);
    assert_eq!(compare_pypi("2.10", "2.9"), Ordering::Greater);
}

#[test]
fn semver_and_other_orderings() {
    assert_eq!(compare_semver("v1.2.3", "1.2.3"), Ordering::Equal);
    assert_eq!(compare_semver("1.0.0-alpha", "1.0.0"), Ordering::Less);
    assert_eq!(
        compare_semver("1.0.0-alpha.1", "1.0.0-alpha.beta"),
        Ordering::Less
    );
    assert_eq!(compare_semver("4.17.20", "4.17.21"), Ordering::Less);
    assert_eq!(compare_semver("1.2", "1.2.0"), Ordering::Equal);
    assert_eq!(
        compare_semver("v2.0.0+incompatible", "2.0.0"),
        Ordering::Equal
    );
    assert_eq!(
        compare(&Ecosystem::Packagist, "v5.4", "5.4.1"),
        Ordering::Less
    );
    assert_eq!(compare_rubygems("1.0.a", "1.0"), Ordering::Less);
    assert_eq!(compare_rubygems("1.0", "1.0.0"), Ordering::Equal);
    assert_eq!(compare_rubygems("1.10", "1.9"), Ordering::Greater);
    assert_eq!(
        compare(&Ecosystem::from_osv("Hackage"), "2.4.49", "2.4.51"),
        Ordering::Less
    );
    assert!(!Ecosystem::from_osv("Hackage").is_known());
}

// ------------------------------------------------------------------------------------------
// Scoring: recomputed from the documented formula (scoring module docs).

fn metrics(vector: &str) -> BTreeMap<&str, &str> {
    vector
        .split('/')
        .skip(1)
        .filter_map(|m| m.split_once(':'))
        .collect()
}

/// The documented formula, re-implemented from the docs.
fn expected(vector: &str, kev: bool, epss: Option<f64>, criticality: u8) -> (u8, u8, u8, Level) {
    let m = metrics(vector);
    let v4 = vector.starts_with("CVSS:4.0/");
    let e = match m["AV"] {
        "N" => 3,
        "A" => 2,
        "L" => 1,
        _ => 0,
    } + u8::from(m["AC"] == "L" && (!v4 || m["AT"] == "N"))
        + match m["PR"] {
            "N" => 2,
            "L" => 1,
            _ => 0,
        }
        + u8::from(m["UI"] == "N");
    let mut l = [1, 1, 2, 2, 3, 3, 4, 5][usize::from(e)];
    if let Some(p) = epss {
        let floor = if p >= 0.5 {
            5
        } else if p >= 0.1 {
            4
        } else if p >= 0.01 {
            3
        } else {
            0
        };
        l = l.max(floor);
    }
    if kev {
        l = 5;
    }
    let keys = if v4 {
        ["VC", "VI", "VA"]
    } else {
        ["C", "I", "A"]
    };
    let s: u8 = keys
        .iter()
        .map(|k| match m[k] {
            "H" => 2,
            "L" => 1,
            _ => 0,
        })
        .sum();
    let t = [1, 2, 2, 3, 3, 4, 5][usize::from(s)];
    let i = (criticality + t).div_ceil(2);
    let score = l * i;
    let level = match score {
        1..=4 => Level::VeryLow,
        5..=9 => Level::Low,
        10..=14 => Level::Moderate,
        15..=19 => Level::High,
        _ => Level::VeryHigh,
    };
    (l, i, score, level)
}

fn check(score: &rampart_risk::scoring::RiskScore, want: (u8, u8, u8, Level)) {
    assert_eq!(score.likelihood.value(), want.0, "{:?}", score.rationale);
    assert_eq!(score.impact.value(), want.1, "{:?}", score.rationale);
    assert_eq!(score.score, want.2);
    assert_eq!(score.score, score.likelihood.value() * score.impact.value());
    assert_eq!(score.level, want.3);
    assert_eq!(Level::from_score(score.score), Some(score.level));
}

#[test]
fn spring4shell_kev_on_critical_asset() {
    let kev = parse_kev(&read(data!("kev/known_exploited_vulnerabilities.json"))).unwrap();
    let records = ghsa_records();
    let spring = records
        .iter()
        .find(|r| r.id == "GHSA-36p3-wjmg-h94x")
        .unwrap();
    let s = score_vulnerability(spring, Some(&kev), None, Level::VeryHigh);
    assert_eq!(s.likelihood, Level::VeryHigh);
    check(&s, expected(&spring.cvss[0].vector, true, None, 5));
    assert!(s.rationale.iter().any(|r| r.contains("KEV")));
    assert!(s.rationale.len() >= 4);
}

#[test]
fn low_exploitability_gives_lower_likelihood() {
    let v = "CVSS:3.1/AV:P/AC:H/PR:H/UI:R/S:U/C:L/I:N/A:N";
    let cvss = [CvssVector {
        version: "3.1".into(),
        vector: v.into(),
        base_score: None,
    }];
    let input = RiskInput {
        cvss: &cvss,
        in_kev: false,
        epss: None,
        asset_criticality: Level::Moderate,
    };
    let s = score_risk(&input);
    check(&s, expected(v, false, None, 3));
    assert!(s.likelihood < Level::VeryHigh);
    // EPSS raises it by band.
    let s = score_risk(&RiskInput {
        epss: Some(0.2),
        ..input
    });
    check(&s, expected(v, false, Some(0.2), 3));
    // KEV forces 5.
    let s = score_risk(&RiskInput {
        in_kev: true,
        ..input
    });
    assert_eq!(s.likelihood, Level::VeryHigh);
    check(&s, expected(v, true, None, 3));
}

#[test]
fn scores_all_nvd_vectors_by_the_documented_formula() {
    let kev = parse_kev(&read(data!("kev/known_exploited_vulnerabilities.json"))).unwrap();
    let feed = parse_nvd(&read(data!("nvd/nvd-cve-api-2.0-merged.json"))).unwrap();
    let mut checked = 0;
    for r in &feed.records {
        // The documented choice: highest version, first listed.
        let rank = |v: &str| match v {
            "4.0" => 3,
            "3.1" => 2,
            _ => 1,
        };
        let Some(best) = r.cvss.iter().fold(None::<&CvssVector>, |b, c| match b {
            Some(b) if rank(&b.version) >= rank(&c.version) => Some(b),
            _ => Some(c),
        }) else {
            continue;
        };
        let in_kev = kev.contains(&r.id);
        for crit in 1..=5 {
            let s = score_vulnerability(r, Some(&kev), None, Level::from_value(crit).unwrap());
            check(&s, expected(&best.vector, in_kev, None, crit));
            checked += 1;
        }
    }
    assert!(checked >= 5 * 80);
}

// ------------------------------------------------------------------------------------------
// Bad input

#[test]
fn bad_input_gives_clear_errors() {
    let kev_bytes = read(data!("kev/known_exploited_vulnerabilities.json"));
    match parse_kev(&kev_bytes[..kev_bytes.len() / 2]) {
        Err(FeedError::Json { line, column, .. }) => assert!(line > 1 && column > 0),
        other => panic!("expected a JSON error, got {other:?}"),
    }
    let osv = read(data!("osv/ghsa/GHSA-36p3-wjmg-h94x.json"));
    let err = parse_kev(&osv).unwrap_err();
    assert_eq!(
        err.to_string(),
        "not a KEV catalog: `vulnerabilities` missing"
    );
    assert!(matches!(parse_kev(b"[1, 2]"), Err(FeedError::Json { .. })));

    // Count mismatch.
    let text = String::from_utf8(kev_bytes.clone()).unwrap();
    let tampered = text.replacen("\"count\": 1404", "\"count\": 1405", 1);
    assert!(matches!(
        parse_kev(tampered.as_bytes()),
        Err(FeedError::CountMismatch {
            declared: 1405,
            actual: 1404
        })
    ));

    // Corrupt and truncated zips.
    assert!(matches!(
        parse_osv_zip(b"PK\x03\x04 not really", &ZipLimits::default()),
        Err(FeedError::Zip(_))
    ));
    let zip = read(data!("osv/Go/all.zip"));
    assert!(parse_osv_zip(&zip[..zip.len() / 2], &ZipLimits::default()).is_err());
    // Bounds.
    let small = ZipLimits {
        max_entries: 100,
        ..ZipLimits::default()
    };
    assert!(matches!(
        parse_osv_zip(&zip, &small),
        Err(FeedError::LimitExceeded {
            what: "entries",
            ..
        })
    ));
    let small = ZipLimits {
        max_entry_bytes: 64,
        ..ZipLimits::default()
    };
    assert!(matches!(
        parse_osv_zip(&zip, &small),
        Err(FeedError::LimitExceeded { .. })
    ));
    let small = ZipLimits {
        max_total_bytes: 100_000,
        ..ZipLimits::default()
    };
    assert!(matches!(
        parse_osv_zip(&zip, &small),
        Err(FeedError::LimitExceeded {
            what: "uncompressed bytes in total",
            ..
        })
    ));

    // NVD of the wrong shape.
    assert!(matches!(
        parse_nvd(br#"{"vulnerabilities": [{"foo": 1}]}"#),
        Err(FeedError::Json { .. })
    ));
    assert!(matches!(
        parse_nvd(br#"{"foo": 1}"#),
        Err(FeedError::WrongKind { .. })
    ));
    assert!(matches!(
        parse_nvd(&kev_bytes),
        Err(FeedError::WrongKind { .. })
    ));
    assert!(matches!(parse_nvd(&osv), Err(FeedError::WrongKind { .. })));
    assert!(matches!(parse_nvd(b"[]"), Err(FeedError::Json { .. })));
    // OSV given a KEV catalog or garbage.
    assert!(matches!(
        parse_osv(&kev_bytes),
        Err(FeedError::WrongKind { .. })
    ));
    assert!(matches!(
        parse_osv(b"\xff\xfe"),
        Err(FeedError::Json { .. })
    ));
    assert!(matches!(
        parse_osv(b"[1]"),
        Err(FeedError::WrongKind { .. })
    ));
    // Bad timestamp.
    let bad = br#"{"id": "X-1", "modified": "yesterday"}"#;
    assert!(matches!(
        parse_osv(bad),
        Err(FeedError::InvalidField {
            field: "modified",
            ..
        })
    ));
}

#[test]
fn level_thresholds_as_documented() {
    let bands = [
        (1, 4, Level::VeryLow),
        (5, 9, Level::Low),
        (10, 14, Level::Moderate),
        (15, 19, Level::High),
        (20, 25, Level::VeryHigh),
    ];
    for (lo, hi, level) in bands {
        for s in lo..=hi {
            assert_eq!(Level::from_score(s), Some(level), "score {s}");
        }
    }
    assert_eq!(Level::from_score(0), None);
    assert_eq!(Level::from_score(26), None);
    for v in 1..=5 {
        assert_eq!(Level::from_value(v).map(Level::value), Some(v));
    }
    assert_eq!(Level::from_value(6), None);
    // No vector: moderate defaults (3 x ceil((c + 3) / 2)).
    let s = score_risk(&RiskInput {
        cvss: &[],
        in_kev: false,
        epss: None,
        asset_criticality: Level::VeryHigh,
    });
    assert_eq!(
        (s.likelihood, s.impact, s.score, s.level),
        (Level::Moderate, Level::High, 12, Level::Moderate)
    );
}

#[test]
fn cvss_v4_vector_is_preferred_and_scored() {
    let feed = parse_nvd(&read(data!("nvd/nvd-cve-api-2.0-merged.json"))).unwrap();
    let r = feed
        .records
        .iter()
        .find(|r| r.cvss.iter().any(|c| c.version == "4.0"))
        .unwrap();
    let v4 = r.cvss.iter().find(|c| c.version == "4.0").unwrap();
    assert!(v4.base_score.is_some());
    let s = score_vulnerability(r, None, None, Level::Low);
    assert!(s.rationale[0].contains(&v4.vector), "{:?}", s.rationale);
    check(&s, expected(&v4.vector, false, None, 2));
}

/// A gzip-compressed feed (as FIRST publishes EPSS and NVD its yearly files) parses like the
/// plain one; a truncated stream is a Gzip error, not a partial feed.
#[test]
fn gzip_compressed_feeds_are_inflated_and_a_truncated_stream_is_refused() {
    use std::io::Write as _;
    let plain = read(data!("nvd/nvd-cve-api-2.0-merged.json"));
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    enc.write_all(&plain).unwrap();
    let gz = enc.finish().unwrap();
    assert!(gz.len() < plain.len());
    let count = |f: FeedInput| match f {
        FeedInput::Vulnerabilities(v) => v.records.len(),
        other => panic!("not records: {other:?}"),
    };
    let from_gz = count(FeedInput::parse("nvd", &gz, false).unwrap());
    let from_plain = count(FeedInput::parse("nvd", &plain, false).unwrap());
    assert!(from_plain > 0);
    assert_eq!(from_gz, from_plain);
    // EPSS's CSV, gzipped as FIRST serves it.
    let csv = "#model_version:v2025.03.14,score_date:2026-12-01T00:00:00+0000\ncve,epss,percentile\nCVE-2021-44228,0.94358,0.99957\n";
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    enc.write_all(csv.as_bytes()).unwrap();
    let epss = FeedInput::parse("epss", &enc.finish().unwrap(), false).unwrap();
    assert!(matches!(epss, FeedInput::Epss(_)), "{epss:?}");
    // Cut short: refused whole.
    let cut = &gz[..gz.len() / 2];
    assert!(matches!(
        FeedInput::parse("nvd", cut, false),
        Err(FeedError::Gzip(_))
    ));
}
