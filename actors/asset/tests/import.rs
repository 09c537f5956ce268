//! Inventory import on real third-party files (see /work/shared/data/SOURCES.md).

use std::collections::HashSet;

use rampart_asset::{
    AddressKind, AssetKind, CriticalityRule, CriticalityRules, Format, ImportError, Inventory,
    parse,
};

macro_rules! data {
    ($p:literal) => {
        concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/data/", $p)
    };
}

fn read(path: &str) -> Vec<u8> {
    std::fs::read(path).unwrap_or_else(|e| panic!("read {path}: {e}"))
}

fn import(format: Format, path: &str) -> Inventory {
    parse(format, &read(path), &CriticalityRules::default())
        .unwrap_or_else(|e| panic!("import {path}: {e}"))
}

/// Independent count of CycloneDX components, nested included, de-duplicated on purl else
/// name+version.
fn cdx_component_count(path: &str) -> usize {
    fn walk(v: &serde_json::Value, seen: &mut HashSet<String>) {
        for c in v.as_array().into_iter().flatten() {
            let key = match c.get("purl").and_then(|p| p.as_str()) {
                Some(p) => format!("purl:{p}"),
                None => format!(
                    "nv:{}@{}",
                    c["name"].as_str().unwrap_or(""),
                    c["version"].as_str().unwrap_or("")
                ),
            };
            seen.insert(key);
            walk(&c["components"], seen);
        }
    }
    let v: serde_json::Value = serde_json::from_slice(&read(path)).unwrap();
    let mut seen = HashSet::new();
    walk(&v["components"], &mut seen);
    seen.len()
}

#[test]
fn keycloak_cyclonedx_1_2() {
    let path = data!("sbom/keycloak-10.0.2.cdx.json");
    let inv = import(Format::CycloneDx, path);
    assert_eq!(inv.assets.len(), 1);
    let a = &inv.assets[0];
    assert_eq!(a.key, "purl:pkg:maven/org.keycloak/keycloak-parent@10.0.2");
    assert_eq!(a.kind, AssetKind::Application);
    assert_eq!(a.name, "keycloak-parent");
    assert_eq!(a.version.as_deref(), Some("10.0.2"));
    assert_eq!(a.criticality, 3);
    assert_eq!(a.components.len(), cdx_component_count(path));
    assert_eq!(a.components.len(), 903);
    let beans = a
        .components
        .iter()
        .find(|c| {
            c.purl.as_deref()
                == Some("pkg:maven/org.springframework/spring-beans@4.3.19.RELEASE?type=jar")
        })
        .expect("spring-beans 4.3.19");
    assert_eq!(beans.name, "spring-beans");
    assert_eq!(beans.version.as_deref(), Some("4.3.19.RELEASE"));
    assert_eq!(beans.ecosystem.as_deref(), Some("maven"));
    assert_eq!(beans.group.as_deref(), Some("org.springframework"));
    assert!(
        a.components
            .iter()
            .any(|c| c.name == "log4j-api" && c.version.as_deref() == Some("2.10.0"))
    );
    assert!(!a.components.iter().any(|c| c.name == "log4j-core"));
    assert!(inv.warnings.is_empty(), "{:?}", inv.warnings);
}

#[test]
fn other_cyclonedx_sboms_match_independent_counts() {
    for path in [
        data!("sbom/dropwizard-1.3.15.cdx.json"),
        data!("sbom/juice-shop-11.1.2.cdx.json"),
        data!("sbom/protonmail-webclient-v4.cdx.json"),
        data!("sbom/cern-lhc-vdm-editor.cdx.json"),
    ] {
        let inv = import(Format::CycloneDx, path);
        assert_eq!(inv.assets.len(), 1, "{path}");
        assert_eq!(inv.component_count(), cdx_component_count(path), "{path}");
    }
}

