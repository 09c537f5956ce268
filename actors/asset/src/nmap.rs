//! nmap XML import (`nmap -oX`), per the nmap DTD (<https://nmap.org/book/nmap-dtd.html>).
//!
//! The document is first read with quick-xml's event reader, which checks well-formedness
//! (end tags must match) and reports errors with a byte offset; each top-level `<host>` element
//! is then deserialised with quick-xml's serde support into minimal structs that ignore
//! unknown elements and attributes. The root element must be `<nmaprun>`. No DTD or external
//! entity is ever loaded.
//!
//! # Mapping
//! * Each `<host>` whose `<status state="up">` becomes a [`AssetKind::Host`] asset; hosts that
//!   are down (or have no status) are skipped.
//! * Key: `ip:{addr}` of the first `ipv4` address, else of the first `ipv6` one, else
//!   `mac:{addr}` of the first `mac` address. Hosts without any address are skipped with a
//!   warning.
//! * Addresses: every `<address>` (`ipv4`, `ipv6`, `mac`) and every `<hostnames><hostname
//!   name>`; the name is the first host name, else the key's address.
//! * Components: each `<port>` whose `<state state="open">` and that has a `<service>`
//!   gives one component: name = `product` when present, else the service `name`;
//!   version = `version`; CPE = the first `<cpe>` of the service that is an application CPE
//!   (`cpe:/a:`), else its first `<cpe>`. Components are de-duplicated on name and version, so
//!   two ports running the same product give one component.
//! * OS: the first `<os><osmatch>` (nmap lists the most accurate first) becomes a component too
//!   (name = the match name, CPE = its first `<osclass><cpe>`), and the tag `os:{name}`.

use quick_xml::events::Event;
use quick_xml::reader::Reader;
use serde::Deserialize;

use super::error::ImportError;
use super::model::{AddressKind, AssetKind, Builder, Component, Draft, Inventory};
use super::{CriticalityRules, Format, non_empty};

#[derive(Deserialize)]
struct Host {
    status: Option<Status>,
    #[serde(default, rename = "address")]
    addresses: Vec<Addr>,
    hostnames: Option<Hostnames>,
    ports: Option<Ports>,
    os: Option<Os>,
}

#[derive(Deserialize)]
struct Status {
    #[serde(rename = "@state")]
    state: Option<String>,
}

#[derive(Deserialize)]
struct Addr {
    #[serde(rename = "@addr")]
    addr: Option<String>,
    #[serde(rename = "@addrtype")]
    addrtype: Option<String>,
}

#[derive(Deserialize)]
struct Hostnames {
    #[serde(default, rename = "hostname")]
    hostnames: Vec<HostnameElem>,
}

#[derive(Deserialize)]
struct HostnameElem {
    #[serde(rename = "@name")]
    name: Option<String>,
}

#[derive(Deserialize)]
struct Ports {
    #[serde(default, rename = "port")]
    ports: Vec<Port>,
}

#[derive(Deserialize)]
struct Port {
    state: Option<Status>,
    service: Option<Service>,
}

#[derive(Deserialize)]
struct Service {
    #[serde(rename = "@name")]
    name: Option<String>,
    #[serde(rename = "@product")]
    product: Option<String>,
    #[serde(rename = "@version")]
    version: Option<String>,
    #[serde(default, rename = "cpe")]
    cpes: Vec<String>,
}

#[derive(Deserialize)]
struct Os {
    #[serde(default, rename = "osmatch")]
    matches: Vec<OsMatch>,
}

#[derive(Deserialize)]
struct OsMatch {
    #[serde(rename = "@name")]
    name: Option<String>,
    #[serde(default, rename = "osclass")]
    classes: Vec<OsClass>,
}

#[derive(Deserialize)]
struct OsClass {
    #[serde(default, rename = "cpe")]
    cpes: Vec<String>,
}

fn xml_error(reader: &Reader<&[u8]>, e: &quick_xml::Error) -> ImportError {
    ImportError::Xml {
        position: reader.error_position(),
        message: e.to_string(),
    }
}

