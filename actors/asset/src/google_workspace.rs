//! Google Workspace devices as assets: Admin SDK Directory resources (mobile devices,
//! ChromeOS devices, users as their owners) mapped to hosts, from the API (the node's
//! discovery, `rampart::discovery::google`) or from an exported JSON file (`format=google_workspace`).
//!
//! - A mobile device (`admin#directory#mobiledevice`) is a `host` keyed
//!   `gws:mobile:<resourceId>`, named by its model, owned by its first e-mail; a ChromeOS device
//!   (`admin#directory#chromeosdevice`) `gws:chromeos:<deviceId>`, owned by `annotatedUser`.
//! - Tags: `gws`, `mobile` or `chromeos`, the device type (`android`, `ios_sync`, ...) and the
//!   owner's org unit (`org:/Sales`, from the users listed).
//! - The operating system is a component with a CPE when known (`google:android`,
//!   `apple:iphone_os`, `google:chrome_os`), so the feeds match it like an SBOM's.
//! - Criticality from the `[assets]` rules. Devices without an id are skipped (a warning);
//!   devices sharing a key are one asset, the last listed wins (a warning).
//!
//! An exported file is one object with any of `mobiledevices`, `chromeosdevices`, `users`
//! (the Directory list answers' item keys), or an array of such objects (list pages as
//! `nextPageToken` paging returns them).

use std::collections::HashMap;

use crate::error::ImportError;
use crate::model::Inventory;
use crate::rules::CriticalityRules;
use rampart_contracts::asset::{Address, AddressKind, Asset, AssetKind, Component, Format};

/// Parses an exported Directory JSON file (module docs).
///
/// # Errors
/// [`ImportError`]: malformed JSON (line, column), a document with none of the three lists,
/// a list that is not an array.
pub fn parse(text: &str, rules: &CriticalityRules) -> Result<Inventory, ImportError> {
    let v: serde_json::Value =
        serde_json::from_str(text).map_err(|e| ImportError::json(Format::GoogleWorkspace, &e))?;
    let pages: Vec<&serde_json::Value> = match &v {
        serde_json::Value::Array(a) => a.iter().collect(),
        other => vec![other],
    };
    let (mut mobile, mut chromeos, mut users) = (Vec::new(), Vec::new(), Vec::new());
    let mut found = false;
    for p in pages {
        for (key, into) in [
            ("mobiledevices", &mut mobile),
            ("chromeosdevices", &mut chromeos),
            ("users", &mut users),
        ] {
            match p.get(key) {
                None => {}
                Some(serde_json::Value::Array(items)) => {
                    found = true;
                    into.extend(items.iter().cloned());
                }
                Some(_) => {
                    return Err(ImportError::WrongFormat {
                        expected: Format::GoogleWorkspace,
                        reason: format!("{key} is not an array"),
                    });
                }
            }
        }
    }
    if !found {
        return Err(ImportError::WrongFormat {
            expected: Format::GoogleWorkspace,
            reason: "none of mobiledevices, chromeosdevices, users is present".into(),
        });
    }
    Ok(to_inventory(&mobile, &chromeos, &users, rules))
}

fn s<'a>(v: &'a serde_json::Value, k: &str) -> Option<&'a str> {
    v.get(k).and_then(|x| x.as_str()).filter(|x| !x.is_empty())
}

/// The operating system component of a mobile device, with a CPE when the OS is known
/// (`cpe:2.3:o:google:android:<release>`, `cpe:2.3:o:apple:iphone_os:<version>`).
fn mobile_os(d: &serde_json::Value) -> Option<Component> {
    let os = s(d, "os")?;
    let (name, version) = os
        .rsplit_once(' ')
        .map_or((os, None), |(n, v)| (n, Some(v)));
    let version = s(d, "releaseVersion").or(version).map(str::to_owned);
    let cpe = match (name.to_ascii_lowercase().as_str(), &version) {
        ("android", Some(v)) => Some(format!("cpe:2.3:o:google:android:{v}:*:*:*:*:*:*:*")),
        ("ios", Some(v)) => Some(format!("cpe:2.3:o:apple:iphone_os:{v}:*:*:*:*:*:*:*")),
        _ => None,
    };
    Some(Component {
        version,
        cpe,
        ..Component::named(name)
    })
}