#[test]
fn trivy_fluentd_cyclonedx_1_7() {
    let inv = import(
        Format::CycloneDx,
        data!("sbom/trivy-fluentd-debian10-image.cdx.json"),
    );
    assert_eq!(inv.assets.len(), 1);
    let a = &inv.assets[0];
    assert_eq!(a.kind, AssetKind::Host, "type container maps to host");
    assert_eq!(
        a.key,
        "cdx:testdata/fixtures/images/fluentd-multiple-lockfiles.tar.gz"
    );
    let eco = |e: &str| {
        a.components
            .iter()
            .filter(|c| c.ecosystem.as_deref() == Some(e))
            .count()
    };
    assert_eq!(eco("deb"), 105);
    assert_eq!(eco("gem"), 55);
    assert_eq!(a.components.len(), 161, "plus the debian 10.2 OS component");
    let openssl = a
        .components
        .iter()
        .find(|c| c.name == "openssl" && c.ecosystem.as_deref() == Some("deb"))
        .expect("openssl");
    assert_eq!(openssl.version.as_deref(), Some("1.1.1d-0+deb10u2"));
    assert_eq!(openssl.group.as_deref(), Some("debian"));
}

#[test]
fn laravel_cyclonedx_1_4_composer() {
    let inv = import(Format::CycloneDx, data!("sbom/laravel-7.12.0.cdx-1.4.json"));
    let a = &inv.assets[0];
    assert_eq!(
        a.key,
        "purl:pkg:composer/cyclonedx/cyclonedx-php-composer-demo@dev-master"
    );
    assert_eq!(a.components.len(), 62);
    assert!(
        a.components
            .iter()
            .all(|c| c.ecosystem.as_deref() == Some("composer"))
    );
    let cors = a
        .components
        .iter()
        .find(|c| c.purl.as_deref() == Some("pkg:composer/asm89/stack-cors@1.3.0"))
        .expect("stack-cors");
    assert_eq!(cors.group.as_deref(), Some("asm89"));
}

#[test]
fn proton_bridge_go_pseudo_versions() {
    let inv = import(
        Format::CycloneDx,
        data!("sbom/proton-bridge-1.8.0.cdx.json"),
    );
    let a = &inv.assets[0];
    assert_eq!(a.components.len(), 201);
    assert!(
        a.components
            .iter()
            .all(|c| c.ecosystem.as_deref() == Some("golang"))
    );
    let raymond = a
        .components
        .iter()
        .find(|c| {
            c.purl.as_deref()
                == Some(
                    "pkg:golang/github.com/aymerick/raymond@v2.0.3-0.20180322193309-b565731e1464",
                )
        })
        .expect("raymond");
    assert_eq!(
        raymond.version.as_deref(),
        Some("v2.0.3-0.20180322193309-b565731e1464")
    );
}

#[test]
fn juice_shop_npm() {
    let inv = import(Format::CycloneDx, data!("sbom/juice-shop-11.1.2.cdx.json"));
    let a = &inv.assets[0];
    assert_eq!(a.components.len(), 840);
    assert!(
        a.components
            .iter()
            .any(|c| c.purl.as_deref() == Some("pkg:npm/lodash@4.17.19")
                && c.ecosystem.as_deref() == Some("npm"))
    );
}

#[test]
fn saasbom_services_become_service_assets() {
    let inv = import(
        Format::CycloneDx,
        data!("sbom/saasbom-apigateway-microservices.cdx.json"),
    );
    let services: Vec<_> = inv
        .assets
        .iter()
        .filter(|a| a.kind == AssetKind::Service)
        .collect();
    assert_eq!(services.len(), 6);
    let pg = inv
        .asset("service:org.postgresql/Postgres@14.1")
        .expect("postgres service");
    assert_eq!(pg.kind, AssetKind::Service);
    assert_eq!(pg.addresses.len(), 1);
    assert_eq!(pg.addresses[0].kind, AddressKind::Url);
    assert_eq!(pg.addresses[0].value, "https://ms-1-pgsql.example.com:5432");
    let gw = inv
        .asset("service:com.example/API Gateway@2022-1")
        .expect("gateway");
    assert_eq!(gw.addresses.len(), 2);
    let app = inv
        .asset("cdx:Acme Cloud Example@2022-1")
        .expect("application");
    assert_eq!(app.kind, AssetKind::Application);
    assert_eq!(inv.assets.len(), 7);
}

#[test]
fn vex_document_yields_empty_inventory_with_warning() {
    let inv = import(Format::CycloneDx, data!("sbom/vex-cisa-case-2.cdx.json"));
    assert!(inv.assets.is_empty());
    assert_eq!(inv.warnings.len(), 1);
    assert!(inv.warnings[0].contains("VEX"), "{:?}", inv.warnings);
}