pub(crate) fn parse(text: &str, rules: &CriticalityRules) -> Result<Inventory, ImportError> {
    let mut reader = Reader::from_reader(text.as_bytes());
    let mut b = Builder::new(Format::Nmap);
    let mut depth = 0usize;
    let mut seen_root = false;
    loop {
        let start = usize::try_from(reader.buffer_position()).unwrap_or(usize::MAX);
        let event = reader.read_event().map_err(|e| xml_error(&reader, &e))?;
        match event {
            Event::Start(e) => {
                if !seen_root {
                    if e.local_name().into_inner() != "nmaprun" {
                        return Err(ImportError::WrongFormat {
                            expected: Format::Nmap,
                            reason: format!(
                                "root element is <{}>, not <nmaprun>",
                                e.name().into_inner()
                            ),
                        });
                    }
                    seen_root = true;
                    depth = 1;
                    continue;
                }
                if depth == 1 && e.local_name().into_inner() == "host" {
                    let end_tag = e.to_end().into_owned();
                    reader
                        .read_to_end(end_tag.name())
                        .map_err(|e| xml_error(&reader, &e))?;
                    let end = usize::try_from(reader.buffer_position()).unwrap_or(usize::MAX);
                    match text.get(start..end) {
                        Some(slice) => match quick_xml::de::from_str::<Host>(slice) {
                            Ok(host) => add_host(&mut b, &host)?,
                            Err(err) => b
                                .warnings
                                .push(format!("skipped the <host> at byte {start}: {err}")),
                        },
                        None => return Err(ImportError::Internal("host span")),
                    }
                } else {
                    depth += 1;
                }
            }
            Event::Empty(e) if !seen_root => {
                return Err(ImportError::WrongFormat {
                    expected: Format::Nmap,
                    reason: format!(
                        "root element is <{}/>, not <nmaprun>",
                        e.name().into_inner()
                    ),
                });
            }
            Event::End(_) => depth = depth.saturating_sub(1),
            Event::Eof => break,
            _ => {}
        }
    }
    if !seen_root {
        return Err(ImportError::WrongFormat {
            expected: Format::Nmap,
            reason: "no <nmaprun> root element".to_owned(),
        });
    }
    if depth != 0 {
        return Err(ImportError::Xml {
            position: reader.buffer_position(),
            message: "unexpected end of input: unclosed elements".to_owned(),
        });
    }
    Ok(b.finish(rules))
}

fn add_host(b: &mut Builder, host: &Host) -> Result<(), ImportError> {
    if host.status.as_ref().and_then(|s| s.state.as_deref()) != Some("up") {
        return Ok(());
    }
    let first = |ty: &str| {
        host.addresses
            .iter()
            .find(|a| a.addrtype.as_deref() == Some(ty))
            .and_then(|a| non_empty(a.addr.as_deref()))
    };
    let (key, addr) = match first("ipv4").or_else(|| first("ipv6")) {
        Some(ip) => (format!("ip:{ip}"), ip),
        None => match first("mac") {
            Some(mac) => (format!("mac:{mac}"), mac),
            None => {
                b.warnings
                    .push("skipped an up host without an address".to_owned());
                return Ok(());
            }
        },
    };
    let hostnames: Vec<String> = host
        .hostnames
        .iter()
        .flat_map(|h| &h.hostnames)
        .filter_map(|h| non_empty(h.name.as_deref()))
        .collect();
    let name = hostnames.first().cloned().unwrap_or(addr);
    let d = b.entry(&key, || Draft::new(key.clone(), AssetKind::Host, name))?;
    for a in &host.addresses {
        let kind = match a.addrtype.as_deref() {
            Some("ipv4") => AddressKind::Ipv4,
            Some("ipv6") => AddressKind::Ipv6,
            Some("mac") => AddressKind::Mac,
            _ => continue,
        };
        if let Some(v) = a.addr.as_deref() {
            d.add_address(kind, v);
        }
    }
    for h in &hostnames {
        d.add_address(AddressKind::Hostname, h);
    }
    let os = host.os.as_ref().and_then(|o| o.matches.first());
    if let Some(os_name) = os.and_then(|m| non_empty(m.name.as_deref())) {
        d.tags.insert(format!("os:{os_name}"));
    }

    let open_services = host
        .ports
        .iter()
        .flat_map(|p| &p.ports)
        .filter(|p| p.state.as_ref().and_then(|s| s.state.as_deref()) == Some("open"))
        .filter_map(|p| p.service.as_ref());
    let mut components = Vec::new();
    for s in open_services {
        let Some(name) = non_empty(s.product.as_deref()).or_else(|| non_empty(s.name.as_deref()))
        else {
            continue;
        };
        let mut c = Component::named(name);
        c.version = non_empty(s.version.as_deref());
        c.cpe = s
            .cpes
            .iter()
            .find(|c| c.trim().starts_with("cpe:/a:"))
            .or_else(|| s.cpes.first())
            .and_then(|c| non_empty(Some(c)));
        components.push(c);
    }
    if let Some(m) = os
        && let Some(name) = non_empty(m.name.as_deref())
    {
        let mut c = Component::named(name);
        c.cpe = m
            .classes
            .iter()
            .flat_map(|c| &c.cpes)
            .find_map(|c| non_empty(Some(c)));
        components.push(c);
    }
    for c in components {
        b.add_component(&key, c)?;
    }
    Ok(())
}
