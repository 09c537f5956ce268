//! CSV inventory import.
//!
//! # Format
//! UTF-8, comma-separated, RFC 4180 quoting, one header row, every row with as many fields as
//! the header; blanks around fields are trimmed. Header names are case-insensitive; unknown
//! columns are ignored with a warning. Columns (all optional, any order):
//!
//! | column | meaning |
//! |---|---|
//! | `key` or `id` | explicit stable key of the asset |
//! | `name` | asset name |
//! | `kind` or `type` | `host`, `application` (`app`), `service`, `cloud_resource` (`cloud-resource`, `cloud`); default `host` when the row has a hostname or ip, else `application` |
//! | `hostname` | DNS name (an address of the asset) |
//! | `ip` | IPv4 or IPv6 address (an address of the asset); must parse |
//! | `owner` | owning team or person |
//! | `tags` | tags separated by `;` |
//! | `criticality` | integer 1..=5; empty means "use the rules" |
//! | `component` | name of a software component of the asset |
//! | `version` | the component's version when the row names a component (`component`, `purl` or `cpe` set), else the asset's version |
//! | `purl` | the component's package URL |
//! | `cpe` | the component's CPE |
//!
//! Asset key: `csv:{key}` from `key`/`id`; else `host:{hostname}` (lower-cased); else
//! `ip:{ip}` (the same key nmap imports use); else `csv:{name}`. A row with none of these is
//! an error. Rows with the same key merge into one asset: tags and addresses are united,
//! components appended (de-duplicated), the first non-empty name, kind, owner and version
//! win, and the highest criticality wins (a conflicting kind or criticality adds a warning).
//!
//! ```csv
//! key,name,kind,hostname,ip,owner,tags,criticality,component,version,purl
//! web-1,Web front,host,web1.example.com,10.0.0.5,web-team,prod;internet-facing,5,nginx,1.18.0,
//! web-1,,,,,,pci,,openssl,1.1.1d,pkg:deb/debian/openssl@1.1.1d
//! ```
//!
//! Errors carry the 1-based line: malformed CSV (unequal field counts, bad quoting), a bad
//! `criticality`, `kind` or `ip`, or a row without any key column value.

use std::net::IpAddr;

use super::error::ImportError;
use super::model::{
    AddressKind, AssetKind, Builder, Component, Draft, Inventory, parse_criticality,
};
use super::{CriticalityRules, Format, non_empty};

#[derive(Default)]
struct Columns {
    key: Option<usize>,
    name: Option<usize>,
    kind: Option<usize>,
    hostname: Option<usize>,
    ip: Option<usize>,
    owner: Option<usize>,
    tags: Option<usize>,
    criticality: Option<usize>,
    component: Option<usize>,
    version: Option<usize>,
    purl: Option<usize>,
    cpe: Option<usize>,
}

fn csv_error(e: &csv::Error) -> ImportError {
    ImportError::Csv {
        line: e.position().map(csv::Position::line),
        message: e.to_string(),
    }
}