#[test]
fn spdx_2_3_example14_described_by_relationship() {
    let inv = import(
        Format::Spdx,
        data!("sbom/spdx/example14-examplemaven-0.0.1-enriched.spdx.json"),
    );
    assert_eq!(inv.assets.len(), 1);
    let a = &inv.assets[0];
    assert_eq!(
        a.key,
        "spdx:http://spdx.org/documents/examplemaven-0.0.1/enriched#SPDXRef-example"
    );
    assert_eq!(a.name, "examplemaven");
    assert_eq!(a.version.as_deref(), Some("0.0.1"));
    let mut names: Vec<_> = a.components.iter().map(|c| c.name.as_str()).collect();
    names.sort_unstable();
    assert_eq!(
        names,
        [
            "Apache Log4j API",
            "Apache Log4j Core",
            "Apache Log4j SLF4J Binding",
            "JUnit",
            "SLF4J API Module"
        ]
    );
    let junit = a.components.iter().find(|c| c.name == "JUnit").unwrap();
    assert_eq!(junit.version.as_deref(), Some("3.8.1"));
}

#[test]
fn spdx_2_3_example11_purls() {
    let inv = import(Format::Spdx, data!("sbom/spdx/example11-sbom.spdx.json"));
    let a = &inv.assets[0];
    assert_eq!(a.name, "hello-server-src");
    assert!(a.key.ends_with("#SPDXRef-Package-hello-server-src"));
    assert_eq!(a.components.len(), 3);
    let tokio = a
        .components
        .iter()
        .find(|c| c.name == "tokio")
        .expect("tokio");
    assert_eq!(tokio.purl.as_deref(), Some("pkg:cargo/tokio@1.19.2"));
    assert_eq!(tokio.ecosystem.as_deref(), Some("cargo"));
    assert_eq!(tokio.version.as_deref(), Some("1.19.2"));
    assert!(
        a.components
            .iter()
            .all(|c| c.ecosystem.as_deref() == Some("cargo"))
    );
}

#[test]
fn spdx_2_2_example9() {
    let inv = import(
        Format::Spdx,
        data!("sbom/spdx/example9-appbomination.spdx.json"),
    );
    let a = &inv.assets[0];
    assert_eq!(a.name, "App-BOM-ination");
    assert_eq!(a.version.as_deref(), Some("1.0"));
    assert!(a.key.ends_with("#SPDXRef-1"));
    assert_eq!(a.components.len(), 6);
    let lang = a
        .components
        .iter()
        .find(|c| c.name == "commons-lang3")
        .unwrap();
    assert_eq!(
        lang.purl.as_deref(),
        Some("pkg:maven/org.apache.commons/commons-lang3@3.4")
    );
    assert_eq!(lang.group.as_deref(), Some("org.apache.commons"));
}

#[test]
fn nmap_fullscan_up_hosts_and_services() {
    let inv = import(Format::Nmap, data!("scans/nmap/libnmap-fullscan.xml"));
    let keys: Vec<_> = inv.assets.iter().map(|a| a.key.as_str()).collect();
    assert_eq!(keys, ["ip:192.168.1.1", "ip:192.168.1.4"]);
    let router = &inv.assets[0];
    assert_eq!(router.kind, AssetKind::Host);
    // 6 open ports; 23 and 992 both run "Sagem router telnetd" without version: one component.
    let mut names: Vec<_> = router.components.iter().map(|c| c.name.as_str()).collect();
    names.sort_unstable();
    assert_eq!(
        names,
        [
            "Sagem router telnetd",
            "http",
            "http-proxy",
            "https",
            "https-alt"
        ]
    );
    let box4 = &inv.assets[1];
    let ssh = box4
        .components
        .iter()
        .find(|c| c.name == "OpenSSH")
        .unwrap();
    assert_eq!(ssh.version.as_deref(), Some("5.9p1 Debian 5ubuntu1"));
    assert_eq!(ssh.cpe.as_deref(), Some("cpe:/a:openbsd:openssh:5.9p1"));
    let httpd = box4
        .components
        .iter()
        .find(|c| c.name == "Apache httpd")
        .unwrap();
    assert_eq!(httpd.version.as_deref(), Some("2.2.22"));
    assert_eq!(
        httpd.cpe.as_deref(),
        Some("cpe:/a:apache:http_server:2.2.22")
    );
    assert!(box4.components.iter().any(|c| c.name == "rpcbind"));
}