/// Maps Directory resources to an inventory (module docs); `users` give the owners' org units.
pub fn to_inventory(
    mobile: &[serde_json::Value],
    chromeos: &[serde_json::Value],
    users: &[serde_json::Value],
    rules: &CriticalityRules,
) -> Inventory {
    let org: HashMap<&str, &str> = users
        .iter()
        .filter_map(|u| Some((s(u, "primaryEmail")?, s(u, "orgUnitPath")?)))
        .collect();
    let mut out: Vec<Asset> = Vec::new();
    let (mut skipped, mut shared) = (0usize, 0usize);
    let mut push = |mut a: Asset| {
        a.criticality = rules.evaluate(a.kind, &a.name, &a.tags);
        match out.iter_mut().find(|o| o.key == a.key) {
            Some(o) => {
                shared += 1;
                *o = a;
            }
            None => out.push(a),
        }
    };
    for d in mobile {
        let Some(id) = s(d, "resourceId") else {
            skipped += 1;
            continue;
        };
        let owner = d
            .get("email")
            .and_then(|e| e.as_array())
            .and_then(|e| e.first())
            .and_then(|e| e.as_str())
            .map(str::to_owned);
        let mut tags = vec!["gws".to_owned(), "mobile".to_owned()];
        if let Some(t) = s(d, "type") {
            tags.push(t.to_ascii_lowercase());
        }
        if let Some(ou) = owner.as_deref().and_then(|o| org.get(o)) {
            tags.push(format!("org:{ou}"));
        }
        tags.sort();
        tags.dedup();
        let mut addresses = Vec::new();
        if let Some(mac) = s(d, "wifiMacAddress") {
            addresses.push(Address {
                kind: AddressKind::Mac,
                value: mac.to_owned(),
            });
        }
        push(Asset {
            key: format!("gws:mobile:{id}"),
            kind: AssetKind::Host,
            name: s(d, "model").unwrap_or("mobile device").to_owned(),
            version: None,
            owner,
            tags,
            criticality: 0,
            components: mobile_os(d).into_iter().collect(),
            addresses,
            source: Format::GoogleWorkspace,
        });
    }
    for d in chromeos {
        let Some(id) = s(d, "deviceId") else {
            skipped += 1;
            continue;
        };
        let owner = s(d, "annotatedUser").map(str::to_owned);
        let mut tags = vec!["chromeos".to_owned(), "gws".to_owned()];
        if let Some(ou) = s(d, "orgUnitPath") {
            tags.push(format!("org:{ou}"));
        }
        let components = s(d, "osVersion")
            .map(|v| Component {
                version: Some(v.to_owned()),
                cpe: Some(format!("cpe:2.3:o:google:chrome_os:{v}:*:*:*:*:*:*:*")),
                ..Component::named("ChromeOS")
            })
            .into_iter()
            .collect();
        push(Asset {
            key: format!("gws:chromeos:{id}"),
            kind: AssetKind::Host,
            name: s(d, "model").unwrap_or("ChromeOS device").to_owned(),
            version: None,
            owner,
            tags,
            criticality: 0,
            components,
            addresses: Vec::new(),
            source: Format::GoogleWorkspace,
        });
    }
    let mut warnings = Vec::new();
    if skipped > 0 {
        warnings.push(format!("{skipped} devices without an id were skipped"));
    }
    if shared > 0 {
        warnings.push(format!(
            "{shared} devices share a key with another listed device (the last listed is kept)"
        ));
    }
    Inventory {
        assets: out,
        warnings,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/data/cloud/");

    fn read(name: &str) -> String {
        std::fs::read_to_string(format!("{DIR}{name}")).unwrap()
    }

    #[test]
    fn recorded_directory_pages_become_hosts_with_their_os_as_a_component() {
        let pages = read("gws-directory-mobiledevices-list-pages.json");
        let inv = parse(&pages, &CriticalityRules::default()).unwrap();
        // Six devices in three pages; the recording anonymised every resourceId to one value,
        // so they are one asset, the last listed (a Nexus 5X on Android 7.1.2), and a warning.
        assert_eq!(inv.assets.len(), 1, "{inv:?}");
        assert!(
            inv.warnings
                .iter()
                .any(|w| w.starts_with("5 devices share a key"))
        );
        let a = &inv.assets[0];
        assert_eq!(a.key, "gws:mobile:dummy_resource_id");
        assert_eq!(a.kind, AssetKind::Host);
        assert_eq!(a.name, "Nexus 5X");
        assert_eq!(a.owner.as_deref(), Some("example@example.com"));
        assert_eq!(a.source, Format::GoogleWorkspace);
        assert!(a.tags.contains(&"android".to_owned()), "{:?}", a.tags);
        assert_eq!(a.components.len(), 1);
        let os = &a.components[0];
        assert_eq!(
            (os.name.as_str(), os.version.as_deref()),
            ("Android", Some("7.1.2"))
        );
        assert_eq!(
            os.cpe.as_deref(),
            Some("cpe:2.3:o:google:android:7.1.2:*:*:*:*:*:*:*")
        );
        assert!((1..=5).contains(&a.criticality));
    }

    #[test]
    fn devices_take_their_owners_org_unit_and_ios_gets_apple_cpes() {
        let user: serde_json::Value =
            serde_json::from_str(&read("gws-directory-user-insert-response.json")).unwrap();
        let pages: serde_json::Value =
            serde_json::from_str(&read("gws-directory-mobiledevices-list-pages.json")).unwrap();
        // Give each recorded device its own id and the recorded user as owner.
        let mut devices = Vec::new();
        for (i, d) in pages
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|p| p["mobiledevices"].as_array().unwrap().clone())
            .enumerate()
        {
            let mut d = d;
            d["resourceId"] = serde_json::json!(format!("r{i}"));
            d["email"] = serde_json::json!([user["primaryEmail"]]);
            devices.push(d);
        }
        let doc = serde_json::json!({"mobiledevices": devices, "users": [user]});
        let inv = parse(&doc.to_string(), &CriticalityRules::default()).unwrap();
        assert_eq!(inv.assets.len(), 6);
        assert!(inv.warnings.is_empty(), "{:?}", inv.warnings);
        for a in &inv.assets {
            assert_eq!(a.owner.as_deref(), Some("newuser@domain.io"));
            assert!(a.tags.contains(&"org:/".to_owned()), "{:?}", a.tags);
        }
        let iphone = inv.assets.iter().find(|a| a.name == "iPhone8,1").unwrap();
        assert_eq!(
            iphone.components[0].cpe.as_deref(),
            Some("cpe:2.3:o:apple:iphone_os:13.1.2:*:*:*:*:*:*:*")
        );
        // An iPhone without an OS string has no OS component.
        let bare = inv.assets.iter().find(|a| a.name == "iPhone10,6").unwrap();
        assert!(bare.components.is_empty());
    }

    #[test]
    fn documents_that_are_not_directory_exports_are_refused() {
        let rules = CriticalityRules::default();
        assert!(matches!(
            parse("{\"kind\": \"something\"}", &rules),
            Err(ImportError::WrongFormat { .. })
        ));
        assert!(matches!(
            parse("{\"mobiledevices\": 3}", &rules),
            Err(ImportError::WrongFormat { .. })
        ));
        assert!(matches!(
            parse("{\"mobiledevices\": [", &rules),
            Err(ImportError::Json { .. })
        ));
    }
}