pub(crate) fn parse(text: &str, rules: &CriticalityRules) -> Result<Inventory, ImportError> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .trim(csv::Trim::All)
        .flexible(false)
        .from_reader(text.as_bytes());
    let mut b = Builder::new(Format::Csv);
    let headers = reader.headers().map_err(|e| csv_error(&e))?.clone();
    let mut cols = Columns::default();
    for (i, h) in headers.iter().enumerate() {
        let slot = match h.to_ascii_lowercase().as_str() {
            "key" | "id" => &mut cols.key,
            "name" => &mut cols.name,
            "kind" | "type" => &mut cols.kind,
            "hostname" => &mut cols.hostname,
            "ip" => &mut cols.ip,
            "owner" => &mut cols.owner,
            "tags" => &mut cols.tags,
            "criticality" => &mut cols.criticality,
            "component" => &mut cols.component,
            "version" => &mut cols.version,
            "purl" => &mut cols.purl,
            "cpe" => &mut cols.cpe,
            _ => {
                b.warnings.push(format!("ignored unknown column {h:?}"));
                continue;
            }
        };
        if slot.is_none() {
            *slot = Some(i);
        } else {
            b.warnings.push(format!("ignored duplicate column {h:?}"));
        }
    }
    if cols.key.is_none() && cols.hostname.is_none() && cols.ip.is_none() && cols.name.is_none() {
        return Err(ImportError::Csv {
            line: Some(1),
            message: "the header has none of the columns key, id, hostname, ip, name".to_owned(),
        });
    }

    let mut record = csv::StringRecord::new();
    let mut rows = 0usize;
    loop {
        match reader.read_record(&mut record) {
            Ok(true) => {}
            Ok(false) => break,
            Err(e) => return Err(csv_error(&e)),
        }
        rows += 1;
        let line = record.position().map(csv::Position::line);
        let get = |c: Option<usize>| non_empty(c.and_then(|i| record.get(i)));
        let invalid = |field: &str, message: String| ImportError::InvalidValue {
            field: field.to_owned(),
            line,
            message,
        };

        let hostname = get(cols.hostname);
        let ip = match get(cols.ip) {
            Some(s) => Some(
                s.parse::<IpAddr>()
                    .map_err(|_| invalid("ip", format!("{s:?} is not an IPv4 or IPv6 address")))?,
            ),
            None => None,
        };
        let name = get(cols.name);
        let key = if let Some(k) = get(cols.key) {
            format!("csv:{k}")
        } else if let Some(h) = &hostname {
            format!("host:{}", h.to_ascii_lowercase())
        } else if let Some(ip) = &ip {
            format!("ip:{ip}")
        } else if let Some(n) = &name {
            format!("csv:{n}")
        } else {
            return Err(invalid(
                "key",
                "the row has no key, id, hostname, ip or name".to_owned(),
            ));
        };
        let kind = match get(cols.kind) {
            Some(k) => Some(k.parse::<AssetKind>().map_err(|m| invalid("kind", m))?),
            None => None,
        };
        let criticality = match get(cols.criticality) {
            Some(c) => Some(parse_criticality(&c).map_err(|m| invalid("criticality", m))?),
            None => None,
        };
        let default_kind = if hostname.is_some() || ip.is_some() {
            AssetKind::Host
        } else {
            AssetKind::Application
        };
        let display = name
            .clone()
            .or_else(|| hostname.clone())
            .or_else(|| ip.map(|i| i.to_string()))
            .unwrap_or_else(|| key.trim_start_matches("csv:").to_owned());

        let component = get(cols.component);
        let purl = get(cols.purl);
        let cpe = get(cols.cpe);
        let version = get(cols.version);
        let names_component = component.is_some() || purl.is_some() || cpe.is_some();

        let mut warnings = Vec::new();
        let d = b.entry(&key, || {
            Draft::new(key.clone(), kind.unwrap_or(default_kind), display)
        })?;
        if let Some(k) = kind
            && k != d.kind
        {
            warnings.push(format!(
                "line {}: {key}: kind {k:?} ignored, the asset is already {:?}",
                line.unwrap_or(0),
                d.kind
            ));
        }
        if let Some(c) = criticality {
            if let Some(old) = d.criticality
                && old != c
            {
                warnings.push(format!(
                    "line {}: {key}: criticality {c} conflicts with {old}; the highest is kept",
                    line.unwrap_or(0)
                ));
            }
            d.criticality = Some(d.criticality.map_or(c, |old| old.max(c)));
        }
        if d.owner.is_none() {
            d.owner = get(cols.owner);
        }
        if let Some(n) = name
            && d.name != n
            && d.name == key.trim_start_matches("csv:")
        {
            d.name = n;
        }
        if let Some(tags) = get(cols.tags) {
            for t in tags.split(';') {
                if let Some(t) = non_empty(Some(t)) {
                    d.tags.insert(t);
                }
            }
        }
        if let Some(h) = &hostname {
            d.add_address(AddressKind::Hostname, h);
        }
        match ip {
            Some(IpAddr::V4(v4)) => d.add_address(AddressKind::Ipv4, &v4.to_string()),
            Some(IpAddr::V6(v6)) => d.add_address(AddressKind::Ipv6, &v6.to_string()),
            None => {}
        }
        if !names_component && d.version.is_none() {
            d.version = version.clone();
        }
        b.warnings.extend(warnings);
        if names_component {
            let mut c = Component::named(component.unwrap_or_default());
            c.version = version;
            c.purl = purl;
            c.cpe = cpe;
            if c.name.is_empty() && c.purl.is_none() {
                c.name = c.cpe.clone().unwrap_or_default();
            }
            b.add_component(&key, c)?;
        }
    }
    if rows == 0 {
        b.warnings
            .push("the CSV has a header but no rows".to_owned());
    }
    Ok(b.finish(rules))
}