#[test]
fn nmap_dionaea_single_host() {
    let inv = import(Format::Nmap, data!("scans/nmap/libnmap-dionaea_scan.xml"));
    assert_eq!(inv.assets.len(), 1);
    let h = &inv.assets[0];
    assert_eq!(h.key, "ip:172.28.1.3");
    assert_eq!(h.name, "dionaea");
    let has = |k: AddressKind, v: &str| h.addresses.iter().any(|a| a.kind == k && a.value == v);
    assert!(has(AddressKind::Mac, "02:42:AC:1C:01:03"));
    assert!(has(AddressKind::Ipv4, "172.28.1.3"));
    assert!(has(
        AddressKind::Hostname,
        "dionaea.libnmap-testing_testing_net"
    ));
    assert!(h.tags.contains(&"os:Linux 4.15 - 5.6".to_owned()));
    let mysql = h.components.iter().find(|c| c.name == "MySQL").unwrap();
    assert_eq!(mysql.version.as_deref(), Some("5.7.16"));
    assert_eq!(mysql.cpe.as_deref(), Some("cpe:/a:mysql:mysql:5.7.16"));
    let memcached = h.components.iter().find(|c| c.name == "Memcached").unwrap();
    assert_eq!(
        memcached.cpe.as_deref(),
        Some("cpe:/a:memcached:memcached:1.4.25")
    );
    let nginx = h.components.iter().find(|c| c.name == "nginx").unwrap();
    assert_eq!(nginx.cpe.as_deref(), Some("cpe:/a:igor_sysoev:nginx"));
    // 16 open ports, 16 distinct product/service names, plus the OS match.
    assert_eq!(h.components.len(), 17);
    let cpes = h.components.iter().filter(|c| c.cpe.is_some()).count();
    assert!(cpes >= 4, "{cpes}");
}

#[test]
fn nmap_other_scans_parse() {
    for path in [
        data!("scans/nmap/libnmap-full_sudo6.xml"),
        data!("scans/nmap/libnmap-os_scan6.xml"),
        data!("scans/nmap/libnmap-1_os_banner_scripts.xml"),
        data!("scans/nmap/libnmap-2_hosts_version.xml"),
        data!("scans/nmap/ullaakut-scan_base.xml"),
    ] {
        let inv = import(Format::Nmap, path);
        assert!(!inv.assets.is_empty(), "{path}");
        assert!(inv.warnings.is_empty(), "{path}: {:?}", inv.warnings);
    }
}

const CSV: &str = "\
Key,Name,Kind,Hostname,IP,Owner,Tags,Criticality,Component,Version,PURL,cpe
web-1,Web front,host,web1.example.com,10.0.0.5,web-team,prod;internet-facing,5,nginx,1.18.0,,
web-1,,,,,,pci,,openssl,1.1.1d,pkg:deb/debian/openssl@1.1.1d,
web-1,,,,,,,,nginx,1.18.0,,cpe:2.3:a:f5:nginx:1.18.0:*:*:*:*:*:*:*
,,,db.example.com,,dba,staging,,,,,
,billing,application,,,,,,,2.1,,
";

#[test]
fn csv_merges_rows_tags_and_criticality() {
    let inv = parse(Format::Csv, CSV.as_bytes(), &CriticalityRules::default()).unwrap();
    assert_eq!(inv.assets.len(), 3);
    let web = inv.asset("csv:web-1").unwrap();
    assert_eq!(web.name, "Web front");
    assert_eq!(web.kind, AssetKind::Host);
    assert_eq!(web.owner.as_deref(), Some("web-team"));
    assert_eq!(web.tags, ["internet-facing", "pci", "prod"]);
    assert_eq!(web.criticality, 5);
    assert_eq!(web.components.len(), 2, "nginx rows merge");
    let nginx = &web.components[0];
    assert_eq!(nginx.name, "nginx");
    assert_eq!(
        nginx.cpe.as_deref(),
        Some("cpe:2.3:a:f5:nginx:1.18.0:*:*:*:*:*:*:*")
    );
    assert_eq!(web.components[1].ecosystem.as_deref(), Some("deb"));
    assert_eq!(web.addresses.len(), 2);
    let db = inv.asset("host:db.example.com").unwrap();
    assert_eq!(db.kind, AssetKind::Host);
    assert_eq!(db.criticality, 3, "staging tag rule");
    let billing = inv.asset("csv:billing").unwrap();
    assert_eq!(billing.kind, AssetKind::Application);
    assert_eq!(billing.version.as_deref(), Some("2.1"));
}

#[test]
fn csv_criticality_from_custom_rules() {
    let rules: CriticalityRules = serde_json::from_str(
        r#"{"rules": [{"kind": "host", "name": "db*", "criticality": 5},
                      {"tag": "staging", "criticality": 1}], "default": 2}"#,
    )
    .unwrap();
    let inv = parse(Format::Csv, CSV.as_bytes(), &rules).unwrap();
    assert_eq!(inv.asset("host:db.example.com").unwrap().criticality, 5);
    assert_eq!(inv.asset("csv:billing").unwrap().criticality, 2);
    assert_eq!(
        inv.asset("csv:web-1").unwrap().criticality,
        5,
        "explicit wins"
    );
    let bad = CriticalityRules {
        rules: vec![CriticalityRule {
            kind: None,
            tag: None,
            name: None,
            criticality: 9,
        }],
        default: 3,
        ..CriticalityRules::default()
    };
    assert!(matches!(
        parse(Format::Csv, CSV.as_bytes(), &bad),
        Err(ImportError::InvalidRules(_))
    ));
}

#[test]
fn importing_twice_gives_equal_inventories() {
    for (format, path) in [
        (Format::CycloneDx, data!("sbom/keycloak-10.0.2.cdx.json")),
        (
            Format::CycloneDx,
            data!("sbom/trivy-fluentd-debian10-image.cdx.json"),
        ),
        (
            Format::Spdx,
            data!("sbom/spdx/example9-appbomination.spdx.json"),
        ),
        (Format::Nmap, data!("scans/nmap/libnmap-fullscan.xml")),
    ] {
        let a = import(format, path);
        let b = import(format, path);
        assert_eq!(a, b, "{path}");
    }
    let rules = CriticalityRules::default();
    assert_eq!(
        parse(Format::Csv, CSV.as_bytes(), &rules).unwrap(),
        parse(Format::Csv, CSV.as_bytes(), &rules).unwrap()
    );
}

#[test]
fn format_from_str() {
    assert_eq!("CycloneDX".parse::<Format>().unwrap(), Format::CycloneDx);
    assert_eq!("spdx".parse::<Format>().unwrap(), Format::Spdx);
    assert_eq!("nmap".parse::<Format>().unwrap(), Format::Nmap);
    assert_eq!(" csv ".parse::<Format>().unwrap(), Format::Csv);
    assert!(matches!(
        "xlsx".parse::<Format>(),
        Err(rampart_asset::UnknownFormat(_))
    ));
}

#[test]
fn truncated_json_reports_line() {
    let bytes = read(data!("sbom/keycloak-10.0.2.cdx.json"));
    let half = &bytes[..bytes.len() / 2];
    let err = parse(Format::CycloneDx, half, &CriticalityRules::default()).unwrap_err();
    match err {
        ImportError::Json { line, column, .. } => {
            let lines = half.iter().filter(|&&b| b == b'\n').count() + 1;
            assert!(line >= lines - 1 && line > 1, "line {line} of {lines}");
            assert!(column > 0);
        }
        other => panic!("expected a JSON error, got {other}"),
    }
}

#[test]
fn spdx_given_as_cyclonedx_is_rejected_clearly() {
    let bytes = read(data!("sbom/spdx/example11-sbom.spdx.json"));
    let err = parse(Format::CycloneDx, &bytes, &CriticalityRules::default()).unwrap_err();
    assert_eq!(
        err.to_string(),
        "not a CycloneDX document: bomFormat missing"
    );
    let bytes = read(data!("sbom/keycloak-10.0.2.cdx.json"));
    let err = parse(Format::Spdx, &bytes, &CriticalityRules::default()).unwrap_err();
    assert_eq!(err.to_string(), "not an SPDX document: spdxVersion missing");
    let bytes = read(data!("sbom/keycloak-10.0.2.cdx.json"));
    let err = parse(Format::Nmap, &bytes, &CriticalityRules::default()).unwrap_err();
    assert!(
        matches!(
            err,
            ImportError::Xml { .. } | ImportError::WrongFormat { .. }
        ),
        "{err}"
    );
}

#[test]
fn unsupported_versions() {
    let rules = CriticalityRules::default();
    let cdx = br#"{"bomFormat":"CycloneDX","specVersion":"1.1","components":[]}"#;
    assert!(matches!(
        parse(Format::CycloneDx, cdx, &rules),
        Err(ImportError::UnsupportedVersion { .. })
    ));
    let spdx = br#"{"spdxVersion":"SPDX-3.0","packages":[]}"#;
    assert!(matches!(
        parse(Format::Spdx, spdx, &rules),
        Err(ImportError::UnsupportedVersion { .. })
    ));
}

#[test]
fn malformed_xml_reports_position() {
    let rules = CriticalityRules::default();
    let xml = b"<?xml version=\"1.0\"?>\n<nmaprun><host><status state=\"up\"/></hots></nmaprun>";
    match parse(Format::Nmap, xml, &rules).unwrap_err() {
        ImportError::Xml { position, .. } => assert!(position > 20, "{position}"),
        other => panic!("expected an XML error, got {other}"),
    }
    let bytes = read(data!("scans/nmap/libnmap-fullscan.xml"));
    let err = parse(Format::Nmap, &bytes[..bytes.len() / 2], &rules).unwrap_err();
    assert!(matches!(err, ImportError::Xml { .. }), "{err}");
    let err = parse(Format::Nmap, b"<html><body/></html>", &rules).unwrap_err();
    assert!(matches!(err, ImportError::WrongFormat { .. }), "{err}");
}

#[test]
fn csv_bad_criticality_reports_line() {
    let csv = "key,criticality\na,3\nb,7\n";
    let err = parse(Format::Csv, csv.as_bytes(), &CriticalityRules::default()).unwrap_err();
    match &err {
        ImportError::InvalidValue { field, line, .. } => {
            assert_eq!(field, "criticality");
            assert_eq!(*line, Some(3));
        }
        other => panic!("expected InvalidValue, got {other}"),
    }
    assert!(err.to_string().contains("line 3"), "{err}");
    let ragged = "key,name\na,b\nc\n";
    match parse(Format::Csv, ragged.as_bytes(), &CriticalityRules::default()).unwrap_err() {
        ImportError::Csv { line, .. } => assert_eq!(line, Some(3)),
        other => panic!("expected a CSV error, got {other}"),
    }
    let bad_ip = "hostname,ip\nx,10.0.0.300\n";
    assert!(matches!(
        parse(Format::Csv, bad_ip.as_bytes(), &CriticalityRules::default()),
        Err(ImportError::InvalidValue { line: Some(2), .. })
    ));
}

#[test]
fn empty_and_garbage_inputs_error_without_panicking() {
    let rules = CriticalityRules::default();
    for format in [Format::CycloneDx, Format::Spdx, Format::Nmap, Format::Csv] {
        assert!(matches!(
            parse(format, b"", &rules),
            Err(ImportError::Empty(_))
        ));
        assert!(matches!(
            parse(format, b"  \n\t", &rules),
            Err(ImportError::Empty(_))
        ));
        assert!(matches!(
            parse(format, &[0xff, 0xfe, 0x00], &rules),
            Err(ImportError::NotUtf8 { .. })
        ));
        for junk in [
            &b"{"[..],
            b"[1,2]",
            b"null",
            b"<",
            b"\"x\"",
            b"{\"bomFormat\":1}",
            b"a,b\n\"x",
        ] {
            // Any result is fine as long as nothing panics.
            let _ = parse(format, junk, &rules);
        }
    }
    // Every prefix of a small real file: errors, never panics.
    let bytes = read(data!("sbom/spdx/example11-sbom.spdx.json"));
    for cut in (1..bytes.len()).step_by(97) {
        let _ = parse(Format::Spdx, &bytes[..cut], &rules);
        let _ = parse(Format::CycloneDx, &bytes[..cut], &rules);
    }
    let xml = read(data!("scans/nmap/libnmap-1_os_banner_scripts.xml"));
    for cut in (1..xml.len()).step_by(211) {
        let _ = parse(Format::Nmap, &xml[..cut], &rules);
    }
}

#[test]
fn deep_nesting_is_bounded() {
    let rules = CriticalityRules::default();
    let mut s = String::from(r#"{"bomFormat":"CycloneDX","specVersion":"1.5","components":["#);
    for i in 0..70 {
        s.push_str(&format!(r#"{{"name":"c{i}","components":["#));
    }
    s.push_str(&"]}".repeat(70));
    s.push_str("]}");
    // serde_json's recursion limit (128) or MAX_DEPTH (64) stops it; either way an error.
    assert!(parse(Format::CycloneDx, s.as_bytes(), &rules).is_err());
}

#[test]
fn cyclonedx_nested_components_properties_and_dedupe() {
    let bom = br#"{
      "bomFormat": "CycloneDX", "specVersion": "1.6",
      "metadata": {"component": {"type": "device", "name": "edge-router", "version": "7",
        "supplier": {"name": "NetOps"},
        "components": [{"type": "library", "name": "meta-sub"}],
        "properties": [{"name": "rampart:criticality", "value": "4"},
                       {"name": "rampart:tag", "value": "dmz"}]}},
      "components": [
        {"type": "firmware", "name": "fw", "version": "1.0", "components": [
          {"type": "library", "name": "busybox", "version": "1.36.1",
           "purl": "pkg:generic/busybox@1.36.1", "components": [
             {"type": "library", "name": "libc", "version": "2.0",
              "cpe": "cpe:2.3:a:gnu:glibc:2.0:*:*:*:*:*:*:*"}]}]},
        {"type": "library", "name": "busybox", "version": "1.36.1",
         "purl": "pkg:generic/busybox@1.36.1"},
        {"type": "library", "name": "libc", "version": "2.0"}
      ]}"#;
    let inv = parse(Format::CycloneDx, bom, &CriticalityRules::default()).unwrap();
    assert_eq!(inv.assets.len(), 1);
    let a = &inv.assets[0];
    assert_eq!(a.key, "cdx:edge-router@7");
    assert_eq!(a.kind, AssetKind::Host);
    assert_eq!(a.owner.as_deref(), Some("NetOps"));
    assert_eq!(a.criticality, 4);
    assert_eq!(a.tags, ["dmz"]);
    let names: Vec<_> = a.components.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["fw", "busybox", "libc", "meta-sub"]);
    assert_eq!(a.components[1].ecosystem.as_deref(), Some("generic"));
    assert!(a.components[2].cpe.is_some());

    // An invalid criticality property is a warning; the rules decide.
    let bad = br#"{"bomFormat": "CycloneDX", "specVersion": "1.3",
      "metadata": {"component": {"type": "application", "name": "x",
        "properties": [{"name": "rampart:criticality", "value": "high"}]}},
      "components": [{"type": "library", "name": "y"}]}"#;
    let inv = parse(Format::CycloneDx, bad, &CriticalityRules::default()).unwrap();
    assert_eq!(inv.assets[0].criticality, 3);
    assert_eq!(inv.warnings.len(), 1, "{:?}", inv.warnings);
}

#[test]
fn spdx_without_described_package_uses_the_document() {
    let doc = br#"{"spdxVersion": "SPDX-2.3", "SPDXID": "SPDXRef-DOCUMENT", "name": "lonely",
      "documentNamespace": "https://example.com/lonely",
      "packages": [{"SPDXID": "SPDXRef-a", "name": "a", "versionInfo": "1",
        "externalRefs": [{"referenceCategory": "SECURITY", "referenceType": "cpe23Type",
          "referenceLocator": "cpe:2.3:a:x:a:1:*:*:*:*:*:*:*"}]}]}"#;
    let inv = parse(Format::Spdx, doc, &CriticalityRules::default()).unwrap();
    let a = inv.asset("spdx:https://example.com/lonely").unwrap();
    assert_eq!(a.name, "lonely");
    assert_eq!(
        a.components[0].cpe.as_deref(),
        Some("cpe:2.3:a:x:a:1:*:*:*:*:*:*:*")
    );
    assert_eq!(inv.warnings.len(), 1);
}
